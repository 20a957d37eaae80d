//! [`Algorithm`]: how a [`SignatureScheme`](super::SignatureScheme) checks the signed bytes,
//! sealed; and [`InvalidKey`], the error of a key no algorithm can use.

use std::fmt;

use crate::keys::KeySet;

/// How a [`SignatureScheme`](super::SignatureScheme) checks the signed bytes: [`Hmac`](crate::scheme::Hmac) (shared secrets),
/// `Ed25519` and `EcdsaP256` (public keys, behind the `ed25519` and `p256` features).
///
/// Every algorithm takes the signed bytes as a stream: the signed prefix (timestamp, id) when
/// the request head arrives, then each body frame, so none needs the body buffered twice.
/// The trait is sealed; a sender no algorithm here covers is a [`Scheme`](super::Scheme) implementation.
pub trait Algorithm: sealed::Algorithm {}

impl<A: sealed::Algorithm> Algorithm for A {}

impl<A: sealed::Algorithm> KeySet for A {
    fn merge(&mut self, other: Self) {
        sealed::Algorithm::merge(self, other);
    }
}

/// The most distinct signatures a request may claim under a public-key algorithm. Each one
/// costs a verification per key (for Ed25519, also a hash of the whole body), and senders
/// send one per signing key: one, two while rotating (Standard Webhooks' `v1a`), never more
/// than a few.
#[cfg(any(feature = "ed25519", feature = "p256"))]
pub(crate) const MAX_PUBLIC_KEY_SIGNATURES: usize = 4;

pub(crate) mod sealed {
    use crate::{rejection::Rejection, scheme::encoding::Tag};

    /// The algorithm's half of verifying, hidden from the public API.
    pub trait Algorithm: Clone + std::fmt::Debug + Send + Sync + 'static {
        /// The per-request state: the running hash or MAC and the claimed signatures.
        type State: Send + 'static;

        /// The most distinct signatures a request may claim: each one costs a verification
        /// per key, so more are refused before the body is read.
        const MAX_CLAIMED: usize;

        /// Appends `other`'s keys after this set's, tried in that order.
        fn merge(&mut self, other: Self);

        /// Starts checking `claimed` (decoded, at least one): a wrong length or shape is
        /// [`Rejection::MalformedSignature`].
        fn start(&self, claimed: Vec<Tag>) -> Result<Self::State, Rejection>;

        /// [`start`](Self::start) with the one signature a request almost always claims; an
        /// algorithm may hold it without allocating a list.
        fn start_one(&self, claimed: Tag) -> Result<Self::State, Rejection> {
            self.start(vec![claimed])
        }

        /// Feeds the next signed bytes.
        fn update(state: &mut Self::State, data: &[u8]);

        /// Which key verified a claimed signature over everything fed, and that signature in
        /// a canonical form (one encoding per valid signature), to identify the delivery.
        fn finish(state: Self::State) -> Result<(usize, Tag), Rejection>;
    }
}

/// A key that cannot verify anything: not the expected encoding, length or curve point.
///
/// Returned when a scheme is built, so a bad key stops the service at start-up rather than
/// rejecting every webhook later.
///
/// ```
/// # #[cfg(feature = "ed25519")] {
/// let err = tower_webhook::presets::discord("not hex").unwrap_err();
/// assert_eq!(err.to_string(), "invalid key: expected 64 hex digits (32 bytes)");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidKey {
    expected: &'static str,
}

impl InvalidKey {
    pub(crate) fn expected(expected: &'static str) -> Self {
        Self { expected }
    }
}

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid key: expected {}", self.expected)
    }
}

impl std::error::Error for InvalidKey {}
