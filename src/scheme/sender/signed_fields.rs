//! Reading the few fields an in-body signature needs (Mailgun, Adyen, Amazon SNS) from a JSON
//! body, as `event_id` reads an event id: borrowed from the body, every other value skipped
//! without being built, so a 2 MiB body of `[0,0,…]` or of unread fields costs one pass and
//! no copy of itself.
//!
//! Each reader is a `#[derive(Deserialize)]` struct of the fields it needs, wrapped in
//! [`Object`] at every level. Serde's derive refuses a field it reads that appears twice:
//! a parser downstream that keeps the first copy would otherwise see another value than the
//! one verified.

use std::{borrow::Cow, fmt, marker::PhantomData};

use serde::de::{
    value::MapAccessDeserializer, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::error::Category;

use crate::rejection::Rejection;

/// `T` read from `body`, a JSON object. A body that is not JSON has no signature to find
/// (`MissingSignature`); JSON of another shape, or a read field twice, is malformed.
pub(crate) fn read<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Rejection> {
    match serde_json::from_slice::<Object<T>>(body) {
        Ok(Object(read)) => Ok(read),
        Err(error) => Err(match error.classify() {
            Category::Data => Rejection::MalformedSignature,
            Category::Syntax | Category::Eof | Category::Io => Rejection::MissingSignature,
        }),
    }
}

/// `T` read from a JSON object only. (A derived struct alone also takes an array of its
/// fields in order, which no sender writes and another parser would read differently.)
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Object)
    }
}

/// A field read as a string: borrowed from the body unless it has escapes; any other value
/// (a number, an object, `null`) reads as none, skipped without being built.
#[derive(Default)]
pub(crate) struct Text<'a>(pub(crate) Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, value: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Borrowed(value))))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(value.to_owned()))))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(value))))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Pair<'a> {
        #[serde(borrow, default)]
        a: Text<'a>,
        #[serde(borrow, default)]
        b: Option<Box<Object<Pair<'a>>>>,
    }

    fn reason<T>(result: Result<T, Rejection>) -> &'static str {
        result.map_or_else(|r| r.reason(), |_| "ok")
    }

    #[test]
    fn fields_are_borrowed_unless_escaped_and_the_rest_is_skipped() {
        let body = br#"{"x":[0,{"a":"no"}],"a":"plain","b":{"a":"t\u0061b","z":null}}"#;
        let pair: Pair<'_> = read(body).unwrap();
        assert!(matches!(pair.a.0, Some(Cow::Borrowed("plain"))));
        let inner = pair.b.unwrap().0;
        assert!(matches!(inner.a.0, Some(Cow::Owned(ref s)) if s == "tab"));
        let absent: Pair<'_> = read(br#"{"a":7}"#).unwrap();
        assert_eq!(absent.a.as_str(), None, "a number is not a string");
        assert!(absent.b.is_none());
    }

    #[test]
    fn a_read_field_twice_is_malformed_at_any_depth_an_unread_one_is_not() {
        assert_eq!(
            reason(read::<Pair<'_>>(br#"{"a":"1","a":"2"}"#)),
            "malformed_signature"
        );
        assert_eq!(
            reason(read::<Pair<'_>>(br#"{"b":{"a":"1","a":"1"}}"#)),
            "malformed_signature",
            "even with the same value"
        );
        assert_eq!(
            reason(read::<Pair<'_>>(br#"{"b":{},"b":{}}"#)),
            "malformed_signature"
        );
        assert_eq!(reason(read::<Pair<'_>>(br#"{"x":1,"x":2,"a":"1"}"#)), "ok");
    }

    #[test]
    fn only_an_object_is_read_at_every_level() {
        for body in [
            &br#"["1",null]"#[..],
            br#"{"b":["1"]}"#,
            b"[0,0,0]",
            b"\"a\"",
        ] {
            assert_eq!(
                reason(read::<Pair<'_>>(body)),
                "malformed_signature",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [
            &b"a=1&b=2"[..],
            b"",
            br#"{"a":"1"} trailing"#,
            br#"{"a":"1""#,
        ] {
            assert_eq!(
                reason(read::<Pair<'_>>(body)),
                "missing_signature",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
