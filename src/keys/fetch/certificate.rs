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
    foundation::InvalidKey,
    keys::{
        FoundKeys, KeyError, KeyName, KeyResolver, KeySet, KeySource, LookupFuture, Resolution,
        Resolver,
    },
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

    /// The fetcher certificates are fetched with.
    #[cfg(feature = "sns")]
    pub(crate) fn current_fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The hosts certificates may be fetched from.
    #[cfg(feature = "sns")]
    pub(crate) fn allowed_hosts(&self) -> &AllowedHosts {
        &self.urls.hosts
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

    /// `url` in its one spelling, if a certificate may be fetched from it. Checked before
    /// the cache is consulted, so a forged URL costs neither a fetch nor a cache entry, and
    /// another spelling of a URL is the same cache entry or no entry at all.
    pub(crate) fn canonical(&self, url: &str) -> Option<CertificateUrl> {
        self.urls.canonical(url)
    }

    /// The certificate at `url`: from the cache at once, or a fetch to wait for.
    pub(crate) fn resolve(&self, url: &CertificateUrl) -> Resolution<Certificate> {
        Resolver::resolve_name(&self.cache, Cow::Borrowed(&url.0))
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
    /// The paths the sender's certificates are at.
    pub(crate) files: CertificateFiles,
}

/// The longest certificate URL looked at; the senders' own are about 100 bytes.
const MAX_URL_LEN: usize = 256;

impl CertificateUrls {
    /// `url` in its one spelling (see [`AllowedHosts::check`]), if a certificate may be
    /// fetched from it: `https` on an allowed host, at one of the sender's certificate
    /// paths, with no query, no fragment, no percent-escape, and no empty, `.` or `..` path
    /// segment. Each of those would be another spelling of one file: another cache entry
    /// and another fetch for the same certificate.
    pub(crate) fn canonical(&self, url: &str) -> Option<CertificateUrl> {
        let plain = url.len() <= MAX_URL_LEN
            && url
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'%' | b'\\' | b'#' | b'?'));
        if !plain {
            return None;
        }
        let uri = self.hosts.check(url)?;
        let path = uri.path();
        let segments_plain = path
            .strip_prefix('/')
            .is_some_and(|rest| rest.split('/').all(|s| !matches!(s, "" | "." | "..")));
        let host_plain = uri.host().is_some_and(|host| self.files.on_host(host));
        (segments_plain && host_plain && uri.query().is_none() && self.files.matches(path))
            .then(|| CertificateUrl(uri.to_string()))
    }
}

/// A certificate URL in its one spelling, as [`CertificateUrls::canonical`] made it: the
/// name the certificate is cached under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertificateUrl(String);

#[cfg(feature = "__fuzz")]
impl CertificateUrl {
    /// The URL, for the fuzz targets' checks of its spelling.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The file names a sender's certificates have (and, for SNS, the AWS hosts they are on).
/// Any other name is refused before a fetch: it can only be a forgery, and each made-up name
/// would otherwise be a fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CertificateFiles {
    /// `/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270`: `CERT-` and three groups
    /// of eight lowercase hex digits. That is the form of every `PAYPAL-CERT-URL` in PayPal's
    /// own SDK samples (paypal/PayPal-Java-SDK `rest-api-sample/.../ValidateCert.java`: live
    /// `CERT-360caa42-fca2a594-df8cd2d5`, sandbox `CERT-360caa42-fca2a594-1d93a270`) and
    /// PayPal's webhook documentation; PayPal's SDKs check no pattern themselves.
    #[cfg(feature = "paypal")]
    PayPal,
    /// `/SimpleNotificationService-<32 letters or digits>.pem`. AWS's validators
    /// (aws/aws-js-sns-message-validator, published as `sns-validator`, and
    /// aws/aws-php-sns-message-validator) check only the host and the `.pem` ending; the name
    /// is the one in every `SigningCertURL` AWS documents
    /// (`SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem`), and the pattern
    /// is the one widely used validators hold it to
    /// (`SimpleNotificationService-[a-zA-Z0-9]{32}\.pem`, e.g. npm `sns-payload-validator`).
    #[cfg(feature = "sns")]
    Sns,
}

impl CertificateFiles {
    /// Whether `host` (lowercase, allowed by the [`AllowedHosts`]) may serve this sender's
    /// certificates.
    ///
    /// SNS's certificates are on `sns.<region>.amazonaws.com` (`.com.cn` in China), and
    /// `sns.*.amazonaws.com` also matches hosts that are not SNS's: S3 serves bucket `sns`
    /// at `sns.s3.amazonaws.com`, where whoever owns that bucket could put a certificate of
    /// their own. So on AWS's domains the wildcard must be a region's name. Other hosts (a
    /// test server given to `certificate_hosts`) are left to the host list.
    #[cfg_attr(
        not(feature = "sns"),
        expect(unused_variables, reason = "only SNS's rule looks at the host")
    )]
    /// Whether `host` may serve SNS: `sns.<region>.amazonaws.com(.cn)`, or a host off AWS
    /// that the host list allowed.
    #[cfg(feature = "sns")]
    pub(crate) fn sns_host(host: &str) -> bool {
        Self::Sns.on_host(&host.to_ascii_lowercase())
    }

    fn on_host(self, host: &str) -> bool {
        match self {
            #[cfg(feature = "paypal")]
            Self::PayPal => true,
            #[cfg(feature = "sns")]
            Self::Sns => {
                let on_aws = [".amazonaws.com", ".amazonaws.com.cn"]
                    .iter()
                    .find_map(|suffix| host.strip_suffix(suffix));
                on_aws.is_none_or(|name| {
                    name.strip_prefix("sns.")
                        .is_some_and(|region| !region.contains('.') && aws_region(region))
                })
            }
        }
    }

    fn matches(self, path: &str) -> bool {
        match self {
            #[cfg(feature = "paypal")]
            Self::PayPal => path
                .strip_prefix("/v1/notifications/certs/CERT-")
                .is_some_and(|id| {
                    let hex = |group: &str| {
                        group.len() == 8
                            && group
                                .bytes()
                                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    };
                    let mut groups = id.split('-');
                    groups.by_ref().take(3).filter(|group| hex(group)).count() == 3
                        && groups.next().is_none()
                }),
            #[cfg(feature = "sns")]
            Self::Sns => path
                .strip_prefix("/SimpleNotificationService-")
                .and_then(|name| name.strip_suffix(".pem"))
                .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())),
        }
    }
}

/// Whether `label` is written as AWS writes a region's name: `us-east-1`, `us-gov-west-1`,
/// `cn-north-1`, `eu-isoe-west-1`. That is the shape of every partition's `regionRegex` in
/// AWS's endpoint data (`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, `^cn\-\w+\-\d+$`,
/// `^us\-gov\-\w+\-\d+$`, ...): two to four letters, words of letters, and a number.
/// `s3`, `s3-external-1` or `compute-1` are not.
#[cfg(feature = "sns")]
fn aws_region(label: &str) -> bool {
    let letters = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    let parts: Vec<&str> = label.split('-').collect();
    match parts.as_slice() {
        [area, words @ .., number] if !words.is_empty() => {
            (2..=4).contains(&area.len())
                && letters(area)
                && words.iter().all(|word| letters(word))
                && (1..=2).contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
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
        // The cache's names were made by `canonical`: this only stops a name made otherwise.
        let Some(uri) = self
            .urls
            .canonical(url)
            .and_then(|url| url.0.parse::<http::Uri>().ok())
        else {
            tracing::warn!(target: "tower_webhook", sender = self.sender, url, "certificate URL refused: not one of the sender's certificate URLs");
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

#[cfg(all(test, feature = "paypal", feature = "sns"))]
mod tests {
    use super::*;

    fn paypal() -> CertificateUrls {
        CertificateUrls {
            hosts: AllowedHosts::new(["api.paypal.com", "127.0.0.1:8443"]).unwrap(),
            files: CertificateFiles::PayPal,
        }
    }

    fn sns() -> CertificateUrls {
        CertificateUrls {
            hosts: AllowedHosts::new(["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"]).unwrap(),
            files: CertificateFiles::Sns,
        }
    }

    const PAYPAL: &str =
        "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270";

    #[test]
    fn spellings_of_one_paypal_url_are_one_name() {
        for spelling in [
            PAYPAL,
            "HTTPS://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://API.PAYPAL.COM/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://Api.PayPal.Com:443/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com:0443/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com:00443/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        ] {
            let url = paypal().canonical(spelling);
            assert_eq!(
                url.as_ref().map(|url| url.0.as_str()),
                Some(PAYPAL),
                "{spelling}"
            );
        }
        let local = "https://127.0.0.1:8443/v1/notifications/certs/CERT-00000000-00000000-00000001";
        assert_eq!(paypal().canonical(local).unwrap().0, local);
    }

    #[test]
    fn other_spellings_of_a_paypal_path_are_refused() {
        for refused in [
            // Empty, `.` and `..` segments.
            "https://api.paypal.com//v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1//notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/notifications/certs//CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/./notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/notifications/certs/./CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/x/../notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270/",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270/.",
            // Percent-escapes, anywhere.
            "https://api.paypal.com/v1/notifications/certs/%43ERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a27%30",
            "https://api.paypal.com/v1%2Fnotifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.co%6D/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            // Queries, fragments, backslashes, spaces, user info.
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270?",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270?a=1",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270#x",
            "https://api.paypal.com/v1\\notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270 ",
            "https://x@api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            // Names PayPal does not use.
            "https://api.paypal.com/v1/notifications/certs/CERT-1",
            "https://api.paypal.com/v1/notifications/certs/cert-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/notifications/certs/CERT-360CAA42-FCA2A594-1D93A270",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a2700",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270-1d93a270",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a27g",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270.pem",
            "https://api.paypal.com/v2/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/",
            "https://api.paypal.com",
            // Hosts and schemes that are not PayPal's.
            "http://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "//api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com:8443/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "",
            // Past PayPal's prefix to another path on its host, in every spelling.
            "https://api.paypal.com/v1/notifications/certs/../../../admin",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270/../../../../admin",
            "https://api.paypal.com/v1/notifications/certs/%2E%2E/%2E%2E/%2E%2E/admin",
            "https://api.paypal.com/v1/notifications/certs/.%2E/admin",
            "https://api.paypal.com/v1/notifications/certs/..%2Fadmin",
            "https://api.paypal.com/v1/notifications/certs/..\\..\\admin",
            "https://api.paypal.com:0443/v1/notifications/certs/../../../admin",
            // A fragment after a name of PayPal's, with and without a port.
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270#frag",
            "https://api.paypal.com:0443/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270#frag",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270#",
            "https://api.paypal.com/admin#/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        ] {
            assert_eq!(paypal().canonical(refused), None, "{refused}");
        }
        let long = format!("{PAYPAL}{}", "0".repeat(MAX_URL_LEN));
        assert_eq!(paypal().canonical(&long), None);
    }

    #[test]
    fn sns_urls_are_regional_certificates_with_a_32_character_name() {
        let url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";
        assert_eq!(sns().canonical(url).unwrap().0, url);
        let shouted = "HTTPS://SNS.US-EAST-1.AMAZONAWS.COM:443/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";
        assert_eq!(sns().canonical(shouted).unwrap().0, url);
        for refused in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.PEM",
            "https://sns.us-east-1.amazonaws.com/simplenotificationservice-9c6465fa7f48f5cacd23014631ec1136.pem",
            "https://sns.us-east-1.amazonaws.com/x/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "https://sns.us-east-1.amazonaws.com/./SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "https://sns.us-east-1.amazonaws.com//SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec113%36.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem?x",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec11_6.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem#x",
            "https://sns.us-east-1.amazonaws.com/x/../SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        ] {
            assert_eq!(sns().canonical(refused), None, "{refused}");
        }
    }

    #[test]
    fn sns_hosts_on_aws_are_regions_only() {
        let file = "/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";
        for region in [
            "us-east-1",
            "eu-west-2",
            "ap-southeast-5",
            "us-gov-west-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "il-central-1",
            "mx-central-1",
            "eusc-de-east-1",
        ] {
            let url = format!("https://sns.{region}.amazonaws.com{file}");
            assert!(sns().canonical(&url).is_some(), "{url}");
        }
        let china = format!("https://sns.cn-northwest-1.amazonaws.com.cn{file}");
        assert!(sns().canonical(&china).is_some());
        for host in [
            // S3 serves bucket `sns` on these: anyone who owns the bucket chooses the file.
            "sns.s3.amazonaws.com",
            "SNS.S3.AMAZONAWS.COM",
            "sns.s3.amazonaws.com.cn",
            "sns.s3-external-1.amazonaws.com",
            "sns.s3-us-west-2.amazonaws.com",
            "sns.s3-website-us-east-1.amazonaws.com",
            // Other services, and labels that are not region names.
            "sns.compute-1.amazonaws.com",
            "sns.elb.amazonaws.com",
            "sns.us-east.amazonaws.com",
            "sns.us-east-a.amazonaws.com",
            "sns.us-east-123.amazonaws.com",
            "sns.u-east-1.amazonaws.com",
            "sns.usgov1-east-1.amazonaws.com",
            "sns.us--east-1.amazonaws.com",
            "sns.-us-east-1.amazonaws.com",
            "sns.us-east-1-.amazonaws.com",
            "sns.us_east_1.amazonaws.com",
        ] {
            let url = format!("https://{host}{file}");
            assert_eq!(sns().canonical(&url), None, "{url}");
        }
        // A test server given as the host list is left to that list.
        let local = CertificateUrls {
            hosts: AllowedHosts::new(["127.0.0.1:8443"]).unwrap(),
            files: CertificateFiles::Sns,
        };
        assert!(local
            .canonical(&format!("https://127.0.0.1:8443{file}"))
            .is_some());
    }
}
