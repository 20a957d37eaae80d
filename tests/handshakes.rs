//! Senders' setup handshakes, answered by the layer: each one sent as its sender's docs show
//! it, through a real axum server with only the preset's layer in front of a handler that
//! must not be called, and the exact status, content type and body the sender requires.
#![cfg(all(feature = "test-util", feature = "keys", feature = "ed25519"))]

mod support;

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use sha2::Sha256;
use tower_webhook::{
    handshake::{CaptureInto, CapturedSecret, Handshake, HandshakeMode, SinkError},
    keys::{FoundKeys, KeyName, KeyResolver, ReloadableKeys},
    presets,
    testing::TestSender,
    HmacScheme, WebhookSignatureLayer,
};

use support::handshake::{serve, Calls};

fn full(request: Request<Bytes>) -> Request<Full<Bytes>> {
    request.map(Full::new)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get("content-type")
        .map_or("", |value| value.to_str().unwrap())
}

fn nosniff(headers: &HeaderMap) -> bool {
    headers.get("x-content-type-options").map(|v| v.as_bytes()) == Some(b"nosniff")
}

/// Tenants by path, each with its own secret.
fn tenants() -> KeyResolver {
    KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
        Ok(match tenant.as_str() {
            "acme" => Some(FoundKeys::new("acme secret")),
            "beta" => Some(FoundKeys::new("beta secret")),
            _ => None,
        })
    })
}

fn hex_hmac(key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

// Twitch: https://dev.twitch.tv/docs/eventsub/handling-webhook-events#responding-to-a-challenge-request
// "respond with a 200 status code … the response body must contain the raw challenge string
// … Content-Type text/plain"; the challenge is signed like any message (twitch-cli's
// verifier checks the body, `text/plain` and a 2xx).
const TWITCH_CHALLENGE: &str = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2","condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}"#;

fn twitch_challenge(sender: &TestSender) -> Request<Full<Bytes>> {
    let mut request = sender.signed_request(TWITCH_CHALLENGE).unwrap();
    request.headers_mut().insert(
        "twitch-eventsub-message-type",
        "webhook_callback_verification".parse().unwrap(),
    );
    full(request)
}

#[tokio::test]
async fn twitch_s_challenge_is_answered_with_the_raw_challenge_as_text() {
    let sender = TestSender::new("twitch").unwrap().key("twitch secret");
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::twitch("twitch secret")),
        &calls,
    )
    .await;

    let (status, headers, body) = support::send(addr, twitch_challenge(&sender)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/plain; charset=utf-8");
    assert!(nosniff(&headers));
    assert_eq!(body.as_ref(), b"pogchamp-kappa-360noscope-vohiyo");

    // Signed with another secret: refused, as any forged message.
    let forger = TestSender::new("twitch").unwrap().key("not the secret");
    let (status, _, body) = support::send(addr, twitch_challenge(&forger)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_ne!(body.as_ref(), b"pogchamp-kappa-360noscope-vohiyo");

    // A notification (not the verification type) reaches the handler.
    let (status, _, body) = support::send(
        addr,
        full(
            sender
                .signed_request(r#"{"subscription":{},"event":{}}"#)
                .unwrap(),
        ),
    )
    .await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"handler"[..]));
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn twitch_s_challenge_is_answered_per_tenant_under_the_tenant_s_secret() {
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::twitch(tenants())),
        &calls,
    )
    .await;
    for tenant in ["acme", "beta"] {
        let sender = TestSender::new("twitch")
            .unwrap()
            .key(format!("{tenant} secret"))
            .url(format!("https://example.com/t/{tenant}"));
        let (status, _, body) = support::send(addr, twitch_challenge(&sender)).await;
        assert_eq!(status, StatusCode::OK, "{tenant}");
        assert_eq!(body.as_ref(), b"pogchamp-kappa-360noscope-vohiyo");
    }
    // Acme's challenge sent to beta's URL: beta's secret did not sign it.
    let acme_to_beta = TestSender::new("twitch")
        .unwrap()
        .key("acme secret")
        .url("https://example.com/t/beta");
    let (status, _, _) = support::send(addr, twitch_challenge(&acme_to_beta)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);
}

// Slack: https://api.slack.com/events/url_verification ("verify the request's authenticity
// and then respond … in plaintext with the challenge attribute value").
#[tokio::test]
async fn slack_s_url_verification_and_ssl_check_are_answered() {
    let sender = TestSender::new("slack").unwrap().key("slack secret");
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::slack("slack secret")),
        &calls,
    )
    .await;

    let verification = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let (status, headers, body) =
        support::send(addr, full(sender.signed_request(verification).unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/plain; charset=utf-8");
    assert_eq!(
        body.as_ref(),
        b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    // A slash command's SSL check (Bolt answers it 200 with an empty body).
    let ssl_check = Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(
            b"ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO",
        ))
        .unwrap();
    let (status, _, body) = support::send(addr, full(sender.sign(ssl_check).unwrap())).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));

    // The same verification unsigned: refused.
    let unsigned = Request::post("/")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(verification.as_bytes())))
        .unwrap();
    let (status, _, _) = support::send(addr, unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);

    // An event callback reaches the handler.
    let event = r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}}"#;
    let (status, _, body) = support::send(addr, full(sender.signed_request(event).unwrap())).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"handler"[..]));
    assert_eq!(calls.get(), 1);
}

// Zoom: https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint; the
// official sample (zoom/webhook-sample) checks x-zm-signature, then answers
// `{plainToken, encryptedToken: hex HMAC-SHA256(secret token, plainToken)}`.
const ZOOM_VALIDATION: &str = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;

#[tokio::test]
async fn zoom_s_url_validation_is_answered_with_the_token_macd_under_the_secret_token() {
    let sender = TestSender::new("zoom").unwrap().key("zoom secret token");
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::zoom("zoom secret token")),
        &calls,
    )
    .await;

    let (status, headers, body) =
        support::send(addr, full(sender.signed_request(ZOOM_VALIDATION).unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({
            "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
            "encryptedToken": hex_hmac("zoom secret token", "qgg8vlvZRS6UYooatFL8Aw"),
        })
    );

    let forger = TestSender::new("zoom").unwrap().key("guess");
    let (status, _, _) =
        support::send(addr, full(forger.signed_request(ZOOM_VALIDATION).unwrap())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn zoom_s_url_validation_is_answered_per_tenant_and_after_a_rotation() {
    let calls = Calls::default();
    let addr = serve(WebhookSignatureLayer::new(presets::zoom(tenants())), &calls).await;
    for tenant in ["acme", "beta"] {
        let sender = TestSender::new("zoom")
            .unwrap()
            .key(format!("{tenant} secret"))
            .url(format!("https://example.com/t/{tenant}"));
        let (status, _, body) =
            support::send(addr, full(sender.signed_request(ZOOM_VALIDATION).unwrap())).await;
        assert_eq!(status, StatusCode::OK, "{tenant}");
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            answer["encryptedToken"],
            hex_hmac(&format!("{tenant} secret"), "qgg8vlvZRS6UYooatFL8Aw")
        );
    }
    assert_eq!(calls.get(), 0);

    // During a rotation, the answer is under the secret that signed the validation.
    let calls = Calls::default();
    let rotating = presets::zoom("new secret").also_accept("old secret");
    let addr = serve(WebhookSignatureLayer::new(rotating), &calls).await;
    let sender = TestSender::new("zoom").unwrap().key("old secret");
    let (_, _, body) =
        support::send(addr, full(sender.signed_request(ZOOM_VALIDATION).unwrap())).await;
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        answer["encryptedToken"],
        hex_hmac("old secret", "qgg8vlvZRS6UYooatFL8Aw")
    );
}

// Discord: https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
// ("returning a 200 response with a PONG payload (which has the same type: 1)") and
// https://discord.com/developers/docs/events/webhook-events#preparing-for-events (PING
// `type` 0: "respond with a 204 … with an empty body").
#[tokio::test]
async fn discord_s_pings_are_answered() {
    let sender = TestSender::new("discord").unwrap();
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(sender.receiver().unwrap()),
        &calls,
    )
    .await;
    let ping = r#"{"id":"1","application_id":"2","type":1,"token":"t","version":1}"#;
    let (status, headers, body) =
        support::send(addr, full(sender.signed_request(ping).unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(body.as_ref(), br#"{"type":1}"#);

    // Discord sends invalid signatures on purpose and expects 401.
    let mut forged = sender.signed_request(ping).unwrap();
    forged
        .headers_mut()
        .insert("x-signature-ed25519", "00".repeat(64).parse().unwrap());
    let (status, _, _) = support::send(addr, full(forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);

    // Webhook Events: PING is `type` 0, answered 204; `type` 1 is an event for the handler.
    let calls = Calls::default();
    let layer = WebhookSignatureLayer::new(sender.receiver().unwrap())
        .handshake(Handshake::discord_webhook_events());
    let addr = serve(layer, &calls).await;
    let events_ping = r#"{"version":1,"application_id":"1234560123453231555","type":0}"#;
    let (status, _, body) =
        support::send(addr, full(sender.signed_request(events_ping).unwrap())).await;
    assert_eq!((status, body.len()), (StatusCode::NO_CONTENT, 0));
    assert_eq!(calls.get(), 0);
    let event =
        r#"{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}"#;
    let (status, _, _) = support::send(addr, full(sender.signed_request(event).unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
}

// Xero: https://developer.xero.com/documentation/webhooks/configuring-your-server ("respond
// to … correctly signed payloads with a 200 … incorrectly signed with a 401 … The response
// must not contain a body or cookies").
#[tokio::test]
async fn xero_s_intent_to_receive_is_answered_200_empty_and_401_when_wrongly_signed() {
    let sender = TestSender::new("xero").unwrap().key("xero webhook key");
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::xero("xero webhook key")),
        &calls,
    )
    .await;
    let itr = r#"{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0M3R4ND0MSTR1NG"}"#;
    let (status, headers, body) =
        support::send(addr, full(sender.signed_request(itr).unwrap())).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    assert!(headers.get("set-cookie").is_none());

    let forger = TestSender::new("xero").unwrap().key("wrong key");
    let (status, _, _) = support::send(addr, full(forger.signed_request(itr).unwrap())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);

    let events = r#"{"events":[{"resourceId":"1","eventCategory":"INVOICE"}],"lastEventSequence":1,"firstEventSequence":1,"entropy":"X"}"#;
    let (status, _, _) = support::send(addr, full(sender.signed_request(events).unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
}

// Okta: https://developer.okta.com/docs/concepts/event-hooks/ (one-time verification: a GET
// with `x-okta-verification-challenge`, answered `{"verification": …}`; the Authorization
// header goes on every request).
#[tokio::test]
async fn okta_s_verification_is_answered_only_with_the_authorization_secret() {
    let sender = TestSender::new("okta").unwrap().key("okta hook secret");
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::okta("okta hook secret")),
        &calls,
    )
    .await;
    let challenge = || {
        Request::get("/")
            .header(
                "x-okta-verification-challenge",
                "rBRgXwkUeCFHJqhbxQPBGdqPHhSPoIqdr6Pvv4rK",
            )
            .body(Bytes::new())
            .unwrap()
    };
    let (status, headers, body) =
        support::send(addr, full(sender.sign(challenge()).unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(
        body.as_ref(),
        br#"{"verification":"rBRgXwkUeCFHJqhbxQPBGdqPHhSPoIqdr6Pvv4rK"}"#
    );

    let (status, _, _) = support::send(addr, full(challenge())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let forger = TestSender::new("okta").unwrap().key("guess");
    let (status, _, _) = support::send(addr, full(forger.sign(challenge()).unwrap())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);
}

// Meta: https://developers.facebook.com/docs/graph-api/webhooks/getting-started ("Verify the
// hub.verify_token value matches the string you set … Respond with the hub.challenge value").
fn meta_get(query: &str) -> Request<Full<Bytes>> {
    Request::get(format!("/?{query}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

#[tokio::test]
async fn meta_s_verification_is_answered_only_with_the_verify_token() {
    let calls = Calls::default();
    let layer = WebhookSignatureLayer::new(presets::meta("app secret"))
        .handshake(Handshake::meta("meatyhamhock"));
    let addr = serve(layer, &calls).await;

    let (status, headers, body) = support::send(
        addr,
        meta_get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/plain; charset=utf-8");
    assert!(nosniff(&headers));
    assert_eq!(body.as_ref(), b"1158201444");

    for (query, expected) in [
        (
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess",
            StatusCode::FORBIDDEN,
        ),
        (
            "hub.mode=subscribe&hub.challenge=1158201444",
            StatusCode::FORBIDDEN,
        ),
        (
            "hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock",
            StatusCode::BAD_REQUEST,
        ),
        (
            "hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=meatyhamhock",
            StatusCode::BAD_REQUEST,
        ),
        (
            "hub.mode=subscribe&hub.challenge=1&hub.challenge=2&hub.verify_token=meatyhamhock",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, _, body) = support::send(addr, meta_get(query)).await;
        assert_eq!(status, expected, "{query}");
        assert!(!body.starts_with(b"1158201444"), "{query}");
    }
    // A GET that is not the verification's shape is verified as any request: unsigned, 401.
    let (status, _, _) = support::send(addr, meta_get("hub.mode=subscribe")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);

    // Deliveries are verified and reach the handler as before.
    let sender = TestSender::new("meta").unwrap().key("app secret");
    let (status, _, _) = support::send(
        addr,
        full(
            sender
                .signed_request(r#"{"object":"page","entry":[]}"#)
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn meta_s_verification_without_a_configured_token_is_refused() {
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::meta("app secret")),
        &calls,
    )
    .await;
    let (status, _, _) = support::send(
        addr,
        meta_get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(calls.get(), 0);
}

// Dropbox: https://www.dropbox.com/developers/reference/webhooks ("echo back the challenge
// parameter … set the following response headers: Content-Type: text/plain,
// X-Content-Type-Options: nosniff").
#[tokio::test]
async fn dropbox_s_challenge_is_echoed_as_text_with_nosniff() {
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::dropbox("app secret")),
        &calls,
    )
    .await;
    let (status, headers, body) = support::send(addr, meta_get("challenge=abc123XYZ")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/plain; charset=utf-8");
    assert!(nosniff(&headers));
    assert_eq!(body.as_ref(), b"abc123XYZ");

    for query in [
        "challenge=%3Chtml%3E",
        "challenge=",
        "challenge=a%22b",
        &format!("challenge={}", "a".repeat(513)),
    ] {
        let (status, _, _) = support::send(addr, meta_get(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
    // Only a GET: a POST with the query is a delivery, verified.
    let post = Request::post("/?challenge=abc")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let (status, _, _) = support::send(addr, post).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn no_handshake_is_answered_on_a_route_whose_preset_has_none() {
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::github("gh secret")),
        &calls,
    )
    .await;
    for query in [
        "challenge=abc",
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=x",
        "validationToken=abc",
        "crc_token=abc",
    ] {
        let (status, _, _) = support::send(addr, meta_get(query)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{query}");
    }
    // Stripe signs a body shaped like Slack's url_verification: a delivery, for the handler.
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::stripe("whsec_x")),
        &calls,
    )
    .await;
    let stripe = TestSender::new("stripe").unwrap().key("whsec_x");
    let (status, _, body) = support::send(
        addr,
        full(
            stripe
                .signed_request(r#"{"type":"url_verification","challenge":"abc"}"#)
                .unwrap(),
        ),
    )
    .await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"handler"[..]));
    assert_eq!(calls.get(), 1);
    // Nor Slack's SSL check on Twitch's route, signed by Twitch's secret.
    let calls = Calls::default();
    let addr = serve(WebhookSignatureLayer::new(presets::twitch("tw")), &calls).await;
    let twitch = TestSender::new("twitch").unwrap().key("tw");
    let (_, _, body) = support::send(
        addr,
        full(twitch.signed_request("ssl_check=1&token=x").unwrap()),
    )
    .await;
    assert_eq!(body.as_ref(), b"handler");
}

#[tokio::test]
async fn handshakes_can_be_passed_to_the_handler_or_turned_off() {
    let sender = TestSender::new("twitch").unwrap().key("twitch secret");
    let calls = Calls::default();
    let layer = WebhookSignatureLayer::new(presets::twitch("twitch secret"))
        .handshakes(HandshakeMode::Handler);
    let addr = serve(layer, &calls).await;
    let (status, _, body) = support::send(addr, twitch_challenge(&sender)).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, &b"handler saw twitch_challenge"[..])
    );
    assert_eq!(calls.get(), 1);

    let calls = Calls::default();
    let layer = WebhookSignatureLayer::new(presets::dropbox("app secret"))
        .handshakes(HandshakeMode::Handler);
    let addr = serve(layer, &calls).await;
    let (status, _, body) = support::send(addr, meta_get("challenge=abc")).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, &b"handler saw dropbox_challenge"[..])
    );
    assert_eq!(calls.get(), 1);

    let calls = Calls::default();
    let layer =
        WebhookSignatureLayer::new(presets::dropbox("app secret")).handshakes(HandshakeMode::Off);
    let addr = serve(layer, &calls).await;
    let (status, _, _) = support::send(addr, meta_get("challenge=abc")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let calls_off = Calls::default();
    let layer =
        WebhookSignatureLayer::new(presets::twitch("twitch secret")).handshakes(HandshakeMode::Off);
    let addr = serve(layer, &calls_off).await;
    let (_, _, body) = support::send(addr, twitch_challenge(&sender)).await;
    assert_eq!(body.as_ref(), b"handler");
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn an_allowlist_applies_to_handshakes_too() {
    let calls = Calls::default();
    let layer = WebhookSignatureLayer::new(presets::dropbox("app secret"))
        .allow_ips("203.0.113.0/24".parse().unwrap());
    let addr = serve(layer, &calls).await;
    let (status, _, _) = support::send(addr, meta_get("challenge=abc")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_handshake_answered_is_logged_with_its_name() {
    let (logs, _guard) = support::Logs::capture();
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::dropbox("app secret")),
        &calls,
    )
    .await;
    let (status, _, _) = support::send(addr, meta_get("challenge=abc")).await;
    assert_eq!(status, StatusCode::OK);
    let lines = logs.lines_with("webhook handshake answered");
    assert_eq!(lines.len(), 1, "{}", logs.text());
    assert!(lines[0].contains("dropbox_challenge"), "{}", lines[0]);
}

// Asana: https://developers.asana.com/docs/webhooks-guide ("the handshake … will contain a
// header X-Hook-Secret … respond with a 200 OK or 204 No Content and a matching
// X-Hook-Secret header"); deliveries carry `X-Hook-Signature`, hex HMAC-SHA256 of the body.
fn asana_layer(keys: &ReloadableKeys, capture: &CaptureInto) -> WebhookSignatureLayer<HmacScheme> {
    let scheme = HmacScheme::sha256(KeyResolver::new(KeyName::path("/t/{tenant}"), keys.clone()))
        .header("x-hook-signature")
        .named("asana");
    WebhookSignatureLayer::new(scheme).handshake(Handshake::asana(capture.clone()))
}

fn asana_handshake(path: &str, secret: &str) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("x-hook-secret", secret)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

#[tokio::test]
async fn asana_s_secret_is_captured_and_the_next_delivery_verifies_under_it() {
    let keys = ReloadableKeys::new();
    let capture = CaptureInto::new(keys.clone(), KeyName::path("/t/{tenant}"));
    let calls = Calls::default();
    let addr = serve(asana_layer(&keys, &capture), &calls).await;
    let secret = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81";

    // Not expected: no one can plant a secret for a name.
    let (status, _, _) = support::send(addr, asana_handshake("/t/acme", "attacker0secret")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(capture.expect("acme", Duration::from_secs(60)));

    let (status, headers, body) = support::send(addr, asana_handshake("/t/acme", secret)).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    assert_eq!(headers.get("x-hook-secret").unwrap(), secret);
    assert_eq!(calls.get(), 0);

    let delivery = r#"{"events":[{"action":"changed","resource":{"gid":"1"}}]}"#;
    let signed = Request::post("/t/acme")
        .header("x-hook-signature", hex_hmac(secret, delivery))
        .body(Full::new(Bytes::from_static(delivery.as_bytes())))
        .unwrap();
    let (status, _, body) = support::send(addr, signed).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"handler"[..]));
    assert_eq!(calls.get(), 1);

    // A second handshake for the same name, even expected, cannot replace the secret.
    assert!(capture.expect("acme", Duration::from_secs(60)));
    let (status, headers, _) =
        support::send(addr, asana_handshake("/t/acme", "attacker0secret")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get("x-hook-secret").is_none());
    let forged = Request::post("/t/acme")
        .header("x-hook-signature", hex_hmac("attacker0secret", delivery))
        .body(Full::new(Bytes::from_static(delivery.as_bytes())))
        .unwrap();
    let (status, _, _) = support::send(addr, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A secret that is not one (markup, too long) is refused before the sink sees it.
    assert!(capture.expect("beta", Duration::from_secs(60)));
    for bad in ["<b>x</b>", &"a".repeat(600)] {
        let (status, _, _) = support::send(addr, asana_handshake("/t/beta", bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, _, _) = support::send(
        addr,
        full(
            Request::post("/t/beta")
                .header("x-hook-secret", "s")
                .header("x-hook-signature", "00")
                .body(Bytes::new())
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a signed request is a delivery"
    );
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_sink_that_fails_answers_503_and_one_that_refuses_403() {
    let calls = Calls::default();
    let layer = WebhookSignatureLayer::new(presets::github("unused")).handshake(Handshake::asana(
        |captured: CapturedSecret| async move {
            match captured.uri().path() {
                "/t/acme" => Err(SinkError::failed("database unavailable")),
                _ => Err(SinkError::Refused),
            }
        },
    ));
    let addr = serve(layer, &calls).await;
    let (status, headers, _) = support::send(addr, asana_handshake("/t/acme", "s3cr3t")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.get("x-hook-secret").is_none());
    let (status, _, _) = support::send(addr, asana_handshake("/t/beta", "s3cr3t")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(calls.get(), 0);
}

// Notion: https://developers.notion.com/reference/webhooks (the subscription's one-time
// POST carries `{"verification_token": …}`, unsigned; later events carry
// `X-Notion-Signature: sha256=<hex HMAC-SHA256(verification_token, body)>`).
#[tokio::test]
async fn notion_s_verification_token_is_captured_and_the_next_event_verifies_under_it() {
    let keys = ReloadableKeys::new();
    let name = KeyName::path("/t/{tenant}");
    let capture = CaptureInto::new(keys.clone(), name.clone());
    let layer = WebhookSignatureLayer::new(presets::notion(KeyResolver::new(
        name.clone(),
        keys.clone(),
    )))
    .handshake(Handshake::notion(capture.clone()));
    capture.expect("acme", Duration::from_secs(60));
    let calls = Calls::default();
    let addr = serve(layer, &calls).await;
    let token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
    let handshake = |body: String| {
        Request::post("/t/acme")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let (status, _, body) = support::send(
        addr,
        handshake(format!(r#"{{"verification_token":"{token}"}}"#)),
    )
    .await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    assert_eq!(calls.get(), 0);

    let event = r#"{"id":"evt_1","type":"page.created","entity":{"id":"p1","type":"page"}}"#;
    let signed = Request::post("/t/acme")
        .header(
            "x-notion-signature",
            format!("sha256={}", hex_hmac(token, event)),
        )
        .body(Full::new(Bytes::from_static(event.as_bytes())))
        .unwrap();
    let (status, _, body) = support::send(addr, signed).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"handler"[..]));

    // Not the handshake's exact shape: refused as unsigned; a big one is not read past 4 KiB.
    let (status, _, _) = support::send(
        addr,
        handshake(r#"{"verification_token":"x","more":1}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = support::send(
        addr,
        handshake(format!(
            r#"{{"verification_token":"{}"}}"#,
            "a".repeat(8192)
        )),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.get(), 1);

    // Without a sink, the preset refuses the token.
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::notion("secret_x")),
        &calls,
    )
    .await;
    let (status, _, _) = support::send(
        addr,
        handshake(format!(r#"{{"verification_token":"{token}"}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(calls.get(), 0);
}

// X: https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks
// (CRC: `GET ?crc_token=`, answered `{"response_token": "sha256=<base64 HMAC-SHA256(consumer
// secret, crc_token)>"}`).
#[tokio::test]
async fn x_s_crc_is_answered_under_the_consumer_secret_and_never_for_a_json_token() {
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::x("consumer secret")),
        &calls,
    )
    .await;
    let token = "cfe6dfab-1e45-4b8e-8b4c-8d3f1d5e3a2b";
    let (status, headers, body) =
        support::send(addr, meta_get(&format!("crc_token={token}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"consumer secret").unwrap();
    mac.update(token.as_bytes());
    use base64::Engine as _;
    let expected = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer, serde_json::json!({ "response_token": expected }));

    // A token that is a delivery body would make the answer a signature for it: refused.
    for query in [
        "crc_token=%7B%22a%22%3A1%7D",
        "crc_token=%20%7B%7D",
        "crc_token=",
    ] {
        let (status, _, _) = support::send(addr, meta_get(query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
    assert_eq!(calls.get(), 0);

    // With a resolver there is no one consumer secret to answer under: refused.
    let calls = Calls::default();
    let addr = serve(WebhookSignatureLayer::new(presets::x(tenants())), &calls).await;
    let (status, _, _) = support::send(addr, meta_get("crc_token=abc")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(calls.get(), 0);
}

// Microsoft Graph: https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation
// ("POST … ?validationToken={opaqueTokenCreatedByMicrosoftGraph} … respond within 10
// seconds … 200 OK … content type text/plain … the validation token … decoded").
#[tokio::test]
async fn microsoft_graph_s_validation_token_is_answered_decoded_as_text() {
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::microsoft_graph("client state secret")),
        &calls,
    )
    .await;
    let request = Request::post(
        "/?validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+25b4c10a-5dc4-4f84-a5fb-a45a1b7dc5b8",
    )
    .header("content-type", "text/plain; charset=utf-8")
    .body(Full::new(Bytes::new()))
    .unwrap();
    let (status, headers, body) = support::send(addr, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/plain; charset=utf-8");
    assert!(nosniff(&headers));
    assert_eq!(
        body.as_ref(),
        b"Validation: Testing client application reachability for subscription Request-Id: 25b4c10a-5dc4-4f84-a5fb-a45a1b7dc5b8"
    );
    // A GET with the token is not Graph's validation: verified, refused.
    let (status, _, _) = support::send(addr, meta_get("validationToken=abc")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);
}

// Trello: https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks ("a HEAD
// request … needs to return a 200 status code").
#[tokio::test]
async fn trello_s_head_is_answered_200_and_asana_s_preset_refuses_without_a_sink() {
    let calls = Calls::default();
    let trello = presets::trello("app secret", "https://example.com/");
    let addr = serve(WebhookSignatureLayer::new(trello), &calls).await;
    let head = Request::head("/").body(Full::new(Bytes::new())).unwrap();
    let (status, _, body) = support::send(addr, head).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    assert_eq!(calls.get(), 0);

    let calls = Calls::default();
    let addr = serve(WebhookSignatureLayer::new(presets::asana("unused")), &calls).await;
    let (status, headers, _) = support::send(addr, asana_handshake("/", "s3cr3t")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get("x-hook-secret").is_none());
    assert_eq!(calls.get(), 0);
}

// Strava: https://developers.strava.com/docs/webhooks/ (subscription validation: a GET with
// hub.mode=subscribe, hub.verify_token and hub.challenge, answered within 2 s with JSON
// `{"hub.challenge": …}`; events are not signed).
#[tokio::test]
async fn strava_s_validation_is_answered_as_json_and_its_events_pass_marked_unsigned() {
    let calls = Calls::default();
    let addr = serve(
        WebhookSignatureLayer::new(presets::strava("STRAVA")),
        &calls,
    )
    .await;
    let (status, headers, body) = support::send(
        addr,
        meta_get("hub.verify_token=STRAVA&hub.challenge=15f7d1a91c1f40f8a748fd134752feb3&hub.mode=subscribe"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(
        body.as_ref(),
        br#"{"hub.challenge":"15f7d1a91c1f40f8a748fd134752feb3"}"#
    );
    let (status, _, _) = support::send(
        addr,
        meta_get("hub.verify_token=guess&hub.challenge=1&hub.mode=subscribe"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(calls.get(), 0);

    // An event: nothing to check, so it passes (the preset is marked for that).
    let event = r#"{"aspect_type":"update","event_time":1516126040,"object_id":1360128428,"object_type":"activity","owner_id":134815,"subscription_id":120475,"updates":{"title":"Messy"}}"#;
    let post = Request::post("/")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(event.as_bytes())))
        .unwrap();
    let (status, _, body) = support::send(addr, post).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, &b"handler"[..]));
    assert_eq!(calls.get(), 1);
    assert_eq!(
        presets::find("strava").unwrap().strength(),
        tower_webhook::presets::Strength::Unsigned
    );
}
