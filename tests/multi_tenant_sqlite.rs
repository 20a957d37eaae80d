//! A secret per tenant in a real SQLite file, looked up per request through a real axum
//! server: the set-up of `examples/multi_tenant.rs`, checked case by case.
#![cfg(all(feature = "keys", feature = "axum"))]

mod support;

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, UNIX_EPOCH},
};

use axum::{routing::post, Extension, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use support::{send, serve_axum};
use tower_webhook::{
    keys::{FoundKeys, KeyError, KeyName, KeyResolver},
    presets,
    sign::Message,
    Verified, WebhookSignatureLayer,
};

const BODY: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
const TTL: Duration = Duration::from_secs(60);

/// A tenants database in a fresh file, removed when dropped.
struct Database {
    path: PathBuf,
}

impl Database {
    fn new(tenants: &[(&str, &str)]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tower-webhook-tenants-{}-{}.db",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_file(&path);
        let database = Self { path };
        database.write(tenants);
        database
    }

    fn write(&self, tenants: &[(&str, &str)]) {
        let _ = std::fs::remove_file(&self.path);
        let connection = Connection::open(&self.path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE tenants (account TEXT PRIMARY KEY, signing_secret TEXT NOT NULL)",
            )
            .unwrap();
        for (account, secret) in tenants {
            connection
                .execute(
                    "INSERT INTO tenants (account, signing_secret) VALUES (?1, ?2)",
                    (account, secret),
                )
                .unwrap();
        }
    }

    fn set_secret(&self, account: &str, secret: &str) {
        Connection::open(&self.path)
            .unwrap()
            .execute(
                "UPDATE tenants SET signing_secret = ?2 WHERE account = ?1",
                (account, secret),
            )
            .unwrap();
    }

    /// Replaces the file with bytes that are not a database, as a broken volume would.
    fn break_file(&self) {
        std::fs::write(&self.path, vec![0x5a; 8192]).unwrap();
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn secret_of(path: PathBuf, account: String) -> Result<Option<FoundKeys>, KeyError> {
    let secret = tokio::task::spawn_blocking(move || {
        let connection = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        connection
            .query_row(
                "SELECT signing_secret FROM tenants WHERE account = ?1",
                [account],
                |row| row.get::<_, String>(0),
            )
            .optional()
    })
    .await
    .map_err(KeyError::new)?
    .map_err(KeyError::new)?;
    Ok(secret.map(FoundKeys::new))
}

/// A real server whose Stripe route takes each account's secret from `database`, with a
/// cache clock the test moves by hand.
async fn server(database: &Path, now: &Arc<AtomicU64>) -> std::net::SocketAddr {
    let path = database.to_owned();
    let clock = Arc::clone(now);
    let tenants = KeyResolver::from_fn(
        KeyName::path("/webhooks/stripe/{account}"),
        move |account: String| secret_of(path.clone(), account),
    )
    .ttl(TTL)
    .clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst)));
    let app = Router::new()
        .route(
            "/webhooks/stripe/{account}",
            post(
                |Extension(verified): Extension<Verified>, body: String| async move {
                    format!("{} {body}", verified.key_id().unwrap_or_default())
                },
            ),
        )
        .layer(WebhookSignatureLayer::new(presets::stripe(tenants)));
    serve_axum(app).await
}

async fn deliver(addr: std::net::SocketAddr, account: &str, secret: &str) -> (StatusCode, String) {
    let mut request = Request::post(format!("/webhooks/stripe/{account}"))
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .unwrap();
    request
        .headers_mut()
        .extend(presets::stripe(secret).sign_message(&Message::new(BODY.as_bytes())));
    let (status, _, body) = send(addr, request).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn start_clock() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(1_700_000_000))
}

#[tokio::test]
async fn each_tenant_verifies_under_its_secret_from_the_database_and_not_another() {
    let database = Database::new(&[("acct_a", "whsec_a"), ("acct_b", "whsec_b")]);
    let addr = server(&database.path, &start_clock()).await;

    assert_eq!(
        deliver(addr, "acct_a", "whsec_a").await,
        (StatusCode::OK, format!("acct_a {BODY}"))
    );
    assert_eq!(
        deliver(addr, "acct_b", "whsec_b").await,
        (StatusCode::OK, format!("acct_b {BODY}"))
    );
    let refused = (
        StatusCode::UNAUTHORIZED,
        "invalid webhook signature\n".to_owned(),
    );
    assert_eq!(deliver(addr, "acct_a", "whsec_b").await, refused);
    assert_eq!(deliver(addr, "acct_nobody", "whsec_a").await, refused);
}

#[tokio::test]
async fn an_unreadable_database_gets_503_until_it_is_back() {
    let database = Database::new(&[("acct_a", "whsec_a")]);
    let now = start_clock();
    let addr = server(&database.path, &now).await;

    database.break_file();
    let (status, body) = deliver(addr, "acct_a", "whsec_a").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "webhook keys unavailable, retry later\n");

    database.write(&[("acct_a", "whsec_a")]);
    assert_eq!(
        deliver(addr, "acct_a", "whsec_a").await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "the failure is remembered for a second, so a down database is not stampeded"
    );
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(deliver(addr, "acct_a", "whsec_a").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_secret_changed_in_the_database_is_used_after_the_ttl() {
    let database = Database::new(&[("acct_a", "whsec_old")]);
    let now = start_clock();
    let addr = server(&database.path, &now).await;

    assert_eq!(deliver(addr, "acct_a", "whsec_old").await.0, StatusCode::OK);
    database.set_secret("acct_a", "whsec_new");
    now.fetch_add(TTL.as_secs() - 1, Ordering::SeqCst);
    assert_eq!(
        deliver(addr, "acct_a", "whsec_old").await.0,
        StatusCode::OK,
        "still cached"
    );
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(deliver(addr, "acct_a", "whsec_new").await.0, StatusCode::OK);
    assert_eq!(
        deliver(addr, "acct_a", "whsec_old").await.0,
        StatusCode::UNAUTHORIZED
    );
}
