//! A real webhook receiver for Loopwise, Loop Returns and Stripe, on 127.0.0.1:3000.
//!
//! ```sh
//! cargo run --example axum --features axum
//! ```
//!
//! It prints ready-to-paste `curl` commands signed by the crate's signing side, and
//! `cargo run --example send` sends signed webhooks to it. Set `LOOPWISE_SIGNING_KEY`,
//! `LOOP_WEBHOOK_SECRET` and `STRIPE_WEBHOOK_SECRET` to use real secrets. Rejections are
//! printed as `tracing` events.

use std::net::SocketAddr;

use axum::{routing::post, Extension, Json, Router};
use http::HeaderMap;
use tower::ServiceBuilder;
use tower_webhook::{
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    sign::Message,
    IpAllowlist, Verified, WebhookSignatureLayer,
};

// Demo secrets, used only when the environment does not provide real ones;
// `examples/send.rs` signs with the same ones.
const DEMO_LOOPWISE_KEY: &str = "demo-loopwise-signing-key-NOT-FOR-PRODUCTION";
const DEMO_LOOP_SECRET: &str = "demo-loop-secret-NOT-FOR-PRODUCTION";
const DEMO_STRIPE_SECRET: &str = "whsec_demo-stripe-secret-NOT-FOR-PRODUCTION";

async fn handle_loopwise(
    Extension(verified): Extension<Verified>,
    Json(event): Json<serde_json::Value>,
) -> &'static str {
    println!(
        "loopwise: verified with key #{}: event {}",
        verified.key_index(),
        event["event"]
    );
    "ok\n"
}

async fn handle_loop(body: String) -> &'static str {
    println!("loop: verified: {body}");
    "ok\n"
}

async fn handle_stripe(Json(event): Json<serde_json::Value>) -> &'static str {
    println!("stripe: verified: event {}", event["type"]);
    "ok\n"
}

/// `-H 'Name: value'` for each header, as curl takes them.
fn curl_headers(headers: &HeaderMap) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("-H '{name}: {}'", value.to_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn secret(var: &str, demo: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        println!("{var} is not set: using the DEMO secret {demo:?} (never in production)");
        demo.to_owned()
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();

    let loopwise = presets::loopwise(secret("LOOPWISE_SIGNING_KEY", DEMO_LOOPWISE_KEY));
    let loop_returns = presets::loop_returns(secret("LOOP_WEBHOOK_SECRET", DEMO_LOOP_SECRET));
    let stripe = presets::stripe(secret("STRIPE_WEBHOOK_SECRET", DEMO_STRIPE_SECRET));

    // Loopwise's own address, plus loopback so the example can be tried locally.
    let loopwise_senders: IpAllowlist =
        format!("{}, 127.0.0.1, ::1", presets::LOOPWISE_IPS).parse()?;

    let loopwise_body = r#"{"event":"order.paid","data":{"id":"ord_123","amount":4200}}"#;
    let loop_body = r#"{"topic":"return","trigger":"return.created","id":9912}"#;
    let stripe_body = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    let loopwise_headers =
        curl_headers(&loopwise.sign_message(&Message::new(loopwise_body.as_bytes())));
    let loop_headers =
        curl_headers(&loop_returns.sign_message(&Message::new(loop_body.as_bytes())));
    let stripe_headers = curl_headers(&stripe.sign_message(&Message::new(stripe_body.as_bytes())));

    let app = Router::new()
        .route(
            "/webhooks/loopwise",
            post(handle_loopwise).layer(
                WebhookSignatureLayer::new(loopwise)
                    .allow_ips(loopwise_senders)
                    .max_body_size(1 << 20),
            ),
        )
        .route(
            "/webhooks/loop",
            post(handle_loop).layer(WebhookSignatureLayer::new(loop_returns)),
        )
        .route(
            "/webhooks/stripe",
            // Verify first, then process each delivery once: a resent one is answered
            // `200 duplicate` without calling the handler.
            post(handle_stripe).layer(
                ServiceBuilder::new()
                    .layer(WebhookSignatureLayer::new(stripe))
                    .layer(ReplayGuardLayer::new(MemoryStore::default())),
            ),
        );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}\n");
    println!("# a signed Loopwise webhook (200):");
    println!(
        "curl -i http://{addr}/webhooks/loopwise -H 'Content-Type: application/json' \
         {loopwise_headers} --data-binary '{loopwise_body}'\n"
    );
    println!("# a signed Loop Returns webhook (200):");
    println!("curl -i http://{addr}/webhooks/loop {loop_headers} --data-binary '{loop_body}'\n");
    println!(
        "# a signed Stripe webhook (200 for the next 5 minutes, then 401: its timestamp is signed;"
    );
    println!("# sent again, 200 with `webhook-duplicate: true` and the handler is not called):");
    println!(
        "curl -i http://{addr}/webhooks/stripe -H 'Content-Type: application/json' \
         {stripe_headers} --data-binary '{stripe_body}'\n"
    );
    println!("# a tampered body (401):");
    println!(
        "curl -i http://{addr}/webhooks/loopwise -H 'Content-Type: application/json' \
         {loopwise_headers} --data-binary '{}'\n",
        loopwise_body.replace("4200", "1")
    );
    println!("# or send signed webhooks from Rust: cargo run --example send\n");

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
