//! [`SignatureScheme`]: a signature of the raw body (and optionally a timestamp or id before
//! it) in a header, hex or base64, under an [`Algorithm`]: HMAC, Ed25519 or ECDSA P-256.
//!
//! The envelope (which headers, which layout, which bytes are signed, the timestamp window) is
//! the same for every algorithm; the algorithm only says how the signed bytes are checked.

use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

use http::{request::Parts, HeaderMap, HeaderName, HeaderValue};

use crate::scheme::{
    algorithm::{sealed, Algorithm},
    envelope::body_timestamp::{BodyTimestamp, BodyTimestampCheck},
    envelope::encoding::{Encoding, Tag},
    envelope::format::{SignatureFormat, MAX_SIGNATURES, MAX_SIGNATURES_ACROSS_HEADERS},
    envelope::low_bytes::LowBytes,
    envelope::payload::{Piece, SignedPayload},
    envelope::timestamp::{TimestampFormat, Tolerance},
    event_id::{header_id, BodyFields, EventIdSource},
    verified::{Event, KeyMarks},
    DeliveryId, Scheme, Spent, Verified, Verifier,
};
use crate::{
    foundation::{header_name, unix_seconds, Clock, SharedClock, SystemClock},
    keys::{KeySlot, ResolvedKeys, Start},
    rejection::Rejection,
};

/// The default tolerance between a signed timestamp and the receiver's clock, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A signed webhook scheme: which header(s), which bytes, which algorithm and key(s).
///
/// [`HmacScheme`](crate::HmacScheme) (`SignatureScheme<Hmac>`) is the usual one; `Ed25519Scheme`
/// and `P256Scheme` take public keys. Built with a constructor such as
/// [`HmacScheme::sha256`](crate::HmacScheme::sha256) and described with these builder
/// methods, the same for every algorithm:
///
/// | method | default | what |
/// |---|---|---|
/// | [`header`](Self::header) | `X-Signature` | the header carrying the signature(s) |
/// | [`encoding`](Self::encoding) | hex | how each signature is written |
/// | [`prefix`](Self::prefix) | none | text before a single signature (`sha256=`) |
/// | [`signature_format`](Self::signature_format) | one signature | several signatures, a timestamp inside the header |
/// | [`signed_payload`](Self::signed_payload) | `{body}` | what is signed: `{timestamp}.{body}`, `{id}.{timestamp}.{body}`, `{body}{timestamp}` |
/// | [`timestamp_header`](Self::timestamp_header), [`id_header`](Self::id_header) | none | where `{timestamp}` and `{id}` come from |
/// | [`timestamp_format`](Self::timestamp_format) | Unix seconds | how the timestamp is written (milliseconds, RFC 3339) |
/// | [`tolerance`](Self::tolerance) | 5 minutes | how far a signed timestamp may be from now, either way |
/// | `also_accept` | none | more keys that verify (rotation) |
///
/// Parsing is strict: the signature header must appear once; surrounding whitespace is ignored
/// and hex may be either case, but prefixes, separators and lengths must be exact. Every MAC
/// comparison is constant time. A request passes if any key verifies any of its signatures.
/// A signature sent twice is checked once; a request claiming more than 16 signatures (100 for
/// DocuSign, one per header and key), or more than 4 distinct ones under a public key (each
/// costs a verification per key), is malformed and refused before its body is read.
///
/// Secrets key the MAC when the scheme is built and are not kept; `Debug` shows neither them
/// nor the keyed state. Every constructor also takes keys resolved per request (a secret per
/// tenant, rotated live): see [`keys`](crate::keys) and the guide's
/// [`per_tenant`](crate::guide::per_tenant).
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
pub struct SignatureScheme<A> {
    name: Cow<'static, str>,
    /// Where the signature is.
    pub(crate) signature_header: HeaderName,
    /// Read when `signature_header` is absent (Standard Webhooks' `svix-signature`).
    signature_fallback: Option<HeaderName>,
    /// More headers with more signatures (Box's secondary, DocuSign's `-2`, `-3`, ...), read
    /// in order until one is absent.
    more_signature_headers: Vec<HeaderName>,
    /// The most signatures a request may carry, across all its signature headers.
    max_signatures: usize,
    /// Text accepted, not required, before a single signature (`sha256=` on Cal.com's).
    optional_prefix: Option<&'static str>,
    /// How the separator of [`SignatureFormat::Pairs`] is written when signing, where the
    /// sender writes more than the character it splits on (WorkOS's `, `).
    pub(crate) written_separator: Option<&'static str>,
    /// Headers the sender always sends with one value (Box's `box-signature-version: 1`):
    /// written when signing; required when verifying, as the sender's SDK requires them.
    pub(crate) fixed_headers: Vec<(HeaderName, HeaderValue)>,
    /// A timestamp signed inside the JSON body (Linear's `webhookTimestamp`), checked once
    /// the signature verifies.
    body_timestamp: Option<Arc<BodyTimestamp>>,
    /// Whether a verified body must be a JSON object (X's): checked once the signature
    /// verifies.
    json_object_body: bool,
    /// Whether the sender signs each UTF-16 code unit's low byte rather than the body's
    /// UTF-8 (Trello's): see `envelope::low_bytes`.
    pub(crate) low_bytes: bool,
    pub(crate) timestamp_headers: Vec<HeaderName>,
    pub(crate) timestamp_format: TimestampFormat,
    pub(crate) id_headers: Vec<HeaderName>,
    pub(crate) encoding: Encoding,
    pub(crate) format: SignatureFormat,
    pub(crate) payload: SignedPayload,
    /// Where the sender names a delivery besides its signature.
    event_id: Option<EventIdSource>,
    /// Read when the event id header is absent (Shopify's `shopify-webhook-id`).
    event_id_fallback: Option<HeaderName>,
    tolerance: Tolerance,
    pub(crate) clock: Arc<dyn Clock>,
    /// The key(s), first the one that signs (for HMAC) and is tried first; or where they are
    /// found per request.
    pub(crate) keys: KeySlot<A>,
    /// The sender's setup handshake, which the layer answers.
    #[cfg(feature = "json")]
    handshake: Option<crate::handshake::Handshake>,
}

impl<A: Algorithm> SignatureScheme<A> {
    /// A scheme with the defaults above and these keys, named `name` until told otherwise.
    pub(crate) fn with_keys(keys: KeySlot<A>, name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            signature_header: HeaderName::from_static("x-signature"),
            signature_fallback: None,
            more_signature_headers: Vec::new(),
            max_signatures: MAX_SIGNATURES,
            optional_prefix: None,
            written_separator: None,
            fixed_headers: Vec::new(),
            body_timestamp: None,
            json_object_body: false,
            low_bytes: false,
            timestamp_headers: Vec::new(),
            timestamp_format: TimestampFormat::UnixSeconds,
            id_headers: Vec::new(),
            encoding: Encoding::Hex,
            format: SignatureFormat::default(),
            payload: SignedPayload::default(),
            event_id: None,
            event_id_fallback: None,
            tolerance: Tolerance::new(DEFAULT_TOLERANCE),
            clock: Arc::new(SystemClock),
            keys,
            #[cfg(feature = "json")]
            handshake: None,
        }
    }

    /// The scheme with its sender's handshake, which the layer answers (presets set theirs).
    #[cfg(feature = "json")]
    pub(crate) fn with_handshake(mut self, handshake: crate::handshake::Handshake) -> Self {
        self.handshake = Some(handshake);
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
    /// `webhook-id`). Requests that need it and lack it are rejected, and so are ids other
    /// than 1 to 255 ASCII letters, digits, `_` and `-` (what senders send): an id with a
    /// `.` in it would let the signed bytes be re-split into another id, timestamp and body.
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
    /// use tower_webhook::{scheme::SignatureFormat, HmacScheme};
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
    /// and `{body}`, which comes exactly once. Default: `{body}`.
    ///
    /// `{timestamp}` is the timestamp exactly as sent, from the signature header
    /// ([`SignatureFormat::Pairs`]) or the [`timestamp_header`](Self::timestamp_header); `{id}`
    /// is the [`id_header`](Self::id_header)'s value. What follows `{body}` (Box and HubSpot
    /// sign the timestamp after the body) is known from the head and fed when the body ends,
    /// so the body is still streamed.
    ///
    /// # Panics
    ///
    /// If the template has no `{body}`, two of them, or another placeholder.
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

    /// How the signed timestamp is written: Unix seconds (the default), milliseconds, or an
    /// RFC 3339 date and time. It is signed as the text received whatever its format.
    ///
    /// ```
    /// use tower_webhook::{scheme::TimestampFormat, HmacScheme};
    ///
    /// // Zendesk: `X-Zendesk-Webhook-Signature-Timestamp: 2021-09-29T23:25:03Z`.
    /// let zendesk_like = HmacScheme::sha256("signing secret")
    ///     .header("x-zendesk-webhook-signature")
    ///     .timestamp_header("x-zendesk-webhook-signature-timestamp")
    ///     .timestamp_format(TimestampFormat::Rfc3339)
    ///     .signed_payload("{timestamp}{body}");
    /// ```
    #[must_use]
    pub fn timestamp_format(mut self, format: TimestampFormat) -> Self {
        self.timestamp_format = format;
        self
    }

    /// How far a signed timestamp may be from the receiver's clock, in either direction
    /// (a timestamp exactly at the edge passes). Default: [`DEFAULT_TOLERANCE`], 5 minutes.
    ///
    /// Held between 1 second and 7 days (a shorter one is raised, a longer one lowered), so
    /// no setting turns the check off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::presets;
    ///
    /// let stripe = presets::stripe("whsec_…").tolerance(Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Tolerance::new(tolerance);
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
    /// It is also the namespace of the scheme's delivery ids. Keys resolved per request
    /// scope ids to the tenant, fixed keys do not: two layers with fixed keys that share one
    /// replay store and take deliveries from senders who may choose their event ids (a
    /// custom sender whose secret a customer holds) need different names, or one sender's
    /// event id can make the other's delivery a duplicate.
    ///
    /// ```
    /// use tower_webhook::{scheme::Scheme, HmacScheme};
    ///
    /// let scheme = HmacScheme::sha256("secret").named("acme");
    /// assert_eq!(Scheme::name(&scheme), "acme");
    /// ```
    #[must_use]
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// The header in which the sender names each delivery, the same across its retries
    /// (GitHub's `X-GitHub-Delivery`), for a [replay guard](crate::replay). The signature does
    /// not cover it, so it is believed only together with the signature: a request is a
    /// duplicate if either was seen ([`Verified::delivery_ids`](crate::Verified::delivery_ids)).
    /// Values over 256 bytes are ignored.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid HTTP header name.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret").event_id_header("X-Acme-Delivery");
    /// ```
    #[must_use]
    pub fn event_id_header(mut self, name: impl AsRef<str>) -> Self {
        self.event_id = Some(EventIdSource::Header(header_name(name.as_ref())));
        self
    }

    /// The top-level field of the signed JSON body that names each event, the same across
    /// the sender's retries even when it re-signs them with a new timestamp (Stripe's `id`),
    /// for a [replay guard](crate::replay). Read only when the guard asks, without building
    /// the document; a body that is not JSON or lacks the field is named by its signature
    /// (with a DEBUG event). Needs the `json` feature (on by default).
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret").event_id_field("event_id");
    /// ```
    #[must_use]
    pub fn event_id_field(self, field: impl Into<Cow<'static, str>>) -> Self {
        self.event_id_fields([field.into()])
    }

    /// Several top-level fields of the signed JSON body that together name each event
    /// (Zoom's `event` and `event_ts`); otherwise as [`event_id_field`](Self::event_id_field).
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret").event_id_fields(["event", "event_ts"]);
    /// ```
    #[must_use]
    pub fn event_id_fields<F: Into<Cow<'static, str>>>(
        mut self,
        fields: impl IntoIterator<Item = F>,
    ) -> Self {
        self.event_id = Some(EventIdSource::Body(Arc::new(BodyFields {
            fields: fields.into_iter().map(Into::into).collect(),
            each_element: false,
        })));
        self
    }

    /// For a body that is a JSON array of events (SendGrid): the field that names each
    /// element. One request is one delivery, named by the ids of all its events in order;
    /// a retry of the same batch is a duplicate.
    ///
    /// ```
    /// use tower_webhook::HmacScheme;
    ///
    /// let scheme = HmacScheme::sha256("secret").event_id_field_of_each("sg_event_id");
    /// ```
    #[must_use]
    pub fn event_id_field_of_each(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.event_id = Some(EventIdSource::Body(Arc::new(BodyFields {
            fields: vec![field.into()],
            each_element: true,
        })));
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

    /// Signs `literal` (a URL) before the body and `suffix` after it, for senders that sign
    /// where they sent to.
    pub(crate) fn signed_around_body(
        mut self,
        literal: impl Into<bytes::Bytes>,
        suffix: Vec<Piece>,
    ) -> Self {
        self.payload = SignedPayload::around_body(literal, suffix);
        self
    }

    /// Reads the signature from `name` when the primary header is absent.
    pub(crate) fn signature_fallback(mut self, name: &str) -> Self {
        self.signature_fallback = Some(header_name(name));
        self
    }

    /// Also reads signatures from `names`, in order, until one is absent: one signature per
    /// header, so a request may carry one more than there are names (up to
    /// [`MAX_SIGNATURES_ACROSS_HEADERS`]; never fewer than [`MAX_SIGNATURES`]).
    pub(crate) fn more_signature_headers(
        mut self,
        names: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> Self {
        self.more_signature_headers = names
            .into_iter()
            .map(|name| header_name(name.as_ref()))
            .collect();
        self.max_signatures = (self.more_signature_headers.len() + 1)
            .clamp(MAX_SIGNATURES, MAX_SIGNATURES_ACROSS_HEADERS);
        self
    }

    /// Reads the event id from `name` when the [`event_id_header`](Self::event_id_header) is
    /// absent.
    pub(crate) fn event_id_header_fallback(mut self, name: &str) -> Self {
        self.event_id_fallback = Some(header_name(name));
        self
    }

    /// Accepts `prefix` before a single signature without requiring it.
    pub(crate) fn optional_prefix(mut self, prefix: &'static str) -> Self {
        self.optional_prefix = Some(prefix);
        self
    }

    /// Writes the separator of [`SignatureFormat::Pairs`] as `separator` when signing.
    pub(crate) fn written_separator(mut self, separator: &'static str) -> Self {
        self.written_separator = Some(separator);
        self
    }

    /// A header the sender always sends with `value`: written when signing; a request
    /// without it, or with another value, is refused as malformed (the sender's own SDK
    /// refuses it).
    pub(crate) fn fixed_header(mut self, name: &str, value: &'static str) -> Self {
        self.fixed_headers
            .push((header_name(name), HeaderValue::from_static(value)));
        self
    }

    /// Checks a timestamp signed inside the JSON body against the
    /// [`tolerance`](Self::tolerance), once the signature verifies.
    pub(crate) fn body_timestamp(mut self, timestamp: BodyTimestamp) -> Self {
        self.body_timestamp = Some(Arc::new(timestamp));
        self
    }

    /// A single signature after `prefix`, which may end in a space: `Authorization`'s
    /// `<scheme> <credentials>` layout (Teams' `HMAC <base64>`). [`prefix`](Self::prefix)
    /// takes only visible ASCII, as a user's text must be; a sender's fixed scheme name
    /// and one space are a header value all the same.
    pub(crate) fn authorization_prefix(mut self, prefix: &'static str) -> Self {
        debug_assert!(prefix.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
        self.format = SignatureFormat::Single {
            prefix: prefix.into(),
        };
        self
    }

    /// Refuses a verified body that is not a JSON object (its first byte after JSON
    /// whitespace is not `{`), as `MalformedSignature`.
    pub(crate) fn json_object_body(mut self) -> Self {
        self.json_object_body = true;
        self
    }

    /// Signs the low byte of each UTF-16 code unit of the body and of what is signed
    /// around it, as a JavaScript sender hashing a string as `binary` does (Trello). A body
    /// that is not UTF-8 is refused as `MalformedSignature`.
    #[cfg_attr(
        not(feature = "sha1"),
        expect(dead_code, reason = "Trello's preset needs `sha1`")
    )]
    pub(crate) fn low_bytes(mut self) -> Self {
        self.low_bytes = true;
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
            let seconds = self
                .timestamp_format
                .seconds(text)
                .ok_or(Rejection::InvalidTimestamp)?;
            let now = unix_seconds(&*self.clock);
            if !self.tolerance.admits(now, seconds) {
                return Err(Rejection::TimestampOutOfTolerance);
            }
        }
        Ok(claimed)
    }
}

/// The value of the first of `names` present in `headers`. A header sent more than once is
/// ambiguous (a proxy or another reader may use the other copy) and so malformed.
pub(crate) fn find_one<'a, 'n>(
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

/// `value` after `prefix`. An empty prefix (most senders') compares nothing: no call to
/// `memcmp` for zero bytes on every request.
#[inline]
fn after_prefix<'a>(value: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    if prefix.is_empty() {
        return Some(value);
    }
    value.strip_prefix(prefix)
}

/// Whether `body` starts, after JSON whitespace, with `{`.
fn is_json_object(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

/// The longest message id signed as `{id}`, in bytes.
const MAX_SIGNED_ID_LEN: usize = 255;

/// A message id signed as `{id}`, if it is 1 to 255 letters, digits, `_` and `-`, as senders'
/// ids are (`msg_2KWPBgLlAfxdpx2AI54pPJ85f4W`, a UUID). Anything else is refused: an id with
/// the separator in it (`.`) would let a captured delivery be re-split, the signed bytes
/// read as another id, timestamp and body.
fn signed_id(id: &[u8]) -> Option<&[u8]> {
    let usable = (1..=MAX_SIGNED_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    usable.then_some(id)
}

/// The signatures a request claims, without repeats, in first-seen order, and how many it
/// sent. A signature sent twice is checked once, so copies cannot multiply the work of a
/// public-key verification. The first is held inline: a request almost always claims one, and
/// then no list is allocated.
#[derive(Default)]
struct Claimed {
    sent: usize,
    first: Option<Tag>,
    more: Vec<Tag>,
}

impl Claimed {
    #[inline]
    fn push(&mut self, tag: Tag) {
        self.sent += 1;
        match &self.first {
            None => self.first = Some(tag),
            Some(first) if *first == tag || self.more.contains(&tag) => {}
            Some(_) => self.more.push(tag),
        }
    }

    #[inline]
    fn distinct(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    /// Starts `keys` checking these signatures (at least one).
    /// Taken from where they lie: the head is not moved to start (it is bigger than `memcpy`
    /// is written inline for).
    fn start<A: Algorithm>(&mut self, keys: &A) -> Result<A::State, Rejection> {
        let distinct = self.distinct();
        match self.first.take() {
            Some(first) if self.more.is_empty() => keys.start_one(first),
            first => {
                let mut all = Vec::with_capacity(distinct);
                all.extend(first);
                all.append(&mut self.more);
                keys.start(all)
            }
        }
    }
}

/// What [`SignatureScheme::verifier_from`] makes: the verifier or the rejection, as
/// [`Scheme::verifier`] returns them or as [`Scheme::start`] does.
trait Made<V> {
    fn made(verifier: V) -> Self;
    fn refused(rejection: Rejection) -> Self;
}

impl<V> Made<V> for Result<V, Rejection> {
    fn made(verifier: V) -> Self {
        Ok(verifier)
    }

    fn refused(rejection: Rejection) -> Self {
        Err(rejection)
    }
}

impl<V> Made<V> for Start<V> {
    fn made(verifier: V) -> Self {
        Start::Ready(Ok(verifier))
    }

    fn refused(rejection: Rejection) -> Self {
        Start::Ready(Err(rejection))
    }
}

/// What the request head says, checked before any key is needed: the claimed signatures,
/// and the signed timestamp (within the tolerance) and id.
struct Head<'a> {
    claimed: Claimed,
    timestamp: Option<&'a [u8]>,
    id: Option<&'a HeaderValue>,
    /// The event id from an unsigned header, if the scheme reads one and it is there.
    event_header: Option<&'a [u8]>,
}

impl<A: Algorithm> SignatureScheme<A> {
    fn head<'a>(&self, request: &'a Parts) -> Result<Head<'a>, Rejection> {
        let names = std::iter::once(&self.signature_header).chain(&self.signature_fallback);
        let mut claimed = Claimed::default();
        let mut in_header = None;
        if let Some(value) = find_one(&request.headers, names)? {
            in_header = self.claim(value, &mut claimed)?;
        }
        for name in &self.more_signature_headers {
            let Some(value) = find_one(&request.headers, [name])? else {
                break;
            };
            self.claim(value, &mut claimed)?;
        }
        if claimed.sent == 0 {
            return Err(Rejection::MissingSignature);
        }
        for (name, expected) in &self.fixed_headers {
            if find_one(&request.headers, [name])? != Some(expected) {
                return Err(Rejection::MalformedSignature);
            }
        }
        if claimed.distinct() > A::MAX_CLAIMED {
            return Err(Rejection::MalformedSignature);
        }
        let timestamp = self.fresh_timestamp(request, in_header)?;
        let id = if self.payload.needs(&Piece::Id) {
            let id = find_one(&request.headers, &self.id_headers)?
                .ok_or(Rejection::MalformedSignature)?;
            signed_id(id.as_bytes()).ok_or(Rejection::MalformedSignature)?;
            Some(id)
        } else {
            None
        };
        let event_header = match &self.event_id {
            Some(EventIdSource::Header(name)) => header_id(&request.headers, name).or_else(|| {
                let fallback = self.event_id_fallback.as_ref()?;
                header_id(&request.headers, fallback)
            }),
            _ => None,
        };
        Ok(Head {
            claimed,
            timestamp,
            id,
            event_header,
        })
    }

    /// Decodes the signatures in one header value into `claimed`; returns the timestamp the
    /// value carries, if its format has one.
    fn claim<'a>(
        &self,
        value: &'a HeaderValue,
        claimed: &mut Claimed,
    ) -> Result<Option<&'a [u8]>, Rejection> {
        let mut value = value.as_bytes().trim_ascii();
        if value.is_empty() {
            return Ok(None);
        }
        if let Some(prefix) = self.optional_prefix {
            value = value.strip_prefix(prefix.as_bytes()).unwrap_or(value);
        }
        // One signature after a prefix, the usual layout, as `SignatureFormat::parse` reads
        // it, without the list it collects.
        if let SignatureFormat::Single { prefix } = &self.format {
            let encoded =
                after_prefix(value, prefix.as_bytes()).ok_or(Rejection::MalformedSignature)?;
            self.claim_one(encoded, claimed)?;
            return Ok(None);
        }
        let parsed = self.format.parse(value)?;
        for encoded in &parsed.signatures {
            self.claim_one(encoded, claimed)?;
        }
        Ok(parsed.timestamp)
    }

    /// Decodes one signature into `claimed`.
    fn claim_one(&self, encoded: &[u8], claimed: &mut Claimed) -> Result<(), Rejection> {
        // Counted across headers too, before decoding any more.
        if claimed.sent >= self.max_signatures {
            return Err(Rejection::MalformedSignature);
        }
        claimed.push(
            self.encoding
                .decode(encoded)
                .ok_or(Rejection::MalformedSignature)?,
        );
        Ok(())
    }

    /// The verifier of a checked head under `keys`, fed the signed prefix, as `O`: built
    /// where the caller returns it (the verifier is hundreds of bytes, copied on each move).
    fn verifier_from<O: Made<SignatureVerifier<A>>>(
        &self,
        head: &mut Head<'_>,
        keys: &A,
        key_id: Option<Arc<str>>,
    ) -> O {
        // Fed where it lies, and moved once, into the verifier.
        let mut started = head.claimed.start(keys);
        let state = match started {
            Ok(ref mut state) => state,
            Err(rejection) => return O::refused(rejection),
        };
        let (timestamp, id) = (
            head.timestamp.unwrap_or_default(),
            head.id.map(HeaderValue::as_bytes).unwrap_or_default(),
        );
        for piece in self.payload.pieces() {
            A::update(state, piece.bytes(timestamp, id));
        }
        let mut suffix = Vec::new();
        for piece in self.payload.suffix() {
            suffix.extend_from_slice(piece.bytes(timestamp, id));
        }
        let event = match &self.event_id {
            Some(EventIdSource::Header(_)) => {
                head.event_header.map(|id| Event::Unsigned(id.into()))
            }
            Some(EventIdSource::Body(fields)) => Some(Event::Body {
                fields: Arc::clone(fields),
                body: None,
            }),
            None => None,
        };
        // Where the sender names the delivery: also within the keys' tags, which every route
        // holding the same keys shares, fixed or resolved per request under any spelling.
        let scopes = (self.event_id.is_some() || head.id.is_some())
            .then(|| A::scope_tags(keys))
            .flatten();
        let body_timestamp = self.body_timestamp.as_ref().map(|spec| BodyTimestampCheck {
            spec: Arc::clone(spec),
            tolerance: self.tolerance.duration(),
            clock: Arc::clone(&self.clock),
        });
        #[cfg(feature = "json")]
        let answer = self
            .handshake
            .as_ref()
            .filter(|handshake| handshake.is_keyed())
            .map(|handshake| {
                Box::new(KeyedAnswer {
                    keys: keys.clone(),
                    handshake: handshake.clone(),
                })
            });
        let (message_id, name) = (head.id.cloned(), self.name.clone());
        let low_bytes = self.low_bytes.then(LowBytes::default);
        // Every field made above, none in the literal: a call between the state and the
        // literal would keep LLVM from building the state in place.
        // `started` is `Ok` here: its `Err` was returned above.
        let state = match started {
            Ok(state) => state,
            Err(rejection) => return O::refused(rejection),
        };
        O::made(SignatureVerifier {
            state,
            suffix,
            message_id,
            event,
            name,
            key_id,
            body_timestamp,
            json_object_body: self.json_object_body,
            spent: Spent::default(),
            low_bytes,
            scopes,
            #[cfg(feature = "json")]
            answer,
        })
    }
}

impl<A: Algorithm> Scheme for SignatureScheme<A> {
    type Verifier = SignatureVerifier<A>;

    fn name(&self) -> &str {
        &self.name
    }

    #[cfg(feature = "json")]
    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        self.handshake.clone()
    }

    /// The verifier under the fixed keys. A scheme whose keys are resolved per request has
    /// none without a lookup, and answers [`Rejection::KeySourceUnavailable`]; the layer
    /// calls [`start`](Scheme::start) instead.
    fn verifier(&self, request: &Parts) -> Result<SignatureVerifier<A>, Rejection> {
        let mut head = self.head(request)?;
        let keys = self.keys.fixed().ok_or(Rejection::KeySourceUnavailable)?;
        self.verifier_from(&mut head, keys, None)
    }

    fn start(&self, request: &Parts) -> Start<SignatureVerifier<A>> {
        // The head first: a request without a well-formed, fresh signature costs no lookup.
        // Borrowed where `head` returned it, not moved out of the `Result`.
        let mut checked = self.head(request);
        let head = match checked {
            Ok(ref mut head) => head,
            Err(rejection) => return Start::Ready(Err(rejection)),
        };
        self.keys
            .start_with(request, |keys, id| self.verifier_from(head, keys, id))
    }

    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<SignatureVerifier<A>, Rejection> {
        let set = keys.get::<A>().ok_or(Rejection::KeySourceUnavailable)?;
        let mut head = self.head(request)?;
        self.verifier_from(&mut head, set, Some(Arc::clone(keys.shared_id())))
    }
}

impl<A: Algorithm> fmt::Debug for SignatureScheme<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureScheme")
            .field("name", &self.name)
            .field("header", &self.signature_header)
            .field("encoding", &self.encoding)
            .field("format", &self.format)
            .field("payload", &self.payload)
            .field("event_id", &self.event_id)
            .field("tolerance", &self.tolerance)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// The [`Verifier`] of a [`SignatureScheme`]: the algorithm's running state, fed the signed
/// prefix and then the body as it arrives, and the signatures the header claims.
pub struct SignatureVerifier<A: Algorithm> {
    state: <A as sealed::Algorithm>::State,
    /// What is signed after the body, fed when it ends.
    suffix: Vec<u8>,
    /// The name the keys were resolved under, if they were.
    key_id: Option<Arc<str>>,
    /// The sender's event id, or where to find it, for a delivery named by its signature.
    event: Option<Event>,
    /// The signed message id, where the scheme signs one; digested only if asked for.
    message_id: Option<HeaderValue>,
    /// The scheme's name, the namespace of a delivery named by its signature.
    name: Cow<'static, str>,
    /// The timestamp signed inside the body, checked once the signature verifies.
    body_timestamp: Option<BodyTimestampCheck>,
    /// Whether the verified body must be a JSON object.
    json_object_body: bool,
    spent: Spent,
    /// The body's UTF-8 decoded into the low bytes the sender signed, where it signs those.
    low_bytes: Option<LowBytes>,
    /// The scope tags of the keys resolved for the request (see `Verified::delivery_ids`).
    scopes: Option<Arc<[Tag]>>,
    /// The keys, kept for a handshake answered with a MAC under the one that verifies.
    /// (Boxed: only Zoom's verifiers have one, and every verifier is moved with the future.)
    #[cfg(feature = "json")]
    answer: Option<Box<KeyedAnswer<A>>>,
}

/// What a verifier keeps to answer a keyed handshake (Zoom's): the keys and the handshake.
#[cfg(feature = "json")]
struct KeyedAnswer<A> {
    keys: A,
    handshake: crate::handshake::Handshake,
}

impl<A: Algorithm> Verifier for SignatureVerifier<A> {
    fn key_id(&self) -> Option<Arc<str>> {
        self.key_id.clone()
    }

    fn update(&mut self, chunk: &[u8]) {
        let Self {
            state, low_bytes, ..
        } = self;
        match low_bytes {
            Some(decoder) => decoder.feed(chunk, |bytes| A::update(state, bytes)),
            None => A::update(state, chunk),
        }
    }

    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection> {
        self.spent.spend()?;
        if self.low_bytes.is_some_and(|decoder| !decoder.finished()) {
            return Err(Rejection::MalformedSignature);
        }
        if !self.suffix.is_empty() {
            A::update(&mut self.state, &self.suffix);
        }
        // Finished where the verifier lies; what the marker keeps is taken from it.
        let (index, signature, under_other_keys) = A::finish_named(&mut self.state)?;
        // Only a body the sender signed is parsed: a forged one costs no more than before.
        if let Some(check) = &self.body_timestamp {
            check.check(body)?;
        }
        // X answers its CRC challenge with the same key and construction, so whatever an
        // endpoint echoes to a challenge is signed: X only ever sends JSON objects, and a
        // challenge answer that is not one must not pass as a delivery.
        if self.json_object_body && !is_json_object(body) {
            return Err(Rejection::MalformedSignature);
        }
        #[cfg(feature = "json")]
        let answer_mac = self.answer.take().and_then(|answer| {
            let message = answer.handshake.keyed_message(body)?;
            A::mac_under(&answer.keys, index, message.as_bytes())
        });
        let marks = KeyMarks {
            scopes: self.scopes.take(),
            #[cfg(feature = "json")]
            answer_mac: answer_mac.map(Box::new),
            #[cfg(not(feature = "json"))]
            answer_mac: None,
        };
        // Each marker made where it is returned: `Verified` is a few hundred bytes.
        match self.message_id.take() {
            // The signed message id, scoped to the tenant (a tenant may sign any id); and,
            // with keys resolved per request, the signature, which only this tenant's key
            // makes, unscoped: a source that finds the tenant's keys under another spelling
            // of its name must not make a captured copy new.
            Some(id) if self.key_id.is_some() => {
                let signature_name =
                    DeliveryId::derive(&format!("{}#signature", self.name), signature.as_slice());
                Ok(Verified::with_message_id(
                    index,
                    self.key_id.take(),
                    std::mem::take(&mut self.name),
                    id,
                    marks,
                )
                .also_named(signature_name))
            }
            Some(id) => Ok(Verified::with_message_id(
                index,
                self.key_id.take(),
                std::mem::take(&mut self.name),
                id,
                marks,
            )),
            None => Ok(Verified::signed(
                index,
                self.key_id.take(),
                std::mem::take(&mut self.name),
                signature,
                under_other_keys,
                self.event.take(),
                marks,
            )),
        }
    }
}

impl<A: Algorithm> fmt::Debug for SignatureVerifier<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureVerifier").finish_non_exhaustive()
    }
}

impl<A: Algorithm> SharedClock for SignatureScheme<A> {
    fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_message_id_names_the_delivery_when_asked() {
        let scheme = crate::HmacScheme::sha256("k")
            .id_header("x-id")
            .signed_payload("{id}.{body}")
            .named("acme");
        let headers = scheme.sign_message(&crate::sign::Message::new(b"{}").id("msg_1"));
        let mut request = http::Request::new(());
        *request.headers_mut() = headers;
        let (parts, ()) = request.into_parts();
        let mut verifier = scheme.verifier(&parts).unwrap();
        verifier.update(b"{}");
        let verified = verifier.finish(b"{}").unwrap();
        let id = DeliveryId::derive("acme", b"msg_1");
        assert_eq!(verified.delivery_id(), Some(id));
        // And within the key's scope tag, which a route holding the key per tenant shares.
        let keys = crate::scheme::Hmac::sha256(b"k").unwrap();
        let tag = sealed::Algorithm::scope_tags(&keys).unwrap();
        assert_eq!(verified.delivery_ids(), vec![id, id.within_scope(&tag[0])]);
    }

    /// A finished verifier's hash is spent (P-256's is reset to the hash of nothing): a
    /// caller that finishes it again after a refusal must not have the sender's signature of
    /// an empty body accepted for another body.
    #[cfg(feature = "p256")]
    #[test]
    fn a_spent_verifier_refuses_a_second_finish() {
        use base64::{engine::general_purpose::STANDARD, Engine as _};
        use p256::{
            ecdsa::{signature::Signer as _, Signature, SigningKey},
            pkcs8::EncodePublicKey as _,
        };

        let key = SigningKey::from_slice(&[5; 32]).unwrap();
        let der = key.verifying_key().to_public_key_der().unwrap();
        let scheme = crate::scheme::P256Scheme::p256(der.as_bytes())
            .unwrap()
            .header("x-signature");
        let of_nothing: Signature = key.sign(b"");
        let mut request = http::Request::new(());
        request.headers_mut().insert(
            "x-signature",
            STANDARD.encode(of_nothing.to_der()).parse().unwrap(),
        );
        let (parts, ()) = request.into_parts();
        let mut verifier = scheme.verifier(&parts).unwrap();
        verifier.update(b"{}");
        assert!(matches!(
            verifier.finish(b"{}"),
            Err(Rejection::InvalidSignature)
        ));
        assert!(matches!(
            verifier.finish(b"{}"),
            Err(Rejection::InvalidSignature)
        ));
    }

    #[test]
    fn signed_ids_are_what_senders_send_and_nothing_that_can_be_re_split() {
        let uuid = b"7c2a1e4c-3b8f-4b5e-9a8d-2f9f0f6f1a2b";
        for good in [
            &b"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"[..],
            uuid,
            b"a",
            &[b'x'; 255],
        ] {
            assert_eq!(signed_id(good), Some(good));
        }
        for bad in [
            &b""[..],
            b"msg_1.1700000000",
            b"msg 1",
            b"msg/1",
            b"msg:1",
            "msg_\u{e9}".as_bytes(),
            &[b'x'; 256],
        ] {
            assert_eq!(signed_id(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
