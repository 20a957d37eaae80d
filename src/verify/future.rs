//! [`ResponseFuture`]: checks the request's head, reads and verifies the body, then calls the
//! inner service.

use std::{
    fmt,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use bytes::{Buf, Bytes};
use http::{request::Parts, Request, Response};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{
    budget::Share,
    deadline::BodyDeadline,
    layer::Config,
    service::{check_allowlist, check_length},
    verdicts::Verdicts,
};
#[cfg(feature = "json")]
use crate::handshake::{Answer, Handshake, HandshakeMode, HandshakeRequest};
use crate::{
    body::{Buffer, BufferedBody, ResponseBody},
    keys::{ResolvedKeys, Start},
    metrics,
    rejection::{BoxError, Rejection, Unverified},
    scheme::{Finish, Scheme, VerdictFuture, Verified, Verifier},
};

/// How many frames one poll reads before yielding, so a body that is always ready (a flood
/// of tiny frames) cannot hold the executor thread.
const FRAMES_PER_POLL: usize = 64;

pin_project! {
    /// The response future of [`WebhookSignature`](crate::verify::WebhookSignature).
    ///
    /// The request's state stays where it is from step to step (it is hundreds of bytes,
    /// copied on every move): only the verifier and the request handed on are moved.
    pub struct ResponseFuture<F, S, B, V> {
        // The request's body, read to its end before the inner service is called.
        #[pin]
        body: B,
        // The inner service's future, once it is called.
        #[pin]
        calling: Option<F>,
        step: Step,
        // What the request carries while it is read and verified, kept until the inner
        // service has answered: its reservation holds the body's bytes in the budget.
        reading: Option<Reading<S, V>>,
    }
}

/// Where a [`ResponseFuture`] is.
enum Step {
    Reading,
    /// Waiting for the verdict (a key the body names being fetched).
    Concluding(VerdictFuture),
    Calling,
    /// Boxed: rare, and 144 bytes inline would be moved with every request's future.
    Answered(Option<Box<Response<Bytes>>>),
    /// A handshake's answer that waits on something (a key lookup, a secret stored).
    #[cfg(feature = "json")]
    Answering(Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>),
    Done,
}

impl Step {
    #[cfg(feature = "json")]
    fn answer(answer: Answer) -> Self {
        match answer {
            Answer::Now(response) => Step::Answered(Some(Box::new(response))),
            Answer::Later(future) => Step::Answering(future),
        }
    }
}

impl<F, S, B: Body, V: Verifier> ResponseFuture<F, S, B, V> {
    /// Checks what can be checked before a body byte is read, in this order: the address
    /// (a request from the wrong one never costs a key lookup), a sender's unsigned
    /// handshake, the signature header(s), the declared length, the budget. Then reads.
    ///
    /// The future is built in one piece where it is returned, the verifier in it as the
    /// scheme made it: each move of the request's head or the verifier copies hundreds of
    /// bytes.
    pub(crate) fn start<Sch>(config: &Config<Sch>, ready: &mut S, request: Request<B>) -> Self
    where
        Sch: Scheme<Verifier = V>,
        S: Clone,
    {
        let (parts, body) = request.into_parts();
        let verdicts = &config.verdicts;
        // Read again for a rejection's event only: most requests never need it.
        let peer = |parts: &Parts| verdicts.peer(parts);
        // Each piece of the verifier is its own local, put together only in the future: a
        // value built in one place and moved to another is copied, and the verifier is
        // hundreds of bytes.
        #[cfg(feature = "json")]
        let mut handshake = None;
        let mut by_scheme = false;
        let start = match check_allowlist(config, &parts) {
            Err(rejection) if verdicts.answers_before_body(&rejection) => {
                return Self::rejected(body, verdicts.reject(&rejection, peer(&parts), None));
            }
            Err(rejection) => Start::Ready(Err(rejection)),
            Ok(()) => 'start: {
                // After the allowlist: a sender's handshake comes from its addresses too.
                #[cfg(feature = "json")]
                if let Some(unsigned) = verdicts.unsigned_handshake(&parts) {
                    if verdicts.handshake_mode == HandshakeMode::Answer && !unsigned.reads_body() {
                        verdicts.answered(unsigned, peer(&parts), None);
                        return Self::answer(body, unsigned.answer_unsigned(&parts, &[]));
                    }
                    handshake = Some(unsigned.clone());
                    break 'start Start::Ready(Err(Rejection::MissingSignature));
                }
                by_scheme = true;
                config.scheme.start(&parts)
            }
        };
        let resume = match &start {
            Start::Ready(Err(rejection))
                if by_scheme && verdicts.answers_before_body(rejection) =>
            {
                return Self::rejected(body, verdicts.reject(rejection, peer(&parts), None));
            }
            Start::Ready(_) => None,
            Start::Resolving(_) => Some(Arc::clone(&config.scheme) as Arc<dyn Resume<V>>),
        };
        // Anyone can send an unsigned handshake: its body is held to a few KiB.
        #[cfg(feature = "json")]
        let limit = match &handshake {
            Some(_) => crate::handshake::MAX_HANDSHAKE_BODY.min(config.max_body_size),
            None => config.max_body_size,
        };
        #[cfg(not(feature = "json"))]
        let limit = config.max_body_size;
        let length = match check_length(limit, &parts, &body) {
            Ok(length) => length,
            Err(rejection) => {
                return Self::rejected(body, verdicts.reject(&rejection, peer(&parts), None));
            }
        };
        // A share of the budget all requests share, charged as the body's bytes arrive:
        // a request that declares a body and sends nothing holds none of it. One whose
        // declared length the budget could not hold now is answered at once.
        let Some(share) = verdicts.budget.open(length.expected) else {
            let rejection = Rejection::BodyBudgetExhausted;
            return Self::rejected(body, verdicts.reject(&rejection, peer(&parts), None));
        };
        // The body is read before `inner` is called: take the instance that was driven ready
        // and leave a clone, so back-pressure holds.
        let clone = ready.clone();
        let inner = std::mem::replace(ready, clone);
        let buffer = Buffer::new(length.expected.unwrap_or(length.limit));
        let deadline = BodyDeadline::new(config.body_timeout);
        let started = metrics::Started::now();
        let verdicts = Arc::clone(verdicts);
        Self {
            body,
            calling: None,
            step: Step::Reading,
            reading: Some(Reading {
                parts: Some(parts),
                verifier: start,
                resume,
                #[cfg(feature = "json")]
                handshake,
                inner,
                received: 0,
                buffer,
                length,
                share,
                deadline,
                started,
                verdicts,
                found_under: None,
                keep_trailers: config.keep_trailers,
                decoy: false,
                read: None,
                key_id: None,
            }),
        }
    }
}

impl<F, S, B, V> ResponseFuture<F, S, B, V> {
    fn rejected(body: B, response: Response<Bytes>) -> Self {
        Self {
            body,
            calling: None,
            step: Step::Answered(Some(Box::new(response))),
            reading: None,
        }
    }

    /// A handshake answered by the layer.
    #[cfg(feature = "json")]
    fn answer(body: B, answer: Answer) -> Self {
        Self {
            body,
            calling: None,
            step: Step::answer(answer),
            reading: None,
        }
    }
}

impl<F, S, B, V, ResBody, E> Future for ResponseFuture<F, S, B, V>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    S: Service<Request<BufferedBody>, Response = Response<ResBody>, Error = E, Future = F>,
    B: Body,
    B::Error: Into<BoxError>,
    V: Verifier,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.step {
                Step::Calling => {
                    let Some(future) = this.calling.as_mut().as_pin_mut() else {
                        polled_after_completion()
                    };
                    let response = ready!(future.poll(cx));
                    *this.step = Step::Done;
                    this.calling.set(None);
                    // The body's bytes were reserved until now.
                    *this.reading = None;
                    return Poll::Ready(response.map(|response| response.map(ResponseBody::inner)));
                }
                Step::Answered(response) => {
                    let Some(response) = response.take() else {
                        polled_after_completion()
                    };
                    *this.step = Step::Done;
                    // The body's bytes come back now, not when the caller drops the future.
                    *this.reading = None;
                    return Poll::Ready(Ok((*response).map(ResponseBody::rejected)));
                }
                #[cfg(feature = "json")]
                Step::Answering(future) => {
                    let response = ready!(future.as_mut().poll(cx));
                    *this.step = Step::Done;
                    *this.reading = None;
                    return Poll::Ready(Ok(response.map(ResponseBody::rejected)));
                }
                Step::Reading => {
                    let Some(reading) = this.reading.as_mut() else {
                        polled_after_completion()
                    };
                    *this.step = match ready!(reading.poll_read(this.body.as_mut(), cx)) {
                        Ok(()) => reading.finish(this.calling.as_mut()),
                        Err(rejection) => {
                            Step::Answered(Some(Box::new(reading.reject(&rejection))))
                        }
                    };
                }
                Step::Concluding(verdict) => {
                    let verdict = ready!(verdict.as_mut().poll(cx));
                    let Some(reading) = this.reading.as_mut() else {
                        polled_after_completion()
                    };
                    *this.step = reading.decide(verdict, this.calling.as_mut());
                }
                Step::Done => polled_after_completion(),
            }
        }
    }
}

impl<F, S, B, V> fmt::Debug for ResponseFuture<F, S, B, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// Polling a future again after it returned `Ready` is the caller's bug, as for any future.
#[expect(
    clippy::panic,
    reason = "a broken `Future` contract by the caller; no request input leads here"
)]
pub(crate) fn polled_after_completion() -> ! {
    panic!("tower-webhook future polled after completion")
}

/// What the request head says about the body's length, checked before it is read.
pub(crate) struct Length {
    /// The most bytes accepted.
    pub(crate) limit: usize,
    /// The `Content-Length`, which the bytes received must match exactly.
    pub(crate) declared: Option<u64>,
    /// What the head says is coming (`Content-Length`, or an exact size hint), never more
    /// than the limit.
    pub(crate) expected: Option<usize>,
}

/// Makes the verifier once the keys are found: [`Scheme::verifier_with`], without naming the
/// scheme's type in the future's.
trait Resume<V>: Send + Sync {
    fn resume(&self, request: &Parts, keys: &ResolvedKeys) -> Result<V, Rejection>;
}

impl<Sch: Scheme> Resume<Sch::Verifier> for Sch {
    fn resume(&self, request: &Parts, keys: &ResolvedKeys) -> Result<Sch::Verifier, Rejection> {
        self.verifier_with(request, keys)
    }
}

/// Everything a request carries while its body is read and verified.
struct Reading<S, V> {
    /// The request's head, until it is handed on.
    parts: Option<Parts>,
    /// The verifier as the scheme started it (made, or its keys being looked up), then fed
    /// the body; or the policy failure that report-only mode lets through to be reported
    /// once the body is read; `Start::Ready(Err(_))` too once the verdict is taken. Held as
    /// the scheme returned it, and here rather than in a struct of its own, so it is moved
    /// once, into the future.
    verifier: Start<V>,
    /// What makes the verifier once looked-up keys arrive: the scheme.
    resume: Option<Arc<dyn Resume<V>>>,
    /// A sender's unsigned handshake, read, not verified: passed to the handler, or answered.
    #[cfg(feature = "json")]
    handshake: Option<Handshake>,
    inner: S,
    length: Length,
    received: usize,
    buffer: Buffer,
    /// The body's share of the budget (`verdicts.budget`), grown as its bytes arrive, given
    /// back when this is dropped.
    share: Share,
    deadline: BodyDeadline,
    /// When the head arrived, for the verification time.
    started: metrics::Started,
    verdicts: Arc<Verdicts>,
    /// The name keys were found under when the verifier could not be made from them, so
    /// the rejection still names the tenant.
    found_under: Option<Arc<str>>,
    /// Whether trailers are handed on; the signature never covers them.
    keep_trailers: bool,
    /// Whether the verifier holds decoy keys (the request named no known keys): it does the
    /// work a wrong signature would, and its verdict is always `UnknownKey`.
    decoy: bool,
    /// The body read, while the verdict is awaited.
    read: Option<BufferedBody>,
    /// The tenant whose keys were found, taken with the verifier, for a rejection's event.
    key_id: Option<Arc<str>>,
}

impl<S, V> Drop for Reading<S, V> {
    fn drop(&mut self) {
        self.share.release(&self.verdicts.budget);
    }
}

impl<S, V: Verifier> Reading<S, V> {
    /// The address the request came from, as the peer source says, for an event: read
    /// only when one is made.
    fn peer(&self) -> Option<IpAddr> {
        self.parts
            .as_ref()
            .and_then(|parts| self.verdicts.peer(parts))
    }

    /// The request's head, which is there until the request is handed on.
    fn parts(&self) -> &Parts {
        match &self.parts {
            Some(parts) => parts,
            None => polled_after_completion(),
        }
    }

    /// The tenant whose keys were found, once they were, for the rejection's event.
    fn key_id(&self) -> Option<Arc<str>> {
        match &self.verifier {
            // Decoy keys are another tenant's: never named.
            _ if self.decoy => None,
            Start::Ready(Ok(verifier)) => verifier.key_id().or_else(|| self.found_under.clone()),
            _ => self.found_under.clone(),
        }
    }

    /// Waits for the keys if they are being looked up, then reads frames until the body ends
    /// (`Ok`), fails or passes the limit (`Err`), or is not ready.
    fn poll_read<B>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Rejection>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        if let Start::Resolving(lookup) = &mut self.verifier {
            let found = ready!(lookup.as_mut().poll(cx));
            self.decoy = matches!(&found, Ok(keys) if keys.is_decoy());
            if let Ok(keys) = &found {
                if !self.decoy {
                    self.found_under = Some(Arc::clone(keys.shared_id()));
                }
            }
            let parts = match &self.parts {
                Some(parts) => parts,
                None => polled_after_completion(),
            };
            let mut verifier = found.and_then(|keys| match &self.resume {
                Some(scheme) => scheme.resume(parts, &keys),
                None => Err(Rejection::KeySourceUnavailable),
            });
            if self.decoy {
                // What the decoy keys made of the head is what any name's keys of this scheme
                // make of it (a signature of the wrong length for the algorithm): answered
                // as for a known name, before the body, or the answer would tell a prober
                // which names exist. Only keys the scheme cannot use at all are the decoy's
                // own: the name has no keys, answered after the body as any unknown name is.
                verifier = verifier.map_err(|rejection| match rejection {
                    Rejection::KeySourceUnavailable => Rejection::UnknownKey,
                    rejection => rejection,
                });
            }
            match verifier {
                // Refused before a body byte is read, as when the keys were at hand; an
                // unknown key waits for the body as a wrong signature does.
                Err(rejection) if self.verdicts.answers_before_body(&rejection) => {
                    return Poll::Ready(Err(rejection));
                }
                verifier => self.verifier = Start::Ready(verifier),
            }
        }
        for _ in 0..FRAMES_PER_POLL {
            let Poll::Ready(frame) = body.as_mut().poll_frame(cx) else {
                if self.deadline.passed(cx) {
                    return Poll::Ready(Err(Rejection::BodyTimeout));
                }
                return Poll::Pending;
            };
            let result = match frame {
                None => return Poll::Ready(self.check_declared(true)),
                Some(Ok(frame)) => self.push(frame),
                Some(Err(error)) => Err(Rejection::BodyRead(error.into())),
            };
            if let Err(rejection) = result {
                return Poll::Ready(Err(rejection));
            }
            // A body that knows it has ended (hyper's, after its `Content-Length`) is not
            // polled once more only to say so.
            if body.is_end_stream() {
                return Poll::Ready(self.check_declared(true));
            }
        }
        // A body that is always ready (endless empty frames) meets its deadline too.
        if self.deadline.passed(cx) {
            return Poll::Ready(Err(Rejection::BodyTimeout));
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn push<D: Buf>(&mut self, frame: Frame<D>) -> Result<(), Rejection> {
        match frame.into_data() {
            Ok(mut data) => {
                let len = data.remaining();
                // Cut the body off as soon as it passes the limit, never buffer it whole.
                if len > self.length.limit - self.received {
                    return Err(Rejection::BodyTooLarge {
                        limit: self.length.limit,
                    });
                }
                self.received += len;
                self.check_declared(false)?;
                if len > 0 {
                    // Zero-copy when the frame's data is already `Bytes`.
                    let chunk = data.copy_to_bytes(len);
                    if let Start::Ready(Ok(verifier)) = &mut self.verifier {
                        verifier.update(&chunk);
                    }
                    // The budget is charged for the memory the buffer holds, not the bytes
                    // counted: they differ by up to twice, and by far more for tiny frames
                    // that would each keep a read buffer alive.
                    let (share, budget) = (&mut self.share, &self.verdicts.budget);
                    self.buffer
                        .push(chunk, |held| share.grow_to(budget, held))
                        .map_err(|_| Rejection::BodyBudgetExhausted)?;
                }
            }
            // Unsigned: whoever relays the request could add or change them.
            Err(frame) if self.keep_trailers => {
                if let Ok(trailers) = frame.into_trailers() {
                    self.buffer.push_trailers(trailers);
                }
            }
            Err(_) => {}
        }
        Ok(())
    }

    /// The bytes received against `Content-Length`: more than declared fails at once, fewer
    /// when the body ends. A body that contradicts its framing is never verified.
    fn check_declared(&self, ended: bool) -> Result<(), Rejection> {
        let Some(declared) = self.length.declared else {
            return Ok(());
        };
        let received = u64::try_from(self.received).unwrap_or(u64::MAX);
        if received > declared || (ended && received != declared) {
            return Err(Rejection::InvalidContentLength);
        }
        Ok(())
    }

    fn reject(&self, rejection: &Rejection) -> Response<Bytes> {
        self.verdicts
            .reject(rejection, self.peer(), self.key_id().as_deref())
    }

    /// The verdict: call the inner service with the request, or answer with a rejection, or
    /// wait for a key first. In report-only mode a failed request goes on too, marked
    /// [`Unverified`].
    fn finish<F>(&mut self, calling: Pin<&mut Option<F>>) -> Step
    where
        S: Service<Request<BufferedBody>, Future = F>,
    {
        let key_id = self.key_id();
        let body = self.buffer.take_body();
        #[cfg(feature = "json")]
        if let Some(handshake) = self.handshake.take() {
            // A body that is not the handshake's (Notion's is one exact shape): refused, or
            // reported, as any unsigned request, in every mode.
            if !handshake.body_matches(body.bytes()) {
                return self.decide_on(Err(Rejection::MissingSignature), body, calling);
            }
            if self.verdicts.handshake_mode == HandshakeMode::Answer {
                self.verdicts.answered(&handshake, self.peer(), None);
                return Step::answer(handshake.answer_unsigned(self.parts(), body.bytes()));
            }
            self.cleared_of_outer_verdicts()
                .insert(handshake.request(false));
            return self.call(calling, body);
        }
        // Finished where it lies: the verifier (hundreds of bytes) is not moved, only spent.
        let verdict = match &mut self.verifier {
            Start::Ready(Ok(verifier)) if self.decoy => {
                // The work is done (the verifier was fed the body) and the verdict dropped.
                drop(verifier.finish_later(body.bytes()));
                Finish::Ready(Err(Rejection::UnknownKey))
            }
            Start::Ready(Ok(verifier)) => verifier.finish_later(body.bytes()),
            Start::Ready(Err(rejection)) => Finish::Ready(Err(std::mem::replace(
                rejection,
                Rejection::KeySourceUnavailable,
            ))),
            // Not reached: the body is read only once the keys are in.
            Start::Resolving(_) => Finish::Ready(Err(Rejection::KeySourceUnavailable)),
        };
        self.key_id = key_id;
        match verdict {
            Finish::Ready(verdict) => self.decide_on(verdict, body, calling),
            Finish::Waiting(verdict) => {
                self.read = Some(body);
                Step::Concluding(verdict)
            }
        }
    }

    /// The awaited verdict on the body read.
    fn decide<F>(
        &mut self,
        verdict: Result<Verified, Rejection>,
        calling: Pin<&mut Option<F>>,
    ) -> Step
    where
        S: Service<Request<BufferedBody>, Future = F>,
    {
        let body = self.read.take().unwrap_or_default();
        self.decide_on(verdict, body, calling)
    }

    fn decide_on<F>(
        &mut self,
        verdict: Result<Verified, Rejection>,
        body: BufferedBody,
        calling: Pin<&mut Option<F>>,
    ) -> Step
    where
        S: Service<Request<BufferedBody>, Future = F>,
    {
        match verdict {
            Ok(mut verified) => {
                let mut handshake_request = None;
                #[cfg(feature = "json")]
                if let Some(handshake) = &self.verdicts.handshake {
                    let answer = handshake.answer_signed(self.parts(), body.bytes(), &verified);
                    match (self.verdicts.handshake_mode, answer) {
                        (HandshakeMode::Answer, Some(answer)) => {
                            self.verdicts
                                .answered(handshake, self.peer(), self.key_id.as_deref());
                            return Step::answer(answer);
                        }
                        (HandshakeMode::Handler, Some(_)) => {
                            handshake_request = Some(handshake.request(true));
                        }
                        _ => {}
                    }
                }
                verified.attach_body(body.bytes());
                #[cfg(any(feature = "metrics", feature = "inbox"))]
                verified.verified_by(&self.verdicts.scheme);
                tracing::debug!(
                    target: "tower_webhook",
                    scheme = &*self.verdicts.scheme,
                    key_index = verified.key_index(),
                    key_id = verified.key_id(),
                    "webhook verified"
                );
                metrics::verified(&self.verdicts.scheme, body.bytes().len(), self.started);
                // Marked in place: the head is moved once, into the request handed on.
                let extensions = self.cleared_of_outer_verdicts();
                if let Some(request) = handshake_request {
                    extensions.insert(request);
                }
                extensions.insert(verified);
                self.call(calling, body)
            }
            Err(rejection) if self.verdicts.passes(&rejection) => {
                self.verdicts
                    .report(&rejection, self.peer(), self.key_id.as_deref());
                self.cleared_of_outer_verdicts()
                    .insert(Unverified::from(&rejection));
                self.call(calling, body)
            }
            Err(rejection) => Step::Answered(Some(Box::new(self.verdicts.reject(
                &rejection,
                self.peer(),
                self.key_id.as_deref(),
            )))),
        }
    }

    /// The head's extensions, with every verdict a layer further out left removed: its
    /// `Verified` (another sender's, another route's: `Webhook<T>` and `Extension<Verified>`
    /// would take it for this layer's), its report-only `Unverified`, and its handshake
    /// marker (a genuine delivery replayed with that handshake's query would pass as a
    /// handshake, which the inbox neither stores nor deduplicates). The inner service sees
    /// only the verdict this layer then inserts. A request with no extension, as a bare hyper
    /// request is, has none to look for.
    fn cleared_of_outer_verdicts(&mut self) -> &mut http::Extensions {
        let extensions = &mut self.parts_mut().extensions;
        if !extensions.is_empty() {
            extensions.remove::<Verified>();
            extensions.remove::<Unverified>();
            #[cfg(feature = "json")]
            extensions.remove::<HandshakeRequest>();
        }
        extensions
    }

    fn parts_mut(&mut self) -> &mut Parts {
        match &mut self.parts {
            Some(parts) => parts,
            None => polled_after_completion(),
        }
    }

    /// Calls the inner service (the instance that was driven ready) with the request's head
    /// and `body`.
    fn call<F>(&mut self, mut calling: Pin<&mut Option<F>>, body: BufferedBody) -> Step
    where
        S: Service<Request<BufferedBody>, Future = F>,
    {
        // Emptied first (it is empty: this is the one call), so nothing is dropped between
        // taking the head and writing the inner future: the head is moved once, into it.
        calling.set(None);
        let Some(parts) = self.parts.take() else {
            polled_after_completion()
        };
        calling.set(Some(self.inner.call(Request::from_parts(parts, body))));
        Step::Calling
    }
}

#[cfg(all(test, feature = "tokio"))]
mod tests {
    use std::convert::Infallible;

    use tower::{service_fn, Layer as _, ServiceExt as _};

    use super::*;
    use crate::{presets, WebhookSignatureLayer};

    /// A report-only failure leaves no `Verified` of a layer further out for the inner
    /// service to take as this layer's.
    #[tokio::test]
    async fn a_report_only_failure_removes_an_outer_verified() {
        let inner = service_fn(|request: Request<BufferedBody>| async move {
            let seen = (
                request.extensions().get::<Verified>().is_some(),
                request.extensions().get::<Unverified>().is_some(),
            );
            Ok::<_, Infallible>(Response::new(format!("{seen:?}")))
        });
        let service = WebhookSignatureLayer::new(presets::loopwise("secret"))
            .report_only()
            .layer(inner);
        let mut request = Request::post("/").body(String::from("{}")).unwrap();
        request.extensions_mut().insert(Verified::new(0));
        let response = service.oneshot(request).await.unwrap();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body.as_ref(), b"(false, true)");
    }

    /// A layer further out that took the request for its handshake leaves a marker the inbox
    /// trusts; this layer's verdict, verified or reported, replaces it.
    #[cfg(feature = "json")]
    #[tokio::test]
    async fn this_layers_verdict_removes_an_outer_handshake_marker() {
        use crate::handshake::HandshakeRequest;

        for report_only in [false, true] {
            let inner = service_fn(|request: Request<BufferedBody>| async move {
                let marked = request.extensions().get::<HandshakeRequest>().is_some();
                Ok::<_, Infallible>(Response::new(format!("{marked}")))
            });
            let scheme = presets::loopwise("secret");
            let signature = scheme.sign(b"{}");
            let mut layer = WebhookSignatureLayer::new(scheme);
            if report_only {
                layer = layer.report_only();
            }
            let mut request = Request::post("/")
                .header(
                    "loopwise-webhook-signature",
                    if report_only { "00" } else { &signature },
                )
                .body(String::from("{}"))
                .unwrap();
            request.extensions_mut().insert(HandshakeRequest::for_tests(
                "microsoft_graph_validation",
                false,
            ));
            let response = layer.layer(inner).oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            assert_eq!(body.as_ref(), b"false", "report_only: {report_only}");
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use std::{collections::VecDeque, convert::Infallible, pin::pin};

    use tower::{service_fn, Layer as _, Service as _};

    use super::*;
    use crate::{
        presets,
        verify::{BodyBudget, DEFAULT_MAX_BODY_SIZE},
        WebhookSignatureLayer,
    };

    /// A body of these frames, one a poll, of no known length.
    struct Frames(VecDeque<&'static [u8]>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|part| Ok(Frame::data(Bytes::from_static(part)))),
            )
        }
    }

    fn frames(parts: &[&'static [u8]]) -> Frames {
        Frames(parts.iter().copied().collect())
    }

    fn poll_once<T>(future: Pin<&mut impl Future<Output = T>>) -> Poll<T> {
        future.poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    /// A body refused once some of it is held gives its bytes back as soon as the answer is
    /// ready, and a verified one once the inner service has answered: not only when the
    /// caller drops the finished future.
    #[test]
    fn the_budget_comes_back_when_the_answer_is_ready() {
        let budget = BodyBudget::new(1 << 20);
        let signature = presets::loopwise("secret").sign(b"first second");
        // Refused past the limit once the first frame is held, then verified whole.
        for (max_body_size, status) in [(8, 413), (DEFAULT_MAX_BODY_SIZE, 200)] {
            let inner = service_fn(|_: Request<BufferedBody>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            });
            let mut service = WebhookSignatureLayer::new(presets::loopwise("secret"))
                .body_budget(budget.clone())
                .max_body_size(max_body_size)
                .layer(inner);
            let request = Request::post("/")
                .header("loopwise-webhook-signature", &signature)
                .body(frames(&[b"first", b" second"]))
                .unwrap();
            let mut future = pin!(service.call(request));
            let Poll::Ready(Ok(response)) = poll_once(future.as_mut()) else {
                panic!("an always-ready body is answered in one poll")
            };
            assert_eq!(response.status(), status);
            assert_eq!(
                budget.in_use(),
                0,
                "{status}: given back before the future is dropped"
            );
        }
    }
}
