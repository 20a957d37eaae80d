//! What is signed before the body: a template such as `{timestamp}.{body}`.

use bytes::Bytes;

/// One piece of what is signed before the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Literal(Bytes),
    Timestamp,
    Id,
}

/// The pieces signed before the body; the body always comes last, so it can be streamed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SignedPayload {
    prefix: Vec<Piece>,
}

impl SignedPayload {
    /// Parses a template of literal text and the placeholders `{timestamp}`, `{id}` and
    /// `{body}`, which must come once, at the end.
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let body = template
            .strip_suffix("{body}")
            .ok_or_else(|| format!("the signed payload `{template}` must end with `{{body}}`"))?;
        let mut prefix = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let literal_end = rest.find(['{', '}']).unwrap_or(rest.len());
            let (literal, after) = rest.split_at_checked(literal_end).unwrap_or((rest, ""));
            if !literal.is_empty() {
                prefix.push(Piece::Literal(Bytes::copy_from_slice(literal.as_bytes())));
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
                return Err(format!(
                    "the signed payload `{template}` has an unknown placeholder or a stray brace \
                     (known: {{timestamp}}, {{id}}, and {{body}} at the end)"
                ));
            };
            prefix.push(piece);
            rest = after;
        }
        Ok(Self { prefix })
    }

    /// A fixed byte string, then the body (Square's notification URL + body).
    pub(crate) fn literal_then_body(literal: impl Into<Bytes>) -> Self {
        Self {
            prefix: vec![Piece::Literal(literal.into())],
        }
    }

    pub(crate) fn pieces(&self) -> &[Piece] {
        &self.prefix
    }

    pub(crate) fn needs(&self, piece: &Piece) -> bool {
        self.prefix.contains(piece)
    }
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
    fn rejects_templates_it_cannot_stream_or_understand() {
        for bad in [
            "",
            "{timestamp}",
            "{body}.{timestamp}",
            "{body}{body}",
            "{ts}.{body}",
            "{timestamp.{body}",
            "a}b{body}",
        ] {
            assert!(SignedPayload::parse(bad).is_err(), "{bad}");
        }
    }
}
