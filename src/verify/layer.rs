//! [`WebhookSignatureLayer`]: the builder users touch.

use std::{
    fmt,
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use bytes::Bytes;
use http::Response;
use tower_layer::Layer;

use super::{
    budget::BodyBudget, deadline::DEFAULT_BODY_TIMEOUT, verdicts::Verdicts, WebhookSignature,
};
#[cfg(feature = "json")]
use crate::handshake::{Handshake, HandshakeMode};
use crate::{allowlist::IpAllowlist, peer::PeerSource, rejection::Rejection, scheme::Scheme};

/// The body size limit when none is set: 2 MiB, the same as axum's default.
pub const DEFAULT_MAX_BODY_SIZE: usize = 2 * 1024 * 1024;

/// The largest body size limit that can be set: 1 GiB. Every body is held in memory whole
/// while it is verified; no sender sends webhooks anywhere near this.
pub(crate) const LARGEST_MAX_BODY_SIZE: usize = 1 << 30;

/// A [`Layer`] that verifies webhook signatures before the inner service sees the request.
///
/// For each request, in this order, the layer:
/// 1. if an allowlist is set ([`allow_ips`](Self::allow_ips)), answers `403` unless the peer
///    address is in it, before reading anything;
/// 2. asks the [`Scheme`] to check the signature header(s), answering `401` if they are missing
///    or malformed;
/// 3. answers `413` if `Content-Length` (or the body's size hint) is over the limit, `400` if
///    it is not a number, and `503` if the layer's [`BodyBudget`] could not hold it now;
/// 4. reads the body, feeding each frame to the verifier as it arrives and answering `413` as
///    soon as it passes the limit, `503` as soon as the memory it holds no longer fits the
///    budget, `408` if it is still unfinished at the [body timeout](Self::body_timeout),
///    `400` if it fails;
/// 5. answers `401` if the signature does not match, or if the request names a tenant whose
///    keys there are none of (an unknown tenant is answered exactly as a wrong signature,
///    after its body); otherwise passes the request on with exactly the same bytes as its
///    body ([`BufferedBody`](crate::body::BufferedBody)), without trailers (see
///    [`keep_trailers`](Self::keep_trailers)), and a [`Verified`](crate::Verified) in its
///    extensions.
///
/// Rejections are short plain-text responses (see [`Rejection`](crate::Rejection)) and a
/// `tracing` event with target `tower_webhook` and fields `scheme`, `reason`, `peer` and,
/// once a tenant's keys were found, `key_id`.
///
/// Which requests reach it depends on where it is added: on the webhook's route
/// (`post(handler).route_layer(layer)`) it never sees other routes or unknown paths; with
/// `Router::layer` it answers every one of them `401`. See
/// [which requests reach the layer](crate#which-requests-reach-the-layer).
///
/// # Example
///
/// ```
/// use std::net::SocketAddr;
/// use axum::{routing::post, Router};
/// use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};
///
/// async fn handle_loopwise(body: String) -> &'static str {
///     "ok"
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let webhook = WebhookSignatureLayer::new(presets::loopwise("signing key"))
///     .allow_ips("52.194.91.27".parse::<IpAllowlist>()?)
///     .max_body_size(1 << 20);
/// // On the route's POST only: other routes and unknown paths never reach it.
/// let app: Router = Router::new().route(
///     "/webhooks/loopwise",
///     post(handle_loopwise).route_layer(webhook),
/// );
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
/// # Ok(())
/// # }
/// ```
pub struct WebhookSignatureLayer<Sch> {
    config: Config<Sch>,
}

impl<Sch: Scheme> WebhookSignatureLayer<Sch> {
    /// A layer that verifies requests with `scheme`, with no allowlist and a 2 MiB body limit.
    ///
    /// ```
    /// use tower_webhook::{presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loop_returns("secret"));
    /// ```
    #[must_use]
    pub fn new(scheme: Sch) -> Self {
        #[cfg_attr(not(feature = "json"), expect(unused_mut))]
        let mut verdicts = Verdicts::new(scheme.name());
        #[cfg(feature = "json")]
        {
            verdicts.handshake = scheme.handshake();
        }
        Self {
            config: Config {
                verdicts: Arc::new(verdicts),
                scheme: Arc::new(scheme),
                allowlist: None,
                max_body_size: DEFAULT_MAX_BODY_SIZE,
                body_timeout: cfg!(feature = "tokio").then_some(DEFAULT_BODY_TIMEOUT),
                keep_trailers: false,
                unknown_peer_warned: Arc::new(AtomicBool::new(false)),
            },
        }
    }

    /// Only accept requests whose peer address is in `allowlist`; answer others, and requests
    /// whose peer address is unknown, with `403` before reading their body.
    ///
    /// The peer address comes from the [`PeerSource`], by default [`ConnectionPeer`](crate::peer::ConnectionPeer): with
    /// axum, enable tower-webhook's **`axum` cargo feature** and serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`; with tonic, the `tonic`
    /// feature; with plain hyper, insert a [`PeerAddr`](crate::peer::PeerAddr) extension.
    /// Without the feature the layer cannot see axum's address and answers every request
    /// `403` ([`Rejection::UnknownPeer`]); the first such request of each layer is logged
    /// once at WARN, naming the feature.
    ///
    /// ```
    /// use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret"))
    ///     .allow_ips("52.194.91.27, 127.0.0.1, ::1".parse::<IpAllowlist>()?);
    /// # Ok::<(), tower_webhook::allowlist::AllowlistParseError>(())
    /// ```
    #[must_use]
    pub fn allow_ips(mut self, allowlist: IpAllowlist) -> Self {
        self.config.allowlist = Some(Arc::new(allowlist));
        self
    }

    /// The largest body accepted, in bytes; larger ones get `413`. Default:
    /// [`DEFAULT_MAX_BODY_SIZE`] (2 MiB); at most 1 GiB (a larger limit is taken as 1 GiB).
    ///
    /// The whole body is held in memory while it is verified, so this bounds the memory one
    /// request can take.
    ///
    /// ```
    /// use tower_webhook::{presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret")).max_body_size(64 * 1024);
    /// ```
    #[must_use]
    pub fn max_body_size(mut self, limit: usize) -> Self {
        self.config.max_body_size = limit.min(LARGEST_MAX_BODY_SIZE);
        self
    }

    /// The bound on the body bytes this layer's requests buffer at once, all together.
    /// Default: a budget of its own of [`DEFAULT_BODY_BUDGET`](super::DEFAULT_BODY_BUDGET)
    /// (32 MiB), shared by every service the layer makes. Give several layers clones of one
    /// budget to bound them together. A body is charged for the memory it holds as its bytes
    /// arrive; one that no longer fits is answered `503` with `Retry-After`. See
    /// [`BodyBudget`].
    ///
    /// Keep it well above [`max_body_size`](Self::max_body_size): a body larger than seven
    /// eighths of the budget can never be accepted.
    ///
    /// ```
    /// use tower_webhook::{presets, verify::BodyBudget, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret"))
    ///     .body_budget(BodyBudget::new(128 * 1024 * 1024));
    /// ```
    #[must_use]
    pub fn body_budget(mut self, budget: BodyBudget) -> Self {
        Arc::make_mut(&mut self.config.verdicts).budget = budget;
        self
    }

    /// How long a request's body may take to arrive, counted from the first time it keeps
    /// the request waiting; a body still unfinished then is answered `408 Request Timeout`
    /// ([`Rejection::BodyTimeout`]) and its share of the [`BodyBudget`] comes back. Default:
    /// [`DEFAULT_BODY_TIMEOUT`](super::DEFAULT_BODY_TIMEOUT) (30 s); clamped to 1 s ..= 10 min.
    ///
    /// Without it, a client that sends part of a body and stalls holds its share of the
    /// budget for as long as the server keeps the connection open. It needs the `tokio`
    /// feature (which `axum`, `tonic`, `keys` and `redis` enable) and a tokio runtime; without
    /// them there is no deadline, and a body-level timeout in front of the layer
    /// (`tower_http::timeout::RequestBodyTimeoutLayer`) is the way to bound one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret"))
    ///     .body_timeout(Duration::from_secs(10));
    /// ```
    ///
    /// [`Rejection::BodyTimeout`]: crate::Rejection::BodyTimeout
    #[cfg(feature = "tokio")]
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_timeout = Some(super::deadline::clamp(timeout));
        self
    }

    /// Where the peer address checked against the allowlist comes from. Default:
    /// [`ConnectionPeer`](crate::peer::ConnectionPeer).
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use http::request::Parts;
    /// use tower_webhook::{presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret"))
    ///     .peer_source(|_: &Parts| Some(IpAddr::from([127, 0, 0, 1])));
    /// ```
    #[must_use]
    pub fn peer_source(mut self, source: impl PeerSource) -> Self {
        Arc::make_mut(&mut self.config.verdicts).peer_source = Arc::new(source);
        self
    }

    /// Hand the trailers of a chunked (or HTTP/2) request on to the inner service. Default:
    /// they are dropped.
    ///
    /// No sender signs trailers: the signature covers the body's bytes (and the headers its
    /// scheme names), never what follows them, so anyone who relays a signed request can add
    /// or change its trailers. Keep them only if your handler treats them as unverified input.
    ///
    /// ```
    /// use tower_webhook::{presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret")).keep_trailers();
    /// ```
    #[must_use]
    pub fn keep_trailers(mut self) -> Self {
        self.config.keep_trailers = true;
        self
    }

    /// Verify every request but pass it on whatever the verdict, to deploy the layer and watch
    /// what it would do before enforcing it.
    ///
    /// A request that fails a signature, timestamp or address check reaches the inner service
    /// with an [`Unverified`](crate::rejection::Unverified) in its extensions (instead of
    /// [`Verified`](crate::Verified), also removing one a layer further out inserted) and is
    /// logged as a `tracing` warning with
    /// `mode = "report_only"`. Limits are still enforced: a body over the limit (`413`), a
    /// malformed `Content-Length` or a body that fails (`400`) cannot be passed on whole.
    ///
    /// ```
    /// use tower_webhook::{presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::stripe("whsec_…")).report_only();
    /// ```
    #[must_use]
    pub fn report_only(mut self) -> Self {
        Arc::make_mut(&mut self.config.verdicts).report_only = true;
        self
    }

    /// How rejections are answered. Default: [`Rejection::to_response`], a short `text/plain`
    /// body with the rejection's status.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::{header, Response};
    /// use tower_webhook::{presets, Rejection, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret")).on_rejection(
    ///     |rejection: &Rejection| {
    ///         let body = format!(r#"{{"error":"{}"}}"#, rejection.reason());
    ///         Response::builder()
    ///             .status(rejection.status())
    ///             .header(header::CONTENT_TYPE, "application/json")
    ///             .body(Bytes::from(body))
    ///             .unwrap_or_default()
    ///     },
    /// );
    /// ```
    ///
    /// A request naming a tenant without keys is answered as a wrong signature: `respond` is
    /// given [`Rejection::InvalidSignature`] for it, so that no response tells a prober which
    /// tenants exist (the `tracing` event and the metric still say `unknown_key`).
    ///
    /// Headers of the default response that tell the sender when to retry (`Retry-After` on
    /// the budget's `503`) are added to yours unless you set them. With axum, return what
    /// handlers return through [`on_rejection_into_response`](Self::on_rejection_into_response).
    #[must_use]
    pub fn on_rejection<F>(mut self, respond: F) -> Self
    where
        F: Fn(&Rejection) -> Response<Bytes> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.config.verdicts).respond = Arc::new(respond);
        self
    }

    /// How rejections are answered, from anything axum's `IntoResponse` takes: a
    /// `(StatusCode, Json(..))`, a `Response`, a `String`. As
    /// [`on_rejection`](Self::on_rejection) otherwise, `Retry-After` included.
    ///
    /// The body must be ready at once, as every body built from a value is (`Json`, `String`,
    /// `Bytes`, `Html`); a streaming body cannot answer a rejection, and the default response
    /// is sent in its place, with an ERROR event.
    ///
    /// ```
    /// use axum::Json;
    /// use serde_json::json;
    /// use tower_webhook::{presets, Rejection, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::loopwise("secret"))
    ///     .on_rejection_into_response(|rejection: &Rejection| {
    ///         (rejection.status(), Json(json!({ "error": rejection.reason() })))
    ///     });
    /// ```
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    #[must_use]
    pub fn on_rejection_into_response<F, R>(self, respond: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: axum::response::IntoResponse,
    {
        self.on_rejection(move |rejection: &Rejection| {
            super::verdicts::ready_response(respond(rejection).into_response())
                .unwrap_or_else(|| rejection.to_response())
        })
    }

    /// Answers `handshake` instead of the scheme's own
    /// ([`Scheme::handshake`](crate::scheme::Scheme::handshake)): a handshake that needs your
    /// configuration (Meta's verify token), or one for a scheme of your own. See
    /// [`handshake`](crate::handshake) for what each answers.
    ///
    /// ```
    /// use tower_webhook::{handshake::Handshake, presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::meta("app secret"))
    ///     .handshake(Handshake::meta("verify token"));
    /// ```
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    #[must_use]
    pub fn handshake(mut self, handshake: Handshake) -> Self {
        Arc::make_mut(&mut self.config.verdicts).handshake = Some(handshake);
        self
    }

    /// What the layer does with its scheme's handshake: answers it (the default), passes it
    /// to the handler marked with a [`HandshakeRequest`](crate::handshake::HandshakeRequest),
    /// or does not recognise it at all.
    ///
    /// ```
    /// use tower_webhook::{handshake::HandshakeMode, presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::slack("signing secret"))
    ///     .handshakes(HandshakeMode::Off);
    /// ```
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    #[must_use]
    pub fn handshakes(mut self, mode: HandshakeMode) -> Self {
        Arc::make_mut(&mut self.config.verdicts).handshake_mode = mode;
        self
    }
}

impl<S, Sch> Layer<S> for WebhookSignatureLayer<Sch> {
    type Service = WebhookSignature<S, Sch>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookSignature::from_config(inner, Arc::new(self.config.clone()))
    }
}

impl<Sch> Clone for WebhookSignatureLayer<Sch> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<Sch: fmt::Debug> fmt::Debug for WebhookSignatureLayer<Sch> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSignatureLayer")
            .field("config", &self.config)
            .finish()
    }
}

/// What a layer and its services share. Every field is cheap to clone.
pub(crate) struct Config<Sch> {
    pub(crate) scheme: Arc<Sch>,
    /// Kept apart from the scheme so a request's future can hold it, whatever the scheme type.
    pub(crate) verdicts: Arc<Verdicts>,
    pub(crate) allowlist: Option<Arc<IpAllowlist>>,
    pub(crate) max_body_size: usize,
    /// How long a body may take once it keeps a request waiting; `None` without a timer.
    pub(crate) body_timeout: Option<Duration>,
    /// Whether unsigned trailers reach the inner service.
    pub(crate) keep_trailers: bool,
    /// Whether the layer has said that its allowlist found no peer address.
    pub(crate) unknown_peer_warned: Arc<AtomicBool>,
}

impl<Sch> Clone for Config<Sch> {
    fn clone(&self) -> Self {
        Self {
            scheme: Arc::clone(&self.scheme),
            verdicts: Arc::clone(&self.verdicts),
            allowlist: self.allowlist.clone(),
            max_body_size: self.max_body_size,
            body_timeout: self.body_timeout,
            keep_trailers: self.keep_trailers,
            unknown_peer_warned: Arc::clone(&self.unknown_peer_warned),
        }
    }
}

impl<Sch: fmt::Debug> fmt::Debug for Config<Sch> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("scheme", &self.scheme)
            .field("allowlist", &self.allowlist)
            .field("max_body_size", &self.max_body_size)
            .field("budget", &self.verdicts.budget)
            .field("body_timeout", &self.body_timeout)
            .field("report_only", &self.verdicts.report_only)
            .field("keep_trailers", &self.keep_trailers)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets;

    #[test]
    fn the_body_size_limit_is_clamped() {
        let layer = WebhookSignatureLayer::new(presets::loopwise("secret"));
        assert_eq!(layer.config.max_body_size, DEFAULT_MAX_BODY_SIZE);
        let layer = layer.max_body_size(usize::MAX);
        assert_eq!(layer.config.max_body_size, 1 << 30);
        let layer = layer.max_body_size(0);
        assert_eq!(
            layer.config.max_body_size, 0,
            "no body at all is a limit one may want"
        );
    }
}
