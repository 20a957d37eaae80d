//! What the layer says in `tracing` events and `Debug`: the reason, the scheme and the peer;
//! never a secret, the signature sent, or the signature expected.

mod support;

use std::{
    io,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use http::{Request, StatusCode};
use support::Recorder;
use tower::{Layer, ServiceExt};
use tower_webhook::{peer::PeerAddr, presets, WebhookSignatureLayer};

const SECRET: &str = "sup3r-s3cret-signing-key";
const BODY: &str = r#"{"event":"order.paid"}"#;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `request` through the layer with a subscriber that records every event at any level.
fn logged(request: Request<String>) -> (StatusCode, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let status = tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let service = WebhookSignatureLayer::new(presets::loopwise(SECRET))
                    .allow_ips("52.194.91.27".parse().unwrap())
                    .layer(Recorder::new());
                service.oneshot(request).await.unwrap().status()
            })
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (status, text)
}

fn request(signature: &str, body: &str) -> Request<String> {
    let mut request = Request::post("/")
        .header("loopwise-webhook-signature", signature)
        .body(body.to_owned())
        .unwrap();
    let peer: IpAddr = "52.194.91.27".parse().unwrap();
    request.extensions_mut().insert(PeerAddr(peer));
    request
}

#[test]
fn a_rejection_is_one_warning_with_scheme_reason_and_peer_and_no_secrets() {
    let expected = presets::loopwise(SECRET).sign(BODY.as_bytes());
    let sent = presets::loopwise("attacker guess").sign(BODY.as_bytes());
    let (status, log) = logged(request(&sent, BODY));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    for field in [
        "WARN",
        "webhook rejected",
        "scheme=\"loopwise\"",
        "reason=\"invalid_signature\"",
        "peer=52.194.91.27",
        "mode=\"enforce\"",
    ] {
        assert!(lines[0].contains(field), "{field} missing from {log}");
    }
    assert!(!log.contains(SECRET), "{log}");
    assert!(!log.contains(&expected), "{log}");
    assert!(!log.contains(&sent), "{log}");
}

#[test]
fn a_verified_request_is_a_debug_event_naming_the_key_index_only() {
    let signature = presets::loopwise(SECRET).sign(BODY.as_bytes());
    let (status, log) = logged(request(&signature, BODY));
    assert_eq!(status, StatusCode::OK);
    assert!(log.contains("DEBUG"), "{log}");
    assert!(log.contains("webhook verified"), "{log}");
    assert!(log.contains("key_index=0"), "{log}");
    assert!(!log.contains(SECRET) && !log.contains(&signature), "{log}");
}

#[test]
fn debug_of_the_layer_shows_its_configuration_but_no_secret() {
    let layer = WebhookSignatureLayer::new(presets::loopwise(SECRET))
        .allow_ips("52.194.91.27".parse().unwrap());
    let shown = format!("{layer:?}");
    assert!(shown.contains("loopwise-webhook-signature"), "{shown}");
    assert!(shown.contains("[redacted; 1]"), "{shown}");
    assert!(shown.contains("52.194.91.27"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
}
