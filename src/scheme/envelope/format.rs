//! [`SignatureFormat`]: how a signature header lays out its signature(s) and timestamp.

use std::borrow::Cow;

use crate::rejection::Rejection;

/// The most signatures one request may carry (in one header or across several); more is
/// treated as malformed, so a huge header cannot make a request decode and compare thousands
/// of signatures. Senders send one, or one per secret while rotating (Stripe, Standard
/// Webhooks).
pub(crate) const MAX_SIGNATURES: usize = 16;

/// The most signatures a scheme that reads one per header may take across its headers:
/// DocuSign documents up to 100 Connect HMAC keys, each signing in its own header. Each is
/// a 32-byte comparison against the one MAC computed per key, so this bounds little work.
pub(crate) const MAX_SIGNATURES_ACROSS_HEADERS: usize = 100;

/// How the signature header is laid out.
///
/// ```
/// use tower_webhook::{scheme::SignatureFormat, Encoding, HmacScheme};
///
/// // `X-Acme-Signature: ts=1700000000|sig=<hex>|sig=<hex>`, signing "{timestamp}.{body}"
/// let scheme = HmacScheme::sha256("secret")
///     .header("X-Acme-Signature")
///     .signature_format(SignatureFormat::Pairs {
///         separator: '|',
///         timestamp_key: "ts".into(),
///         signature_key: "sig".into(),
///     })
///     .signed_payload("{timestamp}.{body}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureFormat {
    /// The whole value is one signature after `prefix`: `<hex>`, `sha256=<hex>`, `v0=<hex>`.
    Single {
        /// Text that must come right before the encoded MAC; may be empty.
        prefix: Cow<'static, str>,
    },
    /// `key=value` pairs separated by `separator`: Stripe's `t=…,v1=…,v1=…`, Paddle's
    /// `ts=…;h1=…`. Every `signature_key` entry is a candidate; the `timestamp_key` entry (at
    /// most one) is the signed timestamp; other keys are ignored.
    Pairs {
        /// Between pairs, such as `,` or `;`.
        separator: char,
        /// The key of the timestamp, such as `t`; empty if the header carries none.
        timestamp_key: Cow<'static, str>,
        /// The key of each signature, such as `v1`.
        signature_key: Cow<'static, str>,
    },
    /// Space-separated `version,signature` entries: Standard Webhooks' `v1,<b64> v1,<b64>`.
    /// Entries of other versions are ignored.
    Versioned {
        /// The version accepted, such as `v1`.
        version: Cow<'static, str>,
    },
}

impl Default for SignatureFormat {
    fn default() -> Self {
        Self::Single {
            prefix: Cow::Borrowed(""),
        }
    }
}

/// What a signature header says: the encoded signatures of the accepted kind and, for
/// formats that carry one, the timestamp.
#[derive(Debug, Default)]
pub(crate) struct Parsed<'a> {
    pub(crate) signatures: Vec<&'a [u8]>,
    pub(crate) timestamp: Option<&'a [u8]>,
}

impl<'a> Parsed<'a> {
    /// Adds a signature; refuses the header at once when it carries more than
    /// [`MAX_SIGNATURES`], so a header of thousands of entries is not collected first.
    fn push(&mut self, signature: &'a [u8]) -> Result<(), Rejection> {
        if self.signatures.len() == MAX_SIGNATURES {
            return Err(Rejection::MalformedSignature);
        }
        self.signatures.push(signature);
        Ok(())
    }
}

impl SignatureFormat {
    /// Splits a (trimmed, non-empty) header value. Strict: an entry that is not of the
    /// format's shape, a repeated timestamp, or too many signatures make it malformed.
    pub(crate) fn parse<'a>(&self, value: &'a [u8]) -> Result<Parsed<'a>, Rejection> {
        let mut parsed = Parsed::default();
        match self {
            Self::Single { prefix } => {
                let signature = value
                    .strip_prefix(prefix.as_bytes())
                    .ok_or(Rejection::MalformedSignature)?;
                parsed.signatures.push(signature);
            }
            Self::Pairs {
                separator,
                timestamp_key,
                signature_key,
            } => {
                // Visible ASCII, checked when the format is set; anything else splits nothing.
                let separator = u8::try_from(*separator).unwrap_or(0);
                // Whitespace around entries is ignored: WorkOS writes `t=…, v1=…`.
                for entry in value.split(|&b| b == separator).map(<[u8]>::trim_ascii) {
                    let (key, val) =
                        split_once(entry, b'=').ok_or(Rejection::MalformedSignature)?;
                    if !timestamp_key.is_empty() && key == timestamp_key.as_bytes() {
                        if parsed.timestamp.replace(val).is_some() {
                            return Err(Rejection::MalformedSignature);
                        }
                    } else if key == signature_key.as_bytes() {
                        parsed.push(val)?;
                    }
                }
            }
            Self::Versioned { version } => {
                for entry in value.split(|&b| b == b' ') {
                    let (v, signature) =
                        split_once(entry, b',').ok_or(Rejection::MalformedSignature)?;
                    if v == version.as_bytes() {
                        parsed.push(signature)?;
                    }
                }
            }
        }
        Ok(parsed)
    }

    /// The header value a sender writes for one encoded signature (and timestamp).
    #[cfg(test)]
    pub(crate) fn render(&self, encoded: &str, timestamp: &str) -> String {
        self.render_with(encoded, timestamp, None)
    }

    /// As [`render`](Self::render), writing the separator of `Pairs` as `written` where the
    /// sender writes more than the character it splits on (WorkOS's `, `).
    pub(crate) fn render_with(
        &self,
        encoded: &str,
        timestamp: &str,
        written: Option<&str>,
    ) -> String {
        match self {
            Self::Single { prefix } => format!("{prefix}{encoded}"),
            Self::Pairs {
                separator,
                timestamp_key,
                signature_key,
            } if !timestamp_key.is_empty() => {
                let separator = written.map_or_else(|| separator.to_string(), str::to_owned);
                format!("{timestamp_key}={timestamp}{separator}{signature_key}={encoded}")
            }
            Self::Pairs { signature_key, .. } => format!("{signature_key}={encoded}"),
            Self::Versioned { version } => format!("{version},{encoded}"),
        }
    }

    /// Whether the timestamp travels inside the signature header.
    pub(crate) fn carries_timestamp(&self) -> bool {
        matches!(self, Self::Pairs { timestamp_key, .. } if !timestamp_key.is_empty())
    }
}

/// Splits an entry at its first `delimiter`. An empty entry (two separators in a row, or one
/// at either end) has none, so it is malformed.
fn split_once(entry: &[u8], delimiter: u8) -> Option<(&[u8], &[u8])> {
    let at = entry.iter().position(|&b| b == delimiter)?;
    let (before, rest) = entry.split_at_checked(at)?;
    Some((before, rest.get(1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripe() -> SignatureFormat {
        SignatureFormat::Pairs {
            separator: ',',
            timestamp_key: "t".into(),
            signature_key: "v1".into(),
        }
    }

    fn versioned() -> SignatureFormat {
        SignatureFormat::Versioned {
            version: "v1".into(),
        }
    }

    fn reason(result: Result<Parsed<'_>, Rejection>) -> &'static str {
        result.map_or_else(|r| r.reason(), |_| "ok")
    }

    #[test]
    fn pairs_collect_every_signature_and_the_timestamp() {
        let parsed = stripe().parse(b"t=1492774577,v1=aa,v0=bb,v1=cc").unwrap();
        assert_eq!(parsed.timestamp, Some(&b"1492774577"[..]));
        assert_eq!(parsed.signatures, [&b"aa"[..], b"cc"]);
    }

    #[test]
    fn pairs_with_only_unknown_versions_have_no_signature() {
        let parsed = stripe().parse(b"t=1,v0=aa,v2=bb").unwrap();
        assert!(parsed.signatures.is_empty());
    }

    #[test]
    fn pairs_reject_broken_entries_and_repeated_timestamps() {
        for bad in [
            &b"t=1,,v1=aa"[..],
            b"t=1,v1=aa,",
            b"t=1,v1",
            b"t=1,t=2,v1=aa",
            b",t=1,v1=aa",
        ] {
            assert_eq!(
                reason(stripe().parse(bad)),
                "malformed_signature",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn pairs_ignore_whitespace_around_entries() {
        let parsed = stripe().parse(b"t=1663849649733, v1=aa ,v1=bb").unwrap();
        assert_eq!(parsed.timestamp, Some(&b"1663849649733"[..]));
        assert_eq!(parsed.signatures, [&b"aa"[..], b"bb"]);
    }

    #[test]
    fn pairs_split_on_the_configured_separator() {
        let paddle = SignatureFormat::Pairs {
            separator: ';',
            timestamp_key: "ts".into(),
            signature_key: "h1".into(),
        };
        let parsed = paddle.parse(b"ts=1671552777;h1=eb4d").unwrap();
        assert_eq!(parsed.timestamp, Some(&b"1671552777"[..]));
        assert_eq!(parsed.signatures, [&b"eb4d"[..]]);
        // A comma is not Paddle's separator: this is one entry whose value contains one.
        let parsed = paddle.parse(b"ts=1,h1=eb4d").unwrap();
        assert_eq!(parsed.timestamp, Some(&b"1,h1=eb4d"[..]));
    }

    #[test]
    fn versioned_keeps_only_its_version() {
        let parsed = versioned()
            .parse(b"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,xyz v2,abc v1,bm9wZQ==")
            .unwrap();
        assert_eq!(
            parsed.signatures,
            [
                &b"g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="[..],
                b"bm9wZQ=="
            ]
        );
        assert_eq!(parsed.timestamp, None);
    }

    #[test]
    fn versioned_rejects_entries_without_a_comma_and_double_spaces() {
        for bad in [&b"v1"[..], b"v1,aa  v1,bb", b"v1,aa ", b"v1aa"] {
            assert_eq!(reason(versioned().parse(bad)), "malformed_signature");
        }
    }

    #[test]
    fn too_many_signatures_are_malformed() {
        let many = vec!["v1,aa"; MAX_SIGNATURES + 1].join(" ");
        assert_eq!(
            reason(versioned().parse(many.as_bytes())),
            "malformed_signature"
        );
        let enough = vec!["v1,aa"; MAX_SIGNATURES].join(" ");
        assert_eq!(reason(versioned().parse(enough.as_bytes())), "ok");
    }

    #[test]
    fn single_requires_its_prefix() {
        let slack = SignatureFormat::Single {
            prefix: "v0=".into(),
        };
        assert_eq!(slack.parse(b"v0=ab").unwrap().signatures, [&b"ab"[..]]);
        assert_eq!(reason(slack.parse(b"v1=ab")), "malformed_signature");
    }

    #[test]
    fn render_is_what_parse_reads() {
        for format in [stripe(), versioned(), SignatureFormat::default()] {
            let rendered = format.render("c2ln", "1700000000");
            let parsed = format.parse(rendered.as_bytes()).unwrap();
            assert_eq!(parsed.signatures, [&b"c2ln"[..]]);
            if format.carries_timestamp() {
                assert_eq!(parsed.timestamp, Some(&b"1700000000"[..]));
            }
        }
    }
}
