//! Dates and durations in the exact text forms FreeSWITCH prints them.
//!
//! The mock has no time zone database: `Event-Date-Local` and the `created` column use
//! UTC as the local zone, which is what a FreeSWITCH host configured for UTC prints.

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A calendar date and time of day, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Thursday (1970-01-01 was a Thursday).
    weekday: usize,
}

/// Splits seconds since the Unix epoch into a civil UTC date (Howard Hinnant's algorithm,
/// so no calendar crate is needed for one conversion).
pub(crate) fn civil(epoch_secs: u64) -> Civil {
    let days = (epoch_secs / 86_400) as i64;
    let rem = epoch_secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        weekday: days.rem_euclid(7) as usize,
    }
}

/// `%Y-%m-%d %T`, as in `Event-Date-Local` and the `created` column of `show channels`.
pub(crate) fn local_date(epoch_us: u64) -> String {
    let c = civil(epoch_us / 1_000_000);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// `switch_rfc822_date`: `Wed, 01 Jan 2025 00:00:00 GMT`.
pub(crate) fn rfc822_date(epoch_us: u64) -> String {
    let c = civil(epoch_us / 1_000_000);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[c.weekday],
        c.day,
        MONTHS[(c.month - 1) as usize],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `switch_core_measure_time` rendered as `status` and HEARTBEAT `Up-Time` print it:
/// `0 years, 2 days, 3 hours, 4 minutes, 5 seconds, 678 milliseconds, 901 microseconds`.
pub(crate) fn uptime_text(uptime_us: u64) -> String {
    let us = uptime_us % 1000;
    let ms = uptime_us / 1000 % 1000;
    let total_secs = uptime_us / 1_000_000;
    let sec = total_secs % 60;
    let min = total_secs / 60 % 60;
    let hr = total_secs / 3600 % 24;
    let days_total = total_secs / 86_400;
    let day = days_total % 365;
    let yr = days_total / 365;
    format!(
        "{yr} year{}, {day} day{}, {hr} hour{}, {min} minute{}, {sec} second{}, {ms} millisecond{}, {us} microsecond{}",
        plural(yr),
        plural(day),
        plural(hr),
        plural(min),
        plural(sec),
        plural(ms),
        plural(us)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_captures() {
        // cgrates capture: Event-Date-Timestamp 1436280794030635 = 2015-07-07 14:53:14 GMT.
        assert_eq!(rfc822_date(1_436_280_794_030_635), "Tue, 07 Jul 2015 14:53:14 GMT");
        assert_eq!(local_date(1_436_280_794_030_635), "2015-07-07 14:53:14");
        assert_eq!(rfc822_date(1_735_689_600_123_456), "Wed, 01 Jan 2025 00:00:00 GMT");
        assert_eq!(rfc822_date(951_782_400_000_000), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn uptime_uses_singulars_for_one() {
        let us = ((2 * 86_400 + 3 * 3600 + 4 * 60 + 5) * 1_000_000) + 678_901;
        assert_eq!(
            uptime_text(us),
            "0 years, 2 days, 3 hours, 4 minutes, 5 seconds, 678 milliseconds, 901 microseconds"
        );
        let one = ((366 * 86_400 + 3600 + 60 + 1) * 1_000_000) + 1001;
        assert_eq!(
            uptime_text(one),
            "1 year, 1 day, 1 hour, 1 minute, 1 second, 1 millisecond, 1 microsecond"
        );
    }
}
