//! A flood of large bodies that never finish, against a real axum server with a 32 MiB body
//! budget: the process's live allocation grows by at most the budget and a small constant,
//! the excess is answered as soon as it no longer fits, and a signed webhook sent during the
//! flood gets 200.
//!
//! Counted by a global allocator over the whole process (the server, the flood's clients
//! and the test itself), live bytes: allocated minus freed.

mod support;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tower_webhook::{presets, sign::Message, verify::BodyBudget, WebhookSignatureLayer};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MIB: usize = 1024 * 1024;
const KEY: &str = "budget-test-key";
const CONNECTIONS: usize = 400;
const BUDGET: usize = 32 * MIB;
/// What each connection costs beyond its body, on both sides (this process is the server
/// and the flood's clients): hyper's buffers and tasks, the clients' tasks and sockets.
/// Every connection's body is read until it no longer fits the budget, and hyper's read
/// buffer grows while a client sends fast (up to hyper's `max_buf_size`, about 400 KiB):
/// measured at about 95 KiB a connection; without the budget each would hold its 1 MiB body.
const PER_CONNECTION_ALLOWANCE: usize = 128 * 1024;

static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// One attacker: a well-formed request with a wrong signature and a 1 MiB `Content-Length`,
/// all but the last byte of the body, then nothing. Returns whether the server answered or
/// closed the connection within `patience`, and the open connection if it did not.
async fn stall(addr: std::net::SocketAddr, patience: Duration) -> (bool, Option<TcpStream>) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return (true, None);
    };
    let head = format!(
        "POST /hook HTTP/1.1\r\nhost: test\r\ncontent-length: {MIB}\r\n\
         loopwise-webhook-signature: {}\r\n\r\n",
        "0".repeat(64)
    );
    let mut sent = stream.write_all(head.as_bytes()).await.is_ok();
    let mut remaining = MIB - 1;
    while sent && remaining > 0 {
        let chunk = &CHUNK[..remaining.min(CHUNK.len())];
        sent = stream.write_all(chunk).await.is_ok();
        remaining -= chunk.len();
    }
    let mut first = [0u8; 16];
    match tokio::time::timeout(patience, stream.read(&mut first)).await {
        Ok(_) => (true, None),
        Err(_) => (false, Some(stream)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_stalled_bodies_stays_within_the_budget_and_a_real_webhook_gets_through() {
    let app = Router::new().route(
        "/hook",
        post(|body: Bytes| async move { body.len().to_string() }).layer(
            WebhookSignatureLayer::new(presets::loopwise(KEY))
                .max_body_size(2 * MIB)
                .body_budget(BodyBudget::new(BUDGET)),
        ),
    );
    let addr = support::serve_axum(app).await;
    // Warm the server and the client up, so their one-off allocations are in the baseline.
    let warm = Request::post("/hook")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    assert_eq!(support::send(addr, warm).await.0, StatusCode::UNAUTHORIZED);
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);

    let started = tokio::time::Instant::now();
    let flood: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(stall(addr, Duration::from_secs(30))))
        .collect();

    // A real webhook while the flood holds everything it can.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let body = r#"{"event":"order.paid","data":{"id":"ord_during_flood"}}"#;
    let mut legit = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    legit
        .headers_mut()
        .extend(presets::loopwise(KEY).sign_message(&Message::new(body.as_bytes())));
    let (status, _, answer) = support::send(addr, legit).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, body.len().to_string());

    let mut answered = 0;
    let mut held = Vec::new();
    for attacker in flood {
        let (early, stream) = attacker.await.unwrap();
        answered += usize::from(early);
        held.extend(stream);
    }
    let peak = PEAK.load(Ordering::Relaxed) - baseline;
    let allowance = BUDGET + CONNECTIONS * PER_CONNECTION_ALLOWANCE;
    eprintln!(
        "flood: {answered} answered, {} held, peak +{:.1} MiB (allowed {:.1} MiB), {:.2} s",
        held.len(),
        peak as f64 / MIB as f64,
        allowance as f64 / MIB as f64,
        started.elapsed().as_secs_f64()
    );

    // Large bodies may hold seven eighths of the budget; every other one is answered.
    assert!(held.len() <= BUDGET * 7 / 8 / MIB, "{} held", held.len());
    assert_eq!(answered, CONNECTIONS - held.len());
    assert!(
        peak <= allowance,
        "live allocation grew by {peak} bytes, over the {allowance} allowed"
    );
}
