//! [`UnsignedScheme`]: for senders that sign nothing (Strava), where only the setup
//! handshake has a secret.

use std::{borrow::Cow, fmt};

use http::request::Parts;
use sha2::{Digest, Sha256};

use crate::{
    rejection::Rejection,
    scheme::{
        envelope::encoding::Tag,
        options::{shared_options, Options},
        Scheme, Spent, Verified, Verifier,
    },
};

/// ⚠ **Verifies nothing**: every request passes, with a [`Verified`] that names the delivery
/// by its body's SHA-256 (so a replay guard behind it drops an exact copy). For senders that
/// sign nothing: Strava's events carry no signature and no secret; only its setup handshake
/// does (a verify token, [`presets::strava`](crate::presets::strava)).
///
/// Anyone who knows the URL can send any body. Keep the URL unguessable, treat each event as
/// a hint (Strava's says "activity 123 changed": fetch activity 123 from Strava's API with your
/// token, never trust the body's data), and put the replay guard behind it.
///
/// ```
/// use tower_webhook::{scheme::UnsignedScheme, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(UnsignedScheme::new().named("strava"));
/// ```
#[derive(Clone)]
pub struct UnsignedScheme {
    options: Options,
}

impl UnsignedScheme {
    /// A scheme that lets every request through, named `unsigned`.
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, UnsignedScheme};
    ///
    /// assert_eq!(UnsignedScheme::new().name(), "unsigned");
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            options: Options::new("unsigned"),
        }
    }

    /// The scheme with its sender's handshake, which the layer answers (presets set theirs).
    #[cfg(feature = "json")]
    pub(crate) fn with_handshake(mut self, handshake: crate::handshake::Handshake) -> Self {
        self.options.set_handshake(handshake);
        self
    }
}

impl Default for UnsignedScheme {
    fn default() -> Self {
        Self::new()
    }
}

shared_options! {
    UnsignedScheme {
        /// Names the scheme in logs, metrics and delivery ids.
        ///
        /// ```
        /// use tower_webhook::scheme::UnsignedScheme;
        ///
        /// let scheme = UnsignedScheme::new().named("strava");
        /// ```
        named;
    }
}

impl Scheme for UnsignedScheme {
    type Verifier = UnsignedVerifier;

    fn name(&self) -> &str {
        self.options.name()
    }

    #[cfg(feature = "json")]
    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        self.options.handshake()
    }

    fn verifier(&self, _request: &Parts) -> Result<UnsignedVerifier, Rejection> {
        Ok(UnsignedVerifier {
            body: Sha256::new(),
            name: self.options.name().clone(),
            spent: Spent::default(),
        })
    }
}

impl fmt::Debug for UnsignedScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsignedScheme")
            .field("name", self.options.name())
            .finish()
    }
}

/// The [`Verifier`] of an [`UnsignedScheme`]: hashes the body to name the delivery.
pub struct UnsignedVerifier {
    body: Sha256,
    name: Cow<'static, str>,
    spent: Spent,
}

impl Verifier for UnsignedVerifier {
    fn update(&mut self, chunk: &[u8]) {
        self.body.update(chunk);
    }

    fn finish(&mut self, _body: &[u8]) -> Result<Verified, Rejection> {
        self.spent.spend()?;
        let digest = Tag::from_slice(&self.body.finalize_reset());
        Ok(Verified::keyed(0, None).with_digest(std::mem::take(&mut self.name), digest))
    }
}

impl fmt::Debug for UnsignedVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsignedVerifier").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first verdict takes the scheme's name into the marker: a second `finish` on the
    /// spent verifier is refused rather than naming the delivery in an empty namespace.
    #[test]
    fn a_spent_verifier_refuses_a_second_finish() {
        let request = http::Request::post("/").body(()).unwrap().into_parts().0;
        let mut verifier = UnsignedScheme::new()
            .named("strava")
            .verifier(&request)
            .unwrap();
        verifier.update(b"{}");
        let first = verifier.finish(b"{}").unwrap();
        let digest = Sha256::digest(b"{}");
        assert_eq!(
            first.delivery_id(),
            Some(crate::scheme::DeliveryId::derive("strava", &digest))
        );
        assert!(matches!(
            verifier.finish(b"{}"),
            Err(Rejection::InvalidSignature)
        ));
    }
}
