//! Attacks on how the verifying layer reads, holds and charges request bodies, by a client
//! without any secret, through real axum servers on 127.0.0.1 (HTTP/1.1 written by hand,
//! HTTP/2 framed by hand so frame sizes, their order and frames of unknown types are the
//! attacker's).
//!
//! Each test names what it tries; those under "Findings" failed before the weakness they
//! show was fixed. Heap is counted by a global allocator over the
//! whole process (server, attackers and test): live bytes, allocated minus freed.
#![cfg(all(feature = "keys", feature = "tokio"))]

mod support;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{routing::post, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{tcp::OwnedWriteHalf, TcpStream},
};
use tower_webhook::{
    keys::{FoundKeys, KeyError, KeyName, KeyResolver},
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
const KEY: &str = "attacks-body-key";

/// The tests measure one process-wide heap and share the machine's two cores: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// A Loopwise route at `/hook` answering the body's length, counting the calls that reach it.
fn loopwise_route(
    layer: WebhookSignatureLayer<tower_webhook::HmacScheme>,
    calls: &Arc<AtomicUsize>,
) -> Router {
    let calls = Arc::clone(calls);
    Router::new().route(
        "/hook",
        post(move |body: Bytes| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { body.len().to_string() }
        })
        .layer(layer),
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

const LEGIT: &str = r#"{"event":"order.paid","data":{"id":"ord_during_attack"}}"#;

/// Sends a correctly signed small webhook over its own HTTP/1.1 connection; its status.
async fn legit_status(addr: SocketAddr) -> StatusCode {
    tokio::time::timeout(Duration::from_secs(5), support::send(addr, signed(LEGIT)))
        .await
        .expect("the signed webhook is answered within 5 s")
        .0
}

/// Reads the status code of the next response on `stream`, or `None` if the server closed
/// the connection or said nothing within `patience`.
async fn status_within(stream: &mut TcpStream, patience: Duration) -> Option<u16> {
    let mut head = [0u8; 12];
    match tokio::time::timeout(patience, stream.read_exact(&mut head)).await {
        Ok(Ok(_)) => std::str::from_utf8(&head[9..12]).ok()?.parse().ok(),
        _ => None,
    }
}

/// Waits until `budget.in_use()` is `bytes` (the server runs on other tasks), at most 3 s.
async fn settle(budget: &BodyBudget, bytes: usize) -> usize {
    for _ in 0..300 {
        if budget.in_use() == bytes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    budget.in_use()
}

/// A hand-framed HTTP/2 client (prior knowledge): the attacker decides every frame.
mod h2 {
    use super::*;

    pub const DATA: u8 = 0;
    pub const HEADERS: u8 = 1;
    pub const RST_STREAM: u8 = 3;
    pub const SETTINGS: u8 = 4;
    pub const GOAWAY: u8 = 7;
    pub const END_STREAM: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    /// A frame type HTTP/2 receivers must ignore (RFC 9113, section 5.5).
    pub const UNKNOWN: u8 = 0xfa;

    /// What the server sent: per stream, whether its response ended and whether it was reset.
    #[derive(Default, Debug)]
    pub struct Seen {
        pub ended: Vec<u32>,
        pub reset: Vec<u32>,
        /// The error code of the server's GOAWAY, if it sent one.
        pub goaway: Option<u32>,
    }

    pub struct Client {
        write: OwnedWriteHalf,
        pub seen: Arc<Mutex<Seen>>,
        next: u32,
        out: Vec<u8>,
    }

    pub fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = payload.len();
        out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
    }

    fn integer(out: &mut Vec<u8>, first: u8, prefix_bits: u32, mut value: usize) {
        let max = (1usize << prefix_bits) - 1;
        if value < max {
            out.push(first | value as u8);
            return;
        }
        out.push(first | max as u8);
        value -= max;
        while value >= 128 {
            out.push((value % 128 + 128) as u8);
            value /= 128;
        }
        out.push(value as u8);
    }

    fn string(out: &mut Vec<u8>, value: &[u8]) {
        integer(out, 0, 7, value.len());
        out.extend_from_slice(value);
    }

    /// A POST to `path` with `headers`, as literals without indexing (no Huffman).
    pub fn request_block(path: &str, headers: &[(String, String)]) -> Vec<u8> {
        let mut block = vec![0x83, 0x86]; // :method POST, :scheme http
        integer(&mut block, 0x00, 4, 4); // :path, name from the static table
        string(&mut block, path.as_bytes());
        integer(&mut block, 0x00, 4, 1); // :authority
        string(&mut block, b"test");
        for (name, value) in headers {
            block.push(0x00);
            string(&mut block, name.as_bytes());
            string(&mut block, value.as_bytes());
        }
        block
    }

    impl Client {
        pub async fn connect(addr: SocketAddr) -> Self {
            let tcp = TcpStream::connect(addr).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let (mut read, mut write) = tcp.into_split();
            let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
            frame(&mut hello, SETTINGS, 0, 0, &[]);
            write.write_all(&hello).await.unwrap();
            // The server's SETTINGS must be acknowledged before it counts ours as known.
            let mut settings_acked = false;
            while !settings_acked {
                let (kind, flags, _, _) = read_frame(&mut read).await.unwrap();
                if kind == SETTINGS && flags & 1 == 0 {
                    let mut ack = Vec::new();
                    frame(&mut ack, SETTINGS, 1, 0, &[]);
                    write.write_all(&ack).await.unwrap();
                    settings_acked = true;
                }
            }
            let seen = Arc::new(Mutex::new(Seen::default()));
            let recorded = Arc::clone(&seen);
            tokio::spawn(async move {
                while let Some((kind, flags, stream, payload)) = read_frame(&mut read).await {
                    let mut seen = recorded.lock().unwrap();
                    match kind {
                        HEADERS | DATA if flags & END_STREAM != 0 => seen.ended.push(stream),
                        RST_STREAM => seen.reset.push(stream),
                        GOAWAY => {
                            seen.goaway = payload.get(4..8).map(|code| {
                                u32::from_be_bytes([code[0], code[1], code[2], code[3]])
                            });
                        }
                        _ => {}
                    }
                }
            });
            Self {
                write,
                seen,
                next: 1,
                out: Vec::new(),
            }
        }

        /// Queues a new stream's HEADERS; returns its id.
        pub fn open(&mut self, block: &[u8]) -> u32 {
            let id = self.next;
            self.next += 2;
            frame(&mut self.out, HEADERS, END_HEADERS, id, block);
            id
        }

        /// Queues `data` on `stream` in frames of at most 16 KiB (the default largest frame).
        pub fn data(&mut self, stream: u32, data: &[u8], end: bool) {
            let pieces: Vec<&[u8]> = data.chunks(16 * KIB).collect();
            let last = pieces.len().saturating_sub(1);
            for (i, piece) in pieces.iter().enumerate() {
                let flags = if end && i == last { END_STREAM } else { 0 };
                frame(&mut self.out, DATA, flags, stream, piece);
            }
            if pieces.is_empty() {
                frame(
                    &mut self.out,
                    DATA,
                    if end { END_STREAM } else { 0 },
                    stream,
                    &[],
                );
            }
        }

        pub fn raw(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
            frame(&mut self.out, kind, flags, stream, payload);
        }

        /// Writes everything queued; `false` if the server has closed the connection.
        pub async fn flush(&mut self) -> bool {
            let out = std::mem::take(&mut self.out);
            self.write.write_all(&out).await.is_ok()
        }
    }

    async fn read_frame(
        read: &mut tokio::net::tcp::OwnedReadHalf,
    ) -> Option<(u8, u8, u32, Vec<u8>)> {
        let mut head = [0u8; 9];
        read.read_exact(&mut head).await.ok()?;
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        read.read_exact(&mut payload).await.ok()?;
        Some((head[3], head[4], stream, payload))
    }
}

/// The HEADERS block of a Loopwise request with a wrong signature and `extra` headers.
fn forged_h2_headers(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![("loopwise-webhook-signature".to_owned(), "0".repeat(64))];
    headers.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    h2::request_block("/hook", &headers)
}

/// The signature headers of a correctly signed Loopwise delivery of `body`.
fn signed_pairs(body: &[u8]) -> Vec<(String, String)> {
    presets::loopwise(KEY)
        .sign_message(&Message::new(body))
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

/// A request head for `body` (`Content-Length`, or chunked when `None`), signed or forged,
/// with `extra` header lines.
fn h1_head(body: &[u8], length: Option<usize>, signed: bool, extra: &str) -> String {
    let mut head = String::from("POST /hook HTTP/1.1\r\nhost: test\r\n");
    match length {
        Some(length) => head.push_str(&format!("content-length: {length}\r\n")),
        None => head.push_str("transfer-encoding: chunked\r\n"),
    }
    let signature = if signed {
        signed_pairs(body)
    } else {
        vec![("loopwise-webhook-signature".to_owned(), "0".repeat(64))]
    };
    for (name, value) in signature {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(extra);
    head.push_str("\r\n");
    head
}

/// One chunk of a chunked body.
fn chunk(piece: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", piece.len()).into_bytes();
    out.extend_from_slice(piece);
    out.extend_from_slice(b"\r\n");
    out
}

/// `body` as chunks of at most `size` bytes, then the last chunk and `trailers` (header
/// lines, each ending in CRLF).
fn chunks(body: &[u8], size: usize, trailers: &str) -> Vec<u8> {
    let mut out: Vec<u8> = body.chunks(size.max(1)).flat_map(chunk).collect();
    out.extend_from_slice(b"0\r\n");
    out.extend_from_slice(trailers.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// CPU time of every thread of this process so far, in nanoseconds (Linux's schedstat).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

// ---------------------------------------------------------------------------------------
// Findings: each failed before its weakness was fixed.
// ---------------------------------------------------------------------------------------

/// Per-tenant keys at `/t/{tenant}`: only `acme` exists.
fn tenant_app() -> Router {
    let resolver =
        KeyResolver::from_fn(KeyName::path("/t/{tenant}"), |tenant: String| async move {
            Ok::<_, KeyError>((tenant == "acme").then(|| FoundKeys::new("acme-secret")))
        });
    Router::new().route(
        "/t/{tenant}",
        post(|body: Bytes| async move { body.len().to_string() })
            .layer(WebhookSignatureLayer::new(presets::stripe(resolver))),
    )
}

/// The first status line a tenant's route answers a well-formed, forged request with, before
/// any of its body is sent: `Expect: 100-continue` asks whether the server wants the body.
async fn first_answer(addr: SocketAddr, tenant: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /t/{tenant} HTTP/1.1\r\nhost: test\r\ncontent-length: 20\r\n\
         expect: 100-continue\r\nstripe-signature: t={},v1={}\r\n\r\n",
        support::unix_now(),
        "0".repeat(64)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    status_within(&mut stream, Duration::from_secs(1)).await
}

/// The layer answers an unknown tenant with the same `401` body as a bad signature so a
/// prober cannot list tenants, but it answers it before reading the body, and a known tenant
/// only after: `100 Continue` (or silence, without `Expect`) means "this tenant exists",
/// in one round trip, without a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tenant_is_answered_like_a_known_one_before_its_body() {
    let _serial = SERIAL.lock().await;
    let addr = support::serve_axum(tenant_app()).await;
    // Twice each: the first asks the key source, the second is answered from its cache.
    for round in ["looked up", "cached"] {
        let known = first_answer(addr, "acme").await;
        let unknown = first_answer(addr, "nobody").await;
        assert_eq!(
            known,
            Some(100),
            "{round}: the known tenant's body is wanted"
        );
        assert_eq!(
            unknown, known,
            "{round}: an unknown tenant must look the same"
        );
    }
}

/// Opens `connections` HTTP/2 connections of `streams` streams each; every stream sends a
/// body without a length as two one-byte DATA frames and then nothing.
async fn two_byte_streams(addr: SocketAddr, connections: usize, streams: usize) -> Vec<h2::Client> {
    let mut clients = Vec::new();
    for _ in 0..connections {
        let mut client = h2::Client::connect(addr).await;
        for _ in 0..streams {
            let id = client.open(&forged_h2_headers(&[]));
            client.data(id, b"{", false);
            client.data(id, b"\"", false);
        }
        assert!(client.flush().await);
        clients.push(client);
    }
    clients
}

/// Waits until `budget.in_use()` has not changed for 100 ms; returns it.
async fn steady(budget: &BodyBudget) -> usize {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = budget.in_use();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// A body's second frame makes the buffer allocate at least `MIN_OWNED` (4 KiB), and the
/// budget is charged for it: two bytes sent hold 4 KiB of the shared budget, 2,048 times
/// what they cost. HTTP/2 multiplies it without more connections: 256 streams, 512 bytes
/// sent in all, fill a 1 MiB budget; 41 connections of 200 streams (16 KiB sent) fill the
/// default 32 MiB one, and every webhook is answered `503` until the body deadline (30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_byte_bodies_on_many_http2_streams_leave_room_for_a_signed_webhook() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(MIB);
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    let attack = two_byte_streams(addr, 2, 128).await;
    let held = steady(&budget).await;
    eprintln!("256 streams x 2 bytes: {held} bytes of the budget held");
    assert!(
        held <= 4 * 512,
        "512 bytes sent hold {held} bytes of the budget"
    );
    assert_eq!(legit_status(addr).await, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    drop(attack);
}

/// Opens one HTTP/2 connection of `streams` streams: all their HEADERS first, then per
/// stream (if `data`) one DATA frame of one byte, each followed by a 16 KiB frame of an
/// unknown type (which the server must ignore) so every DATA frame lands in a read buffer of
/// its own. Returns the client and the live heap it added, per stream.
async fn pinning_streams(addr: SocketAddr, streams: usize, data: bool) -> (h2::Client, usize) {
    let before = live();
    let mut client = h2::Client::connect(addr).await;
    let ids: Vec<u32> = (0..streams)
        .map(|_| client.open(&forged_h2_headers(&[])))
        .collect();
    assert!(client.flush().await);
    let filler = vec![0u8; 16 * KIB];
    for id in ids {
        if data {
            client.data(id, b"{", false);
        }
        client.raw(h2::UNKNOWN, 0, 0, &filler);
        assert!(client.flush().await);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let added = live().saturating_sub(before);
    (client, added / streams)
}

/// A body's first frame is kept as it came, and charged for its length; but a frame is a
/// slice of the server's read buffer and keeps all of it alive. An HTTP/2 stream that sends
/// one byte and stalls, with filler after it, keeps a read buffer of about 8 KiB alive for
/// the 30 s deadline, charged one byte: 200 streams a connection, 1.6 MiB a connection
/// that the budget never sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_one_byte_first_frame_holds_about_what_it_is_charged() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    let (warm, _) = pinning_streams(addr, 10, true).await;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (idle, bare) = pinning_streams(addr, 150, false).await;
    let (stalled, with_byte) = pinning_streams(addr, 150, true).await;
    let charged = budget.in_use();
    eprintln!(
        "per stream: {bare} bytes without data, {with_byte} with one byte; {charged} bytes charged"
    );
    assert!(
        with_byte <= bare + KIB,
        "one byte sent holds {} more bytes a stream",
        with_byte - bare
    );
    drop((idle, stalled));
}

/// Serves `app` on a tokio runtime built with I/O but without timers (`enable_io()` only):
/// axum and hyper run on it unchanged.
fn serve_without_timers(app: Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// The body deadline (on by default with `tokio`) makes its timer on the first `Pending`;
/// `tokio::time::sleep` panics on a runtime without timers. One correctly signed webhook
/// whose body arrives 300 ms after its head panics the connection task (with
/// `panic = "abort"`, the process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_on_a_runtime_without_timers_is_answered_not_panicked() {
    let _serial = SERIAL.lock().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve_without_timers(loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)),
        &calls,
    ));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = h1_head(LEGIT.as_bytes(), Some(LEGIT.len()), true, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stream.write_all(LEGIT.as_bytes()).await;
    assert_eq!(
        status_within(&mut stream, Duration::from_secs(3)).await,
        Some(200)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A body that is always ready with empty data frames.
struct EmptyForever;

impl http_body::Body for EmptyForever {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::new()))))
    }
}

/// The deadline is checked only when the body is `Pending`; a body that is always ready
/// with empty frames (no bytes, so never over the limit) yields every 64 frames but never
/// ends: the request spins for ever. Neither hyper's HTTP/1.1 nor h2 hands over such
/// frames (h2 drops empty DATA frames), so only a body from another layer or a custom
/// server can: not through a real server, hence a direct call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_endless_empty_frames_still_meets_its_deadline() {
    use tower::{Layer, ServiceExt};
    let _serial = SERIAL.lock().await;
    let inner = tower::service_fn(|_: Request<tower_webhook::body::BufferedBody>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    });
    let service = WebhookSignatureLayer::new(presets::loopwise(KEY))
        .body_timeout(Duration::from_secs(1))
        .layer(inner);
    let request = Request::post("/hook")
        .header("loopwise-webhook-signature", "0".repeat(64))
        .body(EmptyForever)
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), service.oneshot(request))
        .await
        .expect("answered by the 1 s deadline")
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
}

// ---------------------------------------------------------------------------------------
// Attacks that fail: kept so they keep failing.
// ---------------------------------------------------------------------------------------

/// Tries to leak a reservation: every way a request can end (client gone mid-body, past the
/// limit, at the deadline, an HTTP/2 stream reset by the client or by h2 for sending past its
/// length, a report-only request whose handler panics, pipelined requests with bytes past the
/// last length) gives its share back, and only the signed request reaches the handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_way_a_request_ends_gives_its_share_back() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(4 * MIB);
    let calls = Arc::new(AtomicUsize::new(0));
    let panics = Arc::new(AtomicUsize::new(0));
    let panicking = Arc::clone(&panics);
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY))
            .max_body_size(64 * KIB)
            .body_budget(budget.clone())
            .body_timeout(Duration::from_secs(1)),
        &calls,
    )
    .route(
        "/panic",
        post(move |_: Bytes| {
            let panicking = Arc::clone(&panicking);
            async move {
                if panicking.fetch_add(1, Ordering::SeqCst) < usize::MAX {
                    panic!("the handler fails");
                }
                "unreachable"
            }
        })
        .layer::<_, std::convert::Infallible>(
            WebhookSignatureLayer::new(presets::loopwise(KEY))
                .body_budget(budget.clone())
                .report_only(),
        )
        .layer(tower_http::catch_panic::CatchPanicLayer::new()),
    );
    let addr = support::serve_axum(app).await;
    let half = vec![b'x'; 30 * KIB];

    // HTTP/1.1, the client goes away mid-body.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = h1_head(b"", Some(60 * KIB), false, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&half).await.unwrap();
    assert!(steady(&budget).await >= 30 * KIB, "held while it stalls");
    drop(stream);
    assert_eq!(settle(&budget, 0).await, 0, "client gone mid-body");

    // A chunked body past the limit.
    let body = vec![b'x'; 70 * KIB];
    let mut request = h1_head(&body, None, false, "").into_bytes();
    request.extend(chunks(&body, 8 * KIB, ""));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    assert_eq!(
        status_within(&mut stream, Duration::from_secs(5)).await,
        Some(413)
    );
    assert_eq!(settle(&budget, 0).await, 0, "413");

    // A body that stalls until the deadline.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = h1_head(b"", Some(40 * KIB), false, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&half).await.unwrap();
    assert_eq!(
        status_within(&mut stream, Duration::from_secs(5)).await,
        Some(408)
    );
    assert_eq!(settle(&budget, 0).await, 0, "408");

    // HTTP/2: a stream reset by the client mid-body, and one that sends past its length.
    let mut client = h2::Client::connect(addr).await;
    let cancelled = client.open(&forged_h2_headers(&[]));
    client.data(cancelled, &half, false);
    assert!(client.flush().await);
    assert!(steady(&budget).await >= 30 * KIB, "held while it stalls");
    client.raw(h2::RST_STREAM, 0, cancelled, &8u32.to_be_bytes());
    let overlong = client.open(&forged_h2_headers(&[("content-length", "10")]));
    client.data(overlong, &[b'x'; 20], true);
    assert!(client.flush().await);
    assert_eq!(settle(&budget, 0).await, 0, "HTTP/2 streams reset");
    // The server's RST_STREAM reaches the client's reader on its own time.
    let reset_seen = async {
        while !client.seen.lock().unwrap().reset.contains(&overlong) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(5), reset_seen)
            .await
            .is_ok(),
        "the stream that sent past its length is reset"
    );

    // Report-only lets a forged request through to a handler that panics.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = h1_head(b"", Some(100), false, "").replace("/hook", "/panic");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'x'; 100]).await.unwrap();
    let answer = support::read_response(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(answer.map(|a| a.0), Some(500));
    assert_eq!(panics.load(Ordering::SeqCst), 1);
    assert_eq!(settle(&budget, 0).await, 0, "the handler panicked");

    // Pipelined: forged, signed, forged, then bytes past the last one's `Content-Length`.
    let mut pipeline = h1_head(b"", Some(5), false, "").into_bytes();
    pipeline.extend_from_slice(b"forge");
    pipeline.extend(h1_head(LEGIT.as_bytes(), Some(LEGIT.len()), true, "").into_bytes());
    pipeline.extend_from_slice(LEGIT.as_bytes());
    pipeline.extend(h1_head(LEGIT.as_bytes(), Some(LEGIT.len()), false, "").into_bytes());
    pipeline.extend_from_slice(LEGIT.as_bytes());
    pipeline.extend_from_slice(b"{\"more\":\"than declared\"}\r\n\r\n");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&pipeline).await.unwrap();
    let patience = Duration::from_secs(5);
    let first = support::read_response(&mut stream, patience).await.unwrap();
    let second = support::read_response(&mut stream, patience).await.unwrap();
    let third = support::read_response(&mut stream, patience).await.unwrap();
    assert_eq!(first.0, 401);
    assert_eq!(
        (second.0, second.1),
        (200, LEGIT.len().to_string().into_bytes())
    );
    assert_eq!(third.0, 401);
    let fourth = support::read_response(&mut stream, patience).await;
    assert!(matches!(fourth, None | Some((400, _))), "{fourth:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "only the signed one ran");
    assert_eq!(settle(&budget, 0).await, 0, "pipelined");

    assert_eq!(legit_status(addr).await, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(settle(&budget, 0).await, 0);
}

/// An adversary who sees what the budget holds sends, each time, just enough to pass the
/// buffer's capacity by one byte, so every frame forces a reallocation at the worst moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_sized_to_defeat_doubling_hold_at_most_twice_what_was_sent() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    assert_eq!(legit_status(addr).await, StatusCode::OK);

    let before = live();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = h1_head(b"", None, false, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut sent = 0;
    let mut worst: f64 = 0.0;
    while sent < MIB {
        let held = steady(&budget).await;
        let next = (held + 1).saturating_sub(sent).max(1);
        stream.write_all(&chunk(&vec![b'x'; next])).await.unwrap();
        sent += next;
        let held = steady(&budget).await;
        if sent > 4 * KIB {
            worst = worst.max(held as f64 / sent as f64);
        }
        assert!(held <= 2 * sent + 4 * KIB, "{sent} bytes sent hold {held}");
    }
    let held = budget.in_use();
    let heap = live().saturating_sub(before);
    eprintln!(
        "{sent} bytes sent: {held} charged (worst {worst:.2}x past 4 KiB), heap +{} KiB",
        heap / KIB
    );
    assert!(worst <= 2.0, "held {worst:.2} times what was sent");
    assert!(
        heap <= held + 768 * KIB,
        "the heap grew by {heap} bytes, {held} of them charged"
    );
    drop(stream);
    assert_eq!(settle(&budget, 0).await, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A steady trickle (one byte every 100 ms) makes progress all the time; the deadline counts
/// from the first wait, not from the last byte, so it is still cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_trickle_is_cut_off_at_the_deadline() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY))
            .body_budget(budget.clone())
            .body_timeout(Duration::from_secs(1)),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = h1_head(b"", Some(1000), false, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), read.read_exact(&mut answer))
        .await
        .expect("answered within 5 s")
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 408");
    trickle.abort();
    assert_eq!(settle(&budget, 0).await, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// Trailers are not charged to the budget; hyper bounds them (16 KiB and 100 fields for
/// HTTP/1.1, the 16 KiB header list for HTTP/2), and only one trailer section reaches the
/// layer. A signed body with trailers just under hyper's bound passes; one over it is
/// refused and never reaches the handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailers_are_bounded_by_the_server_and_hold_no_budget() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    let trailers = |fields: usize, value: usize| -> String {
        (0..fields)
            .map(|i| format!("x-t{i}: {}\r\n", "v".repeat(value)))
            .collect()
    };
    let send = |trailers: String| async move {
        let mut request = h1_head(LEGIT.as_bytes(), None, true, "").into_bytes();
        request.extend(chunks(LEGIT.as_bytes(), 8, &trailers));
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        support::read_response(&mut stream, Duration::from_secs(5)).await
    };

    let under = send(trailers(90, 150)).await;
    assert_eq!(under.map(|a| a.0), Some(200));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    for (fields, value) in [(150, 10), (20, 1000)] {
        let over = send(trailers(fields, value)).await;
        assert!(
            matches!(over, None | Some((400, _))),
            "{fields} trailer fields of {value} bytes: {over:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "never handed on");
    }
    assert_eq!(settle(&budget, 0).await, 0);
}

/// Sends the signed `LEGIT` over HTTP/2 with `empties` empty DATA frames (no end) between
/// its two halves; what the server answered.
async fn legit_with_empty_frames(addr: SocketAddr, empties: usize) -> h2::Seen {
    let mut client = h2::Client::connect(addr).await;
    let id = client.open(&h2::request_block("/hook", &signed_pairs(LEGIT.as_bytes())));
    let (head, tail) = LEGIT.as_bytes().split_at(10);
    client.data(id, head, false);
    for _ in 0..empties {
        client.data(id, b"", false);
    }
    client.data(id, tail, true);
    let _ = client.flush().await;
    for _ in 0..300 {
        let done = {
            let seen = client.seen.lock().unwrap();
            seen.ended.contains(&id) || seen.goaway.is_some()
        };
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    std::mem::take(&mut *client.seen.lock().unwrap())
}

/// HTTP/2 lets a client send empty DATA frames without end; h2 drops them before the body
/// sees them (a hundred in the middle of a signed body change nothing), and answers a flood
/// of them (a thousand) with GOAWAY `ENHANCE_YOUR_CALM` before the layer is involved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_http2_data_frames_never_reach_the_layer() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        &calls,
    );
    let addr = support::serve_axum(app).await;

    let some = legit_with_empty_frames(addr, 100).await;
    assert_eq!(some.ended, [1], "answered: {some:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "verified and handed on");

    let flood = legit_with_empty_frames(addr, 1000).await;
    assert_eq!(flood.goaway, Some(0xb), "ENHANCE_YOUR_CALM: {flood:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(settle(&budget, 0).await, 0);
}

/// A 32 KiB body in one-byte chunks (6 bytes each on the wire) against the same body sent
/// to a route without the layer: the layer adds little to what the server itself spends
/// parsing the chunks (measured in debug builds: 0.9 to 1.4 times over HTTP/1.1, 0.6 to 1.2
/// over HTTP/2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_chunks_cost_about_what_the_server_spends_without_the_layer() {
    let _serial = SERIAL.lock().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let guarded = support::serve_axum(loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)),
        &calls,
    ))
    .await;
    let bare = support::serve_axum(Router::new().route(
        "/hook",
        post(|body: Bytes| async move { body.len().to_string() }),
    ))
    .await;
    let body: Vec<u8> = (0..32 * KIB).map(|i| b'a' + (i % 26) as u8).collect();
    let mut request = h1_head(&body, None, true, "").into_bytes();
    request.extend(chunks(&body, 1, ""));
    let cost = |addr: SocketAddr, request: Vec<u8>| async move {
        let start = cpu_ns();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let answer = support::read_response(&mut stream, Duration::from_secs(30)).await;
        assert_eq!(answer.map(|a| a.0), Some(200));
        cpu_ns() - start
    };
    cost(guarded, request.clone()).await;
    cost(bare, request.clone()).await;
    let mut with_layer = 0;
    let mut without = 0;
    for _ in 0..3 {
        with_layer += cost(guarded, request.clone()).await;
        without += cost(bare, request.clone()).await;
    }
    let ratio = with_layer as f64 / without as f64;
    eprintln!(
        "32,768 one-byte chunks: {:.1} ms with the layer, {:.1} ms without ({ratio:.2}x)",
        with_layer as f64 / 3e6,
        without as f64 / 3e6
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert!(ratio < 2.5, "the layer made it {ratio:.2} times as costly");

    // HTTP/2: 16 streams at once, each 256 bytes in one-byte DATA frames (10 bytes each on
    // the wire), paced in batches of 32 frames (h2 itself answers with GOAWAY
    // `ENHANCE_YOUR_CALM` when about 2,000 tiny frames wait for the body to take them, which
    // a busy debug build can let happen), while a signed webhook is sent on its own connection.
    let streams = |addr: SocketAddr| async move {
        let start = cpu_ns();
        let mut client = h2::Client::connect(addr).await;
        let ids: Vec<u32> = (0..32)
            .map(|_| client.open(&forged_h2_headers(&[])))
            .collect();
        let legit = tokio::spawn(legit_status(addr));
        for round in 0..256 {
            for &id in &ids {
                client.data(id, b"x", round == 255);
            }
            if round % 2 == 1 {
                assert!(client.flush().await);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        for _ in 0..3000 {
            if client.seen.lock().unwrap().ended.len() == ids.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let seen = format!("{:?}", client.seen.lock().unwrap());
        assert_eq!(
            client.seen.lock().unwrap().ended.len(),
            ids.len(),
            "all answered: {seen}"
        );
        (legit.await.unwrap(), cpu_ns() - start)
    };
    let mut with_layer = 0;
    let mut without = 0;
    for _ in 0..3 {
        let (legit, spent) = streams(guarded).await;
        assert_eq!(legit, StatusCode::OK, "a signed webhook during the flood");
        with_layer += spent;
        without += streams(bare).await.1;
    }
    let ratio = with_layer as f64 / without as f64;
    eprintln!(
        "16 HTTP/2 streams of 256 one-byte frames: {:.1} ms with the layer, {:.1} ms without ({ratio:.2}x)",
        with_layer as f64 / 3e6,
        without as f64 / 3e6
    );
    assert!(ratio < 2.5, "the layer made it {ratio:.2} times as costly");
}

/// `Expect: 100-continue` with a length the budget cannot hold is refused before the client
/// is asked for its body; a length it can hold gets `100 Continue`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_continue_is_refused_when_the_declared_length_cannot_fit() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(MIB);
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    let ask = |length: usize| async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = h1_head(b"", Some(length), false, "expect: 100-continue\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        status_within(&mut stream, Duration::from_secs(2)).await
    };
    assert_eq!(
        ask(MIB * 7 / 8 + 1).await,
        Some(503),
        "more than large bodies may hold"
    );
    assert_eq!(ask(MIB * 7 / 8).await, Some(100));
    assert_eq!(settle(&budget, 0).await, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// Holds `count` large bodies that declare `length` bytes, send all but the last 1 KiB and
/// stall; returns their connections.
async fn stalled_large_bodies(addr: SocketAddr, count: usize, length: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = h1_head(b"", Some(length), false, "");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&vec![b'x'; length - KIB]).await.unwrap();
        held.push(stream);
    }
    held
}

/// A body-limiting layer in front (tower-http's `RequestBodyLimitLayer`, or any that wraps
/// the body in `http_body_util::Limited`) gives a body without `Content-Length` a size hint
/// with an upper bound: the limit. The layer takes that bound for the body's declared
/// length (service.rs, `check_length`: `declared.or(hint.upper())`), so every small chunked
/// webhook counts as large: it cannot use the eighth kept for small bodies, and is refused
/// at once when large bodies hold the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_limit_in_front_leaves_small_chunked_webhooks_small() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(MIB);
    let calls = Arc::new(AtomicUsize::new(0));
    let app = loopwise_route(
        WebhookSignatureLayer::new(presets::loopwise(KEY))
            .max_body_size(256 * KIB)
            .body_budget(budget.clone()),
        &calls,
    )
    .layer(axum::middleware::map_request(
        |request: Request<axum::body::Body>| async move {
            request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, MIB)))
        },
    ));
    let addr = support::serve_axum(app).await;
    // Three stalled 256 KiB bodies: 768 of the 896 KiB large bodies may hold.
    let held = stalled_large_bodies(addr, 3, 256 * KIB).await;
    assert!(steady(&budget).await >= 3 * 255 * KIB);

    let mut request = h1_head(LEGIT.as_bytes(), None, true, "").into_bytes();
    request.extend(chunks(LEGIT.as_bytes(), 16, ""));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let answer = support::read_response(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(answer.map(|a| a.0), Some(200), "a small chunked webhook");
    drop(held);
}
