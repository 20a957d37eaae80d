//! Senders that sign with a private key and publish the key, which the receiver fetches:
//! PayPal and Amazon SNS (certificates named by URL), Plaid and FusionAuth (JWTs).

#[cfg(feature = "paypal")]
use crate::scheme::PayPalScheme;
#[cfg(feature = "sns")]
use crate::scheme::SnsScheme;
#[cfg(feature = "jwt")]
use crate::{
    keys::{Fetcher, IntoKeys},
    scheme::{BodyHash, InvalidKeyUrl, JwtScheme},
};

/// Plaid's production endpoint for webhook verification keys.
#[cfg(feature = "jwt")]
pub const PLAID_KEY_ENDPOINT: &str = "https://production.plaid.com/webhook_verification_key/get";

/// PayPal: `PAYPAL-TRANSMISSION-SIG`, RSA-SHA256 over the transmission id and time, your
/// webhook id and the body's CRC32, under the certificate at `PAYPAL-CERT-URL` (fetched
/// only from PayPal's API hosts, its chain validated). The body is bound only by that
/// checksum: put a replay guard behind it, which then treats a body forged to the same CRC32
/// as a duplicate. See [`PayPalScheme`].
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::paypal("WH-8PT597110X687430LKGECATA"));
/// ```
#[cfg(feature = "paypal")]
#[cfg_attr(docsrs, doc(cfg(feature = "paypal")))]
#[must_use]
pub fn paypal(webhook_id: impl Into<std::sync::Arc<str>>) -> PayPalScheme {
    PayPalScheme::new(webhook_id)
}

/// Amazon SNS (HTTP/S subscriptions) from these topics: RSA (SHA1 or SHA256, by
/// `SignatureVersion`) over the message's canonical fields, under the certificate at
/// `SigningCertURL` (fetched only from `sns.<region>.amazonaws.com`, its chain validated).
/// Subscription confirmations are verified too; see [`SnsScheme`].
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::sns(["arn:aws:sns:us-east-1:123456789012:orders"]));
/// ```
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
#[must_use]
pub fn sns<T: Into<String>>(allowed_topic_arns: impl IntoIterator<Item = T>) -> SnsScheme {
    SnsScheme::new(allowed_topic_arns)
}

/// Plaid: `Plaid-Verification`, an `ES256` JWT whose key Plaid serves by key id (fetched
/// from Plaid's production host with your client id and secret, cached an hour per key);
/// its `request_body_sha256` claim is the body's hex SHA-256, its `iat` must be within 5
/// minutes. For the sandbox, use [`JwtScheme::plaid`] with
/// `https://sandbox.plaid.com/webhook_verification_key/get`.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::plaid("client_id", "secret"));
/// ```
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
#[must_use]
pub fn plaid(client_id: impl Into<String>, secret: impl Into<String>) -> JwtScheme {
    match JwtScheme::plaid(PLAID_KEY_ENDPOINT, Fetcher::new(), client_id, secret) {
        Ok(scheme) => scheme,
        Err(_) => unreachable_endpoint(),
    }
}

#[cfg(feature = "jwt")]
#[expect(clippy::panic, reason = "Plaid's endpoint is a constant https URL")]
fn unreachable_endpoint() -> JwtScheme {
    panic!("tower-webhook: Plaid's key endpoint is not an https URL")
}

/// FusionAuth: `X-FusionAuth-Signature-JWT`, a JWT whose `request_body_sha256` claim is
/// the body's base64 SHA-256, signed with an HMAC key (`HS256`, `HS384`, `HS512`): give
/// that key's secret. For an RSA or EC signing key, use [`fusionauth_jwks`]. FusionAuth's
/// documented JWT carries `request_body_sha256` alone, so no `iat` is required; `exp` and
/// `nbf` are enforced when present. Nothing then dates a delivery: put a replay guard
/// behind it.
///
/// # Panics
///
/// If `secret` is empty.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::fusionauth("hmac key secret"));
/// ```
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
#[must_use]
pub fn fusionauth(secret: impl IntoKeys) -> JwtScheme {
    JwtScheme::hmac("x-fusionauth-signature-jwt", secret)
        .body_hash(BodyHash::Base64)
        .named("fusionauth")
}

/// FusionAuth with an RSA or EC signing key: the JWT's key is taken from your instance's
/// JSON Web Key Set (`https://<your FusionAuth>/.well-known/jwks.json`) by its `kid`,
/// fetched with `fetcher` (`Fetcher::new()` trusts the usual public roots).
///
/// # Errors
///
/// [`InvalidKeyUrl`] unless `jwks_url` is an `https` URL.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::fusionauth_jwks(
///     "https://auth.example.com/.well-known/jwks.json",
///     tower_webhook::keys::Fetcher::new(),
/// )?);
/// # Ok::<(), tower_webhook::scheme::InvalidKeyUrl>(())
/// ```
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub fn fusionauth_jwks(jwks_url: &str, fetcher: Fetcher) -> Result<JwtScheme, InvalidKeyUrl> {
    Ok(
        JwtScheme::jwks("x-fusionauth-signature-jwt", jwks_url, fetcher)?
            .body_hash(BodyHash::Base64)
            .named("fusionauth_jwks"),
    )
}
