//! Where a sender names a delivery besides its signature: a header the signature does not
//! cover (GitHub's `X-GitHub-Delivery`), or top-level fields of the signed JSON body
//! (Stripe's `id`), read only when a replay guard asks.

use std::{borrow::Cow, fmt, sync::Arc};

use http::{HeaderMap, HeaderName};

/// The longest event id read from a header, in bytes; a longer one is ignored (the request
/// is then named by its signature alone), so a header cannot make a store hold large keys.
const MAX_HEADER_ID_LEN: usize = 256;

/// The event id in header `name`: present once, not blank, at most [`MAX_HEADER_ID_LEN`]
/// bytes; otherwise none, and the delivery is named by its signature alone.
pub(crate) fn header_id<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a [u8]> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?.as_bytes().trim_ascii();
    let usable = values.next().is_none() && !value.is_empty() && value.len() <= MAX_HEADER_ID_LEN;
    usable.then_some(value)
}

/// Where a scheme finds a delivery's event id.
#[derive(Clone)]
pub(crate) enum EventIdSource {
    /// A header the signature does not cover.
    Header(HeaderName),
    /// Top-level fields of the signed JSON body.
    Body(Arc<BodyFields>),
}

impl fmt::Debug for EventIdSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(name) => f.debug_tuple("Header").field(name).finish(),
            Self::Body(fields) => f.debug_tuple("Body").field(&fields.fields).finish(),
        }
    }
}

/// Which top-level fields of a JSON body name a delivery, all of them together; for a body
/// that is an array of events (SendGrid), the fields of every element, in order.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct BodyFields {
    pub(crate) fields: Vec<Cow<'static, str>>,
    pub(crate) each_element: bool,
}

/// The event id `spec` names in `body`, as unambiguous bytes (each value tagged with its JSON
/// type and length-prefixed), or `None` if the body is not JSON of that shape, lacks a field, has one twice, or has a
/// value that is not a string or an integer.
#[cfg(feature = "json")]
pub(crate) fn read_body(body: &[u8], spec: &BodyFields) -> Option<Vec<u8>> {
    use serde::de::DeserializeSeed as _;

    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut material = Vec::new();
    let found = json::Top {
        spec,
        out: &mut material,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    found.then_some(material)
}

/// Without the `json` feature no body is read: deliveries are named by their signature.
#[cfg(not(feature = "json"))]
pub(crate) fn read_body(_body: &[u8], _spec: &BodyFields) -> Option<Vec<u8>> {
    None
}

#[cfg(feature = "json")]
mod json {
    //! A borrowing walk over the top-level value: only the named fields are kept; every other
    //! value is skipped without being built.

    use std::fmt;

    use serde::de::{
        DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };

    use super::BodyFields;

    /// The whole body: an object, or (for `each_element`) an array of objects.
    pub(super) struct Top<'s> {
        pub(super) spec: &'s BodyFields,
        pub(super) out: &'s mut Vec<u8>,
    }

    impl<'de> DeserializeSeed<'de> for Top<'_> {
        type Value = bool;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Top<'_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object or array")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
            if self.spec.each_element {
                return Ok(false);
            }
            Object {
                spec: self.spec,
                out: self.out,
            }
            .visit_map(map)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            if !self.spec.each_element {
                return Ok(false);
            }
            let mut elements = 0u64;
            let mut all = true;
            let mut found = Vec::new();
            while let Some(element) = seq.next_element_seed(Object {
                spec: self.spec,
                out: &mut found,
            })? {
                all &= element;
                elements += 1;
            }
            self.out.extend_from_slice(&elements.to_be_bytes());
            self.out.extend_from_slice(&found);
            Ok(all && elements > 0)
        }
    }

    /// One object: the named fields' values, in the order the spec names them.
    struct Object<'s> {
        spec: &'s BodyFields,
        out: &'s mut Vec<u8>,
    }

    impl<'de> DeserializeSeed<'de> for Object<'_> {
        type Value = bool;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Object<'_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            // Each field's value once seen: `Some(None)` for one that is not a scalar, so a
            // second copy is refused whatever the first was.
            let mut values: Vec<Option<Option<Vec<u8>>>> = vec![None; self.spec.fields.len()];
            while let Some(key) = map.next_key_seed(Key(self.spec))? {
                let Some(index) = key else {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                };
                let value = map.next_value_seed(Scalar)?;
                let Some(slot) = values.get_mut(index) else {
                    continue;
                };
                if slot.is_some() {
                    // The same field twice: which one names the event is ambiguous.
                    return Err(A::Error::custom("duplicate event id field"));
                }
                *slot = Some(value);
            }
            for value in values {
                let Some(Some(value)) = value else {
                    return Ok(false);
                };
                self.out
                    .extend_from_slice(&(value.len() as u64).to_be_bytes());
                self.out.extend_from_slice(&value);
            }
            Ok(true)
        }
    }

    /// A key: the index of the field it names, if it names one.
    struct Key<'s>(&'s BodyFields);

    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = Option<usize>;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key<'_> {
        type Value = Option<usize>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }

        fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Option<usize>, E> {
            Ok(self.0.fields.iter().position(|field| field == key))
        }
    }

    /// A value: a string's bytes or an integer's digits, after a byte naming which (`s` or
    /// `n`), so that `"123"` and `123` name different events; anything else is skipped as
    /// `None`.
    struct Scalar;

    const STRING: u8 = b's';
    const INTEGER: u8 = b'n';

    fn tagged(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut tagged = Vec::with_capacity(1 + value.len());
        tagged.push(tag);
        tagged.extend_from_slice(value);
        tagged
    }

    impl<'de> DeserializeSeed<'de> for Scalar {
        type Value = Option<Vec<u8>>;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Vec<u8>>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Scalar {
        type Value = Option<Vec<u8>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an integer")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(Some(tagged(STRING, value.as_bytes())))
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(Some(tagged(INTEGER, value.to_string().as_bytes())))
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
            Ok(Some(tagged(INTEGER, value.to_string().as_bytes())))
        }

        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::*;

    fn spec(fields: &[&'static str], each_element: bool) -> BodyFields {
        BodyFields {
            fields: fields.iter().map(|f| Cow::Borrowed(*f)).collect(),
            each_element,
        }
    }

    #[test]
    fn top_level_fields_are_read_and_nested_ones_ignored() {
        let stripe = spec(&["id"], false);
        let id = |body: &str| read_body(body.as_bytes(), &stripe);
        let expected = [&9u64.to_be_bytes()[..], b"s", b"evt_1234"].concat();
        assert_eq!(
            id(r#"{"object":"event","data":{"id":"pi_1"},"id":"evt_1234"}"#),
            Some(expected.clone())
        );
        assert_eq!(
            id(r#"{"id":"evt_\u0031234"}"#),
            Some(expected),
            "escapes decoded"
        );
        assert_eq!(id(r#"{"data":{"id":"pi_1"}}"#), None, "only nested");
        assert_eq!(id(r#"{"id":"a","id":"b"}"#), None, "twice is ambiguous");
        assert_eq!(
            id(r#"{"id":null,"id":"evt_1"}"#),
            None,
            "twice is ambiguous even when the first copy is not a string"
        );
        assert_eq!(id(r#"{"id":{"x":1},"id":"evt_1"}"#), None);
        assert_eq!(id(r#"{"id":{"x":1}}"#), None, "not a scalar");
        assert_eq!(id("id=evt_1"), None, "not JSON");
        assert_eq!(id(r#"{"id":"evt_1"} trailing"#), None);
        assert_eq!(
            id(r#"[{"id":"evt_1"}]"#),
            None,
            "an array where an object is expected"
        );
    }

    #[test]
    fn a_number_and_a_string_of_the_same_digits_are_different_events() {
        let stripe = spec(&["id"], false);
        let id = |body: &str| read_body(body.as_bytes(), &stripe).unwrap();
        assert_ne!(id(r#"{"id":123}"#), id(r#"{"id":"123"}"#));
        assert_ne!(id(r#"{"id":-1}"#), id(r#"{"id":"-1"}"#));
        assert_eq!(
            id(r#"{"id":123}"#),
            [&4u64.to_be_bytes()[..], b"n123"].concat()
        );
        let zoom = spec(&["event", "event_ts"], false);
        let two = |body: &str| read_body(body.as_bytes(), &zoom).unwrap();
        assert_ne!(
            two(r#"{"event":"1","event_ts":2}"#),
            two(r#"{"event":1,"event_ts":"2"}"#)
        );
    }

    #[test]
    fn several_fields_and_integers_name_one_event() {
        let zoom = spec(&["event", "event_ts"], false);
        let body = r#"{"event":"meeting.started","payload":{},"event_ts":1626230691572}"#;
        let material = read_body(body.as_bytes(), &zoom).unwrap();
        assert!(material.ends_with(b"1626230691572"));
        assert_eq!(read_body(br#"{"event":"meeting.started"}"#, &zoom), None);
    }

    #[test]
    fn an_array_of_events_is_named_by_every_element() {
        let sendgrid = spec(&["sg_event_id"], true);
        let one = read_body(br#"[{"sg_event_id":"a"},{"sg_event_id":"b"}]"#, &sendgrid);
        let other = read_body(br#"[{"sg_event_id":"a"},{"sg_event_id":"c"}]"#, &sendgrid);
        assert!(one.is_some());
        assert_ne!(one, other);
        assert_eq!(read_body(br#"[{"sg_event_id":"a"},{}]"#, &sendgrid), None);
        assert_eq!(read_body(b"[]", &sendgrid), None);
    }
}
