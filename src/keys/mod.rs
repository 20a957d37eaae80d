//! Where keys come from: given when the scheme is built, or resolved per request.
//!
//! Every constructor that takes a secret or a public key takes [`impl IntoKeys`](IntoKeys):
//! the key itself (`&str`, `String`, `&[u8]`, `Vec<u8>`: fixed for the life of the scheme,
//! the fast path), or, with the `keys` feature, a `KeyResolver` that finds the keys for each
//! request (a tenant's secret in your database) or a `ReloadableKeys` you replace at run time.
//!
//! ```
//! use tower_webhook::presets;
//!
//! // Fixed: keyed once, here.
//! let stripe = presets::stripe(String::from("whsec_from_the_environment"));
//! ```
//!
//! With the `keys` feature, the same preset takes a per-tenant secret from a source, behind a
//! bounded cache with single flight (see `KeyResolver`):
//!
//! ```
//! # #[cfg(feature = "keys")] {
//! use tower_webhook::{keys::{FoundKeys, KeyName, KeyResolver}, presets};
//!
//! let tenants = KeyResolver::from_fn(KeyName::path("/webhooks/stripe/{account}"), |account: String| async move {
//!     // Look `account` up in your database; `None` when there is no such tenant.
//!     Ok(Some(FoundKeys::new(format!("whsec_secret_of_{account}"))))
//! });
//! let stripe = presets::stripe(tenants);
//! # }
//! ```
//!
//! The guide's [`per_tenant`](crate::guide::per_tenant) page walks through a complete axum
//! server, the cache, the outcomes and rotating secrets live.

#[cfg(feature = "fetch")]
pub(crate) mod fetch;
#[cfg(feature = "keys")]
mod name;
#[cfg(feature = "keys")]
mod reloadable;
#[cfg(feature = "keys")]
mod resolver;
#[cfg(feature = "keys")]
mod source;

use std::{fmt, sync::Arc};

#[cfg(feature = "fetch")]
#[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
pub use self::fetch::{
    AllowedHosts, FetchError, Fetcher, InvalidHostPattern, InvalidRoots, DEFAULT_FETCH_BURST,
    DEFAULT_FETCH_LIMIT, DEFAULT_FETCH_REFILL, DEFAULT_FETCH_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_FETCHES,
};
#[cfg(any(feature = "paypal", feature = "sns"))]
pub(crate) use self::resolver::Resolver;
#[cfg(feature = "keys")]
#[cfg_attr(docsrs, doc(cfg(feature = "keys")))]
pub use self::{
    name::KeyName,
    reloadable::ReloadableKeys,
    resolver::{
        KeyResolver, DEFAULT_KEY_TIMEOUT, DEFAULT_KEY_TTL, DEFAULT_MAX_CONCURRENT_LOOKUPS,
        DEFAULT_UNKNOWN_KEY_TTL,
    },
    source::{FoundKeys, KeyError, KeySource, LookupFuture},
};
pub use crate::foundation::{KeyFuture, ResolvedKeys, Start};
use crate::{foundation::InvalidKey, rejection::Rejection};

/// What a scheme constructor accepts as its key(s): the key itself, or (with the `keys`
/// feature) a source consulted per request.
///
/// Implemented for every byte string (`&str`, `String`, `&[u8]`, `Vec<u8>`, …) and for
/// `KeyResolver` and `ReloadableKeys`.
///
/// ```
/// use tower_webhook::HmacScheme;
///
/// let from_env: String = "secret".into();
/// let scheme = HmacScheme::sha256(from_env); // no `&` needed
/// ```
pub trait IntoKeys {
    /// Where the scheme's keys will come from.
    fn into_keys(self) -> KeysFrom;
}

/// Keys already converted, as a preset chosen at run time passes them on.
impl IntoKeys for KeysFrom {
    fn into_keys(self) -> KeysFrom {
        self
    }
}

impl<T: AsRef<[u8]>> IntoKeys for T {
    fn into_keys(self) -> KeysFrom {
        KeysFrom::Given(self.as_ref().to_vec())
    }
}

/// Where a scheme's keys come from; what [`IntoKeys`] produces.
#[non_exhaustive]
pub enum KeysFrom {
    /// One key, given now, parsed and (for HMAC) keyed once when the scheme is built.
    Given(Vec<u8>),
    /// Keys found per request by a resolver.
    #[cfg(feature = "keys")]
    #[cfg_attr(docsrs, doc(cfg(feature = "keys")))]
    Resolved(KeyResolver),
}

impl fmt::Debug for KeysFrom {
    /// Never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Given(_) => f.write_str("Given([redacted])"),
            #[cfg(feature = "keys")]
            Self::Resolved(resolver) => f.debug_tuple("Resolved").field(resolver).finish(),
        }
    }
}

/// A set of keys one request is checked against: several during a rotation, first tried first.
pub(crate) trait KeySet: Send + Sync + 'static {
    /// Appends `other`'s keys after this set's (a source returned several for one name).
    fn merge(&mut self, other: Self);
}

/// Makes one key of a scheme's kind from its bytes as a source stores them.
pub(crate) type Parse<K> = fn(&[u8]) -> Result<K, InvalidKey>;

/// A scheme's keys: fixed, or resolved per request.
#[derive(Clone)]
pub(crate) enum KeySlot<K> {
    Fixed(K),
    #[cfg(feature = "keys")]
    Resolved(Arc<resolver::Resolver<K>>),
}

impl<K: KeySet> KeySlot<K> {
    /// The slot for `keys`: parsed now if given, or a resolver that parses each found key
    /// with `parse`.
    pub(crate) fn new(keys: KeysFrom, parse: Parse<K>) -> Result<Self, InvalidKey> {
        match keys {
            KeysFrom::Given(bytes) => Ok(Self::Fixed(parse(&bytes)?)),
            #[cfg(feature = "keys")]
            KeysFrom::Resolved(resolver) => Ok(Self::Resolved(Arc::new(resolver::Resolver::new(
                resolver, parse,
            )))),
        }
    }

    /// The fixed keys. A resolved slot has none to give without a request.
    pub(crate) fn fixed(&self) -> Option<&K> {
        match self {
            Self::Fixed(keys) => Some(keys),
            #[cfg(feature = "keys")]
            Self::Resolved(_) => None,
        }
    }

    /// The fixed keys, to add one to.
    ///
    /// # Panics
    ///
    /// If the keys are resolved per request: the source returns every key of a name.
    #[cfg_attr(
        feature = "keys",
        expect(
            clippy::panic,
            reason = "a configuration error, documented under `# Panics`, caught on the first run"
        )
    )]
    pub(crate) fn fixed_mut(&mut self) -> &mut K {
        match self {
            Self::Fixed(keys) => keys,
            #[cfg(feature = "keys")]
            Self::Resolved(_) => panic!(
                "tower-webhook: `also_accept` on a scheme whose keys are resolved per request; \
                 return every valid key from the source instead (FoundKeys::and)"
            ),
        }
    }

    /// Starts on `request`, whose head the scheme has checked: at once with the fixed keys
    /// or cached ones (`verifier` makes the verifier from them and the name they were found
    /// under), or with the lookup to wait for.
    pub(crate) fn start<V>(
        &self,
        request: &http::request::Parts,
        verifier: impl FnOnce(&K, Option<Arc<str>>) -> Result<V, Rejection>,
    ) -> Start<V> {
        self.start_with(request, |keys, id| Start::Ready(verifier(keys, id)))
    }

    /// As [`start`](Self::start), with `verifier` making the `Start` itself: returned as it
    /// is, the verifier is built where the caller keeps it rather than moved out of a
    /// `Result` into a `Start`.
    #[cfg_attr(not(feature = "keys"), expect(unused_variables))]
    pub(crate) fn start_with<V>(
        &self,
        request: &http::request::Parts,
        verifier: impl FnOnce(&K, Option<Arc<str>>) -> Start<V>,
    ) -> Start<V> {
        match self {
            Self::Fixed(keys) => verifier(keys, None),
            #[cfg(feature = "keys")]
            Self::Resolved(resolver) => match resolver::Resolver::resolve(resolver, request) {
                Resolution::Ready(Ok((keys, id))) => verifier(&keys, Some(id)),
                Resolution::Ready(Err(rejection)) => Start::Ready(Err(rejection)),
                Resolution::Pending(lookup) => Start::Resolving(lookup),
            },
        }
    }
}

impl<K: fmt::Debug> fmt::Debug for KeySlot<K> {
    /// The fixed keys' own `Debug` (which never shows a secret), or where they come from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(keys) => keys.fmt(f),
            #[cfg(feature = "keys")]
            Self::Resolved(resolver) => resolver.fmt(f),
        }
    }
}

/// The keys of one request: found now (cached), or being looked up.
#[cfg(feature = "keys")]
pub(crate) enum Resolution<K> {
    Ready(Result<(Arc<K>, Arc<str>), Rejection>),
    Pending(KeyFuture),
}
