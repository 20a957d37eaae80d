//! [`MailgunScheme`]: Mailgun's webhooks, whose signature travels inside the JSON body.

use std::{borrow::Cow, fmt, sync::Arc};

use http::request::Parts;
use serde::Deserialize;

use crate::scheme::{
    algorithm::hmac::{hmac_keys, Hmac},
    algorithm::sealed::Algorithm as _,
    envelope::encoding::Encoding,
    envelope::timestamp::{TimestampFormat, Tolerance},
    options::{shared_options, Options},
    sender::signed_fields::{self, Object, Text},
    Scheme, Spent, Verified, Verifier,
};
use crate::{
    foundation::{unix_seconds, Clock},
    keys::{IntoKeys, KeySlot, ResolvedKeys, Start},
    rejection::Rejection,
};

/// Mailgun: the JSON body carries `"signature": {"timestamp", "token", "signature"}`, where
/// `signature` is the hex HMAC-SHA256 of `timestamp` followed by `token` under the HTTP
/// webhook signing key.
///
/// Nothing in the head says whether a request is signed, so every request's body is read
/// (up to the body limit) and the check happens when it ends: a body that is not JSON, or
/// lacks the `signature` object, gets `401` as a missing signature. Timestamps more than
/// 5 minutes from now are refused ([`tolerance`](Self::tolerance)). Only the `signature`
/// object is read; the rest of the body is skipped without being built. One of its fields
/// sent twice gets `401` as malformed: a parser that keeps the first copy would see a value
/// that was not verified.
///
/// **The body itself is not signed**, only the timestamp and token: a captured request can
/// be sent again with another `event-data` until its timestamp leaves the tolerance. Put the
/// replay guard behind the layer so each token is accepted once.
///
/// Mailgun's legacy form-encoded webhooks are not read. A delivery is named by its
/// signature: Mailgun signs each attempt with a fresh token.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::mailgun("key-http-webhook-signing-key"));
/// ```
#[derive(Clone)]
pub struct MailgunScheme {
    keys: KeySlot<Hmac>,
    options: Options,
}

impl MailgunScheme {
    /// Mailgun deliveries signed with `signing_key`.
    ///
    /// # Panics
    ///
    /// If `signing_key` is empty. With the `keys` feature it may be a resolver: see
    /// [`keys`](crate::keys).
    ///
    /// ```
    /// use tower_webhook::scheme::MailgunScheme;
    ///
    /// let scheme = MailgunScheme::new("signing key");
    /// ```
    #[must_use]
    pub fn new(signing_key: impl IntoKeys) -> Self {
        Self {
            keys: hmac_keys(signing_key.into_keys(), Hmac::sha256),
            options: Options::new("mailgun"),
        }
    }

    /// What a sender signs with: the first key and the clock; none when the keys are
    /// resolved per request.
    pub(crate) fn signing(&self) -> Option<(&Hmac, &dyn Clock)> {
        Some((self.keys.fixed()?, &**self.options.clock()))
    }

    fn verifier_from(&self, keys: &Hmac, key_id: Option<Arc<str>>) -> MailgunVerifier {
        MailgunVerifier {
            keys: keys.clone(),
            key_id,
            tolerance: self.options.tolerance(),
            clock: Arc::clone(self.options.clock()),
            spent: Spent::default(),
        }
    }
}

shared_options! {
    MailgunScheme {
        /// How far the signed timestamp may be from now, either way. Default: 5 minutes.
        ///
        /// Held between 1 second and 7 days (a shorter one is raised, a longer one lowered), so
        /// no setting turns the check off.
        ///
        /// ```
        /// use std::time::Duration;
        /// use tower_webhook::scheme::MailgunScheme;
        ///
        /// let scheme = MailgunScheme::new("signing key").tolerance(Duration::from_secs(60));
        /// ```
        tolerance;

        /// Where the current time comes from (tests fix it).
        ///
        /// ```
        /// use std::time::{Duration, UNIX_EPOCH};
        /// use tower_webhook::scheme::MailgunScheme;
        ///
        /// let scheme = MailgunScheme::new("key").clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        /// ```
        clock;
    }
}

impl Scheme for MailgunScheme {
    type Verifier = MailgunVerifier;

    fn name(&self) -> &str {
        "mailgun"
    }

    fn verifier(&self, _request: &Parts) -> Result<MailgunVerifier, Rejection> {
        let keys = self.keys.fixed().ok_or(Rejection::KeySourceUnavailable)?;
        Ok(self.verifier_from(keys, None))
    }

    fn start(&self, request: &Parts) -> Start<MailgunVerifier> {
        self.keys
            .start(request, |keys, id| Ok(self.verifier_from(keys, id)))
    }

    fn verifier_with(
        &self,
        _request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<MailgunVerifier, Rejection> {
        let set = keys.get::<Hmac>().ok_or(Rejection::KeySourceUnavailable)?;
        Ok(self.verifier_from(set, Some(Arc::clone(keys.shared_id()))))
    }
}

impl fmt::Debug for MailgunScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailgunScheme")
            .field("keys", &self.keys)
            .field("tolerance", &self.options.tolerance())
            .finish_non_exhaustive()
    }
}

/// The [`Verifier`] of a [`MailgunScheme`]: it checks the whole body when it ends.
pub struct MailgunVerifier {
    keys: Hmac,
    key_id: Option<Arc<str>>,
    tolerance: Tolerance,
    clock: Arc<dyn Clock>,
    spent: Spent,
}

impl Verifier for MailgunVerifier {
    fn key_id(&self) -> Option<Arc<str>> {
        self.key_id.clone()
    }

    fn update(&mut self, _chunk: &[u8]) {}

    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection> {
        self.spent.spend()?;
        let delivery: Delivery<'_> = signed_fields::read(body)?;
        let Object(signed) = delivery.signature.ok_or(Rejection::MissingSignature)?;
        let (Some(timestamp), Some(token), Some(signature)) = (
            signed.timestamp.as_str(),
            signed.token.as_str(),
            signed.signature.as_str(),
        ) else {
            return Err(Rejection::MalformedSignature);
        };
        let claimed = Encoding::Hex
            .decode(signature.as_bytes())
            .ok_or(Rejection::MalformedSignature)?;
        let seconds = TimestampFormat::UnixSeconds
            .seconds(timestamp.as_bytes())
            .ok_or(Rejection::InvalidTimestamp)?;
        if !self.tolerance.admits(unix_seconds(&*self.clock), seconds) {
            return Err(Rejection::TimestampOutOfTolerance);
        }
        let mut state = self.keys.start(vec![claimed])?;
        Hmac::update(&mut state, timestamp.as_bytes());
        Hmac::update(&mut state, token.as_bytes());
        let (index, signature) = Hmac::finish(&mut state)?;
        let verified = Verified::keyed(index, self.key_id.take());
        Ok(verified.with_signature(Cow::Borrowed("mailgun"), signature))
    }
}

/// What a Mailgun delivery's verifier reads of its body; `event-data` and the rest are
/// skipped.
#[derive(Deserialize)]
struct Delivery<'a> {
    #[serde(borrow)]
    signature: Option<Object<Signed<'a>>>,
}

/// The `signature` object.
#[derive(Deserialize)]
struct Signed<'a> {
    #[serde(borrow, default)]
    timestamp: Text<'a>,
    #[serde(borrow, default)]
    token: Text<'a>,
    #[serde(borrow, default)]
    signature: Text<'a>,
}

impl fmt::Debug for MailgunVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailgunVerifier").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::scheme::algorithm::hmac::KeyedMac;

    const NOW: u64 = 1_700_000_000;

    fn delivery(token: &str) -> String {
        let mut mac = KeyedMac::sha256(b"key");
        mac.update(format!("{NOW}{token}").as_bytes());
        let signature = hex::encode(mac.finalize().as_slice());
        format!(
            r#"{{"signature":{{"timestamp":"{NOW}","token":"{token}","signature":"{signature}"}},"event-data":{{"event":"delivered"}}}}"#
        )
    }

    fn verify(body: &str) -> Result<usize, &'static str> {
        let scheme = MailgunScheme::new("key").clock(|| UNIX_EPOCH + Duration::from_secs(NOW));
        let request = http::Request::post("/").body(()).unwrap().into_parts().0;
        let mut verifier = scheme.verifier(&request).map_err(|r| r.reason())?;
        verifier
            .finish(body.as_bytes())
            .map(|verified| verified.key_index())
            .map_err(|r| r.reason())
    }

    /// A verdict takes the tenant into the marker: the spent verifier refuses a second
    /// `finish` rather than passing the same body again without it.
    #[test]
    fn a_spent_verifier_refuses_a_second_finish() {
        let scheme = MailgunScheme::new("key").clock(|| UNIX_EPOCH + Duration::from_secs(NOW));
        let request = http::Request::post("/").body(()).unwrap().into_parts().0;
        let mut verifier = scheme.verifier(&request).unwrap();
        let body = delivery("tok");
        assert!(verifier.finish(body.as_bytes()).is_ok());
        assert!(matches!(
            verifier.finish(body.as_bytes()),
            Err(Rejection::InvalidSignature)
        ));
    }

    #[test]
    fn a_signed_delivery_verifies_whatever_its_event_data() {
        let body = delivery("tok");
        assert_eq!(verify(&body), Ok(0));
        let other = body.replace("delivered", "failed");
        assert_eq!(verify(&other), Ok(0), "the event data is not signed");
        assert_eq!(
            verify(&body.replace("\"tok\"", "\"tol\"")),
            Err("invalid_signature")
        );
    }

    #[test]
    fn a_signed_field_twice_is_refused() {
        let body = delivery("tok");
        let token = body.replacen(r#""token":"tok""#, r#""token":"tok","token":"other""#, 1);
        assert_eq!(verify(&token), Err("malformed_signature"));
        let signature = body.replacen(r#""event-data""#, r#""signature":{},"event-data""#, 1);
        assert_eq!(verify(&signature), Err("malformed_signature"));
        let unsigned = body.replacen(r#""event-data""#, r#""x":1,"x":2,"event-data""#, 1);
        assert_eq!(verify(&unsigned), Ok(0));
    }

    #[test]
    fn bodies_of_another_shape_are_refused() {
        assert_eq!(verify("event=delivered"), Err("missing_signature"));
        assert_eq!(verify(r#"{"event-data":{}}"#), Err("missing_signature"));
        assert_eq!(verify("[0,0,0]"), Err("malformed_signature"));
        assert_eq!(
            verify(r#"{"signature":{"timestamp":1,"token":"t","signature":"00"}}"#),
            Err("malformed_signature")
        );
        assert_eq!(
            verify(r#"{"signature":["1","t","00"]}"#),
            Err("malformed_signature")
        );
    }
}
