//! [`RedisInbox`]: the inbox on Redis Streams, shared by many receivers and many workers, on
//! one Redis or a Redis Cluster.

use std::{fmt, sync::Arc, time::Duration};

use bytes::Bytes;
use redis::{aio::ConnectionManager, Script};

use super::{
    Appended, Claimed, DeadLetter, Delivery, InboxError, InboxFuture, InboxStats, InboxStore,
};
use crate::replay::redis::Connection;

/// The consumer group every worker of one inbox reads in.
const GROUP: &str = "workers";

/// The most a single [`InboxStore::claim`] or [`InboxStore::dead_letters`] returns: a bound on
/// one reply's size (bodies included), whatever the caller asks.
const MOST_AT_ONCE: usize = 1024;

/// Stores the delivery unless one of its ids (or the delivery itself, still pending or dead)
/// is known; one script, so a crash or a concurrent copy cannot split the check from the
/// write, and the AOF records its effects as one transaction.
///
/// The ids are kept with no expiry while the delivery is pending, retried or dead: a copy
/// under a new first id must find them however long it waits. `COMPLETE` starts their TTL.
///
/// KEYS: stream, pending, deliveries, attempts, then one `id:` key per id.
/// ARGV: delivery id, record, received at (ms).
const APPEND: &str = r"
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
for i = 5, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 5, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1])
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], 0)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('XADD', KEYS[1], '*', 'd', ARGV[1])
return 1
";

/// Moves due retries back into the stream, takes entries idle in another consumer's hands
/// longer than the visibility timeout (`XAUTOCLAIM`, resuming where the last scan stopped),
/// then new ones (`XREADGROUP`). Each claim counts an attempt and gets a fresh lease, so a
/// worker whose claim was taken over cannot retry, release or dead-letter it any more.
/// Entries whose delivery is gone (completed through an older claim) are dropped.
///
/// KEYS: stream, delayed, deliveries, attempts, leases, lease counter, autoclaim cursor.
/// ARGV: group, consumer, max, min idle (ms).
/// Returns `{token, attempt, record, delivery id}` per claim.
const CLAIM: &str = r"
local stream, delayed, deliveries, attempts, leases = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group, consumer, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.pcall('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, max)) do
  redis.call('ZREM', delayed, id)
  redis.call('XADD', stream, '*', 'd', id)
end
local out = {}
local function take(entry)
  if not entry then return end
  local id = false
  local fields = entry[2]
  if fields then
    for i = 1, #fields, 2 do
      if fields[i] == 'd' then id = fields[i + 1] end
    end
  end
  local record = id and redis.call('HGET', deliveries, id)
  if not record then
    redis.call('XACK', stream, group, entry[1])
    redis.call('XDEL', stream, entry[1])
    return
  end
  local attempt = redis.call('HINCRBY', attempts, id, 1)
  local token = entry[1] .. '/' .. redis.call('INCR', KEYS[6])
  redis.call('HSET', leases, id, token)
  out[#out + 1] = {token, attempt, record, id}
end
local cursor = redis.call('GET', KEYS[7]) or '0-0'
local stalled = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[4], cursor, 'COUNT', max)
redis.call('SET', KEYS[7], stalled[1])
for _, entry in ipairs(stalled[2]) do take(entry) end
if #out < max then
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - #out,
    'STREAMS', stream, '>')
  if read then
    for _, entry in ipairs(read[1][2]) do take(entry) end
  end
end
return out
";

/// Done: the entry acknowledged and deleted, the delivery removed from every set. Its `id:`
/// keys stay until their TTL, so a copy is a duplicate. Whichever claim finishes first wins;
/// a lease is not checked, because the work is done either way.
///
/// Its ids are remembered for the id TTL from now, as SQLite counts retention from the end
/// of processing.
///
/// KEYS: stream, delayed, pending, deliveries, attempts, leases, dead, errors, then one
/// `id:` key per id. ARGV: group, entry, delivery id, id TTL (ms).
const COMPLETE: &str = r"
for i = 9, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('HDEL', KEYS[5], ARGV[3])
redis.call('HDEL', KEYS[6], ARGV[3])
redis.call('ZREM', KEYS[7], ARGV[3])
redis.call('HDEL', KEYS[8], ARGV[3])
return 1
";

/// Failed: acknowledged, and parked in the delayed set until `now + delay` (Redis's clock,
/// so receivers' and workers' clocks need not agree). Only under the current lease.
///
/// KEYS: stream, delayed, leases, errors. ARGV: group, entry, delivery id, token, delay (ms), error.
const RETRY: &str = r"
if redis.call('HGET', KEYS[3], ARGV[3]) ~= ARGV[4] then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[3])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[6])
return 1
";

/// Given up: acknowledged, out of the pending set, into the dead set (scored by when).
/// Only under the current lease.
///
/// KEYS: stream, pending, leases, dead, errors. ARGV: group, entry, delivery id, token, error.
const DEAD_LETTER: &str = r"
if redis.call('HGET', KEYS[3], ARGV[3]) ~= ARGV[4] then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[4], now, ARGV[3])
redis.call('HSET', KEYS[5], ARGV[3], ARGV[5])
return 1
";

/// Given back: acknowledged and appended again as a new entry, this attempt uncounted.
/// Only under the current lease.
///
/// KEYS: stream, attempts, leases. ARGV: group, entry, delivery id, token.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[3], ARGV[3]) ~= ARGV[4] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[3])
if tonumber(redis.call('HINCRBY', KEYS[2], ARGV[3], -1)) < 0 then
  redis.call('HSET', KEYS[2], ARGV[3], 0)
end
redis.call('XADD', KEYS[1], '*', 'd', ARGV[3])
return 1
";

/// Back from the dead: pending again, attempts reset, a new entry.
///
/// KEYS: stream, pending, dead, attempts, errors. ARGV: delivery id, received at (ms).
const REQUEUE: &str = r"
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], 0)
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('XADD', KEYS[1], '*', 'd', ARGV[1])
return 1
";

/// The oldest dead letters: `{dead at, attempts, error, record}` each.
///
/// KEYS: dead, deliveries, attempts, errors. ARGV: limit.
const DEAD_LETTERS: &str = r"
local out = {}
local dead = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #dead, 2 do
  local id = dead[i]
  local record = redis.call('HGET', KEYS[2], id)
  if record then
    out[#out + 1] = {tonumber(dead[i + 1]), tonumber(redis.call('HGET', KEYS[3], id) or '0'),
      redis.call('HGET', KEYS[4], id) or '', record}
  end
end
return out
";

/// `{pending, oldest received at or -1, dead}`.
///
/// KEYS: pending, dead.
const STATS: &str = r"
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), tonumber(oldest[2] or '-1'), redis.call('ZCARD', KEYS[2])}
";

/// An [`InboxStore`] on Redis Streams (features `inbox` and `redis`): any number of receivers
/// append to one stream, any number of workers claim from it in one consumer group.
///
/// # Layout
///
/// Every key of one inbox starts with `{name}:`, the name in braces as a hash tag, so on a
/// Redis Cluster all of them live in one slot and each operation is one Lua script on one
/// master (one inbox is therefore served by one master; give unrelated streams of work their
/// own names to spread them):
///
/// | key | what |
/// |-----|------|
/// | `{name}:stream` | a stream entry `d=<delivery id>` per delivery waiting or in a worker's hands (consumer group `workers`) |
/// | `{name}:deliveries` | hash: delivery id → the delivery (body, kept headers, ids, scheme, key id, method, URI, time) |
/// | `{name}:pending` | sorted set of deliveries not done nor dead, by time received (`stats`) |
/// | `{name}:delayed` | sorted set of retries, by when they are due; claims move due ones back to the stream |
/// | `{name}:dead` | sorted set of dead letters, by when they died; `{name}:errors` their last errors |
/// | `{name}:attempts`, `{name}:leases` | hashes: attempts per delivery, and each claim's token |
/// | `{name}:id:<id>` | one per delivery id, kept while the delivery is pending or dead and for [`id_ttl`](Self::id_ttl) (7 days) after it is completed: a copy under any id is a duplicate |
///
/// An append is one script (check every id, set them, store the delivery, `XADD`), so two
/// receivers given the same delivery at once store it once, and a crash cannot keep half.
/// A claim (`XAUTOCLAIM` for entries idle in another consumer's hands longer than the
/// visibility timeout, then `XREADGROUP` for new ones) counts an attempt and issues a new
/// lease; a worker whose claim was taken over after its visibility timeout can still
/// complete (the work is done) but can no longer retry, release or dead-letter it. Retries
/// wait in the delayed set and rejoin the end of the stream when due. Every consumer name a
/// worker used stays in the group (a few bytes each): give workers stable names, and remove
/// one gone for good with `XGROUP DELCONSUMER`. Dead letters stay until re-queued.
///
/// # Durability
///
/// An append answers only after Redis applied it; how much of what Redis applied survives a
/// Redis crash is Redis's own setting, and the sender's 2xx is only as durable as that:
///
/// - `appendonly yes` + `appendfsync always`: the script's effects are written and fsynced
///   to the append-only file before Redis replies, so nothing acknowledged is lost when
///   Redis or its machine crashes (this crate's tests restart Redis in this mode).
/// - `appendfsync everysec` (Redis's default with AOF): fsynced once a second; a crash of
///   the machine loses up to about the last second of acknowledged deliveries (a crash of
///   Redis alone loses nothing: the writes are in the OS's cache).
/// - `appendfsync no`, or no AOF at all (RDB snapshots only): up to whatever the OS or the
///   last snapshot had not yet written.
///
/// With replicas, a failover loses what the old master had not replicated; `WAIT 1 0`
/// after an append narrows that, and is not done here.
///
/// ```no_run
/// use std::time::Duration;
/// use tower_webhook::inbox::RedisInbox;
///
/// # async fn run() -> Result<(), tower_webhook::inbox::InboxError> {
/// let store = RedisInbox::connect("redis://127.0.0.1:6379/")
///     .await?
///     .name("payments:inbox")
///     .id_ttl(Duration::from_secs(3 * 24 * 60 * 60));
/// # let _ = store;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisInbox {
    connection: Connection,
    keys: Keys,
    id_ttl: Duration,
    scripts: Arc<Scripts>,
}

/// Each script with its SHA-1 computed once (`EVALSHA`, loaded again after a restart).
struct Scripts {
    append: Script,
    claim: Script,
    complete: Script,
    retry: Script,
    dead_letter: Script,
    release: Script,
    requeue: Script,
    dead_letters: Script,
    stats: Script,
}

impl RedisInbox {
    /// The default [`id_ttl`](Self::id_ttl): senders retry for up to 3 days (Stripe,
    /// Shopify 48 h), so a week covers every retry.
    pub const DEFAULT_ID_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);
    const SHORTEST_ID_TTL: Duration = Duration::from_secs(60);
    const LONGEST_ID_TTL: Duration = Duration::from_secs(365 * 24 * 60 * 60);
    const DEFAULT_NAME: &'static str = "tower-webhook:inbox";

    /// Connects to the Redis at `url` (`redis://host:port/db`), with one-second connection
    /// and response timeouts so an unreachable Redis fails appends (503) quickly; the
    /// connection comes back by itself after Redis restarts.
    ///
    /// # Errors
    ///
    /// If the URL is invalid or Redis cannot be reached now.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tower_webhook::inbox::InboxError> {
    /// let store = tower_webhook::inbox::RedisInbox::connect("redis://127.0.0.1:6379/").await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, InboxError> {
        Ok(Self::over(
            Connection::single(url).await.map_err(InboxError::new)?,
        ))
    }

    /// A store in a Redis Cluster, reached through any of `nodes` (`redis://host:port/`),
    /// with the same timeouts as [`connect`](Self::connect). The client follows `MOVED` and
    /// `ASK` redirections; during a failover of the master holding this inbox's slot,
    /// appends fail (503, the sender retries) until a replica is promoted.
    ///
    /// # Errors
    ///
    /// If no node can be reached or the cluster's slots cannot be loaded.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tower_webhook::inbox::InboxError> {
    /// let store = tower_webhook::inbox::RedisInbox::connect_cluster([
    ///     "redis://10.0.0.1:6379/",
    ///     "redis://10.0.0.2:6379/",
    ///     "redis://10.0.0.3:6379/",
    /// ])
    /// .await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub async fn connect_cluster<N: AsRef<str>>(
        nodes: impl IntoIterator<Item = N>,
    ) -> Result<Self, InboxError> {
        Ok(Self::over(
            Connection::cluster(nodes).await.map_err(InboxError::new)?,
        ))
    }

    /// A store over a connection you configured.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379/")?;
    /// let connection = redis::aio::ConnectionManager::new(client).await?;
    /// let store = tower_webhook::inbox::RedisInbox::new(connection);
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn new(connection: ConnectionManager) -> Self {
        Self::over(Connection::Single(connection))
    }

    fn over(connection: Connection) -> Self {
        Self {
            connection,
            keys: Keys::new(Self::DEFAULT_NAME),
            id_ttl: Self::DEFAULT_ID_TTL,
            scripts: Arc::new(Scripts {
                append: Script::new(APPEND),
                claim: Script::new(CLAIM),
                complete: Script::new(COMPLETE),
                retry: Script::new(RETRY),
                dead_letter: Script::new(DEAD_LETTER),
                release: Script::new(RELEASE),
                requeue: Script::new(REQUEUE),
                dead_letters: Script::new(DEAD_LETTERS),
                stats: Script::new(STATS),
            }),
        }
    }

    /// The inbox's name (default `tower-webhook:inbox`): the hash tag of its keys. Two stores
    /// with one name on one Redis are one inbox. Braces, which would break the hash tag, are
    /// replaced by `_`; an empty name is the default.
    ///
    /// ```
    /// # async fn run(store: tower_webhook::inbox::RedisInbox) {
    /// let store = store.name("payments:inbox"); // keys `{payments:inbox}:stream`, ...
    /// # }
    /// ```
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.keys = Keys::new(&name.into());
        self
    }

    /// How long a delivery's ids are remembered after it was completed, so that a sender's
    /// retry is a duplicate (default 7 days, clamped to 1 minute..=365 days). While a
    /// delivery is pending, retried or dead, every id of it is remembered, however long.
    ///
    /// ```
    /// # async fn run(store: tower_webhook::inbox::RedisInbox) {
    /// let store = store.id_ttl(std::time::Duration::from_secs(3 * 24 * 60 * 60));
    /// # }
    /// ```
    #[must_use]
    pub fn id_ttl(mut self, ttl: Duration) -> Self {
        self.id_ttl = ttl.clamp(Self::SHORTEST_ID_TTL, Self::LONGEST_ID_TTL);
        self
    }
}

impl fmt::Debug for RedisInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisInbox")
            .field("stream", &self.keys.stream)
            .field("id_ttl", &self.id_ttl)
            .finish_non_exhaustive()
    }
}

/// The keys of one inbox, all under one hash tag.
#[derive(Clone, Debug)]
struct Keys {
    tag: String,
    stream: String,
    deliveries: String,
    pending: String,
    delayed: String,
    dead: String,
    errors: String,
    attempts: String,
    leases: String,
    lease_counter: String,
    cursor: String,
}

impl Keys {
    fn new(name: &str) -> Self {
        let name = if name.is_empty() {
            RedisInbox::DEFAULT_NAME.to_owned()
        } else {
            name.replace(['{', '}'], "_")
        };
        let tag = format!("{{{name}}}:");
        let key = |suffix: &str| format!("{tag}{suffix}");
        Self {
            stream: key("stream"),
            deliveries: key("deliveries"),
            pending: key("pending"),
            delayed: key("delayed"),
            dead: key("dead"),
            errors: key("errors"),
            attempts: key("attempts"),
            leases: key("leases"),
            lease_counter: key("lease-counter"),
            cursor: key("autoclaim-cursor"),
            tag,
        }
    }

    fn id(&self, id: &str) -> String {
        format!("{}id:{id}", self.tag)
    }

    /// The `id:` key of every id of `delivery`, its own first.
    fn ids_of<'a>(&'a self, delivery: &'a Delivery) -> impl Iterator<Item = String> + 'a {
        std::iter::once(&delivery.id)
            .chain(
                delivery
                    .delivery_ids
                    .iter()
                    .filter(|id| **id != delivery.id),
            )
            .map(|id| self.id(id))
    }
}

/// `duration` in whole milliseconds, at least 1 (`PX 0` is an error) and at most 2^50, so
/// that Redis's clock plus it stays exact in a Lua number.
fn millis(duration: Duration) -> u64 {
    const LONGEST: u64 = 1 << 50;
    u64::try_from(duration.as_millis()).map_or(LONGEST, |ms| ms.clamp(1, LONGEST))
}

/// The stream entry of a claim's token (`<entry>/<lease>`).
fn entry_of(token: &str) -> &str {
    token.split_once('/').map_or(token, |(entry, _)| entry)
}

fn failed(error: redis::RedisError) -> InboxError {
    InboxError::new(error)
}

impl InboxStore for RedisInbox {
    fn append<'a>(&'a self, delivery: &'a Delivery) -> InboxFuture<'a, Appended> {
        Box::pin(async move {
            let keys = &self.keys;
            let mut invocation = self.scripts.append.prepare_invoke();
            invocation
                .key(&keys.stream)
                .key(&keys.pending)
                .key(&keys.deliveries)
                .key(&keys.attempts);
            for key in keys.ids_of(delivery) {
                invocation.key(key);
            }
            invocation
                .arg(&delivery.id)
                .arg(record::encode(delivery))
                .arg(delivery.received_at_ms);
            let stored: i64 = invocation
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(failed)?;
            Ok(if stored == 1 {
                Appended::New
            } else {
                Appended::Duplicate
            })
        })
    }

    fn claim<'a>(
        &'a self,
        consumer: &'a str,
        max: usize,
        visibility: Duration,
    ) -> InboxFuture<'a, Vec<Claimed>> {
        Box::pin(async move {
            let max = max.min(MOST_AT_ONCE);
            if max == 0 {
                return Ok(Vec::new());
            }
            let keys = &self.keys;
            let claims: Vec<(String, u32, Vec<u8>, String)> = self
                .scripts
                .claim
                .key(&keys.stream)
                .key(&keys.delayed)
                .key(&keys.deliveries)
                .key(&keys.attempts)
                .key(&keys.leases)
                .key(&keys.lease_counter)
                .key(&keys.cursor)
                .arg(GROUP)
                .arg(consumer)
                .arg(max)
                .arg(millis(visibility))
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(failed)?;
            let mut claimed = Vec::with_capacity(claims.len());
            for (token, attempt, record, id) in claims {
                if let Some(delivery) = record::decode(&record) {
                    claimed.push(Claimed::new(delivery, attempt, token));
                    continue;
                }
                // Claimed again at every visibility timeout otherwise, forever.
                tracing::error!(
                    inbox = %self.keys.stream,
                    id = %id,
                    "an inbox record in Redis could not be read; moved to the dead letters",
                );
                let mut unreadable = Delivery::new("", Bytes::new());
                unreadable.id = id;
                let unreadable = Claimed::new(unreadable, attempt, token);
                self.dead_letter(&unreadable, "the stored record could not be read")
                    .await?;
            }
            Ok(claimed)
        })
    }

    fn complete<'a>(&'a self, claimed: &'a Claimed) -> InboxFuture<'a, ()> {
        Box::pin(async move {
            let keys = &self.keys;
            let mut invocation = self.scripts.complete.prepare_invoke();
            invocation
                .key(&keys.stream)
                .key(&keys.delayed)
                .key(&keys.pending)
                .key(&keys.deliveries)
                .key(&keys.attempts)
                .key(&keys.leases)
                .key(&keys.dead)
                .key(&keys.errors);
            let delivery = &claimed.delivery;
            for key in keys.ids_of(delivery) {
                invocation.key(key);
            }
            invocation
                .arg(GROUP)
                .arg(entry_of(&claimed.token))
                .arg(&delivery.id)
                .arg(millis(self.id_ttl))
                .invoke_async::<i64>(&mut self.connection.clone())
                .await
                .map(drop)
                .map_err(failed)
        })
    }

    fn retry<'a>(
        &'a self,
        claimed: &'a Claimed,
        delay: Duration,
        error: &'a str,
    ) -> InboxFuture<'a, ()> {
        Box::pin(async move {
            let keys = &self.keys;
            let delay = if delay.is_zero() { 0 } else { millis(delay) };
            self.scripts
                .retry
                .key(&keys.stream)
                .key(&keys.delayed)
                .key(&keys.leases)
                .key(&keys.errors)
                .arg(GROUP)
                .arg(entry_of(&claimed.token))
                .arg(&claimed.delivery.id)
                .arg(&claimed.token)
                .arg(delay)
                .arg(error)
                .invoke_async::<i64>(&mut self.connection.clone())
                .await
                .map(drop)
                .map_err(failed)
        })
    }

    fn dead_letter<'a>(&'a self, claimed: &'a Claimed, error: &'a str) -> InboxFuture<'a, ()> {
        Box::pin(async move {
            let keys = &self.keys;
            self.scripts
                .dead_letter
                .key(&keys.stream)
                .key(&keys.pending)
                .key(&keys.leases)
                .key(&keys.dead)
                .key(&keys.errors)
                .arg(GROUP)
                .arg(entry_of(&claimed.token))
                .arg(&claimed.delivery.id)
                .arg(&claimed.token)
                .arg(error)
                .invoke_async::<i64>(&mut self.connection.clone())
                .await
                .map(drop)
                .map_err(failed)
        })
    }

    fn release<'a>(&'a self, claimed: &'a Claimed) -> InboxFuture<'a, ()> {
        Box::pin(async move {
            let keys = &self.keys;
            self.scripts
                .release
                .key(&keys.stream)
                .key(&keys.attempts)
                .key(&keys.leases)
                .arg(GROUP)
                .arg(entry_of(&claimed.token))
                .arg(&claimed.delivery.id)
                .arg(&claimed.token)
                .invoke_async::<i64>(&mut self.connection.clone())
                .await
                .map(drop)
                .map_err(failed)
        })
    }

    fn dead_letters<'a>(&'a self, limit: usize) -> InboxFuture<'a, Vec<DeadLetter>> {
        Box::pin(async move {
            let limit = limit.min(MOST_AT_ONCE);
            if limit == 0 {
                return Ok(Vec::new());
            }
            let keys = &self.keys;
            let dead: Vec<(u64, u32, Vec<u8>, Vec<u8>)> = self
                .scripts
                .dead_letters
                .key(&keys.dead)
                .key(&keys.deliveries)
                .key(&keys.attempts)
                .key(&keys.errors)
                .arg(limit)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(failed)?;
            Ok(dead
                .into_iter()
                .filter_map(|(dead_at_ms, attempts, error, record)| {
                    let delivery = record::decode(&record)?;
                    let error = String::from_utf8_lossy(&error).into_owned();
                    Some(DeadLetter::new(delivery, attempts, error, dead_at_ms))
                })
                .collect())
        })
    }

    fn requeue<'a>(&'a self, id: &'a str) -> InboxFuture<'a, bool> {
        Box::pin(async move {
            let keys = &self.keys;
            let mut connection = self.connection.clone();
            let record: Option<Vec<u8>> = redis::cmd("HGET")
                .arg(&keys.deliveries)
                .arg(id)
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            let Some(delivery) = record.as_deref().and_then(record::decode) else {
                return Ok(false);
            };
            let moved: i64 = self
                .scripts
                .requeue
                .key(&keys.stream)
                .key(&keys.pending)
                .key(&keys.dead)
                .key(&keys.attempts)
                .key(&keys.errors)
                .arg(id)
                .arg(delivery.received_at_ms)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(moved == 1)
        })
    }

    fn stats(&self) -> InboxFuture<'_, InboxStats> {
        Box::pin(async move {
            let (pending, oldest, dead): (u64, i64, u64) = self
                .scripts
                .stats
                .key(&self.keys.pending)
                .key(&self.keys.dead)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(failed)?;
            let oldest_pending_age_ms = u64::try_from(oldest)
                .map_or(0, |received| super::now_ms().saturating_sub(received));
            Ok(InboxStats {
                pending,
                oldest_pending_age_ms,
                dead,
            })
        })
    }
}

/// A [`Delivery`] as one binary string: a version byte, then each field, strings and byte
/// strings as a 4-byte big-endian length and the bytes.
mod record {
    use super::{Bytes, Delivery};

    const VERSION: u8 = 1;

    pub(super) fn encode(delivery: &Delivery) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + delivery.body.len());
        out.push(VERSION);
        put(&mut out, delivery.id.as_bytes());
        put(&mut out, delivery.scheme.as_bytes());
        match &delivery.key_id {
            Some(key_id) => {
                out.push(1);
                put(&mut out, key_id.as_bytes());
            }
            None => out.push(0),
        }
        put_len(&mut out, delivery.delivery_ids.len());
        for id in &delivery.delivery_ids {
            put(&mut out, id.as_bytes());
        }
        out.extend_from_slice(&delivery.received_at_ms.to_be_bytes());
        put(&mut out, delivery.method.as_bytes());
        put(&mut out, delivery.uri.as_bytes());
        put_len(&mut out, delivery.headers.len());
        for (name, value) in &delivery.headers {
            put(&mut out, name.as_bytes());
            put(&mut out, value);
        }
        put(&mut out, &delivery.body);
        out
    }

    fn put_len(out: &mut Vec<u8>, len: usize) {
        // A delivery is bounded by the signature layer's body budget, far below 4 GiB.
        out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    }

    fn put(out: &mut Vec<u8>, bytes: &[u8]) {
        put_len(out, bytes.len());
        out.extend_from_slice(bytes);
    }

    /// `None` for anything that is not a record this version wrote.
    pub(super) fn decode(record: &[u8]) -> Option<Delivery> {
        let mut reader = Reader(record);
        if reader.take(1)? != [VERSION] {
            return None;
        }
        let id = reader.string()?;
        let scheme = reader.string()?;
        let key_id = match reader.take(1)? {
            [0] => None,
            [1] => Some(reader.string()?),
            _ => return None,
        };
        // No capacity from a count read off the wire: each element must be there to count.
        let mut delivery_ids = Vec::new();
        for _ in 0..reader.len()? {
            delivery_ids.push(reader.string()?);
        }
        let received_at_ms = u64::from_be_bytes(reader.take(8)?.try_into().ok()?);
        let method = reader.string()?;
        let uri = reader.string()?;
        let mut headers = Vec::new();
        for _ in 0..reader.len()? {
            headers.push((reader.string()?, reader.bytes()?.to_vec()));
        }
        let body = Bytes::copy_from_slice(reader.bytes()?);
        if !reader.0.is_empty() {
            return None;
        }
        Some(Delivery {
            id,
            scheme,
            key_id,
            delivery_ids,
            received_at_ms,
            method,
            uri,
            headers,
            body,
        })
    }

    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (head, rest) = self.0.split_at(n);
            self.0 = rest;
            Some(head)
        }

        fn len(&mut self) -> Option<usize> {
            let len = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
            usize::try_from(len).ok()
        }

        fn bytes(&mut self) -> Option<&'a [u8]> {
            let len = self.len()?;
            self.take(len)
        }

        fn string(&mut self) -> Option<String> {
            String::from_utf8(self.bytes()?.to_vec()).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        let mut delivery = Delivery::new("stripe", Bytes::from_static(b"{\"id\":\"evt_1\"}"));
        delivery.key_id = Some("tenant-7".into());
        delivery.delivery_ids = vec!["aa01".into(), "bb02".into()];
        delivery.headers = vec![
            ("content-type".into(), b"application/json".to_vec()),
            ("x-raw".into(), vec![0, 255, 10]),
        ];
        delivery.uri = "/hooks/stripe?x=1".into();
        delivery
    }

    #[test]
    fn a_record_reads_back_as_the_delivery_it_was() {
        let delivery = delivery();
        assert_eq!(record::decode(&record::encode(&delivery)), Some(delivery));
        let bare = Delivery::new("github", Bytes::new());
        assert_eq!(record::decode(&record::encode(&bare)), Some(bare));
    }

    #[test]
    fn a_truncated_padded_or_foreign_record_is_refused_without_panicking() {
        let encoded = record::encode(&delivery());
        for cut in 0..encoded.len() {
            assert_eq!(record::decode(&encoded[..cut]), None, "cut at {cut}");
        }
        let mut padded = encoded.clone();
        padded.push(0);
        assert_eq!(record::decode(&padded), None);
        let mut foreign = encoded;
        foreign[0] = 9;
        assert_eq!(record::decode(&foreign), None);
        // A count of 4 billion elements in 9 bytes allocates nothing and fails.
        let huge = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255];
        assert_eq!(record::decode(&huge), None);
    }

    #[test]
    fn every_key_of_an_inbox_shares_one_hash_tag_whatever_its_name() {
        for (name, tag) in [
            ("payments", "{payments}:"),
            ("", "{tower-webhook:inbox}:"),
            ("}a{b}", "{_a_b_}:"),
        ] {
            let keys = Keys::new(name);
            assert_eq!(keys.tag, tag);
            for key in [&keys.stream, &keys.dead, &keys.cursor, &keys.id("ab")] {
                assert!(key.starts_with(tag), "{key}");
            }
        }
    }

    #[test]
    fn durations_become_millis_redis_and_lua_accept() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::MAX), 1 << 50);
        assert_eq!(entry_of("1700000000000-0/42"), "1700000000000-0");
        assert_eq!(entry_of("odd"), "odd");
    }
}
