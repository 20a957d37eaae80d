//! Hostile settings and hostile traffic: no `Duration` makes a request panic or drops the
//! replay guard's dedupe, a replay store that never answers costs a `503` within its timeout,
//! and a flood of made-up tenant names neither exhausts the key source nor evicts real
//! tenants' keys.

mod support;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use support::{is_duplicate, is_processed, resend, send, stripe_delivery};
use tower_webhook::{
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    HmacScheme, WebhookSignatureLayer,
};

const SECRET: &str = "whsec_hostile_bounds";

/// Counts the handler's calls and answers `handled`.
#[derive(Clone, Default)]
struct Handler {
    calls: Arc<AtomicUsize>,
    /// When set, each call waits for a permit, so a delivery stays in progress.
    gate: Option<Arc<tokio::sync::Semaphore>>,
}

impl Handler {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn route(&self) -> axum::routing::MethodRouter {
        let handler = self.clone();
        post(move |_body: Bytes| {
            let handler = handler.clone();
            async move {
                handler.calls.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = &handler.gate {
                    gate.acquire().await.unwrap().forget();
                }
                (StatusCode::OK, "handled")
            }
        })
    }
}

/// A Stripe endpoint at `/hook` verified by `scheme` and guarded by `guard`.
async fn serve_guarded(
    handler: &Handler,
    scheme: HmacScheme,
    guard: ReplayGuardLayer<MemoryStore>,
) -> SocketAddr {
    let route = handler
        .route()
        .layer::<_, std::convert::Infallible>(guard)
        .layer(WebhookSignatureLayer::new(scheme));
    support::serve_axum(Router::new().route("/hook", route)).await
}

/// `body` signed under [`SECRET`] as of `seconds_ago`.
fn signed_ago(body: &'static str, seconds_ago: u64) -> Request<Full<Bytes>> {
    support::signed_attempt(
        "/hook",
        &presets::stripe(SECRET),
        body,
        support::unix_now() - seconds_ago,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_duration_at_max_is_clamped_and_dedupe_still_works() {
    let handler = Handler::default();
    let guard = ReplayGuardLayer::new(MemoryStore::new(1_000))
        .in_progress_ttl(Duration::MAX)
        .done_ttl(Duration::MAX);
    let scheme = presets::stripe(SECRET).tolerance(Duration::MAX);
    let addr = serve_guarded(&handler, scheme, guard).await;

    let body = r#"{"id":"evt_max"}"#;
    let first = stripe_delivery(SECRET, body);
    let again = resend(&first, body);
    assert!(is_processed(&send(addr, first).await));
    assert!(is_duplicate(&send(addr, again).await));
    assert_eq!(handler.calls(), 1);

    // The tolerance is at most 7 days: a delivery signed 8 days ago is stale.
    let (status, _, text) = send(addr, signed_ago(r#"{"id":"evt_old"}"#, 8 * 86_400)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(text, "webhook timestamp outside the tolerance\n");
    // One signed 6 days ago is within it.
    assert!(is_processed(
        &send(addr, signed_ago(r#"{"id":"evt_6d"}"#, 6 * 86_400)).await
    ));
    assert_eq!(handler.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_duration_at_zero_is_clamped_and_dedupe_still_works() {
    let handler = Handler {
        gate: Some(Arc::new(tokio::sync::Semaphore::new(0))),
        ..Handler::default()
    };
    let guard = ReplayGuardLayer::new(MemoryStore::new(1_000))
        .in_progress_ttl(Duration::ZERO)
        .done_ttl(Duration::ZERO);
    let scheme = presets::stripe(SECRET).tolerance(Duration::ZERO);
    let addr = serve_guarded(&handler, scheme, guard).await;

    // A claim lasts at least a second: a copy sent while the first is in progress is 409.
    let body = r#"{"id":"evt_zero"}"#;
    let first = stripe_delivery(SECRET, body);
    let copy = resend(&first, body);
    let again = resend(&first, body);
    let in_flight = tokio::spawn(send(addr, first));
    while handler.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (status, _, text) = tokio::time::timeout(Duration::from_secs(10), send(addr, copy))
        .await
        .expect("the copy must not reach the handler");
    assert_eq!(
        (status, text.as_ref()),
        (StatusCode::CONFLICT, b"delivery in progress\n".as_ref())
    );
    handler.gate.as_ref().unwrap().add_permits(1);
    assert!(is_processed(&in_flight.await.unwrap()));
    // A processed delivery is remembered for at least a second.
    assert!(is_duplicate(&send(addr, again).await));
    assert_eq!(handler.calls(), 1);
}

#[cfg(feature = "tokio")]
mod store_timeout {
    //! Replay stores that never answer: each call is bounded by the guard's `store_timeout`.

    use std::{
        convert::Infallible,
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        time::Duration,
    };

    use http::{Request, Response, StatusCode};
    use tower::{Layer, ServiceExt};
    use tower_webhook::{
        body::BufferedBody,
        presets,
        replay::{Claim, ReplayGuardLayer, ReplayStore, StoreFuture, DEFAULT_STORE_TIMEOUT},
        WebhookSignatureLayer,
    };

    use super::{support, Handler, SECRET};

    /// A store that never answers: from `claim` on, or (`claims`) from `complete` and
    /// `release` on.
    #[derive(Clone, Default)]
    struct Silent {
        claims: bool,
        calls: Arc<AtomicUsize>,
    }

    impl Silent {
        fn after_claim() -> Self {
            Self {
                claims: true,
                ..Self::default()
            }
        }

        fn never<'a, T: Send + 'a>(&self) -> StoreFuture<'a, T> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::pending())
        }
    }

    impl ReplayStore for Silent {
        fn claim<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> StoreFuture<'a, Claim> {
            if self.claims {
                self.calls.fetch_add(1, Ordering::SeqCst);
                return Box::pin(async { Ok(Claim::Claimed) });
            }
            self.never()
        }

        fn complete<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, ()> {
            self.never()
        }

        fn release<'a>(&'a self, _: &'a str, _: &'a str) -> StoreFuture<'a, ()> {
            self.never()
        }
    }

    /// Sends a Stripe delivery through `guard` to a handler answering `status`, in process;
    /// returns the status, the body and how long the answer took.
    async fn through(
        guard: ReplayGuardLayer<Silent>,
        status: StatusCode,
    ) -> (StatusCode, bytes::Bytes, Duration, usize) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let handler = tower::service_fn(move |_: Request<BufferedBody>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                let mut response = Response::new("handled".to_owned());
                *response.status_mut() = status;
                Ok::<_, Infallible>(response)
            }
        });
        let service =
            WebhookSignatureLayer::new(presets::stripe(SECRET)).layer(guard.layer(handler));
        let started = tokio::time::Instant::now();
        let response = service
            .oneshot(support::stripe_delivery(SECRET, r#"{"id":"evt_silent"}"#))
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let status = response.status();
        let body = support::body_bytes(response.into_body()).await;
        (status, body, elapsed, calls.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_never_answers_gets_503_when_its_timeout_runs_out() {
        assert_eq!(DEFAULT_STORE_TIMEOUT, Duration::from_secs(2));
        let cases = [
            (None, DEFAULT_STORE_TIMEOUT),
            (Some(Duration::from_millis(300)), Duration::from_millis(300)),
            (Some(Duration::MAX), Duration::from_secs(30)),
            (Some(Duration::ZERO), Duration::from_millis(10)),
        ];
        for (setting, expected) in cases {
            let mut guard = ReplayGuardLayer::new(Silent::default());
            if let Some(timeout) = setting {
                guard = guard.store_timeout(timeout);
            }
            let (status, body, elapsed, calls) = through(guard, StatusCode::OK).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{setting:?}");
            assert_eq!(body, "replay store unavailable\n");
            assert_eq!(elapsed, expected, "{setting:?}");
            assert_eq!(calls, 0, "the handler must not run");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fail_open_processes_once_the_timeout_runs_out() {
        let guard = ReplayGuardLayer::new(Silent::default()).fail_open();
        let (status, body, elapsed, calls) = through(guard, StatusCode::OK).await;
        assert_eq!(
            (status, body.as_ref()),
            (StatusCode::OK, b"handled".as_ref())
        );
        assert_eq!(elapsed, DEFAULT_STORE_TIMEOUT);
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_completion_or_release_that_never_answers_holds_the_answer_one_timeout() {
        for status in [StatusCode::OK, StatusCode::INTERNAL_SERVER_ERROR] {
            let guard = ReplayGuardLayer::new(Silent::after_claim());
            let (answered, body, elapsed, calls) = through(guard, status).await;
            assert_eq!((answered, body.as_ref()), (status, b"handled".as_ref()));
            assert_eq!(elapsed, DEFAULT_STORE_TIMEOUT, "{status}");
            assert_eq!(calls, 1);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_that_never_answers_gets_503_through_a_real_server() {
        let handler = Handler::default();
        let guard =
            ReplayGuardLayer::new(Silent::default()).store_timeout(Duration::from_millis(200));
        let route = handler
            .route()
            .layer::<_, Infallible>(guard)
            .layer(WebhookSignatureLayer::new(presets::stripe(SECRET)));
        let addr = support::serve_axum(axum::Router::new().route("/hook", route)).await;
        for i in 0..3 {
            let body: &'static str = [
                r#"{"id":"evt_a"}"#,
                r#"{"id":"evt_b"}"#,
                r#"{"id":"evt_c"}"#,
            ][i];
            let answer = tokio::time::timeout(
                Duration::from_secs(5),
                support::send(addr, support::stripe_delivery(SECRET, body)),
            )
            .await
            .expect("answered within 5 s");
            assert_eq!(
                (answer.0, answer.2.as_ref()),
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    b"replay store unavailable\n".as_ref()
                )
            );
        }
        assert_eq!(handler.calls(), 0);
    }
}

#[cfg(feature = "keys")]
mod keys {
    //! Durations and floods through keys resolved per request.

    use std::{
        collections::{hash_map::RandomState, HashMap},
        hash::{BuildHasher, Hasher},
        sync::{
            atomic::{AtomicBool, AtomicUsize, Ordering},
            Arc,
        },
        time::Duration,
    };

    use axum::{extract::Path, routing::post, Router};
    use bytes::Bytes;
    use http::{Request, StatusCode};
    use http_body_util::Full;
    use tokio::sync::Semaphore;
    use tower_webhook::{
        keys::{FoundKeys, KeyName, KeyResolver},
        presets,
        sign::Message,
        WebhookSignatureLayer,
    };

    use super::support::{self, run_through, send};

    /// A tenant database: a few real tenants, every lookup counted, and the most lookups it
    /// ever served at once.
    #[derive(Clone, Default)]
    struct Database {
        secrets: Arc<HashMap<String, String>>,
        real_lookups: Arc<AtomicUsize>,
        other_lookups: Arc<AtomicUsize>,
        in_flight: Arc<AtomicUsize>,
        most_in_flight: Arc<AtomicUsize>,
        /// How long one query takes.
        latency: Duration,
        /// Queries for this name wait for a permit.
        hold: Option<(String, Arc<Semaphore>)>,
    }

    /// One query in flight, counted out however it ends (a timeout drops it).
    struct InFlight(Arc<AtomicUsize>);

    impl InFlight {
        fn enter(database: &Database) -> Self {
            let now = database.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            database.most_in_flight.fetch_max(now, Ordering::SeqCst);
            Self(Arc::clone(&database.in_flight))
        }
    }

    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Database {
        fn with_tenants(count: usize, latency: Duration) -> Self {
            let secrets = (0..count)
                .map(|i| (format!("acct_real_{i}"), format!("whsec_real_{i}")))
                .collect();
            Self {
                secrets: Arc::new(secrets),
                latency,
                ..Self::default()
            }
        }

        fn resolver(&self) -> KeyResolver {
            let database = self.clone();
            KeyResolver::from_fn(
                KeyName::path("/webhooks/stripe/{account}"),
                move |account: String| {
                    let database = database.clone();
                    async move {
                        let _query = InFlight::enter(&database);
                        if let Some((name, gate)) = &database.hold {
                            if *name == account {
                                gate.acquire().await.unwrap().forget();
                            }
                        }
                        tokio::time::sleep(database.latency).await;
                        let secret = database.secrets.get(&account).cloned();
                        let counter = if secret.is_some() {
                            &database.real_lookups
                        } else {
                            &database.other_lookups
                        };
                        counter.fetch_add(1, Ordering::SeqCst);
                        Ok(secret.map(FoundKeys::new))
                    }
                },
            )
        }
    }

    /// `body` to `account`'s endpoint, signed now under `secret`.
    fn delivery(account: &str, secret: &str, body: Bytes) -> Request<Full<Bytes>> {
        let headers = presets::stripe(secret).sign_message(&Message::new(&body));
        let mut request = Request::post(format!("/webhooks/stripe/{account}"))
            .body(Full::new(body))
            .unwrap();
        request.headers_mut().extend(headers);
        request
    }

    /// An endpoint per tenant whose handler answers the exact body it was given.
    async fn serve_tenants(resolver: KeyResolver) -> std::net::SocketAddr {
        let route = post(|Path(_account): Path<String>, body: Bytes| async move { body })
            .layer(WebhookSignatureLayer::new(presets::stripe(resolver)));
        support::serve_axum(Router::new().route("/webhooks/stripe/{account}", route)).await
    }

    /// A name nobody could guess twice.
    fn random_name(seed: &RandomState, i: usize) -> String {
        let mut hasher = seed.build_hasher();
        hasher.write_usize(i);
        format!("acct_{:016x}", hasher.finish())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn key_resolver_durations_at_max_and_zero_answer_and_still_cache() {
        for duration in [Duration::MAX, Duration::ZERO] {
            let database = Database::with_tenants(1, Duration::ZERO);
            let resolver = database
                .resolver()
                .ttl(duration)
                .unknown_ttl(duration)
                .timeout(duration);
            let addr = serve_tenants(resolver).await;
            for attempt in 0..2 {
                let body = Bytes::from(format!(r#"{{"id":"evt_{attempt}"}}"#));
                let (status, _, text) =
                    send(addr, delivery("acct_real_0", "whsec_real_0", body.clone())).await;
                assert_eq!((status, text), (StatusCode::OK, body), "{duration:?}");
                let (status, _, text) =
                    send(addr, delivery("acct_nobody", "whsec_real_0", Bytes::new())).await;
                assert_eq!(
                    (status, text.as_ref()),
                    (
                        StatusCode::UNAUTHORIZED,
                        b"invalid webhook signature\n".as_ref()
                    ),
                    "{duration:?}"
                );
            }
            // Found and unknown names alike are remembered for at least a second.
            assert_eq!(
                database.real_lookups.load(Ordering::SeqCst),
                1,
                "{duration:?}"
            );
            assert_eq!(
                database.other_lookups.load(Ordering::SeqCst),
                1,
                "{duration:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookup_past_the_cap_waits_its_turn_and_a_wait_that_times_out_is_not_remembered() {
        let gate = Arc::new(Semaphore::new(0));
        let database = Database {
            hold: Some(("acct_real_0".to_owned(), Arc::clone(&gate))),
            ..Database::with_tenants(2, Duration::ZERO)
        };
        // Two schemes, one limit: clones of a resolver share it.
        let patient = database
            .resolver()
            .max_concurrent_lookups(1)
            .timeout(Duration::from_secs(60));
        let hasty = patient.clone().timeout(Duration::from_secs(1));
        let slow = WebhookSignatureLayer::new(presets::stripe(patient));
        let fast = WebhookSignatureLayer::new(presets::stripe(hasty));
        let body = || Bytes::from_static(br#"{"id":"evt_cap"}"#);

        // Tenant 0's lookup holds the only slot; tenant 1's waits for it, then gives up.
        let holder = tokio::spawn(run_through(
            slow.clone(),
            delivery("acct_real_0", "whsec_real_0", body()),
        ));
        tokio::task::yield_now().await;
        let started = tokio::time::Instant::now();
        let waiting = run_through(
            fast.clone(),
            delivery("acct_real_1", "whsec_real_1", body()),
        )
        .await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert_eq!(waiting.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(waiting.body, "webhook keys unavailable, retry later\n");
        assert_eq!(waiting.recorder.calls(), 0);

        gate.add_permits(1);
        let held = holder.await.unwrap();
        assert_eq!(
            (held.status, held.recorder.only().body),
            (StatusCode::OK, body())
        );
        // The source was never asked about tenant 1, and its wait is not remembered as a
        // failure: its retry is looked up at once.
        assert_eq!(database.real_lookups.load(Ordering::SeqCst), 1);
        let retry = run_through(fast, delivery("acct_real_1", "whsec_real_1", body())).await;
        assert_eq!(
            (retry.status, retry.recorder.only().body),
            (StatusCode::OK, body())
        );
        assert_eq!(database.real_lookups.load(Ordering::SeqCst), 2);
        assert_eq!(database.most_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn real_tenants_keep_verifying_through_a_flood_of_20_000_made_up_names() {
        const CAP: usize = 8;
        const FLOOD: usize = 20_000;
        const FLOODERS: usize = 64;
        const TENANTS: usize = 10;
        const BUSY: usize = 5;
        let database = Database::with_tenants(TENANTS, Duration::from_millis(1));
        // A cache far smaller than the flood, so made-up names would evict real ones if
        // they shared it.
        let resolver = database
            .resolver()
            .capacity(1_000)
            .max_concurrent_lookups(CAP);
        let addr = serve_tenants(resolver).await;
        let client = support::client::<Full<Bytes>>();
        let post = move |request: Request<Full<Bytes>>| {
            let client = client.clone();
            async move {
                let (mut parts, body) = request.into_parts();
                parts.uri = format!("http://{addr}{}", parts.uri.path())
                    .parse()
                    .unwrap();
                let response = client
                    .request(Request::from_parts(parts, body))
                    .await
                    .unwrap();
                let status = response.status();
                (status, support::body_bytes(response.into_body()).await)
            }
        };

        // Each real tenant is known before the flood starts: the busy ones send throughout
        // it, the quiet ones (the rest) only once more after it.
        let sender = post.clone();
        let deliver = move |tenant: usize, event: &str| {
            let body = Bytes::from(format!(r#"{{"id":"evt_{tenant}_{event}"}}"#));
            let sent = delivery(
                &format!("acct_real_{tenant}"),
                &format!("whsec_real_{tenant}"),
                body.clone(),
            );
            let post = sender.clone();
            async move { assert_eq!(post(sent).await, (StatusCode::OK, body)) }
        };
        for tenant in 0..TENANTS {
            deliver(tenant, "before").await;
        }
        assert_eq!(database.real_lookups.load(Ordering::SeqCst), TENANTS);

        // Each made-up name is sent twice in a row, so that it looks as used as a real one.
        let seed = Arc::new(RandomState::new());
        let next = Arc::new(AtomicUsize::new(0));
        let flooding = Arc::new(AtomicBool::new(true));
        let flooders: Vec<_> = (0..FLOODERS)
            .map(|_| {
                let (post, next, seed) = (post.clone(), Arc::clone(&next), Arc::clone(&seed));
                tokio::spawn(async move {
                    let mut refused = 0;
                    loop {
                        let i = next.fetch_add(2, Ordering::SeqCst);
                        if i >= FLOOD {
                            return refused;
                        }
                        let name = random_name(&seed, i);
                        for _ in 0..2 {
                            let body = Bytes::from_static(br#"{"id":"evt_flood"}"#);
                            let (status, text) = post(delivery(&name, "whsec_guess", body)).await;
                            assert_eq!(
                                (status, text.as_ref()),
                                (
                                    StatusCode::UNAUTHORIZED,
                                    b"invalid webhook signature\n".as_ref()
                                )
                            );
                            refused += 1;
                        }
                    }
                })
            })
            .collect();
        let senders: Vec<_> = (0..BUSY)
            .map(|tenant| {
                let (deliver, flooding) = (deliver.clone(), Arc::clone(&flooding));
                tokio::spawn(async move {
                    let mut delivered = 0;
                    while flooding.load(Ordering::SeqCst) || delivered < 10 {
                        deliver(tenant, &delivered.to_string()).await;
                        delivered += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    delivered
                })
            })
            .collect();

        let mut refused = 0;
        for flooder in flooders {
            refused += flooder.await.unwrap();
        }
        flooding.store(false, Ordering::SeqCst);
        let mut delivered = 0;
        for sender in senders {
            delivered += sender.await.unwrap();
        }

        for tenant in BUSY..TENANTS {
            deliver(tenant, "after").await;
        }

        assert_eq!(refused, FLOOD);
        assert!(delivered >= BUSY * 10, "{delivered}");
        // Every made-up name was looked up once, never more than CAP at a time, and the real
        // tenants' keys were never evicted.
        assert_eq!(database.other_lookups.load(Ordering::SeqCst), FLOOD / 2);
        let most = database.most_in_flight.load(Ordering::SeqCst);
        assert!(most <= CAP, "{most} lookups at once");
        assert_eq!(database.real_lookups.load(Ordering::SeqCst), TENANTS);
        eprintln!("real deliveries during the flood: {delivered}; most lookups at once: {most}");
    }
}
