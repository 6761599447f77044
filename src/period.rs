//! Calendar periods and run ids. A period is a calendar month in UTC, `[start, end)`.

use chrono::{Datelike, NaiveDate, Utc};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|_| Period { year, month })
    }

    pub fn start(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("validated period")
    }

    /// First day of the next month: the exclusive end of the period.
    pub fn end_exclusive(&self) -> NaiveDate {
        self.next().start()
    }

    pub fn next(&self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(&self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        day >= self.start() && day < self.end_exclusive()
    }

    /// Every calendar day of the period, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        days_between(self.start(), self.end_exclusive())
    }

    /// Of `snapshot_days` (sorted): those in the period, and the period's days missing from
    /// them.
    pub fn split_days(&self, snapshot_days: &[NaiveDate]) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
        let present: Vec<NaiveDate> = snapshot_days
            .iter()
            .copied()
            .filter(|d| self.contains(*d))
            .collect();
        let missing = self
            .days()
            .into_iter()
            .filter(|d| !present.contains(d))
            .collect();
        (present, missing)
    }

    /// The period containing `day`.
    pub fn of(day: NaiveDate) -> Period {
        Period {
            year: day.year(),
            month: day.month(),
        }
    }
}

/// Days in `[from, to)`.
pub fn days_between(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d < to).collect()
}

/// The days of an inclusive range given on the command line (`--from`, `--to`), or why it is
/// not a range: a `to` before `from` selects no day, which is a usage error, never zero days.
pub fn inclusive_days(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, String> {
    if to < from {
        return Err(format!(
            "--to {to} is before --from {from}: the range selects no day; give the first day \
             with --from and the last (inclusive) with --to"
        ));
    }
    Ok(days_between(from, to + chrono::Duration::days(1)))
}

/// Sorted days written as compact inclusive ranges: `2026-09-01 to 2026-09-10, 2026-09-15`.
pub fn compact_ranges(days: &[NaiveDate]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j + 1] == days[j] + chrono::Duration::days(1) {
            j += 1;
        }
        out.push(if i == j {
            days[i].to_string()
        } else {
            format!("{} to {}", days[i], days[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a period; expected YYYY-MM, for example 2026-10");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Period::new(year, month).ok_or_else(bad)
    }
}

pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date; expected YYYY-MM-DD, for example 2026-10-31"))
}

/// A run id is the UTC time the run started, `20261101T060000Z`: it sorts, and is never reused
/// because a second run in the same second waits for the next one (`Store::fresh_run_id`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(String);

impl RunId {
    pub fn fresh() -> RunId {
        RunId(Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
    }

    pub fn parse(s: &str) -> Result<RunId, String> {
        let ok =
            s.len() == 16 && chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").is_ok();
        if ok {
            Ok(RunId(s.to_string()))
        } else {
            Err(format!(
                "'{s}' is not a run id; expected UTC time like 20261101T060000Z"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_bounds() {
        let p: Period = "2026-12".parse().unwrap();
        assert_eq!(p.start().to_string(), "2026-12-01");
        assert_eq!(p.end_exclusive().to_string(), "2027-01-01");
        assert_eq!(p.days().len(), 31);
        assert_eq!(p.previous().to_string(), "2026-11");
        assert!("2026-13".parse::<Period>().is_err());
        assert!("2026-1".parse::<Period>().is_err());
    }

    #[test]
    fn ranges_are_compact_and_inverted_ranges_refused() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let days = [
            d("2026-09-01"),
            d("2026-09-02"),
            d("2026-09-03"),
            d("2026-09-05"),
        ];
        assert_eq!(
            compact_ranges(&days),
            "2026-09-01 to 2026-09-03, 2026-09-05"
        );
        assert_eq!(compact_ranges(&[]), "");
        assert_eq!(
            inclusive_days(d("2026-09-01"), d("2026-09-01"))
                .unwrap()
                .len(),
            1
        );
        let e = inclusive_days(d("2026-09-10"), d("2026-09-01")).unwrap_err();
        assert!(
            e.contains("--to 2026-09-01 is before --from 2026-09-10"),
            "{e}"
        );
    }

    #[test]
    fn run_id_format() {
        assert!(RunId::parse("20261101T060000Z").is_ok());
        assert!(RunId::parse("2026-11-01").is_err());
        assert_eq!(RunId::fresh().as_str().len(), 16);
    }
}
