//! [`WebhookSignature`]: the service, and the checks its future makes before reading a body
//! (the allowlist, the declared length).

use std::{
    fmt,
    sync::{atomic::Ordering, Arc},
    task::{Context, Poll},
};

use http::{header::CONTENT_LENGTH, request::Parts, HeaderMap, Request, Response};
use http_body::Body;
use tower_service::Service;

use super::{
    future::{Length, ResponseFuture},
    layer::Config,
    verdicts::UNKNOWN_PEER_HINT,
    WebhookSignatureLayer,
};
use crate::{
    body::{BufferedBody, ResponseBody},
    rejection::{BoxError, Rejection},
    scheme::Scheme,
};

/// Middleware that verifies webhook signatures; see [`WebhookSignatureLayer`] for what it
/// does and how to configure it.
///
/// # Example
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
/// use tower::{service_fn, ServiceExt};
/// use tower_webhook::{body::BufferedBody, presets, verify::WebhookSignature};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let echo = service_fn(|request: Request<BufferedBody>| async move {
///     Ok::<_, Infallible>(Response::new(request.into_body()))
/// });
/// let scheme = presets::loopwise("signing key");
/// let signature = scheme.sign(b"hello");
/// let service = WebhookSignature::layer(scheme).layer(echo);
///
/// let request = Request::post("/")
///     .header("Loopwise-Webhook-Signature", signature)
///     .body(String::from("hello"))?;
/// let response = service.oneshot(request).await?;
/// assert_eq!(response.status(), 200);
/// # Ok(())
/// # }
/// # use tower::Layer as _;
/// ```
pub struct WebhookSignature<S, Sch> {
    inner: S,
    config: Arc<Config<Sch>>,
}

impl<Sch: Scheme> WebhookSignature<(), Sch> {
    /// A [`WebhookSignatureLayer`] with `scheme`, the same as [`WebhookSignatureLayer::new`].
    ///
    /// ```
    /// use tower_webhook::{presets, verify::WebhookSignature};
    ///
    /// let layer = WebhookSignature::layer(presets::loopwise("secret"));
    /// ```
    #[must_use]
    pub fn layer(scheme: Sch) -> WebhookSignatureLayer<Sch> {
        WebhookSignatureLayer::new(scheme)
    }
}

impl<S, Sch> WebhookSignature<S, Sch> {
    pub(crate) fn from_config(inner: S, config: Arc<Config<Sch>>) -> Self {
        Self { inner, config }
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

impl<S, Sch, ReqBody, ResBody> Service<Request<ReqBody>> for WebhookSignature<S, Sch>
where
    S: Service<Request<BufferedBody>, Response = Response<ResBody>> + Clone,
    Sch: Scheme,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S, ReqBody, Sch::Verifier>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        ResponseFuture::start(&self.config, &mut self.inner, request)
    }
}

/// Whether the allowlist, if any, lets the request's peer through. Fails closed: an
/// allowlist that cannot place a request does not pass it. Checked first, so a request from
/// the wrong address never costs a key lookup.
#[inline]
pub(super) fn check_allowlist<Sch>(config: &Config<Sch>, parts: &Parts) -> Result<(), Rejection> {
    if let Some(allowlist) = &config.allowlist {
        let Some(peer) = config.verdicts.peer(parts) else {
            warn_once_unknown_peer(config);
            return Err(Rejection::UnknownPeer);
        };
        if !allowlist.contains(peer) {
            return Err(Rejection::AddressNotAllowed(peer));
        }
    }
    Ok(())
}

fn warn_once_unknown_peer<Sch>(config: &Config<Sch>) {
    let warned = &config.unknown_peer_warned;
    if !warned.load(Ordering::Relaxed) && !warned.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_webhook",
            scheme = &*config.verdicts.scheme,
            hint = UNKNOWN_PEER_HINT,
            "the allowlist found no peer address for a request; every such request is refused with 403 unknown_peer"
        );
    }
}

/// The declared length against the limit, before a body byte is read.
pub(super) fn check_length<B: Body>(
    limit: usize,
    parts: &Parts,
    body: &B,
) -> Result<Length, Rejection> {
    let declared = declared_length(&parts.headers)?;
    let hint = body.size_hint();
    let over = |n: u64| usize::try_from(n).map_or(true, |n| n > limit);
    if declared.is_some_and(over) || over(hint.lower()) {
        return Err(Rejection::BodyTooLarge { limit });
    }
    // What the request says it will send, never more than the limit: a lying
    // Content-Length cannot make the buffer grow past it.
    // Only an exact hint counts: a body limit in front (`Limited`) gives every body an
    // upper bound, which would make a small chunked webhook count as large.
    let expected = declared
        .or(hint.exact())
        .map(|n| usize::try_from(n).map_or(limit, |n| n.min(limit)));
    Ok(Length {
        limit,
        declared,
        expected,
    })
}

/// The `Content-Length`, if the request has one. Each value must be plain decimal digits and
/// all must agree; anything else is a framing ambiguity (request smuggling), answered `400`.
#[inline]
fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, Rejection> {
    let mut declared = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        let parsed = parse_decimal(value.as_bytes()).ok_or(Rejection::InvalidContentLength)?;
        match declared {
            Some(previous) if previous != parsed => return Err(Rejection::InvalidContentLength),
            _ => declared = Some(parsed),
        }
    }
    Ok(declared)
}

/// Plain decimal digits, at least one, that fit in a `u64`.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

impl<S: Clone, Sch> Clone for WebhookSignature<S, Sch> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S: fmt::Debug, Sch: fmt::Debug> fmt::Debug for WebhookSignature<S, Sch> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSignature")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(CONTENT_LENGTH, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn content_length_is_strict_decimal() {
        assert_eq!(declared_length(&headers(&[])).unwrap(), None);
        assert_eq!(declared_length(&headers(&["0"])).unwrap(), Some(0));
        assert_eq!(declared_length(&headers(&["42", "42"])).unwrap(), Some(42));
        assert_eq!(
            declared_length(&headers(&["18446744073709551615"])).unwrap(),
            Some(u64::MAX)
        );
        for bad in [
            &["+5"][..],
            &["-1"],
            &["5 "],
            &["0x10"],
            &["5,5"],
            &[""],
            &["1", "2"],
            &["18446744073709551616"],
        ] {
            assert!(
                matches!(
                    declared_length(&headers(bad)),
                    Err(Rejection::InvalidContentLength)
                ),
                "{bad:?}"
            );
        }
    }
}
