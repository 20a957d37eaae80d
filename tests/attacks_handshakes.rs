//! Attacks on senders' setup handshakes (issue #23), by someone with no secret: echoes that
//! carry markup, handshakes answered on the wrong method, the X CRC as a signing oracle,
//! unsigned handshakes reaching the handler, secrets planted through capture, tenants told
//! apart, and bodies read past the handshake's cap. Each test asserts the safe outcome.
#![cfg(all(feature = "test-util", feature = "keys", feature = "axum"))]

mod support;

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{Request, StatusCode};
use http_body_util::Full;
use sha2::Sha256;
use tower::ServiceExt as _;
use tower_webhook::{
    handshake::{CaptureInto, Handshake, HandshakeMode},
    keys::{FoundKeys, KeyName, KeyResolver, ReloadableKeys},
    presets,
    testing::TestSender,
    HmacScheme, Rejection, WebhookSignatureLayer,
};

use support::handshake::{serve, Calls};

fn request(method: &str, uri: &str, body: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn hmac(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// X's CRC answers HMAC(consumer secret, token) for any token the attacker picks: an oracle
/// with the same key and construction as a delivery's signature. Tokens that are JSON
/// values but not objects (`123`, `true`, `null`) must not verify as deliveries.
#[tokio::test]
async fn x_crc_answers_never_verify_as_deliveries() {
    let secret = "x consumer secret";
    let calls = Calls::default();
    let addr = serve(WebhookSignatureLayer::new(presets::x(secret)), &calls).await;
    for token in [
        "123", "true", "null", "1e5", "-0", "+7", "%20%2012", "a=b", "x:y/z",
    ] {
        let (status, _, answer) =
            support::send(addr, request("GET", &format!("/?crc_token={token}"), "")).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        let signature = answer["response_token"].as_str().unwrap().to_owned();
        // The token as the layer decoded it (form encoding: `+` is a space).
        let decoded: String = form_urlencoded::parse(format!("t={token}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        assert_eq!(
            signature,
            format!(
                "sha256={}",
                STANDARD.encode(hmac(secret, decoded.as_bytes()))
            )
        );
        let forged = Request::post("/")
            .header("x-twitter-webhooks-signature", &signature)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(decoded.clone())))
            .unwrap();
        let (status, _, _) = support::send(addr, forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{decoded:?}");
    }
    // A token that would make a JSON object is refused, encoded or not.
    for token in ["%7B%7D", "{}", "%20%7B%22a%22%3A1%7D"] {
        let (status, _, _) =
            support::send(addr, request("GET", &format!("/?crc_token={token}"), "")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{token}");
    }
    assert_eq!(calls.get(), 0);
}

/// With the consumer secret resolved per tenant there is no CRC: every name, known or not,
/// gets the same answer, so the CRC tells no tenant apart.
#[tokio::test]
async fn x_crc_per_tenant_answers_every_name_alike() {
    let keys = ReloadableKeys::new();
    keys.insert("acme", FoundKeys::new("acme consumer secret"));
    let scheme = presets::x(KeyResolver::new(KeyName::path("/t/{tenant}"), keys));
    let calls = Calls::default();
    let addr = serve(WebhookSignatureLayer::new(scheme), &calls).await;
    let known = support::send(addr, request("GET", "/t/acme?crc_token=abc", "")).await;
    let unknown = support::send(addr, request("GET", "/t/nobody?crc_token=abc", "")).await;
    assert_eq!(known.0, StatusCode::FORBIDDEN);
    assert_eq!((known.0, known.2), (unknown.0, unknown.2));
    assert_eq!(calls.get(), 0);
}

/// An unsigned handshake is answered only for its sender's method and shape: the same query
/// on another method is a request like any other, verified (and refused unsigned).
#[tokio::test]
async fn unsigned_handshakes_are_answered_only_on_their_own_method() {
    let cases: Vec<(&str, WebhookSignatureLayer<HmacScheme>, &str, &str)> = vec![
        (
            "dropbox POST",
            WebhookSignatureLayer::new(presets::dropbox("s")),
            "POST",
            "/?challenge=abc",
        ),
        (
            "dropbox PUT",
            WebhookSignatureLayer::new(presets::dropbox("s")),
            "PUT",
            "/?challenge=abc",
        ),
        (
            "meta POST",
            WebhookSignatureLayer::new(presets::meta("s")).handshake(Handshake::meta("tok")),
            "POST",
            "/?hub.mode=subscribe&hub.verify_token=tok&hub.challenge=abc",
        ),
        (
            "x POST",
            WebhookSignatureLayer::new(presets::x("s")),
            "POST",
            "/?crc_token=abc",
        ),
        (
            "x HEAD",
            WebhookSignatureLayer::new(presets::x("s")),
            "HEAD",
            "/?crc_token=abc",
        ),
        (
            "trello GET",
            WebhookSignatureLayer::new(presets::trello("s", "https://example.com/")),
            "GET",
            "/",
        ),
        // Dropbox's challenge on Meta's route, Meta's on Dropbox's.
        (
            "dropbox on meta",
            WebhookSignatureLayer::new(presets::meta("s")).handshake(Handshake::meta("tok")),
            "GET",
            "/?challenge=abc",
        ),
        (
            "meta on dropbox",
            WebhookSignatureLayer::new(presets::dropbox("s")),
            "GET",
            "/?hub.mode=subscribe&hub.verify_token=tok&hub.challenge=abc",
        ),
        // Asana's header on a route whose handshake is Notion's, and the other way.
        (
            "asana on notion",
            WebhookSignatureLayer::new(presets::notion("s")),
            "GET",
            "/",
        ),
    ];
    for (what, layer, method, uri) in cases {
        let calls = Calls::default();
        let addr = serve(layer, &calls).await;
        let (status, _, body) = support::send(addr, request(method, uri, "")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body:?}");
        assert!(!body.windows(3).any(|w| w == b"abc"), "{what} echoed");
        assert_eq!(calls.get(), 0, "{what}");
    }
    // Microsoft Graph's validation on GET: a ClientState route has no signature header, so
    // a GET is refused as any unsigned request, never echoed.
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::microsoft_graph("state")),
        &calls,
    )
    .await;
    let (status, _, body) = support::send(addr, request("GET", "/?validationToken=abc", "")).await;
    assert_ne!(status, StatusCode::OK);
    assert!(!body.windows(3).any(|w| w == b"abc"));
    assert_eq!(calls.get(), 0);
}

/// Percent-encoded markup, quotes and line breaks in an echoed challenge are refused before
/// they reach a response.
#[tokio::test]
async fn echoes_never_carry_markup_quotes_or_line_breaks() {
    let dropbox = serve(
        WebhookSignatureLayer::new(presets::dropbox("s")),
        &Calls::default(),
    )
    .await;
    let graph = serve(
        WebhookSignatureLayer::new(presets::microsoft_graph("state")),
        &Calls::default(),
    )
    .await;
    let meta = serve(
        WebhookSignatureLayer::new(presets::meta("s")).handshake(Handshake::meta("tok")),
        &Calls::default(),
    )
    .await;
    for evil in [
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "a%0D%0ASet-Cookie%3A%20x%3D1",
        "a%22b",
        "a%00b",
        "caf%C3%A9",
        "a%5Cb",
        "a%26b",
        "%FF",
    ] {
        for (addr, method, uri) in [
            (dropbox, "GET", format!("/?challenge={evil}")),
            (graph, "POST", format!("/?validationToken={evil}")),
            (
                meta,
                "GET",
                format!("/?hub.mode=subscribe&hub.verify_token=tok&hub.challenge={evil}"),
            ),
        ] {
            let (status, headers, body) = support::send(addr, request(method, &uri, "")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            assert!(headers.get("set-cookie").is_none());
            assert_eq!(body.as_ref(), b"invalid handshake challenge\n", "{uri}");
        }
    }
}

/// In `HandshakeMode::Handler` "an unsigned one of the exact shape reaches it unverified":
/// Notion's shape is a JSON body of only `verification_token`. Any other unsigned POST on a
/// Notion route (a delivery-shaped body with its signature header left off) must be refused
/// as unsigned, not handed to the handler.
#[tokio::test]
async fn notion_handler_mode_passes_only_the_handshake_s_shape() {
    let calls = Calls::default();
    let layer =
        WebhookSignatureLayer::new(presets::notion("secret_x")).handshakes(HandshakeMode::Handler);
    let addr = serve(layer, &calls).await;
    let forged = r#"{"id":"evt_1","type":"page.deleted","entity":{"id":"p1","type":"page"}}"#;
    let (status, _, body) = support::send(addr, request("POST", "/", forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body:?}");
    assert_eq!(calls.get(), 0);
}

/// In Handler mode the handshake the handler is given is still marked unverified, and a
/// delivery whose signature is wrong is not taken for one.
#[tokio::test]
async fn handler_mode_marks_unsigned_handshakes_and_refuses_wrongly_signed_ones() {
    let calls = Calls::default();
    let layer =
        WebhookSignatureLayer::new(presets::notion("secret_x")).handshakes(HandshakeMode::Handler);
    let addr = serve(layer, &calls).await;
    let (status, _, body) = support::send(
        addr,
        request("POST", "/", r#"{"verification_token":"secret_t"}"#),
    )
    .await;
    assert_eq!(
        (status, body.as_ref()),
        (
            StatusCode::OK,
            &b"handler saw notion_verification_token"[..]
        )
    );
    let wrong = Request::post("/")
        .header("x-notion-signature", format!("sha256={}", "0".repeat(64)))
        .body(Full::new(Bytes::from_static(
            br#"{"verification_token":"t"}"#,
        )))
        .unwrap();
    let (status, _, _) = support::send(addr, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 1);
}

/// An unsigned POST on a Notion route that is not Notion's handshake is "as any request
/// without a signature": answered through the layer's `on_rejection`, as it is on any other
/// route (a uniform answer is what `on_rejection` is for).
#[tokio::test]
async fn notion_s_non_handshake_goes_through_on_rejection() {
    let calls = Calls::default();
    let layer =
        WebhookSignatureLayer::new(presets::notion("secret_x")).on_rejection(|_: &Rejection| {
            let mut response = http::Response::new(Bytes::from_static(b"nope"));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        });
    let addr = serve(layer, &calls).await;
    let (status, _, body) =
        support::send(addr, request("POST", "/", r#"{"type":"page.created"}"#)).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::NOT_FOUND, &b"nope"[..])
    );
    assert_eq!(calls.get(), 0);
}

/// In report-only mode a request without a signature goes on, marked unverified, on every
/// route; a Notion route must not refuse it outright because it might have been a handshake.
#[tokio::test]
async fn notion_s_non_handshake_is_reported_only_in_report_only_mode() {
    let calls = Calls::default();
    let layer = WebhookSignatureLayer::new(presets::notion("secret_x")).report_only();
    let addr = serve(layer, &calls).await;
    let (status, _, _) =
        support::send(addr, request("POST", "/", r#"{"type":"page.created"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
}

/// Anyone can send Notion's unsigned handshake: a chunked body (no length declared) is not
/// read past MAX_HANDSHAKE_BODY, whatever the layer's own limit.
#[tokio::test]
async fn a_chunked_notion_handshake_is_not_read_past_its_cap() {
    let keys = ReloadableKeys::new();
    let capture = CaptureInto::new(keys.clone(), KeyName::path("/t/{tenant}"));
    capture.expect("acme", Duration::from_secs(60));
    let layer = WebhookSignatureLayer::new(presets::notion(KeyResolver::new(
        KeyName::path("/t/{tenant}"),
        keys.clone(),
    )))
    .max_body_size(16 << 20)
    .handshake(Handshake::notion(capture));
    let service = tower::Layer::layer(&layer, support::Recorder::new());
    // 1 MiB in 1 KiB frames, starting like a real handshake.
    let mut body = br#"{"verification_token":""#.to_vec();
    body.resize(1 << 20, b'a');
    let frames = support::Frames::split(&body, 1024);
    let polled = frames.polled();
    let request = Request::post("/t/acme").body(frames).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(polled.load(Ordering::SeqCst) <= 6, "{polled:?} frames read");
    // Nothing was planted.
    assert!(capture_untouched(&keys, "acme").await);
}

async fn capture_untouched(keys: &ReloadableKeys, name: &str) -> bool {
    use tower_webhook::keys::KeySource as _;
    matches!(keys.lookup(name).await, Ok(None))
}

/// Microsoft Graph's validation is answered from the query alone: a huge or endless body
/// sent with it is never read (no memory, no budget held).
#[tokio::test]
async fn a_graph_validation_with_an_endless_body_is_answered_without_reading_it() {
    let layer = WebhookSignatureLayer::new(presets::microsoft_graph("state"));
    let service = tower::Layer::layer(&layer, support::Recorder::new());
    let body = support::Endless::new(64 * 1024);
    let polled = Arc::clone(&body.polled);
    let request = Request::post("/?validationToken=abc").body(body).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), service.oneshot(request))
        .await
        .expect("answered at once")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(polled.load(Ordering::SeqCst), 0);
}

/// Many handshakes race for one expected name, each with its own secret: exactly one is
/// stored, the one answered 200; every other gets 403 and verifies nothing.
#[tokio::test]
async fn racing_asana_handshakes_plant_exactly_one_secret() {
    let keys = ReloadableKeys::new();
    let name = KeyName::path("/t/{tenant}");
    let capture = CaptureInto::new(keys.clone(), name.clone());
    let scheme = HmacScheme::sha256(KeyResolver::new(name, keys.clone()))
        .header("x-hook-signature")
        .named("asana");
    let layer = WebhookSignatureLayer::new(scheme).handshake(Handshake::asana(capture.clone()));
    let calls = Calls::default();
    let addr = serve(layer, &calls).await;
    assert!(capture.expect("acme", Duration::from_secs(60)));
    let attempts = (0..16).map(|i| {
        let secret = format!("secret{i:02}");
        async move {
            let request = Request::post("/t/acme")
                .header("x-hook-secret", &secret)
                .body(Full::new(Bytes::new()))
                .unwrap();
            (secret, support::send(addr, request).await.0)
        }
    });
    let results = futures_join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, status)| *status == StatusCode::OK)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .all(|(_, status)| *status == StatusCode::OK || *status == StatusCode::FORBIDDEN));
    let delivery = br#"{"events":[]}"#;
    for (secret, status) in &results {
        let signed = Request::post("/t/acme")
            .header("x-hook-signature", hex::encode(hmac(secret, delivery)))
            .body(Full::new(Bytes::from_static(delivery)))
            .unwrap();
        let (verdict, _, _) = support::send(addr, signed).await;
        let expected = if *status == StatusCode::OK {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(verdict, expected, "{secret}");
    }
    assert_eq!(calls.get(), 1);
}

/// The expectation is for one name: a handshake for a neighbouring spelling (case, trailing
/// segment, encoded slash) is refused and does not consume it.
#[tokio::test]
async fn an_expected_name_is_not_planted_through_another_spelling() {
    let keys = ReloadableKeys::new();
    let name = KeyName::path("/t/{tenant}");
    let capture = CaptureInto::new(keys.clone(), name.clone());
    let scheme = HmacScheme::sha256(KeyResolver::new(name, keys.clone()))
        .header("x-hook-signature")
        .named("asana");
    let layer = WebhookSignatureLayer::new(scheme).handshake(Handshake::asana(capture.clone()));
    let calls = Calls::default();
    let addr = serve(layer, &calls).await;
    assert!(capture.expect("acme", Duration::from_secs(60)));
    for path in [
        "/t/ACME",
        "/t/acme%2F..",
        "/t/acme%20",
        "/t/acm",
        "/t/acmee",
    ] {
        let request = Request::post(path)
            .header("x-hook-secret", "attackersecret")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let (status, _, _) = support::send(addr, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    // The real one still lands.
    let request = Request::post("/t/acme")
        .header("x-hook-secret", "realsecret")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(support::send(addr, request).await.0, StatusCode::OK);
    assert_eq!(calls.get(), 0);
}

/// A captured Twitch handshake, answered by the layer, replayed with its unsigned
/// `Twitch-Eventsub-Message-Type` relabelled `notification`: the body carries a `challenge`,
/// which no notification does; the handler must not take it for an event.
#[tokio::test]
async fn a_relabelled_twitch_handshake_does_not_reach_the_handler() {
    let sender = TestSender::new("twitch").unwrap().key("twitch secret");
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::twitch("twitch secret")),
        &calls,
    )
    .await;
    let challenge = r#"{"challenge":"abc","subscription":{"id":"s1","type":"channel.follow","version":"2","status":"webhook_callback_verification_pending"}}"#;
    let mut captured = sender.signed_request(challenge).unwrap();
    captured.headers_mut().insert(
        "twitch-eventsub-message-type",
        "webhook_callback_verification".parse().unwrap(),
    );
    let (status, _, body) = support::send(addr, captured.clone().map(Full::new)).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"abc"[..]));
    captured.headers_mut().insert(
        "twitch-eventsub-message-type",
        "notification".parse().unwrap(),
    );
    // Recognised by its signed body: answered again as the challenge, never handled.
    let (status, _, body) = support::send(addr, captured.map(Full::new)).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"abc"[..]));
    assert_eq!(calls.get(), 0);
}

/// `futures::future::join_all` without the dependency: spawn each and await in order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// Notion's capture per tenant: a name with keys, a name nobody knows and a name expected
/// but sent a handshake of the wrong shape all answer alike; only the expected name's exact
/// handshake is stored, so the handshake tells no tenant apart and replaces no key.
#[tokio::test]
async fn notion_capture_answers_known_and_unknown_names_alike() {
    let keys = ReloadableKeys::new();
    keys.insert("acme", FoundKeys::new("secret_acme"));
    let name = KeyName::path("/t/{tenant}");
    let capture = CaptureInto::new(keys.clone(), name.clone());
    let layer = WebhookSignatureLayer::new(presets::notion(KeyResolver::new(name, keys.clone())))
        .handshake(Handshake::notion(capture.clone()));
    let calls = Calls::default();
    let addr = serve(layer, &calls).await;
    let handshake = r#"{"verification_token":"secret_attacker"}"#;
    // Even expected, a name with keys keeps them.
    assert!(capture.expect("acme", Duration::from_secs(60)));
    let known = support::send(addr, request("POST", "/t/acme", handshake)).await;
    let unknown = support::send(addr, request("POST", "/t/nobody", handshake)).await;
    assert_eq!(known.0, StatusCode::FORBIDDEN);
    assert_eq!((known.0, known.2), (unknown.0, unknown.2));
    assert!(capture_untouched(&keys, "nobody").await);
    let event = br#"{"id":"evt_1","type":"page.created"}"#;
    let forged = Request::post("/t/acme")
        .header(
            "x-notion-signature",
            format!("sha256={}", hex::encode(hmac("secret_attacker", event))),
        )
        .body(Full::new(Bytes::from_static(event)))
        .unwrap();
    assert_eq!(
        support::send(addr, forged).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.get(), 0);
}
