//! [`Fetcher`]: the HTTPS client that fetches senders' published keys, strictly bounded.

use std::{fmt, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{header, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};
use rustls::pki_types::{pem::PemObject, CertificateDer, TrustAnchor};

use super::limit::{
    FetchLimits, DEFAULT_FETCH_BURST, DEFAULT_FETCH_REFILL, DEFAULT_MAX_CONCURRENT_FETCHES,
};

/// How long one fetch may take when no timeout is set: 3 seconds.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// How large a fetched certificate chain or key set may be when no limit is set: 64 KiB.
pub const DEFAULT_FETCH_LIMIT: usize = 64 * 1024;

/// The HTTPS client that fetches the keys senders publish (PayPal's and Amazon SNS's
/// certificates, Plaid's keys, a JWKS), and the roots it trusts.
///
/// - **HTTPS only**, through rustls, trusting the Mozilla roots of `webpki-roots` unless
///   [`trust_only_pem`](Self::trust_only_pem) replaces them; the same roots validate the
///   chain of every fetched certificate.
/// - **No redirects**: a `3xx` (like any status but `200`) is a failed fetch.
/// - **Bounded**: at most [`limit`](Self::limit) bytes (default 64 KiB) and
///   [`timeout`](Self::timeout) (default 3 seconds) per fetch.
/// - **Few**: at most [`max_concurrent_fetches`](Self::max_concurrent_fetches) in flight
///   (default 4) and, past a burst of 10, one more a minute ([`rate_limit`](Self::rate_limit)).
///   A fetch past either limit is not queued: it fails at once, so the request that needed
///   the key gets `503` and its sender retries later. Keys already cached never wait for a
///   fetch, so genuine deliveries under cached keys verify whatever the limits are doing.
///   Each refusal is counted (`webhook_key_fetches_refused_total`, feature `metrics`) and
///   logged (a warning on the `tower_webhook` target, at most one every 10 seconds).
///
/// Every fetch is caused by a request nobody has authenticated yet; the limits keep a flood
/// of made-up certificate names or key ids from turning into a flood of requests to the
/// sender's key host, or to Plaid with your client secret.
///
/// Which hosts may be fetched from is each sender's rule ([`AllowedHosts`](super::AllowedHosts)),
/// checked before this client is asked. Clones share one connection pool and one set of
/// limits; give the schemes of one application one fetcher to hold them all to one budget.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::keys::Fetcher;
///
/// let fetcher = Fetcher::new()
///     .timeout(Duration::from_secs(2))
///     .limit(32 * 1024)
///     .max_concurrent_fetches(8)
///     .rate_limit(20, Duration::from_secs(30));
/// ```
#[derive(Clone)]
pub struct Fetcher {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    anchors: Arc<Vec<TrustAnchor<'static>>>,
    timeout: Duration,
    limit: usize,
    limits: Arc<FetchLimits>,
}

impl Fetcher {
    /// A fetcher trusting the Mozilla roots (`webpki-roots`).
    ///
    /// ```
    /// let fetcher = tower_webhook::keys::Fetcher::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_anchors(webpki_roots::TLS_SERVER_ROOTS.to_vec())
    }

    /// A fetcher trusting only the certificates of `pem` (one or more `-----BEGIN
    /// CERTIFICATE-----` blocks): a private CA, or a test CA. Both the TLS connection and the
    /// chain of every fetched certificate are validated against them.
    ///
    /// # Errors
    ///
    /// [`InvalidRoots`] if `pem` holds no certificate, or one that is not a usable root.
    ///
    /// ```
    /// use tower_webhook::keys::Fetcher;
    ///
    /// assert!(Fetcher::trust_only_pem("not a certificate").is_err());
    /// ```
    pub fn trust_only_pem(pem: impl AsRef<[u8]>) -> Result<Self, InvalidRoots> {
        let mut anchors = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem.as_ref()) {
            let cert = cert.map_err(|_| InvalidRoots)?;
            let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(|_| InvalidRoots)?;
            anchors.push(anchor.to_owned());
        }
        if anchors.is_empty() {
            return Err(InvalidRoots);
        }
        Ok(Self::with_anchors(anchors))
    }

    fn with_anchors(anchors: Vec<TrustAnchor<'static>>) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(anchors.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_or_else(
                |_| unreachable_protocols(),
                |builder| builder.with_root_certificates(roots).with_no_client_auth(),
            );
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            anchors: Arc::new(anchors),
            timeout: DEFAULT_FETCH_TIMEOUT,
            limit: DEFAULT_FETCH_LIMIT,
            limits: Arc::new(FetchLimits::new(
                DEFAULT_MAX_CONCURRENT_FETCHES,
                DEFAULT_FETCH_BURST,
                DEFAULT_FETCH_REFILL,
            )),
        }
    }

    /// How long one fetch may take, connecting included. Default: 3 seconds; clamped to
    /// 100 ms ..= 30 s, so a fetch can neither fail every time nor hold a request for long.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::keys::Fetcher;
    ///
    /// let fetcher = Fetcher::new().timeout(Duration::from_millis(1500));
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.clamp(Duration::from_millis(100), Duration::from_secs(30));
        self
    }

    /// The most bytes one answer may have. Default: 64 KiB; clamped to 1 KiB ..= 1 MiB
    /// (a certificate chain or a key set is a few KiB).
    ///
    /// ```
    /// use tower_webhook::keys::Fetcher;
    ///
    /// let fetcher = Fetcher::new().limit(16 * 1024);
    /// ```
    #[must_use]
    pub fn limit(mut self, bytes: usize) -> Self {
        self.limit = bytes.clamp(1024, 1024 * 1024);
        self
    }

    /// How many fetches may be in flight at once, across this fetcher and its clones; one
    /// more fails at once (its request gets `503`). Default: 4
    /// ([`DEFAULT_MAX_CONCURRENT_FETCHES`](super::DEFAULT_MAX_CONCURRENT_FETCHES)), clamped
    /// to 1 to 64. Concurrent requests for one key share one fetch and count once.
    ///
    /// Setting it gives this fetcher limits of its own, no longer shared with clones made
    /// before.
    ///
    /// ```
    /// use tower_webhook::keys::Fetcher;
    ///
    /// let fetcher = Fetcher::new().max_concurrent_fetches(2);
    /// ```
    #[must_use]
    pub fn max_concurrent_fetches(mut self, fetches: usize) -> Self {
        let (burst, refill) = self.limits.rate();
        self.limits = Arc::new(FetchLimits::new(fetches, burst, refill));
        self
    }

    /// How many fetches this fetcher and its clones make over time: bursts of up to `burst`,
    /// then one more each `refill` (a token bucket). A fetch past the limit fails at once
    /// (its request gets `503`). Default: 10, then one a minute
    /// ([`DEFAULT_FETCH_BURST`](super::DEFAULT_FETCH_BURST),
    /// [`DEFAULT_FETCH_REFILL`](super::DEFAULT_FETCH_REFILL)); `burst` is clamped to 1 to
    /// 1,000, `refill` to 100 ms to 1 hour.
    ///
    /// Raise it when one fetcher serves many senders or tenants that each need keys of their
    /// own. Setting it gives this fetcher limits of its own, no longer shared with clones
    /// made before.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::keys::Fetcher;
    ///
    /// // Up to 50 fetches at once, then one each 5 seconds.
    /// let fetcher = Fetcher::new().rate_limit(50, Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn rate_limit(mut self, burst: u32, refill: Duration) -> Self {
        let max = self.limits.max_in_flight();
        self.limits = Arc::new(FetchLimits::new(max, burst, refill));
        self
    }

    #[cfg(any(feature = "paypal", feature = "sns"))]
    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    #[cfg(any(feature = "paypal", feature = "sns"))]
    pub(crate) fn time_limit(&self) -> Duration {
        self.timeout
    }

    /// `GET url`: the body of a `200` answer, within this fetcher's limits, over HTTPS to
    /// its roots. Use it for what a verified message asks you to visit (an SNS
    /// `SubscribeURL`), after checking the host with [`AllowedHosts`](super::AllowedHosts).
    ///
    /// # Errors
    ///
    /// [`FetchError`] if the URL is not `https`, the connection or TLS fails, the answer is
    /// not `200` (redirects are not followed), too large, or late, or if the fetch would go
    /// past [`max_concurrent_fetches`](Self::max_concurrent_fetches) or
    /// [`rate_limit`](Self::rate_limit).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let fetcher = tower_webhook::keys::Fetcher::new();
    /// let body = fetcher.get(&"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription".parse()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, url: &Uri) -> Result<Bytes, FetchError> {
        self.send(Method::GET, url, None).await
    }

    #[cfg(feature = "jwt")]
    /// `POST url` with a JSON body: the body of a `200` answer, within the limits.
    pub(crate) async fn post_json(&self, url: &Uri, json: Vec<u8>) -> Result<Bytes, FetchError> {
        self.send(Method::POST, url, Some(json)).await
    }

    async fn send(
        &self,
        method: Method,
        url: &Uri,
        json: Option<Vec<u8>>,
    ) -> Result<Bytes, FetchError> {
        // Held until the answer is read, or until the caller stops waiting and drops this.
        let _permit = FetchLimits::admit(&self.limits, url)?;
        let mut request = Request::builder()
            .method(method)
            .uri(url.clone())
            .header(header::USER_AGENT, "tower-webhook");
        if json.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(json.unwrap_or_default())))
            .map_err(|_| FetchError::new("the URL cannot be requested"))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|error| FetchError::new(format!("request failed: {error}")))?;
            if response.status() != StatusCode::OK {
                // Redirects included: following one would let the first host pick the second.
                return Err(FetchError::new(format!(
                    "answered {} (only 200 is accepted, redirects are not followed)",
                    response.status()
                )));
            }
            let too_large = |limit| FetchError::new(format!("answer larger than {limit} bytes"));
            let declared = response
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|len| len > self.limit as u64) {
                return Err(too_large(self.limit));
            }
            Limited::new(response.into_body(), self.limit)
                .collect()
                .await
                .map(http_body_util::Collected::to_bytes)
                .map_err(|_| too_large(self.limit))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FetchError::new(format!("no answer within {:?}", self.timeout)))?
    }
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("roots", &self.anchors.len())
            .field("timeout", &self.timeout)
            .field("limit", &self.limit)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// rustls's safe defaults with its own ring provider always include TLS 1.2 and 1.3.
#[expect(
    clippy::panic,
    reason = "rustls's own provider supports its own default versions; not reachable by input"
)]
fn unreachable_protocols() -> rustls::ClientConfig {
    panic!("tower-webhook: rustls's ring provider rejected its default protocol versions")
}

/// Why a fetch failed. Fetching a sender's key, it is logged, never told to the sender
/// (which gets `503`).
///
/// ```
/// use tower_webhook::keys::FetchError;
///
/// fn log(error: &FetchError) {
///     eprintln!("fetch failed: {error}");
/// }
/// ```
#[derive(Debug)]
pub struct FetchError(String);

impl FetchError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

/// The error of [`Fetcher::trust_only_pem`]: no certificate, or one that cannot be a root.
///
/// ```
/// use tower_webhook::keys::Fetcher;
///
/// let error = Fetcher::trust_only_pem("").unwrap_err();
/// assert_eq!(error.to_string(), "expected one or more PEM certificates to trust");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidRoots;

impl fmt::Display for InvalidRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected one or more PEM certificates to trust")
    }
}

impl std::error::Error for InvalidRoots {}
