//! [`TokenScheme`]: senders that sign nothing and send a shared secret with every request
//! instead: a token in a header (GitLab, Okta) or HTTP Basic credentials (Chargebee,
//! Postmark, Deepgram).
//!
//! **Weaker than a signature.** The secret proves who sent the request, but not what it
//! sent: anyone who captures one request (a logging proxy, a leaked trace) can send any body
//! with it, for as long as the secret lives. Use HTTPS, keep the body limit and an IP
//! allowlist where the sender publishes its addresses, and rotate the secret.

use std::{borrow::Cow, fmt, sync::Arc};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use http::{request::Parts, HeaderName};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::scheme::{
    envelope::encoding::Tag,
    envelope::signature::find_one,
    options::{shared_options, Options},
    verified::Event,
    InvalidKey, Scheme, Verified, Verifier,
};
use crate::{
    foundation::header_name,
    keys::{IntoKeys, KeySet, KeySlot, ResolvedKeys, Start},
    rejection::Rejection,
};

/// A sender that authenticates each request with a shared secret rather than a signature:
/// the header's value (or the HTTP Basic credentials) must equal one of the secrets.
///
/// The comparison is constant time over SHA-256 digests of both sides, so neither a secret's
/// bytes nor its length leak through timing; secrets are compared only as digests (the
/// first is also kept as given, to [sign](crate::sign::Signer) with, as HMAC schemes keep
/// their keyed state). The check
/// needs no body, so a wrong secret is refused before any body byte is read; with secrets
/// resolved per request ([`keys`](crate::keys)), once the body is read, as an unknown tenant
/// is, so the answer does not tell a prober which tenants exist.
///
/// Read the module docs: this is weaker than a signature, and the guide's [table](crate::guide::schemes) marks these senders.
///
/// ```
/// use tower_webhook::{scheme::TokenScheme, WebhookSignatureLayer};
///
/// let gitlab_like = WebhookSignatureLayer::new(TokenScheme::header("x-gitlab-token", "secret token"));
/// let basic = WebhookSignatureLayer::new(TokenScheme::basic("user:password"));
/// ```
#[derive(Clone)]
pub struct TokenScheme {
    header: HeaderName,
    basic: bool,
    tokens: KeySlot<Tokens>,
    /// The first secret as given, which a sender sends ([`Signer`](crate::sign::Signer));
    /// none when the secrets are resolved per request.
    signing: Option<Arc<[u8]>>,
    options: Options,
}

impl TokenScheme {
    /// Requests whose `header` is exactly `token`.
    ///
    /// # Panics
    ///
    /// If `header` is not a valid header name or `token` is empty. With the `keys` feature,
    /// `token` may be a resolver: see [`keys`](crate::keys).
    ///
    /// ```
    /// use tower_webhook::scheme::TokenScheme;
    ///
    /// let okta_like = TokenScheme::header("authorization", "the secret Okta sends");
    /// ```
    #[must_use]
    pub fn header(header: impl AsRef<str>, token: impl IntoKeys) -> Self {
        Self::new(header_name(header.as_ref()), false, token)
    }

    /// Requests with `Authorization: Basic <base64 of credentials>`, where `credentials` is
    /// `user:password` as configured in the sender's webhook URL or settings.
    ///
    /// # Panics
    ///
    /// If `credentials` is empty.
    ///
    /// ```
    /// use tower_webhook::scheme::TokenScheme;
    ///
    /// let chargebee_like = TokenScheme::basic("webhook-user:long random password");
    /// ```
    #[must_use]
    pub fn basic(credentials: impl IntoKeys) -> Self {
        Self::new(http::header::AUTHORIZATION, true, credentials)
    }

    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    fn new(header: HeaderName, basic: bool, token: impl IntoKeys) -> Self {
        let token = token.into_keys();
        let signing = match &token {
            crate::keys::KeysFrom::Given(secret) => Some(Arc::from(secret.as_slice())),
            #[cfg(feature = "keys")]
            _ => None,
        };
        let Ok(tokens) = KeySlot::new(token, Tokens::parse) else {
            panic!("tower-webhook: the shared token is empty; is its environment variable set?")
        };
        Self {
            header,
            basic,
            tokens,
            signing,
            options: Options::new(if basic { "basic" } else { "token" }),
        }
    }

    /// Another secret accepted too, while rotating it. [`Verified::key_index`] says which
    /// one matched (0 is the first).
    ///
    /// # Panics
    ///
    /// If `token` is empty, or if the secrets are resolved per request (the source returns
    /// every valid one then).
    ///
    /// ```
    /// use tower_webhook::scheme::TokenScheme;
    ///
    /// let scheme = TokenScheme::header("x-gitlab-token", "new").also_accept("old");
    /// ```
    #[must_use]
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    pub fn also_accept(mut self, token: impl AsRef<[u8]>) -> Self {
        let Ok(more) = Tokens::parse(token.as_ref()) else {
            panic!("tower-webhook: the shared token is empty; is its environment variable set?")
        };
        self.tokens.fixed_mut().merge(more);
        self
    }

    /// What a sender sends: the header, whether it is HTTP Basic, and the first secret; none
    /// when the secrets are resolved per request.
    pub(crate) fn signing(&self) -> Option<(&HeaderName, bool, &[u8])> {
        Some((&self.header, self.basic, self.signing.as_deref()?))
    }

    /// The SHA-256 of the secret the request presents, checked before any key is needed.
    fn presented(&self, request: &Parts) -> Result<[u8; 32], Rejection> {
        let value = find_one(&request.headers, [&self.header])?
            .ok_or(Rejection::MissingSignature)?
            .as_bytes()
            .trim_ascii();
        if value.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        if !self.basic {
            return Ok(Sha256::digest(value).into());
        }
        let (scheme, encoded) = value
            .split_at_checked(6)
            .ok_or(Rejection::MalformedSignature)?;
        if !scheme.eq_ignore_ascii_case(b"basic ") {
            return Err(Rejection::MalformedSignature);
        }
        let credentials = STANDARD
            .decode(encoded.trim_ascii())
            .map_err(|_| Rejection::MalformedSignature)?;
        Ok(Sha256::digest(credentials).into())
    }

    fn verifier_from(
        &self,
        presented: &[u8; 32],
        request: &Parts,
        tokens: &Tokens,
        key_id: Option<Arc<str>>,
    ) -> Result<TokenVerifier, Rejection> {
        let Some(index) = tokens.find(presented) else {
            // Keys resolved per request: a secret that is not this name's is answered once
            // the body is read, as a name without keys is (`UnknownKey`). Answered at the
            // head, it would tell a prober with no secret which tenants exist.
            return match key_id {
                Some(_) => Ok(TokenVerifier(Err(Rejection::InvalidSignature))),
                None => Err(Rejection::InvalidSignature),
            };
        };
        Ok(TokenVerifier(Ok(Matched {
            index,
            key_id,
            event: self.options.event(&request.headers),
            name: self.options.name().clone(),
            body: Sha256::new(),
        })))
    }
}

shared_options! {
    TokenScheme {
        /// Names the scheme in logs, metrics and delivery ids.
        ///
        /// ```
        /// use tower_webhook::scheme::TokenScheme;
        ///
        /// let scheme = TokenScheme::basic("user:password").named("chargebee");
        /// ```
        named;

        /// Names each delivery by this (unsigned) header, the same across the sender's retries,
        /// for the replay guard. Without an event id a delivery is named by its body's SHA-256.
        ///
        /// ```
        /// use tower_webhook::scheme::TokenScheme;
        ///
        /// let gitlab_like = TokenScheme::header("x-gitlab-token", "t").event_id_header("idempotency-key");
        /// ```
        event_id_header;

        /// Names each delivery by this top-level field of the JSON body (feature `json`).
        ///
        /// ```
        /// use tower_webhook::scheme::TokenScheme;
        ///
        /// let chargebee_like = TokenScheme::basic("user:password").event_id_field("id");
        /// ```
        event_id_field;
    }
}

impl TokenScheme {
    /// The scheme with its sender's handshake, which the layer answers (presets set theirs).
    #[cfg(feature = "json")]
    pub(crate) fn with_handshake(mut self, handshake: crate::handshake::Handshake) -> Self {
        self.options.set_handshake(handshake);
        self
    }
}

impl Scheme for TokenScheme {
    type Verifier = TokenVerifier;

    fn name(&self) -> &str {
        self.options.name()
    }

    #[cfg(feature = "json")]
    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        self.options.handshake()
    }

    fn verifier(&self, request: &Parts) -> Result<TokenVerifier, Rejection> {
        let presented = self.presented(request)?;
        let tokens = self.tokens.fixed().ok_or(Rejection::KeySourceUnavailable)?;
        self.verifier_from(&presented, request, tokens, None)
    }

    fn start(&self, request: &Parts) -> Start<TokenVerifier> {
        // The header first: a request without one costs no lookup.
        let presented = match self.presented(request) {
            Ok(presented) => presented,
            Err(rejection) => return Start::Ready(Err(rejection)),
        };
        self.tokens.start(request, |tokens, id| {
            self.verifier_from(&presented, request, tokens, id)
        })
    }

    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<TokenVerifier, Rejection> {
        let tokens = keys
            .get::<Tokens>()
            .ok_or(Rejection::KeySourceUnavailable)?;
        let presented = self.presented(request)?;
        self.verifier_from(
            &presented,
            request,
            tokens,
            Some(Arc::clone(keys.shared_id())),
        )
    }
}

impl fmt::Debug for TokenScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenScheme")
            .field("name", self.options.name())
            .field("header", &self.header)
            .field("basic", &self.basic)
            .field("tokens", &self.tokens)
            .field("event_id", &self.options.event_id())
            .finish()
    }
}

/// The [`Verifier`] of a [`TokenScheme`]: the secret matched before the body was read; it
/// hashes the body only to name the delivery when no event id does. With secrets resolved
/// per request, a secret that did not match is answered once the body is read.
pub struct TokenVerifier(Result<Matched, Rejection>);

/// A secret that matched, and what names the delivery.
struct Matched {
    index: usize,
    key_id: Option<Arc<str>>,
    event: Option<Event>,
    name: Cow<'static, str>,
    body: Sha256,
}

impl Verifier for TokenVerifier {
    fn key_id(&self) -> Option<Arc<str>> {
        self.0.as_ref().ok()?.key_id.clone()
    }

    fn update(&mut self, chunk: &[u8]) {
        if let Ok(matched) = &mut self.0 {
            matched.body.update(chunk);
        }
    }

    fn finish(&mut self, _body: &[u8]) -> Result<Verified, Rejection> {
        let mut matched = std::mem::replace(&mut self.0, Err(Rejection::InvalidSignature))?;
        let verified = Verified::keyed(matched.index, matched.key_id);
        let digest = Tag::from_slice(&matched.body.finalize_reset());
        Ok(verified
            .with_digest(matched.name, digest)
            .with_event(matched.event))
    }
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TokenVerifier");
        match &self.0 {
            Ok(matched) => debug.field("index", &matched.index),
            Err(rejection) => debug.field("refused", &rejection.reason()),
        };
        debug.finish_non_exhaustive()
    }
}

/// The SHA-256 digests of the accepted secrets, in order; never the secrets themselves.
#[derive(Clone)]
pub(crate) struct Tokens(Vec<[u8; 32]>);

impl Tokens {
    pub(crate) fn parse(token: &[u8]) -> Result<Self, InvalidKey> {
        if token.is_empty() {
            return Err(InvalidKey::expected("a non-empty shared secret"));
        }
        Ok(Self(vec![Sha256::digest(token).into()]))
    }

    /// The index of the secret `presented` is the digest of, comparing with every one in
    /// constant time.
    pub(crate) fn find(&self, presented: &[u8; 32]) -> Option<usize> {
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, digest) in (0u64..).zip(&self.0) {
            let matches = digest.ct_eq(presented) & !found;
            index = u64::conditional_select(&index, &i, matches);
            found |= matches;
        }
        bool::from(found).then(|| usize::try_from(index).unwrap_or_default())
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted; {}]", self.0.len())
    }
}

impl KeySet for Tokens {
    fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(header: &str, value: &str) -> Parts {
        http::Request::post("/")
            .header(header, value)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn check(scheme: &TokenScheme, request: &Parts) -> Result<usize, &'static str> {
        let mut verifier = scheme.verifier(request).map_err(|r| r.reason())?;
        let verified = verifier.finish(b"").map_err(|r| r.reason())?;
        Ok(verified.key_index())
    }

    #[test]
    fn a_wrong_secret_of_a_resolved_name_is_refused_after_the_body() {
        let scheme = TokenScheme::header("x-gitlab-token", "s3cret");
        let tokens = Tokens::parse(b"s3cret").unwrap();
        let presented: [u8; 32] = Sha256::digest(b"a guess").into();
        let parts = request("x-gitlab-token", "a guess");
        // Fixed secrets: refused at the head.
        assert!(matches!(
            scheme.verifier_from(&presented, &parts, &tokens, None),
            Err(Rejection::InvalidSignature)
        ));
        // A tenant's secret: a verifier that reads the body, then refuses.
        let mut deferred = scheme
            .verifier_from(&presented, &parts, &tokens, Some(Arc::from("acme")))
            .unwrap();
        deferred.update(b"body");
        assert_eq!(
            deferred.finish(b"body").map(|_| ()).map_err(|r| r.reason()),
            Err("invalid_signature")
        );
    }

    #[test]
    fn header_token_must_match_exactly() {
        let scheme = TokenScheme::header("x-gitlab-token", "s3cret").also_accept("old");
        assert_eq!(check(&scheme, &request("x-gitlab-token", "s3cret")), Ok(0));
        assert_eq!(
            check(&scheme, &request("x-gitlab-token", " s3cret ")),
            Ok(0)
        );
        assert_eq!(check(&scheme, &request("x-gitlab-token", "old")), Ok(1));
        for wrong in ["s3cre", "s3cret!", "S3CRET", "x"] {
            assert_eq!(
                check(&scheme, &request("x-gitlab-token", wrong)),
                Err("invalid_signature")
            );
        }
        assert_eq!(
            check(&scheme, &request("x-other", "s3cret")),
            Err("missing_signature")
        );
        assert_eq!(
            check(&scheme, &request("x-gitlab-token", "")),
            Err("missing_signature")
        );
    }

    #[test]
    fn basic_credentials_are_decoded_then_compared() {
        let scheme = TokenScheme::basic("user:pa:ss");
        let good = format!("Basic {}", STANDARD.encode("user:pa:ss"));
        assert_eq!(check(&scheme, &request("authorization", &good)), Ok(0));
        let lower = format!("basic {}", STANDARD.encode("user:pa:ss"));
        assert_eq!(check(&scheme, &request("authorization", &lower)), Ok(0));
        let wrong = format!("Basic {}", STANDARD.encode("user:pass"));
        assert_eq!(
            check(&scheme, &request("authorization", &wrong)),
            Err("invalid_signature")
        );
        for malformed in ["Bearer abc", "Basic", "Basic !!!", "Basi"] {
            assert_eq!(
                check(&scheme, &request("authorization", malformed)),
                Err("malformed_signature"),
                "{malformed}"
            );
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let scheme = TokenScheme::header("x-token", "very secret value");
        let debug = format!("{scheme:?}");
        assert!(!debug.contains("very secret"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }

    #[test]
    fn deliveries_are_named_by_their_body_without_an_event_id() {
        let scheme = TokenScheme::header("x-token", "t");
        let name = |body: &[u8]| {
            let mut verifier = scheme.verifier(&request("x-token", "t")).unwrap();
            verifier.update(body);
            verifier.finish(body).unwrap().delivery_id()
        };
        assert_eq!(name(b"{\"a\":1}"), name(b"{\"a\":1}"));
        assert_ne!(name(b"{\"a\":1}"), name(b"{\"a\":2}"));
    }
}
