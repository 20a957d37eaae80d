//! The inbox (feature `inbox`): answer the sender within its deadline, process durably.
//!
//! A verified delivery is appended to an [`InboxStore`] and only then answered 2xx; if the
//! append fails, 503, so the sender retries. Workers run your own tower service on each
//! delivery, at least once, with retries, a visibility timeout and dead letters.

#[cfg(feature = "redis")]
mod redis;
mod store;

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisInbox;
pub use self::store::{
    Appended, Claimed, DeadLetter, Delivery, InboxError, InboxFuture, InboxStats, InboxStore,
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
