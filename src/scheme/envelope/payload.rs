//! What is signed around the body: a template such as `{timestamp}.{body}`, or
//! `{body}{timestamp}` for senders that sign the timestamp after the body.

use bytes::Bytes;

/// One piece of what is signed before or after the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Literal(Bytes),
    Timestamp,
    Id,
}

impl Piece {
    /// The bytes this piece signs, given the request's timestamp and id as received.
    pub(crate) fn bytes<'a>(&'a self, timestamp: &'a [u8], id: &'a [u8]) -> &'a [u8] {
        match self {
            Self::Literal(bytes) => bytes,
            Self::Timestamp => timestamp,
            Self::Id => id,
        }
    }
}

/// The pieces signed before the body and after it. The body is streamed between them; what
/// comes after it is known from the head and fed when the body ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SignedPayload {
    prefix: Vec<Piece>,
    suffix: Vec<Piece>,
}

impl SignedPayload {
    /// Parses a template of literal text and the placeholders `{timestamp}`, `{id}` and
    /// `{body}`, which must come exactly once.
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let (before, after) = template
            .split_once("{body}")
            .ok_or_else(|| format!("the signed payload `{template}` must contain `{{body}}`"))?;
        let pieces = |text: &str| {
            parse_pieces(text).ok_or_else(|| {
                format!(
                    "the signed payload `{template}` has an unknown placeholder, a stray brace or \
                     a second `{{body}}` (known: {{timestamp}}, {{id}}, and {{body}} once)"
                )
            })
        };
        Ok(Self {
            prefix: pieces(before)?,
            suffix: pieces(after)?,
        })
    }

    /// `literal`, then the body, then `suffix`.
    pub(crate) fn around_body(literal: impl Into<Bytes>, suffix: Vec<Piece>) -> Self {
        Self {
            prefix: vec![Piece::Literal(literal.into())],
            suffix,
        }
    }

    /// What is signed before the body.
    #[inline]
    pub(crate) fn pieces(&self) -> &[Piece] {
        &self.prefix
    }

    /// What is signed after the body.
    #[inline]
    pub(crate) fn suffix(&self) -> &[Piece] {
        &self.suffix
    }

    /// Whether `piece` is signed, before or after the body.
    #[inline]
    pub(crate) fn needs(&self, piece: &Piece) -> bool {
        self.prefix.contains(piece) || self.suffix.contains(piece)
    }
}

fn parse_pieces(text: &str) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let literal_end = rest.find(['{', '}']).unwrap_or(rest.len());
        let (literal, after) = rest.split_at_checked(literal_end).unwrap_or((rest, ""));
        if !literal.is_empty() {
            pieces.push(Piece::Literal(Bytes::copy_from_slice(literal.as_bytes())));
        }
        rest = after;
        if rest.is_empty() {
            break;
        }
        let (piece, after) = if let Some(after) = rest.strip_prefix("{timestamp}") {
            (Piece::Timestamp, after)
        } else if let Some(after) = rest.strip_prefix("{id}") {
            (Piece::Id, after)
        } else {
            return None;
        };
        pieces.push(piece);
        rest = after;
    }
    Some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Piece {
        Piece::Literal(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn parses_the_common_templates() {
        assert_eq!(SignedPayload::parse("{body}").unwrap().pieces(), []);
        assert_eq!(
            SignedPayload::parse("{timestamp}.{body}").unwrap().pieces(),
            [Piece::Timestamp, lit(".")]
        );
        assert_eq!(
            SignedPayload::parse("v0:{timestamp}:{body}")
                .unwrap()
                .pieces(),
            [lit("v0:"), Piece::Timestamp, lit(":")]
        );
        assert_eq!(
            SignedPayload::parse("{id}.{timestamp}.{body}")
                .unwrap()
                .pieces(),
            [Piece::Id, lit("."), Piece::Timestamp, lit(".")]
        );
    }

    #[test]
    fn parses_pieces_after_the_body() {
        let payload = SignedPayload::parse("{body}{timestamp}").unwrap();
        assert_eq!(payload.pieces(), []);
        assert_eq!(payload.suffix(), [Piece::Timestamp]);
        assert!(payload.needs(&Piece::Timestamp));
        let payload = SignedPayload::parse("POST{body}:{id}").unwrap();
        assert_eq!(payload.pieces(), [lit("POST")]);
        assert_eq!(payload.suffix(), [lit(":"), Piece::Id]);
    }

    #[test]
    fn rejects_templates_it_cannot_stream_or_understand() {
        for bad in [
            "",
            "{timestamp}",
            "{body}{body}",
            "{body}.{ts}",
            "{ts}.{body}",
            "{timestamp.{body}",
            "a}b{body}",
        ] {
            assert!(SignedPayload::parse(bad).is_err(), "{bad}");
        }
    }
}
