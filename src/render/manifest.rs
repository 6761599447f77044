//! `manifest.json`: the commit record of a run, written last. It lists every file with its
//! SHA-256, size and rows, and says what the numbers came from: period, snapshot days used and
//! missing, queries and their hashes, cost export runs, configuration hash, tool version.
//! Readers trust only runs that have one.

use crate::hashing::sha256_hex;
use crate::render::{LocalFile, OutputFile};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::store::publish::MANIFEST;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub run_id: String,
    pub command: String,
    pub period: String,
    pub period_start: String,
    pub period_end_exclusive: String,
    /// Where data came from and went to, secrets removed.
    pub source: String,
    pub output: String,
    pub config_sha256: String,
    /// Scope, parameters, snapshot days, queries, export runs: provenance for auditors.
    pub provenance: Value,
    /// SHA-256 over the sorted input hashes (snapshot files, cost export files): equal inputs,
    /// equal fingerprint.
    pub input_fingerprint: String,
    pub files: Vec<FileEntry>,
}

/// Manifest entries of files in memory and files on local disk, sorted by path.
pub fn file_entries(files: &[OutputFile], local: &[LocalFile]) -> Vec<FileEntry> {
    let mut out: Vec<FileEntry> = files
        .iter()
        .map(|f| FileEntry {
            path: f.path.clone(),
            sha256: sha256_hex(&f.bytes),
            bytes: f.bytes.len() as u64,
            rows: f.rows,
        })
        .collect();
    out.extend(local.iter().map(|f| FileEntry {
        path: f.path.clone(),
        sha256: f.file.sha256.clone(),
        bytes: f.file.bytes,
        rows: f.rows,
    }));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

impl Manifest {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("manifest serialises");
        v.push(b'\n');
        v
    }
}
