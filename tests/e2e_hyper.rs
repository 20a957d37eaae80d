//! End to end on plain hyper 1.x (HTTP/1.1 and HTTP/2), the server supplying the peer
//! address as a `PeerAddr` extension.

mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use support::{vectors_of, Frames, Recorder};
use tower::ServiceBuilder;
use tower_webhook::{peer::PeerAddr, presets, IpAllowlist, WebhookSignatureLayer};

/// Serves the layer over `recorder` with hyper-util's auto (HTTP/1 + HTTP/2) connection
/// builder, inserting each connection's remote address as a `PeerAddr`.
async fn serve(allowlist: &str, secret: &str, recorder: Recorder) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let layer = WebhookSignatureLayer::new(presets::loopwise(secret))
        .allow_ips(allowlist.parse::<IpAllowlist>().unwrap());
    tokio::spawn(async move {
        loop {
            let (stream, remote) = listener.accept().await.unwrap();
            let service = ServiceBuilder::new()
                .map_request(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(PeerAddr::from(remote));
                    request
                })
                .layer(layer.clone())
                .service(recorder.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
    addr
}

async fn send<B>(addr: SocketAddr, http2: bool, request: Request<B>) -> (StatusCode, Bytes)
where
    B: http_body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .http2_only(http2)
        .build_http::<B>();
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("http://{addr}/hook").parse().unwrap();
    let response = client
        .request(Request::from_parts(parts, body))
        .await
        .unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn loopwise_vectors_over_http1_and_http2() {
    for vector in vectors_of("loopwise") {
        for http2 in [false, true] {
            let recorder = Recorder::new();
            let addr = serve("127.0.0.1", &vector.secret, recorder.clone()).await;

            let request = Request::post("/hook")
                .header(&vector.header, &vector.signature)
                .body(Frames::split(vector.body.as_bytes(), 3))
                .unwrap();
            let (status, body) = send(addr, http2, request).await;
            assert_eq!(status, StatusCode::OK, "{} http2={http2}", vector.name);
            assert_eq!(body, format!("inner saw {} bytes", vector.body.len()));
            assert_eq!(recorder.only().body, vector.body.as_bytes());

            let request = Request::post("/hook")
                .header(&vector.header, &vector.signature)
                .body(Full::new(Bytes::from(format!("{}!", vector.body))))
                .unwrap();
            let (status, _) = send(addr, http2, request).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(recorder.calls(), 1);
        }
    }
}

#[tokio::test]
async fn peer_not_in_the_allowlist_is_403_over_hyper() {
    let vector = &vectors_of("loopwise")[0];
    let recorder = Recorder::new();
    let addr = serve(presets::LOOPWISE_IPS, &vector.secret, recorder.clone()).await;
    let request = Request::post("/hook")
        .header(&vector.header, &vector.signature)
        .body(Full::new(Bytes::from(vector.body.clone())))
        .unwrap();
    let (status, body) = send(addr, false, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, "address not allowed\n");
    assert_eq!(recorder.calls(), 0);
}
