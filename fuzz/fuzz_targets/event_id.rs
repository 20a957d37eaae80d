//! Senders' event ids (the signed JSON body's fields: Stripe's `id`, Zoom's `event` and
//! `event_ts`, the `sg_event_id` of each element of a batch; GitHub's unsigned
//! `X-GitHub-Delivery` header), read from correctly signed requests through the whole service
//! and `Verified::delivery_ids`:
//!
//! - the inner service gets exactly the bytes sent;
//! - a body that names its event (by a reader written here from the documented rule: top-level
//!   fields, each a string or an integer, present once) is named by that id alone, the same
//!   whatever the timestamp it was signed at;
//! - any other body is named by the signature that verified it;
//! - a header id is added (first) only if present once, not blank, at most 256 bytes.
#![no_main]

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
    time::{Duration, UNIX_EPOCH},
};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderValue, Request, Response};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use sha2::Sha256;
use tower::{service_fn, Layer, ServiceExt};
use tower_webhook::{
    body::BufferedBody,
    peer::PeerAddr,
    presets,
    scheme::{DeliveryId, Scheme},
    sign::Message,
    HmacScheme, Verified, WebhookSignatureLayer,
};

const T1: u64 = 1_700_000_000;
const T2: u64 = 1_700_000_007;

/// A scheme, the fields naming its events (and whether in each element of an array), and
/// what it signs around the body for timestamp `t`.
struct Case {
    scheme: HmacScheme,
    fields: &'static [&'static str],
    each_element: bool,
    signed_prefix: fn(u64) -> String,
    header: Option<&'static str>,
}

fn case(which: u8) -> Case {
    match which % 4 {
        0 => Case {
            scheme: presets::stripe("k"),
            fields: &["id"],
            each_element: false,
            signed_prefix: |t| format!("{t}."),
            header: None,
        },
        1 => Case {
            scheme: presets::zoom("k"),
            fields: &["event", "event_ts"],
            each_element: false,
            signed_prefix: |t| format!("v0:{t}:"),
            header: None,
        },
        2 => Case {
            scheme: HmacScheme::sha256("k")
                .header("x-sig")
                .timestamp_header("x-ts")
                .signed_payload("{timestamp}.{body}")
                .event_id_field_of_each("sg_event_id")
                .named("batch"),
            fields: &["sg_event_id"],
            each_element: true,
            signed_prefix: |t| format!("{t}."),
            header: None,
        },
        _ => Case {
            scheme: presets::github("k"),
            fields: &[],
            each_element: false,
            signed_prefix: |_| String::new(),
            header: Some("x-github-delivery"),
        },
    }
}

/// Sends `body` signed at `t` (plus `header_values` in the case's id header) through the
/// layer; the `Verified` the inner service got.
fn deliver(case: &Case, t: u64, body: &[u8], header_values: &[HeaderValue]) -> Verified {
    let at = UNIX_EPOCH + Duration::from_secs(t);
    let scheme = case.scheme.clone().clock(move || at);
    let mut request = Request::post("/").body(()).unwrap();
    for (name, value) in scheme.sign_message(&Message::new(body).timestamp(t)) {
        request.headers_mut().insert(name.unwrap(), value);
    }
    if let Some(name) = case.header {
        for value in header_values {
            request.headers_mut().append(name, value.clone());
        }
    }
    request
        .extensions_mut()
        .insert(PeerAddr("10.0.0.1".parse().unwrap()));
    let (parts, ()) = request.into_parts();
    let request = Request::from_parts(parts, BufferedBody::new(Bytes::copy_from_slice(body)));

    let got = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&got);
    let sent = Bytes::copy_from_slice(body);
    let inner = service_fn(move |request: Request<BufferedBody>| {
        assert_eq!(
            request.body().bytes(),
            &sent,
            "the inner service must get the bytes sent"
        );
        *slot.lock().unwrap() = request.extensions().get::<Verified>().cloned();
        async { Ok::<_, Infallible>(Response::new(String::new())) }
    });
    let service = WebhookSignatureLayer::new(scheme)
        .max_body_size(1 << 16)
        .layer(inner);
    let mut future = pin!(service.oneshot(request));
    let mut cx = Context::from_waker(Waker::noop());
    let response = loop {
        if let Poll::Ready(response) = future.as_mut().poll(&mut cx) {
            break response.unwrap();
        }
    };
    assert_eq!(
        response.status(),
        200,
        "a correctly signed request was refused"
    );
    let verified = got.lock().unwrap().take();
    verified.expect("the inner service got no Verified")
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fuzz_target!(|data: &[u8]| {
    let [which, header_len, rest @ ..] = data else {
        return;
    };
    let case = case(*which);
    let (header, body) = rest.split_at(usize::from(*header_len).min(rest.len()));
    let mut header_values = Vec::new();
    if let Ok(value) = HeaderValue::from_bytes(header) {
        header_values.push(value.clone());
        if which & 0x10 != 0 {
            header_values.push(value);
        }
    }
    let name = case.scheme.name().to_owned();
    let first = deliver(&case, T1, body, &header_values);
    let ids = first.delivery_ids();
    let primary = first
        .delivery_id()
        .expect("every preset names its deliveries");
    assert_eq!(*ids.last().unwrap(), primary);

    // The primary id: the event the body names, or the signature.
    let named = (!case.fields.is_empty())
        .then(|| material(body, case.fields, case.each_element))
        .flatten();
    match named {
        Some(material) => {
            let expected = DeliveryId::derive(&format!("{name}#event"), &material);
            assert_eq!(
                primary,
                expected,
                "the body names its event: {:?}",
                String::from_utf8_lossy(body)
            );
            let again = deliver(&case, T2, body, &header_values);
            assert_eq!(
                again.delivery_id(),
                Some(primary),
                "a re-signed retry is the same delivery"
            );
        }
        None => {
            let prefix = (case.signed_prefix)(T1);
            let signature = mac(b"k", &[prefix.as_bytes(), body]);
            assert_eq!(
                primary,
                DeliveryId::derive(&name, &signature),
                "named by its signature: {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    // The unsigned header's id, first, if usable.
    let header_id = match &header_values[..] {
        [one] => Some(one.as_bytes().trim_ascii()).filter(|id| !id.is_empty() && id.len() <= 256),
        _ => None,
    };
    match (case.header, header_id) {
        (Some(_), Some(id)) => {
            assert_eq!(
                ids,
                vec![DeliveryId::derive(&format!("{name}#event"), id), primary]
            );
        }
        _ => assert_eq!(ids, vec![primary]),
    }
});

/// The event id `fields` name in `body`, by the documented rule, as the crate keys it: each
/// value's bytes after its length (u64, big-endian); for a batch, the number of elements first.
/// `None` unless the body is a JSON object (or, for `each_element`, a non-empty array of
/// objects) in which every field is present once, as a string or an integer.
fn material(body: &[u8], fields: &[&str], each_element: bool) -> Option<Vec<u8>> {
    let json: Json = serde_json::from_slice(body).ok()?;
    let mut out = Vec::new();
    match (json, each_element) {
        (Json::Object(entries), false) => object(&entries, fields, &mut out)?,
        (Json::Array(elements), true) if !elements.is_empty() => {
            out.extend_from_slice(&(elements.len() as u64).to_be_bytes());
            for element in elements {
                let Json::Object(entries) = element else {
                    return None;
                };
                object(&entries, fields, &mut out)?;
            }
        }
        _ => return None,
    }
    Some(out)
}

fn object(entries: &[(String, Json)], fields: &[&str], out: &mut Vec<u8>) -> Option<()> {
    for field in fields {
        let mut values = entries
            .iter()
            .filter(|(key, _)| key == field)
            .map(|(_, value)| value);
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        let bytes = match value {
            Json::String(text) => text.as_bytes().to_vec(),
            Json::Integer(digits) => digits.as_bytes().to_vec(),
            _ => return None,
        };
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    Some(())
}

/// A JSON value with its objects' entries in order, repeats kept.
enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    String(String),
    Integer(String),
    Other,
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Integer(value.to_string()))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Integer(value.to_string()))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut elements = Vec::new();
        while let Some(element) = seq.next_element()? {
            elements.push(element);
        }
        Ok(Json::Array(elements))
    }
}
