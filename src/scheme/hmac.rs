//! [`HmacScheme`]: an HMAC (SHA-256, or SHA-1 with the `sha1` feature) under shared
//! secrets, and the signing side: [`HmacScheme::sign_message`].

use std::{
    borrow::Cow,
    fmt,
    sync::atomic::{AtomicU64, Ordering},
};

use hmac::{Hmac as HmacOf, Mac as _};
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{
    payload::Piece,
    signature::{sealed, SignatureScheme, Tag},
};
use crate::{clock::unix_seconds, Rejection};

/// An HMAC keyed once, when the scheme is built; each request clones the keyed state, which
/// saves hashing the key's two padded blocks on every request.
/// # Panics
///
/// If `secret` is empty (documented on the constructors that take secrets).
#[expect(
    clippy::unreachable,
    reason = "HMAC accepts keys of any length (RFC 2104); the error cannot happen"
)]
fn keyed<M: hmac::digest::KeyInit>(secret: &[u8]) -> M {
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
    Sha256(HmacOf<Sha256>),
    #[cfg(feature = "sha1")]
    Sha1(HmacOf<sha1::Sha1>),
}

impl KeyedMac {
    /// HMAC-SHA256 under `secret`.
    pub(crate) fn sha256(secret: &[u8]) -> Self {
        Self::Sha256(keyed(secret))
    }

    /// HMAC-SHA1 under `secret`.
    #[cfg(feature = "sha1")]
    pub(crate) fn sha1(secret: &[u8]) -> Self {
        Self::Sha1(keyed(secret))
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

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(mac) => mac.update(data),
            #[cfg(feature = "sha1")]
            Self::Sha1(mac) => mac.update(data),
        }
    }

    pub(crate) fn finalize(self) -> Tag {
        let mut tag = Tag::zeroed(self.output_len());
        match self {
            Self::Sha256(mac) => tag
                .as_mut_slice()
                .copy_from_slice(&mac.finalize().into_bytes()),
            #[cfg(feature = "sha1")]
            Self::Sha1(mac) => tag
                .as_mut_slice()
                .copy_from_slice(&mac.finalize().into_bytes()),
        }
        tag
    }

    /// Whether this MAC, finished, equals any of `claimed`, compared in constant time: a
    /// byte-by-byte early exit would tell an attacker how many leading bytes of a forged MAC
    /// are right.
    /// Returns the MAC when it matches.
    pub(crate) fn matches_any(self, claimed: &[Tag]) -> Option<Tag> {
        let computed = self.finalize();
        let matched = claimed
            .iter()
            .fold(subtle::Choice::from(0), |any, claimed| {
                any | computed.as_slice().ct_eq(claimed.as_slice())
            });
        bool::from(matched).then_some(computed)
    }
}

/// The HMAC [`Algorithm`](crate::Algorithm): shared secrets, each keyed once when the scheme
/// is built. The first secret signs; every one verifies.
#[derive(Clone)]
pub struct Hmac {
    /// The secret that signs, and the first tried.
    primary: KeyedMac,
    /// Older secrets still accepted, in the order given.
    rotated: Vec<KeyedMac>,
}

/// The per-request state of [`Hmac`]: one running MAC per secret, and the claimed MACs.
pub struct HmacState {
    macs: Vec<KeyedMac>,
    claimed: Vec<Tag>,
}

impl sealed::Algorithm for Hmac {
    type State = HmacState;

    fn default_name(&self) -> &'static str {
        match self.primary {
            KeyedMac::Sha256(_) => "hmac-sha256",
            #[cfg(feature = "sha1")]
            KeyedMac::Sha1(_) => "hmac-sha1",
        }
    }

    fn start(&self, claimed: Vec<Tag>) -> Result<HmacState, Rejection> {
        let len = self.primary.output_len();
        if claimed.iter().any(|tag| tag.as_slice().len() != len) {
            return Err(Rejection::MalformedSignature);
        }
        Ok(HmacState {
            macs: std::iter::once(&self.primary)
                .chain(&self.rotated)
                .cloned()
                .collect(),
            claimed,
        })
    }

    fn update(state: &mut HmacState, data: &[u8]) {
        for mac in &mut state.macs {
            mac.update(data);
        }
    }

    fn finish(state: HmacState) -> Result<(usize, Tag), Rejection> {
        state
            .macs
            .into_iter()
            .enumerate()
            .find_map(|(index, mac)| Some((index, mac.matches_any(&state.claimed)?)))
            .ok_or(Rejection::InvalidSignature)
    }
}

impl fmt::Debug for Hmac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted; {}]", 1 + self.rotated.len())
    }
}

/// An HMAC-signed webhook scheme: [`SignatureScheme`] under shared secrets.
///
/// Every builder method of [`SignatureScheme`] applies; these are HMAC's own.
pub type HmacScheme = SignatureScheme<Hmac>;

/// The [`Verifier`](crate::Verifier) of an [`HmacScheme`].
pub type HmacVerifier = super::signature::SignatureVerifier<Hmac>;

impl SignatureScheme<Hmac> {
    /// HMAC-SHA256 of the raw body under `secret`, hex-encoded in `X-Signature`, no prefix.
    ///
    /// `secret` is any byte string: `&str`, `String`, `&[u8]`, `Vec<u8>`.
    ///
    /// # Panics
    ///
    /// If `secret` is empty. An empty key is almost always an unset environment variable, and
    /// anyone can compute an HMAC under it: refusing to start is safer than accepting forgeries.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256(b"raw key bytes".to_vec());
    /// ```
    #[must_use]
    pub fn sha256(secret: impl AsRef<[u8]>) -> Self {
        Self::with_keys(Hmac {
            primary: KeyedMac::sha256(secret.as_ref()),
            rotated: Vec::new(),
        })
    }

    /// HMAC-SHA1 of the raw body under `secret`, for senders that still use SHA-1 (Intercom,
    /// Twilio). Otherwise as [`sha256`](Self::sha256), including its panic on an empty secret.
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
    pub fn sha1(secret: impl AsRef<[u8]>) -> Self {
        Self::with_keys(Hmac {
            primary: KeyedMac::sha1(secret.as_ref()),
            rotated: Vec::new(),
        })
    }

    /// Another secret whose signatures are accepted too, for rotating secrets without
    /// downtime. [`Verified::key_index`](crate::Verified::key_index) says which one matched (0 is the one given to
    /// [`sha256`](Self::sha256), then these in order). Signing always uses the first.
    ///
    /// # Panics
    ///
    /// If `secret` is empty, as [`sha256`](Self::sha256).
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// let scheme = presets::github("new secret").also_accept("old secret");
    /// ```
    #[must_use]
    pub fn also_accept(mut self, secret: impl AsRef<[u8]>) -> Self {
        let key = self.keys.primary.same_algorithm(secret.as_ref());
        self.keys.rotated.push(key);
        self
    }

    /// The value of the signature header a sender would send for `body`, under the first
    /// secret, timestamped now if the scheme signs a timestamp.
    ///
    /// For schemes that sign a timestamp or an id, [`sign_message`](Self::sign_message) gives
    /// every header the request needs.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// let loopwise = presets::loopwise("your_signing_key_here");
    /// assert_eq!(
    ///     loopwise.sign(br#"{"event":"order.paid","data":{"id":"ord_123","amount":4200}}"#),
    ///     "262ad9afa352439001eda51e7e46a3f73b88ca82807acaed69cf4372daa16bb8",
    /// );
    /// ```
    #[must_use]
    pub fn sign(&self, body: &[u8]) -> String {
        self.signature_value(&self.complete(&Message::new(body)))
    }

    /// Every header a sender would send for `message`: the signature, and the timestamp and
    /// id headers where the scheme has them. A message without a timestamp is signed at the
    /// clock's now; one without an id, where the scheme needs one, gets a fresh `msg_…` id.
    ///
    /// ```
    /// use tower_webhook::{presets, Message};
    ///
    /// let scheme = presets::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let headers = scheme.sign_message(
    ///     &Message::new(br#"{"test": 2432232314}"#)
    ///         .timestamp(1614265330)
    ///         .id("msg_p5jXN8AQM9LWM0D4loKWxJek"),
    /// );
    /// assert_eq!(headers["webhook-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /// assert_eq!(headers["webhook-timestamp"], "1614265330");
    /// assert_eq!(headers["webhook-id"], "msg_p5jXN8AQM9LWM0D4loKWxJek");
    /// # Ok::<(), tower_webhook::presets::InvalidSecret>(())
    /// ```
    #[must_use]
    pub fn sign_message(&self, message: &Message<'_>) -> HeaderMap {
        let message = self.complete(message);
        let mut headers = HeaderMap::new();
        let value = self.signature_value(&message);
        // Every part is visible ASCII: the format's texts are checked when set, the
        // timestamp is digits, the id is checked by `Message::id`, the MAC is encoded.
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(self.signature_header.clone(), value);
        }
        if let Some(name) = self.timestamp_headers.first() {
            headers.insert(
                name.clone(),
                HeaderValue::from(message.timestamp.unwrap_or(0)),
            );
        }
        if let (Some(name), Some(id)) = (self.id_headers.first(), message.id) {
            if let Ok(value) = HeaderValue::try_from(id.as_ref()) {
                headers.insert(name.clone(), value);
            }
        }
        headers
    }

    /// Fills in what the scheme needs and the message lacks.
    fn complete<'a>(&self, message: &Message<'a>) -> Message<'a> {
        let mut message = message.clone();
        if message.timestamp.is_none() {
            message.timestamp = Some(unix_seconds(&*self.clock));
        }
        if message.id.is_none() && self.payload.needs(&Piece::Id) {
            message.id = Some(Cow::Owned(fresh_id()));
        }
        message
    }

    /// The signature header's value for a message [`complete`](Self::complete) has filled in.
    fn signature_value(&self, message: &Message<'_>) -> String {
        let timestamp = message.timestamp.unwrap_or(0);
        let mut mac = self.keys.primary.clone();
        let timestamp_text = timestamp.to_string();
        for piece in self.payload.pieces() {
            match piece {
                Piece::Literal(bytes) => mac.update(bytes),
                Piece::Timestamp => mac.update(timestamp_text.as_bytes()),
                Piece::Id => mac.update(message.id.as_deref().unwrap_or("").as_bytes()),
            }
        }
        mac.update(message.body);
        let encoded = self.encoding.encode(mac.finalize().as_slice());
        self.format.render(&encoded, timestamp)
    }
}

/// A message id unique within this process and across restarts in practice.
fn fresh_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "msg_{nanos:x}{:04x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

/// A message to sign: its body and, for schemes that sign them, its timestamp and id.
///
/// ```
/// use tower_webhook::{presets, Message};
///
/// let headers = presets::stripe("whsec_test")
///     .sign_message(&Message::new(b"{}").timestamp(1_700_000_000));
/// assert!(headers["stripe-signature"].to_str()?.starts_with("t=1700000000,v1="));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Message<'a> {
    body: &'a [u8],
    timestamp: Option<u64>,
    id: Option<Cow<'a, str>>,
}

impl<'a> Message<'a> {
    /// A message with this body, timestamped when signed, with an id made up if needed.
    #[must_use]
    pub fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            timestamp: None,
            id: None,
        }
    }

    /// Signs this timestamp (seconds since the Unix epoch) instead of the clock's now.
    #[must_use]
    pub fn timestamp(mut self, unix_seconds: u64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// Signs this message id. Ids are visible ASCII; other characters are dropped.
    #[must_use]
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(if id.bytes().all(|b| b.is_ascii_graphic()) {
            Cow::Borrowed(id)
        } else {
            Cow::Owned(id.chars().filter(char::is_ascii_graphic).collect())
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use http::request::Parts;

    use super::*;
    use crate::{Encoding, Scheme, Verified, Verifier};

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
