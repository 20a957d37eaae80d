//! Attacks on `extract::Webhook<T>` and `WebhookForm<T>` through the (unsigned) `Content-Type`:
//! a captured delivery re-sent under another type must not reach the handler with values the
//! sender did not sign, must not be processed twice behind the replay guard, and a form of
//! very many pairs must cost no more than its size.
#![cfg(all(feature = "axum", feature = "json"))]

mod support;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use support::{is_duplicate, send, stripe_delivery};
use tower_webhook::{
    extract::{Webhook, WebhookForm},
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    WebhookSignatureLayer,
};

const SECRET: &str = "whsec_extract form attacks";

#[derive(Deserialize)]
struct Charge {
    amount: u64,
}

/// The captured delivery `original`'s bytes and headers, with its `Content-Type` headers
/// replaced by `types` (none, one, or several).
fn retyped(
    original: &Request<Full<Bytes>>,
    body: &'static str,
    types: &[&str],
) -> Request<Full<Bytes>> {
    let mut copy = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    *copy.headers_mut() = original.headers().clone();
    copy.headers_mut().remove("content-type");
    for value in types {
        copy.headers_mut()
            .append("content-type", HeaderValue::from_str(value).unwrap());
    }
    copy
}

/// A router whose handler records every `amount` it was handed.
fn charges(guard: bool) -> (Router, Arc<Mutex<Vec<u64>>>) {
    let amounts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&amounts);
    let route = post(move |Webhook { event, .. }: Webhook<Charge>| {
        seen.lock().unwrap().push(event.amount);
        async { "handled" }
    });
    let route = if guard {
        route.layer(ReplayGuardLayer::new(MemoryStore::new(100)))
    } else {
        route
    };
    let app = Router::new().route(
        "/hook",
        route.layer(WebhookSignatureLayer::new(presets::stripe(SECRET))),
    );
    (app, amounts)
}

/// A JSON event whose string field carries text the attacker chose (a Stripe description,
/// metadata, a customer name): the sender signs `amount: 1`. Re-sent with the type changed
/// to a form, the same signed bytes split at `&` read as `amount=999999`.
const SMUGGLED: &str = r#"{"description":"x&amount=999999&y=","amount":1}"#;

#[tokio::test]
async fn a_signed_json_body_re_sent_as_a_form_does_not_reach_the_handler_with_other_values() {
    let (app, amounts) = charges(false);
    let addr = support::serve_axum(app).await;
    let captured = stripe_delivery(SECRET, SMUGGLED);
    let genuine = retyped(&captured, SMUGGLED, &["application/json"]);
    assert_eq!(send(addr, genuine).await.0, StatusCode::OK);
    assert_eq!(*amounts.lock().unwrap(), [1]);
    for types in [
        &["application/x-www-form-urlencoded"][..],
        &["Application/X-WWW-Form-Urlencoded; charset=utf-8"],
        &["application/x-www-form-urlencoded", "application/json"],
    ] {
        let _ = send(addr, retyped(&captured, SMUGGLED, types)).await;
    }
    let seen = amounts.lock().unwrap().clone();
    assert!(
        seen.iter().all(|&amount| amount == 1),
        "the handler saw amounts the sender never signed: {seen:?}"
    );
}

/// Behind the replay guard, no change of type, case, charset or duplicated header makes the
/// captured delivery a new one: the handler runs once.
#[tokio::test]
async fn a_captured_delivery_re_sent_under_other_content_types_is_a_duplicate() {
    let (app, amounts) = charges(true);
    let addr = support::serve_axum(app).await;
    let body = r#"{"amount":1}"#;
    let captured = stripe_delivery(SECRET, body);
    let (status, _, _) = send(addr, retyped(&captured, body, &["application/json"])).await;
    assert_eq!(status, StatusCode::OK);
    for types in [
        &[][..],
        &["Application/JSON; charset=utf-8"],
        &["text/plain"],
        &["application/x-www-form-urlencoded"],
        &["application/json", "application/x-www-form-urlencoded"],
        &["image/png"],
    ] {
        let response = send(addr, retyped(&captured, body, types)).await;
        assert!(is_duplicate(&response), "{types:?}: {response:?}");
    }
    assert_eq!(*amounts.lock().unwrap(), [1]);
    // The smuggling body too: behind the guard its form-typed copy is a duplicate, not processed.
    let (app, amounts) = charges(true);
    let addr = support::serve_axum(app).await;
    let captured = stripe_delivery(SECRET, SMUGGLED);
    assert_eq!(
        send(addr, retyped(&captured, SMUGGLED, &["application/json"]))
            .await
            .0,
        StatusCode::OK
    );
    let response = send(
        addr,
        retyped(&captured, SMUGGLED, &["application/x-www-form-urlencoded"]),
    )
    .await;
    assert!(is_duplicate(&response), "{response:?}");
    assert_eq!(*amounts.lock().unwrap(), [1]);
}

/// A signed form of 100k-200k pairs, all one repeated key or all distinct, costs time in
/// proportion to its size (well under a second), and a repeated field is refused, not
/// resolved to a value the handler did not expect; the handler runs only on a valid form.
#[tokio::test]
async fn a_form_of_very_many_pairs_costs_in_proportion_and_a_repeated_field_is_refused() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/hook",
            post(move |WebhookForm { event, .. }: WebhookForm<Charge>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move { event.amount.to_string() }
            }),
        )
        .route_layer(WebhookSignatureLayer::new(presets::stripe(SECRET)).max_body_size(2 << 20));
    let addr = support::serve_axum(app).await;
    let repeated: &'static str = Box::leak("amount=1&".repeat(200_000).into_boxed_str());
    let distinct: &'static str = Box::leak(
        ((0..100_000)
            .map(|i| format!("k{i}=%41%42&"))
            .collect::<String>()
            + "amount=7")
            .into_boxed_str(),
    );
    for (what, body, expected) in [
        ("repeated field", repeated, StatusCode::UNPROCESSABLE_ENTITY),
        ("distinct pairs", distinct, StatusCode::OK),
    ] {
        let captured = stripe_delivery(SECRET, body);
        let request = retyped(&captured, body, &["application/x-www-form-urlencoded"]);
        let start = Instant::now();
        let (status, _, answer) = send(addr, request).await;
        let took = start.elapsed();
        assert_eq!(status, expected, "{what}: {answer:?}");
        assert!(took < Duration::from_secs(3), "{what}: took {took:?}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
