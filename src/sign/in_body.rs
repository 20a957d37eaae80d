//! [`Signer`] for senders whose signature travels inside the JSON body: Mailgun's
//! `signature` object, Adyen's `additionalData.hmacSignature` on each item, and Microsoft
//! Graph's `clientState` on each notification. Signing
//! rewrites the body; its fields keep their values, not necessarily their order or spacing.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use http::Request;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::{message::fresh_id, SignError, Signer};
use crate::scheme::{unix_seconds, AdyenScheme, ClientStateScheme, MailgunScheme, Scheme as _};

impl Signer for MailgunScheme {
    fn sign_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        let name = self.name();
        let (keys, clock) = self
            .signing()
            .ok_or_else(|| SignError::resolved_keys(name))?;
        let (parts, body) = request.into_parts();
        let mut delivery = object(&body)
            .ok_or_else(|| SignError::invalid_request(name, "Mailgun signs a JSON object body"))?;
        // A retry keeps its token; a new delivery gets a fresh one, as Mailgun's 50 hex digits.
        let token = delivery
            .get("signature")
            .and_then(|signed| signed.get("token"))
            .and_then(Value::as_str)
            .map_or_else(
                || {
                    Sha256::digest(fresh_id())
                        .iter()
                        .take(25)
                        .map(|b| format!("{b:02x}"))
                        .collect()
                },
                str::to_owned,
            );
        let timestamp = unix_seconds(clock).to_string();
        let mut mac = keys.signing_mac();
        mac.update(timestamp.as_bytes());
        mac.update(token.as_bytes());
        let signature = hex::encode(mac.finalize().as_slice());
        let mut signed = Map::new();
        signed.insert("timestamp".into(), timestamp.into());
        signed.insert("token".into(), token.into());
        signed.insert("signature".into(), signature.into());
        delivery.insert("signature".into(), Value::Object(signed));
        Ok(Request::from_parts(parts, written(delivery)))
    }
}

impl Signer for AdyenScheme {
    fn sign_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        let name = self.name();
        let keys = self
            .signing()
            .ok_or_else(|| SignError::resolved_keys(name))?;
        let invalid = || {
            SignError::invalid_request(
                name,
                "Adyen signs a JSON object whose `notificationItems` each hold a `NotificationRequestItem` object of scalar fields",
            )
        };
        let (parts, body) = request.into_parts();
        let mut notification = object(&body).ok_or_else(invalid)?;
        let items = notification
            .get_mut("notificationItems")
            .and_then(Value::as_array_mut)
            .filter(|items| !items.is_empty())
            .ok_or_else(invalid)?;
        for wrapper in items {
            let item = wrapper
                .get_mut("NotificationRequestItem")
                .and_then(Value::as_object_mut)
                .ok_or_else(invalid)?;
            let amount = item.get("amount");
            // The fields Adyen signs, in order, joined with `:`; an absent one is empty.
            let fields = [
                item.get("pspReference"),
                item.get("originalReference"),
                item.get("merchantAccountCode"),
                item.get("merchantReference"),
                amount.and_then(|amount| amount.get("value")),
                amount.and_then(|amount| amount.get("currency")),
                item.get("eventCode"),
                item.get("success"),
            ];
            let mut signed = Vec::new();
            for (i, field) in fields.into_iter().enumerate() {
                if i > 0 {
                    signed.push(b':');
                }
                signed.extend_from_slice(scalar(field).ok_or_else(invalid)?.as_bytes());
            }
            let mut mac = keys.signing_mac();
            mac.update(&signed);
            let signature = STANDARD.encode(mac.finalize().as_slice());
            let data = item
                .entry("additionalData")
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .ok_or_else(invalid)?;
            data.insert("hmacSignature".into(), signature.into());
        }
        Ok(Request::from_parts(parts, written(notification)))
    }
}

impl Signer for ClientStateScheme {
    fn sign_request(&self, request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        let name = self.name();
        let secret = self
            .signing()
            .ok_or_else(|| SignError::resolved_keys(name))?;
        let secret = std::str::from_utf8(secret).map_err(|_| {
            SignError::invalid_request(name, "the clientState is not text, which JSON carries")
        })?;
        let invalid = || {
            SignError::invalid_request(
                name,
                "Microsoft Graph sends a JSON object whose `value` holds notification objects",
            )
        };
        let (parts, body) = request.into_parts();
        let mut collection = object(&body).ok_or_else(invalid)?;
        let notifications = collection
            .get_mut("value")
            .and_then(Value::as_array_mut)
            .filter(|notifications| !notifications.is_empty())
            .ok_or_else(invalid)?;
        for notification in notifications {
            notification
                .as_object_mut()
                .ok_or_else(invalid)?
                .insert("clientState".into(), secret.into());
        }
        Ok(Request::from_parts(parts, written(collection)))
    }
}

/// The body as a JSON object.
fn object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// A signed field as Adyen writes it into what it signs: a string as is, a number or a
/// boolean as JSON writes it, `null` (or absent) as nothing; `None` for an object or array.
fn scalar(field: Option<&Value>) -> Option<String> {
    match field {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        Some(Value::Bool(value)) => Some(value.to_string()),
        Some(_) => None,
    }
}

fn written(object: Map<String, Value>) -> Bytes {
    Bytes::from(Value::Object(object).to_string())
}
