//! Attacks on verifiers finished by reference (`Verifier::finish(&mut self)`: the layer
//! finishes the verifier where its future holds it, and the verifier takes what the
//! `Verified` marker keeps), and on HMAC states finalized in place (`digest::core_api`), by
//! a client with no secret, in process and through real axum servers on 127.0.0.1.
//!
//! What is tried: every preset's delivery named and signed exactly as before the change
//! (pinned from the parent commit, since ids live in replay stores across an upgrade);
//! rotated keys, each finalizing its own MAC, against an HMAC computed independently for
//! every signed-payload shape; the scheme's name as the namespace of every verifier family,
//! fixed and per tenant; tenants' unkeyed (token, `clientState`) deliveries of one body kept
//! apart in one replay store; unknown tenants' decoy verifiers; report-only mode; and a
//! verifier finished a second time through the public trait.
#![cfg(all(
    feature = "test-util",
    feature = "keys",
    feature = "axum",
    feature = "json"
))]

mod support;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use axum::{routing::post, Router};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use sha2::{Digest, Sha256};
use tower_webhook::{
    keys::{FoundKeys, KeyError, KeyName, KeyResolver},
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    scheme::{DeliveryId, Scheme, Verifier},
    sign::Message,
    testing::TestSender,
    HmacScheme, WebhookSignatureLayer,
};

const NOW: u64 = 1_700_000_000;

fn body_for(name: &str) -> &'static str {
    match name {
        "twilio" => "From=%2B15551234567&Body=hello",
        // Two items: each is MACed on its own state.
        "adyen" => {
            r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"1","merchantAccountCode":"M","merchantReference":"r","amount":{"value":1,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true"}},{"NotificationRequestItem":{"pspReference":"2","merchantAccountCode":"M","merchantReference":"r","amount":{"value":1,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true"}}]}"#
        }
        "linear" => r#"{"id":"evt_1","type":"test.event","webhookTimestamp":1700000000000}"#,
        "microsoft_graph" => r#"{"value":[{"subscriptionId":"7f1","changeType":"created"}]}"#,
        // A fixed token: the kit draws a fresh one otherwise.
        "mailgun" => {
            r#"{"signature":{"token":"0123456789abcdef0123456789abcdef0123456789abcdef01"},"event-data":{"id":"evt_1"}}"#
        }
        _ => r#"{"id":"evt_1","type":"test.event"}"#,
    }
}

/// Per preset: a digest of the signed request (headers and body) and of every delivery id
/// the layer's `Verified` gives, how many ids, and the key index. Computed at b3febfa (before
/// `finish(&mut self)` and the in-place HMAC) and unchanged after.
const NAMED_AS_BEFORE: &[(&str, &str, usize, usize)] = &[
    ("loopwise", "46c5fbc6c6b39ba2", 1, 0),
    ("loop_returns", "d313596f1941d830", 1, 0),
    ("github", "f48ca7a6d650abce", 1, 0),
    ("shopify", "4f167086445dcff8", 1, 0),
    ("stripe", "76d38203c5230b44", 2, 0),
    ("slack", "f05b3550843664ab", 1, 0),
    ("standard_webhooks", "2aef2f143ed1347a", 2, 0),
    ("standard_webhooks_v1a", "4c648b4330bc2908", 1, 0),
    ("paddle", "c6f3fa2997425687", 1, 0),
    ("zoom", "047ebe59185610f0", 1, 0),
    ("linear", "603e66b2c357b37d", 1, 0),
    ("square", "bf92c854df1ffff7", 1, 0),
    ("dropbox", "72308d1ad958e6e6", 1, 0),
    ("intercom", "0c600c5f0840fcb4", 1, 0),
    ("discord", "8a8800c103ba3a36", 1, 0),
    ("sendgrid", "f37134c9928c1bee", 1, 0),
    ("twilio", "10ecd0be5eef4004", 1, 0),
    ("meta", "bfe16ad0db15f437", 1, 0),
    ("vercel", "d62bc2b292c24b44", 1, 0),
    ("woocommerce", "542f9f407391d96f", 1, 0),
    ("typeform", "7c8aef0849312199", 1, 0),
    ("lemon_squeezy", "4498d7fb55efb16b", 1, 0),
    ("sentry", "51d70554fb166d9f", 1, 0),
    ("coinbase_commerce", "da62f03ab3a7c92a", 1, 0),
    ("razorpay", "405ee6304ea39e04", 1, 0),
    ("pagerduty", "9c305ef3dc0beef5", 1, 0),
    ("airtable", "8f7b5472ae5df8f6", 1, 0),
    ("bitbucket", "67efa0b33c50abdc", 1, 0),
    ("gitea", "ace3f958d011c979", 1, 0),
    ("forgejo", "98409720983ba8bd", 1, 0),
    ("notion", "b746b84d73e014cc", 1, 0),
    ("cal_com", "2b6082a759983ba6", 1, 0),
    ("xero", "29f650bc2c6215cf", 1, 0),
    ("intuit", "6443aab9c50e1a8a", 1, 0),
    ("docusign", "2d6b17c88aa631fb", 1, 0),
    ("twitch", "5bad665a921fe63b", 2, 0),
    ("webflow", "3752e08201ce1046", 1, 0),
    ("elevenlabs", "1551c86a9267e04d", 1, 0),
    ("calendly", "5e3d64778fae2826", 1, 0),
    ("mux", "296f4917863039f2", 2, 0),
    ("workos", "975106932230aed5", 2, 0),
    ("zendesk", "f0e51bb1a5b4a1e4", 1, 0),
    ("box_com", "866646b962a3a963", 2, 0),
    ("hubspot", "1aaec8b2018bf695", 1, 0),
    ("clerk", "a206ad8fcc2dd507", 2, 0),
    ("resend", "3024e38a23630ef5", 2, 0),
    ("openai", "27a949cd81413966", 2, 0),
    ("replicate", "a2b2502740cd8d1c", 2, 0),
    ("asana", "c1df5657042fafec", 1, 0),
    ("microsoft_teams", "a28bc84c8deb774a", 1, 0),
    ("x", "f59ba052b904b646", 1, 0),
    ("hookdeck", "8c0ba49b2da76107", 1, 0),
    ("trello", "0b0f58b652dca422", 1, 0),
    ("mailgun", "df39f1f4219b9e3b", 1, 0),
    ("adyen", "94a2223b8325fe0f", 2, 0),
    ("gitlab", "c9378e8b2ff035f6", 1, 0),
    ("chargebee", "333806bb6286eb76", 1, 0),
    ("postmark", "c47bfaeedf19985d", 1, 0),
    ("deepgram", "b37759de15deb2e8", 1, 0),
    ("okta", "fcb3b3b1d7f51a6f", 1, 0),
    ("strava", "12dc8501b184970a", 1, 0),
    ("microsoft_graph", "25384f14e85f189d", 1, 0),
    ("fusionauth", "62abca51708c890d", 1, 0),
];

/// The fetched-key senders sign with a key host's keys, made afresh per host.
const FETCHED: [&str; 4] = ["paypal", "sns", "plaid", "fusionauth_jwks"];

/// `name`'s kit request, signed at `NOW` with a fixed message id where the scheme signs one.
fn fixed_request(name: &str) -> (TestSender, Request<Bytes>) {
    let path = format!("/hook/{name}");
    let sender = TestSender::new(name).unwrap().timestamp(NOW);
    let sender = if name == "twilio" {
        sender.url("https://example.com")
    } else {
        sender.url(format!("https://example.com{path}"))
    };
    let content_type = if name == "twilio" {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let request = || {
        Request::post(&path)
            .header("content-type", content_type)
            .body(Bytes::from_static(body_for(name).as_bytes()))
            .unwrap()
    };
    // Signing a request that carries an id keeps it: a drawn `msg_…` id is replaced by a
    // fixed one and the request signed again.
    let drawn = sender.sign(request()).unwrap();
    let mut fixed = request();
    for (header, value) in drawn.headers() {
        if value.to_str().unwrap_or_default().starts_with("msg_") {
            fixed
                .headers_mut()
                .insert(header.clone(), "msg_golden".parse().unwrap());
        }
    }
    let signed = sender.sign(fixed).unwrap();
    (sender, signed)
}

/// Every preset signs the same bytes and its layer names the delivery by the same ids as at
/// the parent commit: a changed id makes every retry in flight across the upgrade look new
/// to a replay store (processed twice), a changed signature is refused by the real sender.
#[tokio::test]
async fn every_preset_signs_and_names_its_delivery_as_before_finishing_by_reference() {
    let mut checked = 0;
    for preset in presets::all().iter().filter(|p| p.is_available()) {
        let name = preset.name();
        if FETCHED.contains(&name) {
            continue;
        }
        let (sender, signed) = fixed_request(name);
        let mut digest = Sha256::new();
        let mut headers: Vec<String> = signed
            .headers()
            .iter()
            .map(|(name, value)| format!("{name}={}", value.to_str().unwrap()))
            .collect();
        headers.sort();
        for header in &headers {
            digest.update(header.as_bytes());
            digest.update(b"\n");
        }
        digest.update(signed.body());
        let layer = WebhookSignatureLayer::new(sender.receiver().unwrap());
        let outcome = support::run_through(layer, signed.map(Full::new)).await;
        assert_eq!(outcome.status, StatusCode::OK, "{name}");
        let verified = outcome.recorder.only().verified.expect("verified");
        let ids = verified.delivery_ids();
        for id in &ids {
            digest.update(id.to_string().as_bytes());
        }
        let got = (
            name,
            hex::encode(&digest.finalize()[..8]),
            ids.len(),
            verified.key_index(),
        );
        let expected = NAMED_AS_BEFORE
            .iter()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("{name} has no pinned names"));
        assert_eq!(
            (got.0, got.1.as_str(), got.2, got.3),
            *expected,
            "{name}: signed bytes or delivery ids changed"
        );
        checked += 1;
    }
    assert_eq!(checked, NAMED_AS_BEFORE.len());
}

/// HMAC-SHA256 of `parts` under `key`, by the `hmac` crate's own `finalize`: independent of
/// the crate's in-place core.
fn hmac_of(key: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

const KEYS: [&str; 3] = ["new secret", "old secret", "older secret"];

/// A scheme of `shape` under `keys` (the first signs), named by its signature.
fn shaped(shape: &str, keys: &[&str]) -> HmacScheme {
    let mut scheme = HmacScheme::sha256(keys[0])
        .header("x-acme-signature")
        .timestamp_header("x-acme-timestamp")
        .id_header("x-acme-id")
        .signed_payload(shape)
        .clock(|| std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW))
        .named("acme-hooks");
    for key in &keys[1..] {
        scheme = scheme.also_accept(key);
    }
    scheme
}

fn request_with(headers: &HeaderMap, body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    *request.headers_mut() = headers.clone();
    request
}

/// Rotated keys each finalize their own running MAC, fed the signed prefix, the body and a
/// suffix: a delivery signed under any one key passes with that key's index, is named by
/// every key's MAC of the signed bytes (computed here by the `hmac` crate), and the same
/// bytes signed under another key, or another body under the right key, are refused.
#[tokio::test]
async fn each_rotated_key_finalizes_its_own_mac_for_every_signed_payload_shape() {
    const BODY: &str = r#"{"event":"order.paid","amount":4200}"#;
    let ts = NOW.to_string();
    for shape in [
        "{body}",
        "{timestamp}.{body}",
        "{body}{timestamp}",
        "{id}.{timestamp}.{body}",
    ] {
        let signed: &[&[u8]] = match shape {
            "{body}" => &[BODY.as_bytes()],
            "{timestamp}.{body}" => &[ts.as_bytes(), b".", BODY.as_bytes()],
            "{body}{timestamp}" => &[BODY.as_bytes(), ts.as_bytes()],
            _ => &[b"msg_1", b".", ts.as_bytes(), b".", BODY.as_bytes()],
        };
        let macs: Vec<Vec<u8>> = KEYS.iter().map(|key| hmac_of(key, signed)).collect();
        let message = Message::new(BODY.as_bytes()).timestamp(NOW).id("msg_1");
        let rotating = shaped(shape, &KEYS);
        let mut named = None;
        for (index, key) in KEYS.iter().enumerate() {
            // The sign side writes the independent MAC.
            let headers = shaped(shape, &[key]).sign_message(&message);
            assert_eq!(
                headers["x-acme-signature"],
                hex::encode(&macs[index]),
                "{shape}: key {index} signs other bytes"
            );
            let outcome = support::run_through(
                WebhookSignatureLayer::new(rotating.clone()),
                request_with(&headers, BODY),
            )
            .await;
            assert_eq!(outcome.status, StatusCode::OK, "{shape}: key {index}");
            let verified = outcome.recorder.only().verified.unwrap();
            assert_eq!(verified.key_index(), index, "{shape}");
            let ids = verified.delivery_ids();
            if shape.starts_with("{id}") {
                // Named by the signed id, within the scheme's name.
                assert!(
                    ids.contains(&DeliveryId::derive("acme-hooks", b"msg_1")),
                    "{shape}"
                );
            } else {
                let by_mac: Vec<DeliveryId> = macs
                    .iter()
                    .map(|mac| DeliveryId::derive("acme-hooks", mac))
                    .collect();
                assert_eq!(ids, by_mac, "{shape}: key {index}");
            }
            // Whichever key signed, one delivery.
            assert_eq!(*named.get_or_insert(ids.clone()), ids, "{shape}");
            // Another body under the right key, and the right body under a key not accepted.
            for forged in [
                request_with(&headers, r#"{"event":"order.paid","amount":4201}"#),
                request_with(
                    &shaped(shape, &["not accepted"]).sign_message(&message),
                    BODY,
                ),
            ] {
                let outcome =
                    support::run_through(WebhookSignatureLayer::new(rotating.clone()), forged)
                        .await;
                assert_eq!(outcome.status, StatusCode::UNAUTHORIZED, "{shape}");
                assert_eq!(outcome.recorder.calls(), 0, "{shape}");
            }
        }
    }
}

/// Tenants `acme` and `evil` at `/t/{tenant}`, each with its own secret; any other name has
/// none (the layer then verifies against decoy keys).
fn tenants() -> KeyResolver {
    KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
        let secret = match tenant.as_str() {
            "acme" => Some("acme secret"),
            "evil" => Some("evil secret"),
            _ => None,
        };
        Ok::<_, KeyError>(secret.map(FoundKeys::new))
    })
}

/// A real server with `scheme` at `/t/{tenant}`, one replay guard behind it, and a handler
/// that counts its calls.
async fn guarded<Sch: Scheme>(scheme: Sch) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let route: axum::routing::MethodRouter = post(move |_body: Bytes| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            "handled"
        }
    })
    .layer::<_, std::convert::Infallible>(ReplayGuardLayer::new(MemoryStore::new(100)))
    .layer(WebhookSignatureLayer::new(scheme));
    let addr = support::serve_axum(Router::new().route("/t/{tenant}", route)).await;
    (addr, calls)
}

fn to(path: &str, headers: &HeaderMap, body: &'static str) -> Request<Full<Bytes>> {
    let mut request = request_with(headers, body);
    *request.uri_mut() = path.parse().unwrap();
    request
}

/// A token scheme's name for a delivery is an unkeyed digest (or event id) anyone can
/// compute: only the tenant the verifier takes into the marker keeps two tenants' identical
/// bodies apart in one replay store. Each tenant's delivery is processed once; neither
/// suppresses the other's.
#[tokio::test]
async fn tenants_identical_token_deliveries_do_not_suppress_each_other() {
    const BODY: &str = r#"{"id":"evt_shared","object_kind":"push"}"#;
    let gitlab = |token: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-token", token.parse().unwrap());
        headers.insert("content-type", "application/json".parse().unwrap());
        headers
    };
    let basic = |credentials: &str| {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut headers = HeaderMap::new();
        headers.insert("authorization", format!("Basic {encoded}").parse().unwrap());
        headers
    };
    for (preset, acme, evil) in [
        ("gitlab", gitlab("acme secret"), gitlab("evil secret")),
        ("chargebee", basic("acme secret"), basic("evil secret")),
    ] {
        let (addr, calls) = match preset {
            "gitlab" => guarded(presets::gitlab(tenants())).await,
            _ => guarded(presets::chargebee(tenants())).await,
        };
        let acme_first = support::send(addr, to("/t/acme", &acme, BODY)).await;
        assert!(
            support::is_processed(&acme_first),
            "{preset}: {acme_first:?}"
        );
        let evil_first = support::send(addr, to("/t/evil", &evil, BODY)).await;
        assert!(
            support::is_processed(&evil_first),
            "{preset}: {evil_first:?}"
        );
        for (path, headers) in [("/t/acme", &acme), ("/t/evil", &evil)] {
            let again = support::send(addr, to(path, headers, BODY)).await;
            assert!(support::is_duplicate(&again), "{preset} {path}: {again:?}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{preset}");
    }
}

/// Keys resolved per tenant: the marker names the tenant the verifier gave up, and the
/// delivery by the scheme's name and the tenant's MAC (not an emptied namespace).
#[tokio::test]
async fn a_tenant_s_delivery_keeps_its_tenant_and_namespace() {
    const BODY: &str = r#"{"event":"order.paid"}"#;
    let headers = presets::loopwise("acme secret").sign_message(&Message::new(BODY.as_bytes()));
    let outcome = support::run_through(
        WebhookSignatureLayer::new(presets::loopwise(tenants())),
        to("/t/acme", &headers, BODY),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::OK);
    let verified = outcome.recorder.only().verified.unwrap();
    assert_eq!(verified.key_id(), Some("acme"));
    let mac = hmac_of("acme secret", &[BODY.as_bytes()]);
    let ids = verified.delivery_ids();
    assert!(
        ids.contains(&DeliveryId::derive("loopwise", &mac)),
        "{ids:?}"
    );
    // Scoped to the tenant: not the fixed-key name.
    assert_ne!(
        verified.delivery_id(),
        Some(DeliveryId::derive("loopwise", &mac))
    );
}

/// An unknown tenant's request, verified against decoy keys, is answered exactly as a known
/// tenant's forged signature is (status, header names, body), even with a body another
/// tenant signed, however often; the decoy's spent verifiers leave nothing behind, and the
/// known tenant's delivery is then processed once.
#[tokio::test]
async fn decoy_verifiers_refuse_every_time_and_leave_known_tenants_alone() {
    const BODY: &str = r#"{"event":"order.paid","id":"ord_decoy"}"#;
    let headers = presets::loopwise("acme secret").sign_message(&Message::new(BODY.as_bytes()));
    let (addr, calls) = guarded(presets::loopwise(tenants())).await;
    // What a known tenant answers a forged signature: an unknown one must answer the same.
    let forged = presets::loopwise("not acme").sign_message(&Message::new(BODY.as_bytes()));
    let (status, refused, body) = support::send(addr, to("/t/acme", &forged, BODY)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let names = |headers: &HeaderMap| {
        let mut names: Vec<String> = headers
            .keys()
            .filter(|name| *name != "date")
            .map(|name| name.to_string())
            .collect();
        names.sort();
        names
    };
    for ghost in ["/t/ghost", "/t/ghost", "/t/Acme", "/t/acme2"] {
        let answer = support::send(addr, to(ghost, &headers, BODY)).await;
        assert_eq!(
            (answer.0, names(&answer.1), &answer.2),
            (status, names(&refused), &body),
            "{ghost}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let first = support::send(addr, to("/t/acme", &headers, BODY)).await;
    assert!(support::is_processed(&first), "{first:?}");
    assert!(support::is_duplicate(
        &support::send(addr, to("/t/acme", &headers, BODY)).await
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Report-only mode finishes the same verifier the same way: a genuine delivery is named as
/// in enforcing mode; a forged one reaches the handler marked `Unverified`, never `Verified`.
#[tokio::test]
async fn report_only_names_a_genuine_delivery_as_enforcing_mode_does() {
    const BODY: &str = r#"{"event":"order.paid"}"#;
    let scheme = shaped("{timestamp}.{body}", &KEYS);
    let message = Message::new(BODY.as_bytes()).timestamp(NOW);
    let genuine = shaped("{timestamp}.{body}", &KEYS[1..2]).sign_message(&message);
    let enforcing = support::run_through(
        WebhookSignatureLayer::new(scheme.clone()),
        request_with(&genuine, BODY),
    )
    .await;
    let reporting = support::run_through(
        WebhookSignatureLayer::new(scheme.clone()).report_only(),
        request_with(&genuine, BODY),
    )
    .await;
    let (enforced, reported) = (enforcing.recorder.only(), reporting.recorder.only());
    let (enforced, reported) = (enforced.verified.unwrap(), reported.verified.unwrap());
    assert_eq!(reported.key_index(), 1);
    assert_eq!(reported.delivery_ids(), enforced.delivery_ids());
    let forged = shaped("{timestamp}.{body}", &["not accepted"]).sign_message(&message);
    let reporting = support::run_through(
        WebhookSignatureLayer::new(scheme).report_only(),
        request_with(&forged, BODY),
    )
    .await;
    let seen = reporting.recorder.only();
    assert!(seen.verified.is_none());
    assert!(seen.unverified.is_some());
}

/// `Verifier::finish` takes `&mut self` now, so nothing but its documentation stops a
/// caller (a scheme wrapping another) finishing a verifier twice. The second call on a
/// spent verifier must fail closed, not pass again with the fields the first verdict took
/// (the scheme's name, the tenant) emptied: a delivery named in an empty namespace would
/// meet another sender's in a replay store.
#[test]
fn a_spent_verifier_finished_again_fails_closed() {
    let mut requests: Vec<(String, TestSender, Request<Bytes>)> = presets::all()
        .iter()
        .filter(|p| p.is_available() && !FETCHED.contains(&p.name()))
        .map(|p| {
            let (sender, request) = fixed_request(p.name());
            (p.name().to_owned(), sender, request)
        })
        .collect();
    // Twilio's URL-only check (no form): decided from the head, the body must be empty.
    let twilio = TestSender::new("twilio")
        .unwrap()
        .timestamp(NOW)
        .url("https://example.com");
    let url_only = twilio
        .sign(Request::post("/hook/twilio").body(Bytes::new()).unwrap())
        .unwrap();
    requests.push(("twilio (URL only)".into(), twilio, url_only));
    let mut spent_passed = Vec::new();
    for (name, sender, request) in requests {
        let (parts, body) = request.into_parts();
        let scheme = sender.receiver().unwrap();
        let mut verifier = scheme.verifier(&parts).unwrap();
        verifier.update(&body);
        assert!(verifier.finish(&body).is_ok(), "{name}");
        if verifier.finish(&body).is_ok() {
            spent_passed.push(name);
        }
    }
    assert!(
        spent_passed.is_empty(),
        "passed again once spent: {spent_passed:?}"
    );
}
