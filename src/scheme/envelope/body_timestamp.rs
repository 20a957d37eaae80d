//! A timestamp the sender signs inside its JSON body (Linear's `webhookTimestamp`, in
//! milliseconds), checked once the signature over the body has verified: without it a
//! captured delivery verifies forever.

use std::{borrow::Cow, sync::Arc, time::Duration};

use crate::foundation::Clock;
use crate::rejection::Rejection;

/// Where the signed timestamp is: a top-level field of the JSON body, in milliseconds since
/// the Unix epoch.
#[derive(Debug)]
#[cfg_attr(
    not(feature = "json"),
    allow(dead_code, reason = "nothing is read without `json`")
)]
pub(crate) struct BodyTimestamp {
    pub(crate) field: Cow<'static, str>,
}

/// One request's check: the spec, the window and the clock.
#[cfg_attr(
    not(feature = "json"),
    allow(dead_code, reason = "nothing is read without `json`")
)]
pub(crate) struct BodyTimestampCheck {
    pub(crate) spec: Arc<BodyTimestamp>,
    pub(crate) tolerance: Duration,
    pub(crate) clock: Arc<dyn Clock>,
}

/// What the body says about the field.
#[cfg(feature = "json")]
#[derive(Debug, PartialEq)]
enum Claimed {
    /// Milliseconds since the Unix epoch.
    Millis(f64),
    /// No such field, `null`, another JSON value, or a body that is not JSON.
    Invalid,
}

impl BodyTimestampCheck {
    /// Passes a body whose signed timestamp is within the tolerance of now, to the
    /// millisecond, either way; refuses one without it, or whose value is not a number, as
    /// Linear's SDK does.
    #[cfg(feature = "json")]
    pub(crate) fn check(&self, body: &[u8]) -> Result<(), Rejection> {
        let Claimed::Millis(millis) = read(body, &self.spec.field) else {
            return Err(Rejection::InvalidTimestamp);
        };
        let now = self
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1000.0);
        let tolerance = self.tolerance.as_secs_f64() * 1000.0;
        if (now - millis).abs() > tolerance {
            return Err(Rejection::TimestampOutOfTolerance);
        }
        Ok(())
    }

    /// Without the `json` feature the body is not read and the timestamp not checked
    /// (documented on the presets that sign one in the body).
    #[cfg(not(feature = "json"))]
    #[expect(
        clippy::unnecessary_wraps,
        reason = "the same signature as with `json`"
    )]
    pub(crate) fn check(&self, _body: &[u8]) -> Result<(), Rejection> {
        Ok(())
    }
}

/// The top-level `field` of `body`, a JSON object.
#[cfg(feature = "json")]
fn read(body: &[u8], field: &str) -> Claimed {
    use serde::de::DeserializeSeed as _;

    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let claimed = json::Top { field }.deserialize(&mut deserializer);
    match claimed {
        Ok(claimed) if deserializer.end().is_ok() => claimed,
        _ => Claimed::Invalid,
    }
}

#[cfg(feature = "json")]
mod json {
    //! A borrowing walk over the top-level object: only the named field is looked at; every
    //! other value is skipped without being built.

    use std::fmt;

    use serde::de::{
        DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };

    use super::Claimed;

    /// The body: an object; anything else is an error, read as invalid.
    pub(super) struct Top<'s> {
        pub(super) field: &'s str,
    }

    impl<'de> DeserializeSeed<'de> for Top<'_> {
        type Value = Claimed;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claimed, D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Top<'_> {
        type Value = Claimed;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claimed, A::Error> {
            let mut found = None;
            while let Some(is_field) = map.next_key_seed(Key(self.field))? {
                if !is_field {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                let value = map.next_value_seed(Value)?;
                // Twice is ambiguous: JavaScript's parser keeps the last, others the first.
                if found.replace(value).is_some() {
                    return Err(A::Error::custom("the timestamp field twice"));
                }
            }
            Ok(found.unwrap_or(Claimed::Invalid))
        }
    }

    /// A key: whether it is the field, compared without copying it.
    struct Key<'s>(&'s str);

    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = bool;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key<'_> {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }

        fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
            Ok(key == self.0)
        }
    }

    /// The field's value: a finite number of milliseconds; anything else is invalid,
    /// skipped without being built.
    struct Value;

    impl<'de> DeserializeSeed<'de> for Value {
        type Value = Claimed;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claimed, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Value {
        type Value = Claimed;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("milliseconds since the Unix epoch")
        }

        // As a double, as JavaScript reads it: exact for any time of the next 280,000 years.
        fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<Claimed, E> {
            Ok(Claimed::Millis(millis as f64))
        }

        fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<Claimed, E> {
            Ok(Claimed::Millis(millis as f64))
        }

        fn visit_f64<E: serde::de::Error>(self, millis: f64) -> Result<Claimed, E> {
            Ok(if millis.is_finite() {
                Claimed::Millis(millis)
            } else {
                Claimed::Invalid
            })
        }

        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Claimed, E> {
            Ok(Claimed::Invalid)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Claimed, E> {
            Ok(Claimed::Invalid)
        }

        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Claimed, E> {
            Ok(Claimed::Invalid)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claimed, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Claimed::Invalid)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Claimed, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Claimed::Invalid)
        }
    }
}

#[cfg(all(test, feature = "json"))]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;

    const NOW_MS: u64 = 1_700_000_000_123;

    fn check(body: &str) -> &'static str {
        let now = UNIX_EPOCH + Duration::from_millis(NOW_MS);
        let check = BodyTimestampCheck {
            spec: Arc::new(BodyTimestamp {
                field: "webhookTimestamp".into(),
            }),
            tolerance: Duration::from_secs(60),
            clock: Arc::new(move || -> SystemTime { now }),
        };
        check
            .check(body.as_bytes())
            .map_or_else(|r| r.reason(), |()| "ok")
    }

    #[test]
    fn the_body_timestamp_is_checked_to_the_millisecond_either_way() {
        let at = |ms: u64| format!(r#"{{"action":"create","webhookTimestamp":{ms}}}"#);
        assert_eq!(check(&at(NOW_MS)), "ok");
        assert_eq!(check(&at(NOW_MS - 60_000)), "ok");
        assert_eq!(check(&at(NOW_MS + 60_000)), "ok");
        assert_eq!(check(&at(NOW_MS - 60_001)), "timestamp_out_of_tolerance");
        assert_eq!(check(&at(NOW_MS + 60_001)), "timestamp_out_of_tolerance");
        assert_eq!(
            check(r#"{"webhookTimestamp":-1}"#),
            "timestamp_out_of_tolerance"
        );
        assert_eq!(
            check(r#"{"data":{"webhookTimestamp":1},"webhookTimestamp":1700000000100.5}"#),
            "ok",
            "only the top-level field, fractions allowed"
        );
    }

    #[test]
    fn a_missing_or_non_numeric_timestamp_is_refused() {
        for body in [
            r#"{"action":"create"}"#,
            r#"{"data":{"webhookTimestamp":1700000000123}}"#,
            r#"{"webhookTimestamp":null}"#,
            r#"{"webhookTimestamp":"1700000000123"}"#,
            r#"{"webhookTimestamp":true}"#,
            r#"{"webhookTimestamp":{"ms":1}}"#,
            r#"{"webhookTimestamp":[1700000000123]}"#,
            r#"{"webhookTimestamp":1700000000123,"webhookTimestamp":1700000000123}"#,
            r#"[{"webhookTimestamp":1700000000123}]"#,
            "not json",
            r#"{"webhookTimestamp":1700000000123} trailing"#,
        ] {
            assert_eq!(check(body), "invalid_timestamp", "{body}");
        }
    }
}
