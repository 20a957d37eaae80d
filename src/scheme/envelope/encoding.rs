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
                if encoded.len() % 2 != 0 {
                    return None;
                }
                decode_hex(encoded, out)?;
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

/// Each byte's value as a hex digit, either case; [`NOT_HEX`] for any other byte.
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated when compiling: an index out of range fails the build, never a request"
)]
const HEX_DIGITS: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        table[b"0123456789abcdef"[i] as usize] = i as u8;
        table[b"0123456789ABCDEF"[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// What [`HEX_DIGITS`] holds for a byte that is not a hex digit: any value with a bit above
/// the low four.
const NOT_HEX: u8 = 0xff;

/// Decodes `encoded` (exactly twice `out`'s length) into `out`: one table lookup per digit,
/// about a third of the instructions `hex::decode_to_slice` takes for a 64-digit MAC, which is
/// decoded on every request. `None` if any byte is not a hex digit. (The signature is the
/// sender's, not a secret: a data-dependent lookup leaks nothing.)
fn decode_hex(encoded: &[u8], out: &mut [u8]) -> Option<()> {
    if encoded.len() != 2 * out.len() {
        return None;
    }
    let digit = |b: u8| HEX_DIGITS.get(usize::from(b)).copied().unwrap_or(NOT_HEX);
    let mut seen = 0u8;
    for (byte, pair) in out.iter_mut().zip(encoded.chunks_exact(2)) {
        let [high, low] = *pair else { return None };
        let (high, low) = (digit(high), digit(low));
        seen |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    (seen & !0x0f == 0).then_some(())
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
    #[inline]
    pub(crate) fn zeroed(len: usize) -> Self {
        Self {
            bytes: [0; MAX_SIGNATURE_LEN],
            len: len.min(MAX_SIGNATURE_LEN),
        }
    }

    /// A tag holding `bytes` (truncated to the longest signature a tag holds).
    #[inline]
    pub(crate) fn from_slice(bytes: &[u8]) -> Self {
        let mut tag = Self::zeroed(bytes.len());
        let len = tag.len;
        tag.as_mut_slice()
            .copy_from_slice(bytes.get(..len).unwrap_or_default());
        tag
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    #[inline]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        self.bytes.get_mut(..self.len).unwrap_or_default()
    }

    /// Whether two tags are equal, in time that depends only on their lengths (public: the
    /// algorithm's output size): a comparison that stopped at the first wrong byte would tell
    /// a forger how many leading bytes of a guessed MAC are right. Eight bytes at a time (a
    /// load each: exact chunks, never a copy of a slice of unknown length), then the bytes
    /// left over, all folded before the one constant-time test, where `subtle`'s slice
    /// comparison spends about a dozen instructions a byte, on every request.
    #[inline]
    pub(crate) fn ct_eq(&self, other: &Self) -> subtle::Choice {
        use subtle::ConstantTimeEq as _;

        if self.len != other.len {
            return subtle::Choice::from(0);
        }
        let (ours, theirs) = (
            self.as_slice().chunks_exact(8),
            other.as_slice().chunks_exact(8),
        );
        let tail = ours
            .remainder()
            .iter()
            .zip(theirs.remainder())
            .fold(0u64, |difference, (a, b)| difference | u64::from(a ^ b));
        let word = |chunk: &[u8]| <[u8; 8]>::try_from(chunk).map_or(0, u64::from_ne_bytes);
        let difference = ours
            .zip(theirs)
            .fold(tail, |difference, (a, b)| difference | (word(a) ^ word(b)));
        difference.ct_eq(&0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes_as_the_hex_crate_does_for_every_byte_pair() {
        for high in 0..=255u8 {
            for low in 0..=255u8 {
                let pair = [high, low];
                let mut ours = [0u8; 1];
                let mut theirs = [0u8; 1];
                let decoded = decode_hex(&pair, &mut ours);
                let expected = hex::decode_to_slice(pair, &mut theirs);
                assert_eq!(decoded.is_some(), expected.is_ok(), "{pair:?}");
                if decoded.is_some() {
                    assert_eq!(ours, theirs, "{pair:?}");
                }
            }
        }
    }

    /// Every byte value in every place of hex of the lengths signatures have (SHA-1, SHA-256,
    /// a DER P-256 signature) and others, decoded (or refused) as the `hex` crate does.
    #[test]
    fn hex_decodes_as_the_hex_crate_does_for_every_byte_in_every_place() {
        let digits = b"0123456789abcdefABCDEF";
        for len in [8, 10, 16, 40, 64, 70] {
            let valid: Vec<u8> = (0..len).map(|i| digits[(i * 7) % digits.len()]).collect();
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut encoded = valid.clone();
                    encoded[at] = byte;
                    let (mut ours, mut theirs) = (vec![0u8; len / 2], vec![0u8; len / 2]);
                    let decoded = decode_hex(&encoded, &mut ours);
                    let expected = hex::decode_to_slice(&encoded, &mut theirs);
                    assert_eq!(decoded.is_some(), expected.is_ok(), "{encoded:?}");
                    if decoded.is_some() {
                        assert_eq!(ours, theirs, "{encoded:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn tags_are_equal_only_byte_for_byte() {
        for len in [20, 32, 64, 72] {
            let tag = Tag::from_slice(&(0..len as u8).collect::<Vec<_>>());
            assert!(bool::from(tag.ct_eq(&tag)));
            for at in 0..len {
                for bit in 0..8 {
                    let mut other = tag;
                    other.as_mut_slice()[at] ^= 1 << bit;
                    assert!(!bool::from(tag.ct_eq(&other)), "{len} {at} {bit}");
                }
            }
            let shorter = Tag::from_slice(&tag.as_slice()[..len - 1]);
            assert!(!bool::from(tag.ct_eq(&shorter)));
            assert!(!bool::from(shorter.ct_eq(&tag)));
        }
    }

    #[test]
    fn hex_of_the_wrong_length_or_with_one_bad_digit_is_refused() {
        let mac = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let tag = Encoding::Hex.decode(mac.as_bytes()).unwrap();
        assert_eq!(tag.as_slice(), hex::decode(mac).unwrap());
        assert!(Encoding::Hex.decode(&mac.as_bytes()[..63]).is_none());
        assert!(Encoding::Hex.decode(b"").is_none());
        for at in 0..mac.len() {
            let mut bad = mac.as_bytes().to_vec();
            bad[at] = b'g';
            assert!(Encoding::Hex.decode(&bad).is_none(), "{at}");
        }
        let longest = "ab".repeat(MAX_SIGNATURE_LEN);
        assert_eq!(
            Encoding::Hex
                .decode(longest.as_bytes())
                .unwrap()
                .as_slice()
                .len(),
            72
        );
        assert!(Encoding::Hex.decode("ab".repeat(73).as_bytes()).is_none());
    }
}
