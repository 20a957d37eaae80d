//! [`MemoryStore`]: claims and records in this process, bounded and expiring.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use super::{Claim, ReplayStore, StoreFuture};

/// A [`ReplayStore`] in this process's memory: for a single instance, and the default.
///
/// Holds at most `capacity` deliveries. Expired ones are dropped first; when every entry is
/// live, the one closest to expiry makes room, so a flood of deliveries shortens how long
/// the oldest are remembered rather than growing without bound.
///
/// ```
/// use tower_webhook::{replay::{MemoryStore, ReplayGuardLayer}};
///
/// let guard = ReplayGuardLayer::new(MemoryStore::new(100_000));
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    /// The claim's token while in progress; `None` once done.
    claimed_by: Option<String>,
    expires: Instant,
}

impl MemoryStore {
    /// A store of at most `capacity` deliveries (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How many deliveries are held, expired ones included until they make room.
    ///
    /// ```
    /// assert_eq!(tower_webhook::replay::MemoryStore::new(10).len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no delivery is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // No code path panics while holding the lock; a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, key: &str, token: &str, ttl: Duration) -> Claim {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some(entry) = entries.get(key).filter(|entry| entry.expires > now) {
            return match entry.claimed_by {
                Some(_) => Claim::InProgress,
                None => Claim::Done,
            };
        }
        self.insert(
            &mut entries,
            key,
            Entry {
                claimed_by: Some(token.to_owned()),
                expires: now + ttl,
            },
        );
        Claim::Claimed
    }

    /// Inserts `entry`, first making room if the store is full.
    fn insert(&self, entries: &mut HashMap<String, Entry>, key: &str, entry: Entry) {
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            let now = Instant::now();
            entries.retain(|_, entry| entry.expires > now);
            if entries.len() >= self.capacity {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.expires)
                    .map(|(key, _)| key.clone());
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(key.to_owned(), entry);
    }
}

impl Default for MemoryStore {
    /// 100,000 deliveries.
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ReplayStore for MemoryStore {
    fn claim<'a>(&'a self, key: &'a str, token: &'a str, ttl: Duration) -> StoreFuture<'a, Claim> {
        let claim = self.claim_now(key, token, ttl);
        Box::pin(async move { Ok(claim) })
    }

    fn complete<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, ()> {
        let entry = Entry {
            claimed_by: None,
            expires: Instant::now() + ttl,
        };
        self.insert(&mut self.lock(), key, entry);
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, ()> {
        let mut entries = self.lock();
        if entries
            .get(key)
            .is_some_and(|entry| entry.claimed_by.as_deref() == Some(token))
        {
            entries.remove(key);
        }
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<T>(mut future: StoreFuture<'_, T>) -> T {
        let waker = std::task::Waker::noop();
        match future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(result) => result.unwrap(),
            std::task::Poll::Pending => panic!("the memory store never waits"),
        }
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn claim_complete_and_release() {
        let store = MemoryStore::new(10);
        assert_eq!(now(store.claim("a", "t1", LONG)), Claim::Claimed);
        assert_eq!(now(store.claim("a", "t2", LONG)), Claim::InProgress);
        // Only the holder releases.
        now(store.release("a", "t2"));
        assert_eq!(now(store.claim("a", "t2", LONG)), Claim::InProgress);
        now(store.release("a", "t1"));
        assert_eq!(now(store.claim("a", "t2", LONG)), Claim::Claimed);
        now(store.complete("a", LONG));
        assert_eq!(now(store.claim("a", "t3", LONG)), Claim::Done);
        now(store.release("a", "t2"));
        assert_eq!(now(store.claim("a", "t3", LONG)), Claim::Done);
    }

    #[test]
    fn expired_entries_are_free_again() {
        let store = MemoryStore::new(10);
        assert_eq!(now(store.claim("a", "t1", Duration::ZERO)), Claim::Claimed);
        assert_eq!(now(store.claim("a", "t2", LONG)), Claim::Claimed);
        now(store.complete("a", Duration::ZERO));
        assert_eq!(now(store.claim("a", "t3", LONG)), Claim::Claimed);
    }

    #[test]
    fn capacity_is_a_bound() {
        let store = MemoryStore::new(3);
        for key in ["a", "b", "c", "d", "e"] {
            assert_eq!(now(store.claim(key, "t", LONG)), Claim::Claimed);
            now(store.complete(key, LONG));
        }
        assert_eq!(store.len(), 3);
        assert_eq!(now(store.claim("e", "t", LONG)), Claim::Done);
    }
}
