//! Verification cost, side by side, for bodies of 256 B to 16 MiB:
//! - `floor`: HMAC-SHA256 over the bytes, keyed each time (`floor_prekeyed`: a keyed state
//!   cloned), the physical limit of this work on this CPU;
//! - `by_hand_*`: what a handler does without this crate: collect the body, HMAC it, decode
//!   the hex header, `verify_slice`;
//! - `layer_*`: a whole request through `WebhookSignatureLayer` to a no-op inner service, for
//!   the Loopwise (hex) and Loop Returns (base64) presets, the body in one frame or in 16 KiB
//!   frames;
//! - `peer_standardwebhooks` / `layer_standard_webhooks`: the `standardwebhooks` crate's
//!   `Webhook::verify` against this crate's preset on the same signed request.
//!
//! Futures are polled by hand with a no-op waker (every body here is always ready), so no
//! executor's cost is counted on either side. `scripts/bench-report.py` prints the ratios.
//!
//! `cargo bench --bench verify --features keys -- ratios` runs none of the above: it sends
//! batches of requests through the layer and through the by-hand service in interleaved
//! rounds (so both see the same machine load), at 256 B to 1 MiB, and prints the best round
//! of each, their ratio, and the median of the two's ratio within each round (which a change
//! in load between rounds does not move) as a table (`guide::performance`).
//! Beside them, `marked_by_hand`: by hand with the key keyed once, marking the request
//! `Verified` and handing it on as the layer does, and nothing else: what any layer that
//! inserts the marker costs at least.
//! `TOWER_WEBHOOK_RATIOS=small` measures only 256 B and 1 KiB, and only the floor, by hand,
//! the layer and `marked_by_hand`, in four times as many rounds: a check while changing the
//! layer's fixed cost.
//!
//! `TOWER_WEBHOOK_PROFILE=<layer|by_hand|...>:<bytes>:<count>[:<rounds>]` runs one contender
//! `count` times (in `rounds` batches, printing the best and median nanoseconds a request
//! when there are several) and exits, for a profiler: `valgrind --tool=callgrind
//! --toggle-collect='*send_all*'` counts only the requests being sent, not their
//! construction. Two more contenders are there only for it: `layer_head`, the layer's `call`
//! alone (the head checked, the verifier made, the future built and dropped unpolled), and
//! `drop_request`, a request dropped; the layer's cost before it reads a body is the
//! difference.

use std::{
    convert::Infallible,
    future::Future,
    hint::black_box,
    pin::{pin, Pin},
    task::{Context, Poll, Waker},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use hmac::{Hmac, Mac};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use sha2::Sha256;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_webhook::{
    body::BufferedBody, presets, sign::Message, HmacScheme, WebhookSignatureLayer,
};

const KEY: &str = "benchmark-signing-key";
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FRAME: usize = 16 * 1024;

const SIZES: [(usize, &str); 5] = [
    (256, "256B"),
    (4 * 1024, "4KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
    (16 * 1024 * 1024, "16MiB"),
];

/// A body in frames of `frame` bytes, zero-copy slices of one buffer (as hyper hands them),
/// reporting its exact length like a `Content-Length` body.
struct Frames {
    data: Bytes,
    frame: usize,
}

impl Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.frame.min(self.data.len());
        Poll::Ready(Some(Ok(Frame::data(self.data.split_to(n)))))
    }

    /// As hyper's body says once its `Content-Length` bytes are read.
    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

/// Runs an always-ready future to completion without an executor.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// ASCII, like the JSON webhooks carry (the `standardwebhooks` peer refuses non-UTF-8).
fn body_of(size: usize) -> Bytes {
    (0..size)
        .map(|i| b'a' + (i * 7 % 26) as u8)
        .collect::<Vec<_>>()
        .into()
}

fn request(headers: &http::HeaderMap, body: &Bytes, frame: usize) -> Request<Frames> {
    let mut request = Request::post("/webhook")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Frames {
            data: body.clone(),
            frame,
        })
        .unwrap();
    request.headers_mut().extend(headers.clone());
    request
}

/// What users write without the crate: collect, HMAC, decode the header, compare.
async fn by_hand(request: Request<Frames>) -> StatusCode {
    let (parts, body) = request.into_parts();
    let Some(header) = parts.headers.get("loopwise-webhook-signature") else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut expected = [0u8; 32];
    if hex::decode_to_slice(header.as_bytes(), &mut expected).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let bytes = body.collect().await.unwrap().to_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(&bytes);
    if mac.verify_slice(&expected).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    black_box(bytes);
    StatusCode::OK
}

fn layered(
    scheme: HmacScheme,
) -> impl Service<
    Request<Frames>,
    Response = Response<tower_webhook::body::ResponseBody<String>>,
    Error = Infallible,
> + Clone {
    let inner = service_fn(|request: Request<BufferedBody>| async move {
        black_box(request);
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    WebhookSignatureLayer::new(scheme)
        .max_body_size(32 * 1024 * 1024)
        .layer(inner)
}

fn verify(c: &mut Criterion) {
    for (size, label) in SIZES {
        let mut group = c.benchmark_group(format!("verify/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        group.warm_up_time(Duration::from_millis(500));
        if size >= 1024 * 1024 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(if size > 1024 * 1024 { 5 } else { 2 }));
        } else {
            group.measurement_time(Duration::from_secs(2));
        }
        let body = body_of(size);

        group.bench_function("floor", |b| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
                mac.update(black_box(&body));
                black_box(mac.finalize().into_bytes())
            })
        });
        let keyed = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
        group.bench_function("floor_prekeyed", |b| {
            b.iter(|| {
                let mut mac = keyed.clone();
                mac.update(black_box(&body));
                black_box(mac.finalize().into_bytes())
            })
        });

        let loopwise = presets::loopwise(KEY);
        let loop_returns = presets::loop_returns(KEY);
        let loopwise_headers = loopwise.sign_message(&Message::new(&body));
        let loop_headers = loop_returns.sign_message(&Message::new(&body));

        for (frame, frames) in [(size, "1frame"), (FRAME, "16KiB_frames")] {
            group.bench_function(format!("by_hand_{frames}"), |b| {
                b.iter_batched(
                    || request(&loopwise_headers, &body, frame),
                    |request| assert_eq!(run(by_hand(request)), StatusCode::OK),
                    BatchSize::SmallInput,
                )
            });
            for (name, scheme, headers) in [
                ("loopwise", &loopwise, &loopwise_headers),
                ("loop", &loop_returns, &loop_headers),
            ] {
                let service = layered(scheme.clone());
                group.bench_function(format!("layer_{name}_{frames}"), |b| {
                    b.iter_batched(
                        || (service.clone(), request(headers, &body, frame)),
                        |(service, request)| {
                            let response = run(service.oneshot(request)).unwrap();
                            assert_eq!(response.status(), StatusCode::OK);
                        },
                        BatchSize::SmallInput,
                    )
                });
            }
        }

        // The Standard Webhooks peer checks the timestamp against the real clock: sign now.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let standard = presets::standard_webhooks(SW_SECRET).unwrap();
        let sw_headers =
            standard.sign_message(&Message::new(&body).timestamp(now).id("msg_benchmark"));
        let peer = standardwebhooks::Webhook::new(SW_SECRET).unwrap();
        group.bench_function("peer_standardwebhooks", |b| {
            b.iter_batched(
                || request(&sw_headers, &body, size),
                |request| {
                    // The peer verifies collected bytes: collect them as its users must.
                    let (parts, body) = request.into_parts();
                    let bytes = run(body.collect()).unwrap().to_bytes();
                    peer.verify(&bytes, &parts.headers).unwrap();
                },
                BatchSize::SmallInput,
            )
        });
        let service = layered(standard);
        group.bench_function("layer_standard_webhooks", |b| {
            b.iter_batched(
                || (service.clone(), request(&sw_headers, &body, size)),
                |(service, request)| {
                    let response = run(service.oneshot(request)).unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                },
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

/// What resolving keys per request adds on a cache hit: the same Loopwise request against
/// fixed keys and against a per-tenant resolver whose cache already holds the tenant.
#[cfg(feature = "keys")]
fn keys(c: &mut Criterion) {
    use tower_webhook::keys::{FoundKeys, KeyName, KeyResolver};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    for (size, label) in [(256, "256B"), (64 * 1024, "64KiB")] {
        let mut group = c.benchmark_group(format!("keys/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
        let body = body_of(size);
        let headers = presets::loopwise(KEY).sign_message(&Message::new(&body));
        let tenant_request = |headers: &http::HeaderMap| {
            let mut request = request(headers, &body, size);
            *request.uri_mut() = "/webhooks/acct_bench".parse().unwrap();
            request
        };

        let fixed = layered(presets::loopwise(KEY));
        let resolver = KeyResolver::from_fn(KeyName::path("/webhooks/{tenant}"), |_| async {
            Ok(Some(FoundKeys::new(KEY)))
        });
        let resolved = layered(presets::loopwise(resolver));
        // Fill the cache: the first request looks the tenant up, in a runtime with a timer.
        let warm = runtime.block_on(resolved.clone().oneshot(tenant_request(&headers)));
        assert_eq!(warm.unwrap().status(), StatusCode::OK);

        // What a cache hit adds, without the body's hash and the service around it: the
        // scheme's start on the request head, fixed keys against a cached tenant.
        if size == 256 {
            use tower_webhook::{keys::Start, scheme::Scheme};
            let (head, _) = tenant_request(&headers).into_parts();
            let fixed_scheme = presets::loopwise(KEY);
            let resolver = KeyResolver::from_fn(KeyName::path("/webhooks/{tenant}"), |_| async {
                Ok(Some(FoundKeys::new(KEY)))
            });
            let resolved_scheme = presets::loopwise(resolver);
            let Start::Resolving(lookup) = resolved_scheme.start(&head) else {
                panic!("the first start looks the tenant up");
            };
            runtime.block_on(lookup).unwrap();
            for (name, scheme) in [
                ("start_fixed", &fixed_scheme),
                ("start_cached_tenant", &resolved_scheme),
            ] {
                group.bench_function(name, |b| {
                    b.iter(|| match scheme.start(black_box(&head)) {
                        Start::Ready(Ok(verifier)) => black_box(verifier),
                        _ => panic!("a cache hit is ready at once"),
                    })
                });
            }
        }
        for (name, service) in [("fixed", &fixed), ("cached_tenant", &resolved)] {
            group.bench_function(name, |b| {
                b.iter_batched(
                    || (service.clone(), tenant_request(&headers)),
                    |(service, request)| {
                        let response = run(service.oneshot(request)).unwrap();
                        assert_eq!(response.status(), StatusCode::OK);
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

#[cfg(not(feature = "keys"))]
fn keys(_: &mut Criterion) {}

/// What the body budget adds to each request: a reservation taken and given back (one
/// compare-and-swap and one subtraction on a shared counter).
fn budget(c: &mut Criterion) {
    use tower_webhook::verify::BodyBudget;

    let budget = BodyBudget::default();
    c.benchmark_group("budget")
        .bench_function("reserve_and_release_256B", |b| {
            b.iter(|| black_box(budget.try_reserve(black_box(256))))
        });
}

criterion_group!(benches, verify, keys, budget);

fn main() {
    if std::env::args().any(|arg| arg == "ratios") {
        ratios::run_all();
        return;
    }
    if let Ok(spec) = std::env::var("TOWER_WEBHOOK_PROFILE") {
        ratios::profile(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// The layer beside the by-hand service, in interleaved rounds, as a table of ratios.
mod ratios {
    use std::time::Instant;

    use super::*;

    const RATIO_SIZES: [(usize, &str); 5] = [
        (256, "256 B"),
        (1024, "1 KiB"),
        (4 * 1024, "4 KiB"),
        (64 * 1024, "64 KiB"),
        (1024 * 1024, "1 MiB"),
    ];
    const ROUNDS: usize = 31;

    /// One way of verifying a request, able to send a batch of them.
    trait Contender {
        /// Requests for one batch, built before the clock starts.
        fn batch(&mut self, count: usize) -> Vec<Request<Frames>>;
        /// Sends each request through `ready().call()` and checks it was verified.
        fn send(&mut self, batch: Vec<Request<Frames>>);
    }

    /// Requests signed over `body` by Loopwise's scheme.
    struct Signed {
        headers: http::HeaderMap,
        body: Bytes,
        uri: &'static str,
    }

    impl Signed {
        fn new(body: &Bytes, uri: &'static str) -> Self {
            Self {
                headers: presets::loopwise(KEY).sign_message(&Message::new(body)),
                body: body.clone(),
                uri,
            }
        }

        fn batch(&self, count: usize) -> Vec<Request<Frames>> {
            (0..count)
                .map(|_| {
                    let mut request = request(&self.headers, &self.body, self.body.len());
                    *request.uri_mut() = self.uri.parse().unwrap();
                    request
                })
                .collect()
        }
    }

    #[inline(never)]
    fn send_all<S, R>(service: &mut S, batch: Vec<Request<Frames>>, ok: impl Fn(R) -> bool)
    where
        S: Service<Request<Frames>, Response = R, Error = Infallible>,
    {
        for request in batch {
            run(service.ready()).unwrap();
            let response = run(service.call(request)).unwrap();
            assert!(ok(black_box(response)));
        }
    }

    /// HMAC-SHA256 over the body, keyed each time: no request at all.
    struct Floor(Bytes);

    impl Contender for Floor {
        fn batch(&mut self, count: usize) -> Vec<Request<Frames>> {
            (0..count)
                .map(|_| {
                    Request::new(Frames {
                        data: Bytes::new(),
                        frame: 1,
                    })
                })
                .collect()
        }
        fn send(&mut self, batch: Vec<Request<Frames>>) {
            for _ in batch {
                let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
                mac.update(black_box(&self.0));
                black_box(mac.finalize().into_bytes());
            }
        }
    }

    struct ByHand(Signed);

    impl Contender for ByHand {
        fn batch(&mut self, count: usize) -> Vec<Request<Frames>> {
            self.0.batch(count)
        }
        fn send(&mut self, batch: Vec<Request<Frames>>) {
            // A response, as any service a server runs answers with (and as the layer's
            // inner service does).
            let mut service = service_fn(|request| async move {
                let mut response = Response::new(String::new());
                *response.status_mut() = by_hand(request).await;
                Ok::<_, Infallible>(response)
            });
            send_all(&mut service, batch, ok);
        }
    }

    /// By hand with the key keyed once (a keyed state cloned), the body taken as its one
    /// frame, the request marked `Verified` and handed on: the least a layer that inserts the
    /// marker can cost, with none of this crate's checks.
    struct MarkedByHand(Signed, Hmac<Sha256>);

    impl Contender for MarkedByHand {
        fn batch(&mut self, count: usize) -> Vec<Request<Frames>> {
            self.0.batch(count)
        }
        fn send(&mut self, batch: Vec<Request<Frames>>) {
            let keyed = self.1.clone();
            let name = http::HeaderName::from_static("loopwise-webhook-signature");
            let mut service = service_fn(move |request: Request<Frames>| {
                let (keyed, name) = (keyed.clone(), name.clone());
                async move {
                    let (mut parts, mut body) = request.into_parts();
                    let mut response = Response::new(String::new());
                    *response.status_mut() = StatusCode::UNAUTHORIZED;
                    let mut expected = [0u8; 32];
                    let Some(header) = parts.headers.get(&name) else {
                        return Ok::<_, Infallible>(response);
                    };
                    if hex::decode_to_slice(header.as_bytes(), &mut expected).is_err() {
                        return Ok(response);
                    }
                    let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
                    let Some(Ok(Ok(bytes))) = frame.await.map(|frame| frame.map(Frame::into_data))
                    else {
                        return Ok(response);
                    };
                    let mut mac = keyed;
                    mac.update(&bytes);
                    if mac.verify_slice(&expected).is_err() {
                        return Ok(response);
                    }
                    parts.extensions.insert(tower_webhook::Verified::new(0));
                    black_box(Request::from_parts(parts, BufferedBody::new(bytes)));
                    *response.status_mut() = StatusCode::OK;
                    Ok(response)
                }
            });
            send_all(&mut service, batch, ok);
        }
    }

    type Layered = Box<dyn FnMut(Vec<Request<Frames>>) + 'static>;

    /// A request through a layered service; `fresh` makes the service for each batch (a
    /// replay store starts empty each round).
    struct Through {
        requests: Box<dyn FnMut(usize) -> Vec<Request<Frames>>>,
        send: Layered,
    }

    impl Contender for Through {
        fn batch(&mut self, count: usize) -> Vec<Request<Frames>> {
            (self.requests)(count)
        }
        fn send(&mut self, batch: Vec<Request<Frames>>) {
            (self.send)(batch)
        }
    }

    fn ok<B>(response: Response<B>) -> bool {
        response.status() == StatusCode::OK
    }

    fn layer(body: &Bytes) -> Through {
        let signed = Signed::new(body, "/webhook");
        let mut service = layered(presets::loopwise(KEY));
        Through {
            requests: Box::new(move |count| signed.batch(count)),
            send: Box::new(move |batch| send_all(&mut service, batch, ok)),
        }
    }

    /// Every request a new delivery (its own body and signature), to a guard whose
    /// in-memory store starts empty each batch.
    fn replay_guarded(body: &Bytes) -> Through {
        use tower_webhook::replay::{MemoryStore, ReplayGuardLayer};

        let body = body.to_vec();
        let scheme = presets::loopwise(KEY);
        let mut next = 0u64;
        Through {
            requests: Box::new(move |count| {
                (0..count)
                    .map(|_| {
                        next += 1;
                        let mut body = body.clone();
                        let n = body.len().min(8);
                        body[..n].copy_from_slice(&next.to_be_bytes()[..n]);
                        let body = Bytes::from(body);
                        request(
                            &scheme.sign_message(&Message::new(&body)),
                            &body,
                            body.len(),
                        )
                    })
                    .collect()
            }),
            send: Box::new(move |batch| {
                let inner = service_fn(|request: Request<BufferedBody>| async move {
                    black_box(request);
                    Ok::<_, Infallible>(Response::new(String::new()))
                });
                let guarded = ReplayGuardLayer::new(MemoryStore::new(1 << 20)).layer(inner);
                let mut service = WebhookSignatureLayer::new(presets::loopwise(KEY))
                    .max_body_size(32 * 1024 * 1024)
                    .layer(guarded);
                send_all(&mut service, batch, ok);
            }),
        }
    }

    /// Keys resolved per tenant, the tenant already in the cache.
    #[cfg(feature = "keys")]
    fn cached_tenant(body: &Bytes) -> Through {
        use tower_webhook::keys::{FoundKeys, KeyName, KeyResolver};

        let signed = Signed::new(body, "/webhooks/acct_bench");
        let resolver = KeyResolver::from_fn(KeyName::path("/webhooks/{tenant}"), |_| async {
            Ok(Some(FoundKeys::new(KEY)))
        });
        let mut service = layered(presets::loopwise(resolver));
        // Fill the cache: the first request looks the tenant up, in a runtime with a timer.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let warm = signed.batch(1).pop().unwrap();
        let response = runtime.block_on(service.clone().oneshot(warm)).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Through {
            requests: Box::new(move |count| signed.batch(count)),
            send: Box::new(move |batch| send_all(&mut service, batch, ok)),
        }
    }

    /// Standard Webhooks (a signed message id and timestamp), for profiling.
    fn standard_webhooks(body: &Bytes) -> Through {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let scheme = presets::standard_webhooks(SW_SECRET).unwrap();
        let headers = scheme.sign_message(&Message::new(body).timestamp(now).id("msg_benchmark"));
        let body = body.clone();
        let mut service = layered(scheme);
        Through {
            requests: Box::new(move |count| {
                (0..count)
                    .map(|_| request(&headers, &body, body.len()))
                    .collect()
            }),
            send: Box::new(move |batch| send_all(&mut service, batch, ok)),
        }
    }

    /// The layer's `call` alone: the future is dropped unpolled, with the request in it.
    fn layer_head(body: &Bytes) -> Through {
        let signed = Signed::new(body, "/webhook");
        let mut service = layered(presets::loopwise(KEY));
        Through {
            requests: Box::new(move |count| signed.batch(count)),
            send: Box::new(move |batch| {
                for request in batch {
                    run(service.ready()).unwrap();
                    drop(black_box(service.call(request)));
                }
            }),
        }
    }

    /// A request dropped: what `layer_head` pays besides the layer.
    fn drop_request(body: &Bytes) -> Through {
        let signed = Signed::new(body, "/webhook");
        Through {
            requests: Box::new(move |count| signed.batch(count)),
            send: Box::new(|batch| {
                for request in batch {
                    black_box(request);
                }
            }),
        }
    }

    fn contender(name: &str, body: &Bytes) -> Box<dyn Contender> {
        match name {
            "floor" => Box::new(Floor(body.clone())),
            "by_hand" => Box::new(ByHand(Signed::new(body, "/webhook"))),
            "layer" => Box::new(layer(body)),
            "marked_by_hand" => Box::new(MarkedByHand(
                Signed::new(body, "/webhook"),
                Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap(),
            )),
            "replay" => Box::new(replay_guarded(body)),
            "layer_head" => Box::new(layer_head(body)),
            "drop_request" => Box::new(drop_request(body)),
            "standard_webhooks" => Box::new(standard_webhooks(body)),
            #[cfg(feature = "keys")]
            "cached_tenant" => Box::new(cached_tenant(body)),
            other => panic!("no contender {other}"),
        }
    }

    fn small_only() -> bool {
        std::env::var("TOWER_WEBHOOK_RATIOS").is_ok_and(|only| only == "small")
    }

    fn names() -> Vec<&'static str> {
        let mut names = vec!["floor", "by_hand", "layer", "marked_by_hand"];
        if small_only() {
            return names;
        }
        names.push("replay");
        if cfg!(feature = "keys") {
            names.push("cached_tenant");
        }
        names
    }

    fn format_ns(ns: f64) -> String {
        if ns < 1e4 {
            format!("{ns:.0} ns")
        } else if ns < 1e7 {
            format!("{:.1} µs", ns / 1e3)
        } else {
            format!("{:.2} ms", ns / 1e6)
        }
    }

    pub(super) fn run_all() {
        let names = names();
        println!(
            "| body | {} | layer / by hand, best rounds | layer / by hand, median round |",
            names.join(" | ")
        );
        println!("|---|{}---|---|", "---|".repeat(names.len()));
        let sizes = if small_only() {
            &RATIO_SIZES[..2]
        } else {
            &RATIO_SIZES[..]
        };
        for &(size, label) in sizes {
            let body = body_of(size);
            let mut contenders: Vec<_> = names.iter().map(|name| contender(name, &body)).collect();
            // About 1 ms of work a batch at the floor's speed: short batches, many rounds,
            // so the best round of each is one the machine's other work left alone.
            let count = ((1 << 20) / size.max(1)).clamp(2, 4096);
            let mut best = vec![f64::INFINITY; contenders.len()];
            // The layer against by hand within each round: the two ran moments apart, so a
            // change in the machine's load between rounds cancels out.
            let mut ratios = Vec::new();
            let rounds = if small_only() { 4 * ROUNDS } else { ROUNDS };
            for round in 0..=rounds {
                let mut this_round = vec![0.0; contenders.len()];
                // A different contender goes first each round.
                for k in 0..contenders.len() {
                    let i = (k + round) % contenders.len();
                    let batch = contenders[i].batch(count);
                    let started = Instant::now();
                    contenders[i].send(batch);
                    this_round[i] = started.elapsed().as_nanos() as f64 / count as f64;
                }
                // Round 0 warms up.
                if round > 0 {
                    for (best, ns) in best.iter_mut().zip(&this_round) {
                        *best = best.min(*ns);
                    }
                    ratios.push(this_round[2] / this_round[1]);
                }
            }
            ratios.sort_by(f64::total_cmp);
            let cells: Vec<_> = best.iter().map(|&ns| format_ns(ns)).collect();
            println!(
                "| {label} | {} | {:.2} | **{:.2}** |",
                cells.join(" | "),
                best[2] / best[1],
                ratios[ratios.len() / 2]
            );
        }
    }

    pub(super) fn profile(spec: &str) {
        let mut parts = spec.split(':');
        let (Some(name), Some(size), Some(count)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("TOWER_WEBHOOK_PROFILE=<contender>:<bytes>:<count>[:<rounds>]");
        };
        let (size, count): (usize, usize) = (size.parse().unwrap(), count.parse().unwrap());
        let mut contender = contender(name, &body_of(size));
        // One request first, so one-time set-up is not counted.
        let warm = contender.batch(1);
        contender.send(warm);
        let rounds: usize = parts.next().map_or(1, |rounds| rounds.parse().unwrap());
        let mut each = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let batch = contender.batch(count);
            let started = Instant::now();
            contender.send(batch);
            each.push(started.elapsed().as_nanos() as f64 / count as f64);
        }
        if rounds > 1 {
            each.sort_by(f64::total_cmp);
            eprintln!(
                "{name}: best {:.0} ns, median {:.0} ns a request",
                each[0],
                each[rounds / 2]
            );
        }
    }
}
