//! The envelope most senders share: [`SignatureScheme`](super::SignatureScheme) and its
//! parts (which headers, their layout, the signed bytes, the timestamp and its window, the
//! signature's encoding), whatever algorithm checks the signature.

pub(super) mod body_timestamp;
pub(super) mod encoding;
pub(super) mod format;
pub(crate) mod low_bytes;
pub(crate) mod payload;
pub(super) mod signature;
pub(super) mod timestamp;
