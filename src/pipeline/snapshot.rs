//! `snapshot`: collect every dataset of one day from a source, validate it, store it in
//! history, then commit the day with its marker (population figures included).

use crate::collect::Source;
use crate::error::{Error, Result};
use crate::history::{DatasetRecord, History, SnapshotMarker};
use crate::model::{ADDED_LATER, DATASETS};
use crate::period::RunId;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Snapshot `date`: each dataset is collected and copied into history before the next one
/// is collected, so memory holds one dataset's staging at a time. Returns None when the source
/// has no data for that day at all (a missing snapshot day, skipped everywhere downstream); a
/// day with only some datasets is an error, and is never committed (its files stay invisible).
pub fn snapshot_day(
    source: &dyn Source,
    history: &History,
    date: NaiveDate,
    run_id: &RunId,
) -> Result<Option<SnapshotMarker>> {
    let mut datasets = BTreeMap::new();
    let (mut present, mut missing) = (Vec::new(), Vec::new());
    let mut not_yet = Vec::new();
    for contract in DATASETS {
        let Some(c) = source.collect(contract, date)? else {
            match ADDED_LATER.contains(&contract.dataset) {
                true => not_yet.push(contract.dataset),
                false => missing.push(contract.dataset),
            }
            continue;
        };
        present.push(contract.dataset);
        history.write_dataset_file(contract.dataset, date, run_id, c.rows.path())?;
        datasets.insert(
            contract.dataset.to_string(),
            DatasetRecord {
                rows: c.height(),
                total_records: c.total_records,
                pages: c.pages,
                origin: c.origin,
                query_sha256: c.query_sha256,
            },
        );
    }
    if datasets.is_empty() {
        tracing::warn!(%date, "no data for this day in {}; it will be listed as a missing snapshot day", source.describe());
        return Ok(None);
    }
    if !not_yet.is_empty() {
        tracing::warn!(%date, "{} has no {}: a recording from before the dataset existed; the day holds none", source.describe(), not_yet.join(", "));
    }
    if let Some(first_missing) = missing.first() {
        return Err(Error::input(
            format!("{} for {date}", source.describe()),
            format!(
                "dataset {first_missing} is missing while {} are present: refusing a partial snapshot day",
                present.join(", ")
            ),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::replay::Replay;
    use crate::store::Store;

    #[test]
    fn a_day_with_some_datasets_is_refused_and_never_committed() {
        let src = tempfile::tempdir().unwrap();
        let day = src.path().join("resource-graph/2026-09-01");
        std::fs::create_dir_all(&day).unwrap();
        let page = r#"[{"totalRecords": 0, "count": 0, "data": [], "resultTruncated": "false"}]"#;
        std::fs::write(day.join("subscriptions.json"), page).unwrap();
        std::fs::create_dir_all(src.path().join("resource-graph/2026-09-02")).unwrap();
        let replay = Replay::open(src.path().to_str().unwrap()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let store = Store::open(out.path().to_str().unwrap(), true).unwrap();
        let history = History::new(&store);
        let run = RunId::parse("20261001T000000Z").unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();

        let err = snapshot_day(&replay, &history, d("2026-09-01"), &run).unwrap_err();
        assert!(
            err.to_string()
                .contains("dataset defender_plans is missing while subscriptions are present"),
            "{err}"
        );
        assert!(
            history
                .committed_days_before(d("2026-10-01"))
                .unwrap()
                .is_empty()
        );
        // A day without any dataset is a missing snapshot day, not an error.
        assert!(
            snapshot_day(&replay, &history, d("2026-09-02"), &run)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_recording_from_before_a_dataset_existed_still_snapshots() {
        let src = tempfile::tempdir().unwrap();
        let day = src.path().join("resource-graph/2026-09-01");
        std::fs::create_dir_all(&day).unwrap();
        let page = r#"[{"totalRecords": 0, "count": 0, "data": [], "resultTruncated": "false"}]"#;
        for c in DATASETS
            .iter()
            .filter(|c| !ADDED_LATER.contains(&c.dataset))
        {
            std::fs::write(day.join(format!("{}.json", c.dataset)), page).unwrap();
        }
        let replay = Replay::open(src.path().to_str().unwrap()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let store = Store::open(out.path().to_str().unwrap(), true).unwrap();
        let history = History::new(&store);
        let run = RunId::parse("20261001T000000Z").unwrap();
        let date = "2026-09-01".parse::<NaiveDate>().unwrap();

        let marker = snapshot_day(&replay, &history, date, &run)
            .unwrap()
            .unwrap();
        assert_eq!(marker.datasets.len(), DATASETS.len() - ADDED_LATER.len());
        assert!(!marker.datasets.contains_key("container_instances"));
    }
}
