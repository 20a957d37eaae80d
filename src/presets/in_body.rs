//! Senders whose signature (or secret) travels inside the body.

use crate::{
    keys::IntoKeys,
    scheme::{AdyenScheme, ClientStateScheme, InvalidKey, MailgunScheme},
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

/// Microsoft Graph change notifications (and lifecycle notifications): each notification in
/// the JSON body's `value` array carries `clientState`, the secret given when the
/// subscription was created, which must equal `client_state` (compared in constant time).
/// Nothing is signed; see [`ClientStateScheme`].
///
/// **Weaker than a signature**: a captured notification's `clientState` can be sent with
/// any body.
///
/// # Panics
///
/// If `client_state` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::microsoft_graph("long random client state"));
/// ```
#[must_use]
pub fn microsoft_graph(client_state: impl IntoKeys) -> ClientStateScheme {
    ClientStateScheme::new(client_state)
        .with_handshake(crate::handshake::Handshake::microsoft_graph())
}
