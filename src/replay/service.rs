//! [`ReplayGuard`]: the service; claims a verified delivery, calls the inner service, and
//! records the outcome.

use std::{
    collections::hash_map::RandomState,
    fmt,
    future::Future,
    hash::{BuildHasher, Hasher},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use bytes::Bytes;
use http::{header::CONTENT_TYPE, HeaderValue, Request, Response, StatusCode};
use tower_service::Service;

use super::{layer::Settings, Claim, ReplayStore, StoreError, StoreFuture, DUPLICATE_HEADER};
use crate::{
    body::ResponseBody,
    metrics,
    rejection::Unverified,
    scheme::{DeliveryId, Verified},
};

/// The service [`ReplayGuardLayer`](super::ReplayGuardLayer) builds.
pub struct ReplayGuard<S, St> {
    inner: S,
    store: Arc<St>,
    settings: Settings,
}

impl<S, St> ReplayGuard<S, St> {
    pub(super) fn new(inner: S, store: Arc<St>, settings: Settings) -> Self {
        Self {
            inner,
            store,
            settings,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, St> Clone for ReplayGuard<S, St> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            store: Arc::clone(&self.store),
            settings: self.settings,
        }
    }
}

impl<S: fmt::Debug, St> fmt::Debug for ReplayGuard<S, St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The future of a [`ReplayGuard`].
pub type ReplayFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, St, ReqBody, ResBody> Service<Request<ReqBody>> for ReplayGuard<S, St>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    St: ReplayStore,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ReplayFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Call the instance that was driven ready, leaving a fresh clone for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let store = Arc::clone(&self.store);
        let settings = self.settings;
        Box::pin(async move {
            let verified = request.extensions().get::<Verified>();
            let (ids, bound) = verified
                .map(|verified| (verified.delivery_ids(), verified.bound_ids()))
                .unwrap_or_default();
            let scheme = metrics::scheme_of(verified);
            if ids.is_empty() {
                if request.extensions().get::<Unverified>().is_some() {
                    return call_inner(&mut inner, request).await;
                }
                tracing::error!(
                    target: "tower_webhook",
                    "replay guard got a request without a verified delivery id: the signature layer must run first. \
                     With ServiceBuilder: .layer(WebhookSignatureLayer) first, then .layer(ReplayGuardLayer); \
                     with axum's Router::layer or MethodRouter::layer: call .layer(ReplayGuardLayer) before .layer(WebhookSignatureLayer)"
                );
                return Ok(answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "replay guard misconfigured\n",
                ));
            }
            // A delivery may be known by several ids (its event id and its signature); it is
            // new only if none was seen. Each is claimed in the same order, so two concurrent
            // copies meet at the first.
            let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
            // Named in log lines by its first id, shown as the same hex as its key.
            let delivery = ids.first().copied().map(tracing::field::display);
            let mut claims = Claims::new(Arc::clone(&store), settings.store_timeout);
            for key in keys {
                let claim = bounded(
                    store.claim(&key, &claims.token, settings.in_progress_ttl),
                    settings.store_timeout,
                )
                .await;
                if let Ok(Claim::Claimed) = claim {
                    claims.keys.push(key);
                    continue;
                }
                metrics::replay(
                    &scheme,
                    match claim {
                        Ok(Claim::Done) => "duplicate",
                        Ok(_) => "in_progress",
                        Err(_) => "store_error",
                    },
                );
                if claim.is_err() {
                    // The store may have taken this claim without answering in time. It is
                    // released with the others when `claims` is dropped, in the background, so
                    // a store that hangs costs the sender one timeout, not one per call.
                    claims.keys.push(key);
                } else if let Err(error) = claims.release().await {
                    tracing::warn!(target: "tower_webhook", %error, delivery, "replay store failed to release a claim");
                }
                if let Ok(Claim::Done) = claim {
                    remember(&store, &bound, settings).await;
                }
                return match claim {
                    Ok(Claim::Done) => {
                        tracing::info!(target: "tower_webhook", delivery, "duplicate webhook delivery answered without processing");
                        let mut response = answer(StatusCode::OK, "duplicate delivery\n");
                        response
                            .headers_mut()
                            .insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
                        Ok(response)
                    }
                    Ok(_) => {
                        tracing::info!(target: "tower_webhook", delivery, "webhook delivery already in progress");
                        Ok(answer(StatusCode::CONFLICT, "delivery in progress\n"))
                    }
                    Err(error) if settings.fail_open => {
                        tracing::warn!(target: "tower_webhook", %error, mode = "fail_open", "replay store unreachable; processing unguarded");
                        call_inner(&mut inner, request).await
                    }
                    Err(error) => {
                        tracing::warn!(target: "tower_webhook", %error, mode = "fail_closed", "replay store unreachable; refusing the delivery");
                        Ok(answer(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "replay store unavailable\n",
                        ))
                    }
                };
            }
            metrics::replay(&scheme, "new");
            // If this future is dropped from here on (the client went away, a timeout layer
            // fired, the handler panicked behind a catch-panic layer), `claims` releases the
            // claims as it is dropped, so the sender's retry is processed at once.
            let result = inner.call(request).await;
            let processed = matches!(&result, Ok(response) if response.status().is_success());
            let settled = if processed {
                claims
                    .complete(settings.done_ttl, settings.in_progress_ttl)
                    .await
            } else {
                claims.release().await
            };
            if let Err(error) = settled {
                tracing::warn!(target: "tower_webhook", %error, delivery, "replay store failed to record the outcome");
            }
            result.map(|response| response.map(ResponseBody::inner))
        })
    }
}

/// Records a duplicate's names that its signature binds (PayPal's transmission id) as done,
/// where no one holds them: a sender's retry brings a fresh one, and a body forged to the
/// retry's checksum and sent with its headers would otherwise be new by every name. Names a
/// forger can choose (an event id in a body) are never recorded here, so a captured delivery
/// cannot mark another event done.
async fn remember<St: ReplayStore>(store: &Arc<St>, bound: &[DeliveryId], settings: Settings) {
    if bound.is_empty() {
        return;
    }
    let mut claims = Claims::new(Arc::clone(store), settings.store_timeout);
    for key in bound.iter().map(ToString::to_string) {
        let claim = bounded(
            store.claim(&key, &claims.token, settings.in_progress_ttl),
            settings.store_timeout,
        )
        .await;
        if let Ok(Claim::Claimed) = claim {
            claims.keys.push(key);
        }
    }
    if let Err(error) = claims
        .complete(settings.done_ttl, settings.in_progress_ttl)
        .await
    {
        tracing::debug!(target: "tower_webhook", %error, "replay store failed to record a duplicate's signed name");
    }
}

/// Awaits one store call for at most `limit` (feature `tokio`, on a tokio runtime), a late
/// answer being a [`StoreError`]. Without a timer the call is awaited as long as it takes.
#[cfg_attr(not(feature = "tokio"), expect(unused_variables))]
async fn bounded<T>(mut call: StoreFuture<'_, T>, limit: Duration) -> Result<T, StoreError> {
    // A store that answers on the first poll (the memory store) needs no timer.
    if let Poll::Ready(answer) =
        std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await
    {
        return answer;
    }
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        return tokio::time::timeout(limit, call)
            .await
            .unwrap_or_else(|_| Err(StoreError::new(TimedOut(limit))));
    }
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_webhook",
            "a replay store call is waiting without a time limit: the guard's store_timeout needs the `tokio` feature and a tokio runtime"
        );
    }
    call.await
}

/// One `store_timeout` shared by the calls of one step (completing or releasing every key of
/// a delivery), measured on tokio's clock.
struct Budget {
    #[cfg(feature = "tokio")]
    started: tokio::time::Instant,
    limit: Duration,
}

impl Budget {
    fn new(limit: Duration) -> Self {
        Self {
            #[cfg(feature = "tokio")]
            started: tokio::time::Instant::now(),
            limit,
        }
    }

    /// What is left of it.
    fn left(&self) -> Duration {
        #[cfg(feature = "tokio")]
        return self.limit.saturating_sub(self.started.elapsed());
        #[cfg(not(feature = "tokio"))]
        self.limit
    }
}

/// A store call that did not answer within the guard's `store_timeout`.
#[cfg(feature = "tokio")]
#[derive(Debug)]
struct TimedOut(Duration);

#[cfg(feature = "tokio")]
impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no answer within {:?}", self.0)
    }
}

#[cfg(feature = "tokio")]
impl std::error::Error for TimedOut {}

/// The claims one request holds, under one token; released when dropped unsettled.
struct Claims<St: ReplayStore> {
    store: Arc<St>,
    token: String,
    keys: Vec<String>,
    /// How long each store call may take.
    timeout: Duration,
}

impl<St: ReplayStore> Claims<St> {
    fn new(store: Arc<St>, timeout: Duration) -> Self {
        Self {
            store,
            token: claim_token(),
            keys: Vec::new(),
            timeout,
        }
    }

    /// Forgets every key still claimed, so a retry is processed; the first error, if any.
    /// All the keys share one timeout: a store that hangs costs one, not one per key.
    async fn release(&mut self) -> Result<(), StoreError> {
        let budget = Budget::new(self.timeout);
        let mut outcome = Ok(());
        for key in std::mem::take(&mut self.keys) {
            let released = bounded(self.store.release(&key, &self.token), budget.left()).await;
            outcome = outcome.and(released);
        }
        outcome
    }

    /// Marks every key claimed as done for `ttl`; the first error, if any.
    ///
    /// A delivery the handler processed but the store did not record as done would be
    /// processed again by a retry once its claim lapses, so keys that fail are tried again in
    /// the background (feature `tokio`) for as long as the claim (`claim_ttl`) protects them.
    /// All the keys share one timeout, as for `release`.
    async fn complete(&mut self, ttl: Duration, claim_ttl: Duration) -> Result<(), StoreError> {
        let budget = Budget::new(self.timeout);
        let mut outcome = Ok(());
        let mut failed = Vec::new();
        for key in std::mem::take(&mut self.keys) {
            if let Err(error) = bounded(self.store.complete(&key, ttl), budget.left()).await {
                failed.push(key);
                outcome = outcome.and(Err(error));
            }
        }
        if !failed.is_empty() {
            self.keep_completing(failed, ttl, claim_ttl);
        }
        outcome
    }

    #[cfg(feature = "tokio")]
    fn keep_completing(&self, mut keys: Vec<String>, ttl: Duration, claim_ttl: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = Arc::clone(&self.store);
        let timeout = self.timeout;
        runtime.spawn(async move {
            let started = tokio::time::Instant::now();
            let mut pause = Duration::from_millis(100);
            // Each round is a pause and at most one bounded call per key, all before the
            // claim lapses.
            while !keys.is_empty() && started.elapsed().saturating_add(pause) < claim_ttl {
                tokio::time::sleep(pause).await;
                let mut still = Vec::new();
                for key in keys {
                    if bounded(store.complete(&key, ttl), timeout).await.is_err() {
                        still.push(key);
                    }
                }
                keys = still;
                pause = pause.saturating_mul(2).min(Duration::from_secs(5));
            }
            if keys.is_empty() {
                tracing::info!(target: "tower_webhook", "recorded a processed delivery once the replay store was back");
            } else {
                tracing::warn!(target: "tower_webhook", "could not record a processed delivery before its claim lapsed; a retry may be processed again");
            }
        });
    }

    #[cfg(not(feature = "tokio"))]
    fn keep_completing(&self, _keys: Vec<String>, _ttl: Duration, _claim_ttl: Duration) {}
}

impl<St: ReplayStore> Drop for Claims<St> {
    /// A request dropped while it held claims releases them now rather than after
    /// `in_progress_ttl`: at once where the store answers at once (the memory store),
    /// otherwise through a task on the current tokio runtime (feature `tokio`, which `redis`
    /// enables).
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let mut claims = Self {
            store: Arc::clone(&self.store),
            token: std::mem::take(&mut self.token),
            keys: std::mem::take(&mut self.keys),
            timeout: self.timeout,
        };
        let mut release = Box::pin(async move {
            if let Err(error) = claims.release().await {
                tracing::warn!(target: "tower_webhook", %error, "replay store failed to release a dropped request's claim");
            }
        });
        let mut cx = Context::from_waker(Waker::noop());
        if release.as_mut().poll(&mut cx).is_ready() {
            tracing::debug!(target: "tower_webhook", "released the claim of a dropped request");
            return;
        }
        #[cfg(feature = "tokio")]
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(release);
            tracing::debug!(target: "tower_webhook", "releasing the claim of a dropped request");
            return;
        }
        tracing::warn!(
            target: "tower_webhook",
            "the claim of a dropped request could not be released now; it expires after in_progress_ttl"
        );
    }
}

async fn call_inner<S, ReqBody, ResBody>(
    inner: &mut S,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    Ok(inner.call(request).await?.map(ResponseBody::inner))
}

fn answer<B>(status: StatusCode, text: &'static str) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::rejected(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A token unique to one claim, so a request releases only its own claim.
fn claim_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // Seeded from the OS's randomness once per thread, so instances differ.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}
