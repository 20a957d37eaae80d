//! `KeyName` extraction (a path segment, a header) through a scheme whose keys are resolved
//! per request, fed arbitrary URIs and header values:
//!
//! - the source is asked for exactly the name the documented rule gives (the `{tenant}`
//!   segment as sent, or the header's one value trimmed), and only when that name is 1 to 128
//!   visible ASCII bytes;
//! - any other request is refused `unknown_key` without a lookup.
#![no_main]

use std::{
    cell::RefCell,
    sync::{Arc, Mutex},
};

use http::{HeaderValue, Request, Uri};
use libfuzzer_sys::fuzz_target;
use tower_webhook::{
    keys::{KeyError, KeyName, KeyResolver, Start},
    scheme::Scheme,
    HmacScheme,
};

thread_local! {
    static RUNTIME: RefCell<tokio::runtime::Runtime> = RefCell::new(
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap(),
    );
}

fuzz_target!(|data: &[u8]| {
    let [mode, uri_len, rest @ ..] = data else {
        return;
    };
    let (uri, header) = rest.split_at(usize::from(*uri_len).min(rest.len()));
    let by_header = mode & 1 == 1;
    let mut request = Request::post("/").body(()).unwrap();
    // Mostly paths under the template, so the segment is explored.
    let uri = if mode & 2 == 0 {
        [b"/webhooks/".as_slice(), uri].concat()
    } else {
        uri.to_vec()
    };
    let Ok(uri) = Uri::try_from(uri) else { return };
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(
        "x-sig",
        HeaderValue::from_static(
            "sha256=00000000000000000000000000000000000000000000000000000000000000ff",
        ),
    );
    if let Ok(value) = HeaderValue::from_bytes(header) {
        for _ in 0..(mode >> 2) % 3 {
            headers.append("x-tenant", value.clone());
        }
    }
    let (parts, ()) = request.into_parts();

    let asked = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&asked);
    let name = if by_header {
        KeyName::header("x-tenant")
    } else {
        KeyName::path("/webhooks/{tenant}/events")
    };
    let resolver = KeyResolver::from_fn(name, move |name: String| {
        log.lock().unwrap().push(name);
        async { Ok::<_, KeyError>(None) }
    });
    let scheme = HmacScheme::sha256(resolver)
        .header("x-sig")
        .prefix("sha256=");

    let expected = if by_header {
        header_name(&parts)
    } else {
        path_name(parts.uri.path())
    };
    let usable = expected
        .filter(|n| !n.is_empty() && n.len() <= 128 && n.bytes().all(|b| b.is_ascii_graphic()));
    match scheme.start(&parts) {
        Start::Ready(Err(rejection)) => {
            assert_eq!(rejection.reason(), "unknown_key");
            assert_eq!(usable, None, "a usable name was refused without a lookup");
        }
        Start::Ready(Ok(_)) => panic!("verified without keys"),
        Start::Resolving(lookup) => {
            let result = RUNTIME.with(|runtime| runtime.borrow().block_on(lookup));
            assert_eq!(result.err().map(|r| r.reason()), Some("unknown_key"));
            let asked = asked.lock().unwrap();
            assert_eq!(asked.len(), 1);
            assert_eq!(
                Some(asked[0].as_str()),
                usable.as_deref(),
                "the source was asked another name"
            );
        }
    }
});

/// The `{tenant}` of `/webhooks/{tenant}/events`, segment by segment, as sent.
fn path_name(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments[..] {
        ["", "webhooks", tenant, "events"] => Some(tenant.to_owned()),
        _ => None,
    }
}

/// The one `x-tenant` value, without surrounding whitespace.
fn header_name(parts: &http::request::Parts) -> Option<String> {
    let values: Vec<&HeaderValue> = parts.headers.get_all("x-tenant").iter().collect();
    let [one] = values[..] else { return None };
    Some(one.to_str().ok()?.trim().to_owned())
}
