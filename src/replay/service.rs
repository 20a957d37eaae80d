//! [`ReplayGuard`]: the service; claims a verified delivery, calls the inner service, and
//! records the outcome.

use std::{
    collections::hash_map::RandomState,
    fmt,
    future::Future,
    hash::{BuildHasher, Hasher},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{header::CONTENT_TYPE, HeaderValue, Request, Response, StatusCode};
use tower_service::Service;

use super::{layer::Settings, Claim, ReplayStore, DUPLICATE_HEADER};
use crate::{body::ResponseBody, rejection::Unverified, scheme::Verified};

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
            let delivery = request
                .extensions()
                .get::<Verified>()
                .and_then(Verified::delivery_id);
            let Some(delivery) = delivery else {
                if request.extensions().get::<Unverified>().is_some() {
                    return call_inner(&mut inner, request).await;
                }
                tracing::error!(
                    target: "tower_webhook",
                    "replay guard got a request without a verified delivery id; put it inside WebhookSignatureLayer"
                );
                return Ok(answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "replay guard misconfigured\n",
                ));
            };
            let key = delivery.to_string();
            let token = claim_token();
            match store.claim(&key, &token, settings.in_progress_ttl).await {
                Ok(Claim::Claimed) => {}
                Ok(Claim::Done) => {
                    tracing::info!(target: "tower_webhook", delivery = %key, "duplicate webhook delivery answered without processing");
                    let mut response = answer(StatusCode::OK, "duplicate delivery\n");
                    response
                        .headers_mut()
                        .insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
                    return Ok(response);
                }
                Ok(Claim::InProgress) => {
                    tracing::info!(target: "tower_webhook", delivery = %key, "webhook delivery already in progress");
                    return Ok(answer(StatusCode::CONFLICT, "delivery in progress\n"));
                }
                Err(error) if settings.fail_open => {
                    tracing::warn!(target: "tower_webhook", %error, mode = "fail_open", "replay store unreachable; processing unguarded");
                    return call_inner(&mut inner, request).await;
                }
                Err(error) => {
                    tracing::warn!(target: "tower_webhook", %error, mode = "fail_closed", "replay store unreachable; refusing the delivery");
                    return Ok(answer(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "replay store unavailable\n",
                    ));
                }
            }
            let result = inner.call(request).await;
            let processed = matches!(&result, Ok(response) if response.status().is_success());
            let settled = if processed {
                store.complete(&key, settings.done_ttl).await
            } else {
                store.release(&key, &token).await
            };
            if let Err(error) = settled {
                tracing::warn!(target: "tower_webhook", %error, delivery = %key, "replay store failed to record the outcome");
            }
            result.map(|response| response.map(ResponseBody::inner))
        })
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
