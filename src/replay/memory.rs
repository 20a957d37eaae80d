//! [`MemoryStore`]: claims and records in this process, bounded and expiring.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use super::{Claim, ReplayStore, StoreFuture};

/// A [`ReplayStore`] in this process's memory: for a single instance, and the default.
///
/// Holds at most `capacity` deliveries. Expired ones are dropped first; when every entry is
/// live, the one closest to expiry makes room, so a flood of deliveries shortens how long
/// the oldest are remembered rather than growing without bound.
///
/// Every operation costs O(log n) at any fill, under one short lock: entries are indexed by
/// when they expire, so making room never scans the store (one new delivery into a full
/// store of a million: about a microsecond).
///
/// ```
/// use tower_webhook::{replay::{MemoryStore, ReplayGuardLayer}};
///
/// let guard = ReplayGuardLayer::new(MemoryStore::new(100_000));
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// The deliveries, and the same keys ordered by expiry (ties by insertion order).
#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<Arc<str>, Entry>,
    by_expiry: BTreeMap<(Instant, u64), Arc<str>>,
    next: u64,
}

#[derive(Debug)]
struct Entry {
    /// The claim's token while in progress; `None` once done.
    claimed_by: Option<String>,
    expires: Instant,
    /// This entry's place in `by_expiry`, with `expires`.
    order: u64,
}

impl Entries {
    /// Sets `key` to `claimed_by` until `expires`, first making room for a new key if the
    /// store holds `capacity`: expired entries go, then the one closest to expiry.
    fn set(&mut self, capacity: usize, key: &str, claimed_by: Option<String>, expires: Instant) {
        if self.by_key.contains_key(key) {
            self.update(key, claimed_by, expires);
        } else {
            self.insert(capacity, key, claimed_by, expires);
        }
    }

    /// Moves an existing `key` to its new state and place in the expiry order.
    fn update(&mut self, key: &str, claimed_by: Option<String>, expires: Instant) {
        let order = self.next;
        self.next += 1;
        let Some(entry) = self.by_key.get_mut(key) else {
            return;
        };
        let key = self.by_expiry.remove(&(entry.expires, entry.order));
        entry.claimed_by = claimed_by;
        entry.expires = expires;
        entry.order = order;
        if let Some(key) = key {
            self.by_expiry.insert((expires, order), key);
        }
    }

    /// Adds a `key` that is not held, making room first.
    fn insert(&mut self, capacity: usize, key: &str, claimed_by: Option<String>, expires: Instant) {
        let order = self.next;
        self.next += 1;
        // The soonest to expire goes first: expired entries, then the live one closest to
        // its end.
        while self.by_key.len() >= capacity && !self.by_expiry.is_empty() {
            self.pop_soonest();
        }
        let key: Arc<str> = Arc::from(key);
        self.by_expiry.insert((expires, order), Arc::clone(&key));
        self.by_key.insert(
            key,
            Entry {
                claimed_by,
                expires,
                order,
            },
        );
    }

    fn pop_soonest(&mut self) {
        if let Some((_, key)) = self.by_expiry.pop_first() {
            self.by_key.remove(&key);
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.by_key.remove(key) {
            self.by_expiry.remove(&(entry.expires, entry.order));
        }
    }
}

impl MemoryStore {
    /// A store of at most `capacity` deliveries (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new(Entries::default()),
        }
    }

    /// How many deliveries are held, expired ones included until they make room.
    ///
    /// ```
    /// assert_eq!(tower_webhook::replay::MemoryStore::new(10).len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    /// Whether no delivery is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // No code path panics while holding the lock; poisoned entries are still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, key: &str, token: &str, ttl: Duration) -> Claim {
        let now = Instant::now();
        let mut entries = self.lock();
        // One lookup decides: live (answered), expired (taken over) or absent (added).
        let expired = match entries.by_key.get(key) {
            Some(entry) if entry.expires > now => {
                return match entry.claimed_by {
                    Some(_) => Claim::InProgress,
                    None => Claim::Done,
                };
            }
            Some(_) => true,
            None => false,
        };
        let claimed_by = Some(token.to_owned());
        if expired {
            entries.update(key, claimed_by, after(now, ttl));
        } else {
            entries.insert(self.capacity, key, claimed_by, after(now, ttl));
        }
        Claim::Claimed
    }
}

/// `now + ttl`, or a century from now for a `ttl` past what an `Instant` can hold, so no TTL
/// panics and none expires early.
fn after(now: Instant, ttl: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    now.checked_add(ttl)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
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
        let expires = after(Instant::now(), ttl);
        self.lock().set(self.capacity, key, None, expires);
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, key: &'a str, token: &'a str) -> StoreFuture<'a, ()> {
        let mut entries = self.lock();
        if entries
            .by_key
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
    fn a_ttl_of_duration_max_is_remembered_without_panicking() {
        let store = MemoryStore::new(10);
        assert_eq!(now(store.claim("a", "t", Duration::MAX)), Claim::Claimed);
        assert_eq!(now(store.claim("a", "u", LONG)), Claim::InProgress);
        now(store.complete("a", Duration::MAX));
        assert_eq!(now(store.claim("a", "u", LONG)), Claim::Done);
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
        // The oldest made room: "a" and "b" are free again.
        assert_eq!(now(store.claim("a", "t", LONG)), Claim::Claimed);
    }

    #[test]
    fn a_full_store_drops_expired_entries_before_live_ones() {
        let store = MemoryStore::new(3);
        now(store.complete("short", Duration::ZERO));
        now(store.complete("live-1", LONG));
        now(store.complete("live-2", LONG));
        now(store.complete("new", LONG));
        assert_eq!(store.len(), 3);
        for key in ["live-1", "live-2", "new"] {
            assert_eq!(now(store.claim(key, "t", LONG)), Claim::Done, "{key}");
        }
    }

    #[test]
    fn the_index_follows_every_change() {
        let store = MemoryStore::new(2);
        // A claim completed with a longer life moves back in the expiry order.
        assert_eq!(
            now(store.claim("a", "t", Duration::from_secs(1))),
            Claim::Claimed
        );
        now(store.complete("a", Duration::from_secs(3600)));
        now(store.complete("b", Duration::from_secs(10)));
        now(store.complete("c", Duration::from_secs(10)));
        // "b" expired soonest, so it made room for "c"; "a" is still remembered.
        assert_eq!(now(store.claim("a", "t", LONG)), Claim::Done);
        assert_eq!(now(store.claim("b", "t", LONG)), Claim::Claimed);
        // A released claim leaves both the map and the index.
        now(store.release("b", "t"));
        let entries = store.lock();
        assert_eq!(entries.by_key.len(), entries.by_expiry.len());
    }
}
