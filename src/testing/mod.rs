//! A test kit (feature `test-util`): signed requests for any preset in one call, as the
//! sender would send them, to test your handlers through the layer. The counterpart of
//! Stripe's `generateTestHeaderString`.
//!
//! ```
//! use tower_webhook::testing;
//!
//! // The secret your application's `presets::stripe(..)` is given in tests.
//! let request = testing::signed_request("stripe", "whsec_test", r#"{"id":"evt_1"}"#)?;
//! assert!(request.headers()["stripe-signature"].to_str()?.starts_with("t="));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`TestSender`] does more: a fixed timestamp, a URL for presets that sign theirs, and
//! senders that sign with a private key (Discord, SendGrid, Standard Webhooks `v1a`), for
//! which it generates a key pair and gives the public half in the form the preset takes.
//!
//! Senders whose keys the receiver fetches (PayPal, Amazon SNS, Plaid, a FusionAuth JWKS)
//! sign with the keys a local [`KeyHost`] serves under a test CA (with `test-util` and the
//! sender's feature): the receiver fetches them from it, over HTTPS, as from the sender.
//!
//! ```
//! # #[cfg(feature = "paypal")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_webhook::{testing::{KeyHost, TestSender}, WebhookSignatureLayer};
//!
//! let host = KeyHost::start().await?;
//! let sender = TestSender::new("paypal")?.key_host(&host);
//! let request = sender.signed_request(r#"{"id":"WH-1"}"#)?;
//! let layer = WebhookSignatureLayer::new(sender.receiver()?); // fetches from `host`
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "paypal"))]
//! # fn main() {}
//! ```

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use http::Request;

#[cfg(feature = "fetch")]
mod fetched;
#[cfg(feature = "fetch")]
mod key_host;

#[cfg(feature = "fetch")]
#[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
pub use self::key_host::KeyHost;
use crate::{
    presets::{self, Preset, PresetError, PresetOptions},
    scheme::AnyScheme,
    sign::{SignError, Signer},
};

/// The key [`TestSender`] uses unless told otherwise: the base64 of `secret key`, which every
/// preset taking a secret accepts (Standard Webhooks and Airtable want base64); Adyen's is
/// hex.
const DEFAULT_KEY: &str = "c2VjcmV0IGtleQ==";
const DEFAULT_ADYEN_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C";

/// A request to `/` with `body`, signed as the preset named `name` signs under `key`, at
/// the current time: what that sender would send your endpoint. Presets that sign their
/// URL sign `https://example.com/`; use [`TestSender::url`] to choose.
///
/// # Errors
///
/// [`TestSenderError`]: no such preset, its feature is off, the key is not in the form the
/// sender gives it, or the preset cannot sign with a key you hold (public-key and
/// fetched-key senders: use [`TestSender`], which generates a key pair for the former and
/// signs with a [`KeyHost`]'s keys for the latter).
///
/// ```
/// use tower_webhook::testing;
///
/// let request = testing::signed_request("github", "It's a Secret to Everybody", "Hello, World!")?;
/// assert_eq!(
///     request.headers()["x-hub-signature-256"],
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/// );
/// # Ok::<(), tower_webhook::testing::TestSenderError>(())
/// ```
pub fn signed_request(
    name: &str,
    key: &str,
    body: impl Into<Bytes>,
) -> Result<Request<Bytes>, TestSenderError> {
    TestSender::new(name)?.key(key).signed_request(body)
}

/// A webhook sender for tests: a preset chosen by name, a key (made up, or generated as a
/// key pair for public-key senders), and a clock fixed when it is made.
///
/// [`receiving_key`](Self::receiving_key) is the key to give your application's preset
/// (the public half, for public-key senders); [`receiver`](Self::receiver) is that preset,
/// with the same fixed clock. Senders whose keys are fetched sign with a
/// [`key_host`](Self::key_host)'s keys.
///
/// ```
/// use tower_webhook::{testing::TestSender, WebhookSignatureLayer};
///
/// let square = TestSender::new("square")?
///     .key("signature key")
///     .url("https://example.com/webhooks/square")
///     .timestamp(1_700_000_000);
/// let layer = WebhookSignatureLayer::new(square.receiver()?);
/// let request = square.signed_request(r#"{"type":"payment.updated"}"#)?;
/// assert!(request.headers().contains_key("x-square-hmacsha256-signature"));
/// # Ok::<(), tower_webhook::testing::TestSenderError>(())
/// ```
#[derive(Clone)]
pub struct TestSender {
    preset: &'static Preset,
    key: Option<String>,
    url: String,
    now: u64,
    #[cfg(feature = "fetch")]
    key_host: Option<KeyHost>,
}

impl TestSender {
    /// A sender for the preset named `name` (see [`presets::find`]), with a made-up key and
    /// the clock fixed at now.
    ///
    /// # Errors
    ///
    /// [`TestSenderError::Preset`] if no preset has this name or its feature is off.
    ///
    /// ```
    /// use tower_webhook::testing::TestSender;
    ///
    /// let stripe = TestSender::new("stripe")?;
    /// # Ok::<(), tower_webhook::testing::TestSenderError>(())
    /// ```
    pub fn new(name: &str) -> Result<Self, TestSenderError> {
        let preset =
            presets::find(name).ok_or_else(|| PresetError::UnknownSender { name: name.into() })?;
        if let Some(feature) = preset.feature().filter(|_| !preset.is_available()) {
            return Err(PresetError::FeatureDisabled {
                name: preset.name().into(),
                feature,
            }
            .into());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Self {
            preset,
            key: None,
            url: "https://example.com/".into(),
            now,
            #[cfg(feature = "fetch")]
            key_host: None,
        })
    }

    /// The secret to sign with (an HMAC secret, a token, `user:password` for HTTP Basic), in
    /// the form the preset takes. For public-key senders, what the key pair is derived from:
    /// the same text gives the same pair.
    ///
    /// ```
    /// use tower_webhook::testing::TestSender;
    ///
    /// let gitlab = TestSender::new("gitlab")?.key("the token in GitLab's settings");
    /// # Ok::<(), tower_webhook::testing::TestSenderError>(())
    /// ```
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The URL the sender signs, for presets that [sign theirs](Preset::needs_url): the
    /// receiver is configured with it, and [`signed_request`](Self::signed_request) is sent to
    /// its path and query. Default: `https://example.com/`.
    ///
    /// ```
    /// use tower_webhook::testing::TestSender;
    ///
    /// let twilio = TestSender::new("hubspot")?.url("https://example.com/webhooks/hubspot");
    /// # Ok::<(), tower_webhook::testing::TestSenderError>(())
    /// ```
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Signs at this time (seconds since the Unix epoch) instead of when the sender was made;
    /// the [`receiver`](Self::receiver)'s clock is fixed there too.
    ///
    /// ```
    /// use tower_webhook::testing::TestSender;
    ///
    /// let slack = TestSender::new("slack")?.timestamp(1_700_000_000);
    /// # Ok::<(), tower_webhook::testing::TestSenderError>(())
    /// ```
    #[must_use]
    pub fn timestamp(mut self, unix_seconds: u64) -> Self {
        self.now = unix_seconds;
        self
    }

    /// Signs with the keys `host` serves, for the senders whose keys the receiver fetches
    /// (PayPal, Amazon SNS, Plaid, `fusionauth_jwks`); the [`receiver`](Self::receiver)
    /// fetches them from `host`, trusting its test CA only. Their [`key`](Self::key) is what
    /// the receiver is configured with: PayPal's webhook id, SNS's topic ARN, Plaid's
    /// `client_id:secret` (made up by default); FusionAuth's is not used. Other senders
    /// ignore the host.
    ///
    /// - PayPal: the `PAYPAL-*` headers, under the host's certificate URL.
    /// - SNS: the body is the `Message`; the request carries the signed `Notification`
    ///   around it (`text/plain`, as SNS sends it), and the handler gets that.
    /// - Plaid and FusionAuth: an `ES256` JWT naming the host's key id, with the body's
    ///   SHA-256 and `iat` at the sender's timestamp.
    ///
    /// ```
    /// use tower_webhook::testing::{KeyHost, TestSender};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let host = KeyHost::start().await?;
    /// let sns = TestSender::new("sns")?
    ///     .key("arn:aws:sns:us-east-1:123456789012:orders")
    ///     .key_host(&host);
    /// let request = sns.signed_request("order 42 placed")?;
    /// assert_eq!(request.headers()["x-amz-sns-message-type"], "Notification");
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "fetch")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
    #[must_use]
    pub fn key_host(mut self, host: &KeyHost) -> Self {
        self.key_host = Some(host.clone());
        self
    }

    /// The key to give the receiving preset: the secret, or for public-key senders the public
    /// half in the form the preset takes (hex for Discord, `whpk_…` for Standard Webhooks
    /// `v1a`, base64 DER for SendGrid).
    ///
    /// ```
    /// use tower_webhook::testing::TestSender;
    ///
    /// let stripe = TestSender::new("stripe")?.key("whsec_test");
    /// assert_eq!(stripe.receiving_key(), "whsec_test");
    /// # Ok::<(), tower_webhook::testing::TestSenderError>(())
    /// ```
    #[must_use]
    pub fn receiving_key(&self) -> String {
        match self.key_pair() {
            Some(pair) => pair.public_key(),
            None => self.secret().to_owned(),
        }
    }

    /// The preset under [`receiving_key`](Self::receiving_key), with the URL and a clock fixed
    /// at the sender's timestamp: a receiver that accepts what this sender signs.
    ///
    /// # Errors
    ///
    /// [`PresetError`] if the key is not in the form the preset takes.
    ///
    /// ```
    /// use tower_webhook::{scheme::Scheme, testing::TestSender};
    ///
    /// let receiver = TestSender::new("stripe")?.receiver()?;
    /// assert_eq!(receiver.name(), "stripe");
    /// # Ok::<(), tower_webhook::testing::TestSenderError>(())
    /// ```
    pub fn receiver(&self) -> Result<AnyScheme, PresetError> {
        #[cfg(feature = "fetch")]
        if let Some(host) = self.fetched_from() {
            return fetched::receiver(self.preset.name(), self.secret(), self.now, host);
        }
        self.preset.scheme(self.receiving_key(), &self.options())
    }

    /// `request`, signed as the sender signs it at its timestamp; for senders that sign
    /// inside the body (Mailgun, Adyen, and SNS, whose envelope carries the signature), with
    /// the body rewritten. Linear also signs a
    /// `webhookTimestamp` (milliseconds) that its body must carry: write it into the body.
    ///
    /// # Errors
    ///
    /// [`TestSenderError`] if the key is not in the form the preset takes, the request is
    /// not one the sender signs (a Mailgun body that is not a JSON object, an SNS message
    /// that is not UTF-8), or the sender's keys are fetched and no
    /// [`key_host`](Self::key_host) was given ([`SignError::FetchedKey`]).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tower_webhook::testing::TestSender;
    ///
    /// let request = http::Request::post("/webhooks/linear")
    ///     .header("content-type", "application/json")
    ///     .body(Bytes::from_static(br#"{"action":"create"}"#))?;
    /// let signed = TestSender::new("linear")?.sign(request)?;
    /// assert!(signed.headers().contains_key("linear-signature"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign(&self, request: Request<Bytes>) -> Result<Request<Bytes>, TestSenderError> {
        #[cfg(feature = "fetch")]
        if let Some(host) = self.fetched_from() {
            let name = self.preset.name();
            return Ok(fetched::sign(name, self.secret(), self.now, host, request)?);
        }
        if let Some(pair) = self.key_pair() {
            return Ok(pair.sign(self.now, request)?);
        }
        let scheme = self.preset.scheme(self.secret(), &self.options())?;
        Ok(scheme.sign_request(request)?)
    }

    /// A `POST` with `body` to the URL's path and query (`/` by default), with the
    /// `Content-Type` the sender sends (`application/x-www-form-urlencoded` for Twilio,
    /// `text/plain` for SNS, `application/json` otherwise), signed.
    ///
    /// # Errors
    ///
    /// As [`sign`](Self::sign).
    ///
    /// ```
    /// use tower_webhook::testing::TestSender;
    ///
    /// let request = TestSender::new("shopify")?.signed_request(r#"{"id":1}"#)?;
    /// assert!(request.headers().contains_key("x-shopify-hmac-sha256"));
    /// # Ok::<(), tower_webhook::testing::TestSenderError>(())
    /// ```
    pub fn signed_request(
        &self,
        body: impl Into<Bytes>,
    ) -> Result<Request<Bytes>, TestSenderError> {
        let path = self
            .url
            .parse::<http::Uri>()
            .ok()
            .and_then(|uri| uri.path_and_query().map(|pq| pq.as_str().to_owned()))
            .unwrap_or_else(|| "/".into());
        let content_type = if self.preset.name() == "twilio" {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let request = Request::post(path)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(body.into())
            .map_err(|_| {
                SignError::invalid_request(
                    self.preset.name(),
                    "the URL's path is not a request target",
                )
            })?;
        self.sign(request)
    }

    fn secret(&self) -> &str {
        match &self.key {
            Some(key) => key,
            None if self.preset.name() == "adyen" => DEFAULT_ADYEN_KEY,
            #[cfg(feature = "fetch")]
            None => fetched::default_key(self.preset.name()).unwrap_or(DEFAULT_KEY),
            #[cfg(not(feature = "fetch"))]
            None => DEFAULT_KEY,
        }
    }

    /// The key host this sender signs with, if its keys are fetched and it has one.
    #[cfg(feature = "fetch")]
    fn fetched_from(&self) -> Option<&KeyHost> {
        self.key_host
            .as_ref()
            .filter(|_| fetched::default_key(self.preset.name()).is_some())
    }

    fn options(&self) -> PresetOptions {
        let now = UNIX_EPOCH + Duration::from_secs(self.now);
        PresetOptions::new()
            .url(self.url.clone())
            .clock(move || now)
    }

    /// The key pair of a public-key sender, derived from the key.
    fn key_pair(&self) -> Option<KeyPair> {
        KeyPair::derive(self.preset.name(), self.secret().as_bytes())
    }
}

impl fmt::Debug for TestSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestSender")
            .field("preset", &self.preset.name())
            .field("url", &self.url)
            .field("timestamp", &self.now)
            .finish_non_exhaustive()
    }
}

/// A private key of a public-key sender, made for a test.
enum KeyPair {
    #[cfg(feature = "ed25519")]
    Ed25519 {
        preset: &'static str,
        key: Box<ed25519_dalek::SigningKey>,
    },
    #[cfg(feature = "p256")]
    P256(Box<p256::ecdsa::SigningKey>),
}

impl KeyPair {
    /// The pair `preset` signs with, derived from `seed`; none for presets with shared
    /// secrets.
    #[cfg_attr(
        not(any(feature = "ed25519", feature = "p256")),
        allow(unused_variables)
    )]
    fn derive(preset: &'static str, seed: &[u8]) -> Option<Self> {
        #[cfg(any(feature = "ed25519", feature = "p256"))]
        let bytes: [u8; 32] = {
            use sha2::Digest as _;
            sha2::Sha256::new()
                .chain_update(b"tower-webhook test key pair\0")
                .chain_update(seed)
                .finalize()
                .into()
        };
        match preset {
            #[cfg(feature = "ed25519")]
            "discord" | "standard_webhooks_v1a" => Some(Self::Ed25519 {
                preset,
                key: Box::new(ed25519_dalek::SigningKey::from_bytes(&bytes)),
            }),
            // A SHA-256 output is a valid P-256 scalar but with odds of about 2^-32.
            #[cfg(feature = "p256")]
            "sendgrid" => p256::ecdsa::SigningKey::from_slice(&bytes)
                .ok()
                .map(|key| Self::P256(Box::new(key))),
            _ => None,
        }
    }

    /// The public half, as the preset takes it.
    fn public_key(&self) -> String {
        #[cfg(any(feature = "ed25519", feature = "p256"))]
        use base64::{engine::general_purpose::STANDARD, Engine as _};
        match *self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519 { preset, ref key } => {
                let public = key.verifying_key().to_bytes();
                if preset == "discord" {
                    hex::encode(public)
                } else {
                    format!("whpk_{}", STANDARD.encode(public))
                }
            }
            #[cfg(feature = "p256")]
            Self::P256(ref key) => {
                // The X.509 SubjectPublicKeyInfo DER that SendGrid shows, base64.
                let der = p256::pkcs8::EncodePublicKey::to_public_key_der(key.verifying_key());
                STANDARD.encode(der.map(|der| der.into_vec()).unwrap_or_default())
            }
        }
    }

    /// `request` signed at `now` with this key, in the preset's envelope.
    #[cfg_attr(
        not(any(feature = "ed25519", feature = "p256")),
        allow(unused_variables)
    )]
    fn sign(&self, now: u64, request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        match *self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519 { preset, ref key } => {
                use ed25519_dalek::Signer as _;
                let public = self.public_key();
                let scheme = if preset == "discord" {
                    presets::discord(public)
                } else {
                    presets::standard_webhooks_v1a(public)
                }
                .map_err(|_| SignError::public_key(preset))?;
                let headers = envelope(&scheme, now, &request, |signed| {
                    key.sign(signed).to_bytes().to_vec()
                });
                let mut request = request;
                crate::sign::set_headers(request.headers_mut(), headers);
                Ok(request)
            }
            #[cfg(feature = "p256")]
            Self::P256(ref key) => {
                use p256::ecdsa::{signature::Signer as _, Signature};
                let scheme = presets::sendgrid(self.public_key())
                    .map_err(|_| SignError::public_key("sendgrid"))?;
                let headers = envelope(&scheme, now, &request, |signed| {
                    let signature: Signature = key.sign(signed);
                    signature.to_der().as_bytes().to_vec()
                });
                let mut request = request;
                crate::sign::set_headers(request.headers_mut(), headers);
                Ok(request)
            }
        }
    }
}

/// The headers `scheme`'s sender sends for `request` at `now`, its signature made by `sign`
/// over the signed bytes.
#[cfg(any(feature = "ed25519", feature = "p256"))]
fn envelope<A>(
    scheme: &crate::scheme::SignatureScheme<A>,
    now: u64,
    request: &Request<Bytes>,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> http::HeaderMap {
    let mut message = crate::sign::Message::new(request.body()).timestamp(now);
    if let Some(id) = scheme.id_in(request.headers()) {
        message = message.id(id);
    }
    let message = scheme.complete(&message);
    let signature = sign(&scheme.signed_bytes(&message));
    let timestamp = scheme.timestamp_format.render(now);
    let value = scheme.render(&signature, &timestamp);
    scheme.envelope(&message, value)
}

/// Why a [`TestSender`] gave no request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TestSenderError {
    /// No such preset, its feature is off, or the key is not in the form it takes.
    Preset(PresetError),
    /// The preset cannot sign this request, or with a key a test holds.
    Sign(SignError),
}

impl From<PresetError> for TestSenderError {
    fn from(error: PresetError) -> Self {
        Self::Preset(error)
    }
}

impl From<SignError> for TestSenderError {
    fn from(error: SignError) -> Self {
        Self::Sign(error)
    }
}

impl fmt::Display for TestSenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Preset(error) => error.fmt(f),
            Self::Sign(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for TestSenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Preset(error) => Some(error),
            Self::Sign(error) => Some(error),
        }
    }
}
