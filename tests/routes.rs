//! Which requests reach the layer, for each way of adding it to an axum router: on the
//! webhook's method router, with `Router::route_layer`, or with `Router::layer`. Through a
//! real server, with the `tracing` events recorded.
#![cfg(feature = "axum")]

mod support;

use axum::{
    routing::{get, post},
    Router,
};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use support::{send, serve_axum, Logs};
use tower_webhook::{presets, WebhookSignatureLayer};

const SECRET: &str = "routes-secret";
const BODY: &str = r#"{"event":"order.paid"}"#;

fn layer() -> WebhookSignatureLayer<tower_webhook::HmacScheme> {
    WebhookSignatureLayer::new(presets::loopwise(SECRET))
}

fn request(method: Method, path: &str, signed: bool) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(path);
    if signed {
        builder = builder.header(
            "loopwise-webhook-signature",
            presets::loopwise(SECRET).sign(BODY.as_bytes()),
        );
    }
    builder
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .unwrap()
}

async fn handle(body: String) -> String {
    format!("handled {}", body.len())
}

/// Status and body of each probe: the signed webhook, `GET /health`, an unknown path, and
/// `GET` on the webhook's path; and how many rejections were logged.
async fn probe(app: Router) -> (Vec<(StatusCode, Bytes)>, usize) {
    let (logs, _guard) = Logs::capture();
    let addr = serve_axum(app).await;
    let mut answers = Vec::new();
    for request in [
        request(Method::POST, "/webhooks/loopwise", true),
        request(Method::GET, "/health", false),
        request(Method::POST, "/wp-login.php", false),
        request(Method::GET, "/webhooks/loopwise", false),
    ] {
        let (status, _, body) = send(addr, request).await;
        answers.push((status, body));
    }
    (answers, logs.lines_with("webhook rejected").len())
}

fn health() -> axum::routing::MethodRouter {
    get(|| async { "ok" })
}

fn answer(status: StatusCode, body: &'static str) -> (StatusCode, Bytes) {
    (status, Bytes::from_static(body.as_bytes()))
}

/// The form the crate docs show first: only POSTs to the webhook's route reach the layer;
/// `GET /health` is 200, an unknown path 404 and a `GET` on the webhook's path 405, none of
/// them logged.
#[tokio::test]
async fn per_route_layer_leaves_other_routes_and_unknown_paths_alone_without_logs() {
    let app = Router::new()
        .route("/webhooks/loopwise", post(handle).route_layer(layer()))
        .route("/health", health());
    let (answers, rejections_logged) = probe(app).await;
    assert_eq!(
        answers,
        [
            answer(StatusCode::OK, "handled 22"),
            answer(StatusCode::OK, "ok"),
            answer(StatusCode::NOT_FOUND, ""),
            answer(StatusCode::METHOD_NOT_ALLOWED, ""),
        ]
    );
    assert_eq!(rejections_logged, 0);
}

/// `.layer` on the method router also covers its other methods (axum's 405 fallback): a
/// `GET` on the webhook's path is 401 and logged; other routes and unknown paths are not.
#[tokio::test]
async fn layer_on_the_method_router_covers_every_method_of_its_route_only() {
    let app = Router::new()
        .route("/webhooks/loopwise", post(handle).layer(layer()))
        .route("/health", health());
    let (answers, rejections_logged) = probe(app).await;
    assert_eq!(
        answers,
        [
            answer(StatusCode::OK, "handled 22"),
            answer(StatusCode::OK, "ok"),
            answer(StatusCode::NOT_FOUND, ""),
            answer(StatusCode::UNAUTHORIZED, "missing webhook signature\n"),
        ]
    );
    assert_eq!(rejections_logged, 1);
}

/// `Router::route_layer` covers the routes added before it (every method of each), never
/// unknown paths; `/health` added after it is left alone.
#[tokio::test]
async fn router_route_layer_covers_the_routes_added_before_it() {
    let app = Router::new()
        .route("/webhooks/loopwise", post(handle))
        .route_layer(layer())
        .route("/health", health());
    let (answers, rejections_logged) = probe(app).await;
    assert_eq!(
        answers,
        [
            answer(StatusCode::OK, "handled 22"),
            answer(StatusCode::OK, "ok"),
            answer(StatusCode::NOT_FOUND, ""),
            answer(StatusCode::UNAUTHORIZED, "missing webhook signature\n"),
        ]
    );
    assert_eq!(rejections_logged, 1);
}

/// `Router::layer` covers every request, unknown paths included: `GET /health` and every
/// scanner's probe get 401 and a WARN each.
#[tokio::test]
async fn router_layer_covers_every_request_and_logs_each_probe() {
    let app = Router::new()
        .route("/webhooks/loopwise", post(handle))
        .route("/health", health())
        .layer(layer());
    let (answers, rejections_logged) = probe(app).await;
    let refused = answer(StatusCode::UNAUTHORIZED, "missing webhook signature\n");
    assert_eq!(
        answers,
        [
            answer(StatusCode::OK, "handled 22"),
            refused.clone(),
            refused.clone(),
            refused,
        ]
    );
    assert_eq!(rejections_logged, 3);
}
