//! [`JwtScheme`]: webhooks signed with a JWT in a header whose claims hold the body's
//! SHA-256 (Plaid, FusionAuth).

use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};
use http::{request::Parts, HeaderName, Uri};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::scheme::{
    envelope::encoding::Tag,
    envelope::signature::find_one,
    options::{shared_options, Options},
    InvalidKey, Scheme, Verified, Verifier,
};
use crate::{
    foundation::{header_name, Clock},
    keys::{
        fetch::{JwkSource, JwksDocument, JwtKeys},
        Fetcher, KeyName, KeyResolver, KeySlot, KeysFrom, ResolvedKeys, Start,
    },
    rejection::Rejection,
};

/// The longest JWT read from a header: larger ones are malformed.
const MAX_JWT_LEN: usize = 8 * 1024;

/// How long a fetched JSON Web Key (or JSON Web Key Set) is used before it is fetched
/// again: 1 hour.
const JWK_TTL: Duration = Duration::from_secs(60 * 60);

/// The least time between two fetches of a JSON Web Key Set for key ids it does not hold,
/// when none is set: 5 minutes (see [`JwtScheme::jwks_refresh_interval`]).
///
/// A key id the JWKS does not hold is either made up or a key the sender added since the
/// JWKS was fetched; only a fetch tells which, and anyone can send made-up ones. Five
/// minutes is the interval Microsoft.IdentityModel's `BaseConfigurationManager` waits
/// between refreshes asked for by unknown keys (its `DefaultRefreshInterval`): a sender's
/// new key is picked up within minutes, and a flood of made-up key ids costs one fetch every
/// five minutes.
pub const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// How far past `exp`, and how long before `nbf`, a JWT is still accepted by default:
/// 60 seconds, for the sender's and the receiver's clocks to differ (see
/// [`JwtScheme::leeway`]).
pub const DEFAULT_JWT_LEEWAY: Duration = Duration::from_secs(60);

/// The longest leeway [`JwtScheme::leeway`] takes: 5 minutes, the tolerance on `iat`.
const LONGEST_LEEWAY: Duration = Duration::from_secs(5 * 60);

/// How a claim writes the body's SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyHash {
    /// Lowercase or uppercase hex (Plaid).
    Hex,
    /// Standard base64 (FusionAuth).
    Base64,
}

/// A webhook signed with a JWT (JWS compact form) in a header: the JWT's signature is
/// checked under a key (a shared HMAC secret, or a JSON Web Key fetched by the `kid` the
/// JWT names), then its claim of the body's SHA-256 is compared, in constant time, with the
/// body received.
///
/// - Only the algorithms the scheme lists are accepted (`none` never is), each bound to its
///   key type: an `HS256` header cannot make an RSA public key act as an HMAC secret.
/// - `iat` more than 5 minutes from now is refused ([`tolerance`](Self::tolerance)); a JWT
///   without `iat` is refused when the scheme [requires it](Self::require_issued_at).
/// - A JWT past its `exp`, or before its `nbf`, by more than the
///   [`leeway`](Self::leeway) (60 seconds) is refused with `401`; a claim that is there but
///   not a number is refused too. Without `iat` or `exp`, nothing in a JWT says when it was
///   made, and a captured delivery verifies for as long as its key is used: put a replay
///   guard behind such senders.
/// - The JWT is checked when the head arrives: a bad one gets `401` before the body is read,
///   unless its keys are resolved per request (a [`KeyResolver`], a JWKS, Plaid's keys):
///   then it is answered once the body is read, as a name without keys is, so the answer
///   does not tell a prober which names have keys.
/// - A delivery is named by its signature, an `ES256` one in its low-`s` form: the other
///   form of a captured signature (ECDSA's `s` or `n - s`) is the same delivery.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let fusionauth = WebhookSignatureLayer::new(presets::fusionauth("hmac signing key"));
/// let plaid = WebhookSignatureLayer::new(presets::plaid("client_id", "secret"));
/// ```
#[derive(Clone)]
pub struct JwtScheme {
    header: HeaderName,
    keys: KeySlot<JwtKeys>,
    algorithms: &'static [&'static str],
    claim: Cow<'static, str>,
    body_hash: BodyHash,
    require_iat: bool,
    leeway: Duration,
    options: Options,
    /// Where the JWKS is, for a scheme built by [`jwks`](Self::jwks): what
    /// [`jwks_refresh_interval`](Self::jwks_refresh_interval) rebuilds the keys from.
    jwks: Option<(Fetcher, Uri)>,
}

impl JwtScheme {
    /// JWTs in `header` signed with `HS256`, `HS384` or `HS512` under `secret`.
    ///
    /// # Panics
    ///
    /// If `header` is not a header name or `secret` is empty.
    ///
    /// ```
    /// use tower_webhook::scheme::JwtScheme;
    ///
    /// let scheme = JwtScheme::hmac("x-fusionauth-signature-jwt", "signing key");
    /// ```
    #[must_use]
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    pub fn hmac(header: impl AsRef<str>, secret: impl crate::keys::IntoKeys) -> Self {
        let Ok(keys) = KeySlot::new(secret.into_keys(), JwtKeys::parse_secret) else {
            panic!(
                "tower-webhook: the JWT's HMAC secret is empty; is its environment variable set?"
            )
        };
        Self::with(header, keys, &["HS256", "HS384", "HS512"])
    }

    /// JWTs in `header` signed with `RS256` or `ES256` under the key of the JSON Web Key Set
    /// at `jwks_url` whose `kid` the JWT names, fetched with `fetcher`. The set is fetched as
    /// one document and used for an hour; a key id it does not hold fetches it again at most
    /// every 5 minutes ([`jwks_refresh_interval`](Self::jwks_refresh_interval)), and is
    /// refused with `401` if the set still does not hold it.
    ///
    /// # Errors
    ///
    /// [`InvalidKeyUrl`] unless `jwks_url` is an `https` URL.
    ///
    /// ```
    /// use tower_webhook::{keys::Fetcher, scheme::JwtScheme};
    ///
    /// let scheme = JwtScheme::jwks(
    ///     "x-fusionauth-signature-jwt",
    ///     "https://auth.example.com/.well-known/jwks.json",
    ///     Fetcher::new(),
    /// )?;
    /// # Ok::<(), tower_webhook::scheme::InvalidKeyUrl>(())
    /// ```
    pub fn jwks(
        header: impl AsRef<str>,
        jwks_url: &str,
        fetcher: Fetcher,
    ) -> Result<Self, InvalidKeyUrl> {
        let url = https_url(jwks_url)?;
        let keys = jwks_keys(
            header.as_ref(),
            &fetcher,
            &url,
            DEFAULT_JWKS_REFRESH_INTERVAL,
        );
        let mut scheme = Self::with(header, keys, &["RS256", "ES256"]);
        scheme.jwks = Some((fetcher, url));
        Ok(scheme)
    }

    /// For a scheme built by [`jwks`](Self::jwks): the least time between two fetches of the
    /// JSON Web Key Set for key ids it does not hold. Default:
    /// [`DEFAULT_JWKS_REFRESH_INTERVAL`] (5 minutes); clamped to 30 seconds to 1 hour.
    /// Shorter picks up a sender's new key sooner; each made-up key id a request names can
    /// cost a fetch that often. Other schemes fetch no JWKS and are left as they are.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{keys::Fetcher, scheme::JwtScheme};
    ///
    /// let scheme = JwtScheme::jwks(
    ///     "x-fusionauth-signature-jwt",
    ///     "https://auth.example.com/.well-known/jwks.json",
    ///     Fetcher::new(),
    /// )?
    /// .jwks_refresh_interval(Duration::from_secs(60));
    /// # Ok::<(), tower_webhook::scheme::InvalidKeyUrl>(())
    /// ```
    #[must_use]
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        if let Some((fetcher, url)) = &self.jwks {
            self.keys = jwks_keys(self.header.as_str(), fetcher, url, interval);
        }
        self
    }

    /// Plaid's JWTs (`Plaid-Verification`, `ES256`), their keys fetched by key id from
    /// `key_endpoint` (Plaid's `/webhook_verification_key/get`) with the client's
    /// credentials; the body's SHA-256 is the hex `request_body_sha256` claim, and `iat` is
    /// required. [`presets::plaid`](crate::presets::plaid) uses Plaid's production host.
    ///
    /// Each key id is a request to Plaid carrying your secret, cached for an hour; a key id
    /// Plaid does not know gets `503` and is asked again a second later. Made-up key ids are
    /// held to `fetcher`'s limits ([`Fetcher::rate_limit`],
    /// [`Fetcher::max_concurrent_fetches`]), which key ids already cached never wait for.
    ///
    /// # Errors
    ///
    /// [`InvalidKeyUrl`] unless `key_endpoint` is an `https` URL.
    ///
    /// ```
    /// use tower_webhook::{keys::Fetcher, scheme::JwtScheme};
    ///
    /// let sandbox = JwtScheme::plaid(
    ///     "https://sandbox.plaid.com/webhook_verification_key/get",
    ///     Fetcher::new(),
    ///     "client_id",
    ///     "sandbox secret",
    /// )?;
    /// # Ok::<(), tower_webhook::scheme::InvalidKeyUrl>(())
    /// ```
    pub fn plaid(
        key_endpoint: &str,
        fetcher: Fetcher,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Result<Self, InvalidKeyUrl> {
        let url = https_url(key_endpoint)?;
        let source = JwkSource::Plaid {
            fetcher,
            url,
            client_id: client_id.into(),
            secret: secret.into(),
        };
        let keys = fetched_keys("plaid-verification", source);
        Ok(Self::with("plaid-verification", keys, &["ES256"])
            .body_hash(BodyHash::Hex)
            .require_issued_at(true)
            .named("plaid"))
    }

    fn with(
        header: impl AsRef<str>,
        keys: KeySlot<JwtKeys>,
        algorithms: &'static [&'static str],
    ) -> Self {
        Self {
            header: header_name(header.as_ref()),
            keys,
            algorithms,
            claim: Cow::Borrowed("request_body_sha256"),
            body_hash: BodyHash::Base64,
            require_iat: false,
            leeway: DEFAULT_JWT_LEEWAY,
            options: Options::new("jwt"),
            jwks: None,
        }
    }

    /// How the `request_body_sha256` claim writes the hash. Default: base64.
    ///
    /// ```
    /// use tower_webhook::scheme::{BodyHash, JwtScheme};
    ///
    /// let scheme = JwtScheme::hmac("x-signature-jwt", "key").body_hash(BodyHash::Hex);
    /// ```
    #[must_use]
    pub fn body_hash(mut self, encoding: BodyHash) -> Self {
        self.body_hash = encoding;
        self
    }

    /// Whether a JWT without an `iat` claim is refused. Default: no (it is checked when
    /// present).
    ///
    /// ```
    /// use tower_webhook::scheme::JwtScheme;
    ///
    /// let scheme = JwtScheme::hmac("x-signature-jwt", "key").require_issued_at(true);
    /// ```
    #[must_use]
    pub fn require_issued_at(mut self, required: bool) -> Self {
        self.require_iat = required;
        self
    }

    /// How far past its `exp`, and how long before its `nbf`, a JWT is still accepted, for
    /// clocks that differ. Default: [`DEFAULT_JWT_LEEWAY`] (60 seconds); held between 0 and
    /// 5 minutes, so no setting turns the checks off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::scheme::JwtScheme;
    ///
    /// let scheme = JwtScheme::hmac("x-signature-jwt", "key").leeway(Duration::from_secs(10));
    /// ```
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(LONGEST_LEEWAY);
        self
    }

    /// The JWT's parts, its algorithm allowed, before any key is needed.
    fn head(&self, request: &Parts) -> Result<Token, Rejection> {
        let value = find_one(&request.headers, [&self.header])?
            .ok_or(Rejection::MissingSignature)?
            .as_bytes()
            .trim_ascii();
        if value.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        let token = Token::parse(value).ok_or(Rejection::MalformedSignature)?;
        if !self.algorithms.contains(&token.alg.as_str()) {
            return Err(Rejection::MalformedSignature);
        }
        Ok(token)
    }

    fn verifier_from(
        &self,
        token: &Token,
        keys: &JwtKeys,
        key_id: Option<Arc<str>>,
    ) -> Result<JwtVerifier, Rejection> {
        let resolved = key_id.is_some();
        match self.checked(token, keys, key_id) {
            Ok(checked) => Ok(JwtVerifier(Ok(checked))),
            // Keys resolved per request: a JWT refused under a name's keys is answered once
            // the body is read, as a name without keys is (`UnknownKey`). Answered at the
            // head, it would tell a prober with no secret which tenants (or key ids) exist.
            Err(rejection) if resolved => Ok(JwtVerifier(Err(rejection))),
            Err(rejection) => Err(rejection),
        }
    }

    /// The JWT verified under `keys`, and its claims checked.
    fn checked(
        &self,
        token: &Token,
        keys: &JwtKeys,
        key_id: Option<Arc<str>>,
    ) -> Result<Checked, Rejection> {
        let index = keys
            .verify(&token.alg, &token.signing_input, &token.signature)
            .ok_or(Rejection::InvalidSignature)?;
        // Signed claims from here on.
        let now = self.options.now();
        match token.claims.get("iat").map(Value::as_u64) {
            Some(Some(iat)) if !self.options.admits(iat) => {
                return Err(Rejection::TimestampOutOfTolerance);
            }
            Some(Some(_)) => {}
            Some(None) => return Err(Rejection::InvalidTimestamp),
            None if self.require_iat => return Err(Rejection::InvalidTimestamp),
            None => {}
        }
        self.check_validity(&token.claims, now)?;
        let claimed = token
            .claims
            .get(&*self.claim)
            .and_then(Value::as_str)
            .and_then(|text| match self.body_hash {
                BodyHash::Hex => hex::decode(text).ok(),
                BodyHash::Base64 => STANDARD.decode(text).ok(),
            })
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or(Rejection::MalformedSignature)?;
        Ok(Checked {
            index,
            key_id,
            claimed,
            hash: Sha256::new(),
            name: self.options.name().clone(),
            signature: Tag::from_slice(&Sha256::digest(canonical_signature(
                &token.alg,
                &token.signature,
            ))),
        })
    }
}

shared_options! {
    JwtScheme {
        /// How far `iat` may be from now, either way. Default: 5 minutes.
        ///
        /// Held between 1 second and 7 days (a shorter one is raised, a longer one lowered), so
        /// no setting turns the check off.
        ///
        /// ```
        /// use std::time::Duration;
        /// use tower_webhook::scheme::JwtScheme;
        ///
        /// let scheme = JwtScheme::hmac("x-signature-jwt", "key").tolerance(Duration::from_secs(60));
        /// ```
        tolerance;

        /// Where the current time comes from (tests fix it).
        ///
        /// ```
        /// use std::time::{Duration, UNIX_EPOCH};
        /// use tower_webhook::scheme::JwtScheme;
        ///
        /// let scheme = JwtScheme::hmac("x-signature-jwt", "key")
        ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        /// ```
        clock;

        /// Names the scheme in logs, metrics and delivery ids.
        ///
        /// ```
        /// use tower_webhook::scheme::JwtScheme;
        ///
        /// let scheme = JwtScheme::hmac("x-signature-jwt", "key").named("my_sender");
        /// ```
        named;
    }
}

impl JwtScheme {
    /// RFC 7519's `exp` (the JWT is refused from then on) and `nbf` (refused before then),
    /// each with the leeway; a claim that is not a number is refused rather than ignored.
    fn check_validity(&self, claims: &Value, now: u64) -> Result<(), Rejection> {
        let date = |name: &str| match claims.get(name) {
            None => Ok(None),
            // A NumericDate may have a fraction (RFC 7519, section 2).
            Some(value) => value.as_f64().map(Some).ok_or(Rejection::InvalidTimestamp),
        };
        let leeway = self.leeway.as_secs();
        if let Some(exp) = date("exp")? {
            // Expired once `now >= exp + leeway`: only a whole second before that passes.
            if !seconds_before(now.saturating_sub(leeway), exp) {
                return Err(Rejection::TimestampOutOfTolerance);
            }
        }
        if let Some(nbf) = date("nbf")? {
            if seconds_before(now.saturating_add(leeway), nbf) {
                return Err(Rejection::TimestampOutOfTolerance);
            }
        }
        Ok(())
    }
}

/// The order of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// A verified signature in one form per signed message, to name the delivery by.
///
/// ECDSA signatures are malleable: if `(r, s)` verifies, so does `(r, n - s)`, and anyone
/// who has seen one can write the other without the key. Named by the bytes as sent, a
/// captured `ES256` delivery re-sent with `n - s` would be a new delivery to the replay
/// guard. So an `ES256` signature is named in its low-`s` form, as the P-256 scheme names
/// its deliveries. `RS256` (PKCS #1 v1.5) and HMAC signatures have one form already.
fn canonical_signature<'a>(alg: &str, signature: &'a [u8]) -> Cow<'a, [u8]> {
    let Some((r, s)) = (alg == "ES256" && signature.len() == 64).then(|| signature.split_at(32))
    else {
        return Cow::Borrowed(signature);
    };
    // `s` is in 1..n (the signature verified); it is high when `2s > n`, that is when
    // `s > n - s`.
    let negated = p256_negate(s);
    if s <= negated.as_slice() {
        return Cow::Borrowed(signature);
    }
    Cow::Owned([r, negated.as_slice()].concat())
}

/// `n - s` for a big-endian 32-byte `s` below the P-256 order `n`.
fn p256_negate(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = false;
    for ((out, &n), &s) in out.iter_mut().zip(&P256_ORDER).zip(s).rev() {
        let (difference, under) = n.overflowing_sub(s);
        let (difference, under_again) = difference.overflowing_sub(u8::from(borrow));
        *out = difference;
        borrow = under || under_again;
    }
    out
}

/// Whether `seconds` is strictly before the NumericDate `date`. (`u64` to `f64` is exact up
/// to 2^53 seconds, 285 million years.)
fn seconds_before(seconds: u64, date: f64) -> bool {
    (seconds as f64) < date
}

/// A JWT's parts, decoded.
struct Token {
    alg: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    claims: Value,
}

impl Token {
    fn parse(value: &[u8]) -> Option<Self> {
        if value.len() > MAX_JWT_LEN {
            return None;
        }
        let text = std::str::from_utf8(value).ok()?;
        let mut parts = text.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        if !claims.is_object() {
            return None;
        }
        let signing_input = text.get(..text.rfind('.')?)?.as_bytes().to_vec();
        Some(Self {
            alg: header.get("alg")?.as_str()?.to_owned(),
            signing_input,
            signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
            claims,
        })
    }
}

/// The `kid` of the JWT in `header`, as the key name of a fetched key.
fn kid_of(request: &Parts, header: &HeaderName) -> Option<String> {
    let value = request.headers.get(header)?.to_str().ok()?;
    let encoded = value.trim().split('.').next()?;
    let json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
    Some(json.get("kid")?.as_str()?.to_owned())
}

fn jwks_keys(header: &str, fetcher: &Fetcher, url: &Uri, refresh: Duration) -> KeySlot<JwtKeys> {
    let document = JwksDocument::new(fetcher.clone(), url.clone(), JWK_TTL, refresh);
    fetched_keys(header, JwkSource::Jwks(document))
}

fn fetched_keys(header: &str, source: JwkSource) -> KeySlot<JwtKeys> {
    let header = header_name(header);
    let name = KeyName::from_fn(move |request: &Parts| kid_of(request, &header));
    let config = KeyResolver::new(name, source).ttl(JWK_TTL);
    match KeySlot::new(KeysFrom::Resolved(config), JwtKeys::parse_jwk) {
        Ok(slot) => slot,
        // Resolved keys are parsed when they are found, never here.
        Err(_) => unreachable_keys(),
    }
}

#[expect(
    clippy::panic,
    reason = "KeySlot::new parses nothing for resolved keys"
)]
fn unreachable_keys() -> KeySlot<JwtKeys> {
    panic!("tower-webhook: resolved JWT keys were parsed when the scheme was built")
}

fn https_url(url: &str) -> Result<Uri, InvalidKeyUrl> {
    let uri: Uri = url.parse().map_err(|_| InvalidKeyUrl)?;
    let https = uri
        .scheme_str()
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https"));
    if !https || uri.authority().is_none_or(|a| a.as_str().contains('@')) {
        return Err(InvalidKeyUrl);
    }
    Ok(uri)
}

impl JwtScheme {
    /// What signs a JWT for [`Signer`](crate::sign::Signer): `Ok` with the HMAC secret, or
    /// `Err(true)` when the keys are fetched (only the sender holds the private key), and
    /// `Err(false)` when they are resolved per request.
    pub(crate) fn signing(&self) -> Result<JwtSigning<'_>, bool> {
        let hmac = self.algorithms.contains(&"HS256");
        match self.keys.fixed().and_then(|keys| keys.0.first()) {
            Some(crate::keys::fetch::jwk::JwtKey::Hmac(secret)) if hmac => Ok(JwtSigning {
                secret,
                header: &self.header,
                claim: &self.claim,
                body_hash: self.body_hash,
                clock: &**self.options.clock(),
            }),
            _ => Err(!hmac),
        }
    }
}

/// What an HMAC [`JwtScheme`] signs with; see [`JwtScheme::signing`].
pub(crate) struct JwtSigning<'a> {
    pub(crate) secret: &'a [u8],
    pub(crate) header: &'a HeaderName,
    pub(crate) claim: &'a str,
    pub(crate) body_hash: BodyHash,
    pub(crate) clock: &'a dyn Clock,
}

impl Scheme for JwtScheme {
    type Verifier = JwtVerifier;

    fn name(&self) -> &str {
        self.options.name()
    }

    fn verifier(&self, request: &Parts) -> Result<JwtVerifier, Rejection> {
        let token = self.head(request)?;
        let keys = self.keys.fixed().ok_or(Rejection::KeySourceUnavailable)?;
        self.verifier_from(&token, keys, None)
    }

    fn start(&self, request: &Parts) -> Start<JwtVerifier> {
        let token = match self.head(request) {
            Ok(token) => token,
            Err(rejection) => return Start::Ready(Err(rejection)),
        };
        self.keys
            .start(request, |keys, id| self.verifier_from(&token, keys, id))
    }

    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<JwtVerifier, Rejection> {
        let set = keys
            .get::<JwtKeys>()
            .ok_or(Rejection::KeySourceUnavailable)?;
        let token = self.head(request)?;
        self.verifier_from(&token, set, Some(Arc::clone(keys.shared_id())))
    }
}

impl fmt::Debug for JwtScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtScheme")
            .field("name", self.options.name())
            .field("header", &self.header)
            .field("keys", &self.keys)
            .field("algorithms", &self.algorithms)
            .field("body_hash", &self.body_hash)
            .field("tolerance", &self.options.tolerance())
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// The [`Verifier`] of a [`JwtScheme`]: the JWT was checked with the head; the body's
/// SHA-256 is computed as it streams and compared with the claim. With keys resolved per
/// request, a JWT the name's keys refused is answered once the body is read.
pub struct JwtVerifier(Result<Checked, Rejection>);

/// A JWT that verified, and its claim of the body's hash.
struct Checked {
    index: usize,
    key_id: Option<Arc<str>>,
    claimed: [u8; 32],
    hash: Sha256,
    name: Cow<'static, str>,
    signature: Tag,
}

impl Verifier for JwtVerifier {
    fn key_id(&self) -> Option<Arc<str>> {
        self.0.as_ref().ok()?.key_id.clone()
    }

    fn update(&mut self, chunk: &[u8]) {
        if let Ok(checked) = &mut self.0 {
            checked.hash.update(chunk);
        }
    }

    fn finish(&mut self, _body: &[u8]) -> Result<Verified, Rejection> {
        let checked = std::mem::replace(&mut self.0, Err(Rejection::InvalidSignature))?;
        let hash = checked.hash.finalize();
        if !bool::from(hash.as_slice().ct_eq(&checked.claimed)) {
            return Err(Rejection::InvalidSignature);
        }
        let verified = Verified::keyed(checked.index, checked.key_id);
        Ok(verified.with_signature(checked.name, checked.signature))
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier").finish_non_exhaustive()
    }
}

/// The error of [`JwtScheme::jwks`] and [`JwtScheme::plaid`]: the key URL is not `https`.
///
/// ```
/// use tower_webhook::{keys::Fetcher, scheme::JwtScheme};
///
/// let error = JwtScheme::jwks("x-jwt", "http://auth.example.com/jwks.json", Fetcher::new()).unwrap_err();
/// assert_eq!(error.to_string(), "invalid key URL: expected https://host/path");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidKeyUrl;

impl fmt::Display for InvalidKeyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid key URL: expected https://host/path")
    }
}

impl std::error::Error for InvalidKeyUrl {}

impl From<InvalidKeyUrl> for InvalidKey {
    fn from(_: InvalidKeyUrl) -> Self {
        InvalidKey::expected("an https key URL")
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn scheme() -> JwtScheme {
        JwtScheme::hmac("x-jwt", "key").clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
    }

    fn verdict(scheme: &JwtScheme, claims: &Value) -> Result<(), &'static str> {
        scheme
            .check_validity(claims, NOW)
            .map_err(|rejection| rejection.reason())
    }

    #[test]
    fn exp_and_nbf_hold_within_the_leeway_only() {
        let scheme = scheme();
        let out = Err("timestamp_out_of_tolerance");
        for (claims, expected) in [
            (json!({}), Ok(())),
            (json!({"exp": NOW + 1}), Ok(())),
            (json!({"exp": NOW}), Ok(())),
            (json!({"exp": NOW - 59}), Ok(())),
            (json!({"exp": NOW - 60}), out),
            (json!({"exp": 1.5}), out),
            (json!({"exp": -1}), out),
            (json!({"exp": NOW as f64 - 59.5}), Ok(())),
            (json!({"nbf": NOW + 60}), Ok(())),
            (json!({"nbf": NOW + 61}), out),
            (json!({"nbf": NOW as f64 + 60.5}), out),
            (json!({"nbf": 0}), Ok(())),
            (json!({"nbf": NOW + 61, "exp": NOW + 3600}), out),
            (json!({"exp": "never"}), Err("invalid_timestamp")),
            (json!({"nbf": null}), Err("invalid_timestamp")),
            (json!({"exp": [NOW]}), Err("invalid_timestamp")),
        ] {
            assert_eq!(verdict(&scheme, &claims), expected, "{claims}");
        }
    }

    #[test]
    fn an_es256_signature_and_its_negation_are_named_alike() {
        let r = [7u8; 32];
        let low = {
            let mut s = [0u8; 32];
            s[31] = 5;
            s
        };
        let high = p256_negate(&low);
        assert_eq!(p256_negate(&high), low);
        let sent_low = [&r[..], &low].concat();
        let sent_high = [&r[..], &high].concat();
        assert_eq!(canonical_signature("ES256", &sent_low), sent_low.as_slice());
        assert_eq!(
            canonical_signature("ES256", &sent_high),
            sent_low.as_slice()
        );
        // Other algorithms have one form: left as sent.
        assert_eq!(
            canonical_signature("RS256", &sent_high),
            sent_high.as_slice()
        );
        assert_eq!(
            canonical_signature("HS256", &sent_high),
            sent_high.as_slice()
        );
        // n - 1 is high; 1 is its low form.
        let mut one = [0u8; 32];
        one[31] = 1;
        let top = p256_negate(&one);
        assert_eq!(
            canonical_signature("ES256", &[&r[..], &top].concat()),
            [&r[..], &one].concat().as_slice()
        );
    }

    #[test]
    fn the_leeway_is_held_to_five_minutes_and_may_be_zero() {
        let strict = scheme().leeway(Duration::ZERO);
        assert_eq!(
            verdict(&strict, &json!({"exp": NOW})),
            Err("timestamp_out_of_tolerance")
        );
        assert_eq!(verdict(&strict, &json!({"exp": NOW + 1})), Ok(()));
        assert_eq!(
            verdict(&strict, &json!({"nbf": NOW + 1})),
            Err("timestamp_out_of_tolerance")
        );
        let wide = scheme().leeway(Duration::MAX);
        assert_eq!(wide.leeway, LONGEST_LEEWAY);
        assert_eq!(verdict(&wide, &json!({"exp": NOW - 299})), Ok(()));
        assert_eq!(
            verdict(&wide, &json!({"exp": NOW - 300})),
            Err("timestamp_out_of_tolerance")
        );
    }
}
