//! [`ReplayStore`]: where delivery ids are claimed and remembered, and what it answers.

use std::{fmt, future::Future, pin::Pin, time::Duration};

use crate::rejection::BoxError;

/// The future a [`ReplayStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where delivery ids are claimed and remembered: [`MemoryStore`](super::MemoryStore) for one process,
/// `RedisStore` (feature `redis`) for several.
///
/// Each operation must be atomic: two concurrent claims of one key give exactly one
/// [`Claim::Claimed`].
///
/// Each call should answer promptly. With the `tokio` feature, the guard waits at most its
/// `store_timeout` (2 seconds by default) for a call, then drops the call's future and treats
/// the store as unreachable, so a call must be safe to cancel. Without that feature the guard
/// has no timer, and a store that can wait must bound its own calls.
///
/// A store called directly may be given any `ttl`, up to `Duration::MAX`: hold it to what
/// the backend accepts rather than panicking or failing (the guard itself passes at most
/// 30 days).
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
