//! What the replay guard adds to a verified request, per store:
//! - `inner`: the inner service alone (the baseline);
//! - `memory_new` / `memory_duplicate`: through `ReplayGuardLayer` over `MemoryStore`, a new
//!   delivery each time (claim, call, mark done) or the same processed one (one lookup);
//! - `redis_new` / `redis_duplicate`: the same over `RedisStore`, against a `redis-server`
//!   this benchmark starts on a free loopback port (skipped, with a notice, without one).
//!
//! Requests carry a `Verified` extension as the signature layer leaves it, so only the guard
//! is measured. Run with `cargo bench --bench replay --features redis`.

use std::{
    convert::Infallible,
    hint::black_box,
    sync::atomic::{AtomicU64, Ordering},
};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_webhook::{
    replay::{MemoryStore, ReplayGuardLayer, ReplayStore},
    scheme::DeliveryId,
    Verified,
};

fn request(id: u64) -> Request<()> {
    let mut request = Request::new(());
    request
        .extensions_mut()
        .insert(Verified::new(0).with_delivery_id(DeliveryId::derive("bench", &id.to_be_bytes())));
    request
}

fn inner() -> impl Service<Request<()>, Response = Response<Bytes>, Error = Infallible, Future: Send>
       + Clone
       + Send
       + 'static {
    service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Bytes::from_static(b"ok")))
    })
}

fn bench_store<St: ReplayStore>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    store: St,
) {
    let guarded = ReplayGuardLayer::new(store).layer(inner());
    static NEXT: AtomicU64 = AtomicU64::new(1 << 40);
    let mut group = c.benchmark_group("replay");
    group.bench_function(format!("{name}_new"), |b| {
        b.to_async(runtime).iter(|| {
            let service = guarded.clone();
            async move {
                let id = NEXT.fetch_add(1, Ordering::Relaxed);
                black_box(service.oneshot(request(id)).await.unwrap())
            }
        });
    });
    runtime
        .block_on(guarded.clone().oneshot(request(7)))
        .unwrap();
    group.bench_function(format!("{name}_duplicate"), |b| {
        b.to_async(runtime).iter(|| {
            let service = guarded.clone();
            async move { black_box(service.oneshot(request(7)).await.unwrap()) }
        });
    });
    group.finish();
}

fn replay(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    c.benchmark_group("replay").bench_function("inner", |b| {
        let service = inner();
        b.to_async(&runtime).iter(|| {
            let service = service.clone();
            async move { black_box(service.oneshot(request(1)).await.unwrap()) }
        });
    });
    bench_store(c, &runtime, "memory", MemoryStore::new(10_000_000));
    redis(c, &runtime);
}

#[cfg(feature = "redis")]
fn redis(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    use std::{
        net::{TcpListener, TcpStream},
        process::{Command, Stdio},
        time::{Duration, Instant},
    };

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("redis benchmarks skipped: `redis-server` is not installed");
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let store = runtime
        .block_on(tower_webhook::replay::RedisStore::connect(&format!(
            "redis://127.0.0.1:{port}/"
        )))
        .unwrap();
    bench_store(c, runtime, "redis", store);
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(not(feature = "redis"))]
fn redis(_: &mut Criterion, _: &tokio::runtime::Runtime) {
    eprintln!("redis benchmarks skipped: build with `--features redis`");
}

/// One new delivery (claim, then done) into a `MemoryStore` that already holds its capacity
/// of live deliveries, through the `ReplayStore` trait: what a store full after a flood
/// costs every request.
fn memory_full(c: &mut Criterion) {
    use std::{
        future::Future,
        pin::pin,
        task::{Context, Poll, Waker},
        time::Duration,
    };

    /// The memory store answers at once: poll its future once.
    fn now<T>(future: impl Future<Output = T>) -> T {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the memory store never waits"),
        }
    }

    const LIVE: Duration = Duration::from_secs(3600);
    let mut group = c.benchmark_group("memory_store_full");
    let capacities: &[(usize, &str)] = if std::env::var_os("REPLAY_BENCH_OLD_SIZES").is_some() {
        &[(1_000, "1k"), (10_000, "10k"), (100_000, "100k")]
    } else {
        &[(1_000, "1k"), (100_000, "100k"), (1_000_000, "1M")]
    };
    for &(capacity, label) in capacities {
        let store = MemoryStore::new(capacity);
        for i in 0..capacity {
            let key = format!("{i:064x}");
            now(store.claim(&key, "token", LIVE)).unwrap();
            now(store.complete(&key, LIVE)).unwrap();
        }
        let next = AtomicU64::new(capacity as u64);
        group.bench_function(format!("new_delivery_{label}"), |b| {
            b.iter(|| {
                let key = format!("{:064x}", next.fetch_add(1, Ordering::Relaxed));
                black_box(now(store.claim(&key, "token", LIVE)).unwrap());
                now(store.complete(&key, LIVE)).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, replay, memory_full);
criterion_main!(benches);
