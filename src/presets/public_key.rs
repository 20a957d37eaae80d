//! Senders that sign with a private key and publish the public key: the receiver holds no
//! secret at all.

#[cfg(any(feature = "ed25519", feature = "p256"))]
use base64::{engine::general_purpose::STANDARD, Engine as _};

#[cfg(feature = "p256")]
use crate::scheme::{EcdsaP256, P256Scheme};
#[cfg(feature = "ed25519")]
use crate::scheme::{Ed25519, Ed25519Scheme};
#[cfg(any(feature = "ed25519", feature = "p256"))]
use crate::{keys::IntoKeys, scheme::InvalidKey};

/// Discord (interactions and webhook events): `X-Signature-Ed25519`, the hex Ed25519
/// signature of `X-Signature-Timestamp` followed by the raw body, under the application's
/// public key: 64 hex digits as the developer portal shows it, or that key in a PEM
/// `-----BEGIN PUBLIC KEY-----` block (as tools that convert it write it).
///
/// Timestamps more than 5 minutes from now are refused, as for every timestamped preset.
/// Discord checks the endpoint with a signed `PING` and with deliberately bad signatures,
/// which the layer answers with 401 as Discord expects; the handler answers the `PING`.
///
/// # Errors
///
/// [`InvalidKey`] if the key is not 64 hex digits or a PEM Ed25519 public key, or not a
/// usable one.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::discord(
///     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
/// )?);
/// # Ok::<(), tower_webhook::scheme::InvalidKey>(())
/// ```
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub fn discord(public_key_hex: impl IntoKeys) -> Result<Ed25519Scheme, InvalidKey> {
    let parse = |text: &[u8]| {
        let text = text.trim_ascii();
        if text.starts_with(b"-----BEGIN PUBLIC KEY-----") {
            return Ed25519::from_raw(&ed25519_pem(text)?);
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(text, &mut key)
            .map_err(|_| InvalidKey::expected("64 hex digits (32 bytes)"))?;
        Ed25519::from_raw(&key)
    };
    let scheme = Ed25519Scheme::ed25519_parsed(public_key_hex, parse)?
        .header("x-signature-ed25519")
        .timestamp_header("x-signature-timestamp")
        .signed_payload("{timestamp}{body}")
        .event_id_field("id")
        .named("discord");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::discord());
    Ok(scheme)
}

/// The 32 key bytes of a PEM `SubjectPublicKeyInfo` holding an Ed25519 key (RFC 8410): a
/// fixed 12-byte DER header, then the key.
#[cfg(feature = "ed25519")]
fn ed25519_pem(pem: &[u8]) -> Result<[u8; 32], InvalidKey> {
    const SPKI_HEADER: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    let invalid = || InvalidKey::expected("a PEM Ed25519 public key");
    let text = std::str::from_utf8(pem).map_err(|_| invalid())?;
    let base64: String = text
        .trim_start_matches("-----BEGIN PUBLIC KEY-----")
        .trim_end_matches("-----END PUBLIC KEY-----")
        .split_whitespace()
        .collect();
    let der = STANDARD.decode(base64).map_err(|_| invalid())?;
    der.strip_prefix(&SPKI_HEADER[..])
        .and_then(|key| <[u8; 32]>::try_from(key).ok())
        .ok_or_else(invalid)
}

/// SendGrid (Twilio SendGrid's signed Event Webhook):
/// `X-Twilio-Email-Event-Webhook-Signature`, the base64 DER ECDSA P-256 / SHA-256 signature
/// of `X-Twilio-Email-Event-Webhook-Timestamp` followed by the raw body.
///
/// `public_key` is the verification key as SendGrid shows it: base64 of the DER public key
/// (a PEM `-----BEGIN PUBLIC KEY-----` block is accepted too). Timestamps more than 5 minutes
/// from now are refused; SendGrid documents no window, so widen it with
/// [`tolerance`](crate::scheme::SignatureScheme::tolerance) if your deliveries queue longer.
///
/// # Errors
///
/// [`InvalidKey`] if the key is not base64 of a P-256 public key.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::sendgrid(
///     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
/// )?);
/// # Ok::<(), tower_webhook::scheme::InvalidKey>(())
/// ```
#[cfg(feature = "p256")]
#[cfg_attr(docsrs, doc(cfg(feature = "p256")))]
pub fn sendgrid(public_key: impl IntoKeys) -> Result<P256Scheme, InvalidKey> {
    let parse = |text: &[u8]| {
        let invalid = || InvalidKey::expected("the base64 of a P-256 public key");
        let text = std::str::from_utf8(text).map_err(|_| invalid())?;
        let base64: String = text
            .trim()
            .trim_start_matches("-----BEGIN PUBLIC KEY-----")
            .trim_end_matches("-----END PUBLIC KEY-----")
            .split_whitespace()
            .collect();
        EcdsaP256::from_der(&STANDARD.decode(base64).map_err(|_| invalid())?)
    };
    Ok(P256Scheme::p256_parsed(public_key, parse)?
        .header("x-twilio-email-event-webhook-signature")
        .timestamp_header("x-twilio-email-event-webhook-timestamp")
        .signed_payload("{timestamp}{body}")
        .event_id_field_of_each("sg_event_id")
        .named("sendgrid"))
}
