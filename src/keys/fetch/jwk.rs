//! Keys for JWT-signed webhooks: a JSON Web Key fetched by key id (from a JWKS URL, or from
//! Plaid's key endpoint), or a shared HMAC secret.

use std::{
    fmt,
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use http::Uri;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::Fetcher;
use crate::{
    foundation::InvalidKey,
    keys::{FoundKeys, KeyError, KeySet, KeySource, LookupFuture},
};

/// The shortest refresh interval that can be set: below it, made-up key ids would cost
/// a fetch every few seconds.
const MIN_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// After a failed fetch of a JWKS it holds no usable copy of, the source waits this long
/// before the next (requests meanwhile get `503`): a down key host is not hammered, and is
/// tried again soon.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Where a JWT's key is fetched, by the key id (`kid`) its header names.
pub(crate) enum JwkSource {
    /// A JSON Web Key Set at a fixed URL (FusionAuth's `/.well-known/jwks.json`).
    Jwks(JwksDocument),
    /// Plaid's `/webhook_verification_key/get`, asked with the client's credentials: one
    /// request per key id, so made-up key ids are held only by the [`Fetcher`]'s limits.
    Plaid {
        fetcher: Fetcher,
        url: Uri,
        client_id: String,
        secret: String,
    },
}

impl JwkSource {
    async fn fetch(&self, kid: &str) -> Result<Option<FoundKeys>, KeyError> {
        let key = match self {
            Self::Jwks(document) => document.key(kid).await?,
            Self::Plaid {
                fetcher,
                url,
                client_id,
                secret,
            } => {
                let request = serde_json::json!({
                    "client_id": client_id,
                    "secret": secret,
                    "key_id": kid,
                });
                let answer = fetcher
                    .post_json(url, request.to_string().into_bytes())
                    .await
                    .map_err(KeyError::new)?;
                let found: Value = serde_json::from_slice(&answer)
                    .map_err(|_| KeyError::new("Plaid's answer is not JSON"))?;
                let key = found.get("key").cloned();
                // Plaid marks a retired key with `expired_at`: it verifies nothing more.
                key.filter(|key| key.get("expired_at").is_none_or(Value::is_null))
            }
        };
        Ok(key.map(|key| FoundKeys::new(key.to_string())))
    }
}

/// A JSON Web Key Set, fetched and kept as one document: every key id is looked up in the
/// copy held, and a key id it does not hold fetches it again at most once per refresh
/// interval, however many key ids are asked for.
pub(crate) struct JwksDocument {
    fetcher: Fetcher,
    url: Uri,
    ttl: Duration,
    refresh: Duration,
    /// Held across a fetch, so that concurrent lookups wait for that fetch and use its
    /// answer instead of each making one.
    held: tokio::sync::Mutex<Held>,
}

/// The copy of the document held, and when it was fetched and last asked for.
#[derive(Default)]
struct Held {
    keys: Vec<Value>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
}

/// What a lookup does with the copy held.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The copy is fresh and holds the key id.
    Use,
    /// The copy is fresh, does not hold the key id, and was fetched (or tried) less than a
    /// refresh interval ago.
    Unknown,
    /// There is no fresh copy and the last fetch failed moments ago.
    Unavailable,
    Fetch,
}

impl Held {
    fn next(&self, kid: &str, now: Instant, ttl: Duration, refresh: Duration) -> Next {
        let age = |at: Option<Instant>| at.map(|at| now.saturating_duration_since(at));
        let fresh = age(self.fetched).is_some_and(|age| age < ttl);
        if fresh && self.find(kid).is_some() {
            return Next::Use;
        }
        let wait = if fresh {
            refresh
        } else {
            RETRY_AFTER_FAILURE.min(refresh)
        };
        match (age(self.tried).is_some_and(|age| age < wait), fresh) {
            (true, true) => Next::Unknown,
            (true, false) => Next::Unavailable,
            (false, _) => Next::Fetch,
        }
    }

    fn find(&self, kid: &str) -> Option<&Value> {
        self.keys
            .iter()
            .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid))
    }
}

impl JwksDocument {
    /// The JWKS at `url`, used for `ttl` after each fetch, fetched again for an unknown key
    /// id at most every `refresh` (clamped to 30 seconds to `ttl`).
    pub(crate) fn new(fetcher: Fetcher, url: Uri, ttl: Duration, refresh: Duration) -> Self {
        Self {
            fetcher,
            url,
            ttl,
            refresh: refresh.clamp(
                MIN_JWKS_REFRESH_INTERVAL,
                ttl.max(MIN_JWKS_REFRESH_INTERVAL),
            ),
            held: tokio::sync::Mutex::default(),
        }
    }

    async fn key(&self, kid: &str) -> Result<Option<Value>, KeyError> {
        let mut held = self.held.lock().await;
        let now = Instant::now();
        match held.next(kid, now, self.ttl, self.refresh) {
            Next::Use => return Ok(held.find(kid).cloned()),
            Next::Unknown => return Ok(None),
            Next::Unavailable => {
                return Err(KeyError::new(format!(
                    "the JWKS could not be fetched moments ago; it is tried again {RETRY_AFTER_FAILURE:?} after"
                )))
            }
            Next::Fetch => {}
        }
        held.tried = Some(now);
        let answer = self.fetcher.get(&self.url).await.map_err(KeyError::new)?;
        let set: Value =
            serde_json::from_slice(&answer).map_err(|_| KeyError::new("the JWKS is not JSON"))?;
        let Some(Value::Array(keys)) = set.get("keys").cloned() else {
            return Err(KeyError::new("the JWKS has no `keys`"));
        };
        held.keys = keys;
        held.fetched = Some(now);
        Ok(held.find(kid).cloned())
    }
}

impl KeySource for JwkSource {
    fn lookup<'a>(&'a self, kid: &'a str) -> LookupFuture<'a> {
        Box::pin(self.fetch(kid))
    }
}

/// One key a JWT may be signed with.
#[derive(Clone)]
pub(crate) enum JwtKey {
    /// `HS256`, `HS384`, `HS512` under a shared secret.
    Hmac(Vec<u8>),
    /// `ES256`: an uncompressed P-256 point.
    EcP256(Vec<u8>),
    /// `RS256`: modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// The keys a JWT may verify under, in order.
#[derive(Clone)]
pub(crate) struct JwtKeys(pub(crate) Vec<JwtKey>);

impl JwtKeys {
    /// A JSON Web Key as a source found it.
    pub(crate) fn parse_jwk(json: &[u8]) -> Result<Self, InvalidKey> {
        let invalid = || InvalidKey::expected("a JSON Web Key (EC P-256 or RSA)");
        let jwk: Value = serde_json::from_slice(json).map_err(|_| invalid())?;
        let field = |name: &str| -> Result<Vec<u8>, InvalidKey> {
            let text = jwk.get(name).and_then(Value::as_str).ok_or_else(invalid)?;
            URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())
        };
        let key = match (jwk.get("kty").and_then(Value::as_str), jwk.get("crv")) {
            (Some("EC"), Some(crv)) if crv == "P-256" => {
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(invalid());
                }
                JwtKey::EcP256([&[4u8][..], &x, &y].concat())
            }
            (Some("RSA"), _) => JwtKey::Rsa {
                n: field("n")?,
                e: field("e")?,
            },
            _ => return Err(invalid()),
        };
        Ok(Self(vec![key]))
    }

    /// A shared HMAC secret.
    pub(crate) fn parse_secret(secret: &[u8]) -> Result<Self, InvalidKey> {
        if secret.is_empty() {
            return Err(InvalidKey::expected("a non-empty HMAC secret"));
        }
        Ok(Self(vec![JwtKey::Hmac(secret.to_vec())]))
    }

    /// The index of the key that signed `input` with `signature` under `alg`, if one did.
    pub(crate) fn verify(&self, alg: &str, input: &[u8], signature: &[u8]) -> Option<usize> {
        self.0
            .iter()
            .position(|key| key.verifies(alg, input, signature))
    }
}

impl JwtKey {
    fn verifies(&self, alg: &str, input: &[u8], signature: &[u8]) -> bool {
        use ring::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};
        match (self, alg) {
            (Self::Hmac(secret), "HS256") => hmac_matches::<sha2::Sha256>(secret, input, signature),
            (Self::Hmac(secret), "HS384") => hmac_matches::<sha2::Sha384>(secret, input, signature),
            (Self::Hmac(secret), "HS512") => hmac_matches::<sha2::Sha512>(secret, input, signature),
            (Self::EcP256(point), "ES256") => {
                UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
                    .verify(input, signature)
                    .is_ok()
            }
            (Self::Rsa { n, e }, "RS256") => RsaPublicKeyComponents { n, e }
                .verify(&sig::RSA_PKCS1_2048_8192_SHA256, input, signature)
                .is_ok(),
            // Every other pairing, `none` included, verifies nothing.
            _ => false,
        }
    }
}

fn hmac_matches<D>(secret: &[u8], input: &[u8], signature: &[u8]) -> bool
where
    D: hmac::digest::Digest
        + hmac::digest::core_api::BlockSizeUser
        + hmac::digest::FixedOutputReset
        + Clone,
    hmac::SimpleHmac<D>: hmac::Mac,
{
    use hmac::Mac as _;
    let Ok(mut mac) = hmac::SimpleHmac::<D>::new_from_slice(secret) else {
        return false;
    };
    mac.update(input);
    let expected = mac.finalize().into_bytes();
    bool::from(expected.as_slice().ct_eq(signature))
}

impl KeySet for JwtKeys {
    fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtKeys([redacted; {}])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(kids: &[&str], fetched: Option<Instant>, tried: Option<Instant>) -> Held {
        Held {
            keys: kids
                .iter()
                .map(|kid| serde_json::json!({ "kid": kid }))
                .collect(),
            fetched,
            tried,
        }
    }

    #[test]
    fn an_unknown_key_id_fetches_the_jwks_at_most_once_per_refresh_interval() {
        let (ttl, refresh) = (Duration::from_secs(3600), Duration::from_secs(300));
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(Held::default().next("a", t0, ttl, refresh), Next::Fetch);

        let fetched = held(&["a"], Some(t0), Some(t0));
        assert_eq!(fetched.next("a", at(1), ttl, refresh), Next::Use);
        for secs in [0, 1, 60, 299] {
            assert_eq!(
                fetched.next("made-up", at(secs), ttl, refresh),
                Next::Unknown,
                "{secs}"
            );
        }
        assert_eq!(fetched.next("made-up", at(300), ttl, refresh), Next::Fetch);
        // Known key ids use the copy until it expires, then fetch it again.
        assert_eq!(fetched.next("a", at(3599), ttl, refresh), Next::Use);
        assert_eq!(fetched.next("a", at(3600), ttl, refresh), Next::Fetch);
    }

    #[test]
    fn a_failed_fetch_is_tried_again_after_a_pause() {
        let (ttl, refresh) = (Duration::from_secs(3600), Duration::from_secs(300));
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        // Nothing held: requests get 503 for 10 seconds, then one fetches again.
        let failed = held(&[], None, Some(t0));
        assert_eq!(failed.next("a", at(9), ttl, refresh), Next::Unavailable);
        assert_eq!(failed.next("a", at(10), ttl, refresh), Next::Fetch);
        // A fresh copy held: a failed refresh for an unknown key id waits the whole interval.
        let refreshed = held(&["a"], Some(t0), Some(at(400)));
        assert_eq!(refreshed.next("new", at(500), ttl, refresh), Next::Unknown);
        assert_eq!(refreshed.next("a", at(500), ttl, refresh), Next::Use);
        assert_eq!(refreshed.next("new", at(700), ttl, refresh), Next::Fetch);
        // An expired copy is never used, however recently a fetch failed.
        let expired = held(&["a"], Some(t0), Some(at(3601)));
        assert_eq!(expired.next("a", at(3602), ttl, refresh), Next::Unavailable);
    }

    #[test]
    fn the_refresh_interval_is_clamped() {
        let url = Uri::from_static("https://auth.example/.well-known/jwks.json");
        let ttl = Duration::from_secs(3600);
        let short = JwksDocument::new(Fetcher::new(), url.clone(), ttl, Duration::ZERO);
        assert_eq!(short.refresh, MIN_JWKS_REFRESH_INTERVAL);
        let long = JwksDocument::new(Fetcher::new(), url, ttl, Duration::MAX);
        assert_eq!(long.refresh, ttl);
    }

    #[test]
    fn jwks_entries_parse_and_others_do_not() {
        let ec = br#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"1"}"#;
        assert!(
            matches!(JwtKeys::parse_jwk(ec).unwrap().0[0], JwtKey::EcP256(ref p) if p.len() == 65)
        );
        let rsa = br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}"#;
        assert!(matches!(
            JwtKeys::parse_jwk(rsa).unwrap().0[0],
            JwtKey::Rsa { .. }
        ));
        for bad in [
            &br#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#[..],
            br#"{"kty":"oct","k":"c2VjcmV0"}"#,
            br#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#,
            b"not json",
        ] {
            assert!(JwtKeys::parse_jwk(bad).is_err());
        }
    }

    #[test]
    fn algorithms_are_bound_to_their_key_type() {
        let keys = JwtKeys::parse_secret(b"secret").unwrap();
        let mac = {
            use hmac::Mac as _;
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"secret").unwrap();
            mac.update(b"input");
            mac.finalize().into_bytes().to_vec()
        };
        assert_eq!(keys.verify("HS256", b"input", &mac), Some(0));
        assert_eq!(keys.verify("HS512", b"input", &mac), None);
        assert_eq!(keys.verify("none", b"input", b""), None);
        assert_eq!(keys.verify("ES256", b"input", &mac), None);
    }
}
