//! Certificates a sender names by URL (PayPal, Amazon SNS): fetched from an allowed host,
//! their chain validated to trusted roots and their name checked, then cached.

use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

use rustls::pki_types::{
    alg_id, pem::PemObject, AlgorithmIdentifier, CertificateDer, InvalidSignature, ServerName,
    SignatureVerificationAlgorithm, UnixTime,
};
use webpki::EndEntityCert;

use super::{AllowedHosts, FetchError, Fetcher};
use crate::{
    keys::{
        FoundKeys, KeyError, KeyName, KeyResolver, KeySet, KeySource, LookupFuture, Resolution,
        Resolver,
    },
    rejection::Rejection,
    scheme::InvalidKey,
};

/// How long a fetched certificate is used before it is fetched again: 1 hour.
pub(crate) const CERTIFICATE_TTL: Duration = Duration::from_secs(60 * 60);

/// A sender's certificates: which URLs may name them, which names they must be issued to,
/// how they are fetched, and the cache (shared by clones) they are kept in.
#[derive(Clone)]
pub(crate) struct FetchedCertificates {
    sender: &'static str,
    urls: CertificateUrls,
    subjects: Arc<[ServerName<'static>]>,
    fetcher: Fetcher,
    ttl: Duration,
    cache: Arc<Resolver<Certificate>>,
}

impl FetchedCertificates {
    /// `sender`'s certificates, at `urls`, issued to one of `subjects`, fetched with the
    /// public roots and cached an hour.
    pub(crate) fn new(
        sender: &'static str,
        urls: CertificateUrls,
        subjects: &[&'static str],
    ) -> Self {
        let subjects: Arc<[ServerName<'static>]> = subjects
            .iter()
            .filter_map(|name| ServerName::try_from(*name).ok())
            .collect();
        let fetcher = Fetcher::new();
        let cache = Self::cache(sender, &urls, &subjects, &fetcher, CERTIFICATE_TTL);
        Self {
            sender,
            urls,
            subjects,
            fetcher,
            ttl: CERTIFICATE_TTL,
            cache,
        }
    }

    pub(crate) fn fetcher(mut self, fetcher: Fetcher) -> Self {
        self.fetcher = fetcher;
        self.rebuilt()
    }

    pub(crate) fn hosts(mut self, hosts: AllowedHosts) -> Self {
        self.urls.hosts = hosts;
        self.rebuilt()
    }

    pub(crate) fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.rebuilt()
    }

    /// Whether a certificate may be fetched from `url`. Checked before the cache is
    /// consulted, so a forged URL costs neither a fetch nor a cache entry.
    pub(crate) fn allows(&self, url: &str) -> bool {
        self.urls.check(url).is_some()
    }

    /// The certificate at `url`: from the cache at once, or a fetch to wait for.
    pub(crate) fn resolve(&self, url: &str) -> Resolution<Certificate> {
        let bounded = url.len() <= 512 && url.bytes().all(|b| b.is_ascii_graphic());
        if !bounded || !self.allows(url) {
            return Resolution::Ready(Err(Rejection::UnknownKey));
        }
        Resolver::resolve_name(&self.cache, Cow::Borrowed(url))
    }

    /// A new cache for the configuration as it now is.
    fn rebuilt(mut self) -> Self {
        self.cache = Self::cache(
            self.sender,
            &self.urls,
            &self.subjects,
            &self.fetcher,
            self.ttl,
        );
        self
    }

    fn cache(
        sender: &'static str,
        urls: &CertificateUrls,
        subjects: &Arc<[ServerName<'static>]>,
        fetcher: &Fetcher,
        ttl: Duration,
    ) -> Arc<Resolver<Certificate>> {
        let source = CertificateSource {
            fetcher: fetcher.clone(),
            urls: urls.clone(),
            subjects: Arc::clone(subjects),
            sender,
        };
        // The fetch has its own limit; the lookup's is a little longer, so the fetch's error
        // (the more precise one) is the one logged.
        let timeout = fetcher.time_limit() + Duration::from_millis(250);
        let config = KeyResolver::new(KeyName::from_fn(|_| None), source)
            .ttl(ttl)
            .timeout(timeout);
        Arc::new(Resolver::new(config, Certificate::parse))
    }
}

impl fmt::Debug for FetchedCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedCertificates")
            .field("hosts", &self.urls.hosts)
            .field("fetcher", &self.fetcher)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Which certificate URLs a sender may name: checked before the cache is consulted, and
/// again before any fetch.
#[derive(Clone, Debug)]
pub(crate) struct CertificateUrls {
    pub(crate) hosts: AllowedHosts,
    /// What the URL's path must start with (PayPal: `/v1/notifications/certs/`).
    pub(crate) path_prefix: &'static str,
    /// What the URL's path must end with (SNS: `.pem`).
    pub(crate) path_suffix: &'static str,
}

impl CertificateUrls {
    /// `url` parsed, if a certificate may be fetched from it.
    pub(crate) fn check(&self, url: &str) -> Option<http::Uri> {
        let uri = self.hosts.check(url)?;
        let path = uri.path();
        let fits = path.starts_with(self.path_prefix)
            && path.ends_with(self.path_suffix)
            && uri.query().is_none();
        fits.then_some(uri)
    }
}

/// Where a sender's certificates come from, and what they must be.
struct CertificateSource {
    fetcher: Fetcher,
    urls: CertificateUrls,
    /// The DNS names the certificate may be valid for (`messageverificationcerts.paypal.com`).
    subjects: Arc<[ServerName<'static>]>,
    sender: &'static str,
}

impl CertificateSource {
    async fn fetch(&self, url: &str) -> Result<Option<FoundKeys>, KeyError> {
        let Some(uri) = self.urls.check(url) else {
            tracing::warn!(target: "tower_webhook", sender = self.sender, url, "certificate URL refused: not https on an allowed host");
            return Ok(None);
        };
        let pem = self.fetcher.get(&uri).await.map_err(KeyError::new)?;
        match validate(
            &pem,
            self.fetcher.anchors(),
            &self.subjects,
            UnixTime::now(),
        ) {
            Ok(leaf) => Ok(Some(FoundKeys::new(leaf))),
            Err(error) => {
                // Fail closed, as for a forged URL: the request gets 401.
                tracing::warn!(target: "tower_webhook", sender = self.sender, url, %error, "fetched certificate refused");
                Ok(None)
            }
        }
    }
}

impl KeySource for CertificateSource {
    fn lookup<'a>(&'a self, url: &'a str) -> LookupFuture<'a> {
        Box::pin(self.fetch(url))
    }
}

/// The leaf of `pem` (leaf first, then intermediates), if it chains to `anchors`, is valid
/// now for TLS server use, and is valid for one of `subjects`.
pub(crate) fn validate(
    pem: &[u8],
    anchors: &[rustls::pki_types::TrustAnchor<'_>],
    subjects: &[ServerName<'_>],
    now: UnixTime,
) -> Result<Vec<u8>, FetchError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| FetchError::new("not PEM certificates"))?;
    let (leaf, intermediates) = certs
        .split_first()
        .ok_or_else(|| FetchError::new("no certificate"))?;
    let cert = EndEntityCert::try_from(leaf)
        .map_err(|error| FetchError::new(format!("unreadable certificate: {error}")))?;
    cert.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        anchors,
        intermediates,
        now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map_err(|error| FetchError::new(format!("certificate chain not trusted: {error}")))?;
    if !subjects
        .iter()
        .any(|subject| cert.verify_is_valid_for_subject_name(subject).is_ok())
    {
        return Err(FetchError::new(
            "certificate is not issued to the sender's name",
        ));
    }
    Ok(leaf.to_vec())
}

/// A validated certificate's public key, as a key the PayPal and SNS schemes verify with.
#[derive(Clone)]
pub(crate) struct Certificate(Arc<CertificateDer<'static>>);

impl Certificate {
    /// What the source found: a certificate it validated.
    pub(crate) fn parse(der: &[u8]) -> Result<Self, InvalidKey> {
        let der = CertificateDer::from(der.to_vec());
        EndEntityCert::try_from(&der).map_err(|_| InvalidKey::expected("an X.509 certificate"))?;
        Ok(Self(Arc::new(der)))
    }

    /// Whether `signature` is this certificate's RSA PKCS #1 v1.5 signature of `message`.
    pub(crate) fn verifies(&self, hash: RsaHash, message: &[u8], signature: &[u8]) -> bool {
        let Ok(cert) = EndEntityCert::try_from(&*self.0) else {
            return false;
        };
        let algorithm: &dyn SignatureVerificationAlgorithm = match hash {
            RsaHash::Sha256 => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            RsaHash::Sha1 => &RsaPkcs1Sha1,
        };
        cert.verify_signature(algorithm, message, signature).is_ok()
    }
}

impl KeySet for Certificate {
    /// A source finds one certificate per URL.
    fn merge(&mut self, _other: Self) {}
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Certificate(..)")
    }
}

/// The hash of an RSA PKCS #1 v1.5 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RsaHash {
    /// Amazon SNS `SignatureVersion` 1.
    #[cfg_attr(
        not(feature = "sns"),
        expect(dead_code, reason = "only SNS signs with SHA-1")
    )]
    Sha1,
    /// PayPal, and Amazon SNS `SignatureVersion` 2.
    Sha256,
}

/// SHA1withRSA, which webpki leaves out for certificates but SNS still signs messages with.
#[derive(Debug)]
struct RsaPkcs1Sha1;

/// `sha1WithRSAEncryption` (1.2.840.113549.1.1.5) with NULL parameters.
const SHA1_WITH_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
];

impl SignatureVerificationAlgorithm for RsaPkcs1Sha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            public_key,
        )
        .verify(message, signature)
        .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::RSA_ENCRYPTION
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SHA1_WITH_RSA)
    }
}
