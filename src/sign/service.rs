//! [`WebhookSigning`]: the service; takes the request and starts the future that signs it.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use http::Request;
use http_body::Body;
use tower_service::Service;

use super::{
    future::{Outgoing, SigningFuture},
    Signer,
};
use crate::{body::Buffer, body::BufferedBody, rejection::BoxError};

/// Middleware that signs outgoing webhook requests; see [`WebhookSigningLayer`](super::WebhookSigningLayer).
pub struct WebhookSigning<S, Sg> {
    inner: S,
    signer: Arc<Sg>,
}

impl<S, Sg> WebhookSigning<S, Sg> {
    pub(super) fn new(inner: S, signer: Arc<Sg>) -> Self {
        Self { inner, signer }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, Sg> Clone for WebhookSigning<S, Sg> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            signer: Arc::clone(&self.signer),
        }
    }
}

impl<S: fmt::Debug, Sg: fmt::Debug> fmt::Debug for WebhookSigning<S, Sg> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSigning")
            .field("inner", &self.inner)
            .field("signer", &self.signer)
            .finish()
    }
}

impl<S, Sg, B> Service<Request<B>> for WebhookSigning<S, Sg>
where
    S: Service<Request<BufferedBody>> + Clone,
    S::Error: Into<BoxError>,
    Sg: Signer,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = SigningFuture<S::Future, S, B, Sg>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (parts, body) = request.into_parts();
        // The body is read before `inner` is called: keep the instance that was driven ready.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        // The application's own body: no limit but its exact length, where it has one.
        let target = body
            .size_hint()
            .exact()
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        SigningFuture::new(
            body,
            Outgoing {
                parts,
                buffer: Buffer::new(target),
                inner,
                signer: Arc::clone(&self.signer),
            },
        )
    }
}
