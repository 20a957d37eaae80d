//! [`ReplayGuardLayer`]: process each verified delivery once, across every instance that
//! shares a [`ReplayStore`].

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::{
    collections::hash_map::RandomState,
    fmt,
    future::Future,
    hash::{BuildHasher, Hasher},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{header::CONTENT_TYPE, HeaderName, HeaderValue, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisStore;
use crate::{rejection::BoxError, ResponseBody, Unverified, Verified};

/// The header on the `200` answered for a delivery already processed: `webhook-duplicate: true`.
pub const DUPLICATE_HEADER: HeaderName = HeaderName::from_static("webhook-duplicate");

/// The default time a claim lasts while the inner service works: 60 seconds.
pub const DEFAULT_IN_PROGRESS_TTL: Duration = Duration::from_secs(60);

/// The default time a processed delivery is remembered: 10 minutes, twice the default
/// timestamp tolerance, so a replay is refused for as long as its timestamp is accepted.
pub const DEFAULT_DONE_TTL: Duration = Duration::from_secs(10 * 60);

/// The future a [`ReplayStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where delivery ids are claimed and remembered: [`MemoryStore`] for one process,
/// `RedisStore` (feature `redis`) for several.
///
/// Each operation must be atomic: two concurrent claims of one key give exactly one
/// [`Claim::Claimed`].
pub trait ReplayStore: Send + Sync + 'static {
    /// Claims `key` as in progress by `token` for `ttl`, unless it is already claimed or done.
    fn claim<'a>(&'a self, key: &'a str, token: &'a str, ttl: Duration) -> StoreFuture<'a, Claim>;

    /// Marks `key` done for `ttl`: the inner service processed it.
    fn complete<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, ()>;

    /// Forgets `key` if `token` still holds the claim, so the sender's retry is processed.
    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, ()>;
}

/// What [`ReplayStore::claim`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key was free and is now claimed by this request.
    Claimed,
    /// Another request holds the claim.
    InProgress,
    /// The delivery was processed.
    Done,
}

/// A store could not be reached or answered nonsense.
#[derive(Debug)]
pub struct StoreError(BoxError);

impl StoreError {
    /// Wraps the store's own error.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "replay store failed: {}", self.0)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Processes each verified delivery once: put it inside [`WebhookSignatureLayer`](crate::WebhookSignatureLayer).
///
/// A sender retries a delivery until it gets a 2xx, and anyone who captured a signed request
/// can replay it while its timestamp is within the tolerance. Per-process memory cannot stop
/// either when several instances share the traffic; a shared store can. For each request that
/// the signature layer verified, the guard takes its [`Verified::delivery_id`] and:
///
/// | store says | the guard | answer |
/// |---|---|---|
/// | free | claims it as in progress (`in_progress_ttl`) and calls the inner service; a 2xx marks it done (`done_ttl`), anything else releases it for the retry | the inner service's |
/// | done | does not call the inner service | `200`, `webhook-duplicate: true` |
/// | in progress | does not call the inner service | `409`, so the sender retries later |
/// | unreachable | fails closed ([`fail_open`](Self::fail_open) changes it) | `503` |
///
/// Requests without a [`Verified`] are refused with `500`: the guard is outside the signature
/// layer, which is a configuration error. Those the signature layer passes on in report-only
/// mode (marked [`Unverified`]) go through unguarded.
///
/// ```
/// use tower::ServiceBuilder;
/// use tower_webhook::{presets, MemoryStore, ReplayGuardLayer, WebhookSignatureLayer};
///
/// # let handler = tower::service_fn(|_: http::Request<tower_webhook::BufferedBody>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// # });
/// let service = ServiceBuilder::new()
///     .layer(WebhookSignatureLayer::new(presets::stripe("whsec_…")))
///     .layer(ReplayGuardLayer::new(MemoryStore::new(100_000)))
///     .service(handler);
/// ```
pub struct ReplayGuardLayer<St> {
    store: Arc<St>,
    settings: Settings,
}

/// How the guard treats claims and an unreachable store.
#[derive(Clone, Copy, Debug)]
struct Settings {
    in_progress_ttl: Duration,
    done_ttl: Duration,
    fail_open: bool,
}

impl<St: ReplayStore> ReplayGuardLayer<St> {
    /// A guard over `store`, with the default TTLs, failing closed.
    #[must_use]
    pub fn new(store: St) -> Self {
        Self {
            store: Arc::new(store),
            settings: Settings {
                in_progress_ttl: DEFAULT_IN_PROGRESS_TTL,
                done_ttl: DEFAULT_DONE_TTL,
                fail_open: false,
            },
        }
    }

    /// How long a claim lasts while the inner service works (default
    /// [`DEFAULT_IN_PROGRESS_TTL`]). Longer than your slowest handler: when it runs out, a
    /// retry is processed alongside.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{MemoryStore, ReplayGuardLayer};
    ///
    /// let guard = ReplayGuardLayer::new(MemoryStore::new(10_000)).in_progress_ttl(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn in_progress_ttl(mut self, ttl: Duration) -> Self {
        self.settings.in_progress_ttl = ttl;
        self
    }

    /// How long a processed delivery is remembered (default [`DEFAULT_DONE_TTL`]). At least
    /// the scheme's timestamp tolerance, both ways, or a replay may outlive its record.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{MemoryStore, ReplayGuardLayer};
    ///
    /// let guard = ReplayGuardLayer::new(MemoryStore::new(10_000)).done_ttl(Duration::from_secs(24 * 3600));
    /// ```
    #[must_use]
    pub fn done_ttl(mut self, ttl: Duration) -> Self {
        self.settings.done_ttl = ttl;
        self
    }

    /// When the store cannot be reached, call the inner service unguarded instead of
    /// answering `503`. Either way a `tracing` event says so.
    ///
    /// ```
    /// use tower_webhook::{MemoryStore, ReplayGuardLayer};
    ///
    /// let guard = ReplayGuardLayer::new(MemoryStore::new(10_000)).fail_open();
    /// ```
    #[must_use]
    pub fn fail_open(mut self) -> Self {
        self.settings.fail_open = true;
        self
    }
}

impl Default for ReplayGuardLayer<MemoryStore> {
    /// A guard over [`MemoryStore::default`]: for one process.
    ///
    /// ```
    /// use tower_webhook::{MemoryStore, ReplayGuardLayer};
    ///
    /// let guard: ReplayGuardLayer<MemoryStore> = ReplayGuardLayer::default();
    /// ```
    fn default() -> Self {
        Self::new(MemoryStore::default())
    }
}

impl<St> Clone for ReplayGuardLayer<St> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            settings: self.settings,
        }
    }
}

impl<St> fmt::Debug for ReplayGuardLayer<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayGuardLayer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S, St> Layer<S> for ReplayGuardLayer<St> {
    type Service = ReplayGuard<S, St>;

    fn layer(&self, inner: S) -> Self::Service {
        ReplayGuard {
            inner,
            store: Arc::clone(&self.store),
            settings: self.settings,
        }
    }
}

/// The service [`ReplayGuardLayer`] builds.
pub struct ReplayGuard<S, St> {
    inner: S,
    store: Arc<St>,
    settings: Settings,
}

impl<S: Clone, St> Clone for ReplayGuard<S, St> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            store: Arc::clone(&self.store),
            settings: self.settings,
        }
    }
}

impl<S: fmt::Debug, St> fmt::Debug for ReplayGuard<S, St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The future of a [`ReplayGuard`].
pub type ReplayFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, St, ReqBody, ResBody> Service<Request<ReqBody>> for ReplayGuard<S, St>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    St: ReplayStore,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ReplayFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Call the instance that was driven ready, leaving a fresh clone for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let store = Arc::clone(&self.store);
        let settings = self.settings;
        Box::pin(async move {
            let delivery = request
                .extensions()
                .get::<Verified>()
                .and_then(Verified::delivery_id);
            let Some(delivery) = delivery else {
                if request.extensions().get::<Unverified>().is_some() {
                    return call_inner(&mut inner, request).await;
                }
                tracing::error!(
                    target: "tower_webhook",
                    "replay guard got a request without a verified delivery id; put it inside WebhookSignatureLayer"
                );
                return Ok(answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "replay guard misconfigured\n",
                ));
            };
            let key = delivery.to_string();
            let token = claim_token();
            match store.claim(&key, &token, settings.in_progress_ttl).await {
                Ok(Claim::Claimed) => {}
                Ok(Claim::Done) => {
                    tracing::info!(target: "tower_webhook", delivery = %key, "duplicate webhook delivery answered without processing");
                    let mut response = answer(StatusCode::OK, "duplicate delivery\n");
                    response
                        .headers_mut()
                        .insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
                    return Ok(response);
                }
                Ok(Claim::InProgress) => {
                    tracing::info!(target: "tower_webhook", delivery = %key, "webhook delivery already in progress");
                    return Ok(answer(StatusCode::CONFLICT, "delivery in progress\n"));
                }
                Err(error) if settings.fail_open => {
                    tracing::warn!(target: "tower_webhook", %error, mode = "fail_open", "replay store unreachable; processing unguarded");
                    return call_inner(&mut inner, request).await;
                }
                Err(error) => {
                    tracing::warn!(target: "tower_webhook", %error, mode = "fail_closed", "replay store unreachable; refusing the delivery");
                    return Ok(answer(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "replay store unavailable\n",
                    ));
                }
            }
            let result = inner.call(request).await;
            let processed = matches!(&result, Ok(response) if response.status().is_success());
            let settled = if processed {
                store.complete(&key, settings.done_ttl).await
            } else {
                store.release(&key, &token).await
            };
            if let Err(error) = settled {
                tracing::warn!(target: "tower_webhook", %error, delivery = %key, "replay store failed to record the outcome");
            }
            result.map(|response| response.map(ResponseBody::inner))
        })
    }
}

async fn call_inner<S, ReqBody, ResBody>(
    inner: &mut S,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    Ok(inner.call(request).await?.map(ResponseBody::inner))
}

fn answer<B>(status: StatusCode, text: &'static str) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::rejected(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A token unique to one claim, so a request releases only its own claim.
fn claim_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // Seeded from the OS's randomness once per thread, so instances differ.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}
