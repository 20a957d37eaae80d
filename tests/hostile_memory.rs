//! Memory and the body budget against clients without any secret, through real servers on
//! 127.0.0.1: a body in thousands of tiny chunks holds about its own size, not a read buffer
//! per chunk; connections and HTTP/2 streams that declare bodies and send nothing hold none
//! of the budget; a slow key lookup holds none of it either; a body that stalls is cut off
//! at the read deadline and gives its share back.
//!
//! Heap is counted by a global allocator over the whole process (the server, the attackers'
//! clients and the test itself): live bytes, allocated minus freed, and their peak.
#![cfg(all(feature = "keys", feature = "tokio"))]

mod support;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    any::Any,
    convert::Infallible,
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
use http_body_util::{channel::Channel, Full};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tower_webhook::{
    keys::{FoundKeys, KeyName, KeyResolver},
    presets,
    sign::Message,
    verify::BodyBudget,
    WebhookSignatureLayer,
};

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

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const KEY: &str = "hostile-memory-key";

/// The tests measure one process-wide peak: run them one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts measuring: the peak from here on, over what is live now.
fn baseline() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

fn peak_since(baseline: usize) -> usize {
    PEAK.load(Ordering::Relaxed).saturating_sub(baseline)
}

fn loopwise_route(layer: WebhookSignatureLayer<tower_webhook::HmacScheme>) -> Router {
    Router::new().route(
        "/hook",
        post(|body: Bytes| async move { body.len().to_string() }).layer(layer),
    )
}

/// A Loopwise delivery of `body`, correctly signed.
fn signed(body: &'static str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    request
        .headers_mut()
        .extend(presets::loopwise(KEY).sign_message(&Message::new(body.as_bytes())));
    request
}

/// A chunked request with a wrong signature whose body is `chunks` one-byte chunks, each
/// written on its own with a pause (so the server reads them one by one, as from a slow
/// network), then the last chunk. Returns the status code.
async fn one_byte_chunks(addr: SocketAddr, chunks: usize) -> u16 {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let head = format!(
            "POST /hook HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\n\
             loopwise-webhook-signature: {}\r\n\r\n",
            "0".repeat(64)
        );
        stream.write_all(head.as_bytes()).unwrap();
        for _ in 0..chunks {
            if stream.write_all(b"1\r\nx\r\n").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut answer = [0u8; 12];
        if stream.read_exact(&mut answer).is_err() {
            return 0;
        }
        std::str::from_utf8(&answer[9..12])
            .ok()
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_one_byte_chunks_hold_less_than_a_mebibyte() {
    let _serial = SERIAL.lock().await;
    let app =
        loopwise_route(WebhookSignatureLayer::new(presets::loopwise(KEY)).max_body_size(64 * KIB));
    let addr = support::serve_axum(app).await;
    assert_eq!(one_byte_chunks(addr, 10).await, 401, "warm up");

    let before = baseline();
    assert_eq!(one_byte_chunks(addr, 20_000).await, 401);
    let peak = peak_since(before);
    eprintln!("20,000 one-byte chunks: peak +{} KiB", peak / KIB);
    assert!(peak < MIB, "the request held {peak} bytes at its peak");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_chunked_floods_stay_under_a_one_mebibyte_budget() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(MIB);
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
    );
    let addr = support::serve_axum(app).await;
    assert_eq!(one_byte_chunks(addr, 10).await, 401, "warm up");

    let before = baseline();
    let floods: Vec<_> = (0..4)
        .map(|_| tokio::spawn(one_byte_chunks(addr, 30_000)))
        .collect();
    for flood in floods {
        assert_eq!(flood.await.unwrap(), 401);
    }
    let peak = peak_since(before);
    eprintln!("4 x 30,000 one-byte chunks: peak +{} KiB", peak / KIB);
    assert!(
        peak < budget.total(),
        "four requests held {peak} bytes at their peak"
    );
    assert_eq!(budget.in_use(), 0, "every share came back");
}

/// Opens a connection that sends a request head declaring `length` body bytes and then
/// nothing; keeps it open.
async fn declare_and_idle(addr: SocketAddr, length: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /hook HTTP/1.1\r\nhost: test\r\ncontent-length: {length}\r\n\
         loopwise-webhook-signature: {}\r\n\r\n",
        "0".repeat(64)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Opens an HTTP/2 connection (prior knowledge) with `streams` requests that each declare
/// `length` body bytes and send no DATA; returns what keeps them open.
async fn idle_h2_streams(
    addr: SocketAddr,
    streams: usize,
    length: usize,
) -> Vec<Box<dyn Any + Send>> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let mut held: Vec<Box<dyn Any + Send>> = Vec::new();
    for _ in 0..streams {
        sender.ready().await.unwrap();
        let (tx, body) = Channel::<Bytes, Infallible>::new(1);
        let request = Request::post(format!("http://{addr}/hook"))
            .header("content-length", length)
            .header("loopwise-webhook-signature", "0".repeat(64))
            .body(body)
            .unwrap();
        held.push(Box::new(tx));
        held.push(Box::new(tokio::spawn(sender.send_request(request))));
    }
    held.push(Box::new(sender));
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_streams_leave_room_for_a_signed_webhook() {
    let _serial = SERIAL.lock().await;
    // Default settings: a 2 MiB limit and a 32 MiB budget.
    let budget = BodyBudget::default();
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
    );
    let addr = support::serve_axum(app).await;

    // 36 connections that declare 2 MiB and 64 that declare exactly the small-body size, and
    // 3 HTTP/2 connections with 200 streams each of 64 KiB: together far more than the budget.
    let mut idle = Vec::new();
    for i in 0..100 {
        let length = if i < 36 { 2 * MIB } else { 64 * KIB };
        idle.push(declare_and_idle(addr, length).await);
    }
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(idle_h2_streams(addr, 200, 64 * KIB).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        budget.in_use(),
        0,
        "nothing is held for bytes that never came"
    );

    let body = r#"{"event":"order.paid","data":{"id":"ord_while_idle"}}"#;
    let answer = tokio::time::timeout(Duration::from_secs(2), support::send(addr, signed(body)))
        .await
        .expect("answered within 2 s");
    assert_eq!(answer.0, StatusCode::OK);
    assert_eq!(answer.2, body.len().to_string());
    drop((idle, streams));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_for_their_keys_hold_none_of_the_budget() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(8 * MIB);
    let lookups = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&lookups);
    let slow = KeyResolver::from_fn(KeyName::path("/slow/{tenant}"), move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            Ok(Some(FoundKeys::new("slow-tenant-secret")))
        }
    });
    let app = Router::new()
        .route(
            "/slow/{tenant}",
            post(|body: Bytes| async move { body.len().to_string() }).layer(
                WebhookSignatureLayer::new(presets::stripe(slow)).body_budget(budget.clone()),
            ),
        )
        .merge(loopwise_route(
            WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        ));
    let addr = support::serve_axum(app).await;

    // 120 requests of 64 KiB each to a tenant whose key takes 2.5 s to look up.
    let waiting: Vec<_> = (0..120)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let head = format!(
                    "POST /slow/acme HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\n\
                     stripe-signature: t={},v1={}\r\n\r\n",
                    64 * KIB,
                    support::unix_now(),
                    "0".repeat(64)
                );
                stream.write_all(head.as_bytes()).await.unwrap();
                stream
            })
        })
        .collect();
    let mut held = Vec::new();
    for request in waiting {
        held.push(request.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        lookups.load(Ordering::SeqCst) >= 1,
        "the lookup has started"
    );
    assert_eq!(
        budget.in_use(),
        0,
        "a request waiting for its key holds no body bytes"
    );

    let body = r#"{"event":"order.paid","data":{"id":"ord_during_lookup"}}"#;
    let answer = support::send(addr, signed(body)).await;
    assert_eq!(answer.0, StatusCode::OK);
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_cut_off_at_its_deadline_and_gives_its_share_back() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::default();
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY))
            .body_budget(budget.clone())
            .body_timeout(Duration::from_secs(1)),
    );
    let addr = support::serve_axum(app).await;

    let mut stream = declare_and_idle(addr, 100 * KIB).await;
    for _ in 0..5 {
        stream.write_all(&[b'x'; 8 * KIB]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = budget.in_use();
    assert!(
        (40 * KIB..=100 * KIB).contains(&held),
        "40 KiB sent: {held} bytes held"
    );

    let mut answer = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
        .await
        .expect("answered at the deadline")
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 408");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(budget.in_use(), 0, "the share came back");

    let body = r#"{"event":"order.paid"}"#;
    assert_eq!(support::send(addr, signed(body)).await.0, StatusCode::OK);
}
