//! For the handshake tests (`tests/handshakes.rs`, `tests/attacks_handshakes.rs`): a real
//! server whose handler counts its calls, since a handshake the layer answers never reaches it.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use axum::{routing::any, Extension, Router};
use tower_webhook::{handshake::HandshakeRequest, scheme::Scheme, WebhookSignatureLayer};

/// How many times the handler was called.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// `/` and `/t/{tenant}`, every method, behind `layer`. The handler answers `handler`, or
/// `handler saw <name>` for a request marked as a handshake.
pub async fn serve<Sch: Scheme>(
    layer: WebhookSignatureLayer<Sch>,
    calls: &Calls,
) -> std::net::SocketAddr {
    let counter = Arc::clone(&calls.0);
    let handler = move |handshake: Option<Extension<HandshakeRequest>>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match handshake {
                Some(Extension(handshake)) => format!("handler saw {}", handshake.name()),
                None => "handler".to_owned(),
            }
        }
    };
    let app = Router::new()
        .route("/", any(handler.clone()))
        .route("/t/{tenant}", any(handler))
        .layer(layer);
    super::serve_axum(app).await
}
