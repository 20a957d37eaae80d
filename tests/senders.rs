//! The public-key and SHA-1 senders (Discord, Standard Webhooks `v1a`, SendGrid, Intercom,
//! Twilio) and raw Ed25519: published vectors (RFC 8032, SendGrid's SDK tests, Twilio's docs)
//! and vectors signed by Python's `cryptography`/`hmac` (`tests/vectors/senders.json`), round
//! trips signed here with test private keys, tampered bodies, wrong keys, malformed keys; and
//! Discord and Twilio end to end through a real axum server.
#![cfg(all(
    feature = "sha1",
    feature = "ed25519",
    feature = "p256",
    feature = "twilio"
))]

mod support;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac as _};
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use support::{run_through, Frames, Outcome};
use tower_webhook::{
    presets,
    scheme::{Ed25519Scheme, InvalidKey, InvalidUrl, Scheme, SignatureScheme},
    WebhookSignatureLayer,
};

const NOW: u64 = 1_700_000_000;
const BODY: &str = r#"{"id":"evt_1","type":"payment.succeeded","amount":4200}"#;

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/senders.json")).unwrap()
}

fn s(value: &Value) -> &str {
    value.as_str().unwrap()
}

fn at(now: u64) -> impl Fn() -> SystemTime + Send + Sync + 'static {
    move || UNIX_EPOCH + Duration::from_secs(now)
}

/// Sends `body` (in 7-byte frames, so every verifier streams) with `headers` to `uri`
/// through a layer over `scheme`.
async fn send<Sch: Scheme>(
    scheme: Sch,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Outcome {
    let mut request = Request::post(uri).body(Frames::split(body, 7)).unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    run_through(WebhookSignatureLayer::new(scheme), request).await
}

/// Asserts the request passed with exactly `body` reaching the inner service, verified by
/// key `key_index`.
fn passed(out: &Outcome, body: &[u8], key_index: usize) {
    assert_eq!(out.status, StatusCode::OK, "{:?}", out.body);
    let seen = out.recorder.only();
    assert_eq!(seen.body, body);
    assert_eq!(seen.verified.unwrap().key_index(), key_index);
}

/// Asserts the request was refused with `status` and `text`, the inner service untouched.
fn refused(out: &Outcome, status: StatusCode, text: &str) {
    assert_eq!(out.status, status);
    assert_eq!(out.body, format!("{text}\n").as_bytes());
    assert_eq!(out.recorder.calls(), 0);
}

const INVALID: &str = "invalid webhook signature";
const MALFORMED: &str = "malformed webhook signature";

#[tokio::test]
async fn rfc_8032_vectors_verify_as_raw_ed25519() {
    for v in vectors()["rfc8032"].as_array().unwrap() {
        let key = hex::decode(s(&v["public_key"])).unwrap();
        let message = hex::decode(s(&v["message"])).unwrap();
        let scheme = Ed25519Scheme::ed25519(&key).unwrap();
        let headers = [("x-signature", s(&v["signature"]))];
        passed(
            &send(scheme.clone(), "/", &headers, &message).await,
            &message,
            0,
        );
        let tampered = [message.as_slice(), b"!"].concat();
        refused(
            &send(scheme, "/", &headers, &tampered).await,
            StatusCode::UNAUTHORIZED,
            INVALID,
        );
    }
}

#[tokio::test]
async fn discord_vector_round_trip_tampering_wrong_key_and_window() {
    let v = &vectors()["discord"];
    let scheme = presets::discord(s(&v["public_key"]))
        .unwrap()
        .clock(at(NOW));
    let headers = [
        ("x-signature-ed25519", s(&v["signature"])),
        ("x-signature-timestamp", s(&v["timestamp"])),
    ];
    passed(
        &send(scheme.clone(), "/", &headers, BODY.as_bytes()).await,
        BODY.as_bytes(),
        0,
    );
    let tampered = BODY.replace("4200", "4201");
    refused(
        &send(scheme.clone(), "/", &headers, tampered.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    // The timestamp is signed too.
    let moved = [headers[0], ("x-signature-timestamp", "1700000001")];
    refused(
        &send(scheme.clone(), "/", &moved, BODY.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    let wrong_key =
        presets::discord("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            .unwrap()
            .clock(at(NOW));
    refused(
        &send(wrong_key, "/", &headers, BODY.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    let later = scheme.clone().clock(at(NOW + 301));
    refused(
        &send(later, "/", &headers, BODY.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        "webhook timestamp outside the tolerance",
    );
    let short = [
        ("x-signature-ed25519", &s(&v["signature"])[..126]),
        headers[1],
    ];
    refused(
        &send(scheme.clone(), "/", &short, BODY.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        MALFORMED,
    );

    // Round trip under a key made here, rotated in beside the vector's.
    let signer = SigningKey::from_bytes(&[7; 32]);
    let rotated = scheme
        .also_accept(signer.verifying_key().as_bytes())
        .unwrap();
    let signature = hex::encode(signer.sign(format!("{NOW}{BODY}").as_bytes()).to_bytes());
    let headers = [("x-signature-ed25519", signature.as_str()), headers[1]];
    passed(
        &send(rotated, "/", &headers, BODY.as_bytes()).await,
        BODY.as_bytes(),
        1,
    );
}

#[tokio::test]
async fn standard_webhooks_v1a_vector_round_trip_and_svix_names() {
    let v = &vectors()["standard_webhooks_v1a"];
    let scheme = presets::standard_webhooks_v1a(s(&v["public_key"]))
        .unwrap()
        .clock(at(NOW));
    let headers = [
        ("webhook-id", s(&v["id"])),
        ("webhook-timestamp", s(&v["timestamp"])),
        ("webhook-signature", s(&v["signature"])),
    ];
    passed(
        &send(scheme.clone(), "/", &headers, BODY.as_bytes()).await,
        BODY.as_bytes(),
        0,
    );
    let svix = [
        ("svix-id", s(&v["id"])),
        ("svix-timestamp", s(&v["timestamp"])),
        ("svix-signature", s(&v["signature"])),
    ];
    passed(
        &send(scheme.clone(), "/", &svix, BODY.as_bytes()).await,
        BODY.as_bytes(),
        0,
    );
    let other_id = [("webhook-id", "msg_other"), headers[1], headers[2]];
    refused(
        &send(scheme.clone(), "/", &other_id, BODY.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    refused(
        &send(scheme, "/", &headers, b"{}").await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );

    // The prefix is optional; a key made here signs and verifies.
    let signer = SigningKey::from_bytes(&[9; 32]);
    let public = STANDARD.encode(signer.verifying_key().as_bytes());
    let scheme = presets::standard_webhooks_v1a(&public)
        .unwrap()
        .clock(at(NOW));
    let signature = STANDARD.encode(
        signer
            .sign(format!("msg_1.{NOW}.{BODY}").as_bytes())
            .to_bytes(),
    );
    let value = format!("v1a,{signature}");
    let headers = [
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", value.as_str()),
    ];
    passed(
        &send(scheme.clone(), "/", &headers, BODY.as_bytes()).await,
        BODY.as_bytes(),
        0,
    );
    // An HMAC `v1` entry is not a `v1a` signature.
    let v1_only = [
        headers[0],
        headers[1],
        (
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ];
    refused(
        &send(scheme, "/", &v1_only, BODY.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        "missing webhook signature",
    );
}

#[tokio::test]
async fn sendgrid_published_and_computed_vectors_round_trip_and_tampering() {
    for v in vectors()["sendgrid"].as_array().unwrap() {
        let now = s(&v["timestamp"]).parse().unwrap();
        let scheme = presets::sendgrid(s(&v["public_key"]))
            .unwrap()
            .clock(at(now));
        let body = s(&v["body"]).as_bytes();
        let headers = [
            ("x-twilio-email-event-webhook-signature", s(&v["signature"])),
            ("x-twilio-email-event-webhook-timestamp", s(&v["timestamp"])),
        ];
        passed(&send(scheme.clone(), "/", &headers, body).await, body, 0);
        refused(
            &send(scheme.clone(), "/", &headers, b"payload").await,
            StatusCode::UNAUTHORIZED,
            INVALID,
        );
        // SendGrid's SDK tests' "bad key".
        let other = presets::sendgrid("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==")
            .unwrap()
            .clock(at(now));
        refused(
            &send(other, "/", &headers, body).await,
            StatusCode::UNAUTHORIZED,
            INVALID,
        );
        let moved = (now + 1).to_string();
        let raw = [
            headers[0],
            ("x-twilio-email-event-webhook-timestamp", moved.as_str()),
        ];
        refused(
            &send(scheme, "/", &raw, body).await,
            StatusCode::UNAUTHORIZED,
            INVALID,
        );
    }

    // Round trip under a key made here, given as PEM.
    use p256::ecdsa::{signature::Signer as _, Signature, SigningKey as P256Key};
    let signer = P256Key::from_slice(&[5; 32]).unwrap();
    // As the key's owner would write it: PEM of its SubjectPublicKeyInfo.
    let pem = p256::pkcs8::EncodePublicKey::to_public_key_pem(
        signer.verifying_key(),
        p256::pkcs8::LineEnding::LF,
    )
    .unwrap();
    let scheme = presets::sendgrid(&pem).unwrap().clock(at(NOW));
    let signature: Signature = signer.sign(format!("{NOW}{BODY}").as_bytes());
    let encoded = STANDARD.encode(signature.to_der().as_bytes());
    let headers = [
        ("x-twilio-email-event-webhook-signature", encoded.as_str()),
        ("x-twilio-email-event-webhook-timestamp", "1700000000"),
    ];
    passed(
        &send(scheme.clone(), "/", &headers, BODY.as_bytes()).await,
        BODY.as_bytes(),
        0,
    );
    // Raw r||s instead of DER is malformed.
    let raw = STANDARD.encode(signature.to_bytes());
    let headers = [
        ("x-twilio-email-event-webhook-signature", raw.as_str()),
        headers[1],
    ];
    refused(
        &send(scheme, "/", &headers, BODY.as_bytes()).await,
        StatusCode::UNAUTHORIZED,
        MALFORMED,
    );
}

#[tokio::test]
async fn intercom_vector_round_trip_and_tampering() {
    let v = &vectors()["intercom"];
    let scheme = presets::intercom(s(&v["secret"]));
    let headers = [("x-hub-signature", s(&v["signature"]))];
    passed(
        &send(scheme.clone(), "/", &headers, BODY.as_bytes()).await,
        BODY.as_bytes(),
        0,
    );
    assert_eq!(scheme.sign(BODY.as_bytes()), s(&v["signature"]));
    refused(
        &send(scheme, "/", &headers, b"{}").await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    refused(
        &send(
            presets::intercom("another secret"),
            "/",
            &headers,
            BODY.as_bytes(),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        INVALID,
    );
    // A SHA-256 length under the sha1= prefix is malformed.
    let long = format!("sha1={}", "ab".repeat(32));
    refused(
        &send(
            presets::intercom("s"),
            "/",
            &[("x-hub-signature", long.as_str())],
            BODY.as_bytes(),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        MALFORMED,
    );
}

#[tokio::test]
async fn twilio_vectors_tampering_and_wrong_token() {
    for v in vectors()["twilio"].as_array().unwrap() {
        let scheme = presets::twilio(s(&v["token"]), s(&v["base"])).unwrap();
        let body = s(&v["body"]).as_bytes();
        let headers = [
            ("x-twilio-signature", s(&v["signature"])),
            ("content-type", s(&v["content_type"])),
        ];
        passed(
            &send(scheme.clone(), s(&v["path"]), &headers, body).await,
            body,
            0,
        );
        refused(
            &send(scheme, s(&v["path"]), &headers, &body[1..]).await,
            StatusCode::UNAUTHORIZED,
            INVALID,
        );
        let other = presets::twilio("54321", s(&v["base"])).unwrap();
        refused(
            &send(other, s(&v["path"]), &headers, body).await,
            StatusCode::UNAUTHORIZED,
            INVALID,
        );
    }
}

#[test]
fn malformed_keys_are_errors_when_the_scheme_is_built() {
    let hex_error = InvalidKey::clone(&presets::discord("zz").unwrap_err());
    assert_eq!(
        hex_error.to_string(),
        "invalid key: expected 64 hex digits (32 bytes)"
    );
    // The identity point: a weak key, under which anything verifies.
    let weak = format!("01{}", "00".repeat(31));
    assert!(presets::discord(&weak).is_err());
    assert!(presets::discord("ab".repeat(31)).is_err());
    assert!(presets::standard_webhooks_v1a("whpk_not base64").is_err());
    assert!(presets::standard_webhooks_v1a("whpk_AAAA").is_err());
    assert!(presets::sendgrid("MFkwEwYHKoZIzj0CAQ==").is_err());
    assert!(presets::sendgrid("").is_err());
    // An Ed25519 key where a P-256 one belongs.
    assert!(
        presets::sendgrid("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").is_err()
    );
    assert_eq!(
        presets::twilio("t", "mycompany.com").unwrap_err(),
        InvalidUrl
    );
    let _: SignatureScheme<tower_webhook::scheme::EcdsaP256> = presets::sendgrid(
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
    )
    .unwrap();
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Bytes>>>);

impl Received {
    fn take(&self) -> Vec<Bytes> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn server(
    path: &str,
    layer: WebhookSignatureLayer<impl Scheme + Clone>,
    received: &Received,
) -> SocketAddr {
    let received = received.clone();
    let route = post(move |body: Bytes| async move {
        received.0.lock().unwrap().push(body);
        "handled"
    })
    .layer(layer);
    support::serve_axum(Router::new().route(path, route)).await
}

#[tokio::test]
async fn discord_end_to_end_through_a_real_server() {
    let signer = SigningKey::from_bytes(&[42; 32]);
    let public_hex = hex::encode(signer.verifying_key().as_bytes());
    let received = Received::default();
    let layer = WebhookSignatureLayer::new(presets::discord(&public_hex).unwrap());
    let addr = server("/interactions", layer, &received).await;

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    // An application command (a PING, `type` 1, the layer answers itself: tests/handshakes.rs).
    let body = r#"{"type":2,"data":{"name":"ping"}}"#;
    let signature = hex::encode(signer.sign(format!("{now}{body}").as_bytes()).to_bytes());
    let request = |body: &'static str, signature: &str| {
        Request::post("/interactions")
            .header("x-signature-ed25519", signature)
            .header("x-signature-timestamp", now.as_str())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let (status, _, text) = support::send(addr, request(body, &signature)).await;
    assert_eq!(
        (status, text.as_ref()),
        (StatusCode::OK, b"handled".as_ref())
    );
    assert_eq!(received.take(), [Bytes::from_static(body.as_bytes())]);

    // Discord's own endpoint check sends a bad signature and expects 401.
    let (status, _, text) = support::send(addr, request(r#"{"type":2}"#, &signature)).await;
    assert_eq!(
        (status, text.as_ref()),
        (StatusCode::UNAUTHORIZED, format!("{INVALID}\n").as_bytes())
    );
    let unsigned = Request::post("/interactions")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let (status, _, _) = support::send(addr, unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(received.take().is_empty());
}

fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn twilio_end_to_end_behind_a_proxy_ignores_the_host_header() {
    let received = Received::default();
    // Twilio calls https://public.example.com/sms; a proxy forwards to this server.
    let layer = WebhookSignatureLayer::new(
        presets::twilio("twilio-token", "https://public.example.com").unwrap(),
    );
    let addr = server("/sms", layer, &received).await;

    let params = [
        ("From", "+14158675310"),
        ("Body", "Hello & bye"),
        ("To", "+18005551212"),
    ];
    let form = "From=%2B14158675310&Body=Hello+%26+bye&To=%2B18005551212";
    let request = |signature: &str, host: &str| {
        Request::post("/sms?account=1")
            .header("host", host)
            .header("x-twilio-signature", signature)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(form.as_bytes())))
            .unwrap()
    };
    let good = twilio_signature(
        "twilio-token",
        "https://public.example.com/sms?account=1",
        &params,
    );
    let (status, _, text) = support::send(addr, request(&good, "public.example.com")).await;
    assert_eq!(
        (status, text.as_ref()),
        (StatusCode::OK, b"handled".as_ref())
    );
    assert_eq!(received.take(), [Bytes::from_static(form.as_bytes())]);

    // The Host header is the client's to choose: a signature over a URL built from it fails.
    let host = format!("{addr}");
    let forged = twilio_signature(
        "twilio-token",
        &format!("http://{host}/sms?account=1"),
        &params,
    );
    let (status, _, text) = support::send(addr, request(&forged, &host)).await;
    assert_eq!(
        (status, text.as_ref()),
        (StatusCode::UNAUTHORIZED, format!("{INVALID}\n").as_bytes())
    );
    // A changed parameter fails.
    let changed = twilio_signature(
        "twilio-token",
        "https://public.example.com/sms?account=1",
        &[("From", "+1"), params[1], params[2]],
    );
    let (status, _, _) = support::send(addr, request(&changed, "public.example.com")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(received.take().is_empty());
}

#[tokio::test]
async fn a_delivery_id_names_the_delivery_not_the_encoding() {
    use p256::ecdsa::Signature;
    let v = &vectors()["sendgrid"][0];
    let now: u64 = s(&v["timestamp"]).parse().unwrap();
    let scheme = presets::sendgrid(s(&v["public_key"]))
        .unwrap()
        .clock(at(now));
    let body = s(&v["body"]).as_bytes();
    let signature = Signature::from_der(&STANDARD.decode(s(&v["signature"])).unwrap()).unwrap();
    // ECDSA's malleated twin (s replaced by n - s) is the same signature mathematically.
    let (r, s_scalar) = signature.split_scalars();
    let twin = Signature::from_scalars(r, -s_scalar).unwrap();
    let mut ids = Vec::new();
    for signature in [signature, twin] {
        let encoded = STANDARD.encode(signature.to_der().as_bytes());
        let headers = [
            ("x-twilio-email-event-webhook-signature", encoded.as_str()),
            ("x-twilio-email-event-webhook-timestamp", s(&v["timestamp"])),
        ];
        let out = send(scheme.clone(), "/", &headers, body).await;
        passed(&out, body, 0);
        ids.push(out.recorder.only().verified.unwrap().delivery_id().unwrap());
    }
    assert_eq!(ids[0], ids[1]);

    // Another signature over another timestamp is another delivery.
    let discord = &vectors()["discord"];
    let headers = [
        ("x-signature-ed25519", s(&discord["signature"])),
        ("x-signature-timestamp", s(&discord["timestamp"])),
    ];
    let scheme = presets::discord(s(&discord["public_key"]))
        .unwrap()
        .clock(at(NOW));
    let out = send(scheme, "/", &headers, BODY.as_bytes()).await;
    let other = out.recorder.only().verified.unwrap().delivery_id().unwrap();
    assert_ne!(other, ids[0]);
}
