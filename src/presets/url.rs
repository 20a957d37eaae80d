//! Senders that sign the URL they called along with the body. The URL is configuration, not
//! read from the request: behind a proxy the request's `Host` and path are not what the
//! sender signed, and a `Host` header is the client's to choose.

#[cfg(feature = "sha1")]
use crate::scheme::envelope::low_bytes::low_bytes;
#[cfg(feature = "twilio")]
use crate::scheme::{InvalidUrl, TwilioScheme};
use crate::{
    keys::IntoKeys,
    scheme::{envelope::payload::Piece, Encoding, HmacScheme},
};

/// Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 of the notification URL
/// followed by the raw body, under the subscription's signature key.
///
/// `notification_url` is the URL exactly as registered with Square. It is configuration, not
/// read from the request: behind a proxy or load balancer the request's `Host` and path are
/// not what Square signed, and a `Host` header is the client's to choose.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::square(
///     "signature key",
///     "https://example.com/webhooks/square",
/// ));
/// ```
#[must_use]
pub fn square(secret: impl IntoKeys, notification_url: impl Into<String>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-square-hmacsha256-signature")
        .encoding(Encoding::Base64)
        .signed_around_body(notification_url.into(), Vec::new())
        .named("square")
}

/// Twilio (voice, messaging and other webhooks): `X-Twilio-Signature`, base64 HMAC-SHA1 of
/// the URL Twilio called and the sorted form parameters, or of the URL with its
/// `bodySHA256` parameter for JSON bodies. See [`TwilioScheme`] for what is covered and how.
///
/// Twilio signs the sorted, distinct decoded parameters, not the body's bytes: parameters
/// can be reordered, and a repeated one duplicated, after signing. Add
/// [`refuse_repeated_parameters`](TwilioScheme::refuse_repeated_parameters) to refuse forms
/// whose names repeat (Twilio's own callbacks never repeat one).
///
/// `public_base_url` is the part of the webhook URL before the path your server receives
/// (`https://example.com`), configured rather than read from the request's `Host` header,
/// which the client chooses; the request's path and query are appended as received.
///
/// # Errors
///
/// [`InvalidUrl`] if `public_base_url` is not `http(s)://host[:port][/prefix]`.
///
/// # Panics
///
/// If `auth_token` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::twilio("auth token", "https://example.com")?);
/// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
/// ```
#[cfg(feature = "twilio")]
#[cfg_attr(docsrs, doc(cfg(feature = "twilio")))]
pub fn twilio(
    auth_token: impl IntoKeys,
    public_base_url: impl AsRef<str>,
) -> Result<TwilioScheme, InvalidUrl> {
    Ok(TwilioScheme::new(auth_token, public_base_url)?
        .event_id_header("i-twilio-idempotency-token"))
}

/// Trello: `X-Trello-Webhook`, base64 HMAC-SHA1 of the raw body followed by the callback
/// URL, under the application's secret (the OAuth 1.0 secret of the Power-Up's API key).
///
/// `callback_url` is the `callbackURL` exactly as given when the webhook was created. Trello
/// signs each character's low byte, not the body's UTF-8 ("binary strings, not utf-8", in
/// its docs: an en dash is signed as the byte `0x13`), and so does this check; a body that is
/// not UTF-8 is refused. **Characters above U+00FF are not signed in full**: a captured
/// delivery holding one (`•`, U+2022, is signed as `"`) can be sent again with another
/// character of the same low byte in its place, which may change the JSON's structure. Put
/// the replay guard behind it: a delivery is named by its signature, so such a copy is a
/// duplicate of the delivery it was made from.
///
/// Trello first checks the callback URL with an unsigned `HEAD` request: the layer answers it
/// 200.
///
/// # Panics
///
/// If `application_secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::trello(
///     "application secret",
///     "https://example.com/webhooks/trello",
/// ));
/// ```
#[cfg(feature = "sha1")]
#[cfg_attr(docsrs, doc(cfg(feature = "sha1")))]
#[must_use]
pub fn trello(application_secret: impl IntoKeys, callback_url: impl AsRef<str>) -> HmacScheme {
    let url = callback_url.as_ref();
    let signed_url = low_bytes(url.as_bytes()).unwrap_or_else(|| url.as_bytes().to_vec());
    let scheme = HmacScheme::sha1(application_secret)
        .header("x-trello-webhook")
        .encoding(Encoding::Base64)
        .signed_around_body(bytes::Bytes::new(), vec![Piece::Literal(signed_url.into())])
        .low_bytes()
        .named("trello");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::trello());
    scheme
}

/// HubSpot (signature v3): `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 of `POST`, the
/// webhook URL, the raw body and `X-HubSpot-Request-Timestamp` (milliseconds), under the
/// app's client secret. Timestamps more than 5 minutes from now are refused, as HubSpot asks.
/// A delivery is named by the `eventId`s of the events it carries.
///
/// `webhook_url` is the target URL exactly as configured in the app's webhook settings,
/// query included.
///
/// # Panics
///
/// If `client_secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::hubspot(
///     "client secret",
///     "https://example.com/webhooks/hubspot",
/// ));
/// ```
#[must_use]
pub fn hubspot(client_secret: impl IntoKeys, webhook_url: impl AsRef<str>) -> HmacScheme {
    let prefix = format!("POST{}", webhook_url.as_ref());
    HmacScheme::sha256(client_secret)
        .header("x-hubspot-signature-v3")
        .encoding(Encoding::Base64)
        .timestamp_header("x-hubspot-request-timestamp")
        .timestamp_format(crate::scheme::TimestampFormat::UnixMilliseconds)
        .signed_around_body(prefix, vec![Piece::Timestamp])
        .event_id_field_of_each("eventId")
        .named("hubspot")
}
