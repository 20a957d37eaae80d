//! [`HmacScheme`]: an HMAC (SHA-256, or SHA-1 with the `sha1` feature) under shared
//! secrets. Its signing side, [`HmacScheme::sign_message`], lives in [`crate::sign`].

use std::{fmt, sync::Arc};

use digest::{
    core_api::{Buffer, BufferKindUser, FixedOutputCore, UpdateCore},
    typenum::{IsLess, Le, NonZero, U256},
    KeyInit, Output,
};
use hmac::HmacCore;
use sha2::Sha256;

use crate::scheme::{
    algorithm::sealed, envelope::encoding::Tag, envelope::format::MAX_SIGNATURES_ACROSS_HEADERS,
    envelope::signature::SignatureScheme,
};
use crate::{
    foundation::InvalidKey,
    keys::{IntoKeys, KeySlot, KeysFrom, Parse},
    rejection::Rejection,
};

/// An HMAC keyed once, when the scheme is built; each request clones the keyed state, which
/// saves hashing the key's two padded blocks on every request.
/// # Panics
///
/// If `secret` is empty (documented on the constructors that take secrets).
#[expect(
    clippy::unreachable,
    reason = "HMAC accepts keys of any length (RFC 2104); the error cannot happen"
)]
fn keyed<M: KeyInit>(secret: &[u8]) -> M {
    assert!(
        !secret.is_empty(),
        "tower-webhook: the HMAC secret is empty; is its environment variable set?"
    );
    match M::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

#[derive(Clone)]
pub(crate) enum KeyedMac {
    Sha256(Running<HmacCore<Sha256>>),
    #[cfg(feature = "sha1")]
    Sha1(Running<HmacCore<sha1::Sha1>>),
}

/// A running MAC: HMAC's core and its block buffer, as `hmac::Hmac` holds them, but apart,
/// so it is finalized by reference (`Hmac::finalize` takes the MAC by value, and a running
/// MAC is moved out of the verifier that holds it, a few hundred bytes, to be finalized).
/// (The bounds are those a block buffer puts on any hash's core.)
#[derive(Clone)]
pub(crate) struct Running<C>
where
    C: BufferKindUser,
    C::BlockSize: IsLess<U256>,
    Le<C::BlockSize, U256>: NonZero,
{
    core: C,
    buffer: Buffer<C>,
}

impl<C> Running<C>
where
    C: BufferKindUser + UpdateCore + FixedOutputCore + KeyInit,
    C::BlockSize: IsLess<U256>,
    Le<C::BlockSize, U256>: NonZero,
{
    fn keyed(secret: &[u8]) -> Self {
        Self {
            core: keyed(secret),
            buffer: Buffer::<C>::default(),
        }
    }

    fn update(&mut self, data: &[u8]) {
        let Self { core, buffer } = self;
        buffer.digest_blocks(data, |blocks| core.update_blocks(blocks));
    }

    /// The MAC of everything fed; the state is spent after.
    fn finalize_into(&mut self, tag: &mut [u8]) {
        let mut output = Output::<C>::default();
        self.core.finalize_fixed_core(&mut self.buffer, &mut output);
        tag.copy_from_slice(&output);
    }
}

impl KeyedMac {
    /// HMAC-SHA256 under `secret`.
    pub(crate) fn sha256(secret: &[u8]) -> Self {
        Self::Sha256(Running::keyed(secret))
    }

    /// HMAC-SHA1 under `secret`.
    #[cfg(feature = "sha1")]
    pub(crate) fn sha1(secret: &[u8]) -> Self {
        Self::Sha1(Running::keyed(secret))
    }

    /// The same algorithm as `self`, under `secret`.
    fn same_algorithm(&self, secret: &[u8]) -> Self {
        match self {
            Self::Sha256(_) => Self::sha256(secret),
            #[cfg(feature = "sha1")]
            Self::Sha1(_) => Self::sha1(secret),
        }
    }

    fn output_len(&self) -> usize {
        match self {
            Self::Sha256(_) => 32,
            #[cfg(feature = "sha1")]
            Self::Sha1(_) => 20,
        }
    }

    #[inline]
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(mac) => mac.update(data),
            #[cfg(feature = "sha1")]
            Self::Sha1(mac) => mac.update(data),
        }
    }

    /// The MAC of everything fed, computed where the state lies (a running MAC is a few
    /// hundred bytes, copied on each move); the state is spent after.
    #[inline]
    pub(crate) fn finalize(&mut self) -> Tag {
        let mut tag = Tag::zeroed(self.output_len());
        match self {
            Self::Sha256(mac) => mac.finalize_into(tag.as_mut_slice()),
            #[cfg(feature = "sha1")]
            Self::Sha1(mac) => mac.finalize_into(tag.as_mut_slice()),
        }
        tag
    }

    /// Whether this MAC, finished, equals any of `claimed`, compared in constant time: a
    /// byte-by-byte early exit would tell an attacker how many leading bytes of a forged MAC
    /// are right.
    /// Returns the MAC when it matches.
    pub(crate) fn matches_any(&mut self, claimed: &[Tag]) -> Option<Tag> {
        let computed = self.finalize();
        equals_any(&computed, claimed).then_some(computed)
    }
}

/// Whether `computed` equals any of `claimed`, each compared in constant time.
fn equals_any(computed: &Tag, claimed: &[Tag]) -> bool {
    let matched = claimed
        .iter()
        .fold(subtle::Choice::from(0), |any, claimed| {
            any | computed.ct_eq(claimed)
        });
    bool::from(matched)
}

/// The HMAC [`Algorithm`](crate::scheme::Algorithm): shared secrets, each keyed once when the scheme
/// is built. The first secret signs; every one verifies.
#[derive(Clone)]
pub struct Hmac {
    /// The secret that signs, and the first tried.
    primary: KeyedMac,
    /// Older secrets still accepted, in the order given.
    rotated: Vec<KeyedMac>,
    /// Each key's scope tag, in key order, made once (see `scope_tags`).
    scopes: Arc<[Tag]>,
}

/// The tag a key makes of a fixed label: what names the keys a request was verified with,
/// whatever name they were found under.
fn scope_of(key: &KeyedMac) -> Tag {
    let mut mac = key.clone();
    mac.update(b"tower-webhook/delivery-scope");
    mac.finalize()
}

/// The per-request state of [`Hmac`]: one running MAC per secret, and the claimed MACs.
/// The first secret's MAC and a single claimed MAC are held inline: with one secret and one
/// signature, the usual request, starting allocates nothing.
pub struct HmacState {
    primary: KeyedMac,
    rotated: Vec<KeyedMac>,
    claimed: Claimed,
}

/// The MACs a request claims: one, or a list.
enum Claimed {
    One(Tag),
    Many(Vec<Tag>),
}

impl Claimed {
    fn as_slice(&self) -> &[Tag] {
        match self {
            Self::One(tag) => std::slice::from_ref(tag),
            Self::Many(tags) => tags,
        }
    }
}

impl Hmac {
    #[inline]
    fn state(&self, claimed: Claimed) -> Result<HmacState, Rejection> {
        let len = self.primary.output_len();
        if claimed
            .as_slice()
            .iter()
            .any(|tag| tag.as_slice().len() != len)
        {
            return Err(Rejection::MalformedSignature);
        }
        Ok(HmacState {
            primary: self.primary.clone(),
            rotated: self.rotated.clone(),
            claimed,
        })
    }
}

impl sealed::Algorithm for Hmac {
    type State = HmacState;

    // One MAC per key whatever the count; comparing it with each claimed one is cheap. The
    // scheme bounds the count first (16, or DocuSign's one per header).
    const MAX_CLAIMED: usize = MAX_SIGNATURES_ACROSS_HEADERS;

    fn merge(&mut self, other: Self) {
        self.rotated.push(other.primary);
        self.rotated.extend(other.rotated);
        self.scopes = self
            .scopes
            .iter()
            .chain(other.scopes.iter())
            .cloned()
            .collect();
    }

    fn start(&self, claimed: Vec<Tag>) -> Result<HmacState, Rejection> {
        self.state(Claimed::Many(claimed))
    }

    fn scope_tags(&self) -> Option<Arc<[Tag]>> {
        Some(Arc::clone(&self.scopes))
    }

    fn mac_under(&self, index: usize, message: &[u8]) -> Option<Tag> {
        let mut mac = std::iter::once(&self.primary)
            .chain(&self.rotated)
            .nth(index)?
            .clone();
        mac.update(message);
        Some(mac.finalize())
    }

    #[inline]
    fn start_one(&self, claimed: Tag) -> Result<HmacState, Rejection> {
        self.state(Claimed::One(claimed))
    }

    #[inline]
    fn update(state: &mut HmacState, data: &[u8]) {
        state.primary.update(data);
        for mac in &mut state.rotated {
            mac.update(data);
        }
    }

    fn finish(state: &mut HmacState) -> Result<(usize, Tag), Rejection> {
        let claimed = state.claimed.as_slice();
        std::iter::once(&mut state.primary)
            .chain(&mut state.rotated)
            .enumerate()
            .find_map(|(index, mac)| Some((index, mac.matches_any(claimed)?)))
            .ok_or(Rejection::InvalidSignature)
    }

    /// Every key's MAC is computed anyway: the first key's names the delivery, the others'
    /// name it too, whichever key matched a claimed signature.
    #[inline]
    fn finish_named(state: &mut HmacState) -> Result<(usize, Tag, Vec<Tag>), Rejection> {
        let first = state.primary.finalize();
        let others: Vec<Tag> = state.rotated.iter_mut().map(KeyedMac::finalize).collect();
        let claimed = state.claimed.as_slice();
        let index = std::iter::once(&first)
            .chain(&others)
            .position(|mac| equals_any(mac, claimed))
            .ok_or(Rejection::InvalidSignature)?;
        Ok((index, first, others))
    }
}

impl fmt::Debug for Hmac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted; {}]", 1 + self.rotated.len())
    }
}

/// An HMAC-signed webhook scheme: [`SignatureScheme`] under shared secrets.
///
/// Every preset that signs with a shared secret returns one (`presets::stripe(secret)`, …),
/// and any other sender is described with one. This is a name for `SignatureScheme<Hmac>`, so
/// its methods are documented on [`SignatureScheme`]; all of them apply:
///
/// | method | default | what |
/// |---|---|---|
/// | [`sha256(secret)`](HmacScheme::sha256), `sha1(secret)` (feature `sha1`) | | the hash, and the secret: bytes, or a source that finds it per request (feature `keys`) |
/// | [`header`](SignatureScheme::header) | `X-Signature` | the header carrying the signature(s) |
/// | [`encoding`](SignatureScheme::encoding) | hex | how each signature is written: [`Encoding`](crate::Encoding) |
/// | [`prefix`](SignatureScheme::prefix) | none | text before a single signature (`sha256=`) |
/// | [`signature_format`](SignatureScheme::signature_format) | one signature | several signatures, a timestamp inside the header: [`SignatureFormat`](crate::scheme::SignatureFormat) |
/// | [`signed_payload`](SignatureScheme::signed_payload) | `{body}` | what is signed: `{timestamp}.{body}`, `{id}.{timestamp}.{body}`, `{body}{timestamp}` |
/// | [`timestamp_header`](SignatureScheme::timestamp_header), [`id_header`](SignatureScheme::id_header) | none | where `{timestamp}` and `{id}` come from |
/// | [`timestamp_format`](SignatureScheme::timestamp_format) | Unix seconds | how the timestamp is written: [`TimestampFormat`](crate::scheme::TimestampFormat) |
/// | [`tolerance`](SignatureScheme::tolerance) | 5 minutes | how far a signed timestamp may be from now, either way |
/// | [`clock`](SignatureScheme::clock) | the system clock | what "now" is, for tests |
/// | [`also_accept(old_secret)`](HmacScheme#method.also_accept) | none | more secrets that verify, for rotation |
/// | [`named`](SignatureScheme::named) | `hmac-sha256` | the name in `tracing` events and metrics |
/// | [`event_id_header`](SignatureScheme::event_id_header), [`event_id_field`](SignatureScheme::event_id_field), [`event_id_fields`](SignatureScheme::event_id_fields), [`event_id_field_of_each`](SignatureScheme::event_id_field_of_each) | the signature | what names a delivery, for the [replay guard](crate::replay) |
///
/// [`sign`](HmacScheme::sign) and [`sign_message`](HmacScheme::sign_message) give what the
/// sender would send; [`header_name`](SignatureScheme::header_name) and
/// [`encoding_used`](SignatureScheme::encoding_used) what the scheme reads. Every sender's
/// preset is in [the guide's table](crate::guide::schemes).
///
/// # Example
///
/// A sender that signs `{timestamp}.{body}` with HMAC-SHA256, base64, in `X-Acme-Signature`,
/// with the Unix timestamp in `X-Acme-Timestamp`, while its secret is being rotated:
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::{Encoding, HmacScheme, WebhookSignatureLayer};
///
/// let scheme = HmacScheme::sha256("new secret")
///     .also_accept("old secret")
///     .header("X-Acme-Signature")
///     .encoding(Encoding::Base64)
///     .prefix("v1=")
///     .timestamp_header("X-Acme-Timestamp")
///     .signed_payload("{timestamp}.{body}")
///     .tolerance(Duration::from_secs(3 * 60))
///     .event_id_field("id")
///     .named("acme");
/// assert_eq!(scheme.header_name(), "x-acme-signature");
/// let layer = WebhookSignatureLayer::new(scheme);
/// ```
pub type HmacScheme = SignatureScheme<Hmac>;

/// The [`Verifier`](crate::scheme::Verifier) of an [`HmacScheme`].
pub type HmacVerifier = crate::scheme::envelope::signature::SignatureVerifier<Hmac>;

// Written through the alias so that `HmacScheme`'s own page lists these methods too.
impl HmacScheme {
    /// HMAC-SHA256 of the raw body under `secret`, hex-encoded in `X-Signature`, no prefix.
    ///
    /// `secret` is any byte string: `&str`, `String`, `&[u8]`, `Vec<u8>`; or, with the `keys`
    /// feature, a [`KeyResolver`](crate::keys) or `ReloadableKeys` that finds the secret per
    /// request (a secret per tenant, rotated live: see [`keys`](crate::keys)).
    ///
    /// # Panics
    ///
    /// If `secret` is empty. An empty key is almost always an unset environment variable, and
    /// anyone can compute an HMAC under it: refusing to start is safer than accepting forgeries.
    /// (An empty secret from a key source fails that request with `503` instead.)
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256(b"raw key bytes".to_vec());
    /// ```
    #[must_use]
    pub fn sha256(secret: impl IntoKeys) -> Self {
        Self::with_keys(hmac_keys(secret.into_keys(), Hmac::sha256), "hmac-sha256")
    }

    /// HMAC-SHA1 of the raw body under `secret`, for senders that still use SHA-1 (Intercom,
    /// Twilio). Otherwise as [`sha256`](Self::sha256).
    ///
    /// # Panics
    ///
    /// If `secret` is empty, as [`sha256`](Self::sha256).
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha1("secret").header("X-Hub-Signature").prefix("sha1=");
    /// assert_eq!(scheme.sign(b"").len(), "sha1=".len() + 40);
    /// ```
    #[cfg(feature = "sha1")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sha1")))]
    #[must_use]
    pub fn sha1(secret: impl IntoKeys) -> Self {
        Self::with_keys(hmac_keys(secret.into_keys(), Hmac::sha1), "hmac-sha1")
    }

    /// Another secret whose signatures are accepted too, for rotating secrets without
    /// downtime. [`Verified::key_index`](crate::Verified::key_index) says which one matched (0 is the one given to
    /// [`sha256`](Self::sha256), then these in order). Signing always uses the first.
    ///
    /// # Panics
    ///
    /// If `secret` is empty, as [`sha256`](Self::sha256), or if the keys are resolved per
    /// request: then the source returns every key that is valid for a name.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// let scheme = presets::github("new secret").also_accept("old secret");
    /// ```
    #[must_use]
    pub fn also_accept(mut self, secret: impl AsRef<[u8]>) -> Self {
        let keys = self.keys.fixed_mut();
        let key = keys.primary.same_algorithm(secret.as_ref());
        keys.scopes = keys
            .scopes
            .iter()
            .cloned()
            .chain([scope_of(&key)])
            .collect();
        keys.rotated.push(key);
        self
    }

    /// A fresh copy of the keyed MAC that signs: the first secret's.
    ///
    /// # Panics
    ///
    /// If the keys are resolved per request: no secret is at hand to sign with.
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented on `sign` and `sign_message`"
    )]
    pub(crate) fn signing_mac(&self) -> KeyedMac {
        match self.keys.fixed() {
            Some(keys) => keys.primary.clone(),
            None => panic!(
                "tower-webhook: a scheme whose keys are resolved per request cannot sign; \
                 build one with the secret to sign with"
            ),
        }
    }
}

impl Hmac {
    /// HMAC-SHA256 under `secret`; an empty secret is not a key.
    pub(crate) fn sha256(secret: &[u8]) -> Result<Self, InvalidKey> {
        Self::keyed(secret, KeyedMac::sha256)
    }

    /// HMAC-SHA1 under `secret`; an empty secret is not a key.
    #[cfg(feature = "sha1")]
    pub(crate) fn sha1(secret: &[u8]) -> Result<Self, InvalidKey> {
        Self::keyed(secret, KeyedMac::sha1)
    }

    /// A fresh copy of the keyed MAC that signs: the first secret's.
    #[cfg_attr(not(feature = "json"), allow(dead_code))]
    pub(crate) fn signing_mac(&self) -> KeyedMac {
        self.primary.clone()
    }

    fn keyed(secret: &[u8], mac: fn(&[u8]) -> KeyedMac) -> Result<Self, InvalidKey> {
        if secret.is_empty() {
            return Err(InvalidKey::expected("a non-empty HMAC secret"));
        }
        let primary = mac(secret);
        Ok(Self {
            scopes: Arc::from([scope_of(&primary)]),
            primary,
            rotated: Vec::new(),
        })
    }
}

/// HMAC keys from `keys`, each made by `parse`.
///
/// # Panics
///
/// If a given secret cannot be used (it is empty), as the constructors document.
#[expect(
    clippy::panic,
    reason = "a configuration error, documented under `# Panics`, caught on the first run"
)]
pub(crate) fn hmac_keys(keys: KeysFrom, parse: Parse<Hmac>) -> KeySlot<Hmac> {
    match KeySlot::new(keys, parse) {
        Ok(slot) => slot,
        Err(_) => {
            panic!("tower-webhook: the HMAC secret is empty; is its environment variable set?")
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use http::request::Parts;

    use super::*;
    use crate::{
        scheme::{Scheme, Verifier},
        Encoding, Verified,
    };

    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    // GitHub's published example for these inputs.
    const HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn request(values: &[&[u8]]) -> Parts {
        let mut builder = http::Request::builder();
        for value in values {
            builder = builder.header("x-signature", http::HeaderValue::from_bytes(value).unwrap());
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn verify(scheme: &HmacScheme, values: &[&[u8]], body: &[u8]) -> Result<Verified, Rejection> {
        let mut verifier = scheme.verifier(&request(values))?;
        verifier.update(body);
        verifier.finish(body)
    }

    fn reason(result: Result<Verified, Rejection>) -> &'static str {
        result.map_or_else(|r| r.reason(), |_| "ok")
    }

    #[test]
    fn hex_signature_verifies_in_either_case_and_with_surrounding_whitespace() {
        let scheme = HmacScheme::sha256(SECRET);
        assert_eq!(reason(verify(&scheme, &[HEX.as_bytes()], BODY)), "ok");
        let upper = HEX.to_ascii_uppercase();
        assert_eq!(reason(verify(&scheme, &[upper.as_bytes()], BODY)), "ok");
        let padded = format!(" \t{HEX} ");
        assert_eq!(reason(verify(&scheme, &[padded.as_bytes()], BODY)), "ok");
    }

    #[test]
    fn wrong_body_or_secret_is_invalid() {
        let scheme = HmacScheme::sha256(SECRET);
        assert_eq!(
            reason(verify(&scheme, &[HEX.as_bytes()], b"Hello, World?")),
            "invalid_signature"
        );
        let other = HmacScheme::sha256("another secret");
        assert_eq!(
            reason(verify(&other, &[HEX.as_bytes()], BODY)),
            "invalid_signature"
        );
    }

    #[test]
    fn a_delivery_is_named_alike_whichever_secret_s_signature_came() {
        // A sender signing under both secrets while one is rotated sends one delivery; a
        // copy carrying either signature alone has the same names.
        let scheme = HmacScheme::sha256(SECRET).also_accept("old secret");
        let old = HmacScheme::sha256("old secret").sign(BODY);
        let names = |signatures: &[&[u8]]| {
            let verified = verify(&scheme, signatures, BODY).unwrap();
            (verified.key_index(), verified.delivery_ids())
        };
        let (index, ids) = names(&[HEX.as_bytes()]);
        assert_eq!((index, ids.len()), (0, 2));
        assert_eq!(names(&[old.as_bytes()]), (1, ids.clone()));
        let alone = HmacScheme::sha256(SECRET);
        let verified = verify(&alone, &[HEX.as_bytes()], BODY).unwrap();
        assert_eq!(verified.delivery_ids(), vec![ids[0]], "one key, one name");
    }

    #[test]
    fn frames_fed_separately_give_the_same_mac() {
        let scheme = HmacScheme::sha256(SECRET);
        let mut verifier = scheme.verifier(&request(&[HEX.as_bytes()])).unwrap();
        for byte in BODY.chunks(1) {
            verifier.update(byte);
        }
        assert_eq!(verifier.finish(BODY).unwrap().key_index(), 0);
    }

    #[test]
    fn missing_or_blank_header_is_missing() {
        let scheme = HmacScheme::sha256(SECRET);
        assert_eq!(reason(verify(&scheme, &[], BODY)), "missing_signature");
        assert_eq!(reason(verify(&scheme, &[b""], BODY)), "missing_signature");
        assert_eq!(
            reason(verify(&scheme, &[b"  \t "], BODY)),
            "missing_signature"
        );
    }

    #[test]
    fn malformed_values_are_malformed_not_invalid() {
        let scheme = HmacScheme::sha256(SECRET);
        let cases: Vec<Vec<u8>> = vec![
            HEX[..62].into(),                                // truncated
            format!("{HEX}00").into(),                       // extended
            format!("{}zz", &HEX[..62]).into(),              // not hex
            format!("{} {}", &HEX[..32], &HEX[32..]).into(), // inner space
            format!("0x{}", &HEX[2..]).into(),               // 0x is not lenient
            [&HEX.as_bytes()[..63], &[0xff]].concat(),       // non-ASCII byte
        ];
        for case in &cases {
            assert_eq!(
                reason(verify(&scheme, &[case], BODY)),
                "malformed_signature",
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn the_header_sent_twice_is_malformed_even_if_one_is_right() {
        let scheme = HmacScheme::sha256(SECRET);
        assert_eq!(
            reason(verify(&scheme, &[HEX.as_bytes(), HEX.as_bytes()], BODY)),
            "malformed_signature"
        );
    }

    #[test]
    fn prefix_must_match_exactly() {
        let scheme = HmacScheme::sha256(SECRET).prefix("sha256=");
        let good = format!("sha256={HEX}");
        assert_eq!(reason(verify(&scheme, &[good.as_bytes()], BODY)), "ok");
        for bad in [
            HEX.to_owned(),
            format!("sha1={HEX}"),
            format!("SHA256={HEX}"),
            format!("sha256=sha256={HEX}"),
            format!("sha256= {HEX}"),
            "sha256=".to_owned(),
        ] {
            assert_eq!(
                reason(verify(&scheme, &[bad.as_bytes()], BODY)),
                "malformed_signature",
                "{bad}"
            );
        }
    }

    #[test]
    fn base64_requires_standard_alphabet_and_padding() {
        let scheme = HmacScheme::sha256(SECRET).encoding(Encoding::Base64);
        let good = scheme.sign(BODY);
        assert_eq!(good, STANDARD.encode(hex::decode(HEX).unwrap()));
        assert_eq!(reason(verify(&scheme, &[good.as_bytes()], BODY)), "ok");

        let unpadded = good.trim_end_matches('=').to_owned();
        let url_safe = good.replace('+', "-").replace('/', "_");
        assert_ne!(url_safe, good, "the test needs a value with + or /");
        let hex = HEX.to_owned();
        // Same length, but the last character carries trailing bits that must be zero.
        let mut non_canonical = good.clone().into_bytes();
        let last_data = non_canonical.len() - 2;
        non_canonical[last_data] = if non_canonical[last_data] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let non_canonical = String::from_utf8(non_canonical).unwrap();
        for bad in [unpadded, url_safe, hex, non_canonical] {
            let result = verify(&scheme, &[bad.as_bytes()], BODY);
            assert!(
                matches!(
                    result,
                    Err(Rejection::MalformedSignature | Rejection::InvalidSignature)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn sign_round_trips_through_verify() {
        for scheme in [
            HmacScheme::sha256("k"),
            HmacScheme::sha256("k").encoding(Encoding::Base64),
            HmacScheme::sha256("k").prefix("v1="),
        ] {
            let signature = scheme.sign(b"payload");
            assert_eq!(
                reason(verify(&scheme, &[signature.as_bytes()], b"payload")),
                "ok"
            );
        }
    }

    #[test]
    fn debug_shows_no_secret_material() {
        let scheme = HmacScheme::sha256("super-secret-value").prefix("sha256=");
        let shown = format!("{scheme:?}");
        assert!(!shown.contains("super-secret-value"), "{shown}");
        assert!(shown.contains("[redacted; 1]"), "{shown}");
        let verifier = scheme
            .verifier(&request(&[scheme.sign(b"x").as_bytes()]))
            .unwrap();
        let shown = format!("{verifier:?}");
        assert!(!shown.contains(&scheme.sign(b"x")[7..]), "{shown}");
    }

    #[test]
    #[should_panic(expected = "secret is empty")]
    fn empty_secret_is_refused_at_start_up() {
        let _ = HmacScheme::sha256("");
    }

    #[test]
    #[should_panic(expected = "not a valid HTTP header name")]
    fn invalid_header_name_is_refused_at_start_up() {
        let _ = HmacScheme::sha256("k").header("bad header");
    }
}
