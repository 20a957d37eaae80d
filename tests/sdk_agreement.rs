//! Each preset against its sender's own SDK, both ways (`tests/vectors/generate_sdk.py`
//! installs pinned SDK versions from PyPI and npm and writes `tests/vectors/sdk.json`):
//!
//! - deliveries made or checked by an SDK get the SDK's verdict here too: accepted with the
//!   exact body reaching the handler, or refused before it;
//! - deliveries this crate signs (`sign_message`) are the ones the SDKs accepted: they are
//!   signed again here, with the recorded time and id, and must come out byte for byte the
//!   same.
//!
//! The script asks this file for the crate's deliveries (`write_crate_signed_deliveries`,
//! ignored unless run by name), has each SDK check them, and records the verdicts.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tower_webhook::{
    presets::{self, PresetOptions},
    sign::Message,
    HmacScheme, WebhookSignatureLayer,
};

fn sdk_json() -> serde_json::Value {
    serde_json::from_str(include_str!("vectors/sdk.json")).unwrap()
}

/// A delivery an SDK made or checked, with the SDK's verdict.
#[derive(Debug)]
struct Checked {
    name: String,
    preset: String,
    key: String,
    now_ms: u64,
    headers: Vec<(String, String)>,
    body: String,
    sdk: String,
    sdk_accepts: bool,
}

fn checked() -> Vec<Checked> {
    sdk_json()["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Checked {
            name: v["name"].as_str().unwrap().into(),
            preset: v["preset"].as_str().unwrap().into(),
            key: v["key"].as_str().unwrap().into(),
            now_ms: v["now_ms"].as_u64().unwrap(),
            headers: headers(&v["headers"]),
            body: v["body"].as_str().unwrap().into(),
            sdk: v["sdk"].as_str().unwrap().into(),
            sdk_accepts: v["sdk_accepts"].as_bool().unwrap(),
        })
        .filter(|c| presets::find(&c.preset).is_some_and(|p| p.is_available()))
        .collect()
}

fn headers(value: &serde_json::Value) -> Vec<(String, String)> {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().into()))
        .collect()
}

fn layer_at(
    preset: &str,
    key: &str,
    now_ms: u64,
) -> WebhookSignatureLayer<tower_webhook::scheme::AnyScheme> {
    let now = UNIX_EPOCH + Duration::from_millis(now_ms);
    let scheme = presets::find(preset)
        .unwrap()
        .scheme(key, &PresetOptions::new().clock(move || now))
        .unwrap_or_else(|e| panic!("{preset}: {e}"));
    WebhookSignatureLayer::new(scheme)
}

fn request(headers: &[(String, String)], body: &str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/hook");
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn every_delivery_an_sdk_checked_gets_the_same_verdict_here() {
    let deliveries = checked();
    assert!(deliveries.len() >= 20, "{}", deliveries.len());
    let mut disagreements = Vec::new();
    for delivery in &deliveries {
        let what = format!(
            "{} ({} says {})",
            delivery.name, delivery.sdk, delivery.sdk_accepts
        );
        let layer = layer_at(&delivery.preset, &delivery.key, delivery.now_ms);
        let outcome = support::run_through(layer, request(&delivery.headers, &delivery.body)).await;
        let agrees = if delivery.sdk_accepts {
            outcome.status == StatusCode::OK
                && outcome.recorder.only().body == delivery.body.as_bytes()
        } else {
            outcome.status == StatusCode::UNAUTHORIZED && outcome.recorder.calls() == 0
        };
        if !agrees {
            disagreements.push(format!("{what}: got {}", outcome.status));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// Both kinds of verdict are there for the senders whose rules changed.
#[test]
fn the_sdk_vectors_cover_each_disagreement_both_ways() {
    let deliveries = checked();
    for preset in [
        "shopify",
        "linear",
        "standard_webhooks",
        "openai",
        "box_com",
        "gitlab",
    ] {
        for verdict in [true, false] {
            assert!(
                deliveries
                    .iter()
                    .any(|d| d.preset == preset && d.sdk_accepts == verdict),
                "{preset}: no delivery the SDK says {verdict} to"
            );
        }
    }
}

/// Shopify's lowercase `shopify-*` names, as `@shopify/shopify-api` accepts them, through a
/// real axum server: the delivery reaches the handler, and the replay guard names it by
/// `shopify-webhook-id`, so a second copy is a duplicate.
#[tokio::test]
async fn shopify_lowercase_headers_verify_through_a_real_server() {
    use tower_webhook::replay::{MemoryStore, ReplayGuardLayer};

    let delivery = checked()
        .into_iter()
        .find(|d| d.name == "shopify-events-lowercase")
        .unwrap();
    assert!(delivery.sdk_accepts);
    let guard = ReplayGuardLayer::new(MemoryStore::new(1024));
    let guarded: axum::routing::MethodRouter = post(|body: Bytes| async move { body }).layer(guard);
    let app = Router::new().route(
        "/hook",
        guarded.layer(layer_at("shopify", &delivery.key, delivery.now_ms)),
    );
    let addr = support::serve_axum(app).await;
    let (status, _, body) = support::send(addr, request(&delivery.headers, &delivery.body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, delivery.body.as_bytes());

    // Another body under the same delivery id, sent with the `X-` names: the guard knew the
    // id from `shopify-webhook-id`, so this is a duplicate and the handler does not run.
    let retried = r#"{"id":1,"retried":true}"#;
    let id = delivery
        .headers
        .iter()
        .find(|(name, _)| name.as_str() == "shopify-webhook-id")
        .map(|(_, value)| value.clone())
        .unwrap();
    let again = vec![
        ("X-Shopify-Webhook-Id".to_owned(), id),
        (
            "X-Shopify-Hmac-Sha256".to_owned(),
            presets::shopify(delivery.key.as_str()).sign(retried.as_bytes()),
        ),
    ];
    let response = support::send(addr, request(&again, retried)).await;
    assert!(support::is_duplicate(&response), "{response:?}");

    // One character of the lowercase signature changed: refused before the handler.
    let mut forged = delivery.headers.clone();
    for (name, value) in &mut forged {
        if name.as_str() == "shopify-hmac-sha256" {
            let flipped = if value.starts_with('A') { "B" } else { "A" };
            value.replace_range(..1, flipped);
        }
    }
    let (status, _, body) = support::send(addr, request(&forged, &delivery.body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, &b"invalid webhook signature\n"[..]);
}

/// A delivery this crate signed, as the script recorded it.
struct Signed {
    preset: String,
    key: String,
    at: u64,
    id: Option<String>,
    body: String,
    headers: Vec<(String, String)>,
    sdk: String,
    sdk_accepts: bool,
}

/// The scheme this crate signs `preset`'s deliveries with.
fn signer(preset: &str, key: &str) -> HmacScheme {
    match preset {
        "workos" => presets::workos(key),
        "clerk" => presets::clerk(key).unwrap(),
        "resend" => presets::resend(key).unwrap(),
        "box_com" => presets::box_com(key),
        "standard_webhooks" => presets::standard_webhooks(key).unwrap(),
        "openai" => presets::openai(key).unwrap(),
        "gitlab" => presets::standard_webhooks(key).unwrap().named("gitlab"),
        "shopify" => presets::shopify(key),
        "linear" => presets::linear(key),
        "mux" => presets::mux(key),
        "razorpay" => presets::razorpay(key),
        other => panic!("no signer for {other}"),
    }
}

/// What this crate signs for the SDKs to check: each preset that signs, its key as the
/// sender gives it, a body (Linear's carries its signed time) and an id where one is signed.
fn to_sign(at: u64) -> Vec<(&'static str, &'static str, Option<&'static str>, String)> {
    let body = r#"{"id":"evt_sdk_1","type":"test.event","data":{"amount":4200}}"#.to_owned();
    vec![
        ("workos", "workos endpoint secret", None, body.clone()),
        (
            "clerk",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            Some("msg_clerk_1"),
            body.clone(),
        ),
        (
            "resend",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            Some("msg_resend_1"),
            body.clone(),
        ),
        ("box_com", "box primary key", None, body.clone()),
        (
            "standard_webhooks",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
            Some("msg_sw_1"),
            body.clone(),
        ),
        (
            "openai",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            Some("wh_openai_1"),
            body.clone(),
        ),
        (
            "openai",
            "openai raw secret",
            Some("wh_openai_2"),
            body.clone(),
        ),
        (
            "gitlab",
            "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=",
            Some("908a6d9e-45fd-46c8-97e6-c4f350f219dd"),
            body.clone(),
        ),
        ("shopify", "shpss_client_secret", None, body.clone()),
        (
            "linear",
            "lin_wh_signing_secret",
            None,
            format!(
                r#"{{"action":"create","type":"Issue","data":{{"id":"i_1"}},"webhookTimestamp":{}}}"#,
                at * 1000
            ),
        ),
        ("mux", "mux signing secret", None, body.clone()),
        ("razorpay", "razorpay webhook secret", None, body),
    ]
}

fn sign(preset: &str, key: &str, at: u64, id: Option<&str>, body: &str) -> Vec<(String, String)> {
    let mut message = Message::new(body.as_bytes()).timestamp(at);
    if let Some(id) = id {
        message = message.id(id);
    }
    let mut headers: Vec<(String, String)> = signer(preset, key)
        .sign_message(&message)
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

fn crate_signed() -> Vec<Signed> {
    sdk_json()["crate_signed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Signed {
            preset: v["preset"].as_str().unwrap().into(),
            key: v["key"].as_str().unwrap().into(),
            at: v["at"].as_u64().unwrap(),
            id: v["id"].as_str().map(Into::into),
            body: v["body"].as_str().unwrap().into(),
            headers: {
                let mut h = headers(&v["headers"]);
                h.sort();
                h
            },
            sdk: v["sdk"].as_str().unwrap().into(),
            sdk_accepts: v["sdk_accepts"].as_bool().unwrap(),
        })
        .collect()
}

#[test]
fn what_this_crate_signs_is_what_the_sdks_accepted() {
    let signed = crate_signed();
    let at = signed.first().unwrap().at;
    let expected: Vec<(String, String)> = to_sign(at)
        .into_iter()
        .map(|(preset, key, _, _)| (preset.to_owned(), key.to_owned()))
        .collect();
    let recorded: Vec<(String, String)> = signed
        .iter()
        .map(|s| (s.preset.clone(), s.key.clone()))
        .collect();
    assert_eq!(
        recorded, expected,
        "run tests/vectors/generate_sdk.py again"
    );
    for delivery in &signed {
        let headers = sign(
            &delivery.preset,
            &delivery.key,
            delivery.at,
            delivery.id.as_deref(),
            &delivery.body,
        );
        assert_eq!(
            headers, delivery.headers,
            "{}: the crate signs differently from what {} checked; run tests/vectors/generate_sdk.py again",
            delivery.preset, delivery.sdk
        );
        assert!(
            delivery.sdk_accepts,
            "{} refused this crate's {} delivery",
            delivery.sdk, delivery.preset
        );
    }
}

/// The crate's own deliveries verify here too, at the time they were signed.
#[tokio::test]
async fn what_this_crate_signs_verifies_here() {
    for delivery in crate_signed() {
        let layer = layer_at(&delivery.preset, &delivery.key, delivery.at * 1000);
        let outcome = support::run_through(layer, request(&delivery.headers, &delivery.body)).await;
        assert_eq!(outcome.status, StatusCode::OK, "{}", delivery.preset);
        assert_eq!(outcome.recorder.only().body, delivery.body.as_bytes());
    }
}

/// Writes the crate's deliveries for `generate_sdk.py`: `CRATE_SIGNED_AT` (Unix seconds) is
/// the time they are signed at, `CRATE_SIGNED_OUT` the file to write.
#[test]
#[ignore = "run by tests/vectors/generate_sdk.py"]
fn write_crate_signed_deliveries() {
    let at: u64 = std::env::var("CRATE_SIGNED_AT").unwrap().parse().unwrap();
    let out = std::env::var("CRATE_SIGNED_OUT").unwrap();
    let deliveries: Vec<serde_json::Value> = to_sign(at)
        .into_iter()
        .map(|(preset, key, id, body)| {
            let headers: serde_json::Map<String, serde_json::Value> =
                sign(preset, key, at, id, &body)
                    .into_iter()
                    .map(|(name, value)| (name, value.into()))
                    .collect();
            serde_json::json!({
                "preset": preset, "key": key, "at": at, "id": id, "body": body, "headers": headers,
            })
        })
        .collect();
    std::fs::write(out, serde_json::to_string_pretty(&deliveries).unwrap()).unwrap();
}
