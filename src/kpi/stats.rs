//! The two statistics the KPIs use, defined once: the usual median (mean of the two middle
//! values for an even count) and the nearest-rank p90 (value at position ⌈0.9·n⌉, 1-based).

/// The median (mean of the two middle values for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The 90th percentile by nearest rank: the value at position ⌈0.9·n⌉ ascending.
pub fn p90_nearest_rank(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    // ⌈0.9·n⌉ computed in integers so 0.9·10 is exactly 9.
    let rank = (9 * v.len()).div_ceil(10);
    Some(v[rank.max(1) - 1])
}

/// The arithmetic mean; `None` when empty.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_p90() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        // n = 10: rank 9 -> the 9th smallest.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(p90_nearest_rank(&ten), Some(9.0));
        // n = 11: ⌈9.9⌉ = 10 -> the 10th smallest.
        let eleven: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(p90_nearest_rank(&eleven), Some(10.0));
        assert_eq!(p90_nearest_rank(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
    }
}
