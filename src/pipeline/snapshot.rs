//! `snapshot`: collect every dataset of one day from a source, validate it, store it in
//! history, then commit the day with its marker (population figures included).

use crate::collect::Source;
use crate::error::{Error, Result};
use crate::history::{DatasetRecord, History, SnapshotMarker};
use crate::model::DATASETS;
use crate::period::RunId;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Snapshot `date`. Returns None when the source has no data for that day at all (a missing
/// snapshot day, skipped everywhere downstream); a day with only some datasets is an error.
pub fn snapshot_day(
    source: &dyn Source,
    history: &History,
    date: NaiveDate,
    run_id: &RunId,
) -> Result<Option<SnapshotMarker>> {
    let mut collected = Vec::with_capacity(DATASETS.len());
    for contract in DATASETS {
        collected.push((contract, source.collect(contract, date)?));
    }
    let present: Vec<&str> = collected
        .iter()
        .filter(|(_, c)| c.is_some())
        .map(|(k, _)| k.dataset)
        .collect();
    if present.is_empty() {
        tracing::warn!(%date, "no data for this day in {}; it will be listed as a missing snapshot day", source.describe());
        return Ok(None);
    }
    if let Some((missing, _)) = collected.iter().find(|(_, c)| c.is_none()) {
        return Err(Error::input(
            format!("{} for {date}", source.describe()),
            format!(
                "dataset {} is missing while {} are present: refusing a partial snapshot day",
                missing.dataset,
                present.join(", ")
            ),
        ));
    }
    let mut datasets = BTreeMap::new();
    for (contract, c) in collected {
        let c = c.expect("checked above");
        history.write_dataset(contract.dataset, date, run_id, &c.frame)?;
        datasets.insert(
            contract.dataset.to_string(),
            DatasetRecord {
                rows: c.frame.height(),
                total_records: c.total_records,
                pages: c.pages,
                origin: c.origin,
                query_sha256: c.query_sha256,
            },
        );
    }
    let marker = SnapshotMarker {
        date,
        run_id: run_id.to_string(),
        source: source.describe(),
        datasets,
    };
    history.commit_day(&marker)?;
    tracing::debug!(%date, run_id = %run_id, "snapshot committed");
    Ok(Some(marker))
}

/// Snapshot every day in `days` that history has not committed yet (or every day with
/// `refresh`). Returns the markers written.
pub fn snapshot_days(
    source: &dyn Source,
    history: &History,
    days: &[NaiveDate],
    run_id: &RunId,
    refresh: bool,
) -> Result<Vec<SnapshotMarker>> {
    let committed: std::collections::BTreeSet<NaiveDate> = match days.last() {
        Some(last) if !refresh => history
            .committed_days_before(*last + chrono::Duration::days(1))?
            .into_iter()
            .collect(),
        _ => Default::default(),
    };
    let mut out = Vec::new();
    for day in days {
        if committed.contains(day) {
            continue;
        }
        if let Some(m) = snapshot_day(source, history, *day, run_id)? {
            out.push(m);
        }
    }
    Ok(out)
}
