//! [`ClientStateScheme`]: Microsoft Graph change notifications, which carry a secret the
//! subscriber chose (`clientState`) inside each notification of the JSON body.

use std::{borrow::Cow, fmt, sync::Arc};

use http::request::Parts;
use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::error::Category;
use sha2::{Digest, Sha256};

use crate::scheme::{
    envelope::encoding::Tag,
    options::{shared_options, Options},
    sender::{signed_fields::Text, token::Tokens},
    Scheme, Spent, Verified, Verifier,
};
use crate::{
    keys::{IntoKeys, KeySlot, ResolvedKeys, Start},
    rejection::Rejection,
};

/// Microsoft Graph change notifications: the JSON body's `value` array holds one or more
/// notifications, and each one's `clientState` must equal the secret given when the
/// subscription was created. Lifecycle notifications (`lifecycleEvent`) carry it too and are
/// checked the same way.
///
/// **Weaker than a signature**: nothing is signed. The secret proves the sender knows it,
/// but anyone who captures one notification can send any body with it, for as long as the
/// subscription keeps that `clientState`. Use HTTPS, and give each subscription a long
/// random `clientState`.
///
/// Nothing in the head says whether a request carries the secret, so every request's body
/// is read (up to the body limit) and checked when it ends; only `value` and each
/// notification's `clientState` are read, the rest skipped without being built. Every
/// notification must carry a configured secret (compared in constant time, as SHA-256
/// digests); one without it gets `401` as a missing signature, a wrong one as an invalid
/// signature. A body that is not a JSON object with a non-empty `value` array gets `401`
/// too; `clientState` or `value` sent twice is malformed. A delivery is named by its body's
/// SHA-256.
///
/// The subscription's `validationToken` handshake is not a notification: answer it before
/// this layer.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::microsoft_graph("long random client state"));
/// ```
#[derive(Clone)]
pub struct ClientStateScheme {
    secrets: KeySlot<Tokens>,
    /// The first secret as given, which a sender sends; none when resolved per request.
    signing: Option<Arc<[u8]>>,
    options: Options,
}

impl ClientStateScheme {
    /// Notifications whose every `clientState` is `client_state`.
    ///
    /// # Panics
    ///
    /// If `client_state` is empty. With the `keys` feature it may be a resolver: see
    /// [`keys`](crate::keys).
    ///
    /// ```
    /// use tower_webhook::scheme::ClientStateScheme;
    ///
    /// let scheme = ClientStateScheme::new("long random client state");
    /// ```
    #[must_use]
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    pub fn new(client_state: impl IntoKeys) -> Self {
        let keys = client_state.into_keys();
        let signing = match &keys {
            crate::keys::KeysFrom::Given(secret) => Some(Arc::from(secret.as_slice())),
            #[cfg(feature = "keys")]
            _ => None,
        };
        let Ok(secrets) = KeySlot::new(keys, Tokens::parse) else {
            panic!("tower-webhook: the clientState is empty; is its environment variable set?")
        };
        Self {
            secrets,
            signing,
            options: Options::new("microsoft_graph"),
        }
    }

    /// Another `clientState` accepted too, while subscriptions are renewed with a new one.
    /// [`Verified::key_index`] says which one the first notification carried.
    ///
    /// # Panics
    ///
    /// If `client_state` is empty, or if the secrets are resolved per request.
    ///
    /// ```
    /// use tower_webhook::scheme::ClientStateScheme;
    ///
    /// let scheme = ClientStateScheme::new("new state").also_accept("old state");
    /// ```
    #[must_use]
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    pub fn also_accept(mut self, client_state: impl AsRef<[u8]>) -> Self {
        let Ok(more) = Tokens::parse(client_state.as_ref()) else {
            panic!("tower-webhook: the clientState is empty; is its environment variable set?")
        };
        crate::keys::KeySet::merge(self.secrets.fixed_mut(), more);
        self
    }

    /// The first secret as given, which a sender writes; none when resolved per request.
    pub(crate) fn signing(&self) -> Option<&[u8]> {
        self.signing.as_deref()
    }

    fn verifier_from(&self, secrets: &Tokens, key_id: Option<Arc<str>>) -> ClientStateVerifier {
        ClientStateVerifier {
            secrets: secrets.clone(),
            key_id,
            name: self.options.name().clone(),
            body: Sha256::new(),
            spent: Spent::default(),
        }
    }
}

shared_options! {
    ClientStateScheme {
        /// Names the scheme in logs, metrics and delivery ids.
        ///
        /// ```
        /// use tower_webhook::scheme::ClientStateScheme;
        ///
        /// let scheme = ClientStateScheme::new("state").named("graph_mail");
        /// ```
        named;
    }
}

impl ClientStateScheme {
    /// The scheme with its sender's handshake, which the layer answers (presets set theirs).
    pub(crate) fn with_handshake(mut self, handshake: crate::handshake::Handshake) -> Self {
        self.options.set_handshake(handshake);
        self
    }
}

impl Scheme for ClientStateScheme {
    type Verifier = ClientStateVerifier;

    fn name(&self) -> &str {
        self.options.name()
    }

    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        self.options.handshake()
    }

    fn verifier(&self, _request: &Parts) -> Result<ClientStateVerifier, Rejection> {
        let secrets = self
            .secrets
            .fixed()
            .ok_or(Rejection::KeySourceUnavailable)?;
        Ok(self.verifier_from(secrets, None))
    }

    fn start(&self, request: &Parts) -> Start<ClientStateVerifier> {
        self.secrets
            .start(request, |secrets, id| Ok(self.verifier_from(secrets, id)))
    }

    fn verifier_with(
        &self,
        _request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<ClientStateVerifier, Rejection> {
        let secrets = keys
            .get::<Tokens>()
            .ok_or(Rejection::KeySourceUnavailable)?;
        Ok(self.verifier_from(secrets, Some(Arc::clone(keys.shared_id()))))
    }
}

impl fmt::Debug for ClientStateScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStateScheme")
            .field("name", self.options.name())
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

/// The [`Verifier`] of a [`ClientStateScheme`]: it hashes the body as it streams, to name
/// the delivery, and checks every notification's `clientState` when it ends.
pub struct ClientStateVerifier {
    secrets: Tokens,
    key_id: Option<Arc<str>>,
    name: Cow<'static, str>,
    body: Sha256,
    spent: Spent,
}

impl Verifier for ClientStateVerifier {
    fn key_id(&self) -> Option<Arc<str>> {
        self.key_id.clone()
    }

    fn update(&mut self, chunk: &[u8]) {
        self.body.update(chunk);
    }

    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection> {
        self.spent.spend()?;
        let index = check(body, &self.secrets)?;
        let digest = Tag::from_slice(&self.body.finalize_reset());
        Ok(Verified::keyed(index, self.key_id.take())
            .with_digest(std::mem::take(&mut self.name), digest))
    }
}

impl fmt::Debug for ClientStateVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStateVerifier")
            .finish_non_exhaustive()
    }
}

/// The index of the secret the first notification carries, if every one carries one.
fn check(body: &[u8], secrets: &Tokens) -> Result<usize, Rejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let seen = Body { secrets }
        .deserialize(&mut deserializer)
        .and_then(|seen| deserializer.end().map(|()| seen));
    let seen = match seen {
        Ok(seen) => seen,
        Err(error) => {
            return Err(match error.classify() {
                Category::Data => Rejection::MalformedSignature,
                Category::Syntax | Category::Eof | Category::Io => Rejection::MissingSignature,
            })
        }
    };
    // A wrong secret anywhere first: one notification with the secret must not carry
    // others that lack it.
    if seen.wrong {
        return Err(Rejection::InvalidSignature);
    }
    match seen.first {
        Some(index) if !seen.missing => Ok(index),
        _ => Err(Rejection::MissingSignature),
    }
}

/// What the notifications carried.
#[derive(Default)]
struct Seen {
    /// The secret the first notification matched.
    first: Option<usize>,
    /// A notification without `clientState` (or not a string).
    missing: bool,
    /// A notification whose `clientState` is none of the secrets.
    wrong: bool,
}

/// The body: a JSON object whose `value` is read; the rest is skipped.
struct Body<'s> {
    secrets: &'s Tokens,
}

impl<'de> DeserializeSeed<'de> for Body<'_> {
    type Value = Seen;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Seen, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Body<'_> {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seen, A::Error> {
        let mut seen = None;
        while let Some(is_value) = map.next_key_seed(Key("value"))? {
            if !is_value {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // Twice is ambiguous: a parser downstream may read the copy not checked.
            let value = map.next_value_seed(Notifications {
                secrets: self.secrets,
            })?;
            if seen.replace(value).is_some() {
                return Err(A::Error::custom("`value` twice"));
            }
        }
        Ok(seen.unwrap_or_default())
    }
}

/// The `value` array, each element checked as it is read, none kept.
struct Notifications<'s> {
    secrets: &'s Tokens,
}

impl<'de> DeserializeSeed<'de> for Notifications<'_> {
    type Value = Seen;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Seen, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Notifications<'_> {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of notifications")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seen, A::Error> {
        let mut seen = Seen::default();
        while let Some(carried) = seq.next_element_seed(Notification)? {
            let Some(state) = carried.as_str() else {
                seen.missing = true;
                continue;
            };
            match self.secrets.find(&Sha256::digest(state.as_bytes()).into()) {
                Some(index) => {
                    seen.first.get_or_insert(index);
                }
                None => seen.wrong = true,
            }
        }
        Ok(seen)
    }
}

/// One notification: an object whose `clientState` is read.
struct Notification;

impl<'de> DeserializeSeed<'de> for Notification {
    type Value = Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Notification {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a notification object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'de>, A::Error> {
        let mut state: Option<Text<'de>> = None;
        while let Some(is_state) = map.next_key_seed(Key("clientState"))? {
            if !is_state {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if state.replace(map.next_value()?).is_some() {
                return Err(A::Error::custom("`clientState` twice"));
            }
        }
        Ok(state.unwrap_or_default())
    }
}

/// A key: whether it is the one looked for, compared without copying it.
struct Key(&'static str);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(body: &str) -> Result<usize, &'static str> {
        let scheme = ClientStateScheme::new("s3cret").also_accept("old");
        let request = http::Request::post("/").body(()).unwrap().into_parts().0;
        let mut verifier = scheme.verifier(&request).map_err(|r| r.reason())?;
        verifier.update(body.as_bytes());
        verifier
            .finish(body.as_bytes())
            .map(|verified| verified.key_index())
            .map_err(|r| r.reason())
    }

    fn notification(state: &str) -> String {
        format!(
            r#"{{"subscriptionId":"7f1","changeType":"created","clientState":"{state}","resource":"Users/1/Messages/2"}}"#
        )
    }

    #[test]
    fn every_notification_must_carry_a_configured_client_state() {
        let one = format!(r#"{{"value":[{}]}}"#, notification("s3cret"));
        assert_eq!(verify(&one), Ok(0));
        let rotated = format!(
            r#"{{"value":[{},{}]}}"#,
            notification("old"),
            notification("s3cret")
        );
        assert_eq!(verify(&rotated), Ok(1), "the first notification's secret");
        let lifecycle = r#"{"value":[{"subscriptionId":"7f1","lifecycleEvent":"reauthorizationRequired","clientState":"s3cret"}]}"#;
        assert_eq!(verify(lifecycle), Ok(0));
        let escaped = r#"{"value":[{"clientState":"s3cr\u0065t"}]}"#;
        assert_eq!(verify(escaped), Ok(0), "JSON escapes are decoded first");
        for wrong in ["S3CRET", "s3cre", "s3cret ", ""] {
            let body = format!(r#"{{"value":[{}]}}"#, notification(wrong));
            assert_eq!(verify(&body), Err("invalid_signature"), "{wrong:?}");
        }
        let one_wrong = format!(
            r#"{{"value":[{},{}]}}"#,
            notification("s3cret"),
            notification("guess")
        );
        assert_eq!(verify(&one_wrong), Err("invalid_signature"));
        let one_missing = format!(
            r#"{{"value":[{},{{"changeType":"deleted"}}]}}"#,
            notification("s3cret")
        );
        assert_eq!(verify(&one_missing), Err("missing_signature"));
    }

    #[test]
    fn bodies_of_another_shape_are_refused() {
        for (body, reason) in [
            ("", "missing_signature"),
            ("not json", "missing_signature"),
            (r#"{"value":[]}"#, "missing_signature"),
            (r#"{"other":1}"#, "missing_signature"),
            (r#"{"value":[{"clientState":1}]}"#, "missing_signature"),
            (
                r#"{"value":[{"clientState":"s3cret"}]} trailing"#,
                "missing_signature",
            ),
            (r#"[{"clientState":"s3cret"}]"#, "malformed_signature"),
            (
                r#"{"value":{"clientState":"s3cret"}}"#,
                "malformed_signature",
            ),
            (r#"{"value":["s3cret"]}"#, "malformed_signature"),
            (
                r#"{"value":[{"clientState":"s3cret","clientState":"s3cret"}]}"#,
                "malformed_signature",
            ),
            (
                r#"{"value":[{"clientState":"s3cret"}],"value":[{"clientState":"s3cret"}]}"#,
                "malformed_signature",
            ),
        ] {
            assert_eq!(verify(body), Err(reason), "{body}");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let scheme = ClientStateScheme::new("very secret state");
        let debug = format!("{scheme:?}");
        assert!(!debug.contains("very secret"), "{debug}");
    }
}
