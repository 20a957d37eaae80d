//! Helpers shared by the integration tests: an inner service that records what reached it,
//! bodies that arrive the way a test needs, the published test vectors, and real servers.
#![allow(dead_code)]

use std::{
    collections::VecDeque,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
};

#[cfg(all(feature = "axum", feature = "json"))]
pub mod handshake;
pub mod redis_server;
#[cfg(feature = "sns")]
pub mod sns_host;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tower_webhook::{rejection::Unverified, Verified};

/// What the inner service saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub body: Bytes,
    pub headers: HeaderMap,
    pub verified: Option<Verified>,
    pub unverified: Option<Unverified>,
    pub trailers: Option<HeaderMap>,
}

/// An inner service that records every request that reaches it and answers
/// `200 inner saw N bytes` with an `x-inner: called` header.
#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The only request that reached the service; panics unless exactly one did.
    pub fn only(&self) -> Seen {
        let seen = self.seen();
        assert_eq!(
            seen.len(),
            1,
            "expected exactly one call to the inner service"
        );
        seen.into_iter().next().unwrap()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<B> tower::Service<Request<B>> for Recorder
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: std::fmt::Debug,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let seen = Arc::clone(&self.seen);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let collected = body.collect().await.expect("inner body never fails");
            let trailers = collected.trailers().cloned();
            let body = collected.to_bytes();
            let len = body.len();
            seen.lock().unwrap().push(Seen {
                body,
                headers: parts.headers,
                verified: parts.extensions.get::<Verified>().cloned(),
                unverified: parts.extensions.get::<Unverified>().copied(),
                trailers,
            });
            let response = Response::builder()
                .status(StatusCode::OK)
                .header("x-inner", "called")
                .body(Full::new(Bytes::from(format!("inner saw {len} bytes"))))
                .unwrap();
            Ok(response)
        })
    }
}

/// A request body that yields the given frames in order, optionally returning `Pending` (and
/// waking itself) before each one, and counting how many frames were polled out of it.
pub struct Frames {
    frames: VecDeque<Result<Frame<Bytes>, &'static str>>,
    hint: SizeHint,
    pending_first: bool,
    pending_now: bool,
    polled: Arc<AtomicUsize>,
}

impl Frames {
    /// The body split into `chunks`, with no size hint (like a chunked request).
    pub fn chunks<I, C>(chunks: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Bytes>,
    {
        Self {
            frames: chunks
                .into_iter()
                .map(|c| Ok(Frame::data(c.into())))
                .collect(),
            hint: SizeHint::default(),
            pending_first: false,
            pending_now: false,
            polled: Arc::default(),
        }
    }

    /// `body` split every `size` bytes.
    pub fn split(body: &[u8], size: usize) -> Self {
        Self::chunks(
            body.chunks(size.max(1))
                .map(Bytes::copy_from_slice)
                .collect::<Vec<_>>(),
        )
    }

    /// Returns `Pending` once before every frame.
    pub fn with_pending(mut self) -> Self {
        self.pending_first = true;
        self.pending_now = true;
        self
    }

    /// Reports an exact size hint (as hyper does for a `Content-Length` body).
    pub fn with_exact_hint(mut self, len: u64) -> Self {
        self.hint = SizeHint::with_exact(len);
        self
    }

    /// Ends with an error after the frames.
    pub fn then_error(mut self, error: &'static str) -> Self {
        self.frames.push_back(Err(error));
        self
    }

    /// Ends with trailers after the frames.
    pub fn then_trailers(mut self, trailers: HeaderMap) -> Self {
        self.frames.push_back(Ok(Frame::trailers(trailers)));
        self
    }

    /// A counter of frames polled out of this body.
    pub fn polled(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.polled)
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.pending_now && !self.frames.is_empty() {
            self.pending_now = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.pending_now = self.pending_first;
        let next = self.frames.pop_front();
        if next.is_some() {
            self.polled.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(next.map(|frame| frame.map_err(Into::into)))
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

/// A body that never ends: `chunk`-sized frames forever, counting how many were polled.
pub struct Endless {
    chunk: Bytes,
    pub polled: Arc<AtomicUsize>,
}

impl Endless {
    pub fn new(chunk_size: usize) -> Self {
        Self {
            chunk: Bytes::from(vec![b'x'; chunk_size]),
            polled: Arc::default(),
        }
    }
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polled.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(self.chunk.clone()))))
    }
}

/// A body that fails the test if anything reads it.
pub struct MustNotRead;

impl Body for MustNotRead {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        panic!("the body was read, but the request should have been decided before that");
    }
}

/// One entry of `tests/vectors/basic.json` (copied from the project's shared vectors,
/// computed by an independent implementation).
#[derive(Clone, Debug)]
pub struct Vector {
    pub name: String,
    pub provider: String,
    pub header: String,
    pub secret: String,
    pub body: String,
    pub signature: String,
}

pub fn vectors() -> Vec<Vector> {
    let text = include_str!("../vectors/basic.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert_eq!(v["expect"], "accept");
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            Vector {
                name: s("name"),
                provider: s("provider"),
                header: s("header"),
                secret: s("secret"),
                body: s("body"),
                signature: s("signature"),
            }
        })
        .collect()
}

pub fn vectors_of(provider: &str) -> Vec<Vector> {
    let found: Vec<_> = vectors()
        .into_iter()
        .filter(|v| v.provider == provider)
        .collect();
    assert!(!found.is_empty(), "no vectors for {provider}");
    found
}

/// Collects a response body into bytes.
pub async fn body_bytes<B>(body: B) -> Bytes
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    body.collect().await.unwrap().to_bytes()
}

/// Serves `app` on 127.0.0.1 at an ephemeral port with axum, recording the TCP peer as
/// `ConnectInfo<SocketAddr>`. The server runs until the test's runtime ends.
pub async fn serve_axum(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// A real HTTP/1.1 client for request bodies of type `B`.
pub fn client<B>(
) -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, B>
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Sends `request` to `addr` over a real connection; returns status, headers and body.
pub async fn send<B>(addr: SocketAddr, request: Request<B>) -> (StatusCode, HeaderMap, Bytes)
where
    B: Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://{addr}{path}").parse().unwrap();
    let response = client::<B>()
        .request(Request::from_parts(parts, body))
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, body_bytes(response.into_body()).await)
}

/// The preset a vector's provider uses.
pub fn scheme_for(vector: &Vector) -> tower_webhook::HmacScheme {
    use tower_webhook::presets;
    match vector.provider.as_str() {
        "loopwise" => presets::loopwise(&vector.secret),
        "loop_returns" => presets::loop_returns(&vector.secret),
        "github" => presets::github(&vector.secret),
        other => panic!("no preset for {other}"),
    }
}

/// What came back from one request through the layer, and what reached the inner service.
pub struct Outcome {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub recorder: Recorder,
}

/// Sends `request` through `layer` over a fresh [`Recorder`], in process.
pub async fn run_through<Sch, B>(
    layer: tower_webhook::WebhookSignatureLayer<Sch>,
    request: Request<B>,
) -> Outcome
where
    Sch: tower_webhook::scheme::Scheme,
    B: Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use tower::{Layer, ServiceExt};
    let recorder = Recorder::new();
    let response = layer
        .layer(recorder.clone())
        .oneshot(request)
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Outcome {
        status: parts.status,
        headers: parts.headers,
        body: body_bytes(body).await,
        recorder,
    }
}

/// A forged request to `tenant`'s route `/t/{tenant}` with the signature header `header:
/// value` and `body` sent in 8-byte frames, through `layer`: the status, the answer, and how
/// many frames the layer read before answering (an answer before the body is also one before
/// `100 Continue`). Asserts the inner service was never called.
pub async fn probe_tenant<Sch: tower_webhook::scheme::Scheme>(
    layer: tower_webhook::WebhookSignatureLayer<Sch>,
    tenant: &str,
    (header, value): (&str, &str),
    body: &[u8],
) -> (StatusCode, Bytes, usize) {
    let frames = Frames::split(body, 8);
    let polled = frames.polled();
    let request = Request::post(format!("/t/{tenant}"))
        .header(header, value)
        .body(frames)
        .unwrap();
    let outcome = run_through(layer, request).await;
    assert_eq!(
        outcome.recorder.calls(),
        0,
        "{tenant}: a forgery was processed"
    );
    (outcome.status, outcome.body, polled.load(Ordering::SeqCst))
}

/// A Stripe delivery of `body` to `/hook`, signed now under `secret`, for the replay tests.
pub fn stripe_delivery(secret: &str, body: &'static str) -> Request<Full<Bytes>> {
    let headers = tower_webhook::presets::stripe(secret)
        .sign_message(&tower_webhook::sign::Message::new(body.as_bytes()));
    let mut request = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

/// The same delivery sent again: `body` with `request`'s headers.
pub fn resend(request: &Request<Full<Bytes>>, body: &'static str) -> Request<Full<Bytes>> {
    let mut copy = Request::post("/hook")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `body` to `path`, signed by `scheme` at `timestamp`: one attempt of a sender that signs
/// each attempt afresh.
pub fn signed_attempt(
    path: &str,
    scheme: &tower_webhook::HmacScheme,
    body: &'static str,
    timestamp: u64,
) -> Request<Full<Bytes>> {
    let message = tower_webhook::sign::Message::new(body.as_bytes()).timestamp(timestamp);
    let mut request = Request::post(path)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    request.headers_mut().extend(scheme.sign_message(&message));
    request
}

/// Whether the test handler (which answers `handled`) processed the request.
pub fn is_processed(response: &(StatusCode, HeaderMap, Bytes)) -> bool {
    response.0 == StatusCode::OK && response.2 == "handled"
}

/// Sends `attempt()` to `addr` until it is processed, allowing only `409 in progress` in the
/// meantime, for at most 5 seconds: how soon a dropped request's claim is released.
pub async fn retry_until_processed(addr: SocketAddr, attempt: impl Fn() -> Request<Full<Bytes>>) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let retry = send(addr, attempt()).await;
        if is_processed(&retry) {
            return;
        }
        assert_eq!(retry.0, StatusCode::CONFLICT, "{retry:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dropped request's claim was not released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Sends `copies` at once, alternating between `a` and `b`; returns how many were
/// processed, asserting every other one was a duplicate or `409 in progress`.
pub async fn send_concurrently(
    a: SocketAddr,
    b: SocketAddr,
    copies: Vec<Request<Full<Bytes>>>,
) -> usize {
    let tasks: Vec<_> = copies
        .into_iter()
        .enumerate()
        .map(|(i, copy)| tokio::spawn(send(if i % 2 == 0 { a } else { b }, copy)))
        .collect();
    let mut processed = 0;
    for task in tasks {
        let response = task.await.unwrap();
        if is_processed(&response) {
            processed += 1;
        } else {
            assert!(
                is_duplicate(&response) || response.0 == StatusCode::CONFLICT,
                "{response:?}"
            );
        }
    }
    processed
}

/// Whether a response is the replay guard's answer to a processed delivery.
pub fn is_duplicate(response: &(StatusCode, HeaderMap, Bytes)) -> bool {
    response.0 == StatusCode::OK
        && response
            .1
            .get("webhook-duplicate")
            .is_some_and(|v| v == "true")
        && response.2 == "duplicate delivery\n"
}

/// Every `tracing` event emitted on this thread while the guard lives, as the `fmt`
/// subscriber writes them (one line each, no colours). With a current-thread runtime this
/// includes the events of the servers the test spawned.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // With a single live dispatcher, tracing asks the thread that first reaches a
        // callsite whether it is interested, and another test's thread (no subscriber)
        // says never, for every thread. A second dispatcher, kept for the whole binary,
        // makes tracing ask every dispatcher instead; callsites cached before are asked again.
        static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        (logs, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The lines that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "fetch")]
/// A fresh certificate authority for a test's HTTPS servers, named `name`.
pub fn test_ca(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
}

#[cfg(feature = "fetch")]
/// A server certificate for `names` under `key`, signed by `ca`.
pub fn issue_server_certificate(
    ca: &rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    names: &[&str],
    key: &rcgen::KeyPair,
) -> rcgen::Certificate {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.signed_by(key, ca).unwrap()
}

#[cfg(feature = "fetch")]
/// A local HTTPS/1.1 server on 127.0.0.1 (an ephemeral port) whose certificate, for
/// `127.0.0.1` and `localhost`, `ca` signs; `answer` answers every request.
pub async fn serve_https<F, Fut>(
    ca: &rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    answer: F,
) -> SocketAddr
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = issue_server_certificate(ca, &["127.0.0.1", "localhost"], &key);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, answer) = (acceptor.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| {
                    let response = answer(request);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// The value of the sample `name{labels}` in a Prometheus text scrape.
pub fn prometheus_sample(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// Reads one HTTP/1.1 response head from `stream`: its status and `Content-Length` (0 if
/// none), or `None` if the connection closed or stayed silent for `patience`.
pub async fn read_head(
    stream: &mut tokio::net::TcpStream,
    patience: std::time::Duration,
) -> Option<(u16, usize)> {
    tokio::time::timeout(patience, head_of(stream)).await.ok()?
}

/// Reads one whole HTTP/1.1 response (status and body, by its `Content-Length`), or `None`
/// if the connection closed or stayed silent for `patience`.
pub async fn read_response(
    stream: &mut tokio::net::TcpStream,
    patience: std::time::Duration,
) -> Option<(u16, Vec<u8>)> {
    tokio::time::timeout(patience, async {
        let (status, length) = head_of(stream).await?;
        let mut body = vec![0u8; length];
        tokio::io::AsyncReadExt::read_exact(stream, &mut body)
            .await
            .ok()?;
        Some((status, body))
    })
    .await
    .ok()?
}

/// A response head's status and `Content-Length`, read a byte at a time so nothing after it
/// is consumed.
async fn head_of(stream: &mut tokio::net::TcpStream) -> Option<(u16, usize)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tokio::io::AsyncReadExt::read(stream, &mut byte)
            .await
            .ok()?
            == 0
        {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    Some((status, length))
}

/// `fields` signed as Amazon SNS signs a message: signature version 2 (SHA256withRSA) over
/// each name and value on a line, in the order given (SNS's), with the PKCS#8 key in `pem`,
/// its certificate named at `cert_url`.
pub fn sns_signed(
    pem: &str,
    fields: &[(&str, &str)],
    cert_url: &str,
) -> serde_json::Map<String, serde_json::Value> {
    use base64::{engine::general_purpose::STANDARD, Engine as _};

    let der = STANDARD
        .decode(
            pem.lines()
                .filter(|line| !line.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let canonical: String = fields
        .iter()
        .map(|(name, value)| format!("{name}\n{value}\n"))
        .collect();
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        canonical.as_bytes(),
        &mut signature,
    )
    .unwrap();
    let mut message: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).into()))
        .collect();
    message.insert("SignatureVersion".into(), "2".into());
    message.insert("Signature".into(), STANDARD.encode(&signature).into());
    message.insert("SigningCertURL".into(), cert_url.into());
    message
}
