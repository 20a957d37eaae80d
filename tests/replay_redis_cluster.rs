//! The replay guard over a real Redis Cluster: three masters on loopback, started here with
//! `redis-server --cluster-enabled yes` and joined with `redis-cli --cluster create`, and two
//! servers sharing it. Without `redis-server` and `redis-cli` the test prints a skip notice
//! and passes; `.ci/run` installs them.
#![cfg(feature = "redis")]

mod support;

use std::{
    net::SocketAddr,
    process::Command,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use support::{
    is_duplicate, is_processed, redis_server::Cluster, send, send_concurrently, signed_attempt,
    unix_now,
};
use tower_webhook::{
    presets,
    replay::{RedisStore, ReplayGuardLayer},
    WebhookSignatureLayer,
};

const SECRET: &str = "whsec_cluster_test";

/// A server with its own layers and its own cluster connection, as a separate instance.
async fn instance(cluster: &Cluster, calls: &Arc<AtomicUsize>) -> SocketAddr {
    let store = RedisStore::connect_cluster(cluster.urls()).await.unwrap();
    let calls = Arc::clone(calls);
    let route = post(move |_body: Bytes| {
        let calls = Arc::clone(&calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            // Long enough for concurrent copies to overlap the claim.
            tokio::time::sleep(Duration::from_millis(50)).await;
            "handled"
        }
    })
    .layer::<_, std::convert::Infallible>(ReplayGuardLayer::new(store))
    .layer(WebhookSignatureLayer::new(presets::stripe(SECRET)));
    support::serve_axum(Router::new().route("/hook", route)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_process_each_delivery_once_over_a_redis_cluster() {
    let Some(cluster) =
        Cluster::start("two_instances_process_each_delivery_once_over_a_redis_cluster")
    else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let a = instance(&cluster, &calls).await;
    let b = instance(&cluster, &calls).await;
    let stripe = presets::stripe(SECRET);
    let now = unix_now();

    // Many events, so their keys land in slots on every master: each is processed on one
    // instance, and its re-signed retry on the other is a duplicate.
    const EVENTS: [&str; 12] = [
        r#"{"id":"evt_c0"}"#,
        r#"{"id":"evt_c1"}"#,
        r#"{"id":"evt_c2"}"#,
        r#"{"id":"evt_c3"}"#,
        r#"{"id":"evt_c4"}"#,
        r#"{"id":"evt_c5"}"#,
        r#"{"id":"evt_c6"}"#,
        r#"{"id":"evt_c7"}"#,
        r#"{"id":"evt_c8"}"#,
        r#"{"id":"evt_c9"}"#,
        r#"{"id":"evt_ca"}"#,
        r#"{"id":"evt_cb"}"#,
    ];
    for (i, event) in EVENTS.iter().enumerate() {
        let (first, second) = if i % 2 == 0 { (a, b) } else { (b, a) };
        let processed = send(first, signed_attempt("/hook", &stripe, event, now)).await;
        assert!(is_processed(&processed), "{event}: {processed:?}");
        let retry = send(second, signed_attempt("/hook", &stripe, event, now + 20)).await;
        assert!(is_duplicate(&retry), "{event}: {retry:?}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), EVENTS.len());
    // The records are spread over every master: the slots really are in use.
    for port in &cluster.ports {
        let size = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "dbsize"])
            .output()
            .unwrap();
        let keys: u64 = String::from_utf8_lossy(&size.stdout)
            .trim()
            .parse()
            .unwrap();
        assert!(keys > 0, "master on port {port} holds no delivery");
    }

    // 50 copies at once, split between the two instances: processed exactly once.
    let event = r#"{"id":"evt_cluster_50"}"#;
    let copies = (0..50)
        .map(|i| signed_attempt("/hook", &stripe, event, now + i))
        .collect();
    let processed = send_concurrently(a, b, copies).await;
    assert_eq!(processed, 1);
    assert_eq!(calls.load(Ordering::SeqCst), EVENTS.len() + 1);
}
