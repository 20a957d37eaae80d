//! [`Signer`] for schemes whose keys the receiver fetches: only the sender holds the
//! private key. FusionAuth's HMAC JWTs are the exception: a shared secret signs them.

#[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
use bytes::Bytes;
#[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
use http::Request;

#[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
use super::{SignError, Signer};
#[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
use crate::scheme::Scheme as _;

#[cfg(feature = "paypal")]
impl Signer for crate::scheme::PayPalScheme {
    fn sign_request(&self, _request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        Err(SignError::fetched_key(self.name()))
    }
}

#[cfg(feature = "sns")]
impl Signer for crate::scheme::SnsScheme {
    fn sign_request(&self, _request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        Err(SignError::fetched_key(self.name()))
    }
}

#[cfg(feature = "jwt")]
impl Signer for crate::scheme::JwtScheme {
    fn sign_request(&self, mut request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        use base64::{
            engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
            Engine as _,
        };
        use hmac::Mac as _;
        use sha2::{Digest as _, Sha256};

        let signing = self.signing().map_err(|fetched| {
            if fetched {
                SignError::fetched_key(self.name())
            } else {
                SignError::resolved_keys(self.name())
            }
        })?;
        let hash = Sha256::digest(request.body());
        let hash = match signing.body_hash {
            crate::scheme::BodyHash::Hex => hex::encode(hash),
            _ => STANDARD.encode(hash),
        };
        let mut claims = serde_json::Map::new();
        claims.insert(signing.claim.into(), hash.into());
        claims.insert(
            "iat".into(),
            crate::scheme::unix_seconds(signing.clock).into(),
        );
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(serde_json::Value::Object(claims).to_string());
        let input = format!("{header}.{claims}");
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(signing.secret)
            .map_err(|_| SignError::resolved_keys(self.name()))?;
        mac.update(input.as_bytes());
        let jwt = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        if let Ok(value) = http::HeaderValue::try_from(jwt) {
            request.headers_mut().insert(signing.header.clone(), value);
        }
        Ok(request)
    }
}
