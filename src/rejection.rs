//! [`Rejection`]: why a webhook request was turned away, and the response it gets.
//!
//! Every response and `tracing` field is listed in the guide's
//! [`responses`](crate::guide::responses) page.

use std::{error::Error, fmt, net::IpAddr};

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Response, StatusCode};

/// A boxed error, as returned by request bodies.
pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// Why a webhook request was turned away before it reached the inner service.
///
/// Every variant maps to one status code ([`Rejection::status`]) and one short, fixed
/// plain-text message (its `Display`). Neither ever contains a secret, the expected signature
/// or the signature that was sent.
///
/// | variant | status |
/// |---|---|
/// | [`MissingSignature`](Rejection::MissingSignature), [`MalformedSignature`](Rejection::MalformedSignature), [`InvalidSignature`](Rejection::InvalidSignature), [`InvalidTimestamp`](Rejection::InvalidTimestamp), [`TimestampOutOfTolerance`](Rejection::TimestampOutOfTolerance), [`UnknownKey`](Rejection::UnknownKey) | `401 Unauthorized` |
/// | [`AddressNotAllowed`](Rejection::AddressNotAllowed), [`UnknownPeer`](Rejection::UnknownPeer) | `403 Forbidden` |
/// | [`BodyTooLarge`](Rejection::BodyTooLarge) | `413 Payload Too Large` |
/// | [`InvalidContentLength`](Rejection::InvalidContentLength), [`BodyRead`](Rejection::BodyRead) | `400 Bad Request` |
/// | [`KeySourceUnavailable`](Rejection::KeySourceUnavailable), [`BodyBudgetExhausted`](Rejection::BodyBudgetExhausted) | `503 Service Unavailable` |
///
/// # Example
///
/// ```
/// use http::StatusCode;
/// use tower_webhook::Rejection;
///
/// let rejection = Rejection::InvalidSignature;
/// assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(rejection.to_string(), "invalid webhook signature");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Rejection {
    /// The signature header is absent, empty or only whitespace.
    MissingSignature,
    /// The signature is not in the scheme's format: wrong prefix, bad hex or base64, wrong
    /// length, characters that are not visible ASCII, the header sent more than once, more
    /// signatures claimed than the scheme checks; or, for schemes that sign fields of the
    /// body (Mailgun, Adyen, SNS, Twilio, Microsoft Graph's `clientState`), a body not of the
    /// shape they sign: not a JSON object, a signed field sent twice, too many form
    /// parameters, a form parameter named twice where
    /// `TwilioScheme::refuse_repeated_parameters` is set; or a verified body X or Trello
    /// never sends (not a JSON object, not UTF-8).
    MalformedSignature,
    /// The signature is well-formed but does not match the body under any configured secret.
    InvalidSignature,
    /// The scheme signs a timestamp and it is missing, or not whole seconds as decimal digits.
    InvalidTimestamp,
    /// The signed timestamp is further from the receiver's clock than the scheme's tolerance:
    /// a replay of an old delivery, or a badly wrong clock on either side.
    TimestampOutOfTolerance,
    /// The scheme's keys are resolved per request and the request names no keys: an unknown
    /// tenant, or no name at all (see [`keys`](crate::keys)).
    ///
    /// Answered as [`InvalidSignature`](Rejection::InvalidSignature) is, with the same body
    /// and at the same point (once the body has been read, within the same limits), so a
    /// client without a secret cannot tell which tenants exist, neither from the answer nor
    /// from when it comes; its [`reason`](Rejection::reason) (`unknown_key`) tells you.
    UnknownKey,
    /// The scheme's keys are resolved per request and the source failed, timed out, or gave
    /// a key the scheme cannot use. The request is refused (fail closed), so the sender
    /// retries later.
    KeySourceUnavailable,
    /// An allowlist is set and the peer address is not in it.
    AddressNotAllowed(IpAddr),
    /// An allowlist is set but no peer address is known for the request (fail closed).
    ///
    /// With axum, enable tower-webhook's **`axum` cargo feature** (without it axum's
    /// `ConnectInfo` is never read, and every request gets this) and serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`; with tonic, the `tonic`
    /// feature; with hyper, insert a [`PeerAddr`](crate::peer::PeerAddr) into the request
    /// extensions. The `tracing` event of this rejection carries a `hint` field saying which
    /// applies to the build, and the first one of each layer is preceded by a WARN that
    /// every request will be refused until it is fixed.
    UnknownPeer,
    /// The body is larger than the configured limit, by its `Content-Length`, its size hint,
    /// or the bytes actually received.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The layer's [`BodyBudget`](crate::verify::BodyBudget) has no room for this body:
    /// too many bodies are being buffered at once. Answered `503` with `Retry-After: 5`
    /// before the body is read (or as soon as a body without a length outgrows its share),
    /// so the sender retries later; `429` would blame a sender that did nothing wrong.
    BodyBudgetExhausted,
    /// The body did not finish arriving within the layer's
    /// [`body_timeout`](crate::WebhookSignatureLayer::body_timeout): a client that sends part
    /// of a body and stalls. Answered `408 Request Timeout`.
    BodyTimeout,
    /// A `Content-Length` header is not a decimal number, several disagree, or the body's
    /// bytes do not add up to it.
    InvalidContentLength,
    /// Reading the request body failed (the client went away, a framing error, a timeout of
    /// a body-level layer).
    BodyRead(BoxError),
}

impl Rejection {
    /// The status code this rejection is answered with.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_webhook::Rejection;
    ///
    /// assert_eq!(Rejection::BodyTooLarge { limit: 10 }.status(), StatusCode::PAYLOAD_TOO_LARGE);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingSignature
            | Self::MalformedSignature
            | Self::InvalidSignature
            | Self::InvalidTimestamp
            | Self::TimestampOutOfTolerance
            | Self::UnknownKey => StatusCode::UNAUTHORIZED,
            Self::KeySourceUnavailable | Self::BodyBudgetExhausted => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::AddressNotAllowed(_) | Self::UnknownPeer => StatusCode::FORBIDDEN,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::InvalidContentLength | Self::BodyRead(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// A stable, machine-friendly name for the reason, used as the `reason` field of the
    /// `tracing` events this crate emits.
    ///
    /// ```
    /// use tower_webhook::Rejection;
    ///
    /// assert_eq!(Rejection::MissingSignature.reason(), "missing_signature");
    /// ```
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::MalformedSignature => "malformed_signature",
            Self::InvalidSignature => "invalid_signature",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::TimestampOutOfTolerance => "timestamp_out_of_tolerance",
            Self::UnknownKey => "unknown_key",
            Self::KeySourceUnavailable => "key_source_unavailable",
            Self::BodyBudgetExhausted => "body_budget_exhausted",
            Self::AddressNotAllowed(_) => "address_not_allowed",
            Self::UnknownPeer => "unknown_peer",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BodyTimeout => "body_timeout",
            Self::InvalidContentLength => "invalid_content_length",
            Self::BodyRead(_) => "body_read_failed",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            Self::MissingSignature => "missing webhook signature",
            Self::MalformedSignature => "malformed webhook signature",
            // The same text: the body must not tell a prober which tenants exist.
            Self::InvalidSignature | Self::UnknownKey => "invalid webhook signature",
            Self::KeySourceUnavailable => "webhook keys unavailable, retry later",
            Self::BodyBudgetExhausted => "too many webhooks in progress, retry later",
            Self::InvalidTimestamp => "invalid webhook timestamp",
            Self::TimestampOutOfTolerance => "webhook timestamp outside the tolerance",
            Self::AddressNotAllowed(_) => "address not allowed",
            Self::UnknownPeer => "peer address unknown",
            Self::BodyTooLarge { .. } => "request body too large",
            Self::BodyTimeout => "request body timed out",
            Self::InvalidContentLength => "invalid content-length",
            Self::BodyRead(_) => "failed to read request body",
        }
    }

    /// The response this rejection is answered with: its status and its message as a short
    /// `text/plain` body.
    ///
    /// ```
    /// use tower_webhook::Rejection;
    ///
    /// let response = Rejection::UnknownPeer.to_response();
    /// assert_eq!(response.status(), 403);
    /// assert_eq!(response.body().as_ref(), b"peer address unknown\n");
    /// ```
    #[must_use]
    pub fn to_response(&self) -> Response<Bytes> {
        let mut body = String::with_capacity(self.message().len() + 1);
        body.push_str(self.message());
        body.push('\n');
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        for (name, value) in self.advice_headers() {
            response.headers_mut().insert(name, value);
        }
        response
    }

    /// The headers the default response carries besides its body's `Content-Type`: what
    /// tells the sender when to retry (`Retry-After: 5` for
    /// [`BodyBudgetExhausted`](Rejection::BodyBudgetExhausted)). The layer adds them to a
    /// response of [`on_rejection`](crate::WebhookSignatureLayer::on_rejection)'s that does
    /// not set them itself.
    pub(crate) fn advice_headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + use<> {
        let retry_after = matches!(self, Self::BodyBudgetExhausted)
            .then(|| (header::RETRY_AFTER, HeaderValue::from_static("5")));
        retry_after.into_iter()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl Error for Rejection {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::BodyRead(error) => Some(&**error),
            _ => None,
        }
    }
}

/// Marks a request that failed verification but was passed on anyway, in
/// [report-only mode](crate::WebhookSignatureLayer::report_only); inserted into its extensions
/// instead of [`Verified`](crate::Verified).
///
/// ```
/// use axum::Extension;
/// use tower_webhook::{rejection::Unverified, Verified};
///
/// async fn handler(verified: Option<Extension<Verified>>, unverified: Option<Extension<Unverified>>) {
///     if let Some(Extension(unverified)) = unverified {
///         // Would have been answered `unverified.status()` when enforced.
///         eprintln!("would reject: {}", unverified.reason());
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unverified {
    reason: &'static str,
    status: StatusCode,
}

impl Unverified {
    /// The [`Rejection::reason`] the request would have been rejected for.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The status the request would have been answered with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<&Rejection> for Unverified {
    fn from(rejection: &Rejection) -> Self {
        Self {
            reason: rejection.reason(),
            status: rejection.status(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Rejection> {
        vec![
            Rejection::MissingSignature,
            Rejection::MalformedSignature,
            Rejection::InvalidSignature,
            Rejection::InvalidTimestamp,
            Rejection::TimestampOutOfTolerance,
            Rejection::AddressNotAllowed(IpAddr::from([10, 0, 0, 1])),
            Rejection::UnknownPeer,
            Rejection::BodyTooLarge { limit: 1 },
            Rejection::InvalidContentLength,
            Rejection::BodyRead("boom".into()),
            Rejection::UnknownKey,
            Rejection::KeySourceUnavailable,
            Rejection::BodyBudgetExhausted,
            Rejection::BodyTimeout,
        ]
    }

    #[test]
    fn every_rejection_has_the_documented_status() {
        let statuses: Vec<u16> = all().iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(
            statuses,
            [401, 401, 401, 401, 401, 403, 403, 413, 400, 400, 401, 503, 503, 408]
        );
    }

    #[test]
    fn response_is_short_plain_text_with_the_message() {
        for rejection in all() {
            let response = rejection.to_response();
            assert_eq!(response.status(), rejection.status());
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
            assert_eq!(
                response.body().as_ref(),
                format!("{rejection}\n").as_bytes()
            );
        }
    }

    #[test]
    fn body_read_keeps_its_source_but_never_shows_it_to_the_client() {
        let rejection = Rejection::BodyRead("connection reset".into());
        assert_eq!(rejection.source().unwrap().to_string(), "connection reset");
        assert_eq!(
            rejection.to_response().body().as_ref(),
            b"failed to read request body\n"
        );
    }
}
