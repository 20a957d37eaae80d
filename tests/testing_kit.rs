//! The test kit (`testing`): a signed request for every preset, from one call, passes the
//! preset's own layer on a real server, including the public-key senders under a key pair
//! the kit generates and the fetched-key senders under the keys of a local `KeyHost`.
#![cfg(feature = "test-util")]

mod support;

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
const NOW: u64 = 1_700_000_000;

use tower_webhook::{
    presets,
    sign::SignError,
    testing::{self, TestSender, TestSenderError},
    WebhookSignatureLayer,
};

fn body_for(name: &str) -> &'static str {
    match name {
        "twilio" => "From=%2B15551234567&Body=hello",
        "adyen" => {
            r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"1","merchantAccountCode":"M","merchantReference":"r","amount":{"value":1,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true"}}]}"#
        }
        // Linear's sender writes its signed timestamp into the body: `NOW` in milliseconds.
        "linear" => r#"{"id":"evt_1","type":"test.event","webhookTimestamp":1700000000000}"#,
        // Microsoft Graph's sender writes its `clientState` into each notification.
        "microsoft_graph" => r#"{"value":[{"subscriptionId":"7f1","changeType":"created"}]}"#,
        _ => r#"{"id":"evt_1","type":"test.event"}"#,
    }
}

/// Every available preset, by name: the kit's request passes the kit's receiver behind a
/// real axum server and the inner service gets the signed body; the fetched-key senders,
/// without a key host, are refused by name with `FetchedKey` (with one: below).
#[tokio::test]
async fn every_preset_but_fetched_keys_signs_in_one_call_and_passes_a_real_server() {
    let mut app = Router::new();
    let mut requests = Vec::new();
    for preset in presets::all().iter().filter(|p| p.is_available()) {
        let name = preset.name();
        let sender = TestSender::new(name).unwrap();
        if ["paypal", "sns", "plaid", "fusionauth_jwks"].contains(&name) {
            assert_eq!(
                sender.signed_request(body_for(name)).unwrap_err(),
                TestSenderError::Sign(SignError::FetchedKey {
                    scheme: name.into()
                })
            );
            continue;
        }
        let sender = sender.timestamp(NOW);
        let path = format!("/hook/{name}");
        // Twilio's URL is the public base the path is added to; the others' the whole URL.
        let sender = if name == "twilio" {
            sender.url("https://example.com")
        } else {
            sender.url(format!("https://example.com{path}"))
        };
        let layer = WebhookSignatureLayer::new(sender.receiver().unwrap());
        app = app.route(&path, post(|body: Bytes| async move { body }).layer(layer));
        let content_type = if name == "twilio" {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let request = Request::post(&path)
            .header("content-type", content_type)
            .body(Bytes::from_static(body_for(name).as_bytes()))
            .unwrap();
        requests.push((name, sender.sign(request).unwrap()));
    }
    assert!(requests.len() >= 50, "{}", requests.len());
    let addr = support::serve_axum(app).await;
    for (name, request) in requests {
        let sent = request.body().clone();
        let (status, _, body) = support::send(addr, request.map(Full::new)).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(body, sent, "{name}");
    }
}

/// The public-key senders: the receiving key is the public half in the preset's own form,
/// the same key text gives the same pair, and a receiver under another pair refuses.
#[cfg(all(feature = "ed25519", feature = "p256"))]
#[tokio::test]
async fn public_key_senders_get_a_key_pair_whose_public_half_the_preset_takes() {
    for name in ["discord", "sendgrid", "standard_webhooks_v1a"] {
        let sender = TestSender::new(name).unwrap().key("seed one");
        let public = sender.receiving_key();
        assert_eq!(
            public,
            TestSender::new(name)
                .unwrap()
                .key("seed one")
                .receiving_key()
        );
        assert_ne!(
            public,
            TestSender::new(name)
                .unwrap()
                .key("seed two")
                .receiving_key()
        );
        match name {
            "discord" => assert_eq!(public.len(), 64, "{public}"),
            "standard_webhooks_v1a" => assert!(public.starts_with("whpk_"), "{public}"),
            _ => assert!(
                public.starts_with("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"),
                "{public}"
            ),
        }
        // The application's own preset, built from the public half.
        let scheme = presets::find(name)
            .unwrap()
            .scheme(public, &Default::default())
            .unwrap();
        let request = sender
            .signed_request(body_for(name))
            .unwrap()
            .map(Full::new);
        let outcome = support::run_through(WebhookSignatureLayer::new(scheme), request).await;
        assert_eq!(outcome.status, StatusCode::OK, "{name}");
        assert_eq!(
            outcome.recorder.only().body,
            body_for(name).as_bytes(),
            "{name}"
        );

        let other = TestSender::new(name)
            .unwrap()
            .key("seed two")
            .receiver()
            .unwrap();
        let request = sender
            .signed_request(body_for(name))
            .unwrap()
            .map(Full::new);
        let outcome = support::run_through(WebhookSignatureLayer::new(other), request).await;
        assert_eq!(outcome.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(outcome.recorder.calls(), 0, "{name}");
    }
}

/// `testing::signed_request` is Stripe's `generateTestHeaderString`: signed now, so the
/// application's preset with the system clock accepts it.
#[tokio::test]
async fn one_call_signs_for_an_application_preset_on_the_system_clock() {
    let request = testing::signed_request("stripe", "whsec_app", r#"{"id":"evt_1"}"#)
        .unwrap()
        .map(Full::new);
    let layer = WebhookSignatureLayer::new(presets::stripe("whsec_app"));
    let outcome = support::run_through(layer, request).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(outcome.recorder.only().body, &br#"{"id":"evt_1"}"#[..]);
    assert!(matches!(
        testing::signed_request("myspace", "k", "{}"),
        Err(TestSenderError::Preset(
            presets::PresetError::UnknownSender { .. }
        ))
    ));
}

/// The fetched-key senders against a `KeyHost`, each through a real axum server: the signed
/// request gets `200` and the handler the exact bytes sent (for SNS, the signed envelope
/// around the message); the same headers with one byte of the body changed get `401` and the
/// handler never runs.
#[cfg(all(feature = "paypal", feature = "sns", feature = "jwt"))]
#[tokio::test]
async fn fetched_key_senders_sign_under_a_key_host_and_pass_a_real_server() {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
    use tower_webhook::testing::KeyHost;

    let host = KeyHost::start().await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut app = Router::new();
    let mut senders = Vec::new();
    for name in ["paypal", "sns", "plaid", "fusionauth_jwks"] {
        let sender = TestSender::new(name)
            .unwrap()
            .timestamp(NOW)
            .key_host(&host);
        let calls = Arc::clone(&calls);
        let handler = post(|body: Bytes| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            body
        });
        let layer = WebhookSignatureLayer::new(sender.receiver().unwrap());
        app = app.route(&format!("/hook/{name}"), handler.layer(layer));
        senders.push((name, sender));
    }
    let addr = support::serve_axum(app).await;
    let message = r#"{"id":"evt_1","type":"test.event"}"#;
    for (name, sender) in senders {
        let mut request = sender.signed_request(message).unwrap();
        *request.uri_mut() = format!("/hook/{name}").parse().unwrap();
        let sent = request.body().clone();
        if name == "sns" {
            let envelope: serde_json::Value = serde_json::from_slice(&sent).unwrap();
            assert_eq!(envelope["Message"], message);
        } else {
            assert_eq!(sent, message.as_bytes(), "{name}");
        }
        let tampered = Bytes::from(
            String::from_utf8(sent.to_vec())
                .unwrap()
                .replace("evt_1", "evt_2"),
        );
        assert_ne!(tampered, sent);
        let mut forged = request.clone();
        *forged.body_mut() = tampered;

        let before = calls.load(Ordering::SeqCst);
        let (status, _, body) = support::send(addr, request.map(Full::new)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body:?}");
        assert_eq!(body, sent, "{name}");
        assert_eq!(calls.load(Ordering::SeqCst), before + 1, "{name}");

        let (status, _, body) = support::send(addr, forged.map(Full::new)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body:?}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            before + 1,
            "{name}: the handler ran"
        );
    }
}

/// Without trusting the host's CA, the PayPal receiver cannot fetch the certificate the
/// kit signs under: `503`, and the handler never runs. The kit's receiver is what trusts it.
#[cfg(feature = "paypal")]
#[tokio::test]
async fn a_receiver_that_does_not_trust_the_key_hosts_ca_refuses_with_503() {
    use tower_webhook::{keys::Fetcher, scheme::PayPalScheme, testing::KeyHost};

    let host = KeyHost::start().await.unwrap();
    let sender = TestSender::new("paypal")
        .unwrap()
        .key("WH-1")
        .timestamp(support::unix_now())
        .key_host(&host);
    let untrusting = PayPalScheme::new("WH-1")
        .fetcher(Fetcher::new())
        .certificate_hosts(host.allowed_hosts());
    let request = sender.signed_request(r#"{"id":"evt_1"}"#).unwrap();
    let outcome = support::run_through(
        WebhookSignatureLayer::new(untrusting),
        request.clone().map(Full::new),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(outcome.recorder.calls(), 0);
    let trusting = PayPalScheme::new("WH-1")
        .fetcher(host.fetcher())
        .certificate_hosts(host.allowed_hosts());
    let outcome =
        support::run_through(WebhookSignatureLayer::new(trusting), request.map(Full::new)).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(
        outcome.recorder.only().body,
        br#"{"id":"evt_1"}"#.as_slice()
    );
}
