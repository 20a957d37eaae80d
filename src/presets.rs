//! One function per webhook sender: the [`HmacScheme`] that sender uses, ready to go.
//!
//! | preset | header(s) | signed bytes | MAC, encoding |
//! |---|---|---|---|
//! | [`loopwise`] | `Loopwise-Webhook-Signature` | body | HMAC-SHA256, lowercase hex |
//! | [`loop_returns`] | `X-Loop-Signature` | body | HMAC-SHA256, base64 |
//! | [`github`] | `X-Hub-Signature-256: sha256=<hex>` | body | HMAC-SHA256, hex |
//! | [`shopify`] | `X-Shopify-Hmac-Sha256` | body | HMAC-SHA256, base64 |
//! | [`stripe`] | `Stripe-Signature: t=<ts>,v1=<hex>[,v1=…]` | `{t}.{body}` | HMAC-SHA256, hex; any `v1` may match |
//! | [`slack`] | `X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp` | `v0:{ts}:{body}` | HMAC-SHA256, hex |
//! | [`standard_webhooks`] | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> […]` (or `svix-*`) | `{id}.{ts}.{body}` | HMAC-SHA256, base64; `whsec_` secret |
//! | [`paddle`] | `Paddle-Signature: ts=<ts>;h1=<hex>[;h1=…]` | `{ts}:{body}` | HMAC-SHA256, hex |
//! | [`zoom`] | `x-zm-signature: v0=<hex>`, `x-zm-request-timestamp` | `v0:{ts}:{body}` | HMAC-SHA256, hex |
//! | [`linear`] | `Linear-Signature` | body | HMAC-SHA256, hex |
//! | [`square`] | `x-square-hmacsha256-signature` | `{notification URL}{body}` | HMAC-SHA256, base64 |
//!
//! Timestamped presets reject a timestamp more than 5 minutes from now, either way
//! ([`HmacScheme::tolerance`] changes it). Every preset takes more secrets for rotation with
//! [`HmacScheme::also_accept`], and signs with [`HmacScheme::sign_message`].
//!
//! ```
//! use tower_webhook::{presets, WebhookSignatureLayer};
//!
//! let loopwise = WebhookSignatureLayer::new(presets::loopwise("loopwise signing key"));
//! let loop_returns = WebhookSignatureLayer::new(presets::loop_returns("loop secret"));
//! let github = WebhookSignatureLayer::new(presets::github("github webhook secret"));
//! let shopify = WebhookSignatureLayer::new(presets::shopify("shopify client secret"));
//! let stripe = WebhookSignatureLayer::new(presets::stripe("whsec_stripe endpoint secret"));
//! let slack = WebhookSignatureLayer::new(presets::slack("slack signing secret"));
//! let svix = WebhookSignatureLayer::new(presets::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let paddle = WebhookSignatureLayer::new(presets::paddle("pdl_ntfset_… secret key"));
//! let zoom = WebhookSignatureLayer::new(presets::zoom("zoom secret token"));
//! let linear = WebhookSignatureLayer::new(presets::linear("linear signing secret"));
//! let square = WebhookSignatureLayer::new(presets::square("signature key", "https://example.com/webhooks/square"));
//! # Ok::<(), tower_webhook::presets::InvalidSecret>(())
//! ```

use std::fmt;

use base64::{engine::general_purpose::STANDARD, Engine as _};

use crate::{Encoding, HmacScheme, IpAllowlist, SignatureFormat};

/// The address Loopwise sends webhooks from, which Loopwise recommends allowlisting.
pub const LOOPWISE_IPS: &str = "52.194.91.27";

/// Loopwise: lowercase hex HMAC-SHA256 of the raw body in `Loopwise-Webhook-Signature`.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::loopwise("your_signing_key_here"))
///     .allow_ips(presets::loopwise_ips());
/// ```
#[must_use]
pub fn loopwise(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("loopwise-webhook-signature")
        .named("loopwise")
}

/// The addresses Loopwise sends from ([`LOOPWISE_IPS`]), as an allowlist.
///
/// ```
/// use tower_webhook::presets;
///
/// assert!(presets::loopwise_ips().contains([52, 194, 91, 27].into()));
/// ```
#[must_use]
pub fn loopwise_ips() -> IpAllowlist {
    IpAllowlist::from(std::net::Ipv4Addr::new(52, 194, 91, 27))
}

/// Loop Returns: standard base64 HMAC-SHA256 of the raw body in `X-Loop-Signature`.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::loop_returns("<SECRET>"));
/// ```
#[must_use]
pub fn loop_returns(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-loop-signature")
        .encoding(Encoding::Base64)
        .named("loop_returns")
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::github("It's a Secret to Everybody"));
/// ```
#[must_use]
pub fn github(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-hub-signature-256")
        .prefix("sha256=")
        .named("github")
}

/// Shopify: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body under the app's
/// client secret.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::shopify("shpss_client_secret"));
/// ```
#[must_use]
pub fn shopify(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-shopify-hmac-sha256")
        .encoding(Encoding::Base64)
        .named("shopify")
}

/// Stripe: `Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of
/// `{t}.{body}` under the endpoint's signing secret (`whsec_…`, used as it is, not decoded).
/// Any `v1` may match (Stripe sends several while a secret is rolled); `v0` entries are ignored.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::stripe("whsec_endpoint_secret"));
/// ```
#[must_use]
pub fn stripe(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("stripe-signature")
        .signature_format(SignatureFormat::Pairs {
            separator: ',',
            timestamp_key: "t".into(),
            signature_key: "v1".into(),
        })
        .signed_payload("{timestamp}.{body}")
        .named("stripe")
}

/// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}` under
/// the app's signing secret.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::slack("8f742231b10e8888abcd99yyyzzz85a5"));
/// ```
#[must_use]
pub fn slack(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-slack-signature")
        .prefix("v0=")
        .timestamp_header("x-slack-request-timestamp")
        .signed_payload("v0:{timestamp}:{body}")
        .named("slack")
}

/// Standard Webhooks (and Svix): `webhook-signature: v1,<base64> [v1,<base64> …]` over
/// `{webhook-id}.{webhook-timestamp}.{body}`; the `svix-id`, `svix-timestamp` and
/// `svix-signature` names are read when the `webhook-*` ones are absent.
///
/// The secret is given as the sender shows it, `whsec_` followed by base64 (the prefix is
/// optional, as in the reference implementation), and the decoded bytes are the key. Other
/// versions (`v1a`, asymmetric) are ignored.
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
pub fn standard_webhooks(secret: &str) -> Result<HmacScheme, InvalidSecret> {
    let key = standard_webhooks_key(secret)?;
    Ok(HmacScheme::sha256(key)
        .header("webhook-signature")
        .timestamp_header("webhook-timestamp")
        .id_header("webhook-id")
        .fallback_headers("svix-signature", "svix-timestamp", "svix-id")
        .encoding(Encoding::Base64)
        .signature_format(SignatureFormat::Versioned {
            version: "v1".into(),
        })
        .signed_payload("{id}.{timestamp}.{body}")
        .named("standard_webhooks"))
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
pub fn standard_webhooks_key(secret: &str) -> Result<Vec<u8>, InvalidSecret> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match STANDARD.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(InvalidSecret),
    }
}

/// The error of [`standard_webhooks`]: the secret is not `whsec_` and base64, or is empty.
///
/// Its `Display` never shows the secret.
///
/// ```
/// use tower_webhook::presets;
///
/// let error = presets::standard_webhooks("whsec_not base64!").unwrap_err();
/// assert_eq!(error.to_string(), "invalid Standard Webhooks secret: expected `whsec_` followed by base64");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSecret;

impl fmt::Display for InvalidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid Standard Webhooks secret: expected `whsec_` followed by base64")
    }
}

impl std::error::Error for InvalidSecret {}

/// Paddle (Billing): `Paddle-Signature: ts=<timestamp>;h1=<hex>[;h1=…]`, HMAC-SHA256 of
/// `{ts}:{body}` under the notification destination's secret key. Any `h1` may match.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::paddle("pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"));
/// ```
#[must_use]
pub fn paddle(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("paddle-signature")
        .signature_format(SignatureFormat::Pairs {
            separator: ';',
            timestamp_key: "ts".into(),
            signature_key: "h1".into(),
        })
        .signed_payload("{timestamp}:{body}")
        .named("paddle")
}

/// Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}` under the
/// app's secret token.
///
/// Zoom's one-time `endpoint.url_validation` challenge is a normal signed request; answer it
/// in the handler.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::zoom("zoom secret token"));
/// ```
#[must_use]
pub fn zoom(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-zm-signature")
        .prefix("v0=")
        .timestamp_header("x-zm-request-timestamp")
        .signed_payload("v0:{timestamp}:{body}")
        .named("zoom")
}

/// Linear: `Linear-Signature`, hex HMAC-SHA256 of the raw body.
///
/// Linear puts its timestamp (`webhookTimestamp`) inside the JSON body, which the layer does
/// not parse: check it in the handler if you need replay protection.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::linear("lin_wh_signing_secret"));
/// ```
#[must_use]
pub fn linear(secret: impl AsRef<[u8]>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("linear-signature")
        .named("linear")
}

/// Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 of the notification URL
/// followed by the raw body, under the subscription's signature key.
///
/// `notification_url` is the URL exactly as registered with Square. It is configuration, not
/// read from the request: behind a proxy or load balancer the request's `Host` and path are
/// not what Square signed, and a `Host` header is the client's to choose.
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
pub fn square(secret: impl AsRef<[u8]>, notification_url: impl Into<String>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-square-hmacsha256-signature")
        .encoding(Encoding::Base64)
        .signed_literal_then_body(notification_url.into())
        .named("square")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopwise_ips_matches_the_published_constant() {
        assert_eq!(loopwise_ips(), LOOPWISE_IPS.parse().unwrap());
    }

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
            assert_eq!(standard_webhooks_key(bad), Err(InvalidSecret), "{bad}");
        }
    }
}
