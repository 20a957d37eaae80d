//! [`Webhook`] and [`WebhookForm`]: axum extractors for the verified body, deserialized from
//! JSON or from a form, with its [`Verified`] (features `axum` and `json`).

use std::fmt;

use axum::{
    extract::{FromRequest, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::{rejection::Unverified, scheme::Verified};

/// The verified body of a webhook, deserialized, with what the layer verified (the tenant's
/// [`key_id`](Verified::key_id), the [`delivery_id`](Verified::delivery_id)).
///
/// The body is always read as JSON: the handler's type says how, never the request's
/// `Content-Type`, which the signature does not cover. (Read by the header, a signed JSON
/// body re-sent as a form would be split at each `&` inside its strings, and the handler
/// would get values the sender never signed.) The header is still checked, as axum's `Json`
/// checks it: `application/json`, `application/*+json`, `text/plain` (in which Amazon SNS
/// sends its JSON) or none; any other type gets `415`. For form bodies (Twilio), take a
/// [`WebhookForm`].
///
/// Use it in a handler behind [`WebhookSignatureLayer`](crate::WebhookSignatureLayer), in
/// place of parsing the body by hand:
///
/// ```
/// use axum::{routing::post, Router};
/// use serde::Deserialize;
/// use tower_webhook::{extract::Webhook, presets, WebhookSignatureLayer};
///
/// #[derive(Deserialize)]
/// struct StripeEvent {
///     id: String,
///     #[serde(rename = "type")]
///     kind: String,
/// }
///
/// async fn stripe(Webhook { event, verified }: Webhook<StripeEvent>) -> String {
///     format!("{} {} (key {})", event.id, event.kind, verified.key_index())
/// }
///
/// let app: Router = Router::new()
///     .route("/webhooks/stripe", post(stripe))
///     .route_layer(WebhookSignatureLayer::new(presets::stripe("whsec_…")));
/// ```
///
/// # Rejections ([`WebhookRejection`])
///
/// | when | status |
/// |---|---|
/// | the request carries no [`Verified`]: the handler is not behind the layer | `500`, `webhook handler is not behind WebhookSignatureLayer` |
/// | a report-only layer let through a delivery it would have refused ([`Unverified`]) | the status the layer would have answered (`401`, `403`, …) |
/// | a `Content-Type` other than JSON or `text/plain` | `415`, as axum's `Json` |
/// | the body is not JSON | `400` |
/// | the body is JSON, but not a `T` | `422`, as axum's `Json` |
#[derive(Clone, Debug)]
pub struct Webhook<T> {
    /// The body, deserialized.
    pub event: T,
    /// What the layer verified.
    pub verified: Verified,
}

/// The verified body of a webhook posted as a form (`application/x-www-form-urlencoded`, as
/// Twilio posts it), deserialized with serde_urlencoded as axum's `Form` does, with what the
/// layer verified. The body is always read as a form; any other `Content-Type` gets `415`.
/// Rejections are [`Webhook`]'s, with `422` for a form that is not a `T`.
///
/// ```
/// use axum::{routing::post, Router};
/// use serde::Deserialize;
/// use tower_webhook::{extract::WebhookForm, presets, WebhookSignatureLayer};
///
/// #[derive(Deserialize)]
/// #[serde(rename_all = "PascalCase")]
/// struct Sms {
///     from: String,
///     body: String,
/// }
///
/// async fn sms(WebhookForm { event, .. }: WebhookForm<Sms>) -> String {
///     format!("{} says {}", event.from, event.body)
/// }
///
/// # #[cfg(feature = "twilio")]
/// # {
/// let app: Router = Router::new()
///     .route("/webhooks/twilio", post(sms))
///     .route_layer(WebhookSignatureLayer::new(
///         presets::twilio("auth token", "https://example.com")?,
///     ));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct WebhookForm<T> {
    /// The form, deserialized.
    pub event: T,
    /// What the layer verified.
    pub verified: Verified,
}

impl<S, T> FromRequest<S> for Webhook<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (verified, body) = verified_body(request, BodyFormat::Json).await?;
        let event = serde_json::from_slice(&body).map_err(|error| {
            if error.is_data() {
                WebhookRejection::UnexpectedJson(error.to_string())
            } else {
                WebhookRejection::InvalidJson(error.to_string())
            }
        })?;
        Ok(Self { event, verified })
    }
}

impl<S, T> FromRequest<S> for WebhookForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (verified, body) = verified_body(request, BodyFormat::Form).await?;
        let event = serde_urlencoded::from_bytes(&body)
            .map_err(|error| WebhookRejection::UnexpectedForm(error.to_string()))?;
        Ok(Self { event, verified })
    }
}

/// The request's [`Verified`] and its body, if its `Content-Type` is one of `expected`'s.
async fn verified_body(
    request: Request,
    expected: BodyFormat,
) -> Result<(Verified, axum::body::Bytes), WebhookRejection> {
    let verified = match request.extensions().get::<Verified>() {
        Some(verified) => verified.clone(),
        None => {
            return Err(match request.extensions().get::<Unverified>() {
                Some(unverified) => WebhookRejection::Unverified(*unverified),
                None => WebhookRejection::NotVerified,
            });
        }
    };
    // Checked before the body is read, as axum's extractors do; the extractor's type chose
    // the format, the header can only refuse it.
    if BodyFormat::of(request.headers()) != Some(expected) {
        return Err(WebhookRejection::UnsupportedContentType);
    }
    // Not `Bytes::from_request`: it applies axum's `DefaultBodyLimit` (2 MiB), which would
    // refuse a delivery the layer verified under a larger `max_body_size`. The layer has
    // already read this body whole within its own limit; it is only handed on here.
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .map_err(|_| WebhookRejection::UnreadableBody)?;
    Ok((verified, body))
}

/// How a body is read, by its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyFormat {
    Json,
    Form,
}

impl BodyFormat {
    /// The format of a request with these headers; `None` for a type that is neither.
    fn of(headers: &axum::http::HeaderMap) -> Option<Self> {
        let Some(value) = headers.get(axum::http::header::CONTENT_TYPE) else {
            return Some(Self::Json);
        };
        let essence = value.to_str().ok()?.split(';').next()?.trim();
        let essence = essence.to_ascii_lowercase();
        let (kind, subtype) = essence.split_once('/')?;
        match (kind, subtype) {
            ("application", "x-www-form-urlencoded") => Some(Self::Form),
            ("application", "json") | ("text", "plain") => Some(Self::Json),
            ("application", subtype) if subtype.ends_with("+json") => Some(Self::Json),
            _ => None,
        }
    }
}

/// Why [`Webhook`] refused a request; a short `text/plain` response.
///
/// ```
/// use axum::response::IntoResponse;
/// use tower_webhook::extract::WebhookRejection;
///
/// let response = WebhookRejection::NotVerified.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// The request carries no [`Verified`]: the handler is not behind
    /// [`WebhookSignatureLayer`](crate::WebhookSignatureLayer) (a route added after
    /// `route_layer`, or a layer on another router). A mistake in the server: `500`.
    NotVerified,
    /// A [report-only](crate::WebhookSignatureLayer::report_only) layer let through a delivery
    /// it would have refused: answered as the layer would have, since the extractor only
    /// hands on verified bodies. Read `Option<Extension<Verified>>` and the body yourself to
    /// accept such deliveries while rolling out. Its text says `invalid_signature` for an
    /// unknown tenant (`unknown_key`), as the layer's own answer does.
    Unverified(Unverified),
    /// The body could not be read: `400`.
    UnreadableBody,
    /// The body is not JSON: `400`, with serde's message.
    InvalidJson(String),
    /// The body is JSON but not the type asked for: `422`, with serde's message.
    UnexpectedJson(String),
    /// The `Content-Type` is not what the extractor reads (JSON, `text/plain` or none for
    /// [`Webhook`]; a form for [`WebhookForm`]): `415`.
    UnsupportedContentType,
    /// The form is not the type asked for: `422`, with serde's message.
    UnexpectedForm(String),
}

impl WebhookRejection {
    /// The status this rejection is answered with.
    ///
    /// ```
    /// use tower_webhook::extract::WebhookRejection;
    ///
    /// assert_eq!(WebhookRejection::UnexpectedJson("missing field `id`".into()).status(), 422);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotVerified => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unverified(unverified) => unverified.status(),
            Self::UnreadableBody | Self::InvalidJson(_) => StatusCode::BAD_REQUEST,
            Self::UnexpectedJson(_) | Self::UnexpectedForm(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotVerified => f.write_str(
                "webhook handler is not behind WebhookSignatureLayer: no Verified in the request",
            ),
            Self::Unverified(unverified) => {
                // The layer answers an unknown tenant as a wrong signature, so that a
                // prober learns nothing of which tenants exist; this text is an answer too.
                let reason = match unverified.reason() {
                    "unknown_key" => "invalid_signature",
                    reason => reason,
                };
                write!(f, "webhook not verified: {reason}")
            }
            Self::UnreadableBody => f.write_str("webhook body could not be read"),
            Self::InvalidJson(error) => write!(f, "webhook body is not JSON: {error}"),
            Self::UnexpectedJson(error) => {
                write!(f, "webhook body is not the expected JSON: {error}")
            }
            Self::UnsupportedContentType => f.write_str(
                "webhook body's content type is not `application/json` or `application/x-www-form-urlencoded`",
            ),
            Self::UnexpectedForm(error) => {
                write!(f, "webhook body is not the expected form: {error}")
            }
        }
    }
}

impl std::error::Error for WebhookRejection {}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        if matches!(self, Self::NotVerified) {
            tracing::error!(target: "tower_webhook", "{self}");
        }
        (self.status(), format!("{self}\n")).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rejection;

    /// The layer bounds the body (`max_body_size`); axum's 2 MiB default must not refuse
    /// a larger one it verified.
    #[tokio::test]
    async fn a_verified_body_over_axums_default_limit_is_read() {
        let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(3 << 20));
        let mut request = Request::new(axum::body::Body::from(body));
        request.extensions_mut().insert(Verified::new(0));
        let webhook = Webhook::<serde_json::Value>::from_request(request, &())
            .await
            .unwrap();
        assert_eq!(webhook.event["pad"].as_str().map(str::len), Some(3 << 20));
    }

    #[test]
    fn the_content_type_chooses_the_format_as_axums_extractors_do() {
        let format = |value: Option<&str>| {
            let mut headers = axum::http::HeaderMap::new();
            if let Some(value) = value {
                headers.insert("content-type", value.parse().unwrap());
            }
            BodyFormat::of(&headers)
        };
        assert_eq!(format(None), Some(BodyFormat::Json));
        assert_eq!(format(Some("application/json")), Some(BodyFormat::Json));
        assert_eq!(
            format(Some("Application/JSON; charset=utf-8")),
            Some(BodyFormat::Json)
        );
        assert_eq!(
            format(Some("application/cloudevents+json")),
            Some(BodyFormat::Json)
        );
        assert_eq!(
            format(Some("text/plain; charset=UTF-8")),
            Some(BodyFormat::Json)
        );
        assert_eq!(
            format(Some("application/x-www-form-urlencoded; charset=utf-8")),
            Some(BodyFormat::Form)
        );
        for other in [
            "multipart/form-data; boundary=x",
            "application/xml",
            "text/html",
            "json",
            "",
        ] {
            assert_eq!(format(Some(other)), None, "{other}");
        }
    }

    #[test]
    fn an_unverified_unknown_key_is_answered_as_a_wrong_signature() {
        let answer = |rejection: &Rejection| {
            WebhookRejection::Unverified(Unverified::from(rejection)).to_string()
        };
        assert_eq!(
            answer(&Rejection::UnknownKey),
            answer(&Rejection::InvalidSignature)
        );
        assert_eq!(
            answer(&Rejection::MissingSignature),
            "webhook not verified: missing_signature"
        );
    }
}
