//! Rolling the layer out: report-only mode passes every request on, marked, and custom
//! rejection responses.

mod support;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::{run_through, Endless, MustNotRead};
use tower_webhook::{peer::PeerAddr, presets, IpAllowlist, Rejection, WebhookSignatureLayer};

const SECRET: &str = "rollout-secret";
const BODY: &str = r#"{"event":"order.paid"}"#;

fn report_only() -> WebhookSignatureLayer<tower_webhook::HmacScheme> {
    WebhookSignatureLayer::new(presets::loopwise(SECRET)).report_only()
}

fn request(signature: Option<&str>, body: &str) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/");
    if let Some(signature) = signature {
        builder = builder.header("loopwise-webhook-signature", signature);
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn report_only_passes_bad_signatures_on_marked_unverified() {
    let good = presets::loopwise(SECRET).sign(BODY.as_bytes());
    for (signature, reason) in [
        (None, "missing_signature"),
        (Some("zz"), "malformed_signature"),
        (
            Some(&*presets::loopwise("other").sign(BODY.as_bytes())),
            "invalid_signature",
        ),
    ] {
        let out = run_through(report_only(), request(signature, BODY)).await;
        assert_eq!(out.status, StatusCode::OK, "{reason}");
        let seen = out.recorder.only();
        assert_eq!(seen.body, BODY.as_bytes());
        assert_eq!(seen.verified, None);
        let unverified = seen.unverified.expect("marked unverified");
        assert_eq!(unverified.reason(), reason);
        assert_eq!(unverified.status(), StatusCode::UNAUTHORIZED);
    }
    let out = run_through(report_only(), request(Some(&good), BODY)).await;
    let seen = out.recorder.only();
    assert_eq!(seen.verified.map(|v| v.key_index()), Some(0));
    assert_eq!(seen.unverified, None);
}

#[tokio::test]
async fn report_only_passes_addresses_outside_the_allowlist() {
    let layer = report_only().allow_ips("52.194.91.27".parse::<IpAllowlist>().unwrap());
    let mut req = request(Some(&presets::loopwise(SECRET).sign(BODY.as_bytes())), BODY);
    req.extensions_mut()
        .insert(PeerAddr("198.51.100.1".parse().unwrap()));
    let out = run_through(layer, req).await;
    assert_eq!(out.status, StatusCode::OK);
    let unverified = out.recorder.only().unverified.unwrap();
    assert_eq!(unverified.reason(), "address_not_allowed");
    assert_eq!(unverified.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn report_only_still_enforces_the_body_limit_and_framing() {
    let body = Endless::new(1024);
    let req = Request::post("/").body(body).unwrap();
    let out = run_through(report_only().max_body_size(4096), req).await;
    assert_eq!(out.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(out.recorder.calls(), 0);

    let mut req = Request::post("/").body(MustNotRead).unwrap();
    req.headers_mut()
        .insert("content-length", "ten".parse().unwrap());
    let out = run_through(report_only(), req).await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(out.recorder.calls(), 0);
}

#[tokio::test]
async fn custom_rejection_responses_replace_the_default() {
    let layer = WebhookSignatureLayer::new(presets::loopwise(SECRET)).on_rejection(
        |rejection: &Rejection| {
            http::Response::builder()
                .status(rejection.status())
                .header("content-type", "application/json")
                .body(Bytes::from(format!(
                    r#"{{"error":"{}"}}"#,
                    rejection.reason()
                )))
                .unwrap()
        },
    );
    let out = run_through(layer.clone(), request(None, BODY)).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.headers["content-type"], "application/json");
    assert_eq!(out.body, r#"{"error":"missing_signature"}"#);

    // Rejections decided while reading the body use it too.
    let bad = presets::loopwise("other").sign(BODY.as_bytes());
    let out = run_through(layer, request(Some(&bad), BODY)).await;
    assert_eq!(out.body, r#"{"error":"invalid_signature"}"#);
    assert_eq!(out.recorder.calls(), 0);
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn report_only_through_a_real_server() {
    use axum::{routing::post, Extension, Router};
    use tower_webhook::rejection::Unverified;

    async fn handler(unverified: Option<Extension<Unverified>>, body: Bytes) -> String {
        match unverified {
            Some(Extension(u)) => format!("unverified {} {}", u.reason(), body.len()),
            None => format!("verified {}", body.len()),
        }
    }
    let router = Router::new()
        .route("/hook", post(handler))
        .layer(report_only().allow_ips("127.0.0.1".parse::<IpAllowlist>().unwrap()));
    let addr = support::serve_axum(router).await;
    let good = presets::loopwise(SECRET).sign(BODY.as_bytes());
    let mut req = request(Some(&good), BODY);
    *req.uri_mut() = "/hook".parse().unwrap();
    let (status, _, body) = support::send(addr, req).await;
    assert_eq!((status, body), (StatusCode::OK, Bytes::from("verified 22")));
    let mut req = request(Some("00"), BODY);
    *req.uri_mut() = "/hook".parse().unwrap();
    let (status, _, body) = support::send(addr, req).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            Bytes::from("unverified malformed_signature 22")
        )
    );
}
