//! The inbox's metrics, recorded by `metrics-exporter-prometheus` and scraped over HTTP from a
//! real axum server after new, duplicate and poison deliveries went through a SQLite inbox and
//! a worker.
#![cfg(all(feature = "metrics", feature = "sqlite", feature = "axum"))]

mod support;

use std::{sync::Arc, time::Duration};

use axum::{
    routing::{get, post},
    Router,
};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use metrics_exporter_prometheus::PrometheusBuilder;
use support::send;
use tower_webhook::{
    inbox::{InboxLayer, InboxStore, SqliteInbox, Worker},
    presets,
    sign::Message,
    WebhookSignatureLayer,
};

const SECRET: &str = "whsec_inbox_metrics";

fn stripe(body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    request
        .headers_mut()
        .extend(presets::stripe(SECRET).sign_message(&Message::new(body.as_bytes())));
    request
}

#[tokio::test]
async fn appends_attempts_retries_dead_letters_and_depth_are_counted_and_scraped() {
    let prometheus = PrometheusBuilder::new().install_recorder().unwrap();
    let dir = std::env::temp_dir().join(format!(
        "tower-webhook-inbox-metrics-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn InboxStore> =
        Arc::new(SqliteInbox::open(dir.join("inbox.sqlite3")).unwrap());
    let app = Router::new()
        .route(
            "/hook",
            post(|| async {})
                .route_layer(
                    InboxLayer::for_preset(Arc::clone(&store), presets::find("stripe").unwrap())
                        .unwrap(),
                )
                .route_layer(WebhookSignatureLayer::new(presets::stripe(SECRET))),
        )
        .route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        );
    let addr = support::serve_axum(app).await;

    let good = r#"{"id":"evt_good"}"#;
    let poison = r#"{"id":"evt_poison"}"#;
    for body in [good, good, poison] {
        assert_eq!(send(addr, stripe(body)).await.0, StatusCode::ACCEPTED);
    }
    let handlers = Router::new().route(
        "/hook",
        post(|body: String| async move {
            if body.contains("poison") {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }),
    );
    let worker = tokio::spawn(
        Worker::new(Arc::clone(&store), handlers.clone())
            .max_attempts(2)
            .backoff(Duration::from_millis(1), Duration::from_millis(5))
            .poll_interval(Duration::from_millis(10))
            .run(std::future::pending()),
    );
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let stats = store.stats().await.unwrap();
            if stats.pending == 0 && stats.dead == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("processed and dead-lettered");
    worker.abort();
    // A worker samples the depth when it starts: here, one dead letter and nothing pending.
    Worker::new(Arc::clone(&store), handlers)
        .run(std::future::ready(()))
        .await;

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
        r#"webhook_inbox_appends_total{scheme="stripe",outcome="new"}"#,
        2.0,
    );
    expect(
        r#"webhook_inbox_appends_total{scheme="stripe",outcome="duplicate"}"#,
        1.0,
    );
    expect(
        r#"webhook_inbox_attempts_total{scheme="stripe",outcome="completed"}"#,
        1.0,
    );
    expect(
        r#"webhook_inbox_attempts_total{scheme="stripe",outcome="retried"}"#,
        1.0,
    );
    expect(
        r#"webhook_inbox_attempts_total{scheme="stripe",outcome="dead"}"#,
        1.0,
    );
    expect(r#"webhook_inbox_retries_total{scheme="stripe"}"#, 1.0);
    expect(r#"webhook_inbox_dead_letters_total{scheme="stripe"}"#, 1.0);
    expect(
        r#"webhook_inbox_processing_duration_seconds_count{scheme="stripe"}"#,
        3.0,
    );
    expect("webhook_inbox_pending", 0.0);
    expect("webhook_inbox_oldest_pending_age_seconds", 0.0);
    expect("webhook_inbox_dead", 1.0);
    std::fs::remove_dir_all(dir).unwrap();
}
