//! [`KeyName`]: which name (a tenant, a key id) a request's keys are looked up under, read
//! from its head before any body byte.

use std::{borrow::Cow, fmt, sync::Arc};

use http::{request::Parts, HeaderName};

/// The longest name taken from a request, in bytes. Longer ones are refused as unknown
/// without a lookup, so a request cannot make the cache or the source hold large keys.
pub(crate) const MAX_NAME_LEN: usize = 128;

/// Which name a request's keys are looked up under: a segment of its path, a header, or
/// anything your function reads from the request head (extensions included).
///
/// A request that names nothing (the path does not match, the header is absent) or a name
/// longer than 128 bytes or with characters other than visible ASCII is refused with `401`
/// (`unknown_key`) without a lookup, answered as a wrong signature is (after its body).
///
/// **A name is untrusted input.** It is whatever the request says, before any signature is
/// checked: the only guarantee is 1 to 128 bytes of visible ASCII. Your
/// [`KeySource`](super::KeySource) must treat it as such (a bound parameter in a query, never
/// text spliced into one), and should know each tenant under one spelling only: the replay
/// guard keeps each name's deliveries apart, so a source that answers the same keys under
/// two spellings (`Acme` and `acme`) lets a captured delivery be processed once under each.
///
/// ```
/// use tower_webhook::keys::KeyName;
///
/// // axum's route syntax: the name is the `{account}` segment.
/// let by_path = KeyName::path("/webhooks/stripe/{account}");
/// // Shopify names the shop in a header.
/// let by_header = KeyName::header("X-Shopify-Shop-Domain");
/// // One name for every request: a single secret, replaced at run time.
/// let single = KeyName::fixed("github");
/// ```
#[derive(Clone)]
pub struct KeyName(Kind);

#[derive(Clone)]
enum Kind {
    Fixed(Arc<str>),
    Path(Arc<Template>),
    Header(HeaderName),
    Fn(Arc<NameFn>),
}

/// A function that reads a name from a request head.
type NameFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// A path template as the text before and after its one `{name}` segment: a path matches
/// when it is that prefix, one non-empty segment, and that suffix, compared as bytes (this
/// runs on every request).
struct Template {
    source: String,
    prefix: String,
    suffix: String,
}

impl KeyName {
    /// The same name for every request.
    ///
    /// ```
    /// use tower_webhook::keys::KeyName;
    ///
    /// let name = KeyName::fixed("default");
    /// ```
    #[must_use]
    pub fn fixed(name: impl Into<Arc<str>>) -> Self {
        Self(Kind::Fixed(name.into()))
    }

    /// The path segment at the `{placeholder}` of `template`, which is matched against the
    /// request's path segment by segment, as axum routes are (`/webhooks/stripe/{account}`).
    /// The segment is percent-decoded as axum's `Path` decodes it (`%61cme` is `acme`, `+`
    /// stays `+`), so [`Verified::key_id`](crate::Verified::key_id) is the tenant your handler
    /// sees; a segment that decodes to anything but visible ASCII (a space, a control
    /// character, non-ASCII, bytes that are not UTF-8) names nothing. Behind axum's `Router::nest`,
    /// the path the layer sees lacks the nesting prefix: write the template as the layer sees
    /// it.
    ///
    /// # Panics
    ///
    /// If `template` does not start with `/` or has no `{placeholder}` segment, or more than
    /// one.
    ///
    /// ```
    /// use tower_webhook::keys::KeyName;
    ///
    /// let name = KeyName::path("/webhooks/{tenant}/github");
    /// ```
    #[must_use]
    pub fn path(template: &str) -> Self {
        Self(Kind::Path(Arc::new(Template::parse(template))))
    }

    /// The value of the header `name` (trimmed); a request without it, or with it twice,
    /// names nothing.
    ///
    /// # Panics
    ///
    /// If `name` is not a valid HTTP header name.
    ///
    /// ```
    /// use tower_webhook::keys::KeyName;
    ///
    /// let name = KeyName::header("X-Shopify-Shop-Domain");
    /// ```
    #[must_use]
    pub fn header(name: impl AsRef<str>) -> Self {
        Self(Kind::Header(crate::foundation::header_name(name.as_ref())))
    }

    /// Whatever `name` reads from the request head: a header, the host, an extension an
    /// earlier layer inserted (an authenticated tenant). `None` names nothing.
    ///
    /// ```
    /// use http::request::Parts;
    /// use tower_webhook::keys::KeyName;
    ///
    /// let by_host = KeyName::from_fn(|request: &Parts| {
    ///     request.uri.host().map(|host| host.split('.').next().unwrap_or(host).to_owned())
    /// });
    /// ```
    #[must_use]
    pub fn from_fn<F>(name: F) -> Self
    where
        F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    {
        Self(Kind::Fn(Arc::new(name)))
    }

    /// The name `request` gives, if it gives one that may be looked up.
    pub(crate) fn of<'a>(&'a self, request: &'a Parts) -> Option<Cow<'a, str>> {
        let name = match &self.0 {
            Kind::Fixed(name) => Cow::Borrowed(&**name),
            Kind::Path(template) => percent_decoded(template.name_in(request.uri.path())?)?,
            Kind::Header(header) => {
                let mut values = request.headers.get_all(header).iter();
                let value = values.next()?;
                if values.next().is_some() {
                    return None;
                }
                Cow::Borrowed(value.to_str().ok()?.trim())
            }
            Kind::Fn(name) => Cow::Owned(name(request)?),
        };
        let usable = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.bytes().all(|b| b.is_ascii_graphic());
        usable.then_some(name)
    }
}

/// `segment` with each `%` and two hex digits replaced by the byte they write, as axum's
/// `Path` (through `percent_encoding`) decodes it: a `%` not followed by two hex digits is
/// kept as is. `None` if the bytes are not UTF-8, which axum refuses too.
fn percent_decoded(segment: &str) -> Option<Cow<'_, str>> {
    if !segment.contains('%') {
        return Some(Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let escaped = (byte == b'%')
            .then(|| {
                Some((
                    hex_digit(*bytes.get(at + 1)?)?,
                    hex_digit(*bytes.get(at + 2)?)?,
                ))
            })
            .flatten();
        match escaped {
            Some((high, low)) => {
                decoded.push((high << 4) | low);
                at += 3;
            }
            None => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(decoded).ok().map(Cow::Owned)
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Fixed(name) => f.debug_tuple("KeyName::fixed").field(name).finish(),
            Kind::Path(template) => f
                .debug_tuple("KeyName::path")
                .field(&template.source)
                .finish(),
            Kind::Header(name) => f.debug_tuple("KeyName::header").field(name).finish(),
            Kind::Fn(_) => f.write_str("KeyName::from_fn(..)"),
        }
    }
}

impl Template {
    #[expect(
        clippy::panic,
        reason = "a configuration error, documented under `# Panics`, caught on the first run"
    )]
    fn parse(template: &str) -> Self {
        let Some(rest) = template.strip_prefix('/') else {
            panic!("tower-webhook: the key name template `{template}` must start with `/`");
        };
        let is_name =
            |segment: &str| segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}');
        let segments: Vec<&str> = rest.split('/').collect();
        let mut names = segments.iter().enumerate().filter(|(_, s)| is_name(s));
        let (Some((at, _)), None) = (names.next(), names.next()) else {
            panic!(
                "tower-webhook: the key name template `{template}` must have exactly one `{{name}}` segment"
            );
        };
        let (before, after) = segments.split_at(at);
        let mut prefix = String::from("/");
        for segment in before {
            prefix.push_str(segment);
            prefix.push('/');
        }
        let suffix: String = after.iter().skip(1).map(|s| format!("/{s}")).collect();
        Self {
            source: template.to_owned(),
            prefix,
            suffix,
        }
    }

    /// The named segment of `path`, if `path` matches segment for segment.
    fn name_in<'p>(&self, path: &'p str) -> Option<&'p str> {
        let name = path
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        (!name.contains('/')).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::post(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn name(key: &KeyName, request: &Parts) -> Option<String> {
        key.of(request).map(Cow::into_owned)
    }

    #[test]
    fn path_template_takes_its_segment_and_nothing_else() {
        let key = KeyName::path("/webhooks/stripe/{account}");
        let at = |path: &str| name(&key, &parts(path, &[]));
        assert_eq!(at("/webhooks/stripe/acct_1").as_deref(), Some("acct_1"));
        assert_eq!(at("/webhooks/stripe/acct_1?x=1").as_deref(), Some("acct_1"));
        assert_eq!(at("/webhooks/stripe/"), None, "empty segment");
        assert_eq!(at("/webhooks/stripe"), None);
        assert_eq!(at("/webhooks/stripe/a/b"), None);
        assert_eq!(at("/webhooks/github/acct_1"), None);
        assert_eq!(at("/other/webhooks/stripe/acct_1"), None);

        let middle = KeyName::path("/hooks/{tenant}/github/v1");
        let at = |path: &str| name(&middle, &parts(path, &[]));
        assert_eq!(at("/hooks/acme/github/v1").as_deref(), Some("acme"));
        assert_eq!(at("/hooks/acme/github/v1/").as_deref(), None);
        assert_eq!(at("/hooks/a/b/github/v1"), None);
        assert_eq!(at("/hooks/acme/github"), None);
        assert_eq!(at("/hooks//github/v1"), None);
    }

    #[test]
    fn path_segments_are_percent_decoded_as_axum_decodes_them() {
        let key = KeyName::path("/t/{tenant}");
        let at = |path: &str| name(&key, &parts(path, &[]));
        assert_eq!(at("/t/%61cme").as_deref(), Some("acme"));
        assert_eq!(
            at("/t/%61%63%6D%65").as_deref(),
            Some("acme"),
            "upper-case hex"
        );
        assert_eq!(
            at("/t/a%2Fb").as_deref(),
            Some("a/b"),
            "one segment, as routed"
        );
        assert_eq!(
            at("/t/a+b").as_deref(),
            Some("a+b"),
            "`+` is not a space in a path"
        );
        assert_eq!(at("/t/100%").as_deref(), Some("100%"), "a lone `%` is kept");
        assert_eq!(at("/t/%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(at("/t/%2561").as_deref(), Some("%61"), "decoded once");
        assert_eq!(at("/t/a%20b"), None, "decodes to a space");
        assert_eq!(at("/t/%00"), None, "decodes to a control character");
        assert_eq!(at("/t/caf%C3%A9"), None, "decodes to non-ASCII");
        assert_eq!(at("/t/%FF"), None, "not UTF-8");
        let long = format!("/t/{}", "%61".repeat(MAX_NAME_LEN + 1));
        assert_eq!(at(&long), None, "the limit applies to the decoded name");
        let fits = format!("/t/{}", "%61".repeat(MAX_NAME_LEN));
        assert_eq!(at(&fits).map(|n| n.len()), Some(MAX_NAME_LEN));
    }

    #[test]
    fn names_that_are_long_or_not_visible_ascii_are_refused() {
        let key = KeyName::header("x-tenant");
        let with = |value: &str| name(&key, &parts("/", &[("x-tenant", value)]));
        assert_eq!(with(" shop.example ").as_deref(), Some("shop.example"));
        assert_eq!(with(&"a".repeat(MAX_NAME_LEN)).map(|n| n.len()), Some(128));
        assert_eq!(with(&"a".repeat(MAX_NAME_LEN + 1)), None);
        assert_eq!(with("two words"), None);
        assert_eq!(with(""), None);
        let twice = parts("/", &[("x-tenant", "a"), ("x-tenant", "b")]);
        assert_eq!(name(&key, &twice), None, "ambiguous");
        assert_eq!(name(&key, &parts("/", &[])), None);
    }

    #[test]
    #[should_panic(expected = "exactly one")]
    fn template_without_a_placeholder_is_refused_at_start_up() {
        let _ = KeyName::path("/webhooks/stripe");
    }
}
