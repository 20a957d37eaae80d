//! One function per webhook sender: the [`HmacScheme`] that sender uses, ready to go.
//!
//! | preset | header | signed bytes | MAC, encoding |
//! |---|---|---|---|
//! | [`loopwise`] | `Loopwise-Webhook-Signature` | body | HMAC-SHA256, lowercase hex |
//! | [`loop_returns`] | `X-Loop-Signature` | body | HMAC-SHA256, base64 |
//! | [`github`] | `X-Hub-Signature-256: sha256=<hex>` | body | HMAC-SHA256, hex |
//!
//! ```
//! use tower_webhook::{presets, WebhookSignatureLayer};
//!
//! let loopwise = WebhookSignatureLayer::new(presets::loopwise("loopwise signing key"));
//! let loop_returns = WebhookSignatureLayer::new(presets::loop_returns("loop secret"));
//! let github = WebhookSignatureLayer::new(presets::github("github webhook secret"));
//! ```

use crate::{Encoding, HmacScheme, IpAllowlist};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopwise_ips_matches_the_published_constant() {
        assert_eq!(loopwise_ips(), LOOPWISE_IPS.parse().unwrap());
    }
}
