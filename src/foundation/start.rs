//! [`Start`]: how a scheme starts on a request, at once or once its keys are looked up; and
//! [`ResolvedKeys`], what the lookup hands the scheme.

use std::{any::Any, fmt, future::Future, pin::Pin, sync::Arc};

use crate::rejection::Rejection;

/// Keys found for one request by a resolver, ready to use: parsed and (for HMAC) keyed once
/// per cache entry, shared by every request that uses them.
///
/// Opaque to everything but the scheme that asked for them; [`id`](Self::id) says whose they
/// are. A request keeps the keys it started with even if the source replaces them meanwhile.
#[derive(Clone)]
pub struct ResolvedKeys {
    keys: Arc<dyn Any + Send + Sync>,
    id: Arc<str>,
    decoy: bool,
}

impl ResolvedKeys {
    #[cfg(feature = "keys")]
    pub(crate) fn new(keys: Arc<dyn Any + Send + Sync>, id: Arc<str>) -> Self {
        Self {
            keys,
            id,
            decoy: false,
        }
    }

    /// Another name's keys, for a name that has none: verified against so an unknown name
    /// costs what a known one does, and always answered `UnknownKey` whatever the verdict.
    #[cfg(feature = "keys")]
    pub(crate) fn decoy(keys: Arc<dyn Any + Send + Sync>) -> Self {
        Self {
            keys,
            id: Arc::from(""),
            decoy: true,
        }
    }

    /// Whether these are decoy keys, whose verdict is never believed.
    pub(crate) fn is_decoy(&self) -> bool {
        self.decoy
    }

    /// The name the keys were found under: the tenant or key id the request named.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn shared_id(&self) -> &Arc<str> {
        &self.id
    }

    /// The keys, if they are of the kind `K` the asking scheme holds.
    pub(crate) fn get<K: Send + Sync + 'static>(&self) -> Option<&K> {
        self.keys.downcast_ref()
    }
}

impl fmt::Debug for ResolvedKeys {
    /// The id, never the keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedKeys")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The future of a key lookup that could not be answered from the cache.
pub type KeyFuture = Pin<Box<dyn Future<Output = Result<ResolvedKeys, Rejection>> + Send>>;

/// How a scheme starts on a request: at once (fixed keys, or keys already cached), or once its
/// keys have been resolved.
///
/// Returned by [`Scheme::start`](crate::scheme::Scheme::start).
pub enum Start<V> {
    /// The verifier, or the rejection the request head earned.
    Ready(Result<V, Rejection>),
    /// The keys are being looked up; then [`Scheme::verifier_with`](crate::scheme::Scheme::verifier_with)
    /// makes the verifier.
    Resolving(KeyFuture),
}

impl<V> fmt::Debug for Start<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready(Ok(_)) => f.write_str("Ready(Ok(..))"),
            Self::Ready(Err(rejection)) => f.debug_tuple("Ready").field(rejection).finish(),
            Self::Resolving(_) => f.write_str("Resolving(..)"),
        }
    }
}
