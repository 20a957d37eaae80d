//! [`InboxLayer`]: appends each verified delivery to an [`InboxStore`] and answers the sender
//! at once; [`InboxService`], the service it makes.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::{random_id, store::Appended, Delivery, InboxStore};
use crate::{body::BufferedBody, presets::Preset, scheme::Verified};

/// How long an append may take before the sender is answered 503, unless set.
const DEFAULT_APPEND_TIMEOUT: Duration = Duration::from_secs(2);
/// The shortest and longest append timeouts: a store needs some time, and a sender waits
/// 3 seconds at the least patient.
const APPEND_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_secs(30));
/// What a 503 tells the sender to wait, in seconds.
const RETRY_AFTER_SECONDS: u64 = 5;
/// The most headers kept per delivery: `keep_headers` is configuration, but each kept name
/// costs every delivery a lookup and some bytes in the store.
const MAX_KEPT_HEADERS: usize = 64;

/// Appends each verified delivery to an [`InboxStore`] and answers the sender at once (202
/// Accepted unless [`respond_with`](Self::respond_with) says otherwise); a
/// [`Worker`](super::Worker) runs your service on it later.
///
/// Place it **inside** [`WebhookSignatureLayer`](crate::WebhookSignatureLayer), so only
/// verified requests reach it. What it does with each request:
///
/// - verified ([`Verified`] in its extensions): appended with its body, method, URI, the
///   [kept headers](Self::keep_headers), the scheme's name, the key id and every delivery id;
///   answered with the configured status when the store says it is new **or a duplicate**
///   (a sender's retry of a delivery already stored must stop retrying), 503 Service
///   Unavailable with `Retry-After` when the store fails or takes longer than the
///   [append timeout](Self::append_timeout), so the sender retries;
/// - not verified (a report-only layer's failure carries
///   [`Unverified`](crate::rejection::Unverified), or no layer ran): never appended;
///   answered 401 Unauthorized, or handed to the inner service with
///   [`pass_unverified`](Self::pass_unverified).
///
/// - a setup handshake the signature layer leaves to the handler
///   ([`HandshakeMode::Handler`](crate::handshake::HandshakeMode::Handler)): handed to the
///   inner service, which must answer it; never stored. (By default the signature layer
///   answers handshakes itself and they never reach the inbox.)
///
/// The inner service is otherwise never called: the inbox is the endpoint. Give it a
/// handler that answers something harmless (axum's `route_layer` needs a route to wrap).
///
/// ```
/// use std::sync::Arc;
/// use axum::{routing::post, Router};
/// use tower_webhook::{inbox::{InboxLayer, SqliteInbox}, presets, WebhookSignatureLayer};
///
/// # let path = std::env::temp_dir().join(format!("inbox-doc-layer-{}.sqlite3", std::process::id()));
/// let store = Arc::new(SqliteInbox::open(&path)?);
/// let stripe = presets::find("stripe").unwrap();
/// let app: Router = Router::new()
///     .route("/webhooks/stripe", post(|| async { "not reached" }))
///     .route_layer(InboxLayer::for_preset(store, stripe)?)
///     .route_layer(WebhookSignatureLayer::new(presets::stripe("whsec_…")));
/// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct InboxLayer {
    store: Arc<dyn InboxStore>,
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    scheme: Arc<str>,
    keep: Vec<HeaderName>,
    status: StatusCode,
    timeout: Duration,
    pass_unverified: bool,
    max_body_size: usize,
}

impl InboxLayer {
    /// An inbox appending to `store`, naming deliveries whose scheme the signature layer did
    /// not record `webhook` (see [`scheme_name`](Self::scheme_name)), keeping `content-type`
    /// only, answering 202 within an append timeout of 2 seconds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_webhook::inbox::{InboxLayer, SqliteInbox};
    ///
    /// # let path = std::env::temp_dir().join(format!("inbox-doc-new-{}.sqlite3", std::process::id()));
    /// let store = Arc::new(SqliteInbox::open(&path)?);
    /// let inbox = InboxLayer::new(store).scheme_name("slack").keep_headers(["content-type", "x-slack-retry-num"]);
    /// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
    /// # Ok::<(), tower_webhook::inbox::InboxError>(())
    /// ```
    #[must_use]
    pub fn new(store: Arc<dyn InboxStore>) -> Self {
        Self {
            store,
            config: Arc::new(Config {
                scheme: Arc::from("webhook"),
                keep: vec![header::CONTENT_TYPE],
                status: StatusCode::ACCEPTED,
                timeout: DEFAULT_APPEND_TIMEOUT,
                pass_unverified: false,
                max_body_size: crate::verify::DEFAULT_MAX_BODY_SIZE,
            }),
        }
    }

    /// An inbox for `preset`'s sender: its name, and the headers that carry its event type
    /// and delivery id kept (GitHub's `x-github-event` and `x-github-delivery`, Shopify's
    /// `x-shopify-topic`, …) besides `content-type`.
    ///
    /// # Errors
    ///
    /// [`RepliesInline`] for a sender whose protocol reply *is* the response
    /// ([`Preset::replies_inline`]: Discord interactions, Slack slash commands and
    /// interactivity, Microsoft Teams outgoing webhooks). The inbox answers before your
    /// handler runs, so it cannot give such a sender its reply: verify those with
    /// [`WebhookSignatureLayer`](crate::WebhookSignatureLayer) alone and answer inline. A
    /// route that receives only Slack's Events API (no reply expected) can still use the inbox
    /// through [`new`](Self::new) and [`scheme_name`](Self::scheme_name).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_webhook::{inbox::{InboxLayer, SqliteInbox}, presets};
    ///
    /// # let path = std::env::temp_dir().join(format!("inbox-doc-preset-{}.sqlite3", std::process::id()));
    /// let store = Arc::new(SqliteInbox::open(&path)?);
    /// let github = InboxLayer::for_preset(store.clone(), presets::find("github").unwrap())?;
    /// let refused = InboxLayer::for_preset(store, presets::find("discord").unwrap()).unwrap_err();
    /// assert_eq!(refused.preset(), "discord");
    /// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_preset(store: Arc<dyn InboxStore>, preset: &Preset) -> Result<Self, RepliesInline> {
        if preset.replies_inline() {
            return Err(RepliesInline {
                preset: preset.name(),
            });
        }
        let layer = Self::new(store).scheme_name(preset.name());
        let mut keep = vec![header::CONTENT_TYPE];
        keep.extend(
            sender_headers(preset.name())
                .iter()
                .map(|name| HeaderName::from_static(name)),
        );
        Ok(layer.keep_header_names(keep))
    }

    /// The scheme's name recorded for a delivery when the signature layer did not record
    /// one (it always does with the `inbox` feature; a hand-inserted [`Verified`] does not).
    #[must_use]
    pub fn scheme_name(mut self, name: impl Into<Arc<str>>) -> Self {
        Arc::make_mut(&mut self.config).scheme = name.into();
        self
    }

    /// The request headers kept with each delivery and given to the worker's service, in
    /// this order (up to 64; invalid names are skipped). Replaces the default
    /// (`content-type`). Signature headers need not be kept: the worker does not verify
    /// again.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tower_webhook::inbox::{InboxLayer, SqliteInbox};
    ///
    /// # let path = std::env::temp_dir().join(format!("inbox-doc-keep-{}.sqlite3", std::process::id()));
    /// let inbox = InboxLayer::new(Arc::new(SqliteInbox::open(&path)?))
    ///     .keep_headers(["content-type", "x-github-event", "x-github-delivery"]);
    /// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
    /// # Ok::<(), tower_webhook::inbox::InboxError>(())
    /// ```
    #[must_use]
    pub fn keep_headers<I, N>(self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        let names = names
            .into_iter()
            .filter_map(|name| HeaderName::try_from(name.as_ref()).ok())
            .collect();
        self.keep_header_names(names)
    }

    fn keep_header_names(mut self, mut names: Vec<HeaderName>) -> Self {
        let mut seen = Vec::with_capacity(names.len());
        names.retain(|name| {
            let new = !seen.contains(name);
            if new {
                seen.push(name.clone());
            }
            new
        });
        names.truncate(MAX_KEPT_HEADERS);
        Arc::make_mut(&mut self.config).keep = names;
        self
    }

    /// The status answered for a delivery stored (or already stored): 202 Accepted unless
    /// set. Some senders want 200 (check the sender's docs).
    ///
    /// # Panics
    ///
    /// If `status` is not 2xx: senders retry anything else, forever or until they disable
    /// the endpoint.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use http::StatusCode;
    /// use tower_webhook::inbox::{InboxLayer, SqliteInbox};
    ///
    /// # let path = std::env::temp_dir().join(format!("inbox-doc-status-{}.sqlite3", std::process::id()));
    /// let inbox = InboxLayer::new(Arc::new(SqliteInbox::open(&path)?)).respond_with(StatusCode::OK);
    /// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
    /// # Ok::<(), tower_webhook::inbox::InboxError>(())
    /// ```
    #[must_use]
    #[allow(clippy::panic, reason = "configuration, documented under Panics")]
    pub fn respond_with(mut self, status: StatusCode) -> Self {
        if !status.is_success() {
            panic!("InboxLayer::respond_with takes a 2xx status, not {status}");
        }
        Arc::make_mut(&mut self.config).status = status;
        self
    }

    /// How long an append may take before the sender is answered 503 (and retries): 2
    /// seconds unless set, clamped to 10 ms..=30 s. Keep it under the sender's
    /// [deadline](Preset::deadline).
    ///
    /// It also bounds reading back a body a router re-wrapped (see
    /// [`max_body_size`](Self::max_body_size)); past it, 408.
    ///
    /// An append that times out may still complete; the sender's retry is then a duplicate,
    /// answered 2xx, and the delivery is processed once.
    #[must_use]
    pub fn append_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).timeout =
            timeout.clamp(APPEND_TIMEOUT_RANGE.0, APPEND_TIMEOUT_RANGE.1);
        self
    }

    /// The largest body the inbox reads back when a router wrapped the signature layer's
    /// body in its own type (two axum `route_layer` calls; one `route_layer` of a
    /// `ServiceBuilder` holding both layers avoids the copy): 2 MiB unless set, as the
    /// signature layer's [`max_body_size`](crate::WebhookSignatureLayer::max_body_size), and
    /// at most 1 GiB as that is. Keep it at least that: a larger verified body is answered
    /// 413 and not stored.
    #[must_use]
    pub fn max_body_size(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.config).max_body_size =
            limit.min(crate::verify::LARGEST_MAX_BODY_SIZE);
        self
    }

    /// Whether a request that was not verified (a report-only layer's failure) goes to the
    /// inner service, to be handled inline as before the inbox; `false` (answered 401,
    /// never appended) unless set. An unverified delivery is never stored: the inbox's
    /// promise is that what it holds was verified.
    #[must_use]
    pub fn pass_unverified(mut self, pass: bool) -> Self {
        Arc::make_mut(&mut self.config).pass_unverified = pass;
        self
    }
}

impl fmt::Debug for InboxLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxLayer")
            .field("scheme", &self.config.scheme)
            .field("keep_headers", &self.config.keep)
            .field("status", &self.config.status)
            .field("append_timeout", &self.config.timeout)
            .field("pass_unverified", &self.config.pass_unverified)
            .field("max_body_size", &self.config.max_body_size)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for InboxLayer {
    type Service = InboxService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InboxService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The headers a sender names its event type and delivery with (besides what it signs).
fn sender_headers(preset: &str) -> &'static [&'static str] {
    match preset {
        "github" => &["x-github-event", "x-github-delivery", "x-github-hook-id"],
        "shopify" => &[
            "x-shopify-topic",
            "x-shopify-webhook-id",
            "x-shopify-event-id",
            "x-shopify-shop-domain",
            "x-shopify-triggered-at",
        ],
        "gitlab" => &[
            "x-gitlab-event",
            "x-gitlab-event-uuid",
            "x-gitlab-webhook-uuid",
        ],
        "gitea" => &["x-gitea-event", "x-gitea-delivery"],
        "forgejo" => &["x-forgejo-event", "x-forgejo-delivery"],
        "bitbucket" => &["x-event-key", "x-request-uuid", "x-hook-uuid"],
        "linear" => &["linear-event", "linear-delivery"],
        "twitch" => &[
            "twitch-eventsub-message-id",
            "twitch-eventsub-message-type",
            "twitch-eventsub-subscription-type",
        ],
        "standard_webhooks"
        | "standard_webhooks_v1a"
        | "clerk"
        | "resend"
        | "openai"
        | "replicate" => &["webhook-id", "webhook-timestamp"],
        "woocommerce" => &[
            "x-wc-webhook-topic",
            "x-wc-webhook-resource",
            "x-wc-webhook-event",
            "x-wc-webhook-delivery-id",
        ],
        "sentry" => &["sentry-hook-resource"],
        "slack" => &["x-slack-retry-num", "x-slack-retry-reason"],
        _ => &[],
    }
}

/// [`InboxLayer::for_preset`]'s refusal: the sender reads its reply from the response,
/// which the inbox answers before any handler runs.
///
/// ```
/// use std::sync::Arc;
/// use tower_webhook::{inbox::{InboxLayer, SqliteInbox}, presets};
///
/// # let path = std::env::temp_dir().join(format!("inbox-doc-inline-{}.sqlite3", std::process::id()));
/// let store = Arc::new(SqliteInbox::open(&path)?);
/// let error = InboxLayer::for_preset(store, presets::find("slack").unwrap()).unwrap_err();
/// assert!(error.to_string().contains("answer it inline"));
/// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
/// # Ok::<(), tower_webhook::inbox::InboxError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepliesInline {
    preset: &'static str,
}

impl RepliesInline {
    /// The preset refused.
    #[must_use]
    pub fn preset(&self) -> &'static str {
        self.preset
    }
}

impl fmt::Display for RepliesInline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the `{}` sender reads its reply from the response (interactions, slash commands, \
             outgoing webhooks), which an inbox cannot give: verify it with \
             WebhookSignatureLayer and answer it inline",
            self.preset
        )
    }
}

impl std::error::Error for RepliesInline {}

/// The service [`InboxLayer`] makes: appends verified deliveries, answers at once, and calls
/// `inner` only for unverified requests it was told to [pass on](InboxLayer::pass_unverified).
///
/// ```
/// use std::sync::Arc;
/// use http::{Request, Response};
/// use tower::{service_fn, Layer};
/// use tower_webhook::{body::BufferedBody, inbox::{InboxLayer, SqliteInbox}};
///
/// # let path = std::env::temp_dir().join(format!("inbox-doc-service-{}.sqlite3", std::process::id()));
/// let inline = service_fn(|_: Request<BufferedBody>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(String::from("handled inline")))
/// });
/// let service = InboxLayer::new(Arc::new(SqliteInbox::open(&path)?)).layer(inline);
/// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
/// # Ok::<(), tower_webhook::inbox::InboxError>(())
/// ```
#[derive(Clone)]
pub struct InboxService<S> {
    inner: S,
    layer: InboxLayer,
}

impl<S> InboxService<S> {
    /// An [`InboxLayer`] appending to `store`, with its defaults.
    #[must_use]
    pub fn layer(store: Arc<dyn InboxStore>) -> InboxLayer {
        InboxLayer::new(store)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, this one dropped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for InboxService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxService")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

/// What [`InboxService`] returns.
pub type InboxResponseFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for InboxService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = InboxResponseFuture<Response<ResBody>, S::Error>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // A setup handshake the signature layer left to the handler
        // (`HandshakeMode::Handler`): its answer is the response, which only the handler can
        // give. Never a delivery to store.
        #[cfg(feature = "json")]
        if request
            .extensions()
            .get::<crate::handshake::HandshakeRequest>()
            .is_some()
        {
            return Box::pin(self.inner.call(request));
        }
        let Some(verified) = request.extensions().get::<Verified>().cloned() else {
            if self.layer.config.pass_unverified {
                return Box::pin(self.inner.call(request));
            }
            return Box::pin(std::future::ready(Ok(answer(StatusCode::UNAUTHORIZED))));
        };
        let (parts, body) = request.into_parts();
        let config = Arc::clone(&self.layer.config);
        let store = Arc::clone(&self.layer.store);
        Box::pin(async move {
            let body = match buffered(body) {
                Ok(bytes) => bytes,
                // Bounded in time too: a body that is not the signature layer's may still be
                // arriving.
                Err(body) => {
                    match tokio::time::timeout(
                        config.timeout,
                        read_body(body, config.max_body_size),
                    )
                    .await
                    {
                        Ok(Ok(bytes)) => bytes,
                        Ok(Err(status)) => return Ok(answer(status)),
                        Err(_) => return Ok(answer(StatusCode::REQUEST_TIMEOUT)),
                    }
                }
            };
            let delivery = delivery_of(&parts, &body, &verified, &config);
            drop((parts, body));
            let appended = tokio::time::timeout(config.timeout, store.append(&delivery)).await;
            let scheme = delivery.scheme();
            let response = match appended {
                Ok(Ok(outcome)) => {
                    crate::metrics::inbox_append(
                        scheme,
                        match outcome {
                            Appended::New => "new",
                            Appended::Duplicate => "duplicate",
                        },
                    );
                    answer(config.status)
                }
                Ok(Err(error)) => {
                    tracing::warn!(
                        target: "tower_webhook",
                        scheme,
                        delivery = delivery.id(),
                        %error,
                        "inbox append failed; answered 503 so the sender retries"
                    );
                    crate::metrics::inbox_append(scheme, "store_error");
                    unavailable()
                }
                Err(_) => {
                    tracing::warn!(
                        target: "tower_webhook",
                        scheme,
                        delivery = delivery.id(),
                        timeout_ms = u64::try_from(config.timeout.as_millis()).unwrap_or(u64::MAX),
                        "inbox append timed out; answered 503 so the sender retries"
                    );
                    crate::metrics::inbox_append(scheme, "timeout");
                    unavailable()
                }
            };
            Ok(response)
        })
    }
}

/// The bytes of the signature layer's `BufferedBody`, or the body back if it is another type:
/// a router between the two layers (axum's `route_layer` twice) wraps it in its own, which is
/// then read back from memory.
fn buffered<B: 'static>(body: B) -> Result<Bytes, B> {
    let any: &dyn std::any::Any = &body;
    match any.downcast_ref::<BufferedBody>() {
        Some(buffered) => Ok(buffered.bytes().clone()),
        None => Err(body),
    }
}

/// `body`'s bytes, up to `limit`: 413 past it, 400 if it fails.
async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, StatusCode>
where
    B: http_body::Body<Data = Bytes>,
{
    use http_body::Body as _;
    let mut body = std::pin::pin!(body);
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large(body.size_hint().lower()));
    }
    let mut bytes = bytes::BytesMut::new();
    let mut first: Option<Bytes> = None;
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let Ok(frame) = frame else {
            return Err(StatusCode::BAD_REQUEST);
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let held = first.as_ref().map_or(0, Bytes::len) + bytes.len();
        if held.saturating_add(data.len()) > limit {
            return Err(too_large(held.saturating_add(data.len()) as u64));
        }
        // One frame (the usual case) is kept as it came, not copied.
        match first.take() {
            None if bytes.is_empty() => first = Some(data),
            Some(earlier) => {
                bytes.extend_from_slice(&earlier);
                bytes.extend_from_slice(&data);
            }
            None => bytes.extend_from_slice(&data),
        }
    }
    Ok(first.unwrap_or_else(|| bytes.freeze()))
}

fn too_large(bytes: u64) -> StatusCode {
    tracing::error!(
        target: "tower_webhook",
        bytes,
        "a verified body is larger than InboxLayer::max_body_size; keep it at least the \
         signature layer's max_body_size"
    );
    StatusCode::PAYLOAD_TOO_LARGE
}

/// The delivery a request of `parts` and `body` is, as the inbox keeps it.
fn delivery_of(
    parts: &http::request::Parts,
    body: &Bytes,
    verified: &Verified,
    config: &Config,
) -> Delivery {
    let delivery_ids: Vec<String> = verified
        .delivery_ids()
        .iter()
        .map(ToString::to_string)
        .collect();
    let headers = config
        .keep
        .iter()
        .flat_map(|name| {
            parts
                .headers
                .get_all(name)
                .iter()
                .map(move |value| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        })
        .collect();
    Delivery {
        id: delivery_ids.first().cloned().unwrap_or_else(random_id),
        scheme: verified
            .scheme()
            .map_or_else(|| config.scheme.to_string(), ToString::to_string),
        key_id: verified.key_id().map(str::to_owned),
        delivery_ids,
        received_at_ms: super::now_ms(),
        method: parts.method.as_str().to_owned(),
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers,
        body: body.clone(),
    }
}

fn answer<B: Default>(status: StatusCode) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = status;
    response
}

fn unavailable<B: Default>() -> Response<B> {
    let mut response = answer(StatusCode::SERVICE_UNAVAILABLE);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt as _, Full};
    use tower::{service_fn, ServiceExt as _};

    use super::*;
    use crate::{inbox::tests::Recording, scheme::DeliveryId};

    /// An inbox over `store` in front of a service that counts its calls.
    fn inbox<B>(
        layer: InboxLayer,
    ) -> (
        impl Service<Request<B>, Response = Response<String>, Error = std::convert::Infallible>,
        Arc<AtomicUsize>,
    )
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
    {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let inner = service_fn(move |_: Request<B>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::convert::Infallible>(Response::new(String::from("inner"))) }
        });
        (layer.layer(inner), calls)
    }

    fn verified_request<B>(body: B) -> Request<B> {
        let mut request = Request::post("/hook?x=1")
            .header("content-type", "application/json")
            .header("x-other", "dropped")
            .body(body)
            .unwrap();
        request.extensions_mut().insert(
            Verified::new(0)
                .with_key_id("acme")
                .with_delivery_id(DeliveryId::derive("t", b"1")),
        );
        request
    }

    #[tokio::test]
    async fn a_verified_delivery_is_stored_and_answered_without_the_inner_service() {
        let store = Arc::new(Recording::default());
        let (service, calls) = inbox(InboxLayer::new(store.clone()).scheme_name("acme"));
        let request = verified_request(BufferedBody::new(Bytes::from_static(b"{\"a\":1}")));
        let expected_id = request
            .extensions()
            .get::<Verified>()
            .unwrap()
            .delivery_id();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.into_body(), "");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let stored = store.appended.lock().unwrap();
        assert_eq!(stored.len(), 1);
        let delivery = &stored[0];
        assert_eq!(delivery.body().as_ref(), b"{\"a\":1}");
        assert_eq!(delivery.id(), expected_id.unwrap().to_string());
        assert_eq!(delivery.delivery_ids(), [delivery.id().to_owned()]);
        assert_eq!(delivery.key_id(), Some("acme"));
        assert_eq!((delivery.method(), delivery.uri()), ("POST", "/hook?x=1"));
        assert_eq!(delivery.scheme(), "acme", "no layer recorded a scheme");
        assert_eq!(
            delivery.headers(),
            [("content-type".to_owned(), b"application/json".to_vec())]
        );
    }

    #[tokio::test]
    async fn a_body_a_router_rewrapped_is_read_back_within_the_limit() {
        let frames = |parts: &[&'static [u8]]| {
            Frames(parts.iter().map(|part| Bytes::from_static(part)).collect())
        };
        let store = Arc::new(Recording::default());
        let (service, calls) = inbox(InboxLayer::new(store.clone()).max_body_size(6));
        let response = service
            .oneshot(verified_request(frames(&[b"ab", b"cd", b"ef"])))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(store.appended.lock().unwrap()[0].body().as_ref(), b"abcdef");

        let (service, _) = inbox(InboxLayer::new(store.clone()).max_body_size(5));
        let response = service
            .oneshot(verified_request(frames(&[b"ab", b"cd", b"ef"])))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (service, _) = inbox(InboxLayer::new(store.clone()).max_body_size(5));
        let response = service
            .oneshot(verified_request(Full::new(Bytes::from_static(b"abcdef"))))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "by its size hint"
        );
        assert_eq!(
            store.appended.lock().unwrap().len(),
            1,
            "nothing more stored"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    /// A body of these frames, its size unknown.
    struct Frames(std::collections::VecDeque<Bytes>);

    impl http_body::Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|data| Ok(http_body::Frame::data(data))),
            )
        }
    }

    #[tokio::test]
    async fn an_unverified_request_is_401_or_passed_on_never_stored() {
        let store = Arc::new(Recording::default());
        let (service, calls) = inbox(InboxLayer::new(store.clone()));
        let response = service
            .oneshot(Request::new(BufferedBody::new(Bytes::from_static(b"x"))))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let (service, calls) = inbox(InboxLayer::new(store.clone()).pass_unverified(true));
        let response = service
            .oneshot(Request::new(BufferedBody::new(Bytes::from_static(b"x"))))
            .await
            .unwrap();
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "inner"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(store.appended.lock().unwrap().is_empty());
    }

    #[test]
    fn the_append_timeout_is_clamped() {
        let store: Arc<dyn InboxStore> = Arc::new(super::super::tests::Recording::failing());
        let layer = InboxLayer::new(Arc::clone(&store)).append_timeout(Duration::ZERO);
        assert_eq!(layer.config.timeout, Duration::from_millis(10));
        let layer = InboxLayer::new(store).append_timeout(Duration::from_secs(3600));
        assert_eq!(layer.config.timeout, Duration::from_secs(30));
    }

    #[test]
    fn the_body_size_limit_is_clamped_as_the_signature_layers_is() {
        let store: Arc<dyn InboxStore> = Arc::new(super::super::tests::Recording::failing());
        let layer = InboxLayer::new(store).max_body_size(usize::MAX);
        assert_eq!(layer.config.max_body_size, 1 << 30);
    }

    #[test]
    fn kept_headers_are_deduplicated_and_bounded() {
        let store: Arc<dyn InboxStore> = Arc::new(super::super::tests::Recording::failing());
        let names: Vec<String> = (0..100).map(|i| format!("x-h{i}")).collect();
        let layer = InboxLayer::new(Arc::clone(&store)).keep_headers(&names);
        assert_eq!(layer.config.keep.len(), MAX_KEPT_HEADERS);
        let layer = InboxLayer::new(store).keep_headers(["a", "A", "bad name", "b"]);
        assert_eq!(layer.config.keep, ["a", "b"]);
    }
}
