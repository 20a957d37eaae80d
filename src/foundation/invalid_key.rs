//! [`InvalidKey`]: the error of a key no algorithm can use.

use std::fmt;

/// A key that cannot verify anything: not the expected encoding, length or curve point.
///
/// Returned when a scheme is built, so a bad key stops the service at start-up rather than
/// rejecting every webhook later.
///
/// ```
/// # #[cfg(feature = "ed25519")] {
/// let err = tower_webhook::presets::discord("not hex").unwrap_err();
/// assert_eq!(err.to_string(), "invalid key: expected 64 hex digits (32 bytes)");
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidKey {
    expected: &'static str,
}

impl InvalidKey {
    pub(crate) fn expected(expected: &'static str) -> Self {
        Self { expected }
    }
}

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid key: expected {}", self.expected)
    }
}

impl std::error::Error for InvalidKey {}
