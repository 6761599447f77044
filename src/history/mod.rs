//! Daily snapshots as Parquet, one file per dataset and day:
//! `history/<dataset>/date=YYYY-MM-DD/<run-id>.parquet`, committed by a marker
//! `history/_snapshots/date=YYYY-MM-DD/<run-id>.json` written after every dataset of that day.
//! Readers take, per day, the newest run-id that has a marker, so a snapshot that failed halfway
//! is invisible and a re-run simply adds a newer one.

use crate::error::{Error, PolarsContext, Result};
use crate::model::{Contract, DATASETS};
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

/// Every dataset's snapshots up to a cut-off, with a `snapshot_date` column.
#[derive(Debug, Clone)]
pub struct Snapshots {
    /// Snapshot days used, ascending.
    pub days: Vec<NaiveDate>,
    pub markers: Vec<SnapshotMarker>,
    pub frames: BTreeMap<String, DataFrame>,
    /// SHA-256 of every snapshot file read, by `<dataset>/<date>`: the content fingerprint of
    /// the report's Resource Graph inputs (independent of which run wrote them).
    pub content_sha256: BTreeMap<String, String>,
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
            content_sha256: BTreeMap::new(),
        })
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
        let bytes = parquet_bytes(df).ctx(format!("encoding {dataset} for {date}"))?;
        self.store
            .put_new(&Self::dataset_path(dataset, date, run_id.as_str()), bytes)
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

    /// Every dataset's snapshots for days before `before`.
    pub fn load_before(&self, before: NaiveDate) -> Result<Snapshots> {
        let markers = self.markers_before(before)?;
        let mut frames = BTreeMap::new();
        let mut content_sha256 = BTreeMap::new();
        for contract in DATASETS {
            frames.insert(
                contract.dataset.to_string(),
                self.load_dataset(contract, &markers, &mut content_sha256)?,
            );
        }
        Ok(Snapshots {
            days: markers.iter().map(|m| m.date).collect(),
            markers,
            frames,
            content_sha256,
        })
    }

    fn load_dataset(
        &self,
        contract: &Contract,
        markers: &[SnapshotMarker],
        hashes: &mut BTreeMap<String, String>,
    ) -> Result<DataFrame> {
        let mut parts = Vec::with_capacity(markers.len());
        for m in markers {
            let path = Self::dataset_path(contract.dataset, m.date, &m.run_id);
            let bytes = self.store.get(&path)?;
            let key = format!("{}/{}", contract.dataset, m.date);
            hashes.insert(key, crate::render::manifest::sha256_hex(&bytes));
            let df = ParquetReader::new(Cursor::new(bytes))
                .finish()
                .ctx(format!("reading {path}"))?;
            parts.push(with_date_column(df, Some(m.date)).lazy());
        }
        if parts.is_empty() {
            return Ok(with_date_column(contract.empty_frame(), None));
        }
        concat(parts, UnionArgs::default())
            .and_then(|lf| lf.collect())
            .ctx(format!("combining {} snapshots", contract.dataset))
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

/// Encode a frame as Parquet (zstd) bytes. Deterministic for identical frames.
pub fn parquet_bytes(df: &DataFrame) -> PolarsResult<Bytes> {
    let mut buf = Vec::new();
    let mut df = df.clone();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)?;
    Ok(Bytes::from(buf))
}
