//! Exactly once for real retries, with the in-memory store behind a real axum server: senders
//! that re-sign each attempt are deduplicated by their event id, an edited unsigned id does
//! not make a replay new, and a request that dies releases its claim at once.

mod support;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use support::{is_duplicate, is_processed, retry_until_processed, send, signed_attempt, unix_now};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_webhook::{
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    sign::Message,
    HmacScheme, WebhookSignatureLayer,
};

const SECRET: &str = "whsec_retries_test";

/// How often the handler ran; it panics on its first call when told to, and otherwise
/// hangs on its first call when told to.
#[derive(Clone, Default)]
struct Handler {
    calls: Arc<AtomicUsize>,
    panic_first: bool,
    hang_first: bool,
}

impl Handler {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// A server at `/hook` with `scheme`, the replay guard and this handler; a catch-panic
    /// layer outside them all, as a server that survives handler panics has.
    async fn serve(&self, scheme: HmacScheme) -> SocketAddr {
        let handler = self.clone();
        let route = post(move |_body: Bytes| {
            let handler = handler.clone();
            async move {
                let call = handler.calls.fetch_add(1, Ordering::SeqCst);
                if call == 0 && handler.panic_first {
                    panic!("the handler failed");
                }
                if call == 0 && handler.hang_first {
                    std::future::pending::<()>().await;
                }
                "handled"
            }
        });
        let layers = ServiceBuilder::new()
            .layer(CatchPanicLayer::new())
            .layer(WebhookSignatureLayer::new(scheme))
            .layer(ReplayGuardLayer::new(MemoryStore::new(1_000)));
        support::serve_axum(Router::new().route("/hook", route.layer(layers))).await
    }
}

/// `body` to `/hook` with `headers`.
fn request(body: &'static str, headers: HeaderMap) -> Request<Full<Bytes>> {
    let mut request = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

/// `body` to `/hook` signed by `scheme` at `timestamp`.
fn attempt(scheme: &HmacScheme, body: &'static str, timestamp: u64) -> Request<Full<Bytes>> {
    signed_attempt("/hook", scheme, body, timestamp)
}

#[tokio::test]
async fn a_stripe_retry_re_signed_with_a_new_timestamp_is_a_duplicate() {
    let handler = Handler::default();
    let stripe = presets::stripe(SECRET);
    let addr = handler.serve(stripe.clone()).await;
    let event = r#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"invoice.paid"}"#;

    assert!(is_processed(
        &send(addr, attempt(&stripe, event, unix_now())).await
    ));
    let retry = send(addr, attempt(&stripe, event, unix_now() + 20)).await;
    assert!(is_duplicate(&retry), "{retry:?}");
    assert_eq!(handler.calls(), 1);

    let next = r#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWz","object":"event","type":"invoice.paid"}"#;
    assert!(is_processed(
        &send(addr, attempt(&stripe, next, unix_now())).await
    ));
    assert_eq!(handler.calls(), 2);
}

#[tokio::test]
async fn a_slack_retry_re_signed_with_a_new_timestamp_is_a_duplicate() {
    let handler = Handler::default();
    let slack = presets::slack(SECRET);
    let addr = handler.serve(slack.clone()).await;
    let event =
        r#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention"}}"#;

    assert!(is_processed(
        &send(addr, attempt(&slack, event, unix_now())).await
    ));
    let mut retry = attempt(&slack, event, unix_now() + 61);
    retry
        .headers_mut()
        .insert("x-slack-retry-num", "1".parse().unwrap());
    assert!(is_duplicate(&send(addr, retry).await));
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn a_body_without_an_event_id_is_named_by_its_signature() {
    // Slack's slash commands are forms, not JSON: the same attempt is a duplicate, a
    // re-signed one cannot be recognized.
    let handler = Handler::default();
    let slack = presets::slack(SECRET);
    let addr = handler.serve(slack.clone()).await;
    let form = "command=%2Fweather&text=94070";
    let at = unix_now();

    assert!(is_processed(&send(addr, attempt(&slack, form, at)).await));
    assert!(is_duplicate(&send(addr, attempt(&slack, form, at)).await));
    assert!(is_processed(
        &send(addr, attempt(&slack, form, at + 1)).await
    ));
    assert_eq!(handler.calls(), 2);
}

#[tokio::test]
async fn a_github_replay_with_an_edited_delivery_header_is_still_a_duplicate() {
    let handler = Handler::default();
    let github = presets::github(SECRET);
    let addr = handler.serve(github.clone()).await;
    let body = r#"{"action":"opened","number":7}"#;
    let delivery = |id: &str| {
        let mut headers = github.sign_message(&Message::new(body.as_bytes()));
        headers.insert("x-github-delivery", id.parse().unwrap());
        request(body, headers)
    };

    assert!(is_processed(
        &send(addr, delivery("72d3162e-cc78-11e3-81ab-4c9367dc0958")).await
    ));
    // The same delivery id again (GitHub's redelivery), and the captured request with the
    // unsigned header edited: both duplicates.
    assert!(is_duplicate(
        &send(addr, delivery("72d3162e-cc78-11e3-81ab-4c9367dc0958")).await
    ));
    assert!(is_duplicate(
        &send(addr, delivery("00000000-0000-0000-0000-000000000000")).await
    ));
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn two_events_with_identical_bodies_under_a_body_only_sender_are_one_delivery() {
    // Loopwise signs only the body and sends no event id: the same body is the same
    // signature, and the guard cannot tell a second event from a replay of the first.
    let handler = Handler::default();
    let loopwise = presets::loopwise(SECRET);
    let addr = handler.serve(loopwise.clone()).await;
    let body = r#"{"event":"order.paid","data":{"id":"ord_123","amount":4200}}"#;

    assert!(is_processed(
        &send(addr, attempt(&loopwise, body, unix_now())).await
    ));
    assert!(is_duplicate(
        &send(addr, attempt(&loopwise, body, unix_now())).await
    ));
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn a_handler_that_panics_releases_its_claim_at_once() {
    let handler = Handler {
        panic_first: true,
        ..Handler::default()
    };
    let stripe = presets::stripe(SECRET);
    let addr = handler.serve(stripe.clone()).await;
    let event = r#"{"id":"evt_panics","object":"event"}"#;

    let first = send(addr, attempt(&stripe, event, unix_now())).await;
    assert_eq!(first.0, StatusCode::INTERNAL_SERVER_ERROR);
    // The retry comes at once, long before the 60 s in-progress claim would lapse.
    let retry = send(addr, attempt(&stripe, event, unix_now() + 1)).await;
    assert!(is_processed(&retry), "{retry:?}");
    assert_eq!(handler.calls(), 2);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_handler_releases_its_claim_at_once() {
    let handler = Handler {
        hang_first: true,
        ..Handler::default()
    };
    let stripe = presets::stripe(SECRET);
    let addr = handler.serve(stripe.clone()).await;
    let event = r#"{"id":"evt_disconnects","object":"event"}"#;

    // The sender gives up while the handler works, and closes the connection.
    let first = tokio::time::timeout(
        Duration::from_millis(300),
        send(addr, attempt(&stripe, event, unix_now())),
    )
    .await;
    assert!(
        first.is_err(),
        "the first attempt must still be in the handler"
    );
    assert_eq!(handler.calls(), 1);

    // Its retry is processed, not answered 409 "in progress" for the next 60 s.
    retry_until_processed(addr, || attempt(&stripe, event, unix_now())).await;
    assert_eq!(handler.calls(), 2);
}

/// A memory store whose first `failures` attempts to record a delivery as done fail, as a
/// store that restarts right after the handler ran.
#[cfg(feature = "tokio")]
struct Flaky {
    inner: MemoryStore,
    failures: AtomicUsize,
}

#[cfg(feature = "tokio")]
impl tower_webhook::replay::ReplayStore for Flaky {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> tower_webhook::replay::StoreFuture<'a, tower_webhook::replay::Claim> {
        self.inner.claim(key, token, ttl)
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> tower_webhook::replay::StoreFuture<'a, ()> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Box::pin(async {
                Err(tower_webhook::replay::StoreError::new("connection reset"))
            });
        }
        self.inner.complete(key, ttl)
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
    ) -> tower_webhook::replay::StoreFuture<'a, ()> {
        self.inner.release(key, token)
    }
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn a_done_record_that_fails_is_written_once_the_store_answers_again() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let route = post(move |_body: Bytes| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "handled" }
    });
    let store = Flaky {
        inner: MemoryStore::new(100),
        failures: AtomicUsize::new(2),
    };
    let layers = ServiceBuilder::new()
        .layer(WebhookSignatureLayer::new(presets::stripe(SECRET)))
        .layer(ReplayGuardLayer::new(store));
    let addr = support::serve_axum(Router::new().route("/hook", route.layer(layers))).await;
    let stripe = presets::stripe(SECRET);
    let event = r#"{"id":"evt_recorded_late","object":"event"}"#;

    assert!(is_processed(
        &send(addr, attempt(&stripe, event, unix_now())).await
    ));
    // Until the record lands the claim holds (409); then the retry is a duplicate, never
    // processed a second time.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let retry = send(addr, attempt(&stripe, event, unix_now())).await;
        if is_duplicate(&retry) {
            break;
        }
        assert_eq!(retry.0, StatusCode::CONFLICT, "{retry:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the record never landed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
