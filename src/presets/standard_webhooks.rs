//! Standard Webhooks (and Svix, its origin), and the senders that use it under their own
//! names: `webhook-id`, `webhook-timestamp` and `webhook-signature` (or `svix-*`) over
//! `{id}.{timestamp}.{body}`.

use base64::{engine::general_purpose::STANDARD, Engine as _};

use super::InvalidSecret;
#[cfg(feature = "ed25519")]
use crate::scheme::{Ed25519, Ed25519Scheme};
use crate::{
    keys::{IntoKeys, KeySlot},
    scheme::{Algorithm, Encoding, Hmac, HmacScheme, InvalidKey, SignatureFormat, SignatureScheme},
};

/// Standard Webhooks (and Svix): `webhook-signature: v1,<base64> [v1,<base64> …]` over
/// `{webhook-id}.{webhook-timestamp}.{body}`; the `svix-id`, `svix-timestamp` and
/// `svix-signature` names are read when the `webhook-*` ones are absent.
///
/// The secret is given as the sender shows it, `whsec_` followed by base64 (the prefix is
/// optional, as in the reference implementation), and the decoded bytes are the key. Other
/// versions are ignored; `standard_webhooks_v1a` (feature `ed25519`) verifies the asymmetric `v1a`.
///
/// The `webhook-id` must be 1 to 255 ASCII letters, digits, `_` and `-`, as senders' ids are:
/// one with a `.` would let a captured delivery be re-split into another id, timestamp and
/// body under the same signature.
///
/// # Errors
///
/// [`InvalidSecret`] if the secret is not base64 after its optional `whsec_` prefix, or empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(
///     presets::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?,
/// );
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn standard_webhooks(secret: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    let keys = KeySlot::new(secret.into_keys(), |secret| {
        let key = std::str::from_utf8(secret)
            .ok()
            .and_then(|text| standard_webhooks_key(text).ok())
            .ok_or(InvalidKey::expected("`whsec_` followed by base64"))?;
        Hmac::sha256(&key)
    })
    .map_err(|_| InvalidSecret::standard_webhooks())?;
    let scheme = HmacScheme::with_keys(keys, "hmac-sha256");
    Ok(standard_webhooks_envelope(scheme, "v1").named("standard_webhooks"))
}

/// What both Standard Webhooks versions share: headers (and their `svix-*` names), layout,
/// signed content; `version` picks which entries of the signature header are read.
fn standard_webhooks_envelope<A: Algorithm>(
    scheme: SignatureScheme<A>,
    version: &'static str,
) -> SignatureScheme<A> {
    scheme
        .header("webhook-signature")
        .timestamp_header("webhook-timestamp")
        .id_header("webhook-id")
        .fallback_headers("svix-signature", "svix-timestamp", "svix-id")
        .encoding(Encoding::Base64)
        .signature_format(SignatureFormat::Versioned {
            version: version.into(),
        })
        .signed_payload("{id}.{timestamp}.{body}")
}

/// The key bytes of a Standard Webhooks secret (`whsec_<base64>`), for
/// [`HmacScheme::also_accept`] when rotating.
///
/// # Errors
///
/// [`InvalidSecret`] if it is not base64 after its optional `whsec_` prefix, or empty.
///
/// ```
/// use tower_webhook::presets;
///
/// let scheme = presets::standard_webhooks("whsec_bmV3IHNlY3JldCBrZXk=")?
///     .also_accept(presets::standard_webhooks_key("whsec_b2xkIHNlY3JldCBrZXk=")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn standard_webhooks_key(secret: impl AsRef<str>) -> Result<Vec<u8>, InvalidSecret> {
    let secret = secret.as_ref();
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match STANDARD.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(InvalidSecret::standard_webhooks()),
    }
}

/// Standard Webhooks' asymmetric variant: `webhook-signature: v1a,<base64> […]`, Ed25519
/// over `{webhook-id}.{webhook-timestamp}.{body}`, under a `whpk_` public key (the `whpk_`
/// prefix is optional). `svix-*` header names are read as for [`standard_webhooks`]; `v1`
/// (HMAC) entries in the same header are ignored.
///
/// # Errors
///
/// [`InvalidKey`] if the key is not base64 of 32 bytes after its prefix, or not a usable
/// Ed25519 public key.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::standard_webhooks_v1a(
///     "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
/// )?);
/// # Ok::<(), tower_webhook::scheme::InvalidKey>(())
/// ```
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub fn standard_webhooks_v1a(public_key: impl IntoKeys) -> Result<Ed25519Scheme, InvalidKey> {
    let parse = |text: &[u8]| {
        let trimmed = text.trim_ascii();
        let key = STANDARD
            .decode(trimmed.strip_prefix(b"whpk_").unwrap_or(trimmed))
            .map_err(|_| InvalidKey::expected("`whpk_` followed by the base64 of 32 bytes"))?;
        Ed25519::from_raw(&key)
    };
    Ok(
        standard_webhooks_envelope(Ed25519Scheme::ed25519_parsed(public_key, parse)?, "v1a")
            .named("standard_webhooks_v1a"),
    )
}

/// Clerk: a Standard Webhooks sender ([`standard_webhooks`]), under its own name. Clerk signs through Svix and sends the `svix-*` header names.
///
/// # Errors
///
/// [`InvalidSecret`] if the secret is not `whsec_` followed by base64.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::clerk("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn clerk(secret: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    Ok(standard_webhooks(secret)?.named("clerk"))
}

/// Resend: a Standard Webhooks sender ([`standard_webhooks`]), under its own name. Resend signs through Svix and sends the `svix-*` header names.
///
/// # Errors
///
/// [`InvalidSecret`] if the secret is not `whsec_` followed by base64.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::resend("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn resend(secret: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    Ok(standard_webhooks(secret)?.named("resend"))
}

/// OpenAI: a Standard Webhooks sender ([`standard_webhooks`]), under its own name. OpenAI sends the `webhook-*` header names.
///
/// # Errors
///
/// [`InvalidSecret`] if the secret is not `whsec_` followed by base64.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::openai("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn openai(secret: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    Ok(standard_webhooks(secret)?.named("openai"))
}

/// Replicate: a Standard Webhooks sender ([`standard_webhooks`]), under its own name. Replicate sends the `webhook-*` header names; its secret comes from `GET /v1/webhooks/default/secret`.
///
/// # Errors
///
/// [`InvalidSecret`] if the secret is not `whsec_` followed by base64.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::replicate("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn replicate(secret: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    Ok(standard_webhooks(secret)?.named("replicate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_secret_prefix_is_optional_and_base64_is_required() {
        assert_eq!(
            standard_webhooks_key("whsec_c2VjcmV0").unwrap(),
            standard_webhooks_key("c2VjcmV0").unwrap()
        );
        assert_eq!(standard_webhooks_key("whsec_c2VjcmV0").unwrap(), b"secret");
        for bad in [
            "whsec_",
            "",
            "whsec_***",
            "whsec_c2VjcmV0=",
            "whsec c2VjcmV0",
        ] {
            assert!(standard_webhooks_key(bad).is_err(), "{bad}");
        }
    }
}
