//! One function per webhook sender: the [`HmacScheme`] that sender uses, ready to go.
//!
//! | preset | header(s) | signed bytes | algorithm, encoding |
//! |---|---|---|---|
//! | [`loopwise`] | `Loopwise-Webhook-Signature` | body | HMAC-SHA256, lowercase hex |
//! | [`loop_returns`] | `X-Loop-Signature` | body | HMAC-SHA256, base64 |
//! | [`github`] | `X-Hub-Signature-256: sha256=<hex>` | body | HMAC-SHA256, hex |
//! | [`shopify`] | `X-Shopify-Hmac-Sha256` | body | HMAC-SHA256, base64 |
//! | [`stripe`] | `Stripe-Signature: t=<ts>,v1=<hex>[,v1=…]` | `{t}.{body}` | HMAC-SHA256, hex; any `v1` may match |
//! | [`slack`] | `X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp` | `v0:{ts}:{body}` | HMAC-SHA256, hex |
//! | [`standard_webhooks`] | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> […]` (or `svix-*`) | `{id}.{ts}.{body}` | HMAC-SHA256, base64; `whsec_` secret |
//! | `standard_webhooks_v1a` (`ed25519`) | as above, `v1a,<b64>` entries | `{id}.{ts}.{body}` | Ed25519, base64; `whpk_` public key |
//! | [`paddle`] | `Paddle-Signature: ts=<ts>;h1=<hex>[;h1=…]` | `{ts}:{body}` | HMAC-SHA256, hex |
//! | [`zoom`] | `x-zm-signature: v0=<hex>`, `x-zm-request-timestamp` | `v0:{ts}:{body}` | HMAC-SHA256, hex |
//! | [`linear`] | `Linear-Signature` | body | HMAC-SHA256, hex |
//! | [`square`] | `x-square-hmacsha256-signature` | `{notification URL}{body}` | HMAC-SHA256, base64 |
//! | [`dropbox`] | `X-Dropbox-Signature` | body | HMAC-SHA256, hex |
//! | `intercom` (`sha1`) | `X-Hub-Signature: sha1=<hex>` | body | HMAC-SHA1, hex |
//! | `discord` (`ed25519`) | `X-Signature-Ed25519`, `X-Signature-Timestamp` | `{ts}{body}` | Ed25519, hex |
//! | `sendgrid` (`p256`) | `X-Twilio-Email-Event-Webhook-Signature`, `…-Timestamp` | `{ts}{body}` | ECDSA P-256 / SHA-256, base64 DER |
//! | `twilio` (`twilio`) | `X-Twilio-Signature` | public URL, path, query, sorted form parameters | HMAC-SHA1, base64 |
//!
//! Presets marked with a cargo feature exist when it is enabled.
//!
//! Timestamped presets reject a timestamp more than 5 minutes from now, either way
//! ([`HmacScheme::tolerance`] changes it). Every preset takes more secrets for rotation with
//! `also_accept`; the HMAC ones also sign, with [`HmacScheme::sign_message`].
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

#[cfg(feature = "p256")]
use crate::scheme::{EcdsaP256, P256Scheme};
#[cfg(feature = "ed25519")]
use crate::scheme::{Ed25519, Ed25519Scheme};
#[cfg(feature = "twilio")]
use crate::scheme::{InvalidUrl, TwilioScheme};
use crate::{
    allowlist::IpAllowlist,
    keys::{IntoKeys, KeySlot},
    scheme::{Algorithm, Encoding, Hmac, HmacScheme, InvalidKey, SignatureFormat, SignatureScheme},
};

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
pub fn loopwise(secret: impl IntoKeys) -> HmacScheme {
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
pub fn loop_returns(secret: impl IntoKeys) -> HmacScheme {
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
pub fn github(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-hub-signature-256")
        .prefix("sha256=")
        .event_id_header("x-github-delivery")
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
pub fn shopify(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-shopify-hmac-sha256")
        .encoding(Encoding::Base64)
        .event_id_header("x-shopify-webhook-id")
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
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::slack("8f742231b10e8888abcd99yyyzzz85a5"));
/// ```
#[must_use]
pub fn slack(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-slack-signature")
        .prefix("v0=")
        .timestamp_header("x-slack-request-timestamp")
        .signed_payload("v0:{timestamp}:{body}")
        .event_id_field("event_id")
        .named("slack")
}

/// Standard Webhooks (and Svix): `webhook-signature: v1,<base64> [v1,<base64> …]` over
/// `{webhook-id}.{webhook-timestamp}.{body}`; the `svix-id`, `svix-timestamp` and
/// `svix-signature` names are read when the `webhook-*` ones are absent.
///
/// The secret is given as the sender shows it, `whsec_` followed by base64 (the prefix is
/// optional, as in the reference implementation), and the decoded bytes are the key. Other
/// versions are ignored; `standard_webhooks_v1a` (feature `ed25519`) verifies the asymmetric `v1a`.
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
    .map_err(|_| InvalidSecret)?;
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
/// Zoom's one-time `endpoint.url_validation` challenge is a normal signed request; answer it
/// in the handler.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::zoom("zoom secret token"));
/// ```
#[must_use]
pub fn zoom(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-zm-signature")
        .prefix("v0=")
        .timestamp_header("x-zm-request-timestamp")
        .signed_payload("v0:{timestamp}:{body}")
        .event_id_fields(["event", "event_ts"])
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
pub fn linear(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("linear-signature")
        .event_id_header("linear-delivery")
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
pub fn square(secret: impl IntoKeys, notification_url: impl Into<String>) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-square-hmacsha256-signature")
        .encoding(Encoding::Base64)
        .signed_literal_then_body(notification_url.into())
        .named("square")
}

/// Dropbox: `X-Dropbox-Signature`, hex HMAC-SHA256 of the raw body under the app secret.
///
/// Dropbox first checks the endpoint with an unsigned `GET ?challenge=…`, which the handler
/// echoes: put the layer on the `POST` route only, or the challenge is refused with 401.
///
/// ```
/// use axum::{routing::{get, post}, Router};
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// async fn challenge() -> &'static str { "…" }
/// async fn notify() {}
///
/// let app: Router = Router::new().route(
///     "/webhooks/dropbox",
///     get(challenge).merge(
///         post(notify).layer(WebhookSignatureLayer::new(presets::dropbox("app secret"))),
///     ),
/// );
/// ```
#[must_use]
pub fn dropbox(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-dropbox-signature")
        .named("dropbox")
}

/// Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body under the app's
/// client secret.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::intercom("client secret"));
/// ```
#[cfg(feature = "sha1")]
#[cfg_attr(docsrs, doc(cfg(feature = "sha1")))]
#[must_use]
pub fn intercom(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha1(secret)
        .header("x-hub-signature")
        .prefix("sha1=")
        .named("intercom")
}

/// Discord (interactions and webhook events): `X-Signature-Ed25519`, the hex Ed25519
/// signature of `X-Signature-Timestamp` followed by the raw body, under the application's
/// public key (hex, from the developer portal).
///
/// Timestamps more than 5 minutes from now are refused, as for every timestamped preset.
/// Discord checks the endpoint with a signed `PING` and with deliberately bad signatures,
/// which the layer answers with 401 as Discord expects; the handler answers the `PING`.
///
/// # Errors
///
/// [`InvalidKey`] if the key is not 64 hex digits or not a usable Ed25519 public key.
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
    let parse = |hex_text: &[u8]| {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_text.trim_ascii(), &mut key)
            .map_err(|_| InvalidKey::expected("64 hex digits (32 bytes)"))?;
        Ed25519::from_raw(&key)
    };
    Ok(Ed25519Scheme::ed25519_parsed(public_key_hex, parse)?
        .header("x-signature-ed25519")
        .timestamp_header("x-signature-timestamp")
        .signed_payload("{timestamp}{body}")
        .event_id_field("id")
        .named("discord"))
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

/// Twilio (voice, messaging and other webhooks): `X-Twilio-Signature`, base64 HMAC-SHA1 of
/// the URL Twilio called and the sorted form parameters, or of the URL with its
/// `bodySHA256` parameter for JSON bodies. See [`TwilioScheme`] for what is covered and how.
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
