//! Senders that sign the raw body alone with HMAC, in a header: the simplest scheme, and
//! the most common.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine as _};

use super::InvalidSecret;
use crate::{
    allowlist::IpAllowlist,
    keys::{IntoKeys, KeySlot},
    scheme::{BodyTimestamp, Encoding, Hmac, HmacScheme, InvalidKey, SignatureFormat},
};

/// The address Loopwise sends webhooks from, which Loopwise recommends allowlisting.
pub const LOOPWISE_IPS: &str = "52.194.91.27";

/// Loopwise: lowercase hex HMAC-SHA256 of the raw body in `Loopwise-Webhook-Signature`.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
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
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
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
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
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
/// client secret. Shopify's newer deliveries (and its libraries, `@shopify/shopify-api`'s
/// `WEBHOOK_HEADER_NAMES`) use lowercase names without the `X-`: `shopify-hmac-sha256` is
/// read when `X-Shopify-Hmac-Sha256` is absent, and a delivery is named by
/// `X-Shopify-Webhook-Id`, or else `shopify-webhook-id`. Signing writes the `X-Shopify-*`
/// name, which every Shopify library reads.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
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
        .signature_fallback("shopify-hmac-sha256")
        .encoding(Encoding::Base64)
        .event_id_header("x-shopify-webhook-id")
        .event_id_header_fallback("shopify-webhook-id")
        .named("shopify")
}

/// Linear: `Linear-Signature`, hex HMAC-SHA256 of the raw body. A delivery is named by
/// `Linear-Delivery`.
///
/// Linear signs its send time inside the body, `webhookTimestamp` (milliseconds since the
/// Unix epoch). Once the signature verifies, the delivery is refused, as Linear's SDK
/// (`@linear/sdk`'s `LinearWebhookClient`) refuses it, when that timestamp is more than 60
/// seconds from now either way (`401`, timestamp outside the tolerance), or missing, or not
/// a number (`401`, invalid timestamp); the unsigned `Linear-Timestamp` header is not
/// trusted. [`tolerance`](HmacScheme::tolerance) changes the window. Reading the field
/// needs the `json` feature (on by default); **without it the timestamp is not checked**.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
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
        .body_timestamp(BodyTimestamp {
            field: "webhookTimestamp".into(),
        })
        .tolerance(Duration::from_secs(60))
        .named("linear")
}

/// Dropbox: `X-Dropbox-Signature`, hex HMAC-SHA256 of the raw body under the app secret.
///
/// Dropbox first checks the endpoint with an unsigned `GET ?challenge=…`: the layer answers
/// it ([`Handshake::dropbox`](crate::handshake::Handshake::dropbox)).
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
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
    let scheme = HmacScheme::sha256(secret)
        .header("x-dropbox-signature")
        .named("dropbox");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::dropbox());
    scheme
}

/// Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body under the app's
/// client secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
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

/// Meta (Facebook, Instagram, WhatsApp, Messenger): `X-Hub-Signature-256: sha256=<hex>`,
/// HMAC-SHA256 of the raw body under the app secret.
///
/// Meta's `GET` verification request (`hub.challenge`) is unsigned: the layer answers it once
/// it has your verify token, `.handshake(Handshake::meta(verify_token))` on the layer
/// ([`Handshake::meta`](crate::handshake::Handshake::meta)); until then it refuses it (403).
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::meta("app secret"));
/// ```
#[must_use]
pub fn meta(secret: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(secret)
        .header("x-hub-signature-256")
        .prefix("sha256=")
        .named("meta");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::meta_unset());
    scheme
}

/// Vercel: `x-vercel-signature`, hex HMAC-SHA1 of the raw body under the webhook's secret
/// (or the integration's client secret).
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::vercel("webhook secret"));
/// ```
#[cfg(feature = "sha1")]
#[cfg_attr(docsrs, doc(cfg(feature = "sha1")))]
#[must_use]
pub fn vercel(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha1(secret)
        .header("x-vercel-signature")
        .named("vercel")
}

/// WooCommerce: `X-WC-Webhook-Signature`, base64 HMAC-SHA256 of the raw body under the
/// webhook's secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::woocommerce("webhook secret"));
/// ```
#[must_use]
pub fn woocommerce(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-wc-webhook-signature")
        .encoding(Encoding::Base64)
        .named("woocommerce")
}

/// Typeform: `Typeform-Signature: sha256=<base64>`, HMAC-SHA256 of the raw body under the
/// webhook's secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::typeform("webhook secret"));
/// ```
#[must_use]
pub fn typeform(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("typeform-signature")
        .prefix("sha256=")
        .encoding(Encoding::Base64)
        .named("typeform")
}

/// Lemon Squeezy: `X-Signature`, hex HMAC-SHA256 of the raw body under the webhook's
/// signing secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::lemon_squeezy("signing secret"));
/// ```
#[must_use]
pub fn lemon_squeezy(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-signature")
        .named("lemon_squeezy")
}

/// Sentry (integration platform): `Sentry-Hook-Signature`, hex HMAC-SHA256 of the raw body
/// under the integration's client secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::sentry("client secret"));
/// ```
#[must_use]
pub fn sentry(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("sentry-hook-signature")
        .named("sentry")
}

/// Coinbase Commerce: `X-CC-Webhook-Signature`, hex HMAC-SHA256 of the raw body under the
/// shared secret from the webhook settings.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::coinbase_commerce("shared secret"));
/// ```
#[must_use]
pub fn coinbase_commerce(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-cc-webhook-signature")
        .named("coinbase_commerce")
}

/// Razorpay: `X-Razorpay-Signature`, hex HMAC-SHA256 of the raw body under the webhook
/// secret. A delivery is named by `x-razorpay-event-id`.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::razorpay("webhook secret"));
/// ```
#[must_use]
pub fn razorpay(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-razorpay-signature")
        .event_id_header("x-razorpay-event-id")
        .named("razorpay")
}

/// PagerDuty (v3 webhooks): `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of
/// the raw body under the subscription's secret. Any `v1` may match: PagerDuty sends one per
/// secret while one is rotated.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::pagerduty("subscription secret"));
/// ```
#[must_use]
pub fn pagerduty(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-pagerduty-signature")
        .signature_format(SignatureFormat::Pairs {
            separator: ',',
            timestamp_key: "".into(),
            signature_key: "v1".into(),
        })
        .named("pagerduty")
}

/// Airtable: `X-Airtable-Content-MAC: hmac-sha256=<hex>`, HMAC-SHA256 of the raw body under
/// the webhook's MAC secret, which Airtable gives as base64 (`macSecretBase64`) and which is
/// decoded here.
///
/// # Errors
///
/// [`InvalidSecret`] if the secret is not base64, or is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::airtable("c2VjcmV0IG1hYyBrZXk=")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn airtable(mac_secret_base64: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    let keys = KeySlot::new(mac_secret_base64.into_keys(), |text| {
        let key = STANDARD
            .decode(text.trim_ascii())
            .map_err(|_| InvalidKey::expected("the base64 MAC secret"))?;
        Hmac::sha256(&key)
    })
    .map_err(|_| InvalidSecret::new("Airtable", "the webhook's base64 `macSecretBase64`"))?;
    Ok(HmacScheme::with_keys(keys, "hmac-sha256")
        .header("x-airtable-content-mac")
        .prefix("hmac-sha256=")
        .named("airtable"))
}

/// Bitbucket Cloud: `X-Hub-Signature: sha256=<hex>`, HMAC-SHA256 of the raw body under the
/// webhook's secret.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::bitbucket("webhook secret"));
/// ```
#[must_use]
pub fn bitbucket(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-hub-signature")
        .prefix("sha256=")
        .named("bitbucket")
}

/// Gitea: `X-Gitea-Signature`, hex HMAC-SHA256 of the raw body under the webhook's secret;
/// `X-Forgejo-Signature` is read when it is absent, so a Gitea instance migrated to Forgejo
/// keeps working. A delivery is named by `X-Gitea-Delivery`.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::gitea("webhook secret"));
/// ```
#[must_use]
pub fn gitea(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-gitea-signature")
        .signature_fallback("x-forgejo-signature")
        .event_id_header("x-gitea-delivery")
        .named("gitea")
}

/// Forgejo (and Codeberg): `X-Forgejo-Signature`, hex HMAC-SHA256 of the raw body under the
/// webhook's secret; `X-Gitea-Signature`, which Forgejo also sends, is read when it is
/// absent. A delivery is named by `X-Forgejo-Delivery`.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::forgejo("webhook secret"));
/// ```
#[must_use]
pub fn forgejo(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-forgejo-signature")
        .signature_fallback("x-gitea-signature")
        .event_id_header("x-forgejo-delivery")
        .named("forgejo")
}

/// Notion: `X-Notion-Signature: sha256=<hex>`, HMAC-SHA256 of the raw body under the
/// subscription's `verification_token`.
///
/// Notion first sends that token in an unsigned request: take it from there once (in a
/// handler without the layer), then configure it here.
///
/// # Panics
///
/// If `verification_token` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::notion("secret_verification_token"));
/// ```
#[must_use]
pub fn notion(verification_token: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(verification_token)
        .header("x-notion-signature")
        .prefix("sha256=")
        .named("notion");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::notion_unset());
    scheme
}

/// Cal.com: `X-Cal-Signature-256`, hex HMAC-SHA256 of the raw body under the webhook's
/// secret. Cal.com writes the bare hex; the same value after `sha256=`, as some relays and
/// self-hosted forks write it, is accepted too.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::cal_com("webhook secret"));
/// ```
#[must_use]
pub fn cal_com(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-cal-signature-256")
        .optional_prefix("sha256=")
        .named("cal_com")
}

/// Xero: `x-xero-signature`, base64 HMAC-SHA256 of the raw body under the webhook key.
///
/// Xero's "intent to receive" check sends correctly and incorrectly signed requests and
/// expects `200` and `401`: the layer answers the bad ones as Xero expects.
///
/// # Panics
///
/// If `webhook_key` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::xero("webhook key"));
/// ```
#[must_use]
pub fn xero(webhook_key: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(webhook_key)
        .header("x-xero-signature")
        .encoding(Encoding::Base64)
        .named("xero");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::xero());
    scheme
}

/// Intuit (QuickBooks Online): `intuit-signature`, base64 HMAC-SHA256 of the raw body under
/// the app's webhook verifier token.
///
/// # Panics
///
/// If `verifier_token` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::intuit("verifier token"));
/// ```
#[must_use]
pub fn intuit(verifier_token: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(verifier_token)
        .header("intuit-signature")
        .encoding(Encoding::Base64)
        .named("intuit")
}

/// DocuSign Connect: `X-DocuSign-Signature-1`, `-2`, … (one per active Connect HMAC key,
/// read in order until one is absent, up to the 100 keys DocuSign allows), base64
/// HMAC-SHA256 of the raw body. The request passes if any configured key verifies any of
/// them; give every key you keep active with `also_accept`.
///
/// # Panics
///
/// If `secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::docusign("connect key 1").also_accept("connect key 2"));
/// ```
#[must_use]
pub fn docusign(secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(secret)
        .header("x-docusign-signature-1")
        .more_signature_headers(
            (2..=DOCUSIGN_MAX_KEYS).map(|n| format!("x-docusign-signature-{n}")),
        )
        .encoding(Encoding::Base64)
        .named("docusign")
}

/// The most Connect HMAC keys DocuSign lets an account keep, each signing in its own header.
const DOCUSIGN_MAX_KEYS: usize = 100;

/// Asana: `X-Hook-Signature`, lowercase hex HMAC-SHA256 of the raw body under the webhook's
/// secret: the `X-Hook-Secret` Asana sends once, in the handshake that creates the webhook.
///
/// The handshake request carries no signature: the layer answers it once a sink keeps its
/// secret, `.handshake(Handshake::asana(sink))` on the layer
/// ([`Handshake::asana`](crate::handshake::Handshake::asana)); until then it refuses it (403).
///
/// # Panics
///
/// If `hook_secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::asana("b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"));
/// ```
#[must_use]
pub fn asana(hook_secret: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(hook_secret)
        .header("x-hook-signature")
        .named("asana");
    #[cfg(feature = "json")]
    let scheme = scheme.with_handshake(crate::handshake::Handshake::asana_unset());
    scheme
}

/// Microsoft Teams outgoing webhooks: `Authorization: HMAC <base64>`, HMAC-SHA256 of the
/// raw body under the security token Teams shows when the webhook is created, which is
/// base64 and decoded here.
///
/// # Errors
///
/// [`InvalidSecret`] if the security token is not base64, or is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::microsoft_teams("vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=")?);
/// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
/// ```
pub fn microsoft_teams(security_token: impl IntoKeys) -> Result<HmacScheme, InvalidSecret> {
    let keys = KeySlot::new(security_token.into_keys(), |text| {
        let key = STANDARD
            .decode(text.trim_ascii())
            .map_err(|_| InvalidKey::expected("the base64 security token"))?;
        Hmac::sha256(&key)
    })
    .map_err(|_| {
        InvalidSecret::new(
            "Microsoft Teams",
            "the outgoing webhook's base64 security token",
        )
    })?;
    Ok(HmacScheme::with_keys(keys, "hmac-sha256")
        .header("authorization")
        .authorization_prefix("HMAC ")
        .encoding(Encoding::Base64)
        .named("microsoft_teams"))
}

/// X (Twitter) Account Activity and other X webhooks: `x-twitter-webhooks-signature:
/// sha256=<base64>`, HMAC-SHA256 of the raw body under the app's consumer secret.
///
/// **A verified body that is not a JSON object is refused** (`401`, malformed signature):
/// X answers its challenge-response check (CRC, a `GET` with `crc_token`) with
/// `sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>`, the same key and construction
/// as a delivery's signature. An endpoint that answers a challenge for any token signs
/// whatever it is asked to, and that answer would verify here as a delivery of that token.
/// X only ever delivers JSON objects; a CRC handler must still refuse tokens that are one
/// (that start with `{`), or better, anything but the short tokens X sends.
///
/// # Panics
///
/// If `consumer_secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::x("consumer secret"));
/// ```
#[must_use]
pub fn x(consumer_secret: impl IntoKeys) -> HmacScheme {
    let scheme = HmacScheme::sha256(consumer_secret)
        .header("x-twitter-webhooks-signature")
        .prefix("sha256=")
        .encoding(Encoding::Base64)
        .json_object_body()
        .named("x");
    #[cfg(feature = "json")]
    let scheme = {
        let crc = crate::handshake::Handshake::x(scheme.keys.fixed().cloned());
        scheme.with_handshake(crc)
    };
    scheme
}

/// Hookdeck, for requests it forwards: `x-hookdeck-signature`, base64 HMAC-SHA256 of the
/// raw body under the project's signing secret. While that secret is rolled, Hookdeck also
/// signs with the previous one in `x-hookdeck-signature-2`: either may match (give the new
/// secret with `also_accept` until the old one expires). A delivery is named by
/// `x-hookdeck-eventid`, the same on every attempt.
///
/// Hookdeck verifies the original sender's signature itself (and says so in the unsigned
/// `x-hookdeck-verified` header); this checks only Hookdeck's.
///
/// # Panics
///
/// If `signing_secret` is empty (most likely an unset environment variable);
/// [`by_name`](super::by_name) returns an error instead.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::hookdeck("project signing secret"));
/// ```
#[must_use]
pub fn hookdeck(signing_secret: impl IntoKeys) -> HmacScheme {
    HmacScheme::sha256(signing_secret)
        .header("x-hookdeck-signature")
        .more_signature_headers(["x-hookdeck-signature-2"])
        .encoding(Encoding::Base64)
        .event_id_header("x-hookdeck-eventid")
        .named("hookdeck")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopwise_ips_matches_the_published_constant() {
        assert_eq!(loopwise_ips(), LOOPWISE_IPS.parse().unwrap());
    }

    #[test]
    fn microsoft_teams_token_must_be_base64() {
        assert!(microsoft_teams("vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=").is_ok());
        assert!(microsoft_teams("not base64!").is_err());
        assert!(microsoft_teams("").is_err());
    }

    #[test]
    fn airtable_secret_must_be_base64() {
        assert!(airtable("c2VjcmV0").is_ok());
        assert!(airtable("not base64!").is_err());
        assert!(airtable("").is_err());
    }
}
