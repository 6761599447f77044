//! Cost Management exports: discovery by manifest, newest run per export and date range, and
//! streaming normalisation of every schema to one cost table with FOCUS column names.

use crate::error::Result;
use crate::store::Store;
use chrono::NaiveDate;
use polars::prelude::*;

#[derive(Debug, Clone)]
pub struct CostData {
    /// Aggregated normalised cost rows.
    pub rows: DataFrame,
}

pub fn load(
    _store: &Store,
    _exports: &[String],
    _from: NaiveDate,
    _to_exclusive: NaiveDate,
) -> Result<CostData> {
    todo!("cost exports")
}

impl CostData {
    /// What identifies the cost inputs (export runs and files with sizes and row counts), for
    /// the input fingerprint.
    pub fn fingerprint_material(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Export runs read, for the manifest and the evidence packs.
    pub fn provenance_json(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}
