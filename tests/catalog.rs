//! Every preset added with the catalog, checked against deliveries signed by Python's
//! `hmac` from each sender's documented scheme (`tests/vectors/generate_catalog.py`): it
//! verifies, a tampered body and a wrong key do not, its timestamp window is the sender's;
//! and several of them end to end through a real axum server, chosen by name.

mod support;

use std::{
    collections::BTreeSet,
    time::{Duration, UNIX_EPOCH},
};

use axum::{routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tower_webhook::{
    presets::{self, PresetOptions, Strength},
    scheme::AnyScheme,
    WebhookSignatureLayer,
};

/// One delivery of `tests/vectors/catalog.json`.
#[derive(Clone, Debug)]
struct Delivery {
    preset: String,
    key: String,
    url: Option<String>,
    now: u64,
    headers: Vec<(String, String)>,
    body: String,
    strength: String,
}

/// The deliveries of the presets this build has (all of them with `--all-features`).
fn deliveries() -> Vec<Delivery> {
    every_delivery()
        .into_iter()
        .filter(|d| presets::find(&d.preset).is_some_and(|p| p.is_available()))
        .collect()
}

fn every_delivery() -> Vec<Delivery> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("vectors/catalog.json")).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|v| Delivery {
            preset: v["preset"].as_str().unwrap().into(),
            key: v["key"].as_str().unwrap().into(),
            url: v["url"].as_str().map(Into::into),
            now: v["now"].as_u64().unwrap(),
            headers: v["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, value)| (name.clone(), value.as_str().unwrap().into()))
                .collect(),
            body: v["body"].as_str().unwrap().into(),
            strength: v["strength"].as_str().unwrap().into(),
        })
        .collect()
}

/// The presets that came before the catalog; `tests/presets.rs`, `tests/senders.rs` and
/// `tests/seeds.rs` check them against their vectors.
const EARLIER: [&str; 17] = [
    "loopwise",
    "loop_returns",
    "github",
    "shopify",
    "stripe",
    "slack",
    "standard_webhooks",
    "standard_webhooks_v1a",
    "paddle",
    "zoom",
    "linear",
    "square",
    "dropbox",
    "intercom",
    "discord",
    "sendgrid",
    "twilio",
];

/// The presets whose keys are fetched; `tests/fetched_keys.rs` checks them against a local
/// HTTPS key server.
const FETCHED: [&str; 5] = ["paypal", "sns", "plaid", "fusionauth", "fusionauth_jwks"];

/// Presets that check nothing, so there is nothing to compute a vector of: their
/// handshakes and pass-through are in tests/handshakes.rs.
const UNSIGNED: [&str; 1] = ["strava"];

/// The preset of `delivery` under `key`, its clock `offset` seconds after the delivery's.
fn scheme(delivery: &Delivery, key: &str, offset: i64) -> AnyScheme {
    let now = UNIX_EPOCH + Duration::from_secs(delivery.now.saturating_add_signed(offset));
    let mut options = PresetOptions::new().clock(move || now);
    if let Some(url) = &delivery.url {
        options = options.url(url.clone());
    }
    presets::find(&delivery.preset)
        .unwrap_or_else(|| panic!("no preset {}", delivery.preset))
        .scheme(key, &options)
        .unwrap_or_else(|e| panic!("{}: {e}", delivery.preset))
}

fn request(delivery: &Delivery, body: &str) -> Request<Full<Bytes>> {
    let mut request = Request::post(format!("/hook/{}", delivery.preset));
    for (name, value) in &delivery.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn outcome(delivery: &Delivery, key: &str, offset: i64, body: &str) -> support::Outcome {
    let layer = WebhookSignatureLayer::new(scheme(delivery, key, offset));
    support::run_through(layer, request(delivery, body)).await
}

fn assert_refused(outcome: &support::Outcome, message: &str, what: &str) {
    assert_eq!(outcome.status, StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(outcome.body, format!("{message}\n").as_bytes(), "{what}");
    assert_eq!(
        outcome.recorder.calls(),
        0,
        "{what}: reached the inner service"
    );
}

#[test]
fn every_preset_has_a_vector_here_or_in_the_earlier_tests() {
    let covered: BTreeSet<String> = every_delivery()
        .into_iter()
        .map(|d| d.preset)
        .chain(EARLIER.iter().map(|s| (*s).to_owned()))
        .chain(FETCHED.iter().map(|s| (*s).to_owned()))
        .chain(UNSIGNED.iter().map(|s| (*s).to_owned()))
        .collect();
    let all: BTreeSet<String> = presets::all().iter().map(|p| p.name().into()).collect();
    assert_eq!(covered, all);
}

#[tokio::test]
async fn each_vector_verifies_and_the_inner_service_gets_the_exact_body() {
    for delivery in deliveries() {
        let outcome = outcome(&delivery, &delivery.key, 0, &delivery.body).await;
        assert_eq!(outcome.status, StatusCode::OK, "{}", delivery.preset);
        assert_eq!(
            outcome.recorder.only().body,
            delivery.body.as_bytes(),
            "{}",
            delivery.preset
        );
    }
}

#[tokio::test]
async fn a_tampered_body_is_refused_where_the_body_is_signed() {
    for delivery in deliveries() {
        let strength = presets::find(&delivery.preset).unwrap().strength();
        let tampered = if strength == Strength::SignedFields {
            // Content these senders do not sign: Mailgun's event data, Adyen's reason.
            delivery
                .body
                .replacen("\"delivered\"", "\"failed\"", 1)
                .replacen("1234:7777", "9999:7777", 1)
        } else {
            delivery.body.replacen("4200", "4201", 1).replacen(
                "\"objectId\":123",
                "\"objectId\":124",
                1,
            )
        };
        assert_ne!(tampered, delivery.body, "{}", delivery.preset);
        let outcome = outcome(&delivery, &delivery.key, 0, &tampered).await;
        match strength {
            // Trello's low bytes bind every ASCII character, such as these digits.
            Strength::Signature | Strength::Checksum => {
                assert_refused(&outcome, "invalid webhook signature", &delivery.preset);
            }
            // Documented: nothing covers this content, so the tampered body passes.
            Strength::SharedSecret | Strength::SignedFields => {
                assert_eq!(outcome.status, StatusCode::OK, "{}", delivery.preset);
                let expected = if strength == Strength::SharedSecret {
                    "shared_secret"
                } else {
                    "signed_fields"
                };
                assert_eq!(delivery.strength, expected);
            }
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn adyen_refuses_a_changed_amount_and_an_unsigned_item() {
    let delivery = deliveries()
        .into_iter()
        .find(|d| d.preset == "adyen")
        .unwrap();
    let changed = delivery.body.replacen("4200", "4201", 1);
    assert_ne!(changed, delivery.body);
    let amount = outcome(&delivery, &delivery.key, 0, &changed).await;
    assert_refused(&amount, "invalid webhook signature", "adyen amount");
    // A second item without a signature: every item must verify.
    let second = delivery.body.replacen(
        "}}]}",
        "}},{\"NotificationRequestItem\":{\"pspReference\":\"1\",\"success\":\"true\"}}]}",
        1,
    );
    assert_ne!(second, delivery.body);
    let unsigned = outcome(&delivery, &delivery.key, 0, &second).await;
    assert_refused(
        &unsigned,
        "missing webhook signature",
        "adyen unsigned item",
    );
}

#[tokio::test]
async fn mailgun_refuses_a_changed_token() {
    let delivery = deliveries()
        .into_iter()
        .find(|d| d.preset == "mailgun")
        .unwrap();
    let changed = delivery
        .body
        .replacen("\"token\":\"2b", "\"token\":\"3b", 1);
    assert_ne!(changed, delivery.body);
    let outcome = outcome(&delivery, &delivery.key, 0, &changed).await;
    assert_refused(&outcome, "invalid webhook signature", "mailgun");
    let not_json = outcome_of_mailgun(&delivery, "event=delivered").await;
    assert_refused(&not_json, "missing webhook signature", "mailgun, not JSON");
}

async fn outcome_of_mailgun(delivery: &Delivery, body: &str) -> support::Outcome {
    outcome(delivery, &delivery.key, 0, body).await
}

/// A key of the same form as `delivery`'s, but another one.
fn wrong_key(delivery: &Delivery) -> String {
    if delivery.key.starts_with("whsec_") {
        format!("whsec_{}", STANDARD.encode("another key entirely"))
    } else if delivery.preset == "adyen" {
        "00112233445566778899AABBCCDDEEFF".to_owned()
    } else if ["airtable", "microsoft_teams"].contains(&delivery.preset.as_str()) {
        STANDARD.encode("another key entirely")
    } else {
        format!("{}x", delivery.key)
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused() {
    for delivery in deliveries() {
        let outcome = outcome(&delivery, &wrong_key(&delivery), 0, &delivery.body).await;
        assert_refused(&outcome, "invalid webhook signature", &delivery.preset);
    }
}

/// Each timestamped sender's window: the delivery passes at its edge and not a second later.
#[tokio::test]
async fn timestamps_are_checked_against_each_senders_window() {
    let windows = [
        ("twitch", 600),
        ("webflow", 300),
        ("elevenlabs", 1800),
        ("calendly", 180),
        ("mux", 300),
        ("workos", 180),
        ("zendesk", 300),
        ("box_com", 600),
        ("hubspot", 300),
        ("clerk", 300),
        ("mailgun", 300),
    ];
    let deliveries = deliveries();
    for (preset, window) in windows {
        let delivery = deliveries.iter().find(|d| d.preset == preset).unwrap();
        for offset in [window, -window] {
            let outcome = outcome(delivery, &delivery.key, offset, &delivery.body).await;
            assert_eq!(outcome.status, StatusCode::OK, "{preset} at {offset}");
        }
        for offset in [window + 1, -window - 1] {
            let outcome = outcome(delivery, &delivery.key, offset, &delivery.body).await;
            assert_refused(
                &outcome,
                "webhook timestamp outside the tolerance",
                &format!("{preset} at {offset}"),
            );
        }
    }
}

#[tokio::test]
async fn presets_without_a_body_signature_refuse_before_reading_the_body() {
    for preset in ["gitlab", "chargebee", "okta"] {
        let delivery = deliveries()
            .into_iter()
            .find(|d| d.preset == preset)
            .unwrap();
        let layer = WebhookSignatureLayer::new(scheme(&delivery, &wrong_key(&delivery), 0));
        let mut request = Request::post("/hook");
        for (name, value) in &delivery.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let outcome =
            support::run_through(layer, request.body(support::MustNotRead).unwrap()).await;
        assert_refused(&outcome, "invalid webhook signature", preset);
    }
}

/// Several presets, each chosen by name as a deployment would from configuration, behind a
/// real axum server on 127.0.0.1: their vectors pass over the wire, tampered ones do not.
#[tokio::test]
async fn presets_chosen_by_name_verify_through_a_real_server() {
    // Each preset, and the header that carries its signature (or token).
    let presets = [
        ("twitch", "Twitch-Eventsub-Message-Signature"),
        ("hubspot", "X-HubSpot-Signature-v3"),
        ("box_com", "box-signature-secondary"),
        ("docusign", "X-DocuSign-Signature-2"),
        ("workos", "WorkOS-Signature"),
        ("zendesk", "X-Zendesk-Webhook-Signature"),
        ("gitlab", "X-Gitlab-Token"),
        ("clerk", "svix-signature"),
        ("mailgun", ""),
        ("asana", "X-Hook-Signature"),
        ("microsoft_teams", "Authorization"),
        ("x", "x-twitter-webhooks-signature"),
        ("hookdeck", "x-hookdeck-signature"),
        ("trello", "X-Trello-Webhook"),
        ("microsoft_graph", ""),
    ];
    // Trello needs the `sha1` feature.
    let presets: Vec<_> = presets
        .into_iter()
        .filter(|(name, _)| presets::find(name).is_some_and(|p| p.is_available()))
        .collect();
    let deliveries = deliveries();
    let mut app = Router::new();
    for &(name, _) in &presets {
        let delivery = deliveries.iter().find(|d| d.preset == name).unwrap();
        let chosen = presets::find(name).unwrap().name();
        let layer = WebhookSignatureLayer::new(scheme(delivery, &delivery.key, 0));
        app = app.route(
            &format!("/hook/{chosen}"),
            post(|body: Bytes| async move { body }).layer(layer),
        );
    }
    let addr = support::serve_axum(app).await;
    for (name, header) in presets {
        let delivery = deliveries.iter().find(|d| d.preset == name).unwrap();
        let (status, _, body) = support::send(addr, request(delivery, &delivery.body)).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(body, delivery.body.as_bytes(), "{name}");

        if header.is_empty() {
            continue;
        }
        // One character of the signature (or token) changed: never a valid one.
        let mut changed = request(delivery, &delivery.body);
        let value = changed.headers()[header].as_bytes().to_vec();
        let mut bytes = value.clone();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        changed
            .headers_mut()
            .insert(header, http::HeaderValue::from_bytes(&bytes).unwrap());
        let (status, _, _) = support::send(addr, changed).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{name} with a changed {header}"
        );
    }
}

#[test]
fn by_name_picks_a_sender_from_configuration() {
    let scheme = presets::by_name("Lemon-Squeezy", "secret").unwrap();
    assert_eq!(
        tower_webhook::scheme::Scheme::name(&scheme),
        "lemon_squeezy"
    );
    assert!(matches!(
        presets::by_name("hubspot", "secret"),
        Err(presets::PresetError::UrlRequired { .. })
    ));
    assert!(matches!(
        presets::by_name("myspace", "secret"),
        Err(presets::PresetError::UnknownSender { .. })
    ));
}

/// The HMAC presets sign too: what the test kit signs verifies, including millisecond and
/// RFC 3339 timestamps and a timestamp signed after the body.
#[cfg(feature = "test-util")]
#[tokio::test]
async fn new_hmac_presets_verify_what_they_sign() {
    use tower_webhook::testing::TestSender;
    let body = "[{\"eventId\":7,\"id\":\"evt_7\"}]";
    for name in [
        "meta",
        "typeform",
        "pagerduty",
        "gitea",
        "docusign",
        "twitch",
        "webflow",
        "elevenlabs",
        "calendly",
        "mux",
        "workos",
        "zendesk",
        "box_com",
        "hubspot",
        "clerk",
    ] {
        let sender = TestSender::new(name)
            .unwrap()
            .url("https://example.com/webhooks/hubspot")
            .timestamp(1_700_000_000);
        let request = sender.signed_request(body).unwrap().map(Full::new);
        let layer = WebhookSignatureLayer::new(sender.receiver().unwrap());
        let outcome = support::run_through(layer, request).await;
        assert_eq!(outcome.status, StatusCode::OK, "{name}");
        assert_eq!(outcome.recorder.only().body, body.as_bytes(), "{name}");
    }
}

/// The guide's sender table (`src/guide/schemes.md`, rendered as `guide::schemes`) lists
/// exactly the presets of `presets::all()`, with their features, and marks the ones whose
/// body is not signed.
#[test]
fn the_guide_table_matches_the_catalog() {
    let guide = include_str!("../src/guide/schemes.md");
    let rows: Vec<(&str, &str)> = guide
        .lines()
        .filter_map(|line| {
            let name = line.strip_prefix("| `presets::")?;
            Some((&name[..name.find('(')?], line))
        })
        .collect();
    let in_guide: BTreeSet<&str> = rows.iter().map(|(name, _)| *name).collect();
    assert_eq!(rows.len(), in_guide.len(), "a preset is listed twice");
    let in_catalog: BTreeSet<&str> = presets::all().iter().map(|p| p.name()).collect();
    assert_eq!(in_guide, in_catalog);
    for (name, row) in rows {
        let preset = presets::find(name).unwrap();
        let feature_column = row.trim_end_matches('|').rsplit('|').next().unwrap();
        match preset.feature() {
            Some(feature) => assert!(
                feature_column.contains(&format!("`{feature}`")),
                "{name}: {row}"
            ),
            None => assert!(feature_column.trim().is_empty(), "{name}: {row}"),
        }
        match preset.strength() {
            Strength::SharedSecret => assert!(row.contains("⚠ **unsigned**"), "{name}: {row}"),
            Strength::Unsigned => {
                assert!(row.contains("⚠ **nothing is checked**"), "{name}: {row}")
            }
            Strength::SignedFields | Strength::Checksum => {
                assert!(row.contains("not signed**"), "{name}: {row}");
            }
            _ => assert!(!row.contains("unsigned"), "{name}: {row}"),
        }
    }
}

/// The README's "Senders" list names every preset of `presets::all()` once, and its unsigned
/// row holds exactly the presets that send a shared secret.
#[test]
fn the_readme_sender_list_matches_the_catalog() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("\n## Senders\n")
        .nth(1)
        .expect("a Senders section")
        .split("\n## ")
        .next()
        .unwrap();
    let rows: Vec<&str> = section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| kind"))
        .collect();
    let mut listed = Vec::new();
    for row in &rows {
        let presets_cell = row.trim_end_matches('|').rsplit('|').next().unwrap();
        let names: Vec<&str> = presets_cell.split('`').skip(1).step_by(2).collect();
        if row.contains("unsigned") {
            let unsigned: BTreeSet<&str> = presets::all()
                .iter()
                .filter(|p| p.strength() == Strength::SharedSecret)
                .map(|p| p.name())
                .collect();
            assert_eq!(
                names.iter().copied().collect::<BTreeSet<_>>(),
                unsigned,
                "{row}"
            );
        }
        listed.extend(names);
    }
    let unique: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(listed.len(), unique.len(), "a preset is listed twice");
    let in_catalog: BTreeSet<&str> = presets::all().iter().map(|p| p.name()).collect();
    assert_eq!(unique, in_catalog);
}

/// Every preset function in `src/presets/` has its row in the catalog, so `by_name` and
/// `all()` cannot miss one.
#[test]
fn every_preset_function_is_in_the_catalog() {
    let sources = [
        include_str!("../src/presets/body.rs"),
        include_str!("../src/presets/timestamped.rs"),
        include_str!("../src/presets/url.rs"),
        include_str!("../src/presets/standard_webhooks.rs"),
        include_str!("../src/presets/public_key.rs"),
        include_str!("../src/presets/in_body.rs"),
        include_str!("../src/presets/token.rs"),
        include_str!("../src/presets/fetched.rs"),
    ];
    let helpers = ["loopwise_ips", "standard_webhooks_key"];
    let functions: BTreeSet<&str> = sources
        .iter()
        .flat_map(|source| source.lines())
        .filter_map(|line| {
            let rest = line.strip_prefix("pub fn ")?;
            Some(&rest[..rest.find(['(', '<'])?])
        })
        .filter(|name| !helpers.contains(name))
        .collect();
    let in_catalog: BTreeSet<&str> = presets::all().iter().map(|p| p.name()).collect();
    assert_eq!(functions, in_catalog);
}

/// DocuSign signs once per active Connect key, up to the 100 it allows, one header each:
/// a delivery whose matching signature is in `X-DocuSign-Signature-100` passes, one past
/// that is not read, and none of them reaches the handler unless verified.
#[tokio::test]
async fn docusign_reads_a_signature_in_each_of_its_100_headers_and_no_more() {
    let body = r#"{"event":"envelope-completed"}"#;
    let ours = presets::docusign("our connect key").sign(body.as_bytes());
    let theirs = presets::docusign("another account's key").sign(body.as_bytes());
    for (count, expected) in [
        (17, StatusCode::OK),
        (100, StatusCode::OK),
        (101, StatusCode::UNAUTHORIZED),
    ] {
        let mut request = Request::post("/hook");
        for n in 1..=count {
            let value = if n == count { &ours } else { &theirs };
            request = request.header(format!("x-docusign-signature-{n}"), value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap();
        let layer = WebhookSignatureLayer::new(presets::docusign("our connect key"));
        let outcome = support::run_through(layer, request).await;
        assert_eq!(outcome.status, expected, "ours in header {count}");
        let calls = usize::from(expected == StatusCode::OK);
        assert_eq!(outcome.recorder.calls(), calls, "ours in header {count}");
    }
}

/// Box's SDKs refuse a delivery without `box-signature-version: 1` and
/// `box-signature-algorithm: HmacSHA256`; so does the preset, and signing writes both.
#[tokio::test]
async fn box_requires_its_signature_version_headers_and_signs_them() {
    use tower_webhook::sign::Message;

    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let scheme = || presets::box_com("box primary key").clock(move || now);
    let body = br#"{"trigger":"FILE.UPLOADED"}"#;
    let signed = scheme().sign_message(&Message::new(body).timestamp(1_700_000_000));
    assert_eq!(signed["box-signature-version"], "1");
    assert_eq!(signed["box-signature-algorithm"], "HmacSHA256");
    for (without, value) in [
        (None, None),
        (Some("box-signature-version"), None),
        (Some("box-signature-algorithm"), None),
        (Some("box-signature-version"), Some("2")),
        (Some("box-signature-algorithm"), Some("HmacSHA1")),
    ] {
        let mut headers = signed.clone();
        if let Some(name) = without {
            headers.remove(name);
            if let Some(value) = value {
                headers.insert(name, http::HeaderValue::from_static(value));
            }
        }
        let mut request = Request::post("/hook")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        *request.headers_mut() = headers;
        let outcome = support::run_through(WebhookSignatureLayer::new(scheme()), request).await;
        if without.is_none() {
            assert_eq!(outcome.status, StatusCode::OK);
            assert_eq!(outcome.recorder.only().body, &body[..]);
        } else {
            assert_refused(
                &outcome,
                "malformed webhook signature",
                &format!("{without:?}={value:?}"),
            );
        }
    }
}

/// GitLab chosen by name with a `whsec_` signing token requires the signature: the same
/// delivery with its signature left out, carrying the secret token instead, is refused, so
/// an attacker who learned the token cannot fall back to it.
#[tokio::test]
async fn gitlab_by_name_with_a_signing_token_requires_the_signature() {
    use tower_webhook::sign::Message;

    let token = format!("whsec_{}", STANDARD.encode([7u8; 32]));
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let scheme = || {
        presets::find("gitlab")
            .unwrap()
            .scheme(token.as_str(), &PresetOptions::new().clock(move || now))
            .unwrap()
    };
    let body = br#"{"object_kind":"push"}"#;
    let signed = presets::standard_webhooks(token.as_str())
        .unwrap()
        .sign_message(
            &Message::new(body)
                .timestamp(1_700_000_000)
                .id("908a6d9e-45fd"),
        );
    let send = |headers: http::HeaderMap| {
        let mut request = Request::post("/hook")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        *request.headers_mut() = headers;
        support::run_through(WebhookSignatureLayer::new(scheme()), request)
    };
    let outcome = send(signed.clone()).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(outcome.recorder.only().body, &body[..]);

    let mut downgraded = signed;
    downgraded.remove("webhook-signature");
    downgraded.insert("x-gitlab-token", token.parse().unwrap());
    let outcome = send(downgraded).await;
    assert_refused(
        &outcome,
        "missing webhook signature",
        "gitlab without its signature",
    );

    // Chosen with a plain secret token, the preset checks the token as before.
    let token_scheme = presets::by_name("gitlab", "plain secret token").unwrap();
    let request = Request::post("/hook")
        .header("x-gitlab-token", "plain secret token")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let outcome = support::run_through(WebhookSignatureLayer::new(token_scheme), request).await;
    assert_eq!(outcome.status, StatusCode::OK);
}

/// X answers its CRC challenge with HMAC-SHA256(consumer secret, crc_token), the key and
/// construction of a delivery's signature: whatever an endpoint echoes is signed. The
/// preset refuses a verified body that is not a JSON object, so an echoed token is never a
/// delivery; JSON objects, after whitespace, pass.
#[tokio::test]
async fn x_refuses_a_verified_body_that_is_not_a_json_object() {
    let scheme = || presets::x("x consumer secret");
    for (body, passes) in [
        (
            &br#"{"for_user_id":"2244994945","tweet_create_events":[]}"#[..],
            true,
        ),
        (b" \r\n\t{\"a\":1}", true),
        (b"crc_token_from_a_challenge", false),
        (br#"["not","an","object"]"#, false),
        (b"", false),
        (b"\x0c{}", false),
    ] {
        let signature = scheme().sign(body);
        let request = Request::post("/hook")
            .header("x-twitter-webhooks-signature", signature.as_str())
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        let outcome = support::run_through(WebhookSignatureLayer::new(scheme()), request).await;
        let what = String::from_utf8_lossy(body);
        if passes {
            assert_eq!(outcome.status, StatusCode::OK, "{what}");
            assert_eq!(outcome.recorder.only().body, body, "{what}");
        } else {
            assert_refused(&outcome, "malformed webhook signature", &what);
        }
    }
}

/// Trello signs each character's low byte (its docs: "binary strings, not utf-8"). A body
/// that is not UTF-8 is none Trello sent and is refused; and, as the preset documents, a
/// character above U+00FF can be swapped for another of the same low byte (`•`, U+2022,
/// for `"`) without changing the signature, which the replay guard then treats as the
/// same delivery.
#[cfg(feature = "sha1")]
#[tokio::test]
async fn trello_signs_low_bytes_and_refuses_a_body_that_is_not_utf8() {
    let url = "https://example.com/webhooks/trello";
    let scheme = || presets::trello("trello application secret", url);
    let send = |body: Vec<u8>, signature: String| {
        let request = Request::post("/hook")
            .header("x-trello-webhook", signature)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        support::run_through(WebhookSignatureLayer::new(scheme()), request)
    };
    let original = r#"{"action":{"data":{"card":{"desc":"a • b"}}}}"#;
    let signature = scheme().sign(original.as_bytes());
    let outcome = send(original.as_bytes().to_vec(), signature.clone()).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(outcome.recorder.only().body, original.as_bytes());

    let swapped = original.replace('•', "\"");
    let outcome = send(swapped.clone().into_bytes(), signature.clone()).await;
    assert_eq!(outcome.status, StatusCode::OK, "the documented weakness");
    assert_eq!(outcome.recorder.only().body, swapped.as_bytes());

    // A lead byte with no continuation: no JavaScript string is sent as this.
    let mut not_utf8 = original.as_bytes().to_vec();
    not_utf8[2] = 0xE1;
    let outcome = send(not_utf8, signature).await;
    assert_refused(&outcome, "malformed webhook signature", "not UTF-8");
}
