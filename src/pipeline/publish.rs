//! Publishing a run: every file under `<period>/<run-id>/`, each created only if absent, and
//! `manifest.json` last. If anything fails before the manifest, readers ignore the run and a
//! re-run (with a fresh run-id) publishes a complete one.

use crate::error::Result;
use crate::period::{Period, RunId};
use crate::render::OutputFile;
use crate::render::manifest::{MANIFEST, Manifest};
use crate::store::Store;
use bytes::Bytes;

pub fn run_prefix(period: Period, run_id: &RunId) -> String {
    format!("{period}/{run_id}")
}

/// A run id not used yet under `period` (run ids have one-second resolution).
pub fn fresh_run_id(store: &Store, period: Period) -> Result<RunId> {
    loop {
        let id = RunId::fresh();
        if store.list(&run_prefix(period, &id))?.is_empty() {
            return Ok(id);
        }
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
}

pub fn publish_run(
    store: &Store,
    period: Period,
    run_id: &RunId,
    files: &[OutputFile],
    manifest: &Manifest,
) -> Result<()> {
    let prefix = run_prefix(period, run_id);
    for f in files {
        store.put_new(&format!("{prefix}/{}", f.path), f.bytes.clone())?;
    }
    store.put_new(
        &format!("{prefix}/{MANIFEST}"),
        Bytes::from(manifest.to_bytes()),
    )
}

/// The newest run of `period` that has a manifest.
pub fn newest_committed_run(store: &Store, period: Period) -> Result<Option<RunId>> {
    let mut runs: Vec<RunId> = store
        .list(&period.to_string())?
        .into_iter()
        .filter_map(|e| {
            let rest = e.path.strip_prefix(&format!("{period}/"))?;
            let (run, file) = rest.split_once('/')?;
            (file == MANIFEST).then(|| RunId::parse(run).ok()).flatten()
        })
        .collect();
    runs.sort();
    Ok(runs.pop())
}
