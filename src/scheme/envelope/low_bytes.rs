//! What a JavaScript sender signs when it hashes a string as `binary` (Node's old default,
//! which Trello still signs with): the low byte of each UTF-16 code unit, not the UTF-8 it
//! sends. Trello's webhook docs: "the payloads that we sign are treated as binary strings,
//! not utf-8" (an en dash, U+2013, is signed as the byte 0x13).
//!
//! The mapping loses the high byte of every character above U+00FF, so the signature does
//! not bind those characters: a body whose characters have the same low bytes verifies as
//! well. The presets that sign this way say so.

/// A streaming UTF-8 decoder that hands on each code unit's low byte. Chunks may split a
/// character anywhere; invalid UTF-8 (no JavaScript string encodes to it) marks the body
/// as not one the sender signed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LowBytes {
    /// The start of a character split across chunks.
    pending: [u8; 4],
    pending_len: u8,
    invalid: bool,
}

impl LowBytes {
    /// Decodes `chunk`, giving `out` the low bytes of every character it completes.
    pub(crate) fn feed(&mut self, mut chunk: &[u8], mut out: impl FnMut(&[u8])) {
        if self.invalid {
            return;
        }
        let mut buffer = [0u8; 256];
        let mut filled = 0;
        while !chunk.is_empty() || self.pending_len > 0 {
            // Complete a character split across chunks first, byte by byte.
            if self.pending_len > 0 {
                let needed = sequence_len(self.pending[0]);
                let Some((&byte, rest)) = chunk.split_first() else {
                    break;
                };
                self.pending[usize::from(self.pending_len)] = byte;
                self.pending_len += 1;
                chunk = rest;
                if usize::from(self.pending_len) < needed {
                    continue;
                }
                let pending = self.pending;
                let Ok(text) = std::str::from_utf8(&pending[..needed]) else {
                    self.invalid = true;
                    return;
                };
                self.pending_len = 0;
                filled = push(text, &mut buffer, filled, &mut out);
                continue;
            }
            let (text, rest) = match std::str::from_utf8(chunk) {
                Ok(text) => (text, &chunk[chunk.len()..]),
                Err(error) => {
                    let (valid, rest) = chunk.split_at(error.valid_up_to());
                    // Only an incomplete character at the very end may continue.
                    if error.error_len().is_some() || rest.len() >= sequence_len(rest[0]) {
                        self.invalid = true;
                        return;
                    }
                    self.pending[..rest.len()].copy_from_slice(rest);
                    self.pending_len = u8::try_from(rest.len()).unwrap_or(4);
                    let text = std::str::from_utf8(valid).unwrap_or_default();
                    (text, &chunk[chunk.len()..])
                }
            };
            filled = push(text, &mut buffer, filled, &mut out);
            chunk = rest;
        }
        if filled > 0 {
            out(&buffer[..filled]);
        }
    }

    /// Whether the whole body was UTF-8.
    pub(crate) fn finished(&self) -> bool {
        !self.invalid && self.pending_len == 0
    }
}

/// `text`'s low bytes appended to `buffer[..filled]`, flushed to `out` when it is full;
/// the new fill.
fn push(
    text: &str,
    buffer: &mut [u8; 256],
    mut filled: usize,
    out: &mut impl FnMut(&[u8]),
) -> usize {
    for unit in text.encode_utf16() {
        if filled == buffer.len() {
            out(&buffer[..]);
            filled = 0;
        }
        buffer[filled] = unit.to_le_bytes()[0];
        filled += 1;
    }
    filled
}

/// How many bytes the UTF-8 sequence starting with `first` has (1 for a byte that cannot
/// start one, which then fails to decode).
fn sequence_len(first: u8) -> usize {
    match first {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// The low bytes of `text`'s UTF-16 code units, or `None` if it is not UTF-8.
pub(crate) fn low_bytes(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    Some(
        text.encode_utf16()
            .map(|unit| unit.to_le_bytes()[0])
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(body: &[u8], chunk: usize) -> Option<Vec<u8>> {
        let mut decoder = LowBytes::default();
        let mut out = Vec::new();
        for piece in body.chunks(chunk) {
            decoder.feed(piece, |bytes| out.extend_from_slice(bytes));
        }
        decoder.finished().then_some(out)
    }

    #[test]
    fn each_code_unit_is_signed_as_its_low_byte() {
        // Trello's example: the en dash U+2013 is signed as 0x13.
        assert_eq!(low_bytes("a–b".as_bytes()), Some(vec![b'a', 0x13, b'b']));
        assert_eq!(low_bytes("é".as_bytes()), Some(vec![0xE9]));
        // Above U+FFFF: a surrogate pair, two low bytes (U+1F600 is D83D DE00).
        assert_eq!(low_bytes("😀".as_bytes()), Some(vec![0x3D, 0x00]));
        assert_eq!(low_bytes(b"plain ascii"), Some(b"plain ascii".to_vec()));
        assert_eq!(low_bytes(b"\xff"), None);
    }

    #[test]
    fn chunks_may_split_a_character_anywhere() {
        let body = "{\"name\":\"Caf\u{e9} – \u{1F600} ✓\"}".repeat(40);
        let whole = low_bytes(body.as_bytes());
        assert!(whole.is_some());
        for chunk in [1, 2, 3, 5, 7, 64, 300, 10_000] {
            assert_eq!(streamed(body.as_bytes(), chunk), whole, "chunks of {chunk}");
        }
    }

    #[test]
    fn invalid_or_truncated_utf8_is_refused() {
        for body in [
            &b"ok \xff"[..],
            b"\xe2\x80",
            b"\xc3(",
            b"a\x80b",
            b"\xf8\x88\x80\x80\x80",
        ] {
            for chunk in [1, 2, 100] {
                assert_eq!(streamed(body, chunk), None, "{body:?} in chunks of {chunk}");
            }
        }
    }
}
