//! [`SqliteInbox`]: the inbox in a SQLite file (feature `sqlite`), durable across a crash of
//! the process or the machine, for one machine's receivers and workers.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    now_ms, random_id, Appended, Claimed, DeadLetter, Delivery, InboxError, InboxFuture,
    InboxStats, InboxStore,
};

const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const RETENTION_RANGE: (Duration, Duration) = (
    Duration::from_secs(60),
    Duration::from_secs(365 * 24 * 3600),
);
/// How long a call waits for another connection's write lock (another process on the same
/// file) before it fails, and the receiver answers 503.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often finished deliveries past their retention are deleted.
const PRUNE_EVERY_MS: u64 = 60_000;
/// The most rows one `claim` or `dead_letters` call reads.
const MAX_BATCH: usize = 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inbox_deliveries (
    id TEXT PRIMARY KEY,
    scheme TEXT NOT NULL,
    key_id TEXT,
    delivery_ids TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    method TEXT NOT NULL,
    uri TEXT NOT NULL,
    headers BLOB NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at_ms INTEGER NOT NULL,
    lease TEXT,
    last_error TEXT,
    finished_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS inbox_deliveries_due ON inbox_deliveries (state, visible_at_ms);
CREATE INDEX IF NOT EXISTS inbox_deliveries_finished ON inbox_deliveries (state, finished_at_ms);
CREATE TABLE IF NOT EXISTS inbox_ids (
    id TEXT PRIMARY KEY,
    delivery TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_ids_seen ON inbox_ids (seen_at_ms);
";

/// An [`InboxStore`] in a SQLite file: WAL mode, `synchronous = FULL`, so an append that
/// returned (and the 2xx the sender got for it) survives a crash of the process **and** a
/// power loss. (`NORMAL` would survive the process dying but could lose the last
/// transactions on a power loss or OS crash: deliveries already answered 2xx.)
///
/// One table holds the deliveries (state pending, claimed, done or dead; attempts; when
/// visible; the claim's lease; the last error; body and kept headers), another every id of
/// each delivery, so a copy under any of them is a duplicate. A completed delivery's body
/// is dropped at once; its row and its ids are deleted after the
/// [retention](Self::retention) (7 days unless set), so a sender's retry within it is still
/// a duplicate. Dead letters stay until re-queued.
///
/// Several processes may open the same file (receivers and workers apart): SQLite's locks
/// order their writes, each call waiting up to 5 seconds for the lock. Within a process,
/// one connection behind a mutex: SQLite runs one writer at a time anyway, and every call
/// here but [`stats`](InboxStore::stats) writes. Calls run on tokio's blocking pool.
///
/// ```
/// use std::sync::Arc;
/// use tower_webhook::inbox::{InboxStore, SqliteInbox};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower_webhook::inbox::InboxError> {
/// # let path = std::env::temp_dir().join(format!("inbox-doc-sqlite-{}.sqlite3", std::process::id()));
/// let store = Arc::new(SqliteInbox::open(&path)?);
/// let stats = store.stats().await?;
/// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
/// # Ok(()) }
/// ```
pub struct SqliteInbox {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
    retention_ms: u64,
    last_prune_ms: Arc<AtomicU64>,
}

impl SqliteInbox {
    /// Opens (or creates) the inbox in the file at `path`.
    ///
    /// # Errors
    ///
    /// [`InboxError`] if the file cannot be opened or created, or is not a SQLite database.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        let path = path.as_ref().to_owned();
        let connection = Connection::open(&path).map_err(InboxError::new)?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(InboxError::new)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(InboxError::new)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(InboxError::new)?;
        connection.execute_batch(SCHEMA).map_err(InboxError::new)?;
        Ok(Self {
            path,
            connection: Arc::new(Mutex::new(connection)),
            retention_ms: millis(DEFAULT_RETENTION),
            last_prune_ms: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How long a completed delivery's ids are kept, so a copy the sender sends within it is
    /// a duplicate: 7 days unless set, clamped to 1 minute..=365 days. Longer than the
    /// longest a sender retries (Stripe: 3 days; Shopify: 4 hours; GitHub: none).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::inbox::SqliteInbox;
    ///
    /// # let path = std::env::temp_dir().join(format!("inbox-doc-retention-{}.sqlite3", std::process::id()));
    /// let store = SqliteInbox::open(&path)?.retention(Duration::from_secs(3 * 24 * 3600));
    /// # for end in ["", "-wal", "-shm"] { std::fs::remove_file(format!("{}{end}", path.display())).ok(); }
    /// # Ok::<(), tower_webhook::inbox::InboxError>(())
    /// ```
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention_ms = millis(retention.clamp(RETENTION_RANGE.0, RETENTION_RANGE.1));
        self
    }

    /// Runs `work` on the connection, on tokio's blocking pool.
    fn with<'a, T, F>(&'a self, work: F) -> InboxFuture<'a, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut connection = connection
                    .lock()
                    .map_err(|_| InboxError::new("the SQLite connection's lock is poisoned"))?;
                work(&mut connection).map_err(InboxError::new)
            })
            .await
            .map_err(InboxError::new)?
        })
    }
}

impl fmt::Debug for SqliteInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteInbox")
            .field("path", &self.path)
            .field("retention_ms", &self.retention_ms)
            .finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `ms` as SQLite's integer (which is signed), saturating.
fn sql_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn later(delay: Duration) -> i64 {
    sql_ms(now_ms().saturating_add(millis(delay)))
}

/// Headers as `u32` length-prefixed names and values, one after another.
fn encode_headers(headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        for part in [name.as_bytes(), value.as_slice()] {
            let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend(part.iter().take(len as usize));
        }
    }
    out
}

/// What [`encode_headers`] wrote; a damaged tail is dropped.
fn decode_headers(mut bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    fn part<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let (part, rest) = rest.split_at_checked(len)?;
        *bytes = rest;
        Some(part)
    }
    let mut headers = Vec::new();
    while let (Some(name), Some(value)) = (part(&mut bytes), part(&mut bytes)) {
        headers.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }
    headers
}

const COLUMNS: &str =
    "id, scheme, key_id, delivery_ids, received_at_ms, method, uri, headers, body, attempts, last_error, finished_at_ms";

/// A delivery (and its attempts, last error, finish time) from a row of [`COLUMNS`].
fn delivery_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Delivery, u32, String, u64)> {
    let ids: String = row.get(3)?;
    let received: i64 = row.get(4)?;
    let headers: Vec<u8> = row.get(7)?;
    let body: Vec<u8> = row.get(8)?;
    let attempts: i64 = row.get(9)?;
    let finished: Option<i64> = row.get(11)?;
    Ok((
        Delivery {
            id: row.get(0)?,
            scheme: row.get(1)?,
            key_id: row.get(2)?,
            delivery_ids: ids
                .split(',')
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect(),
            received_at_ms: u64::try_from(received).unwrap_or(0),
            method: row.get(5)?,
            uri: row.get(6)?,
            headers: decode_headers(&headers),
            body: Bytes::from(body),
        },
        u32::try_from(attempts).unwrap_or(u32::MAX),
        row.get::<_, Option<String>>(10)?.unwrap_or_default(),
        finished.and_then(|ms| u64::try_from(ms).ok()).unwrap_or(0),
    ))
}

impl InboxStore for SqliteInbox {
    fn append<'a>(&'a self, delivery: &'a Delivery) -> InboxFuture<'a, Appended> {
        let delivery = delivery.clone();
        self.with(move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = sql_ms(now_ms());
            let mut ids: Vec<&str> = vec![delivery.id.as_str()];
            ids.extend(
                delivery
                    .delivery_ids
                    .iter()
                    .map(String::as_str)
                    .filter(|id| *id != delivery.id),
            );
            {
                let mut seen = tx.prepare_cached("SELECT 1 FROM inbox_ids WHERE id = ?1")?;
                for id in &ids {
                    if seen.exists([id])? {
                        return Ok(Appended::Duplicate);
                    }
                }
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO inbox_ids (id, delivery, seen_at_ms) VALUES (?1, ?2, ?3)",
                )?;
                for id in &ids {
                    insert.execute(params![id, delivery.id, now])?;
                }
            }
            tx.execute(
                "INSERT INTO inbox_deliveries (id, scheme, key_id, delivery_ids, received_at_ms, \
                 method, uri, headers, body, state, attempts, visible_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, ?10)",
                params![
                    delivery.id,
                    delivery.scheme,
                    delivery.key_id,
                    delivery.delivery_ids.join(","),
                    sql_ms(delivery.received_at_ms),
                    delivery.method,
                    delivery.uri,
                    encode_headers(&delivery.headers),
                    delivery.body.as_ref(),
                    now,
                ],
            )?;
            tx.commit()?;
            Ok(Appended::New)
        })
    }

    fn claim<'a>(
        &'a self,
        consumer: &'a str,
        max: usize,
        visibility: Duration,
    ) -> InboxFuture<'a, Vec<Claimed>> {
        let max = i64::try_from(max.min(MAX_BATCH)).unwrap_or(1);
        let until = later(visibility);
        let lease_prefix = format!("{consumer}:{}", random_id());
        let retention_ms = self.retention_ms;
        let last_prune = Arc::clone(&self.last_prune_ms);
        self.with(move |connection| {
            let now = now_ms();
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if now.saturating_sub(last_prune.load(Ordering::Relaxed)) >= PRUNE_EVERY_MS {
                last_prune.store(now, Ordering::Relaxed);
                let before = sql_ms(now.saturating_sub(retention_ms));
                tx.execute(
                    "DELETE FROM inbox_deliveries WHERE state = 'done' AND finished_at_ms < ?1",
                    [before],
                )?;
                tx.execute(
                    "DELETE FROM inbox_ids WHERE seen_at_ms < ?1 AND NOT EXISTS \
                     (SELECT 1 FROM inbox_deliveries d WHERE d.id = inbox_ids.delivery)",
                    [before],
                )?;
            }
            // Pending ones that are due and claimed ones whose worker let the lease lapse,
            // oldest due first.
            let rows: Vec<(Delivery, u32, String, u64)> = {
                let mut due = tx.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM inbox_deliveries \
                     WHERE state IN ('pending', 'claimed') AND visible_at_ms <= ?1 \
                     ORDER BY visible_at_ms, received_at_ms LIMIT ?2"
                ))?;
                due.query_map(params![sql_ms(now), max], delivery_of)?
                    .collect::<rusqlite::Result<_>>()?
            };
            let mut claimed = Vec::with_capacity(rows.len());
            {
                let mut take = tx.prepare_cached(
                    "UPDATE inbox_deliveries SET state = 'claimed', attempts = attempts + 1, \
                     lease = ?2, visible_at_ms = ?3 WHERE id = ?1",
                )?;
                for (n, (delivery, attempts, _, _)) in rows.into_iter().enumerate() {
                    let lease = format!("{lease_prefix}:{n}");
                    take.execute(params![delivery.id, lease, until])?;
                    claimed.push(Claimed::new(delivery, attempts.saturating_add(1), lease));
                }
            }
            tx.commit()?;
            Ok(claimed)
        })
    }

    fn complete<'a>(&'a self, claimed: &'a Claimed) -> InboxFuture<'a, ()> {
        let (id, lease) = (claimed.delivery.id.clone(), claimed.token.clone());
        self.with(move |connection| {
            connection.execute(
                "UPDATE inbox_deliveries SET state = 'done', finished_at_ms = ?3, lease = NULL, \
                 body = x'', headers = x'', last_error = NULL \
                 WHERE id = ?1 AND lease = ?2 AND state = 'claimed'",
                params![id, lease, sql_ms(now_ms())],
            )?;
            Ok(())
        })
    }

    fn retry<'a>(
        &'a self,
        claimed: &'a Claimed,
        delay: Duration,
        error: &'a str,
    ) -> InboxFuture<'a, ()> {
        let (id, lease, error) = (
            claimed.delivery.id.clone(),
            claimed.token.clone(),
            error.to_owned(),
        );
        let visible = later(delay);
        self.with(move |connection| {
            connection.execute(
                "UPDATE inbox_deliveries SET state = 'pending', visible_at_ms = ?3, lease = NULL, \
                 last_error = ?4 WHERE id = ?1 AND lease = ?2 AND state = 'claimed'",
                params![id, lease, visible, error],
            )?;
            Ok(())
        })
    }

    fn dead_letter<'a>(&'a self, claimed: &'a Claimed, error: &'a str) -> InboxFuture<'a, ()> {
        let (id, lease, error) = (
            claimed.delivery.id.clone(),
            claimed.token.clone(),
            error.to_owned(),
        );
        self.with(move |connection| {
            connection.execute(
                "UPDATE inbox_deliveries SET state = 'dead', finished_at_ms = ?3, lease = NULL, \
                 last_error = ?4 WHERE id = ?1 AND lease = ?2 AND state = 'claimed'",
                params![id, lease, sql_ms(now_ms()), error],
            )?;
            Ok(())
        })
    }

    fn release<'a>(&'a self, claimed: &'a Claimed) -> InboxFuture<'a, ()> {
        let (id, lease) = (claimed.delivery.id.clone(), claimed.token.clone());
        self.with(move |connection| {
            connection.execute(
                "UPDATE inbox_deliveries SET state = 'pending', visible_at_ms = ?3, lease = NULL, \
                 attempts = MAX(attempts - 1, 0) WHERE id = ?1 AND lease = ?2 AND state = 'claimed'",
                params![id, lease, sql_ms(now_ms())],
            )?;
            Ok(())
        })
    }

    fn dead_letters<'a>(&'a self, limit: usize) -> InboxFuture<'a, Vec<DeadLetter>> {
        let limit = i64::try_from(limit.min(MAX_BATCH)).unwrap_or(1);
        self.with(move |connection| {
            let mut dead = connection.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM inbox_deliveries WHERE state = 'dead' \
                 ORDER BY finished_at_ms, id LIMIT ?1"
            ))?;
            let letters = dead
                .query_map([limit], delivery_of)?
                .map(|row| {
                    row.map(|(delivery, attempts, error, at)| {
                        DeadLetter::new(delivery, attempts, error, at)
                    })
                })
                .collect::<rusqlite::Result<_>>()?;
            Ok(letters)
        })
    }

    fn requeue<'a>(&'a self, id: &'a str) -> InboxFuture<'a, bool> {
        let id = id.to_owned();
        self.with(move |connection| {
            let moved = connection.execute(
                "UPDATE inbox_deliveries SET state = 'pending', attempts = 0, visible_at_ms = ?2, \
                 finished_at_ms = NULL, lease = NULL WHERE id = ?1 AND state = 'dead'",
                params![id, sql_ms(now_ms())],
            )?;
            Ok(moved > 0)
        })
    }

    fn stats(&self) -> InboxFuture<'_, InboxStats> {
        self.with(|connection| {
            let (pending, oldest): (i64, Option<i64>) = connection.query_row(
                "SELECT COUNT(*), MIN(received_at_ms) FROM inbox_deliveries \
                 WHERE state IN ('pending', 'claimed')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let dead: i64 = connection
                .query_row(
                    "SELECT COUNT(*) FROM inbox_deliveries WHERE state = 'dead'",
                    [],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or(0);
            Ok(InboxStats {
                pending: u64::try_from(pending).unwrap_or(0),
                oldest_pending_age_ms: oldest
                    .and_then(|ms| u64::try_from(ms).ok())
                    .map_or(0, |ms| now_ms().saturating_sub(ms)),
                dead: u64::try_from(dead).unwrap_or(0),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> (SqliteInbox, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "tower-webhook-sqlite-{name}-{}-{}",
            std::process::id(),
            random_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("inbox.sqlite3");
        (SqliteInbox::open(&path).unwrap(), dir)
    }

    fn named(id: &str, ids: &[&str]) -> Delivery {
        let mut delivery = Delivery::new("stripe", Bytes::from_static(b"{\"id\":1}"));
        delivery.id = id.into();
        delivery.delivery_ids = ids.iter().map(|id| (*id).to_owned()).collect();
        delivery.headers = vec![("content-type".into(), b"application/json".to_vec())];
        delivery
    }

    #[test]
    fn headers_round_trip_and_a_damaged_tail_is_dropped() {
        let headers = vec![
            ("a".to_owned(), b"1".to_vec()),
            ("b".to_owned(), Vec::new()),
            ("c".to_owned(), vec![0xff; 300]),
        ];
        let encoded = encode_headers(&headers);
        assert_eq!(decode_headers(&encoded), headers);
        assert_eq!(decode_headers(&encoded[..encoded.len() - 1]), &headers[..2]);
        assert!(decode_headers(&[0xff, 0xff, 0xff, 0xff]).is_empty());
    }

    #[tokio::test]
    async fn the_store_contract() {
        let (store, dir) = store("contract");
        let visibility = Duration::from_secs(60);
        let a = named("a", &["a", "a2"]);
        assert_eq!(store.append(&a).await.unwrap(), Appended::New);
        // A copy under any of its ids is a duplicate.
        assert_eq!(
            store.append(&named("a2", &["a2"])).await.unwrap(),
            Appended::Duplicate
        );
        assert_eq!(
            store.append(&named("b", &["b"])).await.unwrap(),
            Appended::New
        );
        let stats = store.stats().await.unwrap();
        assert_eq!((stats.pending, stats.dead), (2, 0));

        let claimed = store.claim("w1", 10, visibility).await.unwrap();
        assert_eq!(claimed.len(), 2);
        assert_eq!(claimed[0].delivery(), &a, "kept whole");
        assert_eq!(claimed[0].attempt(), 1);
        assert!(
            store.claim("w2", 10, visibility).await.unwrap().is_empty(),
            "invisible"
        );

        store.complete(&claimed[0]).await.unwrap();
        assert_eq!(
            store.append(&named("a", &["a"])).await.unwrap(),
            Appended::Duplicate
        );
        store
            .retry(&claimed[1], Duration::ZERO, "boom")
            .await
            .unwrap();
        let again = store.claim("w2", 10, visibility).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].delivery().id(), again[0].attempt()), ("b", 2));
        // A stale lease changes nothing.
        store.complete(&claimed[1]).await.unwrap();
        store.dead_letter(&again[0], "gave up").await.unwrap();
        let dead = store.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].attempts(), dead[0].last_error()), (2, "gave up"));
        assert_eq!(dead[0].delivery().body().as_ref(), b"{\"id\":1}");
        assert_eq!(store.stats().await.unwrap().dead, 1);
        assert!(store.requeue("b").await.unwrap());
        assert!(!store.requeue("b").await.unwrap());
        let requeued = store.claim("w3", 10, visibility).await.unwrap();
        assert_eq!(requeued[0].attempt(), 1);
        store.release(&requeued[0]).await.unwrap();
        let released = store.claim("w3", 10, visibility).await.unwrap();
        assert_eq!(released[0].attempt(), 1, "a release does not count");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_lapsed_claim_is_claimable_by_another_consumer() {
        let (store, dir) = store("lapse");
        store.append(&named("a", &["a"])).await.unwrap();
        let first = store.claim("w1", 1, Duration::ZERO).await.unwrap();
        assert_eq!(first.len(), 1);
        let second = store.claim("w2", 1, Duration::from_secs(60)).await.unwrap();
        assert_eq!((second.len(), second[0].attempt()), (1, 2));
        // The first worker's late completion does not finish the second's claim.
        store.complete(&first[0]).await.unwrap();
        assert_eq!(store.stats().await.unwrap().pending, 1);
        store.complete(&second[0]).await.unwrap();
        assert_eq!(store.stats().await.unwrap().pending, 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
