//! [`TwilioScheme`]: Twilio's `X-Twilio-Signature`, an HMAC-SHA1 of the public URL and the
//! sorted form parameters (or, for JSON bodies, of the URL with a `bodySHA256` parameter).

use std::{borrow::Cow, fmt, sync::Arc};

use http::{header::CONTENT_TYPE, request::Parts, HeaderName};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::scheme::{
    algorithm::hmac::KeyedMac,
    envelope::encoding::{Encoding, Tag},
    envelope::signature::find_one,
    options::{shared_options, Options},
    verified::Event,
    Scheme, Spent, Verified, Verifier,
};
use crate::{
    keys::{IntoKeys, KeySet, KeySlot, ResolvedKeys, Start},
    rejection::Rejection,
    scheme::InvalidKey,
};

const SIGNATURE_HEADER: HeaderName = HeaderName::from_static("x-twilio-signature");

/// The default of [`TwilioScheme::max_form_parameters`]. Twilio's richest callbacks carry a
/// few dozen parameters (an MMS with ten media items about 40, a TaskRouter event about 50);
/// 256 leaves room for custom parameters while keeping the sort that signing needs small.
const DEFAULT_MAX_FORM_PARAMETERS: usize = 256;

/// The most [`TwilioScheme::max_form_parameters`] may be set to: sorting this many costs well
/// under a millisecond.
const MAX_FORM_PARAMETERS: usize = 4096;

/// Twilio's request validation (<https://www.twilio.com/docs/usage/security>).
///
/// Twilio signs the URL it called, then each `POST` form parameter sorted by name, name and
/// value appended without separators, with HMAC-SHA1 under the account's auth token, and sends
/// it base64-encoded in `X-Twilio-Signature`. For JSON bodies it adds a `bodySHA256` query
/// parameter (the hex SHA-256 of the body) and signs the URL alone.
///
/// # The public URL
///
/// The signed URL is the one Twilio called, which your server does not see behind a proxy or
/// load balancer: TLS ends elsewhere, the host and port differ, a prefix may be stripped. So
/// the URL is configuration, never taken from the request's `Host` header (which any client
/// sets): give the part of the URL before the path your server receives,
/// `https://example.com` or `https://example.com/api` if a proxy strips `/api`. The layer
/// appends the request's path and query exactly as received. Like Twilio's own validators,
/// the URL is also tried with its port removed, or with the default port (`:443`, `:80`)
/// added when it has none.
///
/// # What is covered
///
/// A form body (`application/x-www-form-urlencoded`) is signed parameter by parameter, so it
/// is parsed once the whole body is in; one with more than
/// [`max_form_parameters`](Self::max_form_parameters) parameters (256 by default) is refused
/// as malformed before they are sorted. A JSON body is covered by `bodySHA256`, hashed as it
/// streams in. Any other non-empty body is not covered by Twilio's signature and is rejected.
///
/// # Repeated parameters
///
/// Twilio signs the decoded parameters sorted, each distinct pair once, not the body's bytes:
/// anyone who captured a signed form can reorder its parameters, or repeat one, and the
/// signature still holds. A handler that reads a parameter sent twice (`To=a&To=b`) may take
/// either copy, and a parser that keeps the first sees what the reordering put first.
/// Twilio's own callbacks name each parameter once, so
/// [`refuse_repeated_parameters`](Self::refuse_repeated_parameters) can refuse any form whose
/// names repeat; without it, read the body as a set of distinct names.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::twilio("auth token", "https://example.com")?);
/// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
/// ```
#[derive(Clone)]
pub struct TwilioScheme {
    /// Its name, and the header naming each delivery, the same across retries, if read.
    options: Options,
    /// The token that is tried first, then older ones in order; or where they are found.
    tokens: KeySlot<Tokens>,
    /// The configured base URL, then the same with the default port added or removed.
    bases: [String; 2],
    /// The most form parameters a signed body may have.
    max_parameters: usize,
    /// Whether a form body naming a parameter twice is refused.
    refuse_repeats: bool,
}

impl TwilioScheme {
    /// Requests Twilio sends to `public_base_url` + the request's path and query, signed with
    /// `auth_token`.
    ///
    /// # Errors
    ///
    /// [`InvalidUrl`] unless `public_base_url` is `http://` or `https://`, a host, an optional
    /// port and an optional path prefix, without user info, query or fragment.
    ///
    /// # Panics
    ///
    /// If `auth_token` is empty, as [`HmacScheme::sha256`](crate::HmacScheme::sha256). With
    /// the `keys` feature, `auth_token` may be a resolver: see [`keys`](crate::keys).
    ///
    /// ```
    /// use tower_webhook::scheme::TwilioScheme;
    ///
    /// let scheme = TwilioScheme::new("auth token", "https://example.com/api")?;
    /// assert!(TwilioScheme::new("auth token", "example.com").is_err());
    /// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
    /// ```
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    pub fn new(
        auth_token: impl IntoKeys,
        public_base_url: impl AsRef<str>,
    ) -> Result<Self, InvalidUrl> {
        let bases = base_variants(public_base_url.as_ref()).ok_or(InvalidUrl)?;
        let Ok(tokens) = KeySlot::new(auth_token.into_keys(), Tokens::parse) else {
            panic!(
                "tower-webhook: the Twilio auth token is empty; is its environment variable set?"
            )
        };
        Ok(Self {
            options: Options::new("twilio"),
            tokens,
            bases,
            max_parameters: DEFAULT_MAX_FORM_PARAMETERS,
            refuse_repeats: false,
        })
    }

    /// Another auth token whose signatures are accepted too, while rotating it.
    /// [`Verified::key_index`] says which one matched (0 is the first).
    ///
    /// # Panics
    ///
    /// If `auth_token` is empty, or if the tokens are resolved per request (the source returns
    /// every valid token then).
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// let scheme = presets::twilio("new token", "https://example.com")?.also_accept("old token");
    /// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
    /// ```
    #[must_use]
    pub fn also_accept(mut self, auth_token: impl AsRef<[u8]>) -> Self {
        self.tokens
            .fixed_mut()
            .0
            .push(KeyedMac::sha1(auth_token.as_ref()));
        self
    }

    /// The most parameters a form body may have; one with more gets `401` (a malformed
    /// signature) before its parameters are sorted, the work Twilio's signature needs. Default:
    /// 256, several times what Twilio sends; clamped to 1..=4096.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// let scheme = presets::twilio("token", "https://example.com")?.max_form_parameters(512);
    /// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
    /// ```
    #[must_use]
    pub fn max_form_parameters(mut self, max: usize) -> Self {
        self.max_parameters = max.clamp(1, MAX_FORM_PARAMETERS);
        self
    }

    /// Refuse a form body that names any parameter more than once (`401`, a malformed
    /// signature), even when its signature holds. Default: accepted, as Twilio's validators do.
    ///
    /// Twilio signs the sorted set of decoded pairs, so a repeated name can be added,
    /// duplicated or reordered after signing without breaking the signature (see
    /// [Repeated parameters](Self#repeated-parameters)). Twilio's own callbacks name each
    /// parameter once; turn this on unless your webhook URL's own form posts repeat names.
    ///
    /// ```
    /// use tower_webhook::presets;
    ///
    /// let scheme = presets::twilio("token", "https://example.com")?.refuse_repeated_parameters();
    /// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
    /// ```
    #[must_use]
    pub fn refuse_repeated_parameters(mut self) -> Self {
        self.refuse_repeats = true;
        self
    }

    /// Every token, keyed and fed each base URL and then `path_and_query`.
    fn url_macs<'a>(
        &'a self,
        tokens: &'a Tokens,
        path_and_query: &'a str,
    ) -> impl Iterator<Item = (usize, KeyedMac)> + 'a {
        tokens.0.iter().enumerate().flat_map(move |(index, token)| {
            self.bases.iter().map(move |base| {
                let mut mac = token.clone();
                mac.update(base.as_bytes());
                mac.update(path_and_query.as_bytes());
                (index, mac)
            })
        })
    }
}

shared_options! {
    TwilioScheme {
        /// The header in which Twilio names each delivery, the same across its retries
        /// (`I-Twilio-Idempotency-Token`, which the [`twilio`](crate::presets::twilio) preset
        /// reads), for a [replay guard](crate::replay). The signature does not cover it: a request
        /// is a duplicate if its signature or this id was seen.
        ///
        /// # Panics
        ///
        /// If `name` is not a valid HTTP header name.
        ///
        /// ```
        /// use tower_webhook::scheme::TwilioScheme;
        ///
        /// let scheme = TwilioScheme::new("token", "https://example.com")?.event_id_header("I-Twilio-Idempotency-Token");
        /// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
        /// ```
        event_id_header;

        /// The name used for this scheme in `tracing` events. Default: `twilio`.
        ///
        /// ```
        /// use tower_webhook::{presets, scheme::Scheme};
        ///
        /// let scheme = presets::twilio("token", "https://example.com")?.named("twilio-sms");
        /// assert_eq!(scheme.name(), "twilio-sms");
        /// # Ok::<(), tower_webhook::scheme::InvalidUrl>(())
        /// ```
        named;
    }
}

/// The base URL as given (without a trailing `/`) and with its default port toggled, or
/// `None` if it is not a plain `http(s)://host[:port][/prefix]`.
fn base_variants(url: &str) -> Option<[String; 2]> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    let bad = |c: char| c.is_ascii_whitespace() || c.is_ascii_control() || "?#@".contains(c);
    if authority.is_empty() || authority.contains(bad) || path.contains(bad) {
        return None;
    }
    // A port is digits after the last `:`, outside an IPv6 literal's brackets.
    let host_end = authority.rfind(':').filter(|&at| {
        let port = authority.get(at + 1..).unwrap_or_default();
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
    });
    let toggled = match host_end {
        Some(at) => format!("{scheme}://{}{path}", authority.get(..at)?),
        None => format!("{scheme}://{authority}:{default_port}{path}"),
    };
    Some([format!("{scheme}://{authority}{path}"), toggled])
}

/// A public base URL [`TwilioScheme::new`] cannot use.
///
/// ```
/// let err = tower_webhook::presets::twilio("token", "example.com").unwrap_err();
/// assert!(err.to_string().starts_with("invalid public URL"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUrl;

impl fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "invalid public URL: expected http(s)://host[:port][/prefix], without user info, query or fragment",
        )
    }
}

impl std::error::Error for InvalidUrl {}

impl Scheme for TwilioScheme {
    type Verifier = TwilioVerifier;

    fn name(&self) -> &str {
        self.options.name()
    }

    fn verifier(&self, request: &Parts) -> Result<TwilioVerifier, Rejection> {
        let head = self.head(request)?;
        let tokens = self.tokens.fixed().ok_or(Rejection::KeySourceUnavailable)?;
        self.verifier_from(&head, tokens, None)
    }

    fn start(&self, request: &Parts) -> Start<TwilioVerifier> {
        // The head first: a request without a well-formed signature costs no lookup.
        let head = match self.head(request) {
            Ok(head) => head,
            Err(rejection) => return Start::Ready(Err(rejection)),
        };
        self.tokens
            .start(request, |tokens, id| self.verifier_from(&head, tokens, id))
    }

    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<TwilioVerifier, Rejection> {
        let tokens = keys
            .get::<Tokens>()
            .ok_or(Rejection::KeySourceUnavailable)?;
        let head = self.head(request)?;
        self.verifier_from(&head, tokens, Some(Arc::clone(keys.shared_id())))
    }
}

/// What the request head says, checked before any token is needed.
struct Head<'a> {
    claimed: Tag,
    /// The unsigned delivery id, if the scheme reads one and it is there.
    event: Option<&'a [u8]>,
    path_and_query: &'a str,
    body_sha256: Option<[u8; 32]>,
    form: bool,
}

impl TwilioScheme {
    /// What a sender signs with: the first token, keyed, and the configured base URL; none
    /// when the tokens are resolved per request.
    pub(crate) fn signing(&self) -> Option<(&KeyedMac, &str)> {
        Some((self.tokens.fixed()?.0.first()?, &self.bases[0]))
    }

    fn head<'a>(&self, request: &'a Parts) -> Result<Head<'a>, Rejection> {
        let value = find_one(&request.headers, [&SIGNATURE_HEADER])?
            .ok_or(Rejection::MissingSignature)?
            .as_bytes()
            .trim_ascii();
        if value.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        let claimed = Encoding::Base64
            .decode(value)
            .filter(|tag| tag.as_slice().len() == 20)
            .ok_or(Rejection::MalformedSignature)?;
        let event = self.options.header_event_id(&request.headers);
        Ok(Head {
            claimed,
            event,
            path_and_query: request.uri.path_and_query().map_or("/", |pq| pq.as_str()),
            body_sha256: body_sha256(request.uri.query().unwrap_or_default())?,
            form: is_form(request),
        })
    }

    fn verifier_from(
        &self,
        head: &Head<'_>,
        tokens: &Tokens,
        key_id: Option<Arc<str>>,
    ) -> Result<TwilioVerifier, Rejection> {
        let claimed = head.claimed;
        let name = self.options.name().clone();
        if head.body_sha256.is_none() && head.form {
            let macs = self.url_macs(tokens, head.path_and_query).collect();
            return Ok(TwilioVerifier {
                check: Check::Form {
                    macs,
                    max_parameters: self.max_parameters,
                    refuse_repeats: self.refuse_repeats,
                },
                claimed,
                name,
                key_id,
                event: head.event.map(Box::from),
                spent: Spent::default(),
            });
        }
        // The URL is everything signed: decide now, before reading the body.
        let index = self
            .url_macs(tokens, head.path_and_query)
            .find_map(|(index, mut mac)| mac.matches_any(&[claimed]).map(|_| index))
            .ok_or(Rejection::InvalidSignature)?;
        let check = match head.body_sha256 {
            Some(expected) => Check::BodyHash {
                index,
                hash: Sha256::new(),
                expected,
            },
            None => Check::NoBody { index },
        };
        Ok(TwilioVerifier {
            check,
            claimed,
            name,
            key_id,
            event: head.event.map(Box::from),
            spent: Spent::default(),
        })
    }
}

/// Twilio auth tokens, each keyed once for HMAC-SHA1.
#[derive(Clone)]
struct Tokens(Vec<KeyedMac>);

impl Tokens {
    fn parse(token: &[u8]) -> Result<Self, InvalidKey> {
        if token.is_empty() {
            return Err(InvalidKey::expected("a non-empty auth token"));
        }
        Ok(Self(vec![KeyedMac::sha1(token)]))
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

/// The `bodySHA256` query parameter, decoded; an error if it is there but not 64 hex digits,
/// or there more than once.
fn body_sha256(query: &str) -> Result<Option<[u8; 32]>, Rejection> {
    let mut values = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let mut hash = [0u8; 32];
    if values.next().is_some() || hex::decode_to_slice(value.as_bytes(), &mut hash).is_err() {
        return Err(Rejection::MalformedSignature);
    }
    Ok(Some(hash))
}

fn is_form(request: &Parts) -> bool {
    request
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl fmt::Debug for TwilioScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioScheme")
            .field("name", self.options.name())
            .field("public_base_url", &self.bases[0])
            .field("auth_tokens", &self.tokens)
            .field("max_form_parameters", &self.max_parameters)
            .field("refuse_repeated_parameters", &self.refuse_repeats)
            .finish()
    }
}

/// The [`Verifier`] of a [`TwilioScheme`].
pub struct TwilioVerifier {
    check: Check,
    /// The signature the header claims; once verified, it names the delivery (a MAC, so a
    /// retry is signed alike).
    claimed: Tag,
    /// The scheme's name, the namespace of that delivery.
    name: Cow<'static, str>,
    /// The name the tokens were resolved under, if they were.
    key_id: Option<Arc<str>>,
    /// The unsigned delivery id, if any.
    event: Option<Box<[u8]>>,
    spent: Spent,
}

enum Check {
    /// Form parameters are signed: sorted, so they can be fed only once all are in.
    Form {
        macs: Vec<(usize, KeyedMac)>,
        max_parameters: usize,
        refuse_repeats: bool,
    },
    /// The URL verified; the body must hash to its `bodySHA256`.
    BodyHash {
        index: usize,
        hash: Sha256,
        expected: [u8; 32],
    },
    /// The URL verified and nothing else is signed, so there must be no body.
    NoBody { index: usize },
}

impl Verifier for TwilioVerifier {
    fn key_id(&self) -> Option<Arc<str>> {
        self.key_id.clone()
    }

    fn update(&mut self, chunk: &[u8]) {
        if let Check::BodyHash { hash, .. } = &mut self.check {
            hash.update(chunk);
        }
    }

    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection> {
        self.spent.spend()?;
        let claimed = self.claimed;
        let index = match &mut self.check {
            Check::Form {
                macs,
                max_parameters,
                refuse_repeats,
            } => {
                let params = form_parameters(body, *max_parameters, *refuse_repeats)?;
                macs.iter_mut()
                    .find_map(|(index, mac)| {
                        for (name, value) in &params {
                            mac.update(name.as_bytes());
                            mac.update(value.as_bytes());
                        }
                        mac.matches_any(&[claimed]).map(|_| *index)
                    })
                    .ok_or(Rejection::InvalidSignature)?
            }
            Check::BodyHash {
                index,
                hash,
                expected,
            } => {
                if !bool::from(hash.finalize_reset().as_slice().ct_eq(expected)) {
                    return Err(Rejection::InvalidSignature);
                }
                *index
            }
            Check::NoBody { index } => {
                if !body.is_empty() {
                    return Err(Rejection::InvalidSignature);
                }
                *index
            }
        };
        Ok(Verified::keyed(index, self.key_id.take())
            .with_signature(std::mem::take(&mut self.name), claimed)
            .with_event(self.event.take().map(Event::Unsigned)))
    }
}

/// A form parameter's name and value, decoded.
type Parameter<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The parameters of a form body as Twilio signs them: sorted by name, then value, each pair
/// once, as its own validators do. Refused past `max` parameters, counted before anything is
/// sorted or kept: `a&a&a…` would otherwise cost a tuple and a comparison sort entry per byte
/// pair. With `refuse_repeats`, refused if any decoded name comes twice.
fn form_parameters(
    body: &[u8],
    max: usize,
    refuse_repeats: bool,
) -> Result<Vec<Parameter<'_>>, Rejection> {
    let mut params = Vec::new();
    for pair in form_urlencoded::parse(body) {
        if params.len() == max {
            tracing::debug!(
                max_form_parameters = max,
                "twilio: more form parameters than the scheme accepts"
            );
            return Err(Rejection::MalformedSignature);
        }
        params.push(pair);
    }
    params.sort_unstable();
    let repeats = || {
        let names = params.iter().map(|(name, _)| name);
        names
            .clone()
            .zip(names.skip(1))
            .any(|(one, next)| one == next)
    };
    if refuse_repeats && repeats() {
        tracing::debug!("twilio: a form parameter name repeats");
        return Err(Rejection::MalformedSignature);
    }
    params.dedup();
    Ok(params)
}

impl fmt::Debug for TwilioVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioVerifier").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine as _};

    use super::*;

    // Twilio's published example (https://www.twilio.com/docs/usage/security).
    const TOKEN: &str = "12345";
    const SIGNATURE: &str = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
    const BODY: &str = "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234&From=%2B14158675310&To=%2B18005551212";

    fn parts(uri: &str, signature: &str, content_type: Option<&str>) -> Parts {
        let mut builder = http::Request::post(uri).header("x-twilio-signature", signature);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder.body(()).unwrap().into_parts().0
    }

    /// The key index that verified, or the rejection's reason.
    fn verify(scheme: &TwilioScheme, request: &Parts, body: &[u8]) -> Result<usize, &'static str> {
        let mut verifier = scheme.verifier(request).map_err(|r| r.reason())?;
        verifier.update(body);
        verifier
            .finish(body)
            .map(|verified| verified.key_index())
            .map_err(|r| r.reason())
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=utf-8");

    #[test]
    fn twilio_s_published_example_verifies_in_any_parameter_order() {
        let scheme = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        let request = parts("/myapp.php?foo=1&bar=2", SIGNATURE, FORM);
        assert_eq!(verify(&scheme, &request, BODY.as_bytes()), Ok(0));
        let reordered = "To=%2B18005551212&From=%2B14158675310&Digits=1234&Caller=%2B14158675310&CallSid=CA1234567890ABCDE";
        assert_eq!(verify(&scheme, &request, reordered.as_bytes()), Ok(0));
    }

    #[test]
    fn a_changed_parameter_url_or_token_is_invalid() {
        let scheme = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        let request = parts("/myapp.php?foo=1&bar=2", SIGNATURE, FORM);
        let tampered = BODY.replace("Digits=1234", "Digits=1235");
        assert_eq!(
            verify(&scheme, &request, tampered.as_bytes()),
            Err("invalid_signature")
        );
        let other_query = parts("/myapp.php?foo=1&bar=3", SIGNATURE, FORM);
        assert_eq!(
            verify(&scheme, &other_query, BODY.as_bytes()),
            Err("invalid_signature")
        );
        let other_host = TwilioScheme::new(TOKEN, "https://evil.example").unwrap();
        assert_eq!(
            verify(&other_host, &request, BODY.as_bytes()),
            Err("invalid_signature")
        );
        let other_token = TwilioScheme::new("54321", "https://mycompany.com").unwrap();
        assert_eq!(
            verify(&other_token, &request, BODY.as_bytes()),
            Err("invalid_signature")
        );
    }

    #[test]
    fn the_default_port_may_be_present_or_not() {
        let request = parts("/myapp.php?foo=1&bar=2", SIGNATURE, FORM);
        for base in ["https://mycompany.com:443", "https://mycompany.com/"] {
            let scheme = TwilioScheme::new(TOKEN, base).unwrap();
            assert_eq!(verify(&scheme, &request, BODY.as_bytes()), Ok(0), "{base}");
        }
        // Like Twilio's validators, a port is also tried removed, but never another scheme.
        let other_port = TwilioScheme::new(TOKEN, "https://mycompany.com:8443").unwrap();
        assert_eq!(verify(&other_port, &request, BODY.as_bytes()), Ok(0));
        let other_port = TwilioScheme::new(TOKEN, "http://mycompany.com").unwrap();
        assert_eq!(
            verify(&other_port, &request, BODY.as_bytes()),
            Err("invalid_signature")
        );
    }

    #[test]
    fn a_body_that_is_neither_form_nor_hashed_is_not_covered() {
        let scheme = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        // Sign the URL alone, as Twilio does for a GET.
        let mut mac = KeyedMac::sha1(TOKEN.as_bytes());
        mac.update(b"https://mycompany.com/status");
        let signature = STANDARD.encode(mac.finalize().as_slice());
        let request = parts("/status", &signature, None);
        assert_eq!(verify(&scheme, &request, b""), Ok(0));
        assert_eq!(
            verify(&scheme, &request, b"{\"forged\":true}"),
            Err("invalid_signature")
        );
    }

    #[test]
    fn json_bodies_are_covered_by_body_sha256() {
        let scheme = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        let body = br#"{"property":"value","boolean":true}"#;
        let hash = hex::encode(Sha256::digest(body));
        let path = format!("/myapp?bodySHA256={hash}");
        let mut mac = KeyedMac::sha1(TOKEN.as_bytes());
        mac.update(format!("https://mycompany.com{path}").as_bytes());
        let signature = STANDARD.encode(mac.finalize().as_slice());
        let request = parts(&path, &signature, Some("application/json"));
        assert_eq!(verify(&scheme, &request, body), Ok(0));
        assert_eq!(verify(&scheme, &request, b"{}"), Err("invalid_signature"));
        let bad_hash = parts("/myapp?bodySHA256=zz", &signature, Some("application/json"));
        assert_eq!(verify(&scheme, &bad_hash, body), Err("malformed_signature"));
    }

    /// Twilio's signature of `params` posted to `https://mycompany.com{path}`.
    fn sign_form(path: &str, params: &[(String, String)]) -> String {
        let mut sorted = params.to_vec();
        sorted.sort();
        sorted.dedup();
        let mut mac = KeyedMac::sha1(TOKEN.as_bytes());
        mac.update(format!("https://mycompany.com{path}").as_bytes());
        for (name, value) in &sorted {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        STANDARD.encode(mac.finalize().as_slice())
    }

    fn numbered(count: usize) -> Vec<(String, String)> {
        (0..count)
            .map(|i| (format!("P{i}"), format!("v{i}")))
            .collect()
    }

    fn encoded(params: &[(String, String)]) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish()
    }

    #[test]
    fn form_bodies_past_the_parameter_cap_are_refused_even_when_signed() {
        let scheme = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        for (count, expected) in [(256, Ok(0)), (257, Err("malformed_signature"))] {
            let params = numbered(count);
            let request = parts("/sms", &sign_form("/sms", &params), FORM);
            let body = encoded(&params);
            assert_eq!(
                verify(&scheme, &request, body.as_bytes()),
                expected,
                "{count}"
            );
        }
        // Repeats count too: they are refused before anything is sorted or deduplicated.
        let request = parts("/sms", &sign_form("/sms", &numbered(1)), FORM);
        let repeats = vec!["P0=v0"; 257].join("&");
        assert_eq!(
            verify(&scheme, &request, repeats.as_bytes()),
            Err("malformed_signature")
        );
        let flood = "a&".repeat(1 << 20);
        assert_eq!(
            verify(&scheme, &request, flood.as_bytes()),
            Err("malformed_signature")
        );
    }

    #[test]
    fn the_parameter_cap_is_configurable_and_clamped() {
        let base = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        let params = numbered(3);
        let request = parts("/sms", &sign_form("/sms", &params), FORM);
        let body = encoded(&params);
        let three = base.clone().max_form_parameters(3);
        assert_eq!(verify(&three, &request, body.as_bytes()), Ok(0));
        let two = base.clone().max_form_parameters(2);
        assert_eq!(
            verify(&two, &request, body.as_bytes()),
            Err("malformed_signature")
        );
        assert_eq!(base.clone().max_form_parameters(0).max_parameters, 1);
        assert_eq!(
            base.max_form_parameters(usize::MAX).max_parameters,
            MAX_FORM_PARAMETERS
        );
    }

    #[test]
    fn repeated_names_verify_in_any_order_unless_refused() {
        let base = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        let pair = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        let signed = vec![pair("Body", "hi"), pair("To", "+1"), pair("To", "+2")];
        let request = parts("/sms", &sign_form("/sms", &signed), FORM);
        // Reordered and duplicated after signing: the same sorted, distinct set.
        let reordered = "To=%2B2&Body=hi&To=%2B1&To=%2B2";
        assert_eq!(verify(&base, &request, reordered.as_bytes()), Ok(0));
        let strict = base.refuse_repeated_parameters();
        assert_eq!(
            verify(&strict, &request, reordered.as_bytes()),
            Err("malformed_signature")
        );
        assert_eq!(
            verify(&strict, &request, encoded(&signed).as_bytes()),
            Err("malformed_signature"),
            "as signed, too: the name repeats"
        );
        // Decoded before comparing: `T%6F` is `To`.
        let single = vec![pair("Body", "hi"), pair("To", "+1")];
        let request = parts("/sms", &sign_form("/sms", &single), FORM);
        assert_eq!(
            verify(&strict, &request, encoded(&single).as_bytes()),
            Ok(0)
        );
        assert_eq!(
            verify(&strict, &request, b"Body=hi&To=%2B1&T%6F=%2B1"),
            Err("malformed_signature")
        );
    }

    #[test]
    fn malformed_and_missing_signatures() {
        let scheme = TwilioScheme::new(TOKEN, "https://mycompany.com").unwrap();
        let missing = http::Request::post("/").body(()).unwrap().into_parts().0;
        assert_eq!(
            verify(&scheme, &missing, b"").err(),
            Some("missing_signature")
        );
        for bad in [
            "GvWf1cFY",
            "not base64!",
            "GvWf1cFY/Q7PnoempGyD5oXAezc=AAAA",
        ] {
            let request = parts("/myapp.php", bad, FORM);
            assert_eq!(
                verify(&scheme, &request, b"").err(),
                Some("malformed_signature"),
                "{bad}"
            );
        }
    }

    #[test]
    fn base_urls_are_checked() {
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://",
            "https://u@example.com",
            "https://example.com?x=1",
            "https://exa mple.com",
        ] {
            assert_eq!(TwilioScheme::new("t", bad).err(), Some(InvalidUrl), "{bad}");
        }
        assert_eq!(
            base_variants("http://[::1]:8080/api/").unwrap(),
            [
                "http://[::1]:8080/api".to_owned(),
                "http://[::1]/api".to_owned()
            ]
        );
        assert_eq!(
            base_variants("https://[::1]").unwrap(),
            ["https://[::1]".to_owned(), "https://[::1]:443".to_owned()]
        );
    }

    #[test]
    fn debug_shows_no_token() {
        let shown = format!(
            "{:?}",
            TwilioScheme::new("super-secret-token", "https://example.com").unwrap()
        );
        assert!(!shown.contains("super-secret-token"), "{shown}");
        assert!(shown.contains("[redacted; 1]"), "{shown}");
    }
}
