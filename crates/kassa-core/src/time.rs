//! Time as kassa sees it: Unix seconds (Stripe's wire format), read through a [`Clock`] so that
//! tests — and later test clocks — can move it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub type Timestamp = i64;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The machine's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that stands still until moved: for tests that must see a session expire without
/// waiting for it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(start)))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn set(&self, now: Timestamp) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

/// A calendar date-time in UTC, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    /// Seconds into the day.
    pub second: i64,
}

/// Days since 1970-01-01 of a calendar date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

pub fn to_civil(t: Timestamp) -> Civil {
    let (year, month, day) = civil_from_days(t.div_euclid(DAY));
    Civil { year, month, day, second: t.rem_euclid(DAY) }
}

pub fn from_civil(c: Civil) -> Timestamp {
    days_from_civil(c.year, c.month, c.day) * DAY + c.second
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `start` moved forward by `months` calendar months, keeping `anchor_day` (the day of the
/// month billing is anchored on) where the month has it and the month's last day where it does
/// not: Jan 31 → Feb 28 (29 in a leap year) → Mar 31.
pub fn add_months(start: Timestamp, months: u32, anchor_day: u32) -> Timestamp {
    let c = to_civil(start);
    let total = c.year * 12 + i64::from(c.month - 1) + i64::from(months);
    let year = total.div_euclid(12);
    let month = u32::try_from(total.rem_euclid(12)).unwrap_or(0) + 1;
    let day = anchor_day.min(days_in_month(year, month));
    from_civil(Civil { year, month, day, second: c.second })
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    fn ts(y: i64, m: u32, d: u32) -> Timestamp {
        from_civil(Civil { year: y, month: m, day: d, second: 3600 })
    }

    #[test]
    fn round_trips() {
        for t in [0, 951_782_400, 1_795_555_085, 4_102_444_800, -86_400] {
            assert_eq!(from_civil(to_civil(t)), t);
        }
        assert_eq!(to_civil(0), Civil { year: 1970, month: 1, day: 1, second: 0 });
        assert_eq!(to_civil(951_782_400), Civil { year: 2000, month: 2, day: 29, second: 0 });
    }

    #[test]
    fn month_ends_keep_their_anchor() {
        let jan31 = ts(2027, 1, 31);
        let feb = add_months(jan31, 1, 31);
        assert_eq!(to_civil(feb), Civil { year: 2027, month: 2, day: 28, second: 3600 });
        assert_eq!(to_civil(add_months(feb, 1, 31)).day, 31, "back to the 31st in March");
        assert_eq!(to_civil(add_months(ts(2028, 1, 31), 1, 31)).day, 29, "leap year");
        assert_eq!(
            to_civil(add_months(ts(2026, 11, 30), 3, 30)),
            Civil { year: 2027, month: 2, day: 28, second: 3600 }
        );
        assert_eq!(
            to_civil(add_months(ts(2026, 12, 15), 1, 15)),
            Civil { year: 2027, month: 1, day: 15, second: 3600 }
        );
        assert_eq!(
            to_civil(add_months(ts(2028, 2, 29), 12, 29)),
            Civil { year: 2029, month: 2, day: 28, second: 3600 }
        );
    }
}
