//! End to end on a real tonic gRPC server: the layer verifies each request body and reads the
//! peer address from tonic's `TcpConnectInfo`.
#![cfg(feature = "tonic")]

mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioExecutor;
use tonic::transport::{server::TcpIncoming, Server};
use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};

const SECRET: &str = "grpc-secret";
/// The gRPC frame of an empty `HealthCheckRequest`.
const FRAME: [u8; 5] = [0; 5];

async fn serve(allowlist: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = WebhookSignatureLayer::new(presets::loopwise(SECRET))
        .allow_ips(allowlist.parse::<IpAllowlist>().unwrap());
    let (_reporter, health) = tonic_health::server::health_reporter();
    tokio::spawn(async move {
        let _reporter = _reporter;
        Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    addr
}

/// A unary health check over HTTP/2; returns the HTTP status and the `grpc-status`, if any.
async fn check(
    addr: SocketAddr,
    signature: Option<String>,
    body: &[u8],
) -> (StatusCode, Option<String>) {
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let mut request = Request::post(format!("http://{addr}/grpc.health.v1.Health/Check"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(signature) = signature {
        request = request.header("loopwise-webhook-signature", signature);
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let in_headers = response.headers().get("grpc-status").cloned();
    let collected = response.into_body().collect().await.unwrap();
    let grpc_status = in_headers
        .or_else(|| {
            collected
                .trailers()
                .and_then(|t| t.get("grpc-status").cloned())
        })
        .map(|v| v.to_str().unwrap().to_owned());
    (status, grpc_status)
}

#[tokio::test]
async fn signed_grpc_call_reaches_the_service() {
    let addr = serve("127.0.0.1").await;
    let signature = presets::loopwise(SECRET).sign(&FRAME);
    let (status, grpc_status) = check(addr, Some(signature), &FRAME).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grpc_status.as_deref(), Some("0"));
}

#[tokio::test]
async fn unsigned_or_tampered_grpc_call_is_401() {
    let addr = serve("127.0.0.1").await;
    let (status, grpc_status) = check(addr, None, &FRAME).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(grpc_status, None);

    let signature = presets::loopwise(SECRET).sign(&FRAME);
    let tampered = [0, 0, 0, 0, 2, 10, 0];
    let (status, _) = check(addr, Some(signature), &tampered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn allowlist_reads_tonic_s_tcp_connect_info() {
    let addr = serve(presets::LOOPWISE_IPS).await;
    let signature = presets::loopwise(SECRET).sign(&FRAME);
    let (status, _) = check(addr, Some(signature), &FRAME).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
