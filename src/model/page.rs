//! One Resource Graph response page (`QueryResponse`, api-version 2024-04-01), parsed with the
//! quirks of the real service: `resultTruncated` is the string "true"/"false" (a boolean is
//! accepted too), `$skipToken` is absent on the last page, and `data` may be the table format.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One page of a Resource Graph response.
#[derive(Debug, Clone)]
pub struct Page {
    /// `totalRecords`: rows the query matches over every page.
    pub total_records: i64,
    /// `count`: rows on this page.
    pub count: i64,
    /// The rows, as JSON objects.
    pub rows: Vec<Value>,
    /// `$skipToken` of the next page; absent on the last.
    pub skip_token: Option<String>,
    /// `resultTruncated`: the service cut the result short.
    pub result_truncated: bool,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "totalRecords")]
    total_records: i64,
    count: i64,
    data: Value,
    #[serde(rename = "$skipToken", default)]
    skip_token: Option<String>,
    #[serde(rename = "resultTruncated", default)]
    result_truncated: Option<Value>,
}

/// Parse a page body. The error text says what is wrong, without the body (which may be big).
pub fn parse_page(body: &[u8]) -> Result<Page, String> {
    let wire: Wire =
        serde_json::from_slice(body).map_err(|e| format!("not a Resource Graph response: {e}"))?;
    parse_wire(wire)
}

/// Parse a page that is already a JSON value (replay files hold an array of pages).
pub fn page_from_value(v: Value) -> Result<Page, String> {
    let wire: Wire =
        serde_json::from_value(v).map_err(|e| format!("not a Resource Graph response: {e}"))?;
    parse_wire(wire)
}

fn parse_wire(wire: Wire) -> Result<Page, String> {
    let result_truncated = match wire.result_truncated {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            return Err(format!(
                "resultTruncated is {other}, expected \"true\" or \"false\""
            ));
        }
    };
    let rows = match wire.data {
        Value::Array(rows) => rows,
        Value::Object(table) => table_to_rows(&table)?,
        other => return Err(format!("data is {other}, expected an array of rows")),
    };
    if rows.len() as i64 != wire.count {
        return Err(format!(
            "count says {} rows but data holds {}",
            wire.count,
            rows.len()
        ));
    }
    Ok(Page {
        total_records: wire.total_records,
        count: wire.count,
        rows,
        skip_token: wire.skip_token.filter(|t| !t.is_empty()),
        result_truncated,
    })
}

/// `resultFormat: table` pages carry `{columns: [{name, type}], rows: [[...]]}`.
fn table_to_rows(table: &Map<String, Value>) -> Result<Vec<Value>, String> {
    let columns: Vec<String> = table
        .get("columns")
        .and_then(Value::as_array)
        .ok_or("table data without columns")?
        .iter()
        .map(|c| {
            c.get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let rows = table
        .get("rows")
        .and_then(Value::as_array)
        .ok_or("table data without rows")?;
    rows.iter()
        .map(|r| {
            let cells = r.as_array().ok_or("table row is not an array")?;
            if cells.len() != columns.len() {
                return Err(format!(
                    "table row has {} cells for {} columns",
                    cells.len(),
                    columns.len()
                ));
            }
            Ok(Value::Object(
                columns.iter().cloned().zip(cells.iter().cloned()).collect(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_truncated_is_a_string_and_last_page_has_no_token() {
        let p = parse_page(br#"{"totalRecords":3,"count":1,"data":[{"id":"a"}],"facets":[],"resultTruncated":"false","$skipToken":"abc"}"#).unwrap();
        assert!(!p.result_truncated);
        assert_eq!(p.skip_token.as_deref(), Some("abc"));
        let p = parse_page(br#"{"totalRecords":3,"count":1,"data":[{"id":"c"}],"facets":[],"resultTruncated":"true"}"#).unwrap();
        assert!(p.result_truncated);
        assert!(p.skip_token.is_none());
        let p = parse_page(
            br#"{"totalRecords":1,"count":1,"data":[{"id":"c"}],"resultTruncated":false}"#,
        )
        .unwrap();
        assert!(!p.result_truncated);
    }

    #[test]
    fn table_format_and_bad_counts() {
        let p = parse_page(br#"{"totalRecords":1,"count":1,"resultTruncated":"false","data":{"columns":[{"name":"id","type":"string"}],"rows":[["x"]]}}"#).unwrap();
        assert_eq!(p.rows[0]["id"], "x");
        let e = parse_page(br#"{"totalRecords":1,"count":2,"data":[],"resultTruncated":"false"}"#)
            .unwrap_err();
        assert!(e.contains("count says 2"));
        assert!(parse_page(b"{not json").is_err());
    }
}
