//! The sending side: [`WebhookSigningLayer`] signs outgoing requests for any tower HTTP
//! client, as a webhook sender would; [`HmacScheme::sign_message`] gives the headers for one
//! [`Message`].

mod future;
mod layer;
mod message;
mod service;

use http::HeaderMap;

pub use self::{
    future::SigningFuture, layer::WebhookSigningLayer, message::Message, service::WebhookSigning,
};
use crate::scheme::HmacScheme;

/// Produces the signature headers a sender attaches to a request body.
///
/// [`HmacScheme`] (and so every preset) is one: it signs with its first secret, timestamped
/// by its clock, with a fresh message id where the scheme signs one.
///
/// ```
/// use http::HeaderMap;
/// use tower_webhook::{presets, sign::Signer};
///
/// let mut headers = HeaderMap::new();
/// presets::github("It's a Secret to Everybody").sign_headers(b"Hello, World!", &mut headers);
/// assert_eq!(
///     headers["x-hub-signature-256"],
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/// );
/// ```
pub trait Signer: Send + Sync + 'static {
    /// Sets the signature headers for `body` in `headers`, replacing any already there.
    fn sign_headers(&self, body: &[u8], headers: &mut HeaderMap);
}

impl Signer for HmacScheme {
    fn sign_headers(&self, body: &[u8], headers: &mut HeaderMap) {
        let signed = self.sign_message(&Message::new(body));
        for (name, value) in signed {
            if let Some(name) = name {
                headers.insert(name, value);
            }
        }
    }
}
