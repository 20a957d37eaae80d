//! Every preset's header parsing (signature formats, timestamps, ids, encodings) fed
//! arbitrary header values, then a body: must never panic, and must never accept.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderName, HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use tower_webhook::{presets, scheme::{Scheme, Verifier}, HmacScheme};

fn schemes() -> Vec<HmacScheme> {
    vec![
        presets::loopwise("k"),
        presets::loop_returns("k"),
        presets::github("k"),
        presets::shopify("k"),
        presets::stripe("k"),
        presets::slack("k"),
        presets::standard_webhooks("whsec_c2VjcmV0").unwrap(),
        presets::paddle("k"),
        presets::zoom("k"),
        presets::linear("k"),
        presets::square("k", "https://example.com/hook"),
    ]
}

const HEADERS: [&str; 16] = [
    "loopwise-webhook-signature",
    "x-loop-signature",
    "x-hub-signature-256",
    "x-shopify-hmac-sha256",
    "stripe-signature",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "webhook-signature",
    "webhook-timestamp",
    "webhook-id",
    "svix-signature",
    "paddle-signature",
    "x-zm-signature",
    "x-zm-request-timestamp",
    "linear-signature",
    "x-square-hmacsha256-signature",
];

fuzz_target!(|data: &[u8]| {
    // [scheme index][then `header index byte, length byte, value` records][rest: body]
    let Some((&which, mut rest)) = data.split_first() else { return };
    let schemes = schemes();
    let scheme = schemes[usize::from(which) % schemes.len()]
        .clone()
        .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let mut request = Request::post("/").body(()).unwrap();
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
    if let Ok(mut verifier) = scheme.verifier(&parts) {
        verifier.update(rest);
        // A forgery would need a 2^-256 guess; anything accepted here is a bug.
        assert!(verifier.finish(rest).is_err(), "accepted an unsigned request");
    }
});
