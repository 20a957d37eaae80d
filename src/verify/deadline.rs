//! [`BodyDeadline`]: how long a request's body may take to arrive, so a client that sends a
//! little and stalls cannot hold its share of the [`BodyBudget`](super::BodyBudget) for
//! ever.

use std::{task::Context, time::Duration};

/// How long a body may take when no timeout is set: 30 seconds, twice the longest that
/// widely used senders wait for the whole answer (Slack, Zoom and Discord 3 s; Shopify and
/// Xero 5 s; GitHub and Square 10 s; Svix and Twilio 15 s), so it never cuts off a delivery
/// its sender is still waiting on.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(feature = "tokio")]
/// The range [`body_timeout`](super::WebhookSignatureLayer::body_timeout) is clamped to.
pub(crate) const BODY_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(10 * 60));

#[cfg(feature = "tokio")]
thread_local! {
    /// Set on a thread of a tokio runtime found without timers: no deadline is tried there
    /// again (a runtime's worker threads are its own).
    static NO_TIMERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The read deadline of one request's body. The timer is made only once the body has kept
/// the request waiting, so a body that is at hand when the request arrives (most webhooks)
/// costs nothing for it.
pub(crate) struct BodyDeadline {
    #[cfg(feature = "tokio")]
    timeout: Option<Duration>,
    #[cfg(feature = "tokio")]
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl BodyDeadline {
    /// A deadline `timeout` after the body first keeps the request waiting; none without
    /// the `tokio` feature.
    #[cfg_attr(not(feature = "tokio"), expect(unused_variables))]
    pub(crate) fn new(timeout: Option<Duration>) -> Self {
        Self {
            #[cfg(feature = "tokio")]
            timeout,
            #[cfg(feature = "tokio")]
            timer: None,
        }
    }

    /// Whether the deadline has passed; otherwise registers `cx` to be woken when it passes.
    /// Outside a tokio runtime, or in one built without timers, there is no timer, and the
    /// body may take as long as the server lets it.
    #[cfg_attr(not(feature = "tokio"), expect(unused_variables))]
    pub(crate) fn passed(&mut self, cx: &mut Context<'_>) -> bool {
        #[cfg(feature = "tokio")]
        {
            if self.timer.is_none() {
                let Some(timeout) = self.timeout else {
                    return false;
                };
                if tokio::runtime::Handle::try_current().is_err() || NO_TIMERS.get() {
                    return false;
                }
                // A runtime built without `enable_time` panics here; then, and from then on,
                // there is no deadline rather than a dropped connection for every slow body.
                let Ok(sleep) = std::panic::catch_unwind(|| tokio::time::sleep(timeout)) else {
                    NO_TIMERS.set(true);
                    tracing::warn!(
                        target: "tower_webhook",
                        "the tokio runtime has no timers (enable_time): request bodies have no read deadline"
                    );
                    return false;
                };
                self.timeout = None;
                self.timer = Some(Box::pin(sleep));
            }
            if let Some(timer) = &mut self.timer {
                return std::future::Future::poll(timer.as_mut(), cx).is_ready();
            }
        }
        false
    }
}

/// Clamps a timeout a user set to [`BODY_TIMEOUT_RANGE`].
#[cfg(feature = "tokio")]
pub(crate) fn clamp(timeout: Duration) -> Duration {
    timeout.clamp(BODY_TIMEOUT_RANGE.0, BODY_TIMEOUT_RANGE.1)
}

#[cfg(all(test, feature = "tokio"))]
mod tests {
    use std::{future::poll_fn, task::Poll};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn passes_only_after_the_timeout_from_the_first_wait() {
        let mut deadline = BodyDeadline::new(Some(Duration::from_secs(30)));
        tokio::time::sleep(Duration::from_secs(100)).await;
        let first = poll_fn(|cx| Poll::Ready(deadline.passed(cx))).await;
        assert!(!first, "counted from the first wait, not from creation");
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert!(!poll_fn(|cx| Poll::Ready(deadline.passed(cx))).await);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(poll_fn(|cx| Poll::Ready(deadline.passed(cx))).await);
    }

    #[test]
    fn without_a_runtime_or_a_timeout_it_never_passes() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(!BodyDeadline::new(Some(Duration::from_secs(1))).passed(&mut cx));
        assert!(!BodyDeadline::new(None).passed(&mut cx));
    }

    #[test]
    fn user_timeouts_are_clamped() {
        assert_eq!(clamp(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(clamp(Duration::MAX), Duration::from_secs(600));
        assert_eq!(clamp(Duration::from_secs(5)), Duration::from_secs(5));
    }
}
