//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `__fuzz`): parsers an
//! unauthenticated client reaches whose result the public API does not show. Not part of the
//! API: hidden from the docs, and free to change in any release.

#[cfg(feature = "fetch")]
use crate::keys::AllowedHosts;

/// `url` as a fetched key is cached under, if `hosts` allow it: scheme and host lowercase,
/// port 443 left out ([`AllowedHosts::allows`] says only whether it is allowed).
#[cfg(feature = "fetch")]
#[must_use]
pub fn allowed_url(hosts: &AllowedHosts, url: &str) -> Option<String> {
    hosts.check(url).map(|uri| uri.to_string())
}

/// `url` in its one spelling, if PayPal's scheme would fetch a certificate from it, with its
/// certificates on `hosts`.
#[cfg(feature = "paypal")]
#[must_use]
pub fn paypal_certificate_url(hosts: AllowedHosts, url: &str) -> Option<String> {
    use crate::keys::fetch::{CertificateFiles, CertificateUrls};

    let urls = CertificateUrls {
        hosts,
        files: CertificateFiles::PayPal,
    };
    urls.canonical(url).map(|url| url.as_str().to_owned())
}

/// `url` in its one spelling, if Amazon SNS's scheme would fetch a certificate from it, with
/// its certificates on `hosts`.
#[cfg(feature = "sns")]
#[must_use]
pub fn sns_certificate_url(hosts: AllowedHosts, url: &str) -> Option<String> {
    use crate::keys::fetch::{CertificateFiles, CertificateUrls};

    let urls = CertificateUrls {
        hosts,
        files: CertificateFiles::Sns,
    };
    urls.canonical(url).map(|url| url.as_str().to_owned())
}
