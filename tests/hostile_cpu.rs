//! Hostile traffic costs what an honest request of its size costs: a form of a million
//! parameters, a JSON body of a million values, a header of thousands of signatures are each
//! refused or skipped without work per element. Through a real axum server on 127.0.0.1.
//!
//! Memory is counted by a global allocator, on the test's thread only: each test runs on a
//! current-thread runtime, so the client, the server and the layer all allocate there.
#![cfg(feature = "axum")]

mod support;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    future::Future,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{extract::DefaultBodyLimit, routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tower_webhook::{scheme::Scheme, WebhookSignatureLayer};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: the allocator runs while thread-locals are torn down too.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATED.try_with(|total| total.set(total.get() + bytes));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MIB: usize = 1024 * 1024;

/// Bytes allocated on this thread while `f` runs.
async fn allocated_by<T>(f: impl Future<Output = T>) -> (T, usize) {
    ALLOCATED.with(|total| total.set(0));
    COUNTING.with(|on| on.set(true));
    let out = f.await;
    COUNTING.with(|on| on.set(false));
    (out, ALLOCATED.with(Cell::get))
}

/// The bodies that reached the handler behind the layer.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Bytes>>>);

impl Received {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn last(&self) -> Bytes {
        self.0.lock().unwrap().last().cloned().unwrap()
    }
}

/// Serves `scheme` at `/hook` (bodies up to 4 MiB) in front of a handler recording bodies.
async fn serve<S: Scheme>(scheme: S) -> (SocketAddr, Received) {
    let received = Received::default();
    let seen = received.clone();
    let handler = post(move |body: Bytes| async move {
        seen.0.lock().unwrap().push(body);
        "handled"
    });
    let app = Router::new()
        .route(
            "/hook",
            handler.layer(WebhookSignatureLayer::new(scheme).max_body_size(4 * MIB)),
        )
        .layer(DefaultBodyLimit::max(4 * MIB));
    (support::serve_axum(app).await, received)
}

type Response = (StatusCode, Bytes);

/// Sends `body` to `/hook` with `headers`; the status and body of the answer, and the
/// bytes allocated meanwhile by the client, the server and the layer.
async fn post_counted(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    body: Bytes,
) -> (Response, usize) {
    let mut request = Request::post("/hook");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body)).unwrap();
    let ((status, _, answer), allocated) = allocated_by(support::send(addr, request)).await;
    ((status, answer), allocated)
}

/// An attack's allocations stay within a quarter more than an honest request's of the same
/// size (before these bounds, each attack allocated 5 to 40 times as much).
fn assert_costs_no_more_than(attack: usize, honest: usize, what: &str) {
    assert!(
        attack <= honest + honest / 4,
        "{what}: the attack allocated {attack} bytes, an honest request {honest}"
    );
}

/// `len` bytes of `[0,0,0,…]`.
fn zeros(len: usize) -> String {
    let mut zeros = String::with_capacity(len);
    zeros.push_str("[0");
    while zeros.len() + 3 <= len {
        zeros.push_str(",0");
    }
    zeros.push(']');
    zeros
}

fn refused(response: &Response, message: &str) -> bool {
    response.0 == StatusCode::UNAUTHORIZED && response.1 == format!("{message}\n")
}

#[cfg(feature = "twilio")]
mod twilio {
    use hmac::{Hmac, Mac as _};
    use tower_webhook::presets;

    use super::*;

    const TOKEN: &str = "twilio auth token";

    /// Twilio's signature of `params` posted to `https://example.com/hook`.
    fn sign(params: &[(String, String)]) -> String {
        let mut sorted = params.to_vec();
        sorted.sort();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();
        mac.update(b"https://example.com/hook");
        for (name, value) in &sorted {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
        STANDARD.encode(mac.finalize().into_bytes())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_form_of_a_million_parameters_is_refused_before_it_is_sorted() {
        let (addr, received) = serve(presets::twilio(TOKEN, "https://example.com").unwrap()).await;
        // An honest 2 MiB delivery: 30 parameters and a long message body.
        let mut params: Vec<(String, String)> = (0..30)
            .map(|i| (format!("Param{i}"), format!("value{i}")))
            .collect();
        params.push(("Body".to_owned(), "x".repeat(2 * MIB - 1024)));
        let honest = Bytes::from(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish(),
        );
        let signature = sign(&params);
        let headers = [
            ("x-twilio-signature", signature.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        // Once unmeasured, for what the first request initializes.
        let (warm, _) = post_counted(addr, &headers, honest.clone()).await;
        assert_eq!(warm, (StatusCode::OK, Bytes::from("handled")));
        let (answer, honest_cost) = post_counted(addr, &headers, honest.clone()).await;
        assert_eq!(answer, (StatusCode::OK, Bytes::from("handled")));
        assert_eq!(received.last(), honest);

        let flood = Bytes::from("a&".repeat(MIB));
        let (answer, attack_cost) = post_counted(addr, &headers, flood).await;
        assert!(
            refused(&answer, "malformed webhook signature"),
            "{answer:?}"
        );
        assert_eq!(received.count(), 2, "the inner service was not called");
        assert_costs_no_more_than(attack_cost, honest_cost, "Twilio a&a&…");

        // 256 parameters are the default cap, and still verify.
        let many: Vec<(String, String)> =
            (0..256).map(|i| (format!("P{i}"), i.to_string())).collect();
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&many)
            .finish();
        let signature = sign(&many);
        let headers = [
            ("x-twilio-signature", signature.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        let (answer, _) = post_counted(addr, &headers, Bytes::from(body.clone())).await;
        assert_eq!(answer, (StatusCode::OK, Bytes::from("handled")));
        let (answer, _) = post_counted(addr, &headers, Bytes::from(format!("{body}&P0=0"))).await;
        assert!(
            refused(&answer, "malformed webhook signature"),
            "{answer:?}"
        );
        assert_eq!(received.count(), 3);
    }
}

#[cfg(feature = "json")]
mod in_body {
    use hmac::{Hmac, Mac as _};
    use sha2::Sha256;
    use tower_webhook::presets;

    use super::*;

    fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    /// A Mailgun delivery signed now, with `event_data` (JSON) unsigned beside it.
    fn mailgun(event_data: &str) -> Bytes {
        let timestamp = support::unix_now();
        let signature = hex::encode(hmac_sha256(
            b"mailgun key",
            format!("{timestamp}tok").as_bytes(),
        ));
        Bytes::from(format!(
            r#"{{"signature":{{"timestamp":"{timestamp}","token":"tok","signature":"{signature}"}},"event-data":{event_data}}}"#
        ))
    }

    const ADYEN_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D25BDB8A5652E3384781658D";

    /// An Adyen notification of one signed item, with `reason` (JSON) unsigned in it.
    fn adyen(reason: &str) -> Bytes {
        let signed = "7914:::TestPayment:4200:EUR:AUTHORISATION:true";
        let signature = STANDARD.encode(hmac_sha256(
            &hex::decode(ADYEN_KEY).unwrap(),
            signed.as_bytes(),
        ));
        Bytes::from(format!(
            r#"{{"live":"false","notificationItems":[{{"NotificationRequestItem":{{"pspReference":"7914","merchantReference":"TestPayment","amount":{{"value":4200,"currency":"EUR"}},"eventCode":"AUTHORISATION","success":"true","reason":{reason},"additionalData":{{"hmacSignature":"{signature}"}}}}}}]}}"#
        ))
    }

    /// Signed bodies whose unsigned part is a 2 MiB string (honest) or 2 MiB of `[0,0,…]`
    /// pass alike, at the cost of the transport; a body that is `[0,0,…]` is refused as
    /// malformed at no more.
    async fn unread_values_are_skipped<S: Scheme>(
        name: &str,
        scheme: S,
        signed: impl Fn(&str) -> Bytes,
    ) {
        let (addr, received) = serve(scheme).await;
        let honest = signed(&format!("\"{}\"", "x".repeat(2 * MIB - 1024)));
        let attack = signed(&zeros(2 * MIB - 1024));
        let (warm, _) = post_counted(addr, &[], honest.clone()).await;
        assert_eq!(warm.0, StatusCode::OK, "{name}: {warm:?}");
        let (answer, honest_cost) = post_counted(addr, &[], honest).await;
        assert_eq!(answer, (StatusCode::OK, Bytes::from("handled")), "{name}");
        let (answer, attack_cost) = post_counted(addr, &[], attack.clone()).await;
        assert_eq!(answer, (StatusCode::OK, Bytes::from("handled")), "{name}");
        assert_eq!(received.last(), attack, "{name}");
        assert_costs_no_more_than(attack_cost, honest_cost, &format!("{name}, signed [0,0,…]"));

        let (answer, attack_cost) = post_counted(addr, &[], Bytes::from(zeros(2 * MIB))).await;
        assert!(
            refused(&answer, "malformed webhook signature"),
            "{name}: {answer:?}"
        );
        assert_eq!(
            received.count(),
            3,
            "{name}: the inner service was not called"
        );
        assert_costs_no_more_than(attack_cost, honest_cost, &format!("{name}, [0,0,…]"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn mailgun_skips_what_it_does_not_read() {
        unread_values_are_skipped("mailgun", presets::mailgun("mailgun key"), mailgun).await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn adyen_skips_what_it_does_not_read() {
        unread_values_are_skipped("adyen", presets::adyen(ADYEN_KEY).unwrap(), adyen).await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_signed_field_sent_twice_is_refused() {
        let (addr, received) = serve(presets::mailgun("mailgun key")).await;
        let body = mailgun("{}");
        let (answer, _) = post_counted(addr, &[], body.clone()).await;
        assert_eq!(answer, (StatusCode::OK, Bytes::from("handled")));
        // A parser keeping the first token would see one that was never signed.
        let text = std::str::from_utf8(&body).unwrap();
        let twice = text.replacen(r#""token":"tok""#, r#""token":"forged","token":"tok""#, 1);
        let (answer, _) = post_counted(addr, &[], Bytes::from(twice)).await;
        assert!(
            refused(&answer, "malformed webhook signature"),
            "{answer:?}"
        );

        let (addr, received_adyen) = serve(presets::adyen(ADYEN_KEY).unwrap()).await;
        let body = adyen("null");
        let (answer, _) = post_counted(addr, &[], body.clone()).await;
        assert_eq!(answer, (StatusCode::OK, Bytes::from("handled")));
        let text = std::str::from_utf8(&body).unwrap();
        let twice = text.replacen(r#""value":4200"#, r#""value":1,"value":4200"#, 1);
        let (answer, _) = post_counted(addr, &[], Bytes::from(twice)).await;
        assert!(
            refused(&answer, "malformed webhook signature"),
            "{answer:?}"
        );
        assert_eq!((received.count(), received_adyen.count()), (1, 1));
    }

    #[cfg(feature = "sns")]
    mod sns {
        use tower_webhook::presets;

        use super::*;

        const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:orders";

        /// A notification whose `Message` is `message` (JSON), timestamped in 2020: refused as
        /// stale once its fields are read, before any certificate is fetched.
        fn stale(message: &str) -> String {
            let signature = STANDARD.encode([7u8; 256]);
            format!(
                r#"{{"Type":"Notification","MessageId":"m-1","TopicArn":"{TOPIC}","Message":{message},"Timestamp":"2020-01-01T00:00:00.000Z","SignatureVersion":"1","Signature":"{signature}","SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem"}}"#
            )
        }

        #[tokio::test(flavor = "current_thread")]
        async fn sns_skips_what_it_does_not_read_and_refuses_a_field_twice() {
            let (addr, received) = serve(presets::sns([TOPIC])).await;
            let headers = [
                ("x-amz-sns-message-type", "Notification"),
                ("x-amz-sns-topic-arn", TOPIC),
            ];
            let honest = Bytes::from(stale(&format!("\"{}\"", "x".repeat(2 * MIB - 1024))));
            let (warm, _) = post_counted(addr, &headers, honest.clone()).await;
            assert!(
                refused(&warm, "webhook timestamp outside the tolerance"),
                "{warm:?}"
            );
            let (answer, honest_cost) = post_counted(addr, &headers, honest).await;
            assert!(
                refused(&answer, "webhook timestamp outside the tolerance"),
                "{answer:?}"
            );

            let (answer, attack_cost) =
                post_counted(addr, &headers, Bytes::from(zeros(2 * MIB))).await;
            assert!(
                refused(&answer, "malformed webhook signature"),
                "{answer:?}"
            );
            assert_costs_no_more_than(attack_cost, honest_cost, "SNS [0,0,…]");

            let twice =
                stale("\"a\"").replacen(r#""Message":"a""#, r#""Message":"b","Message":"a""#, 1);
            let (answer, _) = post_counted(addr, &headers, Bytes::from(twice)).await;
            assert!(
                refused(&answer, "malformed webhook signature"),
                "{answer:?}"
            );
            assert_eq!(received.count(), 0);
        }
    }
}

/// Standard Webhooks' `v1a` (Ed25519), and ECDSA P-256 (SendGrid's algorithm) in the same
/// layout, over a 1 MiB body: a signature sent many times is checked once, and a request
/// claiming more than 4 distinct signatures is refused before its body is read. So a request costs at most 4 verifications
/// per key (each, for Ed25519, a hash of the whole body).
#[cfg(all(feature = "ed25519", feature = "p256"))]
mod public_key {
    use ed25519_dalek::{Signer as _, SigningKey};
    use tower_webhook::presets;

    use super::*;

    /// The headers claiming `signatures` (encoded) in a scheme's layout.
    type Claim<'a> = &'a dyn Fn(&[String]) -> Vec<(String, String)>;

    /// Sends `body` to `/hook` claiming `signatures`; the answer.
    async fn send(
        addr: SocketAddr,
        claim: Claim<'_>,
        signatures: &[String],
        body: &Bytes,
    ) -> Response {
        let headers = claim(signatures);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        post_counted(addr, &headers, body.clone()).await.0
    }

    /// The same bounds for any public-key scheme, given a valid and five junk signatures.
    async fn at_most_four_distinct(
        name: &str,
        addr: SocketAddr,
        received: &Received,
        claim: Claim<'_>,
        valid: String,
        junk: Vec<String>,
        body: &Bytes,
    ) {
        let ok = (StatusCode::OK, Bytes::from("handled"));
        assert_eq!(
            send(addr, claim, std::slice::from_ref(&valid), body).await,
            ok,
            "{name}"
        );
        // Sixteen copies are one signature: checked once, within the cap of four.
        assert_eq!(
            send(addr, claim, &vec![valid.clone(); 16], body).await,
            ok,
            "{name}"
        );
        let copies = send(addr, claim, &vec![junk[0].clone(); 16], body).await;
        assert!(
            refused(&copies, "invalid webhook signature"),
            "{name}: {copies:?}"
        );
        // Four distinct signatures are verified; the valid one may be any of them.
        let four = [
            junk[0].clone(),
            junk[1].clone(),
            junk[2].clone(),
            valid.clone(),
        ];
        assert_eq!(send(addr, claim, &four, body).await, ok, "{name}");
        // A fifth distinct one is refused before the body is verified, valid or not.
        let five = [&junk[..4], &[valid]].concat();
        let answer = send(addr, claim, &five, body).await;
        assert!(
            refused(&answer, "malformed webhook signature"),
            "{name}: {answer:?}"
        );
        let answer = send(addr, claim, &junk, body).await;
        assert!(
            refused(&answer, "malformed webhook signature"),
            "{name}: {answer:?}"
        );
        assert_eq!(received.count(), 3, "{name}");
        assert_eq!(received.last(), body, "{name}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn ed25519_verifies_each_distinct_signature_once_and_at_most_four() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let public = format!("whpk_{}", STANDARD.encode(key.verifying_key().as_bytes()));
        let (addr, received) = serve(presets::standard_webhooks_v1a(&public).unwrap()).await;
        let body = Bytes::from(vec![b'a'; MIB]);
        let timestamp = support::unix_now().to_string();
        let signed = [b"msg_1.".as_slice(), timestamp.as_bytes(), b".", &body].concat();
        let valid = STANDARD.encode(key.sign(&signed).to_bytes());
        let junk: Vec<String> = (0..5u8)
            .map(|i| STANDARD.encode(key.sign(&[i]).to_bytes()))
            .collect();
        let claim = |signatures: &[String]| {
            let entries: Vec<String> = signatures.iter().map(|s| format!("v1a,{s}")).collect();
            vec![
                ("webhook-id".to_owned(), "msg_1".to_owned()),
                ("webhook-timestamp".to_owned(), timestamp.clone()),
                ("webhook-signature".to_owned(), entries.join(" ")),
            ]
        };
        let five = junk.clone();
        at_most_four_distinct("ed25519", addr, &received, &claim, valid, junk, &body).await;

        // The refusal comes from the head alone: a body that must not be read is not.
        let scheme = presets::standard_webhooks_v1a(public).unwrap();
        let mut request = Request::post("/hook").body(support::MustNotRead).unwrap();
        for (name, value) in claim(&five) {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let outcome = support::run_through(WebhookSignatureLayer::new(scheme), request).await;
        assert_eq!(outcome.status, StatusCode::UNAUTHORIZED);
        assert_eq!(outcome.body, "malformed webhook signature\n");
        assert_eq!(outcome.recorder.calls(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn p256_verifies_each_distinct_signature_once_and_at_most_four() {
        use p256::ecdsa::{signature::Signer as _, Signature, SigningKey};

        let key = SigningKey::from_slice(&[5; 32]).unwrap();
        let der = p256::pkcs8::EncodePublicKey::to_public_key_der(key.verifying_key()).unwrap();
        // SendGrid's header holds one signature; the same algorithm under a header that
        // holds several (Standard Webhooks' layout).
        let scheme = tower_webhook::scheme::P256Scheme::p256(der)
            .unwrap()
            .header("x-signature")
            .signature_format(tower_webhook::scheme::SignatureFormat::Versioned {
                version: "v1".into(),
            })
            .timestamp_header("x-timestamp")
            .signed_payload("{timestamp}{body}");
        let (addr, received) = serve(scheme).await;
        let body = Bytes::from(vec![b'a'; MIB]);
        let timestamp = support::unix_now().to_string();
        let sign = |message: &[u8]| {
            let signature: Signature = key.sign(message);
            STANDARD.encode(signature.to_der().as_bytes())
        };
        let valid = sign(&[timestamp.as_bytes(), &body].concat());
        let junk = (0..5u8).map(|i| sign(&[i])).collect();
        let claim = |signatures: &[String]| {
            let entries: Vec<String> = signatures.iter().map(|s| format!("v1,{s}")).collect();
            vec![
                ("x-timestamp".to_owned(), timestamp.clone()),
                ("x-signature".to_owned(), entries.join(" ")),
            ]
        };
        at_most_four_distinct("p256", addr, &received, &claim, valid, junk, &body).await;
    }
}

/// HMAC computes one MAC per key whatever the header claims, but decoding and comparing are
/// bounded too: past 16 signatures the header is refused, at the 17th entry, without
/// collecting the rest.
#[tokio::test(flavor = "current_thread")]
async fn a_header_of_ten_thousand_signatures_is_refused() {
    let scheme = tower_webhook::presets::stripe("whsec_test");
    let body = Bytes::from_static(br#"{"id":"evt_1"}"#);
    let signed = scheme.sign_message(&tower_webhook::sign::Message::new(&body[..]));
    let valid = signed["stripe-signature"].to_str().unwrap().to_owned();
    let (addr, received) = serve(scheme).await;
    // The valid `t=…,v1=…` and then `junk` signatures, `count` in all.
    let header =
        |count: usize, junk: &str| format!("{valid}{}", format!(",v1={junk}").repeat(count - 1));
    let junk = "00".repeat(32);
    let ok = (StatusCode::OK, Bytes::from("handled"));
    let sixteen = header(16, &junk);
    let (answer, _) = post_counted(addr, &[("stripe-signature", &sixteen)], body.clone()).await;
    assert_eq!(answer, ok);
    let many = header(17, &junk);
    let (answer, _) = post_counted(addr, &[("stripe-signature", &many)], body.clone()).await;
    assert!(
        refused(&answer, "malformed webhook signature"),
        "{answer:?}"
    );

    // Short entries: 10,000 of 32 bytes would not fit in the server's header limit. An honest
    // header of the same length pads with an entry no one reads.
    let flood = header(10_000, "aa");
    let padded = format!("{valid},x={}", "a".repeat(flood.len() - valid.len() - 3));
    let (answer, honest_cost) =
        post_counted(addr, &[("stripe-signature", &padded)], body.clone()).await;
    assert_eq!(answer, ok);
    let (answer, attack_cost) =
        post_counted(addr, &[("stripe-signature", &flood)], body.clone()).await;
    assert!(
        refused(&answer, "malformed webhook signature"),
        "{answer:?}"
    );
    assert_costs_no_more_than(attack_cost, honest_cost, "10,000 v1= entries");
    assert_eq!(received.count(), 2);
}
