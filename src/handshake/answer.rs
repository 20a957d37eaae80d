//! The responses handshakes are answered with, and the checks on what they echo.

use bytes::Bytes;
use http::{
    header::{CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS},
    HeaderValue, Response, StatusCode,
};

/// The longest value a handshake echoes, in bytes; a longer one is refused with 400.
/// Senders' challenges are far shorter (Microsoft Graph's validation token, the longest,
/// is under 200).
///
/// ```
/// assert_eq!(tower_webhook::handshake::MAX_CHALLENGE_LEN, 512);
/// ```
pub const MAX_CHALLENGE_LEN: usize = 512;

/// The most an unsigned handshake's body (Notion's) may hold, in bytes, whatever the
/// layer's [`max_body_size`](crate::WebhookSignatureLayer::max_body_size): anyone can send one.
///
/// ```
/// assert_eq!(tower_webhook::handshake::MAX_HANDSHAKE_BODY, 4096);
/// ```
pub const MAX_HANDSHAKE_BODY: usize = 4096;

/// Whether `value` may be echoed: not empty, bounded, and only the characters senders'
/// challenges are made of, so an echo can never carry markup or break out of JSON.
pub(crate) fn echoable(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_CHALLENGE_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" -._~:/+=".contains(&b))
}

/// `value` as `text/plain`, `nosniff`.
pub(crate) fn text(value: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::copy_from_slice(value.as_bytes()));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `value` as JSON, `nosniff`.
pub(crate) fn json(value: &serde_json::Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(value.to_string()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `status`, with an empty body.
pub(crate) fn empty(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// `status` with a short reason, as the layer's refusals are written.
pub(crate) fn refused(status: StatusCode, message: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(message.as_bytes()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The challenge refused: too long, or a character no sender uses.
pub(crate) fn bad_challenge() -> Response<Bytes> {
    refused(StatusCode::BAD_REQUEST, "invalid handshake challenge\n")
}

/// The decoded query parameters of `query`, or `None` if one is repeated (which value a
/// sender meant would be a guess) or there are too many to be a handshake.
pub(crate) fn query_pairs(query: Option<&str>) -> Option<Vec<(String, String)>> {
    const MAX_PAIRS: usize = 16;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if pairs.len() == MAX_PAIRS || pairs.iter().any(|(seen, _)| *seen == name) {
            return None;
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Some(pairs)
}

/// The value of `name` among `pairs`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(seen, _)| seen == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_challenges_are_made_of_is_echoed() {
        for good in [
            "1158201444",
            "pogchamp-kappa-360noscope-vohiyo",
            "Validation: Testing client application reachability for subscription Request-Id: 25b4c10a-5dc4-4f84-a5fb-a45a1b7dc5b8",
            &"a".repeat(MAX_CHALLENGE_LEN),
        ] {
            assert!(echoable(good), "{good}");
        }
        for bad in [
            "",
            "<script>alert(1)</script>",
            "a\"b",
            "a\nb",
            "a\\b",
            "a&b",
            "caf\u{e9}",
            &"a".repeat(MAX_CHALLENGE_LEN + 1),
        ] {
            assert!(!echoable(bad), "{bad}");
        }
    }

    #[test]
    fn a_repeated_parameter_is_no_query_at_all() {
        assert_eq!(
            query_pairs(Some("challenge=a&x=%20b+c")).unwrap(),
            vec![
                ("challenge".to_owned(), "a".to_owned()),
                ("x".to_owned(), " b c".to_owned())
            ]
        );
        assert!(query_pairs(Some("challenge=a&challenge=b")).is_none());
        let many: String = (0..17).map(|i| format!("p{i}=1&")).collect();
        assert!(query_pairs(Some(&many)).is_none());
    }
}
