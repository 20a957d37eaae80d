//! [`ResponseFuture`]: reads and verifies the body, then calls the inner service.

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

use super::{budget::Reservation, deadline::BodyDeadline, verdicts::Verdicts};
#[cfg(feature = "json")]
use crate::handshake::{Answer, Handshake, HandshakeMode};
use crate::{
    body::{Buffer, BufferedBody, ResponseBody},
    keys::{KeyFuture, ResolvedKeys},
    metrics,
    rejection::{BoxError, Rejection, Unverified},
    scheme::{Finish, Scheme, VerdictFuture, Verified, Verifier},
};

/// How many frames one poll reads before yielding, so a body that is always ready (a flood
/// of tiny frames) cannot hold the executor thread.
const FRAMES_PER_POLL: usize = 64;

pin_project! {
    /// The response future of [`WebhookSignature`](crate::verify::WebhookSignature).
    pub struct ResponseFuture<F, S, B, V> {
        #[pin]
        state: State<F, S, B, V>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, S, B, V> {
        Reading {
            #[pin]
            body: B,
            reading: Option<Reading<S, V>>,
        },
        Concluding {
            verdict: VerdictFuture,
            decision: Option<Decision<S>>,
        },
        Calling {
            #[pin]
            future: F,
            // The body's bytes stay reserved until the inner service has answered.
            reservation: Option<Reservation>,
        },
        Answered {
            response: Option<Response<Bytes>>,
        },
        // A handshake's answer that waits on something (a key lookup, a secret stored).
        Answering {
            future: Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>,
        },
    }
}

impl<F, S, B, V> ResponseFuture<F, S, B, V> {
    pub(crate) fn reading(body: B, reading: Reading<S, V>) -> Self {
        Self {
            state: State::Reading {
                body,
                reading: Some(reading),
            },
        }
    }

    pub(crate) fn rejected(response: Response<Bytes>) -> Self {
        Self {
            state: State::Answered {
                response: Some(response),
            },
        }
    }

    /// A handshake answered by the layer.
    #[cfg(feature = "json")]
    pub(crate) fn answer(answer: Answer) -> Self {
        Self {
            state: State::answer(answer),
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
            let next = match this.state.as_mut().project() {
                StateProj::Calling {
                    future,
                    reservation,
                } => {
                    let response = ready!(future.poll(cx));
                    reservation.take();
                    return Poll::Ready(response.map(|response| response.map(ResponseBody::inner)));
                }
                StateProj::Answered { response } => {
                    let Some(response) = response.take() else {
                        polled_after_completion()
                    };
                    return Poll::Ready(Ok(response.map(ResponseBody::rejected)));
                }
                StateProj::Answering { future } => {
                    let response = ready!(future.as_mut().poll(cx));
                    return Poll::Ready(Ok(response.map(ResponseBody::rejected)));
                }
                StateProj::Reading { body, reading } => {
                    let progress = match reading.as_mut() {
                        Some(state) => ready!(state.poll_read(body, cx)),
                        None => polled_after_completion(),
                    };
                    let Some(state) = reading.take() else {
                        polled_after_completion()
                    };
                    match progress {
                        Ok(()) => state.finish(),
                        Err(rejection) => State::rejected(state.reject(&rejection)),
                    }
                }
                StateProj::Concluding { verdict, decision } => {
                    let verdict = ready!(verdict.as_mut().poll(cx));
                    let Some(decision) = decision.take() else {
                        polled_after_completion()
                    };
                    decision.decide(verdict)
                }
            };
            this.state.set(next);
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

impl<F, S, B, V> State<F, S, B, V> {
    /// Calls the inner service with the request, keeping its body's bytes reserved. Each
    /// step out of `Reading` builds the next state directly, with no intermediate value:
    /// the request and the verifier are hundreds of bytes, copied on every move.
    fn call(mut inner: S, request: Request<BufferedBody>, reservation: Reservation) -> Self
    where
        S: Service<Request<BufferedBody>, Future = F>,
    {
        State::Calling {
            future: inner.call(request),
            reservation: Some(reservation),
        }
    }

    /// Answers with this response.
    fn rejected(response: Response<Bytes>) -> Self {
        State::Answered {
            response: Some(response),
        }
    }

    #[cfg(feature = "json")]
    fn answer(answer: Answer) -> Self {
        match answer {
            Answer::Now(response) => State::rejected(response),
            Answer::Later(future) => State::Answering { future },
        }
    }
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

/// What bounds a request's body: its length, its share of the budget, its read deadline.
pub(crate) struct Bounds {
    pub(crate) length: Length,
    pub(crate) reservation: Reservation,
    pub(crate) deadline: BodyDeadline,
}

/// Where a request's verifier is: made, or waiting for its keys.
pub(crate) enum Verifying<V> {
    /// The verifier, or the policy failure that report-only mode lets through to be reported
    /// once the body is read.
    Ready(Result<V, Rejection>),
    /// A sender's unsigned handshake, passed to the handler: read, not verified.
    #[cfg(feature = "json")]
    Handshake(Handshake),
    /// The keys are being looked up; then `scheme` makes the verifier.
    Resolving {
        lookup: KeyFuture,
        scheme: Arc<dyn Resume<V>>,
    },
}

/// Makes the verifier once the keys are found: [`Scheme::verifier_with`], without naming the
/// scheme's type in the future's.
pub(crate) trait Resume<V>: Send + Sync {
    fn resume(&self, request: &Parts, keys: &ResolvedKeys) -> Result<V, Rejection>;
}

impl<Sch: Scheme> Resume<Sch::Verifier> for Sch {
    fn resume(&self, request: &Parts, keys: &ResolvedKeys) -> Result<Sch::Verifier, Rejection> {
        self.verifier_with(request, keys)
    }
}

/// Everything a request carries while its body is read.
pub(crate) struct Reading<S, V> {
    parts: Parts,
    verifier: Verifying<V>,
    inner: S,
    length: Length,
    received: usize,
    buffer: Buffer,
    /// The body's share of the budget, grown as its bytes arrive.
    reservation: Reservation,
    deadline: BodyDeadline,
    /// When the head arrived, for the verification time.
    started: metrics::Started,
    verdicts: Arc<Verdicts>,
    peer: Option<IpAddr>,
    /// The name keys were found under when the verifier could not be made from them, so
    /// the rejection still names the tenant.
    found_under: Option<Arc<str>>,
    /// Whether trailers are handed on; the signature never covers them.
    keep_trailers: bool,
    /// Whether the verifier holds decoy keys (the request named no known keys): it does the
    /// work a wrong signature would, and its verdict is always `UnknownKey`.
    decoy: bool,
}

impl<S, V: Verifier> Reading<S, V> {
    pub(crate) fn new(
        parts: Parts,
        verifier: Verifying<V>,
        inner: S,
        bounds: Bounds,
        verdicts: Arc<Verdicts>,
        peer: Option<IpAddr>,
        keep_trailers: bool,
    ) -> Self {
        let Bounds {
            length,
            reservation,
            deadline,
        } = bounds;
        Self {
            parts,
            verifier,
            inner,
            received: 0,
            buffer: Buffer::new(length.expected.unwrap_or(length.limit)),
            length,
            reservation,
            deadline,
            started: metrics::Started::now(),
            verdicts,
            peer,
            found_under: None,
            keep_trailers,
            decoy: false,
        }
    }

    /// The tenant whose keys were found, once they were, for the rejection's event.
    fn key_id(&self) -> Option<Arc<str>> {
        match &self.verifier {
            // Decoy keys are another tenant's: never named.
            _ if self.decoy => None,
            Verifying::Ready(Ok(verifier)) => {
                verifier.key_id().or_else(|| self.found_under.clone())
            }
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
        if let Verifying::Resolving { lookup, scheme } = &mut self.verifier {
            let found = ready!(lookup.as_mut().poll(cx));
            self.decoy = matches!(&found, Ok(keys) if keys.is_decoy());
            if let Ok(keys) = &found {
                if !self.decoy {
                    self.found_under = Some(Arc::clone(keys.shared_id()));
                }
            }
            let mut verifier = found.and_then(|keys| scheme.resume(&self.parts, &keys));
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
                verifier => self.verifier = Verifying::Ready(verifier),
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
                    if let Verifying::Ready(Ok(verifier)) = &mut self.verifier {
                        verifier.update(&chunk);
                    }
                    // The budget is charged for the memory the buffer holds, not the bytes
                    // counted: they differ by up to twice, and by far more for tiny frames
                    // that would each keep a read buffer alive.
                    let reservation = &mut self.reservation;
                    self.buffer
                        .push(chunk, |held| reservation.grow_to(held))
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
            .reject(rejection, self.peer, self.key_id().as_deref())
    }

    /// The verdict: call the inner service with the request, or answer with a rejection, or
    /// wait for a key first. In report-only mode a failed request goes on too, marked
    /// [`Unverified`].
    fn finish<F, B>(self) -> State<F, S, B, V>
    where
        S: Service<Request<BufferedBody>, Future = F>,
    {
        let key_id = self.key_id();
        let body = self.buffer.into_body();
        let verdict = match self.verifier {
            Verifying::Ready(Ok(verifier)) if self.decoy => {
                // The work is done (the verifier was fed the body) and the verdict dropped.
                drop(verifier.finish_later(body.bytes()));
                Finish::Ready(Err(Rejection::UnknownKey))
            }
            Verifying::Ready(Ok(verifier)) => verifier.finish_later(body.bytes()),
            Verifying::Ready(Err(rejection)) => Finish::Ready(Err(rejection)),
            // A body that is not the handshake's (Notion's is one exact shape): refused, or
            // reported, as any unsigned request, in every mode.
            #[cfg(feature = "json")]
            Verifying::Handshake(handshake) if !handshake.body_matches(body.bytes()) => {
                Finish::Ready(Err(Rejection::MissingSignature))
            }
            #[cfg(feature = "json")]
            Verifying::Handshake(handshake) => {
                if self.verdicts.handshake_mode == HandshakeMode::Answer {
                    self.verdicts.answered(&handshake, self.peer, None);
                    return State::answer(handshake.answer_unsigned(&self.parts, body.bytes()));
                }
                let mut parts = self.parts;
                parts.extensions.remove::<Verified>();
                parts.extensions.remove::<Unverified>();
                parts.extensions.insert(handshake.request(false));
                return State::call(
                    self.inner,
                    Request::from_parts(parts, body),
                    self.reservation,
                );
            }
            // Not reached: the body is read only once the keys are in.
            Verifying::Resolving { .. } => Finish::Ready(Err(Rejection::KeySourceUnavailable)),
        };
        let decision = Decision {
            parts: self.parts,
            body,
            inner: self.inner,
            reservation: self.reservation,
            started: self.started,
            verdicts: self.verdicts,
            peer: self.peer,
            key_id,
        };
        match verdict {
            Finish::Ready(verdict) => decision.decide(verdict),
            Finish::Waiting(verdict) => State::Concluding {
                verdict,
                decision: Some(decision),
            },
        }
    }
}

/// A read request waiting for its verdict.
pub(crate) struct Decision<S> {
    parts: Parts,
    body: BufferedBody,
    inner: S,
    reservation: Reservation,
    started: metrics::Started,
    verdicts: Arc<Verdicts>,
    peer: Option<IpAddr>,
    /// The tenant whose keys were found, for the event of a rejection.
    key_id: Option<Arc<str>>,
}

impl<S> Decision<S> {
    fn decide<F, B, V>(self, verdict: Result<Verified, Rejection>) -> State<F, S, B, V>
    where
        S: Service<Request<BufferedBody>, Future = F>,
    {
        let body = self.body;
        let mut parts = self.parts;
        match verdict {
            Ok(mut verified) => {
                #[cfg(feature = "json")]
                if let Some(handshake) = &self.verdicts.handshake {
                    let answer = handshake.answer_signed(&parts, body.bytes(), &verified);
                    match (self.verdicts.handshake_mode, answer) {
                        (HandshakeMode::Answer, Some(answer)) => {
                            self.verdicts
                                .answered(handshake, self.peer, self.key_id.as_deref());
                            return State::answer(answer);
                        }
                        (HandshakeMode::Handler, Some(_)) => {
                            parts.extensions.insert(handshake.request(true));
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
                // This layer's verdict is the one the inner service sees: not a report-only
                // failure of a layer further out.
                parts.extensions.remove::<Unverified>();
                parts.extensions.insert(verified);
            }
            Err(rejection) if self.verdicts.passes(&rejection) => {
                self.verdicts
                    .report(&rejection, self.peer, self.key_id.as_deref());
                // Nor a `Verified` of a layer further out (another sender's, another route's):
                // `Webhook<T>` and `Extension<Verified>` would take it for this layer's.
                parts.extensions.remove::<Verified>();
                parts.extensions.insert(Unverified::from(&rejection));
            }
            Err(rejection) => {
                return State::rejected(self.verdicts.reject(
                    &rejection,
                    self.peer,
                    self.key_id.as_deref(),
                ));
            }
        }
        State::call(
            self.inner,
            Request::from_parts(parts, body),
            self.reservation,
        )
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
}
