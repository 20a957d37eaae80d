//! [`EcdsaP256`]: ECDSA over P-256 with SHA-256 (SendGrid), hashed as the signed bytes
//! stream in.

use std::{fmt, sync::Arc};

use p256::{
    ecdsa::{signature::hazmat::PrehashVerifier, Signature, VerifyingKey},
    pkcs8::DecodePublicKey,
};
use sha2::{Digest, Sha256};

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

/// The ECDSA P-256 / SHA-256 [`Algorithm`](crate::scheme::Algorithm): signatures DER-encoded
/// (`SEQUENCE { r, s }`), public keys as X.509 `SubjectPublicKeyInfo` DER.
///
/// The signed bytes are hashed as they arrive; the signature is checked against the hash.
#[derive(Clone)]
pub struct EcdsaP256 {
    /// Never empty, in the order given; shared with each request's state.
    keys: Arc<[VerifyingKey]>,
}

/// A webhook scheme signed with ECDSA P-256: [`SignatureScheme`] under public keys.
pub type P256Scheme = SignatureScheme<EcdsaP256>;

impl SignatureScheme<EcdsaP256> {
    /// ECDSA P-256 / SHA-256 signatures of the raw body under `public_key`, an X.509
    /// `SubjectPublicKeyInfo` in DER (what `openssl ec -pubout -outform DER` writes, and the
    /// base64 text SendGrid shows, decoded); base64 of the DER signature in `X-Signature`
    /// unless the builder methods say otherwise.
    ///
    /// # Errors
    ///
    /// [`InvalidKey`] if `public_key` is not a P-256 public key in that form.
    ///
    /// ```
    /// use base64::Engine as _;
    /// use tower_webhook::scheme::P256Scheme;
    ///
    /// let der = base64::engine::general_purpose::STANDARD.decode(
    ///     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
    /// )?;
    /// let scheme = P256Scheme::p256(&der)?.header("X-Acme-Signature");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn p256(public_key: impl IntoKeys) -> Result<Self, InvalidKey> {
        Self::p256_parsed(public_key, EcdsaP256::from_der)
    }

    /// P-256 keys each made from what a source stores by `parse` (base64, PEM).
    pub(crate) fn p256_parsed(
        public_key: impl IntoKeys,
        parse: Parse<EcdsaP256>,
    ) -> Result<Self, InvalidKey> {
        let mut scheme =
            Self::with_keys(KeySlot::new(public_key.into_keys(), parse)?, "ecdsa-p256");
        scheme.encoding = crate::scheme::envelope::encoding::Encoding::Base64;
        Ok(scheme)
    }

    /// Another public key whose signatures are accepted too, for key rotation.
    /// [`Verified::key_index`](crate::Verified::key_index) says which one matched (0 is the first).
    ///
    /// # Errors
    ///
    /// [`InvalidKey`], as [`p256`](Self::p256).
    pub fn also_accept(mut self, public_key: impl AsRef<[u8]>) -> Result<Self, InvalidKey> {
        let key = parse_key(public_key.as_ref())?;
        self.keys.fixed_mut().merge_key(key);
        Ok(self)
    }
}

impl EcdsaP256 {
    /// The key of this `SubjectPublicKeyInfo` DER.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, InvalidKey> {
        Ok(Self {
            keys: Arc::from([parse_key(der)?]),
        })
    }

    fn merge_key(&mut self, key: VerifyingKey) {
        let keys: Vec<VerifyingKey> = self.keys.iter().copied().chain([key]).collect();
        self.keys = Arc::from(keys);
    }
}

fn parse_key(der: &[u8]) -> Result<VerifyingKey, InvalidKey> {
    VerifyingKey::from_public_key_der(der)
        .map_err(|_| InvalidKey::expected("a P-256 public key (SubjectPublicKeyInfo DER)"))
}

/// The per-request state of [`EcdsaP256`]: the running hash, the keys and the signatures.
pub struct P256State {
    hash: Sha256,
    keys: Arc<[VerifyingKey]>,
    claimed: Vec<Signature>,
}

impl sealed::Algorithm for EcdsaP256 {
    type State = P256State;

    const MAX_CLAIMED: usize = MAX_PUBLIC_KEY_SIGNATURES;

    fn merge(&mut self, other: Self) {
        for key in other.keys.iter() {
            self.merge_key(*key);
        }
    }

    fn start(&self, claimed: Vec<Tag>) -> Result<P256State, Rejection> {
        let claimed = claimed
            .iter()
            .map(|tag| Signature::from_der(tag.as_slice()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Rejection::MalformedSignature)?;
        Ok(P256State {
            hash: Sha256::new(),
            keys: Arc::clone(&self.keys),
            claimed,
        })
    }

    fn update(state: &mut P256State, data: &[u8]) {
        state.hash.update(data);
    }

    fn finish(state: &mut P256State) -> Result<(usize, Tag), Rejection> {
        let digest = state.hash.finalize_reset();
        for (index, key) in state.keys.iter().enumerate() {
            for signature in &state.claimed {
                if key.verify_prehash(&digest, signature).is_ok() {
                    // ECDSA signatures are malleable (s or n - s): name the delivery by the
                    // low-s form, so the other one is the same delivery.
                    let canonical = signature.normalize_s().unwrap_or(*signature).to_bytes();
                    let mut tag = Tag::zeroed(canonical.len());
                    tag.as_mut_slice().copy_from_slice(&canonical);
                    return Ok((index, tag));
                }
            }
        }
        Err(Rejection::InvalidSignature)
    }

    /// Every claimed signature that verifies names the delivery (low-s, sorted): a sender
    /// signing under two keys while one is rotated sends one delivery, and a copy resent
    /// with its signatures reordered or one dropped keeps a name. Checking every pair costs
    /// no more than a request whose signatures all fail, which the claim caps bound.
    fn finish_named(state: &mut P256State) -> Result<(usize, Tag, Vec<Tag>), Rejection> {
        let digest = state.hash.finalize_reset();
        let mut index = None;
        let mut verified: Vec<Tag> = Vec::new();
        for (key_index, key) in state.keys.iter().enumerate() {
            for signature in &state.claimed {
                if key.verify_prehash(&digest, signature).is_ok() {
                    index.get_or_insert(key_index);
                    let canonical = signature.normalize_s().unwrap_or(*signature).to_bytes();
                    let tag = Tag::from_slice(&canonical);
                    if !verified.contains(&tag) {
                        verified.push(tag);
                    }
                }
            }
        }
        let index = index.ok_or(Rejection::InvalidSignature)?;
        let (first, others) = sorted_names(verified)?;
        Ok((index, first, others))
    }
}

impl fmt::Debug for EcdsaP256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} P-256 public key(s)]", self.keys.len())
    }
}
