//! The bodies the layer hands on: [`BufferedBody`] to the inner service, [`ResponseBody`] back
//! to the server.

use std::{
    convert::Infallible,
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
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
/// use bytes::{Bytes, BytesMut};
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
    trailers: Option<HeaderMap>,
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

    pub(crate) fn with_trailers(data: Bytes, trailers: Option<HeaderMap>) -> Self {
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
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
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

/// A body being gathered, frame by frame, into the [`BufferedBody`] handed on: its data with
/// one body-sized allocation at most, and its trailers.
pub(crate) struct Buffer {
    chunks: Chunks,
    /// Boxed: rare, and 96 bytes inline would be moved with every request's state.
    trailers: Option<Box<HeaderMap>>,
}

impl Buffer {
    /// A buffer for a body expected to be `capacity` bytes long (0 if unknown).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            chunks: Chunks::Empty { capacity },
            trailers: None,
        }
    }

    /// The next piece of data, in order.
    pub(crate) fn push(&mut self, chunk: Bytes) {
        self.chunks.push(chunk);
    }

    /// Trailers; several trailer frames are merged.
    pub(crate) fn push_trailers(&mut self, trailers: HeaderMap) {
        match &mut self.trailers {
            Some(existing) => existing.extend(trailers),
            None => self.trailers = Some(Box::new(trailers)),
        }
    }

    /// The gathered body, exactly as it arrived.
    pub(crate) fn into_body(self) -> BufferedBody {
        BufferedBody::with_trailers(self.chunks.into_bytes(), self.trailers.map(|t| *t))
    }
}

/// The data so far:
/// - a body of a single frame is kept as it came (no copy at all);
/// - with a known length (`Content-Length`), frames are copied as they arrive into one buffer
///   reserved for that length, so the frames can be freed as they go;
/// - without one, frames are kept as they came (cheap `Bytes` handles) and joined once, at the
///   end, into a buffer of exactly the total length, instead of growing one by doubling.
enum Chunks {
    Empty { capacity: usize },
    One { first: Bytes, capacity: usize },
    Reserved(BytesMut),
    Frames { frames: Vec<Bytes>, len: usize },
}

impl Chunks {
    fn push(&mut self, chunk: Bytes) {
        *self = match std::mem::replace(self, Self::Empty { capacity: 0 }) {
            Self::Empty { capacity } => Self::One {
                first: chunk,
                capacity,
            },
            Self::One { first, capacity } => {
                let len = first.len() + chunk.len();
                if capacity >= len {
                    let mut all = BytesMut::with_capacity(capacity);
                    all.extend_from_slice(&first);
                    all.extend_from_slice(&chunk);
                    Self::Reserved(all)
                } else {
                    Self::Frames {
                        frames: vec![first, chunk],
                        len,
                    }
                }
            }
            Self::Reserved(mut all) => {
                all.extend_from_slice(&chunk);
                Self::Reserved(all)
            }
            Self::Frames { mut frames, len } => {
                let len = len + chunk.len();
                frames.push(chunk);
                Self::Frames { frames, len }
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Self::Empty { .. } => Bytes::new(),
            Self::One { first, .. } => first,
            Self::Reserved(all) => all.freeze(),
            Self::Frames { frames, len } => {
                let mut all = BytesMut::with_capacity(len);
                for frame in frames {
                    all.extend_from_slice(&frame);
                }
                all.freeze()
            }
        }
    }
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

    #[test]
    fn buffer_keeps_a_single_frame_without_copying() {
        let frame = Bytes::from(vec![7u8; 100]);
        let mut buffer = Buffer::new(100);
        buffer.push(frame.clone());
        let out = buffer.into_body().bytes().clone();
        assert_eq!(out.as_ptr(), frame.as_ptr());
    }

    #[test]
    fn buffer_with_a_known_length_copies_into_one_allocation_of_that_size() {
        let mut buffer = Buffer::new(10);
        for part in [&b"abc"[..], b"de", b"fghij"] {
            buffer.push(Bytes::copy_from_slice(part));
        }
        let Chunks::Reserved(all) = &buffer.chunks else {
            panic!("expected a reserved buffer")
        };
        assert_eq!(all.capacity(), 10);
        assert_eq!(buffer.into_body().bytes().clone(), "abcdefghij");
    }

    #[test]
    fn buffer_without_a_length_joins_frames_once_at_exactly_their_size() {
        let mut buffer = Buffer::new(0);
        for part in [&b"abc"[..], b"de", b"fghij"] {
            buffer.push(Bytes::copy_from_slice(part));
        }
        assert!(matches!(&buffer.chunks, Chunks::Frames { len: 10, .. }));
        let joined = buffer.into_body().bytes().clone();
        assert_eq!(joined, "abcdefghij");
    }

    #[test]
    fn buffer_with_a_length_that_was_too_small_still_keeps_every_byte() {
        let mut buffer = Buffer::new(4);
        for part in [&b"abc"[..], b"de", b"fghij"] {
            buffer.push(Bytes::copy_from_slice(part));
        }
        assert_eq!(buffer.into_body().bytes().clone(), "abcdefghij");
    }

    #[test]
    fn empty_buffer_is_empty_bytes() {
        assert!(Buffer::new(0).into_body().bytes().is_empty());
    }

    #[tokio::test]
    async fn yields_the_bytes_once_then_trailers() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", "abc".parse().unwrap());
        let mut body = BufferedBody::with_trailers(Bytes::from_static(b"abc"), Some(trailers));
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
