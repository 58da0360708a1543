//! UTC timestamps with the text forms CloudTrail uses.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

use crate::ModelError;

/// A UTC instant with one-second precision, the precision of every CloudTrail timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(i64);

impl UtcTime {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Self = Self(0);

    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    ///
    /// # Errors
    /// [`ModelError::Time`] when the instant is outside the years -9999..=9999.
    pub fn from_epoch_seconds(secs: i64) -> Result<Self, ModelError> {
        Timestamp::from_second(secs)
            .map(|_| Self(secs))
            .map_err(|_| ModelError::Time(secs.to_string()))
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    #[must_use]
    pub fn epoch_seconds(self) -> i64 {
        self.0
    }

    /// This instant moved by `secs` seconds, saturating at the representable range.
    #[must_use]
    pub fn plus_seconds(self, secs: i64) -> Self {
        let moved = self.0.saturating_add(secs);
        let lo = Timestamp::MIN.as_second();
        let hi = Timestamp::MAX.as_second();
        Self(moved.clamp(lo, hi))
    }

    fn civil(self) -> DateTime {
        // In range by construction.
        TimeZone::UTC.to_datetime(Timestamp::from_second(self.0).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, the form of `digestStartTime` and of `validate-logs` output.
    #[must_use]
    pub fn to_iso(self) -> String {
        let d = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    }

    /// `YYYYMMDDTHHMMSSZ`, the form in digest file names.
    #[must_use]
    pub fn to_compact(self) -> String {
        let d = self.civil();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    }

    /// `YYYYMMDDTHHMMZ`, the form in log file names (minutes, no seconds).
    #[must_use]
    pub fn to_compact_minutes(self) -> String {
        let d = self.civil();
        format!(
            "{:04}{:02}{:02}T{:02}{:02}Z",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minute()
        )
    }

    /// `YYYY/MM/DD`, the date folders of the CloudTrail bucket layout.
    #[must_use]
    pub fn to_date_path(self) -> String {
        let d = self.civil();
        format!("{:04}/{:02}/{:02}", d.year(), d.month(), d.day())
    }

    /// The start of this instant's UTC day.
    #[must_use]
    pub fn start_of_day(self) -> Self {
        let d = self.civil();
        Self::from_civil(d.date(), Time::midnight()).unwrap_or(self)
    }

    fn from_civil(date: Date, time: Time) -> Option<Self> {
        TimeZone::UTC
            .to_timestamp(DateTime::from_parts(date, time))
            .ok()
            .map(|ts| Self(ts.as_second()))
    }

    fn from_fields(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<Self> {
        let date = Date::new(
            i16::try_from(y).ok()?,
            i8::try_from(mo).ok()?,
            i8::try_from(d).ok()?,
        )
        .ok()?;
        let time = Time::new(
            i8::try_from(h).ok()?,
            i8::try_from(mi).ok()?,
            i8::try_from(s).ok()?,
            0,
        )
        .ok()?;
        Self::from_civil(date, time)
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`.
    ///
    /// # Errors
    /// [`ModelError::Time`] for any other text.
    pub fn parse_iso(s: &str) -> Result<Self, ModelError> {
        let err = || ModelError::Time(s.to_owned());
        let b = s.as_bytes();
        let shape = b.len() == 20
            && b.get(4) == Some(&b'-')
            && b.get(7) == Some(&b'-')
            && b.get(10) == Some(&b'T')
            && b.get(13) == Some(&b':')
            && b.get(16) == Some(&b':')
            && b.get(19) == Some(&b'Z');
        if !shape {
            return Err(err());
        }
        let n = |r: std::ops::Range<usize>| digits(s.get(r)?);
        let f = (|| {
            Self::from_fields(
                n(0..4)?,
                n(5..7)?,
                n(8..10)?,
                n(11..13)?,
                n(14..16)?,
                n(17..19)?,
            )
        })();
        f.ok_or_else(err)
    }

    /// Parses exactly `YYYYMMDDTHHMMSSZ`.
    ///
    /// # Errors
    /// [`ModelError::Time`] for any other text.
    pub fn parse_compact(s: &str) -> Result<Self, ModelError> {
        let err = || ModelError::Time(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
            return Err(err());
        }
        let n = |r: std::ops::Range<usize>| digits(s.get(r)?);
        let f = (|| {
            Self::from_fields(
                n(0..4)?,
                n(4..6)?,
                n(6..8)?,
                n(9..11)?,
                n(11..13)?,
                n(13..15)?,
            )
        })();
        f.ok_or_else(err)
    }

    /// Parses a user-supplied time the way `aws cloudtrail validate-logs` does for
    /// `--start-time` and `--end-time`.
    ///
    /// Accepts an ISO-8601 date, or a date and time separated by `T` or a space, in extended
    /// (`2026-01-10T05:21:42`) or basic (`20260110T052142`) form, with optional seconds, an
    /// optional fraction (dropped) and an optional `Z` or `±HH[:MM]` suffix. As in the AWS CLI
    /// (dateutil, then `replace(tzinfo=UTC)`), an offset is *ignored*, not applied: the wall
    /// clock time is taken as UTC.
    ///
    /// # Errors
    /// [`ModelError::Time`] for anything else.
    pub fn parse_user(s: &str) -> Result<Self, ModelError> {
        parse_user_inner(s.trim()).ok_or_else(|| ModelError::Time(s.to_owned()))
    }
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_user_inner(s: &str) -> Option<UtcTime> {
    let (date_part, time_part) = match s.find(['T', 't', ' ']) {
        Some(i) => (s.get(..i)?, Some(s.get(i + 1..)?.trim_start())),
        None => (s, None),
    };
    let (y, mo, d) = if date_part.len() == 8 {
        (
            digits(date_part.get(0..4)?)?,
            digits(date_part.get(4..6)?)?,
            digits(date_part.get(6..8)?)?,
        )
    } else {
        let mut it = date_part.split('-');
        let y = it.next()?;
        let mo = it.next()?;
        let d = it.next()?;
        if it.next().is_some()
            || y.len() != 4
            || mo.is_empty()
            || mo.len() > 2
            || d.is_empty()
            || d.len() > 2
        {
            return None;
        }
        (digits(y)?, digits(mo)?, digits(d)?)
    };
    let (h, mi, sec) = match time_part {
        None => (0, 0, 0),
        Some(t) => {
            // Drop the zone designator: the CLI replaces the zone with UTC.
            let t = strip_zone(t)?;
            // Drop a fraction of a second.
            let t = t.split(['.', ',']).next()?;
            if t.contains(':') {
                let mut it = t.split(':');
                let h = it.next()?;
                let mi = it.next()?;
                let sec = it.next().unwrap_or("0");
                if it.next().is_some() || h.len() > 2 || mi.len() != 2 || sec.len() > 2 {
                    return None;
                }
                (digits(h)?, digits(mi)?, digits(sec)?)
            } else {
                match t.len() {
                    2 => (digits(t)?, 0, 0),
                    4 => (digits(t.get(0..2)?)?, digits(t.get(2..4)?)?, 0),
                    6 => (
                        digits(t.get(0..2)?)?,
                        digits(t.get(2..4)?)?,
                        digits(t.get(4..6)?)?,
                    ),
                    _ => return None,
                }
            }
        }
    };
    UtcTime::from_fields(y, mo, d, h, mi, sec)
}

fn strip_zone(t: &str) -> Option<&str> {
    if let Some(rest) = t.strip_suffix(['Z', 'z']) {
        return Some(rest.trim_end());
    }
    if let Some(rest) = t.strip_suffix("UTC") {
        return Some(rest.trim_end());
    }
    // `+HH`, `+HHMM` or `+HH:MM` (or `-`), after the clock digits.
    if let Some(i) = t.rfind(['+', '-']) {
        let zone = t.get(i + 1..)?;
        let ok = matches!(zone.len(), 2 | 4 | 5)
            && zone
                .bytes()
                .enumerate()
                .all(|(k, b)| b.is_ascii_digit() || (k == 2 && b == b':'));
        return ok.then(|| t.get(..i)).flatten().map(str::trim_end);
    }
    Some(t)
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> UtcTime {
        UtcTime::parse_iso(s).unwrap()
    }

    #[test]
    fn iso_round_trip() {
        let x = t("2026-01-10T01:05:00Z");
        assert_eq!(x.epoch_seconds(), 1_768_007_100);
        assert_eq!(x.to_iso(), "2026-01-10T01:05:00Z");
        assert_eq!(x.to_compact(), "20260110T010500Z");
        assert_eq!(x.to_compact_minutes(), "20260110T0105Z");
        assert_eq!(x.to_date_path(), "2026/01/10");
        assert_eq!(UtcTime::parse_compact("20260110T010500Z").unwrap(), x);
    }

    #[test]
    fn strict_forms_reject_others() {
        for bad in [
            "2026-01-10T01:05:00",
            "2026-1-10T01:05:00Z",
            "2026-13-10T01:05:00Z",
            "x",
        ] {
            assert!(UtcTime::parse_iso(bad).is_err(), "{bad}");
        }
        for bad in ["20260110T010500", "2026011T0105000Z", "20260230T000000Z"] {
            assert!(UtcTime::parse_compact(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_forms() {
        let base = t("2026-01-10T05:21:42Z");
        for ok in [
            "2026-01-10T05:21:42Z",
            "2026-01-10T05:21:42",
            "2026-01-10 05:21:42",
            "2026-01-10T05:21:42.123Z",
            "20260110T052142Z",
            "2026-01-10T05:21:42+02:00",
            "2026-01-10T05:21:42-0700",
        ] {
            assert_eq!(UtcTime::parse_user(ok).unwrap(), base, "{ok}");
        }
        assert_eq!(
            UtcTime::parse_user("2026-01-10").unwrap(),
            t("2026-01-10T00:00:00Z")
        );
        assert_eq!(
            UtcTime::parse_user("2026-01-10T05:21").unwrap(),
            t("2026-01-10T05:21:00Z")
        );
        for bad in [
            "garbage",
            "",
            "2026-01-32",
            "2026-01-10T25:00:00Z",
            "10/01/2026",
        ] {
            assert!(UtcTime::parse_user(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn day_start() {
        assert_eq!(
            t("2026-01-10T05:21:42Z").start_of_day(),
            t("2026-01-10T00:00:00Z")
        );
    }
}
