//! A local HTTPS host playing Amazon SNS's: its signing certificate, and `/` as a
//! `SubscribeURL`, counting the requests it is sent; and messages signed as SNS signs them,
//! with the published vectors' RSA key, naming that certificate.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, UNIX_EPOCH},
};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use serde_json::{Map, Value};
use tower_webhook::{
    keys::{AllowedHosts, Fetcher},
    scheme::SnsScheme,
};

/// The time the messages are signed at, and the schemes' clock.
pub const NOW: u64 = 1_700_000_000;
/// Where the host serves the signing certificate.
pub const SNS_CERT: &str = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";

fn vectors() -> Value {
    serde_json::from_str(include_str!("../vectors/fetched.json")).unwrap()
}

/// The topic the vectors' messages are published to.
pub fn topic() -> String {
    vectors()["sns"]["topic"].as_str().unwrap().to_owned()
}

pub struct SnsHost {
    addr: SocketAddr,
    ca_pem: String,
    visits: Arc<Mutex<HashMap<String, usize>>>,
}

impl SnsHost {
    /// The host, under a test CA named `ca_name`.
    pub async fn start(ca_name: &str) -> Self {
        let ca = super::test_ca(ca_name);
        let signer =
            rcgen::KeyPair::from_pem(vectors()["rsa_signer_pem"].as_str().unwrap()).unwrap();
        let cert = super::issue_server_certificate(&ca, &["sns.amazonaws.com"], &signer).pem();
        let visits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let counted = Arc::clone(&visits);
        let addr = super::serve_https(&ca, move |request: Request<hyper::body::Incoming>| {
            let counted = Arc::clone(&counted);
            let cert = cert.clone();
            async move {
                let path = request.uri().path().to_owned();
                *counted.lock().unwrap().entry(path.clone()).or_default() += 1;
                let body = match path.as_str() {
                    SNS_CERT => cert,
                    "/" => "<ConfirmSubscriptionResponse/>".to_owned(),
                    _ => String::new(),
                };
                Response::new(Full::new(Bytes::from(body)))
            }
        })
        .await;
        Self {
            addr,
            ca_pem: ca.pem(),
            visits,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Visits of the `SubscribeURL` (`/`).
    pub fn confirmations(&self) -> usize {
        self.visits.lock().unwrap().get("/").copied().unwrap_or(0)
    }

    /// Requests of any path.
    pub fn total(&self) -> usize {
        self.visits.lock().unwrap().values().sum()
    }

    /// A scheme with a cold certificate cache, trusting this host only.
    pub fn scheme(&self) -> SnsScheme {
        self.scheme_on(AllowedHosts::new([format!("127.0.0.1:{}", self.addr.port())]).unwrap())
    }

    /// A scheme with a cold certificate cache, fetching from `hosts` under this host's CA.
    pub fn scheme_on(&self, hosts: AllowedHosts) -> SnsScheme {
        SnsScheme::new([topic()])
            .fetcher(
                Fetcher::trust_only_pem(&self.ca_pem)
                    .unwrap()
                    .timeout(Duration::from_millis(500)),
            )
            .certificate_hosts(hosts)
            .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
    }

    /// `fields` signed as SNS signs them (version 2, in the order given, which is SNS's),
    /// with the certificate on this host.
    pub fn signed(&self, fields: &[(&str, &str)]) -> Map<String, Value> {
        let pem = vectors()["rsa_signer_pem"].as_str().unwrap().to_owned();
        super::sns_signed(&pem, fields, &self.url(SNS_CERT))
    }

    /// A notification of `message` to the vectors' topic.
    pub fn notification(&self, message: &str) -> Map<String, Value> {
        self.signed(&[
            ("Message", message),
            ("MessageId", "5b1f0e6a-7c1d-4f7e-9a3b-2d9c1e0f4a55"),
            ("Timestamp", "2023-11-14T22:13:20.123Z"),
            ("TopicArn", &topic()),
            ("Type", "Notification"),
        ])
    }

    /// A confirmation (or, with `kind`, an unsubscribe confirmation) as SNS sends one.
    pub fn confirmation_of(&self, kind: &str, topic: &str, subscribe_url: &str) -> String {
        let text = format!("You have chosen to subscribe to the topic {topic}.");
        Value::Object(self.signed(&[
            ("Message", &text),
            ("MessageId", "0f4a6c5e-8f0b-4c58-9a53-1d2f0c3b7a11"),
            ("SubscribeURL", subscribe_url),
            ("Timestamp", "2023-11-14T22:13:20.123Z"),
            ("Token", "2336412f37fb687f5d51e6e241d09c80"),
            ("TopicArn", topic),
            ("Type", kind),
        ]))
        .to_string()
    }

    /// A subscription confirmation to the vectors' topic.
    pub fn confirmation(&self, subscribe_url: &str) -> String {
        self.confirmation_of("SubscriptionConfirmation", &topic(), subscribe_url)
    }
}
