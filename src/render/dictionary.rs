//! The finance data dictionary (`reports/finance/data-dictionary.toml`, embedded): the fixed
//! column order of every finance CSV. A table whose columns differ is refused before anything
//! is published, so finance never receives a moved or missing column; `data-dictionary.csv` is
//! rendered from the same definitions.

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
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
}

pub fn dictionary() -> &'static Dictionary {
    static D: OnceLock<Dictionary> = OnceLock::new();
    D.get_or_init(|| toml::from_str(SOURCE).expect("reports/finance/data-dictionary.toml is valid"))
}

/// Refuse a finance table whose columns are not exactly the dictionary's, in order.
pub fn check_columns(file: &str, df: &DataFrame) -> Result<()> {
    let def = dictionary()
        .files
        .iter()
        .find(|f| f.file == file)
        .ok_or_else(|| Error::input(file, "not in the finance data dictionary"))?;
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

/// `finance/data-dictionary.csv`: file, position, column, type, description.
pub fn dictionary_csv() -> Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let io = |e: ::csv::Error| Error::input("data-dictionary.csv", e);
    w.write_record(["file", "position", "column", "type", "description"])
        .map_err(io)?;
    for f in &dictionary().files {
        w.write_record([f.file.as_str(), "0", "", "file", f.description.as_str()])
            .map_err(io)?;
        for (i, c) in f.columns.iter().enumerate() {
            let pos = (i + 1).to_string();
            w.write_record([
                f.file.as_str(),
                pos.as_str(),
                c.name.as_str(),
                c.kind.as_str(),
                c.description.as_str(),
            ])
            .map_err(io)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::input("data-dictionary.csv", e.to_string()))
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
}
