//! Standard Webhooks (and Svix, its origin), and the senders that use it under their own
//! names: `webhook-id`, `webhook-timestamp` and `webhook-signature` (or `svix-*`) over
//! `{id}.{timestamp}.{body}`.

#[cfg(feature = "ed25519")]
use base64::engine::general_purpose::STANDARD;
use base64::{
    alphabet,
    engine::{
        general_purpose::{GeneralPurpose, GeneralPurposeConfig},
        DecodePaddingMode,
    },
    Engine as _,
};

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
/// optional, and so is the base64 padding, as in the reference implementation), and the
/// decoded bytes are the key. Other versions are ignored; `standard_webhooks_v1a` (feature
/// `ed25519`) verifies the asymmetric `v1a`.
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
    Ok(standard_webhooks_envelope(scheme, "v1", Names::Webhook).named("standard_webhooks"))
}

/// Which header names a Standard Webhooks sender writes; the other ones are read when they
/// are absent.
#[derive(Clone, Copy)]
enum Names {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Webhook,
    /// `svix-id`, `svix-timestamp`, `svix-signature`: senders that sign through Svix.
    Svix,
}

/// What both Standard Webhooks versions share: headers (and their other names), layout,
/// signed content; `version` picks which entries of the signature header are read, `names`
/// which names signing writes.
fn standard_webhooks_envelope<A: Algorithm>(
    scheme: SignatureScheme<A>,
    version: &'static str,
    names: Names,
) -> SignatureScheme<A> {
    let ([signature, timestamp, id], fallback) = match names {
        Names::Webhook => (WEBHOOK_NAMES, SVIX_NAMES),
        Names::Svix => (SVIX_NAMES, WEBHOOK_NAMES),
    };
    scheme
        .header(signature)
        .timestamp_header(timestamp)
        .id_header(id)
        .fallback_headers(fallback[0], fallback[1], fallback[2])
        .encoding(Encoding::Base64)
        .signature_format(SignatureFormat::Versioned {
            version: version.into(),
        })
        .signed_payload("{id}.{timestamp}.{body}")
}

const WEBHOOK_NAMES: [&str; 3] = ["webhook-signature", "webhook-timestamp", "webhook-id"];
const SVIX_NAMES: [&str; 3] = ["svix-signature", "svix-timestamp", "svix-id"];

/// Standard base64 with or without its padding, as the reference library reads secrets
/// (`b64decode(secret + "==")`, which also ignores the unused bits of the last character).
const UNPADDED_OR_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The key bytes of a Standard Webhooks secret (`whsec_<base64>`), for
/// [`HmacScheme::also_accept`] when rotating.
///
/// # Errors
///
/// [`InvalidSecret`] if it is not base64 (padded or not) after its optional `whsec_`
/// prefix, or empty.
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
    match UNPADDED_OR_PADDED.decode(encoded) {
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
    Ok(standard_webhooks_envelope(
        Ed25519Scheme::ed25519_parsed(public_key, parse)?,
        "v1a",
        Names::Webhook,
    )
    .named("standard_webhooks_v1a"))
}

/// Clerk: a Standard Webhooks sender ([`standard_webhooks`]), under its own name. Clerk signs
/// through Svix and sends the `svix-*` header names, which signing writes too
/// (`@clerk/backend`'s `verifyWebhook` reads only those); `webhook-*` ones are read when they
/// are absent.
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
    Ok(svix_sender(secret)?.named("clerk"))
}

/// A Standard Webhooks sender that signs through Svix: `svix-*` names first.
fn svix_sender(secret: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    let scheme = standard_webhooks(secret)?;
    Ok(standard_webhooks_envelope(scheme, "v1", Names::Svix))
}

/// Resend: a Standard Webhooks sender ([`standard_webhooks`]), under its own name. Resend signs
/// through Svix and sends the `svix-*` header names, which signing writes too; `webhook-*`
/// ones are read when they are absent.
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
    Ok(svix_sender(secret)?.named("resend"))
}

/// OpenAI: a Standard Webhooks sender ([`standard_webhooks`]), under its own name. OpenAI
/// sends the `webhook-*` header names.
///
/// The secret is read as OpenAI's SDKs read it: after `whsec_`, base64 whose bytes are the
/// key; without that prefix, the text itself is the key (not decoded).
///
/// # Errors
///
/// [`InvalidSecret`] if the secret starts with `whsec_` and is not base64 after it, or is
/// empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::openai("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn openai(secret: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    let keys = KeySlot::new(secret.into_keys(), |secret| {
        match secret.strip_prefix(b"whsec_") {
            Some(_) => {
                let key = std::str::from_utf8(secret)
                    .ok()
                    .and_then(|text| standard_webhooks_key(text).ok())
                    .ok_or(InvalidKey::expected("`whsec_` followed by base64"))?;
                Hmac::sha256(&key)
            }
            None => Hmac::sha256(secret),
        }
    })
    .map_err(|_| InvalidSecret::new("OpenAI", "`whsec_` followed by base64, or the raw secret"))?;
    let scheme = HmacScheme::with_keys(keys, "hmac-sha256");
    Ok(standard_webhooks_envelope(scheme, "v1", Names::Webhook).named("openai"))
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

    #[test]
    fn standard_webhooks_secret_padding_is_optional_as_in_the_reference_library() {
        // The reference library's `test_signature_verification_with_unpadded_secret` cases:
        // no padding needed, one `=` left out (its last character has unused bits set), two.
        for (unpadded, padded) in [
            (
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
            (
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS=",
            ),
            (
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr",
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr==",
            ),
        ] {
            let key = standard_webhooks_key(padded).unwrap();
            assert_eq!(standard_webhooks_key(unpadded).unwrap(), key, "{unpadded}");
            assert_eq!(
                standard_webhooks_key(format!("whsec_{unpadded}")).unwrap(),
                key,
                "{unpadded}"
            );
        }
    }

    #[test]
    fn openai_takes_a_secret_without_whsec_as_the_key_itself() {
        use crate::sign::Message;

        let message = Message::new(b"{}").timestamp(1_700_000_000).id("wh_1");
        let raw = openai("c2VjcmV0").unwrap().sign_message(&message);
        let as_bytes = HmacScheme::sha256("c2VjcmV0")
            .header("webhook-signature")
            .encoding(Encoding::Base64)
            .signature_format(SignatureFormat::Versioned {
                version: "v1".into(),
            })
            .id_header("webhook-id")
            .timestamp_header("webhook-timestamp")
            .signed_payload("{id}.{timestamp}.{body}")
            .sign_message(&message);
        assert_eq!(raw["webhook-signature"], as_bytes["webhook-signature"]);
        let decoded = openai("whsec_c2VjcmV0").unwrap().sign_message(&message);
        assert_eq!(
            decoded["webhook-signature"],
            standard_webhooks("whsec_c2VjcmV0")
                .unwrap()
                .sign_message(&message)["webhook-signature"]
        );
        assert_ne!(raw["webhook-signature"], decoded["webhook-signature"]);
        assert!(openai("whsec_***").is_err());
        assert!(openai("").is_err());
    }

    #[test]
    fn svix_senders_sign_with_svix_names_and_read_both() {
        use crate::sign::Message;

        let message = Message::new(b"{}").timestamp(1_700_000_000).id("msg_1");
        for scheme in [
            clerk("whsec_c2VjcmV0").unwrap(),
            resend("whsec_c2VjcmV0").unwrap(),
        ] {
            let headers = scheme.sign_message(&message);
            let names: Vec<&str> = headers.keys().map(http::HeaderName::as_str).collect();
            assert_eq!(names, ["svix-signature", "svix-timestamp", "svix-id"]);
        }
        let headers = standard_webhooks("whsec_c2VjcmV0")
            .unwrap()
            .sign_message(&message);
        assert!(headers.contains_key("webhook-signature"));
    }
}
