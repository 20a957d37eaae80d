//! Senders whose signature travels inside the body.

use crate::{keys::IntoKeys, scheme::MailgunScheme};

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
