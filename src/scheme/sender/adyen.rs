//! [`AdyenScheme`]: Adyen's standard webhooks, each notification item signed inside the
//! JSON body.

use std::{borrow::Cow, fmt, marker::PhantomData, sync::Arc};

use http::request::Parts;
use serde::{
    de::{Error as _, SeqAccess, Visitor},
    Deserialize, Deserializer,
};

use crate::scheme::{
    algorithm::hmac::Hmac,
    algorithm::sealed::Algorithm as _,
    envelope::encoding::{Encoding, Tag},
    sender::signed_fields::{self, Object, Text},
    InvalidKey, Scheme, Spent, Verified, Verifier,
};
use crate::{
    keys::{IntoKeys, KeySlot, ResolvedKeys, Start},
    rejection::Rejection,
};

/// How many notification items one request may carry; Adyen sends one.
const MAX_ITEMS: usize = 64;

/// Adyen (standard webhooks): each `NotificationRequestItem` of the JSON body carries
/// `additionalData.hmacSignature`, the base64 HMAC-SHA256 of its `pspReference`,
/// `originalReference`, `merchantAccountCode`, `merchantReference`, `amount.value`,
/// `amount.currency`, `eventCode` and `success`, joined with `:`, under the hex HMAC key from
/// the Customer Area. Every item must verify.
///
/// **Only those fields are signed**: the rest of an item (`additionalData`, `reason`,
/// `eventDate`, ...) is not covered, and nothing is timestamped. Put the replay guard
/// behind the layer. The body is read before anything is checked; only the signed fields
/// and signatures of at most 64 items are read, the rest is skipped without being built. A
/// signed field or signature sent twice in an item gets `401` as malformed: a parser that
/// keeps the first copy would see a value that was not verified.
///
/// Each item names the delivery for the replay guard (by its signature), so items of
/// captured notifications resent reordered, alone or combined with others are duplicates;
/// an item sent twice in one notification gets `401` as malformed.
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

    /// The keys a sender signs with (the first); none when they are resolved per request.
    pub(crate) fn signing(&self) -> Option<&Hmac> {
        self.keys.fixed()
    }

    fn verifier_from(keys: &Hmac, key_id: Option<Arc<str>>) -> AdyenVerifier {
        AdyenVerifier {
            keys: keys.clone(),
            key_id,
            spent: Spent::default(),
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
    spent: Spent,
}

impl AdyenVerifier {
    /// The key index that verifies `item`, and the item's MAC under each key (the first
    /// key's first).
    fn check(&self, item: &Item<'_>) -> Result<(usize, Vec<Tag>), Rejection> {
        let claimed = item
            .additional_data
            .as_ref()
            .and_then(|Object(data)| data.hmac_signature.as_str())
            .ok_or(Rejection::MissingSignature)?;
        let claimed = Encoding::Base64
            .decode(claimed.as_bytes())
            .ok_or(Rejection::MalformedSignature)?;
        let amount = item.amount.as_ref().map(|Object(amount)| amount);
        let none = Scalar::default();
        // The fields Adyen signs, in order, joined with `:`; an absent one is empty.
        let fields = [
            &item.psp_reference,
            &item.original_reference,
            &item.merchant_account_code,
            &item.merchant_reference,
            amount.map_or(&none, |amount| &amount.value),
            amount.map_or(&none, |amount| &amount.currency),
            &item.event_code,
            &item.success,
        ];
        let mut signed = Vec::new();
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                signed.push(b':');
            }
            signed.extend_from_slice(field.0.as_deref().unwrap_or_default().as_bytes());
        }
        let mut state = self.keys.start(vec![claimed])?;
        Hmac::update(&mut state, &signed);
        let (index, first, others) = Hmac::finish_named(&mut state)?;
        Ok((index, [first].into_iter().chain(others).collect()))
    }
}

impl Verifier for AdyenVerifier {
    fn key_id(&self) -> Option<Arc<str>> {
        self.key_id.clone()
    }

    fn update(&mut self, _chunk: &[u8]) {}

    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection> {
        self.spent.spend()?;
        let notification: Notification<'_> = signed_fields::read(body)?;
        let Items(items) = notification
            .items
            .filter(|Items(items)| !items.is_empty())
            .ok_or(Rejection::MissingSignature)?;
        let mut first = None;
        // Each item is signed on its own, so each names the delivery: items of captured
        // notifications reordered or combined are items already seen. Sorted, so every
        // copy claims its names in the same order.
        let mut items_signed = Vec::with_capacity(items.len());
        let mut under_other_keys = Vec::new();
        for Object(wrapper) in &items {
            let Object(item) = wrapper.item.as_ref().ok_or(Rejection::MalformedSignature)?;
            let (index, macs) = self.check(item)?;
            first.get_or_insert(index);
            let mut macs = macs.into_iter();
            items_signed.extend(macs.next());
            under_other_keys.extend(macs);
        }
        items_signed.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
        let mut pairs = items_signed.iter().zip(items_signed.iter().skip(1));
        if pairs.any(|(one, next)| one == next) {
            // Adyen never sends an item twice in one notification; a handler would take
            // the copy for a second event.
            return Err(Rejection::MalformedSignature);
        }
        under_other_keys.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
        let mut names = items_signed.into_iter();
        let primary = names.next().ok_or(Rejection::MissingSignature)?;
        let verified = Verified::keyed(first.unwrap_or_default(), self.key_id.take());
        Ok(verified
            .with_signature(Cow::Borrowed("adyen"), primary)
            .more_names(names.chain(under_other_keys).collect()))
    }
}

/// What Adyen's verifier reads of a notification: its items, and of each only what is
/// signed and the signature.
#[derive(Deserialize)]
struct Notification<'a> {
    #[serde(borrow, rename = "notificationItems")]
    items: Option<Items<'a>>,
}

/// At most [`MAX_ITEMS`] items; one more stops the read.
struct Items<'a>(Vec<Object<Wrapper<'a>>>);

impl<'de: 'a, 'a> Deserialize<'de> for Items<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bounded<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for Bounded<'a> {
            type Value = Items<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an array of at most {MAX_ITEMS} notification items")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items<'a>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == MAX_ITEMS {
                        return Err(A::Error::custom("too many notification items"));
                    }
                    items.push(item);
                }
                Ok(Items(items))
            }
        }

        deserializer.deserialize_seq(Bounded(PhantomData))
    }
}

/// An element of `notificationItems`.
#[derive(Deserialize)]
struct Wrapper<'a> {
    #[serde(borrow, rename = "NotificationRequestItem")]
    item: Option<Object<Item<'a>>>,
}

/// A `NotificationRequestItem`: the fields Adyen signs and the signature.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    #[serde(borrow, default)]
    psp_reference: Scalar<'a>,
    #[serde(borrow, default)]
    original_reference: Scalar<'a>,
    #[serde(borrow, default)]
    merchant_account_code: Scalar<'a>,
    #[serde(borrow, default)]
    merchant_reference: Scalar<'a>,
    #[serde(borrow)]
    amount: Option<Object<Amount<'a>>>,
    #[serde(borrow, default)]
    event_code: Scalar<'a>,
    #[serde(borrow, default)]
    success: Scalar<'a>,
    #[serde(borrow)]
    additional_data: Option<Object<AdditionalData<'a>>>,
}

#[derive(Deserialize)]
struct Amount<'a> {
    #[serde(borrow, default)]
    value: Scalar<'a>,
    #[serde(borrow, default)]
    currency: Scalar<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdditionalData<'a> {
    #[serde(borrow, default)]
    hmac_signature: Text<'a>,
}

/// A signed field as Adyen writes it into what it signs: a string as is, a number or a
/// boolean as JSON writes it, `null` (or absent) as nothing. An object or an array is
/// malformed.
#[derive(Default)]
struct Scalar<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Written<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for Written<'a> {
            type Value = Scalar<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number, a boolean or null")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Scalar<'a>, E> {
                Ok(Scalar(Some(Cow::Borrowed(v))))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar<'a>, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_owned()))))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar<'a>, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar<'a>, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_string()))))
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar<'a>, E> {
                // As a parsed JSON value writes it back.
                let number = serde_json::Number::from_f64(v)
                    .ok_or_else(|| E::custom("a number that is not finite"))?;
                Ok(Scalar(Some(Cow::Owned(number.to_string()))))
            }

            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar<'a>, E> {
                Ok(Scalar(Some(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                }))))
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Scalar<'a>, E> {
                Ok(Scalar(None))
            }
        }

        deserializer.deserialize_any(Written(PhantomData))
    }
}

impl fmt::Debug for AdyenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdyenVerifier").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine as _};

    use super::*;
    use crate::scheme::algorithm::hmac::KeyedMac;

    const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D25BDB8A5652E3384781658D";

    /// An item whose signed fields are `fields` (JSON members, without `additionalData`),
    /// signed over `signed` under [`KEY`].
    fn item(fields: &str, signed: &str) -> String {
        let mut mac = KeyedMac::sha256(&hex::decode(KEY).unwrap());
        mac.update(signed.as_bytes());
        let signature = STANDARD.encode(mac.finalize().as_slice());
        format!(
            r#"{{"NotificationRequestItem":{{{fields},"additionalData":{{"hmacSignature":"{signature}"}}}}}}"#
        )
    }

    fn verify(body: &str) -> Result<usize, &'static str> {
        let scheme = AdyenScheme::new(KEY).unwrap();
        let request = http::Request::post("/").body(()).unwrap().into_parts().0;
        let mut verifier = scheme.verifier(&request).map_err(|r| r.reason())?;
        verifier
            .finish(body.as_bytes())
            .map(|verified| verified.key_index())
            .map_err(|r| r.reason())
    }

    fn notification(items: &[String]) -> String {
        format!(
            r#"{{"live":"false","notificationItems":[{}]}}"#,
            items.join(",")
        )
    }

    fn names(body: &str) -> Result<Vec<crate::scheme::DeliveryId>, &'static str> {
        let scheme = AdyenScheme::new(KEY).unwrap();
        let request = http::Request::post("/").body(()).unwrap().into_parts().0;
        let mut verifier = scheme.verifier(&request).map_err(|r| r.reason())?;
        verifier
            .finish(body.as_bytes())
            .map(|verified| verified.delivery_ids())
            .map_err(|r| r.reason())
    }

    #[test]
    fn every_item_names_the_delivery_in_any_order_and_none_twice() {
        let (a, b) = (
            item(r#""pspReference":"1""#, "1:::::::"),
            item(r#""pspReference":"2""#, "2:::::::"),
        );
        let both = names(&notification(&[a.clone(), b.clone()])).unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!(
            names(&notification(&[b.clone(), a.clone()])),
            Ok(both.clone())
        );
        for alone in [&a, &b] {
            let one = names(&notification(std::slice::from_ref(alone))).unwrap();
            assert!(one.len() == 1 && one.iter().all(|id| both.contains(id)));
        }
        assert_eq!(
            names(&notification(&[a.clone(), b, a])),
            Err("malformed_signature")
        );
    }

    #[test]
    fn signed_fields_are_written_as_json_writes_them() {
        let fields = r#""pspReference":"79","amount":{"value":4200,"currency":"EUR"},"eventCode":"AUTHORISATION","success":"true","merchantReference":null"#;
        let body = notification(&[item(fields, "79::::4200:EUR:AUTHORISATION:true")]);
        assert_eq!(verify(&body), Ok(0));
        let fields = r#""pspReference":"7\u0039","amount":{"value":-1.5e2,"currency":"EUR"},"success":false"#;
        let body = notification(&[item(fields, "79::::-150.0:EUR::false")]);
        assert_eq!(verify(&body), Ok(0));
    }

    #[test]
    fn a_signed_field_twice_is_refused_an_unsigned_one_is_not() {
        let fields = r#""pspReference":"79","eventCode":"AUTHORISATION""#;
        let signed = "79::::::AUTHORISATION:";
        let body = notification(&[item(fields, signed)]);
        assert_eq!(verify(&body), Ok(0));
        // A first-wins parser would see "1" where "79" was verified.
        let twice = body.replacen(
            r#""pspReference":"79""#,
            r#""pspReference":"1","pspReference":"79""#,
            1,
        );
        assert_eq!(verify(&twice), Err("malformed_signature"));
        let amount = body.replacen(
            r#""eventCode""#,
            r#""amount":{"value":1,"value":2},"eventCode""#,
            1,
        );
        assert_eq!(verify(&amount), Err("malformed_signature"));
        let reason = body.replacen(
            r#""eventCode""#,
            r#""reason":"a","reason":"b","eventCode""#,
            1,
        );
        assert_eq!(verify(&reason), Ok(0));
    }

    #[test]
    fn item_counts_and_shapes_are_checked() {
        let one = item(r#""pspReference":"79""#, "79:::::::");
        // Distinct items: the same one twice is refused on its own account.
        let many = |count: usize| -> Vec<String> {
            (0..count)
                .map(|n| item(&format!(r#""pspReference":"{n}""#), &format!("{n}:::::::")))
                .collect()
        };
        assert_eq!(verify(&notification(&many(MAX_ITEMS))), Ok(0));
        assert_eq!(
            verify(&notification(&many(MAX_ITEMS + 1))),
            Err("malformed_signature")
        );
        assert_eq!(verify(&notification(&[])), Err("missing_signature"));
        assert_eq!(verify(r#"{"live":"false"}"#), Err("missing_signature"));
        assert_eq!(verify("[0,0,0]"), Err("malformed_signature"));
        assert_eq!(verify("live=false"), Err("missing_signature"));
        let nested = one.replacen(r#""pspReference":"79""#, r#""pspReference":{"x":"79"}"#, 1);
        assert_eq!(verify(&notification(&[nested])), Err("malformed_signature"));
        assert_eq!(
            verify(&notification(&["{}".to_owned()])),
            Err("malformed_signature")
        );
    }
}
