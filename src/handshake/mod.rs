//! Senders' setup handshakes, answered by the layer: the challenge a sender sends before it
//! delivers anything (and often again for as long as the endpoint lives).
//!
//! A preset brings its sender's handshake, on by default; nothing is guessed from the
//! request's shape, so a route answers only its own sender's handshake. A handshake the
//! sender signs is verified first, with the same keys as its deliveries (per tenant where
//! they are resolved per request); an unsigned one is answered only for its exact method and
//! shape. The inner service is not called. Each one answered is a `tracing` event
//! (`webhook handshake answered`) and counts in `webhook_requests_total` with
//! `outcome="handshake"` and its [name](Handshake::name) as the reason.
//!
//! | sender (preset) | handshake | signed | the layer answers | you configure |
//! |---|---|---|---|---|
//! | Twitch (`twitch`) | `webhook_callback_verification` | yes | the challenge, `text/plain` | nothing |
//! | Slack (`slack`) | `url_verification`; slash commands' `ssl_check=1` | yes | the challenge, `text/plain`; 200, empty | nothing |
//! | Zoom (`zoom`) | `endpoint.url_validation` | yes | `{"plainToken","encryptedToken"}`, the HMAC under the (tenant's) secret token | nothing |
//! | Discord (`discord`) | interactions PING (`{"type":1}`) | yes | `{"type":1}` | nothing; [`Handshake::discord_webhook_events`] for Webhook Events (PING `type` 0 → 204) |
//! | Xero (`xero`) | intent to receive (no events) | yes | 200, empty, no cookies; 401 to a wrong signature | nothing |
//! | Okta (`okta`) | `GET` with `x-okta-verification-challenge` | the `Authorization` secret | `{"verification": …}` | nothing |
//! | Meta (`meta`) | `GET ?hub.mode=subscribe&hub.verify_token&hub.challenge` | no: the verify token | the challenge, `text/plain`; 403 to a wrong token | [`Handshake::meta`] with your verify token |
//! | Dropbox (`dropbox`) | `GET ?challenge=` | no | the challenge, `text/plain`, `nosniff` | nothing |
//! | Microsoft Graph (`microsoft_graph`) | `POST ?validationToken=` | no | the decoded token, `text/plain` | nothing |
//! | Trello (`trello`) | `HEAD` | no | 200 | nothing |
//! | Strava (`strava`) | `GET ?hub.mode=subscribe&hub.verify_token&hub.challenge` | no: the verify token | `{"hub.challenge": …}`; 403 to a wrong token | the verify token, as the preset's key |
//! | X (`x`) | CRC, `GET ?crc_token=` | no | `{"response_token":"sha256=…"}` under the consumer secret | a fixed consumer secret, not a resolver |
//! | Asana (`asana`) | `POST` with `X-Hook-Secret` | no | 200 echoing it, once a [`SecretSink`] stored it | [`Handshake::asana`] with a sink |
//! | Notion (`notion`) | `POST {"verification_token": …}` | no | 200, once a [`SecretSink`] stored it | [`Handshake::notion`] with a sink |
//! | Amazon SNS (`sns`) | `SubscriptionConfirmation` | yes | visits `SubscribeURL` through the scheme's fetcher, on SNS's hosts only, then 200 | `SnsScheme::confirm_subscriptions()` |
//!
//! Secrets delivered in a handshake (Asana's, Notion's) are unsigned by design: anyone can
//! send one. [`CaptureInto`] stores one only for a name the application said to
//! [`expect`](CaptureInto::expect) (just before it creates the webhook), once; a sink of your
//! own decides the same way, answering [`SinkError::Refused`] otherwise. X's CRC answer is an
//! HMAC of the token under the key X's deliveries are signed with: tokens are only the
//! characters X sends, never a JSON object, and the `x` preset refuses any delivery that is
//! not one, so no answer can pass as a delivery. It tells whoever asks that the route is
//! configured, as X's protocol requires.
//!
//! Echoed values are bounded (at most [`MAX_CHALLENGE_LEN`] bytes) and made only of the
//! characters senders use (letters, digits, ` -._~:/+=`); anything else is refused with 400,
//! so an echo can never carry markup. Echoes are `text/plain; charset=utf-8` with
//! `X-Content-Type-Options: nosniff` unless the sender requires JSON.
//!
//! [`WebhookSignatureLayer::handshakes`](crate::WebhookSignatureLayer::handshakes) turns them
//! off or passes them to the handler instead, marked with a [`HandshakeRequest`].
//!
//! ```
//! use tower_webhook::{handshake::Handshake, presets, WebhookSignatureLayer};
//!
//! // Twitch's challenge is answered by the layer: nothing to write.
//! let twitch = WebhookSignatureLayer::new(presets::twitch("subscription secret"));
//! // Meta's needs the verify token you chose in the app dashboard.
//! let meta = WebhookSignatureLayer::new(presets::meta("app secret"))
//!     .handshake(Handshake::meta("my verify token"));
//! ```

mod answer;
mod capture;
mod kind;

use std::{fmt, future::Future, pin::Pin};

use bytes::Bytes;
use http::{request::Parts, Response};

pub use self::answer::{MAX_CHALLENGE_LEN, MAX_HANDSHAKE_BODY};
#[cfg(feature = "keys")]
#[cfg_attr(docsrs, doc(cfg(feature = "keys")))]
pub use self::capture::CaptureInto;
pub use self::capture::{CapturedSecret, SecretSink, SinkError, StoreFuture};
use self::kind::Kind;
use crate::scheme::Verified;

/// One sender's setup handshake, answered by the layer.
///
/// Presets bring theirs ([`Scheme::handshake`](crate::scheme::Scheme::handshake)); the
/// layer's [`handshake`](crate::WebhookSignatureLayer::handshake) replaces it, for a
/// handshake that needs your configuration (Meta's verify token) or a scheme of your own.
/// See [the module](self) for what each answers.
///
/// ```
/// use tower_webhook::handshake::Handshake;
///
/// assert_eq!(Handshake::dropbox().name(), "dropbox_challenge");
/// ```
#[derive(Clone)]
pub struct Handshake {
    kind: Kind,
}

/// What the layer does with its scheme's handshake.
///
/// ```
/// use tower_webhook::{handshake::HandshakeMode, presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::twitch("secret"))
///     .handshakes(HandshakeMode::Handler);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeMode {
    /// The layer answers it (the default).
    #[default]
    Answer,
    /// The handler answers it: a signed handshake reaches it verified, as any delivery; an
    /// unsigned one of the exact shape reaches it unverified. Either carries a
    /// [`HandshakeRequest`] extension.
    Handler,
    /// None is recognised: a handshake is verified as any request (an unsigned one is refused
    /// as unsigned).
    Off,
}

/// The request extension a handshake passed to the handler carries
/// ([`HandshakeMode::Handler`]).
///
/// ```
/// use http::Request;
/// use tower_webhook::{body::BufferedBody, handshake::HandshakeRequest};
///
/// fn what(request: &Request<BufferedBody>) -> &'static str {
///     match request.extensions().get::<HandshakeRequest>() {
///         Some(handshake) => handshake.name(),
///         None => "a delivery",
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeRequest {
    name: &'static str,
    signed: bool,
}

impl HandshakeRequest {
    /// The handshake's [name](Handshake::name).
    ///
    /// ```
    /// # let request = tower_webhook::handshake::HandshakeRequest::for_tests("dropbox_challenge", false);
    /// assert_eq!(request.name(), "dropbox_challenge");
    /// ```
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the request was verified: a signed handshake was; an unsigned one (a `GET`
    /// challenge) was not, and anyone can send it.
    ///
    /// ```
    /// # let request = tower_webhook::handshake::HandshakeRequest::for_tests("dropbox_challenge", false);
    /// assert!(!request.is_signed());
    /// ```
    #[must_use]
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    #[doc(hidden)]
    #[must_use]
    pub fn for_tests(name: &'static str, signed: bool) -> Self {
        Self { name, signed }
    }
}

impl Handshake {
    pub(crate) fn new(kind: Kind) -> Self {
        Self { kind }
    }

    /// Its name: the `reason` of its metric, and the name in its `tracing` event.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// assert_eq!(Handshake::twitch().name(), "twitch_challenge");
    /// ```
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// Twitch EventSub's `webhook_callback_verification`: a signed message whose
    /// `Twitch-Eventsub-Message-Type` says so, answered with its `challenge` as
    /// `text/plain`. [`presets::twitch`](crate::presets::twitch)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::twitch();
    /// ```
    #[must_use]
    pub fn twitch() -> Self {
        Self::new(Kind::Twitch)
    }

    /// Slack's Events API `url_verification` (signed), answered with its `challenge` as
    /// `text/plain`, and a slash command's `ssl_check=1` (signed), answered 200 with an
    /// empty body. [`presets::slack`](crate::presets::slack)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::slack();
    /// ```
    #[must_use]
    pub fn slack() -> Self {
        Self::new(Kind::Slack)
    }

    /// Zoom's `endpoint.url_validation` (signed), answered with its plain token and that
    /// token's hex HMAC-SHA256 under the secret token that verified it. Only
    /// [`presets::zoom`](crate::presets::zoom) makes it: its verifier computes the MAC.
    pub(crate) fn zoom() -> Self {
        Self::new(Kind::Zoom)
    }

    /// Meta's handshake with no verify token: refuses every verification request, and says
    /// once how to set the token. [`presets::meta`](crate::presets::meta)'s.
    pub(crate) fn meta_unset() -> Self {
        Self::new(Kind::Meta(kind::VerifyToken::unset()))
    }

    /// Notion's handshake with no sink: refuses the token, and says once how to set one.
    /// [`presets::notion`](crate::presets::notion)'s.
    pub(crate) fn notion_unset() -> Self {
        Self::new(Kind::Notion(None))
    }

    /// Asana's handshake with no sink: refuses the secret, and says once how to set one.
    /// [`presets::asana`](crate::presets::asana)'s.
    pub(crate) fn asana_unset() -> Self {
        Self::new(Kind::Asana(None))
    }

    /// X's CRC under the consumer secret `keys` (none when resolved per request).
    /// [`presets::x`](crate::presets::x)'s.
    pub(crate) fn x(keys: Option<crate::scheme::Hmac>) -> Self {
        Self::new(Kind::X(keys.map(std::sync::Arc::new)))
    }

    /// Amazon SNS's `SubscriptionConfirmation`, confirmed by visiting its `SubscribeURL`
    /// ([`SnsScheme::confirm_subscriptions`](crate::scheme::SnsScheme::confirm_subscriptions)).
    #[cfg(feature = "sns")]
    pub(crate) fn sns(fetcher: crate::keys::Fetcher, hosts: crate::keys::AllowedHosts) -> Self {
        Self::new(Kind::Sns(std::sync::Arc::new((fetcher, hosts))))
    }

    /// Strava's subscription validation: `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`,
    /// unsigned, answered `{"hub.challenge": …}` when the verify token is `verify_token`
    /// (compared in constant time), 403 when not. [`presets::strava`](crate::presets::strava)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::strava("the verify token given when subscribing");
    /// ```
    #[must_use]
    pub fn strava(verify_token: impl AsRef<[u8]>) -> Self {
        Self::new(Kind::Strava(kind::VerifyToken::new(verify_token.as_ref())))
    }

    /// Trello's `HEAD` when a webhook is created (unsigned), answered 200.
    /// [`presets::trello`](crate::presets)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::trello();
    /// ```
    #[must_use]
    pub fn trello() -> Self {
        Self::new(Kind::Trello)
    }

    /// Microsoft Graph's validation request: a `POST` with `?validationToken=…`, unsigned,
    /// answered with the decoded token as `text/plain`, within Graph's 10 s.
    /// [`presets::microsoft_graph`](crate::presets::microsoft_graph)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::microsoft_graph();
    /// ```
    #[must_use]
    pub fn microsoft_graph() -> Self {
        Self::new(Kind::MicrosoftGraph)
    }

    /// Discord interactions' PING, `{"type":1}` (signed), answered `{"type":1}`.
    /// [`presets::discord`](crate::presets)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::discord();
    /// ```
    #[must_use]
    pub fn discord() -> Self {
        Self::new(Kind::Discord)
    }

    /// Discord Webhook Events' PING, a signed body of `type` 0, answered 204. Set it on the
    /// layer of a Webhook Events route (the `discord` preset verifies both; its default
    /// handshake is the interactions PING, whose `type` 1 is an event here).
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::discord_webhook_events();
    /// ```
    #[must_use]
    pub fn discord_webhook_events() -> Self {
        Self::new(Kind::DiscordWebhookEvents)
    }

    /// Xero's intent to receive: signed payloads with no events, answered 200 with an empty
    /// body (and no cookies); one with a wrong signature gets 401 as any request does.
    /// [`presets::xero`](crate::presets::xero)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::xero();
    /// ```
    #[must_use]
    pub fn xero() -> Self {
        Self::new(Kind::Xero)
    }

    /// Okta event hooks' one-time verification: a `GET` with
    /// `x-okta-verification-challenge`, carrying the hook's `Authorization` secret (checked
    /// first), answered `{"verification": …}`. [`presets::okta`](crate::presets::okta)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::okta();
    /// ```
    #[must_use]
    pub fn okta() -> Self {
        Self::new(Kind::Okta)
    }

    /// Meta's (Facebook, Instagram, WhatsApp) verification request:
    /// `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`, unsigned, answered with
    /// the challenge when the verify token is `verify_token` (compared in constant time), and
    /// 403 when it is not. [`presets::meta`](crate::presets::meta) brings this handshake
    /// with no token, which refuses every verification request: set yours.
    ///
    /// ```
    /// use tower_webhook::{handshake::Handshake, presets, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(presets::meta("app secret"))
    ///     .handshake(Handshake::meta("the verify token from the app dashboard"));
    /// ```
    #[must_use]
    pub fn meta(verify_token: impl AsRef<[u8]>) -> Self {
        Self::new(Kind::Meta(kind::VerifyToken::new(verify_token.as_ref())))
    }

    /// Dropbox's verification request, `GET ?challenge=…` (unsigned), answered with the
    /// challenge, `text/plain` and `nosniff` as Dropbox asks.
    /// [`presets::dropbox`](crate::presets::dropbox)'s.
    ///
    /// ```
    /// use tower_webhook::handshake::Handshake;
    ///
    /// let handshake = Handshake::dropbox();
    /// ```
    #[must_use]
    pub fn dropbox() -> Self {
        Self::new(Kind::Dropbox)
    }

    /// Whether the scheme's verifier computes a MAC under the key that verified the request
    /// ([`Verified::answer_mac`]): Zoom's answer is one.
    pub(crate) fn is_keyed(&self) -> bool {
        self.kind.is_keyed()
    }

    /// What the verifier MACs for a keyed handshake, if `body` is its request.
    pub(crate) fn keyed_message<'a>(&self, body: &'a [u8]) -> Option<&'a str> {
        self.kind.keyed_message(body)
    }

    /// Asana's handshake: a `POST` with `X-Hook-Secret` and no signature, sent while your
    /// create-webhook call is open. The secret goes to `sink`, and once it is stored the
    /// layer answers 200 echoing the header, as Asana requires; the deliveries that follow
    /// are signed with it (`X-Hook-Signature`). See [`SecretSink`] for what to believe.
    ///
    /// ```
    /// use tower_webhook::{
    ///     handshake::{CaptureInto, Handshake},
    ///     keys::{KeyName, ReloadableKeys},
    /// };
    ///
    /// let keys = ReloadableKeys::new();
    /// let capture = CaptureInto::new(keys, KeyName::path("/asana/{webhook}"));
    /// let handshake = Handshake::asana(capture.clone());
    /// // Before each create-webhook call: capture.expect("acme", Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn asana(sink: impl SecretSink) -> Self {
        Self::new(Kind::Asana(Some(std::sync::Arc::new(sink))))
    }

    /// Notion's handshake: a `POST` with a JSON body of only `verification_token`, unsigned
    /// (it is the key the deliveries that follow are signed with). The token goes to `sink`;
    /// once it is stored the layer answers 200. Its body is read within
    /// [`MAX_HANDSHAKE_BODY`] bytes.
    ///
    /// ```
    /// use tower_webhook::{
    ///     handshake::{CaptureInto, Handshake},
    ///     keys::{KeyName, ReloadableKeys},
    /// };
    ///
    /// let handshake = Handshake::notion(CaptureInto::new(ReloadableKeys::new(), KeyName::path("/notion/{workspace}")));
    /// ```
    #[must_use]
    pub fn notion(sink: impl SecretSink) -> Self {
        Self::new(Kind::Notion(Some(std::sync::Arc::new(sink))))
    }

    /// Whether `parts` is this handshake's unsigned request, by its exact method and shape.
    pub(crate) fn unsigned(&self, parts: &Parts) -> bool {
        self.kind.unsigned(parts)
    }

    /// Whether `body` is this unsigned handshake's (Notion's exact shape); the others'
    /// bodies are not looked at.
    pub(crate) fn body_matches(&self, body: &[u8]) -> bool {
        self.kind.body_matches(body)
    }

    /// Whether the unsigned request's body is needed to answer it.
    pub(crate) fn reads_body(&self) -> bool {
        self.kind.reads_body()
    }

    /// The answer to this handshake's unsigned request (`unsigned` said it is one).
    pub(crate) fn answer_unsigned(&self, parts: &Parts, body: &[u8]) -> Answer {
        self.kind.answer_unsigned(parts, body)
    }

    /// The answer to a verified request that is this handshake's signed request, if it is one.
    pub(crate) fn answer_signed(
        &self,
        parts: &Parts,
        body: &[u8],
        verified: &Verified,
    ) -> Option<Answer> {
        self.kind.answer_signed(parts, body, verified)
    }

    /// The marker a handshake passed to the handler carries.
    pub(crate) fn request(&self, signed: bool) -> HandshakeRequest {
        HandshakeRequest {
            name: self.name(),
            signed,
        }
    }
}

impl fmt::Debug for Handshake {
    /// Its name; never a verify token or a key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Handshake").field(&self.name()).finish()
    }
}

/// A handshake's answer: at once, or once a key is looked up.
pub(crate) enum Answer {
    Now(Response<Bytes>),
    Later(Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>),
}

impl From<Response<Bytes>> for Answer {
    fn from(response: Response<Bytes>) -> Self {
        Self::Now(response)
    }
}
