//! Reading earlier published runs: the KPIs of a period's newest committed run, for the
//! executive report's trend and for re-runs.

use crate::error::{Error, Result};
use crate::kpi::Kpis;
use crate::period::Period;
use crate::store::Store;

/// The KPIs of the newest committed run of `period`, if there is one.
pub fn kpis_of_run(out: &Store, period: Period) -> Result<Option<Kpis>> {
    let Some(run) = out.newest_committed_run(&period.to_string())? else {
        return Ok(None);
    };
    let path = format!("{period}/{run}/kpis.json");
    let bytes = out.get(&path)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::input(&path, format!("not a kpis.json this version reads: {e}")))
}

/// KPIs of up to five earlier periods that have a committed run, oldest first.
pub fn previous_kpis(out: &Store, period: Period) -> Result<Vec<Kpis>> {
    let mut found = Vec::new();
    let mut p = period.previous();
    for _ in 0..5 {
        if let Some(k) = kpis_of_run(out, p)? {
            found.push(k);
        }
        p = p.previous();
    }
    found.reverse();
    Ok(found)
}
