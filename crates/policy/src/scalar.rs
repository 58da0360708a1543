//! Typed condition values: decimal numbers, instants, IP networks and booleans.
//!
//! Each parser takes text and allocates nothing, so request values given as strings can be
//! converted while a condition is evaluated.

use std::cmp::Ordering;
use std::net::IpAddr;

/// A decimal number, compared exactly (no floating point): `-12.50` equals `-12.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    negative: bool,
    /// Integer digits without leading zeros.
    int: &'a str,
    /// Fraction digits without trailing zeros.
    frac: &'a str,
}

impl<'a> Decimal<'a> {
    /// Parses `[+-]digits[.digits]` or `[+-].digits`.
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, s.get(1..)?),
            Some(b'+') => (false, s.get(1..)?),
            _ => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        if body.ends_with('.') {
            return None;
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        // Negative zero is zero.
        let negative = negative && !(int.is_empty() && frac.is_empty());
        Some(Self {
            negative,
            int,
            frac,
        })
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac.cmp(other.frac))
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Nanoseconds since 1970-01-01T00:00:00Z.
pub(crate) type Nanos = i128;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Parses a date the way the `Date*` operators accept it: epoch seconds (`1700000000`,
/// optionally with a fraction) or ISO 8601 (`2024-01-02`, `2024-01-02T03:04:05Z`,
/// `2024-01-02T03:04:05.123+01:00`, `2024-01-02T03:04Z`).
pub(crate) fn parse_date(s: &str) -> Option<Nanos> {
    let s = s.trim();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && !s.get(1..)?.contains('-')
    {
        return parse_epoch(s);
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let mut secs = i128::from(days) * 86_400;
    let mut nanos: i128 = 0;
    let mut rest = s.get(10..)?;
    if let Some(t) = rest.strip_prefix(['T', 't', ' ']) {
        let tb = t.as_bytes();
        if tb.len() < 5 || tb.get(2) != Some(&b':') {
            return None;
        }
        let h = num_str(t.get(0..2)?)?;
        let mi = num_str(t.get(3..5)?)?;
        let mut sec = 0;
        let mut r = t.get(5..)?;
        if let Some(x) = r.strip_prefix(':') {
            sec = num_str(x.get(0..2)?)?;
            r = x.get(2..)?;
            if let Some(f) = r.strip_prefix(['.', ',']) {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return None;
                }
                let digits = f.get(..n)?;
                // Keep nanosecond precision; drop the rest.
                for (i, c) in digits.bytes().take(9).enumerate() {
                    let place = 10i128.pow(8 - u32::try_from(i).ok()?);
                    nanos += i128::from(c - b'0') * place;
                }
                r = f.get(n..)?;
            }
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        secs += i128::from(h * 3600 + mi * 60 + sec);
        rest = r;
    }
    match rest {
        "" | "Z" | "z" => {}
        zone => {
            let sign = match zone.as_bytes().first() {
                Some(b'+') => -1,
                Some(b'-') => 1,
                _ => return None,
            };
            let z = zone.get(1..)?;
            let (zh, zm) = match z.len() {
                2 => (num_str(z)?, 0),
                4 => (num_str(z.get(0..2)?)?, num_str(z.get(2..4)?)?),
                5 if z.as_bytes().get(2) == Some(&b':') => {
                    (num_str(z.get(0..2)?)?, num_str(z.get(3..5)?)?)
                }
                _ => return None,
            };
            if zh > 23 || zm > 59 {
                return None;
            }
            secs += i128::from(sign * (zh * 3600 + zm * 60));
        }
    }
    Some(secs * NANOS_PER_SEC + nanos)
}

fn num_str(t: &str) -> Option<i64> {
    if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()) {
        t.parse().ok()
    } else {
        None
    }
}

fn parse_epoch(s: &str) -> Option<Nanos> {
    let d = Decimal::parse(s)?;
    if d.int.len() > 15 {
        return None;
    }
    let whole: i128 = if d.int.is_empty() {
        0
    } else {
        d.int.parse().ok()?
    };
    let mut frac: i128 = 0;
    for (i, c) in d.frac.bytes().take(9).enumerate() {
        frac += i128::from(c - b'0') * 10i128.pow(8 - u32::try_from(i).ok()?);
    }
    let v = whole * NANOS_PER_SEC + frac;
    Some(if d.negative { -v } else { v })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An IPv4 or IPv6 network in CIDR notation; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d[/n]` or `x:y::z[/n]`.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
                    return None;
                }
                let n: u8 = p.parse().ok()?;
                if n > max {
                    return None;
                }
                n
            }
        };
        Some(Self { addr, prefix })
    }

    /// True when `ip` is in this network. IPv4 addresses never match IPv6 networks and the
    /// other way round, except that an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is
    /// compared as IPv4.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `true` / `false`, any letter case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("10"), d("010.000"));
        assert_eq!(d("-0"), d("0"));
        assert!(d("9") < d("10"));
        assert!(d("-10") < d("-9"));
        assert!(d("1.05") < d("1.5"));
        assert!(d(".5") > d("0.49999"));
        assert!(d("123456789012345678901234567890") > d("123456789012345678901234567889"));
        for bad in ["", "-", "1.", "1e3", "x", "1.2.3", " 1"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dates() {
        let n = |s| parse_date(s).unwrap();
        assert_eq!(n("1970-01-01T00:00:00Z"), 0);
        assert_eq!(n("2019-07-16T12:00:00Z"), 1_563_278_400 * NANOS_PER_SEC);
        assert_eq!(n("1563278400"), n("2019-07-16T12:00:00Z"));
        assert_eq!(n("2019-07-16T13:00:00+01:00"), n("2019-07-16T12:00:00Z"));
        assert_eq!(n("2019-07-16T11:00:00-0100"), n("2019-07-16T12:00:00Z"));
        assert_eq!(n("2019-07-16"), n("2019-07-16T00:00:00Z"));
        assert_eq!(n("2019-07-16T12:00Z"), n("2019-07-16T12:00:00Z"));
        assert_eq!(
            n("2019-07-16T12:00:00.5Z") - n("2019-07-16T12:00:00Z"),
            NANOS_PER_SEC / 2
        );
        assert_eq!(n("1563278400.25") - n("1563278400"), NANOS_PER_SEC / 4);
        assert_eq!(n("2000-02-29T00:00:00Z"), 951_782_400 * NANOS_PER_SEC);
        for bad in [
            "",
            "2019-13-01",
            "2019-02-30",
            "2019-07-16T25:00:00Z",
            "yesterday",
            "2019-07-16T12:00:00+5",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        let c = |s| Cidr::parse(s).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(c("203.0.113.0/24").contains(ip("203.0.113.77")));
        assert!(!c("203.0.113.0/24").contains(ip("203.0.114.1")));
        assert!(c("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(c("10.1.2.3").contains(ip("10.1.2.3")));
        assert!(!c("10.1.2.3").contains(ip("10.1.2.4")));
        assert!(c("2001:DB8:1234:5678::/64").contains(ip("2001:db8:1234:5678::1")));
        assert!(!c("2001:DB8:1234:5678::/64").contains(ip("2001:db8:1234:5679::1")));
        assert!(!c("::/0").contains(ip("1.2.3.4")));
        assert!(c("10.0.0.0/8").contains(ip("::ffff:10.9.9.9")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "::/129", "x", "10.0.0.0/"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }
}
