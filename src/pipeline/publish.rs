//! Publishing a run: every file under `<period>/<run-id>/`, each created only if absent, and
//! `manifest.json` last (the store's `RunWriter`). If anything fails before the manifest,
//! readers ignore the run and a re-run (with a fresh run-id) publishes a complete one.

use crate::error::{Error, Result};
use crate::period::{Period, RunId};
use crate::render::RunFiles;
use crate::store::Store;
use bytes::Bytes;

/// Publish the listed files, then the unlisted ones (the manifest's signature), then the
/// manifest itself. A streamed file must arrive as the manifest describes it.
pub fn publish_run(store: &Store, period: Period, run_id: &RunId, run: &RunFiles) -> Result<()> {
    let mut writer = store.begin_run_with_id(&period.to_string(), run_id.clone())?;
    for f in &run.files {
        writer.put(&f.path, f.bytes.clone())?;
    }
    for local in &run.local {
        let written = writer.put_file(&local.path, &local.file.path)?;
        if written.sha256 != local.file.sha256 {
            return Err(Error::publish(
                &local.path,
                "the file changed on local disk between writing and publishing",
            ));
        }
    }
    for f in &run.unlisted {
        writer.put(&f.path, f.bytes.clone())?;
    }
    writer.commit(Bytes::from(run.manifest.to_bytes()))?;
    Ok(())
}
