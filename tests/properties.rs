//! Properties over arbitrary input, for every preset: what the signing side produces verifies
//! whatever the body, secret and frame split, with exactly those bytes reaching the inner
//! service; flipping any single bit of the body or of any signed header makes it fail.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use proptest::{collection::vec, prelude::*};
use support::{run_through, Frames, Outcome};
use tower_webhook::{presets, sign::Message, Encoding, HmacScheme, WebhookSignatureLayer};

const NOW: u64 = 1_700_000_000;
const PRESETS: usize = 12;

fn preset(index: usize, secret: &str) -> HmacScheme {
    let scheme = match index % PRESETS {
        0 => presets::loopwise(secret),
        1 => presets::loop_returns(secret),
        2 => presets::github(secret),
        3 => presets::shopify(secret),
        4 => presets::stripe(secret),
        5 => presets::slack(secret),
        6 => presets::standard_webhooks(format!(
            "whsec_{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret)
        ))
        .unwrap(),
        7 => presets::paddle(secret),
        8 => presets::zoom(secret),
        // Linear's bodies carry their signed time (tests/presets.rs), so arbitrary bytes are
        // not Linear deliveries; Box signs a timestamp after the body and fixed headers.
        9 => presets::box_com(secret),
        10 => presets::dropbox(secret),
        _ => presets::square(secret, "https://example.com/hook"),
    };
    scheme.clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
}

fn run(scheme: HmacScheme, headers: &HeaderMap, body: &[u8], splits: &[usize]) -> Outcome {
    // The body in frames cut at the given sizes, then the rest.
    let mut frames = Vec::new();
    let mut rest = body;
    for &size in splits {
        let (frame, after) = rest.split_at(size.min(rest.len()));
        frames.push(Bytes::copy_from_slice(frame));
        rest = after;
    }
    frames.push(Bytes::copy_from_slice(rest));
    let mut request = Request::post("/").body(Frames::chunks(frames)).unwrap();
    request.headers_mut().extend(headers.clone());
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run_through(WebhookSignatureLayer::new(scheme), request))
}

fn sign(scheme: &HmacScheme, body: &[u8]) -> HeaderMap {
    scheme.sign_message(&Message::new(body).timestamp(NOW).id("msg_prop"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signed_requests_verify_with_their_exact_bytes(
        index in 0..PRESETS,
        secret in "[ -~]{1,48}",
        body in vec(any::<u8>(), 0..1500),
        splits in vec(0usize..400, 0..6),
    ) {
        let scheme = preset(index, &secret);
        let headers = sign(&scheme, &body);
        let out = run(scheme, &headers, &body, &splits);
        prop_assert_eq!(out.status, StatusCode::OK);
        prop_assert_eq!(&out.recorder.only().body[..], &body[..]);
    }

    #[test]
    fn flipping_any_bit_of_the_body_fails(
        index in 0..PRESETS,
        body in vec(any::<u8>(), 1..600),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let scheme = preset(index, "prop-secret");
        let headers = sign(&scheme, &body);
        let mut flipped = body.clone();
        flipped[at.index(body.len())] ^= 1 << bit;
        let out = run(scheme, &headers, &flipped, &[]);
        prop_assert_eq!(out.status, StatusCode::UNAUTHORIZED);
        prop_assert_eq!(out.recorder.calls(), 0);
    }

    #[test]
    fn flipping_any_bit_of_a_signed_header_fails(
        index in 0..PRESETS,
        body in vec(any::<u8>(), 0..300),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let scheme = preset(index, "prop-secret");
        let hex = scheme.encoding_used() == Encoding::Hex;
        let headers = sign(&scheme, &body);
        let names: Vec<_> = headers.keys().cloned().collect();
        let name = &names[which.index(names.len())];
        let mut value = headers[name].as_bytes().to_vec();
        let i = at.index(value.len());
        let original = value[i];
        value[i] ^= 1 << bit;
        // Changing a hex digit's case is the same value, and some bytes cannot be in a header.
        prop_assume!(!(hex && bit == 5 && original.is_ascii_alphabetic() && value[i].is_ascii_alphabetic()));
        let Ok(value) = HeaderValue::from_bytes(&value) else { return Ok(()) };
        let mut tampered = headers.clone();
        tampered.insert(name.clone(), value);
        let out = run(scheme, &tampered, &body, &[]);
        prop_assert_eq!(out.status, StatusCode::UNAUTHORIZED, "{} flipped at {}", name, i);
        prop_assert_eq!(out.recorder.calls(), 0);
    }
}
