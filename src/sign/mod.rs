//! The sending side: [`Signer::sign_request`] signs one request as its sender would, for
//! every preset a key can sign (also one chosen by name), and [`WebhookSigningLayer`] signs
//! each outgoing request for any tower HTTP client; [`HmacScheme::sign_message`] gives the
//! headers for one [`Message`].
//!
//! Which presets sign, and why the others cannot ([`SignError`]):
//!
//! | presets | sign with [`Signer::sign_request`] |
//! |---|---|
//! | HMAC of the body, timestamped, Standard Webhooks, URL-signing (Square, HubSpot, Twilio) | yes, under their first secret |
//! | shared tokens and HTTP Basic (GitLab, Okta, Chargebee, …) | yes: the token or credentials |
//! | fields of a JSON body (Mailgun, Adyen) | yes: the signature is written into the body |
//! | FusionAuth's HMAC JWT | yes |
//! | public keys (Discord, SendGrid, Standard Webhooks `v1a`) | no: [`SignError::PublicKey`] |
//! | fetched keys (PayPal, Amazon SNS, Plaid, FusionAuth JWKS) | no: [`SignError::FetchedKey`] |
//! | any scheme whose keys are resolved per request | no: [`SignError::ResolvedKeys`] |

mod error;
mod fetched;
mod future;
#[cfg(feature = "json")]
mod in_body;
mod layer;
mod message;
mod service;
mod signature;
mod token;
#[cfg(feature = "twilio")]
mod twilio;

use bytes::Bytes;
use http::{HeaderMap, Request};

pub use self::{
    error::SignError, future::SigningFuture, layer::WebhookSigningLayer, message::Message,
    service::WebhookSigning,
};
#[cfg(doc)]
use crate::scheme::HmacScheme;

/// Signs a request as a webhook sender would: its signature headers (and the timestamp and
/// id where the scheme has them), or for senders that sign inside the body, the body.
///
/// Every preset implements it, also one chosen by name
/// ([`AnyScheme`](crate::scheme::AnyScheme) from [`presets::by_name`](crate::presets::by_name)).
/// Schemes sign with their first secret, timestamped by their clock, with a fresh message id
/// where the scheme signs one unless the request already carries one in the id header.
///
/// ```
/// use bytes::Bytes;
/// use tower_webhook::{presets, sign::Signer};
///
/// let github = presets::by_name("github", "It's a Secret to Everybody")?;
/// let request = http::Request::post("/webhooks/github")
///     .body(Bytes::from_static(b"Hello, World!"))?;
/// let signed = github.sign_request(request)?;
/// assert_eq!(
///     signed.headers()["x-hub-signature-256"],
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Signer: Send + Sync + 'static {
    /// `request`, signed: headers set (replacing any already there), and for senders that
    /// sign fields inside the body (Mailgun, Adyen), the body rewritten with the signature.
    ///
    /// # Errors
    ///
    /// [`SignError`] when the scheme holds no key that signs (a public key, a fetched key,
    /// keys resolved per request) or the request is not one the sender signs.
    fn sign_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, SignError>;
}

/// Sets each of `signed` in `headers`, replacing what was there.
pub(crate) fn set_headers(headers: &mut HeaderMap, signed: HeaderMap) {
    for (name, value) in signed {
        if let Some(name) = name {
            headers.insert(name, value);
        }
    }
}
