//! The signing half of [`HmacScheme`]: [`HmacScheme::sign`] and
//! [`HmacScheme::sign_message`] give the headers a sender attaches, for a [`Message`].

use std::{
    borrow::Cow,
    sync::atomic::{AtomicU64, Ordering},
};

use http::{HeaderMap, HeaderValue};

use crate::scheme::{payload::Piece, unix_seconds, HmacScheme};

impl HmacScheme {
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
        let mut headers = HeaderMap::new();
        let value = self.signature_value(&message);
        // Every part is visible ASCII: the format's texts are checked when set, the
        // timestamp is digits, the id is checked by `Message::id`, the MAC is encoded.
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(self.signature_header.clone(), value);
        }
        if let Some(name) = self.timestamp_headers.first() {
            let timestamp = self.timestamp_format.render(message.timestamp.unwrap_or(0));
            if let Ok(value) = HeaderValue::try_from(timestamp) {
                headers.insert(name.clone(), value);
            }
        }
        if let (Some(name), Some(id)) = (self.id_headers.first(), message.id) {
            if let Ok(value) = HeaderValue::try_from(id.as_ref()) {
                headers.insert(name.clone(), value);
            }
        }
        for (name, value) in &self.fixed_headers {
            headers.insert(name.clone(), value.clone());
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
        let mut mac = self.signing_mac();
        let timestamp_text = self.timestamp_format.render(timestamp);
        let id = message.id.as_deref().unwrap_or("").as_bytes();
        for piece in self.payload.pieces() {
            mac.update(piece.bytes(timestamp_text.as_bytes(), id));
        }
        mac.update(message.body);
        for piece in self.payload.suffix() {
            mac.update(piece.bytes(timestamp_text.as_bytes(), id));
        }
        let encoded = self.encoding.encode(mac.finalize().as_slice());
        self.format
            .render_with(&encoded, &timestamp_text, self.written_separator)
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
