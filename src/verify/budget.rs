//! [`BodyBudget`]: how many request-body bytes may be buffered at once, in total, by every
//! request of the layers that share it.

use std::{
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

/// The budget of a layer that is given none: 32 MiB.
///
/// Enough for 14 bodies at the default 2 MiB limit at once, or hundreds of typical webhooks
/// (a few KiB each); small enough that a flood of large bodies that never finish (which no
/// per-request limit stops) keeps a 256 MiB container alive.
pub const DEFAULT_BODY_BUDGET: usize = 32 * 1024 * 1024;

/// Bodies up to this size may use the eighth of a budget that larger ones may not, so a
/// flood of large bodies that never finish cannot stop ordinary webhooks.
pub const SMALL_BODY: usize = 64 * 1024;

/// A bound on the request-body bytes buffered at once, by every request of the layers that
/// share it.
///
/// Per-request limits ([`max_body_size`](super::WebhookSignatureLayer::max_body_size)) do not
/// bound the total: a client without any secret can open many connections, send most of a
/// large body and stall. The layer charges each body here for the memory it holds, as its
/// bytes arrive (never for a declared length alone, so connections that declare bodies and
/// send nothing hold none of it): its first frame's bytes, then the owned buffer the frames
/// are copied into, which grows by doubling, so a body is charged at most about twice what
/// it sent and never more than its `Content-Length` or limit. A request whose next frame
/// does not fit, or whose `Content-Length` does not fit even now, is answered
/// `503 Service Unavailable` with `Retry-After`
/// ([`Rejection::BodyBudgetExhausted`](crate::Rejection::BodyBudgetExhausted)); its share
/// comes back when the request's response is ready, or when it is dropped.
///
/// An eighth of the budget is kept for small bodies: those whose `Content-Length` is at most
/// [`SMALL_BODY`] (64 KiB), or that have none and have so far held no more. While large
/// bodies hold the rest, ordinary webhooks still get through; a body that declares more
/// cannot dip into the kept eighth even before its bytes arrive.
///
/// Every layer has one ([`DEFAULT_BODY_BUDGET`] unless set); give several layers clones of
/// one budget to bound them together.
///
/// ```
/// use tower_webhook::{presets, verify::BodyBudget, WebhookSignatureLayer};
///
/// // One bound for every webhook route of the process.
/// let budget = BodyBudget::new(64 * 1024 * 1024);
/// let github = WebhookSignatureLayer::new(presets::github("secret")).body_budget(budget.clone());
/// let stripe = WebhookSignatureLayer::new(presets::stripe("whsec_…")).body_budget(budget);
/// ```
#[derive(Clone)]
pub struct BodyBudget {
    shared: Arc<Shared>,
}

struct Shared {
    total: usize,
    /// Kept for small bodies: larger ones may use only `total - small_reserve`.
    small_reserve: usize,
    used: AtomicUsize,
}

impl BodyBudget {
    /// A budget of `bytes` in total.
    ///
    /// ```
    /// use tower_webhook::verify::BodyBudget;
    ///
    /// let budget = BodyBudget::new(128 * 1024 * 1024);
    /// assert_eq!(budget.total(), 128 * 1024 * 1024);
    /// ```
    #[must_use]
    pub fn new(bytes: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                total: bytes,
                small_reserve: bytes / 8,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// The budget's size in bytes.
    #[must_use]
    pub fn total(&self) -> usize {
        self.shared.total
    }

    /// The bytes reserved right now.
    ///
    /// ```
    /// use tower_webhook::verify::BodyBudget;
    ///
    /// let budget = BodyBudget::new(1024);
    /// let reservation = budget.try_reserve(100).unwrap();
    /// assert_eq!(budget.in_use(), 100);
    /// drop(reservation);
    /// assert_eq!(budget.in_use(), 0);
    /// ```
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.shared.used.load(Ordering::Acquire)
    }

    /// Reserves `bytes` for a body that will be held in memory, if the budget has room for
    /// them: all of it for a body of at most [`SMALL_BODY`], all but an eighth for a larger
    /// one. The bytes come back when the [`Reservation`] is dropped.
    ///
    /// ```
    /// use tower_webhook::verify::BodyBudget;
    ///
    /// let budget = BodyBudget::new(8 * 1024 * 1024);
    /// let large = budget.try_reserve(7 * 1024 * 1024).expect("7 of 8 MiB are for large bodies");
    /// assert!(budget.try_reserve(1024 * 1024).is_none(), "the last MiB is kept for small ones");
    /// assert!(budget.try_reserve(16 * 1024).is_some());
    /// ```
    #[must_use]
    pub fn try_reserve(&self, bytes: usize) -> Option<Reservation> {
        let mut share = Share::default();
        share.grow(self, bytes).then(|| Reservation {
            budget: self.clone(),
            share,
        })
    }

    /// A share for a request's body, empty until its bytes arrive, if the budget could hold
    /// its `expected` length (its `Content-Length`) now; a body that declares more than
    /// [`SMALL_BODY`] is large from the start. Its holder gives it back with
    /// [`Share::release`]: it holds no reference to the budget, so opening one costs no
    /// reference count.
    #[inline]
    pub(crate) fn open(&self, expected: Option<usize>) -> Option<Share> {
        let share = Share {
            bytes: 0,
            large: expected.is_some_and(|bytes| bytes > SMALL_BODY),
        };
        let room = share
            .cap(self, expected.unwrap_or(0))
            .saturating_sub(self.in_use());
        (expected.unwrap_or(0) <= room).then_some(share)
    }
}

/// Bytes held from a [`BodyBudget`] by whoever holds the budget too: a [`Reservation`], or a
/// request's state (which holds the budget through its layer's shared settings).
#[derive(Debug, Default)]
pub(crate) struct Share {
    bytes: usize,
    /// Kept out of the small bodies' eighth whatever its size so far: its body declared more.
    large: bool,
}

impl Share {
    /// Takes `more` bytes as well from `budget`; `false`, taking nothing, if it has no room.
    #[inline]
    fn grow(&mut self, budget: &BodyBudget, more: usize) -> bool {
        let Some(wanted) = self.bytes.checked_add(more) else {
            return false;
        };
        let cap = self.cap(budget, wanted);
        // One compare-and-swap: no lock, and never more than the cap, however many race.
        let taken = budget
            .shared
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|&after| after <= cap)
            })
            .is_ok();
        if taken {
            self.bytes = wanted;
        }
        taken
    }

    /// Grows the share to `bytes` in all, if it holds fewer.
    #[inline]
    pub(crate) fn grow_to(&mut self, budget: &BodyBudget, bytes: usize) -> bool {
        bytes <= self.bytes || self.grow(budget, bytes - self.bytes)
    }

    /// Gives every byte back to `budget`, the one it was taken from.
    #[inline]
    pub(crate) fn release(&mut self, budget: &BodyBudget) {
        let bytes = std::mem::take(&mut self.bytes);
        if bytes > 0 {
            budget.shared.used.fetch_sub(bytes, Ordering::AcqRel);
        }
    }

    /// How much of the budget may be in use once this share holds `bytes`.
    #[inline]
    fn cap(&self, budget: &BodyBudget, bytes: usize) -> usize {
        let shared = &*budget.shared;
        if bytes <= SMALL_BODY && !self.large {
            shared.total
        } else {
            shared.total - shared.small_reserve
        }
    }
}

impl Default for BodyBudget {
    /// A budget of [`DEFAULT_BODY_BUDGET`].
    fn default() -> Self {
        Self::new(DEFAULT_BODY_BUDGET)
    }
}

impl fmt::Debug for BodyBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyBudget")
            .field("total", &self.shared.total)
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// Bytes reserved from a [`BodyBudget`], given back when this is dropped.
pub struct Reservation {
    budget: BodyBudget,
    share: Share,
}

impl Reservation {
    /// Reserves `more` bytes as well (a body without a `Content-Length`, as its frames
    /// arrive); `false`, reserving nothing, if the budget has no room for them.
    ///
    /// ```
    /// use tower_webhook::verify::BodyBudget;
    ///
    /// let budget = BodyBudget::new(1024 * 1024);
    /// let mut reservation = budget.try_reserve(0).unwrap();
    /// assert!(reservation.grow(4096));
    /// assert_eq!(reservation.bytes(), 4096);
    /// ```
    #[must_use]
    pub fn grow(&mut self, more: usize) -> bool {
        self.share.grow(&self.budget, more)
    }

    /// The bytes this reservation holds.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.share.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.share.release(&self.budget);
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("bytes", &self.share.bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_budget_and_come_back_when_dropped() {
        let budget = BodyBudget::new(800 * 1024);
        let large: Vec<_> = (0..7)
            .map(|_| budget.try_reserve(100 * 1024).unwrap())
            .collect();
        assert!(
            budget.try_reserve(100 * 1024).is_none(),
            "700 of 800 KiB is the large cap"
        );
        let small: Vec<_> = (0..1)
            .map(|_| budget.try_reserve(SMALL_BODY).unwrap())
            .collect();
        assert_eq!(budget.in_use(), 700 * 1024 + SMALL_BODY);
        assert!(
            budget.try_reserve(SMALL_BODY).is_none(),
            "the whole budget is spent"
        );
        drop(large);
        drop(small);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_growing_body_becomes_large_once_it_passes_the_small_size() {
        let budget = BodyBudget::new(8 * SMALL_BODY);
        let _others = budget.try_reserve(7 * SMALL_BODY - 10).unwrap();
        let mut growing = budget.try_reserve(0).unwrap();
        assert!(growing.grow(SMALL_BODY), "small: may use the kept eighth");
        assert!(
            !growing.grow(1),
            "now large, and large bodies are at their cap"
        );
        assert_eq!(growing.bytes(), SMALL_BODY);
        assert!(!growing.grow(usize::MAX), "no overflow");
    }

    #[test]
    fn a_share_is_empty_until_bytes_arrive_and_a_large_declaration_keeps_out_of_the_small_eighth() {
        let budget = BodyBudget::new(8 * SMALL_BODY);
        let shares: Vec<_> = (0..100)
            .map(|_| budget.open(Some(7 * SMALL_BODY)).unwrap())
            .collect();
        assert_eq!(budget.in_use(), 0, "declaring is free");
        assert!(
            budget.open(Some(8 * SMALL_BODY)).is_none(),
            "more than large bodies may hold: refused at once"
        );
        let mut declared_large = budget.open(Some(SMALL_BODY + 1)).unwrap();
        let _held = budget.try_reserve(7 * SMALL_BODY - 10).unwrap();
        assert!(
            !declared_large.grow_to(&budget, 100),
            "a body that declared more than the small size cannot use the kept eighth"
        );
        let mut small = budget.open(Some(SMALL_BODY)).unwrap();
        assert!(small.grow_to(&budget, SMALL_BODY), "a small one can");
        assert!(small.grow_to(&budget, 10), "growing to less is a no-op");
        assert_eq!(small.bytes, SMALL_BODY);
        small.release(&budget);
        declared_large.release(&budget);
        assert_eq!(budget.in_use(), 7 * SMALL_BODY - 10, "both given back");
        drop(shares);
    }

    #[test]
    fn concurrent_reservations_respect_the_cap() {
        let budget = BodyBudget::new(1 << 20);
        let held = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        if let Some(r) = budget.try_reserve(SMALL_BODY + 1) {
                            held.lock().unwrap().push(r);
                        }
                    }
                });
            }
        });
        let held = held.into_inner().unwrap();
        assert_eq!(held.len(), (1 << 20) * 7 / 8 / (SMALL_BODY + 1));
        assert!(budget.in_use() <= budget.total());
    }
}
