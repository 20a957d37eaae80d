//! [`Algorithm`]: how a [`SignatureScheme`](super::SignatureScheme) checks the signed bytes,
//! sealed; one file per algorithm below it (HMAC, Ed25519, ECDSA P-256).

#[cfg(feature = "ed25519")]
pub(super) mod ed25519;
pub(super) mod hmac;
#[cfg(feature = "p256")]
pub(super) mod p256;

use crate::keys::KeySet;
#[cfg(any(feature = "ed25519", feature = "p256"))]
use crate::scheme::envelope::encoding::Tag;

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

/// `tags` sorted, the first apart: the same names in the same order whatever order the
/// signatures came in.
#[cfg(any(feature = "ed25519", feature = "p256"))]
pub(crate) fn sorted_names(
    mut tags: Vec<Tag>,
) -> Result<(Tag, Vec<Tag>), crate::rejection::Rejection> {
    tags.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
    let mut tags = tags.into_iter();
    let first = tags
        .next()
        .ok_or(crate::rejection::Rejection::InvalidSignature)?;
    Ok((first, tags.collect()))
}

pub(crate) mod sealed {
    use crate::{rejection::Rejection, scheme::envelope::encoding::Tag};

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
        /// Finished where the state lies, which is spent after.
        fn finish(state: &mut Self::State) -> Result<(usize, Tag), Rejection>;

        /// As [`finish`](Self::finish), but naming the delivery by what the signed bytes
        /// are under *every* key, not by the signature that happened to verify: which key
        /// index verified, the name under the first key, and the names under the others in
        /// key order. A sender that signs with each secret while one is rotated sends one
        /// delivery; a captured copy resent with some signatures dropped or reordered must
        /// keep its name. Algorithms that cannot compute a signature under a key they only
        /// verify with (public keys) name it by the verified signature alone.
        fn finish_named(state: &mut Self::State) -> Result<(usize, Tag, Vec<Tag>), Rejection> {
            let (index, tag) = Self::finish(state)?;
            Ok((index, tag, Vec::new()))
        }

        /// A tag per key, which only that key makes, naming the keys a request was verified
        /// with whatever name they were found under; empty for algorithms that do not MAC.
        fn scope_tags(&self) -> Option<std::sync::Arc<[Tag]>> {
            None
        }

        /// `message` MACed under the key at `index`, for a handshake answered with a MAC
        /// (Zoom's); `None` for algorithms that do not MAC.
        fn mac_under(&self, index: usize, message: &[u8]) -> Option<Tag> {
            let _ = (index, message);
            None
        }
    }
}
