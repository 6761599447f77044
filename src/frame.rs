//! Small typed accessors over polars frames, so KPI code reads as the definition it implements
//! instead of dtype plumbing. Every accessor names the column in its error.

use crate::error::{PolarsContext, Result};
use chrono::NaiveDate;
use polars::prelude::*;

/// Day 0 of polars `Date` columns.
pub const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

pub fn strs(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let c = df.column(name).ctx(format!("column {name}"))?;
    let ca = c.str().ctx(format!("column {name} as text"))?;
    Ok(ca.iter().map(|v| v.map(str::to_string)).collect())
}

/// A text column borrowed from the frame: no copy of its strings (for tables of hundreds of
/// thousands of rows that are only read).
pub fn str_refs<'a>(df: &'a DataFrame, name: &str) -> Result<Vec<Option<&'a str>>> {
    let c = df.column(name).ctx(format!("column {name}"))?;
    let ca = c.str().ctx(format!("column {name} as text"))?;
    Ok(ca.iter().collect())
}

pub fn bools(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    let c = df.column(name).ctx(format!("column {name}"))?;
    Ok(c.bool()
        .ctx(format!("column {name} as boolean"))?
        .iter()
        .collect())
}

pub fn ints(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let c = df.column(name).ctx(format!("column {name}"))?;
    let c = c
        .cast(&DataType::Int64)
        .ctx(format!("column {name} as integer"))?;
    Ok(c.i64()
        .ctx(format!("column {name} as integer"))?
        .iter()
        .collect())
}

pub fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = df.column(name).ctx(format!("column {name}"))?;
    let c = c
        .cast(&DataType::Float64)
        .ctx(format!("column {name} as number"))?;
    Ok(c.f64()
        .ctx(format!("column {name} as number"))?
        .iter()
        .collect())
}

pub fn dates(df: &DataFrame, name: &str) -> Result<Vec<Option<NaiveDate>>> {
    let c = df.column(name).ctx(format!("column {name}"))?;
    Ok(c.date()
        .ctx(format!("column {name} as date"))?
        .as_date_iter()
        .collect())
}

/// Nanosecond timestamps (UTC) of a `Datetime(ns)` column.
pub fn timestamps_ns(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let c = df.column(name).ctx(format!("column {name}"))?;
    let c = c
        .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
        .ctx(format!("column {name} as timestamp"))?;
    Ok(c.datetime()
        .ctx(format!("column {name} as timestamp"))?
        .phys
        .iter()
        .collect())
}

pub fn date_column(name: &str, values: &[Option<NaiveDate>]) -> Column {
    let days: Vec<Option<i32>> = values
        .iter()
        .map(|d| d.map(|d| (d - EPOCH).num_days() as i32))
        .collect();
    Column::new(name.into(), days)
        .cast(&DataType::Date)
        .expect("i32 casts to date")
}

/// Midnight UTC of `d` in nanoseconds since the epoch (timestamp columns' unit).
pub fn day_start_ns(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_nanos_opt()
        .unwrap()
}

pub fn ns_to_iso(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%S%.fZ")
        .to_string()
}

/// Build a frame from columns of equal length.
pub fn frame(columns: Vec<Column>) -> Result<DataFrame> {
    DataFrame::new_infer_height(columns).ctx("building a table")
}

/// For each key, the index of its row with the latest date; among rows of the same date the
/// later row wins. Rows without a key or a date are skipped. ("What did the latest snapshot
/// say about this subscription / cluster / resource / alert?")
pub fn latest_row_per_key<K: Eq + std::hash::Hash>(
    keys: impl IntoIterator<Item = Option<K>>,
    days: &[Option<NaiveDate>],
) -> std::collections::HashMap<K, usize> {
    let mut latest: std::collections::HashMap<K, (NaiveDate, usize)> = Default::default();
    for (i, (key, day)) in keys.into_iter().zip(days).enumerate() {
        let (Some(key), Some(day)) = (key, *day) else {
            continue;
        };
        let e = latest.entry(key).or_insert((day, i));
        if day >= e.0 {
            *e = (day, i);
        }
    }
    latest.into_iter().map(|(k, (_, i))| (k, i)).collect()
}

/// A date column named `name` with `value(row)` for each of `rows`.
pub fn date_column_of<T>(
    name: &str,
    rows: &[T],
    value: impl Fn(&T) -> Option<NaiveDate>,
) -> Column {
    date_column(name, &rows.iter().map(value).collect::<Vec<_>>())
}

/// Rows whose date column `name` falls in `period` (`[start, end)`).
pub fn in_period(name: &str, period: crate::period::Period) -> Expr {
    col(name)
        .gt_eq(lit(period.start()))
        .and(col(name).lt(lit(period.end_exclusive())))
}

/// A column named `name` with `value(row)` for each of `rows` (tables built from Rust rows).
pub fn column<'r, T, V>(name: &str, rows: &'r [T], value: impl Fn(&'r T) -> V) -> Column
where
    Series: NamedFrom<Vec<V>, [V]>,
{
    Column::new(name.into(), rows.iter().map(value).collect::<Vec<V>>())
}

#[cfg(test)]
mod latest_tests {
    use super::*;

    #[test]
    fn latest_row_per_key_takes_the_latest_date_and_the_later_row_on_a_tie() {
        let d = |s: &str| Some(s.parse::<NaiveDate>().unwrap());
        let keys = [Some("a"), Some("b"), Some("a"), Some("a"), None, Some("b")];
        let days = [
            d("2026-09-02"),
            d("2026-09-01"),
            d("2026-09-01"),
            d("2026-09-02"),
            d("2026-09-09"),
            None,
        ];
        let got = latest_row_per_key(keys, &days);
        // a: rows 0 and 3 share the latest date → row 3; b: row 5 has no date → row 1.
        assert_eq!(got.len(), 2);
        assert_eq!((got["a"], got["b"]), (3, 1));
    }
}
