//! The sending side: signs webhooks with `WebhookSigningLayer` and sends them to the axum
//! example server.
//!
//! ```sh
//! cargo run --example axum --features axum   # in one terminal
//! cargo run --example send                   # in another
//! ```
//!
//! It uses the axum example's demo secrets unless `LOOPWISE_SIGNING_KEY` and
//! `STRIPE_WEBHOOK_SECRET` are set (to the same values as for the server). Each line says
//! what the server should answer: the last delivery is a forgery, and its `401` is the
//! expected answer.

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tower::{ServiceBuilder, ServiceExt};
use tower_webhook::{body::BufferedBody, presets, sign::WebhookSigningLayer, HmacScheme};

const DEMO_LOOPWISE_KEY: &str = "demo-loopwise-signing-key-NOT-FOR-PRODUCTION";
const DEMO_STRIPE_SECRET: &str = "whsec_demo-stripe-secret-NOT-FOR-PRODUCTION";

/// Sends `body` to `url` signed by `scheme`, and prints what came back against what was
/// `expected` (the last delivery is refused on purpose).
async fn send(
    what: &str,
    scheme: HmacScheme,
    url: &str,
    body: &str,
    expected: StatusCode,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let client = Client::builder(TokioExecutor::new()).build_http::<BufferedBody>();
    let sender = ServiceBuilder::new()
        .layer(WebhookSigningLayer::new(scheme))
        .service(client);
    let request = Request::post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())?;
    let response = sender.oneshot(request).await?;
    let status = response.status();
    let text = response.into_body().collect().await?.to_bytes();
    let verdict = if status == expected {
        String::from("as expected")
    } else {
        format!("UNEXPECTED: expected {expected}")
    };
    println!(
        "{what}\n  {url} -> {status} {:?} ({verdict})",
        String::from_utf8_lossy(&text).trim_end()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let loopwise_key =
        std::env::var("LOOPWISE_SIGNING_KEY").unwrap_or_else(|_| DEMO_LOOPWISE_KEY.into());
    let stripe_secret =
        std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_else(|_| DEMO_STRIPE_SECRET.into());

    send(
        "a Loopwise delivery, signed with the server's key:",
        presets::loopwise(&loopwise_key),
        "http://127.0.0.1:3000/webhooks/loopwise",
        r#"{"event":"order.paid","data":{"id":"ord_456","amount":990}}"#,
        StatusCode::OK,
    )
    .await?;
    send(
        "a Stripe delivery, signed with the server's secret:",
        presets::stripe(&stripe_secret),
        "http://127.0.0.1:3000/webhooks/stripe",
        r#"{"id":"evt_2","type":"charge.refunded"}"#,
        StatusCode::OK,
    )
    .await?;
    send(
        "a forgery, on purpose: signed with a secret the server does not have, so refused:",
        presets::stripe("whsec_not_the_servers_secret"),
        "http://127.0.0.1:3000/webhooks/stripe",
        r#"{"id":"evt_3","type":"charge.refunded"}"#,
        StatusCode::UNAUTHORIZED,
    )
    .await?;
    Ok(())
}
