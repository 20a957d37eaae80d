//! The inbox (feature `inbox`): answer the sender within its deadline, process durably.
//!
//! A verified delivery is appended to an [`InboxStore`] and only then answered 2xx; if the
//! append fails, 503, so the sender retries. Workers run your own tower service on each
//! delivery, at least once, with retries, a visibility timeout and dead letters.

mod layer;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use self::sqlite::SqliteInbox;
pub use self::{
    layer::{InboxLayer, InboxResponseFuture, InboxService, RepliesInline},
    store::{
        Appended, Claimed, DeadLetter, Delivery, InboxError, InboxFuture, InboxStats, InboxStore,
    },
    worker::{Attempt, IdempotencyKey, Worker},
};

/// Now, in Unix milliseconds (0 before the epoch).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// An id for a delivery its scheme does not name: unique within this process and, with the
/// time and process id in it, across processes.
pub(crate) fn random_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;

    /// A store whose every call fails.
    pub(crate) struct Failing;

    fn failed<'a, T: Send + 'a>() -> InboxFuture<'a, T> {
        Box::pin(std::future::ready(Err(InboxError::new("down"))))
    }

    impl InboxStore for Failing {
        fn append<'a>(&'a self, _: &'a Delivery) -> InboxFuture<'a, Appended> {
            failed()
        }
        fn claim<'a>(&'a self, _: &'a str, _: usize, _: Duration) -> InboxFuture<'a, Vec<Claimed>> {
            failed()
        }
        fn complete<'a>(&'a self, _: &'a Claimed) -> InboxFuture<'a, ()> {
            failed()
        }
        fn retry<'a>(&'a self, _: &'a Claimed, _: Duration, _: &'a str) -> InboxFuture<'a, ()> {
            failed()
        }
        fn dead_letter<'a>(&'a self, _: &'a Claimed, _: &'a str) -> InboxFuture<'a, ()> {
            failed()
        }
        fn release<'a>(&'a self, _: &'a Claimed) -> InboxFuture<'a, ()> {
            failed()
        }
        fn dead_letters<'a>(&'a self, _: usize) -> InboxFuture<'a, Vec<DeadLetter>> {
            failed()
        }
        fn requeue<'a>(&'a self, _: &'a str) -> InboxFuture<'a, bool> {
            failed()
        }
        fn stats(&self) -> InboxFuture<'_, InboxStats> {
            failed()
        }
    }
}
