//! Keys the sender publishes and the receiver fetches (feature `fetch`, enabled by `paypal`,
//! `sns` and `jwt`): a [`Fetcher`] (HTTPS only, rustls, bounded, no redirects) and
//! [`AllowedHosts`] (which hosts a sender's key URLs may point at).
//!
//! Fetched keys go through the same cache as keys resolved per request: bounded, with a TTL,
//! single flight (a thousand first requests for one certificate make one fetch), failures
//! remembered for a second, and `503` when the sender's key server does not answer. Many
//! names cost few fetches: a certificate URL has one spelling (any other is refused), a JWKS
//! is one document fetched again for an unknown key id at most every 5 minutes, and every
//! [`Fetcher`] has a cap on fetches in flight and a rate limit.
//!
//! Why the rules matter: PayPal and Amazon SNS name the certificate to verify with *in the
//! request* (`PAYPAL-CERT-URL`, `SigningCertURL`). A receiver that fetched whatever URL it
//! was given would verify a forger's request under the forger's own certificate. So a URL
//! is fetched only if it is `https` on one of the sender's hosts, and the certificate is
//! used only if its chain leads to a trusted root and it is issued to the sender's name.

#[cfg(any(feature = "paypal", feature = "sns"))]
mod certificate;
mod client;
mod hosts;
#[cfg(feature = "jwt")]
pub(crate) mod jwk;
mod limit;

#[cfg(any(feature = "paypal", feature = "sns"))]
pub(crate) use self::certificate::{
    Certificate, CertificateFiles, CertificateUrl, CertificateUrls, FetchedCertificates, RsaHash,
};
#[cfg(feature = "jwt")]
pub(crate) use self::jwk::{JwkSource, JwksDocument, JwtKeys};
pub use self::{
    client::{FetchError, Fetcher, InvalidRoots, DEFAULT_FETCH_LIMIT, DEFAULT_FETCH_TIMEOUT},
    hosts::{AllowedHosts, InvalidHostPattern},
    limit::{DEFAULT_FETCH_BURST, DEFAULT_FETCH_REFILL, DEFAULT_MAX_CONCURRENT_FETCHES},
};
