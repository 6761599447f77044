//! How numbers are written in every report, so the PDF, the CSVs and `kpis.json` can be checked
//! against each other as text: rates with one decimal and `%`, minutes with one decimal, money
//! with two decimals and the currency code after it, no thousands separator (as in the CSVs).

/// `97.5%`, or `n/a` when the rate is undefined (nothing in scope, nothing due).
pub fn rate(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{}%", fixed(v, 1)),
        None => "n/a".to_string(),
    }
}

/// `12.3 min`, or `n/a`.
pub fn minutes(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{} min", fixed(v, 1)),
        None => "n/a".to_string(),
    }
}

/// `4.5 days`, or `n/a`.
pub fn days(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{} days", fixed(v, 1)),
        None => "n/a".to_string(),
    }
}

/// A number with `places` decimals, never `-0.0`.
pub fn fixed(value: f64, places: usize) -> String {
    let s = format!("{value:.places$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// An amount in cents, removing float noise first (`0.1 + 0.2` is 30 cents, not 30.000000004).
pub fn cents(amount: f64) -> i64 {
    let scaled = (amount * 100.0 * 1e6).round() / 1e6;
    scaled.round() as i64
}

/// `1234.56` from cents.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `1234.56 EUR`.
pub fn money_cents(cents: i64, currency: &str) -> String {
    format!("{} {currency}", cents_text(cents))
}

/// `1234.56 EUR` from a full-precision amount (rounded half away from zero).
pub fn money(amount: f64, currency: &str) -> String {
    money_cents(cents(amount), currency)
}

/// Rounds amounts to cents by largest remainder, so the rounded parts add up exactly to the
/// rounded total (the rule the finance CSVs use). Ties go to the earlier item, so the result is
/// deterministic for a given order.
pub fn largest_remainder_cents(amounts: &[f64]) -> Vec<i64> {
    // The same function the finance CSVs use, so the PDF and the CSV never differ by a cent.
    crate::render::rounding::round_largest_remainder(amounts, 2)
}

/// A signed difference: `+2.5`, `-0.3`, `0.0`.
pub fn signed(value: f64, places: usize) -> String {
    let s = fixed(value, places);
    if s.starts_with('-') || s.chars().all(|c| c == '0' || c == '.') {
        s
    } else {
        format!("+{s}")
    }
}

/// A ratio such as `8.2×`.
pub fn ratio(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{}×", fixed(v, 1)),
        None => "n/a".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_minutes_and_money() {
        assert_eq!(rate(Some(97.4999)), "97.5%");
        assert_eq!(rate(None), "n/a");
        assert_eq!(minutes(Some(12.25)), "12.2 min");
        assert_eq!(money(1234.565, "EUR"), "1234.57 EUR");
        assert_eq!(money(-0.004, "USD"), "0.00 USD");
        assert_eq!(money(-12.3, "USD"), "-12.30 USD");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(signed(2.46, 1), "+2.5");
        assert_eq!(signed(-2.46, 1), "-2.5");
        assert_eq!(signed(0.01, 1), "0.0");
    }

    #[test]
    fn largest_remainder_adds_up_to_the_rounded_total() {
        let parts = [10.005, 20.005, 30.005];
        let rounded = largest_remainder_cents(&parts);
        assert_eq!(rounded.iter().sum::<i64>(), cents(60.015));
        // In floating point 10.005 × 100 = 1000.5000000000001 while 20.005 and 30.005 scale to
        // exactly 2000.5 and 3000.5: 10.005 has the largest remainder, and of the two equal
        // remainders the larger value gets the second cent.
        assert_eq!(rounded, vec![1001, 2000, 3001]);
        let thirds = [1.0 / 3.0; 3];
        assert_eq!(largest_remainder_cents(&thirds), vec![34, 33, 33]);
        assert_eq!(largest_remainder_cents(&[-1.005, 2.0]), vec![-100, 200]);
    }
}
