//! Attacks on SNS subscription confirmation by the layer (`SnsScheme::confirm_subscriptions`)
//! and on what the SNS scheme tells a prober, with no secret: only captured messages (made
//! here with the vectors' RSA key, standing in for SNS) and what can be done to their bytes
//! without changing what SNS signed. A local HTTPS server under a test CA plays SNS's host
//! (certificate and `SubscribeURL`) and counts its visits; nothing reaches the internet.
#![cfg(all(feature = "sns", feature = "axum", feature = "json"))]

mod support;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use axum::routing::post;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use support::sns_host::{topic, SnsHost};
use tower_webhook::{
    keys::{AllowedHosts, DEFAULT_FETCH_BURST},
    scheme::SnsScheme,
    WebhookSignatureLayer,
};

const CONFIRM: &str = "/?Action=ConfirmSubscription&Token=2336412f37fb687f5d51e6e241d09c80";

/// A request as SNS sends one: the message type and topic in headers, as SNS sets them
/// (both unsigned, so an attacker sets them too).
fn request(kind: &str, topic: Option<&str>, body: &str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/sns")
        .header("x-amz-sns-message-type", kind)
        .header("content-type", "text/plain; charset=UTF-8");
    if let Some(topic) = topic {
        request = request.header("x-amz-sns-topic-arn", topic);
    }
    request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn confirmation_request(body: &str) -> Request<Full<Bytes>> {
    request("SubscriptionConfirmation", Some(&topic()), body)
}

/// A route behind `scheme`'s layer, confirming subscriptions, and how many requests reached
/// its handler.
async fn serve(scheme: SnsScheme) -> (SocketAddr, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let handler = post(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "handler" }
    });
    let layer = WebhookSignatureLayer::new(scheme.confirm_subscriptions());
    let app = axum::Router::new().route("/sns", handler.layer(layer));
    (support::serve_axum(app).await, calls)
}

// Attack: replay one captured confirmation many times, one after another and all at once,
// so the layer visits its SubscribeURL once per copy. The replay guard is behind the layer
// and never sees a handshake, so only the fetcher's budget bounds the visits: it must.
#[tokio::test]
async fn a_replayed_confirmation_costs_no_more_visits_than_the_fetch_budget() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let captured = host.confirmation(&host.url(CONFIRM));

    let (addr, calls) = serve(host.scheme()).await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(support::send(addr, confirmation_request(&captured)).await.0);
    }
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE));
    // The certificate once, then confirmations until the burst is spent.
    assert_eq!(host.total(), DEFAULT_FETCH_BURST as usize);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // All at once, against a fresh layer (and fetcher budget): still within the burst.
    let fresh = SnsHost::start("attacks_sns_confirm CA").await;
    let captured = fresh.confirmation(&fresh.url(CONFIRM));
    let (addr, calls) = serve(fresh.scheme()).await;
    let copies: Vec<_> = (0..40)
        .map(|_| {
            let request = confirmation_request(&captured);
            tokio::spawn(async move { support::send(addr, request).await.0 })
        })
        .collect();
    for copy in copies {
        let status = copy.await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(
        fresh.total() <= DEFAULT_FETCH_BURST as usize,
        "{}",
        fresh.total()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// Attack: SNS signs the decoded value of each field, not the JSON bytes, so a captured
// confirmation can be re-encoded (`"Type":"SubscriptionConfirmatio\u006e"`) and still
// verify. If the layer's reading of the handshake differs from the verifier's (a borrowed
// `&str` cannot hold an escaped string), the confirmation it promised to answer reaches the
// handler as a verified delivery: a handler written for `confirm_subscriptions` (which sees
// only notifications) takes SNS's confirmation text for a notification. (It did: the layer
// read `Type` as a `&str`; fixed in src/handshake/kind.rs.)
#[tokio::test]
async fn a_confirmation_re_encoded_is_still_answered_by_the_layer() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let captured = host.confirmation(&host.url(CONFIRM));
    let plain = "\"Type\":\"SubscriptionConfirmation\"";
    assert!(captured.contains(plain));
    let (addr, calls) = serve(host.scheme()).await;
    for spelling in [
        "\"Type\":\"SubscriptionConfirmatio\\u006e\"",
        "\"T\\u0079pe\":\"Subscription\\u0043onfirmation\"",
    ] {
        let re_encoded = captured.replace(plain, spelling);
        let (status, _, answer) = support::send(addr, confirmation_request(&re_encoded)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "{spelling}: reached the handler"
        );
        assert_eq!((status, answer.len()), (StatusCode::OK, 0), "{spelling}");
    }
}

// The same re-encoding of the key only (`"T\u0079pe"`) is read alike by both: held.
#[tokio::test]
async fn a_confirmation_with_an_escaped_field_name_is_answered_by_the_layer() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let captured = host.confirmation(&host.url(CONFIRM));
    let re_encoded = captured
        .replace("\"Type\":", "\"T\\u0079pe\":")
        .replace("\"SubscribeURL\":", "\"Subscribe\\u0055RL\":")
        .replace("https://", "https:\\/\\/");
    assert_ne!(re_encoded, captured);
    let (addr, calls) = serve(host.scheme()).await;
    let (status, _, _) = support::send(addr, confirmation_request(&re_encoded)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(host.confirmations(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// Attack: SubscribeURLs that a lax parser puts on the allowed host but a client sends
// elsewhere (user info, `\`, ports, trailing dots, IP spellings, IDN, `http`, fragments).
// Signed here, as if SNS had been made to write them: each must be refused with 403 and no
// fetch at all (a fetch attempted elsewhere shows as 503 in this sandbox).
#[tokio::test]
async fn subscribe_urls_off_the_allowed_hosts_are_never_visited() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let port = host.port();
    let hosts = AllowedHosts::new([
        format!("127.0.0.1:{port}"),
        "sns.*.amazonaws.com".to_owned(),
    ])
    .unwrap();
    let (addr, calls) = serve(host.scheme_on(hosts)).await;
    // The certificate is fetched (and cached) by a genuine confirmation first.
    let genuine = host.confirmation(&host.url(CONFIRM));
    assert_eq!(
        support::send(addr, confirmation_request(&genuine)).await.0,
        StatusCode::OK
    );
    let before = host.total();
    for url in [
        format!("https://127.0.0.1:{port}@evil.example/"),
        format!("https://evil.example@127.0.0.1:{port}/"),
        format!("https://evil.example\\@127.0.0.1:{port}/"),
        format!("https://127.0.0.1:{port}\\@evil.example/"),
        format!("https://evil.example#@127.0.0.1:{port}/"),
        format!("https://evil.example?@127.0.0.1:{port}/"),
        format!("http://127.0.0.1:{port}{CONFIRM}"),
        format!("https://127.0.0.1:{}/", port.wrapping_add(1)),
        "https://127.0.0.1/".to_owned(),
        format!("https://127.0.0.1.:{port}/"),
        format!("https://127.0.0.1:{port}.evil.example/"),
        format!("https://127.1:{port}/"),
        format!("https://2130706433:{port}/"),
        format!("https://0x7f.0.0.1:{port}/"),
        format!("https://[::ffff:127.0.0.1]:{port}/"),
        format!("https://127%2e0.0.1:{port}/"),
        format!("//127.0.0.1:{port}/"),
        format!("https:127.0.0.1:{port}/"),
        format!(" https://127.0.0.1:{port}/"),
        "https://sns.us-east-1.amazonaws.com:444/".to_owned(),
        "https://sns.us-east-1.amazonaws.com.evil.example/".to_owned(),
        "https://\u{455}ns.us-east-1.amazonaws.com/".to_owned(),
        "https://xn--ns-vnc.us-east-1.amazonaws.com/".to_owned(),
        "https://sns.us-east-1.amazonaws.com%2eevil.example/".to_owned(),
        "https://sns.a.b.amazonaws.com/".to_owned(),
        String::new(),
    ] {
        let body = host.confirmation(&url);
        let (status, _, _) = support::send(addr, confirmation_request(&body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url:?}");
    }
    assert_eq!(host.total(), before);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// Attack (defence in depth: needs SNS to write the URL): `sns.*.amazonaws.com` also matches
// S3's `sns.s3.amazonaws.com`, where a bucket named `sns` is someone's. Certificate URLs are
// held to a region there (CertificateFiles::on_host); the SubscribeURL is only held to the
// host list, so the layer would GET a bucket on S3.
#[tokio::test]
async fn a_subscribe_url_on_s3_is_not_visited() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let hosts = AllowedHosts::new([
        format!("127.0.0.1:{}", host.port()),
        "sns.*.amazonaws.com".to_owned(),
    ])
    .unwrap();
    let (addr, calls) = serve(host.scheme_on(hosts)).await;
    for url in [
        "https://sns.s3.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.s3-external-1.amazonaws.com/?Action=ConfirmSubscription",
    ] {
        let body = host.confirmation(url);
        let (status, _, _) = support::send(addr, confirmation_request(&body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// Attack: confirm a subscription to a topic the scheme does not accept (a genuine
// confirmation for another topic, with the header naming it, another, or none).
#[tokio::test]
async fn a_confirmation_for_another_topic_is_refused_and_not_visited() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let other = "arn:aws:sns:us-east-1:123456789012:other";
    let body = host.confirmation_of("SubscriptionConfirmation", other, &host.url(CONFIRM));
    let (addr, calls) = serve(host.scheme()).await;
    for header in [Some(other), Some(topic().as_str()), None] {
        let (status, _, _) =
            support::send(addr, request("SubscriptionConfirmation", header, &body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header:?}");
    }
    assert_eq!(host.total(), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

// Attack: make a notification a confirmation, or the reverse, with what is not signed: the
// `x-amz-sns-message-type` header, a `SubscribeURL` added to a notification, a confirmation
// inside a notification's `Message`; and an `UnsubscribeConfirmation`, which has a signed
// SubscribeURL too.
#[tokio::test]
async fn only_the_signed_type_makes_a_confirmation() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let (addr, calls) = serve(host.scheme()).await;

    let mut notification = host.notification("{\"order\":\"ord_1\"}");
    notification.insert("SubscribeURL".into(), host.url(CONFIRM).into());
    let notification = Value::Object(notification).to_string();
    let (status, _, answer) = support::send(addr, confirmation_request(&notification)).await;
    assert_eq!((status, answer.as_ref()), (StatusCode::OK, &b"handler"[..]));

    let nested = serde_json::json!({
        "Type": "SubscriptionConfirmation",
        "SubscribeURL": host.url(CONFIRM),
    })
    .to_string();
    let nested = Value::Object(host.notification(&nested)).to_string();
    let (status, _, answer) = support::send(addr, confirmation_request(&nested)).await;
    assert_eq!((status, answer.as_ref()), (StatusCode::OK, &b"handler"[..]));
    assert_eq!(host.confirmations(), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // A genuine confirmation labelled a notification is still the confirmation.
    let confirmation = host.confirmation(&host.url(CONFIRM));
    let relabelled = request("Notification", Some(&topic()), &confirmation);
    let (status, _, answer) = support::send(addr, relabelled).await;
    assert_eq!((status, answer.len()), (StatusCode::OK, 0));
    assert_eq!(host.confirmations(), 1);

    // `Type` sent twice (the signed one and another) is refused, not read either way.
    let doubled = confirmation.replacen('{', "{\"Type\":\"Notification\",", 1);
    let (status, _, _) = support::send(addr, confirmation_request(&doubled)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An unsubscribe confirmation is the handler's; its SubscribeURL is not visited.
    let unsubscribe = host.confirmation_of("UnsubscribeConfirmation", &topic(), &host.url(CONFIRM));
    let (status, _, answer) = support::send(
        addr,
        request("UnsubscribeConfirmation", Some(&topic()), &unsubscribe),
    )
    .await;
    assert_eq!((status, answer.as_ref()), (StatusCode::OK, &b"handler"[..]));
    assert_eq!(host.confirmations(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

// Attack: tell which topic ARNs (account ids and topic names) an endpoint accepts, with no
// secret: the same junk sent under a listed and an unlisted topic must get the same answer.
// Rejection::message gives UnknownKey the text of InvalidSignature for this very reason.
#[tokio::test]
async fn the_answer_does_not_tell_which_topics_are_listed() {
    let host = SnsHost::start("attacks_sns_confirm CA").await;
    let (addr, _) = serve(host.scheme()).await;
    let unlisted = "arn:aws:sns:us-east-1:123456789012:not-listed";
    let listed = topic();
    let answer = |topic: String, body: String| async move {
        let (status, _, answer) =
            support::send(addr, request("Notification", Some(&topic), &body)).await;
        (status, answer)
    };
    for body in ["{}".to_owned(), "junk".to_owned()] {
        assert_eq!(
            answer(listed.clone(), body.clone()).await,
            answer(unlisted.to_owned(), body.clone()).await,
            "{body}"
        );
    }
    // In the body only, with no header: a message that names the topic and is otherwise
    // malformed (an unknown SignatureVersion).
    let probe = |topic: &str| {
        let mut message = host.notification("m");
        message.insert("TopicArn".into(), topic.into());
        message.insert("SignatureVersion".into(), "9".into());
        Value::Object(message).to_string()
    };
    let listed_probe = support::send(addr, request("Notification", None, &probe(&listed))).await;
    let unlisted_probe = support::send(addr, request("Notification", None, &probe(unlisted))).await;
    assert_eq!(
        (listed_probe.0, listed_probe.2),
        (unlisted_probe.0, unlisted_probe.2)
    );
    assert_eq!(host.total(), 0);
}
