//! One function per webhook sender, ready to go, and the same senders as data
//! ([`all`], [`find`], [`by_name`]) for a sender chosen by configuration.
//!
//! [The guide's table](crate::guide::schemes) lists every preset with its headers, signed
//! bytes and algorithm; a test checks it against [`all`]. By what the sender signs:
//!
//! - the raw body alone, with HMAC ([`github`], [`shopify`], [`meta`], [`docusign`], …);
//! - a timestamp (and sometimes an id) with the body ([`stripe`], [`slack`], [`twitch`],
//!   [`box_com`], …), refused more than 5 minutes from now unless the sender says otherwise;
//! - the URL it called with the body ([`square`], [`hubspot`], `twilio`);
//! - Standard Webhooks, under its own name and its senders' ([`standard_webhooks`],
//!   [`clerk`], [`openai`], …);
//! - a public-key signature (`discord`, `sendgrid`, `standard_webhooks_v1a`);
//! - a public-key signature under a key the receiver fetches (`paypal`, `sns`, `plaid`,
//!   `fusionauth_jwks`; features `paypal`, `sns`, `jwt`), and `fusionauth`'s HMAC JWTs;
//! - a signature inside the body, of some of its fields (`mailgun`, `adyen`);
//! - nothing: a shared secret sent as it is ([`gitlab`], [`chargebee`], [`okta`], …), which is
//!   **weaker** (see [`TokenScheme`](crate::scheme::TokenScheme)).
//!
//! Every preset takes its key as [`impl IntoKeys`](crate::keys::IntoKeys), so also a
//! resolver for a key per tenant. The HMAC ones take more secrets for rotation with
//! `also_accept`, and sign with [`HmacScheme::sign_message`](crate::HmacScheme::sign_message).
//!
//! ```
//! use tower_webhook::{presets, WebhookSignatureLayer};
//!
//! let loopwise = WebhookSignatureLayer::new(presets::loopwise("loopwise signing key"));
//! let stripe = WebhookSignatureLayer::new(presets::stripe("whsec_stripe endpoint secret"));
//! let svix = WebhookSignatureLayer::new(presets::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let square = WebhookSignatureLayer::new(presets::square("signature key", "https://example.com/webhooks/square"));
//!
//! // Or chosen by configuration:
//! let chosen = WebhookSignatureLayer::new(presets::by_name("twitch", "subscription secret")?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Adding a sender: its function goes in the file of its kind, its row in `catalog.rs`, its
//! row in the guide's table (`src/guide/schemes.md`) and the README's sender list, and its
//! vector in `tests/vectors/generate_catalog.py`. The tests fail until all of them agree.

mod body;
mod catalog;
#[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
mod fetched;
#[cfg(feature = "json")]
mod in_body;
mod public_key;
mod standard_webhooks;
mod timestamped;
mod token;
mod url;

use std::fmt;

#[cfg(feature = "sha1")]
#[cfg_attr(docsrs, doc(cfg(feature = "sha1")))]
pub use self::body::{intercom, vercel};
#[cfg(feature = "paypal")]
#[cfg_attr(docsrs, doc(cfg(feature = "paypal")))]
pub use self::fetched::paypal;
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
pub use self::fetched::sns;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use self::fetched::{fusionauth, fusionauth_jwks, plaid, PLAID_KEY_ENDPOINT};
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use self::in_body::{adyen, mailgun, microsoft_graph};
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub use self::public_key::discord;
#[cfg(feature = "p256")]
#[cfg_attr(docsrs, doc(cfg(feature = "p256")))]
pub use self::public_key::sendgrid;
#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub use self::standard_webhooks::standard_webhooks_v1a;
#[cfg(feature = "sha1")]
#[cfg_attr(docsrs, doc(cfg(feature = "sha1")))]
pub use self::url::trello;
#[cfg(feature = "twilio")]
#[cfg_attr(docsrs, doc(cfg(feature = "twilio")))]
pub use self::url::twilio;
pub use self::{
    body::{
        airtable, asana, bitbucket, cal_com, coinbase_commerce, docusign, dropbox, forgejo, gitea,
        github, hookdeck, intuit, lemon_squeezy, linear, loop_returns, loopwise, loopwise_ips,
        meta, microsoft_teams, notion, pagerduty, razorpay, sentry, shopify, typeform, woocommerce,
        x, xero, LOOPWISE_IPS,
    },
    catalog::{all, by_name, find, Preset, PresetError, PresetOptions, Strength},
    standard_webhooks::{
        clerk, openai, replicate, resend, standard_webhooks, standard_webhooks_key,
    },
    timestamped::{
        box_com, calendly, elevenlabs, mux, paddle, slack, stripe, twitch, webflow, workos,
        zendesk, zoom,
    },
    token::{chargebee, deepgram, gitlab, okta, postmark, strava},
    url::{hubspot, square},
};

/// The error of a preset whose secret comes encoded ([`standard_webhooks`]'s `whsec_…`,
/// [`airtable`]'s base64): it is not in that form, or is empty.
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
pub struct InvalidSecret {
    sender: &'static str,
    expected: &'static str,
}

impl InvalidSecret {
    pub(crate) fn new(sender: &'static str, expected: &'static str) -> Self {
        Self { sender, expected }
    }

    pub(crate) fn standard_webhooks() -> Self {
        Self::new("Standard Webhooks", "`whsec_` followed by base64")
    }
}

impl fmt::Display for InvalidSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} secret: expected {}",
            self.sender, self.expected
        )
    }
}

impl std::error::Error for InvalidSecret {}
