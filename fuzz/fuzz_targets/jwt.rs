//! JWT headers and claims (`JwtScheme`, feature `jwt`):
//!
//! - any header value: never accepted (a forgery would need the HMAC key), and anything that
//!   is not three base64url parts with a JSON header naming an allowed `alg` is malformed;
//! - a JWT signed here with the key, with fuzzed claims: `iat` within 5 minutes or absent is
//!   fresh, any other `iat` refused as it should be, and the body's hash claim decides the
//!   verdict exactly;
//! - with keys fetched from a JWKS: a lookup is started (and never run: no fetch) only for a
//!   well-formed head whose `kid` is a usable key name; anything else is refused at once.
#![no_main]

use std::{
    sync::OnceLock,
    time::{Duration, UNIX_EPOCH},
};

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use hmac::{Hmac, Mac};
use http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower_webhook::{
    keys::{Fetcher, Start},
    scheme::{JwtScheme, Scheme, Verifier},
};

const NOW: u64 = 1_700_000_000;
const BODY: &[u8] = b"{\"webhook_type\":\"ITEM\"}";

fn parts(value: HeaderValue) -> http::request::Parts {
    let mut request = Request::post("/").body(()).unwrap();
    request.headers_mut().insert("x-jwt", value);
    request.into_parts().0
}

fn reason(scheme: &JwtScheme, parts: &http::request::Parts, body: &[u8]) -> &'static str {
    match scheme.verifier(parts) {
        Err(rejection) => rejection.reason(),
        Ok(mut verifier) => {
            verifier.update(body);
            verifier.finish(body).err().map_or("ok", |r| r.reason())
        }
    }
}

fn sign(header: &Value, claims: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let scheme = JwtScheme::hmac("x-jwt", "k").clock(|| UNIX_EPOCH + Duration::from_secs(NOW));
    match mode % 3 {
        0 => {
            // Any value.
            let Ok(value) = HeaderValue::from_bytes(rest) else {
                return;
            };
            let verdict = reason(&scheme, &parts(value.clone()), BODY);
            assert_ne!(verdict, "ok", "accepted a JWT not signed with the key");
            if !well_formed(value.as_bytes(), &["HS256", "HS384", "HS512"]) {
                let expected = if value.as_bytes().trim_ascii().is_empty() {
                    "missing_signature"
                } else {
                    "malformed_signature"
                };
                assert_eq!(verdict, expected, "{:?}", String::from_utf8_lossy(rest));
            }
        }
        1 => {
            // Signed with the key; fuzzed claims.
            let [iat_kind, hash_kind, tail @ ..] = rest else {
                return;
            };
            let (iat_raw, extra) = tail.split_at(tail.len().min(8));
            let mut raw = [0u8; 8];
            raw[..iat_raw.len()].copy_from_slice(iat_raw);
            let offset = i64::from_le_bytes(raw) % 1_000;
            let iat = NOW.checked_add_signed(offset).unwrap();
            let hash = Sha256::digest(BODY);
            let mut claims = serde_json::Map::new();
            let fresh = match iat_kind % 5 {
                0 => Ok(()),
                1 => {
                    claims.insert("iat".into(), json!(iat));
                    if offset.unsigned_abs() <= 300 {
                        Ok(())
                    } else {
                        Err("timestamp_out_of_tolerance")
                    }
                }
                2 => {
                    claims.insert("iat".into(), json!(offset));
                    if offset < 0 {
                        Err("invalid_timestamp")
                    } else {
                        Err("timestamp_out_of_tolerance")
                    }
                }
                3 => {
                    claims.insert("iat".into(), json!(iat as f64 + 0.5));
                    Err("invalid_timestamp")
                }
                _ => {
                    claims.insert("iat".into(), json!(iat.to_string()));
                    Err("invalid_timestamp")
                }
            };
            let extra_text = String::from_utf8_lossy(extra).into_owned();
            let claimed = match hash_kind % 4 {
                0 => Ok(STANDARD.encode(hash)),
                1 => Err(("invalid_signature", STANDARD.encode(Sha256::digest(extra)))),
                2 => Err(("malformed_signature", STANDARD.encode(&hash[..31]))),
                _ => {
                    let ok = STANDARD
                        .decode(&extra_text)
                        .ok()
                        .is_some_and(|b| b.len() == 32);
                    if ok && STANDARD.decode(&extra_text).unwrap() == hash.as_slice() {
                        Ok(extra_text.clone())
                    } else if ok {
                        Err(("invalid_signature", extra_text.clone()))
                    } else {
                        Err(("malformed_signature", extra_text.clone()))
                    }
                }
            };
            let (value, hash_verdict) = match &claimed {
                Ok(value) => (value.clone(), "ok"),
                Err((verdict, value)) => (value.clone(), *verdict),
            };
            claims.insert("request_body_sha256".into(), json!(value));
            claims.insert("extra".into(), json!(extra_text));
            let claims = Value::Object(claims).to_string();
            let token = sign(&json!({"alg": "HS256", "typ": "JWT"}), claims.as_bytes());
            let token_len = token.len();
            let verdict = reason(&scheme, &parts(HeaderValue::try_from(token).unwrap()), BODY);
            let expected = match fresh {
                // The crate reads JWTs of at most 8 KiB.
                _ if token_len > 8 * 1024 => "malformed_signature",
                Err(stale) => stale,
                Ok(()) => hash_verdict,
            };
            assert_eq!(verdict, expected, "claims {claims}");
        }
        _ => {
            // Keys from a JWKS: the head and `kid` decide, before any fetch.
            // One scheme for every run: a lookup dropped unpolled leaves nothing in its cache.
            static JWKS: OnceLock<JwtScheme> = OnceLock::new();
            let jwks = JWKS.get_or_init(|| {
                let fetcher = Fetcher::new()
                    .rate_limit(1, Duration::from_secs(3600))
                    .max_concurrent_fetches(1);
                JwtScheme::jwks("x-jwt", "https://jwks.invalid/keys.json", fetcher)
                    .unwrap()
                    .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
            });
            let [built, rest @ ..] = rest else { return };
            let value = if built & 1 == 1 {
                // A head with this `kid`, the rest of the token fuzzed.
                let split = rest.iter().position(|&b| b == b'.').unwrap_or(rest.len());
                let kid = String::from_utf8_lossy(&rest[..split]);
                let header =
                    URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": kid}).to_string());
                let mut token = header.into_bytes();
                token.extend_from_slice(&rest[split..]);
                token
            } else {
                rest.to_vec()
            };
            let Ok(value) = HeaderValue::from_bytes(&value) else {
                return;
            };
            let started = jwks.start(&parts(value.clone()));
            let kid = kid(value.as_bytes()).filter(|kid| {
                !kid.is_empty() && kid.len() <= 128 && kid.bytes().all(|b| b.is_ascii_graphic())
            });
            let formed = well_formed(value.as_bytes(), &["RS256", "ES256"]);
            match started {
                // Dropped unpolled: the lookup (and its fetch) never runs.
                Start::Resolving(_lookup) => {
                    assert!(
                        formed && kid.is_some(),
                        "a lookup for {:?}",
                        String::from_utf8_lossy(value.as_bytes())
                    );
                }
                Start::Ready(Ok(_)) => panic!("verified without keys"),
                Start::Ready(Err(rejection)) => {
                    let expected = if value.as_bytes().trim_ascii().is_empty() {
                        "missing_signature"
                    } else if !formed {
                        "malformed_signature"
                    } else {
                        "unknown_key"
                    };
                    assert_eq!(
                        rejection.reason(),
                        expected,
                        "{:?}",
                        String::from_utf8_lossy(value.as_bytes())
                    );
                    assert!(kid.is_none() || !formed);
                }
            }
        }
    }
});

/// Three base64url parts (no padding): a JSON header whose `alg` is one of `algorithms`, a JSON
/// object of claims, and a signature; at most 8 KiB. Written from RFC 7515's compact form.
fn well_formed(value: &[u8], algorithms: &[&str]) -> bool {
    let value = value.trim_ascii();
    if value.len() > 8 * 1024 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let parts: Vec<&str> = text.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return false;
    };
    let json = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let alg_ok = json(header)
        .and_then(|h| {
            h.get("alg")
                .and_then(Value::as_str)
                .map(|alg| algorithms.contains(&alg))
        })
        .unwrap_or(false);
    alg_ok
        && json(claims).is_some_and(|c| c.is_object())
        && URL_SAFE_NO_PAD.decode(signature).is_ok()
}

/// The `kid` of the JWT's header (its first part).
fn kid(value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let header = URL_SAFE_NO_PAD.decode(text.split('.').next()?).ok()?;
    let json: Value = serde_json::from_slice(&header).ok()?;
    Some(json.get("kid")?.as_str()?.to_owned())
}
