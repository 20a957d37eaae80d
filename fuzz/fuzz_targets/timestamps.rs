//! Every `TimestampFormat` (Unix seconds, milliseconds, RFC 3339), through an `HmacScheme`
//! with the smallest tolerance the crate allows (1 second) and a fixed clock, so the verdict
//! pins the instant the verifier read:
//!
//! - a timestamp the signing side writes for instant `t` reads back as exactly `t` (accepted
//!   at `t`, out of tolerance two seconds either side), for every `t` the format can write;
//! - any header text is read as a parser written here from the format's definition reads it:
//!   refused as invalid when that parser refuses it, otherwise accepted at exactly that
//!   instant; never a panic.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use tower_webhook::{
    scheme::{Scheme, TimestampFormat, Verifier},
    sign::Message,
    HmacScheme, Rejection,
};

const FORMATS: [TimestampFormat; 3] = [
    TimestampFormat::UnixSeconds,
    TimestampFormat::UnixMilliseconds,
    TimestampFormat::Rfc3339,
];

fn scheme(format: TimestampFormat, now: u64) -> Option<HmacScheme> {
    let at = UNIX_EPOCH.checked_add(Duration::from_secs(now))?;
    Some(
        HmacScheme::sha256("k")
            .header("x-sig")
            .timestamp_header("x-ts")
            .timestamp_format(format)
            .signed_payload("{timestamp}.{body}")
            .tolerance(Duration::from_secs(1))
            .clock(move || -> SystemTime { at }),
    )
}

/// The reason `scheme` gives the request with these headers and an empty body; `None` if
/// accepted.
fn verdict(scheme: &HmacScheme, headers: &http::HeaderMap) -> Option<&'static str> {
    let mut request = Request::post("/").body(()).unwrap();
    *request.headers_mut() = headers.clone();
    let (parts, ()) = request.into_parts();
    let result = scheme
        .verifier(&parts)
        .and_then(|mut verifier| verifier.finish(b""));
    result.err().as_ref().map(Rejection::reason)
}

/// The instant `scheme` reads from `headers`: accepted at `at` and refused two seconds either
/// side, with a tolerance of one second, which only a reading of exactly `at` passes.
fn accepted_exactly_at(format: TimestampFormat, headers: &http::HeaderMap, at: u64, text: &str) {
    let Some(exact) = scheme(format, at) else {
        return;
    };
    assert_eq!(
        verdict(&exact, headers),
        None,
        "{format:?} {text:?} not accepted at {at}"
    );
    if let Some(later) = at.checked_add(2).and_then(|after| scheme(format, after)) {
        assert_eq!(
            verdict(&later, headers),
            Some("timestamp_out_of_tolerance"),
            "{format:?} {text:?} accepted two seconds after {at}"
        );
    }
    if let Some(earlier) = at.checked_sub(2).and_then(|before| scheme(format, before)) {
        assert_eq!(
            verdict(&earlier, headers),
            Some("timestamp_out_of_tolerance"),
            "{format:?} {text:?} accepted two seconds before {at}"
        );
    }
}

/// The largest instant each format writes so that it reads back: at most 19 digits (seconds
/// and milliseconds), a four-digit year (RFC 3339).
fn writable(format: TimestampFormat, t: u64) -> bool {
    match format {
        TimestampFormat::UnixSeconds => t < 10_000_000_000_000_000_000,
        TimestampFormat::UnixMilliseconds => t < 10_000_000_000_000_000,
        _ => t < 253_402_300_800,
    }
}

fuzz_target!(|data: &[u8]| {
    let [which, mode, rest @ ..] = data else {
        return;
    };
    let format = FORMATS[usize::from(*which) % FORMATS.len()];
    if mode & 1 == 0 {
        // Round trip: what the signing side writes for `t` is read as `t`.
        let mut bytes = [0u8; 8];
        let n = rest.len().min(8);
        bytes[..n].copy_from_slice(&rest[..n]);
        let raw = u64::from_le_bytes(bytes);
        // Mostly instants near now, sometimes anywhere.
        let t = if mode & 2 == 0 {
            1_700_000_000 + raw % 4_000_000_000
        } else {
            raw
        };
        let Some(signer) = scheme(format, 0) else {
            return;
        };
        let headers = signer.sign_message(&Message::new(b"").timestamp(t));
        let text = headers
            .get("x-ts")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let text = text.unwrap_or_default();
        if writable(format, t) {
            assert_eq!(
                read(format, text.as_bytes()),
                Some(t),
                "{format:?} wrote {text:?} for {t}"
            );
            accepted_exactly_at(format, &headers, t, &text);
        } else if let Some(verifier) = scheme(format, t.min(i64::MAX as u64 / 2)) {
            // Past what the format can write: refused, never read as another instant.
            assert_eq!(
                verdict(&verifier, &headers),
                Some("invalid_timestamp"),
                "{format:?} {text:?}"
            );
        }
        return;
    }
    // Any text: read exactly as the format's definition says, or refused as invalid.
    let Ok(value) = HeaderValue::from_bytes(rest) else {
        return;
    };
    let text = value.as_bytes().trim_ascii();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
    mac.update(text);
    mac.update(b".");
    let mut headers = http::HeaderMap::new();
    headers.insert("x-ts", value.clone());
    headers.insert(
        "x-sig",
        HeaderValue::try_from(hex::encode(mac.finalize().into_bytes())).unwrap(),
    );
    let shown = String::from_utf8_lossy(text);
    match read(format, text) {
        Some(at) => accepted_exactly_at(format, &headers, at, &shown),
        None => {
            let Some(any) = scheme(format, 1_700_000_000) else {
                return;
            };
            assert_eq!(
                verdict(&any, &headers),
                Some("invalid_timestamp"),
                "{format:?} {shown:?}"
            );
        }
    }
});

/// The instant `text` names in `format`, by the format's definition, written independently of
/// the crate: whole seconds since the Unix epoch, none before it.
fn read(format: TimestampFormat, text: &[u8]) -> Option<u64> {
    match format {
        TimestampFormat::UnixSeconds => digits(text),
        TimestampFormat::UnixMilliseconds => digits(text).map(|ms| ms / 1000),
        _ => rfc3339(text),
    }
}

/// 1 to 19 ASCII digits (so any value fits a `u64`), nothing else.
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// RFC 3339 `date-time`: `YYYY-MM-DD` `T` `HH:MM:SS`, optional `.` and 1 to 12 digits (the
/// crate's documented bound), then `Z` or `±HH:MM`; `T` and `Z` in either case; second 60
/// (a leap second) allowed.
fn rfc3339(text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    let (date, time) = text.split_once(['T', 't'])?;
    let date: Vec<&str> = date.split('-').collect();
    let [year, month, day] = date[..] else {
        return None;
    };
    let fixed = |s: &str, n: usize| (s.len() == n).then(|| digits(s.as_bytes())).flatten();
    let (year, month, day) = (fixed(year, 4)?, fixed(month, 2)?, fixed(day, 2)?);
    let clock = time.get(..8)?;
    let hms: Vec<&str> = clock.split(':').collect();
    let [hour, minute, second] = hms[..] else {
        return None;
    };
    let (hour, minute, second) = (fixed(hour, 2)?, fixed(minute, 2)?, fixed(second, 2)?);
    let mut rest = time.get(8..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=12).contains(&n) {
            return None;
        }
        rest = &fraction[n..];
    }
    let offset: i64 = if rest == "Z" || rest == "z" {
        0
    } else {
        let sign = match rest.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (h, m) = rest.get(1..)?.split_once(':')?;
        let (h, m) = (fixed(h, 2)?, fixed(m, 2)?);
        if h > 23 || m > 59 {
            return None;
        }
        sign * i64::try_from(h * 3600 + m * 60).ok()?
    };
    let leap = |y: u64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = |y: u64, m: u64| match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if leap(y) => 29,
        _ => 28,
    };
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > month_days(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Counted day by day (years, then months): slow and plainly right.
    let mut days: u64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    days += (1..month).map(|m| month_days(year, m)).sum::<u64>();
    days += day - 1;
    let local = i64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()?;
    u64::try_from(local - offset).ok()
}
