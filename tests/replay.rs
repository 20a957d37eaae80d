//! The replay guard with the in-memory store, behind a real axum server: duplicates of a
//! processed delivery, retries after a failure, deliveries in progress, 50 concurrent
//! duplicates, a misplaced guard, and an unreachable store.

mod support;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::{is_duplicate, resend, send, stripe_delivery};
use tokio::sync::Semaphore;
use tower_webhook::{
    presets,
    replay::{Claim, MemoryStore, ReplayGuardLayer, ReplayStore, StoreError, StoreFuture},
    sign::Message,
    WebhookSignatureLayer,
};

const SECRET: &str = "whsec_replay_test";

/// The handler's side of a test: how often it ran, and how it should answer.
#[derive(Clone, Default)]
struct Handler {
    calls: Arc<AtomicUsize>,
    fail_next: Arc<AtomicBool>,
    /// When set, each call waits for a permit.
    gate: Option<Arc<Semaphore>>,
}

impl Handler {
    fn gated() -> Self {
        Self {
            gate: Some(Arc::new(Semaphore::new(0))),
            ..Self::default()
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn router<St: ReplayStore>(&self, guard: Option<ReplayGuardLayer<St>>) -> Router {
        let handler = self.clone();
        let route = post(move |_body: Bytes| {
            let handler = handler.clone();
            async move {
                handler.calls.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = &handler.gate {
                    gate.acquire().await.unwrap().forget();
                }
                if handler.fail_next.swap(false, Ordering::SeqCst) {
                    (StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
                } else {
                    (StatusCode::OK, "handled")
                }
            }
        });
        let route = match guard {
            Some(guard) => route.layer(guard),
            None => route,
        };
        Router::new().route(
            "/hook",
            route.layer(WebhookSignatureLayer::new(presets::stripe(SECRET))),
        )
    }
}

async fn serve(handler: &Handler, guard: ReplayGuardLayer<MemoryStore>) -> SocketAddr {
    support::serve_axum(handler.router(Some(guard))).await
}

#[tokio::test]
async fn a_processed_delivery_is_answered_200_duplicate_without_the_handler() {
    let handler = Handler::default();
    let addr = serve(&handler, ReplayGuardLayer::new(MemoryStore::new(100))).await;
    let first = stripe_delivery(SECRET, r#"{"id":"evt_1"}"#);
    let replay = resend(&first, r#"{"id":"evt_1"}"#);
    let response = send(addr, first).await;
    assert_eq!(
        (response.0, response.2.as_ref()),
        (StatusCode::OK, b"handled".as_ref())
    );
    assert!(response.1.get("webhook-duplicate").is_none());
    assert!(is_duplicate(&send(addr, replay).await));
    assert_eq!(handler.calls(), 1);
    // Another delivery is processed.
    let (status, _, _) = send(addr, stripe_delivery(SECRET, r#"{"id":"evt_2"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(handler.calls(), 2);
}

#[tokio::test]
async fn a_failed_delivery_is_released_so_the_retry_is_processed() {
    let handler = Handler::default();
    let addr = serve(&handler, ReplayGuardLayer::new(MemoryStore::new(100))).await;
    let first = stripe_delivery(SECRET, r#"{"id":"evt_fail"}"#);
    let retry = resend(&first, r#"{"id":"evt_fail"}"#);
    let again = resend(&first, r#"{"id":"evt_fail"}"#);
    handler.fail_next.store(true, Ordering::SeqCst);
    let (status, _, _) = send(addr, first).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _, body) = send(addr, retry).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, b"handled".as_ref())
    );
    assert!(is_duplicate(&send(addr, again).await));
    assert_eq!(handler.calls(), 2);
}

#[tokio::test]
async fn a_duplicate_while_in_progress_is_409() {
    let handler = Handler::gated();
    let addr = serve(&handler, ReplayGuardLayer::new(MemoryStore::new(100))).await;
    let first = stripe_delivery(SECRET, r#"{"id":"evt_slow"}"#);
    let during = resend(&first, r#"{"id":"evt_slow"}"#);
    let after = resend(&first, r#"{"id":"evt_slow"}"#);
    let pending = tokio::spawn(send(addr, first));
    while handler.calls() == 0 {
        tokio::task::yield_now().await;
    }
    let (status, _, body) = send(addr, during).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::CONFLICT, b"delivery in progress\n".as_ref())
    );
    handler.gate.as_ref().unwrap().add_permits(1);
    assert_eq!(pending.await.unwrap().0, StatusCode::OK);
    assert!(is_duplicate(&send(addr, after).await));
    assert_eq!(handler.calls(), 1);
}

/// Sends 50 copies of one delivery at once; returns (processed, duplicates, in progress).
pub async fn fifty_at_once(addrs: &[SocketAddr], body: &'static str) -> (usize, usize, usize) {
    let first = stripe_delivery(SECRET, body);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let addr = addrs[i % addrs.len()];
        tasks.push(tokio::spawn(send(addr, resend(&first, body))));
    }
    let (mut processed, mut duplicates, mut in_progress) = (0, 0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        if is_duplicate(&response) {
            duplicates += 1;
        } else if response.0 == StatusCode::CONFLICT {
            in_progress += 1;
        } else {
            assert_eq!(
                (response.0, response.2.as_ref()),
                (StatusCode::OK, b"handled".as_ref())
            );
            processed += 1;
        }
    }
    (processed, duplicates, in_progress)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_are_processed_once() {
    let handler = Handler::gated();
    let addr = serve(&handler, ReplayGuardLayer::new(MemoryStore::new(100))).await;
    let gate = handler.gate.clone().unwrap();
    // Let the one call through only once every copy has been answered or is waiting on it.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        gate.add_permits(1);
    });
    let (processed, duplicates, in_progress) = fifty_at_once(&[addr], r#"{"id":"evt_50"}"#).await;
    release.await.unwrap();
    assert_eq!(processed, 1);
    assert_eq!(duplicates + in_progress, 49);
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn standard_webhooks_retries_are_one_delivery_by_their_webhook_id() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let route: axum::routing::MethodRouter = post(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "handled" }
    })
    .layer::<_, std::convert::Infallible>(ReplayGuardLayer::new(MemoryStore::new(10)))
    .layer(WebhookSignatureLayer::new(
        presets::standard_webhooks(secret).unwrap(),
    ));
    let addr = support::serve_axum(Router::new().route("/hook", route)).await;
    let scheme = presets::standard_webhooks(secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The sender's retry is signed again, a second later, under the same id.
    for (timestamp, duplicate) in [(now, false), (now + 1, true)] {
        let mut request = Request::post("/hook")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        request
            .headers_mut()
            .extend(scheme.sign_message(&Message::new(b"{}").id("msg_retry").timestamp(timestamp)));
        let response = send(addr, request).await;
        assert_eq!(is_duplicate(&response), duplicate, "{response:?}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_guard_outside_the_signature_layer_refuses_with_500() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let route: axum::routing::MethodRouter = post(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "handled" }
    })
    .layer::<_, std::convert::Infallible>(WebhookSignatureLayer::new(presets::stripe(SECRET)))
    .layer(ReplayGuardLayer::new(MemoryStore::new(10)));
    let addr = support::serve_axum(Router::new().route("/hook", route)).await;
    let (status, _, body) = send(addr, stripe_delivery(SECRET, "{}")).await;
    assert_eq!(
        (status, body.as_ref()),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            b"replay guard misconfigured\n".as_ref()
        )
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn chained_axum_layers_with_the_guards_call_first_process_each_delivery_once() {
    // axum wraps each `.layer` call around the ones before it: the last call runs first,
    // so the guard's call comes before the signature layer's, as its docs and its ERROR
    // event say.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = Router::new()
        .route(
            "/hook",
            post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { "handled" }
            }),
        )
        .layer(ReplayGuardLayer::new(MemoryStore::new(10)))
        .layer(WebhookSignatureLayer::new(presets::stripe(SECRET)));
    let addr = support::serve_axum(app).await;
    let first = stripe_delivery(SECRET, r#"{"id":"evt_chained"}"#);
    let again = resend(&first, r#"{"id":"evt_chained"}"#);
    let (status, _, body) = send(addr, first).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, b"handled".as_ref())
    );
    let response = send(addr, again).await;
    assert!(is_duplicate(&response), "{response:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A store that is always down.
struct Down;

impl ReplayStore for Down {
    fn claim<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
    fn complete<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::new("connection refused")) })
    }
}

#[tokio::test]
async fn an_unreachable_store_fails_closed_with_503_or_open_if_asked() {
    let handler = Handler::default();
    let closed = support::serve_axum(handler.router(Some(ReplayGuardLayer::new(Down)))).await;
    let (status, _, body) = send(closed, stripe_delivery(SECRET, "{}")).await;
    assert_eq!(
        (status, body.as_ref()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            b"replay store unavailable\n".as_ref()
        )
    );
    assert_eq!(handler.calls(), 0);

    let open =
        support::serve_axum(handler.router(Some(ReplayGuardLayer::new(Down).fail_open()))).await;
    let (status, _, body) = send(open, stripe_delivery(SECRET, "{}")).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, b"handled".as_ref())
    );
    assert_eq!(handler.calls(), 1);
}

#[tokio::test]
async fn bad_signatures_never_reach_the_store() {
    let handler = Handler::default();
    // Down would answer 503 if asked; a forged request must be 401 before that.
    let addr = support::serve_axum(handler.router(Some(ReplayGuardLayer::new(Down)))).await;
    let forged = Request::post("/hook")
        .header("stripe-signature", "t=1,v1=00")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let (status, _, _) = send(addr, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
