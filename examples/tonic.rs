//! The layer in front of a tonic gRPC server, on 127.0.0.1:50051.
//!
//! ```sh
//! cargo run --example tonic --features tonic
//! ```
//!
//! The server is tonic's standard health service; each gRPC request body (the length-prefixed
//! protobuf message) must carry a Loopwise-style signature. tonic records the TCP peer as
//! `TcpConnectInfo`, which the layer reads with the `tonic` feature, so the allowlist works
//! as on axum.

use tonic::transport::Server;
use tower_webhook::{presets, IpAllowlist, WebhookSignatureLayer};

const DEMO_SECRET: &str = "demo-grpc-signing-key-NOT-FOR-PRODUCTION";

/// The gRPC frame of an empty `HealthCheckRequest`: not compressed, zero-length message.
const HEALTH_CHECK_FRAME: [u8; 5] = [0, 0, 0, 0, 0];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();

    let secret = std::env::var("GRPC_SIGNING_KEY").unwrap_or_else(|_| DEMO_SECRET.into());
    let scheme = presets::loopwise(secret);
    let signature = scheme.sign(&HEALTH_CHECK_FRAME);
    let layer = WebhookSignatureLayer::new(scheme)
        .allow_ips("127.0.0.1, ::1".parse::<IpAllowlist>()?)
        .max_body_size(64 * 1024);

    let (_reporter, health) = tonic_health::server::health_reporter();
    let addr = "127.0.0.1:50051".parse()?;
    println!("gRPC health service on {addr}, every request signed\n");
    println!(
        "printf '\\0\\0\\0\\0\\0' | curl -i --http2-prior-knowledge \
         -H 'content-type: application/grpc' -H 'te: trailers' \
         -H 'Loopwise-Webhook-Signature: {signature}' --data-binary @- \
         http://{addr}/grpc.health.v1.Health/Check\n"
    );

    Server::builder()
        .layer(layer)
        .add_service(health)
        .serve(addr)
        .await?;
    Ok(())
}
