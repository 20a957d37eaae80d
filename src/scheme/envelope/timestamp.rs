//! [`TimestampFormat`]: how a sender writes the time it signed (Unix seconds, Unix
//! milliseconds, or an RFC 3339 date and time); and [`Tolerance`], how far from now it may be.

use std::{fmt, time::Duration};

/// How far a signed timestamp may be from the receiver's clock, either way: what every
/// scheme's `tolerance` builder sets, held within 1 second to 7 days.
///
/// Below a second, a delivery signed and checked across a second boundary would fail; beyond
/// a week, a captured request stays replayable for longer than any replay guard remembers it
/// (its `done_ttl` is at most 30 days, 10 minutes by default), and `Duration::MAX` would turn
/// the check off.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tolerance(Duration);

impl Tolerance {
    const SHORTEST: Duration = Duration::from_secs(1);
    const LONGEST: Duration = Duration::from_secs(7 * 24 * 60 * 60);

    /// `tolerance`, held between 1 second and 7 days.
    pub(crate) fn new(tolerance: Duration) -> Self {
        Self(tolerance.clamp(Self::SHORTEST, Self::LONGEST))
    }

    /// The window itself, for checks finer than a second (Linear's milliseconds).
    pub(crate) fn duration(self) -> Duration {
        self.0
    }

    /// Whether a timestamp of `signed` seconds is close enough to `now` (an edge passes).
    pub(crate) fn admits(self, now: u64, signed: u64) -> bool {
        now.abs_diff(signed) <= self.0.as_secs()
    }
}

impl fmt::Debug for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a signed timestamp is written, in its header or in the signature header's `t=` entry.
///
/// Whatever the format, the timestamp is signed as the exact text received, and checked
/// against the scheme's tolerance to the second.
///
/// ```
/// use tower_webhook::{scheme::TimestampFormat, HmacScheme};
///
/// // Webflow: `x-webflow-timestamp: 1663849649733`, in milliseconds.
/// let scheme = HmacScheme::sha256("client secret")
///     .header("x-webflow-signature")
///     .timestamp_header("x-webflow-timestamp")
///     .timestamp_format(TimestampFormat::UnixMilliseconds)
///     .signed_payload("{timestamp}:{body}");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampFormat {
    /// Decimal seconds since the Unix epoch: `1700000000` (Stripe, Slack, Standard Webhooks).
    #[default]
    UnixSeconds,
    /// Decimal milliseconds since the Unix epoch: `1700000000000` (Webflow, HubSpot, WorkOS).
    UnixMilliseconds,
    /// An RFC 3339 date and time, with optional fractional seconds and a `Z` or `±hh:mm`
    /// offset: `2023-05-11T13:44:00.123456789Z` (Twitch, Zendesk, Box).
    Rfc3339,
}

impl TimestampFormat {
    /// The whole seconds since the Unix epoch that `text` names, or `None` if it is not
    /// in this format (or before 1970).
    pub(crate) fn seconds(self, text: &[u8]) -> Option<u64> {
        match self {
            Self::UnixSeconds => decimal(text),
            Self::UnixMilliseconds => decimal(text).map(|millis| millis / 1000),
            Self::Rfc3339 => rfc3339(text),
        }
    }

    /// `unix_seconds` written in this format, as a sender would.
    pub(crate) fn render(self, unix_seconds: u64) -> String {
        match self {
            Self::UnixSeconds => unix_seconds.to_string(),
            Self::UnixMilliseconds => unix_seconds.saturating_mul(1000).to_string(),
            Self::Rfc3339 => {
                let (days, time) = (unix_seconds / 86_400, unix_seconds % 86_400);
                let (year, month, day) = civil_from_days(days);
                format!(
                    "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
                    time / 3600,
                    time / 60 % 60,
                    time % 60
                )
            }
        }
    }
}

fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, RFC 3339's `date-time`.
fn rfc3339(text: &[u8]) -> Option<u64> {
    let number = |from: usize, len: usize| -> Option<u64> { decimal(text.get(from..from + len)?) };
    let at = |i: usize| text.get(i).copied();
    if at(4)? != b'-' || at(7)? != b'-' || !matches!(at(10)?, b'T' | b't') {
        return None;
    }
    if at(13)? != b':' || at(16)? != b':' {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 12 {
            return None;
        }
        rest = fraction.get(digits..)?;
    }
    let offset: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = decimal(&[*h1, *h2])?;
            let minutes = decimal(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = i64::try_from(hours * 3600 + minutes * 60).ok()?;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        // 60 is a leap second.
        && second <= 60;
    if !valid || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(i64::try_from(local).ok()?.checked_sub(offset)?).ok()
}

fn is_leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date on or after it (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tolerance_is_held_between_a_second_and_a_week() {
        let week = 7 * 24 * 60 * 60;
        let max = Tolerance::new(Duration::MAX);
        assert!(max.admits(10 * week, 9 * week));
        assert!(!max.admits(10 * week, 9 * week - 1));
        let zero = Tolerance::new(Duration::ZERO);
        assert!(zero.admits(100, 101) && zero.admits(101, 100));
        assert!(!zero.admits(100, 102));
        assert_eq!(format!("{max:?}"), "604800s");
    }

    fn rfc(text: &str) -> Option<u64> {
        TimestampFormat::Rfc3339.seconds(text.as_bytes())
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc("2023-05-11T13:44:00Z"), Some(1_683_812_640));
        assert_eq!(rfc("2023-05-11T13:44:00.123456789Z"), Some(1_683_812_640));
        assert_eq!(rfc("2023-05-11t13:44:00.5z"), Some(1_683_812_640));
        // The same instant written with offsets.
        assert_eq!(rfc("2023-05-11T06:44:00-07:00"), Some(1_683_812_640));
        assert_eq!(rfc("2023-05-11T19:14:00+05:30"), Some(1_683_812_640));
        assert_eq!(rfc("2024-02-29T23:59:60Z"), Some(1_709_251_200));
    }

    #[test]
    fn rfc3339_refuses_anything_else() {
        for bad in [
            "",
            "2023-05-11",
            "2023-05-11T13:44:00",
            "2023-05-11 13:44:00Z",
            "2023-13-11T13:44:00Z",
            "2023-02-29T13:44:00Z",
            "2023-05-11T24:00:00Z",
            "2023-05-11T13:60:00Z",
            "2023-05-11T13:44:00.Z",
            "2023-05-11T13:44:00+0700",
            "2023-05-11T13:44:00+24:00",
            "1969-12-31T23:59:59Z",
            "+023-05-11T13:44:00Z",
            "2023-05-11T13:44:00ZZ",
            "2023-05-11T13:44:00.1234567890123Z",
        ] {
            assert_eq!(rfc(bad), None, "{bad}");
        }
    }

    #[test]
    fn render_is_what_seconds_reads() {
        for format in [
            TimestampFormat::UnixSeconds,
            TimestampFormat::UnixMilliseconds,
            TimestampFormat::Rfc3339,
        ] {
            for seconds in [0, 951_782_400, 1_683_812_640, 4_102_444_800] {
                let text = format.render(seconds);
                assert_eq!(format.seconds(text.as_bytes()), Some(seconds), "{text}");
            }
        }
        assert_eq!(
            TimestampFormat::Rfc3339.render(1_683_812_640),
            "2023-05-11T13:44:00Z"
        );
        assert_eq!(
            TimestampFormat::UnixMilliseconds.render(1_663_849_649),
            "1663849649000"
        );
    }

    #[test]
    fn milliseconds_are_truncated_to_seconds() {
        let millis = TimestampFormat::UnixMilliseconds;
        assert_eq!(millis.seconds(b"1663849649733"), Some(1_663_849_649));
        assert_eq!(millis.seconds(b"-1"), None);
        assert_eq!(millis.seconds(b"99999999999999999999"), None);
    }
}
