//! Twilio's forms (`TwilioScheme`): the URL, the `bodySHA256` query parameter and the form
//! body, fed arbitrary paths, queries and bodies, signed here the way Twilio documents it
//! (HMAC-SHA1 of the URL, then each form parameter sorted, name and value appended, in base64):
//!
//! - a request signed that way verifies (with the URL as configured or with its default port),
//!   unless its form has more parameters than the limit (then malformed) or its `bodySHA256`
//!   is not one 64-hex-digit value (malformed);
//! - a signature one bit off, or any signature the fuzzer writes, is never accepted.
#![no_main]

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use http::{HeaderValue, Request, Uri};
use libfuzzer_sys::fuzz_target;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tower_webhook::{
    presets,
    scheme::{Scheme, Verifier},
};

const BASES: [&str; 2] = ["https://example.com/base", "https://example.com:443/base"];
const MAX_PARAMETERS: usize = 16;

fn verdict(signature: &str, uri: &Uri, content_type: Option<&str>, body: &[u8]) -> &'static str {
    let scheme = presets::twilio("k", BASES[0])
        .unwrap()
        .max_form_parameters(MAX_PARAMETERS);
    let mut request = Request::post(uri.clone()).body(()).unwrap();
    let Ok(value) = HeaderValue::try_from(signature) else {
        return "unsendable";
    };
    request.headers_mut().insert("x-twilio-signature", value);
    if let Some(content_type) = content_type {
        request
            .headers_mut()
            .insert("content-type", HeaderValue::from_str(content_type).unwrap());
    }
    let (parts, ()) = request.into_parts();
    match scheme.verifier(&parts) {
        Err(rejection) => rejection.reason(),
        Ok(mut verifier) => {
            verifier.update(body);
            verifier.finish(body).err().map_or("ok", |r| r.reason())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, uri_len, rest @ ..] = data else {
        return;
    };
    let (target, body) = rest.split_at(usize::from(*uri_len).min(rest.len()));
    let json = mode & 1 == 1;
    let mut target = [b"/sms".as_slice(), target].concat();
    let hash = hex::encode(Sha256::digest(body));
    if json && mode & 2 == 0 {
        target.extend_from_slice(if target.contains(&b'?') {
            b"&bodySHA256="
        } else {
            b"?bodySHA256="
        });
        target.extend_from_slice(hash.as_bytes());
    }
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let query = uri.query().unwrap_or_default();
    let content_type = if json {
        Some("application/json")
    } else {
        Some("application/x-www-form-urlencoded; charset=utf-8")
    };

    // What Twilio signs, and what the verdict must be.
    let hashes: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned())
        .collect();
    let mut mac = Hmac::<Sha1>::new_from_slice(b"k").unwrap();
    mac.update(BASES[usize::from(mode >> 2) % 2].as_bytes());
    mac.update(path_and_query.as_bytes());
    let expected = match &hashes[..] {
        [] if json => {
            // Neither a form nor a hash: only an empty body is covered.
            if body.is_empty() {
                "ok"
            } else {
                "invalid_signature"
            }
        }
        [] => {
            let mut params: Vec<(String, String)> = form_urlencoded::parse(body)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            if params.len() > MAX_PARAMETERS {
                "malformed_signature"
            } else {
                params.sort();
                params.dedup();
                for (name, value) in &params {
                    mac.update(name.as_bytes());
                    mac.update(value.as_bytes());
                }
                "ok"
            }
        }
        [one] if one.len() == 64 && hex::decode(one).is_ok() => {
            if one.eq_ignore_ascii_case(&hash) {
                "ok"
            } else {
                "invalid_signature"
            }
        }
        _ => "malformed_signature",
    };
    let signature = mac.finalize().into_bytes();
    let got = verdict(&STANDARD.encode(signature), &uri, content_type, body);
    assert_eq!(
        got,
        expected,
        "{path_and_query:?} {:?}",
        String::from_utf8_lossy(body)
    );

    // One bit off: never accepted.
    let mut forged = signature;
    forged[usize::from(*mode) % 20] ^= 1 << (mode % 8);
    let got = verdict(&STANDARD.encode(forged), &uri, content_type, body);
    assert_ne!(got, "ok");
    // Whatever the fuzzer writes as the signature: never accepted.
    let written = String::from_utf8_lossy(body);
    assert_ne!(verdict(written.trim(), &uri, content_type, body), "ok");
});
