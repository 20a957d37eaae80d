//! The signed-field readers of senders that sign inside the JSON body (Mailgun, Adyen,
//! Amazon SNS), through their public schemes and verifiers:
//!
//! - any body: never accepted; JSON that is not an object is malformed; an object without the
//!   signature's field is a missing signature;
//! - a body signed here as the sender documents it, with fuzzed values (strings, numbers,
//!   booleans, null), one thing broken on purpose or none: exactly the verdict that thing
//!   earns (a read field twice is malformed, an unread one twice is not);
//! - SNS: a message that passes every check is left waiting for its certificate (a lookup
//!   never polled, so no fetch), only if its `SigningCertURL` is an SNS certificate URL;
//!   with any other URL it is refused at once.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::Request;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use sha2::Sha256;
use tower_webhook::{
    fuzzing,
    keys::AllowedHosts,
    presets,
    scheme::{Finish, Scheme, Verifier},
};

const NOW: u64 = 1_700_000_000;
const ADYEN_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D25BDB8A5652E3384781658D";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:orders";

fn clock() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn head(headers: &[(&'static str, &str)]) -> http::request::Parts {
    let mut request = Request::post("/").body(()).unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    request.into_parts().0
}

fn finish<V: Verifier>(verifier: Result<V, tower_webhook::Rejection>, body: &[u8]) -> &'static str {
    match verifier {
        Err(rejection) => rejection.reason(),
        Ok(mut verifier) => verifier.finish(body).err().map_or("ok", |r| r.reason()),
    }
}

/// A fuzzed JSON value: a string of the input's bytes, or a number, boolean or null.
fn value(kind: u8, text: &str) -> Value {
    match kind % 8 {
        0..=3 => json!(text),
        4 => json!(text.len() as i64 - 7),
        5 => json!(text.len() as f64 * 1.5e3),
        6 => json!(text.len() % 2 == 0),
        _ => Value::Null,
    }
}

/// Cuts the input into `n` texts (split at `\0`), cycling if there are fewer.
fn texts(data: &[u8], n: usize) -> Vec<String> {
    let pieces: Vec<String> = data
        .split(|&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    (0..n).map(|i| pieces[i % pieces.len()].clone()).collect()
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fuzz_target!(|data: &[u8]| {
    let [mode, broken, rest @ ..] = data else {
        return;
    };
    match mode % 4 {
        0 => any_body(rest),
        1 => mailgun(*broken, rest),
        2 => adyen(*broken, rest),
        _ => sns(*broken, rest),
    }
});

fn any_body(body: &[u8]) {
    let mailgun = presets::mailgun("k").clock(clock);
    let adyen = presets::adyen(ADYEN_KEY).unwrap();
    let parts = head(&[]);
    let verdicts = [
        ("signature", finish(mailgun.verifier(&parts), body)),
        ("notificationItems", finish(adyen.verifier(&parts), body)),
    ];
    let json: Option<Value> = serde_json::from_slice(body).ok();
    for (field, verdict) in verdicts {
        assert_ne!(
            verdict,
            "ok",
            "accepted {:?}",
            String::from_utf8_lossy(body)
        );
        match &json {
            Some(Value::Object(object)) if !object.contains_key(field) => {
                assert_eq!(
                    verdict,
                    "missing_signature",
                    "{:?}",
                    String::from_utf8_lossy(body)
                );
            }
            Some(Value::Object(_)) | None => {}
            Some(_) => assert_eq!(
                verdict,
                "malformed_signature",
                "{:?}",
                String::from_utf8_lossy(body)
            ),
        }
    }
}

fn mailgun(broken: u8, rest: &[u8]) {
    let [offset, rest @ ..] = rest else { return };
    let texts = texts(rest, 3);
    let (token, extra) = (&texts[0], &texts[1]);
    let offset = i64::from(*offset as i8) * 3;
    let (timestamp, mut expected) = match broken % 8 {
        // A timestamp the fuzzer writes.
        1 => {
            let text = texts[2].clone();
            let read =
                (!text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| text.parse::<u64>().unwrap());
            let verdict = match read {
                None => "invalid_timestamp",
                Some(t) if t.abs_diff(NOW) > 300 => "timestamp_out_of_tolerance",
                Some(_) => "ok",
            };
            (text, verdict)
        }
        _ => {
            let t = NOW.checked_add_signed(offset).unwrap();
            (
                t.to_string(),
                if offset.unsigned_abs() > 300 {
                    "timestamp_out_of_tolerance"
                } else {
                    "ok"
                },
            )
        }
    };
    let mut signature = hex::encode(hmac_sha256(b"k", &[timestamp.as_bytes(), token.as_bytes()]));
    if broken % 8 == 2 {
        signature = signature.to_ascii_uppercase();
    }
    let mut signed = format!(
        r#""timestamp":{},"token":{},"signature":{}"#,
        json!(timestamp),
        json!(token),
        json!(signature)
    );
    let mut top = format!(r#""event-data":{{"event":{}}}"#, json!(extra));
    match broken % 8 {
        3 => {
            signed.push_str(r#","token":"other""#);
            expected = "malformed_signature";
        }
        4 => {
            top.push_str(r#","signature":{}"#);
            expected = "malformed_signature";
        }
        5 => top.push_str(r#","x":1,"x":[2]"#),
        6 => {
            signed = signed.replace(r#""token":"#, r#""token":7,"ignored":"#);
            expected = "malformed_signature";
        }
        _ => {}
    }
    let body = format!(r#"{{"signature":{{{signed}}},{top}}}"#);
    let verdict = finish(
        presets::mailgun("k").clock(clock).verifier(&head(&[])),
        body.as_bytes(),
    );
    assert_eq!(verdict, expected, "{body}");
}

/// Adyen's signed fields, in the order it signs them.
const ADYEN_FIELDS: [&str; 6] = [
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "eventCode",
    "success",
];

fn adyen(broken: u8, rest: &[u8]) {
    let [count, kinds @ ..] = rest else { return };
    let count = usize::from(count % 3) + 1;
    let (kinds, rest) = kinds.split_at(kinds.len().min(8));
    let texts = texts(rest, 8);
    let key = hex::decode(ADYEN_KEY).unwrap();
    let written = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut expected = "ok";
    let mut last_has_event_code = false;
    let mut items = Vec::new();
    for i in 0..count {
        let kind = |k: usize| kinds.get(k).copied().unwrap_or(0).wrapping_add(i as u8);
        let mut item = Map::new();
        let mut values = Vec::new();
        for (k, field) in ADYEN_FIELDS.iter().enumerate() {
            let v = value(kind(k), &texts[k]);
            if kind(k) % 11 != 10 {
                item.insert((*field).into(), v.clone());
            }
            values.push(if kind(k) % 11 == 10 {
                String::new()
            } else {
                written(&v)
            });
        }
        last_has_event_code = kind(4) % 11 != 10;
        let amount_value = value(kind(6), &texts[6]);
        let currency = value(kind(7), &texts[7]);
        item.insert(
            "amount".into(),
            json!({"value": amount_value, "currency": currency}),
        );
        // Signed: psp, original, merchant account, merchant reference, value, currency, event, success.
        let signed = [
            values[0].clone(),
            values[1].clone(),
            values[2].clone(),
            values[3].clone(),
            written(&amount_value),
            written(&currency),
            values[4].clone(),
            values[5].clone(),
        ]
        .join(":");
        let mut mac = hmac_sha256(&key, &[signed.as_bytes()]);
        if i == count - 1 && broken % 8 == 1 {
            mac[0] ^= 1;
            expected = "invalid_signature";
        }
        item.insert(
            "additionalData".into(),
            json!({"hmacSignature": STANDARD.encode(&mac), "extra": texts[0]}),
        );
        items.push(json!({ "NotificationRequestItem": item }));
    }
    let mut body = json!({"live": "false", "notificationItems": items}).to_string();
    // The edits below find keys by their name and colon: a string value (which may be any
    // text) is never followed by a colon.
    match broken % 8 {
        2 => {
            // A signed field twice, in the last item.
            let at = body.rfind(r#""additionalData":"#).unwrap();
            body.insert_str(at, r#""eventCode":"AUTHORISATION","#);
            if last_has_event_code {
                expected = "malformed_signature";
            } else if expected == "ok" {
                // Not twice: the item now says another event than was signed.
                expected = "invalid_signature";
            }
        }
        3 => {
            let at = body.rfind(r#""hmacSignature":"#).unwrap();
            body.insert_str(at, r#""hmacSignature":"AAAA","#);
            expected = "malformed_signature";
        }
        4 => {
            body = body.replacen(r#""live":"#, r#""x":1,"x":2,"live":"#, 1);
        }
        5 => {
            body = body.replace(r#""hmacSignature":"#, r#""hmacSig":"#);
            expected = "missing_signature";
        }
        6 => {
            // More than 64 items.
            let item = items[0].to_string();
            let many = vec![item; 65].join(",");
            body = format!(r#"{{"notificationItems":[{many}]}}"#);
            expected = "malformed_signature";
        }
        7 => {
            body = body.replacen(r#""amount":{"#, r#""amount":{"value":[1],"#, 1);
            expected = "malformed_signature";
        }
        _ => {}
    }
    let verdict = finish(
        presets::adyen(ADYEN_KEY).unwrap().verifier(&head(&[])),
        body.as_bytes(),
    );
    assert_eq!(verdict, expected, "{body}");
}

fn sns(broken: u8, rest: &[u8]) {
    let [url_kind, offset, rest @ ..] = rest else {
        return;
    };
    let texts = texts(rest, 4);
    let prefixes = [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-",
        "HTTPS://SNS.EU-WEST-1.AMAZONAWS.COM:443/",
        "https://",
        "",
    ];
    let url = format!(
        "{}{}",
        prefixes[usize::from(*url_kind) % prefixes.len()],
        texts[0]
    );
    // Within SNS's hour of tolerance, except where the timestamp is what is broken.
    let offset = i64::from(*offset as i8) * if broken % 8 == 5 { 56 } else { 28 };
    let sent = NOW.checked_add_signed(offset).unwrap();
    let timestamp = {
        let (days, secs) = (sent / 86_400, sent % 86_400);
        // 2023-11-14 is day 19675; the offsets stay within a few hours of it.
        assert!((19_674..=19_676).contains(&days));
        format!(
            "2023-11-{:02}T{:02}:{:02}:{:02}.123Z",
            14 + days - 19_675,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    };
    let kinds = [
        "Notification",
        "SubscriptionConfirmation",
        "UnsubscribeConfirmation",
    ];
    let kind = kinds[usize::from(broken >> 4) % 3];
    let mut message = Map::new();
    message.insert("Type".into(), json!(kind));
    message.insert("MessageId".into(), json!(texts[1]));
    message.insert("TopicArn".into(), json!(TOPIC));
    message.insert("Message".into(), json!(texts[2]));
    message.insert("Timestamp".into(), json!(timestamp));
    message.insert(
        "SignatureVersion".into(),
        json!(if broken & 8 == 0 { "1" } else { "2" }),
    );
    message.insert("Signature".into(), json!(STANDARD.encode([7u8; 256])));
    message.insert("SigningCertURL".into(), json!(url));
    if kind == "Notification" {
        if texts[3].len() % 2 == 0 {
            message.insert("Subject".into(), json!(texts[3]));
        }
    } else {
        message.insert(
            "SubscribeURL".into(),
            json!("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"),
        );
        message.insert("Token".into(), json!(texts[3]));
    }
    let canonical = fuzzing::sns_certificate_url(
        AllowedHosts::new(tower_webhook::scheme::SNS_CERT_HOSTS).unwrap(),
        &url,
    );
    let mut expected = None;
    match broken % 8 {
        1 => {
            message.insert("TopicArn".into(), json!("arn:aws:sns:us-east-1:1:other"));
            expected = Some("unknown_key");
        }
        2 => {
            message.insert("SignatureVersion".into(), json!(texts[3]));
            if texts[3] != "1" && texts[3] != "2" {
                expected = Some("malformed_signature");
            }
        }
        3 => {
            message.insert(
                "Signature".into(),
                json!(STANDARD.encode(vec![7u8; texts[3].len() % 128])),
            );
            expected = Some("malformed_signature");
        }
        4 => {
            // Checked once the URL is: an unknown URL is refused first.
            message.remove("MessageId");
            expected = Some(if canonical.is_some() {
                "malformed_signature"
            } else {
                "unknown_key"
            });
        }
        5 if offset.unsigned_abs() > 3600 => expected = Some("timestamp_out_of_tolerance"),
        6 => {
            message.insert("Timestamp".into(), json!(texts[3]));
            expected = Some("invalid_timestamp");
        }
        7 => {
            message.remove("Signature");
            expected = Some("missing_signature");
        }
        _ => {}
    }
    let body = Bytes::from(Value::Object(message).to_string());
    let scheme = presets::sns([TOPIC]).clock(clock);
    let parts = head(&[
        ("x-amz-sns-message-type", kind),
        ("x-amz-sns-topic-arn", TOPIC),
    ]);
    let mut verifier = scheme.verifier(&parts).unwrap();
    let verdict = match verifier.finish_later(&body) {
        // Dropped unpolled: the certificate is never fetched.
        Finish::Waiting(_lookup) => None,
        Finish::Ready(Ok(_)) => panic!("verified without a certificate"),
        Finish::Ready(Err(rejection)) => Some(rejection.reason()),
    };
    match expected {
        Some("invalid_timestamp") if rfc3339_like(&texts[3]) => {}
        Some(expected) => assert_eq!(verdict, Some(expected), "{body:?}"),
        None if canonical.is_some() => {
            assert_eq!(
                verdict, None,
                "a valid message with an SNS certificate URL: {body:?}"
            );
            assert!(sns_url(&url), "{url:?} is not an SNS certificate URL");
            // The synchronous verdict does not fetch either.
            let again = scheme.verifier(&parts).unwrap().finish(&body);
            assert_eq!(
                again.err().map(|r| r.reason()),
                Some("key_source_unavailable")
            );
        }
        None => assert_eq!(verdict, Some("unknown_key"), "{body:?}"),
    }
}

/// Text that might be an RFC 3339 date and time (the `timestamps` target reads those).
fn rfc3339_like(text: &str) -> bool {
    text.len() >= 20 && text.as_bytes()[4] == b'-'
}

/// `https`, `sns.<region>.amazonaws.com[.cn]` in any case, port 443 or none,
/// `/SimpleNotificationService-<32 letters or digits>.pem`, nothing else.
fn sns_url(url: &str) -> bool {
    let Some(rest) = url
        .get(..8)
        .filter(|s| s.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
    else {
        return false;
    };
    let Some((authority, path)) = rest.split_once('/') else {
        return false;
    };
    let host = authority
        .strip_suffix(":443")
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let region_ok =
        |r: &str| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let host_ok = match labels[..] {
        ["sns", region, "amazonaws", "com"] | ["sns", region, "amazonaws", "com", "cn"] => {
            region_ok(region)
        }
        _ => false,
    };
    let name = path
        .strip_prefix("SimpleNotificationService-")
        .and_then(|n| n.strip_suffix(".pem"));
    host_ok
        && name.is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
}
