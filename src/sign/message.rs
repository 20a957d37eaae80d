//! The signing half of [`HmacScheme`]: [`HmacScheme::sign`] and
//! [`HmacScheme::sign_message`] give the headers a sender attaches, for a [`Message`].

use std::{
    borrow::Cow,
    sync::atomic::{AtomicU64, Ordering},
};

use http::{HeaderMap, HeaderValue};

use crate::scheme::{
    envelope::{low_bytes::low_bytes, payload::Piece},
    unix_seconds, HmacScheme, SignatureScheme,
};

impl HmacScheme {
    /// The value of the signature header a sender would send for `body`, under the first
    /// secret, timestamped now if the scheme signs a timestamp.
    ///
    /// For schemes that sign a timestamp or an id, [`sign_message`](Self::sign_message) gives
    /// every header the request needs; [`sign_request`](crate::sign::Signer::sign_request)
    /// signs a whole request and says why it cannot rather than panicking.
    ///
    /// # Panics
    ///
    /// If the scheme's keys are resolved per request ([`keys`](crate::keys)): no secret is at
    /// hand to sign with.
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
    /// # Panics
    ///
    /// If the scheme's keys are resolved per request ([`keys`](crate::keys)): no secret is at
    /// hand to sign with. [`sign_request`](crate::sign::Signer::sign_request) returns
    /// [`SignError::ResolvedKeys`](crate::sign::SignError::ResolvedKeys) instead.
    ///
    /// ```
    /// use tower_webhook::{presets, sign::Message};
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
        let value = self.signature_value(&message);
        self.envelope(&message, value)
    }

    /// The signature header's value for a message [`complete`](SignatureScheme::complete) has
    /// filled in.
    fn signature_value(&self, message: &Message<'_>) -> String {
        let timestamp = message.timestamp.unwrap_or(0);
        let mut mac = self.signing_mac();
        let timestamp_text = self.timestamp_format.render(timestamp);
        let id = message.id.as_deref().unwrap_or("").as_bytes();
        for piece in self.payload.pieces() {
            mac.update(piece.bytes(timestamp_text.as_bytes(), id));
        }
        match self.low_bytes.then(|| low_bytes(message.body)).flatten() {
            Some(signed) => mac.update(&signed),
            None => mac.update(message.body),
        }
        for piece in self.payload.suffix() {
            mac.update(piece.bytes(timestamp_text.as_bytes(), id));
        }
        self.render(mac.finalize().as_slice(), &timestamp_text)
    }
}

impl<A> SignatureScheme<A> {
    /// Fills in what the scheme needs and the message lacks.
    pub(crate) fn complete<'a>(&self, message: &Message<'a>) -> Message<'a> {
        let mut message = message.clone();
        if message.timestamp.is_none() {
            message.timestamp = Some(unix_seconds(&*self.clock));
        }
        if message.id.is_none() && self.payload.needs(&Piece::Id) {
            message.id = Some(Cow::Owned(fresh_id()));
        }
        message
    }

    /// Every byte signed for a completed message, in order, for algorithms that sign the
    /// whole input at once.
    #[cfg_attr(
        not(all(feature = "test-util", any(feature = "ed25519", feature = "p256"))),
        allow(dead_code)
    )]
    pub(crate) fn signed_bytes(&self, message: &Message<'_>) -> Vec<u8> {
        let timestamp_text = self.timestamp_format.render(message.timestamp.unwrap_or(0));
        let id = message.id.as_deref().unwrap_or("").as_bytes();
        let mut signed = Vec::with_capacity(message.body.len() + 64);
        for piece in self.payload.pieces() {
            signed.extend_from_slice(piece.bytes(timestamp_text.as_bytes(), id));
        }
        signed.extend_from_slice(message.body);
        for piece in self.payload.suffix() {
            signed.extend_from_slice(piece.bytes(timestamp_text.as_bytes(), id));
        }
        signed
    }

    /// The signature header's value for a raw signature, encoded and laid out as the sender
    /// writes it.
    pub(crate) fn render(&self, signature: &[u8], timestamp_text: &str) -> String {
        let encoded = self.encoding.encode(signature);
        self.format
            .render_with(&encoded, timestamp_text, self.written_separator)
    }

    /// The headers a sender sends for a completed message whose signature header value is
    /// `value`: the signature, and the timestamp, id and fixed headers where the scheme has
    /// them.
    pub(crate) fn envelope(&self, message: &Message<'_>, value: String) -> HeaderMap {
        let mut headers = HeaderMap::new();
        // Every part is visible ASCII: the format's texts are checked when set, the
        // timestamp is digits, the id is checked by `Message::id`, the signature is encoded.
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(self.signature_header.clone(), value);
        }
        if let Some(name) = self.timestamp_headers.first() {
            let timestamp = self.timestamp_format.render(message.timestamp.unwrap_or(0));
            if let Ok(value) = HeaderValue::try_from(timestamp) {
                headers.insert(name.clone(), value);
            }
        }
        if let (Some(name), Some(id)) = (self.id_headers.first(), message.id.as_deref()) {
            if let Ok(value) = HeaderValue::try_from(id) {
                headers.insert(name.clone(), value);
            }
        }
        for (name, value) in &self.fixed_headers {
            headers.insert(name.clone(), value.clone());
        }
        headers
    }

    /// The message id a request already carries in the scheme's id header, so signing a
    /// retry keeps its id.
    pub(crate) fn id_in<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        let name = self.id_headers.first()?;
        headers.get(name)?.to_str().ok().filter(|id| !id.is_empty())
    }
}

/// A message id unique within this process and across restarts in practice.
pub(super) fn fresh_id() -> String {
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
/// use tower_webhook::{presets, sign::Message};
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
