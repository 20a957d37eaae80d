//! `Webhook<T>`, the axum extractor, behind the layer on a real server: a verified body
//! arrives deserialized with its `Verified`; a body that is not JSON gets 400, JSON of
//! another shape 422, a route outside the layer 500, and a report-only layer's unverified
//! delivery the status the layer would have answered; a Twilio form is read as a form, and
//! a type neither JSON nor a form gets 415. The handler runs only on success.
#![cfg(all(feature = "axum", feature = "json"))]

mod support;

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use tower_webhook::{
    extract::{Webhook, WebhookForm},
    presets,
    sign::Signer,
    WebhookSignatureLayer,
};

const SECRET: &str = "whsec_extractor test";

#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    amount: u64,
}

fn signed(path: &str, body: &'static str) -> Request<Full<Bytes>> {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap();
    presets::stripe(SECRET)
        .sign_request(request)
        .unwrap()
        .map(Full::new)
}

#[tokio::test]
async fn a_handler_reads_the_verified_event_and_each_failure_gets_its_status() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let handler = move |Webhook { event, verified }: Webhook<StripeEvent>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            let delivery = verified
                .delivery_id()
                .map(|id| hex::encode(&id.as_bytes()[..4]));
            format!(
                "{} {} {} key={} delivery={}",
                event.id,
                event.kind,
                event.amount,
                verified.key_index(),
                delivery.is_some()
            )
        }
    };
    let app = Router::new()
        .route("/hooks/stripe", post(handler.clone()))
        .route_layer(WebhookSignatureLayer::new(presets::stripe(SECRET)))
        // Added after `route_layer`: not behind the layer.
        .route("/unguarded", post(handler.clone()))
        .nest(
            "/report-only",
            Router::new()
                .route("/hook", post(handler))
                .route_layer(WebhookSignatureLayer::new(presets::stripe(SECRET)).report_only()),
        );
    let addr = support::serve_axum(app).await;

    let event = r#"{"id":"evt_1","type":"charge.succeeded","amount":4200}"#;
    let (status, _, body) = support::send(addr, signed("/hooks/stripe", event)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "evt_1 charge.succeeded 4200 key=0 delivery=true");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let cases: [(&str, Request<Full<Bytes>>, StatusCode, &str); 4] = [
        (
            "signed, not JSON",
            signed("/hooks/stripe", "amount=4200"),
            StatusCode::BAD_REQUEST,
            "webhook body is not JSON: expected value at line 1 column 1\n",
        ),
        (
            "signed JSON of another shape",
            signed("/hooks/stripe", r#"{"id":"evt_2","type":"x"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "webhook body is not the expected JSON: missing field `amount` at line 1 column 25\n",
        ),
        (
            "a route outside the layer",
            signed("/unguarded", event),
            StatusCode::INTERNAL_SERVER_ERROR,
            "webhook handler is not behind WebhookSignatureLayer: no Verified in the request\n",
        ),
        (
            "report-only, unsigned",
            Request::post("/report-only/hook")
                .body(Full::new(Bytes::from_static(event.as_bytes())))
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "webhook not verified: missing_signature\n",
        ),
    ];
    for (what, request, expected, message) in cases {
        let (status, _, body) = support::send(addr, request).await;
        assert_eq!(status, expected, "{what}");
        assert_eq!(body, message, "{what}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a refused request reached the handler"
    );
}

/// Twilio posts forms: a Twilio-signed form (signed by the test kit) reaches a
/// `Webhook<TwilioForm>` handler deserialized; a form missing a field gets `422`; a verified
/// body in a type that is neither JSON nor a form gets `415`, as axum's `Json` and `Form`
/// answer. The handler runs for the first only.
#[cfg(all(feature = "twilio", feature = "test-util"))]
#[tokio::test]
async fn a_twilio_form_reaches_the_handler_and_other_content_types_get_415() {
    use tower_webhook::testing::TestSender;

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct TwilioForm {
        from: String,
        body: String,
        num_media: u32,
    }

    let twilio = TestSender::new("twilio")
        .unwrap()
        .key("twilio auth token")
        .url("https://example.com");
    let calls = Arc::new(AtomicUsize::new(0));
    let (form_calls, json_calls) = (Arc::clone(&calls), Arc::clone(&calls));
    let app = Router::new()
        .route(
            "/twilio",
            post(move |WebhookForm { event, .. }: WebhookForm<TwilioForm>| {
                form_calls.fetch_add(1, Ordering::SeqCst);
                async move { format!("{}: {} ({})", event.from, event.body, event.num_media) }
            })
            .layer(WebhookSignatureLayer::new(twilio.receiver().unwrap())),
        )
        .route(
            "/stripe",
            post(move |_: Webhook<serde_json::Value>| {
                json_calls.fetch_add(1, Ordering::SeqCst);
                async { "ok" }
            })
            .layer(WebhookSignatureLayer::new(presets::stripe(SECRET))),
        );
    let addr = support::serve_axum(app).await;
    let form = |body: &'static str| {
        let request = Request::post("/twilio")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap();
        twilio.sign(request).unwrap().map(Full::new)
    };

    let (status, _, answer) = support::send(
        addr,
        form("From=%2B15551234567&Body=hello+there&NumMedia=0&To=%2B15557654321"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer, "+15551234567: hello there (0)");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let (status, _, answer) = support::send(addr, form("From=%2B15551234567&NumMedia=0")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer:?}");
    assert!(
        answer.starts_with(b"webhook body is not the expected form: "),
        "{answer:?}"
    );

    let mut xml = signed("/stripe", r#"{"id":"evt_1"}"#);
    xml.headers_mut()
        .insert("content-type", "application/xml".parse().unwrap());
    let (status, _, answer) = support::send(addr, xml).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer:?}");
    // The same delivery as JSON is read: the 415 is the type's, not the signature's.
    let (status, _, _) = support::send(addr, signed("/stripe", r#"{"id":"evt_1"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
