//! The layer's metrics in Prometheus' text format, on 127.0.0.1:3003.
//!
//! ```sh
//! cargo run --example metrics --features axum,metrics
//! ```
//!
//! `POST /webhooks/loopwise` verifies Loopwise webhooks (the demo key) behind the replay
//! guard; `GET /metrics` is what Prometheus scrapes: `webhook_requests_total`,
//! `webhook_body_size_bytes`, `webhook_verification_duration_seconds`,
//! `webhook_body_budget_rejections_total` and `webhook_replay_total`, each with its `HELP`
//! line, the two histograms with buckets. It prints `curl` commands for a verified webhook, a
//! forged one, and the scrape.

use std::net::SocketAddr;

use axum::{
    routing::{get, post},
    Router,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tower::ServiceBuilder;
use tower_webhook::{presets, replay::ReplayGuardLayer, sign::Message, WebhookSignatureLayer};

const DEMO_KEY: &str = "demo-loopwise-signing-key-NOT-FOR-PRODUCTION";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Any `metrics` recorder works; this one keeps the values for `/metrics` to render.
    // Buckets make the two histograms Prometheus histograms (`_bucket{le=..}` series that
    // can be aggregated across instances) rather than the exporter's default summaries.
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("webhook_verification_duration_seconds".into()),
            &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ],
        )?
        .set_buckets_for_metric(
            Matcher::Full("webhook_body_size_bytes".into()),
            &[
                256.0,
                1024.0,
                4096.0,
                16384.0,
                65536.0,
                262_144.0,
                1_048_576.0,
                2_097_152.0,
            ],
        )?
        .install_recorder()?;

    let key = std::env::var("LOOPWISE_SIGNING_KEY").unwrap_or_else(|_| DEMO_KEY.to_owned());
    let app = Router::new()
        .route(
            "/webhooks/loopwise",
            post(|body: String| async move { format!("ok, {} bytes\n", body.len()) }).layer(
                ServiceBuilder::new()
                    .layer(WebhookSignatureLayer::new(presets::loopwise(&key)))
                    .layer(ReplayGuardLayer::default()),
            ),
        )
        .route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        );

    let addr = SocketAddr::from(([127, 0, 0, 1], 3003));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let body = r#"{"event":"order.paid","data":{"id":"ord_123"}}"#;
    let signature = presets::loopwise(&key).sign_message(&Message::new(body.as_bytes()));
    let signature = signature
        .get("loopwise-webhook-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    println!("listening on http://{addr}\n");
    println!("# a verified webhook (200), then the same again (a duplicate):");
    println!("curl -i http://{addr}/webhooks/loopwise -H 'loopwise-webhook-signature: {signature}' --data-binary '{body}'\n");
    println!("# a forged one (401):");
    println!("curl -i http://{addr}/webhooks/loopwise -H 'loopwise-webhook-signature: {}' --data-binary '{body}'\n", "0".repeat(64));
    println!("# what Prometheus scrapes:");
    println!("curl http://{addr}/metrics");
    axum::serve(listener, app).await?;
    Ok(())
}
