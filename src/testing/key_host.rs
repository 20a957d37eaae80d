//! [`KeyHost`]: a local HTTPS server that plays the key hosts of the senders whose keys are
//! fetched (PayPal's and Amazon SNS's certificates, Plaid's key endpoint, a FusionAuth JWKS).

use std::{
    convert::Infallible,
    fmt, io,
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{pem::PemObject as _, CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

use crate::keys::{AllowedHosts, Fetcher};

/// The test CA: only a [`KeyHost`]'s [`fetcher`](KeyHost::fetcher) trusts it. Its key is
/// public (`tests/vectors/generate_test_kit_keys.py` made it): never trust it outside tests.
const CA: &str = include_str!("keys/ca.pem");
const TLS_CERT: &str = include_str!("keys/tls.pem");
const TLS_KEY: &str = include_str!("keys/tls.key");
#[cfg(any(feature = "paypal", feature = "sns"))]
pub(super) const RSA_KEY: &str = include_str!("keys/rsa.key");
pub(super) const JWT_KEY: &str = include_str!("keys/jwt.key");
const PAYPAL_CERT: &str = include_str!("keys/paypal.pem");
const SNS_CERT: &str = include_str!("keys/sns.pem");

/// Where the host serves each sender's key, at the paths the senders use (the schemes refuse
/// certificate URLs of any other shape before fetching).
pub(super) const PAYPAL_CERT_PATH: &str = "/v1/notifications/certs/CERT-360caa42-fca2a594-7e57c0de";
pub(super) const SNS_CERT_PATH: &str =
    "/SimpleNotificationService-7e57c0de7e57c0de7e57c0de7e57c0de.pem";
pub(super) const JWKS_PATH: &str = "/.well-known/jwks.json";
pub(super) const PLAID_KEY_PATH: &str = "/webhook_verification_key/get";
/// The key id of the JWT key, in the JWKS and at Plaid's endpoint.
pub(super) const JWT_KID: &str = "tower-webhook-test";

/// A local HTTPS server on `127.0.0.1` that serves the keys of the senders whose keys the
/// receiver fetches, under a test CA: PayPal's and Amazon SNS's signing certificates,
/// Plaid's `/webhook_verification_key/get` and a FusionAuth JSON Web Key Set. Give it to
/// [`TestSender::key_host`](super::TestSender::key_host): the sender signs with the keys it
/// serves, and the sender's [`receiver`](super::TestSender::receiver) fetches them from it,
/// trusting the test CA and this host only.
///
/// The server runs on the current tokio runtime until the last clone of its `KeyHost` is
/// dropped. Its keys are fixed and public: they verify nothing outside tests.
///
/// ```
/// use tower_webhook::testing::{KeyHost, TestSender};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let host = KeyHost::start().await?;
/// let paypal = TestSender::new("paypal")?.key("WH-TEST").key_host(&host);
/// let request = paypal.signed_request(r#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#)?;
/// assert!(request.headers()["paypal-cert-url"].to_str()?.starts_with(&host.url("/")));
/// let receiver = paypal.receiver()?; // fetches the certificate from `host`
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct KeyHost {
    addr: SocketAddr,
    _server: Arc<Server>,
}

/// The accept loop, stopped when the last [`KeyHost`] clone goes.
struct Server(tokio::task::JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl KeyHost {
    /// Starts the host on `127.0.0.1`, on a port the system chooses, on the current tokio
    /// runtime.
    ///
    /// # Errors
    ///
    /// If no port can be bound.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// use tower_webhook::testing::KeyHost;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let host = KeyHost::start().await?;
    /// assert!(host.url("/").starts_with("https://127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start() -> io::Result<Self> {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config()?));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(|request| async {
                        Ok::<_, Infallible>(answer(request).await)
                    });
                    // A connection that fails only fails the fetch that made it.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            _server: Arc::new(Server(task)),
        })
    }

    /// The URL of `path` on this host: `https://127.0.0.1:<port><path>`.
    ///
    /// ```
    /// use tower_webhook::testing::KeyHost;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let host = KeyHost::start().await?;
    /// assert!(host.url("/.well-known/jwks.json").ends_with("/.well-known/jwks.json"));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// A [`Fetcher`] that trusts the test CA only (not the web's roots), for a receiver you
    /// build yourself; [`TestSender::receiver`](super::TestSender::receiver) uses one.
    ///
    /// ```
    /// use tower_webhook::{scheme::PayPalScheme, testing::KeyHost};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let host = KeyHost::start().await?;
    /// let scheme = PayPalScheme::new("WH-TEST")
    ///     .fetcher(host.fetcher())
    ///     .certificate_hosts(host.allowed_hosts());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    #[expect(
        clippy::missing_panics_doc,
        reason = "the CA is a constant, read by a unit test"
    )]
    pub fn fetcher(&self) -> Fetcher {
        #[expect(
            clippy::expect_used,
            reason = "the CA is a constant, read by a unit test"
        )]
        Fetcher::trust_only_pem(CA).expect("tower-webhook: the test CA does not parse")
    }

    /// This host (`127.0.0.1:<port>`) as the only host PayPal's and SNS's certificate URLs
    /// may name.
    ///
    /// ```
    /// use tower_webhook::{scheme::SnsScheme, testing::KeyHost};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let host = KeyHost::start().await?;
    /// let scheme = SnsScheme::new(["arn:aws:sns:us-east-1:123456789012:test"])
    ///     .fetcher(host.fetcher())
    ///     .certificate_hosts(host.allowed_hosts());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    #[expect(
        clippy::missing_panics_doc,
        reason = "an address and port always make a host pattern"
    )]
    pub fn allowed_hosts(&self) -> AllowedHosts {
        #[expect(
            clippy::expect_used,
            reason = "an address and port always make a host pattern"
        )]
        AllowedHosts::new([self.addr.to_string()]).expect("tower-webhook: 127.0.0.1:port")
    }
}

impl fmt::Debug for KeyHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHost").field("addr", &self.addr).finish()
    }
}

fn tls_config() -> io::Result<rustls::ServerConfig> {
    let cert = CertificateDer::from_pem_slice(TLS_CERT.as_bytes()).map_err(io::Error::other)?;
    let key = PrivateKeyDer::from_pem_slice(TLS_KEY.as_bytes()).map_err(io::Error::other)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(io::Error::other)
}

/// The public half of [`JWT_KEY`] as a JSON Web Key.
pub(super) fn jwt_public_jwk() -> Value {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let point = super::fetched::jwt_public_point();
    let (x, y) = point
        .get(1..)
        .unwrap_or_default()
        .split_at(32.min(point.len() / 2));
    json!({
        "kty": "EC",
        "crv": "P-256",
        "alg": "ES256",
        "use": "sig",
        "kid": JWT_KID,
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
    })
}

async fn answer(request: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let respond = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response
    };
    match (request.method(), request.uri().path()) {
        (&Method::GET, PAYPAL_CERT_PATH) => respond(StatusCode::OK, PAYPAL_CERT.into()),
        (&Method::GET, SNS_CERT_PATH) => respond(StatusCode::OK, SNS_CERT.into()),
        (&Method::GET, JWKS_PATH) => {
            let jwks = json!({ "keys": [jwt_public_jwk()] });
            respond(StatusCode::OK, jwks.to_string())
        }
        (&Method::POST, PLAID_KEY_PATH) => {
            let body = Limited::new(request.into_body(), 64 * 1024).collect().await;
            let asked: Option<Value> = body
                .ok()
                .and_then(|body| serde_json::from_slice(&body.to_bytes()).ok());
            // Plaid answers `400` for a key id it does not know, and so does this host.
            match asked {
                Some(asked) if asked.get("key_id").and_then(Value::as_str) == Some(JWT_KID) => {
                    let mut key = jwt_public_jwk();
                    if let Some(fields) = key.as_object_mut() {
                        fields.insert("created_at".into(), 1_700_000_000.into());
                        fields.insert("expired_at".into(), Value::Null);
                    }
                    let found = json!({ "key": key, "request_id": "tower-webhook-test" });
                    respond(StatusCode::OK, found.to_string())
                }
                _ => respond(StatusCode::BAD_REQUEST, "{}".into()),
            }
        }
        _ => respond(StatusCode::NOT_FOUND, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_key_material_parses() {
        assert!(Fetcher::trust_only_pem(CA).is_ok());
        assert!(tls_config().is_ok());
        assert_eq!(super::super::fetched::jwt_public_point().len(), 65);
        #[cfg(feature = "jwt")]
        {
            let jwk = jwt_public_jwk().to_string();
            assert!(crate::keys::fetch::JwtKeys::parse_jwk(jwk.as_bytes()).is_ok());
        }
    }
}
