//! [`AllowedHosts`]: which hosts a sender's key URLs may point at, checked before any fetch.

use std::fmt;

use http::Uri;

/// The hosts a sender's key URLs may point at: exact names (`api.paypal.com`), names with
/// one whole label as a wildcard (`sns.*.amazonaws.com`), and optionally a port
/// (`127.0.0.1:8443`; without one, only the default port 443 is allowed).
///
/// A URL a request names (PayPal's `PAYPAL-CERT-URL`, SNS's `SigningCertURL`) is written by
/// whoever sent the request. If any host were fetched from, a forger would name a
/// certificate of their own and sign with its key; so a URL whose scheme is not `https`,
/// whose host is not allowed, or that carries user info, is refused with `401` before any
/// fetch.
///
/// ```
/// use tower_webhook::keys::AllowedHosts;
///
/// let hosts = AllowedHosts::new(["sns.*.amazonaws.com"])?;
/// assert!(hosts.allows("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"));
/// assert!(!hosts.allows("https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem"));
/// assert!(!hosts.allows("http://sns.eu-west-1.amazonaws.com/cert.pem"));
/// assert!(!hosts.allows("https://sns.amazonaws.com@evil.example/cert.pem"));
/// # Ok::<(), tower_webhook::keys::InvalidHostPattern>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    patterns: Vec<Pattern>,
}

#[derive(Clone, PartialEq, Eq)]
struct Pattern {
    labels: Vec<String>,
    port: u16,
}

impl AllowedHosts {
    /// These host patterns, lowercase ASCII; `*` stands for one whole label.
    ///
    /// # Errors
    ///
    /// [`InvalidHostPattern`] for an empty pattern, an empty label, a `*` inside a label,
    /// a wildcard as the last two labels (`*.com`), or a port that is not a number.
    ///
    /// ```
    /// use tower_webhook::keys::AllowedHosts;
    ///
    /// assert!(AllowedHosts::new(["api.paypal.com", "api.sandbox.paypal.com"]).is_ok());
    /// assert!(AllowedHosts::new(["*.com"]).is_err());
    /// ```
    pub fn new<P: AsRef<str>>(
        patterns: impl IntoIterator<Item = P>,
    ) -> Result<Self, InvalidHostPattern> {
        let patterns = patterns
            .into_iter()
            .map(|pattern| Pattern::parse(pattern.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether `url` is `https://` on an allowed host and port, without user info.
    ///
    /// ```
    /// use tower_webhook::keys::AllowedHosts;
    ///
    /// let hosts = AllowedHosts::new(["api.paypal.com"])?;
    /// assert!(hosts.allows("https://api.paypal.com/v1/notifications/certs/CERT-1"));
    /// assert!(hosts.allows("https://API.PAYPAL.COM:443/v1/notifications/certs/CERT-1"));
    /// assert!(!hosts.allows("https://api.paypal.com:8443/v1/notifications/certs/CERT-1"));
    /// # Ok::<(), tower_webhook::keys::InvalidHostPattern>(())
    /// ```
    #[must_use]
    pub fn allows(&self, url: &str) -> bool {
        self.check(url).is_some()
    }

    /// The URL in its one spelling, if it is allowed: scheme and host lowercase, port 443
    /// left out, the path and query as given.
    ///
    /// A URL taken from a request is a cache key: were `HTTPS://API.PAYPAL.COM:443/x` and
    /// `https://api.paypal.com/x` two keys, every new spelling would be another fetch.
    pub(crate) fn check(&self, url: &str) -> Option<Uri> {
        let uri: Uri = url.parse().ok()?;
        if !uri.scheme_str()?.eq_ignore_ascii_case("https") {
            return None;
        }
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        let host = authority.host().to_ascii_lowercase();
        // What follows the host: nothing, or `:` and a port (not one `port_u16` drops).
        let port = match &authority.as_str()[authority.host().len()..] {
            "" => 443,
            rest => rest.strip_prefix(':')?.parse::<u16>().ok()?,
        };
        if !self
            .patterns
            .iter()
            .any(|pattern| pattern.matches(&host, port))
        {
            return None;
        }
        let authority = if port == 443 {
            host
        } else {
            format!("{host}:{port}")
        };
        Uri::builder()
            .scheme("https")
            .authority(authority)
            .path_and_query(uri.path_and_query().map_or("/", |pq| pq.as_str()))
            .build()
            .ok()
    }
}

impl Pattern {
    fn parse(text: &str) -> Result<Self, InvalidHostPattern> {
        let invalid = || InvalidHostPattern(text.to_owned());
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => {
                (host, port.parse::<u16>().map_err(|_| invalid())?)
            }
            _ => (text, 443),
        };
        let labels: Vec<String> = host.split('.').map(str::to_ascii_lowercase).collect();
        let label_ok = |label: &String| {
            label == "*"
                || (!label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        let broad = labels.len() < 2 || labels.iter().rev().take(2).any(|label| label == "*");
        if host.is_empty() || !labels.iter().all(label_ok) || broad {
            return Err(invalid());
        }
        Ok(Self { labels, port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        let mut labels = host.split('.');
        port == self.port
            && self.labels.iter().all(|pattern| {
                labels
                    .next()
                    .is_some_and(|label| pattern == "*" || pattern == label)
            })
            && labels.next().is_none()
    }
}

impl fmt::Debug for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.patterns.iter().map(|p| {
                let host = p.labels.join(".");
                if p.port == 443 {
                    host
                } else {
                    format!("{host}:{}", p.port)
                }
            }))
            .finish()
    }
}

/// The error of [`AllowedHosts::new`]: a pattern that is not a host (or is too broad).
///
/// ```
/// use tower_webhook::keys::AllowedHosts;
///
/// let error = AllowedHosts::new(["*.*"]).unwrap_err();
/// assert_eq!(error.to_string(), "`*.*` is not a host pattern such as `api.example.com` or `sns.*.amazonaws.com`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidHostPattern(String);

impl fmt::Display for InvalidHostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a host pattern such as `api.example.com` or `sns.*.amazonaws.com`",
            self.0.escape_debug()
        )
    }
}

impl std::error::Error for InvalidHostPattern {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_on_the_listed_hosts_and_ports() {
        let hosts = AllowedHosts::new(["sns.*.amazonaws.com", "127.0.0.1:8443"]).unwrap();
        for good in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "HTTPS://SNS.US-EAST-1.AMAZONAWS.COM/x.pem",
            "https://127.0.0.1:8443/cert.pem",
        ] {
            assert!(hosts.allows(good), "{good}");
        }
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.amazonaws.com/x.pem",
            "https://sns.a.b.amazonaws.com/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://127.0.0.1/cert.pem",
            "https://127.0.0.1:8444/cert.pem",
            "//sns.us-east-1.amazonaws.com/x.pem",
            "/x.pem",
            "",
            "https://",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }

    #[test]
    fn an_allowed_url_has_one_spelling() {
        let hosts = AllowedHosts::new(["api.paypal.com", "127.0.0.1:8443"]).unwrap();
        let canonical = |url: &str| hosts.check(url).map(|uri| uri.to_string());
        let one = "https://api.paypal.com/v1/notifications/certs/CERT-1";
        for spelling in [
            one,
            "HTTPS://api.paypal.com/v1/notifications/certs/CERT-1",
            "hTTpS://API.PayPal.COM/v1/notifications/certs/CERT-1",
            "https://api.paypal.com:443/v1/notifications/certs/CERT-1",
            "https://api.paypal.com:0443/v1/notifications/certs/CERT-1",
        ] {
            assert_eq!(canonical(spelling).as_deref(), Some(one), "{spelling}");
        }
        assert_eq!(
            canonical("https://127.0.0.1:8443/cert.pem").as_deref(),
            Some("https://127.0.0.1:8443/cert.pem")
        );
        // The path is not the host's business: it is kept as given, for the sender's rule.
        assert_eq!(
            canonical("https://api.paypal.com/A/./b?x=1").as_deref(),
            Some("https://api.paypal.com/A/./b?x=1")
        );
        for refused in [
            "https://api.paypal.com:/v1/x",
            "https://api.paypal.com:65536/v1/x",
            "https://api.paypal.com:-443/v1/x",
            "https://api.paypal.com.:443/v1/x",
            "https://api.paypal.com./v1/x",
        ] {
            assert_eq!(canonical(refused), None, "{refused}");
        }
    }

    #[test]
    fn patterns_must_be_hosts_and_not_too_broad() {
        for bad in [
            "",
            "*",
            "*.com",
            "example.*",
            "a..b",
            "ex*mple.com",
            "a.com:port",
            "a b.com",
        ] {
            assert!(AllowedHosts::new([bad]).is_err(), "{bad}");
        }
    }
}
