//! Attacks on the verifying layer's response future (rewritten as one struct whose request
//! state stays in place, with a budget share given back when the answer is ready), by a
//! client without any secret, through real axum servers on 127.0.0.1 and, for bodies no
//! server would produce, in process.
//!
//! What is tried: floods of every way a request ends (answered, refused, cut off, timed out,
//! dropped mid-body, dropped while the handler runs) over HTTP/1.1 and HTTP/2, chunked and
//! with `Content-Length`, each ending with the budget back at exactly 0; bodies that end
//! early or late against their framing or `is_end_stream`; trailers after the data (the
//! future no longer polls a body that says it ended); and the markers an outer layer leaves.
#![cfg(all(feature = "axum", feature = "tokio", feature = "json"))]

mod support;

use std::{
    collections::VecDeque,
    convert::Infallible,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::Request as AxumRequest, routing::post, Router};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::{io::AsyncWriteExt, net::TcpStream};
use tower_webhook::{
    presets, rejection::Unverified, sign::Message, verify::BodyBudget, Verified,
    WebhookSignatureLayer,
};

const KIB: usize = 1024;
const KEY: &str = "attacks-future-key";
const LEGIT: &str = r#"{"event":"order.paid","data":{"id":"ord_future"}}"#;

/// The tests flood one server each and share the machine's two cores: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The signature headers of a correctly signed Loopwise delivery of `body`.
fn signed_pairs(body: &[u8]) -> Vec<(String, String)> {
    presets::loopwise(KEY)
        .sign_message(&Message::new(body))
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

fn forged_pairs() -> Vec<(String, String)> {
    vec![("loopwise-webhook-signature".to_owned(), "0".repeat(64))]
}

/// A route at `/hook` behind `layer` whose handler counts its calls and answers the body's
/// length and its trailers' names.
fn route(
    layer: WebhookSignatureLayer<tower_webhook::HmacScheme>,
    calls: &Arc<AtomicUsize>,
) -> Router {
    let calls = Arc::clone(calls);
    Router::new().route(
        "/hook",
        post(move |request: AxumRequest| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let collected = request.into_body().collect().await.unwrap();
                let trailers: Vec<String> = collected
                    .trailers()
                    .map(|t| t.keys().map(|k| k.to_string()).collect())
                    .unwrap_or_default();
                let body = collected.to_bytes();
                format!("{} {}", body.len(), trailers.join(","))
            }
        })
        .layer(layer),
    )
}

/// An HTTP/1.1 head for `/hook`: `Content-Length: length`, or chunked when `None`.
fn h1_head(length: Option<usize>, signature: &[(String, String)], extra: &str) -> Vec<u8> {
    let mut head = String::from("POST /hook HTTP/1.1\r\nhost: test\r\n");
    match length {
        Some(length) => head.push_str(&format!("content-length: {length}\r\n")),
        None => head.push_str("transfer-encoding: chunked\r\n"),
    }
    for (name, value) in signature {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(extra);
    head.push_str("\r\n");
    head.into_bytes()
}

/// `body` as chunks of at most `size` bytes, then the last chunk and `trailers`.
fn chunked(body: &[u8], size: usize, trailers: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(size.max(1)) {
        out.extend(format!("{:x}\r\n", piece.len()).into_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    out.extend_from_slice(trailers.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// Writes `bytes` on a new connection and reads the answer.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.ok()?;
    support::read_response(&mut stream, Duration::from_secs(10)).await
}

/// Waits until `budget.in_use()` is `bytes` (the server runs on other tasks), at most 5 s.
async fn settle(budget: &BodyBudget, bytes: usize) -> usize {
    for _ in 0..500 {
        if budget.in_use() == bytes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    budget.in_use()
}

/// Waits until `budget.in_use()` is at least `bytes`, at most 5 s; whether it got there.
async fn reaches(budget: &BodyBudget, bytes: usize) -> bool {
    for _ in 0..500 {
        if budget.in_use() >= bytes {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

// ---------------------------------------------------------------------------------------
// Framing: bodies that end early or late against Content-Length or is_end_stream.
// ---------------------------------------------------------------------------------------

/// A body of these frames, one a poll, that says it ended (`is_end_stream`) once `ends_after`
/// of them were read, whatever is left; counts its polls.
struct Lying {
    frames: VecDeque<Frame<Bytes>>,
    ends_after: usize,
    read: usize,
    polls: Arc<AtomicUsize>,
}

impl Lying {
    fn new(frames: Vec<Frame<Bytes>>, ends_after: usize) -> (Self, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        let body = Self {
            frames: frames.into(),
            ends_after,
            read: 0,
            polls: Arc::clone(&polls),
        };
        (body, polls)
    }
}

impl Body for Lying {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let frame = self.frames.pop_front();
        self.read += usize::from(frame.is_some());
        Poll::Ready(frame.map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.read >= self.ends_after
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

fn data(bytes: &'static [u8]) -> Frame<Bytes> {
    Frame::data(Bytes::from_static(bytes))
}

fn request_of<B>(body: B, pairs: &[(String, String)], length: Option<usize>) -> Request<B> {
    let mut request = Request::post("/hook");
    for (name, value) in pairs {
        request = request.header(name, value);
    }
    if let Some(length) = length {
        request = request.header("content-length", length);
    }
    request.body(body).unwrap()
}

/// A body that says it ended before its `Content-Length` was read is a framing
/// contradiction: `400`, never verified, never handed on, even when what it did send is a
/// correctly signed body (a smuggler's prefix), and in report-only mode too.
#[tokio::test]
async fn a_body_that_ends_before_its_content_length_is_refused_400() {
    for report_only in [false, true] {
        let (body, _) = Lying::new(vec![data(LEGIT.as_bytes()), data(b"tail")], 1);
        let request = request_of(body, &signed_pairs(LEGIT.as_bytes()), Some(LEGIT.len() + 4));
        let mut layer = WebhookSignatureLayer::new(presets::loopwise(KEY));
        if report_only {
            layer = layer.report_only();
        }
        let out = support::run_through(layer, request).await;
        assert_eq!(
            out.status,
            StatusCode::BAD_REQUEST,
            "report_only: {report_only}"
        );
        assert_eq!(out.recorder.calls(), 0, "never handed on");
    }
}

/// A body that sends more than its `Content-Length` in one frame, then says it ended: `400`.
#[tokio::test]
async fn a_frame_past_the_content_length_is_refused_400_even_as_the_last() {
    let (body, _) = Lying::new(vec![data(b"{\"a\":1}--smuggled--")], 1);
    let request = request_of(body, &signed_pairs(b"{\"a\":1}"), Some(7));
    let out =
        support::run_through(WebhookSignatureLayer::new(presets::loopwise(KEY)), request).await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    assert_eq!(out.recorder.calls(), 0);
}

/// A body (without `Content-Length`) that says it ended after a signed frame, with more left
/// in it: it is not polled again, and the inner service gets exactly the bytes verified,
/// never the unsigned rest. The same body signed over everything is refused: the rest was
/// never read, so never verified.
#[tokio::test]
async fn a_body_that_ends_early_hands_on_only_what_was_verified() {
    let (body, polls) = Lying::new(vec![data(LEGIT.as_bytes()), data(b"unsigned")], 1);
    let request = request_of(body, &signed_pairs(LEGIT.as_bytes()), None);
    let out =
        support::run_through(WebhookSignatureLayer::new(presets::loopwise(KEY)), request).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "not polled once it said it ended"
    );
    let seen = out.recorder.only();
    assert_eq!(seen.body.as_ref(), LEGIT.as_bytes());
    assert!(seen.verified.is_some(), "marked verified");

    let whole = [LEGIT.as_bytes(), b"unsigned"].concat();
    let (body, _) = Lying::new(vec![data(LEGIT.as_bytes()), data(b"unsigned")], 1);
    let request = request_of(body, &signed_pairs(&whole), None);
    let out =
        support::run_through(WebhookSignatureLayer::new(presets::loopwise(KEY)), request).await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert_eq!(out.recorder.calls(), 0);
}

/// A body that never says it ended is read to its `None`: trailers after the data reach the
/// handler with `keep_trailers`, and never change the verdict (they are unsigned).
#[tokio::test]
async fn trailers_after_the_data_are_read_when_the_body_has_not_ended() {
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", "abc".parse().unwrap());
    let (body, polls) = Lying::new(
        vec![data(LEGIT.as_bytes()), Frame::trailers(trailers)],
        usize::MAX,
    );
    let request = request_of(body, &signed_pairs(LEGIT.as_bytes()), Some(LEGIT.len()));
    let out = support::run_through(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).keep_trailers(),
        request,
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(polls.load(Ordering::SeqCst), 3, "data, trailers, end");
    let seen = out.recorder.only();
    assert_eq!(seen.body.as_ref(), LEGIT.as_bytes());
    assert_eq!(seen.trailers.unwrap()["x-checksum"], "abc");
}

// ---------------------------------------------------------------------------------------
// The budget: every way a request ends gives its share back, over many requests.
// ---------------------------------------------------------------------------------------

/// The ways an HTTP/1.1 request ends in the flood, and the status each must get.
#[derive(Clone, Copy, Debug)]
enum Ending {
    /// Signed, with `Content-Length`: 200.
    SignedLength,
    /// Signed, chunked in 8-byte chunks: 200.
    SignedChunked,
    /// Forged, 10 KiB with `Content-Length`: 401.
    ForgedLength,
    /// Forged, 10 KiB in 1 KiB chunks: 401.
    ForgedChunked,
    /// Forged, chunked past the 64 KiB limit: 413.
    PastLimit,
    /// Signed, declaring 10 bytes more than it sends, then the client half-closes: 400.
    ShortOfLength,
    /// Declares 20 KiB, sends 10 KiB and stalls: 408 at the 1 s deadline.
    Stalled,
    /// Declares 20 KiB, sends 10 KiB, then the connection is dropped: no answer.
    Dropped,
    /// Chunked, 10 KiB, dropped before the last chunk: no answer.
    DroppedChunked,
}

const ENDINGS: [Ending; 9] = [
    Ending::SignedLength,
    Ending::SignedChunked,
    Ending::ForgedLength,
    Ending::ForgedChunked,
    Ending::PastLimit,
    Ending::ShortOfLength,
    Ending::Stalled,
    Ending::Dropped,
    Ending::DroppedChunked,
];

/// Sends one request that ends as `ending`; the status it got (`None`: none expected).
async fn h1_request(addr: SocketAddr, ending: Ending) -> Option<u16> {
    let legit = LEGIT.as_bytes();
    let filler = vec![b'x'; 10 * KIB];
    let patience = Duration::from_secs(10);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut bytes = match ending {
        Ending::SignedLength => [
            h1_head(Some(legit.len()), &signed_pairs(legit), ""),
            legit.to_vec(),
        ]
        .concat(),
        Ending::SignedChunked => [
            h1_head(None, &signed_pairs(legit), ""),
            chunked(legit, 8, ""),
        ]
        .concat(),
        Ending::ForgedLength => [
            h1_head(Some(filler.len()), &forged_pairs(), ""),
            filler.clone(),
        ]
        .concat(),
        Ending::ForgedChunked => [
            h1_head(None, &forged_pairs(), ""),
            chunked(&filler, KIB, ""),
        ]
        .concat(),
        Ending::PastLimit => [
            h1_head(None, &forged_pairs(), ""),
            chunked(&vec![b'x'; 70 * KIB], 8 * KIB, ""),
        ]
        .concat(),
        Ending::ShortOfLength => [
            h1_head(Some(legit.len() + 10), &signed_pairs(legit), ""),
            legit.to_vec(),
        ]
        .concat(),
        Ending::Stalled | Ending::Dropped => [
            h1_head(Some(2 * filler.len()), &forged_pairs(), ""),
            filler.clone(),
        ]
        .concat(),
        Ending::DroppedChunked => {
            let mut all = h1_head(None, &forged_pairs(), "");
            let whole = chunked(&filler, KIB, "");
            all.extend_from_slice(&whole[..whole.len() - 5]);
            all
        }
    };
    // Past the limit the server may answer and stop reading before all is written.
    let _ = stream.write_all(&std::mem::take(&mut bytes)).await;
    match ending {
        Ending::ShortOfLength => {
            stream.shutdown().await.unwrap();
        }
        Ending::Dropped | Ending::DroppedChunked => {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return None;
        }
        _ => {}
    }
    support::read_response(&mut stream, patience)
        .await
        .map(|answer| answer.0)
}

fn expected(ending: Ending) -> Option<u16> {
    match ending {
        Ending::SignedLength | Ending::SignedChunked => Some(200),
        Ending::ForgedLength | Ending::ForgedChunked => Some(401),
        Ending::PastLimit => Some(413),
        Ending::ShortOfLength => Some(400),
        Ending::Stalled => Some(408),
        Ending::Dropped | Ending::DroppedChunked => None,
    }
}

/// Hundreds of HTTP/1.1 requests at once, every way a request can end (answered, refused
/// as forged, past the limit, short of its length, at the deadline, dropped mid-body, with
/// and without `Content-Length`): each gets exactly its status, only the signed ones reach
/// the handler, the budget never goes past its total and is back at exactly 0 afterwards,
/// and a signed webhook still gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_flood_of_every_ending_leaves_the_budget_at_zero() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(4 * 1024 * KIB);
    let calls = Arc::new(AtomicUsize::new(0));
    let app = route(
        WebhookSignatureLayer::new(presets::loopwise(KEY))
            .max_body_size(64 * KIB)
            .body_budget(budget.clone())
            .body_timeout(Duration::from_secs(1)),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    let rounds = 20;
    let peak = Arc::new(AtomicUsize::new(0));
    let watching = {
        let (budget, peak) = (budget.clone(), Arc::clone(&peak));
        tokio::spawn(async move {
            loop {
                peak.fetch_max(budget.in_use(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let tasks: Vec<_> = (0..rounds)
        .flat_map(|_| ENDINGS)
        .map(|ending| tokio::spawn(async move { (ending, h1_request(addr, ending).await) }))
        .collect();
    for task in tasks {
        let (ending, status) = task.await.unwrap();
        assert_eq!(status, expected(ending), "{ending:?}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2 * rounds,
        "only the signed ones ran"
    );
    assert_eq!(settle(&budget, 0).await, 0, "every share given back");
    watching.abort();
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak > 0 && peak <= budget.total(), "peak {peak}");
    let answer = exchange(
        addr,
        &[
            h1_head(Some(LEGIT.len()), &signed_pairs(LEGIT.as_bytes()), ""),
            LEGIT.as_bytes().to_vec(),
        ]
        .concat(),
    )
    .await;
    assert_eq!(
        answer,
        Some((200, format!("{} ", LEGIT.len()).into_bytes()))
    );
    assert_eq!(settle(&budget, 0).await, 0);
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type H2Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// An HTTP/2 connection (prior knowledge) to `addr`, and the task that drives it.
async fn h2_connect(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<H2Body>,
    tokio::task::JoinHandle<()>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, task)
}

fn h2_request(body: H2Body, pairs: &[(String, String)], length: Option<usize>) -> Request<H2Body> {
    let mut request = Request::post("http://test/hook");
    for (name, value) in pairs {
        request = request.header(name, value);
    }
    if let Some(length) = length {
        request = request.header("content-length", length);
    }
    request.body(body).unwrap()
}

fn full(bytes: Vec<u8>) -> H2Body {
    http_body_util::Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed()
}

/// A body the test sends frame by frame.
fn channel() -> (http_body_util::channel::Sender<Bytes, BoxError>, H2Body) {
    let (sender, body) = http_body_util::channel::Channel::<Bytes, BoxError>::new(4);
    (sender, body.boxed())
}

/// Sends `request` on `sender`; the status, or `None` if the stream failed (reset).
async fn h2_status(
    mut sender: hyper::client::conn::http2::SendRequest<H2Body>,
    request: Request<H2Body>,
) -> Option<(u16, Bytes)> {
    let response = tokio::time::timeout(Duration::from_secs(10), async {
        sender.ready().await.ok()?;
        sender.send_request(request).await.ok()
    })
    .await
    .expect("answered or reset within 10 s")?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, body))
}

/// HTTP/2 streams on a few connections at once, every way a stream ends: signed (whole, and
/// in frames with trailers), forged, past the limit, a `Content-Length` larger or smaller
/// than the data, reset by the client mid-body, stalled to the deadline, and whole
/// connections dropped with streams mid-body. Each gets its status (or a reset), only the
/// signed ones reach the handler, and the budget comes back to exactly 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_flood_of_every_ending_leaves_the_budget_at_zero() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(4 * 1024 * KIB);
    let calls = Arc::new(AtomicUsize::new(0));
    let app = route(
        WebhookSignatureLayer::new(presets::loopwise(KEY))
            .max_body_size(64 * KIB)
            .body_budget(budget.clone())
            .body_timeout(Duration::from_secs(1))
            .keep_trailers(),
        &calls,
    );
    let addr = support::serve_axum(app).await;
    let legit = LEGIT.as_bytes();
    let rounds = 10;
    let mut tasks = Vec::new();
    let mut held = Vec::new();
    for _ in 0..rounds {
        let (sender, connection) = h2_connect(addr).await;
        held.push(connection);
        let send = |request: Request<H2Body>, expected: Option<u16>, what: &'static str| {
            let sender = sender.clone();
            tokio::spawn(async move {
                let got = h2_status(sender, request).await;
                (what, got.as_ref().map(|answer| answer.0), expected, got)
            })
        };
        tasks.push(send(
            h2_request(
                full(legit.to_vec()),
                &signed_pairs(legit),
                Some(legit.len()),
            ),
            Some(200),
            "signed",
        ));
        let (mut frames, body) = channel();
        tasks.push(send(
            h2_request(body, &signed_pairs(legit), None),
            Some(200),
            "signed, trailers",
        ));
        tokio::spawn(async move {
            let (head, tail) = legit.split_at(10);
            frames.send_data(Bytes::from_static(head)).await.unwrap();
            frames.send_data(Bytes::from_static(tail)).await.unwrap();
            let mut trailers = HeaderMap::new();
            trailers.insert("x-checksum", "abc".parse().unwrap());
            frames.send_trailers(trailers).await.unwrap();
        });
        tasks.push(send(
            h2_request(full(vec![b'x'; 10 * KIB]), &forged_pairs(), None),
            Some(401),
            "forged",
        ));
        tasks.push(send(
            h2_request(full(vec![b'x'; 70 * KIB]), &forged_pairs(), None),
            Some(413),
            "past the limit",
        ));
        // A signed body whose `Content-Length` says more (or less) than its data: never 200.
        tasks.push(send(
            h2_request(
                full(legit.to_vec()),
                &signed_pairs(legit),
                Some(legit.len() + 5),
            ),
            None,
            "longer length",
        ));
        tasks.push(send(
            h2_request(
                full(legit.to_vec()),
                &signed_pairs(legit),
                Some(legit.len() - 5),
            ),
            None,
            "shorter length",
        ));
        let (mut frames, body) = channel();
        tasks.push(send(
            h2_request(body, &forged_pairs(), None),
            None,
            "reset mid-body",
        ));
        tokio::spawn(async move {
            frames
                .send_data(Bytes::from(vec![b'x'; 10 * KIB]))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            frames.abort("the client gives up".into());
        });
        let (mut frames, body) = channel();
        tasks.push(send(
            h2_request(body, &forged_pairs(), None),
            Some(408),
            "stalled",
        ));
        tokio::spawn(async move {
            frames
                .send_data(Bytes::from(vec![b'x'; 10 * KIB]))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(3)).await;
            drop(frames);
        });
        // A whole connection dropped with two streams mid-body.
        let (dropped, connection) = h2_connect(addr).await;
        for _ in 0..2 {
            let (mut frames, body) = channel();
            let mut sender = dropped.clone();
            tokio::spawn(async move {
                let _ = sender.ready().await;
                let _ = sender
                    .send_request(h2_request(body, &forged_pairs(), None))
                    .await;
            });
            tokio::spawn(async move {
                let _ = frames.send_data(Bytes::from(vec![b'x'; 10 * KIB])).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            connection.abort();
        });
    }
    for task in tasks {
        let (what, status, expected, got) = task.await.unwrap();
        match expected {
            Some(expected) => assert_eq!(status, Some(expected), "{what}: {got:?}"),
            None => assert!(matches!(status, None | Some(400)), "{what}: {got:?}"),
        }
        if what == "signed, trailers" {
            let body = got.unwrap().1;
            assert_eq!(
                body,
                format!("{} x-checksum", legit.len()),
                "the trailers reached the handler"
            );
        }
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2 * rounds,
        "only the signed ones ran"
    );
    for connection in held {
        connection.abort();
    }
    assert_eq!(settle(&budget, 0).await, 0, "every share given back");
}

/// A signed body's share is held while the handler runs (the body is in memory until then),
/// and comes back when something outside drops the request: a timeout layer in front, or an
/// HTTP/2 client resetting the stream while the handler is still working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_while_the_handler_runs_gives_its_share_back() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::new(4 * 1024 * KIB);
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = Arc::clone(&calls);
    let app = Router::new().route(
        "/hook",
        post(move |_: Bytes| {
            counting.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "too late"
            }
        })
        .layer::<_, Infallible>(
            WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(500),
        )),
    );
    let addr = support::serve_axum(app).await;
    let body = vec![b'x'; 20 * KIB];
    let request = [
        h1_head(Some(body.len()), &signed_pairs(&body), ""),
        body.clone(),
    ]
    .concat();
    let answer = exchange(addr, &request).await;
    assert_eq!(answer.map(|a| a.0), Some(504));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(settle(&budget, 0).await, 0, "the timeout dropped it");

    let (sender, connection) = h2_connect(addr).await;
    let (mut frames, stream_body) = channel();
    let pairs = signed_pairs(&body);
    let stream = tokio::spawn(h2_status(sender, h2_request(stream_body, &pairs, None)));
    frames.send_data(Bytes::from(body.clone())).await.unwrap();
    drop(frames);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while calls.load(Ordering::SeqCst) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2, "verified and handed on");
    assert!(
        reaches(&budget, body.len()).await,
        "held while the handler runs"
    );
    stream.abort();
    connection.abort();
    assert_eq!(settle(&budget, 0).await, 0, "the client went away");
}

/// A route nested in two layers: the outer one's marker never survives the inner one's
/// verdict. An outer `Verified` is gone when the inner layer reports a failure or passes an
/// unsigned handshake; and an outer layer's handshake marker is gone when the inner layer
/// verifies a delivery: otherwise a captured genuine delivery replayed with
/// `?validationToken=x` would reach the handler as a verified handshake, which the inbox
/// hands on without storing or deduplicating it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outer_layers_marker_never_survives_the_inner_verdict() {
    use axum::Extension;
    use tower_webhook::handshake::{Handshake, HandshakeMode, HandshakeRequest};

    let _serial = SERIAL.lock().await;
    let marks = |verified: Option<Extension<Verified>>,
                 unverified: Option<Extension<Unverified>>,
                 handshake: Option<Extension<HandshakeRequest>>| async move {
        format!(
            "verified={} unverified={} handshake={}",
            verified.is_some(),
            unverified.is_some(),
            handshake.map_or("none", |Extension(h)| h.name())
        )
    };
    let graph = |key: &str| {
        WebhookSignatureLayer::new(presets::loopwise(key))
            .handshake(Handshake::microsoft_graph())
            .handshakes(HandshakeMode::Handler)
    };
    let nested = |outer, inner| {
        Router::new().route(
            "/hook",
            post(marks)
                .layer::<_, Infallible>(inner)
                .layer::<_, Infallible>(outer),
        )
    };
    let send = |addr: SocketAddr, path: &str| {
        let legit = LEGIT.as_bytes();
        let mut head = h1_head(Some(legit.len()), &signed_pairs(legit), "");
        let line = format!("POST {path} HTTP/1.1");
        head.splice(..b"POST /hook HTTP/1.1".len(), line.into_bytes());
        let request = [head, legit.to_vec()].concat();
        async move {
            let (status, body) = exchange(addr, &request).await.unwrap();
            (status, String::from_utf8(body).unwrap())
        }
    };
    let ok = |marks: &str| (200, marks.to_owned());

    // Outer verifies; inner fails in report-only mode.
    let addr = support::serve_axum(nested(
        WebhookSignatureLayer::new(presets::loopwise(KEY)),
        WebhookSignatureLayer::new(presets::loopwise("other")).report_only(),
    ))
    .await;
    assert_eq!(
        send(addr, "/hook").await,
        ok("verified=false unverified=true handshake=none")
    );

    // Outer verifies; inner takes it for its unsigned handshake.
    let addr = support::serve_axum(nested(
        WebhookSignatureLayer::new(presets::loopwise(KEY)),
        graph("other"),
    ))
    .await;
    assert_eq!(
        send(addr, "/hook?validationToken=x").await,
        ok("verified=false unverified=false handshake=microsoft_graph_validation")
    );

    // Outer (report-only) takes it for its unsigned handshake; inner verifies a delivery.
    let addr = support::serve_axum(nested(
        graph("other").report_only(),
        WebhookSignatureLayer::new(presets::loopwise(KEY)),
    ))
    .await;
    assert_eq!(
        send(addr, "/hook").await,
        ok("verified=true unverified=false handshake=none")
    );
    assert_eq!(
        send(addr, "/hook?validationToken=x").await,
        ok("verified=true unverified=false handshake=none")
    );
}

/// Request-smuggling framings of a captured, correctly signed delivery over HTTP/1.1.
///
/// With both `Transfer-Encoding: chunked` and a `Content-Length`, hyper decodes the chunks,
/// drops the `Content-Length` before the layer sees the head, and closes the connection
/// after answering (RFC 9112, section 6.1): the layer cannot refuse what it never sees, but
/// the handler gets exactly the signed bytes once, and a request smuggled behind them on the
/// same connection is never read. A transfer coding other than `chunked` is refused before
/// the layer. Nothing is held afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_framings_of_a_signed_delivery_never_reach_the_handler_twice() {
    let _serial = SERIAL.lock().await;
    let budget = BodyBudget::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = support::serve_axum(route(
        WebhookSignatureLayer::new(presets::loopwise(KEY)).body_budget(budget.clone()),
        &calls,
    ))
    .await;
    let legit = LEGIT.as_bytes();
    let pairs = signed_pairs(legit);
    let chunked_body = chunked(legit, 8, "");
    let smuggled = [h1_head(Some(legit.len()), &pairs, ""), legit.to_vec()].concat();
    for (i, length) in [5, legit.len(), chunked_body.len()].into_iter().enumerate() {
        let extra = format!("content-length: {length}\r\n");
        let request = [
            h1_head(None, &pairs, &extra),
            chunked_body.clone(),
            smuggled.clone(),
        ]
        .concat();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let patience = Duration::from_secs(5);
        let first = support::read_response(&mut stream, patience).await;
        assert_eq!(
            first,
            Some((200, format!("{} ", legit.len()).into_bytes())),
            "{length}"
        );
        let second = support::read_response(&mut stream, patience).await;
        assert_eq!(
            second, None,
            "content-length {length}: the connection is closed"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            i + 1,
            "the smuggled one never ran"
        );
    }
    for extra in [
        "transfer-encoding: identity\r\n",
        "transfer-encoding: gzip, chunked\r\n",
    ] {
        let request = [h1_head(Some(legit.len()), &pairs, extra), legit.to_vec()].concat();
        let answer = exchange(addr, &request).await;
        assert!(
            matches!(answer, None | Some((400 | 501, _))),
            "{extra}: {answer:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(settle(&budget, 0).await, 0);
}
