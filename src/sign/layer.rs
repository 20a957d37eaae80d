//! [`WebhookSigningLayer`]: the builder users touch.

use std::{fmt, sync::Arc};

use tower_layer::Layer;

use super::{Signer, WebhookSigning};

/// A [`Layer`] for HTTP clients that signs each outgoing request as a webhook sender would.
///
/// It reads the request body into memory, adds the scheme's headers (signature, and the
/// timestamp and id where the scheme has them), and sends the same bytes on as a
/// [`BufferedBody`](crate::body::BufferedBody). Wrap any tower HTTP client with it, such as hyper-util's `Client`.
///
/// # Example
///
/// ```no_run
/// use http::Request;
/// use hyper_util::{client::legacy::Client, rt::TokioExecutor};
/// use tower::{ServiceBuilder, ServiceExt};
/// use tower_webhook::{body::BufferedBody, presets, sign::WebhookSigningLayer};
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
    /// use tower_webhook::{presets, sign::WebhookSigningLayer};
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
        WebhookSigning::new(inner, Arc::clone(&self.signer))
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
