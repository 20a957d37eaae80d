//! [`Ed25519`]: public-key signatures (Discord, Standard Webhooks `v1a`), checked as the
//! signed bytes stream in.

use std::fmt;

use ed25519_dalek::{Signature, StreamVerifier, VerifyingKey};

use crate::rejection::Rejection;
use crate::scheme::{
    algorithm::{sealed, sorted_names, MAX_PUBLIC_KEY_SIGNATURES},
    envelope::encoding::Tag,
    envelope::signature::SignatureScheme,
};
use crate::{
    foundation::InvalidKey,
    keys::{IntoKeys, KeySlot, Parse},
};

/// The Ed25519 [`Algorithm`](crate::scheme::Algorithm) (RFC 8032): the sender signs with its private
/// key; the receiver holds only public keys, which cannot sign.
///
/// Verifying streams: ed25519-dalek's `StreamVerifier` hashes the signed prefix and each
/// body frame as they arrive, so the body is never joined to its prefix or read twice.
#[derive(Clone)]
pub struct Ed25519 {
    /// Never empty, in the order given.
    keys: Vec<VerifyingKey>,
}

/// A webhook scheme signed with Ed25519: [`SignatureScheme`] under public keys.
pub type Ed25519Scheme = SignatureScheme<Ed25519>;

impl SignatureScheme<Ed25519> {
    /// Ed25519 signatures of the raw body under `public_key` (its 32 raw bytes), hex in
    /// `X-Signature` unless the builder methods say otherwise.
    ///
    /// # Errors
    ///
    /// [`InvalidKey`] if `public_key` is not 32 bytes, not a point on the curve, or a weak
    /// (small-order) key, under which signatures can be forged without the private key.
    ///
    /// ```
    /// use tower_webhook::{scheme::Ed25519Scheme, Encoding};
    ///
    /// let public_key = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
    /// let scheme = Ed25519Scheme::ed25519(&public_key)?
    ///     .header("X-Signature")
    ///     .encoding(Encoding::Base64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ed25519(public_key: impl IntoKeys) -> Result<Self, InvalidKey> {
        Self::ed25519_parsed(public_key, Ed25519::from_raw)
    }

    /// Ed25519 keys each made from what a source stores by `parse` (hex, base64, a prefix).
    pub(crate) fn ed25519_parsed(
        public_key: impl IntoKeys,
        parse: Parse<Ed25519>,
    ) -> Result<Self, InvalidKey> {
        Ok(Self::with_keys(
            KeySlot::new(public_key.into_keys(), parse)?,
            "ed25519",
        ))
    }

    /// Another public key whose signatures are accepted too, for key rotation.
    /// [`Verified::key_index`](crate::Verified::key_index) says which one matched (0 is the first).
    ///
    /// # Errors
    ///
    /// [`InvalidKey`], as [`ed25519`](Self::ed25519).
    ///
    /// ```
    /// use tower_webhook::scheme::Ed25519Scheme;
    ///
    /// let new = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
    /// let old = hex::decode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")?;
    /// let scheme = Ed25519Scheme::ed25519(&new)?.also_accept(&old)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn also_accept(mut self, public_key: impl AsRef<[u8]>) -> Result<Self, InvalidKey> {
        let key = parse_key(public_key.as_ref())?;
        self.keys.fixed_mut().keys.push(key);
        Ok(self)
    }
}

impl Ed25519 {
    /// The key of these 32 raw bytes.
    pub(crate) fn from_raw(bytes: &[u8]) -> Result<Self, InvalidKey> {
        Ok(Self {
            keys: vec![parse_key(bytes)?],
        })
    }
}

fn parse_key(bytes: &[u8]) -> Result<VerifyingKey, InvalidKey> {
    let invalid = || InvalidKey::expected("a 32-byte Ed25519 public key");
    let bytes: &[u8; 32] = bytes.try_into().map_err(|_| invalid())?;
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| invalid())?;
    if key.is_weak() {
        return Err(invalid());
    }
    Ok(key)
}

/// The per-request state of [`Ed25519`]: one stream per key and claimed signature.
pub struct Ed25519State {
    streams: Vec<(usize, Tag, StreamVerifier)>,
}

impl sealed::Algorithm for Ed25519 {
    type State = Ed25519State;

    const MAX_CLAIMED: usize = MAX_PUBLIC_KEY_SIGNATURES;

    fn merge(&mut self, other: Self) {
        self.keys.extend(other.keys);
    }

    fn start(&self, claimed: Vec<Tag>) -> Result<Ed25519State, Rejection> {
        let mut streams = Vec::with_capacity(claimed.len() * self.keys.len());
        for tag in &claimed {
            let bytes: &[u8; 64] = tag
                .as_slice()
                .try_into()
                .map_err(|_| Rejection::MalformedSignature)?;
            let signature = Signature::from_bytes(bytes);
            for (index, key) in self.keys.iter().enumerate() {
                // Fails only for a non-canonical scalar, whatever the key.
                let stream = key
                    .verify_stream(&signature)
                    .map_err(|_| Rejection::MalformedSignature)?;
                streams.push((index, *tag, stream));
            }
        }
        Ok(Ed25519State { streams })
    }

    fn update(state: &mut Ed25519State, data: &[u8]) {
        for (_, _, stream) in &mut state.streams {
            stream.update(data);
        }
    }

    fn finish(state: &mut Ed25519State) -> Result<(usize, Tag), Rejection> {
        // Public-key verification reveals nothing secret, so stopping at a match is fine.
        // A valid signature has one encoding (dalek refuses a non-canonical scalar).
        std::mem::take(&mut state.streams)
            .into_iter()
            .find_map(|(index, tag, stream)| {
                stream.finalize_and_verify().is_ok().then_some((index, tag))
            })
            .ok_or(Rejection::InvalidSignature)
    }

    /// Every claimed signature that verifies names the delivery, sorted: a sender signing
    /// under two keys while one is rotated sends one delivery, and a copy resent with its
    /// signatures reordered or one dropped keeps a name. Checking every stream costs no more
    /// than a request whose signatures all fail, which the claim caps bound already.
    fn finish_named(state: &mut Ed25519State) -> Result<(usize, Tag, Vec<Tag>), Rejection> {
        let mut index = None;
        let mut verified = Vec::new();
        for (key, tag, stream) in std::mem::take(&mut state.streams) {
            if stream.finalize_and_verify().is_ok() {
                index = Some(index.map_or(key, |first: usize| first.min(key)));
                if !verified.contains(&tag) {
                    verified.push(tag);
                }
            }
        }
        let index = index.ok_or(Rejection::InvalidSignature)?;
        let (first, others) = sorted_names(verified)?;
        Ok((index, first, others))
    }
}

impl fmt::Debug for Ed25519 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|key| hex::encode(key.as_bytes())))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer as _, SigningKey};

    use super::*;
    use sealed::Algorithm as _;

    #[test]
    fn every_verified_signature_names_the_delivery_in_one_order() {
        let (one, two) = (
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        );
        let keys = Ed25519 {
            keys: vec![one.verifying_key(), two.verifying_key()],
        };
        let tag = |key: &SigningKey| Tag::from_slice(&key.sign(b"message").to_bytes());
        let (a, b) = (tag(&one), tag(&two));
        let named = |claimed: Vec<Tag>| {
            let mut state = keys.start(claimed).unwrap();
            Ed25519::update(&mut state, b"message");
            Ed25519::finish_named(&mut state).unwrap()
        };
        let (index, first, others) = named(vec![a, b]);
        assert_eq!(index, 0);
        assert!(named(vec![b, a]) == (0, first, others.clone()));
        let names = [vec![first], others].concat();
        for alone in [a, b] {
            let (_, name, more) = named(vec![alone]);
            assert!(more.is_empty() && names.contains(&name));
        }
        let mut state = keys.start(vec![b]).unwrap();
        Ed25519::update(&mut state, b"other message");
        assert!(matches!(
            Ed25519::finish_named(&mut state),
            Err(Rejection::InvalidSignature)
        ));
    }
}
