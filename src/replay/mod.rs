//! The replay guard: [`ReplayGuardLayer`] processes each verified delivery once, across every
//! instance that shares a [`ReplayStore`]: [`MemoryStore`] for one process, `RedisStore`
//! (feature `redis`) for several. The guide's [`replays`](crate::guide::replays) page says
//! what names a delivery for each sender, what the guard cannot know, and what it costs.
//!
//! ```
//! use tower::ServiceBuilder;
//! use tower_webhook::{presets, replay::{MemoryStore, ReplayGuardLayer}, WebhookSignatureLayer};
//!
//! # let handler = tower::service_fn(|_: http::Request<tower_webhook::body::BufferedBody>| async {
//! #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//! # });
//! let service = ServiceBuilder::new()
//!     .layer(WebhookSignatureLayer::new(presets::stripe("whsec_…")))
//!     .layer(ReplayGuardLayer::new(MemoryStore::new(100_000)))
//!     .service(handler);
//! ```

mod layer;
mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod service;
mod store;

use std::time::Duration;

use http::HeaderName;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisStore;
pub use self::{
    layer::ReplayGuardLayer,
    memory::MemoryStore,
    service::{ReplayFuture, ReplayGuard},
    store::{Claim, ReplayStore, StoreError, StoreFuture},
};

/// The header on the `200` answered for a delivery already processed: `webhook-duplicate: true`.
pub const DUPLICATE_HEADER: HeaderName = HeaderName::from_static("webhook-duplicate");

/// The default time a claim lasts while the inner service works: 60 seconds.
pub const DEFAULT_IN_PROGRESS_TTL: Duration = Duration::from_secs(60);

/// The default time a processed delivery is remembered: 10 minutes, twice the default
/// timestamp tolerance, so a replay is refused for as long as its timestamp is accepted.
pub const DEFAULT_DONE_TTL: Duration = Duration::from_secs(10 * 60);

/// The default time one store call may take before the guard treats the store as
/// unreachable: 2 seconds, well inside the 10 to 30 seconds senders wait for an answer.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);
