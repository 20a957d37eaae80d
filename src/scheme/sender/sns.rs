//! [`SnsScheme`]: Amazon SNS messages to HTTP/S subscriptions, signed with RSA under the
//! certificate each message names in its JSON body.

use std::{fmt, sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::request::Parts;
use serde::Deserialize;

use crate::scheme::{
    envelope::signature::find_one,
    envelope::timestamp::TimestampFormat,
    options::{shared_options, Options},
    sender::signed_fields::{self, Text},
    DeliveryId, Finish, Scheme, Spent, Verified, Verifier,
};
use crate::{
    keys::{
        fetch::{
            Certificate, CertificateFiles, CertificateUrl, CertificateUrls, FetchedCertificates,
            RsaHash,
        },
        AllowedHosts, Resolution,
    },
    rejection::Rejection,
};

/// The hosts SNS signing certificates are on: `sns.<region>.amazonaws.com`, and the China
/// regions' `sns.<region>.amazonaws.com.cn`. The wildcard must also be written as a region
/// is (`us-east-1`, `us-gov-west-1`): `sns.s3.amazonaws.com` is S3's, not SNS's.
pub const SNS_CERT_HOSTS: [&str; 2] = ["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"];

/// How far an SNS message's `Timestamp` may be from now by default: 1 hour, because SNS
/// retries a delivery with the same signed message, for up to an hour under its default
/// delivery policies.
pub const SNS_DEFAULT_TOLERANCE: Duration = Duration::from_secs(60 * 60);

/// Amazon SNS (HTTP/S subscriptions): the JSON body's `Signature` is the base64 RSA
/// signature (`SignatureVersion` 1: SHA1withRSA, 2: SHA256withRSA) of the message's
/// canonical fields, under the certificate at `SigningCertURL`.
///
/// `Notification`, `SubscriptionConfirmation` and `UnsubscribeConfirmation` messages are
/// all verified. A verified `SubscriptionConfirmation` reaches the handler, which visits its
/// `SubscribeURL` (see the `sns` example), unless
/// [`confirm_subscriptions`](SnsScheme::confirm_subscriptions) has the layer do it.
///
/// - Only topics you list are accepted: a message from any other `TopicArn` (in the
///   `x-amz-sns-topic-arn` header, checked before the body is read, and in the signed body)
///   gets `401`.
/// - `SigningCertURL` must be `https` on `sns.<region>.amazonaws.com` (or
///   `sns.<region>.amazonaws.com.cn`), `<region>` an AWS region's name (`us-east-1`, not
///   `s3`: S3 serves a bucket named `sns` at `sns.s3.amazonaws.com`), and name a
///   certificate the way SNS does (`/SimpleNotificationService-<32 letters or digits>.pem`,
///   no query, percent-escape, or empty, `.` or `..` segment), or the message gets `401`
///   with no fetch; the certificate must chain to a trusted root and be issued to
///   `sns.amazonaws.com`. Certificates are cached for an hour, single flight, under the
///   URL with scheme and host lowercase and without the port 443.
/// - `Timestamp` more than an hour from now is refused ([`SNS_DEFAULT_TOLERANCE`]).
/// - A delivery is named by its `MessageId`, which SNS keeps across retries, and by its
///   signature ([`Verified::delivery_ids`](crate::Verified::delivery_ids)).
/// - The signed text is each field's name and value on lines of their own, so a line break
///   in any field but `Message` is refused (`401`): it would let a field be moved into
///   another and sign the same text with a new `MessageId`. A signed field sent twice is
///   refused too (a parser that keeps the first would see another value than the one
///   verified).
///
/// The certificate URL is in the body, so the body is read before the certificate is
/// looked up.
///
/// ```
/// use tower_webhook::{presets, WebhookSignatureLayer};
///
/// let layer = WebhookSignatureLayer::new(presets::sns([
///     "arn:aws:sns:us-east-1:123456789012:orders",
/// ]));
/// ```
#[derive(Clone)]
pub struct SnsScheme {
    topics: Arc<[String]>,
    certificates: FetchedCertificates,
    options: Options,
    /// Whether the layer confirms subscriptions by visiting their `SubscribeURL`.
    confirm: bool,
}

impl SnsScheme {
    /// Messages from these topics (their ARNs) only.
    ///
    /// ```
    /// use tower_webhook::scheme::SnsScheme;
    ///
    /// let scheme = SnsScheme::new(["arn:aws:sns:eu-west-1:123456789012:payments"]);
    /// ```
    #[must_use]
    pub fn new<T: Into<String>>(allowed_topic_arns: impl IntoIterator<Item = T>) -> Self {
        let hosts = AllowedHosts::new(SNS_CERT_HOSTS).unwrap_or_else(|_| unreachable_hosts());
        let urls = CertificateUrls {
            hosts,
            files: CertificateFiles::Sns,
        };
        Self {
            topics: allowed_topic_arns.into_iter().map(Into::into).collect(),
            certificates: FetchedCertificates::new("sns", urls, &["sns.amazonaws.com"]),
            options: Options::new("sns").with_tolerance(SNS_DEFAULT_TOLERANCE),
            confirm: false,
        }
    }

    /// Has the layer confirm each verified `SubscriptionConfirmation` itself: it visits the
    /// message's `SubscribeURL` through this scheme's fetcher, only on the hosts certificates
    /// may come from (`sns.<region>.amazonaws.com`), and answers 200 once SNS took it (503 if
    /// the visit failed, so SNS sends the confirmation again). Only topics this scheme accepts
    /// get that far. Without it, the confirmation reaches your handler, verified.
    ///
    /// ```
    /// use tower_webhook::{scheme::SnsScheme, WebhookSignatureLayer};
    ///
    /// let layer = WebhookSignatureLayer::new(
    ///     SnsScheme::new(["arn:aws:sns:us-east-1:123456789012:orders"]).confirm_subscriptions(),
    /// );
    /// ```
    #[must_use]
    pub fn confirm_subscriptions(mut self) -> Self {
        self.confirm = true;
        self
    }
}

shared_options! {
    SnsScheme {
        /// Fetches certificates with `fetcher` (its roots, timeout and size limit).
        ///
        /// ```
        /// use tower_webhook::{keys::Fetcher, scheme::SnsScheme};
        ///
        /// let scheme = SnsScheme::new(["arn:aws:sns:us-east-1:1:t"]).fetcher(Fetcher::new());
        /// ```
        fetcher;

        /// The hosts certificate URLs may be on, instead of [`SNS_CERT_HOSTS`] (a test server).
        ///
        /// ```
        /// use tower_webhook::{keys::AllowedHosts, scheme::SnsScheme};
        ///
        /// let scheme = SnsScheme::new(["arn:aws:sns:us-east-1:1:t"])
        ///     .certificate_hosts(AllowedHosts::new(["127.0.0.1:8443"])?);
        /// # Ok::<(), tower_webhook::keys::InvalidHostPattern>(())
        /// ```
        certificate_hosts;

        /// How long a fetched certificate is used. Default: 1 hour. Held between 1 second and
        /// 7 days, as [`KeyResolver::ttl`](crate::keys::KeyResolver::ttl) is.
        ///
        /// ```
        /// use std::time::Duration;
        /// use tower_webhook::scheme::SnsScheme;
        ///
        /// let scheme = SnsScheme::new(["arn:aws:sns:us-east-1:1:t"]).certificate_ttl(Duration::from_secs(600));
        /// ```
        certificate_ttl;

        /// How far `Timestamp` may be from now, either way. Default: 1 hour.
        ///
        /// Held between 1 second and 7 days (a shorter one is raised, a longer one lowered), so
        /// no setting turns the check off.
        ///
        /// ```
        /// use std::time::Duration;
        /// use tower_webhook::scheme::SnsScheme;
        ///
        /// let scheme = SnsScheme::new(["arn:aws:sns:us-east-1:1:t"]).tolerance(Duration::from_secs(900));
        /// ```
        tolerance;

        /// Where the current time comes from (tests fix it). Certificates are checked against
        /// the system time.
        ///
        /// ```
        /// use std::time::{Duration, UNIX_EPOCH};
        /// use tower_webhook::scheme::SnsScheme;
        ///
        /// let scheme = SnsScheme::new(["arn:aws:sns:us-east-1:1:t"])
        ///     .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        /// ```
        clock;
    }
}

#[expect(
    clippy::panic,
    reason = "SNS's host list is a constant, checked by a unit test"
)]
fn unreachable_hosts() -> AllowedHosts {
    panic!("tower-webhook: SNS's certificate hosts do not parse")
}

impl Scheme for SnsScheme {
    type Verifier = SnsVerifier;

    fn name(&self) -> &str {
        "sns"
    }

    fn handshake(&self) -> Option<crate::handshake::Handshake> {
        self.confirm.then(|| {
            crate::handshake::Handshake::sns(
                self.certificates.current_fetcher().clone(),
                self.certificates.allowed_hosts().clone(),
            )
        })
    }

    fn verifier(&self, request: &Parts) -> Result<SnsVerifier, Rejection> {
        let headers = &request.headers;
        let kind = find_one(
            headers,
            [&http::HeaderName::from_static("x-amz-sns-message-type")],
        )?
        .ok_or(Rejection::MissingSignature)?;
        if !MESSAGE_TYPES
            .iter()
            .any(|t| kind.as_bytes() == t.as_bytes())
        {
            return Err(Rejection::MalformedSignature);
        }
        // The header is not signed; a topic that is not ours is refused once the message has
        // been read as any other (`read`), so no answer tells which topics are listed.
        let header_topic_listed = find_one(
            headers,
            [&http::HeaderName::from_static("x-amz-sns-topic-arn")],
        )?
        .is_none_or(|topic| self.topics.iter().any(|t| t.as_bytes() == topic.as_bytes()));
        Ok(SnsVerifier {
            scheme: self.clone(),
            header_topic_listed,
            spent: Spent::default(),
        })
    }
}

const MESSAGE_TYPES: [&str; 3] = [
    "Notification",
    "SubscriptionConfirmation",
    "UnsubscribeConfirmation",
];

impl fmt::Debug for SnsScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsScheme")
            .field("topics", &self.topics)
            .field("certificates", &self.certificates)
            .field("tolerance", &self.options.tolerance())
            .finish_non_exhaustive()
    }
}

/// The [`Verifier`] of an [`SnsScheme`]: it reads the whole JSON message, then checks its
/// signature under the certificate it names, fetched if it is not cached.
pub struct SnsVerifier {
    scheme: SnsScheme,
    /// Whether the `x-amz-sns-topic-arn` header, if any, names a listed topic.
    header_topic_listed: bool,
    spent: Spent,
}

/// What a message signs, and with what.
struct Signed {
    canonical: String,
    signature: Vec<u8>,
    hash: RsaHash,
    message_id: String,
}

impl SnsVerifier {
    /// The message's signed fields and signature, checked for everything but the signature.
    fn read(&self, body: &[u8]) -> Result<(Signed, CertificateUrl), Rejection> {
        let message: Message<'_> = signed_fields::read(body)?;
        let field = |name: &str| message.field(name);
        let required = |name: &str| field(name).ok_or(Rejection::MalformedSignature);
        let kind = required("Type")?;
        let names: &[&str] = match kind {
            "Notification" => &[
                "Message",
                "MessageId",
                "Subject",
                "Timestamp",
                "TopicArn",
                "Type",
            ],
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => &[
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            ],
            _ => return Err(Rejection::MalformedSignature),
        };
        let topic = required("TopicArn")?;
        let hash = match required("SignatureVersion")? {
            "1" => RsaHash::Sha1,
            "2" => RsaHash::Sha256,
            _ => return Err(Rejection::MalformedSignature),
        };
        let signature = STANDARD
            .decode(field("Signature").ok_or(Rejection::MissingSignature)?)
            .ok()
            .filter(|s| (128..=1024).contains(&s.len()))
            .ok_or(Rejection::MalformedSignature)?;
        let sent = TimestampFormat::Rfc3339
            .seconds(required("Timestamp")?.as_bytes())
            .ok_or(Rejection::InvalidTimestamp)?;
        if !self.scheme.options.admits(sent) {
            return Err(Rejection::TimestampOutOfTolerance);
        }
        let cert_url = self
            .scheme
            .certificates
            .canonical(required("SigningCertURL")?)
            .ok_or(Rejection::UnknownKey)?;
        let mut canonical = String::new();
        for name in names {
            // `Subject` is signed only when the message has one.
            match field(name) {
                // The signed text is `Name\nvalue\n` for each field: a newline in any value
                // but the message's would let a field be moved into another (a `MessageId`
                // of `<id>\nSubject\n<subject>` and no `Subject` signs the same text) and
                // make a new message id. AWS writes none there: ids, times, ARNs, tokens and
                // URLs have none, and a `Subject` "must not include line breaks or control
                // characters" (SNS's `Publish`).
                Some(value) if *name != "Message" && value.chars().any(char::is_control) => {
                    return Err(Rejection::MalformedSignature);
                }
                Some(value) => {
                    canonical.push_str(name);
                    canonical.push('\n');
                    canonical.push_str(value);
                    canonical.push('\n');
                }
                None if *name == "Subject" => {}
                None => return Err(Rejection::MalformedSignature),
            }
        }
        let signed = Signed {
            canonical,
            signature,
            hash,
            message_id: required("MessageId")?.to_owned(),
        };
        // Last of the checks that need no key: a message otherwise malformed, stale or from
        // an unknown certificate host is answered alike whichever topic it names.
        if !self.header_topic_listed || !self.scheme.topics.iter().any(|t| t == topic) {
            return Err(Rejection::UnknownKey);
        }
        Ok((signed, cert_url))
    }
}

/// What the verifier reads of an SNS message: the fields it signs, and how; the rest is
/// skipped.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default, rename = "Type")]
    kind: Text<'a>,
    #[serde(borrow, default, rename = "Message")]
    message: Text<'a>,
    #[serde(borrow, default, rename = "MessageId")]
    message_id: Text<'a>,
    #[serde(borrow, default, rename = "Subject")]
    subject: Text<'a>,
    #[serde(borrow, default, rename = "SubscribeURL")]
    subscribe_url: Text<'a>,
    #[serde(borrow, default, rename = "Timestamp")]
    timestamp: Text<'a>,
    #[serde(borrow, default, rename = "Token")]
    token: Text<'a>,
    #[serde(borrow, default, rename = "TopicArn")]
    topic_arn: Text<'a>,
    #[serde(borrow, default, rename = "SignatureVersion")]
    signature_version: Text<'a>,
    #[serde(borrow, default, rename = "Signature")]
    signature: Text<'a>,
    #[serde(borrow, default, rename = "SigningCertURL")]
    signing_cert_url: Text<'a>,
}

impl Message<'_> {
    /// The string field `name`, if the message has it.
    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "Type" => &self.kind,
            "Message" => &self.message,
            "MessageId" => &self.message_id,
            "Subject" => &self.subject,
            "SubscribeURL" => &self.subscribe_url,
            "Timestamp" => &self.timestamp,
            "Token" => &self.token,
            "TopicArn" => &self.topic_arn,
            "SignatureVersion" => &self.signature_version,
            "Signature" => &self.signature,
            "SigningCertURL" => &self.signing_cert_url,
            _ => return None,
        }
        .as_str()
    }
}

fn check(signed: &Signed, certificate: &Certificate) -> Result<Verified, Rejection> {
    if !certificate.verifies(signed.hash, signed.canonical.as_bytes(), &signed.signature) {
        return Err(Rejection::InvalidSignature);
    }
    // Named by its signature too, which binds the whole signed text: however that text is
    // split into fields, it is one delivery.
    Ok(Verified::new(0)
        .with_delivery_id(DeliveryId::derive("sns", signed.message_id.as_bytes()))
        .also_named(DeliveryId::derive("sns#signature", &signed.signature)))
}

impl Verifier for SnsVerifier {
    fn update(&mut self, _chunk: &[u8]) {}

    /// The verdict if the certificate is cached; `503` if it would have to be fetched (the
    /// layer calls [`finish_later`](Verifier::finish_later), which fetches it).
    fn finish(&mut self, body: &[u8]) -> Result<Verified, Rejection> {
        match self.finish_later(&Bytes::copy_from_slice(body)) {
            Finish::Ready(verdict) => verdict,
            Finish::Waiting(_) => Err(Rejection::KeySourceUnavailable),
        }
    }

    fn finish_later(&mut self, body: &Bytes) -> Finish {
        if let Err(spent) = self.spent.spend() {
            return Finish::Ready(Err(spent));
        }
        let (signed, url) = match self.read(body) {
            Ok(read) => read,
            Err(rejection) => return Finish::Ready(Err(rejection)),
        };
        match self.scheme.certificates.resolve(&url) {
            Resolution::Ready(found) => {
                Finish::Ready(found.and_then(|(certificate, _)| check(&signed, &certificate)))
            }
            Resolution::Pending(lookup) => Finish::Waiting(Box::pin(async move {
                let keys = lookup.await?;
                let certificate = keys
                    .get::<Certificate>()
                    .ok_or(Rejection::KeySourceUnavailable)?;
                check(&signed, certificate)
            })),
        }
    }
}

impl fmt::Debug for SnsVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsVerifier").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_certificate_urls_are_regional_pem_files() {
        let scheme = SnsScheme::new(["arn:aws:sns:us-east-1:1:t"]);
        let good = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem";
        assert!(scheme.certificates.canonical(good).is_some());
        assert!(scheme
            .certificates
            .canonical("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem")
            .is_some());
        for bad in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.txt",
            "https://s3.amazonaws.com/evil/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.s3.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "https://sns.s3.amazonaws.com.cn/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        ] {
            assert!(scheme.certificates.canonical(bad).is_none(), "{bad}");
        }
    }

    /// A notification as SNS writes one, `fields` set or (as `None`) left out, read at the
    /// time it was sent; its signature is not checked here.
    fn read(fields: &[(&str, Option<&str>)]) -> Result<String, &'static str> {
        let mut message = serde_json::json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Subject": "Order placed",
            "Message": "{\"order\":\"ord_1\"}\nsecond line",
            "Timestamp": "2023-11-14T22:13:20.123Z",
            "SignatureVersion": "2",
            "Signature": STANDARD.encode([7u8; 256]),
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        });
        for (name, value) in fields {
            match value {
                Some(value) => message[*name] = (*value).into(),
                None => drop(message.as_object_mut().unwrap().remove(*name)),
            }
        }
        let verifier = SnsVerifier {
            scheme: SnsScheme::new(["arn:aws:sns:us-east-1:1:t"])
                .clock(|| std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            header_topic_listed: true,
            spent: Spent::default(),
        };
        verifier
            .read(message.to_string().as_bytes())
            .map(|(signed, _)| signed.canonical)
            .map_err(|rejection| rejection.reason())
    }

    #[test]
    fn a_field_moved_into_the_message_id_is_refused() {
        let signed = read(&[]).unwrap();
        assert!(signed
            .contains("MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nOrder placed\n"));
        // The same signed text, with a new message id and no subject: refused.
        let resplit = [
            (
                "MessageId",
                Some("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nOrder placed"),
            ),
            ("Subject", None),
        ];
        assert_eq!(read(&resplit), Err("malformed_signature"));
        // Only the message may span lines; every other signed field may not, nor hold any
        // other control character.
        for name in ["MessageId", "Subject", "Timestamp", "TopicArn", "Type"] {
            for bad in ["a\nb", "a\rb", "a\u{0}b", "a\u{85}b", "\n"] {
                let value = match name {
                    "Timestamp" => format!("2023-11-14T22:13:20Z{bad}"),
                    "TopicArn" => format!("arn:aws:sns:us-east-1:1:t{bad}"),
                    "Type" => format!("Notification{bad}"),
                    _ => bad.to_owned(),
                };
                assert!(read(&[(name, Some(&value))]).is_err(), "{name}: {value:?}");
            }
        }
        assert!(read(&[("Message", Some("line\nline\r\n"))]).is_ok());
    }

    #[test]
    fn a_confirmation_field_with_a_line_break_is_refused() {
        let confirmation = [
            ("Type", Some("SubscriptionConfirmation")),
            ("Subject", None),
            ("Token", Some("2336412f37fb687f")),
            (
                "SubscribeURL",
                Some("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"),
            ),
        ];
        assert!(read(&confirmation).is_ok());
        for (name, value) in [
            ("Token", "2336412f37fb687f\nTopicArn"),
            (
                "SubscribeURL",
                "https://sns.us-east-1.amazonaws.com/\nTimestamp",
            ),
        ] {
            let mut fields = confirmation.to_vec();
            fields.push((name, Some(value)));
            assert_eq!(read(&fields), Err("malformed_signature"), "{name}");
        }
    }

    #[test]
    fn a_signed_field_twice_is_refused_however_its_name_is_escaped() {
        let message = |extra: &str| {
            format!(
                r#"{{"Type":"Notification","MessageId":"1","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"m","Timestamp":"2023-11-14T22:13:20Z","SignatureVersion":"2","Signature":"{}","SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"{extra}}}"#,
                STANDARD.encode([7u8; 256])
            )
        };
        let verifier = || SnsVerifier {
            scheme: SnsScheme::new(["arn:aws:sns:us-east-1:1:t"])
                .clock(|| std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            header_topic_listed: true,
            spent: Spent::default(),
        };
        assert!(verifier().read(message("").as_bytes()).is_ok());
        for extra in [
            r#","Message":"attacker's""#,
            r#","Mess\u0061ge":"attacker's""#,
            r#","MessageId":"2""#,
            r#","Subject":"a","Subject":"b""#,
            r#","Signature":"x""#,
        ] {
            let verdict = verifier().read(message(extra).as_bytes()).map(|_| ());
            assert_eq!(
                verdict.map_err(|r| r.reason()),
                Err("malformed_signature"),
                "{extra}"
            );
        }
    }

    /// A message read once either waits for its certificate or is refused; finishing the
    /// spent verifier again is refused at once, not a second certificate lookup.
    #[test]
    fn a_spent_verifier_refuses_a_second_finish() {
        let message = Bytes::from(format!(
            r#"{{"Type":"Notification","MessageId":"1","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"m","Timestamp":"2023-11-14T22:13:20Z","SignatureVersion":"2","Signature":"{}","SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"}}"#,
            STANDARD.encode([7u8; 256])
        ));
        let mut verifier = SnsVerifier {
            scheme: SnsScheme::new(["arn:aws:sns:us-east-1:1:t"])
                .clock(|| std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            header_topic_listed: true,
            spent: Spent::default(),
        };
        assert!(matches!(
            verifier.finish_later(&message),
            Finish::Waiting(_)
        ));
        assert!(matches!(
            verifier.finish_later(&message),
            Finish::Ready(Err(Rejection::InvalidSignature))
        ));
    }
}
