//! Publishing a run: every file under `<period>/<run-id>/`, each created only if absent, and
//! `manifest.json` last (the store's `RunWriter`). If anything fails before the manifest,
//! readers ignore the run and a re-run (with a fresh run-id) publishes a complete one.

use crate::error::Result;
use crate::period::{Period, RunId};
use crate::render::OutputFile;
use crate::render::manifest::Manifest;
use crate::store::Store;
use bytes::Bytes;

/// Publish `files` (listed in the manifest), then `unlisted` (the manifest's signature), then
/// the manifest itself.
pub fn publish_run(
    store: &Store,
    period: Period,
    run_id: &RunId,
    files: &[OutputFile],
    unlisted: &[OutputFile],
    manifest: &Manifest,
) -> Result<()> {
    let mut run = store.begin_run_with_id(&period.to_string(), run_id.clone())?;
    for f in files.iter().chain(unlisted) {
        run.put(&f.path, f.bytes.clone())?;
    }
    run.commit(Bytes::from(manifest.to_bytes()))?;
    Ok(())
}
