//! [`Encoding`]: how a signature is written in a header (hex, base64), and the fixed-size
//! [`Tag`] a decoded or computed signature is held in, with no allocation.

use base64::{engine::general_purpose::STANDARD, Engine as _};

/// How each signature is written in the header.
///
/// ```
/// use tower_webhook::{Encoding, HmacScheme};
///
/// let scheme = HmacScheme::sha256("secret").encoding(Encoding::Base64);
/// assert_eq!(scheme.encoding_used(), Encoding::Base64);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Hexadecimal, either case accepted (`9f86d0…`, `9F86D0…`). Signing writes lowercase.
    #[default]
    Hex,
    /// Standard base64 (RFC 4648 §4, `+` and `/`) with its `=` padding, which is required.
    Base64,
}

impl Encoding {
    pub(crate) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
        }
    }

    /// Decodes one signature of at most [`MAX_SIGNATURE_LEN`] bytes; `None` for anything
    /// else. Whether the length suits the algorithm is the algorithm's call.
    pub(crate) fn decode(self, encoded: &[u8]) -> Option<Tag> {
        let mut tag = Tag::zeroed(MAX_SIGNATURE_LEN);
        let len = match self {
            Self::Hex => {
                let len = encoded.len() / 2;
                let out = tag.bytes.get_mut(..len)?;
                if encoded.len() % 2 != 0 || hex::decode_to_slice(encoded, out).is_err() {
                    return None;
                }
                len
            }
            Self::Base64 => {
                if encoded.len() > 4 * MAX_SIGNATURE_LEN.div_ceil(3) {
                    return None;
                }
                // Room for the decoder's worst-case estimate; the length is checked after.
                let mut buf = [0u8; 4 * MAX_SIGNATURE_LEN.div_ceil(3)];
                let n = STANDARD.decode_slice(encoded, &mut buf).ok()?;
                tag.bytes.get_mut(..n)?.copy_from_slice(buf.get(..n)?);
                n
            }
        };
        (len > 0).then(|| {
            tag.len = len;
            tag
        })
    }
}

/// The longest signature any supported algorithm produces, in bytes: a DER-encoded ECDSA
/// P-256 signature (HMAC-SHA256 is 32, Ed25519 64).
pub(crate) const MAX_SIGNATURE_LEN: usize = 72;

/// A signature's bytes: a computed MAC, or one decoded from the header. (Public only so the
/// sealed [`Algorithm`] can name it; not reachable from outside the crate.)
#[derive(Clone, Copy)]
pub struct Tag {
    bytes: [u8; MAX_SIGNATURE_LEN],
    len: usize,
}

impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Tag {}

impl std::hash::Hash for Tag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl Tag {
    pub(crate) fn zeroed(len: usize) -> Self {
        Self {
            bytes: [0; MAX_SIGNATURE_LEN],
            len: len.min(MAX_SIGNATURE_LEN),
        }
    }

    /// A tag holding `bytes` (truncated to the longest signature a tag holds).
    pub(crate) fn from_slice(bytes: &[u8]) -> Self {
        let mut tag = Self::zeroed(bytes.len());
        let len = tag.len;
        tag.as_mut_slice()
            .copy_from_slice(bytes.get(..len).unwrap_or_default());
        tag
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        self.bytes.get_mut(..self.len).unwrap_or_default()
    }
}
