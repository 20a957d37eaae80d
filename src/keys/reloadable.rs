//! [`ReloadableKeys`]: keys held in memory and replaced at run time, by a secret-manager
//! refresher or an admin endpoint, without a restart.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, PoisonError, RwLock,
    },
};

use super::{
    name::KeyName,
    resolver::KeyResolver,
    source::{FoundKeys, KeySource, LookupFuture},
    IntoKeys, KeysFrom,
};

/// The name [`ReloadableKeys::set`] keeps its keys under, and that a scheme given the
/// `ReloadableKeys` itself looks up.
const SINGLE: &str = "default";

/// Keys held in memory and replaced while the server runs: a handle you clone, keep, and
/// call from a secret-manager refresher or an admin endpoint.
///
/// - A scheme given it directly verifies with the keys of [`set`](Self::set): one sender,
///   one secret, rotated live. Until the first `set`, every request is refused (`401`), so a
///   server can start before its secret exists (a GitHub App created from a manifest).
/// - Behind a [`KeyResolver`] with a [`KeyName`], it holds one entry per tenant
///   ([`insert`](Self::insert), [`remove`](Self::remove)).
///
/// A change is seen by the next request on every instance of the layer that shares the
/// handle, without waiting for a cache TTL; a request already being verified keeps the keys
/// it started with. To rotate without refusing anything in flight, set the new key with the
/// old one still accepted, then drop the old one later.
///
/// ```
/// use tower_webhook::{keys::{FoundKeys, ReloadableKeys}, presets, WebhookSignatureLayer};
///
/// let keys = ReloadableKeys::new();
/// let layer = WebhookSignatureLayer::new(presets::github(keys.clone()));
///
/// // Later, from your refresher: the new secret, and the old one during the overlap.
/// keys.set(FoundKeys::new("new secret").and("old secret"));
/// ```
#[derive(Clone, Default)]
pub struct ReloadableKeys {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    keys: RwLock<HashMap<String, FoundKeys>>,
    version: AtomicU64,
}

impl ReloadableKeys {
    /// A handle holding no keys yet.
    ///
    /// ```
    /// use tower_webhook::keys::ReloadableKeys;
    ///
    /// let keys = ReloadableKeys::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the keys a scheme given this handle directly verifies with.
    ///
    /// ```
    /// use tower_webhook::keys::{FoundKeys, ReloadableKeys};
    ///
    /// let keys = ReloadableKeys::new();
    /// keys.set(FoundKeys::new("secret"));
    /// ```
    pub fn set(&self, keys: FoundKeys) {
        self.insert(SINGLE, keys);
    }

    /// Replaces the keys of `name` (a tenant), for a [`KeyResolver`] over this handle.
    ///
    /// ```
    /// use tower_webhook::keys::{FoundKeys, ReloadableKeys};
    ///
    /// let keys = ReloadableKeys::new();
    /// keys.insert("acme", FoundKeys::new("acme's secret"));
    /// ```
    pub fn insert(&self, name: impl Into<String>, keys: FoundKeys) {
        self.change(|map| {
            map.insert(name.into(), keys);
        });
    }

    /// Forgets the keys of `name`: its requests are refused from now on.
    ///
    /// ```
    /// use tower_webhook::keys::{FoundKeys, ReloadableKeys};
    ///
    /// let keys = ReloadableKeys::new();
    /// keys.insert("acme", FoundKeys::new("secret"));
    /// keys.remove("acme");
    /// ```
    pub fn remove(&self, name: &str) {
        self.change(|map| {
            map.remove(name);
        });
    }

    /// Inserts `keys` under `name` unless it already has keys, in one step: of two
    /// concurrent captures for one name, one wins. Whether they were inserted.
    #[cfg(feature = "json")]
    pub(crate) fn insert_new(&self, name: &str, keys: FoundKeys) -> bool {
        let mut inserted = false;
        self.change(|map| {
            if !map.contains_key(name) {
                map.insert(name.to_owned(), keys);
                inserted = true;
            }
        });
        inserted
    }

    fn change(&self, edit: impl FnOnce(&mut HashMap<String, FoundKeys>)) {
        let mut map = self
            .shared
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        edit(&mut map);
        // Bumped under the lock, after the edit: a lookup that saw the old map also saw the
        // old version, so what it cached is stale as soon as it lands.
        self.shared.version.fetch_add(1, Ordering::AcqRel);
    }
}

impl KeySource for ReloadableKeys {
    fn lookup<'a>(&'a self, name: &'a str) -> LookupFuture<'a> {
        let found = self
            .shared
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn version(&self) -> u64 {
        self.shared.version.load(Ordering::Acquire)
    }
}

impl IntoKeys for ReloadableKeys {
    /// The keys of [`set`](ReloadableKeys::set), for every request.
    fn into_keys(self) -> KeysFrom {
        KeysFrom::Resolved(KeyResolver::new(KeyName::fixed(SINGLE), self))
    }
}

impl std::fmt::Debug for ReloadableKeys {
    /// How many names hold keys, never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self
            .shared
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("ReloadableKeys")
            .field("names", &names)
            .field("version", &self.version())
            .finish()
    }
}
