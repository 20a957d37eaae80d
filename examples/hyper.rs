//! The layer on a plain hyper 1.x server (HTTP/1.1 and HTTP/2), on 127.0.0.1:3001.
//!
//! ```sh
//! cargo run --example hyper
//! ```
//!
//! hyper knows each connection's remote address when it accepts it; the server inserts it
//! into every request as a [`PeerAddr`], which is where the layer's allowlist looks.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use tower::{service_fn, ServiceBuilder};
use tower_webhook::{
    body::BufferedBody, peer::PeerAddr, presets, IpAllowlist, WebhookSignatureLayer,
};

const DEMO_SECRET: &str = "demo-loopwise-signing-key-NOT-FOR-PRODUCTION";

async fn handle(request: Request<BufferedBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = request.into_body().bytes().clone();
    println!(
        "verified {} bytes: {}",
        body.len(),
        String::from_utf8_lossy(&body)
    );
    Ok(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();

    let secret = std::env::var("LOOPWISE_SIGNING_KEY").unwrap_or_else(|_| DEMO_SECRET.into());
    let scheme = presets::loopwise(secret);
    let body = r#"{"event":"order.paid","data":{"id":"ord_123","amount":4200}}"#;
    let signature = scheme.sign(body.as_bytes());
    let layer = WebhookSignatureLayer::new(scheme)
        .allow_ips(format!("{}, 127.0.0.1, ::1", presets::LOOPWISE_IPS).parse::<IpAllowlist>()?);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}\n");
    println!(
        "curl -i http://{addr}/ -H 'Loopwise-Webhook-Signature: {signature}' --data-binary '{body}'\n"
    );

    loop {
        let (stream, remote) = listener.accept().await?;
        let service = ServiceBuilder::new()
            // The server, not the client, says who the peer is.
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(PeerAddr::from(remote));
                request
            })
            .layer(layer.clone())
            .service(service_fn(handle));
        tokio::spawn(async move {
            if let Err(error) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await
            {
                eprintln!("connection from {remote}: {error}");
            }
        });
    }
}
