//! [`Verified`]: what the layer tells the inner service about a request it verified, and
//! [`DeliveryId`], the name of that delivery for a replay guard.

use std::{borrow::Cow, sync::Arc};

use super::encoding::Tag;

/// Proof that a request's signature was verified, inserted into its extensions before the
/// inner service sees it.
///
/// Handlers can take it as an extractor (`Extension<Verified>` in axum) to make sure they sit
/// behind the layer.
///
/// ```
/// use tower_webhook::{scheme::DeliveryId, Verified};
///
/// let verified = Verified::new(0).with_delivery_id(DeliveryId::derive("acme", b"evt_123"));
/// assert_eq!(verified.key_index(), 0);
/// assert!(verified.delivery_id().is_some());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Verified {
    key_index: usize,
    key_id: Option<Arc<str>>,
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
        namespace: Cow<'static, str>,
        signature: Tag,
    },
}

impl Verified {
    /// A marker saying the key at `key_index` (in the order the scheme was given its keys)
    /// verified the request.
    #[must_use]
    pub fn new(key_index: usize) -> Self {
        Self {
            key_index,
            key_id: None,
            delivery: None,
        }
    }

    /// The same marker, saying which name (a tenant, a key id) the keys were resolved under.
    #[must_use]
    pub fn with_key_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.key_id = Some(id.into());
        self
    }

    /// The same marker, naming the delivery (for a [`ReplayGuard`](crate::replay::ReplayGuardLayer)).
    #[must_use]
    pub fn with_delivery_id(mut self, id: DeliveryId) -> Self {
        self.delivery = Some(Delivery::Id(id));
        self
    }

    /// The same marker, naming the delivery by the canonical `signature` that verified it,
    /// within `namespace`: [`DeliveryId::derive`]`(namespace, signature)`, when asked for.
    pub(crate) fn with_signature(mut self, namespace: Cow<'static, str>, signature: Tag) -> Self {
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

    /// The name the keys were found under when they are resolved per request: the tenant or
    /// key id the request named ([`keys`](crate::keys)). `None` for fixed keys.
    ///
    /// ```
    /// use tower_webhook::Verified;
    ///
    /// let verified = Verified::new(1).with_key_id("acct_123");
    /// assert_eq!(verified.key_id(), Some("acct_123"));
    /// assert_eq!(verified.key_index(), 1);
    /// ```
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// What identifies this delivery, the same for a retry or a replay of it: the sender's
    /// message id where the scheme signs one (Standard Webhooks' `webhook-id`), otherwise the
    /// verified signature, which differs for every body and timestamp. Every scheme in this
    /// crate sets it; a custom [`Scheme`](super::Scheme) may.
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
            .field("key_id", &self.key_id)
            .field("delivery_id", &self.delivery_id())
            .finish()
    }
}

/// A delivery's identity: a SHA-256 digest, so ids and signatures of any length key a store
/// the same way, and what they were made from is not kept.
///
/// ```
/// use tower_webhook::scheme::DeliveryId;
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
