//! The finance data dictionary (`reports/finance/data-dictionary.toml`, embedded): the fixed
//! column order of every finance CSV. A table whose columns differ is refused before anything
//! is published, so finance never receives a moved or missing column; `data-dictionary.csv` is
//! rendered from the same definitions.
//!
//! A `number` column may state `decimals`: the precision it is published with in the CSV and
//! the workbook (rounded half away from zero by [`apply_precision`]; Parquet keeps full
//! precision). An `amount` column has two decimals in the CSV and is DECIMAL(18, 2) in its
//! Parquet twin. The dictionary is the one place that precision is set: the rounding, the
//! fixed decimals printed and the sentence in `data-dictionary.csv` all come from it.

use crate::error::{Error, Result};
use polars::prelude::*;
use serde::Deserialize;
use std::sync::OnceLock;

const SOURCE: &str = include_str!("../../reports/finance/data-dictionary.toml");

#[derive(Debug, Deserialize)]
pub struct Dictionary {
    pub files: Vec<FileDef>,
}

#[derive(Debug, Deserialize)]
pub struct FileDef {
    pub file: String,
    pub description: String,
    pub columns: Vec<ColumnDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    /// Decimals a `number` column is published with (CSV and workbook).
    #[serde(default)]
    pub decimals: Option<u32>,
}

impl ColumnDef {
    /// The description as published in `file`'s rows: with the precision sentence when
    /// `decimals` is set, and the Parquet type of an amount of a finance CSV (whose table is
    /// also published in data/, see `render::decimal`).
    pub fn published_description(&self, file: &str) -> String {
        match self.decimals {
            Some(d) => format!(
                "{} Rounded half away from zero to {d} decimals in the CSV and the workbook; \
                 the Parquet table in data/ keeps full precision (float64).",
                self.description
            ),
            None if self.kind == "amount" && file.ends_with(".csv") => format!(
                "{} Two decimals in the CSV and the workbook; DECIMAL(18, 2) in the Parquet \
                 table in data/, the same cents.",
                self.description
            ),
            None => self.description.clone(),
        }
    }
}

pub fn dictionary() -> &'static Dictionary {
    static D: OnceLock<Dictionary> = OnceLock::new();
    D.get_or_init(|| toml::from_str(SOURCE).expect("reports/finance/data-dictionary.toml is valid"))
}

fn file_def(file: &str) -> Result<&'static FileDef> {
    dictionary()
        .files
        .iter()
        .find(|f| f.file == file)
        .ok_or_else(|| Error::input(file, "not in the finance data dictionary"))
}

/// Refuse a finance table whose columns are not exactly the dictionary's, in order.
pub fn check_columns(file: &str, df: &DataFrame) -> Result<()> {
    let def = file_def(file)?;
    let expected: Vec<&str> = def.columns.iter().map(|c| c.name.as_str()).collect();
    let actual: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if actual != expected {
        return Err(Error::input(
            file,
            format!("columns {actual:?} differ from the data dictionary {expected:?}"),
        ));
    }
    Ok(())
}

/// The columns of `finance/data-dictionary.csv` (and of the workbook's dictionary sheet).
pub const DICTIONARY_COLUMNS: [&str; 5] = ["file", "position", "column", "type", "description"];

/// One row of the data dictionary: a file (position 0, type `file`) or one of its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct DictionaryRow {
    pub file: &'static str,
    pub position: usize,
    pub column: &'static str,
    pub kind: &'static str,
    pub description: String,
}

/// Every row of the data dictionary, in order: each file, then its columns.
pub fn dictionary_rows() -> Vec<DictionaryRow> {
    let mut rows = Vec::new();
    for f in &dictionary().files {
        rows.push(DictionaryRow {
            file: &f.file,
            position: 0,
            column: "",
            kind: "file",
            description: f.description.clone(),
        });
        for (i, c) in f.columns.iter().enumerate() {
            rows.push(DictionaryRow {
                file: &f.file,
                position: i + 1,
                column: &c.name,
                kind: &c.kind,
                description: c.published_description(&f.file),
            });
        }
    }
    rows
}

/// `finance/data-dictionary.csv`: file, position, column, type, description.
pub fn dictionary_csv() -> Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let io = |e: ::csv::Error| Error::input_err("data-dictionary.csv", e);
    w.write_record(DICTIONARY_COLUMNS).map_err(io)?;
    for r in dictionary_rows() {
        let pos = r.position.to_string();
        w.write_record([
            r.file,
            pos.as_str(),
            r.column,
            r.kind,
            r.description.as_str(),
        ])
        .map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| Error::input("data-dictionary.csv", e.to_string()))
}

/// The columns of `file` the dictionary publishes with a fixed number of decimals.
pub fn precision(file: &str) -> Result<Vec<(&'static str, u32)>> {
    Ok(file_def(file)?
        .columns
        .iter()
        .filter_map(|c| c.decimals.map(|d| (c.name.as_str(), d)))
        .collect())
}

/// The columns of `file` whose type is `amount`.
pub fn amount_columns(file: &str) -> Result<Vec<&'static str>> {
    Ok(file_def(file)?
        .columns
        .iter()
        .filter(|c| c.kind == "amount")
        .map(|c| c.name.as_str())
        .collect())
}

/// `x` rounded half away from zero to `decimals` decimals.
pub fn round_half_away(x: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    let r = (x * scale).round() / scale;
    // No negative zero: it would print as `-0.00`.
    if r == 0.0 { 0.0 } else { r }
}

/// A copy of `df` whose columns with a dictionary precision are rounded to it (Float64, nulls
/// kept). Applied to what the CSV and the workbook show, never to the Parquet tables.
pub fn apply_precision(file: &str, df: &DataFrame) -> Result<DataFrame> {
    let mut out = df.clone();
    for (name, decimals) in precision(file)? {
        let values = crate::frame::floats(df, name)?;
        let rounded: Vec<Option<f64>> = values
            .into_iter()
            .map(|v| v.map(|x| round_half_away(x, decimals)))
            .collect();
        out.with_column(Column::new(name.into(), rounded))
            .map_err(|e| Error::input(file, format!("rounding column {name}: {e}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_parses_and_order_is_enforced() {
        assert!(dictionary().files.len() >= 5);
        let ok = df!("resource_id" => ["a"], "subscription_id" => ["s"], "resource_group" => ["g"],
                     "currency" => ["USD"], "amount" => [1.0], "cost_rows" => [1i64])
        .unwrap();
        check_columns("finance/untagged-resources.csv", &ok).unwrap();
        let moved = ok
            .select([
                "subscription_id",
                "resource_id",
                "resource_group",
                "currency",
                "amount",
                "cost_rows",
            ])
            .unwrap();
        let err = check_columns("finance/untagged-resources.csv", &moved)
            .unwrap_err()
            .to_string();
        assert!(err.contains("differ from the data dictionary"), "{err}");
        let text = String::from_utf8(dictionary_csv().unwrap()).unwrap();
        assert!(text.starts_with("file,position,column,type,description\r\n"));
        assert!(text.contains("finance/showback-by-owner.csv,3,amount,amount,"));
    }

    #[test]
    fn precision_is_stated_applied_and_documented() {
        let owner = "finance/showback-by-owner.csv";
        assert_eq!(
            precision(owner).unwrap(),
            [("share_of_currency_total_pct", 2)]
        );
        assert_eq!(
            precision("finance/cost-anomalies.csv").unwrap(),
            [("ratio", 4)]
        );
        assert_eq!(
            amount_columns(owner).unwrap(),
            ["amount", "defender_containers_amount"]
        );
        let df = df!("currency" => ["USD", "USD", "USD"], "owner" => ["a", "b", "c"],
                     "amount" => [1.0, 2.0, 3.0], "defender_containers_amount" => [0.0, 0.0, 0.0],
                     "share_of_currency_total_pct" => [22.73800461220385, 0.125, -0.001],
                     "resources" => [1i64, 2, 3])
        .unwrap();
        let r = apply_precision(owner, &df).unwrap();
        let v = crate::frame::floats(&r, "share_of_currency_total_pct").unwrap();
        // Half away from zero; a tiny negative becomes 0 (never -0).
        assert_eq!(v, [Some(22.74), Some(0.13), Some(0.0)]);
        assert!(v[2].unwrap().is_sign_positive());
        assert_eq!(round_half_away(7.854147629989731, 4), 7.8541);
        assert_eq!(round_half_away(-2.5, 0), -3.0);
        let text = String::from_utf8(dictionary_csv().unwrap()).unwrap();
        assert!(
            text.contains("Rounded half away from zero to 2 decimals in the CSV and the workbook"),
            "{text}"
        );
        // Every file row comes first, then its columns numbered from 1.
        let rows = dictionary_rows();
        assert_eq!((rows[0].position, rows[0].kind), (0, "file"));
        assert_eq!(rows[1].column, "currency");
    }
}
