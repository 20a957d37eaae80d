//! Attacks on everything that fetches keys or looks them up, and on the bounds of the request
//! path: a prober with no secret, holding only what a sender publishes (its key endpoint, its
//! captured deliveries), tries to make a delivery count twice, to tell tenants apart, or to
//! make the receiver fetch or look up far more than one honest request costs.
//!
//! Each test asserts the safe outcome. Key hosts are a local HTTPS server under a test CA made
//! here with rcgen; nothing here reaches the internet.
#![cfg(all(feature = "paypal", feature = "sns", feature = "jwt", feature = "axum"))]

mod support;

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, UNIX_EPOCH},
};

use axum::{routing::post, Extension, Router};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use support::{is_duplicate, is_processed};
use tower_webhook::{
    keys::{AllowedHosts, Fetcher, FoundKeys, KeyName, KeyResolver},
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    scheme::{JwtScheme, PayPalScheme, Scheme},
    Verified, WebhookSignatureLayer,
};

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/fetched.json")).unwrap()
}

const NOW: u64 = 1_700_000_000;

fn fixed_now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

/// A local HTTPS key host: fixed files by path, Plaid's key endpoint, and a count of every
/// request it was sent.
struct KeyHost {
    addr: SocketAddr,
    ca_pem: String,
    fetches: Arc<Mutex<HashMap<String, usize>>>,
}

impl KeyHost {
    async fn start(files: HashMap<String, String>) -> Self {
        let ca = support::test_ca("attacks_fetch test CA");
        let fetches: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let plaid_keys = vectors()["plaid"]["keys"].clone();
        let state = Arc::new((files, plaid_keys, Arc::clone(&fetches)));
        let addr = support::serve_https(&ca, move |request| {
            let state = Arc::clone(&state);
            async move { answer(&state, request).await }
        })
        .await;
        Self {
            addr,
            ca_pem: ca.pem(),
            fetches,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    fn fetches(&self, path: &str) -> usize {
        self.fetches.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn fetcher(&self) -> Fetcher {
        Fetcher::trust_only_pem(&self.ca_pem)
            .unwrap()
            .timeout(Duration::from_millis(500))
    }

    fn hosts(&self) -> AllowedHosts {
        AllowedHosts::new([format!("127.0.0.1:{}", self.addr.port())]).unwrap()
    }
}

type HostState = (
    HashMap<String, String>,
    Value,
    Arc<Mutex<HashMap<String, usize>>>,
);

async fn answer(
    state: &HostState,
    request: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let (files, plaid_keys, fetches) = state;
    let path = request.uri().path().to_owned();
    *fetches.lock().unwrap().entry(path.clone()).or_default() += 1;
    let respond = |status: StatusCode, body: String| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    if path == "/webhook_verification_key/get" {
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let asked: Value = serde_json::from_slice(&body).unwrap();
        return match plaid_keys.get(asked["key_id"].as_str().unwrap_or_default()) {
            Some(key) => respond(StatusCode::OK, json!({ "key": key }).to_string()),
            None => respond(StatusCode::BAD_REQUEST, "{}".into()),
        };
    }
    match files.get(&path) {
        Some(file) => respond(StatusCode::OK, file.clone()),
        None => respond(StatusCode::NOT_FOUND, String::new()),
    }
}

/// What the handler behind the guard processed.
type Processed = Arc<Mutex<Vec<Bytes>>>;

/// `scheme`, then a replay guard, then a handler that records each body it processed, on a
/// real axum server.
async fn guarded<S>(scheme: S) -> (SocketAddr, Processed)
where
    S: Scheme + Clone + Send + Sync + 'static,
    S::Verifier: Send + 'static,
{
    let processed = Processed::default();
    let seen = Arc::clone(&processed);
    let route: axum::routing::MethodRouter = post(
        move |Extension(_verified): Extension<Verified>, body: Bytes| {
            seen.lock().unwrap().push(body);
            async { "handled" }
        },
    )
    .layer::<_, Infallible>(ReplayGuardLayer::new(MemoryStore::new(100)))
    .layer(WebhookSignatureLayer::new(scheme));
    (
        support::serve_axum(Router::new().route("/{*rest}", route)).await,
        processed,
    )
}

fn jwt_request(header: &str, jwt: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post("/webhooks/jwt")
        .header(header, jwt)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// ECDSA malleability: a captured ES256 JWT re-sent with `s` replaced by `n - s`.
// ---------------------------------------------------------------------------------------

/// The order of the P-256 group, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `n - s` for a 32-byte big-endian `s < n`.
fn negate_mod_n(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(P256_N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = u8::try_from(d).unwrap();
    }
    out
}

/// The same ES256 JWT with its signature's `s` replaced by `n - s`: as valid a signature of
/// the same header and claims, written by anyone who has seen the first, no key needed.
fn malleated(jwt: &str) -> String {
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_eq!(signature.len(), 64, "ES256: r || s");
    let mut other = signature[..32].to_vec();
    other.extend_from_slice(&negate_mod_n(&signature[32..]));
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(other))
}

/// A captured Plaid delivery (ES256 JWT) re-sent with its signature's `s` flipped to `n - s`.
/// ECDSA accepts both, so the copy verifies; the replay guard must still see one delivery,
/// and the handler run once. (The crate's own P-256 scheme, SendGrid, names the delivery by
/// the low-`s` form; a JWT must not be named by the signature bytes as sent.)
#[tokio::test]
async fn an_es256_jwt_with_its_signature_malleated_is_the_same_delivery() {
    let host = KeyHost::start(HashMap::new()).await;
    let scheme = JwtScheme::plaid(
        &host.url("/webhook_verification_key/get"),
        host.fetcher(),
        "plaid-client",
        "plaid-secret",
    )
    .unwrap()
    .clock(fixed_now);
    let (addr, processed) = guarded(scheme).await;
    let plaid = &vectors()["plaid"];
    let body = plaid["body"].as_str().unwrap();
    let captured = plaid["jwt_key_1"].as_str().unwrap();

    let first = support::send(addr, jwt_request("plaid-verification", captured, body)).await;
    assert!(is_processed(&first), "{first:?}");
    let copy = malleated(captured);
    assert_ne!(copy, captured);
    let again = support::send(addr, jwt_request("plaid-verification", &copy, body)).await;
    // ECDSA accepts the copy; the guard must know it for the delivery it was made from.
    assert!(
        is_duplicate(&again),
        "the malleated copy was not answered as a duplicate: {again:?}"
    );
    assert_eq!(processed.lock().unwrap().len(), 1, "processed twice");
    assert_eq!(host.fetches("/webhook_verification_key/get"), 1);
}

// ---------------------------------------------------------------------------------------
// Telling tenants apart: schemes that check the key at the head.
// ---------------------------------------------------------------------------------------

/// A source that knows only tenant `acme` (secret `acme-secret`), counting its lookups.
fn one_tenant(lookups: &Arc<AtomicUsize>) -> KeyResolver {
    let lookups = Arc::clone(lookups);
    KeyResolver::from_fn(KeyName::path("/t/{tenant}"), move |tenant: String| {
        lookups.fetch_add(1, Ordering::SeqCst);
        async move { Ok((tenant == "acme").then(|| FoundKeys::new("acme-secret"))) }
    })
}

/// An HS256 JWT over `body`'s SHA-256 (FusionAuth's claim), under `secret`.
fn hs256_jwt(secret: &[u8], body: &[u8]) -> String {
    use hmac::Mac as _;
    use sha2::Digest as _;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
    let claims = URL_SAFE_NO_PAD.encode(json!({ "request_body_sha256": hash }).to_string());
    let input = format!("{header}.{claims}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

/// For `tenant`, a forged request with a well-formed head: see `support::probe_tenant`.
async fn probe<S: Scheme>(
    layer: WebhookSignatureLayer<S>,
    tenant: &str,
    header: &str,
    value: &str,
) -> (StatusCode, Bytes, usize) {
    const BODY: &[u8] = br#"{"event":"payout.created","amount":100}"#;
    support::probe_tenant(layer, tenant, (header, value), BODY).await
}

/// FusionAuth's HMAC JWTs with a secret per tenant: a prober with no secret sends a JWT
/// signed under a made-up key to a tenant's route. A known tenant must be answered exactly as
/// an unknown one, after the body (so also the same `100 Continue` to `Expect`): otherwise
/// the answer before the body says which tenants exist.
#[tokio::test]
async fn a_jwt_tenant_that_exists_is_answered_like_one_that_does_not() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = WebhookSignatureLayer::new(presets::fusionauth(one_tenant(&lookups)));
    let forged = hs256_jwt(b"a guess", br#"{"event":"payout.created","amount":100}"#);
    for round in ["looked up", "cached"] {
        let known = probe(layer.clone(), "acme", "x-fusionauth-signature-jwt", &forged).await;
        let unknown = probe(
            layer.clone(),
            "nobody",
            "x-fusionauth-signature-jwt",
            &forged,
        )
        .await;
        assert_eq!(unknown.0, StatusCode::UNAUTHORIZED, "{round}");
        assert_eq!(known, unknown, "{round}: (status, answer, frames read)");
    }
    assert_eq!(lookups.load(Ordering::SeqCst), 2, "one lookup per name");
}

/// The same for a shared-token sender (GitLab's `X-Gitlab-Token`) with a token per tenant.
#[tokio::test]
async fn a_token_tenant_that_exists_is_answered_like_one_that_does_not() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = WebhookSignatureLayer::new(presets::gitlab(one_tenant(&lookups)));
    for round in ["looked up", "cached"] {
        let known = probe(layer.clone(), "acme", "x-gitlab-token", "a guess").await;
        let unknown = probe(layer.clone(), "nobody", "x-gitlab-token", "a guess").await;
        assert_eq!(unknown.0, StatusCode::UNAUTHORIZED, "{round}");
        assert_eq!(known, unknown, "{round}: (status, answer, frames read)");
    }
    assert_eq!(lookups.load(Ordering::SeqCst), 2, "one lookup per name");
}

/// The median time, over `rounds`, that the layer takes to answer a forged 2 MiB Stripe
/// delivery (well-formed, fresh, wrong signature) to `tenant`.
async fn median_answer_time<S: Scheme>(
    layer: &WebhookSignatureLayer<S>,
    tenant: &str,
    body: &Bytes,
    rounds: usize,
) -> Duration {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let request = Request::post(format!("/t/{tenant}"))
            .header(
                "stripe-signature",
                format!("t={},v1={}", support::unix_now(), "0".repeat(64)),
            )
            .body(Full::new(body.clone()))
            .unwrap();
        let started = std::time::Instant::now();
        let outcome = support::run_through(layer.clone(), request).await;
        times.push(started.elapsed());
        assert_eq!(outcome.status, StatusCode::UNAUTHORIZED, "{tenant}");
        assert_eq!(outcome.recorder.calls(), 0);
    }
    times.sort();
    times[rounds / 2]
}

/// A known tenant's wrong signature and an unknown tenant must cost the same time to answer:
/// with a 2 MiB body, a known tenant's HMAC over the body takes far longer than reading it
/// (about 100 ms against microseconds in a debug build), so the layer verifies an unknown
/// name against decoy keys. Rounds alternate, so load on the machine falls on both alike;
/// the bound is loose (1.5x) against a gap that was thousands of times.
#[tokio::test]
async fn a_known_tenant_costs_the_same_time_as_an_unknown_one() {
    let lookups = Arc::new(AtomicUsize::new(0));
    let layer = WebhookSignatureLayer::new(presets::stripe(one_tenant(&lookups)));
    let body = Bytes::from(vec![b'x'; 2 * 1024 * 1024 - 1024]);
    // Both names looked up and cached first.
    median_answer_time(&layer, "acme", &body, 1).await;
    median_answer_time(&layer, "nobody", &body, 1).await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        known.push(median_answer_time(&layer, "acme", &body, 1).await);
        unknown.push(median_answer_time(&layer, "nobody", &body, 1).await);
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[3], unknown[3]);
    let (fast, slow) = if known < unknown {
        (known, unknown)
    } else {
        (unknown, known)
    };
    assert!(
        slow.as_secs_f64() < fast.as_secs_f64() * 1.5 + 0.002,
        "known {known:?} vs unknown {unknown:?}: the time tells tenants apart"
    );
    assert_eq!(lookups.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------------------
// Certificate URLs: spellings that would reach the key host twice, or another host.
// ---------------------------------------------------------------------------------------

/// A PayPal certificate path of PayPal's own pattern; the key host answers it `404`.
const MISSING_CERT: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-0000000f";

/// A well-formed, fresh PayPal head (transmission at `NOW`) naming `cert_url`, with a
/// signature nobody made: its certificate is looked up before anything else can fail.
fn paypal_forgery(cert_url: &str) -> Request<Full<Bytes>> {
    use base64::engine::general_purpose::STANDARD;
    Request::post("/webhooks/paypal")
        .header(
            "paypal-transmission-id",
            "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        )
        .header("paypal-transmission-time", "2023-11-14T22:13:20Z")
        .header("paypal-transmission-sig", STANDARD.encode([7u8; 256]))
        .header("paypal-auth-algo", "SHA256withRSA")
        .header("paypal-cert-url", cert_url)
        .body(Full::new(Bytes::from_static(br#"{"id":"WH-1"}"#)))
        .unwrap()
}

/// Spellings of the key host that `http`'s parser accepts and a naive check would treat as
/// new names: a `+` before the port (Rust's integer parser takes it), a trailing dot, other
/// writings of 127.0.0.1, IPv6, user info. Each is refused with `401` and no fetch, or is the
/// one canonical URL: one fetch for all of them together.
#[tokio::test]
async fn certificate_host_spellings_make_one_fetch_or_none() {
    let host = KeyHost::start(HashMap::new()).await;
    let port = host.addr.port();
    let scheme = PayPalScheme::new("WH-1")
        .fetcher(host.fetcher())
        .certificate_hosts(host.hosts())
        .clock(fixed_now);
    let layer = WebhookSignatureLayer::new(scheme);
    let path = MISSING_CERT;
    for url in [
        format!("https://127.0.0.1.:{port}{path}"),
        format!("https://127.1:{port}{path}"),
        format!("https://0x7f.0.0.1:{port}{path}"),
        format!("https://2130706433:{port}{path}"),
        format!("https://[::ffff:127.0.0.1]:{port}{path}"),
        format!("https://[::1]:{port}{path}"),
        format!("https://localhost:{port}{path}"),
        format!("https://127.0.0.1:{port}@127.0.0.1:{port}{path}"),
        format!("https://127.0.0.1:{port}:{port}{path}"),
        format!("https://127.0.0.1:-{port}{path}"),
        format!("https://127.0.0.1: {port}{path}"),
        format!("https://127.0.0.1:{port}/v1/notifications/certs/CERT-360CAA42-FCA2A594-0000000F"),
        format!("https://127.0.0.1:{port}/V1/notifications/certs/CERT-360caa42-fca2a594-0000000f"),
        format!("https://127.0.0.1:{port}{path};x"),
        format!(
            "https://127.0.0.1:{port}/v1/notifications/certs/CERT-360caa42-fca2a594-0000000f%00"
        ),
        format!("http://127.0.0.1:{port}{path}"),
        format!("wss://127.0.0.1:{port}{path}"),
    ] {
        // Every spelling here can be sent as a header value.
        assert!(http::HeaderValue::from_str(&url).is_ok(), "{url}");
        let outcome = support::run_through(layer.clone(), paypal_forgery(&url)).await;
        assert_eq!(outcome.status, StatusCode::UNAUTHORIZED, "{url}");
        assert_eq!(outcome.recorder.calls(), 0, "{url}");
    }
    assert_eq!(host.fetches(path), 0, "a refused spelling was fetched");

    // The spellings of the one allowed URL: one fetch (the failure is remembered a second),
    // `503` for each, whatever the spelling.
    for url in [
        host.url(path),
        format!("https://127.0.0.1:+{port}{path}"),
        format!("https://127.0.0.1:0{port}{path}"),
        format!("HTTPS://127.0.0.1:{port}{path}"),
    ] {
        let outcome = support::run_through(layer.clone(), paypal_forgery(&url)).await;
        // `:+443` is taken by Rust's port parser and written back without the `+`.
        assert_eq!(outcome.status, StatusCode::SERVICE_UNAVAILABLE, "{url}");
        assert_eq!(outcome.recorder.calls(), 0, "{url}");
    }
    assert_eq!(host.fetches(path), 1, "one URL, one fetch");
}

// ---------------------------------------------------------------------------------------
// Durations a user sets on fetched keys: none panics, none turns a bound off.
// ---------------------------------------------------------------------------------------

/// Every duration and count on the fetcher and the JWT and PayPal schemes at its extremes:
/// requests are answered, never panic, and the JWKS is still fetched once for many requests.
#[tokio::test]
async fn fetched_key_settings_at_their_extremes_answer_and_still_cache() {
    let fa = &vectors()["fusionauth"];
    let mut files = HashMap::new();
    files.insert("/.well-known/jwks.json".to_owned(), fa["jwks"].to_string());
    let host = KeyHost::start(files).await;
    let body = fa["body"].as_str().unwrap();
    let jwt = fa["jwt_rs256"].as_str().unwrap();
    for (duration, count) in [(Duration::MAX, u32::MAX), (Duration::ZERO, 0)] {
        let fetcher = host
            .fetcher()
            .timeout(duration.max(Duration::from_secs(2)))
            .limit(usize::try_from(count).unwrap_or(usize::MAX))
            .max_concurrent_fetches(usize::try_from(count).unwrap_or(usize::MAX))
            .rate_limit(count, duration);
        let before = host.fetches("/.well-known/jwks.json");
        let scheme = presets::fusionauth_jwks(&host.url("/.well-known/jwks.json"), fetcher)
            .unwrap()
            .jwks_refresh_interval(duration)
            .leeway(duration)
            .tolerance(duration)
            .clock(fixed_now);
        let layer = WebhookSignatureLayer::new(scheme);
        for _ in 0..3 {
            let outcome = support::run_through(
                layer.clone(),
                jwt_request("x-fusionauth-signature-jwt", jwt, body),
            )
            .await;
            // `limit(0)` is raised to 1 KiB, which the test JWKS may pass: then `503`.
            assert!(
                matches!(
                    outcome.status,
                    StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE
                ),
                "{duration:?}: {}",
                outcome.status
            );
        }
        let fetched = host.fetches("/.well-known/jwks.json") - before;
        assert!(
            fetched <= 1,
            "{duration:?}: {fetched} fetches for one document"
        );

        let paypal = PayPalScheme::new("WH-1")
            .fetcher(host.fetcher().timeout(duration))
            .certificate_hosts(host.hosts())
            .certificate_ttl(duration)
            .tolerance(duration)
            .clock(fixed_now);
        let outcome = support::run_through(
            WebhookSignatureLayer::new(paypal),
            paypal_forgery(&host.url(MISSING_CERT)),
        )
        .await;
        assert_eq!(
            outcome.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{duration:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Other spellings of a captured JWT: none may be a second delivery.
// ---------------------------------------------------------------------------------------

/// Spellings of `jwt` a capturer can write without a key: its signature's last base64url
/// character with the unused bits set, with padding, with a zero byte in front, and the
/// header value wrapped in blanks.
fn respellings(jwt: &str) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let mut spellings = Vec::new();
    let last = *signature.as_bytes().last().unwrap();
    let value = ALPHABET.iter().position(|&c| c == last).unwrap();
    for bits in 1..4 {
        let other = ALPHABET[value ^ bits] as char;
        let mut changed = signature[..signature.len() - 1].to_owned();
        changed.push(other);
        spellings.push(format!("{signed}.{changed}"));
    }
    spellings.push(format!("{signed}.{signature}="));
    spellings.push(format!("{signed}.{signature}=="));
    let bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let padded = [&[0u8][..], &bytes].concat();
    spellings.push(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(padded)));
    spellings.push(format!(" {jwt}\t"));
    spellings.push(format!("{jwt}."));
    spellings
}

/// A captured FusionAuth delivery (HS256 under a fixed secret, and RS256 under a fetched
/// JWKS) sent again in every spelling a capturer can write: processed once, each copy a
/// duplicate or refused.
#[tokio::test]
async fn respelled_jwts_are_never_a_second_delivery() {
    let fa = &vectors()["fusionauth"];
    let mut files = HashMap::new();
    files.insert("/.well-known/jwks.json".to_owned(), fa["jwks"].to_string());
    let host = KeyHost::start(files).await;
    let body = fa["body"].as_str().unwrap();
    let header = "x-fusionauth-signature-jwt";
    let hmac = presets::fusionauth(fa["hmac_secret"].as_str().unwrap()).clock(fixed_now);
    let jwks = presets::fusionauth_jwks(&host.url("/.well-known/jwks.json"), host.fetcher())
        .unwrap()
        .clock(fixed_now);
    for (addr, processed, jwt) in [
        {
            let (addr, processed) = guarded(hmac).await;
            (addr, processed, fa["jwt_hs256"].as_str().unwrap())
        },
        {
            let (addr, processed) = guarded(jwks).await;
            (addr, processed, fa["jwt_rs256"].as_str().unwrap())
        },
    ] {
        let first = support::send(addr, jwt_request(header, jwt, body)).await;
        assert!(is_processed(&first), "{first:?}");
        for copy in respellings(jwt) {
            let again = support::send(addr, jwt_request(header, &copy, body)).await;
            assert!(
                is_duplicate(&again) || again.0 == StatusCode::UNAUTHORIZED,
                "{copy}: {again:?}"
            );
        }
        assert_eq!(processed.lock().unwrap().len(), 1, "{jwt}: processed twice");
    }
    assert_eq!(host.fetches("/.well-known/jwks.json"), 1);
}
