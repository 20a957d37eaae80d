//! The public-key, SHA-1 and Twilio schemes fed arbitrary header values, URIs and a body:
//! must never panic, and must never accept (a forgery would need to break Ed25519, ECDSA or
//! HMAC-SHA1).
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderName, HeaderValue, Request, Uri};
use libfuzzer_sys::fuzz_target;
use tower_webhook::{presets, scheme::{Scheme, Verifier}};

const HEADERS: [&str; 10] = [
    "x-signature-ed25519",
    "x-signature-timestamp",
    "webhook-signature",
    "webhook-timestamp",
    "webhook-id",
    "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp",
    "x-hub-signature",
    "x-twilio-signature",
    "content-type",
];

fn check<S: Scheme>(scheme: &S, request: &http::request::Parts, body: &[u8]) {
    if let Ok(mut verifier) = scheme.verifier(request) {
        verifier.update(body);
        assert!(verifier.finish(body).is_err(), "accepted an unsigned request");
    }
}

fuzz_target!(|data: &[u8]| {
    // [scheme][uri length][uri][`header index, length, value` records][rest: body]
    let Some((&which, rest)) = data.split_first() else { return };
    let Some((&uri_len, rest)) = rest.split_first() else { return };
    let (uri, mut rest) = rest.split_at(usize::from(uri_len).min(rest.len()));
    let mut request = Request::post("/").body(()).unwrap();
    if let Ok(uri) = Uri::try_from(uri) {
        *request.uri_mut() = uri;
    }
    while let [name, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (value, after) = tail.split_at(len);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            let name = HeaderName::from_static(HEADERS[usize::from(*name) % HEADERS.len()]);
            request.headers_mut().append(name, value);
        }
        rest = after;
        if usize::from(*name) >= 240 {
            break;
        }
    }
    let (parts, ()) = request.into_parts();
    let now = || UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    match which % 5 {
        0 => check(
            &presets::discord("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
                .unwrap()
                .clock(now),
            &parts,
            rest,
        ),
        1 => check(
            &presets::standard_webhooks_v1a("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
                .unwrap()
                .clock(now),
            &parts,
            rest,
        ),
        2 => check(
            &presets::sendgrid("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==")
                .unwrap()
                .clock(now),
            &parts,
            rest,
        ),
        3 => check(&presets::intercom("k"), &parts, rest),
        _ => check(&presets::twilio("k", "https://example.com").unwrap(), &parts, rest),
    }
});
