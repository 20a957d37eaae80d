//! The bodies the layer hands on: [`BufferedBody`] to the inner service, [`ResponseBody`] back
//! to the server.

use std::{
    convert::Infallible,
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// The request body the inner service receives: exactly the bytes that were verified, in one
/// frame, followed by the request's trailers if it had any.
///
/// It never fails and knows its exact length, so every extractor (`String`, `Bytes`, `Json`)
/// works on it unchanged.
///
/// ```
/// use bytes::Bytes;
/// use http_body::Body;
/// use tower_webhook::body::BufferedBody;
///
/// let body = BufferedBody::new(Bytes::from_static(b"{\"ok\":true}"));
/// assert_eq!(body.size_hint().exact(), Some(11));
/// assert_eq!(body.bytes().as_ref(), b"{\"ok\":true}");
/// ```
#[derive(Default)]
pub struct BufferedBody {
    data: Bytes,
    data_sent: bool,
    /// Boxed: rare, and 96 bytes inline would be moved with every request.
    trailers: Option<Box<HeaderMap>>,
}

impl BufferedBody {
    /// A body of these bytes, with no trailers.
    #[must_use]
    pub fn new(data: Bytes) -> Self {
        Self {
            data,
            data_sent: false,
            trailers: None,
        }
    }

    pub(crate) fn with_trailers(data: Bytes, trailers: Option<Box<HeaderMap>>) -> Self {
        Self {
            data,
            data_sent: false,
            trailers,
        }
    }

    /// The body's bytes, whether or not they have been polled yet (cloning `Bytes` is cheap).
    #[must_use]
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }
}

impl From<Bytes> for BufferedBody {
    fn from(data: Bytes) -> Self {
        Self::new(data)
    }
}

impl Body for BufferedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if !self.data_sent {
            self.data_sent = true;
            if !self.data.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(self.data.clone()))));
            }
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(*t))))
    }

    fn is_end_stream(&self) -> bool {
        (self.data_sent || self.data.is_empty()) && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        if self.data_sent {
            SizeHint::with_exact(0)
        } else {
            SizeHint::with_exact(self.data.len() as u64)
        }
    }
}

impl fmt::Debug for BufferedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferedBody")
            .field("len", &self.data.len())
            .field("trailers", &self.trailers.is_some())
            .finish()
    }
}

/// A body being gathered, frame by frame, into the [`BufferedBody`] handed on: its data and
/// its trailers, holding about as much memory as the data itself.
pub(crate) struct Buffer {
    data: Data,
    /// Where an owned buffer may grow to: the declared length (or the limit), never more.
    target: usize,
    /// Boxed: rare, and 96 bytes inline would be moved with every request's state.
    trailers: Option<Box<HeaderMap>>,
}

/// The budget could not hold the memory the next frame needs.
#[derive(Debug)]
pub(crate) struct OverBudget;

impl Buffer {
    /// A buffer for a body that may grow to `target` bytes: its declared length, or the
    /// limit when it has none.
    pub(crate) fn new(target: usize) -> Self {
        Self {
            data: Data::Empty,
            target,
            trailers: None,
        }
    }

    /// The next piece of data, in order; `charge(n)` is asked first whenever the buffer is
    /// about to hold `n` bytes of memory in all, more than it held so far, and refuses with
    /// `false`.
    ///
    /// A frame from hyper is a slice of its read buffer and keeps that whole allocation
    /// alive, whatever the frame's size: a body in 20,000 one-byte frames would pin 20,000
    /// read buffers. So only a first frame that is the whole body is kept as it came (a body
    /// of one frame, the common case, is never copied); any other data is copied into one
    /// owned buffer, grown by doubling up to `target`, and the frames are let go.
    pub(crate) fn push(
        &mut self,
        chunk: Bytes,
        charge: impl FnOnce(usize) -> bool,
    ) -> Result<(), OverBudget> {
        match &mut self.data {
            // Kept as it came only when it completes the body: then nothing can stall after
            // it. A first frame that does not may be a byte of a read buffer the client
            // keeps alive by stalling, so it is copied like the rest.
            Data::Empty if chunk.len() >= self.target => {
                if !charge(chunk.len()) {
                    return Err(OverBudget);
                }
                self.data = Data::One(chunk);
            }
            Data::Empty => {
                let capacity = grown(0, chunk.len(), self.target);
                if !charge(capacity) {
                    return Err(OverBudget);
                }
                let mut all = Vec::with_capacity(capacity);
                all.extend_from_slice(&chunk);
                self.data = Data::Owned(all);
            }
            Data::One(first) => {
                let needed = first.len() + chunk.len();
                let capacity = grown(0, needed, self.target);
                if !charge(capacity) {
                    return Err(OverBudget);
                }
                let mut all = Vec::with_capacity(capacity);
                all.extend_from_slice(first);
                all.extend_from_slice(&chunk);
                self.data = Data::Owned(all);
            }
            Data::Owned(all) => {
                let needed = all.len() + chunk.len();
                if needed > all.capacity() {
                    let capacity = grown(all.capacity(), needed, self.target);
                    if !charge(capacity) {
                        return Err(OverBudget);
                    }
                    // A `realloc`: large buffers are moved by remapping pages, not copied.
                    all.reserve_exact(capacity - all.len());
                }
                all.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }

    /// The memory the buffer holds for its data: what the budget has been charged for.
    #[cfg(test)]
    fn held(&self) -> usize {
        match &self.data {
            Data::Empty => 0,
            Data::One(first) => first.len(),
            Data::Owned(all) => all.capacity(),
        }
    }

    /// Trailers; several trailer frames are merged.
    pub(crate) fn push_trailers(&mut self, trailers: HeaderMap) {
        match &mut self.trailers {
            Some(existing) => existing.extend(trailers),
            None => self.trailers = Some(Box::new(trailers)),
        }
    }

    /// The gathered body, exactly as it arrived, taken in place: the buffer is left empty.
    pub(crate) fn take_body(&mut self) -> BufferedBody {
        let data = match std::mem::replace(&mut self.data, Data::Empty) {
            Data::Empty => Bytes::new(),
            Data::One(first) => first,
            Data::Owned(all) => Bytes::from(all),
        };
        BufferedBody::with_trailers(data, self.trailers.take())
    }
}

/// The data so far: nothing, the first frame as it came, or an owned copy of every frame.
enum Data {
    Empty,
    One(Bytes),
    Owned(Vec<u8>),
}

/// The next capacity of an owned buffer of `capacity` that must hold `needed` bytes: twice
/// what arrived for the first one, then twice the last (or `needed`, if more), never past
/// `target` unless `needed` is. So the memory held stays within twice the bytes received,
/// never passes the body's declared length, and all the buffers a body grows through add
/// up to at most twice its size. A body that outgrows its `target` (a size hint that
/// lied) still grows by doubling, never by copying itself once per frame.
fn grown(capacity: usize, needed: usize, target: usize) -> usize {
    let doubled = if capacity == 0 {
        needed.saturating_mul(2)
    } else {
        capacity.saturating_mul(2).max(needed)
    };
    let bounded = if needed <= target {
        doubled.min(target)
    } else {
        doubled
    };
    bounded.max(needed)
}

pin_project! {
    /// The response body of [`WebhookSignature`](crate::verify::WebhookSignature): the inner
    /// service's body, untouched, or the short text of a [`Rejection`](crate::Rejection).
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Rejected {
            message: Option<Bytes>,
        },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn rejected(message: Bytes) -> Self {
        Self {
            kind: Kind::Rejected {
                message: Some(message),
            },
        }
    }
}

impl<B> Default for ResponseBody<B> {
    /// An empty body, for layers that build their own responses (tower-http's `TimeoutLayer`).
    fn default() -> Self {
        Self {
            kind: Kind::Rejected { message: None },
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Rejected { message } => {
                Poll::Ready(message.take().map(|m| Ok(Frame::data(m))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejected { message } => message.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejected { message } => {
                SizeHint::with_exact(message.as_ref().map_or(0, |m| m.len() as u64))
            }
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Rejected { .. } => "Rejected",
        };
        f.debug_tuple("ResponseBody").field(&kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn fill(buffer: &mut Buffer, parts: &[&[u8]]) -> Vec<usize> {
        let mut charged = Vec::new();
        for part in parts {
            buffer
                .push(Bytes::copy_from_slice(part), |bytes| {
                    charged.push(bytes);
                    true
                })
                .unwrap();
        }
        charged
    }

    #[test]
    fn buffer_keeps_a_single_frame_without_copying() {
        let frame = Bytes::from(vec![7u8; 100]);
        let mut buffer = Buffer::new(100);
        buffer.push(frame.clone(), |_| true).unwrap();
        assert_eq!(buffer.held(), 100);
        let out = buffer.take_body().bytes().clone();
        assert_eq!(out.as_ptr(), frame.as_ptr());
    }

    #[test]
    fn buffer_copies_from_the_second_frame_into_one_owned_allocation() {
        let mut buffer = Buffer::new(10);
        let charged = fill(&mut buffer, &[b"abc", b"de", b"fghij"]);
        assert_eq!(
            charged,
            [6, 10],
            "twice the first frame, then the whole declared length"
        );
        assert!(matches!(&buffer.data, Data::Owned(all) if all.capacity() == 10));
        assert_eq!(buffer.take_body().bytes().clone(), "abcdefghij");
    }

    #[test]
    fn buffer_without_a_length_is_charged_at_most_twice_what_arrived() {
        let mut buffer = Buffer::new(1 << 20);
        for received in 1..=20_000 {
            buffer
                .push(Bytes::from_static(b"x"), |held| {
                    assert!(held <= 2 * received, "{held} held for {received} received");
                    true
                })
                .unwrap();
        }
        assert!(buffer.held() <= 40_000, "{} held", buffer.held());
        assert_eq!(buffer.take_body().bytes().len(), 20_000);
    }

    #[test]
    fn buffer_never_grows_past_its_target_unless_the_data_does() {
        assert_eq!(grown(4096, 4097, 5000), 5000);
        assert_eq!(grown(0, 2, 10), 4, "twice what arrived");
        assert_eq!(grown(0, 16_384, 65_536), 32_768);
        assert_eq!(
            grown(32_768, 49_152, 1 << 20),
            65_536,
            "twice the last, not the need"
        );
        assert_eq!(grown(32_768, 100_000, 1 << 20), 100_000);
        assert_eq!(grown(0, 20, 10), 40, "past a lying target: still doubling");
        assert_eq!(grown(40, 41, 10), 80);
        assert_eq!(
            grown(usize::MAX / 2 + 1, usize::MAX, usize::MAX),
            usize::MAX
        );
        let mut buffer = Buffer::new(4);
        fill(&mut buffer, &[b"abc", b"de", b"fghij"]);
        assert_eq!(buffer.take_body().bytes().clone(), "abcdefghij");
    }

    #[test]
    fn buffer_refused_by_the_budget_keeps_what_it_had() {
        let mut buffer = Buffer::new(1 << 20);
        fill(&mut buffer, &[b"abc"]);
        assert!(buffer
            .push(Bytes::from_static(b"defghij"), |_| false)
            .is_err());
        assert_eq!(buffer.held(), 6);
    }

    #[test]
    fn a_first_frame_that_is_not_the_whole_body_is_copied() {
        let frame = Bytes::from(vec![7u8; 100]);
        let mut buffer = Buffer::new(1000);
        buffer.push(frame.clone(), |_| true).unwrap();
        assert!(matches!(&buffer.data, Data::Owned(all) if all.capacity() == 200));
        assert_ne!(buffer.take_body().bytes().as_ptr(), frame.as_ptr());
    }

    #[test]
    fn empty_buffer_is_empty_bytes() {
        assert!(Buffer::new(0).take_body().bytes().is_empty());
    }

    #[tokio::test]
    async fn yields_the_bytes_once_then_trailers() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", "abc".parse().unwrap());
        let mut body =
            BufferedBody::with_trailers(Bytes::from_static(b"abc"), Some(Box::new(trailers)));
        assert!(!body.is_end_stream());
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "abc");
        assert_eq!(body.size_hint().exact(), Some(0));
        let second = body.frame().await.unwrap().unwrap();
        assert_eq!(second.into_trailers().unwrap()["x-checksum"], "abc");
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn empty_body_ends_at_once() {
        let mut body = BufferedBody::default();
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn rejected_response_body_is_the_message() {
        let body: ResponseBody<BufferedBody> = ResponseBody::rejected(Bytes::from_static(b"no\n"));
        assert_eq!(body.size_hint().exact(), Some(3));
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, "no\n");
    }
}
