//! [`KeySource`]: where a name's keys are looked up (your database, a secret manager), and
//! what it answers: [`FoundKeys`], nothing, or a [`KeyError`].

use std::{error::Error, fmt, future::Future, pin::Pin};

use crate::rejection::BoxError;

/// The future a [`KeySource`] returns: the keys of a name, `None` if it has none, or an error
/// if the source could not answer.
pub type LookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<FoundKeys>, KeyError>> + Send + 'a>>;

/// Where keys are looked up by name: a tenant's signing secret in your database, a secret
/// manager, a map you replace at run time ([`ReloadableKeys`](super::ReloadableKeys)).
///
/// Consulted through a [`KeyResolver`](super::KeyResolver), which caches its answers (found
/// and not found), asks once for many concurrent requests, and bounds the wait.
///
/// Most sources are a closure: [`KeyResolver::from_fn`](super::KeyResolver::from_fn). Implement
/// the trait for a type that holds a connection pool:
///
/// ```
/// use tower_webhook::keys::{FoundKeys, KeySource, LookupFuture};
///
/// struct Secrets(std::collections::HashMap<String, String>);
///
/// impl KeySource for Secrets {
///     fn lookup<'a>(&'a self, name: &'a str) -> LookupFuture<'a> {
///         Box::pin(async move { Ok(self.0.get(name).map(FoundKeys::new)) })
///     }
/// }
/// ```
pub trait KeySource: Send + Sync + 'static {
    /// The keys of `name`, `Ok(None)` if there are none (an unknown tenant), or an error if the
    /// source cannot answer now (the database is down).
    fn lookup<'a>(&'a self, name: &'a str) -> LookupFuture<'a>;

    /// A number that changes whenever the source's answers may have changed, so caches in
    /// front of it drop what they hold at once instead of when it expires. Default: `0`, a
    /// source whose changes are picked up after the cache's TTL.
    fn version(&self) -> u64 {
        0
    }
}

/// The keys a [`KeySource`] found for a name: one, or several while a secret is rotated (the
/// first is tried first; any may match).
///
/// Each is the key as the scheme's constructor takes it: the secret's bytes for HMAC presets,
/// `whsec_…` for Standard Webhooks, the hex or base64 text of a public key for Discord or
/// SendGrid. Its `Debug` never shows them.
///
/// ```
/// use tower_webhook::keys::FoundKeys;
///
/// let rotating = FoundKeys::new("new secret").and("old secret");
/// assert_eq!(rotating.len(), 2);
/// assert_eq!(format!("{rotating:?}"), "FoundKeys([redacted; 2])");
/// ```
#[derive(Clone)]
pub struct FoundKeys {
    keys: Vec<Vec<u8>>,
}

impl FoundKeys {
    /// One key.
    #[must_use]
    pub fn new(key: impl AsRef<[u8]>) -> Self {
        Self {
            keys: vec![key.as_ref().to_vec()],
        }
    }

    /// The same, and another key accepted too (the old one, while rotating).
    #[must_use]
    pub fn and(mut self, key: impl AsRef<[u8]>) -> Self {
        self.keys.push(key.as_ref().to_vec());
        self
    }

    /// How many keys there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none (never, for a value made by [`new`](Self::new)).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().map(Vec::as_slice)
    }
}

impl fmt::Debug for FoundKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FoundKeys([redacted; {}])", self.keys.len())
    }
}

/// A [`KeySource`] could not answer: the request is refused with `503`, fail closed, and a
/// `tracing` warning carries this error's text (never a key).
///
/// ```
/// use tower_webhook::keys::KeyError;
///
/// let error = KeyError::new("connection refused");
/// assert_eq!(error.to_string(), "key source failed: connection refused");
/// ```
#[derive(Debug)]
pub struct KeyError(BoxError);

impl KeyError {
    /// Wraps the source's own error.
    pub fn new(error: impl Into<BoxError>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key source failed: {}", self.0)
    }
}

impl Error for KeyError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0)
    }
}

/// A closure as a [`KeySource`]: see [`KeyResolver::from_fn`](super::KeyResolver::from_fn).
pub(crate) struct FnSource<F>(pub(crate) F);

impl<F, Fut> KeySource for FnSource<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<FoundKeys>, KeyError>> + Send + 'static,
{
    fn lookup<'a>(&'a self, name: &'a str) -> LookupFuture<'a> {
        Box::pin((self.0)(name.to_owned()))
    }
}
