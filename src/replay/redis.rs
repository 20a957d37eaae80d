//! [`RedisStore`]: claims and records in Redis, shared by every instance.

use std::{fmt, time::Duration};

use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
    Cmd, Pipeline, RedisFuture, RedisResult, Script, Value,
};

use super::{Claim, ReplayStore, StoreError, StoreFuture};

/// Claims the key unless it exists; returns its value if it does. One step, so two instances
/// cannot both claim.
const CLAIM: &str = r"
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
";

/// Deletes the key only if this claim still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

const DONE: &str = "done";

/// A [`ReplayStore`] in Redis (feature `redis`): every instance with the same Redis and key
/// prefix shares what was claimed and processed.
///
/// Only atomic operations: a claim is one Lua script (read, and set with a TTL if absent), a
/// release is another (delete if still ours), completion one `SET … PX`. The connection is
/// redis-rs's `ConnectionManager`, which reconnects by itself after Redis restarts; while
/// Redis is down, each operation fails within its timeout and the guard answers `503` (or
/// processes unguarded with [`fail_open`](crate::replay::ReplayGuardLayer::fail_open)).
///
/// ```no_run
/// use tower_webhook::{replay::{RedisStore, ReplayGuardLayer}};
///
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let guard = ReplayGuardLayer::new(store.prefix("payments:webhooks:"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    prefix: String,
    claim: Script,
    release: Script,
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`), with one-second connection and
    /// response timeouts so an unreachable Redis fails requests quickly.
    ///
    /// # Errors
    ///
    /// If the URL is invalid or Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::over(
            Connection::single(url).await.map_err(StoreError::new)?,
        ))
    }

    /// A store over a connection you configured.
    #[must_use]
    pub fn new(connection: ConnectionManager) -> Self {
        Self::over(Connection::Single(connection))
    }

    /// A store in a Redis Cluster, reached through any of `nodes` (`redis://host:port/`), with
    /// the same 1 s timeouts and retries as [`connect`](Self::connect). Every operation
    /// touches one key, so each runs in that key's slot, on the master that owns it; the
    /// cluster client follows `MOVED` and `ASK` redirections and reloads the slot map when
    /// masters change.
    ///
    /// During a master failover the slots of the failed master are unavailable until a
    /// replica is promoted (seconds, by `cluster-node-timeout`): claims there fail, and the
    /// guard answers `503` (or processes unguarded with
    /// [`fail_open`](super::ReplayGuardLayer::fail_open)). Records the failed master had not
    /// yet replicated are lost, as with any Redis replication.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if no node can be reached or the cluster's slots cannot be loaded.
    ///
    /// ```no_run
    /// use tower_webhook::replay::{RedisStore, ReplayGuardLayer};
    ///
    /// # async fn run() -> Result<(), tower_webhook::replay::StoreError> {
    /// let store = RedisStore::connect_cluster([
    ///     "redis://10.0.0.1:6379/",
    ///     "redis://10.0.0.2:6379/",
    ///     "redis://10.0.0.3:6379/",
    /// ])
    /// .await?;
    /// let guard = ReplayGuardLayer::new(store);
    /// # Ok(()) }
    /// ```
    pub async fn connect_cluster<N: AsRef<str>>(
        nodes: impl IntoIterator<Item = N>,
    ) -> Result<Self, StoreError> {
        Ok(Self::over(
            Connection::cluster(nodes).await.map_err(StoreError::new)?,
        ))
    }

    fn over(connection: Connection) -> Self {
        Self {
            connection,
            prefix: "tower-webhook:delivery:".to_owned(),
            claim: Script::new(CLAIM),
            release: Script::new(RELEASE),
        }
    }

    /// The prefix of every key (default `tower-webhook:delivery:`), to keep applications that
    /// share a Redis apart.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// One Redis server, or a cluster: the same commands and scripts on either (the inbox's
/// Redis store shares it).
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Connects to the Redis at `url`, with one-second connection and response timeouts so
    /// an unreachable Redis fails requests quickly, and a manager that reconnects by itself.
    pub(crate) async fn single(url: &str) -> RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(2)
            .set_max_delay(200);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self::Single(connection))
    }

    /// Connects to a Redis Cluster through any of `nodes`, with the same timeouts.
    pub(crate) async fn cluster<N: AsRef<str>>(
        nodes: impl IntoIterator<Item = N>,
    ) -> RedisResult<Self> {
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        let client = ClusterClient::builder(nodes)
            .connection_timeout(Duration::from_secs(1))
            .response_timeout(Duration::from_secs(1))
            .retries(2)
            .build()?;
        Ok(Self::Cluster(client.get_async_connection().await?))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

/// `ttl` in whole milliseconds, within what Redis accepts for `PX`: at least 1 (0 is an
/// error) and at most 2^62 (Redis refuses an expiry past `i64::MAX` ms after now).
fn millis(ttl: Duration) -> u64 {
    const LONGEST: u64 = 1 << 62;
    u64::try_from(ttl.as_millis()).map_or(LONGEST, |ms| ms.clamp(1, LONGEST))
}

impl ReplayStore for RedisStore {
    fn claim<'a>(&'a self, key: &'a str, token: &'a str, ttl: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let held: Option<String> = self
                .claim
                .key(self.key(key))
                .arg(format!("claimed:{token}"))
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(StoreError::new)?;
            Ok(match held.as_deref() {
                None => Claim::Claimed,
                Some(DONE) => Claim::Done,
                Some(_) => Claim::InProgress,
            })
        })
    }

    fn complete<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            redis::cmd("SET")
                .arg(self.key(key))
                .arg(DONE)
                .arg("PX")
                .arg(millis(ttl))
                .query_async::<()>(&mut connection)
                .await
                .map_err(StoreError::new)
        })
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            self.release
                .key(self.key(key))
                .arg(format!("claimed:{token}"))
                .invoke_async::<i64>(&mut connection)
                .await
                .map(drop)
                .map_err(StoreError::new)
        })
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ttl_is_a_px_redis_accepts() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(60)), 60_000);
        assert_eq!(millis(Duration::MAX), 1 << 62);
        assert!(i64::try_from(millis(Duration::MAX)).is_ok());
    }
}
