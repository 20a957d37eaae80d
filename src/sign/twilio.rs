//! [`Signer`] for [`TwilioScheme`]: the URL called, with the form's parameters or the
//! body's SHA-256 in the query.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::{header::CONTENT_TYPE, uri::PathAndQuery, HeaderValue, Request, Uri};
use sha2::{Digest, Sha256};

use super::{SignError, Signer};
use crate::scheme::{Scheme as _, TwilioScheme};

impl Signer for TwilioScheme {
    fn sign_request(&self, mut request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        let (token, base) = self
            .signing()
            .ok_or_else(|| SignError::resolved_keys(self.name()))?;
        let form = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|essence| {
                essence
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let has_hash = request.uri().query().is_some_and(|query| {
            form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "bodySHA256")
        });
        // Twilio covers a body that is not a form by its SHA-256 in the query it signs.
        if !form && !request.body().is_empty() && !has_hash {
            let hash = hex::encode(Sha256::digest(request.body()));
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", PathAndQuery::as_str);
            let separator = if path.contains('?') { '&' } else { '?' };
            let with_hash = format!("{path}{separator}bodySHA256={hash}");
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = PathAndQuery::try_from(with_hash).ok();
            *request.uri_mut() = Uri::from_parts(parts).map_err(|_| {
                SignError::invalid_request(self.name(), "the URI cannot carry bodySHA256")
            })?;
        }
        let mut mac = token.clone();
        mac.update(base.as_bytes());
        mac.update(
            request
                .uri()
                .path_and_query()
                .map_or("/", PathAndQuery::as_str)
                .as_bytes(),
        );
        if form {
            let mut params: Vec<_> = form_urlencoded::parse(request.body()).collect();
            params.sort();
            params.dedup();
            for (name, value) in params {
                mac.update(name.as_bytes());
                mac.update(value.as_bytes());
            }
        }
        let signature = STANDARD.encode(mac.finalize().as_slice());
        if let Ok(value) = HeaderValue::try_from(signature) {
            request.headers_mut().insert("x-twilio-signature", value);
        }
        Ok(request)
    }
}
