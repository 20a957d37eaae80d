//! What is signed and how: the [`Scheme`] and [`Verifier`] traits, and [`SignatureScheme`]
//! with its [`Algorithm`]s.
//!
//! A scheme looks at the request head before any body byte is read and either rejects it
//! (missing or malformed signature, and later stale timestamp) or returns a [`Verifier`]. The
//! verifier is fed the body frame by frame as it arrives, so the verdict is ready when the last
//! byte is, and then given the whole buffered body once, for algorithms that cannot stream.
//! Whatever a scheme signs before the body (a timestamp, an id) it feeds to its verifier when it
//! creates it.

pub(crate) mod algorithm;
mod any;
pub(crate) mod envelope;
mod event_id;
mod options;
mod sender;
mod verified;

use bytes::Bytes;
use http::request::Parts;

#[cfg(feature = "ed25519")]
#[cfg_attr(docsrs, doc(cfg(feature = "ed25519")))]
pub use self::algorithm::ed25519::{Ed25519, Ed25519Scheme};
#[cfg(feature = "p256")]
#[cfg_attr(docsrs, doc(cfg(feature = "p256")))]
pub use self::algorithm::p256::{EcdsaP256, P256Scheme};
pub(crate) use self::envelope::body_timestamp::BodyTimestamp;
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use self::sender::adyen::{AdyenScheme, AdyenVerifier};
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use self::sender::client_state::{ClientStateScheme, ClientStateVerifier};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use self::sender::jwt::{
    BodyHash, InvalidKeyUrl, JwtScheme, JwtVerifier, DEFAULT_JWKS_REFRESH_INTERVAL,
    DEFAULT_JWT_LEEWAY,
};
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use self::sender::mailgun::{MailgunScheme, MailgunVerifier};
#[cfg(feature = "paypal")]
#[cfg_attr(docsrs, doc(cfg(feature = "paypal")))]
pub use self::sender::paypal::{PayPalScheme, PayPalVerifier, PAYPAL_CERT_HOSTS};
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
pub use self::sender::sns::{SnsScheme, SnsVerifier, SNS_CERT_HOSTS, SNS_DEFAULT_TOLERANCE};
#[cfg(feature = "twilio")]
#[cfg_attr(docsrs, doc(cfg(feature = "twilio")))]
pub use self::sender::twilio::{InvalidUrl, TwilioScheme, TwilioVerifier};
pub use self::{
    algorithm::hmac::{Hmac, HmacScheme, HmacVerifier},
    algorithm::Algorithm,
    any::{AnyScheme, AnyVerifier},
    envelope::{
        encoding::Encoding,
        format::SignatureFormat,
        signature::{SignatureScheme, SignatureVerifier, DEFAULT_TOLERANCE},
        timestamp::TimestampFormat,
    },
    sender::token::{TokenScheme, TokenVerifier},
    sender::unsigned::{UnsignedScheme, UnsignedVerifier},
    verified::{DeliveryId, Verified},
};
pub(crate) use crate::foundation::{unix_seconds, SharedClock};
pub use crate::foundation::{Clock, InvalidKey, SystemClock};
use crate::{
    keys::{ResolvedKeys, Start},
    rejection::Rejection,
};

/// A way webhooks are signed: which header(s), which bytes, which algorithm, which secret(s).
///
/// [`HmacScheme`] covers the usual "HMAC of the raw body in a header" senders; implement this
/// trait for anything else.
///
/// # Example
///
/// A scheme that accepts a request when a header carries a fixed token. (Use a real signature
/// scheme in production; this only shows the shape of the trait.)
///
/// ```
/// use http::request::Parts;
/// use subtle::ConstantTimeEq;
/// use tower_webhook::{scheme::{Scheme, Verifier}, Rejection, Verified};
///
/// struct SharedToken(&'static [u8]);
///
/// struct TokenOk;
///
/// impl Verifier for TokenOk {
///     fn update(&mut self, _chunk: &[u8]) {}
///     fn finish(&mut self, _body: &[u8]) -> Result<Verified, Rejection> {
///         Ok(Verified::new(0))
///     }
/// }
///
/// impl Scheme for SharedToken {
///     type Verifier = TokenOk;
///
///     fn name(&self) -> &str {
///         "shared-token"
///     }
///
///     fn verifier(&self, request: &Parts) -> Result<TokenOk, Rejection> {
///         let token = request.headers.get("x-token").ok_or(Rejection::MissingSignature)?;
///         if bool::from(token.as_bytes().ct_eq(self.0)) {
///             Ok(TokenOk)
///         } else {
///             Err(Rejection::InvalidSignature)
///         }
///     }
/// }
///
/// let layer = tower_webhook::WebhookSignatureLayer::new(SharedToken(b"s3cr3t"));
/// ```
pub trait Scheme: Send + Sync + 'static {
    /// The per-request state that checks the body.
    type Verifier: Verifier;

    /// A short name for the scheme (`"loopwise"`, `"hmac-sha256"`), used in `tracing` events.
    fn name(&self) -> &str;

    /// The sender's setup handshake, which the layer answers
    /// ([`handshake`](crate::handshake)); none by default. Presets return their sender's.
    ///
    /// ```
    /// use tower_webhook::{presets, scheme::Scheme};
    ///
    /// assert_eq!(presets::twitch("secret").handshake().unwrap().name(), "twitch_challenge");
    /// assert!(presets::github("secret").handshake().is_none());
    /// ```
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        None
    }

    /// Checks the request head and starts verifying its body.
    ///
    /// Called before any body byte is read. Return a rejection for anything the head alone
    /// decides: a missing or malformed signature header, a timestamp outside the window.
    fn verifier(&self, request: &Parts) -> Result<Self::Verifier, Rejection>;

    /// Starts on a request: what the layer calls. The default is
    /// [`verifier`](Self::verifier), at once; a scheme whose keys are resolved per request
    /// checks the head first, then returns the verifier if its keys are cached, or the lookup
    /// to wait for.
    fn start(&self, request: &Parts) -> Start<Self::Verifier> {
        Start::Ready(self.verifier(request))
    }

    /// The verifier for `request` once [`start`](Self::start)'s lookup found `keys`. The
    /// default ignores them and calls [`verifier`](Self::verifier).
    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<Self::Verifier, Rejection> {
        let _ = keys;
        self.verifier(request)
    }
}

/// The per-request half of a [`Scheme`]: fed the body as it arrives, then asked for a verdict.
///
/// See [`Scheme`] for an example.
pub trait Verifier: Send + 'static {
    /// Feeds the next piece of the body, in order. Called once per non-empty frame.
    fn update(&mut self, chunk: &[u8]);

    /// The verdict, once the whole body has been fed.
    ///
    /// `body` is the whole body, exactly the bytes that were fed, for algorithms that cannot
    /// stream; streaming verifiers ignore it. Return [`Rejection::InvalidSignature`] when the
    /// signature does not match, and compare in constant time.
    ///
    /// Called once, on the verifier where the layer holds it (a running MAC is a few hundred
    /// bytes, which a move would copy); the verifier is dropped after, so it may leave its
    /// fields spent (`Option::take`, `std::mem::take`). The crate's verifiers refuse a second
    /// call with [`Rejection::InvalidSignature`]; yours should fail closed too.
    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection>;

    /// The name the keys were resolved under (the tenant, see [`keys`](crate::keys)), if they
    /// were resolved per request; `None` (the default) for fixed keys. The layer names it as
    /// `key_id` in the `tracing` event of a request rejected once its keys were found.
    ///
    /// ```
    /// use tower_webhook::{scheme::Verifier, Rejection, Verified};
    /// # struct MyVerifier;
    /// # impl Verifier for MyVerifier {
    /// #     fn update(&mut self, _: &[u8]) {}
    /// #     fn finish(&mut self, _: &[u8]) -> Result<Verified, Rejection> { Ok(Verified::new(0)) }
    /// # }
    /// assert_eq!(MyVerifier.key_id(), None);
    /// ```
    fn key_id(&self) -> Option<std::sync::Arc<str>> {
        None
    }

    /// The verdict, or a future of it, for schemes that learn only from the body which key
    /// they need and may have to fetch it (Amazon SNS names its certificate in the JSON
    /// body). The layer calls this rather than [`finish`](Self::finish); the default calls
    /// `finish`, ready at once.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tower_webhook::scheme::{Finish, Verifier};
    /// # struct MyVerifier;
    /// # impl Verifier for MyVerifier {
    /// #     fn update(&mut self, _: &[u8]) {}
    /// #     fn finish(&mut self, _: &[u8]) -> Result<tower_webhook::Verified, tower_webhook::Rejection> {
    /// #         Ok(tower_webhook::Verified::new(0))
    /// #     }
    /// # }
    /// let verdict = MyVerifier.finish_later(&Bytes::from_static(b"{}"));
    /// assert!(matches!(verdict, Finish::Ready(Ok(_))));
    /// ```
    fn finish_later(&mut self, body: &Bytes) -> Finish {
        Finish::Ready(self.finish(body))
    }
}

/// A verdict from [`Verifier::finish_later`]: reached, or to wait for.
#[allow(
    clippy::large_enum_variant,
    reason = "`Ready` is nearly every request's verdict: boxing it would cost each one an \
              allocation to save stack space in the rare `Waiting` case"
)]
pub enum Finish {
    /// The verdict.
    Ready(Result<Verified, Rejection>),
    /// The verdict once a key is fetched; the layer waits for it before calling the inner
    /// service.
    Waiting(VerdictFuture),
}

impl std::fmt::Debug for Finish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ready(verdict) => f.debug_tuple("Ready").field(verdict).finish(),
            Self::Waiting(_) => f.write_str("Waiting(..)"),
        }
    }
}

/// Whether a verifier was finished. `finish` takes what the `Verified` marker keeps (the
/// tenant, the scheme's name, the event id) and spends the running hash: a second call must
/// fail closed, not name a delivery without them or check the hash of nothing (a P-256
/// verifier's, reset, against a sender's signature of an empty body).
#[derive(Default)]
pub(crate) struct Spent(bool);

impl Spent {
    /// `Ok` the first time; [`Rejection::InvalidSignature`] after.
    #[inline]
    pub(crate) fn spend(&mut self) -> Result<(), Rejection> {
        if std::mem::replace(&mut self.0, true) {
            return Err(Rejection::InvalidSignature);
        }
        Ok(())
    }
}

/// A verdict to wait for: see [`Finish::Waiting`].
pub type VerdictFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Verified, Rejection>> + Send>>;
