//! An Amazon SNS HTTP/S subscriber on 127.0.0.1:3004 that confirms its own subscription.
//!
//! ```sh
//! SNS_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:orders \
//!   cargo run --example sns --features axum,sns
//! ```
//!
//! `POST /webhooks/sns` accepts messages from that topic only, each verified by the layer:
//! its signature under the certificate at `SigningCertURL`, fetched from
//! `sns.<region>.amazonaws.com` only and validated to a trusted root. What reaches the
//! handler is a genuine SNS message, so a `SubscriptionConfirmation`'s `SubscribeURL` can be
//! visited to confirm; this handler does that (still checking the host), and prints each
//! `Notification`. Anything forged gets `401` before the handler runs.

use std::net::SocketAddr;

use axum::{extract::State, http::StatusCode, routing::post, Router};
use bytes::Bytes;
use serde_json::Value;
use tower_webhook::{
    keys::{AllowedHosts, Fetcher},
    presets,
    scheme::SNS_CERT_HOSTS,
    WebhookSignatureLayer,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let topic = std::env::var("SNS_TOPIC_ARN")
        .unwrap_or_else(|_| "arn:aws:sns:us-east-1:123456789012:orders".to_owned());
    let app = Router::new()
        .route(
            "/webhooks/sns",
            post(receive).layer(WebhookSignatureLayer::new(presets::sns([topic.clone()]))),
        )
        .with_state(Fetcher::new());

    let addr = SocketAddr::from(([127, 0, 0, 1], 3004));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("Amazon SNS subscriber for {topic} on http://{addr}/webhooks/sns");
    println!("Subscribe its public HTTPS URL to the topic; forged messages get 401:");
    println!(
        "  curl -i -X POST http://{addr}/webhooks/sns -H 'x-amz-sns-message-type: Notification' \
         -H 'x-amz-sns-topic-arn: {topic}' -d '{{\"Type\":\"Notification\"}}'"
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

/// A verified SNS message: confirm a subscription, print a notification.
async fn receive(State(fetcher): State<Fetcher>, body: Bytes) -> StatusCode {
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    match message["Type"].as_str() {
        Some("SubscriptionConfirmation") => {
            let Some(url) = message["SubscribeURL"].as_str() else {
                return StatusCode::BAD_REQUEST;
            };
            // Signed by SNS, so genuine; the host is checked all the same.
            let sns_hosts = AllowedHosts::new(SNS_CERT_HOSTS).expect("SNS's hosts parse");
            let Ok(uri) = url.parse() else {
                return StatusCode::BAD_REQUEST;
            };
            if !sns_hosts.allows(url) {
                return StatusCode::BAD_REQUEST;
            }
            match fetcher.get(&uri).await {
                Ok(_) => println!("subscription to {} confirmed", message["TopicArn"]),
                Err(error) => {
                    eprintln!("could not confirm the subscription: {error}");
                    return StatusCode::BAD_GATEWAY;
                }
            }
        }
        Some("Notification") => println!(
            "notification {}: {}",
            message["MessageId"], message["Message"]
        ),
        _ => {}
    }
    StatusCode::OK
}
