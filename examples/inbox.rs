//! Stripe and Shopify webhooks answered at once, processed durably: an inbox in a SQLite file
//! and a worker that takes 8 seconds per delivery, on 127.0.0.1:3004.
//!
//! ```sh
//! cargo run --example inbox --features axum,sqlite
//! ```
//!
//! It prints signed `curl` commands: each is answered `202 Accepted` at once, and the worker
//! prints the delivery 8 seconds later. Kill the example while a delivery waits (or while the
//! worker is in its 8 seconds) and run it again: the delivery is still there and is processed
//! (after the 30-second visibility timeout, if the worker was inside it). A Stripe event of
//! type `test.poison` fails every attempt and ends in the dead letters, which the admin routes
//! list and re-queue. `POST /admin/shutdown` stops the server and the worker gracefully: calls
//! in flight get 10 seconds, then their deliveries are released for the next run.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{Path, State},
    routing::{get, post},
    Extension, Json, Router,
};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tokio::sync::watch;
use tower_webhook::{
    inbox::{Attempt, IdempotencyKey, InboxLayer, InboxStore, SqliteInbox, Worker},
    presets,
    sign::Message,
    WebhookSignatureLayer,
};

// Demo secrets, used only when the environment does not provide real ones.
const DEMO_STRIPE_SECRET: &str = "whsec_demo-stripe-secret-NOT-FOR-PRODUCTION";
const DEMO_SHOPIFY_SECRET: &str = "demo-shopify-secret-NOT-FOR-PRODUCTION";

fn secret(var: &str, demo: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        println!("{var} is not set: using the DEMO secret {demo:?} (never in production)");
        demo.to_owned()
    })
}

/// The slow part: what you would have done in the handler, now run by the worker.
async fn process_stripe(
    Extension(key): Extension<IdempotencyKey>,
    Extension(Attempt(attempt)): Extension<Attempt>,
    Json(event): Json<serde_json::Value>,
) -> StatusCode {
    println!(
        "stripe: attempt {attempt} at {} ({key}): working for 8 s",
        event["id"]
    );
    tokio::time::sleep(Duration::from_secs(8)).await;
    if event["type"] == "test.poison" {
        println!("stripe: {} failed", event["id"]);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    // Here: apply the event and record `key` in the same transaction, so a second attempt
    // (after a crash at the wrong moment) does nothing.
    println!("stripe: {} done", event["id"]);
    StatusCode::NO_CONTENT
}

async fn process_shopify(
    Extension(Attempt(attempt)): Extension<Attempt>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let topic = headers
        .get("x-shopify-topic")
        .and_then(|topic| topic.to_str().ok())
        .unwrap_or("?");
    println!(
        "shopify: attempt {attempt}, topic {topic}, {} bytes: working for 8 s",
        body.len()
    );
    tokio::time::sleep(Duration::from_secs(8)).await;
    println!("shopify: {topic} done");
    StatusCode::OK
}

/// Dead letters, listed and re-queued, and a graceful shutdown (put your own authentication
/// in front of these).
fn admin(store: Arc<dyn InboxStore>, shutdown: Arc<watch::Sender<bool>>) -> Router {
    async fn list(
        State(store): State<Arc<dyn InboxStore>>,
    ) -> Result<Json<serde_json::Value>, StatusCode> {
        let dead = store
            .dead_letters(100)
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        let stats = store
            .stats()
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        Ok(Json(serde_json::json!({
            "pending": stats.pending,
            "oldest_pending_age_ms": stats.oldest_pending_age_ms,
            "dead": dead.iter().map(|letter| serde_json::json!({
                "id": letter.delivery().id(),
                "scheme": letter.delivery().scheme(),
                "attempts": letter.attempts(),
                "last_error": letter.last_error(),
                "dead_at_ms": letter.dead_at_ms(),
            })).collect::<Vec<_>>(),
        })))
    }
    async fn requeue(
        State(store): State<Arc<dyn InboxStore>>,
        Path(id): Path<String>,
    ) -> StatusCode {
        match store.requeue(&id).await {
            Ok(true) => StatusCode::NO_CONTENT,
            Ok(false) => StatusCode::NOT_FOUND,
            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    Router::new()
        .route("/admin/inbox", get(list))
        .route("/admin/inbox/dead/{id}/requeue", post(requeue))
        .with_state(store)
        .route(
            "/admin/shutdown",
            post(move || async move {
                shutdown.send_replace(true);
                StatusCode::ACCEPTED
            }),
        )
}

/// `-H 'Name: value'` for each header, as curl takes them.
fn curl_headers(headers: &HeaderMap) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("-H '{name}: {}'", value.to_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();

    let path = std::env::var_os("INBOX_DB").map_or_else(
        || std::env::temp_dir().join("tower-webhook-inbox-example.sqlite3"),
        Into::into,
    );
    let store = Arc::new(SqliteInbox::open(&path)?);
    println!("inbox: {}", path.display());

    let stripe = presets::stripe(secret("STRIPE_WEBHOOK_SECRET", DEMO_STRIPE_SECRET));
    let shopify = presets::shopify(secret("SHOPIFY_API_SECRET", DEMO_SHOPIFY_SECRET));
    let stripe_body = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    let poison_body = r#"{"id":"evt_poison","type":"test.poison"}"#;
    let shopify_body = r#"{"id":820982911946154508,"email":"jon@example.com"}"#;
    let stripe_headers = curl_headers(&stripe.sign_message(&Message::new(stripe_body.as_bytes())));
    let poison_headers = curl_headers(&stripe.sign_message(&Message::new(poison_body.as_bytes())));
    let shopify_headers =
        curl_headers(&shopify.sign_message(&Message::new(shopify_body.as_bytes())));

    let shutdown = Arc::new(watch::Sender::new(false));
    // Receiving: each route verifies, stores and answers 202; its own handler is not called.
    let inbox = |name: &str| InboxLayer::for_preset(store.clone(), presets::find(name).unwrap());
    let receiver = Router::new()
        .route(
            "/webhooks/stripe",
            post(|| async {})
                .route_layer(inbox("stripe")?)
                .route_layer(WebhookSignatureLayer::new(stripe)),
        )
        .route(
            "/webhooks/shopify",
            post(|| async {})
                .route_layer(inbox("shopify")?)
                .route_layer(WebhookSignatureLayer::new(shopify)),
        )
        .merge(admin(store.clone(), Arc::clone(&shutdown)));

    // Processing: the same routes with the slow handlers, two at a time.
    let handlers = Router::new()
        .route("/webhooks/stripe", post(process_stripe))
        .route("/webhooks/shopify", post(process_shopify));
    let stopped = |shutdown: &watch::Sender<bool>| {
        let mut stop = shutdown.subscribe();
        async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }
    };
    let worker = tokio::spawn(
        Worker::new(store, handlers)
            .concurrency(2)
            .max_attempts(3)
            .backoff(Duration::from_secs(1), Duration::from_secs(5))
            .visibility_timeout(Duration::from_secs(30))
            .shutdown_grace(Duration::from_secs(10))
            .run(stopped(&shutdown)),
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3004").await?;
    let addr: SocketAddr = listener.local_addr()?;
    println!("listening on http://{addr}\n");
    println!("# a signed Stripe webhook: 202 at once, processed 8 s later (again: 202, a duplicate, not stored):");
    println!(
        "curl -i http://{addr}/webhooks/stripe -H 'Content-Type: application/json' \
         {stripe_headers} --data-binary '{stripe_body}'\n"
    );
    println!("# a signed Shopify webhook: 202 at once, processed 8 s later:");
    println!(
        "curl -i http://{addr}/webhooks/shopify -H 'Content-Type: application/json' \
         -H 'X-Shopify-Topic: orders/create' {shopify_headers} --data-binary '{shopify_body}'\n"
    );
    println!("# a Stripe event that fails 3 times, then is a dead letter:");
    println!(
        "curl -i http://{addr}/webhooks/stripe -H 'Content-Type: application/json' \
         {poison_headers} --data-binary '{poison_body}'\n"
    );
    println!("# what waits, and the dead letters; re-queue one by its id:");
    println!("curl -s http://{addr}/admin/inbox");
    println!("curl -i -X POST http://{addr}/admin/inbox/dead/<id>/requeue\n");
    println!("# stop gracefully (the worker finishes or releases what it holds):");
    println!("curl -i -X POST http://{addr}/admin/shutdown\n");
    println!("# a tampered body (401, not stored):");
    println!(
        "curl -i http://{addr}/webhooks/stripe -H 'Content-Type: application/json' \
         {stripe_headers} --data-binary '{}'\n",
        stripe_body.replace("evt_1", "evt_2")
    );

    axum::serve(listener, receiver)
        .with_graceful_shutdown(stopped(&shutdown))
        .await?;
    println!("stopping: the worker's calls in flight get 10 s, the rest are released");
    worker.await?;
    Ok(())
}
