//! Billing currencies: an amount is only money in a currency ISO 4217 knows, so a currency
//! cell is checked against the active codes before its row is grouped with any other.
//!
//! Source: ISO 4217 "List One: Current currency & funds code list", published by SIX Financial
//! Information AG as the ISO 4217 maintenance agency
//! (https://www.six-group.com/en/products-services/financial-information/data-standards.html),
//! as amended up to 2025 (ZWG for Zimbabwe, XCG replacing ANG, VED, SLE and UYW in; HRK, SLL,
//! ZWL and ANG out). Two List One codes are left out on purpose because no bill can be in
//! them: XTS (reserved for testing) and XXX (no currency involved).

/// The active alphabetic codes, sorted (binary search), upper case as ISO writes them.
pub const ISO_4217_ACTIVE: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS",
    "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST",
    "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

/// Whether `code` (already trimmed) is an active ISO 4217 code, exactly as ISO writes it:
/// `usd` or `US$` are not, so two spellings of one currency are never summed apart or merged
/// by guess.
pub fn is_iso_4217(code: &str) -> bool {
    code.len() == 3 && ISO_4217_ACTIVE.binary_search(&code).is_ok()
}

/// What a bad currency cell is not, for messages.
pub const EXPECT_CURRENCY: &str = "an ISO 4217 currency code (three capital letters, e.g. EUR)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_three_capital_letters() {
        assert!(ISO_4217_ACTIVE.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ISO_4217_ACTIVE
                .iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        for ok in ["EUR", "USD", "JPY", "CHF", "ZWG", "XCG"] {
            assert!(is_iso_4217(ok), "{ok}");
        }
        for bad in [
            "ZZZ", "99999", "usd", "EURO", "", "XXX", "XTS", "HRK", " EUR",
        ] {
            assert!(!is_iso_4217(bad), "{bad}");
        }
    }
}
