//! The layers' metrics, recorded by `metrics-exporter-prometheus` and scraped over HTTP from
//! a real axum server after verified, duplicate, forged and over-budget deliveries.
#![cfg(all(feature = "metrics", feature = "axum"))]

mod support;

use axum::{
    routing::{get, post},
    Router,
};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use support::send;
use tower::ServiceBuilder;
use tower_webhook::{
    presets, replay::ReplayGuardLayer, sign::Message, verify::BodyBudget, WebhookSignatureLayer,
};

const KEY: &str = "metrics-test-key";

fn delivery(path: &str, body: &'static str, signed: bool) -> Request<Full<Bytes>> {
    let mut request = Request::post(path)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    if signed {
        request
            .headers_mut()
            .extend(presets::loopwise(KEY).sign_message(&Message::new(body.as_bytes())));
    } else {
        request.headers_mut().insert(
            "loopwise-webhook-signature",
            "0".repeat(64).parse().unwrap(),
        );
    }
    request
}

#[tokio::test]
async fn requests_bodies_timings_budget_and_replays_are_counted_and_scraped() {
    // As examples/metrics.rs configures it: histograms with buckets, not summaries.
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("webhook_verification_duration_seconds".into()),
            &[0.001, 0.01, 0.1, 1.0, 10.0],
        )
        .unwrap()
        .set_buckets_for_metric(
            Matcher::Full("webhook_body_size_bytes".into()),
            &[1024.0, 65536.0, 2_097_152.0],
        )
        .unwrap()
        .install_recorder()
        .unwrap();
    let guarded = ServiceBuilder::new()
        .layer(WebhookSignatureLayer::new(presets::loopwise(KEY)))
        .layer(ReplayGuardLayer::default());
    let tight = WebhookSignatureLayer::new(presets::loopwise(KEY).named("loopwise-tight"))
        .body_budget(BodyBudget::new(16));
    let app = Router::new()
        .route("/hook", post(|| async { "ok" }).layer(guarded))
        .route("/tight", post(|| async { "ok" }).layer(tight))
        .route(
            "/dropbox",
            get(|| async { "not reached" })
                .layer(WebhookSignatureLayer::new(presets::dropbox(KEY))),
        )
        .route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        );
    let addr = support::serve_axum(app).await;

    let body = r#"{"event":"order.paid","data":{"id":"ord_1"}}"#;
    assert_eq!(
        send(addr, delivery("/hook", body, true)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(addr, delivery("/hook", body, true)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(addr, delivery("/hook", body, false)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(addr, delivery("/tight", body, true)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    assert_eq!(
        send(
            addr,
            Request::get("/dropbox?challenge=abc")
                .body(Full::new(Bytes::new()))
                .unwrap()
        )
        .await
        .2
        .as_ref(),
        b"abc"
    );

    let (status, _, scrape) = send(
        addr,
        Request::get("/metrics")
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let scrape = String::from_utf8(scrape.to_vec()).unwrap();
    let expect = |series: &str, value: f64| {
        assert_eq!(
            support::prometheus_sample(&scrape, series),
            Some(value),
            "{series} in\n{scrape}"
        );
    };
    expect(
        r#"webhook_requests_total{scheme="loopwise",outcome="verified",reason="ok"}"#,
        2.0,
    );
    expect(
        r#"webhook_requests_total{scheme="loopwise",outcome="rejected",reason="invalid_signature"}"#,
        1.0,
    );
    expect(
        r#"webhook_requests_total{scheme="loopwise-tight",outcome="rejected",reason="body_budget_exhausted"}"#,
        1.0,
    );
    expect(
        r#"webhook_requests_total{scheme="dropbox",outcome="handshake",reason="dropbox_challenge"}"#,
        1.0,
    );
    expect(
        r#"webhook_body_budget_rejections_total{scheme="loopwise-tight"}"#,
        1.0,
    );
    expect(
        r#"webhook_replay_total{scheme="loopwise",outcome="new"}"#,
        1.0,
    );
    expect(
        r#"webhook_replay_total{scheme="loopwise",outcome="duplicate"}"#,
        1.0,
    );
    expect(
        r#"webhook_body_size_bytes_sum{scheme="loopwise"}"#,
        2.0 * body.len() as f64,
    );
    expect(
        r#"webhook_verification_duration_seconds_count{scheme="loopwise"}"#,
        2.0,
    );
    // Histograms, bucketed: both verified bodies are under 1 KiB; the forged one is not
    // timed (verified requests only, as the HELP line says).
    expect(
        r#"webhook_body_size_bytes_bucket{scheme="loopwise",le="1024"}"#,
        2.0,
    );
    expect(
        r#"webhook_verification_duration_seconds_bucket{scheme="loopwise",le="+Inf"}"#,
        2.0,
    );
    assert!(
        !scrape.contains("# TYPE webhook_body_size_bytes summary"),
        "{scrape}"
    );
    // One HELP line per metric recorded.
    for name in [
        "webhook_requests_total",
        "webhook_body_size_bytes",
        "webhook_verification_duration_seconds",
        "webhook_body_budget_rejections_total",
        "webhook_replay_total",
    ] {
        let help = format!("# HELP {name} ");
        assert_eq!(scrape.matches(&help).count(), 1, "{name} in\n{scrape}");
    }
    assert!(
        scrape.contains(
            "# HELP webhook_verification_duration_seconds Verified webhook requests only"
        ),
        "{scrape}"
    );
}
