//! UTC timestamps for Alibaba Cloud's RPC APIs (KMS), formatted by jiff.

use std::time::SystemTime;

use jiff::Timestamp;

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds, the fraction dropped), as Alibaba Cloud RPC APIs
/// (KMS) take timestamps. A time outside jiff's range (which ends on 9999-12-30T22:00:00Z, and
/// starts as far before year 1) reads as the nearest end of it.
pub(crate) fn iso8601(t: SystemTime) -> String {
    let ts = Timestamp::try_from(t).unwrap_or(if t < SystemTime::UNIX_EPOCH {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    format!("{ts:.0}")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

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
        // 2038-01-19T03:14:08Z, one second past i32 seconds.
        let t = UNIX_EPOCH + Duration::from_secs(2_147_483_648);
        assert_eq!(iso8601(t), "2038-01-19T03:14:08Z");
    }

    #[test]
    fn fractions_are_dropped_not_rounded() {
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_999);
        assert_eq!(iso8601(t), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn times_out_of_range_clamp() {
        // Before 1970 is a real date, not 1970.
        let t = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(iso8601(t), "1969-12-31T23:59:59Z");
        // Past jiff's range (where the platform's SystemTime reaches so far) reads as its ends.
        if let Some(t) = UNIX_EPOCH.checked_add(Duration::from_secs(300_000_000_000)) {
            assert_eq!(iso8601(t), "9999-12-30T22:00:00Z");
        }
        if let Some(t) = UNIX_EPOCH.checked_sub(Duration::from_secs(400_000_000_000)) {
            assert_eq!(iso8601(t), format!("{:.0}", Timestamp::MIN));
            assert!(iso8601(t).starts_with("-009999-01-0"), "{}", iso8601(t));
        }
    }
}
