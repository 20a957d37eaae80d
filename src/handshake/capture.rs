//! Secrets a sender delivers in its handshake (Asana's `X-Hook-Secret`, Notion's
//! `verification_token`), handed to a sink the user supplies.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use http::{request::Parts, HeaderMap, Uri};

use crate::rejection::BoxError;

/// A signing secret a sender delivered in its handshake, for a [`SecretSink`] to store.
///
/// Its `Debug` never shows the secret.
///
/// ```
/// use tower_webhook::handshake::CapturedSecret;
///
/// fn store(captured: &CapturedSecret) {
///     println!("{} sent a secret to {}", captured.sender(), captured.uri().path());
/// }
/// ```
pub struct CapturedSecret {
    sender: &'static str,
    secret: Vec<u8>,
    uri: Uri,
    headers: HeaderMap,
}

impl CapturedSecret {
    pub(crate) fn new(sender: &'static str, secret: &[u8], parts: &Parts) -> Self {
        Self {
            sender,
            secret: secret.to_vec(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        }
    }

    /// The handshake that delivered it: `asana` or `notion`.
    ///
    /// ```
    /// # fn f(captured: tower_webhook::handshake::CapturedSecret) {
    /// assert!(["asana", "notion"].contains(&captured.sender()));
    /// # }
    /// ```
    #[must_use]
    pub fn sender(&self) -> &'static str {
        self.sender
    }

    /// The secret, as the sender sent it: the key its deliveries are signed with.
    ///
    /// ```
    /// # fn f(captured: tower_webhook::handshake::CapturedSecret) {
    /// let key: &[u8] = captured.secret();
    /// # }
    /// ```
    #[must_use]
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The URI the handshake was sent to: where the tenant or webhook is named.
    ///
    /// ```
    /// # fn f(captured: tower_webhook::handshake::CapturedSecret) {
    /// let path = captured.uri().path();
    /// # }
    /// ```
    #[must_use]
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The handshake's headers.
    ///
    /// ```
    /// # fn f(captured: tower_webhook::handshake::CapturedSecret) {
    /// let agent = captured.headers().get("user-agent");
    /// # }
    /// ```
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl fmt::Debug for CapturedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturedSecret")
            .field("sender", &self.sender)
            .field("secret", &"[redacted]")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// The future a [`SecretSink`] returns.
pub type StoreFuture = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send>>;

/// Where a secret delivered in a handshake goes, so the deliveries that follow verify with no
/// restart: [`CaptureInto`] a [`ReloadableKeys`](crate::keys::ReloadableKeys), or any async
/// function (writing your database).
///
/// The handshake is unsigned by design, so anyone can send one: a sink decides which to
/// believe. Store a secret only for a name that has none yet ([`CaptureInto`] does), or only
/// while your own create-webhook call for that name is pending, and answer the rest with
/// [`SinkError::Refused`] (403). Any other error is 503, and the sender's setup fails.
///
/// ```
/// use tower_webhook::handshake::{CapturedSecret, Handshake, SinkError};
///
/// let handshake = Handshake::asana(|captured: CapturedSecret| async move {
///     // e.g. UPDATE webhooks SET secret = $1 WHERE path = $2 AND secret IS NULL
///     let _ = (captured.uri().path(), captured.secret());
///     Ok::<(), SinkError>(())
/// });
/// ```
pub trait SecretSink: Send + Sync + 'static {
    /// Stores `captured`; the handshake is answered once this completes.
    fn store(&self, captured: CapturedSecret) -> StoreFuture;
}

impl<F, Fut> SecretSink for F
where
    F: Fn(CapturedSecret) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), SinkError>> + Send + 'static,
{
    fn store(&self, captured: CapturedSecret) -> StoreFuture {
        Box::pin(self(captured))
    }
}

/// Why a [`SecretSink`] did not store a secret.
///
/// ```
/// use tower_webhook::handshake::SinkError;
///
/// let refused = SinkError::Refused;
/// /// assert_eq!(refused.to_string(), "the secret was refused");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SinkError {
    /// Not believed (the name already has a secret, no creation is pending): answered 403.
    Refused,
    /// Could not be stored: answered 503.
    Failed(BoxError),
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused => f.write_str("the secret was refused"),
            Self::Failed(error) => write!(f, "the secret could not be stored: {error}"),
        }
    }
}

impl std::error::Error for SinkError {}

impl SinkError {
    /// The secret could not be stored, because of `error`.
    ///
    /// ```
    /// use tower_webhook::handshake::SinkError;
    ///
    /// let error = SinkError::failed("database unavailable");
    /// ```
    #[must_use]
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Self::Failed(error.into())
    }
}

/// A [`SecretSink`] that stores each secret in a
/// [`ReloadableKeys`](crate::keys::ReloadableKeys) under the name a
/// [`KeyName`](crate::keys::KeyName) reads from the handshake (the same name the route's
/// resolver reads from deliveries), and only for a name you said to
/// [`expect`](Self::expect): just before your create-webhook call (Asana calls back while it
/// is open), or while you create the subscription in the sender's dashboard (Notion). Every
/// other handshake is refused with 403, so no one can plant a secret for a name; and a name
/// that has keys keeps them.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::{
///     handshake::{CaptureInto, Handshake},
///     keys::{KeyName, KeyResolver, ReloadableKeys},
///     HmacScheme, WebhookSignatureLayer,
/// };
///
/// let keys = ReloadableKeys::new();
/// let name = KeyName::path("/asana/{webhook}");
/// let capture = CaptureInto::new(keys.clone(), name.clone());
/// let scheme = HmacScheme::sha256(KeyResolver::new(name, keys)).header("x-hook-signature");
/// let layer = WebhookSignatureLayer::new(scheme).handshake(Handshake::asana(capture.clone()));
///
/// // Then, when creating a webhook whose target is https://example.com/asana/acme:
/// capture.expect("acme", Duration::from_secs(60));
/// // … POST https://app.asana.com/api/1.0/webhooks …
/// ```
#[cfg(feature = "keys")]
#[cfg_attr(docsrs, doc(cfg(feature = "keys")))]
#[derive(Clone, Debug)]
pub struct CaptureInto {
    keys: crate::keys::ReloadableKeys,
    name: crate::keys::KeyName,
    pending: Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
}

/// The most names awaiting a handshake at once; more are refused until some complete or
/// expire.
#[cfg(feature = "keys")]
const MAX_PENDING: usize = 1024;

#[cfg(feature = "keys")]
impl CaptureInto {
    /// Stores into `keys`, under the name `name` reads from the handshake, for names
    /// [expected](Self::expect).
    ///
    /// ```
    /// use tower_webhook::{handshake::CaptureInto, keys::{KeyName, ReloadableKeys}};
    ///
    /// let sink = CaptureInto::new(ReloadableKeys::new(), KeyName::path("/t/{tenant}"));
    /// ```
    #[must_use]
    pub fn new(keys: crate::keys::ReloadableKeys, name: crate::keys::KeyName) -> Self {
        Self {
            keys,
            name,
            pending: Arc::default(),
        }
    }

    /// Accepts one handshake's secret for `name` within `within` (clamped to 1 s – 1 h).
    /// Whether it was noted: `false` if 1,024 names are already waiting.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::{handshake::CaptureInto, keys::{KeyName, ReloadableKeys}};
    ///
    /// let sink = CaptureInto::new(ReloadableKeys::new(), KeyName::path("/t/{tenant}"));
    /// assert!(sink.expect("acme", Duration::from_secs(60)));
    /// ```
    pub fn expect(&self, name: impl Into<String>, within: std::time::Duration) -> bool {
        let within = within.clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(3600),
        );
        let now = std::time::Instant::now();
        let until = now.checked_add(within).unwrap_or(now);
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.retain(|_, until| *until > now);
        let name = name.into();
        if pending.len() >= MAX_PENDING && !pending.contains_key(&name) {
            return false;
        }
        pending.insert(name, until);
        true
    }

    /// Whether `name` was expected and still is; it is not any more.
    fn take_expected(&self, name: &str) -> bool {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending
            .remove(name)
            .is_some_and(|until| until > std::time::Instant::now())
    }
}

#[cfg(feature = "keys")]
impl SecretSink for CaptureInto {
    fn store(&self, captured: CapturedSecret) -> StoreFuture {
        let (parts, ()) = {
            let mut request = http::Request::new(());
            *request.uri_mut() = captured.uri.clone();
            *request.headers_mut() = captured.headers.clone();
            request.into_parts()
        };
        let stored = match self.name.of(&parts) {
            Some(name) if self.take_expected(&name) => {
                let keys = crate::keys::FoundKeys::new(&captured.secret);
                if self.keys.insert_new(&name, keys) {
                    Ok(())
                } else {
                    Err(SinkError::Refused)
                }
            }
            _ => Err(SinkError::Refused),
        };
        Box::pin(std::future::ready(stored))
    }
}

/// A shared sink, as handshakes hold it.
pub(crate) type Sink = Arc<dyn SecretSink>;
