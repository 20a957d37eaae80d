//! Keys resolved per request: a secret per tenant from a source, cached with single flight and
//! negative caching, replaced live, and every failure answered as documented.
#![cfg(feature = "keys")]

mod support;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{channel::Channel, Full};
use support::{run_through, send, serve_axum, Frames, MustNotRead, Recorder};
use tower::{Layer, Service, ServiceExt};
use tower_webhook::{
    keys::{FoundKeys, KeyError, KeyName, KeyResolver, ReloadableKeys},
    presets,
    sign::Message,
    HmacScheme, WebhookSignatureLayer,
};

const BODY: &str = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

/// A source over a map of tenant secrets that counts its lookups.
#[derive(Clone, Default)]
struct Tenants {
    secrets: Arc<Mutex<HashMap<String, String>>>,
    lookups: Arc<AtomicUsize>,
    delay: Duration,
}

impl Tenants {
    fn with(pairs: &[(&str, &str)]) -> Self {
        let tenants = Self::default();
        for (name, secret) in pairs {
            tenants.set(name, secret);
        }
        tenants
    }

    fn set(&self, name: &str, secret: &str) {
        self.secrets
            .lock()
            .unwrap()
            .insert(name.to_owned(), secret.to_owned());
    }

    fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    fn resolver(&self) -> KeyResolver {
        let tenants = self.clone();
        KeyResolver::from_fn(
            KeyName::path("/webhooks/stripe/{account}"),
            move |account: String| {
                let tenants = tenants.clone();
                async move {
                    tenants.lookups.fetch_add(1, Ordering::SeqCst);
                    if !tenants.delay.is_zero() {
                        tokio::time::sleep(tenants.delay).await;
                    }
                    let secret = tenants.secrets.lock().unwrap().get(&account).cloned();
                    Ok(secret.map(FoundKeys::new))
                }
            },
        )
    }
}

/// A Stripe delivery of `body` to `account`, signed now under `secret`.
fn delivery(account: &str, secret: &str, body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::post(format!("/webhooks/stripe/{account}"))
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let headers = presets::stripe(secret).sign_message(&Message::new(body.as_bytes()));
    request.headers_mut().extend(headers);
    request
}

#[tokio::test]
async fn each_tenant_verifies_under_its_own_secret_and_no_other() {
    let tenants = Tenants::with(&[("acct_a", "whsec_a"), ("acct_b", "whsec_b")]);
    let layer = WebhookSignatureLayer::new(presets::stripe(tenants.resolver()));

    let ok = run_through(layer.clone(), delivery("acct_a", "whsec_a", BODY)).await;
    assert_eq!(ok.status, StatusCode::OK);
    let seen = ok.recorder.only();
    assert_eq!(seen.body, BODY.as_bytes());
    let verified = seen.verified.expect("Verified in extensions");
    assert_eq!(verified.key_id(), Some("acct_a"));
    assert_eq!(verified.key_index(), 0);

    // A's delivery sent to B's endpoint, and B's secret used for A's endpoint.
    for request in [
        delivery("acct_b", "whsec_a", BODY),
        delivery("acct_a", "whsec_b", BODY),
    ] {
        let refused = run_through(layer.clone(), request).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body, "invalid webhook signature\n");
        assert_eq!(refused.recorder.calls(), 0);
    }
}

/// An unknown tenant is answered as a known tenant's wrong signature is: the same `401`,
/// after the whole body, whether its name was looked up now or is cached.
#[tokio::test]
async fn an_unknown_tenant_gets_the_same_401_as_a_bad_signature_after_its_body_is_read() {
    let tenants = Tenants::with(&[("acct_a", "whsec_a")]);
    let layer = WebhookSignatureLayer::new(presets::stripe(tenants.resolver()));
    let split = |request: Request<Full<Bytes>>| {
        let (parts, _) = request.into_parts();
        let frames = Frames::split(BODY.as_bytes(), 8);
        let polled = frames.polled();
        (Request::from_parts(parts, frames), polled)
    };
    let chunks = BODY.len().div_ceil(8);
    for round in ["looked up", "cached"] {
        let mut answers = Vec::new();
        for request in [
            delivery("acct_nobody", "whsec_a", BODY),
            delivery("acct_a", "whsec_wrong", BODY),
        ] {
            let (request, polled) = split(request);
            let outcome = run_through(layer.clone(), request).await;
            assert_eq!(outcome.recorder.calls(), 0, "{round}");
            assert_eq!(polled.load(Ordering::SeqCst), chunks, "{round}: body read");
            answers.push((outcome.status, outcome.body));
        }
        let wrong_signature = (
            StatusCode::UNAUTHORIZED,
            Bytes::from_static(b"invalid webhook signature\n"),
        );
        assert_eq!(
            answers,
            vec![wrong_signature.clone(), wrong_signature],
            "{round}"
        );
    }
    assert_eq!(tenants.lookups(), 2, "each name looked up once");
}

/// Read after the body or not, an unknown tenant never costs more than the limits allow a
/// known one: a body over the limit is refused from its `Content-Length` at once.
#[tokio::test]
async fn an_unknown_tenant_with_a_body_over_the_limit_gets_413_before_it_is_read() {
    let tenants = Tenants::with(&[("acct_a", "whsec_a")]);
    let layer = WebhookSignatureLayer::new(presets::stripe(tenants.resolver())).max_body_size(16);
    for account in ["acct_nobody", "acct_a"] {
        let (mut parts, _) = delivery(account, "whsec_a", BODY).into_parts();
        parts
            .headers
            .insert("content-length", BODY.len().to_string().parse().unwrap());
        let outcome = run_through(layer.clone(), Request::from_parts(parts, MustNotRead)).await;
        assert_eq!(outcome.status, StatusCode::PAYLOAD_TOO_LARGE, "{account}");
        assert_eq!(outcome.recorder.calls(), 0);
    }
}

#[tokio::test]
async fn requests_that_fail_the_head_checks_never_reach_the_source() {
    let tenants = Tenants::with(&[("acct_a", "whsec_a")]);
    let layer = WebhookSignatureLayer::new(presets::stripe(tenants.resolver()))
        .allow_ips("192.0.2.1".parse().unwrap());
    // From an address outside the allowlist: 403, no lookup.
    let mut from_elsewhere = delivery("acct_a", "whsec_a", BODY);
    from_elsewhere
        .extensions_mut()
        .insert(tower_webhook::peer::PeerAddr([127, 0, 0, 1].into()));
    assert_eq!(
        run_through(layer.clone(), from_elsewhere).await.status,
        StatusCode::FORBIDDEN
    );

    let layer = WebhookSignatureLayer::new(presets::stripe(tenants.resolver()));
    let unsigned = Request::post("/webhooks/stripe/acct_a")
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .unwrap();
    assert_eq!(
        run_through(layer.clone(), unsigned).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut malformed = delivery("acct_a", "whsec_a", BODY);
    malformed
        .headers_mut()
        .insert("stripe-signature", "t=1,v1=zz".parse().unwrap());
    assert_eq!(
        run_through(layer.clone(), malformed).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A path that names no tenant, and a name over 128 bytes.
    let mut wrong_path = delivery("acct_a", "whsec_a", BODY);
    *wrong_path.uri_mut() = "/webhooks/other/acct_a".parse().unwrap();
    assert_eq!(
        run_through(layer.clone(), wrong_path).await.status,
        StatusCode::UNAUTHORIZED
    );
    let long = "a".repeat(129);
    assert_eq!(
        run_through(layer, delivery(&long, "whsec_a", BODY))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(tenants.lookups(), 0, "none of these may cost a lookup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_first_requests_for_one_tenant_make_one_lookup() {
    let tenants = Tenants {
        delay: Duration::from_millis(100),
        ..Tenants::with(&[("acct_a", "whsec_a")])
    };
    let recorder = Recorder::new();
    let service =
        WebhookSignatureLayer::new(presets::stripe(tenants.resolver())).layer(recorder.clone());
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            service
                .oneshot(delivery("acct_a", "whsec_a", BODY))
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(tenants.lookups(), 1);
    assert_eq!(recorder.calls(), 1000);
}

#[tokio::test]
async fn unknown_tenants_are_remembered_so_a_flood_does_not_reach_the_source() {
    let tenants = Tenants::default();
    let layer = WebhookSignatureLayer::new(presets::stripe(tenants.resolver()));
    for _ in 0..100 {
        let outcome = run_through(layer.clone(), delivery("acct_x", "whsec_x", BODY)).await;
        assert_eq!(outcome.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(tenants.lookups(), 1);
}

#[tokio::test]
async fn a_failing_source_gets_503_fail_closed_and_is_not_stampeded() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&lookups);
    let resolver = KeyResolver::from_fn(KeyName::fixed("app"), move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Err(KeyError::new("connection refused")) }
    });
    let layer = WebhookSignatureLayer::new(presets::stripe(resolver));
    for _ in 0..20 {
        let outcome = run_through(layer.clone(), delivery("any", "whsec_a", BODY)).await;
        assert_eq!(outcome.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(outcome.body, "webhook keys unavailable, retry later\n");
        assert_eq!(outcome.recorder.calls(), 0);
    }
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        1,
        "failures are remembered for a second"
    );
}

#[tokio::test(start_paused = true)]
async fn a_source_slower_than_the_timeout_gets_503() {
    let resolver = KeyResolver::from_fn(KeyName::fixed("app"), |_| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(Some(FoundKeys::new("whsec_a")))
    })
    .timeout(Duration::from_secs(2));
    let layer = WebhookSignatureLayer::new(presets::stripe(resolver));
    let started = tokio::time::Instant::now();
    let outcome = run_through(layer, delivery("any", "whsec_a", BODY)).await;
    assert_eq!(outcome.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn a_key_the_scheme_cannot_use_fails_closed() {
    // Standard Webhooks wants `whsec_<base64>`; the database holds something else.
    let resolver = KeyResolver::from_fn(KeyName::fixed("app"), |_| async {
        Ok(Some(FoundKeys::new("not base64 at all!")))
    });
    let layer = WebhookSignatureLayer::new(presets::standard_webhooks(resolver).unwrap());
    let scheme = presets::standard_webhooks("whsec_c2VjcmV0").unwrap();
    let mut request = Request::post("/")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    request
        .headers_mut()
        .extend(scheme.sign_message(&Message::new(b"{}")));
    assert_eq!(
        run_through(layer, request).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn report_only_passes_unknown_and_unavailable_keys_on_marked_unverified() {
    let tenants = Tenants::default();
    let layer = WebhookSignatureLayer::new(presets::stripe(tenants.resolver())).report_only();
    let outcome = run_through(layer, delivery("acct_x", "whsec_x", BODY)).await;
    assert_eq!(outcome.status, StatusCode::OK);
    let seen = outcome.recorder.only();
    assert_eq!(seen.unverified.unwrap().reason(), "unknown_key");
    assert_eq!(seen.body, BODY.as_bytes());

    let failing = KeyResolver::from_fn(KeyName::fixed("app"), |_| async {
        Err(KeyError::new("down"))
    });
    let layer = WebhookSignatureLayer::new(presets::stripe(failing)).report_only();
    let outcome = run_through(layer, delivery("any", "whsec_x", BODY)).await;
    assert_eq!(outcome.status, StatusCode::OK);
    let unverified = outcome.recorder.only().unverified.unwrap();
    assert_eq!(unverified.reason(), "key_source_unavailable");
    assert_eq!(unverified.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_changed_secret_is_used_once_the_ttl_has_passed() {
    let tenants = Tenants::with(&[("acct_a", "whsec_old")]);
    let now = Arc::new(AtomicU64::new(1_700_000_000));
    let clock = Arc::clone(&now);
    let resolver = tenants
        .resolver()
        .ttl(Duration::from_secs(60))
        .clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst)));
    let layer = WebhookSignatureLayer::new(presets::stripe(resolver));
    let status = |secret: &'static str| {
        let layer = layer.clone();
        async move {
            run_through(layer, delivery("acct_a", secret, BODY))
                .await
                .status
        }
    };

    assert_eq!(status("whsec_old").await, StatusCode::OK);
    tenants.set("acct_a", "whsec_new");
    now.fetch_add(59, Ordering::SeqCst);
    assert_eq!(
        status("whsec_old").await,
        StatusCode::OK,
        "cached until the TTL"
    );
    assert_eq!(status("whsec_new").await, StatusCode::UNAUTHORIZED);
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(status("whsec_new").await, StatusCode::OK, "looked up again");
    assert_eq!(status("whsec_old").await, StatusCode::UNAUTHORIZED);
    assert_eq!(tenants.lookups(), 2);
}

#[tokio::test]
async fn reloadable_keys_refuse_everything_until_set_then_rotate_with_overlap() {
    let keys = ReloadableKeys::new();
    let layer = WebhookSignatureLayer::new(presets::stripe(keys.clone()));
    let status = |secret: &'static str| {
        let layer = layer.clone();
        async move {
            let outcome = run_through(layer, delivery("any", secret, BODY)).await;
            let key = outcome.recorder.seen().first().and_then(|seen| {
                let verified = seen.verified.as_ref()?;
                Some(verified.key_index())
            });
            (outcome.status, key)
        }
    };

    // Started before the secret exists: nothing verifies.
    assert_eq!(status("whsec_one").await.0, StatusCode::UNAUTHORIZED);
    keys.set(FoundKeys::new("whsec_one"));
    assert_eq!(status("whsec_one").await, (StatusCode::OK, Some(0)));
    // Rotation: new and old together, then the old one dropped.
    keys.set(FoundKeys::new("whsec_two").and("whsec_one"));
    assert_eq!(status("whsec_two").await, (StatusCode::OK, Some(0)));
    assert_eq!(status("whsec_one").await, (StatusCode::OK, Some(1)));
    keys.set(FoundKeys::new("whsec_two"));
    assert_eq!(status("whsec_one").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(status("whsec_two").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_request_in_flight_keeps_the_keys_it_started_with() {
    let keys = ReloadableKeys::new();
    keys.set(FoundKeys::new("whsec_old"));
    let recorder = Recorder::new();
    let mut service =
        WebhookSignatureLayer::new(presets::stripe(keys.clone())).layer(recorder.clone());

    // The head arrives and the keys are resolved; the body is still on its way.
    let signed = delivery("any", "whsec_old", BODY);
    let (parts, _) = signed.into_parts();
    let (mut feed, body) = Channel::<Bytes>::new(1);
    let request = Request::from_parts(parts, body);
    let response = tokio::spawn(
        ServiceExt::<Request<Channel<Bytes>>>::ready(&mut service)
            .await
            .unwrap()
            .call(request),
    );
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }

    keys.set(FoundKeys::new("whsec_new"));
    feed.send_data(Bytes::from_static(BODY.as_bytes()))
        .await
        .unwrap();
    drop(feed);
    assert_eq!(response.await.unwrap().unwrap().status(), StatusCode::OK);
    assert_eq!(recorder.only().body, BODY.as_bytes());
}

#[test]
#[should_panic(expected = "resolved per request")]
fn also_accept_on_resolved_keys_is_refused_at_start_up() {
    let _ = presets::stripe(ReloadableKeys::new()).also_accept("whsec_old");
}

#[test]
fn debug_shows_where_keys_come_from_and_never_a_key() {
    let keys = ReloadableKeys::new();
    keys.set(FoundKeys::new("whsec_top_secret"));
    let scheme = HmacScheme::sha256(keys.clone());
    let shown = format!(
        "{scheme:?} {keys:?} {:?}",
        FoundKeys::new("whsec_top_secret")
    );
    assert!(!shown.contains("top_secret"), "{shown}");
    assert!(shown.contains("KeyResolver"), "{shown}");
}

/// Keys replaced in a loop while clients send deliveries through a real server: each client
/// signs with the newest key, which the rotator installs (beside the two before it) before
/// it publishes it. Not one delivery fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_replaced_in_a_loop_under_load_never_fail_a_valid_delivery() {
    let keys = ReloadableKeys::new();
    let secret = |generation: u64| format!("whsec_generation_{generation}");
    keys.set(FoundKeys::new(secret(0)));
    let current = Arc::new(AtomicU64::new(0));

    let recorder = Recorder::new();
    let app = axum::Router::new()
        .route_service("/webhooks/stripe/{account}", recorder.clone())
        .layer(WebhookSignatureLayer::new(presets::stripe(keys.clone())));
    let addr = serve_axum(app).await;

    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    let rotator = {
        let (keys, current) = (keys.clone(), Arc::clone(&current));
        tokio::spawn(async move {
            let mut generation = 0;
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(80)).await;
                generation += 1;
                // The two before stay too: a delivery signed just before a rotation may be
                // verified after the next one on a loaded machine.
                keys.set(
                    FoundKeys::new(secret(generation))
                        .and(secret(generation - 1))
                        .and(secret(generation.saturating_sub(2))),
                );
                current.store(generation, Ordering::SeqCst);
            }
            generation
        })
    };
    let mut clients = Vec::new();
    for _ in 0..8 {
        let current = Arc::clone(&current);
        clients.push(tokio::spawn(async move {
            let (mut sent, mut failed) = (0, 0);
            while tokio::time::Instant::now() < deadline {
                let key = secret(current.load(Ordering::SeqCst));
                let headers = presets::stripe(&key).sign_message(&Message::new(BODY.as_bytes()));
                let mut request = Request::post("/webhooks/stripe/acct")
                    .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                    .unwrap();
                request.headers_mut().extend(headers);
                sent += 1;
                if send(addr, request).await.0 != StatusCode::OK {
                    failed += 1;
                }
            }
            (sent, failed)
        }));
    }
    let rotations = rotator.await.unwrap();
    let (mut sent, mut failed) = (0, 0);
    for client in clients {
        let (s, f) = client.await.unwrap();
        sent += s;
        failed += f;
    }
    assert!(rotations >= 10, "only {rotations} rotations");
    assert!(sent >= 100, "only {sent} deliveries");
    assert_eq!(failed, 0, "{failed} of {sent} valid deliveries failed");
    assert_eq!(recorder.calls(), sent);
}

/// A custom scheme still only implements `verifier`: its keys are its own business.
#[tokio::test]
async fn schemes_that_only_implement_verifier_work_unchanged() {
    use tower_webhook::{
        rejection::Rejection,
        scheme::{Scheme, Verifier},
        Verified,
    };
    struct Always;
    struct Pass;
    impl Verifier for Pass {
        fn update(&mut self, _: &[u8]) {}
        fn finish(&mut self, _: &[u8]) -> Result<Verified, Rejection> {
            Ok(Verified::new(0))
        }
    }
    impl Scheme for Always {
        type Verifier = Pass;
        fn name(&self) -> &str {
            "always"
        }
        fn verifier(&self, _: &http::request::Parts) -> Result<Pass, Rejection> {
            Ok(Pass)
        }
    }
    let outcome = run_through(
        WebhookSignatureLayer::new(Always),
        Request::post("/")
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap(),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert!(SystemTime::now() > UNIX_EPOCH);
}

/// A tenant's secret rotated in the database is used on the next request once the resolver
/// is told, long before the TTL: through a real server, with a clone of the resolver kept.
#[tokio::test]
async fn an_invalidated_tenant_is_looked_up_again_on_its_next_request() {
    let tenants = Tenants::with(&[("acct_a", "whsec_old"), ("acct_b", "whsec_b")]);
    let resolver = tenants.resolver().ttl(Duration::from_secs(3600));
    let recorder = Recorder::new();
    let app = axum::Router::new()
        .route_service("/webhooks/stripe/{account}", recorder.clone())
        .layer(WebhookSignatureLayer::new(presets::stripe(
            resolver.clone(),
        )));
    let addr = serve_axum(app).await;
    let status = |account: &'static str, secret: &'static str| async move {
        send(addr, delivery(account, secret, BODY)).await.0
    };

    assert_eq!(status("acct_a", "whsec_old").await, StatusCode::OK);
    assert_eq!(status("acct_b", "whsec_b").await, StatusCode::OK);
    tenants.set("acct_a", "whsec_new");
    assert_eq!(
        status("acct_a", "whsec_new").await,
        StatusCode::UNAUTHORIZED,
        "cached"
    );
    assert_eq!(tenants.lookups(), 2);

    resolver.invalidate("acct_a");
    assert_eq!(status("acct_a", "whsec_new").await, StatusCode::OK);
    assert_eq!(
        status("acct_a", "whsec_old").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status("acct_b", "whsec_b").await, StatusCode::OK);
    assert_eq!(
        tenants.lookups(),
        3,
        "only the invalidated name is looked up again"
    );

    // An unknown name is remembered as unknown; a tenant added since is found at once.
    assert_eq!(status("acct_c", "whsec_c").await, StatusCode::UNAUTHORIZED);
    tenants.set("acct_c", "whsec_c");
    tenants.set("acct_b", "whsec_b2");
    resolver.invalidate_all();
    assert_eq!(status("acct_c", "whsec_c").await, StatusCode::OK);
    assert_eq!(status("acct_b", "whsec_b2").await, StatusCode::OK);
    assert_eq!(tenants.lookups(), 6);
    assert_eq!(recorder.calls(), 6);
}

/// A lookup that is running when its name is invalidated is answered, but what it read
/// (maybe the old secret, or no tenant at all) is not cached.
#[tokio::test]
async fn a_lookup_running_during_an_invalidation_is_not_cached() {
    let tenants = Tenants::with(&[("acct_a", "whsec_old")]);
    let (read, answer) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let source = tenants.clone();
    let (read_done, may_answer) = (Arc::clone(&read), Arc::clone(&answer));
    // Reads the secret, then answers only when the test says so: the invalidation lands in
    // between.
    let resolver = KeyResolver::from_fn(
        KeyName::path("/webhooks/stripe/{account}"),
        move |account: String| {
            let (tenants, read, answer) = (
                source.clone(),
                Arc::clone(&read_done),
                Arc::clone(&may_answer),
            );
            async move {
                tenants.lookups.fetch_add(1, Ordering::SeqCst);
                let secret = tenants.secrets.lock().unwrap().get(&account).cloned();
                read.notify_one();
                answer.notified().await;
                Ok(secret.map(FoundKeys::new))
            }
        },
    );
    let layer = WebhookSignatureLayer::new(presets::stripe(resolver.clone()));
    let rotate_during_lookup =
        |account: &'static str, secret: &'static str, sent_with: &'static str| {
            let (layer, tenants, resolver) = (layer.clone(), tenants.clone(), resolver.clone());
            let (read, answer) = (Arc::clone(&read), Arc::clone(&answer));
            async move {
                let first = tokio::spawn(run_through(layer, delivery(account, sent_with, BODY)));
                read.notified().await;
                tenants.set(account, secret);
                resolver.invalidate(account);
                answer.notify_one();
                first.await.unwrap().status
            }
        };
    let next = |account: &'static str, secret: &'static str| {
        let layer = layer.clone();
        let (read, answer) = (Arc::clone(&read), Arc::clone(&answer));
        async move {
            // Its lookup may answer at once; the signal that it read is used up.
            answer.notify_one();
            let status = run_through(layer, delivery(account, secret, BODY))
                .await
                .status;
            let _ = tokio::time::timeout(Duration::from_secs(5), read.notified()).await;
            status
        }
    };

    // The lookup read the old secret: answered with it, not cached.
    assert_eq!(
        rotate_during_lookup("acct_a", "whsec_new", "whsec_old").await,
        StatusCode::OK
    );
    assert_eq!(next("acct_a", "whsec_new").await, StatusCode::OK);
    assert_eq!(tenants.lookups(), 2);

    // The lookup found no tenant: answered so, not remembered as unknown.
    assert_eq!(
        rotate_during_lookup("acct_b", "whsec_b", "whsec_b").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        next("acct_b", "whsec_b").await,
        StatusCode::OK,
        "not remembered as unknown"
    );
    assert_eq!(tenants.lookups(), 4);
}

/// A rejection after the tenant's keys were found names the tenant, whether they were looked
/// up for this request or cached.
#[tokio::test]
async fn a_rejection_names_the_tenant_once_its_keys_are_found() {
    let (logs, _guard) = support::Logs::capture();
    let tenants = Tenants::with(&[("acct_a", "whsec_a")]);
    let app = axum::Router::new()
        .route_service("/webhooks/stripe/{account}", Recorder::new())
        .layer(WebhookSignatureLayer::new(presets::stripe(
            tenants.resolver(),
        )));
    let addr = serve_axum(app).await;
    for _ in 0..2 {
        let (status, _, _) = send(addr, delivery("acct_a", "whsec_wrong", BODY)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = send(addr, delivery("acct_nobody", "whsec_a", BODY)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(tenants.lookups(), 2, "the second request used the cache");

    let named = logs.lines_with("key_id=\"acct_a\"");
    assert_eq!(named.len(), 2, "{}", logs.text());
    for line in &named {
        assert!(
            line.contains("WARN") && line.contains("reason=\"invalid_signature\""),
            "{line}"
        );
    }
    let unknown = logs.lines_with("reason=\"unknown_key\"");
    assert_eq!(unknown.len(), 1, "{}", logs.text());
    assert!(
        !unknown[0].contains("key_id"),
        "no keys were found: {}",
        unknown[0]
    );
}
