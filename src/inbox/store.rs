//! [`InboxStore`]: where verified deliveries wait for a worker, durably, and what a worker
//! claims, finishes, retries or gives up on.

use std::{fmt, future::Future, pin::Pin, time::Duration};

use bytes::Bytes;

use crate::rejection::BoxError;

/// What an [`InboxStore`] method returns.
pub type InboxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, InboxError>> + Send + 'a>>;

/// A verified delivery as the inbox keeps it: what the worker's service is given again.
///
/// ```
/// use tower_webhook::inbox::Delivery;
///
/// let delivery = Delivery::new("stripe", bytes::Bytes::from_static(b"{}"));
/// assert_eq!(delivery.scheme(), "stripe");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The inbox's name for it: the first of `delivery_ids`, or a random one if the scheme
    /// names none. Two appends with one id are one delivery.
    pub(crate) id: String,
    pub(crate) scheme: String,
    pub(crate) key_id: Option<String>,
    /// Every name the signature layer gave it (`Verified::delivery_ids`, hex): a copy under
    /// any of them is a duplicate.
    pub(crate) delivery_ids: Vec<String>,
    /// When it was received, in Unix milliseconds.
    pub(crate) received_at_ms: u64,
    pub(crate) method: String,
    pub(crate) uri: String,
    /// The headers the user keeps (the inbox layer's `keep_headers`), in order.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Bytes,
}

impl Delivery {
    /// A delivery of `body` verified by `scheme`, with a random id, received now; for a
    /// store's own tests.
    #[must_use]
    pub fn new(scheme: impl Into<String>, body: Bytes) -> Self {
        Self {
            id: crate::inbox::random_id(),
            scheme: scheme.into(),
            key_id: None,
            delivery_ids: Vec::new(),
            received_at_ms: crate::inbox::now_ms(),
            method: "POST".into(),
            uri: "/".into(),
            headers: Vec::new(),
            body,
        }
    }

    /// The same delivery named by `ids` (as `Verified::delivery_ids` gives them, hex): its id
    /// becomes the first of them, and a copy under any of them is a duplicate. For a store's
    /// own tests, and for appending deliveries by hand.
    ///
    /// ```
    /// use tower_webhook::inbox::Delivery;
    ///
    /// let delivery = Delivery::new("stripe", bytes::Bytes::new()).with_ids(["a1", "b2"]);
    /// assert_eq!(delivery.id(), "a1");
    /// assert_eq!(delivery.delivery_ids(), ["a1", "b2"]);
    /// ```
    #[must_use]
    pub fn with_ids<I: Into<String>>(mut self, ids: impl IntoIterator<Item = I>) -> Self {
        self.delivery_ids = ids.into_iter().map(Into::into).collect();
        if let Some(first) = self.delivery_ids.first() {
            self.id.clone_from(first);
        }
        self
    }

    /// The inbox's id for it (also the worker's idempotency key).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name of the scheme that verified it.
    #[must_use]
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The name its keys were resolved under (a tenant), if they were.
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Every name it has (hex digests): a store treats an append under any as a duplicate.
    #[must_use]
    pub fn delivery_ids(&self) -> &[String] {
        &self.delivery_ids
    }

    /// When it was received, in Unix milliseconds.
    #[must_use]
    pub fn received_at_ms(&self) -> u64 {
        self.received_at_ms
    }

    /// The request's method.
    #[must_use]
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request's URI (path and query).
    #[must_use]
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The headers kept, in order.
    #[must_use]
    pub fn headers(&self) -> &[(String, Vec<u8>)] {
        &self.headers
    }

    /// The verified body.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl fmt::Debug for Delivery {
    /// Never the body or the headers' values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("scheme", &self.scheme)
            .field("key_id", &self.key_id)
            .field("received_at_ms", &self.received_at_ms)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What an append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored durably: answer the sender 2xx.
    New,
    /// One of its ids was appended before (pending, done or dead): answer 2xx, store nothing.
    Duplicate,
}

/// A delivery a worker holds until it completes, retries or dead-letters it, or its
/// visibility timeout passes and another worker may take it.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub(crate) delivery: Delivery,
    /// 1 on the first attempt.
    pub(crate) attempt: u32,
    /// The store's handle on this claim (a lease id, a stream entry id).
    pub(crate) token: String,
}

impl Claimed {
    /// A claim of `delivery` at `attempt` under the store's `token`; for stores.
    #[must_use]
    pub fn new(delivery: Delivery, attempt: u32, token: impl Into<String>) -> Self {
        Self {
            delivery,
            attempt,
            token: token.into(),
        }
    }

    /// The delivery.
    #[must_use]
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// Which attempt this is, from 1.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The store's handle on this claim.
    #[must_use]
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// A delivery that failed every attempt, kept until it is re-queued.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    pub(crate) delivery: Delivery,
    pub(crate) attempts: u32,
    pub(crate) last_error: String,
    pub(crate) dead_at_ms: u64,
}

impl DeadLetter {
    /// A dead letter; for stores.
    #[must_use]
    pub fn new(
        delivery: Delivery,
        attempts: u32,
        last_error: impl Into<String>,
        dead_at_ms: u64,
    ) -> Self {
        Self {
            delivery,
            attempts,
            last_error: last_error.into(),
            dead_at_ms,
        }
    }

    /// The delivery.
    #[must_use]
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// How many attempts it had.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The last attempt's error, as the worker wrote it.
    #[must_use]
    pub fn last_error(&self) -> &str {
        &self.last_error
    }

    /// When it was given up on, in Unix milliseconds.
    #[must_use]
    pub fn dead_at_ms(&self) -> u64 {
        self.dead_at_ms
    }
}

/// How much is waiting, for metrics and health checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxStats {
    /// Deliveries waiting or being processed.
    pub pending: u64,
    /// Age of the oldest of them, in milliseconds (0 when none).
    pub oldest_pending_age_ms: u64,
    /// Dead letters.
    pub dead: u64,
}

/// Where verified deliveries wait: durably, each once, until a worker completes it.
///
/// A store guarantees: an append that returned `Ok` survives a crash of this process (and,
/// for a server, what the server's own durability setting says); an append of a delivery
/// whose ids were seen is `Duplicate`; a claimed delivery not completed, retried or
/// dead-lettered within the visibility timeout is claimable again (at least once).
pub trait InboxStore: Send + Sync + 'static {
    /// Stores `delivery` unless one of its ids was stored before.
    fn append<'a>(&'a self, delivery: &'a Delivery) -> InboxFuture<'a, Appended>;

    /// Up to `max` deliveries for `consumer`: due ones first by age, and ones another
    /// consumer claimed more than `visibility` ago and did not finish. Each is invisible to
    /// others for `visibility`. Workers sharing a store should share one visibility timeout:
    /// a store may measure a lapsed claim by the claimer's (Redis's `XAUTOCLAIM`) or by the
    /// first claimer's (SQLite).
    fn claim<'a>(
        &'a self,
        consumer: &'a str,
        max: usize,
        visibility: Duration,
    ) -> InboxFuture<'a, Vec<Claimed>>;

    /// Done: never claimed again (its ids stay known, so a copy is a duplicate).
    fn complete<'a>(&'a self, claimed: &'a Claimed) -> InboxFuture<'a, ()>;

    /// Failed this attempt: claimable again after `delay`, with the attempt count kept.
    fn retry<'a>(
        &'a self,
        claimed: &'a Claimed,
        delay: Duration,
        error: &'a str,
    ) -> InboxFuture<'a, ()>;

    /// Failed its last attempt: moved to the dead letters.
    fn dead_letter<'a>(&'a self, claimed: &'a Claimed, error: &'a str) -> InboxFuture<'a, ()>;

    /// Given back unprocessed (a worker shutting down): claimable again at once, this
    /// attempt not counted.
    fn release<'a>(&'a self, claimed: &'a Claimed) -> InboxFuture<'a, ()>;

    /// Up to `limit` dead letters, oldest first.
    fn dead_letters<'a>(&'a self, limit: usize) -> InboxFuture<'a, Vec<DeadLetter>>;

    /// Moves the dead letter `id` back to pending, attempts reset; whether there was one.
    fn requeue<'a>(&'a self, id: &'a str) -> InboxFuture<'a, bool>;

    /// How much is waiting.
    fn stats(&self) -> InboxFuture<'_, InboxStats>;
}

/// A store that failed (its server is down, its file unwritable).
#[derive(Debug)]
pub struct InboxError(BoxError);

impl InboxError {
    /// The store failed because of `error`.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for InboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inbox store failed: {}", self.0)
    }
}

impl std::error::Error for InboxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}
