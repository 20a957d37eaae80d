//! [`HmacScheme`]: an HMAC of the raw body, in a header, hex or base64, with an optional prefix.

use std::{borrow::Cow, fmt};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac as _};
use http::{request::Parts, HeaderName};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Scheme, Verified, Verifier};
use crate::Rejection;

/// How the MAC is written in the header.
///
/// ```
/// use tower_webhook::{Encoding, HmacScheme};
///
/// let scheme = HmacScheme::sha256("secret").encoding(Encoding::Base64);
/// assert_eq!(scheme.encoding_used(), Encoding::Base64);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Hexadecimal, either case accepted (`9f86d0…`, `9F86D0…`). Signing writes lowercase.
    #[default]
    Hex,
    /// Standard base64 (RFC 4648 §4, `+` and `/`) with its `=` padding, which is required.
    Base64,
}

/// The largest MAC any supported algorithm produces, in bytes.
const MAX_TAG_LEN: usize = 64;

/// A MAC value: the computed one or the one decoded from the header.
#[derive(Clone, Copy)]
struct Tag {
    bytes: [u8; MAX_TAG_LEN],
    len: usize,
}

impl Tag {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// An HMAC keyed once, when the scheme is built; each request clones the keyed state, which
/// saves hashing the key's two padded blocks on every request.
#[derive(Clone)]
enum KeyedMac {
    Sha256(Hmac<Sha256>),
}

impl KeyedMac {
    fn sha256(secret: &[u8]) -> Self {
        match Hmac::<Sha256>::new_from_slice(secret) {
            Ok(mac) => Self::Sha256(mac),
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        }
    }

    fn output_len(&self) -> usize {
        match self {
            Self::Sha256(_) => 32,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(mac) => mac.update(data),
        }
    }

    fn finalize(self) -> Tag {
        let mut tag = Tag {
            bytes: [0; MAX_TAG_LEN],
            len: self.output_len(),
        };
        match self {
            Self::Sha256(mac) => tag.bytes[..32].copy_from_slice(&mac.finalize().into_bytes()),
        }
        tag
    }
}

/// An HMAC of the raw request body, sent in one header.
///
/// Built with [`HmacScheme::sha256`] and described with builder methods: which header
/// ([`header`](Self::header), default `X-Signature`), which [`Encoding`]
/// ([`encoding`](Self::encoding), default hex), and an optional [`prefix`](Self::prefix) before
/// the value (`sha256=`).
///
/// Parsing is strict: the header must appear once; surrounding whitespace is ignored and hex
/// may be either case, but the prefix must match exactly and the value must decode to exactly
/// the MAC's length. The comparison is constant time.
///
/// The secret is used to key the MAC when the scheme is built and is not kept; `Debug` shows
/// neither it nor the keyed state.
///
/// # Example
///
/// ```
/// use tower_webhook::{Encoding, HmacScheme, WebhookSignatureLayer};
///
/// let scheme = HmacScheme::sha256("my-signing-secret") // HMAC-SHA256 of the raw body
///     .header("X-Signature")                           // where the signature is
///     .encoding(Encoding::Base64)                      // Hex (default) | Base64
///     .prefix("sha256=");                              // optional text before the value
///
/// assert_eq!(scheme.sign(b"hello"), "sha256=xlEemLaQqsj4zZsBocNq+IvOEEKLIsfS0iZlxZaKIwk=");
/// let layer = WebhookSignatureLayer::new(scheme);
/// ```
#[derive(Clone)]
pub struct HmacScheme {
    name: Cow<'static, str>,
    header: HeaderName,
    encoding: Encoding,
    prefix: Cow<'static, str>,
    keys: Vec<KeyedMac>,
}

impl HmacScheme {
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
        let secret = secret.as_ref();
        assert!(
            !secret.is_empty(),
            "tower-webhook: the HMAC secret is empty; is its environment variable set?"
        );
        Self {
            name: Cow::Borrowed("hmac-sha256"),
            header: HeaderName::from_static("x-signature"),
            encoding: Encoding::Hex,
            prefix: Cow::Borrowed(""),
            keys: vec![KeyedMac::sha256(secret)],
        }
    }

    /// The header that carries the signature (matched case-insensitively, as HTTP does).
    ///
    /// # Panics
    ///
    /// If `name` is not a valid HTTP header name. Header names are fixed by the sender, so
    /// this is a programming error caught on the first run.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret").header("X-Hub-Signature-256");
    /// assert_eq!(scheme.header_name(), "x-hub-signature-256");
    /// ```
    #[must_use]
    pub fn header(mut self, name: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        self.header = match HeaderName::from_bytes(name.as_bytes()) {
            Ok(header) => header,
            Err(_) => panic!("tower-webhook: `{name}` is not a valid HTTP header name"),
        };
        self
    }

    /// How the MAC is written in the header. Default: [`Encoding::Hex`].
    ///
    /// ```
    /// use tower_webhook::{Encoding, HmacScheme};
    ///
    /// let scheme = HmacScheme::sha256("secret").encoding(Encoding::Base64);
    /// ```
    #[must_use]
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Text that must come right before the encoded MAC, such as `sha256=`. Matched exactly,
    /// case included. Default: none.
    ///
    /// # Panics
    ///
    /// If `prefix` has characters other than visible ASCII, which no header value can carry.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret").prefix("sha256=");
    /// assert!(scheme.sign(b"").starts_with("sha256="));
    /// ```
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<Cow<'static, str>>) -> Self {
        let prefix = prefix.into();
        assert!(
            prefix.bytes().all(|b| b.is_ascii_graphic()),
            "tower-webhook: the signature prefix `{}` must be visible ASCII",
            prefix.escape_debug()
        );
        self.prefix = prefix;
        self
    }

    /// The name used for this scheme in `tracing` events. Default: `hmac-sha256`; presets use
    /// the sender's name.
    ///
    /// ```
    /// use tower_webhook::{HmacScheme, Scheme};
    ///
    /// let scheme = HmacScheme::sha256("secret").named("acme");
    /// assert_eq!(Scheme::name(&scheme), "acme");
    /// ```
    #[must_use]
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// The header this scheme reads.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert_eq!(presets::loop_returns("secret").header_name(), "x-loop-signature");
    /// ```
    #[must_use]
    pub fn header_name(&self) -> &HeaderName {
        &self.header
    }

    /// The encoding this scheme expects.
    ///
    /// ```
    /// use tower_webhook::{presets, Encoding};
    ///
    /// assert_eq!(presets::loopwise("secret").encoding_used(), Encoding::Hex);
    /// ```
    #[must_use]
    pub fn encoding_used(&self) -> Encoding {
        self.encoding
    }

    /// The header value a sender would send for `body`: prefix and encoded MAC under the
    /// (first) secret. Use it to sign test requests and outgoing webhooks.
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
        let mut mac = self.keys[0].clone();
        mac.update(body);
        let tag = mac.finalize();
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(tag.as_slice()),
            Encoding::Base64 => STANDARD.encode(tag.as_slice()),
        };
        let mut value = String::with_capacity(self.prefix.len() + encoded.len());
        value.push_str(&self.prefix);
        value.push_str(&encoded);
        value
    }

    /// Decodes the signature header of `request` into the MAC it claims.
    fn claimed_tag(&self, request: &Parts) -> Result<Tag, Rejection> {
        let mut values = request.headers.get_all(&self.header).iter();
        let value = values.next().ok_or(Rejection::MissingSignature)?;
        // Two signature headers are ambiguous: a proxy or client may read the other one.
        if values.next().is_some() {
            return Err(Rejection::MalformedSignature);
        }
        let value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        let encoded = value
            .strip_prefix(self.prefix.as_bytes())
            .ok_or(Rejection::MalformedSignature)?;

        let len = self.keys[0].output_len();
        let mut tag = Tag {
            bytes: [0; MAX_TAG_LEN],
            len,
        };
        if decode_exact(self.encoding, encoded, &mut tag.bytes[..len]) {
            Ok(tag)
        } else {
            Err(Rejection::MalformedSignature)
        }
    }
}

/// Decodes `encoded` into exactly `out.len()` bytes; `false` for anything else.
fn decode_exact(encoding: Encoding, encoded: &[u8], out: &mut [u8]) -> bool {
    match encoding {
        Encoding::Hex => {
            encoded.len() == 2 * out.len() && hex::decode_to_slice(encoded, out).is_ok()
        }
        Encoding::Base64 => {
            if encoded.len() != 4 * out.len().div_ceil(3) {
                return false;
            }
            // Room for the decoder's worst-case estimate; the exact length is checked.
            let mut buf = [0u8; MAX_TAG_LEN + 3];
            match STANDARD.decode_slice(encoded, &mut buf) {
                Ok(n) if n == out.len() => {
                    out.copy_from_slice(&buf[..n]);
                    true
                }
                _ => false,
            }
        }
    }
}

impl Scheme for HmacScheme {
    type Verifier = HmacVerifier;

    fn name(&self) -> &str {
        &self.name
    }

    fn verifier(&self, request: &Parts) -> Result<HmacVerifier, Rejection> {
        let claimed = self.claimed_tag(request)?;
        Ok(HmacVerifier {
            macs: self.keys.clone(),
            claimed,
        })
    }
}

impl fmt::Debug for HmacScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacScheme")
            .field("name", &self.name)
            .field("header", &self.header)
            .field("encoding", &self.encoding)
            .field("prefix", &self.prefix)
            .field("secrets", &format_args!("[redacted; {}]", self.keys.len()))
            .finish()
    }
}

/// The [`Verifier`] of an [`HmacScheme`]: the keyed MACs, fed the body as it arrives, and
/// the MAC the header claims.
pub struct HmacVerifier {
    macs: Vec<KeyedMac>,
    claimed: Tag,
}

impl Verifier for HmacVerifier {
    fn update(&mut self, chunk: &[u8]) {
        for mac in &mut self.macs {
            mac.update(chunk);
        }
    }

    fn finish(self, _body: &[u8]) -> Result<Verified, Rejection> {
        for (index, mac) in self.macs.into_iter().enumerate() {
            // Constant time: a byte-by-byte early exit would tell an attacker how many
            // leading bytes of a forged MAC are right.
            if bool::from(mac.finalize().as_slice().ct_eq(self.claimed.as_slice())) {
                return Ok(Verified::new(index));
            }
        }
        Err(Rejection::InvalidSignature)
    }
}

impl fmt::Debug for HmacVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacVerifier")
            .field("secrets", &format_args!("[redacted; {}]", self.macs.len()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
