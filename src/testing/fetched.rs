//! Signing as the senders whose keys are fetched (PayPal, Amazon SNS, Plaid, FusionAuth's
//! JWKS), with the keys a [`KeyHost`] serves, and their receivers, fetching from it.

use std::time::{Duration, UNIX_EPOCH};

#[cfg(feature = "jwt")]
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::{HeaderValue, Request};
use ring::{rand::SystemRandom, signature};
use rustls::pki_types::{pem::PemObject as _, PrivatePkcs8KeyDer};
use sha2::{Digest as _, Sha256};

use super::key_host::{self, KeyHost};
use crate::{presets::PresetError, scheme::AnyScheme, sign::SignError};

/// The key each of these senders is given when the test names none: what the receiver is
/// configured with (a webhook id, a topic, Plaid's client credentials).
pub(super) fn default_key(preset: &str) -> Option<&'static str> {
    match preset {
        "paypal" => Some("WH-TOWER-WEBHOOK-TEST"),
        "sns" => Some("arn:aws:sns:us-east-1:123456789012:tower-webhook-test"),
        "plaid" => Some("client_id:secret"),
        "fusionauth_jwks" => Some("not used: the JWKS is fetched"),
        _ => None,
    }
}

/// `request` signed as `preset` signs it at `now`, with the keys `host` serves; `key` is what
/// the receiver is configured with.
#[cfg_attr(
    not(all(feature = "paypal", feature = "sns", feature = "jwt")),
    allow(unused_variables, unused_mut)
)]
pub(super) fn sign(
    preset: &'static str,
    key: &str,
    now: u64,
    host: &KeyHost,
    mut request: Request<Bytes>,
) -> Result<Request<Bytes>, SignError> {
    let time = crate::scheme::TimestampFormat::Rfc3339.render(now);
    let id = delivery_id(preset, now, request.body());
    let headers: Vec<(&str, String)> = match preset {
        #[cfg(feature = "paypal")]
        "paypal" => {
            let crc = crc32fast::hash(request.body());
            let signature = rsa_sign(preset, format!("{id}|{time}|{key}|{crc}").as_bytes())?;
            vec![
                ("paypal-transmission-id", id),
                ("paypal-transmission-time", time),
                ("paypal-cert-url", host.url(key_host::PAYPAL_CERT_PATH)),
                ("paypal-auth-algo", "SHA256withRSA".into()),
                ("paypal-transmission-sig", STANDARD.encode(signature)),
            ]
        }
        #[cfg(feature = "sns")]
        "sns" => {
            let message = std::str::from_utf8(request.body())
                .map_err(|_| SignError::invalid_request(preset, "an SNS message is text"))?;
            let mut canonical = String::new();
            for (name, value) in [
                ("Message", message),
                ("MessageId", &id),
                ("Timestamp", &time),
                ("TopicArn", key),
                ("Type", "Notification"),
            ] {
                canonical.push_str(&format!("{name}\n{value}\n"));
            }
            let signature = rsa_sign(preset, canonical.as_bytes())?;
            let notification = serde_json::json!({
                "Type": "Notification",
                "MessageId": id,
                "TopicArn": key,
                "Message": message,
                "Timestamp": time,
                "SignatureVersion": "2",
                "Signature": STANDARD.encode(signature),
                "SigningCertURL": host.url(key_host::SNS_CERT_PATH),
            });
            *request.body_mut() = Bytes::from(notification.to_string());
            vec![
                ("content-type", "text/plain; charset=UTF-8".into()),
                ("x-amz-sns-message-type", "Notification".into()),
                ("x-amz-sns-message-id", id),
                ("x-amz-sns-topic-arn", key.into()),
            ]
        }
        #[cfg(feature = "jwt")]
        "plaid" | "fusionauth_jwks" => {
            let hash = Sha256::digest(request.body());
            let (header, hash) = if preset == "plaid" {
                ("plaid-verification", hex::encode(hash))
            } else {
                ("x-fusionauth-signature-jwt", STANDARD.encode(hash))
            };
            let jose =
                serde_json::json!({ "alg": "ES256", "kid": key_host::JWT_KID, "typ": "JWT" });
            let claims = serde_json::json!({ "iat": now, "request_body_sha256": hash });
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(jose.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let signature = jwt_key(preset)?
                .sign(&SystemRandom::new(), input.as_bytes())
                .map_err(|_| SignError::public_key(preset))?;
            let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
            vec![(header, jwt)]
        }
        _ => return Err(SignError::fetched_key(preset)),
    };
    for (name, value) in headers {
        let value = HeaderValue::try_from(value)
            .map_err(|_| SignError::invalid_request(preset, "a header value is not text"))?;
        request
            .headers_mut()
            .insert(http::HeaderName::from_static(name), value);
    }
    Ok(request)
}

/// The receiver of `preset` under `key`, fetching from `host` only, its clock fixed at `now`.
#[cfg_attr(
    not(all(feature = "paypal", feature = "sns", feature = "jwt")),
    allow(unused_variables)
)]
pub(super) fn receiver(
    preset: &'static str,
    key: &str,
    now: u64,
    host: &KeyHost,
) -> Result<AnyScheme, PresetError> {
    let now = UNIX_EPOCH + Duration::from_secs(now);
    let clock = move || now;
    let invalid = |reason: &str| PresetError::InvalidKey {
        name: preset.into(),
        reason: reason.into(),
    };
    match preset {
        #[cfg(feature = "paypal")]
        "paypal" => Ok(AnyScheme::new(
            crate::scheme::PayPalScheme::new(key)
                .fetcher(host.fetcher())
                .certificate_hosts(host.allowed_hosts())
                .clock(clock),
        )),
        #[cfg(feature = "sns")]
        "sns" => Ok(AnyScheme::new(
            crate::scheme::SnsScheme::new([key])
                .fetcher(host.fetcher())
                .certificate_hosts(host.allowed_hosts())
                .clock(clock),
        )),
        #[cfg(feature = "jwt")]
        "plaid" => {
            let (client_id, secret) = key
                .split_once(':')
                .ok_or_else(|| invalid("expected `client_id:secret`"))?;
            let url = host.url(key_host::PLAID_KEY_PATH);
            let scheme = crate::scheme::JwtScheme::plaid(&url, host.fetcher(), client_id, secret)
                .map_err(|error| invalid(&error.to_string()))?;
            Ok(AnyScheme::new(scheme.clock(clock)))
        }
        #[cfg(feature = "jwt")]
        "fusionauth_jwks" => {
            let url = host.url(key_host::JWKS_PATH);
            let scheme = crate::presets::fusionauth_jwks(&url, host.fetcher())
                .map_err(|error| invalid(&error.to_string()))?;
            Ok(AnyScheme::new(scheme.clock(clock)))
        }
        _ => Err(invalid("not a sender whose keys are fetched")),
    }
}

/// The uncompressed point of the JWT key's public half (`04 || x || y`).
pub(super) fn jwt_public_point() -> Vec<u8> {
    use ring::signature::KeyPair as _;
    jwt_key("plaid").map_or_else(|_| Vec::new(), |key| key.public_key().as_ref().to_vec())
}

fn jwt_key(preset: &str) -> Result<signature::EcdsaKeyPair, SignError> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(key_host::JWT_KEY.as_bytes())
        .map_err(|_| SignError::public_key(preset))?;
    signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        der.secret_pkcs8_der(),
        &SystemRandom::new(),
    )
    .map_err(|_| SignError::public_key(preset))
}

/// `message`'s RSA PKCS #1 v1.5 SHA-256 signature under the key PayPal's and SNS's
/// certificates on the host are issued for.
#[cfg(any(feature = "paypal", feature = "sns"))]
fn rsa_sign(preset: &str, message: &[u8]) -> Result<Vec<u8>, SignError> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(key_host::RSA_KEY.as_bytes())
        .map_err(|_| SignError::public_key(preset))?;
    let key = signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|_| SignError::public_key(preset))?;
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message,
        &mut signature,
    )
    .map_err(|_| SignError::public_key(preset))?;
    Ok(signature)
}

/// A delivery's id, in a UUID's shape: the same body sent at the same time is the same
/// delivery (as the sender's retry would be), any other is new.
fn delivery_id(preset: &str, now: u64, body: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(preset)
        .chain_update(now.to_be_bytes())
        .chain_update(body)
        .finalize();
    let hex = hex::encode(digest.get(..16).unwrap_or_default());
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}
