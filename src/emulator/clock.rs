//! Wall-clock time for the emulator: Unix milliseconds (task due times survive restarts) and
//! the two date formats 1cloud prints. Depends on nothing.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Server and action dates: ISO-8601 with the Moscow offset, e.g.
/// `2023-05-13T16:57:15.495000+03:00` (docs/1cloud-api.md §1).
pub(crate) fn server_date(ms: u64) -> String {
    let local = ms + 3 * 3_600_000;
    let (date, time, millis) = split(local);
    format!("{date}T{time}.{millis:03}000+03:00")
}

/// DNS dates: no offset, e.g. `2019-02-02T21:17:11.64`.
pub(crate) fn dns_date(ms: u64) -> String {
    let (date, time, millis) = split(ms + 3 * 3_600_000);
    format!("{date}T{time}.{:02}", millis / 10)
}

/// Unix milliseconds of a date in the [`server_date`] format (any `±HH:MM` offset); `None` if
/// `s` is not one.
pub(crate) fn parse_server_date(s: &str) -> Option<u64> {
    let (date, rest) = s.split_once('T')?;
    let number = |t: &str| t.parse::<i64>().ok();
    let mut ymd = date.splitn(3, '-').map(number);
    let (year, month, day) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let split = rest.rfind(['+', '-'])?;
    let (time, offset) = rest.split_at(split);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.splitn(3, ':').map(number);
    let (h, min, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let millis = number(&format!("{:0<3}", fraction.get(..3).unwrap_or(fraction)))?;
    let (sign, offset) = offset.split_at(1);
    let (oh, om) = offset.split_once(':')?;
    let offset_min = (number(oh)? * 60 + number(om)?) * if sign == "-" { -1 } else { 1 };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + h * 3600 + min * 60 + sec - offset_min * 60;
    u64::try_from(secs * 1000 + millis).ok()
}

/// Howard Hinnant's `days_from_civil`: (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn split(ms: u64) -> (String, String, u64) {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
        ms % 1000,
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2023-05-13T13:57:15.495Z is 16:57:15.495 in Moscow.
        assert_eq!(
            server_date(1_683_986_235_495),
            "2023-05-13T16:57:15.495000+03:00"
        );
        // The DNS sample of docs/1cloud-api.md §1, read as Moscow time.
        assert_eq!(dns_date(1_549_131_431_640), "2019-02-02T21:17:11.64");
        assert_eq!(server_date(0), "1970-01-01T03:00:00.000000+03:00");
        // A leap day.
        assert_eq!(&server_date(1_709_164_800_000)[..10], "2024-02-29");
    }

    #[test]
    fn server_dates_read_back() {
        for ms in [0, 1_683_986_235_495, 1_709_164_800_000, 4_102_444_799_999] {
            assert_eq!(parse_server_date(&server_date(ms)), Some(ms), "{ms}");
        }
        assert_eq!(parse_server_date("2023-05-13T13:57:15Z"), None, "no offset");
        assert_eq!(
            parse_server_date("2023-05-13T10:57:15.4-03:00"),
            Some(1_683_986_235_400)
        );
        assert_eq!(parse_server_date("yesterday"), None);
    }
}
