//! Senders whose signature travels inside the body.

use crate::{
    keys::IntoKeys,
    scheme::{AdyenScheme, InvalidKey, MailgunScheme},
};

/// Mailgun: the JSON body's `signature` object holds `timestamp`, `token` and `signature`,
/// the hex HMAC-SHA256 of `timestamp` followed by `token` under the HTTP webhook signing
/// key. See [`MailgunScheme`] for what is read and when.
///
/// # Panics
///
/// If `signing_key` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::mailgun("http webhook signing key"));
/// ```
#[must_use]
pub fn mailgun(signing_key: impl IntoKeys) -> MailgunScheme {
    MailgunScheme::new(signing_key)
}

/// Adyen (standard webhooks): each notification item's `additionalData.hmacSignature`, the
/// base64 HMAC-SHA256 of its payment fields joined with `:`, under the hex HMAC key. Only
/// those fields are signed; see [`AdyenScheme`].
///
/// # Errors
///
/// [`InvalidKey`] if the key is not hex, or is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::adyen("44782DEF547AAA06C910C43932B1EB0C")?);
/// # Ok::<(), tower_webhook::scheme::InvalidKey>(())
/// ```
pub fn adyen(hmac_key_hex: impl IntoKeys) -> Result<AdyenScheme, InvalidKey> {
    AdyenScheme::new(hmac_key_hex)
}
