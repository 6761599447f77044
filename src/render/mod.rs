//! Rendering: every output file of a run is built here (CSV, XLSX, Parquet, JSON, PDF) and
//! handed to `publish`, so nothing reaches the store before the whole run succeeded. Small
//! files are bytes in memory; the per-day tables, which grow with history, are streamed to
//! local files while history is read (`crate::parquet::ParquetSink`).

pub mod csv;
pub mod decimal;
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

/// A run file already on local disk: streamed there while history was read, or spilled
/// there once built because it is large.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Path relative to the run folder.
    pub path: String,
    pub file: crate::parquet::WrittenFile,
    /// Data rows (tables), None for documents.
    pub rows: Option<usize>,
}

/// Every file of a run, ready to publish.
pub struct RunFiles {
    /// Files held in memory, listed in the manifest.
    pub files: Vec<OutputFile>,
    /// Files on local disk, listed in the manifest.
    pub local: Vec<LocalFile>,
    /// Files published but not listed (the manifest's signature and public key).
    pub unlisted: Vec<OutputFile>,
    pub manifest: manifest::Manifest,
}

impl RunFiles {
    /// The run paths of the files the manifest lists.
    pub fn paths(&self) -> Vec<String> {
        let local = self.local.iter().map(|f| f.path.clone());
        self.files
            .iter()
            .map(|f| f.path.clone())
            .chain(local)
            .collect()
    }
}

/// Files at least this large are written to the scratch folder as soon as they are built, so
/// a large tenant's run never holds all its files in memory until it publishes.
pub const SPILL_BYTES: usize = 1 << 20;

/// The files of a run as they are built: small ones kept in memory, large ones spilled to
/// the scratch folder.
pub struct RunFileSet {
    scratch: std::path::PathBuf,
    pub files: Vec<OutputFile>,
    pub local: Vec<LocalFile>,
}

impl RunFileSet {
    pub fn new(scratch: &std::path::Path, local: Vec<LocalFile>) -> RunFileSet {
        RunFileSet {
            scratch: scratch.to_path_buf(),
            files: Vec::new(),
            local,
        }
    }

    /// Add a built file, spilling it to disk when large.
    pub fn add(&mut self, f: OutputFile) -> crate::Result<()> {
        if f.bytes.len() < SPILL_BYTES {
            self.files.push(f);
            return Ok(());
        }
        let target = self.scratch.join(format!("spill-{:04}", self.local.len()));
        std::fs::write(&target, &f.bytes)
            .map_err(|e| crate::Error::publish_err(target.display(), e))?;
        self.local.push(LocalFile {
            file: crate::parquet::WrittenFile {
                path: target,
                sha256: crate::hashing::sha256_hex(&f.bytes),
                bytes: f.bytes.len() as u64,
                rows: f.rows.unwrap_or(0),
            },
            path: f.path,
            rows: f.rows,
        });
        Ok(())
    }

    pub fn extend(&mut self, files: impl IntoIterator<Item = OutputFile>) -> crate::Result<()> {
        files.into_iter().try_for_each(|f| self.add(f))
    }
}

/// A frame as a Parquet output file.
pub fn parquet_file(path: &str, df: &polars::prelude::DataFrame) -> crate::Result<OutputFile> {
    use crate::error::PolarsContext;
    let bytes = crate::parquet::parquet_bytes(df).ctx(format!("encoding {path}"))?;
    Ok(OutputFile::new(path, bytes, Some(df.height())))
}
