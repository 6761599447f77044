//! Azure tags cells as they come: a JSON object (Resource Graph, FOCUS exports) or the
//! brace-less form actual/amortized cost exports write. Read by cost collection (to keep only
//! the owner keys) and by the owner rules.

use serde_json::{Map, Value};

/// Parse a tags cell: a JSON object, or the brace-less form actual/amortized cost exports
/// write (`"env": "prod","owner": "team-a"`), or empty. Non-string values are rendered as text.
pub fn parse_tags(cell: Option<&str>) -> Map<String, Value> {
    let Some(raw) = cell.map(str::trim).filter(|s| !s.is_empty()) else {
        return Map::new();
    };
    let wrapped;
    let text = if raw.starts_with('{') {
        raw
    } else {
        wrapped = format!("{{{raw}}}");
        &wrapped
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
