//! The sending side: [`WebhookSigningLayer`] signs outgoing requests for any tower HTTP client.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use bytes::Buf;
use http::{request::Parts, HeaderMap, Request};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::{
    body::{Buffer, BufferedBody},
    future::polled_after_completion,
    rejection::BoxError,
    HmacScheme, Message,
};

/// Produces the signature headers a sender attaches to a request body.
///
/// [`HmacScheme`] (and so every preset) is one: it signs with its first secret, timestamped
/// by its clock, with a fresh message id where the scheme signs one.
///
/// ```
/// use http::HeaderMap;
/// use tower_webhook::{presets, Signer};
///
/// let mut headers = HeaderMap::new();
/// presets::github("It's a Secret to Everybody").sign_headers(b"Hello, World!", &mut headers);
/// assert_eq!(
///     headers["x-hub-signature-256"],
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/// );
/// ```
pub trait Signer: Send + Sync + 'static {
    /// Sets the signature headers for `body` in `headers`, replacing any already there.
    fn sign_headers(&self, body: &[u8], headers: &mut HeaderMap);
}

impl Signer for HmacScheme {
    fn sign_headers(&self, body: &[u8], headers: &mut HeaderMap) {
        let signed = self.sign_message(&Message::new(body));
        for (name, value) in signed {
            if let Some(name) = name {
                headers.insert(name, value);
            }
        }
    }
}

/// A [`Layer`] for HTTP clients that signs each outgoing request as a webhook sender would.
///
/// It reads the request body into memory, adds the scheme's headers (signature, and the
/// timestamp and id where the scheme has them), and sends the same bytes on as a
/// [`BufferedBody`]. Wrap any tower HTTP client with it, such as hyper-util's `Client`.
///
/// # Example
///
/// ```no_run
/// use http::Request;
/// use hyper_util::{client::legacy::Client, rt::TokioExecutor};
/// use tower::{ServiceBuilder, ServiceExt};
/// use tower_webhook::{presets, BufferedBody, WebhookSigningLayer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let client = Client::builder(TokioExecutor::new()).build_http::<BufferedBody>();
/// let sender = ServiceBuilder::new()
///     .layer(WebhookSigningLayer::new(presets::stripe("whsec_endpoint_secret")))
///     .service(client);
///
/// let request = Request::post("http://127.0.0.1:3000/webhooks/stripe")
///     .header("content-type", "application/json")
///     .body(String::from(r#"{"type":"payment_intent.succeeded"}"#))?;
/// let response = sender.oneshot(request).await?;
/// # Ok(())
/// # }
/// ```
pub struct WebhookSigningLayer<Sg> {
    signer: Arc<Sg>,
}

impl<Sg: Signer> WebhookSigningLayer<Sg> {
    /// A layer that signs requests with `signer`.
    ///
    /// ```
    /// use tower_webhook::{presets, WebhookSigningLayer};
    ///
    /// let layer = WebhookSigningLayer::new(presets::loopwise("signing key"));
    /// ```
    #[must_use]
    pub fn new(signer: Sg) -> Self {
        Self {
            signer: Arc::new(signer),
        }
    }
}

impl<S, Sg> Layer<S> for WebhookSigningLayer<Sg> {
    type Service = WebhookSigning<S, Sg>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookSigning {
            inner,
            signer: Arc::clone(&self.signer),
        }
    }
}

impl<Sg> Clone for WebhookSigningLayer<Sg> {
    fn clone(&self) -> Self {
        Self {
            signer: Arc::clone(&self.signer),
        }
    }
}

impl<Sg: fmt::Debug> fmt::Debug for WebhookSigningLayer<Sg> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSigningLayer")
            .field("signer", &self.signer)
            .finish()
    }
}

/// Middleware that signs outgoing webhook requests; see [`WebhookSigningLayer`].
pub struct WebhookSigning<S, Sg> {
    inner: S,
    signer: Arc<Sg>,
}

impl<S, Sg> WebhookSigning<S, Sg> {
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
        let capacity = usize::try_from(body.size_hint().lower()).unwrap_or(0);
        SigningFuture {
            state: SigningState::Reading {
                body,
                reading: Some(Outgoing {
                    parts,
                    buffer: Buffer::new(capacity),
                    inner,
                    signer: Arc::clone(&self.signer),
                }),
            },
        }
    }
}

/// A request whose body is being read so it can be signed.
struct Outgoing<S, Sg> {
    parts: Parts,
    buffer: Buffer,
    inner: S,
    signer: Arc<Sg>,
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
                                    outgoing.buffer.push(chunk);
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
                        mut parts,
                        buffer,
                        mut inner,
                        signer,
                    } = outgoing;
                    let body = buffer.into_body();
                    signer.sign_headers(body.bytes(), &mut parts.headers);
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
