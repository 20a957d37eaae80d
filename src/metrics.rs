//! What the layers count, through the `metrics` facade (feature `metrics`); without the
//! feature every function here is empty and compiles away.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `webhook_requests_total` | counter | `scheme`, `outcome` (`verified`, `rejected`, `report_only`, `handshake`), `reason` (`ok`, the handshake's name, or the rejection's reason) |
//! | `webhook_body_size_bytes` | histogram | `scheme`: the bytes buffered for each verified request |
//! | `webhook_verification_duration_seconds` | histogram | `scheme`: verified requests only, from the request head to the verdict, receiving the body included |
//! | `webhook_body_budget_rejections_total` | counter | `scheme` |
//! | `webhook_replay_total` | counter | `scheme`, `outcome` (`new`, `duplicate`, `in_progress`, `store_error`) |
//! | `webhook_key_fetches_refused_total` | counter | `limit` (`concurrency`, `rate`): key fetches a `Fetcher`'s limits refused |
//! | `webhook_inbox_appends_total` | counter | `scheme`, `outcome` (`new`, `duplicate`, `store_error`, `timeout`) |
//! | `webhook_inbox_attempts_total` | counter | `scheme`, `outcome` (`completed`, `retried`, `dead`): each worker attempt |
//! | `webhook_inbox_retries_total` | counter | `scheme` |
//! | `webhook_inbox_dead_letters_total` | counter | `scheme` |
//! | `webhook_inbox_processing_duration_seconds` | histogram | `scheme`: the worker's service call, per attempt |
//! | `webhook_inbox_pending` | gauge | deliveries waiting or in flight, sampled by each worker from the store |
//! | `webhook_inbox_oldest_pending_age_seconds` | gauge | age of the oldest of them |
//! | `webhook_inbox_dead` | gauge | dead letters in the store |
//!
//! The verification time covers verified requests only. A rejected request's time is the
//! sender's (or an attacker's) pacing more than the layer's work: a body that stalls until
//! the body timeout, or a head refused before any body, would swamp the distribution that
//! says how long real deliveries take. Rejections are counted, by reason, in
//! `webhook_requests_total`.
//!
//! Each metric is described (its `HELP` line) once, when the first one is recorded, so the
//! recorder must be installed before the first request.

use std::sync::Arc;
#[cfg(feature = "metrics")]
use std::{sync::Once, time::Instant};

#[cfg(feature = "metrics")]
use crate::scheme::Verified;

/// Describes every metric to the recorder installed now, once per process.
#[cfg(feature = "metrics")]
fn describe() {
    static DESCRIBED: Once = Once::new();
    DESCRIBED.call_once(|| {
        metrics::describe_counter!(
            "webhook_requests_total",
            "Webhook requests by scheme, outcome (verified, rejected, report_only, handshake) and reason"
        );
        metrics::describe_histogram!(
            "webhook_body_size_bytes",
            metrics::Unit::Bytes,
            "Bytes buffered for each verified webhook request"
        );
        metrics::describe_histogram!(
            "webhook_verification_duration_seconds",
            metrics::Unit::Seconds,
            "Verified webhook requests only: seconds from the request head to the verdict, receiving the body included"
        );
        metrics::describe_counter!(
            "webhook_body_budget_rejections_total",
            "Webhook requests refused with 503 because the body budget was full"
        );
        metrics::describe_counter!(
            "webhook_replay_total",
            "Verified deliveries by what the replay guard made of them (new, duplicate, in_progress, store_error)"
        );
        metrics::describe_counter!(
            "webhook_key_fetches_refused_total",
            "Key fetches refused by a Fetcher's concurrency or rate limit"
        );
        metrics::describe_counter!(
            "webhook_inbox_appends_total",
            "Verified deliveries the inbox was given, by outcome (new, duplicate, store_error, timeout)"
        );
        metrics::describe_counter!(
            "webhook_inbox_attempts_total",
            "Inbox worker attempts by outcome (completed, retried, dead)"
        );
        metrics::describe_counter!(
            "webhook_inbox_retries_total",
            "Inbox deliveries scheduled for another attempt"
        );
        metrics::describe_counter!(
            "webhook_inbox_dead_letters_total",
            "Inbox deliveries moved to the dead letters after their last attempt"
        );
        metrics::describe_histogram!(
            "webhook_inbox_processing_duration_seconds",
            metrics::Unit::Seconds,
            "Seconds the worker's service took on one attempt"
        );
        metrics::describe_gauge!(
            "webhook_inbox_pending",
            "Inbox deliveries waiting or being processed"
        );
        metrics::describe_gauge!(
            "webhook_inbox_oldest_pending_age_seconds",
            metrics::Unit::Seconds,
            "Age of the oldest inbox delivery waiting or being processed"
        );
        metrics::describe_gauge!("webhook_inbox_dead", "Inbox dead letters");
    });
}

/// A request's verdict. The scheme's name is shared, not copied, into each label.
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn request(scheme: &Arc<str>, outcome: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    {
        describe();
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

/// The scheme a replay guard's request was verified under, for its label; nothing without
/// the feature.
pub(crate) struct SchemeLabel(#[cfg(feature = "metrics")] Option<Arc<str>>);

/// The label of the scheme that verified `verified`: `unknown` for a [`Verified`] that no
/// layer inserted.
#[cfg(feature = "metrics")]
pub(crate) fn scheme_of(verified: Option<&Verified>) -> SchemeLabel {
    SchemeLabel(verified.and_then(Verified::scheme).cloned())
}

#[cfg(not(feature = "metrics"))]
pub(crate) fn scheme_of<T>(_: Option<&T>) -> SchemeLabel {
    SchemeLabel()
}

/// What the replay guard made of a delivery.
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn replay(scheme: &SchemeLabel, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    {
        describe();
        let scheme: metrics::SharedString = match &scheme.0 {
            Some(name) => Arc::clone(name).into(),
            None => "unknown".into(),
        };
        metrics::counter!("webhook_replay_total", "scheme" => scheme, "outcome" => outcome)
            .increment(1);
    }
}

/// A key fetch refused by a `Fetcher`'s cap on fetches in flight or by its rate limit.
#[cfg(feature = "fetch")]
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn fetch_refused(limit: &'static str) {
    #[cfg(feature = "metrics")]
    {
        describe();
        metrics::counter!("webhook_key_fetches_refused_total", "limit" => limit).increment(1);
    }
}

/// What the inbox made of a verified delivery.
#[cfg(feature = "inbox")]
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn inbox_append(scheme: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    {
        describe();
        metrics::counter!("webhook_inbox_appends_total", "scheme" => scheme.to_owned(), "outcome" => outcome)
            .increment(1);
    }
}

/// One worker attempt: how it ended (`completed`, `retried`, `dead`) and how long the
/// service took.
#[cfg(feature = "inbox")]
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn inbox_attempt(scheme: &str, outcome: &'static str, took: std::time::Duration) {
    #[cfg(feature = "metrics")]
    {
        describe();
        metrics::counter!("webhook_inbox_attempts_total", "scheme" => scheme.to_owned(), "outcome" => outcome)
            .increment(1);
        match outcome {
            "retried" => {
                metrics::counter!("webhook_inbox_retries_total", "scheme" => scheme.to_owned())
                    .increment(1);
            }
            "dead" => {
                metrics::counter!("webhook_inbox_dead_letters_total", "scheme" => scheme.to_owned())
                    .increment(1);
            }
            _ => {}
        }
        metrics::histogram!("webhook_inbox_processing_duration_seconds", "scheme" => scheme.to_owned())
            .record(took.as_secs_f64());
    }
}

/// The store's depth, sampled by a worker.
#[cfg(feature = "inbox")]
#[cfg_attr(not(feature = "metrics"), expect(unused_variables))]
pub(crate) fn inbox_depth(stats: &crate::inbox::InboxStats) {
    #[cfg(feature = "metrics")]
    {
        describe();
        #[allow(clippy::cast_precision_loss, reason = "a gauge")]
        {
            metrics::gauge!("webhook_inbox_pending").set(stats.pending as f64);
            metrics::gauge!("webhook_inbox_oldest_pending_age_seconds")
                .set(stats.oldest_pending_age_ms as f64 / 1000.0);
            metrics::gauge!("webhook_inbox_dead").set(stats.dead as f64);
        }
    }
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
