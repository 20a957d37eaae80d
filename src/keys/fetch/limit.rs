//! How many fetches a [`Fetcher`](super::Fetcher) makes: at once, and over time.
//!
//! Every fetch is caused by a request nobody has authenticated yet (a certificate URL, a key
//! id), so an attacker who can send requests can make the receiver send requests: to the
//! sender's key host, or to Plaid with the user's client secret. Caches and single flight
//! make one name cost one fetch; these limits make many names cost few.

use std::{
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

use http::Uri;

use super::FetchError;

/// How many fetches one [`Fetcher`](super::Fetcher) (and its clones) has in flight at most
/// when no cap is set: 4.
///
/// A receiver needs few distinct keys at once (one certificate per PayPal environment or SNS
/// region, a key id or two from Plaid, one JWKS), and concurrent requests for one key share
/// a single fetch; four slots serve that with room to spare while a flood of names against
/// a slow host holds four connections, not one per request.
pub const DEFAULT_MAX_CONCURRENT_FETCHES: usize = 4;

/// How many fetches one [`Fetcher`](super::Fetcher) (and its clones) makes in a burst when
/// no rate limit is set: 10. See [`DEFAULT_FETCH_REFILL`].
pub const DEFAULT_FETCH_BURST: u32 = 10;

/// How often one more fetch is allowed once a burst is spent, when no rate limit is set:
/// one a minute.
///
/// Each fetched key is cached for an hour, so a receiver fetches a handful of keys when it
/// starts (ten is more than the PayPal, SNS, Plaid and JWKS senders together need) and a
/// handful an hour after that. A flood of made-up certificate names or key ids then costs
/// at most ten fetches, then one a minute: sixty an hour to the sender's key host, or to
/// Plaid's key endpoint with your client secret, however many requests arrive.
pub const DEFAULT_FETCH_REFILL: Duration = Duration::from_secs(60);

const MAX_CONCURRENT: usize = 64;
const MAX_BURST: u32 = 1_000;
const MIN_REFILL: Duration = Duration::from_millis(100);
const MAX_REFILL: Duration = Duration::from_secs(60 * 60);

/// Refusals are logged at most this often, each warning counting the ones since the last,
/// so that a flood does not become a flood of log lines.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The limits a [`Fetcher`](super::Fetcher) and its clones share, and their state.
pub(crate) struct FetchLimits {
    max_in_flight: usize,
    in_flight: AtomicUsize,
    burst: u32,
    refill: Duration,
    state: Mutex<State>,
}

struct State {
    bucket: Bucket,
    warned: Option<Instant>,
    refused_since_warning: u64,
}

/// A token bucket kept as the one instant at which it will be full again (the generic cell
/// rate algorithm): a fetch is allowed while that instant is less than a burst ahead.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    full_at: Instant,
}

impl Bucket {
    fn full(now: Instant) -> Self {
        Self { full_at: now }
    }

    /// Takes one token at `now`, if there is one.
    fn take(&mut self, now: Instant, burst: u32, refill: Duration) -> bool {
        let ahead = self.full_at.saturating_duration_since(now);
        if ahead > refill.saturating_mul(burst.saturating_sub(1)) {
            return false;
        }
        let from = self.full_at.max(now);
        self.full_at = from.checked_add(refill).unwrap_or(from);
        true
    }
}

/// Which limit refused a fetch: the label of the log line and of the metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    Concurrency,
    Rate,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Self::Concurrency => "concurrency",
            Self::Rate => "rate",
        }
    }
}

/// A fetch allowed to run; its slot is given back when it is dropped, however the fetch
/// ends (answered, failed, timed out, or dropped by a caller that stopped waiting).
pub(crate) struct Permit(Arc<FetchLimits>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl FetchLimits {
    pub(crate) fn new(max_in_flight: usize, burst: u32, refill: Duration) -> Self {
        Self {
            max_in_flight: max_in_flight.clamp(1, MAX_CONCURRENT),
            in_flight: AtomicUsize::new(0),
            burst: burst.clamp(1, MAX_BURST),
            refill: refill.clamp(MIN_REFILL, MAX_REFILL),
            state: Mutex::new(State {
                bucket: Bucket::full(Instant::now()),
                warned: None,
                refused_since_warning: 0,
            }),
        }
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    pub(crate) fn rate(&self) -> (u32, Duration) {
        (self.burst, self.refill)
    }

    /// A slot and a token for a fetch of `url`, or the error that refuses it at once: the
    /// request waiting for the key gets `503` and its sender retries later.
    pub(crate) fn admit(this: &Arc<Self>, url: &Uri) -> Result<Permit, FetchError> {
        let taken = this
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < this.max_in_flight).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(this.refuse(Limit::Concurrency, url, Instant::now()));
        }
        let permit = Permit(Arc::clone(this));
        let now = Instant::now();
        let token = this.lock().bucket.take(now, this.burst, this.refill);
        if !token {
            drop(permit);
            return Err(this.refuse(Limit::Rate, url, now));
        }
        Ok(permit)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few numbers, each written whole: a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refuse(&self, limit: Limit, url: &Uri, now: Instant) -> FetchError {
        crate::metrics::fetch_refused(limit.label());
        let refused = {
            let mut state = self.lock();
            state.refused_since_warning = state.refused_since_warning.saturating_add(1);
            let due = state
                .warned
                .is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY);
            due.then(|| {
                state.warned = Some(now);
                std::mem::take(&mut state.refused_since_warning)
            })
        };
        let host = url.host().unwrap_or_default();
        if let Some(refused) = refused {
            match limit {
                Limit::Concurrency => tracing::warn!(
                    target: "tower_webhook",
                    limit = limit.label(),
                    host,
                    refused,
                    max_concurrent_fetches = self.max_in_flight,
                    "key fetches refused: too many in flight; the requests get 503 (see Fetcher::max_concurrent_fetches)"
                ),
                Limit::Rate => tracing::warn!(
                    target: "tower_webhook",
                    limit = limit.label(),
                    host,
                    refused,
                    burst = self.burst,
                    refill = ?self.refill,
                    "key fetches refused: rate limit reached; the requests get 503 (see Fetcher::rate_limit)"
                ),
            }
        }
        FetchError::new(match limit {
            Limit::Concurrency => format!(
                "refused: {} fetches already in flight (Fetcher::max_concurrent_fetches)",
                self.max_in_flight
            ),
            Limit::Rate => format!(
                "refused: more than {} fetches, then one each {:?} (Fetcher::rate_limit)",
                self.burst, self.refill
            ),
        })
    }
}

impl fmt::Debug for FetchLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchLimits")
            .field("max_concurrent_fetches", &self.max_in_flight)
            .field("burst", &self.burst)
            .field("refill", &self.refill)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Uri {
        Uri::from_static("https://keys.example/cert.pem")
    }

    #[test]
    fn a_full_bucket_gives_its_burst_then_one_token_per_refill() {
        let start = Instant::now();
        let refill = Duration::from_secs(60);
        let mut bucket = Bucket::full(start);
        for i in 0..10 {
            assert!(bucket.take(start, 10, refill), "token {i} of the burst");
        }
        assert!(!bucket.take(start, 10, refill));
        assert!(!bucket.take(start + Duration::from_secs(59), 10, refill));
        assert!(bucket.take(start + refill, 10, refill));
        assert!(!bucket.take(start + refill, 10, refill));
        // A long quiet spell refills the bucket, but never past its burst.
        let later = start + Duration::from_secs(24 * 60 * 60);
        let taken = (0..50).filter(|_| bucket.take(later, 10, refill)).count();
        assert_eq!(taken, 10);
    }

    #[test]
    fn a_clock_that_seems_to_go_back_refuses_rather_than_panics() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut bucket = Bucket::full(start);
        assert!(bucket.take(start, 1, Duration::from_secs(60)));
        assert!(!bucket.take(start - Duration::from_secs(5), 1, Duration::from_secs(60)));
    }

    #[test]
    fn fetches_past_the_cap_are_refused_until_a_slot_is_given_back() {
        let limits = Arc::new(FetchLimits::new(2, 100, Duration::from_secs(1)));
        let first = FetchLimits::admit(&limits, &url()).unwrap();
        let _second = FetchLimits::admit(&limits, &url()).unwrap();
        let refused = FetchLimits::admit(&limits, &url()).err().unwrap();
        assert_eq!(
            refused.to_string(),
            "refused: 2 fetches already in flight (Fetcher::max_concurrent_fetches)"
        );
        drop(first);
        assert!(FetchLimits::admit(&limits, &url()).is_ok());
    }

    #[test]
    fn a_refusal_by_the_cap_costs_no_token() {
        let limits = Arc::new(FetchLimits::new(1, 2, Duration::from_secs(3600)));
        let held = FetchLimits::admit(&limits, &url()).unwrap();
        for _ in 0..5 {
            assert!(FetchLimits::admit(&limits, &url()).is_err());
        }
        drop(held);
        assert!(FetchLimits::admit(&limits, &url()).is_ok());
        let refused = FetchLimits::admit(&limits, &url()).err().unwrap();
        assert!(
            refused.to_string().contains("Fetcher::rate_limit"),
            "{refused}"
        );
        // The slot taken for the refused fetch was given back.
        assert_eq!(limits.in_flight.load(Ordering::Acquire), 0);
    }

    #[test]
    fn settings_are_clamped() {
        let limits = FetchLimits::new(0, 0, Duration::ZERO);
        assert_eq!(limits.max_in_flight(), 1);
        assert_eq!(limits.rate(), (1, MIN_REFILL));
        let limits = FetchLimits::new(usize::MAX, u32::MAX, Duration::MAX);
        assert_eq!(limits.max_in_flight(), MAX_CONCURRENT);
        assert_eq!(limits.rate(), (MAX_BURST, MAX_REFILL));
    }

    #[test]
    fn a_flood_of_refusals_is_one_warning_counting_them() {
        use std::io;
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let limits = Arc::new(FetchLimits::new(4, 1, Duration::from_secs(3600)));
        tracing::subscriber::with_default(subscriber, || {
            let _spent = FetchLimits::admit(&limits, &url()).unwrap();
            for _ in 0..50 {
                assert!(FetchLimits::admit(&limits, &url()).is_err());
            }
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(logged.lines().count(), 1, "{logged}");
        assert!(logged.contains("WARN"), "{logged}");
        assert!(logged.contains("tower_webhook"), "{logged}");
        assert!(logged.contains("limit=\"rate\""), "{logged}");
        assert!(logged.contains("host=\"keys.example\""), "{logged}");
        assert!(logged.contains("refused=1"), "{logged}");
        // The other 49 are counted for the next warning.
        assert_eq!(limits.lock().refused_since_warning, 49);
    }
}
