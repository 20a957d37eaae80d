//! The IP allowlist: decided before the body is read, fail closed, IPv4-mapped peers folded.

mod support;

use std::net::IpAddr;

use bytes::Bytes;
use http::{request::Parts, Request, StatusCode};
use support::{run_through, MustNotRead, Recorder};
use tower_webhook::{peer::PeerAddr, presets, IpAllowlist, WebhookSignatureLayer};

const SECRET: &str = "allowlist-secret";
const BODY: &str = r#"{"event":"order.paid"}"#;

fn layer(allowlist: &str) -> WebhookSignatureLayer<tower_webhook::HmacScheme> {
    WebhookSignatureLayer::new(presets::loopwise(SECRET)).allow_ips(allowlist.parse().unwrap())
}

fn request_from<B>(peer: Option<&str>, signed: bool, body: B) -> Request<B> {
    let mut builder = Request::post("/webhooks/loopwise");
    if signed {
        builder = builder.header(
            "loopwise-webhook-signature",
            presets::loopwise(SECRET).sign(BODY.as_bytes()),
        );
    }
    let mut request = builder.body(body).unwrap();
    if let Some(peer) = peer {
        let ip: IpAddr = peer.parse().unwrap();
        request.extensions_mut().insert(PeerAddr(ip));
    }
    request
}

async fn run<B>(
    layer: WebhookSignatureLayer<tower_webhook::HmacScheme>,
    request: Request<B>,
) -> (StatusCode, Bytes, Recorder)
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let out = run_through(layer, request).await;
    (out.status, out.body, out.recorder)
}

#[tokio::test]
async fn denied_peer_gets_403_before_body_is_read() {
    let request = request_from(Some("52.194.91.28"), true, MustNotRead);
    let (status, body, recorder) = run(layer("52.194.91.27"), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, "address not allowed\n");
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn address_is_checked_before_the_signature() {
    let request = request_from(Some("198.51.100.1"), false, MustNotRead);
    let (status, _, recorder) = run(layer("52.194.91.27"), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn unknown_peer_is_403_when_an_allowlist_is_set() {
    let request = request_from(None, true, MustNotRead);
    let (status, body, recorder) = run(layer("0.0.0.0/0, ::/0"), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, "peer address unknown\n");
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn unknown_peer_is_fine_without_an_allowlist() {
    let request = request_from(None, true, BODY.to_owned());
    let (status, _, recorder) = run(
        WebhookSignatureLayer::new(presets::loopwise(SECRET)),
        request,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recorder.only().body, BODY.as_bytes());
}

#[tokio::test]
async fn allowed_peers_still_need_a_valid_signature() {
    let allowed = layer("52.194.91.27");
    let request = request_from(Some("52.194.91.27"), true, BODY.to_owned());
    let (status, _, recorder) = run(allowed.clone(), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recorder.only().body, BODY.as_bytes());

    let request = request_from(Some("52.194.91.27"), true, format!("{BODY} "));
    let (status, _, recorder) = run(allowed, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn ipv4_mapped_ipv6_peer_matches_its_ipv4_entry() {
    let request = request_from(Some("::ffff:52.194.91.27"), true, BODY.to_owned());
    let (status, _, recorder) = run(layer("52.194.91.27"), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recorder.calls(), 1);
}

#[tokio::test]
async fn cidr_ranges_of_both_families_match() {
    let allowlist = "10.0.0.0/8, 2001:db8::/32";
    for (peer, expected) in [
        ("10.20.30.40", StatusCode::OK),
        ("11.0.0.1", StatusCode::FORBIDDEN),
        ("2001:db8:1::9", StatusCode::OK),
        ("2001:db9::1", StatusCode::FORBIDDEN),
    ] {
        let request = request_from(Some(peer), true, BODY.to_owned());
        let (status, _, recorder) = run(layer(allowlist), request).await;
        assert_eq!(status, expected, "{peer}");
        assert_eq!(recorder.calls(), usize::from(expected == StatusCode::OK));
    }
}

#[tokio::test]
async fn a_custom_peer_source_decides_the_address() {
    #[derive(Clone)]
    struct FromTerminator(IpAddr);
    let layer = layer("203.0.113.5")
        .peer_source(|parts: &Parts| parts.extensions.get::<FromTerminator>().map(|t| t.0));
    let mut request = request_from(Some("52.194.91.27"), true, BODY.to_owned());
    request
        .extensions_mut()
        .insert(FromTerminator("203.0.113.5".parse().unwrap()));
    let (status, _, recorder) = run(layer.clone(), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recorder.calls(), 1);

    // The custom source replaces the default one: PeerAddr alone is not consulted.
    let request = request_from(Some("203.0.113.5"), true, BODY.to_owned());
    let (status, _, _) = run(layer, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn forwarding_headers_are_ignored_by_default() {
    let mut request = request_from(Some("198.51.100.1"), true, MustNotRead);
    request
        .headers_mut()
        .insert("x-forwarded-for", "52.194.91.27".parse().unwrap());
    request
        .headers_mut()
        .insert("forwarded", "for=52.194.91.27".parse().unwrap());
    let (status, _, recorder) = run(layer("52.194.91.27"), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(recorder.calls(), 0);
}

#[test]
fn the_issue_s_allowlist_syntax_parses() {
    let allowlist: IpAllowlist = "52.194.91.27, 10.0.0.0/8, 2001:db8::/32".parse().unwrap();
    assert_eq!(allowlist.nets().len(), 3);
}

/// A server that never records the peer address (axum without `ConnectInfo`, or this crate
/// without its `axum` feature) gets 403 `unknown_peer` for every request, and says why: once
/// at WARN for the layer, and a `hint` naming what to change on each rejection.
#[tokio::test]
async fn a_server_that_records_no_address_is_refused_and_told_why_once() {
    let (logs, _guard) = support::Logs::capture();
    let app = axum::Router::new().route(
        "/webhooks/loopwise",
        axum::routing::post(|| async { "handled" }).layer(layer("127.0.0.1")),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // `into_make_service()`, not `into_make_service_with_connect_info::<SocketAddr>()`.
    tokio::spawn(async move { axum::serve(listener, app.into_make_service()).await });
    for _ in 0..3 {
        let request = request_from(None, true, BODY.to_owned());
        let (status, _, body) = support::send(addr, request).await;
        assert_eq!(
            (status, body.as_ref()),
            (StatusCode::FORBIDDEN, b"peer address unknown\n".as_ref())
        );
    }
    let once = logs.lines_with("the allowlist found no peer address");
    assert_eq!(once.len(), 1, "{}", logs.text());
    assert!(once[0].contains("WARN"), "{once:?}");
    let rejections = logs.lines_with("reason=\"unknown_peer\"");
    assert_eq!(rejections.len(), 3, "{}", logs.text());
    let expected = if cfg!(feature = "axum") {
        "into_make_service_with_connect_info"
    } else {
        "enable the `axum` feature"
    };
    for line in once.iter().chain(&rejections) {
        assert!(line.contains(expected), "{line}");
    }
}
