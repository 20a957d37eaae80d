//! Hostile and broken input, case by case. Every rejected case asserts the exact status and
//! that the inner service never ran; every accepted case asserts the exact bytes it received.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use support::{run_through, Endless, Frames, Outcome};
use tower_webhook::{
    peer::{PeerAddr, TrustedProxies},
    presets,
    sign::Message,
    HmacScheme, IpAllowlist, WebhookSignatureLayer,
};

const NOW: u64 = 1_700_000_000;
const BODY: &str = r#"{"id":"evt_1","amount":4200,"currency":"eur"}"#;

fn at_now(scheme: HmacScheme) -> HmacScheme {
    scheme.clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
}

fn github() -> HmacScheme {
    presets::github("adversarial-secret")
}

fn stripe() -> HmacScheme {
    at_now(presets::stripe("whsec_adversarial"))
}

fn standard() -> HmacScheme {
    at_now(presets::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap())
}

fn paddle() -> HmacScheme {
    at_now(presets::paddle("adversarial-paddle"))
}

/// A request with exactly these raw header values (any bytes a header may carry).
fn request_with(headers: &[(&str, &[u8])], body: Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::post("/hook").body(Full::new(body)).unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    request
}

async fn check(scheme: HmacScheme, request: Request<Full<Bytes>>) -> Outcome {
    run_through(WebhookSignatureLayer::new(scheme), request).await
}

async fn rejected(scheme: HmacScheme, headers: &[(&str, &[u8])], body: &str, status: u16) {
    let out = check(scheme, request_with(headers, Bytes::from(body.to_owned()))).await;
    let shown: Vec<String> = headers
        .iter()
        .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(&v[..v.len().min(80)])))
        .collect();
    assert_eq!(out.status.as_u16(), status, "{shown:?}");
    assert_eq!(
        out.recorder.calls(),
        0,
        "{shown:?} reached the inner service"
    );
}

fn signed(scheme: &HmacScheme, body: &str) -> HeaderMap {
    scheme.sign_message(&Message::new(body.as_bytes()).timestamp(NOW).id("msg_1"))
}

fn value<'a>(headers: &'a HeaderMap, name: &str) -> &'a [u8] {
    headers[name].as_bytes()
}

// ---- the signature header -------------------------------------------------------------

#[tokio::test]
async fn missing_empty_and_blank_signatures_are_401() {
    let name = "x-hub-signature-256";
    rejected(github(), &[], BODY, 401).await;
    for blank in [&b""[..], b" ", b"\t \t"] {
        rejected(github(), &[(name, blank)], BODY, 401).await;
    }
}

#[tokio::test]
async fn prefix_games_are_401() {
    let good = github().sign(BODY.as_bytes());
    let hex = good.strip_prefix("sha256=").unwrap();
    let name = "x-hub-signature-256";
    for bad in [
        format!("sha1={hex}"),
        "sha256=".to_owned(),
        format!("sha256=sha256={hex}"),
        format!("SHA256={hex}"),
        hex.to_owned(),
        format!("sha256={}", &hex[..63]),
        format!("sha256={hex}0"),
        format!("sha256={hex}00"),
        format!("sha256 ={hex}"),
    ] {
        rejected(github(), &[(name, bad.as_bytes())], BODY, 401).await;
    }
    // Hex in upper case is the same MAC, and passes.
    let upper = format!("sha256={}", hex.to_ascii_uppercase());
    let out = check(
        github(),
        request_with(&[(name, upper.as_bytes())], BODY.into()),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.recorder.only().body, BODY.as_bytes());
}

#[tokio::test]
async fn base64_case_changes_are_a_different_mac() {
    let scheme = presets::loop_returns("adversarial-loop");
    let good = scheme.sign(BODY.as_bytes());
    let flipped: String = good
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    rejected(
        scheme,
        &[("x-loop-signature", flipped.as_bytes())],
        BODY,
        401,
    )
    .await;
}

#[tokio::test]
async fn non_ascii_huge_and_repeated_signature_headers_are_401() {
    let name = "x-hub-signature-256";
    let good = github().sign(BODY.as_bytes());
    let mut non_ascii = good.clone().into_bytes();
    non_ascii[10] = 0xe9;
    rejected(github(), &[(name, &non_ascii)], BODY, 401).await;
    let huge = format!("sha256={}", "a".repeat(64 * 1024));
    rejected(github(), &[(name, huge.as_bytes())], BODY, 401).await;
    rejected(
        github(),
        &[(name, good.as_bytes()), (name, good.as_bytes())],
        BODY,
        401,
    )
    .await;
}

#[tokio::test]
async fn stripe_headers_with_missing_parts_repeats_and_unknown_versions_are_401() {
    let headers = signed(&stripe(), BODY);
    let header = std::str::from_utf8(value(&headers, "stripe-signature")).unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let name = "stripe-signature";
    for bad in [
        v1.to_owned(),                             // no timestamp
        t.to_owned(),                              // no signature
        format!("{t},{t},{v1}"),                   // repeated timestamp
        format!("{t},v0={}", &v1[3..]),            // unknown version only
        format!("{t},v2={}", &v1[3..]),            // unknown version only
        format!("{t},,{v1}"),                      // empty entry
        format!("{t},{v1},"),                      // trailing empty entry
        format!("{t};{v1}"),                       // wrong separator
        format!("{t},v1"),                         // key without value
        format!("t={},{v1}", u64::MAX),            // huge timestamp
        format!("t=99999999999999999999999,{v1}"), // overflowing timestamp
        format!("t=-{NOW},{v1}"),                  // negative timestamp
        format!("t=now,{v1}"),                     // non-numeric timestamp
        format!("t={}.0,{v1}", NOW),               // not whole seconds
    ] {
        rejected(stripe(), &[(name, bad.as_bytes())], BODY, 401).await;
    }
    // Repeated v1 keys where one matches: any may match.
    let other = format!("v1={}", "ab".repeat(32));
    let several = format!("{t},{other},{v1},{other}");
    let out = check(
        stripe(),
        request_with(&[(name, several.as_bytes())], BODY.into()),
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.recorder.only().body, BODY.as_bytes());
}

#[tokio::test]
async fn standard_webhooks_headers_with_missing_parts_are_401() {
    let headers = signed(&standard(), BODY);
    let (id, ts, sig) = (
        value(&headers, "webhook-id"),
        value(&headers, "webhook-timestamp"),
        value(&headers, "webhook-signature"),
    );
    let sig_text = std::str::from_utf8(sig).unwrap();
    let bare = sig_text.strip_prefix("v1,").unwrap();
    for bad in [
        vec![("webhook-timestamp", ts), ("webhook-signature", sig)],
        vec![("webhook-id", id), ("webhook-signature", sig)],
        vec![("webhook-id", id), ("webhook-timestamp", ts)],
        vec![
            ("webhook-id", id),
            ("webhook-timestamp", ts),
            ("webhook-signature", bare.as_bytes()),
        ],
        vec![
            ("webhook-id", id),
            ("webhook-timestamp", ts),
            ("webhook-signature", b"v1a,abc v2,def"),
        ],
        vec![
            ("webhook-id", id),
            ("webhook-timestamp", b"-5"),
            ("webhook-signature", sig),
        ],
        vec![
            ("webhook-id", b"msg_2"),
            ("webhook-timestamp", ts),
            ("webhook-signature", sig),
        ],
    ] {
        rejected(standard(), &bad, BODY, 401).await;
    }
    let doubled_space = format!("v1,AAAA  {sig_text}");
    rejected(
        standard(),
        &[
            ("webhook-id", id),
            ("webhook-timestamp", ts),
            ("webhook-signature", doubled_space.as_bytes()),
        ],
        BODY,
        401,
    )
    .await;
}

#[tokio::test]
async fn paddle_headers_with_missing_parts_are_401() {
    let headers = signed(&paddle(), BODY);
    let header = std::str::from_utf8(value(&headers, "paddle-signature")).unwrap();
    let (ts, h1) = header.split_once(';').unwrap();
    for bad in [
        h1.to_owned(),
        ts.to_owned(),
        format!("{ts},{h1}"),
        format!("{ts};;{h1}"),
        format!("{ts};h2={}", &h1[3..]),
    ] {
        rejected(paddle(), &[("paddle-signature", bad.as_bytes())], BODY, 401).await;
    }
}

#[tokio::test]
async fn timestamps_exactly_at_the_tolerance_pass_and_one_second_more_fails() {
    for (at, status) in [
        (NOW - 300, StatusCode::OK),
        (NOW + 300, StatusCode::OK),
        (NOW - 301, StatusCode::UNAUTHORIZED),
        (NOW + 301, StatusCode::UNAUTHORIZED),
    ] {
        let headers = stripe().sign_message(&Message::new(BODY.as_bytes()).timestamp(at));
        let mut request = request_with(&[], BODY.into());
        request.headers_mut().extend(headers);
        let out = check(stripe(), request).await;
        assert_eq!(out.status, status, "signed at {at}");
        assert_eq!(out.recorder.calls(), usize::from(status == StatusCode::OK));
    }
}

// ---- the body -------------------------------------------------------------------------

async fn with_body(body: &[u8], signed_over: &[u8]) -> Outcome {
    let signature = github().sign(signed_over);
    check(
        github(),
        request_with(
            &[("x-hub-signature-256", signature.as_bytes())],
            Bytes::copy_from_slice(body),
        ),
    )
    .await
}

#[tokio::test]
async fn any_change_to_the_body_is_401() {
    let original = BODY.as_bytes();
    let mut changed = original.to_vec();
    changed[7] ^= 0x20;
    // Parsed and written again (keys sorted, spacing changed): the same JSON, other bytes.
    let value: serde_json::Value = serde_json::from_slice(original).unwrap();
    let reserialised = serde_json::to_vec(&value).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    assert_ne!(reserialised, original);
    for body in [
        &changed[..],
        &[original, b"\n"].concat(),
        &original[1..],
        &reserialised,
        &pretty,
        b"",
    ] {
        let out = with_body(body, original).await;
        assert_eq!(out.status, StatusCode::UNAUTHORIZED);
        assert_eq!(out.recorder.calls(), 0);
    }
}

#[tokio::test]
async fn empty_and_non_utf8_bodies_pass_byte_for_byte() {
    for body in [&b""[..], b"\xff\xfe\x00\x80 not utf-8 \xc3\x28"] {
        let out = with_body(body, body).await;
        assert_eq!(out.status, StatusCode::OK);
        assert_eq!(out.recorder.only().body, body);
    }
}

#[tokio::test]
async fn a_body_split_at_every_byte_boundary_passes_whole() {
    let signature = stripe().sign_message(&Message::new(BODY.as_bytes()).timestamp(NOW));
    for split in 0..=BODY.len() {
        let (a, b) = BODY.as_bytes().split_at(split);
        let mut request = Request::post("/")
            .body(Frames::chunks([
                Bytes::copy_from_slice(a),
                Bytes::copy_from_slice(b),
            ]))
            .unwrap();
        request.headers_mut().extend(signature.clone());
        let out = run_through(WebhookSignatureLayer::new(stripe()), request).await;
        assert_eq!(out.status, StatusCode::OK, "split at {split}");
        assert_eq!(out.recorder.only().body, BODY.as_bytes());
    }
}

// ---- framing and limits ---------------------------------------------------------------

async fn framed(content_length: &[&str], frames: Frames) -> Outcome {
    let mut request = Request::post("/").body(frames).unwrap();
    request.headers_mut().insert(
        "x-hub-signature-256",
        github().sign(BODY.as_bytes()).parse().unwrap(),
    );
    for value in content_length {
        request
            .headers_mut()
            .append("content-length", value.parse().unwrap());
    }
    run_through(WebhookSignatureLayer::new(github()), request).await
}

#[tokio::test]
async fn content_length_must_match_the_bytes_sent() {
    let len = BODY.len();
    for (declared, status) in [
        (vec![len.to_string()], StatusCode::OK),
        (vec![(len + 1).to_string()], StatusCode::BAD_REQUEST),
        (vec![(len - 1).to_string()], StatusCode::BAD_REQUEST),
        (vec![len.to_string(), len.to_string()], StatusCode::OK),
        (
            vec![len.to_string(), (len + 1).to_string()],
            StatusCode::BAD_REQUEST,
        ),
        (vec!["forty".to_owned()], StatusCode::BAD_REQUEST),
        (vec![format!("+{len}")], StatusCode::BAD_REQUEST),
    ] {
        let declared: Vec<&str> = declared.iter().map(String::as_str).collect();
        let out = framed(&declared, Frames::split(BODY.as_bytes(), 5)).await;
        assert_eq!(out.status, status, "{declared:?}");
        if status == StatusCode::OK {
            assert_eq!(out.recorder.only().body, BODY.as_bytes());
        } else {
            assert_eq!(out.recorder.calls(), 0);
        }
    }
}

#[tokio::test]
async fn endless_and_failing_bodies_never_reach_the_inner_service() {
    let mut request = Request::post("/").body(Endless::new(4096)).unwrap();
    request.headers_mut().insert(
        "x-hub-signature-256",
        github().sign(BODY.as_bytes()).parse().unwrap(),
    );
    let out = run_through(
        WebhookSignatureLayer::new(github()).max_body_size(1 << 20),
        request,
    )
    .await;
    assert_eq!(out.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(out.recorder.calls(), 0);

    let out = framed(
        &[],
        Frames::chunks([&BODY[..10]]).then_error("reset by peer"),
    )
    .await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(out.recorder.calls(), 0);
}

// ---- addresses ------------------------------------------------------------------------

async fn from(peer: &str, xff: Option<&str>, proxies: bool) -> Outcome {
    let mut layer = WebhookSignatureLayer::new(github())
        .allow_ips("52.194.91.27, fe80::/10".parse::<IpAllowlist>().unwrap());
    if proxies {
        layer = layer.peer_source(TrustedProxies::new("10.0.0.0/8".parse().unwrap()));
    }
    let mut request = request_with(
        &[(
            "x-hub-signature-256",
            github().sign(BODY.as_bytes()).as_bytes(),
        )],
        BODY.into(),
    );
    if let Some(xff) = xff {
        request
            .headers_mut()
            .insert("x-forwarded-for", xff.parse().unwrap());
    }
    let socket: std::net::SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(PeerAddr::from(socket));
    run_through(layer, request).await
}

#[tokio::test]
async fn addresses_mapped_zoned_spoofed_and_forwarded() {
    for (peer, xff, proxies, status) in [
        ("[::ffff:52.194.91.27]:443", None, false, 200),
        ("[fe80::1%2]:443", None, false, 200),
        ("203.0.113.7:443", Some("52.194.91.27"), false, 403),
        ("203.0.113.7:443", Some("52.194.91.27"), true, 403),
        ("10.0.0.5:443", Some("52.194.91.27"), true, 200),
        ("10.0.0.5:443", Some("52.194.91.27, 203.0.113.7"), true, 403),
        (
            "10.0.0.5:443",
            Some("203.0.113.7, 52.194.91.27, 10.0.0.9"),
            true,
            200,
        ),
        ("10.0.0.5:443", Some("unknown"), true, 403),
        ("10.0.0.5:443", None, true, 403),
    ] {
        let out = from(peer, xff, proxies).await;
        assert_eq!(
            out.status.as_u16(),
            status,
            "{peer} {xff:?} proxies={proxies}"
        );
        assert_eq!(out.recorder.calls(), usize::from(status == 200));
    }
}

#[tokio::test]
async fn a_missing_peer_address_is_403_with_an_allowlist() {
    let layer = WebhookSignatureLayer::new(github())
        .allow_ips("0.0.0.0/0, ::/0".parse::<IpAllowlist>().unwrap());
    let request = request_with(
        &[(
            "x-hub-signature-256",
            github().sign(BODY.as_bytes()).as_bytes(),
        )],
        BODY.into(),
    );
    let out = run_through(layer, request).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert_eq!(out.recorder.calls(), 0);
}
