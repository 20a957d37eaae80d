//! [`SigningFuture`]: reads the outgoing body, signs it, then calls the inner service.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use bytes::Buf;
use http::{request::Parts, Request};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::Signer;
use crate::{
    body::{Buffer, BufferedBody},
    rejection::BoxError,
    verify::future::polled_after_completion,
};

/// A request whose body is being read so it can be signed.
pub(super) struct Outgoing<S, Sg> {
    pub(super) parts: Parts,
    pub(super) buffer: Buffer,
    pub(super) inner: S,
    pub(super) signer: Arc<Sg>,
}

pin_project! {
    /// The response future of [`WebhookSigning`].
    pub struct SigningFuture<F, S, B, Sg> {
        #[pin]
        state: SigningState<F, S, B, Sg>,
    }
}

pin_project! {
    #[project = SigningStateProj]
    enum SigningState<F, S, B, Sg> {
        Reading {
            #[pin]
            body: B,
            reading: Option<Outgoing<S, Sg>>,
        },
        Calling {
            #[pin]
            future: F,
        },
    }
}

impl<F, S, B, Sg> SigningFuture<F, S, B, Sg> {
    pub(super) fn new(body: B, outgoing: Outgoing<S, Sg>) -> Self {
        Self {
            state: SigningState::Reading {
                body,
                reading: Some(outgoing),
            },
        }
    }
}

impl<F, S, B, Sg, R, E> Future for SigningFuture<F, S, B, Sg>
where
    F: Future<Output = Result<R, E>>,
    E: Into<BoxError>,
    S: Service<Request<BufferedBody>, Response = R, Error = E, Future = F>,
    B: Body,
    B::Error: Into<BoxError>,
    Sg: Signer,
{
    type Output = Result<R, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                SigningStateProj::Calling { future } => {
                    return future.poll(cx).map_err(Into::into);
                }
                SigningStateProj::Reading { mut body, reading } => {
                    let Some(outgoing) = reading.as_mut() else {
                        polled_after_completion()
                    };
                    while let Some(frame) = ready!(body.as_mut().poll_frame(cx)) {
                        match frame.map_err(Into::into)?.into_data() {
                            Ok(mut data) => {
                                let chunk = data.copy_to_bytes(data.remaining());
                                if !chunk.is_empty() {
                                    // No budget: the body is the application's own.
                                    let _ = outgoing.buffer.push(chunk, |_| true);
                                }
                            }
                            Err(frame) => {
                                if let Ok(trailers) = frame.into_trailers() {
                                    outgoing.buffer.push_trailers(trailers);
                                }
                            }
                        }
                    }
                    let Some(outgoing) = reading.take() else {
                        polled_after_completion()
                    };
                    let Outgoing {
                        parts,
                        mut buffer,
                        mut inner,
                        signer,
                    } = outgoing;
                    let body = buffer.take_body();
                    let signed =
                        signer.sign_request(Request::from_parts(parts, body.bytes().clone()))?;
                    let (parts, bytes) = signed.into_parts();
                    // Keep the buffered body (and its trailers) unless signing rewrote it.
                    let body = if bytes == body.bytes() {
                        body
                    } else {
                        BufferedBody::new(bytes)
                    };
                    let request = Request::from_parts(parts, body);
                    SigningState::Calling {
                        future: inner.call(request),
                    }
                }
            };
            this.state.set(next);
        }
    }
}

impl<F, S, B, Sg> fmt::Debug for SigningFuture<F, S, B, Sg> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningFuture").finish_non_exhaustive()
    }
}
