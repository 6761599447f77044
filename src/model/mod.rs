//! Dataset contracts: the columns every query in `queries/` must return, and the one
//! conversion from Resource Graph rows (JSON objects) to typed polars frames. Replay and live
//! collection both go through `rows_to_frame`, so a bad page fails the same way in both.

#![warn(missing_docs)]

pub mod aks_clusters;
pub mod arc_clusters;
pub mod container_instances;
pub mod container_registries;
pub mod defender_plans;
pub mod page;
pub mod policy_states;
pub mod scan_status;
pub mod security_alerts;
pub mod subscriptions;
pub mod vocabulary;
pub mod vulnerabilities;

use crate::error::{Error, PolarsContext, Result};
use chrono::{DateTime, NaiveDateTime};
use polars::prelude::*;
use serde_json::Value;

/// The type a contract column must have on the wire, and so in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A string that must be present and non-null (ids).
    Key,
    /// A string or null.
    Str,
    /// A boolean (or the strings "True"/"False").
    Bool,
    /// An integer (or a string holding one).
    Int,
    /// A number (or a string holding one).
    Float,
    /// ISO 8601 timestamp (up to 7+ fractional digits), stored as UTC `Datetime(ns)`.
    Time,
    /// A JSON array (or null) whose items are objects with at least these keys; kept as JSON
    /// text because Azure's nested shapes vary (extra keys, nulls).
    Array(&'static [&'static str]),
    /// A JSON object (or null), kept as JSON text (tags).
    Object,
}

/// What one dataset's query must return.
#[derive(Debug)]
pub struct Contract {
    /// Dataset name (history folder, query file stem).
    pub dataset: &'static str,
    /// Columns and their kinds, in order.
    pub columns: &'static [(&'static str, Kind)],
}

/// Every dataset, in the order queries run and snapshots are written.
pub const DATASETS: &[&Contract] = &[
    &subscriptions::CONTRACT,
    &defender_plans::CONTRACT,
    &aks_clusters::CONTRACT,
    &container_registries::CONTRACT,
    &arc_clusters::CONTRACT,
    &container_instances::CONTRACT,
    &security_alerts::CONTRACT,
    &vulnerabilities::CONTRACT,
    &scan_status::CONTRACT,
    &policy_states::CONTRACT,
];

/// Datasets added after the first release: a snapshot from before one existed has no table
/// for it (its marker does not list it). Such a day reads as an empty table, its reported
/// total as 0, and a recording without it still snapshots (with a warning).
pub const ADDED_LATER: &[&str] = &[
    container_instances::CONTRACT.dataset,
    scan_status::CONTRACT.dataset,
];

/// The contract of a dataset, by name.
pub fn contract(dataset: &str) -> Option<&'static Contract> {
    DATASETS.iter().copied().find(|c| c.dataset == dataset)
}

impl Contract {
    /// The polars schema of a validated frame.
    pub fn schema(&self) -> Schema {
        self.columns
            .iter()
            .map(|(name, kind)| Field::new((*name).into(), dtype_of(*kind)))
            .collect()
    }

    /// A frame of this schema without rows.
    pub fn empty_frame(&self) -> DataFrame {
        DataFrame::empty_with_schema(&self.schema())
    }
}

/// The polars type a column kind is stored as.
pub fn dtype_of(kind: Kind) -> DataType {
    match kind {
        Kind::Key | Kind::Str | Kind::Array(_) | Kind::Object => DataType::String,
        Kind::Bool => DataType::Boolean,
        Kind::Int => DataType::Int64,
        Kind::Float => DataType::Float64,
        Kind::Time => DataType::Datetime(TimeUnit::Nanoseconds, None),
    }
}

/// Column buffers for one contract column.
enum Buf {
    Str(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Time(Vec<Option<i64>>),
}

/// Validate `rows` against `contract` and build its frame. `origin` names where the rows came
/// from (file and page, or query and page) and `row_offset` the index of the first row within
/// the dataset, so an error points at the exact row and column.
pub fn rows_to_frame(
    contract: &Contract,
    rows: &[Value],
    origin: &str,
    row_offset: usize,
) -> Result<DataFrame> {
    let mut bufs: Vec<Buf> = contract
        .columns
        .iter()
        .map(|(_, k)| match k {
            Kind::Key | Kind::Str | Kind::Array(_) | Kind::Object => {
                Buf::Str(Vec::with_capacity(rows.len()))
            }
            Kind::Bool => Buf::Bool(Vec::with_capacity(rows.len())),
            Kind::Int => Buf::Int(Vec::with_capacity(rows.len())),
            Kind::Float => Buf::Float(Vec::with_capacity(rows.len())),
            Kind::Time => Buf::Time(Vec::with_capacity(rows.len())),
        })
        .collect();

    for (i, row) in rows.iter().enumerate() {
        let at = |col: &str, msg: String| {
            Error::input(
                origin,
                format!(
                    "dataset {}, row {}, column '{col}': {msg}",
                    contract.dataset,
                    row_offset + i + 1
                ),
            )
        };
        let obj = row.as_object().ok_or_else(|| {
            at(
                "*",
                format!("row is not a JSON object but {}", type_name(row)),
            )
        })?;
        for ((name, kind), buf) in contract.columns.iter().zip(bufs.iter_mut()) {
            let v = obj.get(*name).ok_or_else(|| {
                at(
                    name,
                    "missing (the query must return every contract column; see queries/)".into(),
                )
            })?;
            push_value(buf, *kind, v).map_err(|msg| at(name, msg))?;
        }
    }

    let columns = contract
        .columns
        .iter()
        .zip(bufs)
        .map(|((name, kind), buf)| {
            let name: PlSmallStr = (*name).into();
            let series = match buf {
                Buf::Str(v) => Series::new(name, v),
                Buf::Bool(v) => Series::new(name, v),
                Buf::Int(v) => Series::new(name, v),
                Buf::Float(v) => Series::new(name, v),
                Buf::Time(v) => Series::new(name, v)
                    .cast(&dtype_of(*kind))
                    .expect("i64 casts to datetime"),
            };
            Column::from(series)
        })
        .collect();
    DataFrame::new(rows.len(), columns).ctx(format!("{origin}: building {}", contract.dataset))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A cell's value, or why it does not fit its column.
type Cell<T> = std::result::Result<Option<T>, String>;

fn expected(what: &str, v: &Value) -> String {
    format!("expected {what}, got {}", type_name(v))
}

/// Append one JSON value to its column's buffer, converted to the column's kind.
fn push_value(buf: &mut Buf, kind: Kind, v: &Value) -> std::result::Result<(), String> {
    match buf {
        Buf::Str(b) => b.push(text_cell(kind, v)?),
        Buf::Bool(b) => b.push(bool_cell(v)?),
        Buf::Int(b) => b.push(int_cell(v)?),
        Buf::Float(b) => b.push(float_cell(v)?),
        Buf::Time(b) => b.push(time_cell(v)?),
    }
    Ok(())
}

/// A text column's cell: keys, strings, arrays and objects (the latter two as JSON text).
fn text_cell(kind: Kind, v: &Value) -> Cell<String> {
    match kind {
        Kind::Key => match v {
            Value::String(s) if !s.is_empty() => Ok(Some(s.clone())),
            _ => Err(expected("a non-empty string", v)),
        },
        Kind::Str => match v {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            // ARG projects tostring() of numbers as strings, but hand-edited queries may not.
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(x) => Ok(Some(x.to_string())),
            _ => Err(expected("a string or null", v)),
        },
        Kind::Array(item_keys) => array_cell(item_keys, v),
        Kind::Object => match v {
            Value::Null => Ok(None),
            Value::Object(_) => Ok(Some(v.to_string())),
            // An empty string is how some projections render "no tags".
            Value::String(s) if s.is_empty() => Ok(None),
            _ => Err(expected("an object or null", v)),
        },
        _ => unreachable!("buffer kinds follow column kinds"),
    }
}

/// An array of objects that each have `item_keys`, kept as JSON text.
fn array_cell(item_keys: &[&str], v: &Value) -> Cell<String> {
    match v {
        Value::Null => Ok(None),
        Value::Array(items) => {
            for (j, item) in items.iter().enumerate() {
                let o = item
                    .as_object()
                    .ok_or_else(|| format!("item {} is not an object", j + 1))?;
                if let Some(k) = item_keys.iter().find(|k| !o.contains_key(**k)) {
                    return Err(format!("item {} lacks key '{k}'", j + 1));
                }
            }
            Ok(Some(v.to_string()))
        }
        _ => Err(expected("an array or null", v)),
    }
}

fn bool_cell(v: &Value) -> Cell<bool> {
    match v {
        Value::Bool(x) => Ok(Some(*x)),
        Value::Null => Ok(None),
        // Azure writes many flags as "True"/"False" strings.
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Value::String(s) if s.is_empty() => Ok(None),
        _ => Err(expected("a boolean or null", v)),
    }
}

fn int_cell(v: &Value) -> Cell<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| format!("expected an integer, got {n}")),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("expected an integer, got \"{s}\"")),
        Value::Null => Ok(None),
        _ => Err(expected("an integer or null", v)),
    }
}

fn float_cell(v: &Value) -> Cell<f64> {
    match v {
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("expected a number, got \"{s}\"")),
        Value::Null => Ok(None),
        _ => Err(expected("a number or null", v)),
    }
}

fn time_cell(v: &Value) -> Cell<i64> {
    match v {
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => parse_timestamp_ns(s)
            .map(Some)
            .ok_or_else(|| format!("expected an ISO 8601 timestamp, got \"{s}\"")),
        Value::Null => Ok(None),
        _ => Err(expected("a timestamp string or null", v)),
    }
}

/// Parse an ISO 8601 timestamp to nanoseconds since the epoch, UTC. Accepts Azure's 7
/// fractional digits, an explicit offset, or no zone at all (Azure means UTC then).
pub fn parse_timestamp_ns(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return dt.timestamp_nanos_opt();
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%MZ",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return dt.and_utc().timestamp_nanos_opt();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seven_fractional_digits_and_string_flags() {
        let rows = vec![json!({
            "subscriptionId": "s1", "plan": "Containers", "pricingTier": "Standard", "subPlan": null,
            "enablementTime": "2023-03-01T12:42:42.1921106Z", "deprecated": false,
            "extensions": [{"name": "ContainerSensor", "isEnabled": "True", "operationStatus": {"code": "Succeeded"}}]
        })];
        let df = rows_to_frame(&defender_plans::CONTRACT, &rows, "test", 0).unwrap();
        assert_eq!(df.height(), 1);
        let t = df
            .column("enablementTime")
            .unwrap()
            .datetime()
            .unwrap()
            .phys
            .get(0)
            .unwrap();
        assert_eq!(t % 1_000_000_000, 192_110_600);
        assert!(
            df.column("extensions")
                .unwrap()
                .str()
                .unwrap()
                .get(0)
                .unwrap()
                .contains("\"True\"")
        );
    }

    #[test]
    fn errors_name_origin_row_and_column() {
        let rows = vec![
            json!({"subscriptionId": "s1", "plan": "Containers", "pricingTier": "Standard", "subPlan": null,
                   "enablementTime": null, "deprecated": true, "extensions": null}),
            json!({"subscriptionId": "s2", "plan": "Containers", "pricingTier": "Standard", "subPlan": null,
                   "enablementTime": "yesterday", "deprecated": false, "extensions": null}),
        ];
        let err = rows_to_frame(
            &defender_plans::CONTRACT,
            &rows,
            "day/defender_plans.json page 2",
            100,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("page 2"), "{err}");
        assert!(err.contains("row 102"), "{err}");
        assert!(err.contains("enablementTime"), "{err}");
        let missing = vec![json!({"subscriptionId": "s1"})];
        let err = rows_to_frame(&defender_plans::CONTRACT, &missing, "x", 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'plan': missing"), "{err}");
    }

    #[test]
    fn extension_items_must_have_name_and_flag() {
        let rows = vec![
            json!({"subscriptionId": "s1", "plan": "Containers", "pricingTier": "Standard", "subPlan": null,
            "enablementTime": null, "deprecated": false, "extensions": [{"name": "ContainerSensor"}]}),
        ];
        let err = rows_to_frame(&defender_plans::CONTRACT, &rows, "x", 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lacks key 'isEnabled'"), "{err}");
    }
}
