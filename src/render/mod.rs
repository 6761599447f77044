//! Rendering: every output file of a run is built here (CSV, XLSX, Parquet, JSON, PDF) and
//! handed to `publish`, so nothing reaches the store before the whole run succeeded. Small
//! files are bytes in memory; the per-day tables, which grow with history, are streamed to
//! local files while history is read (`crate::parquet::ParquetSink`).

pub mod csv;
pub mod dictionary;
pub mod manifest;
pub mod pdf;
pub mod rounding;
pub mod signing;
pub mod xlsx;

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

/// Every file of a run, ready to publish.
pub struct RunFiles {
    /// Files built in memory, listed in the manifest.
    pub files: Vec<OutputFile>,
    /// Files streamed to local disk, listed in the manifest: (run path, file).
    pub local: Vec<(String, crate::parquet::WrittenFile)>,
    /// Files published but not listed (the manifest's signature and public key).
    pub unlisted: Vec<OutputFile>,
    pub manifest: manifest::Manifest,
}

impl RunFiles {
    /// The run paths of the files the manifest lists.
    pub fn paths(&self) -> Vec<String> {
        let local = self.local.iter().map(|(p, _)| p.clone());
        self.files
            .iter()
            .map(|f| f.path.clone())
            .chain(local)
            .collect()
    }
}

/// A frame as a Parquet output file.
pub fn parquet_file(path: &str, df: &polars::prelude::DataFrame) -> crate::Result<OutputFile> {
    use crate::error::PolarsContext;
    let bytes = crate::parquet::parquet_bytes(df).ctx(format!("encoding {path}"))?;
    Ok(OutputFile::new(path, bytes, Some(df.height())))
}
