//! The replay guard with a real Redis: two servers sharing one Redis, retries after a
//! failure, 50 concurrent duplicates across both, and Redis restarted under a running server.
//!
//! Each test starts its own `redis-server` (Debian package `redis-server`) on a free loopback
//! port and stops it afterwards. Without the binary the tests print a skip notice and pass,
//! so `cargo test --all-features` works on a machine without Redis; `.ci/run` installs it.
#![cfg(feature = "redis")]

mod support;

use std::{
    net::{SocketAddr, TcpStream},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::StatusCode;
use support::{
    is_duplicate, is_processed, redis_server::Redis, resend, retry_until_processed, send,
    send_concurrently, signed_attempt, stripe_delivery, unix_now,
};
use tower_webhook::{
    presets,
    replay::{RedisStore, ReplayGuardLayer},
    HmacScheme, WebhookSignatureLayer,
};

const SECRET: &str = "whsec_redis_replay_test";

#[derive(Clone, Default)]
struct Handler {
    calls: Arc<AtomicUsize>,
    fail_next: Arc<AtomicBool>,
    hang_next: Arc<AtomicBool>,
}

impl Handler {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A server with its own layers and its own connection to `redis`, as a separate instance.
async fn instance(redis: &Redis, handler: &Handler, fail_open: bool) -> SocketAddr {
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    let mut guard = ReplayGuardLayer::new(store);
    if fail_open {
        guard = guard.fail_open();
    }
    let route = |scheme: HmacScheme| -> axum::routing::MethodRouter {
        let handler = handler.clone();
        post(move |_body: Bytes| {
            let handler = handler.clone();
            async move {
                handler.calls.fetch_add(1, Ordering::SeqCst);
                if handler.hang_next.swap(false, Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                // Long enough for concurrent copies to overlap the claim.
                tokio::time::sleep(Duration::from_millis(50)).await;
                if handler.fail_next.swap(false, Ordering::SeqCst) {
                    (StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
                } else {
                    (StatusCode::OK, "handled")
                }
            }
        })
        .layer::<_, std::convert::Infallible>(guard.clone())
        .layer(WebhookSignatureLayer::new(scheme))
    };
    let app = Router::new()
        .route("/hook", route(presets::stripe(SECRET)))
        .route("/slack", route(presets::slack(SECRET)));
    support::serve_axum(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_re_signed_by_the_sender_are_duplicates_across_instances() {
    let Some(redis) =
        Redis::start("retries_re_signed_by_the_sender_are_duplicates_across_instances")
    else {
        return;
    };
    let handler = Handler::default();
    let a = instance(&redis, &handler, false).await;
    let b = instance(&redis, &handler, false).await;
    let now = unix_now();

    let stripe = presets::stripe(SECRET);
    let event = r#"{"id":"evt_across","object":"event"}"#;
    assert!(is_processed(
        &send(a, signed_attempt("/hook", &stripe, event, now)).await
    ));
    assert!(is_duplicate(
        &send(b, signed_attempt("/hook", &stripe, event, now + 20)).await
    ));

    let slack = presets::slack(SECRET);
    let event = r#"{"type":"event_callback","event_id":"Ev_across"}"#;
    assert!(is_processed(
        &send(b, signed_attempt("/slack", &slack, event, now)).await
    ));
    assert!(is_duplicate(
        &send(a, signed_attempt("/slack", &slack, event, now + 61)).await
    ));
    assert_eq!(handler.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_redis() {
    let Some(redis) = Redis::start("two_instances_share_one_redis") else {
        return;
    };
    let handler = Handler::default();
    let a = instance(&redis, &handler, false).await;
    let b = instance(&redis, &handler, false).await;

    // Processed by one, a duplicate on the other.
    let first = stripe_delivery(SECRET, r#"{"id":"evt_shared"}"#);
    let replay = resend(&first, r#"{"id":"evt_shared"}"#);
    assert!(is_processed(&send(a, first).await));
    assert!(is_duplicate(&send(b, replay).await));
    assert_eq!(handler.calls(), 1);

    // Failed on one: the retry on the other is processed, and then it is a duplicate.
    let failing = stripe_delivery(SECRET, r#"{"id":"evt_retry"}"#);
    let retry = resend(&failing, r#"{"id":"evt_retry"}"#);
    let again = resend(&failing, r#"{"id":"evt_retry"}"#);
    handler.fail_next.store(true, Ordering::SeqCst);
    assert_eq!(send(a, failing).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(is_processed(&send(b, retry).await));
    assert!(is_duplicate(&send(a, again).await));
    assert_eq!(handler.calls(), 3);

    // 50 copies at once, split between the two instances: processed exactly once.
    let body = r#"{"id":"evt_50"}"#;
    let original = stripe_delivery(SECRET, body);
    let copies = (0..50).map(|_| resend(&original, body)).collect();
    let processed = send_concurrently(a, b, copies).await;
    assert_eq!(processed, 1);
    assert_eq!(handler.calls(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_recovers_when_redis_restarts_under_a_running_server() {
    let Some(mut redis) =
        Redis::start("the_guard_recovers_when_redis_restarts_under_a_running_server")
    else {
        return;
    };
    let handler = Handler::default();
    let closed = instance(&redis, &handler, false).await;
    let open = instance(&redis, &handler, true).await;
    assert!(is_processed(
        &send(closed, stripe_delivery(SECRET, r#"{"id":"evt_before"}"#)).await
    ));

    redis.crash();
    // Down: fail closed answers 503 without calling the handler; fail open processes.
    let calls = handler.calls();
    let (status, _, body) = send(closed, stripe_delivery(SECRET, r#"{"id":"evt_down"}"#)).await;
    assert_eq!(
        (status, body.as_ref()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            b"replay store unavailable\n".as_ref()
        )
    );
    assert_eq!(handler.calls(), calls);
    assert!(is_processed(
        &send(open, stripe_delivery(SECRET, r#"{"id":"evt_down_open"}"#)).await
    ));

    redis.spawn();
    // Same servers, same layers: within a few seconds the connection is back.
    let body = r#"{"id":"evt_after"}"#;
    let delivery = stripe_delivery(SECRET, body);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = send(closed, resend(&delivery, body)).await;
        if is_processed(&response) {
            break;
        }
        assert_eq!(response.0, StatusCode::SERVICE_UNAVAILABLE, "{response:?}");
        assert!(Instant::now() < deadline, "the guard did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(is_duplicate(&send(closed, resend(&delivery, body)).await));
    assert!(is_duplicate(&send(open, resend(&delivery, body)).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_mid_handler_releases_its_redis_claim_at_once() {
    let Some(redis) =
        Redis::start("a_request_dropped_mid_handler_releases_its_redis_claim_at_once")
    else {
        return;
    };
    let handler = Handler::default();
    let a = instance(&redis, &handler, false).await;
    let b = instance(&redis, &handler, false).await;
    let now = unix_now();
    let stripe = presets::stripe(SECRET);
    let event = r#"{"id":"evt_dropped","object":"event"}"#;

    // The sender gives up on instance A while its handler hangs.
    handler.hang_next.store(true, Ordering::SeqCst);
    let first = tokio::time::timeout(
        Duration::from_millis(300),
        send(a, signed_attempt("/hook", &stripe, event, now)),
    )
    .await;
    assert!(
        first.is_err(),
        "the first attempt must still be in the handler"
    );

    // Its retry on instance B is processed within moments, not after the 60 s claim.
    retry_until_processed(b, || signed_attempt("/hook", &stripe, event, now + 1)).await;
    assert_eq!(handler.calls(), 2);
}

/// Sends one command to `redis` over its own connection; returns the raw reply.
fn redis_command(redis: &Redis, args: &[&str]) -> String {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    let mut command = format!("*{}\r\n", args.len());
    for arg in args {
        command.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(command.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut reply = vec![0; 64 * 1024];
    let read = stream.read(&mut reply).unwrap();
    String::from_utf8_lossy(&reply[..read]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttls_of_duration_max_are_held_to_what_redis_accepts_and_dedupe_still_works() {
    use tower_webhook::replay::{Claim, ReplayStore};

    let Some(redis) =
        Redis::start("ttls_of_duration_max_are_held_to_what_redis_accepts_and_dedupe_still_works")
    else {
        return;
    };
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    let guard = ReplayGuardLayer::new(store.clone())
        .in_progress_ttl(Duration::MAX)
        .done_ttl(Duration::MAX);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let route = post(move |_body: Bytes| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { (StatusCode::OK, "handled") }
    })
    .layer::<_, std::convert::Infallible>(guard)
    .layer(WebhookSignatureLayer::new(presets::stripe(SECRET)));
    let addr = support::serve_axum(Router::new().route("/hook", route)).await;

    let body = r#"{"id":"evt_forever"}"#;
    let first = stripe_delivery(SECRET, body);
    let again = resend(&first, body);
    assert!(is_processed(&send(addr, first).await));
    assert!(is_duplicate(&send(addr, again).await));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // The delivery is remembered for the longest `done_ttl`, 30 days.
    let keys = redis_command(&redis, &["KEYS", "tower-webhook:delivery:*"]);
    let keys: Vec<&str> = keys
        .lines()
        .filter(|line| line.starts_with("tower-webhook:"))
        .collect();
    assert!(!keys.is_empty());
    let thirty_days: u64 = 30 * 24 * 60 * 60 * 1000;
    for key in keys {
        let reply = redis_command(&redis, &["PTTL", key]);
        let left: u64 = reply.trim().trim_start_matches(':').parse().unwrap();
        assert!(
            thirty_days - 60_000 < left && left <= thirty_days,
            "{key}: {left} ms"
        );
    }

    // The store itself takes any TTL, held to what Redis accepts.
    assert_eq!(
        store.claim("direct", "t", Duration::MAX).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim("direct", "u", Duration::MAX).await.unwrap(),
        Claim::InProgress
    );
    store.complete("direct", Duration::MAX).await.unwrap();
    assert_eq!(
        store.claim("direct", "u", Duration::ZERO).await.unwrap(),
        Claim::Done
    );
    store.complete("brief", Duration::ZERO).await.unwrap();
}
