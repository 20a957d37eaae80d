//! [`Worker`]: claims deliveries from an [`InboxStore`] and runs your service on each, with
//! retries, a visibility timeout, dead letters and a graceful shutdown.

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    pin::pin,
    sync::{Arc, Mutex},
    task::Poll,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response};
use tokio::{sync::Semaphore, task::JoinSet};
use tower_service::Service;

use super::{Claimed, InboxStore};
use crate::{
    body::BufferedBody,
    rejection::BoxError,
    scheme::{DeliveryId, Verified},
};

const DEFAULT_CONCURRENCY: usize = 4;
const CONCURRENCY_RANGE: (usize, usize) = (1, 1024);
const DEFAULT_MAX_ATTEMPTS: u32 = 8;
const MAX_ATTEMPTS_RANGE: (u32, u32) = (1, 100);
const DEFAULT_VISIBILITY: Duration = Duration::from_secs(5 * 60);
const VISIBILITY_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));
const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(1);
const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(10 * 60);
const BACKOFF_RANGE: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(24 * 3600));
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
const POLL_INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_secs(60));
const DEFAULT_GRACE: Duration = Duration::from_secs(30);
const GRACE_RANGE: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(3600));
/// How often a worker samples the store's depth for the gauges.
const STATS_EVERY: Duration = Duration::from_secs(10);
/// The longest error text kept with a retry or a dead letter.
const MAX_ERROR_LEN: usize = 1024;

/// Which attempt at a delivery this is, from 1: an extension of each request a [`Worker`]
/// gives its service.
///
/// ```
/// use axum::Extension;
/// use tower_webhook::inbox::Attempt;
///
/// async fn handler(Extension(Attempt(attempt)): Extension<Attempt>) {
///     if attempt > 1 {
///         // A retry: an earlier attempt failed or its worker died.
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Attempt(pub u32);

/// The delivery's id in the inbox, the same on every attempt and for every copy the sender
/// sent: an extension of each request a [`Worker`] gives its service, to make its effects
/// exactly once.
///
/// Processing is at least once (a worker can die after the effect and before it completes
/// the delivery). Record the key in the same transaction as the effect, and skip the effect
/// when it is already there:
///
/// ```sql
/// BEGIN;
/// INSERT INTO processed (delivery_id) VALUES (?1) ON CONFLICT (delivery_id) DO NOTHING;
/// -- if no row was inserted: COMMIT and answer 2xx, it was done before
/// UPDATE accounts SET balance = balance + ?2 WHERE id = ?3;
/// COMMIT;
/// ```
///
/// ```
/// use axum::Extension;
/// use tower_webhook::inbox::IdempotencyKey;
///
/// async fn handler(Extension(key): Extension<IdempotencyKey>) {
///     let id: &str = key.as_str();
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(Arc<str>);

impl IdempotencyKey {
    /// The key, text (64 hex digits for a delivery its scheme names).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Claims deliveries from an [`InboxStore`] and runs your tower service on each: the
/// handler you would have put behind the signature layer, given the delivery's method, URI,
/// kept headers and body, with [`Verified`] (its key id and delivery id), [`Attempt`] and
/// [`IdempotencyKey`] in the extensions.
///
/// A 2xx response completes the delivery. Anything else, an error, or a call that outlives
/// the [visibility timeout](Self::visibility_timeout) is retried after an exponential backoff
/// with full jitter (a random delay up to `base × 2^(attempt−1)`, capped); after
/// [`max_attempts`](Self::max_attempts) the delivery goes to the dead letters
/// ([`InboxStore::dead_letters`], [`InboxStore::requeue`]).
///
/// Processing is **at least once**: a worker that dies mid-call leaves its claim to expire,
/// and another worker takes the delivery after the visibility timeout. See
/// [`IdempotencyKey`] for effects exactly once.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::{routing::post, Extension, Router};
/// use tower_webhook::inbox::{Attempt, SqliteInbox, Worker};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(SqliteInbox::open("inbox.sqlite3")?);
/// let handlers = Router::new().route(
///     "/webhooks/stripe",
///     post(|Extension(attempt): Extension<Attempt>, body: String| async move {
///         // ... the slow work ...
///     }),
/// );
/// // Runs until the future given completes: your shutdown signal.
/// Worker::new(store, handlers)
///     .concurrency(8)
///     .run(std::future::pending())
///     .await;
/// # Ok(()) }
/// ```
pub struct Worker<S> {
    store: Arc<dyn InboxStore>,
    service: S,
    name: String,
    concurrency: usize,
    max_attempts: u32,
    visibility: Duration,
    backoff_base: Duration,
    backoff_cap: Duration,
    poll_interval: Duration,
    grace: Duration,
}

impl<S> Worker<S> {
    /// A worker on `store` running `service`: 4 at a time, 8 attempts, a visibility
    /// timeout of 5 minutes, backoff from 1 second to 10 minutes, polling every 500 ms
    /// when idle, a grace of 30 seconds on shutdown.
    #[must_use]
    pub fn new(store: Arc<dyn InboxStore>, service: S) -> Self {
        Self {
            store,
            service,
            name: format!("worker-{}", super::random_id()),
            concurrency: DEFAULT_CONCURRENCY,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            visibility: DEFAULT_VISIBILITY,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
            poll_interval: DEFAULT_POLL_INTERVAL,
            grace: DEFAULT_GRACE,
        }
    }

    /// How many deliveries run at once: 4 unless set, clamped to 1..=1024.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.clamp(CONCURRENCY_RANGE.0, CONCURRENCY_RANGE.1);
        self
    }

    /// How many attempts before a delivery is dead-lettered: 8 unless set, clamped to
    /// 1..=100. A delivery whose worker died counts that attempt too, so a delivery that
    /// crashes its worker every time ends in the dead letters as well.
    #[must_use]
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.clamp(MAX_ATTEMPTS_RANGE.0, MAX_ATTEMPTS_RANGE.1);
        self
    }

    /// How long a claimed delivery stays invisible to other workers: 5 minutes unless set,
    /// clamped to 1 s..=1 h. Also the longest a call of the service may take: the worker
    /// stops waiting at that point and retries it, since another worker may already have
    /// taken it. Set it well above your handler's slowest call; a handler that runs longer
    /// risks being processed twice. Give every worker of one store the same timeout: Redis
    /// takes over a claim idle for the *taker's* timeout.
    #[must_use]
    pub fn visibility_timeout(mut self, timeout: Duration) -> Self {
        self.visibility = timeout.clamp(VISIBILITY_RANGE.0, VISIBILITY_RANGE.1);
        self
    }

    /// The backoff between attempts: a random delay up to `base × 2^(attempt−1)`, never more
    /// than `cap`; 1 second and 10 minutes unless set, each clamped to 1 ms..=24 h.
    #[must_use]
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base.clamp(BACKOFF_RANGE.0, BACKOFF_RANGE.1);
        self.backoff_cap = cap
            .clamp(BACKOFF_RANGE.0, BACKOFF_RANGE.1)
            .max(self.backoff_base);
        self
    }

    /// How long an idle worker waits before asking the store again: 500 ms unless set,
    /// clamped to 10 ms..=60 s.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.clamp(POLL_INTERVAL_RANGE.0, POLL_INTERVAL_RANGE.1);
        self
    }

    /// How long [`run`](Self::run) waits for calls in flight once shutdown is asked, before
    /// it stops them and releases their deliveries: 30 seconds unless set, clamped to
    /// 0..=1 h.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace.clamp(GRACE_RANGE.0, GRACE_RANGE.1);
        self
    }

    /// The name this worker claims under (a random one unless set), for the store and logs.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The delay before attempt `attempt + 1`: full jitter over the exponential backoff.
    fn backoff_for(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .backoff_base
            .saturating_mul(1u32 << exponent)
            .min(self.backoff_cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random_u64() % nanos.saturating_add(1))
    }
}

impl<S> fmt::Debug for Worker<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .field("visibility_timeout", &self.visibility)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field("poll_interval", &self.poll_interval)
            .field("shutdown_grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// A random number for jitter (not for secrets): std's per-process random hash keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    hasher.finish()
}

/// Claims in flight, by token: what shutdown releases when their calls are stopped.
type InFlight = Arc<Mutex<HashMap<String, Claimed>>>;

impl<S, B> Worker<S>
where
    S: Service<Request<BufferedBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    /// Claims and processes deliveries until `shutdown` completes; then stops claiming,
    /// waits for calls in flight up to the [grace](Self::shutdown_grace), stops the rest and
    /// [releases](InboxStore::release) their deliveries (claimable again at once, the attempt
    /// not counted).
    ///
    /// A store that fails is logged and asked again after the poll interval.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let service = self.service.clone();
        let this = Arc::new(Worker {
            service: (),
            store: self.store,
            name: self.name,
            concurrency: self.concurrency,
            max_attempts: self.max_attempts,
            visibility: self.visibility,
            backoff_base: self.backoff_base,
            backoff_cap: self.backoff_cap,
            poll_interval: self.poll_interval,
            grace: self.grace,
        });
        let permits = Arc::new(Semaphore::new(this.concurrency));
        let in_flight: InFlight = Arc::new(Mutex::new(HashMap::new()));
        let mut tasks = JoinSet::new();
        let mut shutdown = pin!(shutdown);
        let mut last_stats: Option<Instant> = None;
        loop {
            while tasks.try_join_next().is_some() {}
            if last_stats.is_none_or(|at| at.elapsed() >= STATS_EVERY) {
                last_stats = Some(Instant::now());
                if let Ok(stats) = this.store.stats().await {
                    crate::metrics::inbox_depth(&stats);
                }
            }
            // Wait for a free slot first: a claim makes a delivery invisible to others, so
            // claim only what can start now.
            let Some(first) = first_of(&mut shutdown, Arc::clone(&permits).acquire_owned()).await
            else {
                break;
            };
            let Ok(permit) = first else { break };
            let free = permits.available_permits() + 1;
            // Not raced with shutdown: a claim dropped halfway could still take deliveries
            // in the store, leaving them to wait out the visibility timeout.
            let claimed = match this.store.claim(&this.name, free, this.visibility).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(target: "tower_webhook", worker = %this.name, %error, "inbox claim failed");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                drop(permit);
                if first_of(&mut shutdown, tokio::time::sleep(this.poll_interval))
                    .await
                    .is_none()
                {
                    break;
                }
                continue;
            }
            let mut permit = Some(permit);
            for claim in claimed {
                let permit = match permit.take() {
                    Some(permit) => permit,
                    None => match Arc::clone(&permits).try_acquire_owned() {
                        Ok(permit) => permit,
                        // A store that gave more than asked: give the rest back unprocessed.
                        Err(_) => {
                            let _ = this.store.release(&claim).await;
                            continue;
                        }
                    },
                };
                lock(&in_flight).insert(claim.token.clone(), claim.clone());
                let this = Arc::clone(&this);
                let in_flight = Arc::clone(&in_flight);
                let service = service.clone();
                tasks.spawn(async move {
                    let token = claim.token.clone();
                    this.process(service, claim).await;
                    lock(&in_flight).remove(&token);
                    drop(permit);
                });
            }
        }
        // Stop claiming; let the calls in flight finish within the grace.
        let drained = tokio::time::timeout(this.grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        let left: Vec<Claimed> = lock(&in_flight).drain().map(|(_, claim)| claim).collect();
        for claim in left {
            if let Err(error) = this.store.release(&claim).await {
                tracing::warn!(target: "tower_webhook", worker = %this.name, delivery = claim.delivery.id(), %error, "inbox release failed; the delivery is claimable after its visibility timeout");
            }
        }
    }
}

impl Worker<()> {
    /// One attempt at `claim` with `service`, and what the store is told of it.
    async fn process<S, B>(&self, mut service: S, claim: Claimed)
    where
        S: Service<Request<BufferedBody>, Response = Response<B>>,
        S::Error: Into<BoxError>,
    {
        let scheme = claim.delivery.scheme.clone();
        if claim.attempt > self.max_attempts {
            // Its worker died on each earlier attempt: never run it again.
            let error = "the worker died or timed out on every attempt";
            self.give_up(&claim, error, Duration::ZERO).await;
            return;
        }
        let started = Instant::now();
        let request = request_of(&claim);
        let call = async {
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            service.call(request).await.map_err(Into::into)
        };
        // Past the visibility timeout another worker may hold the delivery: stop waiting.
        let outcome = match tokio::time::timeout(self.visibility, call).await {
            Ok(Ok(response)) if response.status().is_success() => Ok(()),
            Ok(Ok(response)) => Err(format!("the service answered {}", response.status())),
            Ok(Err(error)) => Err(format!("the service failed: {error}")),
            Err(_) => Err("the service took longer than the visibility timeout".to_owned()),
        };
        let took = started.elapsed();
        match outcome {
            Ok(()) => {
                crate::metrics::inbox_attempt(&scheme, "completed", took);
                if let Err(error) = self.store.complete(&claim).await {
                    tracing::warn!(target: "tower_webhook", delivery = claim.delivery.id(), %error, "inbox complete failed; the delivery may be processed again");
                }
            }
            Err(mut error) => {
                truncate(&mut error);
                if claim.attempt >= self.max_attempts {
                    self.give_up(&claim, &error, took).await;
                } else {
                    let delay = self.backoff_for(claim.attempt);
                    tracing::info!(
                        target: "tower_webhook",
                        scheme = %scheme,
                        delivery = claim.delivery.id(),
                        attempt = claim.attempt,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %error,
                        "inbox delivery failed; retrying"
                    );
                    crate::metrics::inbox_attempt(&scheme, "retried", took);
                    if let Err(store_error) = self.store.retry(&claim, delay, &error).await {
                        tracing::warn!(target: "tower_webhook", delivery = claim.delivery.id(), error = %store_error, "inbox retry failed; the delivery is claimable after its visibility timeout");
                    }
                }
            }
        }
    }

    async fn give_up(&self, claim: &Claimed, error: &str, took: Duration) {
        tracing::warn!(
            target: "tower_webhook",
            scheme = %claim.delivery.scheme,
            delivery = claim.delivery.id(),
            attempts = claim.attempt,
            error,
            "inbox delivery dead-lettered"
        );
        crate::metrics::inbox_attempt(&claim.delivery.scheme, "dead", took);
        if let Err(store_error) = self.store.dead_letter(claim, error).await {
            tracing::warn!(target: "tower_webhook", delivery = claim.delivery.id(), error = %store_error, "inbox dead letter failed; the delivery is claimable after its visibility timeout");
        }
    }
}

fn lock(in_flight: &InFlight) -> std::sync::MutexGuard<'_, HashMap<String, Claimed>> {
    // A panic while holding it leaves a map that is still whole.
    in_flight
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn truncate(error: &mut String) {
    if error.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        error.truncate(end);
    }
}

/// `Some` of `work`'s output, or `None` if `shutdown` completed first.
async fn first_of<T>(
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let mut work = pin!(work);
    std::future::poll_fn(|cx| {
        if shutdown.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        work.as_mut().poll(cx).map(Some)
    })
    .await
}

/// The request the delivery was, rebuilt for the worker's service.
fn request_of(claim: &Claimed) -> Request<BufferedBody> {
    let delivery = &claim.delivery;
    let mut request = Request::new(BufferedBody::new(Bytes::clone(&delivery.body)));
    *request.method_mut() = Method::from_bytes(delivery.method.as_bytes()).unwrap_or(Method::POST);
    if let Ok(uri) = delivery.uri.parse() {
        *request.uri_mut() = uri;
    }
    for (name, value) in &delivery.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_bytes(value),
        ) {
            request.headers_mut().append(name, value);
        }
    }
    let verified = Verified::restored(
        delivery.key_id.as_deref().map(Arc::from),
        delivery_id(&delivery.id),
        Arc::from(delivery.scheme.as_str()),
    );
    let extensions = request.extensions_mut();
    extensions.insert(verified);
    extensions.insert(Attempt(claim.attempt));
    extensions.insert(IdempotencyKey(Arc::from(delivery.id.as_str())));
    request
}

/// The [`DeliveryId`] the inbox's `id` was written from, or one derived from it for an id the
/// scheme did not name.
fn delivery_id(id: &str) -> DeliveryId {
    let mut bytes = [0u8; 32];
    match hex::decode_to_slice(id, &mut bytes) {
        Ok(()) => DeliveryId::from_bytes(bytes),
        Err(_) => DeliveryId::derive("inbox", id.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker() -> Worker<()> {
        Worker::new(Arc::new(super::super::tests::Recording::failing()), ())
    }

    #[test]
    fn options_are_clamped() {
        let w = worker()
            .concurrency(0)
            .max_attempts(0)
            .visibility_timeout(Duration::ZERO)
            .poll_interval(Duration::ZERO);
        assert_eq!(
            (w.concurrency, w.max_attempts, w.visibility, w.poll_interval),
            (1, 1, Duration::from_secs(1), Duration::from_millis(10))
        );
        let w = worker()
            .concurrency(usize::MAX)
            .max_attempts(u32::MAX)
            .visibility_timeout(Duration::MAX)
            .poll_interval(Duration::MAX)
            .shutdown_grace(Duration::MAX)
            .backoff(Duration::MAX, Duration::ZERO);
        assert_eq!(
            (
                w.concurrency,
                w.max_attempts,
                w.visibility,
                w.poll_interval,
                w.grace
            ),
            (
                1024,
                100,
                Duration::from_secs(3600),
                Duration::from_secs(60),
                Duration::from_secs(3600)
            )
        );
        assert_eq!(
            w.backoff_cap, w.backoff_base,
            "the cap is never below the base"
        );
    }

    #[test]
    fn backoff_is_jittered_under_an_exponential_ceiling_and_the_cap() {
        let w = worker().backoff(Duration::from_secs(1), Duration::from_secs(600));
        for attempt in [1, 2, 5, 10, 40, u32::MAX] {
            let ceiling = Duration::from_secs(1)
                .saturating_mul(1 << attempt.saturating_sub(1).min(31))
                .min(Duration::from_secs(600));
            let delays: Vec<Duration> = (0..64).map(|_| w.backoff_for(attempt)).collect();
            assert!(
                delays.iter().all(|d| *d <= ceiling),
                "{attempt}: {delays:?}"
            );
            assert!(
                delays.iter().any(|d| *d != delays[0]),
                "{attempt}: not jittered"
            );
        }
    }

    #[test]
    fn a_delivery_is_rebuilt_with_its_ids_attempt_and_headers() {
        let id = DeliveryId::derive("stripe", b"evt_1");
        let mut delivery = super::super::Delivery::new("stripe", Bytes::from_static(b"{}"));
        delivery.id = id.to_string();
        delivery.key_id = Some("acme".into());
        delivery.uri = "/webhooks/stripe?x=1".into();
        delivery.headers = vec![("content-type".into(), b"application/json".to_vec())];
        let request = request_of(&Claimed::new(delivery, 3, "lease"));
        assert_eq!(request.uri(), "/webhooks/stripe?x=1");
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.headers()["content-type"], "application/json");
        assert_eq!(request.body().bytes().as_ref(), b"{}");
        assert_eq!(request.extensions().get::<Attempt>(), Some(&Attempt(3)));
        let verified = request.extensions().get::<Verified>().unwrap();
        assert_eq!(verified.key_id(), Some("acme"));
        assert_eq!(verified.delivery_id(), Some(id), "not scoped twice");
        assert_eq!(verified.delivery_ids(), [id]);
        assert_eq!(
            request
                .extensions()
                .get::<IdempotencyKey>()
                .unwrap()
                .as_str(),
            id.to_string()
        );
    }

    #[test]
    fn errors_kept_are_bounded_on_a_char_boundary() {
        let mut error = "é".repeat(MAX_ERROR_LEN);
        truncate(&mut error);
        assert!(error.len() <= MAX_ERROR_LEN);
    }
}
