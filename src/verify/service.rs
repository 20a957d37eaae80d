//! [`WebhookSignature`]: the service; checks what it can before reading, then starts the future.

use std::{
    fmt,
    net::IpAddr,
    sync::{atomic::Ordering, Arc},
    task::{Context, Poll},
};

use http::{header::CONTENT_LENGTH, request::Parts, HeaderMap, Request, Response};
use http_body::Body;
use tower_service::Service;

use super::{
    deadline::BodyDeadline,
    future::{Bounds, Length, Reading, ResponseFuture, Resume, Verifying},
    layer::Config,
    verdicts::UNKNOWN_PEER_HINT,
    WebhookSignatureLayer,
};
#[cfg(feature = "json")]
use crate::handshake::HandshakeMode;
use crate::{
    body::{BufferedBody, ResponseBody},
    keys::Start,
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
        let (parts, body) = request.into_parts();
        let config = &*self.config;
        let verdicts = &config.verdicts;
        let peer = config.peer_source.peer_addr(&parts);
        let verifying = match check_allowlist(config, peer) {
            Err(rejection) if verdicts.answers_before_body(&rejection) => {
                return ResponseFuture::rejected(body, verdicts.reject(&rejection, peer, None));
            }
            Err(rejection) => Verifying::Ready(Err(rejection)),
            Ok(()) => 'start: {
                // After the allowlist: a sender's handshake comes from its addresses too.
                #[cfg(feature = "json")]
                if let Some(handshake) = verdicts.unsigned_handshake(&parts) {
                    if verdicts.handshake_mode == HandshakeMode::Answer && !handshake.reads_body() {
                        verdicts.answered(handshake, peer, None);
                        return ResponseFuture::answer(
                            body,
                            handshake.answer_unsigned(&parts, &[]),
                        );
                    }
                    break 'start Verifying::Handshake(handshake.clone());
                }
                match config.scheme.start(&parts) {
                    Start::Ready(Err(rejection)) if verdicts.answers_before_body(&rejection) => {
                        return ResponseFuture::rejected(
                            body,
                            verdicts.reject(&rejection, peer, None),
                        );
                    }
                    Start::Ready(verifier) => Verifying::Ready(verifier),
                    Start::Resolving(lookup) => Verifying::Resolving {
                        lookup,
                        scheme: Arc::clone(&config.scheme) as Arc<dyn Resume<Sch::Verifier>>,
                    },
                }
            }
        };
        // Anyone can send an unsigned handshake: its body is held to a few KiB.
        #[cfg(feature = "json")]
        let limit = match &verifying {
            Verifying::Handshake(_) => {
                crate::handshake::MAX_HANDSHAKE_BODY.min(config.max_body_size)
            }
            _ => config.max_body_size,
        };
        #[cfg(not(feature = "json"))]
        let limit = config.max_body_size;
        let length = match check_length(limit, &parts, &body) {
            Ok(length) => length,
            Err(rejection) => {
                return ResponseFuture::rejected(body, verdicts.reject(&rejection, peer, None))
            }
        };
        // A share of the budget all requests share, charged as the body's bytes arrive:
        // a request that declares a body and sends nothing holds none of it. One whose
        // declared length the budget could not hold now is answered at once.
        let Some(share) = verdicts.budget.open(length.expected) else {
            let rejection = Rejection::BodyBudgetExhausted;
            return ResponseFuture::rejected(body, verdicts.reject(&rejection, peer, None));
        };
        // The body is read before `inner` is called: take the instance that was driven ready
        // and leave a clone, so back-pressure holds.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        ResponseFuture::reading(
            body,
            Reading::new(
                parts,
                verifying,
                inner,
                Bounds {
                    length,
                    share,
                    deadline: BodyDeadline::new(config.body_timeout),
                },
                Arc::clone(verdicts),
                peer,
                config.keep_trailers,
            ),
        )
    }
}

/// The address and the signature header(s), decided before a body byte is read, in that
/// order: a request from the wrong address never costs a key lookup.
/// Whether the allowlist, if any, lets `peer` through. Fails closed: an allowlist that
/// cannot place a request does not pass it.
fn check_allowlist<Sch>(config: &Config<Sch>, peer: Option<IpAddr>) -> Result<(), Rejection> {
    if let Some(allowlist) = &config.allowlist {
        let Some(peer) = peer else {
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
fn check_length<B: Body>(limit: usize, parts: &Parts, body: &B) -> Result<Length, Rejection> {
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
