//! [`Verdicts`]: what the verifying layer does with a rejection: log it, answer it, or (in
//! report-only mode) let the request through.

use std::{net::IpAddr, sync::Arc};

use bytes::Bytes;
use http::Response;

use crate::{metrics, rejection::Rejection};

/// Turns a rejection into the response sent; see
/// [`WebhookSignatureLayer::on_rejection`](crate::WebhookSignatureLayer::on_rejection).
pub(crate) type Respond = Arc<dyn Fn(&Rejection) -> Response<Bytes> + Send + Sync>;

/// What the layer does with a verdict: the name its events carry, whether it enforces, and
/// how it answers a rejection. Shared by the service and each request's future.
#[derive(Clone)]
pub(crate) struct Verdicts {
    pub(crate) scheme: Arc<str>,
    pub(crate) report_only: bool,
    pub(crate) respond: Respond,
}

impl Verdicts {
    pub(crate) fn new(scheme: &str) -> Self {
        Self {
            scheme: Arc::from(scheme),
            report_only: false,
            respond: Arc::new(Rejection::to_response),
        }
    }

    /// Whether a policy failure (signature, timestamp, address) may pass in this mode.
    /// Limits and broken bodies never pass: the body could not be handed on whole.
    pub(crate) fn passes(&self, rejection: &Rejection) -> bool {
        self.report_only
            && !matches!(
                rejection,
                Rejection::BodyTooLarge { .. }
                    | Rejection::BodyBudgetExhausted
                    | Rejection::BodyTimeout
                    | Rejection::InvalidContentLength
                    | Rejection::BodyRead(_)
            )
    }

    /// Whether a rejection known from the head (or the key lookup) is answered at once,
    /// before the body is read. An unknown key is not: it is answered when a wrong signature
    /// would be, after the body, so neither the timing nor `100 Continue` tells a prober which
    /// tenants exist.
    pub(crate) fn answers_before_body(&self, rejection: &Rejection) -> bool {
        !self.passes(rejection) && !matches!(rejection, Rejection::UnknownKey)
    }

    /// The response to a rejected request, after its `tracing` event.
    pub(crate) fn reject(&self, rejection: &Rejection, peer: Option<IpAddr>) -> Response<Bytes> {
        self.event(rejection, peer, "enforce");
        metrics::request(&self.scheme, "rejected", rejection.reason());
        (self.respond)(rejection)
    }

    /// The `tracing` event of a request that fails but is passed on in report-only mode.
    pub(crate) fn report(&self, rejection: &Rejection, peer: Option<IpAddr>) {
        self.event(rejection, peer, "report_only");
        metrics::request(&self.scheme, "report_only", rejection.reason());
    }

    /// Never carries a secret or a signature: the scheme, the reason, the peer, the mode.
    fn event(&self, rejection: &Rejection, peer: Option<IpAddr>, mode: &'static str) {
        let scheme = &*self.scheme;
        let reason = rejection.reason();
        let peer = peer.map(tracing::field::display);
        match rejection {
            Rejection::BodyRead(error) => tracing::info!(
                target: "tower_webhook",
                scheme,
                reason,
                peer,
                mode,
                error = %error,
                "webhook rejected"
            ),
            _ => tracing::warn!(
                target: "tower_webhook",
                scheme,
                reason,
                peer,
                mode,
                "webhook rejected"
            ),
        }
    }
}
