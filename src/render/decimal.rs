//! Money as money in the Parquet tables: every amount column of `data/*.parquet` is written as
//! Parquet `DECIMAL(18, 2)` (INT64 holding cents), never as binary floating point, so a
//! warehouse that loads the file sums exact cents.
//!
//! The cents are the ones the finance CSV prints for the same row (the CSV text is parsed back),
//! so the Parquet table and its CSV twin agree to the cent, row by row: showback amounts are
//! the largest-remainder cents that add up to the export total, other amounts rounded to
//! the cent as printed. Eighteen digits hold amounts up to 10^16 in any currency.

use crate::error::{Error, PolarsContext, Result};
use crate::render::csv::format_amount;
use polars::prelude::*;

/// Precision of a published amount: 18 digits, the most a Parquet INT64 decimal holds.
pub const AMOUNT_PRECISION: usize = 18;
/// Scale of a published amount: cents.
pub const AMOUNT_SCALE: usize = 2;

/// A copy of `full` whose `amounts` columns are the `shown` table's amounts (the CSV's cents)
/// as `DECIMAL(18, 2)`. `shown` is `full` as the CSV prints it: same rows, same order.
pub fn with_decimal_amounts(
    path: &str,
    full: &DataFrame,
    shown: &DataFrame,
    amounts: &[&str],
) -> Result<DataFrame> {
    if full.height() != shown.height() {
        return Err(Error::input(
            path,
            format!(
                "{} rows, but its CSV twin has {}",
                full.height(),
                shown.height()
            ),
        ));
    }
    let mut out = full.clone();
    for name in amounts {
        let cents = cents_of(crate::frame::floats(shown, name)?)
            .map_err(|e| Error::input(path, format!("column {name}: {e}")))?;
        let column = Int128Chunked::from_iter_options((*name).into(), cents.into_iter())
            .into_decimal(AMOUNT_PRECISION, AMOUNT_SCALE)
            .ctx(format!("{path}: column {name} as DECIMAL(18, 2)"))?;
        out.with_column(column.into_series().into_column())
            .ctx(format!("{path}: column {name}"))?;
    }
    Ok(out)
}

/// Each amount as the integer cents of its CSV text (`1234.50` → 123450); nulls stay null.
fn cents_of(values: Vec<Option<f64>>) -> std::result::Result<Vec<Option<i128>>, String> {
    values
        .into_iter()
        .map(|v| v.map(cents_as_printed).transpose())
        .collect()
}

/// The cents of `x` as the CSV prints it: exactly the digits of `format_amount`.
fn cents_as_printed(x: f64) -> std::result::Result<i128, String> {
    let text = format_amount(x);
    text.replace('.', "")
        .parse::<i128>()
        .map_err(|_| format!("amount {text} is not a number of cents"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_the_cents_the_csv_prints() {
        let full = df!("owner" => ["a", "b", "c", "d"],
                       "amount" => [Some(10.004999), Some(-0.001), None, Some(1234567.891)])
        .unwrap();
        let out = with_decimal_amounts("data/x.parquet", &full, &full, &["amount"]).unwrap();
        let col = out.column("amount").unwrap();
        assert_eq!(
            col.dtype(),
            &DataType::Decimal(AMOUNT_PRECISION, AMOUNT_SCALE)
        );
        let cents: Vec<Option<i128>> = col
            .as_materialized_series()
            .decimal()
            .unwrap()
            .physical()
            .iter()
            .collect();
        // 10.00, 0.00 (never -0.00), null, 1234567.89: the CSV's digits.
        assert_eq!(cents, [Some(1000), Some(0), None, Some(123456789)]);
        assert_eq!(out.column("owner").unwrap(), full.column("owner").unwrap());
    }

    #[test]
    fn a_twin_of_another_height_is_refused() {
        let full = df!("amount" => [1.0, 2.0]).unwrap();
        let shown = df!("amount" => [1.0]).unwrap();
        let e = with_decimal_amounts("data/x.parquet", &full, &shown, &["amount"]).unwrap_err();
        assert!(e.to_string().contains("data/x.parquet"), "{e}");
    }
}
