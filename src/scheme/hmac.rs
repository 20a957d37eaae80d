//! [`HmacScheme`]: an HMAC of the raw body (and optionally a timestamp or id before it), in a
//! header, hex or base64.

use std::{
    borrow::Cow,
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac as _};
use http::{request::Parts, HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{
    format::SignatureFormat,
    payload::{Piece, SignedPayload},
    Scheme, Verified, Verifier,
};
use crate::{
    clock::{unix_seconds, Clock, SystemClock},
    Rejection,
};

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

impl Encoding {
    fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
        }
    }

    /// Decodes `encoded` into exactly `out.len()` bytes; `false` for anything else.
    fn decode_exact(self, encoded: &[u8], out: &mut [u8]) -> bool {
        match self {
            Self::Hex => {
                encoded.len() == 2 * out.len() && hex::decode_to_slice(encoded, out).is_ok()
            }
            Self::Base64 => {
                if encoded.len() != 4 * out.len().div_ceil(3) {
                    return false;
                }
                // Room for the decoder's worst-case estimate; the exact length is checked.
                let mut buf = [0u8; MAX_TAG_LEN + 3];
                match STANDARD
                    .decode_slice(encoded, &mut buf)
                    .map(|n| buf.get(..n))
                {
                    Ok(Some(decoded)) if decoded.len() == out.len() => {
                        out.copy_from_slice(decoded);
                        true
                    }
                    _ => false,
                }
            }
        }
    }
}

/// The default tolerance between a signed timestamp and the receiver's clock, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The largest MAC any supported algorithm produces, in bytes.
const MAX_TAG_LEN: usize = 64;

/// A MAC value: the computed one or one decoded from the header.
#[derive(Clone, Copy)]
struct Tag {
    bytes: [u8; MAX_TAG_LEN],
    len: usize,
}

impl Tag {
    fn zeroed(len: usize) -> Self {
        Self {
            bytes: [0; MAX_TAG_LEN],
            len: len.min(MAX_TAG_LEN),
        }
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        self.bytes.get_mut(..self.len).unwrap_or_default()
    }
}

/// An HMAC keyed once, when the scheme is built; each request clones the keyed state, which
/// saves hashing the key's two padded blocks on every request.
#[derive(Clone)]
enum KeyedMac {
    Sha256(Hmac<Sha256>),
}

impl KeyedMac {
    #[expect(
        clippy::unreachable,
        reason = "HMAC accepts keys of any length (RFC 2104); the error cannot happen"
    )]
    fn sha256(secret: &[u8]) -> Self {
        assert!(
            !secret.is_empty(),
            "tower-webhook: the HMAC secret is empty; is its environment variable set?"
        );
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
        let mut tag = Tag::zeroed(self.output_len());
        match self {
            Self::Sha256(mac) => tag
                .as_mut_slice()
                .copy_from_slice(&mac.finalize().into_bytes()),
        }
        tag
    }
}

/// An HMAC-signed webhook scheme: which header(s), which bytes, which secret(s).
///
/// Built with [`HmacScheme::sha256`] and described with builder methods:
///
/// | method | default | what |
/// |---|---|---|
/// | [`header`](Self::header) | `X-Signature` | the header carrying the signature(s) |
/// | [`encoding`](Self::encoding) | hex | how each MAC is written |
/// | [`prefix`](Self::prefix) | none | text before a single signature (`sha256=`) |
/// | [`signature_format`](Self::signature_format) | one signature | several signatures, a timestamp inside the header |
/// | [`signed_payload`](Self::signed_payload) | `{body}` | what is signed: `{timestamp}.{body}`, `{id}.{timestamp}.{body}` |
/// | [`timestamp_header`](Self::timestamp_header), [`id_header`](Self::id_header) | none | where `{timestamp}` and `{id}` come from |
/// | [`tolerance`](Self::tolerance) | 5 minutes | how far a signed timestamp may be from now, either way |
/// | [`also_accept`](Self::also_accept) | none | more secrets that verify (key rotation) |
///
/// Parsing is strict: the signature header must appear once; surrounding whitespace is ignored
/// and hex may be either case, but prefixes, separators and lengths must be exact. Every MAC
/// comparison is constant time. A request passes if any secret verifies any of its signatures.
///
/// Secrets key the MAC when the scheme is built and are not kept; `Debug` shows neither them
/// nor the keyed state.
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
    /// Where the signature is.
    signature_header: HeaderName,
    /// Read when `signature_header` is absent (Standard Webhooks' `svix-signature`).
    signature_fallback: Option<HeaderName>,
    timestamp_headers: Vec<HeaderName>,
    id_headers: Vec<HeaderName>,
    encoding: Encoding,
    format: SignatureFormat,
    payload: SignedPayload,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
    /// The secret that signs, and the first tried.
    primary: KeyedMac,
    /// Older secrets still accepted ([`also_accept`](Self::also_accept)), in order.
    rotated: Vec<KeyedMac>,
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
        Self {
            name: Cow::Borrowed("hmac-sha256"),
            signature_header: HeaderName::from_static("x-signature"),
            signature_fallback: None,
            timestamp_headers: Vec::new(),
            id_headers: Vec::new(),
            encoding: Encoding::Hex,
            format: SignatureFormat::default(),
            payload: SignedPayload::default(),
            tolerance: DEFAULT_TOLERANCE,
            clock: Arc::new(SystemClock),
            primary: KeyedMac::sha256(secret.as_ref()),
            rotated: Vec::new(),
        }
    }

    /// Another secret whose signatures are accepted too, for rotating secrets without
    /// downtime. [`Verified::key_index`] says which one matched (0 is the one given to
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
        let key = match &self.primary {
            KeyedMac::Sha256(_) => KeyedMac::sha256(secret.as_ref()),
        };
        self.rotated.push(key);
        self
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
        self.signature_header = header_name(name.as_ref());
        self
    }

    /// The header that carries the signed timestamp, in whole seconds since the Unix epoch
    /// (Slack's `X-Slack-Request-Timestamp`). Requests without it are rejected, and so are
    /// those whose timestamp is further than the [`tolerance`](Self::tolerance) from now.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid HTTP header name.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret")
    ///     .header("X-Acme-Signature")
    ///     .timestamp_header("X-Acme-Timestamp")
    ///     .signed_payload("{timestamp}:{body}");
    /// ```
    #[must_use]
    pub fn timestamp_header(mut self, name: impl AsRef<str>) -> Self {
        self.timestamp_headers = vec![header_name(name.as_ref())];
        self
    }

    /// The header that carries the message id signed as `{id}` (Standard Webhooks'
    /// `webhook-id`). Requests that need it and lack it are rejected.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid HTTP header name.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret")
    ///     .id_header("X-Acme-Delivery")
    ///     .signed_payload("{id}.{body}");
    /// ```
    #[must_use]
    pub fn id_header(mut self, name: impl AsRef<str>) -> Self {
        self.id_headers = vec![header_name(name.as_ref())];
        self
    }

    /// How each MAC is written in the header. Default: [`Encoding::Hex`].
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

    /// Text that must come right before the encoded MAC, such as `sha256=`: shorthand for
    /// [`SignatureFormat::Single`] with that prefix. Matched exactly, case included.
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
    pub fn prefix(self, prefix: impl Into<Cow<'static, str>>) -> Self {
        self.signature_format(SignatureFormat::Single {
            prefix: prefix.into(),
        })
    }

    /// How the signature header lays out its signature(s) and timestamp. Default: one
    /// signature, no prefix.
    ///
    /// # Panics
    ///
    /// If the format's texts are not visible ASCII, which no header value can carry.
    ///
    /// ```
    /// use tower_webhook::{HmacScheme, SignatureFormat};
    ///
    /// // Stripe's layout: `t=<timestamp>,v1=<hex>[,v1=<hex>…]`
    /// let scheme = HmacScheme::sha256("secret")
    ///     .header("Stripe-Signature")
    ///     .signature_format(SignatureFormat::Pairs {
    ///         separator: ',',
    ///         timestamp_key: "t".into(),
    ///         signature_key: "v1".into(),
    ///     })
    ///     .signed_payload("{timestamp}.{body}");
    /// ```
    #[must_use]
    pub fn signature_format(mut self, format: SignatureFormat) -> Self {
        let texts: Vec<String> = match &format {
            SignatureFormat::Single { prefix } => vec![prefix.to_string()],
            SignatureFormat::Pairs {
                separator,
                timestamp_key,
                signature_key,
            } => vec![
                separator.to_string(),
                timestamp_key.to_string(),
                signature_key.to_string(),
            ],
            SignatureFormat::Versioned { version } => vec![version.to_string()],
        };
        for text in texts {
            assert!(
                text.bytes().all(|b| b.is_ascii_graphic()),
                "tower-webhook: `{}` in the signature format must be visible ASCII",
                text.escape_debug()
            );
        }
        self.format = format;
        self
    }

    /// What is signed: a template of literal text and the placeholders `{timestamp}`, `{id}`
    /// and `{body}`, which comes once, at the end. Default: `{body}`.
    ///
    /// `{timestamp}` is the timestamp exactly as sent, from the signature header
    /// ([`SignatureFormat::Pairs`]) or the [`timestamp_header`](Self::timestamp_header); `{id}`
    /// is the [`id_header`](Self::id_header)'s value.
    ///
    /// # Panics
    ///
    /// If the template does not end with `{body}` or has another placeholder.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let slack_like = HmacScheme::sha256("secret")
    ///     .header("X-Slack-Signature")
    ///     .prefix("v0=")
    ///     .timestamp_header("X-Slack-Request-Timestamp")
    ///     .signed_payload("v0:{timestamp}:{body}");
    /// ```
    #[must_use]
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    pub fn signed_payload(mut self, template: &str) -> Self {
        self.payload = match SignedPayload::parse(template) {
            Ok(payload) => payload,
            Err(message) => panic!("tower-webhook: {message}"),
        };
        self
    }

    /// How far a signed timestamp may be from the receiver's clock, in either direction
    /// (a timestamp exactly at the edge passes). Default: [`DEFAULT_TOLERANCE`], 5 minutes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::presets;
    ///
    /// let stripe = presets::stripe("whsec_…").tolerance(Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Where the current time comes from, for the tolerance check and for signing. Default:
    /// [`SystemClock`]. Tests pass a closure that returns a fixed time.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_webhook::presets;
    ///
    /// let slack = presets::slack("secret").clock(|| UNIX_EPOCH + Duration::from_secs(1_531_420_618));
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
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

    /// Also read the signature, timestamp and id from these headers when the primary ones are
    /// absent (Standard Webhooks senders that still use `svix-*` names).
    pub(crate) fn fallback_headers(mut self, signature: &str, timestamp: &str, id: &str) -> Self {
        self.signature_fallback = Some(header_name(signature));
        self.timestamp_headers.push(header_name(timestamp));
        self.id_headers.push(header_name(id));
        self
    }

    /// Signs `literal` (a URL) before the body, for senders that sign where they sent to.
    pub(crate) fn signed_literal_then_body(mut self, literal: impl Into<bytes::Bytes>) -> Self {
        self.payload = SignedPayload::literal_then_body(literal);
        self
    }

    /// The header this scheme reads the signature from.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// assert_eq!(presets::loop_returns("secret").header_name(), "x-loop-signature");
    /// ```
    #[must_use]
    pub fn header_name(&self) -> &HeaderName {
        &self.signature_header
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
        let mut mac = self.primary.clone();
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

    /// The timestamp the request claims, if the scheme has one, checked against the window.
    fn fresh_timestamp<'a>(
        &self,
        request: &'a Parts,
        in_header: Option<&'a [u8]>,
    ) -> Result<Option<&'a [u8]>, Rejection> {
        let claimed = if self.format.carries_timestamp() {
            Some(in_header.ok_or(Rejection::InvalidTimestamp)?)
        } else if !self.timestamp_headers.is_empty() {
            let value = find_one(&request.headers, &self.timestamp_headers)?
                .ok_or(Rejection::InvalidTimestamp)?;
            Some(value.as_bytes().trim_ascii())
        } else if self.payload.needs(&Piece::Timestamp) {
            // Signs a timestamp it has nowhere to read: fail closed.
            return Err(Rejection::InvalidTimestamp);
        } else {
            None
        };
        if let Some(text) = claimed {
            let seconds = parse_seconds(text).ok_or(Rejection::InvalidTimestamp)?;
            let now = unix_seconds(&*self.clock);
            if now.abs_diff(seconds) > self.tolerance.as_secs() {
                return Err(Rejection::TimestampOutOfTolerance);
            }
        }
        Ok(claimed)
    }
}

/// Whole seconds as plain decimal digits (at most 19, so any value fits in a `u64`).
fn parse_seconds(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

#[expect(
    clippy::panic,
    reason = "a configuration error, documented under `# Panics`, caught on the first run"
)]
fn header_name(name: &str) -> HeaderName {
    match HeaderName::from_bytes(name.as_bytes()) {
        Ok(header) => header,
        Err(_) => panic!("tower-webhook: `{name}` is not a valid HTTP header name"),
    }
}

/// The value of the first of `names` present in `headers`. A header sent more than once is
/// ambiguous (a proxy or another reader may use the other copy) and so malformed.
fn find_one<'a, 'n>(
    headers: &'a HeaderMap,
    names: impl IntoIterator<Item = &'n HeaderName>,
) -> Result<Option<&'a HeaderValue>, Rejection> {
    for name in names {
        let mut values = headers.get_all(name).iter();
        if let Some(value) = values.next() {
            if values.next().is_some() {
                return Err(Rejection::MalformedSignature);
            }
            return Ok(Some(value));
        }
    }
    Ok(None)
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

impl Scheme for HmacScheme {
    type Verifier = HmacVerifier;

    fn name(&self) -> &str {
        &self.name
    }

    fn verifier(&self, request: &Parts) -> Result<HmacVerifier, Rejection> {
        let names = std::iter::once(&self.signature_header).chain(&self.signature_fallback);
        let value = find_one(&request.headers, names)?
            .ok_or(Rejection::MissingSignature)?
            .as_bytes()
            .trim_ascii();
        if value.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        let parsed = self.format.parse(value)?;
        if parsed.signatures.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        let len = self.primary.output_len();
        let mut claimed = Vec::with_capacity(parsed.signatures.len());
        for encoded in &parsed.signatures {
            let mut tag = Tag::zeroed(len);
            if !self.encoding.decode_exact(encoded, tag.as_mut_slice()) {
                return Err(Rejection::MalformedSignature);
            }
            claimed.push(tag);
        }

        let timestamp = self.fresh_timestamp(request, parsed.timestamp)?;
        let id = if self.payload.needs(&Piece::Id) {
            let id = find_one(&request.headers, &self.id_headers)?
                .ok_or(Rejection::MalformedSignature)?;
            Some(id.as_bytes())
        } else {
            None
        };

        let mut macs: Vec<KeyedMac> = std::iter::once(&self.primary)
            .chain(&self.rotated)
            .cloned()
            .collect();
        for piece in self.payload.pieces() {
            let bytes = match piece {
                Piece::Literal(bytes) => bytes.as_ref(),
                Piece::Timestamp => timestamp.unwrap_or_default(),
                Piece::Id => id.unwrap_or_default(),
            };
            for mac in &mut macs {
                mac.update(bytes);
            }
        }
        Ok(HmacVerifier { macs, claimed })
    }
}

impl fmt::Debug for HmacScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacScheme")
            .field("name", &self.name)
            .field("header", &self.signature_header)
            .field("encoding", &self.encoding)
            .field("format", &self.format)
            .field("payload", &self.payload)
            .field("tolerance", &self.tolerance)
            .field(
                "secrets",
                &format_args!("[redacted; {}]", 1 + self.rotated.len()),
            )
            .finish_non_exhaustive()
    }
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

/// The [`Verifier`] of an [`HmacScheme`]: the keyed MACs, fed the signed prefix and then the
/// body as it arrives, and the MACs the header claims.
pub struct HmacVerifier {
    macs: Vec<KeyedMac>,
    claimed: Vec<Tag>,
}

impl Verifier for HmacVerifier {
    fn update(&mut self, chunk: &[u8]) {
        for mac in &mut self.macs {
            mac.update(chunk);
        }
    }

    fn finish(self, _body: &[u8]) -> Result<Verified, Rejection> {
        for (index, mac) in self.macs.into_iter().enumerate() {
            let computed = mac.finalize();
            // Constant time: a byte-by-byte early exit would tell an attacker how many
            // leading bytes of a forged MAC are right.
            let matched = self
                .claimed
                .iter()
                .fold(subtle::Choice::from(0), |any, claimed| {
                    any | computed.as_slice().ct_eq(claimed.as_slice())
                });
            if bool::from(matched) {
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
            .field("signatures", &self.claimed.len())
            .finish()
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
