//! The allowlist parser: never panics; what it accepts prints back to an equal allowlist.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use tower_webhook::IpAllowlist;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(allowlist) = text.parse::<IpAllowlist>() {
        let reparsed: IpAllowlist = allowlist.to_string().parse().expect("Display parses back");
        assert_eq!(reparsed, allowlist);
        for addr in ["127.0.0.1", "::1", "::ffff:10.0.0.1", "52.194.91.27"] {
            let addr: IpAddr = addr.parse().unwrap();
            assert_eq!(allowlist.contains(addr), reparsed.contains(addr));
        }
    }
});
