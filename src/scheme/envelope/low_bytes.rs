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
    pub(crate) fn feed(&mut self, chunk: &[u8], mut out: impl FnMut(&[u8])) {
        if self.invalid {
            return;
        }
        let mut buffer = Buffer::default();
        let mut rest = chunk;
        // First the character the last chunk left unfinished, a byte at a time.
        while self.pending_len > 0 {
            let Some((&byte, tail)) = rest.split_first() else {
                return;
            };
            rest = tail;
            let Some(slot) = self.pending.get_mut(usize::from(self.pending_len)) else {
                self.invalid = true;
                return;
            };
            *slot = byte;
            self.pending_len += 1;
            let started = self
                .pending
                .get(..usize::from(self.pending_len))
                .unwrap_or_default();
            match std::str::from_utf8(started) {
                Ok(text) => {
                    buffer.push_str(text, &mut out);
                    self.pending_len = 0;
                }
                Err(error) if error.error_len().is_none() => {}
                Err(_) => {
                    self.invalid = true;
                    return;
                }
            }
        }
        match std::str::from_utf8(rest) {
            Ok(text) => buffer.push_str(text, &mut out),
            Err(error) => {
                let (valid, tail) = rest.split_at(error.valid_up_to());
                buffer.push_str(std::str::from_utf8(valid).unwrap_or_default(), &mut out);
                // Only a character cut off by the chunk's end may continue in the next.
                if error.error_len().is_some() || tail.len() >= self.pending.len() {
                    self.invalid = true;
                    return;
                }
                for (slot, &byte) in self.pending.iter_mut().zip(tail) {
                    *slot = byte;
                }
                self.pending_len = u8::try_from(tail.len()).unwrap_or(u8::MAX);
            }
        }
        buffer.flush(&mut out);
    }

    /// Whether the whole body was UTF-8.
    pub(crate) fn finished(&self) -> bool {
        !self.invalid && self.pending_len == 0
    }
}

/// Low bytes gathered before they are handed on, so a chunk costs a few MAC updates, not
/// one per character.
struct Buffer {
    bytes: [u8; 256],
    len: usize,
}

impl Default for Buffer {
    fn default() -> Self {
        Self {
            bytes: [0; 256],
            len: 0,
        }
    }
}

impl Buffer {
    fn push_str(&mut self, text: &str, out: &mut impl FnMut(&[u8])) {
        for unit in text.encode_utf16() {
            if self.len == self.bytes.len() {
                self.flush(out);
            }
            let [low, _] = unit.to_le_bytes();
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = low;
                self.len += 1;
            }
        }
    }

    fn flush(&mut self, out: &mut impl FnMut(&[u8])) {
        if self.len > 0 {
            out(self.bytes.get(..self.len).unwrap_or_default());
            self.len = 0;
        }
    }
}

/// The low bytes of `text`'s UTF-16 code units, or `None` if it is not UTF-8.
pub(crate) fn low_bytes(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    Some(
        text.encode_utf16()
            .map(|unit| {
                let [low, _] = unit.to_le_bytes();
                low
            })
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
