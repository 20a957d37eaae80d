//! The server `scripts/load.sh` measures: the same handler with and without the layer.
//!
//! ```sh
//! cargo run --release --example load_server   # 127.0.0.1:3100, or LOAD_ADDR
//! ```
//!
//! `POST /plain` collects the body; `POST /verified` does the same behind
//! `WebhookSignatureLayer` with the Loopwise preset and the key `load-test-key`.

use axum::{routing::post, Router};
use bytes::Bytes;
use tower_webhook::{presets, WebhookSignatureLayer};

async fn handle(body: Bytes) -> String {
    body.len().to_string()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let verified =
        WebhookSignatureLayer::new(presets::loopwise("load-test-key")).max_body_size(1 << 20);
    let app = Router::new()
        .route("/plain", post(handle))
        .route("/verified", post(handle).layer(verified));
    let addr = std::env::var("LOAD_ADDR").unwrap_or_else(|_| "127.0.0.1:3100".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("load server on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
