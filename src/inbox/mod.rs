//! The inbox (feature `inbox`): answer the sender within its deadline, process durably.
//!
//! Senders wait a few seconds for the response ([`Preset::deadline`](crate::presets::Preset::deadline):
//! Slack 3 s, Shopify 5 s, GitHub 10 s, …) and retry, throttle or disable the endpoint when a
//! handler is slower. [`InboxLayer`], inside the signature layer, appends each verified
//! delivery to an [`InboxStore`] and only then answers 2xx (202 unless set); if the append
//! fails or is slow, 503 with `Retry-After`, so the sender retries. A [`Worker`] runs your own
//! tower service (the handler you would have put behind the layer) on each delivery, with the
//! body, the kept headers, [`Verified`](crate::Verified), the [`Attempt`] number and an
//! [`IdempotencyKey`]: a concurrency limit, retries with exponential backoff and full jitter, a
//! visibility timeout after which another worker takes a delivery whose worker died, dead
//! letters after the last attempt ([`InboxStore::dead_letters`], [`InboxStore::requeue`]),
//! and a graceful shutdown.
//!
//! Processing is **at least once**: record the [`IdempotencyKey`] in the same transaction as
//! the effect to make it exactly once. Duplicates are stopped at the door: a delivery whose
//! ids ([`Verified::delivery_ids`](crate::Verified::delivery_ids)) the store has seen is
//! answered 2xx and not stored again, so no replay guard is needed in front.
//!
//! Stores: [`SqliteInbox`] (feature `sqlite`), a file, durable across a crash, for one
//! machine; [`RedisInbox`] (features `inbox` and `redis`), on Redis Streams, for many receivers and
//! workers; or your own [`InboxStore`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{routing::post, Extension, Router};
//! use http::StatusCode;
//! use tower_webhook::{
//!     inbox::{Attempt, IdempotencyKey, InboxLayer, SqliteInbox, Worker},
//!     presets, WebhookSignatureLayer,
//! };
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let store = Arc::new(SqliteInbox::open("webhooks.sqlite3")?);
//!     let secret = std::env::var("STRIPE_WEBHOOK_SECRET")?;
//!
//!     // Receiving: verified, stored, answered 202. The route's own handler is not called.
//!     let receiver = Router::new()
//!         .route("/webhooks/stripe", post(|| async {}))
//!         .route_layer(InboxLayer::for_preset(store.clone(), presets::find("stripe").unwrap())?)
//!         .route_layer(WebhookSignatureLayer::new(presets::stripe(secret)));
//!
//!     // Processing: the same route, with the handler you would have written.
//!     let handlers = Router::new().route(
//!         "/webhooks/stripe",
//!         post(|Extension(key): Extension<IdempotencyKey>,
//!               Extension(Attempt(attempt)): Extension<Attempt>,
//!               body: String| async move {
//!             // Apply the event and record `key` in one transaction; 2xx completes it,
//!             // anything else is retried.
//!             StatusCode::NO_CONTENT
//!         }),
//!     );
//!     let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//!     let worker = tokio::spawn(Worker::new(store, handlers).run(async {
//!         stopped.await.ok();
//!     }));
//!
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//!     axum::serve(listener, receiver).await?;
//!     stop.send(()).ok();
//!     worker.await?;
//!     Ok(())
//! }
//! ```
//!
//! Senders whose reply *is* the response (Discord interactions, Slack slash commands and
//! interactivity, Microsoft Teams outgoing webhooks: [`Preset::replies_inline`](crate::presets::Preset::replies_inline))
//! cannot be answered by an inbox; [`InboxLayer::for_preset`] refuses them. The
//! [guide page](crate::guide::inbox) has the details: durability, sizing the visibility
//! timeout, dead letters, metrics and every bound.

mod layer;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisInbox;
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

    /// A store that keeps what is appended, in memory, and fails everything else; or, made
    /// with [`failing`](Self::failing), whose every call fails.
    #[derive(Default)]
    pub(crate) struct Recording {
        pub(crate) appended: std::sync::Mutex<Vec<Delivery>>,
        down: bool,
    }

    impl Recording {
        /// A store whose every call fails.
        pub(crate) fn failing() -> Self {
            Self {
                appended: std::sync::Mutex::default(),
                down: true,
            }
        }
    }

    impl InboxStore for Recording {
        fn append<'a>(&'a self, delivery: &'a Delivery) -> InboxFuture<'a, Appended> {
            if self.down {
                return failed();
            }
            self.appended.lock().unwrap().push(delivery.clone());
            Box::pin(std::future::ready(Ok(Appended::New)))
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

    fn failed<'a, T: Send + 'a>() -> InboxFuture<'a, T> {
        Box::pin(std::future::ready(Err(InboxError::new("down"))))
    }
}
