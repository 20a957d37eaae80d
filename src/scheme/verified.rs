//! [`Verified`]: what the layer tells the inner service about a request it verified, and
//! [`DeliveryId`], the name of that delivery for a replay guard.

use std::{borrow::Cow, sync::Arc};

use bytes::Bytes;
use http::HeaderValue;

use super::{
    envelope::encoding::Tag,
    event_id::{read_body, BodyFields},
};

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
    /// Another name the signature binds (PayPal's transmission id, an SNS signature),
    /// claimed besides the delivery's own: a body the signature does not fully bind cannot
    /// make a captured delivery look new.
    /// (Boxed: `Verified` travels in every verdict, and is rarely named twice.)
    also: Option<Box<DeliveryId>>,
    /// A handshake's message MACed under the key that verified the request (Zoom's answer),
    /// computed by the verifier, which holds that key. (Boxed, as `also` is.)
    answer_mac: Option<Box<Tag>>,
    /// A tag per key of the set that verified the request, which only those keys make and
    /// which every route holding them shares (fixed, or resolved per request under any
    /// spelling of the tenant's name). The sender's event or message id is also named within
    /// each, so a re-signed retry resent under another spelling or to another route with the
    /// same keys is still a duplicate.
    scopes: Option<Arc<[Tag]>>,
    /// The name of the layer's scheme, for the replay guard's metrics and the inbox.
    #[cfg(any(feature = "metrics", feature = "inbox"))]
    scheme: Option<Arc<str>>,
}

/// What a signature verifier adds to the marker it makes, given to its constructor so the
/// marker is built in one step (it is a few hundred bytes, copied on each move).
#[derive(Default)]
pub(crate) struct KeyMarks {
    /// The scope tags of the keys that verified it (see `Verified::delivery_ids`).
    pub(crate) scopes: Option<Arc<[Tag]>>,
    /// A handshake's message MACed under the key that verified it.
    pub(crate) answer_mac: Option<Box<Tag>>,
}

/// What names a verified request's delivery, kept as it came so the digest is computed only
/// if something asks for it (a replay guard), not on every request.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Delivery {
    /// Already a digest: given by a custom scheme, or a scheme's own name for it.
    Id(DeliveryId),
    /// A digest already scoped to the key id: the inbox's, given back to its worker.
    #[cfg(feature = "inbox")]
    Scoped(DeliveryId),
    /// A signed message id (Standard Webhooks' `webhook-id`) within the scheme named here,
    /// as the header carried it (cloning a received header value copies no bytes).
    Message {
        namespace: Cow<'static, str>,
        id: HeaderValue,
    },
    /// A verified signature in canonical form, within the scheme named here, and the
    /// sender's event id if it names one.
    Signature {
        namespace: Cow<'static, str>,
        signature: Tag,
        /// More signatures that name this delivery too, in a fixed order: the signed bytes'
        /// MACs under the scheme's other keys, so a copy that a sender signed under two
        /// secrets while rotating one stays one delivery when resent with either signature
        /// dropped; the other items of an Adyen notification, each signed on its own.
        more_names: Option<Box<[Tag]>>,
        /// Whether the signature is keyed (a MAC, a private key's signature), so no one
        /// without the key can make it: not a bare digest of the body.
        keyed: bool,
        event: Option<Event>,
    },
}

/// The sender's own name for a delivery, besides its signature.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Event {
    /// From a header the signature does not cover: believed only together with the
    /// signature, so an edited header cannot make a replay look new.
    Unsigned(Box<[u8]>),
    /// Fields of the signed JSON body, read when a replay guard asks; the body is attached
    /// once it has been read.
    Body {
        fields: Arc<BodyFields>,
        body: Option<Bytes>,
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
            also: None,
            answer_mac: None,
            scopes: None,
            #[cfg(any(feature = "metrics", feature = "inbox"))]
            scheme: None,
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
    /// Verified under key `index`, of the keys resolved for `key_id` if they were.
    pub(crate) fn keyed(index: usize, key_id: Option<Arc<str>>) -> Self {
        Self {
            key_index: index,
            key_id,
            delivery: None,
            also: None,
            answer_mac: None,
            scopes: None,
            #[cfg(any(feature = "metrics", feature = "inbox"))]
            scheme: None,
        }
    }

    /// The marker of a delivery the inbox kept: verified under `key_id`'s keys by `scheme`,
    /// named `id` (already scoped to `key_id`).
    #[cfg(feature = "inbox")]
    pub(crate) fn restored(key_id: Option<Arc<str>>, id: DeliveryId, scheme: Arc<str>) -> Self {
        Self {
            key_index: 0,
            key_id,
            delivery: Some(Delivery::Scoped(id)),
            also: None,
            answer_mac: None,
            scopes: None,
            scheme: Some(scheme),
        }
    }

    /// Records which layer's scheme verified the request (a shared name, not a copy).
    #[cfg(any(feature = "metrics", feature = "inbox"))]
    #[inline]
    pub(crate) fn verified_by(&mut self, scheme: &Arc<str>) {
        self.scheme = Some(Arc::clone(scheme));
    }

    /// The name of the scheme that verified the request, when a layer did.
    #[cfg(any(feature = "metrics", feature = "inbox"))]
    pub(crate) fn scheme(&self) -> Option<&Arc<str>> {
        self.scheme.as_ref()
    }

    /// The same marker, also named `id`: something the signature binds, claimed by a
    /// replay guard with the delivery's other ids.
    pub(crate) fn also_named(mut self, id: DeliveryId) -> Self {
        self.also = Some(Box::new(id));
        self
    }

    /// Verified under key `index`, of the keys resolved for `key_id` if they were, and named
    /// by its keyed signature within `namespace`, the signed bytes' MACs under the other keys
    /// (`more_names`, see [`more_names`](Self::more_names)) and the sender's `event` id, if
    /// any: built in one step, since a marker this size is copied on each move.
    #[inline]
    pub(crate) fn signed(
        index: usize,
        key_id: Option<Arc<str>>,
        namespace: Cow<'static, str>,
        signature: Tag,
        more_names: Vec<Tag>,
        event: Option<Event>,
        marks: KeyMarks,
    ) -> Self {
        Self {
            key_index: index,
            key_id,
            delivery: Some(Delivery::Signature {
                namespace,
                signature,
                more_names: (!more_names.is_empty()).then(|| more_names.into_boxed_slice()),
                keyed: true,
                event,
            }),
            also: None,
            answer_mac: marks.answer_mac,
            scopes: marks.scopes,
            #[cfg(any(feature = "metrics", feature = "inbox"))]
            scheme: None,
        }
    }

    /// Verified under key `index`, of the keys resolved for `key_id` if they were, and named
    /// by the signed message `id` within `namespace`: [`DeliveryId::derive`]`(namespace, id)`,
    /// when asked for.
    #[inline]
    pub(crate) fn with_message_id(
        index: usize,
        key_id: Option<Arc<str>>,
        namespace: Cow<'static, str>,
        id: HeaderValue,
        marks: KeyMarks,
    ) -> Self {
        Self {
            key_index: index,
            key_id,
            delivery: Some(Delivery::Message { namespace, id }),
            also: None,
            answer_mac: marks.answer_mac,
            scopes: marks.scopes,
            #[cfg(any(feature = "metrics", feature = "inbox"))]
            scheme: None,
        }
    }

    pub(crate) fn with_signature(mut self, namespace: Cow<'static, str>, signature: Tag) -> Self {
        self.delivery = Some(Delivery::Signature {
            namespace,
            signature,
            more_names: None,
            keyed: true,
            event: None,
        });
        self
    }

    /// As [`with_signature`](Self::with_signature), for a digest anyone can compute (a
    /// token scheme's SHA-256 of the body): never a name outside the tenant's scope.
    pub(crate) fn with_digest(self, namespace: Cow<'static, str>, digest: Tag) -> Self {
        let mut verified = self.with_signature(namespace, digest);
        if let Some(Delivery::Signature { keyed, .. }) = &mut verified.delivery {
            *keyed = false;
        }
        verified
    }

    /// The same marker, with more signatures that name a delivery named by its signature
    /// (the signed bytes' MACs under the scheme's other keys), in a fixed order.
    pub(crate) fn more_names(mut self, tags: Vec<Tag>) -> Self {
        if let Some(Delivery::Signature { more_names, .. }) = &mut self.delivery {
            *more_names = (!tags.is_empty()).then(|| tags.into_boxed_slice());
        }
        self
    }

    /// The same marker, with the sender's event id for a delivery named by its signature.
    pub(crate) fn with_event(mut self, event: Option<Event>) -> Self {
        if let Some(Delivery::Signature { event: slot, .. }) = &mut self.delivery {
            *slot = event;
        }
        self
    }

    /// A handshake's message MACed under the key that verified the request, where the
    /// scheme's handshake asks for one (Zoom's `encryptedToken`).
    #[cfg(feature = "json")]
    pub(crate) fn answer_mac(&self) -> Option<&[u8]> {
        self.answer_mac.as_deref().map(Tag::as_slice)
    }

    /// Keeps the verified body where the event id is read from it (a cheap `Bytes` clone).
    #[inline]
    pub(crate) fn attach_body(&mut self, bytes: &Bytes) {
        if let Some(Delivery::Signature {
            event: Some(Event::Body { body, .. }),
            ..
        }) = &mut self.delivery
        {
            *body = Some(bytes.clone());
        }
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
    /// message id where the scheme signs one (Standard Webhooks' `webhook-id`, Stripe's event
    /// `id` in the signed body), otherwise the verified signature, which differs for every
    /// body and timestamp. Every scheme in this crate sets it; a custom
    /// [`Scheme`](super::Scheme) may.
    ///
    /// The id is scoped to the scheme and, when the keys were resolved per request, to the
    /// [`key_id`](Self::key_id) they were found under: a tenant who signs a delivery with its
    /// own secret and another tenant's event id names a delivery of its own, so it can never
    /// make the other tenant's real delivery look like a duplicate. An event id read from a
    /// JSON body is tagged with its JSON type, so `"id": 123` and `"id": "123"` differ.
    ///
    /// An event id from a header the signature does not cover (GitHub's `X-GitHub-Delivery`)
    /// is not this id, since anyone who captured the request could change it; see
    /// [`delivery_ids`](Self::delivery_ids).
    ///
    /// ```
    /// use tower_webhook::{scheme::DeliveryId, Verified};
    ///
    /// let id = DeliveryId::derive("stripe", b"evt_123");
    /// let acme = Verified::new(0).with_key_id("acme").with_delivery_id(id);
    /// let evil = Verified::new(0).with_key_id("evil").with_delivery_id(id);
    /// assert_ne!(acme.delivery_id(), evil.delivery_id());
    /// assert_eq!(Verified::new(0).with_delivery_id(id).delivery_id(), Some(id));
    /// ```
    #[must_use]
    pub fn delivery_id(&self) -> Option<DeliveryId> {
        self.primary().map(|(id, _)| id)
    }

    /// [`delivery_id`](Self::delivery_id), and whether it is the signature's name (no event
    /// id in the body named the delivery).
    fn primary(&self) -> Option<(DeliveryId, bool)> {
        // Already scoped when the inbox kept it.
        #[cfg(feature = "inbox")]
        if let Some(Delivery::Scoped(id)) = &self.delivery {
            return Some((*id, false));
        }
        let (id, by_signature) = self.unscoped_primary()?;
        Some((self.scoped(id), by_signature))
    }

    /// [`primary`](Self::primary) before it is scoped to the keys' name.
    fn unscoped_primary(&self) -> Option<(DeliveryId, bool)> {
        let (id, by_signature) = match self.delivery.as_ref()? {
            #[cfg(feature = "inbox")]
            Delivery::Scoped(id) => return Some((*id, false)),
            Delivery::Id(id) => (*id, false),
            Delivery::Message { namespace, id } => {
                (DeliveryId::derive(namespace, id.as_bytes()), false)
            }
            Delivery::Signature {
                namespace,
                signature,
                event,
                ..
            } => match event {
                Some(Event::Body { fields, body }) => body_event(namespace, fields, body),
                _ => None,
            }
            .map_or_else(
                || (DeliveryId::derive(namespace, signature.as_slice()), true),
                |id| (id, false),
            ),
        };
        Some((id, by_signature))
    }

    /// `id` within the keys this delivery was verified with, if they were resolved per
    /// request: one tenant's ids never meet another's in a replay store.
    fn scoped(&self, id: DeliveryId) -> DeliveryId {
        match &self.key_id {
            Some(key_id) => id.within_key(key_id),
            None => id,
        }
    }

    /// Every id under which this delivery may have been seen before; a replay guard treats
    /// the request as a duplicate if any of them was.
    ///
    /// That is [`delivery_id`](Self::delivery_id), and, where the sender names the delivery
    /// in a header the signature does not cover, that header's id too: a sender's retry
    /// re-signed with a new timestamp keeps the header id, and a captured request replayed
    /// with an edited header keeps its signature. (The price: two different events with the
    /// same signature, which for a sender that signs only the body means the same body, are
    /// one delivery.) PayPal and Amazon SNS deliveries are also named by what their
    /// signature binds (PayPal's transmission id, SNS's signature): a PayPal body rewritten
    /// to the same CRC32, or an SNS message split differently into the same signed text, is
    /// then the same delivery whatever event id it claims. A delivery named by its HMAC
    /// under a scheme with several secrets is also named by its signed bytes' MAC under
    /// each of them, in key order: a sender that signs under both secrets while one is
    /// rotated (PagerDuty, DocuSign) sends one delivery, and a captured copy resent with
    /// either signature dropped keeps a name the first one claimed. With keys resolved per
    /// request, a keyed signature (not a token scheme's body digest) also names the delivery
    /// outside the tenant's scope: only that tenant's key makes it, and a source that finds
    /// the tenant's keys under several names (a lookup that ignores case) would otherwise
    /// let a captured copy resent under another spelling look new. (Two tenants given the
    /// same key are not apart anyway, since a delivery to one verifies for the other:
    /// identical signed bytes under it are one delivery for both.) For the same reason, an
    /// HMAC scheme's event or message id is also named within a tag each of its keys makes
    /// of a fixed label: the sender's retry, re-signed with a new timestamp and resent under
    /// another spelling (or to a route holding the same keys fixed), is still a duplicate,
    /// and other keys make other tags.
    ///
    /// ```
    /// use tower_webhook::{scheme::DeliveryId, Verified};
    ///
    /// let id = DeliveryId::derive("acme", b"evt_123");
    /// assert_eq!(Verified::new(0).with_delivery_id(id).delivery_ids(), vec![id]);
    /// ```
    #[must_use]
    pub fn delivery_ids(&self) -> Vec<DeliveryId> {
        let Some((primary, by_signature)) = self.primary() else {
            return Vec::new();
        };
        let mut ids = match &self.delivery {
            Some(Delivery::Signature {
                namespace,
                event: Some(Event::Unsigned(id)),
                ..
            }) => vec![self.scoped(event_id(namespace, id)), primary],
            _ => vec![primary],
        };
        if let Some(Delivery::Signature {
            namespace,
            signature,
            more_names,
            keyed,
            ..
        }) = &self.delivery
        {
            let more = more_names.iter().flat_map(|tags| tags.iter());
            // Named by its signature: by the signed bytes' MAC under every key, so which
            // of the sender's signatures came along does not matter.
            if by_signature {
                let others = more
                    .clone()
                    .map(|tag| self.scoped(DeliveryId::derive(namespace, tag.as_slice())));
                ids.extend(others);
            }
            // Keys resolved per request: the name the request gave scopes the ids, but a
            // source may find one tenant's keys under several names (a lookup that ignores
            // case). A keyed signature, which only that tenant's key makes, also names the
            // delivery unscoped, so a captured copy resent under another spelling of the
            // name is still a duplicate; another tenant cannot make it.
            if self.key_id.is_some() && *keyed {
                let unscoped = std::iter::once(signature)
                    .chain(more)
                    .map(|tag| DeliveryId::derive(namespace, tag.as_slice()));
                ids.extend(unscoped);
            }
        }
        // The sender's own names for it (an event or message id), also within each key's
        // scope tag: the same for every spelling of the tenant's name, and for no other
        // tenant's keys.
        if let Some(scopes) = &self.scopes {
            let header_event = match &self.delivery {
                Some(Delivery::Signature {
                    namespace,
                    event: Some(Event::Unsigned(id)),
                    ..
                }) => Some(event_id(namespace, id)),
                _ => None,
            };
            let sender_named = self
                .unscoped_primary()
                .filter(|(_, by_signature)| !by_signature)
                .map(|(id, _)| id);
            for name in header_event.into_iter().chain(sender_named) {
                for scope in scopes.iter() {
                    let id = name.within_scope(scope);
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        ids.extend(self.also.as_deref().filter(|also| !ids.contains(also)));
        ids
    }

    /// The ids among [`delivery_ids`](Self::delivery_ids) that the signature binds and a
    /// forger cannot choose, which a replay guard also records for a duplicate: for now, the
    /// name a scheme adds with [`also_named`](Self::also_named).
    pub(crate) fn bound_ids(&self) -> Vec<DeliveryId> {
        self.also.as_deref().copied().into_iter().collect()
    }
}

/// The id of the event `fields` name in `body`; `None` (with a DEBUG event) if the body does
/// not name one, so the delivery falls back to its signature.
fn body_event(namespace: &str, fields: &BodyFields, body: &Option<Bytes>) -> Option<DeliveryId> {
    let found = body.as_deref().and_then(|body| read_body(body, fields));
    if found.is_none() {
        tracing::debug!(
            target: "tower_webhook",
            scheme = namespace,
            fields = ?fields.fields,
            "the body names no event id (not JSON, or the field is missing); the delivery is named by its signature"
        );
    }
    Some(event_id(namespace, &found?))
}

/// An event id's digest, in a domain of its own so it never equals a signature's.
fn event_id(namespace: &str, material: &[u8]) -> DeliveryId {
    DeliveryId::derive(&format!("{namespace}#event"), material)
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

    /// The id whose digest is `bytes` (an id the inbox kept as hex, given back to a worker).
    #[cfg(feature = "inbox")]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// This id within the keys found under `key_id`. The length written first is one no
    /// namespace can have, so the result never equals an id [`derive`](Self::derive) makes.
    /// This id within a key's scope tag, in a domain of its own (never equal to an id
    /// within a name).
    pub(crate) fn within_scope(self, scope: &Tag) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update((u64::MAX - 1).to_be_bytes());
        hash.update((scope.as_slice().len() as u64).to_be_bytes());
        hash.update(scope.as_slice());
        hash.update(self.0);
        Self(hash.finalize().into())
    }

    fn within_key(self, key_id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(u64::MAX.to_be_bytes());
        hash.update((key_id.len() as u64).to_be_bytes());
        hash.update(key_id.as_bytes());
        hash.update(self.0);
        Self(hash.finalize().into())
    }
}

impl std::fmt::Display for DeliveryId {
    /// Lowercase hex, 64 characters.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // On the stack: a replay guard formats every delivery id it claims.
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).map_err(|_| std::fmt::Error)?;
        f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?)
    }
}

impl std::fmt::Debug for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeliveryId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_id_is_written_as_64_lowercase_hex_digits() {
        for id in [
            DeliveryId([0; 32]),
            DeliveryId([0xff; 32]),
            DeliveryId::derive("a", b"b"),
        ] {
            let text = id.to_string();
            assert_eq!(text, hex::encode(id.0));
            assert_eq!(text.len(), 64);
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
    }

    /// A MAC as `key_id`'s own secret would make it: each tenant's differs.
    fn mac_of(key_id: Option<&str>) -> Tag {
        let seed = key_id.map_or(0, |name| name.bytes().fold(7u8, u8::wrapping_add));
        Tag::from_slice(&[seed; 32])
    }

    fn stripe_like(key_id: Option<&str>, body: &'static str) -> Verified {
        let mut verified = Verified::keyed(0, key_id.map(Arc::from))
            .with_signature(Cow::Borrowed("stripe"), mac_of(key_id))
            .with_event(Some(Event::Body {
                fields: Arc::new(BodyFields {
                    fields: vec![Cow::Borrowed("id")],
                    each_element: false,
                }),
                body: None,
            }));
        verified.attach_body(&Bytes::from_static(body.as_bytes()));
        verified
    }

    #[test]
    fn tenants_never_share_delivery_ids() {
        let body = r#"{"id":"evt_1"}"#;
        let acme = stripe_like(Some("acme"), body).delivery_ids();
        let evil = stripe_like(Some("evil"), body).delivery_ids();
        let fixed = stripe_like(None, body).delivery_ids();
        assert_eq!(acme, stripe_like(Some("acme"), body).delivery_ids());
        for id in &acme {
            assert!(!evil.contains(id) && !fixed.contains(id));
        }
        // A name cannot be moved into the id: the name is length-prefixed.
        let id = DeliveryId::derive("stripe", b"x");
        assert_ne!(id.within_key("ab"), id.within_key("a"));
        assert_ne!(id.within_key("acme"), id);
    }

    #[test]
    fn unsigned_header_ids_are_scoped_too() {
        let with = |key_id: &str| {
            Verified::keyed(0, Some(Arc::from(key_id)))
                .with_signature(Cow::Borrowed("github"), mac_of(Some(key_id)))
                .with_event(Some(Event::Unsigned(Box::from(&b"delivery-1"[..]))))
                .delivery_ids()
        };
        let (acme, evil) = (with("acme"), with("evil"));
        assert_eq!(
            acme.len(),
            3,
            "the header's id, the signature's, and its unscoped one"
        );
        assert!(acme.iter().all(|id| !evil.contains(id)));
    }

    #[test]
    fn a_keyed_signature_names_the_delivery_under_any_spelling_of_the_tenant() {
        // One tenant's keys found under `acme` and `ACME` make the same MAC: one delivery.
        let under = |key_id: &str| {
            Verified::keyed(0, Some(Arc::from(key_id)))
                .with_signature(Cow::Borrowed("pagerduty"), Tag::from_slice(&[3; 32]))
                .delivery_ids()
        };
        let (lower, upper) = (under("acme"), under("ACME"));
        assert_ne!(lower[0], upper[0], "scoped by the name given");
        assert!(lower.iter().any(|id| upper.contains(id)));
        // A digest anyone can compute stays within the tenant's scope.
        let digest = |key_id: &str| {
            Verified::keyed(0, Some(Arc::from(key_id)))
                .with_digest(Cow::Borrowed("okta"), Tag::from_slice(&[3; 32]))
                .delivery_ids()
        };
        let (acme, evil) = (digest("acme"), digest("evil"));
        assert_eq!(acme.len(), 1);
        assert!(acme.iter().all(|id| !evil.contains(id)));
        // Fixed keys: one name, as before.
        let fixed =
            Verified::new(0).with_signature(Cow::Borrowed("pagerduty"), Tag::from_slice(&[3; 32]));
        assert_eq!(fixed.delivery_ids().len(), 1);
    }

    #[cfg(feature = "json")]
    #[test]
    fn a_numeric_and_a_string_event_id_are_different_deliveries() {
        assert_ne!(
            stripe_like(None, r#"{"id":123}"#).delivery_id(),
            stripe_like(None, r#"{"id":"123"}"#).delivery_id()
        );
    }
}
