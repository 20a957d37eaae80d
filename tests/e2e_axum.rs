//! End to end: a real axum server on 127.0.0.1 at an ephemeral port, a real HTTP client.
#![cfg(feature = "axum")]

mod support;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::State, routing::post, Extension, Json, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::{scheme_for, send, vectors, Frames, Vector};
use tower::ServiceBuilder;
use tower_webhook::{presets, HmacScheme, IpAllowlist, Verified, WebhookSignatureLayer};

/// What the handlers received.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Bytes>>>);

impl Received {
    fn bodies(&self) -> Vec<Bytes> {
        self.0.lock().unwrap().clone()
    }
}

async fn record(
    State(received): State<Received>,
    Extension(verified): Extension<Verified>,
    body: Bytes,
) -> String {
    received.0.lock().unwrap().push(body.clone());
    format!(
        "handled {} bytes with key {}",
        body.len(),
        verified.key_index()
    )
}

fn app(layer: WebhookSignatureLayer<HmacScheme>, received: &Received) -> Router {
    Router::new()
        .route("/webhook", post(record))
        .layer(layer)
        .with_state(received.clone())
}

fn signed<B>(vector: &Vector, body: B) -> Request<B> {
    Request::post("/webhook")
        .header(&vector.header, &vector.signature)
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn every_vector_is_accepted_with_and_without_content_length() {
    for vector in vectors() {
        let received = Received::default();
        let layer = WebhookSignatureLayer::new(scheme_for(&vector));
        let addr = support::serve_axum(app(layer, &received)).await;

        let fixed = Full::new(Bytes::from(vector.body.clone()));
        let (status, _, body) = send(addr, signed(&vector, fixed)).await;
        assert_eq!(status, StatusCode::OK, "{}", vector.name);
        let expected = format!("handled {} bytes with key 0", vector.body.len());
        assert_eq!(body, expected);

        // No size hint: the client sends it chunked, in 5-byte chunks.
        let chunked = Frames::split(vector.body.as_bytes(), 5);
        let (status, _, _) = send(addr, signed(&vector, chunked)).await;
        assert_eq!(status, StatusCode::OK, "{} chunked", vector.name);

        let bodies = received.bodies();
        assert_eq!(bodies.len(), 2);
        assert!(bodies.iter().all(|b| b == vector.body.as_bytes()));
    }
}

#[tokio::test]
async fn wrong_or_missing_signature_is_401_and_the_handler_never_runs() {
    let vector = &vectors()[0];
    let received = Received::default();
    let addr = support::serve_axum(app(
        WebhookSignatureLayer::new(scheme_for(vector)),
        &received,
    ))
    .await;

    let tampered = Full::new(Bytes::from(vector.body.replace("4200", "4201")));
    let (status, headers, body) = send(addr, signed(vector, tampered)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(body, "invalid webhook signature\n");

    let unsigned = Request::post("/webhook")
        .body(Full::new(Bytes::from(vector.body.clone())))
        .unwrap();
    let (status, _, body) = send(addr, unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, "missing webhook signature\n");

    assert!(received.bodies().is_empty());
}

#[tokio::test]
async fn allowlist_uses_the_connect_info_peer() {
    let vector = &vectors()[0];
    for (allowlist, expected) in [
        ("127.0.0.1", StatusCode::OK),
        ("127.0.0.0/8, ::1", StatusCode::OK),
        ("::ffff:127.0.0.1", StatusCode::OK),
        ("52.194.91.27", StatusCode::FORBIDDEN),
    ] {
        let received = Received::default();
        let layer = WebhookSignatureLayer::new(scheme_for(vector))
            .allow_ips(allowlist.parse::<IpAllowlist>().unwrap());
        let addr = support::serve_axum(app(layer, &received)).await;
        let (status, _, _) = send(addr, signed(vector, vector.body.clone())).await;
        assert_eq!(status, expected, "{allowlist}");
        assert_eq!(
            received.bodies().len(),
            usize::from(expected == StatusCode::OK)
        );
    }
}

#[tokio::test]
async fn allowlist_fails_closed_when_the_server_records_no_peer() {
    // Served without `into_make_service_with_connect_info`: no peer address is known.
    let vector = &vectors()[0];
    let received = Received::default();
    let layer = WebhookSignatureLayer::new(scheme_for(vector))
        .allow_ips("127.0.0.1".parse::<IpAllowlist>().unwrap());
    let router = app(layer, &received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let (status, _, body) = send(addr, signed(vector, vector.body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, "peer address unknown\n");
    assert!(received.bodies().is_empty());
}

#[tokio::test]
async fn oversized_bodies_are_413_with_and_without_content_length() {
    let scheme = presets::loopwise("limit-secret");
    let big = vec![b'a'; 4096];
    let signature = scheme.sign(&big);
    let received = Received::default();
    let addr = support::serve_axum(app(
        WebhookSignatureLayer::new(scheme).max_body_size(1024),
        &received,
    ))
    .await;

    let request = |body| {
        Request::post("/webhook")
            .header("loopwise-webhook-signature", &signature)
            .body(body)
            .unwrap()
    };
    let (status, _, body) = send(addr, request(Full::new(Bytes::from(big.clone())))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, "request body too large\n");

    let request = Request::post("/webhook")
        .header("loopwise-webhook-signature", &signature)
        .body(Frames::split(&big, 256))
        .unwrap();
    let (status, _, _) = send(addr, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(received.bodies().is_empty());
}

#[tokio::test]
async fn json_extractor_works_behind_the_layer() {
    async fn amount(Json(event): Json<serde_json::Value>) -> String {
        event["data"]["amount"].to_string()
    }
    let vector = vectors()
        .into_iter()
        .find(|v| v.name == "loopwise-order-paid")
        .unwrap();
    let router = Router::new()
        .route("/webhook", post(amount))
        .layer(WebhookSignatureLayer::new(scheme_for(&vector)));
    let addr = support::serve_axum(router).await;
    let mut request = signed(&vector, vector.body.clone());
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    let (status, _, body) = send(addr, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "4200");
}

#[tokio::test]
async fn composes_in_a_service_builder_with_trace_and_timeout_layers() {
    let vector = &vectors()[0];
    let received = Received::default();
    let router = Router::new()
        .route("/webhook", post(record))
        .layer(
            ServiceBuilder::new()
                .layer(tower_http::trace::TraceLayer::new_for_http())
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                ))
                .layer(WebhookSignatureLayer::new(scheme_for(vector))),
        )
        .with_state(received.clone());
    let addr = support::serve_axum(router).await;
    let (status, _, _) = send(addr, signed(vector, vector.body.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(addr, signed(vector, format!("{} ", vector.body))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(received.bodies(), [Bytes::from(vector.body.clone())]);
}

#[tokio::test]
async fn the_readme_router_serves_both_seed_senders() {
    let loopwise = vectors()
        .into_iter()
        .find(|v| v.name == "loopwise-order-paid")
        .unwrap();
    let loop_returns = vectors()
        .into_iter()
        .find(|v| v.name == "loop-return-created")
        .unwrap();
    let received = Received::default();
    let router = Router::new()
        .route(
            "/webhooks/loopwise",
            post(record).layer(
                WebhookSignatureLayer::new(presets::loopwise(&loopwise.secret))
                    .allow_ips("52.194.91.27, 127.0.0.1".parse::<IpAllowlist>().unwrap())
                    .max_body_size(1 << 20),
            ),
        )
        .route(
            "/webhooks/loop",
            post(record).layer(WebhookSignatureLayer::new(presets::loop_returns(
                &loop_returns.secret,
            ))),
        )
        .with_state(received.clone());
    let addr: SocketAddr = support::serve_axum(router).await;

    let to = |path: &str, vector: &Vector| {
        Request::post(path)
            .header(&vector.header, &vector.signature)
            .body(vector.body.clone())
            .unwrap()
    };
    assert_eq!(
        send(addr, to("/webhooks/loopwise", &loopwise)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(addr, to("/webhooks/loop", &loop_returns)).await.0,
        StatusCode::OK
    );
    // Each route checks its own sender's signature.
    let crossed = Request::post("/webhooks/loop")
        .header("x-loop-signature", &loop_returns.signature)
        .body(loopwise.body.clone())
        .unwrap();
    assert_eq!(send(addr, crossed).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        received.bodies(),
        [Bytes::from(loopwise.body), Bytes::from(loop_returns.body)]
    );
}

/// What an axum handler returns answers rejections too: `(StatusCode, Json(..))` through a
/// real server, with the default's `Retry-After` kept on the budget's `503` unless the
/// response sets its own.
#[tokio::test]
async fn on_rejection_takes_what_axum_handlers_return_and_keeps_retry_after() {
    use axum::response::IntoResponse;
    use tower_webhook::{verify::BodyBudget, Rejection};

    let json = |rejection: &Rejection| {
        (
            rejection.status(),
            Json(serde_json::json!({ "error": rejection.reason() })),
        )
    };
    let layer = |budget: usize| {
        WebhookSignatureLayer::new(presets::loopwise("secret")).body_budget(BodyBudget::new(budget))
    };
    let received = Received::default();
    let addr = support::serve_axum(app(
        layer(1 << 20).on_rejection_into_response(json),
        &received,
    ))
    .await;
    let unsigned = Request::post("/webhook")
        .body(Full::new(Bytes::from("{}")))
        .unwrap();
    let (status, headers, body) = send(addr, unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body.as_ref(), br#"{"error":"missing_signature"}"#);
    assert!(headers.get("retry-after").is_none());

    // A body the budget cannot hold: 503, with Retry-After from the default response.
    let big = || {
        let body = vec![b'x'; 4096];
        let signature = presets::loopwise("secret").sign(&body);
        Request::post("/webhook")
            .header("loopwise-webhook-signature", signature)
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let addr =
        support::serve_axum(app(layer(1024).on_rejection_into_response(json), &received)).await;
    let (status, headers, body) = send(addr, big()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "5");
    assert_eq!(body.as_ref(), br#"{"error":"body_budget_exhausted"}"#);

    // Its own Retry-After wins; so it does for a `Response<Bytes>` of `on_rejection`'s.
    let own =
        move |rejection: &Rejection| ([("retry-after", "30")], json(rejection)).into_response();
    let addr =
        support::serve_axum(app(layer(1024).on_rejection_into_response(own), &received)).await;
    let (_, headers, _) = send(addr, big()).await;
    assert_eq!(headers["retry-after"], "30");
    let plain = |rejection: &Rejection| {
        let mut response = http::Response::new(Bytes::from_static(b"busy"));
        *response.status_mut() = rejection.status();
        response
    };
    let addr = support::serve_axum(app(layer(1024).on_rejection(plain), &received)).await;
    let (status, headers, body) = send(addr, big()).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::SERVICE_UNAVAILABLE, b"busy".as_ref())
    );
    assert_eq!(headers["retry-after"], "5");
    assert!(received.bodies().is_empty());
}
