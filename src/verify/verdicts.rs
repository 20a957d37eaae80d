//! [`Verdicts`]: what the verifying layer does with a rejection: log it, answer it, or (in
//! report-only mode) let the request through.

use std::{net::IpAddr, sync::Arc};

use bytes::Bytes;
#[cfg(feature = "json")]
use http::request::Parts;
use http::Response;

use super::budget::BodyBudget;
#[cfg(feature = "json")]
use crate::handshake::{Handshake, HandshakeMode};
use crate::peer::{ConnectionPeer, PeerSource};
use crate::{metrics, rejection::Rejection};

/// Turns a rejection into the response sent; see
/// [`WebhookSignatureLayer::on_rejection`](crate::WebhookSignatureLayer::on_rejection).
pub(crate) type Respond = Arc<dyn Fn(&Rejection) -> Response<Bytes> + Send + Sync>;

/// Where a request's address comes from in this build, for the events of requests an
/// allowlist could not place: the usual cause is axum's `ConnectInfo` without the `axum`
/// feature, which nothing else would tell.
#[cfg(not(any(feature = "axum", feature = "tonic")))]
pub(crate) const UNKNOWN_PEER_HINT: &str = "tower-webhook was built without its `axum` and \
    `tonic` features, so the default peer source reads only a `PeerAddr` request extension: \
    with axum, enable the `axum` feature and serve with \
    `into_make_service_with_connect_info::<SocketAddr>()`; with tonic, the `tonic` feature; \
    otherwise insert a `PeerAddr` or set a `peer_source`";

/// See the other build's text: here the features are on, so the server must record it.
#[cfg(any(feature = "axum", feature = "tonic"))]
pub(crate) const UNKNOWN_PEER_HINT: &str = "no peer address in the request's extensions: \
    with axum, serve with `into_make_service_with_connect_info::<SocketAddr>()`; with tonic, \
    `Server::builder()` records it; otherwise insert a `PeerAddr` or set a `peer_source`";

/// What the layer does with a verdict: the name its events carry, whether it enforces, and
/// how it answers a rejection. Shared by the service and each request's future.
#[derive(Clone)]
pub(crate) struct Verdicts {
    pub(crate) scheme: Arc<str>,
    /// The budget the layer's request bodies are charged to: here, where each request's
    /// state holds it, so a request takes no reference of its own.
    pub(crate) budget: BodyBudget,
    /// Where a request's peer address comes from, read only when something needs it (the
    /// allowlist, a rejection's event).
    pub(crate) peer_source: Arc<dyn PeerSource>,
    pub(crate) report_only: bool,
    pub(crate) respond: Respond,
    /// The scheme's handshake, and what to do with it.
    #[cfg(feature = "json")]
    pub(crate) handshake: Option<Handshake>,
    #[cfg(feature = "json")]
    pub(crate) handshake_mode: HandshakeMode,
}

impl Verdicts {
    pub(crate) fn new(scheme: &str) -> Self {
        Self {
            scheme: Arc::from(scheme),
            budget: BodyBudget::default(),
            peer_source: Arc::new(ConnectionPeer),
            report_only: false,
            respond: Arc::new(Rejection::to_response),
            #[cfg(feature = "json")]
            handshake: None,
            #[cfg(feature = "json")]
            handshake_mode: HandshakeMode::Answer,
        }
    }

    /// The address `parts` came from, as the peer source says.
    pub(crate) fn peer(&self, parts: &Parts) -> Option<IpAddr> {
        self.peer_source.peer_addr(parts)
    }

    /// The handshake whose unsigned request `parts` is, unless handshakes are off.
    #[cfg(feature = "json")]
    pub(crate) fn unsigned_handshake(&self, parts: &Parts) -> Option<&Handshake> {
        self.handshake.as_ref().filter(|handshake| {
            self.handshake_mode != HandshakeMode::Off && handshake.unsigned(parts)
        })
    }

    /// Logs and counts a handshake the layer answers.
    #[cfg(feature = "json")]
    pub(crate) fn answered(
        &self,
        handshake: &Handshake,
        peer: Option<IpAddr>,
        key_id: Option<&str>,
    ) {
        let name = handshake.name();
        tracing::info!(
            target: "tower_webhook",
            scheme = &*self.scheme,
            handshake = name,
            peer = peer.map(tracing::field::display),
            key_id,
            "webhook handshake answered"
        );
        metrics::request(&self.scheme, "handshake", name);
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

    /// The response to a rejected request, after its `tracing` event. `key_id` names the
    /// tenant whose keys were found, once they were.
    pub(crate) fn reject(
        &self,
        rejection: &Rejection,
        peer: Option<IpAddr>,
        key_id: Option<&str>,
    ) -> Response<Bytes> {
        self.event(rejection, peer, key_id, "enforce");
        metrics::request(&self.scheme, "rejected", rejection.reason());
        // The response is made as for a wrong signature: a user's `on_rejection` that
        // answers with `reason()` would otherwise tell a prober which tenants exist. The
        // event and the metric above keep `unknown_key`.
        let invalid = Rejection::InvalidSignature;
        let answered = match rejection {
            Rejection::UnknownKey => &invalid,
            rejection => rejection,
        };
        let mut response = (self.respond)(answered);
        // A response of the user's keeps what tells the sender when to retry (the budget's
        // `Retry-After`) unless it sets that header itself.
        for (name, value) in rejection.advice_headers() {
            response.headers_mut().entry(name).or_insert(value);
        }
        response
    }

    /// The `tracing` event of a request that fails but is passed on in report-only mode.
    pub(crate) fn report(&self, rejection: &Rejection, peer: Option<IpAddr>, key_id: Option<&str>) {
        self.event(rejection, peer, key_id, "report_only");
        metrics::request(&self.scheme, "report_only", rejection.reason());
    }

    /// Never carries a secret or a signature: the scheme, the reason, the peer, the tenant,
    /// the mode.
    fn event(
        &self,
        rejection: &Rejection,
        peer: Option<IpAddr>,
        key_id: Option<&str>,
        mode: &'static str,
    ) {
        let scheme = &*self.scheme;
        let reason = rejection.reason();
        let peer = peer.map(tracing::field::display);
        match rejection {
            Rejection::BodyRead(error) => tracing::info!(
                target: "tower_webhook",
                scheme,
                reason,
                peer,
                key_id,
                mode,
                error = %error,
                "webhook rejected"
            ),
            Rejection::UnknownPeer => tracing::warn!(
                target: "tower_webhook",
                scheme,
                reason,
                mode,
                hint = UNKNOWN_PEER_HINT,
                "webhook rejected"
            ),
            _ => tracing::warn!(
                target: "tower_webhook",
                scheme,
                reason,
                peer,
                key_id,
                mode,
                "webhook rejected"
            ),
        }
    }
}

/// `response` with its body's bytes, if the body is ready at once (any body axum builds from a
/// value); `None`, with an ERROR event, for one that would have to be awaited or fails.
#[cfg(feature = "axum")]
pub(crate) fn ready_response(response: axum::response::Response) -> Option<Response<Bytes>> {
    use std::task::{Context, Poll, Waker};

    use bytes::BytesMut;
    use http_body::Body as _;

    let (parts, mut body) = response.into_parts();
    let mut cx = Context::from_waker(Waker::noop());
    let mut bytes = BytesMut::new();
    // Bounded: a body that yields empty frames forever must not hold the thread.
    for _ in 0..1024 {
        match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(None) => return Some(Response::from_parts(parts, bytes.freeze())),
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Poll::Ready(Some(Err(_))) | Poll::Pending => break,
        }
    }
    tracing::error!(
        target: "tower_webhook",
        "on_rejection_into_response returned a body that is not ready at once; \
         answering with the default rejection instead"
    );
    None
}

#[cfg(all(test, feature = "axum"))]
mod tests {
    use std::{
        pin::Pin,
        task::{Context, Poll},
    };

    use http_body::Frame;

    use super::*;

    /// A body that never becomes ready.
    struct Waiting;

    impl http_body::Body for Waiting {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[test]
    fn a_user_response_for_an_unknown_key_is_made_as_for_a_wrong_signature() {
        let mut verdicts = Verdicts::new("test");
        verdicts.respond = Arc::new(|rejection: &Rejection| {
            Response::new(Bytes::from_static(rejection.reason().as_bytes()))
        });
        let unknown = verdicts.reject(&Rejection::UnknownKey, None, None);
        let wrong = verdicts.reject(&Rejection::InvalidSignature, None, Some("acme"));
        assert_eq!(unknown.body(), wrong.body());
        assert_eq!(unknown.body().as_ref(), b"invalid_signature");
    }

    #[test]
    fn a_ready_body_is_kept_whole_and_a_waiting_one_is_refused() {
        let mut response = axum::response::Response::new(axum::body::Body::from("{\"e\":1}"));
        *response.status_mut() = http::StatusCode::FORBIDDEN;
        response
            .headers_mut()
            .insert("x-kept", http::HeaderValue::from_static("yes"));
        let ready = ready_response(response).unwrap();
        assert_eq!(ready.status(), 403);
        assert_eq!(ready.headers()["x-kept"], "yes");
        assert_eq!(ready.body().as_ref(), b"{\"e\":1}");

        let waiting = axum::response::Response::new(axum::body::Body::new(Waiting));
        assert!(ready_response(waiting).is_none());
    }
}
