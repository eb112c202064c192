//! UTC calendar arithmetic without a time-zone database (OSS only ever speaks UTC): the V4
//! `x-oss-date` form the server checks, and the millisecond form OSS XML writes. RFC 1123 dates
//! (`Date`, `Last-Modified`) are `httpdate`'s.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// (year, month, day, hour, minute, second) of `t` in UTC; times before 1970 read as 1970.
fn utc_parts(t: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil: exact for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let small = |v: u64| u32::try_from(v).unwrap_or(0);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
        small(rem / 3600),
        small(rem % 3600 / 60),
        small(rem % 60),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (days-from-civil, the inverse of the
/// conversion in [`utc_parts`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses `YYYYMMDDTHHMMSSZ` (the V4 `x-oss-date` form, UTC). `None` for any other text, an
/// impossible date, or a time before 1970.
pub(crate) fn parse_iso8601_basic(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(range)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let year = i64::from(digits(0..4)?);
    let (month, day) = (digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// `YYYY-MM-DDTHH:MM:SS.000Z`, as OSS XML writes times (ListParts, RequestTimeTooSkewed).
pub(crate) fn iso8601_millis(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `YYYYMMDDTHHMMSSZ`, what a V4 client sends, to round-trip the parser.
    fn iso8601_basic(t: SystemTime) -> String {
        let (y, mo, d, h, mi, s) = utc_parts(t);
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }

    #[test]
    fn known_dates() {
        assert_eq!(iso8601_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56Z, a leap day.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(iso8601_millis(t), "2024-02-29T12:34:56.000Z");
        // 2000-03-01T00:00:00Z.
        let t = UNIX_EPOCH + Duration::from_secs(951_868_800);
        assert_eq!(iso8601_millis(t), "2000-03-01T00:00:00.000Z");
    }

    #[test]
    fn basic_form_round_trips_and_refuses_impossible_dates() {
        for secs in [0, 951_868_800, 1_709_210_096, 4_102_444_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_iso8601_basic(&iso8601_basic(t)), Some(t), "{secs}");
        }
        assert_eq!(
            parse_iso8601_basic("20240229T123456Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_709_210_096))
        );
        for bad in [
            "",
            "20230229T000000Z",
            "20241301T000000Z",
            "20240100T000000Z",
            "20240101T240000Z",
            "20240101T006000Z",
            "20240101T000060Z",
            "20240101 000000Z",
            "20240101T000000",
            "2024-1-01T00000Z",
            "+0240101T000000Z",
            "19691231T235959Z",
            "20240101T000000Z0",
        ] {
            assert_eq!(parse_iso8601_basic(bad), None, "{bad:?}");
        }
    }
}
