//! Senders that sign a timestamp (and sometimes an id) with the body, so a captured
//! request cannot be replayed after the tolerance.

use std::time::Duration;

use crate::{
    keys::IntoKeys,
    scheme::{Encoding, HmacScheme, SignatureFormat, TimestampFormat},
};

/// Stripe: `Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of
/// `{t}.{body}` under the endpoint's signing secret (`whsec_…`, used as it is, not decoded).
/// Any `v1` may match (Stripe sends several while a secret is rolled); `v0` entries are ignored.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::stripe("whsec_endpoint_secret"));
/// ```
#[must_use]
pub fn stripe(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("stripe-signature")
        .signature_format(SignatureFormat::Pairs {
            separator: ',',
            timestamp_key: "t".into(),
            signature_key: "v1".into(),
        })
        .signed_payload("{timestamp}.{body}")
        .event_id_field("id")
        .named("stripe")
}

/// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}` under
/// the app's signing secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::slack("8f742231b10e8888abcd99yyyzzz85a5"));
/// ```
#[must_use]
pub fn slack(secret: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(secret)
        .header("x-slack-signature")
        .prefix("v0=")
        .timestamp_header("x-slack-request-timestamp")
        .signed_payload("v0:{timestamp}:{body}")
        .event_id_field("event_id")
        .named("slack");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::slack());
    scheme
}

/// Paddle (Billing): `Paddle-Signature: ts=<timestamp>;h1=<hex>[;h1=…]`, HMAC-SHA256 of
/// `{ts}:{body}` under the notification destination's secret key. Any `h1` may match.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::paddle("pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"));
/// ```
#[must_use]
pub fn paddle(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("paddle-signature")
        .signature_format(SignatureFormat::Pairs {
            separator: ';',
            timestamp_key: "ts".into(),
            signature_key: "h1".into(),
        })
        .signed_payload("{timestamp}:{body}")
        .event_id_field("notification_id")
        .named("paddle")
}

/// Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}` under the
/// app's secret token.
///
/// Zoom's `endpoint.url_validation` challenge (every 72 hours) is signed: the layer answers it
/// with the token's HMAC under the secret token that verified it, per tenant too.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::zoom("zoom secret token"));
/// ```
#[must_use]
pub fn zoom(secret: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(secret)
        .header("x-zm-signature")
        .prefix("v0=")
        .timestamp_header("x-zm-request-timestamp")
        .signed_payload("v0:{timestamp}:{body}")
        .event_id_fields(["event", "event_ts"])
        .named("zoom");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::zoom());
    scheme
}

/// Stripe-style `t=<timestamp>,<key>=<hex>` over `{t}.{body}`, shared by several senders.
fn t_pairs(secret: impl IntoKeys, header: &str, signature_key: &'static str) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header(header)
        .signature_format(SignatureFormat::Pairs {
            separator: ',',
            timestamp_key: "t".into(),
            signature_key: signature_key.into(),
        })
        .signed_payload("{timestamp}.{body}")
}

/// Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>`, HMAC-SHA256 of
/// `Twitch-Eventsub-Message-Id`, `Twitch-Eventsub-Message-Timestamp` (RFC 3339, with
/// fractional seconds) and the raw body, under the subscription's secret. Messages older or
/// newer than 10 minutes are refused, as Twitch asks; a delivery is named by its message id,
/// which Twitch keeps across retries.
///
/// Twitch's `webhook_callback_verification` challenge is signed like any message: the layer
/// answers it ([`Handshake::twitch`](crate::handshake::Handshake::twitch)).
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::twitch("subscription secret"));
/// ```
#[must_use]
pub fn twitch(secret: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(secret)
        .header("twitch-eventsub-message-signature")
        .prefix("sha256=")
        .id_header("twitch-eventsub-message-id")
        .timestamp_header("twitch-eventsub-message-timestamp")
        .timestamp_format(TimestampFormat::Rfc3339)
        .signed_payload("{id}{timestamp}{body}")
        .tolerance(Duration::from_secs(10 * 60))
        .named("twitch");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::twitch());
    scheme
}

/// Webflow: `x-webflow-signature`, hex HMAC-SHA256 of `{x-webflow-timestamp}:{body}` under
/// the OAuth app's client secret (or the webhook's secret); the timestamp is in
/// milliseconds, refused when more than 5 minutes from now.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::webflow("client secret"));
/// ```
#[must_use]
pub fn webflow(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-webflow-signature")
        .timestamp_header("x-webflow-timestamp")
        .timestamp_format(TimestampFormat::UnixMilliseconds)
        .signed_payload("{timestamp}:{body}")
        .named("webflow")
}

/// ElevenLabs: `ElevenLabs-Signature: t=<timestamp>,v0=<hex>`, HMAC-SHA256 of
/// `{t}.{body}` under the webhook's secret. ElevenLabs allows 30 minutes, and so does this
/// preset.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::elevenlabs("wsec_…"));
/// ```
#[must_use]
pub fn elevenlabs(secret: impl IntoKeys) -> HmacScheme {
    t_pairs(secret, "elevenlabs-signature", "v0")
        .tolerance(Duration::from_secs(30 * 60))
        .named("elevenlabs")
}

/// Calendly: `Calendly-Webhook-Signature: t=<timestamp>,v1=<hex>`, HMAC-SHA256 of
/// `{t}.{body}` under the webhook signing key. Calendly's docs suggest 3 minutes of
/// tolerance, used here.
///
/// # Panics
///
/// If `signing_key` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::calendly("signing key"));
/// ```
#[must_use]
pub fn calendly(signing_key: impl IntoKeys) -> HmacScheme {
    t_pairs(signing_key, "calendly-webhook-signature", "v1")
        .tolerance(Duration::from_secs(3 * 60))
        .named("calendly")
}

/// Mux: `Mux-Signature: t=<timestamp>,v1=<hex>`, HMAC-SHA256 of `{t}.{body}` under the
/// webhook's signing secret. A delivery is named by the event's `id`.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::mux("signing secret"));
/// ```
#[must_use]
pub fn mux(secret: impl IntoKeys) -> HmacScheme {
    t_pairs(secret, "mux-signature", "v1")
        .event_id_field("id")
        .named("mux")
}

/// WorkOS: `WorkOS-Signature: t=<milliseconds>, v1=<hex>`, HMAC-SHA256 of `{t}.{body}` under
/// the endpoint's secret. WorkOS's SDKs allow 3 minutes, and so does this preset. A delivery
/// is named by the event's `id`. Verifying takes the entries with or without the space after
/// the comma; signing writes it, as WorkOS does (its Python SDK splits on `", "`).
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::workos("endpoint secret"));
/// ```
#[must_use]
pub fn workos(secret: impl IntoKeys) -> HmacScheme {
    t_pairs(secret, "workos-signature", "v1")
        .timestamp_format(TimestampFormat::UnixMilliseconds)
        .written_separator(", ")
        .tolerance(Duration::from_secs(3 * 60))
        .event_id_field("id")
        .named("workos")
}

/// Zendesk: `X-Zendesk-Webhook-Signature`, base64 HMAC-SHA256 of
/// `X-Zendesk-Webhook-Signature-Timestamp` (RFC 3339) followed by the raw body, under the
/// webhook's signing secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::zendesk("signing secret"));
/// ```
#[must_use]
pub fn zendesk(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-zendesk-webhook-signature")
        .timestamp_header("x-zendesk-webhook-signature-timestamp")
        .timestamp_format(TimestampFormat::Rfc3339)
        .encoding(Encoding::Base64)
        .signed_payload("{timestamp}{body}")
        .named("zendesk")
}

/// Box: `box-signature-primary` and `box-signature-secondary`, base64 HMAC-SHA256 of the raw
/// body followed by `box-delivery-timestamp` (RFC 3339), under the app's primary and
/// secondary signature keys. Deliveries more than 10 minutes from now are refused, as Box
/// asks. A delivery is named by the event's `id`.
///
/// Give the secondary key with `also_accept`: the request passes if either key verifies
/// either signature, which is how Box's rotation is meant to work.
///
/// Box also sends `box-signature-version: 1` and `box-signature-algorithm: HmacSHA256`, and
/// its SDKs refuse a delivery without them: signing writes both, and a request without
/// either, or with another value (another scheme than this one), is refused as malformed.
///
/// # Panics
///
/// If `primary_key` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::box_com("primary key").also_accept("secondary key"));
/// ```
#[must_use]
pub fn box_com(primary_key: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(primary_key)
        .header("box-signature-primary")
        .more_signature_headers(["box-signature-secondary"])
        .timestamp_header("box-delivery-timestamp")
        .timestamp_format(TimestampFormat::Rfc3339)
        .encoding(Encoding::Base64)
        .signed_payload("{body}{timestamp}")
        .tolerance(Duration::from_secs(10 * 60))
        .event_id_field("id")
        .fixed_header("box-signature-version", "1")
        .fixed_header("box-signature-algorithm", "HmacSHA256")
        .named("box_com")
}
