//! [`SignError`]: why a scheme could not sign a request.

use std::fmt;

/// Why [`Signer::sign_request`](super::Signer::sign_request) gave no signed request.
///
/// Its `Display` names the scheme and the reason, never a key.
///
/// ```
/// use bytes::Bytes;
/// use tower_webhook::{presets, scheme::AnyScheme, sign::{SignError, Signer}};
///
/// // Erased for verifying only: it keeps no signer.
/// let github = AnyScheme::new(presets::github("secret"));
/// let request = http::Request::post("/hook").body(Bytes::from_static(b"{}"))?;
/// let error = github.sign_request(request).unwrap_err();
/// assert_eq!(error, SignError::Unsupported { scheme: "github".into() });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The scheme holds the sender's public key: only its private key signs (Discord,
    /// SendGrid, Standard Webhooks `v1a`). The `test-util` feature's
    /// `testing::TestSender` generates a key pair for tests.
    PublicKey {
        /// The scheme's name.
        scheme: String,
    },
    /// The sender signs with a key the receiver fetches and never holds (PayPal, Amazon SNS,
    /// Plaid, a FusionAuth JWKS).
    FetchedKey {
        /// The scheme's name.
        scheme: String,
    },
    /// The keys are resolved per request ([`keys`](crate::keys)): none is at hand until a
    /// request names its tenant. Build the scheme with the tenant's secret to sign.
    ResolvedKeys {
        /// The scheme's name.
        scheme: String,
    },
    /// The scheme does not sign: one erased with
    /// [`AnyScheme::new`](crate::scheme::AnyScheme::new), which keeps only its verifying half
    /// ([`AnyScheme::signing`](crate::scheme::AnyScheme::signing) keeps both), or a scheme of
    /// your own.
    Unsupported {
        /// The scheme's name.
        scheme: String,
    },
    /// The request is not one this sender would sign: Mailgun and Adyen sign fields of a JSON
    /// body, and the body is not one.
    InvalidRequest {
        /// The scheme's name.
        scheme: String,
        /// What the sender needs.
        reason: &'static str,
    },
}

impl SignError {
    #[cfg_attr(not(any(feature = "ed25519", feature = "p256")), allow(dead_code))]
    pub(crate) fn public_key(scheme: &str) -> Self {
        Self::PublicKey {
            scheme: scheme.into(),
        }
    }

    #[cfg_attr(
        not(any(feature = "paypal", feature = "sns", feature = "jwt")),
        allow(dead_code)
    )]
    pub(crate) fn fetched_key(scheme: &str) -> Self {
        Self::FetchedKey {
            scheme: scheme.into(),
        }
    }

    pub(crate) fn resolved_keys(scheme: &str) -> Self {
        Self::ResolvedKeys {
            scheme: scheme.into(),
        }
    }

    pub(crate) fn unsupported(scheme: &str) -> Self {
        Self::Unsupported {
            scheme: scheme.into(),
        }
    }

    pub(crate) fn invalid_request(scheme: &str, reason: &'static str) -> Self {
        Self::InvalidRequest {
            scheme: scheme.into(),
            reason,
        }
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PublicKey { scheme } => write!(
                f,
                "the `{scheme}` scheme holds a public key; only the sender's private key signs"
            ),
            Self::FetchedKey { scheme } => write!(
                f,
                "the `{scheme}` sender signs with a key it publishes for fetching; the receiver never holds it"
            ),
            Self::ResolvedKeys { scheme } => write!(
                f,
                "the `{scheme}` scheme resolves its keys per request; build one with the secret to sign with"
            ),
            Self::Unsupported { scheme } => write!(
                f,
                "the `{scheme}` scheme does not sign (erased with AnyScheme::new? AnyScheme::signing keeps the signer)"
            ),
            Self::InvalidRequest { scheme, reason } => {
                write!(f, "cannot sign this request as `{scheme}`: {reason}")
            }
        }
    }
}

impl std::error::Error for SignError {}
