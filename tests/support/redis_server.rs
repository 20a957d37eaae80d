//! Real Redis servers for the Redis tests (the replay guard's, the inbox's): a
//! `redis-server` on a free loopback port, or a three-master Redis Cluster, each with its
//! files in a directory of its own, and a skip notice where the tools are missing.

use std::{
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

/// Whether `tools` are installed; if not, prints the skip notice for `test`.
pub fn installed(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_err()
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!(
        "SKIPPED {test}: {missing:?} not installed (Debian: apt-get install redis-server); .ci/run installs it"
    );
    false
}

/// A directory of its own under the temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tower-webhook-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` on a free loopback port, its files in a directory of its own; killed
/// (SIGKILL, as a crash) and its files removed when dropped.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    durable: bool,
    dir: TempDir,
}

impl Redis {
    /// One without persistence, or `None` (after the skip notice) without `redis-server`.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_with(test, false)
    }

    /// One with `appendonly yes` and `appendfsync always`: what it acknowledged survives
    /// [`crash`](Self::crash) and [`spawn`](Self::spawn).
    pub fn start_durable(test: &str) -> Option<Self> {
        Self::start_with(test, true)
    }

    fn start_with(test: &str, durable: bool) -> Option<Self> {
        if !installed(test, &["redis-server"]) {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self {
            port,
            child: None,
            durable,
            dir: TempDir::new("redis"),
        };
        redis.spawn();
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it (again, on the same port and files).
    pub fn spawn(&mut self) {
        let persistence: &[&str] = if self.durable {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(persistence)
            .arg("--dir")
            .arg(&self.dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_for_port(self.port);
    }

    /// Kills it with SIGKILL: no shutdown, no final write.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.crash();
    }
}

/// Three cluster masters on loopback, joined with `redis-cli --cluster create`; stopped and
/// their files removed when dropped.
pub struct Cluster {
    pub ports: Vec<u16>,
    children: Vec<Child>,
    dir: TempDir,
}

/// A free port whose cluster bus port (+10000) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl Cluster {
    /// Starts one, or returns `None` (after the skip notice) without the tools.
    pub fn start(test: &str) -> Option<Self> {
        if !installed(test, &["redis-server", "redis-cli"]) {
            return None;
        }
        let mut cluster = Self {
            ports: Vec::new(),
            children: Vec::new(),
            dir: TempDir::new("inbox-cluster"),
        };
        for _ in 0..3 {
            let port = free_cluster_port();
            let dir = cluster.dir.0.join(port.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            cluster.children.push(child);
            cluster.ports.push(port);
        }
        for port in &cluster.ports {
            wait_for_port(*port);
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(created.success(), "redis-cli --cluster create failed");
        // Every node must see the whole cluster before clients load the slot map.
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in &cluster.ports {
            while !redis_cli(*port, &["cluster", "info"]).contains("cluster_state:ok") {
                assert!(
                    Instant::now() < deadline,
                    "the cluster did not become ready"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Some(cluster)
    }

    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}/"))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `redis-cli -p <port> <args>`'s output.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}
