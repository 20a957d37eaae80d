//! Senders whose keys are fetched (PayPal, Amazon SNS, Plaid, FusionAuth), against a local
//! HTTPS server that serves their certificates and keys under a test CA made here with
//! rcgen. The deliveries were signed by Python's `cryptography` (generate_fetched.py).
//! Nothing here reaches the internet.
#![cfg(all(feature = "paypal", feature = "sns", feature = "jwt", feature = "axum"))]

mod support;

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, UNIX_EPOCH},
};

use axum::{routing::post, Extension, Router};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use rcgen::KeyPair;
use serde_json::{json, Value};
use tower_webhook::{
    keys::{AllowedHosts, Fetcher},
    presets,
    replay::{MemoryStore, ReplayGuardLayer},
    scheme::{DeliveryId, JwtScheme, PayPalScheme, Scheme, SnsScheme},
    Verified, WebhookSignatureLayer,
};

const NOW: u64 = 1_700_000_000;

// Certificates at the paths PayPal and SNS use: any other is refused before a fetch.
const GOOD_CERT: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-00000001";
const OTHER_CERT: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-00000002";
const MISNAMED_CERT: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-00000003";
const REDIRECT_CERT: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-00000005";
const HUGE_CERT: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-00000006";
/// Every PayPal certificate whose name starts so is served after 3 seconds.
const SLOW_CERTS: &str = "/v1/notifications/certs/CERT-510e0000-";
const SLOW_CERT: &str = "/v1/notifications/certs/CERT-510e0000-00000000-00000000";
const SNS_CERT: &str = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/fetched.json")).unwrap()
}

fn fixed_now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

/// The local HTTPS server that plays PayPal's, AWS's, Plaid's and FusionAuth's key hosts.
struct KeyServer {
    addr: SocketAddr,
    ca_pem: String,
    fetches: Arc<Mutex<HashMap<String, usize>>>,
}

impl KeyServer {
    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    fn fetches(&self, path: &str) -> usize {
        self.fetches.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total_fetches(&self) -> usize {
        self.fetches.lock().unwrap().values().sum()
    }

    /// Fetches of every path that starts with `prefix`.
    fn fetches_under(&self, prefix: &str) -> usize {
        let fetches = self.fetches.lock().unwrap();
        fetches
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .map(|(_, count)| count)
            .sum()
    }

    /// A fetcher that trusts only the test CA, with a short timeout.
    fn fetcher(&self) -> Fetcher {
        Fetcher::trust_only_pem(&self.ca_pem)
            .unwrap()
            .timeout(Duration::from_millis(500))
    }

    fn hosts(&self) -> AllowedHosts {
        AllowedHosts::new([format!("127.0.0.1:{}", self.addr.port())]).unwrap()
    }

    async fn start() -> Self {
        let vectors = vectors();
        let ca = support::test_ca("tower-webhook test CA");
        let issue =
            |names: &[&str], key: &KeyPair| support::issue_server_certificate(&ca, names, key);
        let signer = KeyPair::from_pem(vectors["rsa_signer_pem"].as_str().unwrap()).unwrap();
        let other = KeyPair::from_pem(vectors["rsa_other_pem"].as_str().unwrap()).unwrap();
        let paypal_name = ["messageverificationcerts.paypal.com"];
        let mut files: HashMap<String, String> = HashMap::new();
        files.insert(GOOD_CERT.into(), issue(&paypal_name, &signer).pem());
        files.insert(OTHER_CERT.into(), issue(&paypal_name, &other).pem());
        files.insert(
            MISNAMED_CERT.into(),
            issue(&["evil.example"], &signer).pem(),
        );
        files.insert(
            SNS_CERT.into(),
            issue(&["sns.amazonaws.com"], &signer).pem(),
        );
        files.insert(
            "/.well-known/jwks.json".into(),
            vectors["fusionauth"]["jwks"].to_string(),
        );
        let plaid_keys = vectors["plaid"]["keys"].clone();

        let fetches: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
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
}

type ServerState = (
    HashMap<String, String>,
    Value,
    Arc<Mutex<HashMap<String, usize>>>,
);

async fn answer(
    state: &ServerState,
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
    match path.as_str() {
        path if path.starts_with(SLOW_CERTS) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            respond(StatusCode::OK, files[GOOD_CERT].clone())
        }
        REDIRECT_CERT => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", GOOD_CERT)
            .body(Full::new(Bytes::new()))
            .unwrap(),
        HUGE_CERT => respond(StatusCode::OK, "A".repeat(200 * 1024)),
        // SNS's SubscribeURL (`/?Action=ConfirmSubscription&…`), as its host answers it.
        "/" => respond(StatusCode::OK, "<ConfirmSubscriptionResponse/>".into()),
        "/webhook_verification_key/get" => {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let asked: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(asked["client_id"], "plaid-client");
            assert_eq!(asked["secret"], "plaid-secret");
            match plaid_keys.get(asked["key_id"].as_str().unwrap()) {
                Some(key) => respond(
                    StatusCode::OK,
                    json!({"key": key, "request_id": "req"}).to_string(),
                ),
                None => respond(StatusCode::BAD_REQUEST, "{}".into()),
            }
        }
        path => match files.get(path) {
            Some(file) => respond(StatusCode::OK, file.clone()),
            None => respond(StatusCode::NOT_FOUND, String::new()),
        },
    }
}

fn paypal_scheme(server: &KeyServer) -> PayPalScheme {
    PayPalScheme::new(vectors()["paypal"]["webhook_id"].as_str().unwrap())
        .fetcher(server.fetcher())
        .certificate_hosts(server.hosts())
        .clock(fixed_now)
}

fn paypal_request(cert_url: &str, body: &str) -> Request<Full<Bytes>> {
    let vector = &vectors()["paypal"];
    let mut request = Request::post("/webhooks/paypal").header("paypal-cert-url", cert_url);
    for (name, value) in vector["headers"].as_object().unwrap() {
        request = request.header(name.as_str(), value.as_str().unwrap());
    }
    request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn paypal_body() -> String {
    vectors()["paypal"]["body"].as_str().unwrap().to_owned()
}

async fn through<S: Scheme>(scheme: S, request: Request<Full<Bytes>>) -> support::Outcome {
    support::run_through(WebhookSignatureLayer::new(scheme), request).await
}

fn assert_refused(outcome: &support::Outcome, status: StatusCode, what: &str) {
    assert_eq!(outcome.status, status, "{what}");
    assert_eq!(
        outcome.recorder.calls(),
        0,
        "{what}: reached the inner service"
    );
}

#[tokio::test]
async fn paypal_verifies_under_a_fetched_certificate_and_caches_it() {
    let server = KeyServer::start().await;
    let scheme = paypal_scheme(&server);
    let url = server.url(GOOD_CERT);
    for _ in 0..3 {
        let outcome = through(scheme.clone(), paypal_request(&url, &paypal_body())).await;
        assert_eq!(outcome.status, StatusCode::OK);
        assert_eq!(outcome.recorder.only().body, paypal_body().as_bytes());
    }
    assert_eq!(server.fetches(GOOD_CERT), 1);
}

#[tokio::test]
async fn paypal_refuses_a_tampered_body_and_a_certificate_that_is_not_the_signers() {
    let server = KeyServer::start().await;
    let scheme = paypal_scheme(&server);
    let good = server.url(GOOD_CERT);
    let tampered = paypal_body().replace("42.00", "4200.00");
    let outcome = through(scheme.clone(), paypal_request(&good, &tampered)).await;
    assert_refused(&outcome, StatusCode::UNAUTHORIZED, "tampered body");
    assert_eq!(outcome.body, "invalid webhook signature\n");

    let other = server.url(OTHER_CERT);
    let outcome = through(scheme.clone(), paypal_request(&other, &paypal_body())).await;
    assert_refused(
        &outcome,
        StatusCode::UNAUTHORIZED,
        "another key's certificate",
    );

    let misnamed = server.url(MISNAMED_CERT);
    let outcome = through(scheme.clone(), paypal_request(&misnamed, &paypal_body())).await;
    assert_refused(
        &outcome,
        StatusCode::UNAUTHORIZED,
        "certificate not issued to PayPal",
    );

    // Under a fetcher that does not trust the test CA, even the right certificate fails
    // (its TLS connection, then its chain): no key from an untrusted source.
    let untrusting =
        paypal_scheme(&server).fetcher(Fetcher::new().timeout(Duration::from_millis(500)));
    let outcome = through(untrusting, paypal_request(&good, &paypal_body())).await;
    assert_refused(&outcome, StatusCode::SERVICE_UNAVAILABLE, "untrusted CA");
}

#[tokio::test]
async fn certificate_urls_off_the_allowed_hosts_are_refused_without_a_fetch() {
    let server = KeyServer::start().await;
    let scheme = paypal_scheme(&server);
    let port = server.addr.port();
    for url in [
        // The same server, named by a host that is not allowed.
        format!("https://localhost:{port}{GOOD_CERT}"),
        // Plain HTTP.
        format!("http://127.0.0.1:{port}{GOOD_CERT}"),
        // User info smuggling another host.
        format!("https://127.0.0.1:{port}@evil.example{GOOD_CERT}"),
        // Not where PayPal keeps certificates.
        format!("https://127.0.0.1:{port}/.well-known/jwks.json"),
    ] {
        let outcome = through(scheme.clone(), paypal_request(&url, &paypal_body())).await;
        assert_refused(&outcome, StatusCode::UNAUTHORIZED, &url);
        assert_eq!(outcome.body, "invalid webhook signature\n", "{url}");
    }
    assert_eq!(server.total_fetches(), 0);
}

#[tokio::test]
async fn a_fetch_that_times_out_redirects_or_is_too_large_gets_503() {
    let server = KeyServer::start().await;
    let scheme = paypal_scheme(&server);
    for path in [SLOW_CERT, REDIRECT_CERT, HUGE_CERT] {
        let started = std::time::Instant::now();
        let outcome = through(
            scheme.clone(),
            paypal_request(&server.url(path), &paypal_body()),
        )
        .await;
        assert_refused(&outcome, StatusCode::SERVICE_UNAVAILABLE, path);
        assert!(started.elapsed() < Duration::from_secs(2), "{path}");
    }
    // The redirect was not followed.
    assert_eq!(server.fetches(GOOD_CERT), 0);
}

#[tokio::test]
async fn paypal_refuses_a_stale_transmission_time() {
    let server = KeyServer::start().await;
    let scheme = paypal_scheme(&server).clock(|| UNIX_EPOCH + Duration::from_secs(NOW + 301));
    let url = server.url(GOOD_CERT);
    let outcome = through(scheme, paypal_request(&url, &paypal_body())).await;
    assert_refused(&outcome, StatusCode::UNAUTHORIZED, "stale");
    assert_eq!(outcome.body, "webhook timestamp outside the tolerance\n");
    assert_eq!(server.total_fetches(), 0);
}

fn sns_scheme(server: &KeyServer) -> SnsScheme {
    SnsScheme::new([vectors()["sns"]["topic"].as_str().unwrap()])
        .fetcher(server.fetcher())
        .certificate_hosts(server.hosts())
        .clock(fixed_now)
}

fn sns_body(server: &KeyServer, which: &str) -> String {
    vectors()["sns"][which]
        .as_str()
        .unwrap()
        .replace("__BASE__", &format!("https://{}", server.addr))
        // SigningCertURL is not signed: the vectors' file name is replaced with one SNS uses.
        .replace("/SimpleNotificationService-test.pem", SNS_CERT)
}

fn sns_request(body: &str) -> Request<Full<Bytes>> {
    let message: Value = serde_json::from_str(body).unwrap();
    Request::post("/webhooks/sns")
        .header("x-amz-sns-message-type", message["Type"].as_str().unwrap())
        .header("x-amz-sns-topic-arn", message["TopicArn"].as_str().unwrap())
        .header("content-type", "text/plain; charset=UTF-8")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn sns_verifies_both_signature_versions_and_subscription_confirmations() {
    let server = KeyServer::start().await;
    let scheme = sns_scheme(&server);
    for which in [
        "notification_v1",
        "notification_v2",
        "subscription_confirmation",
    ] {
        let body = sns_body(&server, which);
        let outcome = through(scheme.clone(), sns_request(&body)).await;
        assert_eq!(outcome.status, StatusCode::OK, "{which}");
        assert_eq!(outcome.recorder.only().body, body.as_bytes(), "{which}");
    }
    assert_eq!(server.fetches(SNS_CERT), 1);
}

#[tokio::test]
async fn sns_refuses_tampering_other_topics_and_foreign_certificate_urls() {
    let server = KeyServer::start().await;
    let scheme = sns_scheme(&server);
    let body = sns_body(&server, "notification_v2");
    let tampered = body.replace("plain text", "plain test");
    let outcome = through(scheme.clone(), sns_request(&tampered)).await;
    assert_refused(&outcome, StatusCode::UNAUTHORIZED, "tampered message");

    let other_topic = SnsScheme::new(["arn:aws:sns:us-east-1:123456789012:other"])
        .fetcher(server.fetcher())
        .certificate_hosts(server.hosts())
        .clock(fixed_now);
    let outcome = through(other_topic, sns_request(&body)).await;
    assert_refused(&outcome, StatusCode::UNAUTHORIZED, "topic not allowed");

    let port = server.addr.port();
    for url in [
        format!("https://localhost:{port}{SNS_CERT}"),
        format!("http://127.0.0.1:{port}{SNS_CERT}"),
        format!("https://127.0.0.1:{port}/.well-known/jwks.json"),
    ] {
        let forged = body.replace(&format!("https://{}{SNS_CERT}", server.addr), &url);
        let outcome = through(scheme.clone(), sns_request(&forged)).await;
        assert_refused(&outcome, StatusCode::UNAUTHORIZED, &url);
    }
    // A message older than SNS's hour of retries.
    let late = sns_scheme(&server).clock(|| UNIX_EPOCH + Duration::from_secs(NOW + 3601));
    let outcome = through(late, sns_request(&body)).await;
    assert_refused(&outcome, StatusCode::UNAUTHORIZED, "stale Timestamp");
    assert_eq!(outcome.body, "webhook timestamp outside the tolerance\n");
    // Only the tampered message, whose URL is SNS's, fetched its certificate.
    assert_eq!(server.fetches(SNS_CERT), 1);
    assert_eq!(server.total_fetches(), 1);
}

fn plaid_scheme(server: &KeyServer) -> JwtScheme {
    JwtScheme::plaid(
        &server.url("/webhook_verification_key/get"),
        server.fetcher(),
        "plaid-client",
        "plaid-secret",
    )
    .unwrap()
    .clock(fixed_now)
}

fn jwt_request(header: &str, jwt: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post("/webhooks/jwt")
        .header(header, jwt)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

#[tokio::test]
async fn plaid_fetches_each_key_id_once() {
    let server = KeyServer::start().await;
    let scheme = plaid_scheme(&server);
    let plaid = &vectors()["plaid"];
    let body = plaid["body"].as_str().unwrap();
    for jwt in [
        "jwt_key_1",
        "jwt_key_1",
        "jwt_key_2",
        "jwt_key_2",
        "jwt_key_1",
    ] {
        let request = jwt_request("plaid-verification", plaid[jwt].as_str().unwrap(), body);
        let outcome = through(scheme.clone(), request).await;
        assert_eq!(outcome.status, StatusCode::OK, "{jwt}");
        assert_eq!(outcome.recorder.only().body, body.as_bytes());
    }
    // Two key ids, each fetched once.
    assert_eq!(server.fetches("/webhook_verification_key/get"), 2);

    let tampered = body.replace("SYNC", "SINK");
    let request = jwt_request(
        "plaid-verification",
        plaid["jwt_key_1"].as_str().unwrap(),
        &tampered,
    );
    assert_refused(
        &through(scheme.clone(), request).await,
        StatusCode::UNAUTHORIZED,
        "tampered",
    );

    let request = jwt_request(
        "plaid-verification",
        plaid["jwt_without_iat"].as_str().unwrap(),
        body,
    );
    assert_refused(
        &through(scheme.clone(), request).await,
        StatusCode::UNAUTHORIZED,
        "no iat",
    );

    let stale = plaid_scheme(&server).clock(|| UNIX_EPOCH + Duration::from_secs(NOW + 301));
    let request = jwt_request(
        "plaid-verification",
        plaid["jwt_key_1"].as_str().unwrap(),
        body,
    );
    assert_refused(
        &through(stale, request).await,
        StatusCode::UNAUTHORIZED,
        "stale iat",
    );
}

#[tokio::test]
async fn fusionauth_verifies_hmac_and_jwks_signed_jwts() {
    let server = KeyServer::start().await;
    let fa = &vectors()["fusionauth"];
    let body = fa["body"].as_str().unwrap();
    let header = "x-fusionauth-signature-jwt";

    let hmac = presets::fusionauth(fa["hmac_secret"].as_str().unwrap()).clock(fixed_now);
    let request = jwt_request(header, fa["jwt_hs256"].as_str().unwrap(), body);
    let outcome = through(hmac.clone(), request).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(outcome.recorder.only().body, body.as_bytes());
    let request = jwt_request(
        header,
        fa["jwt_hs256"].as_str().unwrap(),
        &body.replace("create", "delete"),
    );
    assert_refused(
        &through(hmac.clone(), request).await,
        StatusCode::UNAUTHORIZED,
        "tampered",
    );
    // An RS256 JWT against the HMAC scheme: the algorithm is not allowed.
    let request = jwt_request(header, fa["jwt_rs256"].as_str().unwrap(), body);
    assert_refused(
        &through(hmac, request).await,
        StatusCode::UNAUTHORIZED,
        "RS256 to HMAC",
    );

    let jwks = presets::fusionauth_jwks(&server.url("/.well-known/jwks.json"), server.fetcher())
        .unwrap()
        .clock(fixed_now);
    for _ in 0..2 {
        let request = jwt_request(header, fa["jwt_rs256"].as_str().unwrap(), body);
        let outcome = through(jwks.clone(), request).await;
        assert_eq!(outcome.status, StatusCode::OK);
    }
    assert_eq!(server.fetches("/.well-known/jwks.json"), 1);
    // An HS256 JWT against the JWKS scheme: no RSA key can act as an HMAC secret.
    let request = jwt_request(header, fa["jwt_hs256"].as_str().unwrap(), body);
    assert_refused(
        &through(jwks, request).await,
        StatusCode::UNAUTHORIZED,
        "HS256 to JWKS",
    );
}

/// PayPal, SNS and Plaid behind a real axum server on 127.0.0.1, fetching from the local
/// HTTPS key server; twenty concurrent first deliveries make one certificate fetch.
#[tokio::test]
async fn fetched_key_senders_verify_through_a_real_server() {
    let server = KeyServer::start().await;
    let echo = || post(|body: Bytes| async move { body });
    let app = Router::new()
        .route(
            "/webhooks/paypal",
            echo().layer(WebhookSignatureLayer::new(paypal_scheme(&server))),
        )
        .route(
            "/webhooks/sns",
            echo().layer(WebhookSignatureLayer::new(sns_scheme(&server))),
        )
        .route(
            "/webhooks/jwt",
            echo().layer(WebhookSignatureLayer::new(plaid_scheme(&server))),
        );
    let addr = support::serve_axum(app).await;

    let good = server.url(GOOD_CERT);
    let tasks: Vec<_> = (0..20)
        .map(|_| tokio::spawn(support::send(addr, paypal_request(&good, &paypal_body()))))
        .collect();
    for task in tasks {
        let (status, _, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, paypal_body().as_bytes());
    }
    assert_eq!(server.fetches(GOOD_CERT), 1);

    let sns = sns_body(&server, "subscription_confirmation");
    let (status, _, body) = support::send(addr, sns_request(&sns)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, sns.as_bytes());

    let plaid = &vectors()["plaid"];
    let request = jwt_request(
        "plaid-verification",
        plaid["jwt_key_1"].as_str().unwrap(),
        plaid["body"].as_str().unwrap(),
    );
    let (status, _, _) = support::send(addr, request).await;
    assert_eq!(status, StatusCode::OK);

    let forged = paypal_request(
        &format!("https://localhost:{}{GOOD_CERT}", server.addr.port()),
        &paypal_body(),
    );
    let (status, _, _) = support::send(addr, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A distinct name made up for request `i`: 8 hex digits, as an attacker would vary them.
fn made_up(i: usize) -> String {
    format!("{:08x}", (i as u32).wrapping_mul(0x9e37_79b9) ^ 0x5bd1_e995)
}

/// A PayPal certificate path of PayPal's own pattern, made up for request `i`.
fn made_up_paypal_cert(prefix: &str, i: usize) -> String {
    format!("{prefix}{}-{}", made_up(i), made_up(i + 100_000))
}

/// The JWT with its header's `kid` replaced (its signature then fails, but only after the
/// key is looked up).
fn with_kid(jwt: &str, kid: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let (header, rest) = jwt.split_once('.').unwrap();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"] = kid.into();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

/// Fifty PayPal and fifty SNS deliveries through a real server, each naming a certificate
/// of its own (in the sender's file-name pattern, on the allowed host), cost no more fetches
/// than the fetcher's budget, and get `503` at once; the genuine deliveries, whose
/// certificates were cached before the flood, still verify.
#[tokio::test]
async fn made_up_certificate_names_cost_no_more_fetches_than_the_rate_limit() {
    #[cfg(feature = "metrics")]
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    let server = KeyServer::start().await;
    // One fetcher, so one budget for both senders: six fetches, then one an hour.
    let fetcher = server.fetcher().rate_limit(6, Duration::from_secs(3600));
    let echo = || post(|body: Bytes| async move { body });
    let paypal = paypal_scheme(&server).fetcher(fetcher.clone());
    let sns = sns_scheme(&server).fetcher(fetcher);
    let app = Router::new()
        .route(
            "/webhooks/paypal",
            echo().layer(WebhookSignatureLayer::new(paypal)),
        )
        .route(
            "/webhooks/sns",
            echo().layer(WebhookSignatureLayer::new(sns)),
        );
    let addr = support::serve_axum(app).await;
    let sns_message = sns_body(&server, "notification_v2");
    let genuine = || async {
        let request = paypal_request(&server.url(GOOD_CERT), &paypal_body());
        let (status, _, body) = support::send(addr, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, paypal_body().as_bytes());
        let (status, _, body) = support::send(addr, sns_request(&sns_message)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, sns_message.as_bytes());
    };
    genuine().await;
    assert_eq!(server.total_fetches(), 2);

    let flood: Vec<_> = (0..50)
        .flat_map(|i| {
            let cert = made_up_paypal_cert("/v1/notifications/certs/CERT-360caa42-", i);
            let paypal = paypal_request(&server.url(&cert), &paypal_body());
            let cert = format!(
                "/SimpleNotificationService-{}{}{}{}.pem",
                made_up(i),
                made_up(i + 1),
                made_up(i + 2),
                made_up(i + 3)
            );
            let sns = sns_request(&sns_message.replace(&server.url(SNS_CERT), &server.url(&cert)));
            [paypal, sns]
        })
        .map(|request| tokio::spawn(support::send(addr, request)))
        .collect();
    assert_eq!(flood.len(), 100);
    for task in flood {
        let (status, _, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "webhook keys unavailable, retry later\n");
    }
    // The four fetches left in the budget, and no more (before: one per name, 100).
    assert_eq!(server.total_fetches(), 6);

    genuine().await;
    assert_eq!(server.total_fetches(), 6);

    #[cfg(feature = "metrics")]
    {
        let scrape = prometheus.render();
        let refused: f64 = ["concurrency", "rate"]
            .iter()
            .filter_map(|limit| {
                let series = format!("webhook_key_fetches_refused_total{{limit=\"{limit}\"}}");
                scrape.lines().find_map(|line| {
                    line.strip_prefix(series.as_str())?
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
            })
            .sum();
        // This flood's 96 refusals at least: other tests in this binary may add theirs.
        assert!(refused >= 96.0, "{scrape}");
    }
}

/// Twenty spellings of one certificate URL, at once, against a host that answers late: the
/// spellings that normalise to the URL share one fetch, every other is refused with `401`
/// before any fetch (before: twenty fetches held open).
#[tokio::test]
async fn spellings_of_one_certificate_url_make_one_fetch_or_none() {
    let server = KeyServer::start().await;
    let scheme = paypal_scheme(&server);
    let port = server.addr.port();
    let base = format!("https://127.0.0.1:{port}");
    let (dir, file) = SLOW_CERT.rsplit_once('/').unwrap();
    let same = [
        format!("{base}{SLOW_CERT}"),
        format!("HTTPS://127.0.0.1:{port}{SLOW_CERT}"),
        format!("hTtPs://127.0.0.1:{port}{SLOW_CERT}"),
        format!("https://127.0.0.1:0{port}{SLOW_CERT}"),
        format!("Https://127.0.0.1:000{port}{SLOW_CERT}"),
    ];
    let refused = [
        format!("{base}/{SLOW_CERT}"),
        format!("{base}/v1//notifications/certs/{file}"),
        format!("{base}/v1/./notifications/certs/{file}"),
        format!("{base}{dir}/./{file}"),
        format!("{base}/v1/x/../notifications/certs/{file}"),
        format!("{base}{SLOW_CERT}/"),
        format!("{base}{SLOW_CERT}/."),
        format!("{base}{dir}/%43{}", &file[1..]),
        format!("{base}/v1%2Fnotifications/certs/{file}"),
        format!("{base}{SLOW_CERT}?"),
        format!("{base}{SLOW_CERT}?v=2"),
        format!("{base}{SLOW_CERT}#x"),
        format!("{base}{dir}/{}", file.to_uppercase()),
        format!("{base}{SLOW_CERT}.pem"),
        format!("https://user@127.0.0.1:{port}{SLOW_CERT}"),
    ];
    assert_eq!(same.len() + refused.len(), 20);
    let spawn =
        |url: &String| tokio::spawn(through(scheme.clone(), paypal_request(url, &paypal_body())));
    let same_tasks: Vec<_> = same.iter().map(spawn).collect();
    let refused_tasks: Vec<_> = refused.iter().map(spawn).collect();
    for (url, task) in same.iter().zip(same_tasks) {
        // One fetch for all five, too slow for the fetcher's timeout.
        assert_refused(&task.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE, url);
    }
    for (url, task) in refused.iter().zip(refused_tasks) {
        let outcome = task.await.unwrap();
        assert_refused(&outcome, StatusCode::UNAUTHORIZED, url);
        assert_eq!(outcome.body, "invalid webhook signature\n", "{url}");
    }
    assert_eq!(server.fetches(SLOW_CERT), 1);
    assert_eq!(server.total_fetches(), 1);
}

/// Fifty Plaid JWTs naming made-up key ids: each would be a request to Plaid carrying the
/// client secret; the fetcher's budget allows two after the genuine key's, and no more. A
/// genuine JWT under a cached key still verifies; one whose key is not cached waits for the
/// budget like any other (`503`, Plaid retries).
#[tokio::test]
async fn made_up_key_ids_cost_no_more_plaid_requests_than_the_rate_limit() {
    let server = KeyServer::start().await;
    let fetcher = server.fetcher().rate_limit(3, Duration::from_secs(3600));
    let scheme = JwtScheme::plaid(
        &server.url("/webhook_verification_key/get"),
        fetcher,
        "plaid-client",
        "plaid-secret",
    )
    .unwrap()
    .clock(fixed_now);
    let plaid = &vectors()["plaid"];
    let body = plaid["body"].as_str().unwrap();
    let jwt = plaid["jwt_key_1"].as_str().unwrap();
    let genuine = || async {
        let outcome = through(scheme.clone(), jwt_request("plaid-verification", jwt, body)).await;
        assert_eq!(outcome.status, StatusCode::OK);
        assert_eq!(outcome.recorder.only().body, body.as_bytes());
    };
    genuine().await;
    assert_eq!(server.fetches("/webhook_verification_key/get"), 1);

    let flood: Vec<_> = (0..50)
        .map(|i| {
            let forged = with_kid(jwt, &format!("made-up-{}", made_up(i)));
            tokio::spawn(through(
                scheme.clone(),
                jwt_request("plaid-verification", &forged, body),
            ))
        })
        .collect();
    for task in flood {
        assert_refused(
            &task.await.unwrap(),
            StatusCode::SERVICE_UNAVAILABLE,
            "made-up kid",
        );
    }
    // Before: one request to Plaid per key id, 50.
    assert_eq!(server.fetches("/webhook_verification_key/get"), 3);

    genuine().await;
    let uncached = jwt_request(
        "plaid-verification",
        plaid["jwt_key_2"].as_str().unwrap(),
        body,
    );
    assert_refused(
        &through(scheme.clone(), uncached).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "a key not cached, past the budget",
    );
    assert_eq!(server.fetches("/webhook_verification_key/get"), 3);
}

/// Made-up key ids against a JWKS: the set is fetched once, as one document, and a made-up
/// key id fetches it again at most once per refresh interval (5 minutes): two floods of
/// fifty, and a genuine JWT whose key id was never looked up before, make one fetch in all
/// (before: one per key id, 100).
#[tokio::test]
async fn made_up_key_ids_share_one_jwks_document() {
    let server = KeyServer::start().await;
    let jwks = presets::fusionauth_jwks(&server.url("/.well-known/jwks.json"), server.fetcher())
        .unwrap()
        .clock(fixed_now);
    let fa = &vectors()["fusionauth"];
    let body = fa["body"].as_str().unwrap();
    let jwt = fa["jwt_rs256"].as_str().unwrap();
    let header = "x-fusionauth-signature-jwt";
    let flood = |from: usize| {
        (from..from + 50)
            .map(|i| {
                let forged = with_kid(jwt, &format!("made-up-{}", made_up(i)));
                tokio::spawn(through(jwks.clone(), jwt_request(header, &forged, body)))
            })
            .collect::<Vec<_>>()
    };
    for task in flood(0) {
        let outcome = task.await.unwrap();
        assert_refused(&outcome, StatusCode::UNAUTHORIZED, "made-up kid");
        assert_eq!(outcome.body, "invalid webhook signature\n");
    }
    assert_eq!(server.fetches("/.well-known/jwks.json"), 1);

    let outcome = through(jwks.clone(), jwt_request(header, jwt, body)).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(outcome.recorder.only().body, body.as_bytes());

    for task in flood(50) {
        assert_refused(
            &task.await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "made-up kid",
        );
    }
    assert_eq!(server.fetches("/.well-known/jwks.json"), 1);
    assert_eq!(server.total_fetches(), 1);
}

/// Twenty made-up certificate names at once against a host that answers late hold at most
/// the fetcher's four slots (before: twenty); the rest get `503` at once, and a genuine
/// delivery under a cached certificate verifies meanwhile.
#[tokio::test]
async fn a_slow_key_host_holds_no_more_fetches_than_the_cap() {
    let server = KeyServer::start().await;
    // A budget the flood cannot spend, and a timeout long enough for all twenty to start
    // while the first four wait: only the cap on fetches in flight holds them.
    let fetcher = server
        .fetcher()
        .timeout(Duration::from_secs(2))
        .rate_limit(100, Duration::from_secs(3600));
    let scheme = paypal_scheme(&server).fetcher(fetcher);
    let genuine = || async {
        let request = paypal_request(&server.url(GOOD_CERT), &paypal_body());
        let outcome = through(scheme.clone(), request).await;
        assert_eq!(outcome.status, StatusCode::OK);
        assert_eq!(outcome.recorder.only().body, paypal_body().as_bytes());
    };
    genuine().await;

    let flood: Vec<_> = (0..20)
        .map(|i| {
            let request = paypal_request(
                &server.url(&made_up_paypal_cert(SLOW_CERTS, i)),
                &paypal_body(),
            );
            tokio::spawn(through(scheme.clone(), request))
        })
        .collect();
    genuine().await;
    for task in flood {
        assert_refused(
            &task.await.unwrap(),
            StatusCode::SERVICE_UNAVAILABLE,
            "slow host",
        );
    }
    let slow = server.fetches_under(SLOW_CERTS);
    assert!((1..=4).contains(&slow), "{slow} fetches of the slow host");
    assert_eq!(server.fetches(GOOD_CERT), 1);
}

/// What the handler behind the guard saw: each body it processed, with the ids the guard
/// claimed for it.
type Processed = Arc<Mutex<Vec<(Bytes, Vec<DeliveryId>)>>>;

/// `scheme`, then a replay guard, then a handler that records what it processed, on a real
/// axum server.
async fn guarded<S>(scheme: S) -> (SocketAddr, Processed)
where
    S: Scheme + Clone + Send + Sync + 'static,
    S::Verifier: Send + 'static,
{
    let processed = Processed::default();
    let seen = Arc::clone(&processed);
    let route: axum::routing::MethodRouter = post(
        move |Extension(verified): Extension<Verified>, body: Bytes| {
            seen.lock().unwrap().push((body, verified.delivery_ids()));
            async { "handled" }
        },
    )
    .layer::<_, Infallible>(ReplayGuardLayer::new(MemoryStore::new(100)))
    .layer(WebhookSignatureLayer::new(scheme));
    let path = "/{*rest}";
    (
        support::serve_axum(Router::new().route(path, route)).await,
        processed,
    )
}

/// The CRC-32 lookup table (IEEE, reflected: zlib's, and PayPal's).
fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    for (i, entry) in (0u32..).zip(table.iter_mut()) {
        *entry = (0..8).fold(i, |c, _| {
            if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            }
        });
    }
    table
}

/// The four bytes that, between `prefix` and `suffix`, give the whole the CRC-32 `target`:
/// the textbook forgery. The register is run forward over `prefix` and backward from
/// `target` over `suffix`; the four bytes are what takes one to the other.
fn crc32_patch(prefix: &[u8], suffix: &[u8], target: u32) -> [u8; 4] {
    let table = crc_table();
    // Each table entry has a distinct top byte, so a step backward knows which entry the
    // step forward used.
    let mut backward = [0u32; 256];
    for (i, entry) in (0u32..).zip(table) {
        backward[(entry >> 24) as usize] = (entry << 8) ^ i;
    }
    let step_back = |register: u32, byte: u8| {
        (register << 8) ^ backward[(register >> 24) as usize] ^ u32::from(byte)
    };
    let before_suffix = suffix.iter().rev().fold(!target, |r, &b| step_back(r, b));
    let before_patch = (0..4).fold(before_suffix, |r, _| step_back(r, 0));
    (before_patch ^ !crc32fast::hash(prefix)).to_le_bytes()
}

/// A PayPal event of PayPal's shape, with the id `id` and another amount, whose CRC-32 is
/// the captured body's: valid JSON, the four forged bytes inside a string.
fn forged_paypal_body(captured: &str, id: &str) -> String {
    let target = crc32fast::hash(captured.as_bytes());
    let suffix = "\"}";
    (0u32..)
        .find_map(|nonce| {
            let prefix = format!(
                r#"{{"id":"{id}","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{{"id":"5O190127TN364715T","amount":{{"value":"9999.00","currency_code":"EUR"}}}},"note":"{nonce:04}"#
            );
            let patch = crc32_patch(prefix.as_bytes(), suffix.as_bytes(), target);
            // Printable, and neither a quote nor a backslash: the string stays JSON.
            let fits = patch
                .iter()
                .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
            fits.then(|| format!("{prefix}{}{suffix}", String::from_utf8(patch.to_vec()).unwrap()))
        })
        .unwrap()
}

/// A body written to the captured delivery's CRC-32, sent with its headers: the signature
/// cannot tell (PayPal signs only the CRC-32), so without a guard it verifies; behind the
/// guard it is the captured delivery's duplicate, by the transmission id the signature
/// binds, and the handler runs once (before: twice, the forged body named by its new `id`).
#[tokio::test]
async fn a_paypal_body_forged_to_the_same_crc32_is_a_duplicate_behind_the_guard() {
    let server = KeyServer::start().await;
    let captured = paypal_body();
    let forged = forged_paypal_body(&captured, "WH-FORGED");
    assert_eq!(
        crc32fast::hash(forged.as_bytes()),
        crc32fast::hash(captured.as_bytes())
    );
    let event: Value = serde_json::from_str(&forged).unwrap();
    assert_eq!(event["resource"]["amount"]["value"], "9999.00");
    assert_ne!(
        event["id"],
        serde_json::from_str::<Value>(&captured).unwrap()["id"]
    );
    let url = server.url(GOOD_CERT);

    // What the scheme alone cannot refuse.
    let outcome = through(paypal_scheme(&server), paypal_request(&url, &forged)).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(outcome.recorder.only().body, forged.as_bytes());

    let (addr, processed) = guarded(paypal_scheme(&server)).await;
    let first = support::send(addr, paypal_request(&url, &captured)).await;
    assert!(support::is_processed(&first), "{first:?}");
    let replay = support::send(addr, paypal_request(&url, &forged)).await;
    assert!(support::is_duplicate(&replay), "{replay:?}");
    let processed = processed.lock().unwrap().clone();
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].0, captured.as_bytes());
    // Named by the event id and by the transmission id, two different names.
    let ids = &processed[0].1;
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

/// `paypal_request` with the headers of another of the vector's transmissions.
fn paypal_transmission(which: &str, url: &str, body: &str) -> Request<Full<Bytes>> {
    let mut request = paypal_request(url, body);
    let vector = &vectors()["paypal"];
    let headers = match which {
        "retry" => &vector["retry_headers"],
        other => &vector[other]["headers"],
    };
    for (name, value) in headers.as_object().unwrap() {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.as_str().unwrap().parse().unwrap(),
        );
    }
    request
}

/// PayPal's retry (another transmission, the same event) is one delivery with the first, by
/// the event `id`; the guard then also remembers the retry's transmission id, so a body
/// forged to the retry's CRC-32 and sent with its headers is a duplicate too (before this
/// was remembered: processed).
#[tokio::test]
async fn a_paypal_retry_is_one_delivery_and_its_headers_forge_nothing() {
    let server = KeyServer::start().await;
    let scheme = paypal_scheme(&server).tolerance(Duration::from_secs(120));
    let (addr, processed) = guarded(scheme).await;
    let url = server.url(GOOD_CERT);
    let body = paypal_body();
    let first = support::send(addr, paypal_request(&url, &body)).await;
    assert!(support::is_processed(&first), "{first:?}");
    let retry = support::send(addr, paypal_transmission("retry", &url, &body)).await;
    assert!(support::is_duplicate(&retry), "{retry:?}");
    let forged = forged_paypal_body(&body, "WH-FORGED");
    let forged = support::send(addr, paypal_transmission("retry", &url, &forged)).await;
    assert!(support::is_duplicate(&forged), "{forged:?}");
    assert_eq!(processed.lock().unwrap().len(), 1);
}

/// A forged body naming another event's id, sent with a captured delivery's headers, is a
/// duplicate; and it marks nothing but what the signature binds, so that other event, when
/// PayPal delivers it, is processed.
#[tokio::test]
async fn a_forged_paypal_body_cannot_mark_another_event_done() {
    let server = KeyServer::start().await;
    let (addr, processed) = guarded(paypal_scheme(&server)).await;
    let url = server.url(GOOD_CERT);
    let other = vectors()["paypal"]["other"]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_id = serde_json::from_str::<Value>(&other).unwrap()["id"].clone();
    let first = support::send(addr, paypal_request(&url, &paypal_body())).await;
    assert!(support::is_processed(&first), "{first:?}");
    let forged = forged_paypal_body(&paypal_body(), other_id.as_str().unwrap());
    let forged = support::send(addr, paypal_request(&url, &forged)).await;
    assert!(support::is_duplicate(&forged), "{forged:?}");
    let genuine = support::send(addr, paypal_transmission("other", &url, &other)).await;
    assert!(support::is_processed(&genuine), "{genuine:?}");
    let bodies: Vec<Bytes> = processed
        .lock()
        .unwrap()
        .iter()
        .map(|(body, _)| body.clone())
        .collect();
    assert_eq!(bodies, [paypal_body(), other].map(Bytes::from));
}

/// The notification with its `Subject` moved into its `MessageId`
/// (`<id>\nSubject\nOrder placed`, no `Subject`): the same signed text, a new message id.
/// Refused with `401` through a real server with the guard, so the handler runs once
/// (before: twice, the re-split message processed as a new delivery).
#[tokio::test]
async fn an_sns_message_split_into_a_new_message_id_is_refused() {
    let server = KeyServer::start().await;
    let body = sns_body(&server, "notification_v1");
    let mut resplit: serde_json::Map<String, Value> = serde_json::from_str(&body).unwrap();
    let subject = resplit.remove("Subject").unwrap();
    let id = resplit["MessageId"].as_str().unwrap().to_owned();
    resplit.insert(
        "MessageId".into(),
        format!("{id}\nSubject\n{}", subject.as_str().unwrap()).into(),
    );
    let resplit = Value::Object(resplit).to_string();

    let (addr, processed) = guarded(sns_scheme(&server)).await;
    let first = support::send(addr, sns_request(&body)).await;
    assert!(support::is_processed(&first), "{first:?}");
    let (status, _, answer) = support::send(addr, sns_request(&resplit)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer, "malformed webhook signature\n");
    // Sent first, to a fresh server, it is refused just the same.
    let (fresh, fresh_processed) = guarded(sns_scheme(&server)).await;
    let (status, _, _) = support::send(fresh, sns_request(&resplit)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(fresh_processed.lock().unwrap().is_empty());

    let again = support::send(addr, sns_request(&body)).await;
    assert!(support::is_duplicate(&again), "{again:?}");
    let processed = processed.lock().unwrap().clone();
    assert_eq!(processed.len(), 1);
    assert_eq!(processed[0].0, body.as_bytes());
    // Named by its message id and by its signature.
    assert_eq!(processed[0].1.len(), 2);
}

/// FusionAuth's JWTs through a real server: as FusionAuth documents them (no `iat`, no
/// `exp`) and within the leeway they verify; expired (and without `iat`, so nothing else
/// bounds them) or not yet valid, `401` and the handler never runs (before: both verified).
#[tokio::test]
async fn expired_and_not_yet_valid_jwts_get_401_through_a_real_server() {
    let fa = &vectors()["fusionauth"];
    let body = fa["body"].as_str().unwrap();
    let header = "x-fusionauth-signature-jwt";
    let (addr, processed) =
        guarded(presets::fusionauth(fa["hmac_secret"].as_str().unwrap()).clock(fixed_now)).await;
    for jwt in ["jwt_hs256_claim_only", "jwt_hs256_just_expired"] {
        let request = jwt_request(header, fa[jwt].as_str().unwrap(), body);
        let (status, _, answer) = support::send(addr, request).await;
        // The guard names both by their signatures, which differ: two deliveries.
        assert_eq!(
            (status, answer.as_ref()),
            (StatusCode::OK, b"handled".as_ref()),
            "{jwt}"
        );
    }
    for jwt in ["jwt_hs256_expired", "jwt_hs256_not_yet_valid"] {
        let request = jwt_request(header, fa[jwt].as_str().unwrap(), body);
        let (status, _, answer) = support::send(addr, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{jwt}");
        assert_eq!(answer, "webhook timestamp outside the tolerance\n", "{jwt}");
    }
    assert_eq!(processed.lock().unwrap().len(), 2);
}

/// The certificate URL spellings the review found, through a real server: a path that climbs
/// out of PayPal's certificate directory and a fragment are refused with `401` and no fetch;
/// port `0443`'s spelling of the allowed port is the same URL, one fetch; an SNS URL on
/// `sns.s3.amazonaws.com` (S3's bucket `sns`, allowed by `sns.*.amazonaws.com`) is refused
/// with no fetch.
#[tokio::test]
async fn certificate_url_spellings_are_refused_or_normalised_through_a_real_server() {
    let server = KeyServer::start().await;
    let port = server.addr.port();
    let hosts =
        |extra: &str| AllowedHosts::new([format!("127.0.0.1:{port}"), extra.to_owned()]).unwrap();
    let paypal = paypal_scheme(&server).certificate_hosts(hosts("api.paypal.com"));
    let sns = sns_scheme(&server).certificate_hosts(hosts("sns.*.amazonaws.com"));
    let echo = || post(|body: Bytes| async move { body });
    let app = Router::new()
        .route(
            "/webhooks/paypal",
            echo().layer(WebhookSignatureLayer::new(paypal)),
        )
        .route(
            "/webhooks/sns",
            echo().layer(WebhookSignatureLayer::new(sns)),
        );
    let addr = support::serve_axum(app).await;

    let base = format!("https://127.0.0.1:{port}");
    for url in [
        format!("{base}/v1/notifications/certs/../../../admin"),
        format!("{base}{GOOD_CERT}/../../../../admin"),
        format!("{base}/v1/notifications/certs/%2E%2E/%2E%2E/admin"),
        format!("{base}{GOOD_CERT}#frag"),
        format!("https://127.0.0.1:0{port}{GOOD_CERT}#frag"),
        "https://api.paypal.com/v1/notifications/certs/../../../admin".to_owned(),
    ] {
        let (status, _, answer) = support::send(addr, paypal_request(&url, &paypal_body())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{url}");
        assert_eq!(answer, "invalid webhook signature\n", "{url}");
    }
    let sns_message = sns_body(&server, "notification_v2");
    let on_s3 = sns_message.replace(
        &server.url(SNS_CERT),
        &format!("https://sns.s3.amazonaws.com{SNS_CERT}"),
    );
    assert_ne!(on_s3, sns_message);
    let (status, _, answer) = support::send(addr, sns_request(&on_s3)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer, "invalid webhook signature\n");
    assert_eq!(server.total_fetches(), 0);

    let padded = format!("https://127.0.0.1:0{port}{GOOD_CERT}");
    for url in [padded, server.url(GOOD_CERT)] {
        let (status, _, answer) = support::send(addr, paypal_request(&url, &paypal_body())).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(answer, paypal_body().as_bytes());
    }
    assert_eq!(server.fetches(GOOD_CERT), 1);
    assert_eq!(server.total_fetches(), 1);
}

/// An SNS `SubscriptionConfirmation` whose `SubscribeURL` is `subscribe_url`, signed
/// (version 2, SHA256withRSA) with the vectors' signer key, as SNS signs one: Message,
/// MessageId, SubscribeURL, Timestamp, Token, TopicArn and Type, each name and value on a
/// line.
fn signed_confirmation(server: &KeyServer, subscribe_url: &str) -> String {
    let vectors = vectors();
    let topic = vectors["sns"]["topic"].as_str().unwrap();
    let message = format!("You have chosen to subscribe to the topic {topic}.");
    let fields = [
        ("Message", message.as_str()),
        ("MessageId", "0f4a6c5e-8f0b-4c58-9a53-1d2f0c3b7a11"),
        ("SubscribeURL", subscribe_url),
        ("Timestamp", "2023-11-14T22:13:20.123Z"),
        ("Token", "2336412f37fb687f5d51e6e241d09c80"),
        ("TopicArn", topic),
        ("Type", "SubscriptionConfirmation"),
    ];
    let pem = vectors["rsa_signer_pem"].as_str().unwrap();
    let cert_url = format!("https://{}{SNS_CERT}", server.addr);
    Value::Object(support::sns_signed(pem, &fields, &cert_url)).to_string()
}

// https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html ("visit
// the SubscribeURL … to confirm the subscription"); the message is signed like any other.
#[tokio::test]
async fn sns_subscriptions_are_confirmed_by_the_layer_only_on_sns_hosts() {
    let server = KeyServer::start().await;
    let confirm = "/?Action=ConfirmSubscription&Token=2336412f37fb687f5d51e6e241d09c80";
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let handler = post(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "handler" }
    });
    let app = axum::Router::new().route(
        "/webhooks/sns",
        handler.layer(WebhookSignatureLayer::new(
            sns_scheme(&server).confirm_subscriptions(),
        )),
    );
    let addr = support::serve_axum(app).await;

    let body = signed_confirmation(&server, &server.url(confirm));
    let (status, _, answer) = support::send(addr, sns_request(&body)).await;
    assert_eq!((status, answer.len()), (StatusCode::OK, 0));
    assert_eq!(server.fetches("/"), 1, "the SubscribeURL was visited once");

    // A SubscribeURL off SNS's hosts is never visited, even signed.
    let elsewhere =
        signed_confirmation(&server, "https://evil.example/?Action=ConfirmSubscription");
    let (status, _, _) = support::send(addr, sns_request(&elsewhere)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Tampered: refused as any forged message, and not visited.
    let tampered = body.replace("ConfirmSubscription&", "ConfirmSubscription&x=1&");
    let (status, _, _) = support::send(addr, sns_request(&tampered)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(server.fetches("/"), 1);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);

    // Notifications still reach the handler.
    let notification = sns_body(&server, "notification_v2");
    let (status, _, answer) = support::send(addr, sns_request(&notification)).await;
    assert_eq!((status, answer.as_ref()), (StatusCode::OK, &b"handler"[..]));
}
