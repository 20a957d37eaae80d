//! [`Signer`] for [`TokenScheme`]: the sender sends its secret as it is.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::{HeaderValue, Request};

use super::{SignError, Signer};
use crate::scheme::{Scheme as _, TokenScheme};

impl Signer for TokenScheme {
    fn sign_request(&self, mut request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        let (header, basic, secret) = self
            .signing()
            .ok_or_else(|| SignError::resolved_keys(self.name()))?;
        let value = if basic {
            HeaderValue::try_from(format!("Basic {}", STANDARD.encode(secret)))
        } else {
            HeaderValue::from_bytes(secret)
        };
        let value = value.map_err(|_| {
            SignError::invalid_request(self.name(), "the token is not a valid header value")
        })?;
        request.headers_mut().insert(header.clone(), value);
        Ok(request)
    }
}

/// Nothing is signed: the request goes as it is.
impl Signer for crate::scheme::UnsignedScheme {
    fn sign_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        Ok(request)
    }
}
