//! What the layers count, through the `metrics` facade (feature `metrics`); without the
//! feature every function here is empty and compiles away.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `webhook_requests_total` | counter | `scheme`, `outcome` (`verified`, `rejected`, `report_only`), `reason` (`ok` or the rejection's reason) |
//! | `webhook_body_size_bytes` | histogram | `scheme`: the bytes buffered for each verified request |
//! | `webhook_verification_duration_seconds` | histogram | `scheme`: from the request head to the verdict, receiving the body included |
//! | `webhook_body_budget_rejections_total` | counter | `scheme` |
//! | `webhook_replay_total` | counter | `outcome` (`new`, `duplicate`, `in_progress`, `store_error`) |
//! | `webhook_key_fetches_refused_total` | counter | `limit` (`concurrency`, `rate`): key fetches a `Fetcher`'s limits refused |

use std::sync::Arc;
#[cfg(feature = "metrics")]
use std::time::Instant;

/// A request's verdict. The scheme's name is shared, not copied, into each label.
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn request(scheme: &Arc<str>, outcome: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(
            "webhook_requests_total",
            "scheme" => Arc::clone(scheme),
            "outcome" => outcome,
            "reason" => reason
        )
        .increment(1);
        if reason == "body_budget_exhausted" {
            metrics::counter!("webhook_body_budget_rejections_total", "scheme" => Arc::clone(scheme))
                .increment(1);
        }
    }
}

/// A verified request: its body's size, and how long it took since its head arrived.
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn verified(scheme: &Arc<str>, body_bytes: usize, started: Started) {
    request(scheme, "verified", "ok");
    #[cfg(feature = "metrics")]
    {
        metrics::histogram!("webhook_body_size_bytes", "scheme" => Arc::clone(scheme))
            .record(body_bytes as f64);
        metrics::histogram!("webhook_verification_duration_seconds", "scheme" => Arc::clone(scheme))
            .record(started.0.elapsed().as_secs_f64());
    }
}

/// What the replay guard made of a delivery.
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn replay(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("webhook_replay_total", "outcome" => outcome).increment(1);
}

/// A key fetch refused by a `Fetcher`'s cap on fetches in flight or by its rate limit.
#[cfg(feature = "fetch")]
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn fetch_refused(limit: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("webhook_key_fetches_refused_total", "limit" => limit).increment(1);
}

/// When a request's head arrived; nothing without the feature.
#[derive(Clone, Copy)]
pub(crate) struct Started(#[cfg(feature = "metrics")] Instant);

impl Started {
    pub(crate) fn now() -> Self {
        Self(
            #[cfg(feature = "metrics")]
            Instant::now(),
        )
    }
}
