//! Soak runs against a Redis this script starts itself, bounded in time, that check what
//! was promised to the sender and exit non-zero when it does not hold.
//!
//! **Replay guard** (the default): two instances sharing one Redis, driven with signed
//! deliveries, re-signed duplicates, concurrent copies and forgeries, with Redis restarted
//! halfway. Then it checks that every delivery answered 2xx was processed exactly once, that
//! none was processed twice, and that no forgery was processed.
//!
//! **Inbox** (`inbox`): two receiver processes (`WebhookSignatureLayer` + `InboxLayer` over
//! `RedisInbox`) and two worker processes on one Redis with `appendfsync always`. A sender
//! sends signed deliveries (with re-signed duplicates, concurrent copies to both receivers,
//! and retries of what was not answered 2xx); workers are killed with SIGKILL and restarted
//! at random, Redis is killed and restarted once. Each worker records the event ids it
//! processed in a file of its own, appended and fsynced before its handler answers. At the
//! end it checks that every delivery answered 2xx was processed (none lost) and that nothing
//! was processed that was not sent; deliveries processed again after a worker was killed
//! mid-call are counted, not failed (processing is at least once).
//!
//! ```sh
//! scripts/soak.sh            # the replay guard, 60 s; SOAK_SECONDS=600 for the longest run
//! scripts/soak.sh inbox      # the inbox, about a minute: 45 s of sending, then it drains
//! ```
//!
//! The inbox mode takes `SOAK_SECONDS` (of sending; default 45, 10..=600), `SOAK_DELIVERIES`
//! (default 2,000, spread over that time) and `SOAK_CLIENTS` (default 8). Its receivers and
//! workers are this same program, started again with a role (`inbox-receiver`,
//! `inbox-worker`); they exit when the soak run does (their standard input closes).
//!
//! It starts its own `redis-server` on a free loopback port, with an append-only file so the
//! records survive the restart (as a production Redis that must not forget them would), and
//! removes it afterwards. Everything stays on 127.0.0.1.

use std::{
    collections::{HashMap, HashSet},
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tower_webhook::{
    presets,
    replay::{RedisStore, ReplayGuardLayer},
    sign::Message,
    WebhookSignatureLayer,
};

const SECRET: &str = "whsec_soak_secret";
const FORGER_SECRET: &str = "whsec_not_the_secret";

/// What the handlers processed: event id, times.
type Processed = Arc<Mutex<HashMap<String, u32>>>;

struct Redis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("tower-webhook-soak-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self {
            port,
            dir,
            child: None,
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is needed (Debian: apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn instance(url: &str, processed: &Processed) -> SocketAddr {
    let store = RedisStore::connect(url).await.unwrap();
    let processed = Arc::clone(processed);
    let route: axum::routing::MethodRouter = post(move |body: String| {
        let processed = Arc::clone(&processed);
        async move {
            let event: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let id = event["id"].as_str().unwrap_or("?").to_owned();
            *processed.lock().unwrap().entry(id).or_default() += 1;
            "processed"
        }
    })
    .layer::<_, std::convert::Infallible>(ReplayGuardLayer::new(store))
    .layer(WebhookSignatureLayer::new(presets::stripe(SECRET)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, Router::new().route("/hook", route)).await });
    addr
}

/// How the servers answered, by kind.
#[derive(Default)]
struct Tally {
    answers: HashMap<&'static str, u64>,
}

fn kind(status: StatusCode, duplicate: bool, body: &[u8]) -> &'static str {
    match status {
        StatusCode::OK if duplicate => "duplicate",
        StatusCode::OK if body == b"processed" => "processed",
        StatusCode::CONFLICT => "in progress (409)",
        StatusCode::SERVICE_UNAVAILABLE => "store unavailable (503)",
        StatusCode::UNAUTHORIZED => "forgery refused (401)",
        _ => "other",
    }
}

struct Load {
    addrs: [SocketAddr; 2],
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    tally: Mutex<Tally>,
    /// Deliveries answered 2xx (processed or duplicate): the sender is done with them.
    acknowledged: Mutex<HashSet<String>>,
    /// Deliveries the sender must retry (409, 503, a failed connection).
    pending: Mutex<Vec<String>>,
    forged: Mutex<HashSet<String>>,
    next: AtomicU64,
}

impl Load {
    /// One attempt of delivery `id`, signed now with `secret`, to instance `to`.
    async fn attempt(&self, id: &str, secret: &str, to: usize) -> &'static str {
        let body = format!(r#"{{"id":"{id}","object":"event"}}"#);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let headers =
            presets::stripe(secret).sign_message(&Message::new(body.as_bytes()).timestamp(now));
        let mut request = Request::post(format!("http://{}/hook", self.addrs[to % 2]))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        request.headers_mut().extend(headers);
        let kind = match self.client.request(request).await {
            Ok(response) => {
                let status = response.status();
                let duplicate = response.headers().contains_key("webhook-duplicate");
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                kind(status, duplicate, &body)
            }
            Err(_) => "connection failed",
        };
        *self.tally.lock().unwrap().answers.entry(kind).or_default() += 1;
        if secret == SECRET {
            if matches!(kind, "processed" | "duplicate") {
                self.acknowledged.lock().unwrap().insert(id.to_owned());
            } else {
                self.pending.lock().unwrap().push(id.to_owned());
            }
        }
        kind
    }

    async fn step(self: &Arc<Self>, round: u64) {
        let id = format!("evt_{}", self.next.fetch_add(1, Ordering::Relaxed));
        match round % 10 {
            // Concurrent copies of one new delivery, split between the instances.
            0 => {
                let copies: Vec<_> = (0..5)
                    .map(|i| {
                        let (load, id) = (Arc::clone(self), id.clone());
                        tokio::spawn(async move { load.attempt(&id, SECRET, i).await })
                    })
                    .collect();
                for copy in copies {
                    let _ = copy.await;
                }
            }
            // A forgery: a valid-looking delivery signed with the wrong secret.
            1 => {
                let forged = format!("forged_{id}");
                self.forged.lock().unwrap().insert(forged.clone());
                self.attempt(&forged, FORGER_SECRET, round as usize).await;
            }
            // A retry of a delivery that was not acknowledged, re-signed, to either instance.
            2 | 3 => {
                let retry = self.pending.lock().unwrap().pop();
                if let Some(retry) = retry {
                    self.attempt(&retry, SECRET, round as usize).await;
                }
            }
            // A duplicate of an acknowledged delivery, re-signed with a new timestamp.
            4 | 5 => {
                let again = self.acknowledged.lock().unwrap().iter().next().cloned();
                if let Some(again) = again {
                    self.attempt(&again, SECRET, round as usize + 1).await;
                }
            }
            _ => {
                self.attempt(&id, SECRET, round as usize).await;
            }
        }
    }
}

/// The replay guard's soak run; whether every check held.
async fn replay_soak() -> bool {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
        .clamp(5, 600);
    let clients: u64 = std::env::var("SOAK_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
        .clamp(1, 64);

    let mut redis = Redis::start();
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let processed: Processed = Arc::default();
    let addrs = [
        instance(&url, &processed).await,
        instance(&url, &processed).await,
    ];
    let load = Arc::new(Load {
        addrs,
        client: Client::builder(TokioExecutor::new()).build_http(),
        tally: Mutex::default(),
        acknowledged: Mutex::default(),
        pending: Mutex::default(),
        forged: Mutex::default(),
        next: AtomicU64::new(0),
    });
    println!(
        "soak: {seconds} s, {clients} clients, two instances, Redis on port {}",
        redis.port
    );

    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let load = Arc::clone(&load);
            tokio::spawn(async move {
                let mut round = worker;
                while Instant::now() < deadline {
                    load.step(round).await;
                    round += clients;
                }
            })
        })
        .collect();

    // Halfway, Redis goes away for two seconds and comes back.
    tokio::time::sleep(Duration::from_secs(seconds / 2)).await;
    redis.stop();
    println!(
        "soak: Redis stopped at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.spawn();
    println!(
        "soak: Redis back at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    for worker in workers {
        worker.await.unwrap();
    }
    // As senders do, retry what was not acknowledged until it is (bounded).
    let settle = Instant::now() + Duration::from_secs(70);
    loop {
        let retry = load.pending.lock().unwrap().pop();
        let Some(retry) = retry else { break };
        if load.acknowledged.lock().unwrap().contains(&retry) {
            continue;
        }
        if Instant::now() > settle {
            load.pending.lock().unwrap().push(retry);
            break;
        }
        if load.attempt(&retry, SECRET, 0).await != "processed" {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let processed = processed.lock().unwrap().clone();
    let acknowledged = load.acknowledged.lock().unwrap().clone();
    let forged = load.forged.lock().unwrap().clone();
    let unacknowledged: HashSet<String> = load
        .pending
        .lock()
        .unwrap()
        .iter()
        .filter(|id| !acknowledged.contains(*id))
        .cloned()
        .collect();
    let twice: Vec<_> = processed.iter().filter(|(_, n)| **n > 1).collect();
    let unprocessed: Vec<_> = acknowledged
        .iter()
        .filter(|id| !processed.contains_key(*id))
        .collect();
    let forged_processed: Vec<_> = forged
        .iter()
        .filter(|id| processed.contains_key(*id))
        .collect();

    println!("soak: {:.1} s in all", started.elapsed().as_secs_f64());
    let tally = load.tally.lock().unwrap();
    let mut answers: Vec<_> = tally.answers.iter().collect();
    answers.sort();
    for (kind, count) in answers {
        println!("  answers {kind}: {count}");
    }
    println!("  deliveries acknowledged 2xx: {}", acknowledged.len());
    println!("  deliveries processed: {}", processed.len());
    println!("  forgeries sent: {}", forged.len());
    println!(
        "  never acknowledged (still being retried when the run ended): {}",
        unacknowledged.len()
    );
    println!(
        "check: answered 2xx but not processed: {}",
        unprocessed.len()
    );
    println!("check: processed more than once: {}", twice.len());
    println!("check: forgeries processed: {}", forged_processed.len());
    let ok = twice.is_empty() && unprocessed.is_empty() && forged_processed.is_empty();
    println!("{}", if ok { "soak: PASS" } else { "soak: FAIL" });
    drop(redis);
    ok
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map_or("", String::as_str);
    let ok = match arg(0) {
        "" | "replay" => replay_soak().await,
        "inbox" => inbox::soak().await,
        "inbox-receiver" => return inbox::receiver(arg(1)).await,
        "inbox-worker" => return inbox::worker(arg(1), arg(2), arg(3)).await,
        other => {
            eprintln!("soak: unknown mode {other:?}; expected `inbox` or nothing");
            std::process::exit(2);
        }
    };
    std::process::exit(if ok { 0 } else { 1 });
}

/// The inbox's soak run: receivers, workers and a sender in processes of their own.
mod inbox {
    use std::{
        io::{BufRead, BufReader, Read, Write},
        path::Path,
        sync::atomic::AtomicBool,
    };

    use tower_webhook::inbox::{InboxLayer, InboxStore, RedisInbox, Worker};

    use super::*;

    /// How long a killed worker's claim stays invisible before another takes it.
    const VISIBILITY: Duration = Duration::from_secs(2);

    /// Exits when the soak run that started this process ends, however it ends: its end of
    /// our standard input closes.
    fn exit_with_parent() {
        std::thread::spawn(|| {
            let mut byte = [0u8; 1];
            while matches!(std::io::stdin().read(&mut byte), Ok(n) if n > 0) {}
            std::process::exit(0);
        });
    }

    /// A number for jitter and chaos (not for secrets): std's per-process random hash keys.
    fn random_below(n: u64) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos()),
        );
        hasher.finish() % n.max(1)
    }

    /// The inbox, retrying while Redis is away (a worker restarted while Redis restarts).
    async fn connect(url: &str) -> RedisInbox {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match RedisInbox::connect(url).await {
                Ok(store) => return store.name("soak"),
                Err(error) if Instant::now() < deadline => {
                    eprintln!("soak: connecting to Redis: {error}; trying again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("Redis unreachable for 30 s: {error}"),
            }
        }
    }

    /// A receiver process: verifies, appends, answers 202; prints its address first.
    pub async fn receiver(url: &str) {
        exit_with_parent();
        let store: Arc<dyn InboxStore> = Arc::new(connect(url).await);
        let stripe = presets::find("stripe").unwrap();
        let app = Router::new()
            .route("/hook", post(|| async { "not reached" }))
            .route_layer(InboxLayer::for_preset(store, stripe).unwrap())
            .route_layer(WebhookSignatureLayer::new(presets::stripe(SECRET)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        axum::serve(listener, app).await.unwrap();
    }

    /// A worker process: its handler works a few milliseconds (so kills land mid-call),
    /// then appends the event id to `record` and fsyncs it before answering 2xx.
    pub async fn worker(url: &str, name: &str, record: &str) {
        exit_with_parent();
        let store = connect(url).await;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(record)
            .unwrap();
        let file = Arc::new(Mutex::new(file));
        let handlers = Router::new().route(
            "/hook",
            post(move |body: String| {
                let file = Arc::clone(&file);
                async move {
                    tokio::time::sleep(Duration::from_millis(random_below(20))).await;
                    let event: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let Some(id) = event["id"].as_str() else {
                        return StatusCode::UNPROCESSABLE_ENTITY;
                    };
                    let mut file = file.lock().unwrap();
                    // One write per line, so a kill leaves whole lines or a torn last one
                    // (which the check ignores: that call never answered).
                    let written = file.write_all(format!("{id}\n").as_bytes());
                    if written.and_then(|()| file.sync_data()).is_err() {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    StatusCode::NO_CONTENT
                }
            }),
        );
        Worker::new(Arc::new(store), handlers)
            .name(name)
            .concurrency(4)
            .max_attempts(100)
            .visibility_timeout(VISIBILITY)
            .backoff(Duration::from_millis(10), Duration::from_millis(500))
            .poll_interval(Duration::from_millis(50))
            .run(std::future::pending())
            .await;
    }

    /// Each event id a worker recorded, with how many times (whole lines only).
    fn processed(dir: &Path) -> HashMap<String, u32> {
        let mut processed = HashMap::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let whole = text.rfind('\n').map_or("", |end| &text[..end]);
            for id in whole.lines() {
                *processed.entry(id.to_owned()).or_default() += 1;
            }
        }
        processed
    }

    /// The program itself, started again with `args` as a child that exits with us.
    fn child(args: &[&str], stdout: Stdio) -> Child {
        Command::new(std::env::current_exe().unwrap())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }

    /// The worker processes: each slot started again after each kill, recording into a
    /// file of its own per life.
    struct Workers {
        url: String,
        dir: PathBuf,
        slots: Vec<Option<Child>>,
        lives: u32,
        kills: u32,
    }

    impl Workers {
        fn start(&mut self, slot: usize) {
            self.lives += 1;
            let record = self.dir.join(format!("worker-{slot}-{}.log", self.lives));
            let name = format!("soak-worker-{slot}");
            self.slots[slot] = Some(child(
                &["inbox-worker", &self.url, &name, record.to_str().unwrap()],
                Stdio::null(),
            ));
        }

        fn kill(&mut self, slot: usize) {
            if let Some(mut worker) = self.slots[slot].take() {
                let _ = worker.kill();
                let _ = worker.wait();
                self.kills += 1;
            }
        }
    }

    impl Drop for Workers {
        fn drop(&mut self) {
            for slot in 0..self.slots.len() {
                self.kill(slot);
            }
        }
    }

    /// The receivers, stopped when dropped.
    struct Receivers(Vec<Child>);

    impl Drop for Receivers {
        fn drop(&mut self) {
            for receiver in &mut self.0 {
                let _ = receiver.kill();
                let _ = receiver.wait();
            }
        }
    }

    /// The sender: what it sent, what was answered 2xx, what it must retry.
    struct Sender {
        addrs: [SocketAddr; 2],
        client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
        answers: Mutex<HashMap<String, u64>>,
        sent: Mutex<HashSet<String>>,
        acknowledged: Mutex<HashSet<String>>,
        pending: Mutex<Vec<String>>,
    }

    impl Sender {
        /// One attempt of delivery `id`, signed now, to receiver `to`; whether it was 2xx.
        async fn attempt(&self, id: &str, to: usize) -> bool {
            self.sent.lock().unwrap().insert(id.to_owned());
            let body = format!(r#"{{"id":"{id}","object":"event","type":"charge.succeeded"}}"#);
            let headers = presets::stripe(SECRET).sign_message(&Message::new(body.as_bytes()));
            let mut request = Request::post(format!("http://{}/hook", self.addrs[to % 2]))
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            request.headers_mut().extend(headers);
            let answer = match self.client.request(request).await {
                Ok(response) => {
                    let status = response.status();
                    let _ = response.into_body().collect().await;
                    status.to_string()
                }
                Err(_) => "connection failed".to_owned(),
            };
            let ok = answer.starts_with('2');
            *self.answers.lock().unwrap().entry(answer).or_default() += 1;
            if ok {
                self.acknowledged.lock().unwrap().insert(id.to_owned());
            } else {
                self.pending.lock().unwrap().push(id.to_owned());
            }
            ok
        }

        /// Delivery `n`, and now and then a duplicate, a concurrent copy or a retry.
        async fn step(self: &Arc<Self>, n: u64) {
            let id = format!("evt_soak_{n}");
            let to = n as usize;
            match n % 10 {
                // Two copies at once, one to each receiver: stored once.
                0 => {
                    let (a, b) = (Arc::clone(self), Arc::clone(self));
                    let (id_a, id_b) = (id.clone(), id.clone());
                    let copies = (
                        tokio::spawn(async move { a.attempt(&id_a, 0).await }),
                        tokio::spawn(async move { b.attempt(&id_b, 1).await }),
                    );
                    let _ = copies.0.await;
                    let _ = copies.1.await;
                }
                // A delivery already answered 2xx, re-signed: a duplicate, not stored again.
                1 | 5 => {
                    let again = {
                        let acknowledged = self.acknowledged.lock().unwrap();
                        let pick = random_below(acknowledged.len() as u64) as usize;
                        acknowledged.iter().nth(pick).cloned()
                    };
                    if let Some(again) = again {
                        self.attempt(&again, to + 1).await;
                    }
                    self.attempt(&id, to).await;
                }
                // A retry of one not answered 2xx (Redis was away), as senders retry.
                2 | 7 => {
                    let retry = self.pending.lock().unwrap().pop();
                    if let Some(retry) = retry {
                        self.attempt(&retry, to + 1).await;
                    }
                    self.attempt(&id, to).await;
                }
                _ => {
                    self.attempt(&id, to).await;
                }
            }
        }
    }

    fn env(name: &str, default: u64, range: (u64, u64)) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
            .clamp(range.0, range.1)
    }

    /// The inbox's soak run; whether every check held.
    pub async fn soak() -> bool {
        let seconds = env("SOAK_SECONDS", 45, (10, 600));
        let deliveries = env("SOAK_DELIVERIES", 2000, (10, 1_000_000));
        let clients = env("SOAK_CLIENTS", 8, (1, 64));

        let mut redis = Redis::start();
        let url = format!("redis://127.0.0.1:{}/", redis.port);
        let records = redis.dir.join("processed");
        std::fs::create_dir_all(&records).unwrap();

        let mut receivers = Receivers(
            (0..2)
                .map(|_| child(&["inbox-receiver", &url], Stdio::piped()))
                .collect(),
        );
        let mut addrs = Vec::new();
        for receiver in &mut receivers.0 {
            let mut line = String::new();
            BufReader::new(receiver.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            addrs.push(
                line.trim()
                    .parse::<SocketAddr>()
                    .expect("a receiver's address"),
            );
        }
        let workers = Arc::new(Mutex::new(Workers {
            url: url.clone(),
            dir: records.clone(),
            slots: vec![None, None],
            lives: 0,
            kills: 0,
        }));
        for slot in 0..2 {
            workers.lock().unwrap().start(slot);
        }
        let sender = Arc::new(Sender {
            addrs: [addrs[0], addrs[1]],
            client: Client::builder(TokioExecutor::new()).build_http(),
            answers: Mutex::default(),
            sent: Mutex::default(),
            acknowledged: Mutex::default(),
            pending: Mutex::default(),
        });
        println!(
            "soak inbox: {deliveries} deliveries over {seconds} s, {clients} clients, 2 receivers, \
             2 workers, Redis (appendfsync always) on port {}",
            redis.port
        );

        let started = Instant::now();
        let sending = Duration::from_secs(seconds);
        let next = Arc::new(AtomicU64::new(0));
        let clients: Vec<_> = (0..clients)
            .map(|_| {
                let (sender, next) = (Arc::clone(&sender), Arc::clone(&next));
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= deliveries {
                            break;
                        }
                        // Spread evenly over the sending time.
                        let due = started + sending.mul_f64(n as f64 / deliveries as f64);
                        tokio::time::sleep_until(due.into()).await;
                        sender.step(n).await;
                    }
                })
            })
            .collect();

        // Chaos: a worker killed with SIGKILL every 1 to 3 s, started again within a second.
        let chaos_stop = Arc::new(AtomicBool::new(false));
        let chaos = {
            let (workers, stop) = (Arc::clone(&workers), Arc::clone(&chaos_stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(1000 + random_below(2000))).await;
                    let slot = random_below(2) as usize;
                    workers.lock().unwrap().kill(slot);
                    tokio::time::sleep(Duration::from_millis(random_below(1000))).await;
                    workers.lock().unwrap().start(slot);
                }
            })
        };

        // Halfway, Redis is killed (SIGKILL) and comes back two seconds later.
        tokio::time::sleep(sending / 2).await;
        redis.stop();
        let stopped_at = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(2)).await;
        redis.spawn();
        println!(
            "soak inbox: Redis killed at {stopped_at:.1} s, back at {:.1} s",
            started.elapsed().as_secs_f64()
        );

        for client in clients {
            client.await.unwrap();
        }
        chaos_stop.store(true, Ordering::Relaxed);
        chaos.await.unwrap();
        println!(
            "soak inbox: sending done at {:.1} s",
            started.elapsed().as_secs_f64()
        );

        // As senders do, retry what was not answered 2xx until it is (bounded).
        let settle = Instant::now() + Duration::from_secs(30);
        loop {
            let retry = sender.pending.lock().unwrap().pop();
            let Some(retry) = retry else { break };
            if sender.acknowledged.lock().unwrap().contains(&retry) {
                continue;
            }
            if Instant::now() > settle {
                sender.pending.lock().unwrap().push(retry);
                break;
            }
            if !sender.attempt(&retry, 0).await {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }

        // Let the workers drain the inbox (bounded): a killed worker's claim comes back
        // after the visibility timeout.
        let acknowledged = sender.acknowledged.lock().unwrap().clone();
        let drain = Instant::now() + Duration::from_secs(60);
        let mut done = processed(&records);
        while Instant::now() < drain && acknowledged.iter().any(|id| !done.contains_key(id)) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            done = processed(&records);
        }
        let stats = connect(&url).await.stats().await;
        drop(receivers);
        let (kills, lives) = {
            let mut workers = workers.lock().unwrap();
            let kills = workers.kills;
            for slot in 0..2 {
                workers.kill(slot);
            }
            (kills, workers.lives)
        };
        let done = processed(&records);

        let sent = sender.sent.lock().unwrap().clone();
        let lost: Vec<_> = acknowledged
            .iter()
            .filter(|id| !done.contains_key(*id))
            .collect();
        let unknown: Vec<_> = done.keys().filter(|id| !sent.contains(*id)).collect();
        let again = done.values().filter(|times| **times > 1).count();
        let never_acknowledged = sent.len() - acknowledged.len();

        println!(
            "soak inbox: {:.1} s in all",
            started.elapsed().as_secs_f64()
        );
        let mut answers: Vec<_> = sender.answers.lock().unwrap().clone().into_iter().collect();
        answers.sort();
        for (answer, count) in answers {
            println!("  answers {answer}: {count}");
        }
        println!("  worker kills (SIGKILL): {kills}, worker processes started: {lives}");
        println!("  deliveries sent: {}", sent.len());
        println!("  deliveries answered 2xx: {}", acknowledged.len());
        println!("  deliveries processed: {}", done.len());
        println!("  processed again after a worker was killed mid-call (at least once): {again}");
        println!(
            "  never answered 2xx (still being retried when the run ended): {never_acknowledged}"
        );
        match stats {
            Ok(stats) => println!(
                "  inbox at the end: {} pending, {} dead letters",
                stats.pending, stats.dead
            ),
            Err(error) => println!("  inbox at the end: stats failed: {error}"),
        }
        println!(
            "check: answered 2xx but not processed (lost): {}",
            lost.len()
        );
        for id in lost.iter().take(10) {
            println!("  lost: {id}");
        }
        println!("check: processed but never sent: {}", unknown.len());
        let ok = lost.is_empty() && unknown.is_empty() && !acknowledged.is_empty();
        println!(
            "{}",
            if ok {
                "soak inbox: PASS"
            } else {
                "soak inbox: FAIL"
            }
        );
        drop(redis);
        ok
    }
}
