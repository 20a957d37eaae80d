//! [`KeyResolver`]: a [`KeySource`] behind a bounded cache with single flight, negative
//! caching and a timeout; and the per-scheme half that parses and keys what it finds once
//! per cache entry.

use std::{
    fmt,
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering as AtomicOrdering},
        Arc, Mutex, OnceLock, PoisonError, Weak,
    },
    time::{Duration, SystemTime},
};

use http::request::Parts;
use quick_cache::{sync::Cache, OptionsBuilder, UnitWeighter};
use tokio::sync::Semaphore;

use super::{
    name::KeyName,
    source::{FnSource, FoundKeys, KeyError, KeySource},
    IntoKeys, KeySet, KeysFrom, Parse, Resolution, ResolvedKeys,
};
use crate::{
    foundation::{Clock, SystemClock},
    rejection::Rejection,
};

/// How long found keys are cached when no TTL is set: 5 minutes.
pub const DEFAULT_KEY_TTL: Duration = Duration::from_secs(5 * 60);

/// How long "no keys for this name" is cached when no TTL is set: 30 seconds.
pub const DEFAULT_UNKNOWN_KEY_TTL: Duration = Duration::from_secs(30);

/// How long a lookup may take when no timeout is set: 3 seconds, well inside the 10 to 30
/// seconds senders wait for an answer.
pub const DEFAULT_KEY_TIMEOUT: Duration = Duration::from_secs(3);

/// How many lookups run at once when no limit is set: 16, below the size of a typical
/// database connection pool.
pub const DEFAULT_MAX_CONCURRENT_LOOKUPS: usize = 16;

/// How many names are cached when no capacity is set.
const DEFAULT_CAPACITY: usize = 10_000;

/// The range `ttl` is held in: at least a second, so one name costs at most one lookup a
/// second; at most a week.
const TTL_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(7 * 86_400));

/// The range `unknown_ttl` is held in: at least a second; at most an hour, so a tenant added
/// after a request named it is found within the hour.
const UNKNOWN_TTL_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));

/// The range `timeout` is held in: 10 ms to a minute.
const TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(60));

/// The range `max_concurrent_lookups` is held in.
const MAX_CONCURRENT_LOOKUPS_RANGE: (usize, usize) = (1, 1024);

/// How long a failed lookup is remembered, so that while the source is down requests fail
/// fast instead of each waiting out the timeout, and the source is not stampeded.
const FAILURE_TTL: Duration = Duration::from_secs(1);

/// Keys looked up per request: which name the request gives ([`KeyName`]), where that name's
/// keys are ([`KeySource`]), and how the answers are cached.
///
/// Pass it to any scheme constructor in place of a secret; each scheme that is given it keeps
/// its own cache, of keys parsed and (for HMAC) keyed once per entry:
///
/// - **bounded**: at most [`capacity`](Self::capacity) names with keys (default 10,000),
///   evicting the least useful; names longer than 128 bytes are refused without a lookup;
/// - **flood-proof**: names without keys (unknown, or whose lookup failed) are remembered in
///   a separate cache of a quarter of `capacity`, so a flood of made-up names cannot evict
///   real tenants' keys;
/// - **expiring**: found keys for [`ttl`](Self::ttl) (default 5 minutes), unknown names for
///   [`unknown_ttl`](Self::unknown_ttl) (default 30 seconds), failures for 1 second;
/// - **single flight**: concurrent requests for a name that is not cached wait for one lookup;
/// - **bounded in concurrency**: at most
///   [`max_concurrent_lookups`](Self::max_concurrent_lookups) lookups (default 16) run at once,
///   so a flood of names cannot exhaust your database's connection pool; the rest queue;
/// - **bounded in time**: a lookup that has not answered within [`timeout`](Self::timeout)
///   (default 3 seconds), queueing included, fails.
///
/// Every setting is held within a range, so none can make a request panic or turn caching off:
///
/// | setting | default | range |
/// |---|---|---|
/// | [`ttl`](Self::ttl) | 5 min | 1 s to 7 days |
/// | [`unknown_ttl`](Self::unknown_ttl) | 30 s | 1 s to 1 hour |
/// | [`timeout`](Self::timeout) | 3 s | 10 ms to 60 s |
/// | [`max_concurrent_lookups`](Self::max_concurrent_lookups) | 16 | 1 to 1024 |
/// | [`capacity`](Self::capacity) | 10,000 | at least 1 |
///
/// A cache hit costs no allocation and no await. Lookups need a tokio runtime (for the
/// timeout), as axum, hyper and tonic servers have.
///
/// | the source answers | the request gets | `tracing` reason |
/// |---|---|---|
/// | keys | verified against them | |
/// | `None`, or the request names nothing | `401`, the same body as a bad signature, once the body is read | `unknown_key` |
/// | an error, a key the scheme cannot use, or nothing in time | `503`, fail closed, and a warning | `key_source_unavailable` |
///
/// An unknown name is answered as a wrong signature is: the same response, after the body has
/// been read within the same limits (so also the same `100 Continue` to `Expect`), so a
/// client without a secret learns nothing from it about which tenants exist; the `tracing`
/// reason tells you. Deliveries are kept apart per name in the replay guard (see
/// [`Verified::delivery_id`](crate::Verified::delivery_id)), and names are untrusted input
/// (see [`KeyName`]).
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::{keys::{FoundKeys, KeyName, KeyResolver}, presets, WebhookSignatureLayer};
///
/// let secrets = KeyResolver::from_fn(KeyName::header("X-Shopify-Shop-Domain"), |shop: String| async move {
///     // Your database lookup.
///     Ok((shop == "acme.myshopify.com").then(|| FoundKeys::new("acme's secret")))
/// })
/// .ttl(Duration::from_secs(60))
/// .capacity(50_000);
/// let layer = WebhookSignatureLayer::new(presets::shopify(secrets));
/// ```
#[derive(Clone)]
pub struct KeyResolver {
    name: KeyName,
    source: Arc<dyn KeySource>,
    ttl: Duration,
    unknown_ttl: Duration,
    timeout: Duration,
    capacity: usize,
    /// Shared by every scheme given this resolver or a clone of it: one pool to protect.
    lookups: Arc<Semaphore>,
    max_lookups: usize,
    clock: Arc<dyn Clock>,
    /// The caches of every scheme given this resolver or a clone of it, for `invalidate`.
    caches: Arc<Caches>,
}

impl KeyResolver {
    /// Keys of the name `name` reads from each request, looked up in `source`.
    ///
    /// ```
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// let keys = ReloadableKeys::new();
    /// let resolver = KeyResolver::new(KeyName::path("/hooks/{tenant}"), keys.clone());
    /// ```
    #[must_use]
    pub fn new(name: KeyName, source: impl KeySource) -> Self {
        Self {
            name,
            source: Arc::new(source),
            ttl: DEFAULT_KEY_TTL,
            unknown_ttl: DEFAULT_UNKNOWN_KEY_TTL,
            timeout: DEFAULT_KEY_TIMEOUT,
            capacity: DEFAULT_CAPACITY,
            lookups: Arc::new(Semaphore::new(DEFAULT_MAX_CONCURRENT_LOOKUPS)),
            max_lookups: DEFAULT_MAX_CONCURRENT_LOOKUPS,
            clock: Arc::new(SystemClock),
            caches: Arc::default(),
        }
    }

    /// Keys looked up by an async function of the name: `Ok(Some(keys))`, `Ok(None)` for an
    /// unknown name, or an error.
    ///
    /// ```
    /// use tower_webhook::keys::{FoundKeys, KeyError, KeyName, KeyResolver};
    ///
    /// let resolver = KeyResolver::from_fn(KeyName::path("/webhooks/{tenant}"), |tenant: String| async move {
    ///     let secret: Option<String> = None; // query your database with `tenant`
    ///     Ok::<_, KeyError>(secret.map(FoundKeys::new))
    /// });
    /// ```
    #[must_use]
    pub fn from_fn<F, Fut>(name: KeyName, lookup: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<FoundKeys>, KeyError>> + Send + 'static,
    {
        Self::new(name, FnSource(lookup))
    }

    /// How long found keys are used before the source is asked again. Default:
    /// [`DEFAULT_KEY_TTL`]. A source that knows when it changed (its
    /// [`version`](KeySource::version), as [`ReloadableKeys`](super::ReloadableKeys) does) is
    /// picked up at once instead.
    ///
    /// Held between 1 second and 7 days (a shorter one is raised, a longer one lowered).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// let resolver = KeyResolver::new(KeyName::fixed("app"), ReloadableKeys::new()).ttl(Duration::from_secs(30));
    /// ```
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.clamp(TTL_RANGE.0, TTL_RANGE.1);
        self
    }

    /// How long a name with no keys is remembered as such, so a flood of requests for unknown
    /// tenants does not reach the source each time. Default: [`DEFAULT_UNKNOWN_KEY_TTL`].
    ///
    /// Held between 1 second and 1 hour (a shorter one is raised, a longer one lowered): a
    /// tenant you add is found at most an hour after a request named it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// let resolver = KeyResolver::new(KeyName::fixed("app"), ReloadableKeys::new())
    ///     .unknown_ttl(Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn unknown_ttl(mut self, ttl: Duration) -> Self {
        self.unknown_ttl = ttl.clamp(UNKNOWN_TTL_RANGE.0, UNKNOWN_TTL_RANGE.1);
        self
    }

    /// How long one lookup may take before the requests waiting for it get `503`, the wait
    /// for a free lookup slot (see [`max_concurrent_lookups`](Self::max_concurrent_lookups))
    /// included. Default: [`DEFAULT_KEY_TIMEOUT`].
    ///
    /// Held between 10 milliseconds and 60 seconds (a shorter one is raised, a longer one
    /// lowered).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// let resolver = KeyResolver::new(KeyName::fixed("app"), ReloadableKeys::new())
    ///     .timeout(Duration::from_millis(500));
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.clamp(TIMEOUT_RANGE.0, TIMEOUT_RANGE.1);
        self
    }

    /// How many names with keys the cache holds at most. Default: 10,000. Names without keys
    /// (unknown, or whose lookup failed) are held apart, a quarter as many (at least 16), so
    /// that a flood of made-up names evicts only other made-up names.
    ///
    /// ```
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// let resolver = KeyResolver::new(KeyName::fixed("app"), ReloadableKeys::new()).capacity(100);
    /// ```
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How many lookups may run at once. Default: [`DEFAULT_MAX_CONCURRENT_LOOKUPS`]. Set it
    /// below the number of connections your source's pool holds, so a flood of names your
    /// cache has never seen leaves connections for the rest of your application.
    ///
    /// Lookups past the limit wait their turn, first come first served, within the same
    /// [`timeout`](Self::timeout): a real tenant behind a flood is served as soon as a slot is
    /// free rather than refused at once, and a request still waiting when its timeout runs out
    /// gets `503` (`key_source_unavailable`), which is not remembered for its name. Requests
    /// for names already cached never wait. The limit is shared by every scheme given this
    /// resolver or a clone of it.
    ///
    /// Held between 1 and 1024.
    ///
    /// ```
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// // The database pool has 10 connections; leave some for the application.
    /// let resolver = KeyResolver::new(KeyName::path("/hooks/{tenant}"), ReloadableKeys::new())
    ///     .max_concurrent_lookups(4);
    /// ```
    #[must_use]
    pub fn max_concurrent_lookups(mut self, limit: usize) -> Self {
        let limit = limit.clamp(
            MAX_CONCURRENT_LOOKUPS_RANGE.0,
            MAX_CONCURRENT_LOOKUPS_RANGE.1,
        );
        self.lookups = Arc::new(Semaphore::new(limit));
        self.max_lookups = limit;
        self
    }

    /// Where the cache's time comes from. Default: [`SystemClock`]. Tests pass a closure to
    /// step past a TTL without sleeping.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// let resolver = KeyResolver::new(KeyName::fixed("app"), ReloadableKeys::new())
    ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl KeyResolver {
    /// Forgets what every scheme given this resolver (or a clone of it) has cached for
    /// `name`, found keys or not, so its next request asks the source again: call it when
    /// you change a tenant's secret in your database, instead of waiting out the
    /// [`ttl`](Self::ttl). Keep a clone of the resolver to call it on.
    ///
    /// A lookup of `name` already running when this is called is still answered, but what it
    /// found is not cached. A request already being verified keeps the keys it started with.
    ///
    /// ```
    /// use tower_webhook::{keys::{FoundKeys, KeyName, KeyResolver}, presets, WebhookSignatureLayer};
    ///
    /// let secrets = KeyResolver::from_fn(KeyName::path("/webhooks/stripe/{account}"), |account: String| async move {
    ///     // Your database lookup.
    ///     Ok(Some(FoundKeys::new(format!("whsec_of_{account}"))))
    /// });
    /// let layer = WebhookSignatureLayer::new(presets::stripe(secrets.clone()));
    ///
    /// // Later, in the handler of your "rotate my signing secret" page, once the database
    /// // holds the new secret:
    /// secrets.invalidate("acct_1234");
    /// ```
    pub fn invalidate(&self, name: &str) {
        self.caches.forget(Some(name));
    }

    /// Forgets every name every scheme given this resolver (or a clone) has cached, as
    /// [`invalidate`](Self::invalidate) does for one: after rotating many secrets at once,
    /// or restoring the database. Each name costs one lookup on its next request.
    ///
    /// ```
    /// use tower_webhook::keys::{KeyName, KeyResolver, ReloadableKeys};
    ///
    /// let resolver = KeyResolver::new(KeyName::header("X-Tenant"), ReloadableKeys::new());
    /// resolver.invalidate_all();
    /// ```
    pub fn invalidate_all(&self) {
        self.caches.forget(None);
    }
}

/// What [`KeyResolver::invalidate`] reaches: the caches made from one resolver.
#[derive(Default)]
struct Caches {
    /// Moved on by every invalidation, so a lookup that was running then does not cache
    /// what it found: it may have read the secret before it changed.
    epoch: AtomicU64,
    /// Weak: a scheme that is dropped takes its cache with it.
    caches: Mutex<Vec<Weak<dyn Forget>>>,
}

impl Caches {
    fn register(&self, cache: Weak<dyn Forget>) {
        let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
        // Schemes built and dropped over and over must not grow the list.
        caches.retain(|cache| cache.strong_count() > 0);
        caches.push(cache);
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(AtomicOrdering::SeqCst)
    }

    /// `name`'s entries in every cache, or every entry; the epoch moves first, so a lookup
    /// that inserts after the caches are cleared sees it moved and removes its entry.
    fn forget(&self, name: Option<&str>) {
        self.epoch.fetch_add(1, AtomicOrdering::SeqCst);
        let caches: Vec<Arc<dyn Forget>> = self
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for cache in caches {
            cache.forget(name);
        }
    }
}

/// A cache of some kind of keys, seen without its kind.
trait Forget: Send + Sync {
    fn forget(&self, name: Option<&str>);
}

impl<K: Send + Sync + 'static> Forget for Entries<K> {
    fn forget(&self, name: Option<&str>) {
        match name {
            Some(name) => {
                self.found.remove(name);
                self.misses.remove(name);
            }
            None => {
                self.found.clear();
                self.misses.clear();
            }
        }
    }
}

impl IntoKeys for KeyResolver {
    fn into_keys(self) -> KeysFrom {
        KeysFrom::Resolved(self)
    }
}

impl fmt::Debug for KeyResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyResolver")
            .field("name", &self.name)
            .field("ttl", &self.ttl)
            .field("unknown_ttl", &self.unknown_ttl)
            .field("timeout", &self.timeout)
            .field("capacity", &self.capacity)
            .field("max_concurrent_lookups", &self.max_lookups)
            .finish_non_exhaustive()
    }
}

/// A [`KeyResolver`] as one scheme uses it: with that scheme's way of parsing a key, and a
/// cache of keys parsed that way.
pub(crate) struct Resolver<K> {
    config: KeyResolver,
    parse: Parse<K>,
    entries: Arc<Entries<K>>,
    /// The first keys found for any name: a name without keys is verified against them, its
    /// verdict forced to `UnknownKey`, so it costs what a known name's wrong signature costs
    /// and its answer's timing does not tell a prober which tenants exist.
    decoy: OnceLock<Arc<K>>,
}

/// What one scheme's resolver has cached.
struct Entries<K> {
    /// Names with keys. Names come from requests: the default hasher is seeded per process,
    /// so they cannot be chosen to collide.
    found: Cache<String, Entry<K>>,
    /// Names without keys (unknown or failed), apart so that a flood of made-up names cannot
    /// evict the keys of real ones.
    misses: Cache<String, Entry<K>>,
}

/// What the cache remembers of a name, until when, and from which version of the source.
struct Entry<K> {
    outcome: Outcome<K>,
    expires: SystemTime,
    version: u64,
}

enum Outcome<K> {
    Found(Arc<K>, Arc<str>),
    Unknown,
    Failed,
    /// Every lookup slot stayed busy until the timeout: the source was not asked, so nothing
    /// is remembered of the name.
    Busy,
}

impl<K> fmt::Debug for Resolver<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResolvedPerRequest")
            .field(&self.config)
            .finish()
    }
}

impl<K> Clone for Entry<K> {
    fn clone(&self) -> Self {
        Self {
            outcome: match &self.outcome {
                Outcome::Found(keys, id) => Outcome::Found(Arc::clone(keys), Arc::clone(id)),
                Outcome::Unknown => Outcome::Unknown,
                Outcome::Failed => Outcome::Failed,
                Outcome::Busy => Outcome::Busy,
            },
            expires: self.expires,
            version: self.version,
        }
    }
}

impl<K> Entry<K> {
    fn fresh(&self, now: SystemTime, version: u64) -> bool {
        now < self.expires && self.version == version
    }

    fn result(self) -> Result<(Arc<K>, Arc<str>), Rejection> {
        match self.outcome {
            Outcome::Found(keys, id) => Ok((keys, id)),
            Outcome::Unknown => Err(Rejection::UnknownKey),
            Outcome::Failed | Outcome::Busy => Err(Rejection::KeySourceUnavailable),
        }
    }
}

/// `now + ttl`, or a century on for a clock so far ahead that cannot be written, so no TTL
/// panics.
fn after(now: SystemTime, ttl: Duration) -> SystemTime {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    now.checked_add(ttl)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

/// A cache of names without keys: a quarter of `capacity`, at least 16, first in first out
/// (a made-up name is seldom asked for again, and a real one looked up again costs one lookup).
fn misses_cache<K>(capacity: usize) -> Cache<String, Entry<K>> {
    let capacity = (capacity / 4).max(16);
    let options = OptionsBuilder::new()
        .estimated_items_capacity(capacity)
        .weight_capacity(u64::try_from(capacity).unwrap_or(u64::MAX))
        .hot_allocation(0.0)
        .build();
    match options {
        Ok(options) => Cache::with_options(
            options,
            UnitWeighter,
            Default::default(),
            Default::default(),
        ),
        Err(_) => Cache::new(capacity),
    }
}

impl<K: KeySet> Resolver<K> {
    pub(crate) fn new(config: KeyResolver, parse: Parse<K>) -> Self {
        let entries = Arc::new(Entries {
            found: Cache::new(config.capacity),
            misses: misses_cache(config.capacity),
        });
        let weak: Weak<Entries<K>> = Arc::downgrade(&entries);
        config.caches.register(weak);
        Self {
            config,
            parse,
            decoy: OnceLock::new(),
            entries,
        }
    }

    /// The keys `request` names: from the cache at once, or a lookup to wait for. A name
    /// without keys (or a request naming none) gets the decoy keys, marked as such, once any
    /// name's keys have been found.
    pub(crate) fn resolve(this: &Arc<Self>, request: &Parts) -> Resolution<K> {
        let resolution = match this.config.name.of(request) {
            Some(name) => Self::resolve_name(this, name),
            None => Resolution::Ready(Err(Rejection::UnknownKey)),
        };
        match resolution {
            Resolution::Ready(Err(Rejection::UnknownKey)) => match this.decoy_keys() {
                Some(decoy) => Resolution::Pending(Box::pin(std::future::ready(Ok(decoy)))),
                None => Resolution::Ready(Err(Rejection::UnknownKey)),
            },
            Resolution::Pending(lookup) => {
                let resolver = Arc::clone(this);
                Resolution::Pending(Box::pin(async move {
                    match lookup.await {
                        Err(Rejection::UnknownKey) => {
                            resolver.decoy_keys().ok_or(Rejection::UnknownKey)
                        }
                        found => found,
                    }
                }))
            }
            ready => ready,
        }
    }

    /// The decoy keys, if any name's keys have been found yet.
    fn decoy_keys(&self) -> Option<ResolvedKeys> {
        let keys: Arc<dyn std::any::Any + Send + Sync> = Arc::clone(self.decoy.get()?) as _;
        Some(ResolvedKeys::decoy(keys))
    }

    /// The keys of `name`, found some other way than from the head (a certificate URL in the
    /// body): from the cache at once, or a lookup to wait for.
    pub(crate) fn resolve_name(this: &Arc<Self>, name: std::borrow::Cow<'_, str>) -> Resolution<K> {
        let version = this.config.source.version();
        if let Some(entry) = this.entries.found.get(&*name) {
            if entry.fresh(this.config.clock.now(), version) {
                return Resolution::Ready(entry.result());
            }
        }
        if let Some(entry) = this.fresh_miss(&name, version) {
            return Resolution::Ready(entry.result());
        }
        let resolver = Arc::clone(this);
        let name = name.into_owned();
        Resolution::Pending(Box::pin(async move {
            let (keys, id) = resolver.load(name).await?;
            Ok(ResolvedKeys::new(keys, id))
        }))
    }

    /// The keys of `name`, looked up once however many requests wait for them.
    async fn load(&self, name: String) -> Result<(Arc<K>, Arc<str>), Rejection> {
        // A stale entry is removed and the lookup retried; a source whose version moves on
        // every call could keep that going, so after a few rounds it is asked directly.
        for _ in 0..3 {
            match self
                .entries
                .found
                .get_value_or_guard_async(name.as_str())
                .await
            {
                Ok(entry) => {
                    let version = self.config.source.version();
                    if entry.fresh(self.config.clock.now(), version) {
                        return entry.result();
                    }
                    self.entries.found.remove_if(name.as_str(), |entry| {
                        !entry.fresh(self.config.clock.now(), version)
                    });
                }
                Err(guard) => {
                    // The request that held the guard before may have found no keys: those
                    // are remembered apart, and its guard passed on to this request.
                    let version = self.config.source.version();
                    if let Some(entry) = self.fresh_miss(&name, version) {
                        return entry.result();
                    }
                    let epoch = self.config.caches.epoch();
                    let entry = self.lookup(&name).await;
                    match entry.outcome {
                        Outcome::Found(..) => {
                            let _ = guard.insert(entry.clone());
                        }
                        // Before the guard is dropped, so the next request waiting for this
                        // name finds it.
                        Outcome::Unknown | Outcome::Failed => {
                            self.entries.misses.insert(name.clone(), entry.clone());
                        }
                        Outcome::Busy => {}
                    }
                    // Invalidated while the source was asked: what it said may be the old
                    // secret. Checked after inserting, so an invalidation in between is
                    // seen either here or by its own removal.
                    if self.config.caches.epoch() != epoch {
                        self.entries.forget(Some(&name));
                    }
                    return entry.result();
                }
            }
        }
        self.lookup(&name).await.result()
    }

    /// What `name`'s last lookup found if it found no keys and is still fresh.
    fn fresh_miss(&self, name: &str, version: u64) -> Option<Entry<K>> {
        let entry = self.entries.misses.get(name)?;
        entry
            .fresh(self.config.clock.now(), version)
            .then_some(entry)
    }

    /// Asks the source once a lookup slot is free, bounded in time (the wait included), and
    /// parses what it finds.
    async fn lookup(&self, name: &str) -> Entry<K> {
        // The version before the lookup: a change while it runs leaves the entry stale.
        let version = self.config.source.version();
        let timeout = self.config.timeout;
        let started = tokio::time::Instant::now();
        let slot = tokio::time::timeout(timeout, self.config.lookups.acquire()).await;
        let Ok(Ok(_slot)) = slot else {
            tracing::warn!(target: "tower_webhook", key_name = name, limit = self.config.max_lookups, ?timeout, "no key lookup slot became free in time");
            return Entry {
                outcome: Outcome::Busy,
                expires: self.config.clock.now(),
                version,
            };
        };
        let left = timeout.saturating_sub(started.elapsed());
        let answer = tokio::time::timeout(left, self.config.source.lookup(name));
        let outcome = match answer.await {
            Ok(Ok(Some(found))) => match self.parse_all(&found) {
                Some(keys) => {
                    let keys = Arc::new(keys);
                    let _ = self.decoy.set(Arc::clone(&keys));
                    Outcome::Found(keys, Arc::from(name))
                }
                None => {
                    tracing::warn!(target: "tower_webhook", key_name = name, "key source returned a key this scheme cannot use");
                    Outcome::Failed
                }
            },
            Ok(Ok(None)) => Outcome::Unknown,
            Ok(Err(error)) => {
                tracing::warn!(target: "tower_webhook", key_name = name, %error, "key lookup failed");
                Outcome::Failed
            }
            Err(_) => {
                tracing::warn!(target: "tower_webhook", key_name = name, timeout = ?self.config.timeout, "key lookup timed out");
                Outcome::Failed
            }
        };
        let ttl = match outcome {
            Outcome::Found(..) => self.config.ttl,
            Outcome::Unknown => self.config.unknown_ttl,
            Outcome::Failed | Outcome::Busy => FAILURE_TTL.min(self.config.ttl),
        };
        Entry {
            outcome,
            expires: after(self.config.clock.now(), ttl),
            version,
        }
    }

    /// Every found key parsed into one set, in order; `None` if any cannot be used (or there
    /// are none), which fails closed rather than verifying against fewer keys than intended.
    fn parse_all(&self, found: &FoundKeys) -> Option<K> {
        let mut keys = found.iter().map(self.parse);
        let mut set = keys.next()?.ok()?;
        for key in keys {
            set.merge(key.ok()?);
        }
        Some(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Hmac;

    fn request(path: &str) -> Parts {
        http::Request::post(path).body(()).unwrap().into_parts().0
    }

    #[tokio::test]
    async fn a_cached_name_is_answered_at_once_without_a_future() {
        let config = KeyResolver::from_fn(KeyName::path("/hooks/{tenant}"), |_| async {
            Ok(Some(FoundKeys::new("secret")))
        });
        let resolver = Arc::new(Resolver::new(config, Hmac::sha256));
        let Resolution::Pending(lookup) = Resolver::resolve(&resolver, &request("/hooks/a")) else {
            panic!("the first request must look the name up");
        };
        assert_eq!(lookup.await.unwrap().id(), "a");
        assert!(matches!(
            Resolver::resolve(&resolver, &request("/hooks/a")),
            Resolution::Ready(Ok(_))
        ));
    }

    #[tokio::test]
    async fn unknown_names_never_evict_found_keys() {
        let config = KeyResolver::from_fn(KeyName::path("/hooks/{tenant}"), |tenant| async move {
            Ok((tenant == "real").then(|| FoundKeys::new("secret")))
        })
        .capacity(1);
        let resolver = Arc::new(Resolver::new(config, Hmac::sha256));
        // By name, as the cache holds it: `resolve` would answer unknown names with decoys.
        let lookup = |name: &str| match Resolver::resolve_name(&resolver, name.into()) {
            Resolution::Pending(lookup) => Some(lookup),
            Resolution::Ready(_) => None,
        };
        lookup("real").expect("a first lookup").await.unwrap();
        for i in 0..1_000 {
            let unknown = lookup(&format!("made-up-{i}"))
                .expect("a first lookup")
                .await;
            assert!(matches!(unknown, Err(Rejection::UnknownKey)));
        }
        assert!(lookup("real").is_none(), "the real name is still cached");
        // The latest unknown names are remembered too.
        assert!(lookup("made-up-999").is_none());
    }

    #[tokio::test]
    async fn an_unknown_name_gets_decoy_keys_once_a_name_has_keys() {
        let config = KeyResolver::from_fn(KeyName::path("/hooks/{tenant}"), |tenant| async move {
            Ok((tenant == "real").then(|| FoundKeys::new("secret")))
        });
        let resolver = Arc::new(Resolver::new(config, Hmac::sha256));
        let resolve =
            |name: &str| Resolver::resolve(&resolver, &request(&format!("/hooks/{name}")));
        // No keys found yet: nothing to disguise an unknown name with.
        let Resolution::Pending(first) = resolve("nobody") else {
            panic!("the first request must look the name up");
        };
        assert!(matches!(first.await, Err(Rejection::UnknownKey)));
        assert!(matches!(
            resolve("nobody"),
            Resolution::Ready(Err(Rejection::UnknownKey))
        ));
        let Resolution::Pending(real) = resolve("real") else {
            panic!("the first request must look the name up");
        };
        assert!(!real.await.unwrap().is_decoy());
        // Cached or looked up, an unknown name now gets the real name's keys, marked.
        for name in ["nobody", "someone-else"] {
            let Resolution::Pending(decoy) = resolve(name) else {
                panic!("an unknown name waits for its decoy");
            };
            let decoy = decoy.await.unwrap();
            assert!(decoy.is_decoy());
            assert_eq!(decoy.id(), "");
            assert!(decoy.get::<Hmac>().is_some());
        }
        assert!(matches!(resolve("real"), Resolution::Ready(Ok(_))));
    }
}
