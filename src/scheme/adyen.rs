//! [`AdyenScheme`]: Adyen's standard webhooks, each notification item signed inside the
//! JSON body.

use std::{borrow::Cow, fmt, sync::Arc};

use http::request::Parts;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    algorithm::sealed::Algorithm as _,
    encoding::{Encoding, Tag},
    hmac::Hmac,
    InvalidKey, Scheme, Verified, Verifier,
};
use crate::{
    keys::{IntoKeys, KeySlot, ResolvedKeys, Start},
    rejection::Rejection,
};

/// How many notification items one request may carry; Adyen sends one.
const MAX_ITEMS: usize = 64;

/// The fields Adyen signs, in order (`amount.value` and `amount.currency` in the middle).
const SIGNED: [&[&str]; 8] = [
    &["pspReference"],
    &["originalReference"],
    &["merchantAccountCode"],
    &["merchantReference"],
    &["amount", "value"],
    &["amount", "currency"],
    &["eventCode"],
    &["success"],
];

/// Adyen (standard webhooks): each `NotificationRequestItem` of the JSON body carries
/// `additionalData.hmacSignature`, the base64 HMAC-SHA256 of its `pspReference`,
/// `originalReference`, `merchantAccountCode`, `merchantReference`, `amount.value`,
/// `amount.currency`, `eventCode` and `success`, joined with `:`, under the hex HMAC key from
/// the Customer Area. Every item must verify.
///
/// **Only those fields are signed**: the rest of an item (`additionalData`, `reason`,
/// `eventDate`, ...) is not covered, and nothing is timestamped. Put the replay guard
/// behind the layer. The body is read before anything is checked.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::adyen(
///     "44782DEF547AAA06C910C43932B1EB0C71FC68D9D25BDB8A5652E3384781658D",
/// )?);
/// # Ok::<(), tower_webhook::scheme::InvalidKey>(())
/// ```
#[derive(Clone)]
pub struct AdyenScheme {
    keys: KeySlot<Hmac>,
}

impl AdyenScheme {
    /// Notifications signed with `hmac_key_hex`, as the Customer Area shows it.
    ///
    /// # Errors
    ///
    /// [`InvalidKey`] if the key is not hex, or is empty.
    ///
    /// ```
    /// use tower_webhook::scheme::AdyenScheme;
    ///
    /// assert!(AdyenScheme::new("44782DEF547AAA06C910C43932B1EB0C").is_ok());
    /// assert!(AdyenScheme::new("not hex").is_err());
    /// ```
    pub fn new(hmac_key_hex: impl IntoKeys) -> Result<Self, InvalidKey> {
        Ok(Self {
            keys: KeySlot::new(hmac_key_hex.into_keys(), parse_key)?,
        })
    }

    /// Also accepts notifications signed with this (hex) key, while rotating.
    ///
    /// # Errors
    ///
    /// [`InvalidKey`] if the key is not hex, or is empty.
    ///
    /// # Panics
    ///
    /// If the keys are resolved per request.
    ///
    /// ```
    /// use tower_webhook::scheme::AdyenScheme;
    ///
    /// let scheme = AdyenScheme::new("0011AABB")?.also_accept("CCDDEEFF")?;
    /// # Ok::<(), tower_webhook::scheme::InvalidKey>(())
    /// ```
    pub fn also_accept(mut self, hmac_key_hex: impl AsRef<str>) -> Result<Self, InvalidKey> {
        let more = parse_key(hmac_key_hex.as_ref().as_bytes())?;
        crate::keys::KeySet::merge(self.keys.fixed_mut(), more);
        Ok(self)
    }

    fn verifier_from(keys: &Hmac, key_id: Option<Arc<str>>) -> AdyenVerifier {
        AdyenVerifier {
            keys: keys.clone(),
            key_id,
        }
    }
}

/// The HMAC keyed with a hex key as the Customer Area shows it.
fn parse_key(text: &[u8]) -> Result<Hmac, InvalidKey> {
    let key =
        hex::decode(text.trim_ascii()).map_err(|_| InvalidKey::expected("the hex HMAC key"))?;
    Hmac::sha256(&key)
}

impl Scheme for AdyenScheme {
    type Verifier = AdyenVerifier;

    fn name(&self) -> &str {
        "adyen"
    }

    fn verifier(&self, _request: &Parts) -> Result<AdyenVerifier, Rejection> {
        let keys = self.keys.fixed().ok_or(Rejection::KeySourceUnavailable)?;
        Ok(Self::verifier_from(keys, None))
    }

    fn start(&self, request: &Parts) -> Start<AdyenVerifier> {
        self.keys
            .start(request, |keys, id| Ok(Self::verifier_from(keys, id)))
    }

    fn verifier_with(
        &self,
        _request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<AdyenVerifier, Rejection> {
        let set = keys.get::<Hmac>().ok_or(Rejection::KeySourceUnavailable)?;
        Ok(Self::verifier_from(set, Some(Arc::clone(keys.shared_id()))))
    }
}

impl fmt::Debug for AdyenScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdyenScheme")
            .field("keys", &self.keys)
            .finish()
    }
}

/// The [`Verifier`] of an [`AdyenScheme`]: it checks every item when the body ends.
pub struct AdyenVerifier {
    keys: Hmac,
    key_id: Option<Arc<str>>,
}

impl AdyenVerifier {
    /// The key index that verifies `item`.
    fn check(&self, item: &Value) -> Result<(usize, Tag), Rejection> {
        let claimed = item
            .get("additionalData")
            .and_then(|data| data.get("hmacSignature"))
            .and_then(Value::as_str)
            .ok_or(Rejection::MissingSignature)?;
        let claimed = Encoding::Base64
            .decode(claimed.as_bytes())
            .ok_or(Rejection::MalformedSignature)?;
        let mut signed = Vec::new();
        for (i, path) in SIGNED.iter().enumerate() {
            if i > 0 {
                signed.push(b':');
            }
            let value = path.iter().try_fold(item, |value, key| value.get(key));
            match value {
                None | Some(Value::Null) => {}
                Some(Value::String(text)) => signed.extend_from_slice(text.as_bytes()),
                Some(Value::Number(number)) => {
                    signed.extend_from_slice(number.to_string().as_bytes())
                }
                Some(Value::Bool(flag)) => {
                    signed.extend_from_slice(if *flag { b"true" } else { b"false" })
                }
                Some(_) => return Err(Rejection::MalformedSignature),
            }
        }
        let mut state = self.keys.start(vec![claimed])?;
        Hmac::update(&mut state, &signed);
        Hmac::finish(state)
    }
}

impl Verifier for AdyenVerifier {
    fn update(&mut self, _chunk: &[u8]) {}

    fn finish(self, body: &[u8]) -> Result<Verified, Rejection> {
        let json: Value = serde_json::from_slice(body).map_err(|_| Rejection::MissingSignature)?;
        let items = json
            .get("notificationItems")
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty() && items.len() <= MAX_ITEMS)
            .ok_or(Rejection::MissingSignature)?;
        let mut first = None;
        let mut signatures = Sha256::new();
        for item in items {
            let item = item
                .get("NotificationRequestItem")
                .ok_or(Rejection::MalformedSignature)?;
            let (index, signature) = self.check(item)?;
            first.get_or_insert(index);
            signatures.update(signature.as_slice());
        }
        let verified = Verified::keyed(first.unwrap_or_default(), self.key_id);
        Ok(verified.with_signature(
            Cow::Borrowed("adyen"),
            Tag::from_slice(&signatures.finalize()),
        ))
    }
}

impl fmt::Debug for AdyenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdyenVerifier").finish_non_exhaustive()
    }
}
