//! Time to answer a 1 KiB Stripe delivery through the service, from `ready()` to the 2xx:
//! - `redis_everysec`: `WebhookSignatureLayer` + `InboxLayer` over `RedisInbox`, against a
//!   `redis-server` this benchmark starts on a free loopback port with `appendonly yes` and
//!   `appendfsync everysec` (skipped, with a notice, without one);
//! - `sqlite`: the same over `SqliteInbox` on a file in the temp dir (WAL, `synchronous=FULL`);
//! - `inline`: the signature layer and a trivial handler, no inbox: what answering inline
//!   costs before the handler does any work.
//!
//! Every request is a new delivery (its own event id), so each one is appended, never
//! answered as a duplicate. Requests are signed before the clock starts.
//!
//! `cargo bench --bench inbox --features sqlite,redis` runs the criterion benchmarks (means).
//! `cargo bench --bench inbox --features sqlite,redis -- percentiles` runs none of them: it
//! sends 2,000 sequential requests to each contender, in interleaved rounds of 100 (so all
//! see the same machine load), and prints p50, p99 and the slowest as a table (README,
//! "Performance"). `INBOX_BENCH_REQUESTS` changes the 2,000 (clamped to 100..=100,000).

use std::{
    convert::Infallible,
    hint::black_box,
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use criterion::{BatchSize, Criterion};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, util::BoxCloneService, Layer, Service, ServiceExt};
use tower_webhook::{
    body::BufferedBody,
    inbox::{InboxLayer, InboxStore, SqliteInbox},
    presets,
    sign::Message,
    WebhookSignatureLayer,
};

const SECRET: &str = "whsec_inbox_benchmark";
const BODY_SIZE: usize = 1024;

type Answer = Response<tower_webhook::body::ResponseBody<String>>;
type Contender = BoxCloneService<Request<Full<Bytes>>, Answer, Infallible>;

/// A signed 1 KiB Stripe event with a delivery id never used before.
fn delivery() -> Request<Full<Bytes>> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let head = format!(r#"{{"id":"evt_{nanos:x}_{n}","type":"charge.succeeded","data":""#);
    let mut body = head.into_bytes();
    body.resize(BODY_SIZE - 2, b'x');
    body.extend_from_slice(br#""}"#);
    let headers = presets::stripe(SECRET).sign_message(&Message::new(&body));
    let mut request = Request::post("/webhooks/stripe")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

/// The handler behind the layers: answers 200 at once.
fn handler(
) -> impl Service<Request<BufferedBody>, Response = Response<String>, Error = Infallible, Future: Send>
       + Clone
       + Send
       + 'static {
    service_fn(|request: Request<BufferedBody>| async move {
        black_box(request);
        Ok::<_, Infallible>(Response::new(String::new()))
    })
}

fn inline() -> Contender {
    BoxCloneService::new(WebhookSignatureLayer::new(presets::stripe(SECRET)).layer(handler()))
}

fn through_inbox(store: Arc<dyn InboxStore>) -> Contender {
    let inbox = InboxLayer::for_preset(store, presets::find("stripe").unwrap()).unwrap();
    BoxCloneService::new(
        WebhookSignatureLayer::new(presets::stripe(SECRET)).layer(inbox.layer(handler())),
    )
}

/// A directory of its own under the temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tower-webhook-bench-{label}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `redis-server` on a free loopback port with `appendfsync everysec`, killed and its
/// files removed when dropped.
struct Redis {
    port: u16,
    child: Child,
    _dir: TempDir,
}

impl Redis {
    fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = TempDir::new("redis");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
            ])
            .arg("--dir")
            .arg(&dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            eprintln!("redis benchmarks skipped: `redis-server` is not installed");
            return None;
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self {
            port,
            child,
            _dir: dir,
        })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the contenders need kept alive: the Redis server, the SQLite file's directory.
struct Contenders {
    /// Name, service, and the status it answers a new delivery with.
    list: Vec<(&'static str, Contender, StatusCode)>,
    _redis: Option<Redis>,
    _sqlite: TempDir,
}

fn contenders(runtime: &tokio::runtime::Runtime) -> Contenders {
    let sqlite = TempDir::new("sqlite");
    let store = SqliteInbox::open(sqlite.0.join("inbox.sqlite3")).unwrap();
    let mut list = Vec::new();
    let redis = Redis::start();
    if let Some(redis) = &redis {
        let url = format!("redis://127.0.0.1:{}/", redis.port);
        let store = runtime
            .block_on(tower_webhook::inbox::RedisInbox::connect(&url))
            .unwrap();
        list.push((
            "redis_everysec",
            through_inbox(Arc::new(store)),
            StatusCode::ACCEPTED,
        ));
    }
    list.push((
        "sqlite",
        through_inbox(Arc::new(store)),
        StatusCode::ACCEPTED,
    ));
    list.push(("inline", inline(), StatusCode::OK));
    Contenders {
        list,
        _redis: redis,
        _sqlite: sqlite,
    }
}

fn criterion_benches(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    let contenders = contenders(runtime);
    let mut group = c.benchmark_group("inbox/1KiB");
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for (name, service, expected) in &contenders.list {
        let expected = *expected;
        group.bench_function(*name, |b| {
            b.to_async(runtime).iter_batched(
                || (service.clone(), delivery()),
                |(mut service, request)| async move {
                    let response = service.ready().await.unwrap().call(request).await.unwrap();
                    assert_eq!(response.status(), expected);
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::args().any(|arg| arg == "percentiles") {
        percentiles(&runtime);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion, &runtime);
    criterion.final_summary();
}

/// Sends each request, one after another, and returns each one's time in nanoseconds; a
/// status other than `expected` (a 503 from a failed append) stops the benchmark.
async fn timed(
    service: &mut Contender,
    expected: StatusCode,
    batch: Vec<Request<Full<Bytes>>>,
) -> Vec<u64> {
    let mut times = Vec::with_capacity(batch.len());
    for request in batch {
        let started = Instant::now();
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(response.status(), expected);
        times.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
    times
}

/// 2,000 sequential requests per contender, interleaved in rounds; p50, p99, max.
fn percentiles(runtime: &tokio::runtime::Runtime) {
    const ROUND: usize = 100;
    let requests: usize = std::env::var("INBOX_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000)
        .clamp(ROUND, 100_000);
    let mut contenders = contenders(runtime);
    let mut times: Vec<Vec<u64>> = vec![Vec::with_capacity(requests); contenders.list.len()];
    // A round of each first, not counted: connections, scripts loaded, pages warm.
    for (_, service, expected) in &mut contenders.list {
        let batch = (0..ROUND).map(|_| delivery()).collect();
        runtime.block_on(timed(service, *expected, batch));
    }
    for round in 0..requests.div_ceil(ROUND) {
        let n = ROUND.min(requests - round * ROUND);
        // A different contender goes first each round.
        for k in 0..contenders.list.len() {
            let i = (k + round) % contenders.list.len();
            let batch = (0..n).map(|_| delivery()).collect();
            let (_, service, expected) = &mut contenders.list[i];
            let measured = runtime.block_on(timed(service, *expected, batch));
            times[i].extend(measured);
        }
    }
    println!(
        "1 KiB deliveries, {requests} sequential requests per contender, through ready().call():\n"
    );
    println!("| contender | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for ((name, _, _), times) in contenders.list.iter().zip(&mut times) {
        times.sort_unstable();
        let at =
            |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "| {name} | {} | {} | {} |",
            format_ns(at(0.50)),
            format_ns(at(0.99)),
            format_ns(*times.last().unwrap())
        );
    }
}

fn format_ns(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1e4 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}
