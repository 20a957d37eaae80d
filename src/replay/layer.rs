//! [`ReplayGuardLayer`]: the builder users touch.

use std::{fmt, sync::Arc, time::Duration};

use tower_layer::Layer;

use super::{
    MemoryStore, ReplayGuard, ReplayStore, DEFAULT_DONE_TTL, DEFAULT_IN_PROGRESS_TTL,
    DEFAULT_STORE_TIMEOUT,
};

/// Processes each verified delivery once; it must run after
/// [`WebhookSignatureLayer`](crate::WebhookSignatureLayer), on the requests it verified.
///
/// Where it goes, in each way of stacking layers (the signature layer must see the request
/// first):
///
/// | stacking with | order |
/// |---|---|
/// | `tower::ServiceBuilder` | `.layer(WebhookSignatureLayer::new(..))` first, then `.layer(ReplayGuardLayer::new(..))` |
/// | axum `Router::layer` / `MethodRouter::layer`, chained | the guard's `.layer(..)` call **before** the signature layer's: axum wraps each call around what came before, so the last call runs first |
/// | axum, one `.layer(..)` call | `.layer(ServiceBuilder::new().layer(signature).layer(guard))`, as in the example below |
///
/// A sender retries a delivery until it gets a 2xx, and anyone who captured a signed request
/// can replay it while its timestamp is within the tolerance. Per-process memory cannot stop
/// either when several instances share the traffic; a shared store can. For each request that
/// the signature layer verified, the guard takes its [`Verified::delivery_id`](crate::Verified::delivery_id) and:
///
/// | store says | the guard | answer |
/// |---|---|---|
/// | free | claims it as in progress (`in_progress_ttl`) and calls the inner service; a 2xx marks it done (`done_ttl`), anything else releases it for the retry | the inner service's |
/// | done | does not call the inner service; records the names its signature binds (PayPal's transmission id) as done too | `200`, `webhook-duplicate: true` |
/// | in progress | does not call the inner service | `409`, so the sender retries later |
/// | unreachable, or no answer within `store_timeout` | fails closed ([`fail_open`](Self::fail_open) changes it) | `503` |
///
/// Ids are scoped: to the scheme's name and, when keys are resolved per request, to the
/// tenant's key name, so one store can serve every scheme and tenant without one tenant's
/// deliveries ever making another's look like duplicates.
///
/// Every setting is held within a range, so no `Duration` can make a request panic or turn
/// the guard off:
///
/// | setting | default | range |
/// |---|---|---|
/// | [`in_progress_ttl`](Self::in_progress_ttl) | 60 s | 1 s to 24 h |
/// | [`done_ttl`](Self::done_ttl) | 10 min | 1 s to 30 days |
/// | `store_timeout` (feature `tokio`) | 2 s | 10 ms to 30 s |
///
/// **Time limit on the store.** With the `tokio` feature (which `redis` and `keys` enable),
/// each store call (a claim, a completion, a release) that does not answer within
/// `store_timeout` counts as a store error: the request gets `503` (or, with `fail_open`, is
/// processed unguarded), and a claim the store may have taken meanwhile is released in the
/// background. This needs the tokio runtime the request runs on, with its timers, as axum,
/// hyper and tonic servers have. Without the feature, or outside a tokio runtime, the guard
/// has no timer: [`MemoryStore`] answers at once and needs none, but a store of your own must
/// bound its own calls, and the guard logs one warning the first time a call has to wait.
///
/// Requests without a [`Verified`](crate::Verified) are refused with `500`: the guard runs
/// before the signature layer (or without one), which is a configuration error; the
/// `tracing` ERROR event says how to order the two. Those the signature layer passes on in report-only
/// mode (marked [`Unverified`](crate::rejection::Unverified)) go through unguarded.
///
/// ```
/// use tower::ServiceBuilder;
/// use tower_webhook::{presets, replay::{MemoryStore, ReplayGuardLayer}, WebhookSignatureLayer};
///
/// # let handler = tower::service_fn(|_: http::Request<tower_webhook::body::BufferedBody>| async {
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
pub(super) struct Settings {
    pub(super) in_progress_ttl: Duration,
    pub(super) done_ttl: Duration,
    /// How long one store call may take (feature `tokio`).
    pub(super) store_timeout: Duration,
    pub(super) fail_open: bool,
}

/// The shortest a claim lasts or a delivery is remembered: a second, so that a `ZERO` setting
/// still stops the copies a sender fires at once.
const SHORTEST_TTL: Duration = Duration::from_secs(1);
/// The longest a claim lasts: a day. A claim outlives the handler only if the request is lost
/// without a trace (the process killed); a retry then waits this long.
const LONGEST_IN_PROGRESS_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest a processed delivery is remembered: 30 days, longer than any sender retries
/// and any scheme's tolerance (at most 7 days), and well within what Redis accepts.
const LONGEST_DONE_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);
#[cfg(feature = "tokio")]
const SHORTEST_STORE_TIMEOUT: Duration = Duration::from_millis(10);
/// The longest one store call may take: 30 seconds, as long as senders wait for an answer.
#[cfg(feature = "tokio")]
const LONGEST_STORE_TIMEOUT: Duration = Duration::from_secs(30);

impl<St: ReplayStore> ReplayGuardLayer<St> {
    /// A guard over `store`, with the default TTLs, failing closed.
    #[must_use]
    pub fn new(store: St) -> Self {
        Self {
            store: Arc::new(store),
            settings: Settings {
                in_progress_ttl: DEFAULT_IN_PROGRESS_TTL,
                done_ttl: DEFAULT_DONE_TTL,
                store_timeout: DEFAULT_STORE_TIMEOUT,
                fail_open: false,
            },
        }
    }

    /// How long a claim lasts while the inner service works (default
    /// [`DEFAULT_IN_PROGRESS_TTL`]). Longer than your slowest handler: when it runs out, a
    /// retry is processed alongside.
    ///
    /// Held between 1 second and 24 hours (a shorter one is raised, a longer one lowered).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{replay::{MemoryStore, ReplayGuardLayer}};
    ///
    /// let guard = ReplayGuardLayer::new(MemoryStore::new(10_000)).in_progress_ttl(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn in_progress_ttl(mut self, ttl: Duration) -> Self {
        self.settings.in_progress_ttl = ttl.clamp(SHORTEST_TTL, LONGEST_IN_PROGRESS_TTL);
        self
    }

    /// How long a processed delivery is remembered (default [`DEFAULT_DONE_TTL`]). At least
    /// the scheme's timestamp tolerance, both ways, or a replay may outlive its record.
    ///
    /// Held between 1 second and 30 days (a shorter one is raised, a longer one lowered).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{replay::{MemoryStore, ReplayGuardLayer}};
    ///
    /// let guard = ReplayGuardLayer::new(MemoryStore::new(10_000)).done_ttl(Duration::from_secs(24 * 3600));
    /// ```
    #[must_use]
    pub fn done_ttl(mut self, ttl: Duration) -> Self {
        self.settings.done_ttl = ttl.clamp(SHORTEST_TTL, LONGEST_DONE_TTL);
        self
    }

    /// How long one store call may take before the store counts as unreachable (default
    /// [`DEFAULT_STORE_TIMEOUT`]): the request then gets `503`, or is processed unguarded with
    /// [`fail_open`](Self::fail_open). Enforced on the tokio runtime the request runs on.
    ///
    /// Held between 10 milliseconds and 30 seconds (a shorter one is raised, a longer one
    /// lowered): senders give up after 10 to 30 seconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{replay::{MemoryStore, ReplayGuardLayer}};
    ///
    /// let guard = ReplayGuardLayer::new(MemoryStore::new(10_000)).store_timeout(Duration::from_millis(500));
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[must_use]
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.settings.store_timeout = timeout.clamp(SHORTEST_STORE_TIMEOUT, LONGEST_STORE_TIMEOUT);
        self
    }

    /// When the store cannot be reached, call the inner service unguarded instead of
    /// answering `503`. Either way a `tracing` event says so.
    ///
    /// ```
    /// use tower_webhook::{replay::{MemoryStore, ReplayGuardLayer}};
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
    /// use tower_webhook::{replay::{MemoryStore, ReplayGuardLayer}};
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
        ReplayGuard::new(inner, Arc::clone(&self.store), self.settings)
    }
}
