//! Timestamps and identifiers in the formats Kusto emits.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::kusto::calendar::civil_from_days;

/// The current UTC time as Kusto writes datetimes: `2023-12-03T13:17:49.4832956Z`.
pub fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_datetime(since.as_secs(), since.subsec_nanos())
}

/// Formats seconds + nanoseconds since the Unix epoch with 7 fractional digits (100 ns ticks).
pub fn format_datetime(secs: u64, nanos: u32) -> String {
    // u64::MAX / 86,400 is far below i64::MAX: the day count converts exactly.
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:07}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        nanos / 100
    )
}

/// A fresh random GUID in Kusto's lowercase hyphenated form.
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_datetime(0, 0), "1970-01-01T00:00:00.0000000Z");
        // 2023-12-03T13:17:49.4832956Z, from the recorded QueryStatus fixture.
        assert_eq!(
            format_datetime(1_701_609_469, 483_295_600),
            "2023-12-03T13:17:49.4832956Z"
        );
        assert_eq!(
            format_datetime(951_782_400, 0),
            "2000-02-29T00:00:00.0000000Z"
        );
    }

    #[test]
    fn guids_are_lowercase_and_distinct() {
        let (a, b) = (new_guid(), new_guid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a, a.to_lowercase());
    }
}
