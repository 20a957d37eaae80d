//! Attacks on the inbox (issue #24) by someone with no secret: a captured delivery resent
//! (unchanged, re-signed by the sender, under another spelling of its tenant, or with its
//! unsigned id header edited) while the first copy is pending or dead, and another tenant's
//! signed copy of an event id. Each test asserts the safe outcome: one delivery stored.
//!
//! The captured requests are produced here with the secret (as the sender would), then only
//! their bytes are reused.

#![cfg(all(
    feature = "sqlite",
    feature = "axum",
    feature = "json",
    feature = "keys",
    feature = "inbox"
))]

#[cfg(feature = "redis")]
mod redis_inbox;
mod support;

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use tower::ServiceExt as _;
use tower_webhook::{
    inbox::{InboxLayer, InboxStore, SqliteInbox},
    keys::{FoundKeys, KeyError, KeyName, KeyResolver},
    presets,
    sign::Message,
    WebhookSignatureLayer,
};

const GITHUB_SECRET: &str = "github-inbox-attack-secret";

/// A SQLite file in a fresh directory, removed with it.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tower-webhook-attacks-inbox-{name}-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn open(&self) -> Arc<SqliteInbox> {
        Arc::new(SqliteInbox::open(self.0.join("inbox.sqlite3")).unwrap())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The signature layer, then the inbox, on `path`; the route's handler is never reached by a
/// verified request.
macro_rules! receiver {
    ($path:expr, $inbox:expr, $layer:expr $(,)?) => {
        Router::new()
            .route($path, post(|| async { "inline" }))
            .route_layer($inbox)
            .route_layer($layer)
    };
}

async fn send(app: &Router, uri: &str, headers: &HeaderMap, body: &str) -> StatusCode {
    let mut request = Request::post(uri)
        .header("content-type", "application/json")
        .body(axum::body::Body::new(Full::new(Bytes::copy_from_slice(
            body.as_bytes(),
        ))))
        .unwrap();
    request.headers_mut().extend(headers.clone());
    app.clone().oneshot(request).await.unwrap().status()
}

async fn pending_and_dead(store: &dyn InboxStore) -> (u64, u64) {
    let stats = store.stats().await.unwrap();
    (stats.pending, stats.dead)
}

/// A genuine GitHub delivery as captured: signed body and the sender's delivery header.
fn captured_github() -> (HeaderMap, &'static str) {
    let body = r#"{"action":"completed","check_run":{"id":42}}"#;
    let mut headers = presets::github(GITHUB_SECRET).sign_message(&Message::new(body.as_bytes()));
    headers.insert(
        "x-github-delivery",
        HeaderValue::from_static("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    );
    headers.insert("x-github-event", HeaderValue::from_static("check_run"));
    (headers, body)
}

/// `headers` with `X-GitHub-Delivery` (which the signature does not cover) set to `id`.
fn renamed(headers: &HeaderMap, id: &'static str) -> HeaderMap {
    let mut headers = headers.clone();
    headers.insert("x-github-delivery", HeaderValue::from_static(id));
    headers
}

fn github_receiver(store: Arc<dyn InboxStore>) -> Router {
    receiver!(
        "/hook",
        InboxLayer::for_preset(store, presets::find("github").unwrap()).unwrap(),
        WebhookSignatureLayer::new(presets::github(GITHUB_SECRET)),
    )
}

/// The genuine delivery is stored, fails every attempt and is dead-lettered; the attacker
/// resends the captured copy unchanged and with a new `X-GitHub-Delivery` (the inbox's id
/// for it, and the worker's idempotency key, come from that header). Each copy must be a
/// duplicate: stored, it would be processed now and the dead letter again on requeue, under
/// two idempotency keys.
async fn github_copies_of_a_dead_letter(store: Arc<dyn InboxStore>, expire_ids: impl AsyncFn()) {
    let app = github_receiver(Arc::clone(&store));
    let (headers, body) = captured_github();
    assert_eq!(
        send(&app, "/hook", &headers, body).await,
        StatusCode::ACCEPTED
    );
    let claimed = store
        .claim("w1", 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .dead_letter(&claimed[0], "the handler failed every time")
        .await
        .unwrap();
    assert_eq!(pending_and_dead(&*store).await, (0, 1));
    // The dead letter waits for an operator; the store's id retention passes meanwhile.
    expire_ids().await;
    for copy in [
        headers.clone(),
        renamed(&headers, "00000000-0000-0000-0000-000000000001"),
        renamed(&headers, "00000000-0000-0000-0000-000000000002"),
    ] {
        assert_eq!(send(&app, "/hook", &copy, body).await, StatusCode::ACCEPTED);
    }
    assert_eq!(
        pending_and_dead(&*store).await,
        (0, 1),
        "a copy of the dead letter was stored as a new delivery"
    );
    let dead = store.dead_letters(10).await.unwrap();
    assert!(store.requeue(dead[0].delivery().id()).await.unwrap());
    assert_eq!(pending_and_dead(&*store).await, (1, 0));
}

#[tokio::test]
async fn sqlite_github_copies_of_a_dead_letter_are_duplicates() {
    let db = TempDb::new("github-dead");
    // SQLite keeps a delivery's every id while its row exists: nothing expires.
    github_copies_of_a_dead_letter(db.open(), async || {}).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_github_copies_of_a_dead_letter_are_duplicates() {
    use tower_webhook::inbox::RedisInbox;
    let Some(redis) = support::redis_server::Redis::start("redis_github_copies_of_a_dead_letter")
    else {
        return;
    };
    let name = "attack-dead";
    let store = RedisInbox::connect(&redis.url()).await.unwrap().name(name);
    let port = redis.port;
    // Where the id TTL (7 days unless set) would have passed while the dead letter waits:
    // no `id:` key of a dead delivery may expire at all (their TTL starts when it completes).
    let expire = async move || {
        let keys =
            support::redis_server::redis_cli(port, &["--scan", "--pattern", "{attack-dead}:id:*"]);
        let keys: Vec<&str> = keys.lines().filter(|key| !key.is_empty()).collect();
        assert!(!keys.is_empty(), "the delivery's ids are kept as keys");
        for key in keys {
            let ttl = support::redis_server::redis_cli(port, &["PTTL", key]);
            assert_eq!(
                ttl.trim(),
                "-1",
                "{key} would expire while its delivery is dead"
            );
        }
    };
    github_copies_of_a_dead_letter(Arc::new(store), expire).await;
}

/// A case-insensitive tenant lookup (a MySQL column's default collation) with two tenants,
/// each holding its own secret.
fn tenants() -> KeyResolver {
    KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
        let secret = match tenant.to_ascii_lowercase().as_str() {
            "acme" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "evil" => Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
            _ => None,
        };
        Ok::<_, KeyError>(secret.map(FoundKeys::new))
    })
}

/// Stripe with a tenant per path, looked up ignoring case: acme's genuine delivery and the
/// sender's own retry of it, re-signed with a new timestamp.
fn stripe_tenant_receiver(db: &TempDb) -> (Router, Arc<SqliteInbox>, HeaderMap, HeaderMap) {
    let store = db.open();
    let app = receiver!(
        "/t/{tenant}",
        InboxLayer::for_preset(store.clone(), presets::find("stripe").unwrap()).unwrap(),
        WebhookSignatureLayer::new(presets::stripe(tenants())),
    );
    let acme = presets::stripe("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let first = acme.sign_message(&Message::new(STRIPE_BODY.as_bytes()).timestamp(now - 60));
    let retry = acme.sign_message(&Message::new(STRIPE_BODY.as_bytes()).timestamp(now));
    (app, store, first, retry)
}

const STRIPE_BODY: &str = r#"{"id":"evt_transfer_1","type":"payout.paid"}"#;

/// The sender's re-signed retry under the same spelling, and the captured first copy under
/// other spellings of the tenant, are one delivery.
#[tokio::test]
async fn a_re_signed_retry_or_a_respelled_copy_is_one_delivery() {
    let db = TempDb::new("respelled");
    let (app, store, first, retry) = stripe_tenant_receiver(&db);
    assert_eq!(
        send(&app, "/t/acme", &first, STRIPE_BODY).await,
        StatusCode::ACCEPTED
    );
    for (uri, headers) in [
        ("/t/acme", &retry),
        ("/t/ACME", &first),
        ("/t/%61cme", &first),
    ] {
        assert_eq!(
            send(&app, uri, headers, STRIPE_BODY).await,
            StatusCode::ACCEPTED,
            "{uri}"
        );
    }
    assert_eq!(pending_and_dead(&*store).await, (1, 0), "stored once");
}

/// The sender's re-signed retry (captured: Stripe retries an attempt that got no 2xx, e.g.
/// an append that timed out but completed) resent under another spelling of the tenant.
#[tokio::test]
async fn a_re_signed_retry_respelled_is_one_delivery() {
    let db = TempDb::new("respelled-retry");
    let (app, store, first, retry) = stripe_tenant_receiver(&db);
    assert_eq!(
        send(&app, "/t/acme", &first, STRIPE_BODY).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&app, "/t/Acme", &retry, STRIPE_BODY).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(pending_and_dead(&*store).await, (1, 0), "stored once");
}

/// A tenant holding its own secret signs deliveries naming another tenant's event id
/// (Stripe's body `id`) or message id (Standard Webhooks' `webhook-id`) before the real one
/// arrives: the real one must still be stored, not answered as a duplicate and dropped.
#[tokio::test]
async fn another_tenant_s_signed_ids_never_suppress_a_tenant_s_delivery() {
    let db = TempDb::new("suppress");
    let store = db.open();
    let acme_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let evil_secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    let stripe = receiver!(
        "/t/{tenant}",
        InboxLayer::for_preset(store.clone(), presets::find("stripe").unwrap()).unwrap(),
        WebhookSignatureLayer::new(presets::stripe(tenants())),
    );
    let body = r#"{"id":"evt_acme_next","type":"payout.paid"}"#;
    let evil = presets::stripe(evil_secret).sign_message(&Message::new(body.as_bytes()));
    let acme = presets::stripe(acme_secret).sign_message(&Message::new(body.as_bytes()));
    // Evil's copy under its own name, and under acme's (refused: evil's key is not acme's).
    assert_eq!(
        send(&stripe, "/t/evil", &evil, body).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&stripe, "/t/acme", &evil, body).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&stripe, "/t/acme", &acme, body).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(pending_and_dead(&*store).await, (2, 0), "acme's was stored");

    let standard = receiver!(
        "/s/t/{tenant}",
        InboxLayer::for_preset(store.clone(), presets::find("standard_webhooks").unwrap()).unwrap(),
        WebhookSignatureLayer::new(
            presets::standard_webhooks(KeyResolver::from_fn(
                KeyName::path("/s/t/{tenant}"),
                |tenant: String| async move {
                    let secret = match tenant.as_str() {
                        "acme" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                        "evil" => Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
                        _ => None,
                    };
                    Ok::<_, KeyError>(secret.map(FoundKeys::new))
                },
            ))
            .unwrap(),
        ),
    );
    let body = r#"{"type":"invoice.paid"}"#;
    let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let evil = presets::standard_webhooks(evil_secret)
        .unwrap()
        .sign_message(&Message::new(body.as_bytes()).id(id));
    let acme = presets::standard_webhooks(acme_secret)
        .unwrap()
        .sign_message(&Message::new(body.as_bytes()).id(id));
    assert_eq!(
        send(&standard, "/s/t/evil", &evil, body).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&standard, "/s/t/acme", &acme, body).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(pending_and_dead(&*store).await, (4, 0), "acme's was stored");
}
