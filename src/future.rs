//! [`ResponseFuture`]: reads and verifies the body, then calls the inner service.

use std::{
    fmt,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use bytes::Buf;
use http::{request::Parts, HeaderMap, Request, Response};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::{
    body::{Buffer, BufferedBody, ResponseBody},
    rejection::BoxError,
    Rejection, Verifier,
};

/// How many frames one poll reads before yielding, so a body that is always ready (a flood
/// of tiny frames) cannot hold the executor thread.
const FRAMES_PER_POLL: usize = 64;

pin_project! {
    /// The response future of [`WebhookSignature`](crate::WebhookSignature).
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
        Calling {
            #[pin]
            future: F,
        },
        Rejected {
            rejection: Option<Rejection>,
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

    pub(crate) fn rejected(rejection: Rejection) -> Self {
        Self {
            state: State::Rejected {
                rejection: Some(rejection),
            },
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
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                StateProj::Rejected { rejection } => {
                    let rejection = rejection
                        .take()
                        .expect("ResponseFuture polled after completion");
                    let response = rejection.to_response().map(ResponseBody::rejected);
                    return Poll::Ready(Ok(response));
                }
                StateProj::Reading { body, reading } => {
                    let progress = match reading.as_mut() {
                        Some(state) => ready!(state.poll_read(body, cx)),
                        None => panic!("ResponseFuture polled after completion"),
                    };
                    let Some(state) = reading.take() else {
                        unreachable!("checked just above")
                    };
                    match progress.and_then(|()| state.finish()) {
                        Ok((request, mut inner)) => State::Calling {
                            future: inner.call(request),
                        },
                        Err((rejection, name, peer)) => {
                            log_rejection(&name, peer, &rejection);
                            State::Rejected {
                                rejection: Some(rejection),
                            }
                        }
                    }
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

/// A rejection with what its `tracing` event needs.
type Failed = (Rejection, Arc<str>, Option<IpAddr>);

/// Everything a request carries while its body is read.
pub(crate) struct Reading<S, V> {
    parts: Parts,
    verifier: V,
    inner: S,
    limit: usize,
    received: usize,
    buffer: Buffer,
    /// Boxed: rare, and 96 bytes inline would be moved with every request's state.
    trailers: Option<Box<HeaderMap>>,
    name: Arc<str>,
    peer: Option<IpAddr>,
}

impl<S, V: Verifier> Reading<S, V> {
    pub(crate) fn new(
        parts: Parts,
        verifier: V,
        inner: S,
        limit: usize,
        capacity: usize,
        name: Arc<str>,
        peer: Option<IpAddr>,
    ) -> Self {
        Self {
            parts,
            verifier,
            inner,
            limit,
            received: 0,
            buffer: Buffer::new(capacity),
            trailers: None,
            name,
            peer,
        }
    }

    /// Reads frames until the body ends (`Ok`), fails or passes the limit (`Err`), or is not
    /// ready.
    fn poll_read<B>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Failed>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        for _ in 0..FRAMES_PER_POLL {
            let result = match ready!(body.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(frame)) => self.push(frame),
                Some(Err(error)) => Err(Rejection::BodyRead(error.into())),
            };
            if let Err(rejection) = result {
                return Poll::Ready(Err(self.failed(rejection)));
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn push<D: Buf>(&mut self, frame: Frame<D>) -> Result<(), Rejection> {
        match frame.into_data() {
            Ok(mut data) => {
                let len = data.remaining();
                // Cut the body off as soon as it passes the limit, never buffer it whole.
                if len > self.limit - self.received {
                    return Err(Rejection::BodyTooLarge { limit: self.limit });
                }
                self.received += len;
                if len > 0 {
                    // Zero-copy when the frame's data is already `Bytes`.
                    let chunk = data.copy_to_bytes(len);
                    self.verifier.update(&chunk);
                    self.buffer.push(chunk);
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    match &mut self.trailers {
                        Some(existing) => existing.extend(trailers),
                        None => self.trailers = Some(Box::new(trailers)),
                    }
                }
            }
        }
        Ok(())
    }

    fn failed(&self, rejection: Rejection) -> Failed {
        (rejection, Arc::clone(&self.name), self.peer)
    }

    /// The verdict; on success, the request for the inner service and the service to call.
    fn finish(self) -> Result<(Request<BufferedBody>, S), Failed> {
        let body = self.buffer.into_bytes();
        match self.verifier.finish(&body) {
            Ok(verified) => {
                let mut parts = self.parts;
                parts.extensions.insert(verified);
                tracing::debug!(
                    target: "tower_webhook",
                    scheme = &*self.name,
                    key_index = verified.key_index(),
                    "webhook verified"
                );
                let body = BufferedBody::with_trailers(body, self.trailers.map(|t| *t));
                Ok((Request::from_parts(parts, body), self.inner))
            }
            Err(rejection) => Err((rejection, self.name, self.peer)),
        }
    }
}

/// The `tracing` event of a rejected request. Never carries a secret or a signature.
pub(crate) fn log_rejection(scheme: &str, peer: Option<IpAddr>, rejection: &Rejection) {
    let reason = rejection.reason();
    let peer = peer.map(tracing::field::display);
    match rejection {
        Rejection::BodyRead(error) => tracing::info!(
            target: "tower_webhook",
            scheme,
            reason,
            peer,
            error = %error,
            "webhook rejected"
        ),
        _ => tracing::warn!(
            target: "tower_webhook",
            scheme,
            reason,
            peer,
            "webhook rejected"
        ),
    }
}
