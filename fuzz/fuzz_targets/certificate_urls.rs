//! Certificate URLs a request names (PayPal's `PAYPAL-CERT-URL`, SNS's `SigningCertURL`) and
//! `AllowedHosts::check`, through the hidden `fuzzing` entry points (their spelling is not
//! shown by the public API). For any text:
//!
//! - what is allowed is `https`, on an allowed host and port, and its one spelling is allowed
//!   again as itself (idempotent), and is what `AllowedHosts::allows` says;
//! - a certificate URL in its one spelling has a lowercase host, no port 443, no `%`, `\`,
//!   `?`, `#`, `@`, no empty, `.` or `..` segment, names a file of the sender's form, and is
//!   idempotent; the same URL with its scheme and host in capitals has the same spelling.
#![no_main]

use http::Uri;
use libfuzzer_sys::fuzz_target;
use tower_webhook::{fuzzing, keys::AllowedHosts};

const HOSTS: [&str; 5] = [
    "api.paypal.com",
    "api.sandbox.paypal.com",
    "sns.*.amazonaws.com",
    "sns.*.amazonaws.com.cn",
    "127.0.0.1:8443",
];

/// Starts the fuzzer near the URLs that pass, so their paths are explored.
const PREFIXES: [&str; 6] = [
    "",
    "https://",
    "https://api.paypal.com/v1/notifications/certs/CERT-",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-",
    "HTTPS://SNS.EU-WEST-1.AMAZONAWS.COM.CN:443/",
    "https://127.0.0.1:8443/",
];

fuzz_target!(|data: &[u8]| {
    let [which, rest @ ..] = data else { return };
    let Ok(tail) = std::str::from_utf8(rest) else {
        return;
    };
    let url = format!("{}{tail}", PREFIXES[usize::from(*which) % PREFIXES.len()]);
    let hosts = AllowedHosts::new(HOSTS).unwrap();

    let allowed = fuzzing::allowed_url(&hosts, &url);
    assert_eq!(hosts.allows(&url), allowed.is_some());
    if let Some(one) = &allowed {
        assert_eq!(
            fuzzing::allowed_url(&hosts, one).as_ref(),
            Some(one),
            "{url:?}"
        );
        let uri: Uri = one.parse().unwrap();
        assert_eq!(uri.scheme_str(), Some("https"));
        let authority = uri.authority().unwrap().as_str();
        assert!(
            !authority.contains('@') && !authority.ends_with(":443"),
            "{one:?}"
        );
        assert!(
            !authority.bytes().any(|b| b.is_ascii_uppercase()),
            "{one:?}"
        );
        // The path and query are kept as given.
        let given: Uri = url.parse().unwrap();
        let as_given = given.path_and_query().map_or("/", |pq| pq.as_str());
        assert_eq!(uri.path_and_query().unwrap().as_str(), as_given, "{url:?}");
    }

    let paypal = fuzzing::paypal_certificate_url(hosts.clone(), &url);
    let sns = fuzzing::sns_certificate_url(hosts.clone(), &url);
    type Canonical = fn(AllowedHosts, &str) -> Option<String>;
    let senders: [(&Option<String>, fn(&str) -> bool, Canonical); 2] = [
        (&paypal, paypal_file, fuzzing::paypal_certificate_url),
        (&sns, sns_file, fuzzing::sns_certificate_url),
    ];
    for (canonical, file, canonical_of) in senders {
        let Some(one) = canonical else { continue };
        assert_eq!(
            allowed.as_ref(),
            Some(one),
            "a certificate URL is an allowed URL: {url:?}"
        );
        assert!(
            url.len() <= 256 && url.bytes().all(|b| b.is_ascii_graphic()),
            "{url:?}"
        );
        for refused in ['%', '\\', '?', '#', '@'] {
            assert!(!one.contains(refused), "{one:?}");
        }
        let uri: Uri = one.parse().unwrap();
        let path = uri.path();
        assert!(
            path.strip_prefix('/')
                .unwrap()
                .split('/')
                .all(|s| !matches!(s, "" | "." | "..")),
            "{one:?}"
        );
        assert!(file(path), "{one:?} names no certificate of the sender's");
        assert_eq!(
            canonical_of(hosts.clone(), one).as_ref(),
            Some(one),
            "idempotent: {url:?}"
        );
        // Another spelling of the scheme and host is the same name.
        let shouted = format!(
            "HTTPS://{}{}",
            uri.authority().unwrap().as_str().to_ascii_uppercase(),
            path
        );
        if shouted.len() <= 256 {
            assert_eq!(
                canonical_of(hosts.clone(), &shouted).as_ref(),
                Some(one),
                "{shouted:?}"
            );
        }
    }
    assert!(
        paypal.is_none() || sns.is_none(),
        "one file name cannot be both senders'"
    );
});

/// `/v1/notifications/certs/CERT-` and three groups of eight lowercase hex digits.
fn paypal_file(path: &str) -> bool {
    let Some(id) = path.strip_prefix("/v1/notifications/certs/CERT-") else {
        return false;
    };
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 3
        && groups.iter().all(|g| {
            g.len() == 8
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// `/SimpleNotificationService-`, 32 ASCII letters or digits, `.pem`.
fn sns_file(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/SimpleNotificationService-") else {
        return false;
    };
    let Some(id) = name.strip_suffix(".pem") else {
        return false;
    };
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}
