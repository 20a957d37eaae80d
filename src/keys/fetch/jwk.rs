//! Keys for JWT-signed webhooks: a JSON Web Key fetched by key id (from a JWKS URL, or from
//! Plaid's key endpoint), or a shared HMAC secret.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use http::Uri;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::Fetcher;
use crate::{
    keys::{FoundKeys, KeyError, KeySet, KeySource, LookupFuture},
    scheme::InvalidKey,
};

/// Where a JWT's key is fetched, by the key id (`kid`) its header names.
pub(crate) enum JwkSource {
    /// A JSON Web Key Set at a fixed URL (FusionAuth's `/.well-known/jwks.json`).
    Jwks { fetcher: Fetcher, url: Uri },
    /// Plaid's `/webhook_verification_key/get`, asked with the client's credentials.
    Plaid {
        fetcher: Fetcher,
        url: Uri,
        client_id: String,
        secret: String,
    },
}

impl JwkSource {
    async fn fetch(&self, kid: &str) -> Result<Option<FoundKeys>, KeyError> {
        let (answer, key) = match self {
            Self::Jwks { fetcher, url } => {
                let answer = fetcher.get(url).await.map_err(KeyError::new)?;
                let set: Value = serde_json::from_slice(&answer)
                    .map_err(|_| KeyError::new("the JWKS is not JSON"))?;
                let key = set
                    .get("keys")
                    .and_then(Value::as_array)
                    .ok_or_else(|| KeyError::new("the JWKS has no `keys`"))?
                    .iter()
                    .find(|key| key.get("kid").and_then(Value::as_str) == Some(kid))
                    .cloned();
                (answer, key)
            }
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
                let key = key.filter(|key| key.get("expired_at").is_none_or(Value::is_null));
                (answer, key)
            }
        };
        drop(answer);
        Ok(key.map(|key| FoundKeys::new(key.to_string())))
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
