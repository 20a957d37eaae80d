//! [`Signer`] for [`SignatureScheme`]: HMAC ones sign; public-key ones cannot.

use bytes::Bytes;
use http::Request;

use super::{set_headers, Message, SignError, Signer};
use crate::scheme::{HmacScheme, Scheme as _};

impl Signer for HmacScheme {
    fn sign_request(&self, mut request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        if self.keys.fixed().is_none() {
            return Err(SignError::resolved_keys(self.name()));
        }
        let headers = {
            let mut message = Message::new(request.body());
            if let Some(id) = self.id_in(request.headers()) {
                message = message.id(id);
            }
            self.sign_message(&message)
        };
        set_headers(request.headers_mut(), headers);
        Ok(request)
    }
}

#[cfg(feature = "ed25519")]
impl Signer for crate::scheme::Ed25519Scheme {
    fn sign_request(&self, _request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        Err(SignError::public_key(self.name()))
    }
}

#[cfg(feature = "p256")]
impl Signer for crate::scheme::P256Scheme {
    fn sign_request(&self, _request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        Err(SignError::public_key(self.name()))
    }
}
