//! UTC calendar formatting without a time-zone database (KMS's RPC timestamps are UTC).

use std::time::{SystemTime, UNIX_EPOCH};

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

/// `YYYY-MM-DDTHH:MM:SSZ`, as Alibaba Cloud RPC APIs (KMS) take timestamps.
pub(crate) fn iso8601(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2024-02-29T12:34:56Z, a leap day.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(iso8601(t), "2024-02-29T12:34:56Z");
        // 2000-03-01T00:00:00Z.
        let t = UNIX_EPOCH + Duration::from_secs(951_868_800);
        assert_eq!(iso8601(t), "2000-03-01T00:00:00Z");
    }
}
