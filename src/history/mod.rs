//! Daily snapshots as Parquet, one file per dataset and day:
//! `history/<dataset>/date=YYYY-MM-DD/<run-id>.parquet`, committed by a marker
//! `history/_snapshots/date=YYYY-MM-DD/<run-id>.json` written after every dataset of that day.
//! Readers take, per day, the newest run-id that has a marker, so a snapshot that failed halfway
//! is invisible and a re-run simply adds a newer one.
//!
//! Reports read history through [`SnapshotDays`], one day at a time and in date order, so a
//! report's memory follows one day's rows and what it derives from them, never all of history.

use crate::error::{Error, PolarsContext, Result};
use crate::hashing::sha256_hex;
use crate::model::{ADDED_LATER, DATASETS};
use crate::period::RunId;
use crate::store::Store;
use bytes::Bytes;
use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Cursor;

pub const SNAPSHOT_DATE: &str = "snapshot_date";
const MARKERS: &str = "history/_snapshots";

/// What a snapshot recorded for one dataset: the population figures evidence packs need.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetRecord {
    /// Rows stored.
    pub rows: usize,
    /// Rows the source said exist (`totalRecords`).
    pub total_records: i64,
    pub pages: usize,
    /// Where the rows came from: replay file or query name.
    pub origin: String,
    /// SHA-256 of the query text, when a query produced the rows.
    pub query_sha256: Option<String>,
}

/// The commit marker of one snapshot day.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotMarker {
    pub date: NaiveDate,
    pub run_id: String,
    pub source: String,
    pub datasets: BTreeMap<String, DatasetRecord>,
}

/// One snapshot day: every dataset's rows of that day, each frame with the `snapshot_date`
/// column first. Reports read history one day at a time, so memory holds one day of rows.
#[derive(Debug, Clone)]
pub struct SnapshotDay {
    pub date: NaiveDate,
    frames: BTreeMap<String, DataFrame>,
    /// SHA-256 of every snapshot file read for this day, by `<dataset>/<date>`.
    pub content_sha256: Vec<(String, String)>,
}

impl SnapshotDay {
    /// Whether the day's snapshot holds `dataset`: false for a dataset the job did not collect
    /// yet when the day was snapshotted (its marker does not list it), or that was not read.
    pub fn holds(&self, dataset: &str) -> bool {
        self.frames.contains_key(dataset)
    }

    /// The rows of `dataset` that day (an empty frame of its contract when it was not read).
    pub fn frame(&self, dataset: &str) -> &DataFrame {
        self.frames
            .get(dataset)
            .unwrap_or_else(|| empty_dated(dataset))
    }
}

/// The empty frame (with `snapshot_date`) of a dataset, built once per process.
fn empty_dated(dataset: &str) -> &'static DataFrame {
    static EMPTY: std::sync::OnceLock<BTreeMap<&'static str, DataFrame>> =
        std::sync::OnceLock::new();
    EMPTY
        .get_or_init(|| {
            DATASETS
                .iter()
                .map(|c| (c.dataset, with_date_column(c.empty_frame(), None)))
                .collect()
        })
        .get(dataset)
        .expect("a known dataset")
}

/// Snapshot days before a cut-off, read one day at a time: the store's history, or frames
/// already in memory (tests and fixtures).
pub trait SnapshotDays {
    /// The days, ascending.
    fn days(&self) -> &[NaiveDate];
    /// The commit markers of those days (none for frames built in memory).
    fn markers(&self) -> &[SnapshotMarker];
    /// The rows of `datasets` on `days()[index]`.
    fn day(&self, index: usize, datasets: &[&str]) -> Result<SnapshotDay>;
}

/// Every dataset's snapshots held in memory, with a `snapshot_date` column (tests, fixtures).
#[derive(Debug, Clone)]
pub struct Snapshots {
    /// Snapshot days, ascending.
    pub days: Vec<NaiveDate>,
    pub markers: Vec<SnapshotMarker>,
    pub frames: BTreeMap<String, DataFrame>,
}

impl Snapshots {
    pub fn frame(&self, dataset: &str) -> &DataFrame {
        self.frames.get(dataset).expect("every dataset is loaded")
    }

    /// Build from frames already holding a `snapshot_date` column (tests, fixtures).
    pub fn from_frames(frames: BTreeMap<String, DataFrame>) -> Result<Snapshots> {
        let mut days = std::collections::BTreeSet::new();
        for df in frames.values() {
            let col = df.column(SNAPSHOT_DATE).ctx("snapshot_date")?;
            let dates = col.date().ctx("snapshot_date is a date")?;
            for d in dates.as_date_iter().flatten() {
                days.insert(d);
            }
        }
        let mut frames = frames;
        for c in DATASETS {
            frames
                .entry(c.dataset.to_string())
                .or_insert_with(|| with_date_column(c.empty_frame(), None));
        }
        Ok(Snapshots {
            days: days.into_iter().collect(),
            markers: vec![],
            frames,
        })
    }
}

impl SnapshotDays for Snapshots {
    fn days(&self) -> &[NaiveDate] {
        &self.days
    }

    fn markers(&self) -> &[SnapshotMarker] {
        &self.markers
    }

    fn day(&self, index: usize, datasets: &[&str]) -> Result<SnapshotDay> {
        let date = self.days[index];
        // As in stored history: a day whose marker does not list a dataset does not hold it (a
        // day without a marker, as in fixtures built from frames, holds every dataset).
        let marker = self.markers.iter().find(|m| m.date == date);
        let mut frames = BTreeMap::new();
        for ds in datasets {
            if marker.is_some_and(|m| !m.datasets.contains_key(*ds)) {
                continue;
            }
            let df = self
                .frame(ds)
                .clone()
                .lazy()
                .filter(col(SNAPSHOT_DATE).eq(lit(date)))
                .collect()
                .ctx(format!("{ds} on {date}"))?;
            frames.insert(ds.to_string(), df);
        }
        Ok(SnapshotDay {
            date,
            frames,
            content_sha256: vec![],
        })
    }
}

/// The committed snapshot days of a store's history before a cut-off.
pub struct StoredDays<'a> {
    history: History<'a>,
    days: Vec<NaiveDate>,
    markers: Vec<SnapshotMarker>,
}

impl SnapshotDays for StoredDays<'_> {
    fn days(&self) -> &[NaiveDate] {
        &self.days
    }

    fn markers(&self) -> &[SnapshotMarker] {
        &self.markers
    }

    fn day(&self, index: usize, datasets: &[&str]) -> Result<SnapshotDay> {
        self.history.read_day(&self.markers[index], datasets)
    }
}

pub struct History<'a> {
    store: &'a Store,
}

impl<'a> History<'a> {
    pub fn new(store: &'a Store) -> Self {
        History { store }
    }

    fn dataset_path(dataset: &str, date: NaiveDate, run_id: &str) -> String {
        format!("history/{dataset}/date={date}/{run_id}.parquet")
    }

    /// Store one dataset of one day. Call `commit_day` after every dataset is written.
    pub fn write_dataset(
        &self,
        dataset: &str,
        date: NaiveDate,
        run_id: &RunId,
        df: &DataFrame,
    ) -> Result<()> {
        let bytes =
            crate::parquet::parquet_bytes(df).ctx(format!("encoding {dataset} for {date}"))?;
        self.store
            .put_new(&Self::dataset_path(dataset, date, run_id.as_str()), bytes)
    }

    /// Store one dataset of one day from a Parquet file already written (a staged collection).
    pub fn write_dataset_file(
        &self,
        dataset: &str,
        date: NaiveDate,
        run_id: &RunId,
        file: &std::path::Path,
    ) -> Result<()> {
        let path = Self::dataset_path(dataset, date, run_id.as_str());
        self.store.put_new_file(&path, file).map(|_| ())
    }

    pub fn commit_day(&self, marker: &SnapshotMarker) -> Result<()> {
        let json = serde_json::to_vec_pretty(marker).expect("marker serialises");
        self.store.put_new(
            &format!("{MARKERS}/date={}/{}.json", marker.date, marker.run_id),
            Bytes::from(json),
        )
    }

    /// The newest committed marker of every day before `before` (exclusive).
    pub fn markers_before(&self, before: NaiveDate) -> Result<Vec<SnapshotMarker>> {
        self.newest_runs_before(before)?
            .into_iter()
            .map(|(date, run)| {
                let path = format!("{MARKERS}/date={date}/{run}.json");
                let bytes = self.store.get(&path)?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::input(&path, format!("bad snapshot marker: {e}")))
            })
            .collect()
    }

    /// The days before `before` that have a committed snapshot (one listing, no reads).
    pub fn committed_days_before(&self, before: NaiveDate) -> Result<Vec<NaiveDate>> {
        Ok(self.newest_runs_before(before)?.into_keys().collect())
    }

    /// Per committed day before `before`, the newest snapshot run's id (from marker paths).
    fn newest_runs_before(&self, before: NaiveDate) -> Result<BTreeMap<NaiveDate, String>> {
        let mut newest: BTreeMap<NaiveDate, String> = BTreeMap::new();
        for entry in self.store.list(MARKERS)? {
            let Some((date, run)) = parse_marker_path(&entry.path) else {
                continue;
            };
            if date >= before {
                continue;
            }
            let slot = newest.entry(date).or_default();
            if run > *slot {
                *slot = run;
            }
        }
        Ok(newest)
    }

    /// The committed snapshot days before `before` (exclusive): markers only, rows are read
    /// day by day.
    pub fn days_before(&self, before: NaiveDate) -> Result<StoredDays<'a>> {
        let markers = self.markers_before(before)?;
        Ok(StoredDays {
            history: History { store: self.store },
            days: markers.iter().map(|m| m.date).collect(),
            markers,
        })
    }

    /// The rows of `datasets` on the day of `marker`, hashed as read.
    pub fn read_day(&self, marker: &SnapshotMarker, datasets: &[&str]) -> Result<SnapshotDay> {
        let mut frames = BTreeMap::new();
        let mut content_sha256 = Vec::with_capacity(datasets.len());
        for ds in datasets {
            // A day snapshotted before the dataset existed has no file for it: the day's frame
            // is the empty one (`SnapshotDay::frame`).
            if ADDED_LATER.contains(ds) && !marker.datasets.contains_key(*ds) {
                continue;
            }
            let path = Self::dataset_path(ds, marker.date, &marker.run_id);
            let bytes = self.store.get(&path)?;
            content_sha256.push((format!("{ds}/{}", marker.date), sha256_hex(&bytes)));
            let df = ParquetReader::new(Cursor::new(bytes))
                .finish()
                .ctx(format!("reading {path}"))?;
            frames.insert(ds.to_string(), with_date_column(df, Some(marker.date)));
        }
        Ok(SnapshotDay {
            date: marker.date,
            frames,
            content_sha256,
        })
    }
}

fn parse_marker_path(path: &str) -> Option<(NaiveDate, String)> {
    let rest = path.strip_prefix(MARKERS)?.trim_start_matches('/');
    let (date_part, file) = rest.split_once('/')?;
    let date = NaiveDate::parse_from_str(date_part.strip_prefix("date=")?, "%Y-%m-%d").ok()?;
    let run = file.strip_suffix(".json")?;
    RunId::parse(run).ok()?;
    Some((date, run.to_string()))
}

/// Prepend a `snapshot_date` column (constant `date`, or an empty one for an empty frame).
pub fn with_date_column(df: DataFrame, date: Option<NaiveDate>) -> DataFrame {
    let days = date.map(|d| (d - crate::frame::EPOCH).num_days() as i32);
    let col = Column::new(SNAPSHOT_DATE.into(), vec![days; df.height()])
        .cast(&DataType::Date)
        .expect("i32 casts to date");
    let mut columns = vec![col];
    columns.extend(df.columns().iter().cloned());
    DataFrame::new(df.height(), columns).expect("same height")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_day_from_before_a_dataset_existed_reads_as_holding_none_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap(), true).unwrap();
        let history = History::new(&store);
        let date: NaiveDate = "2026-09-01".parse().unwrap();
        let run = RunId::parse("20260901T010000Z").unwrap();
        let mut datasets = BTreeMap::new();
        for c in DATASETS
            .iter()
            .filter(|c| !ADDED_LATER.contains(&c.dataset))
        {
            history
                .write_dataset(c.dataset, date, &run, &c.empty_frame())
                .unwrap();
            datasets.insert(
                c.dataset.to_string(),
                DatasetRecord {
                    rows: 0,
                    total_records: 0,
                    pages: 1,
                    origin: "fixture".into(),
                    query_sha256: None,
                },
            );
        }
        let marker = SnapshotMarker {
            date,
            run_id: run.to_string(),
            source: "fixture".into(),
            datasets,
        };
        let all: Vec<&str> = DATASETS.iter().map(|c| c.dataset).collect();
        let day = history.read_day(&marker, &all).unwrap();
        for ds in ADDED_LATER {
            assert_eq!(day.frame(ds).height(), 0);
        }
        // Every other dataset is still required.
        let mut partial = marker.clone();
        partial.datasets.remove("aks_clusters");
        history
            .write_dataset(
                "aks_clusters",
                "2026-09-02".parse().unwrap(),
                &run,
                &DATASETS[2].empty_frame(),
            )
            .unwrap();
        let elsewhere = SnapshotMarker {
            date: "2026-09-03".parse().unwrap(),
            ..partial
        };
        assert!(history.read_day(&elsewhere, &all).is_err());
    }
}
