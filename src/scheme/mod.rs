//! What is signed and how: the [`Scheme`] and [`Verifier`] traits, and [`SignatureScheme`]
//! with its [`Algorithm`]s.
//!
//! A scheme looks at the request head before any body byte is read and either rejects it
//! (missing or malformed signature, and later stale timestamp) or returns a [`Verifier`]. The
//! verifier is fed the body frame by frame as it arrives, so the verdict is ready when the last
//! byte is, and then given the whole buffered body once, for algorithms that cannot stream.
//! Whatever a scheme signs before the body (a timestamp, an id) it feeds to its verifier when it
//! creates it.

#[cfg(feature = "ed25519")]
mod ed25519;
mod format;
mod hmac;
#[cfg(feature = "p256")]
mod p256;
mod payload;
mod signature;
#[cfg(feature = "twilio")]
mod twilio;

use http::request::Parts;

#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub use self::ed25519::{Ed25519, Ed25519Scheme};
#[cfg(feature = "p256")]
#[cfg_attr(docsrs, doc(cfg(feature = "p256")))]
pub use self::p256::{EcdsaP256, P256Scheme};
#[cfg(feature = "twilio")]
#[cfg_attr(docsrs, doc(cfg(feature = "twilio")))]
pub use self::twilio::{InvalidUrl, TwilioScheme, TwilioVerifier};

pub use self::{
    format::SignatureFormat,
    hmac::{Hmac, HmacScheme, HmacVerifier, Message},
    signature::{
        Algorithm, Encoding, InvalidKey, SignatureScheme, SignatureVerifier, DEFAULT_TOLERANCE,
    },
};
use crate::Rejection;

/// A way webhooks are signed: which header(s), which bytes, which algorithm, which secret(s).
///
/// [`HmacScheme`] covers the usual "HMAC of the raw body in a header" senders; implement this
/// trait for anything else.
///
/// # Example
///
/// A scheme that accepts a request when a header carries a fixed token. (Use a real signature
/// scheme in production; this only shows the shape of the trait.)
///
/// ```
/// use http::request::Parts;
/// use subtle::ConstantTimeEq;
/// use tower_webhook::{Rejection, Scheme, Verified, Verifier};
///
/// struct SharedToken(&'static [u8]);
///
/// struct TokenOk;
///
/// impl Verifier for TokenOk {
///     fn update(&mut self, _chunk: &[u8]) {}
///     fn finish(self, _body: &[u8]) -> Result<Verified, Rejection> {
///         Ok(Verified::new(0))
///     }
/// }
///
/// impl Scheme for SharedToken {
///     type Verifier = TokenOk;
///
///     fn name(&self) -> &str {
///         "shared-token"
///     }
///
///     fn verifier(&self, request: &Parts) -> Result<TokenOk, Rejection> {
///         let token = request.headers.get("x-token").ok_or(Rejection::MissingSignature)?;
///         if bool::from(token.as_bytes().ct_eq(self.0)) {
///             Ok(TokenOk)
///         } else {
///             Err(Rejection::InvalidSignature)
///         }
///     }
/// }
///
/// let layer = tower_webhook::WebhookSignatureLayer::new(SharedToken(b"s3cr3t"));
/// ```
pub trait Scheme: Send + Sync + 'static {
    /// The per-request state that checks the body.
    type Verifier: Verifier;

    /// A short name for the scheme (`"loopwise"`, `"hmac-sha256"`), used in `tracing` events.
    fn name(&self) -> &str;

    /// Checks the request head and starts verifying its body.
    ///
    /// Called before any body byte is read. Return a rejection for anything the head alone
    /// decides: a missing or malformed signature header, a timestamp outside the window.
    fn verifier(&self, request: &Parts) -> Result<Self::Verifier, Rejection>;
}

/// The per-request half of a [`Scheme`]: fed the body as it arrives, then asked for a verdict.
///
/// See [`Scheme`] for an example.
pub trait Verifier: Send + 'static {
    /// Feeds the next piece of the body, in order. Called once per non-empty frame.
    fn update(&mut self, chunk: &[u8]);

    /// The verdict, once the whole body has been fed.
    ///
    /// `body` is the whole body, exactly the bytes that were fed, for algorithms that cannot
    /// stream; streaming verifiers ignore it. Return [`Rejection::InvalidSignature`] when the
    /// signature does not match, and compare in constant time.
    fn finish(self, body: &[u8]) -> Result<Verified, Rejection>;
}

/// Proof that a request's signature was verified, inserted into its extensions before the
/// inner service sees it.
///
/// Handlers can take it as an extractor (`Extension<Verified>` in axum) to make sure they sit
/// behind the layer.
///
/// ```
/// use tower_webhook::{DeliveryId, Verified};
///
/// let verified = Verified::new(0).with_delivery_id(DeliveryId::derive("acme", b"evt_123"));
/// assert_eq!(verified.key_index(), 0);
/// assert!(verified.delivery_id().is_some());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Verified {
    key_index: usize,
    delivery: Option<Delivery>,
}

/// What names a verified request's delivery, kept as it came so the digest is computed only
/// if something asks for it (a replay guard), not on every request.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Delivery {
    /// Already a digest: given by a custom scheme, or a signed message id.
    Id(DeliveryId),
    /// A verified signature in canonical form, within the scheme named here.
    Signature {
        namespace: std::borrow::Cow<'static, str>,
        signature: signature::Tag,
    },
}

impl Verified {
    /// A marker saying the key at `key_index` (in the order the scheme was given its keys)
    /// verified the request.
    #[must_use]
    pub fn new(key_index: usize) -> Self {
        Self {
            key_index,
            delivery: None,
        }
    }

    /// The same marker, naming the delivery (for a [`ReplayGuard`](crate::ReplayGuardLayer)).
    #[must_use]
    pub fn with_delivery_id(mut self, id: DeliveryId) -> Self {
        self.delivery = Some(Delivery::Id(id));
        self
    }

    /// The same marker, naming the delivery by the canonical `signature` that verified it,
    /// within `namespace`: [`DeliveryId::derive`]`(namespace, signature)`, when asked for.
    pub(crate) fn with_signature(
        mut self,
        namespace: std::borrow::Cow<'static, str>,
        signature: signature::Tag,
    ) -> Self {
        self.delivery = Some(Delivery::Signature {
            namespace,
            signature,
        });
        self
    }

    /// Which of the scheme's keys verified the request, counting from 0. Never the key.
    #[must_use]
    pub fn key_index(&self) -> usize {
        self.key_index
    }

    /// What identifies this delivery, the same for a retry or a replay of it: the sender's
    /// message id where the scheme signs one (Standard Webhooks' `webhook-id`), otherwise the
    /// verified signature, which differs for every body and timestamp. Every scheme in this
    /// crate sets it; a custom [`Scheme`] may.
    #[must_use]
    pub fn delivery_id(&self) -> Option<DeliveryId> {
        match self.delivery.as_ref()? {
            Delivery::Id(id) => Some(*id),
            Delivery::Signature {
                namespace,
                signature,
            } => Some(DeliveryId::derive(namespace, signature.as_slice())),
        }
    }
}

impl std::fmt::Debug for Verified {
    /// The key index and the delivery's digest, never the signature itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("key_index", &self.key_index)
            .field("delivery_id", &self.delivery_id())
            .finish()
    }
}

/// A delivery's identity: a SHA-256 digest, so ids and signatures of any length key a store
/// the same way, and what they were made from is not kept.
///
/// ```
/// use tower_webhook::DeliveryId;
///
/// let id = DeliveryId::derive("standard_webhooks", b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
/// assert_eq!(id, DeliveryId::derive("standard_webhooks", b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
/// assert_ne!(id, DeliveryId::derive("stripe", b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
/// assert_eq!(id.to_string().len(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryId([u8; 32]);

impl DeliveryId {
    /// The id of the delivery that `material` (a message id, a verified signature) names,
    /// within `namespace` (the scheme's name), so two senders never share ids.
    #[must_use]
    pub fn derive(namespace: &str, material: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update((namespace.len() as u64).to_be_bytes());
        hash.update(namespace.as_bytes());
        hash.update(material);
        Self(hash.finalize().into())
    }

    /// The digest's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Display for DeliveryId {
    /// Lowercase hex, 64 characters.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeliveryId({self})")
    }
}
