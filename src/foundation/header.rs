//! [`header_name`]: a header name from configuration, checked once when a scheme or a key
//! name is built.

use http::HeaderName;

/// `name` as a header name, for builders whose `# Panics` section says an invalid one panics:
/// a typo in configuration stops the service at start-up rather than rejecting every webhook.
#[expect(
    clippy::panic,
    reason = "a configuration error, documented under `# Panics`, caught on the first run"
)]
pub(crate) fn header_name(name: &str) -> HeaderName {
    match HeaderName::from_bytes(name.as_bytes()) {
        Ok(header) => header,
        Err(_) => panic!("tower-webhook: `{name}` is not a valid HTTP header name"),
    }
}
