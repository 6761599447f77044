//! Rendering: every output file of a run is built in memory here (CSV, Parquet, JSON, PDF) and
//! handed to `publish` as bytes, so nothing reaches the store before the whole run succeeded.

pub mod csv;
pub mod dictionary;
pub mod manifest;
pub mod pdf;
pub mod rounding;
pub mod signing;

use bytes::Bytes;

/// One file of a run, ready to publish.
#[derive(Debug, Clone)]
pub struct OutputFile {
    /// Path relative to the run folder, e.g. `finance/showback-by-owner.csv`.
    pub path: String,
    pub bytes: Bytes,
    /// Data rows (CSV/Parquet tables), None for documents.
    pub rows: Option<usize>,
}

impl OutputFile {
    pub fn new(path: impl Into<String>, bytes: impl Into<Bytes>, rows: Option<usize>) -> Self {
        OutputFile {
            path: path.into(),
            bytes: bytes.into(),
            rows,
        }
    }
}

/// A frame as a Parquet output file.
pub fn parquet_file(path: &str, df: &polars::prelude::DataFrame) -> crate::Result<OutputFile> {
    use crate::error::PolarsContext;
    let bytes = crate::history::parquet_bytes(df).ctx(format!("encoding {path}"))?;
    Ok(OutputFile::new(path, bytes, Some(df.height())))
}
