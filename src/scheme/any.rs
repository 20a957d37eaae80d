//! [`AnyScheme`]: any [`Scheme`] behind one type, for a sender chosen at run time.

use std::{fmt, sync::Arc};

use bytes::Bytes;
use http::{request::Parts, Request};

use super::{Finish, Scheme, Verified, Verifier};
use crate::{
    keys::{ResolvedKeys, Start},
    rejection::Rejection,
    sign::{SignError, Signer},
};

/// Any scheme, type-erased: what [`presets::by_name`](crate::presets::by_name) returns, so a
/// deployment can pick its sender from configuration and still build one layer type.
///
/// It costs one allocation per request (the boxed verifier) and a virtual call per body
/// frame; a scheme named in code keeps its own type and avoids both.
///
/// ```
/// use tower_webhook::{presets, scheme::AnyScheme, WebhookSignatureLayer};
///
/// let sender = std::env::var("WEBHOOK_SENDER").unwrap_or_else(|_| "stripe".into());
/// let scheme: AnyScheme = presets::by_name(&sender, "whsec_…")?;
/// let layer = WebhookSignatureLayer::new(scheme);
/// # Ok::<(), tower_webhook::presets::PresetError>(())
/// ```
///
/// Every preset it returns also signs ([`Signer`]), or says why it cannot.
#[derive(Clone)]
pub struct AnyScheme(Arc<dyn Erased>, Option<Arc<dyn Signer>>);

impl AnyScheme {
    /// `scheme`, behind the erased type, for verifying only: its
    /// [`sign_request`](Signer::sign_request) returns
    /// [`SignError::Unsupported`]. [`signing`](Self::signing) keeps the signer too.
    ///
    /// ```
    /// use tower_webhook::{presets, scheme::{AnyScheme, Scheme}};
    ///
    /// let scheme = AnyScheme::new(presets::github("secret"));
    /// assert_eq!(scheme.name(), "github");
    /// ```
    #[must_use]
    pub fn new(scheme: impl Scheme) -> Self {
        Self(Arc::new(scheme), None)
    }

    /// `scheme`, behind the erased type, verifying and signing: what
    /// [`presets::by_name`](crate::presets::by_name) returns.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tower_webhook::{presets, scheme::AnyScheme, sign::Signer};
    ///
    /// let scheme = AnyScheme::signing(presets::github("secret"));
    /// let signed = scheme.sign_request(http::Request::post("/").body(Bytes::from_static(b"{}"))?)?;
    /// assert!(signed.headers().contains_key("x-hub-signature-256"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn signing(scheme: impl Scheme + Signer) -> Self {
        let scheme = Arc::new(scheme);
        Self(Arc::clone(&scheme) as Arc<dyn Erased>, Some(scheme))
    }
}

impl Signer for AnyScheme {
    fn sign_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        match &self.1 {
            Some(signer) => signer.sign_request(request),
            None => Err(SignError::unsupported(self.0.name())),
        }
    }
}

impl fmt::Debug for AnyScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AnyScheme").field(&self.0.name()).finish()
    }
}

/// The object-safe face of a [`Scheme`].
trait Erased: Send + Sync + 'static {
    fn name(&self) -> &str;
    #[cfg(feature = "json")]
    fn handshake(&self) -> Option<crate::handshake::Handshake>;
    fn verifier(&self, request: &Parts) -> Result<AnyVerifier, Rejection>;
    fn start(&self, request: &Parts) -> Start<AnyVerifier>;
    fn verifier_with(&self, request: &Parts, keys: &ResolvedKeys)
        -> Result<AnyVerifier, Rejection>;
}

impl<S: Scheme> Erased for S {
    fn name(&self) -> &str {
        Scheme::name(self)
    }

    #[cfg(feature = "json")]
    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        Scheme::handshake(self)
    }

    fn verifier(&self, request: &Parts) -> Result<AnyVerifier, Rejection> {
        Scheme::verifier(self, request).map(AnyVerifier::new)
    }

    fn start(&self, request: &Parts) -> Start<AnyVerifier> {
        match Scheme::start(self, request) {
            Start::Ready(verifier) => Start::Ready(verifier.map(AnyVerifier::new)),
            Start::Resolving(lookup) => Start::Resolving(lookup),
        }
    }

    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<AnyVerifier, Rejection> {
        Scheme::verifier_with(self, request, keys).map(AnyVerifier::new)
    }
}

impl Scheme for AnyScheme {
    type Verifier = AnyVerifier;

    fn name(&self) -> &str {
        self.0.name()
    }

    #[cfg(feature = "json")]
    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        self.0.handshake()
    }

    fn verifier(&self, request: &Parts) -> Result<AnyVerifier, Rejection> {
        self.0.verifier(request)
    }

    fn start(&self, request: &Parts) -> Start<AnyVerifier> {
        self.0.start(request)
    }

    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<AnyVerifier, Rejection> {
        self.0.verifier_with(request, keys)
    }
}

/// The [`Verifier`] of an [`AnyScheme`]: the scheme's own verifier, boxed.
pub struct AnyVerifier(Box<dyn Verifier>);

impl AnyVerifier {
    fn new(verifier: impl Verifier) -> Self {
        Self(Box::new(verifier))
    }
}

impl fmt::Debug for AnyVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyVerifier").finish_non_exhaustive()
    }
}

impl Verifier for AnyVerifier {
    fn update(&mut self, chunk: &[u8]) {
        self.0.update(chunk);
    }

    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection> {
        self.0.finish(body)
    }

    fn finish_later(&mut self, body: &Bytes) -> Finish {
        self.0.finish_later(body)
    }

    fn key_id(&self) -> Option<Arc<str>> {
        self.0.key_id()
    }
}
