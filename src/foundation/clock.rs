//! [`Clock`]: where timestamped schemes get the current time, so tests can fix it.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time, for checking signed timestamps against the tolerance window.
///
/// [`SystemClock`] is the default. Any `Fn() -> SystemTime` closure is a clock, which is how
/// tests pin the time instead of sleeping.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use tower_webhook::presets;
///
/// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let stripe = presets::stripe("whsec_test").clock(move || at);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<F> Clock for F
where
    F: Fn() -> SystemTime + Send + Sync + 'static,
{
    fn now(&self) -> SystemTime {
        self()
    }
}

/// The system's wall clock, [`SystemTime::now`].
///
/// ```
/// use tower_webhook::{scheme::{Clock, SystemClock}};
///
/// assert!(SystemClock.now() > std::time::UNIX_EPOCH);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Whole seconds since the Unix epoch; 0 for a clock set before it.
/// A scheme whose clock a preset built at run time can replace (tests fix it through
/// `PresetOptions::clock`).
pub(crate) trait SharedClock: Sized {
    fn shared_clock(self, clock: std::sync::Arc<dyn Clock>) -> Self;
}

pub(crate) fn unix_seconds(clock: &dyn Clock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
