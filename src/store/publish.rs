//! The run layout: every file of a run under `<period>/<run-id>/`, `manifest.json` written last.
//! A run without a manifest does not exist for readers, so a publish that fails halfway leaves
//! nothing anyone reads, and the next attempt takes a fresh run-id.

use super::{Store, Written};
use crate::error::{Error, Result};
use crate::period::RunId;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The commit marker of a run.
pub const MANIFEST: &str = "manifest.json";

/// The content type stored with a blob, by extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => "text/csv; charset=utf-8",
        Some("parquet") => "application/vnd.apache.parquet",
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        Some("txt" | "md" | "kql") => "text/plain; charset=utf-8",
        Some("gz") => "application/gzip",
        Some("zip") => "application/zip",
        Some("sig") => "application/octet-stream",
        _ => "application/octet-stream",
    }
}

/// One file of a published run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedFile {
    /// Path inside the run folder, for example `finance/showback-by-owner.csv`.
    pub path: String,
    pub size: u64,
    /// SHA-256, lower-case hex: what the manifest records.
    pub sha256: String,
    pub content_type: &'static str,
}

/// Writes one run. Files first, in any order; `commit` writes the manifest and is refused after
/// any failed write, so a broken run can never look complete.
#[derive(Debug)]
pub struct RunWriter {
    store: Store,
    period: String,
    run_id: RunId,
    files: Vec<PublishedFile>,
    failed: Option<String>,
}

impl Store {
    fn run_dir(period: &str, run_id: &RunId) -> String {
        format!("{}/{}", period.trim_matches('/'), run_id.as_str())
    }

    /// Start a run under `<period>/` with a run-id no earlier attempt used (not even one that
    /// failed before its manifest): if the current second is taken, wait for the next.
    pub fn begin_run(&self, period: &str) -> Result<RunWriter> {
        let id = self.fresh_run_id(period)?;
        Ok(self.writer(period, id))
    }

    /// A run-id nothing under `<period>/` uses yet: if the current second is taken (run ids have
    /// one-second resolution), wait for the next.
    pub fn fresh_run_id(&self, period: &str) -> Result<RunId> {
        loop {
            let id = RunId::fresh();
            if self.list(&Self::run_dir(period, &id))?.is_empty() {
                return Ok(id);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Start a run with a given run-id, refused if anything already exists under it.
    pub fn begin_run_with_id(&self, period: &str, run_id: RunId) -> Result<RunWriter> {
        let dir = Self::run_dir(period, &run_id);
        if !self.list(&dir)?.is_empty() {
            return Err(Error::publish(
                format!("{}/{dir}", self.display()),
                "run-id already used; runs never overwrite (start a new run-id)",
            ));
        }
        Ok(self.writer(period, run_id))
    }

    fn writer(&self, period: &str, run_id: RunId) -> RunWriter {
        RunWriter {
            store: self.clone(),
            period: period.trim_matches('/').to_string(),
            run_id,
            files: Vec::new(),
            failed: None,
        }
    }

    /// Run-ids under `<period>/` that have a manifest, oldest first. Runs without one (failed
    /// or still being written) are left out.
    pub fn committed_runs(&self, period: &str) -> Result<Vec<RunId>> {
        let mut out = Vec::new();
        for name in self.list_dirs(period)? {
            let Ok(id) = RunId::parse(&name) else {
                continue;
            };
            if self.exists(&format!("{}/{MANIFEST}", Self::run_dir(period, &id)))? {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The newest run-id under `<period>/` that has a manifest: the one readers use.
    pub fn newest_committed_run(&self, period: &str) -> Result<Option<RunId>> {
        let mut ids: Vec<RunId> = self
            .list_dirs(period)?
            .iter()
            .filter_map(|n| RunId::parse(n).ok())
            .collect();
        ids.sort();
        while let Some(id) = ids.pop() {
            if self.exists(&format!("{}/{MANIFEST}", Self::run_dir(period, &id)))? {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}

impl RunWriter {
    pub fn run_id(&self) -> &RunId {
        &self.run_id
    }

    /// `<period>/<run-id>`, relative to the store.
    pub fn dir(&self) -> String {
        Store::run_dir(&self.period, &self.run_id)
    }

    /// Every file written so far, in write order (what the manifest lists).
    pub fn files(&self) -> &[PublishedFile] {
        &self.files
    }

    fn check(&self, rel: &str) -> Result<String> {
        let rel = rel.trim_matches('/');
        if let Some(why) = &self.failed {
            return Err(Error::publish(
                format!("{}/{}", self.store.display(), self.dir()),
                format!("an earlier write of this run failed ({why}); start a new run"),
            ));
        }
        if rel == MANIFEST {
            return Err(Error::publish(
                rel,
                "the manifest is written by commit, after every other file",
            ));
        }
        if rel.is_empty()
            || rel
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(Error::publish(rel, "not a relative file path"));
        }
        Ok(format!("{}/{rel}", self.dir()))
    }

    fn record<T>(&mut self, rel: &str, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.failed = Some(format!("{rel}: {e}"));
        }
        result
    }

    /// Write a file held in memory.
    pub fn put(&mut self, rel: &str, bytes: Bytes) -> Result<&PublishedFile> {
        let full = self.check(rel)?;
        let file = PublishedFile {
            path: rel.trim_matches('/').to_string(),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            content_type: super::content_type(rel),
        };
        let r = self.store.put_new(&full, bytes);
        self.record(rel, r)?;
        self.files.push(file);
        Ok(self.files.last().expect("just pushed"))
    }

    /// Write a local file, streamed in blocks when large.
    pub fn put_file(&mut self, rel: &str, local: &Path) -> Result<&PublishedFile> {
        let full = self.check(rel)?;
        let r = self.store.put_new_file(&full, local);
        let Written { size, sha256 } = self.record(rel, r)?;
        self.files.push(PublishedFile {
            path: rel.trim_matches('/').to_string(),
            size,
            sha256,
            content_type: super::content_type(rel),
        });
        Ok(self.files.last().expect("just pushed"))
    }

    /// Write `manifest.json` last: from now on readers see this run. Returns its run-id.
    pub fn commit(self, manifest: Bytes) -> Result<RunId> {
        if let Some(why) = &self.failed {
            return Err(Error::publish(
                format!("{}/{}", self.store.display(), self.dir()),
                format!("not committed: an earlier write failed ({why})"),
            ));
        }
        self.store
            .put_new(&format!("{}/{MANIFEST}", self.dir()), manifest)?;
        Ok(self.run_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("a/b.CSV"), "text/csv; charset=utf-8");
        assert_eq!(
            content_type("data/x.parquet"),
            "application/vnd.apache.parquet"
        );
        assert_eq!(content_type("manifest.json"), "application/json");
        assert_eq!(content_type("e/report.pdf"), "application/pdf");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("dir.d/noext"), "application/octet-stream");
    }

    #[test]
    fn folder_run_is_invisible_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap(), true).unwrap();
        assert_eq!(store.newest_committed_run("2026-10").unwrap(), None);
        let mut run = store
            .begin_run_with_id("2026-10", RunId::parse("20261101T060000Z").unwrap())
            .unwrap();
        run.put("finance/a.csv", Bytes::from_static(b"a,b\n"))
            .unwrap();
        assert!(run.put(MANIFEST, Bytes::new()).is_err());
        assert!(run.put("../escape.csv", Bytes::new()).is_err());
        assert_eq!(store.newest_committed_run("2026-10").unwrap(), None);
        assert_eq!(run.files()[0].sha256.len(), 64);
        let id = run.commit(Bytes::from_static(b"{}")).unwrap();
        assert_eq!(
            store.newest_committed_run("2026-10").unwrap(),
            Some(id.clone())
        );
        // A second, failed run stays invisible.
        let mut failed = store
            .begin_run_with_id("2026-10", RunId::parse("20261102T060000Z").unwrap())
            .unwrap();
        failed.put("x.csv", Bytes::from_static(b"1")).unwrap();
        assert!(
            store
                .begin_run_with_id("2026-10", RunId::parse("20261102T060000Z").unwrap())
                .is_err()
        );
        // A write that fails poisons the run: no manifest can follow.
        store
            .put_new(
                "2026-10/20261102T060000Z/y.csv",
                Bytes::from_static(b"taken"),
            )
            .unwrap();
        assert!(failed.put("y.csv", Bytes::from_static(b"2")).is_err());
        let err = failed.commit(Bytes::from_static(b"{}")).unwrap_err();
        assert!(err.to_string().contains("not committed"), "{err}");
        assert_eq!(
            store.newest_committed_run("2026-10").unwrap(),
            Some(id.clone())
        );
        assert_eq!(store.committed_runs("2026-10").unwrap(), vec![id]);
        let fresh = store.begin_run("2026-10").unwrap();
        assert_ne!(fresh.run_id().as_str(), "20261102T060000Z");
    }
}
