//! Schema families of Cost Management exports and how each maps to the normalised cost schema.
//!
//! Headers are matched case-insensitively and by name (MCA writes `costInBillingCurrency`, EA
//! `CostInBillingCurrency`; EA 2021-10-01 starts with the amount column): a file's header is
//! read once, every normalised field is resolved to the index of the column that carries it,
//! and the scan addresses columns by that index.

use crate::error::{Error, Result};
use chrono::NaiveDate;

/// Which export family a header belongs to (for provenance and messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Focus,
    Ea,
    Mca,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Focus => "FOCUS",
            Family::Ea => "EA actual/amortized",
            Family::Mca => "MCA actual/amortized",
        }
    }
}

/// Candidate headers (lower-case) per normalised field, in priority order.
const AMOUNT: &[&str] = &["effectivecost", "costinbillingcurrency"];
const DATE: &[&str] = &["chargeperiodstart", "date"];
const CURRENCY: &[&str] = &["billingcurrency", "billingcurrencycode"];
const SUBSCRIPTION: &[&str] = &["x_subscriptionid", "subaccountid", "subscriptionid"];
const RESOURCE_ID: &[&str] = &["resourceid"];
const RESOURCE_GROUP: &[&str] = &["x_resourcegroupname", "resourcegroup", "resourcegroupname"];
const TAGS: &[&str] = &["tags"];
const METER_CATEGORY: &[&str] = &["x_skumetercategory", "metercategory"];
/// Every column whose text may name the Containers plan (meter, product, SKU).
const DESCRIPTORS: &[&str] = &[
    "skumeter",
    "x_skumetername",
    "metername",
    "x_skumetersubcategory",
    "metersubcategory",
    "x_skudescription",
    "chargedescription",
    "productname",
    "x_skudetails",
];

/// Where each normalised field lives in one file (column indexes into its header).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub family: Family,
    pub headers: Vec<String>,
    pub amount: usize,
    pub date: usize,
    pub currency: usize,
    /// Every subscription column present, best first (the first non-empty wins per row).
    pub subscription: Vec<usize>,
    pub resource_id: Option<usize>,
    pub resource_group: Option<usize>,
    pub tags: Option<usize>,
    pub meter_category: Option<usize>,
    pub descriptors: Vec<usize>,
}

fn norm(h: &str) -> String {
    h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase()
}

impl Mapping {
    /// Resolve the normalised fields from a header row; `origin` names the file in errors.
    pub fn from_headers(headers: &[String], origin: &str) -> Result<Mapping> {
        let lower: Vec<String> = headers.iter().map(|h| norm(h)).collect();
        let find = |cands: &[&str]| cands.iter().find_map(|c| lower.iter().position(|h| h == c));
        let all = |cands: &[&str]| -> Vec<usize> {
            cands
                .iter()
                .filter_map(|c| lower.iter().position(|h| h == c))
                .collect()
        };
        let missing = |what: &str, cands: &[&str]| {
            Error::input(
                origin,
                format!(
                    "unknown cost export schema: no {what} column (expected one of {}); \
                     the header has {}",
                    cands.join(", "),
                    headers.join(", ")
                ),
            )
        };
        let amount = find(AMOUNT).ok_or_else(|| missing("amount", AMOUNT))?;
        let date = find(DATE).ok_or_else(|| missing("charge date", DATE))?;
        let currency = find(CURRENCY).ok_or_else(|| missing("billing currency", CURRENCY))?;
        let family = if lower[date] == "chargeperiodstart" {
            Family::Focus
        } else if lower.iter().any(|h| h == "billingcurrencycode") {
            Family::Ea
        } else {
            Family::Mca
        };
        Ok(Mapping {
            family,
            headers: headers.iter().map(|h| norm_keep_case(h)).collect(),
            amount,
            date,
            currency,
            subscription: all(SUBSCRIPTION),
            resource_id: find(RESOURCE_ID),
            resource_group: find(RESOURCE_GROUP),
            tags: find(TAGS),
            meter_category: find(METER_CATEGORY),
            descriptors: all(DESCRIPTORS),
        })
    }

    pub fn name(&self, index: usize) -> &str {
        &self.headers[index]
    }
}

fn norm_keep_case(h: &str) -> String {
    h.trim_start_matches('\u{feff}').trim().to_string()
}

/// The regular expression a well-formed ISO date or date-time cell matches (UTC only:
/// `Z`, `+00:00` or no zone). The date is its first ten characters.
const ISO_DATE_RE: &str =
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]00:?00)?)?$";

/// Parse a charge-date cell: ISO (`2024-01-01`, `2024-01-01T00:00Z`, `...T00:00:00Z`) or the
/// US `MM/dd/yyyy` actual/amortized exports write. Readers call it once per distinct cell
/// (dates repeat row after row).
pub fn parse_charge_date(cell: &str) -> Option<NaiveDate> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(ISO_DATE_RE).unwrap());
    let s = cell.trim();
    if re.is_match(s) {
        return NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").ok();
    }
    NaiveDate::parse_from_str(s, "%m/%d/%Y").ok()
}

/// Parse an amount cell: invariant culture, `.` decimal point, optional sign and exponent.
pub fn parse_amount(cell: &str) -> Option<f64> {
    let s = cell.trim();
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<String> {
        s.split(',').map(String::from).collect()
    }

    #[test]
    fn headers_match_case_insensitively_and_by_name() {
        let ea21 = Mapping::from_headers(
            &h("CostInBillingCurrency,SubscriptionId,Date,MeterCategory,MeterName,ResourceId,Tags,ResourceGroup,BillingCurrencyCode,ProductName"),
            "f",
        )
        .unwrap();
        assert_eq!(ea21.family, Family::Ea);
        assert_eq!(ea21.amount, 0);
        assert_eq!(ea21.date, 2);
        let mca = Mapping::from_headers(
            &h("\u{feff}date,meterName,meterCategory,ProductName,SubscriptionId,resourceGroupName,ResourceId,billingCurrency,costInBillingCurrency,tags"),
            "f",
        )
        .unwrap();
        assert_eq!(mca.family, Family::Mca);
        assert_eq!((mca.date, mca.amount, mca.currency), (0, 8, 7));
        assert_eq!(mca.name(0), "date");
        let focus = Mapping::from_headers(
            &h("BilledCost,BillingCurrency,ChargePeriodStart,EffectiveCost,SubAccountId,x_SubscriptionId,SkuMeter,x_SkuMeterName"),
            "f",
        )
        .unwrap();
        assert_eq!(focus.family, Family::Focus);
        assert_eq!(focus.amount, 3);
        assert_eq!(focus.subscription, vec![5, 4]);
        assert_eq!(focus.descriptors, vec![6, 7]);
    }

    #[test]
    fn unknown_schema_names_file_and_expectation() {
        let e = Mapping::from_headers(&h("a,b,Date"), "x/part_0.csv").unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("x/part_0.csv") && m.contains("no amount column"),
            "{m}"
        );
    }

    #[test]
    fn dates_and_amounts() {
        let d = |s| parse_charge_date(s).map(|d| d.to_string());
        assert_eq!(d("2024-01-05T00:00Z").as_deref(), Some("2024-01-05"));
        assert_eq!(d("2024-01-05T00:00:00Z").as_deref(), Some("2024-01-05"));
        assert_eq!(d("2024-01-05").as_deref(), Some("2024-01-05"));
        assert_eq!(d("01/05/2024").as_deref(), Some("2024-01-05"));
        assert_eq!(d("2024-01-05T00:00+02:00"), None);
        assert_eq!(d("13/05/2024"), None);
        assert_eq!(parse_amount("1E-05"), Some(0.00001));
        assert_eq!(parse_amount("-3.5"), Some(-3.5));
        assert_eq!(parse_amount("1,5"), None);
        assert_eq!(parse_amount("inf"), None);
        assert_eq!(parse_amount(""), None);
    }
}
