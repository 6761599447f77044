//! Rounding amounts for finance CSVs by largest remainder: every value is rounded down, then
//! the units still missing to reach the rounded total go, one each, to the values that lost
//! the most. The rounded column therefore sums exactly to the rounded total (plain rounding of
//! 0.333 + 0.333 + 0.334 gives 0.33 + 0.33 + 0.33 = 0.99, not 1.00).

use crate::error::{PolarsContext, Result};
use polars::prelude::*;
use std::collections::BTreeMap;

/// `values` rounded to `decimals`, in units of 10^-decimals, summing exactly to the rounded
/// sum of `values`. Between equal remainders the larger value wins, then the earlier one: so
/// the result for a value does not depend on how the caller sorted its list (the PDF lists
/// owners by name, the CSV by amount), unless two values are equal.
pub fn round_largest_remainder(values: &[f64], decimals: u32) -> Vec<i64> {
    let scale = 10f64.powi(decimals as i32);
    // Snap values that are a unit count up to float noise (0.29 * 100 = 28.999999999999996).
    let scaled: Vec<f64> = values
        .iter()
        .map(|v| {
            let x = v * scale;
            let r = x.round();
            if (x - r).abs() <= 1e-9 * r.abs().max(1.0) {
                r
            } else {
                x
            }
        })
        .collect();
    let target = scaled.iter().sum::<f64>().round() as i64;
    let mut out: Vec<i64> = scaled.iter().map(|x| x.floor() as i64).collect();
    let missing = target - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = scaled[a] - scaled[a].floor();
        let rb = scaled[b] - scaled[b].floor();
        rb.partial_cmp(&ra)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(
                scaled[b]
                    .partial_cmp(&scaled[a])
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(a.cmp(&b))
    });
    if missing >= 0 {
        for &i in order.iter().take(missing as usize) {
            out[i] += 1;
        }
    } else {
        // Only reachable through float noise in the sum; take from the smallest remainders.
        for &i in order.iter().rev().take((-missing) as usize) {
            out[i] -= 1;
        }
    }
    out
}

/// A copy of `df` whose `amount_columns` are rounded to `decimals` by largest remainder
/// within each value of `currency_column` (amounts in different currencies never add up).
/// Nulls stay null. The result columns are Float64 holding the rounded values.
pub fn round_amounts_by_currency(
    df: &DataFrame,
    currency_column: &str,
    amount_columns: &[&str],
    decimals: u32,
) -> Result<DataFrame> {
    let currencies = crate::frame::strs(df, currency_column)?;
    let mut groups: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for (i, c) in currencies.into_iter().enumerate() {
        groups.entry(c).or_default().push(i);
    }
    let scale = 10f64.powi(decimals as i32);
    let mut out = df.clone();
    for name in amount_columns {
        let values = crate::frame::floats(df, name)?;
        let mut rounded: Vec<Option<f64>> = vec![None; values.len()];
        for rows in groups.values() {
            let present: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&i| values[i].is_some())
                .collect();
            let vals: Vec<f64> = present.iter().map(|&i| values[i].unwrap()).collect();
            for (k, units) in round_largest_remainder(&vals, decimals)
                .into_iter()
                .enumerate()
            {
                rounded[present[k]] = Some(units as f64 / scale);
            }
        }
        out.with_column(Column::new((*name).into(), rounded))
            .ctx(format!("rounding column {name}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirds_sum_to_the_total() {
        // 1/3 each: floors 33, 33, 33 (remainders .33 each); total 100 → one unit to the
        // first (ties go to the earlier value): 34, 33, 33.
        assert_eq!(
            round_largest_remainder(&[1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0], 2),
            vec![34, 33, 33]
        );
    }

    #[test]
    fn equal_remainders_go_to_the_larger_value_in_any_order() {
        // 10.125 + 20.125 = 30.25: floors 1012, 2012 (remainders exactly .5 each), target
        // 3025 → one unit missing → the larger value gets it, listed first or last:
        // 10.12 + 20.13 (the PDF lists owners by name, the CSV by amount; both agree).
        assert_eq!(
            round_largest_remainder(&[10.125, 20.125], 2),
            vec![1012, 2013]
        );
        assert_eq!(
            round_largest_remainder(&[20.125, 10.125], 2),
            vec![2013, 1012]
        );
    }

    #[test]
    fn largest_remainder_gets_the_unit() {
        // 0.333 + 0.333 + 0.334 = 1.000: floors 33, 33, 33 (remainders .3, .3, .4) → the
        // missing unit goes to 0.334: 0.33 + 0.33 + 0.34 = 1.00.
        assert_eq!(
            round_largest_remainder(&[0.333, 0.333, 0.334], 2),
            vec![33, 33, 34]
        );
        // 10.005 + 20.004 + 4.991 = 35.000: floors 1000, 2000, 499 (rem .5, .4, .1);
        // target 3500 → 1 missing → 10.005 gets it: 10.01, 20.00, 4.99.
        assert_eq!(
            round_largest_remainder(&[10.005, 20.004, 4.991], 2),
            vec![1001, 2000, 499]
        );
    }

    #[test]
    fn negatives_and_noise() {
        // 7.5 and 2.5 are exact: 750 and 250.
        assert_eq!(round_largest_remainder(&[7.5, 2.5], 2), vec![750, 250]);
        // -1.234 + 5.678 = 4.444 → 444. Floors: -124 (rem .6), 567 (rem .8) = 443 → 1 missing
        // → 5.678 gets it: -1.24 + 5.68 = 4.44.
        assert_eq!(
            round_largest_remainder(&[-1.234, 5.678], 2),
            vec![-124, 568]
        );
        // 0.29 * 100 is 28.999999999999996 in floats: snapped to 29.
        assert_eq!(round_largest_remainder(&[0.29, 0.71], 2), vec![29, 71]);
        assert!(round_largest_remainder(&[], 2).is_empty());
    }

    #[test]
    fn frame_rounding_per_currency() {
        let df = DataFrame::new_infer_height(vec![
            Column::new("currency".into(), ["EUR", "USD", "EUR", "EUR", "USD"]),
            Column::new(
                "amount".into(),
                [
                    Some(1.0 / 3.0),
                    Some(0.005),
                    Some(1.0 / 3.0),
                    Some(1.0 / 3.0),
                    None,
                ],
            ),
        ])
        .unwrap();
        let r = round_amounts_by_currency(&df, "currency", &["amount"], 2).unwrap();
        let v = crate::frame::floats(&r, "amount").unwrap();
        // EUR thirds → 0.34, 0.33, 0.33 (sum 1.00); USD 0.005 alone rounds to 0.01; null stays.
        assert_eq!(
            v,
            vec![Some(0.34), Some(0.01), Some(0.33), Some(0.33), None]
        );
    }
}
