//! A soak run of the replay guard: two instances sharing one Redis, driven for a bounded time
//! with signed deliveries, re-signed duplicates, concurrent copies and forgeries, with Redis
//! restarted halfway. Then it checks that every delivery answered 2xx was processed exactly
//! once, that none was processed twice, and that no forgery was processed.
//!
//! ```sh
//! scripts/soak.sh            # 60 s; SOAK_SECONDS=600 for the longest run it allows
//! ```
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

#[tokio::main]
async fn main() {
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
    std::process::exit(if ok { 0 } else { 1 });
}
