//! End to end for the timestamped and multi-signature presets: a real axum server verifying,
//! a real hyper client signing through `WebhookSigningLayer`, over 127.0.0.1.

mod support;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{extract::State, routing::post, Extension, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use support::Frames;
use tower::{ServiceBuilder, ServiceExt};
use tower_webhook::{
    body::BufferedBody,
    presets,
    sign::{Message, WebhookSigningLayer},
    HmacScheme, Verified, WebhookSignatureLayer,
};

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Bytes)>>>);

async fn record(
    State(received): State<Received>,
    Extension(_verified): Extension<Verified>,
    uri: http::Uri,
    body: Bytes,
) -> &'static str {
    received
        .0
        .lock()
        .unwrap()
        .push((uri.path().to_owned(), body));
    "ok"
}

fn schemes() -> Vec<(&'static str, HmacScheme)> {
    vec![
        ("stripe", presets::stripe("whsec_e2e_stripe")),
        (
            "standard_webhooks",
            presets::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        ),
        ("github", presets::github("e2e github secret")),
        ("slack", presets::slack("e2e slack secret")),
        ("paddle", presets::paddle("e2e paddle secret")),
        ("zoom", presets::zoom("e2e zoom secret")),
        ("shopify", presets::shopify("e2e shopify secret")),
    ]
}

async fn server(received: &Received) -> SocketAddr {
    let mut router = Router::new();
    for (name, scheme) in schemes() {
        router = router.route(
            &format!("/webhooks/{name}"),
            post(record).layer(WebhookSignatureLayer::new(scheme)),
        );
    }
    support::serve_axum(router.with_state(received.clone())).await
}

/// Sends `body` to `/webhooks/{name}` through a real client signed by `scheme`.
async fn send_signed<B>(addr: SocketAddr, name: &str, scheme: HmacScheme, body: B) -> StatusCode
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let client = support::client::<BufferedBody>();
    let sender = ServiceBuilder::new()
        .layer(WebhookSigningLayer::new(scheme))
        .service(client);
    let request = Request::post(format!("http://{addr}/webhooks/{name}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let response = sender.oneshot(request).await.unwrap();
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

#[tokio::test]
async fn the_signing_layer_s_requests_verify_on_a_real_server() {
    let received = Received::default();
    let addr = server(&received).await;
    for (name, scheme) in schemes() {
        let body = format!(r#"{{"provider":"{name}","amount":4200}}"#);
        let status = send_signed(
            addr,
            name,
            scheme.clone(),
            Full::new(Bytes::from(body.clone())),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{name}");
        // A streamed body without a length is signed and sent whole too.
        let status = send_signed(addr, name, scheme, Frames::split(body.as_bytes(), 4)).await;
        assert_eq!(status, StatusCode::OK, "{name} streamed");
        let seen = received.0.lock().unwrap().clone();
        let mine: Vec<_> = seen
            .iter()
            .filter(|(path, _)| path.ends_with(name))
            .collect();
        assert_eq!(mine.len(), 2, "{name}");
        assert!(mine.iter().all(|(_, b)| b == body.as_bytes()), "{name}");
    }
}

#[tokio::test]
async fn a_sender_with_another_secret_is_refused_by_the_real_server() {
    let received = Received::default();
    let addr = server(&received).await;
    let status = send_signed(
        addr,
        "stripe",
        presets::stripe("whsec_somebody_else"),
        Full::new(Bytes::from_static(b"{}")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(received.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_stale_delivery_is_refused_by_the_real_server() {
    let received = Received::default();
    let addr = server(&received).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (name, scheme) in schemes() {
        if matches!(name, "github" | "shopify") {
            continue; // not timestamped
        }
        let headers = scheme.sign_message(&Message::new(b"{}").timestamp(now - 301));
        let mut request = Request::post(format!("/webhooks/{name}"))
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        request.headers_mut().extend(headers);
        let (status, _, body) = support::send(addr, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(body, "webhook timestamp outside the tolerance\n", "{name}");
    }
    assert!(received.0.lock().unwrap().is_empty());
}
