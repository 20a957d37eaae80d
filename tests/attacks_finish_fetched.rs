//! Attacks on the fetched-key verifiers finished by reference (`Verifier::finish(&mut
//! self)` / `finish_later(&mut self)`): PayPal's (a CRC-32 streamed, then RSA), Amazon
//! SNS's (the certificate fetched or cached when the body is read), and the JWT verifier of
//! Plaid and FusionAuth's JWKS (the token checked with the head, the body's hash after). A
//! client with no secret, holding a captured delivery, tries to make a spent verifier pass
//! again (a forged first body, then the genuine one), to make it fetch again, and to get a
//! delivery named otherwise than the layer names it. Key hosts are local HTTPS servers under
//! test CAs; nothing reaches the internet.
#![cfg(all(
    feature = "test-util",
    feature = "paypal",
    feature = "sns",
    feature = "jwt",
    feature = "axum"
))]

mod support;

use std::{
    convert::Infallible,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{request::Parts, Request, StatusCode};
use http_body_util::Full;
use serde_json::Value;
use support::sns_host::SnsHost;
use tower_webhook::{
    keys::Start,
    replay::{MemoryStore, ReplayGuardLayer},
    scheme::{DeliveryId, Finish, Scheme, Verifier},
    testing::{KeyHost, TestSender},
    Rejection, Verified, WebhookSignatureLayer,
};

/// The senders whose keys are fetched: what `tests/attacks_finish.rs` leaves out.
const FETCHED: [&str; 4] = ["paypal", "sns", "plaid", "fusionauth_jwks"];

const BODY: &str = r#"{"id":"WH-FIN-1","event_type":"PAYMENT.CAPTURE.COMPLETED","amount":"42.00"}"#;

/// The verifier the layer would finish: started on the head, its keys fetched if need be.
async fn started<S: Scheme>(scheme: &S, parts: &Parts) -> S::Verifier {
    match scheme.start(parts) {
        Start::Ready(verifier) => verifier.unwrap(),
        Start::Resolving(lookup) => {
            let keys = lookup.await.unwrap();
            scheme.verifier_with(parts, &keys).unwrap()
        }
    }
}

async fn verdict(finish: Finish) -> Result<Verified, Rejection> {
    match finish {
        Finish::Ready(verdict) => verdict,
        Finish::Waiting(verdict) => verdict.await,
    }
}

/// A copy of `parts`' method, target and headers (a captured request head).
fn head_of(parts: &Parts) -> Parts {
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .body(())
        .unwrap();
    *request.headers_mut() = parts.headers.clone();
    request.into_parts().0
}

/// `body` changed as an attacker would: the amount in PayPal's and the JWT senders' JSON,
/// the `Message` inside SNS's signed envelope (signature kept).
fn forged(name: &str, body: &Bytes) -> Bytes {
    if name == "sns" {
        let mut envelope: serde_json::Map<String, Value> = serde_json::from_slice(body).unwrap();
        envelope.insert("Message".into(), BODY.replace("42.00", "9999.00").into());
        return Bytes::from(Value::Object(envelope).to_string());
    }
    Bytes::from(
        String::from_utf8(body.to_vec())
            .unwrap()
            .replace("42.00", "9999.00"),
    )
}

fn spent(finish: Finish) -> bool {
    matches!(finish, Finish::Ready(Err(Rejection::InvalidSignature)))
}

/// For each fetched-key preset, a captured genuine delivery: its verifier, finished once
/// through the public trait, passes and names the delivery as the layer does; finished again
/// (`finish` or `finish_later`, with the same body) it refuses with `InvalidSignature`, at
/// once (`Ready`: no second fetch started). A verifier whose first finish refused a forged
/// body stays spent: the genuine body given to it afterwards is refused too, so a wrapper
/// that retries a verdict cannot turn a forgery's verifier into a pass.
#[tokio::test]
async fn spent_fetched_key_verifiers_refuse_a_second_finish() {
    let host = KeyHost::start().await.unwrap();
    for name in FETCHED {
        let sender = TestSender::new(name).unwrap().key_host(&host);
        let (parts, body) = sender.signed_request(BODY).unwrap().into_parts();
        let scheme = sender.receiver().unwrap();

        let through_layer = support::run_through(
            WebhookSignatureLayer::new(scheme.clone()),
            Request::from_parts(head_of(&parts), Full::new(body.clone())),
        )
        .await;
        assert_eq!(through_layer.status, StatusCode::OK, "{name}");
        let by_layer = through_layer
            .recorder
            .only()
            .verified
            .unwrap()
            .delivery_ids();

        let mut verifier = started(&scheme, &parts).await;
        verifier.update(&body);
        let first = verdict(verifier.finish_later(&body))
            .await
            .unwrap_or_else(|rejection| panic!("{name}: {rejection:?}"));
        let direct = first.delivery_ids();
        if name == "paypal" {
            // The event id is read from the body the layer attaches; the signed transmission
            // id names the delivery either way.
            let transmission = parts.headers["paypal-transmission-id"].as_bytes();
            let id = DeliveryId::derive("paypal#transmission", transmission);
            assert!(by_layer.contains(&id) && direct.contains(&id), "{name}");
            assert_eq!(by_layer.len(), 2, "{name}");
        } else {
            assert_eq!(direct, by_layer, "{name}");
        }
        assert!(
            matches!(verifier.finish(&body), Err(Rejection::InvalidSignature)),
            "{name}: finish on a spent verifier"
        );
        assert!(
            spent(verifier.finish_later(&body)),
            "{name}: finish_later on a spent verifier"
        );

        let forgery = forged(name, &body);
        let mut verifier = started(&scheme, &parts).await;
        verifier.update(&forgery);
        assert!(
            verdict(verifier.finish_later(&forgery)).await.is_err(),
            "{name}: forged body passed"
        );
        assert!(
            matches!(verifier.finish(&body), Err(Rejection::InvalidSignature)),
            "{name}: the genuine body passed a forgery's spent verifier (finish)"
        );
        assert!(
            spent(verifier.finish_later(&body)),
            "{name}: the genuine body passed a forgery's spent verifier (finish_later)"
        );
    }
}

fn sns_request(body: &str) -> Request<Full<Bytes>> {
    Request::post("/sns")
        .header("x-amz-sns-message-type", "Notification")
        .header("content-type", "text/plain; charset=UTF-8")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// An SNS verifier on a cold certificate cache: its first `finish_later` waits on the fetch;
/// called again before or after (or `finish`, or after its first wait was dropped, or after
/// a forged body's fetch), it refuses with `InvalidSignature` at once and starts no other
/// request to the key host. Every verifier of this scheme together, then a real axum server
/// with a replay guard sent the captured delivery twice, cost the host one request, and the
/// handler runs once.
#[tokio::test]
async fn a_spent_sns_verifier_starts_no_second_certificate_fetch() {
    let host = SnsHost::start("attacks_finish_fetched CA").await;
    let scheme = host.scheme();
    let genuine = Bytes::from(Value::Object(host.notification("order 42 paid")).to_string());
    let mut tampered: serde_json::Map<String, Value> = serde_json::from_slice(&genuine).unwrap();
    tampered.insert("Message".into(), "order 42 refunded".into());
    let tampered = Bytes::from(Value::Object(tampered).to_string());
    let (parts, _) = sns_request("").into_parts();

    // Its first wait dropped: the verifier is still spent.
    let mut dropped = scheme.verifier(&parts).unwrap();
    drop(dropped.finish_later(&genuine));
    assert!(spent(dropped.finish_later(&genuine)));
    assert!(matches!(
        dropped.finish(&genuine),
        Err(Rejection::InvalidSignature)
    ));

    // A forged body first: refused once the certificate is in; the genuine body after is
    // refused without asking the host.
    let mut forged_first = scheme.verifier(&parts).unwrap();
    let waiting = forged_first.finish_later(&tampered);
    assert!(spent(forged_first.finish_later(&genuine)));
    assert!(matches!(
        verdict(waiting).await,
        Err(Rejection::InvalidSignature)
    ));
    assert!(spent(forged_first.finish_later(&genuine)));

    // The genuine body: passes once.
    let mut verifier = scheme.verifier(&parts).unwrap();
    let first = verifier.finish_later(&genuine);
    assert!(spent(verifier.finish_later(&genuine)));
    assert!(verdict(first).await.is_ok());
    assert!(spent(verifier.finish_later(&genuine)));
    let fetched = host.total();
    assert_eq!(fetched, 1, "requests for one certificate");

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let route: axum::routing::MethodRouter = post(move |_body: Bytes| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { "handled" }
    })
    .layer::<_, Infallible>(ReplayGuardLayer::new(MemoryStore::new(100)))
    .layer(WebhookSignatureLayer::new(scheme));
    let addr = support::serve_axum(Router::new().route("/sns", route)).await;
    let body = String::from_utf8(genuine.to_vec()).unwrap();
    let once = support::send(addr, sns_request(&body)).await;
    assert!(support::is_processed(&once), "{once:?}");
    let again = support::send(addr, sns_request(&body)).await;
    assert!(support::is_duplicate(&again), "{again:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(host.total(), fetched, "the server fetched again");
}
