//! [`PayPalScheme`]: PayPal's webhooks, signed with RSA under a certificate PayPal names in
//! each request and the receiver fetches.

use std::{borrow::Cow, fmt, sync::Arc};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use http::{request::Parts, HeaderMap};
use sha2::{Digest, Sha256};

use crate::scheme::{
    envelope::encoding::Tag,
    envelope::signature::find_one,
    envelope::timestamp::TimestampFormat,
    event_id::BodyFields,
    options::{shared_options, Options},
    verified::Event,
    DeliveryId, Scheme, Spent, Verified, Verifier,
};
use crate::{
    keys::{
        fetch::{
            Certificate, CertificateFiles, CertificateUrl, CertificateUrls, FetchedCertificates,
            RsaHash,
        },
        AllowedHosts, Resolution, ResolvedKeys, Start,
    },
    rejection::Rejection,
};

/// The hosts PayPal's certificate URLs are on, live and sandbox.
pub const PAYPAL_CERT_HOSTS: [&str; 4] = [
    "api.paypal.com",
    "api-m.paypal.com",
    "api.sandbox.paypal.com",
    "api-m.sandbox.paypal.com",
];

/// PayPal: `PAYPAL-TRANSMISSION-SIG`, the base64 RSA-SHA256 (`PAYPAL-AUTH-ALGO:
/// SHA256withRSA`) signature of `{transmission id}|{transmission time}|{webhook id}|{CRC32 of
/// the body}`, under the certificate at `PAYPAL-CERT-URL`.
///
/// **The body is bound only by its CRC32**, which is a checksum, not a cryptographic hash:
/// anyone who has seen one delivery (a log, a proxy) can write another body, with another
/// event `id` and amount, padded to the same CRC32, and send it with the captured headers
/// while `PAYPAL-TRANSMISSION-TIME` is within the tolerance. This is PayPal's scheme and no
/// receiver can tell the two bodies apart by their signature
/// ([`Strength::Checksum`](crate::presets::Strength::Checksum)). What this crate does about it:
///
/// - A delivery is named by the event's `id` in the body (so PayPal's retries are one
///   delivery) **and by its signed `PAYPAL-TRANSMISSION-ID`**
///   ([`Verified::delivery_ids`](crate::Verified::delivery_ids)). Behind a
///   [`ReplayGuardLayer`](crate::replay::ReplayGuardLayer), a forged body sent with captured
///   headers and the delivery they were captured from are one delivery, whatever `id` the
///   body claims: whichever comes second is answered as a duplicate.
///   Put the guard behind PayPal, with a `done_ttl` longer than the tolerance (the default
///   10 minutes is).
/// - Without a guard, a forged body verifies within the tolerance; the tolerance is 5
///   minutes, enough for clock skew: a shorter one would not stop an attacker who acts
///   within seconds, only refuse deliveries from a receiver whose clock is off.
/// - Where the amount matters, confirm the event with PayPal's API (`GET
///   /v1/notifications/webhooks-events/{id}`) before acting on it.
///
/// The certificate URL is refused with `401`, before any fetch, unless it is `https` on
/// PayPal's API hosts ([`PAYPAL_CERT_HOSTS`]) and names a certificate the way PayPal does
/// (`/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270`: three groups of eight
/// lowercase hex digits), with no query, fragment, percent-escape, or empty, `.` or `..`
/// segment. Scheme and host are compared and cached lowercase, without the port 443 (however
/// it is written: `:443`, `:0443`), so every spelling of one URL is one cache entry and one
/// fetch. A fetched certificate is used only
/// if its chain leads to a trusted root and it is issued to
/// `messageverificationcerts.paypal.com` (or `messageverificationcerts.sandbox.paypal.com`).
/// Certificates are cached for an hour, with a single flight; made-up certificate names are
/// held to the [`Fetcher`](crate::keys::Fetcher)'s limits. `PAYPAL-TRANSMISSION-TIME`
/// more than 5 minutes from now is refused.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::paypal("WH-8PT597110X687430LKGECATA"));
/// ```
#[derive(Clone)]
pub struct PayPalScheme {
    webhook_id: Arc<str>,
    certificates: FetchedCertificates,
    options: Options,
}

impl PayPalScheme {
    /// Deliveries to the webhook `webhook_id` (from PayPal's developer dashboard).
    ///
    /// ```
    /// use tower_webhook::scheme::PayPalScheme;
    ///
    /// let scheme = PayPalScheme::new("WH-8PT597110X687430LKGECATA");
    /// ```
    #[must_use]
    pub fn new(webhook_id: impl Into<Arc<str>>) -> Self {
        let hosts = AllowedHosts::new(PAYPAL_CERT_HOSTS).unwrap_or_else(|_| unreachable_hosts());
        let urls = CertificateUrls {
            hosts,
            files: CertificateFiles::PayPal,
        };
        let names = [
            "messageverificationcerts.paypal.com",
            "messageverificationcerts.sandbox.paypal.com",
        ];
        Self {
            webhook_id: webhook_id.into(),
            certificates: FetchedCertificates::new("paypal", urls, &names),
            options: Options::new("paypal"),
        }
    }

    fn head<'a>(&self, request: &'a Parts) -> Result<Head<'a>, Rejection> {
        let headers = &request.headers;
        let signature =
            text(headers, "paypal-transmission-sig")?.ok_or(Rejection::MissingSignature)?;
        let required = |name| text(headers, name)?.ok_or(Rejection::MalformedSignature);
        let id = required("paypal-transmission-id")?;
        let time = required("paypal-transmission-time")?;
        let cert_url = required("paypal-cert-url")?;
        if required("paypal-auth-algo")? != "SHA256withRSA" {
            return Err(Rejection::MalformedSignature);
        }
        let signature = STANDARD
            .decode(signature)
            .ok()
            .filter(|s| (128..=1024).contains(&s.len()))
            .ok_or(Rejection::MalformedSignature)?;
        let sent = TimestampFormat::Rfc3339
            .seconds(time.as_bytes())
            .ok_or(Rejection::InvalidTimestamp)?;
        if !self.options.admits(sent) {
            return Err(Rejection::TimestampOutOfTolerance);
        }
        // A URL PayPal would not use is refused here, before the cache and before any fetch:
        // whoever wrote the header would otherwise choose the key.
        let cert_url = self
            .certificates
            .canonical(cert_url)
            .ok_or(Rejection::UnknownKey)?;
        Ok(Head {
            signature,
            id,
            time,
            cert_url,
        })
    }

    fn verifier_from(&self, head: Head<'_>, certificate: &Certificate) -> PayPalVerifier {
        PayPalVerifier {
            certificate: certificate.clone(),
            prefix: format!("{}|{}|{}|", head.id, head.time, self.webhook_id),
            signature: head.signature,
            transmission: transmission_id(head.id),
            crc: crc32fast::Hasher::new(),
            spent: Spent::default(),
        }
    }
}

shared_options! {
    PayPalScheme {
        /// Fetches certificates with `fetcher` (its roots, timeout, size limit, and its limits on
        /// fetches in flight and per minute).
        ///
        /// ```
        /// use std::time::Duration;
        /// use tower_webhook::{keys::Fetcher, scheme::PayPalScheme};
        ///
        /// let scheme = PayPalScheme::new("WH-1").fetcher(Fetcher::new().timeout(Duration::from_secs(2)));
        /// ```
        fetcher;

        /// The hosts certificate URLs may be on, instead of [`PAYPAL_CERT_HOSTS`] (a test server).
        ///
        /// ```
        /// use tower_webhook::{keys::AllowedHosts, scheme::PayPalScheme};
        ///
        /// let scheme = PayPalScheme::new("WH-1").certificate_hosts(AllowedHosts::new(["127.0.0.1:8443"])?);
        /// # Ok::<(), tower_webhook::keys::InvalidHostPattern>(())
        /// ```
        certificate_hosts;

        /// How long a fetched certificate is used. Default: 1 hour. Held between 1 second and
        /// 7 days, as [`KeyResolver::ttl`](crate::keys::KeyResolver::ttl) is.
        ///
        /// ```
        /// use std::time::Duration;
        /// use tower_webhook::scheme::PayPalScheme;
        ///
        /// let scheme = PayPalScheme::new("WH-1").certificate_ttl(Duration::from_secs(600));
        /// ```
        certificate_ttl;

        /// How far `PAYPAL-TRANSMISSION-TIME` may be from now, either way. Default: 5 minutes.
        ///
        /// Held between 1 second and 7 days (a shorter one is raised, a longer one lowered), so
        /// no setting turns the check off.
        ///
        /// ```
        /// use std::time::Duration;
        /// use tower_webhook::scheme::PayPalScheme;
        ///
        /// let scheme = PayPalScheme::new("WH-1").tolerance(Duration::from_secs(600));
        /// ```
        tolerance;

        /// Where the current time comes from (tests fix it). Certificates are checked against
        /// the system time.
        ///
        /// ```
        /// use std::time::{Duration, UNIX_EPOCH};
        /// use tower_webhook::scheme::PayPalScheme;
        ///
        /// let scheme = PayPalScheme::new("WH-1").clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        /// ```
        clock;
    }
}

/// The delivery's name from its `PAYPAL-TRANSMISSION-ID`, which the signature binds, in a
/// domain of its own so it never equals an event id or a signature.
fn transmission_id(id: &str) -> DeliveryId {
    DeliveryId::derive("paypal#transmission", id.as_bytes())
}

/// A header's value as text, if it is there once; `Err` if it is there twice.
fn text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, Rejection> {
    match find_one(headers, [&http::HeaderName::from_static(name)])? {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(Some)
            .ok_or(Rejection::MalformedSignature),
    }
}

#[expect(
    clippy::panic,
    reason = "PayPal's host list is a constant, checked by a unit test"
)]
fn unreachable_hosts() -> AllowedHosts {
    panic!("tower-webhook: PayPal's certificate hosts do not parse")
}

struct Head<'a> {
    signature: Vec<u8>,
    id: &'a str,
    time: &'a str,
    cert_url: CertificateUrl,
}

impl Scheme for PayPalScheme {
    type Verifier = PayPalVerifier;

    fn name(&self) -> &str {
        "paypal"
    }

    fn verifier(&self, request: &Parts) -> Result<PayPalVerifier, Rejection> {
        match self.start(request) {
            Start::Ready(verifier) => verifier,
            Start::Resolving(_) => Err(Rejection::KeySourceUnavailable),
        }
    }

    fn start(&self, request: &Parts) -> Start<PayPalVerifier> {
        let head = match self.head(request) {
            Ok(head) => head,
            Err(rejection) => return Start::Ready(Err(rejection)),
        };
        match self.certificates.resolve(&head.cert_url) {
            Resolution::Ready(found) => {
                Start::Ready(found.map(|(certificate, _)| self.verifier_from(head, &certificate)))
            }
            Resolution::Pending(lookup) => Start::Resolving(lookup),
        }
    }

    fn verifier_with(
        &self,
        request: &Parts,
        keys: &ResolvedKeys,
    ) -> Result<PayPalVerifier, Rejection> {
        let certificate = keys
            .get::<Certificate>()
            .ok_or(Rejection::KeySourceUnavailable)?;
        Ok(self.verifier_from(self.head(request)?, certificate))
    }
}

impl fmt::Debug for PayPalScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPalScheme")
            .field("webhook_id", &self.webhook_id)
            .field("certificates", &self.certificates)
            .field("tolerance", &self.options.tolerance())
            .finish_non_exhaustive()
    }
}

/// The [`Verifier`] of a [`PayPalScheme`]: the body's CRC32 as it streams, then the RSA
/// check of the signed line.
pub struct PayPalVerifier {
    certificate: Certificate,
    prefix: String,
    signature: Vec<u8>,
    transmission: DeliveryId,
    crc: crc32fast::Hasher,
    spent: Spent,
}

impl Verifier for PayPalVerifier {
    fn update(&mut self, chunk: &[u8]) {
        self.crc.update(chunk);
    }

    fn finish(&mut self, _body: &[u8]) -> Result<Verified, Rejection> {
        self.spent.spend()?;
        let message = format!("{}{}", self.prefix, self.crc.clone().finalize());
        if !self
            .certificate
            .verifies(RsaHash::Sha256, message.as_bytes(), &self.signature)
        {
            return Err(Rejection::InvalidSignature);
        }
        let signature = Tag::from_slice(&Sha256::digest(&self.signature));
        Ok(Verified::new(0)
            .with_signature(Cow::Borrowed("paypal"), signature)
            .with_event(Some(Event::Body {
                fields: Arc::new(BodyFields {
                    fields: vec![Cow::Borrowed("id")],
                    each_element: false,
                }),
                body: None,
            }))
            .also_named(self.transmission))
    }
}

impl fmt::Debug for PayPalVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPalVerifier").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paypal_hosts_parse_and_only_they_pass() {
        let scheme = PayPalScheme::new("WH-1");
        for host in PAYPAL_CERT_HOSTS {
            let url =
                format!("https://{host}/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270");
            assert!(scheme.certificates.canonical(&url).is_some(), "{url}");
        }
        for bad in [
            "https://api.paypal.com/v2/other",
            "http://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270?x=1",
            "https://www.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        ] {
            assert!(scheme.certificates.canonical(bad).is_none(), "{bad}");
        }
    }
}
