//! Cost Management exports: discovery by manifest, newest run per export and date range, and
//! streaming normalisation of every schema to one cost table with FOCUS column names.
//!
//! Supported: FOCUS 1.0, 1.0r2 and 1.2-preview; EA actual/amortized 2021-10-01,
//! 2023-12-01-preview and 2024-08-01; MCA 2021-10-01 and 2023-12-01-preview; as CSV, gzip
//! CSV or Parquet. Headers match case-insensitively and by name, never by position.
//!
//! The result is an aggregate (`aggregate::CostRows`), never the raw rows: cost per month and
//! resource, per day for Defender charges and clusters, and per day and resource group, in
//! integer nano-units of the billing currency so totals are exact and the same on every run.
//! Files are streamed (see `scan`): memory grows with the number of resources, not rows.

pub mod aggregate;
pub mod coverage;
pub mod csv_stream;
pub mod currency;
pub mod manifest;
pub mod scan;
pub mod schema;
pub mod versions;

pub use aggregate::{Cell, CostRows, Resource, RowRef};
pub use coverage::PeriodRequirement;

use crate::error::{Error, Result};
use crate::store::Store;
use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Nano-units per currency unit.
pub const NANOS_PER_UNIT: i64 = 1_000_000_000;

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Set bad rows aside (returned in `CostData::rejects`) instead of failing on the first.
    pub rejects: bool,
    /// Keep only these tag keys (case-insensitive) in `Resource::tags`, as a JSON object;
    /// None keeps the cell as given. Showback only reads `showback.owner_tags`, and dropping
    /// the other tags while reading keeps the resource table small.
    pub tag_keys: Option<Vec<String>>,
    /// The report period: every configured export must cover its days and hold at least one
    /// cost row in it, or the load fails (see `coverage`). None (doctor, tools): no check.
    pub period: Option<PeriodRequirement>,
}

/// A row set aside in rejects mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    pub file: String,
    /// 1-based line where the record starts (Parquet: 1-based row number).
    pub line: u64,
    /// 0-based data record index.
    #[serde(skip)]
    pub record: u64,
    pub reason: String,
    pub raw: String,
}

/// One file read, for the manifest and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileProvenance {
    pub path: String,
    pub bytes: u64,
    /// Data rows in the file (valid and rejected).
    pub rows: u64,
    pub rows_in_window: u64,
    pub rejected_rows: u64,
    /// Schema family found from the header ("FOCUS", "EA actual/amortized", ...).
    pub schema: String,
}

/// One export run read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunProvenance {
    pub export_name: String,
    pub run_id: String,
    pub submitted_time: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub range_folder: String,
    pub manifest: String,
    pub legacy_manifest: bool,
    pub data_version: Option<String>,
    pub export_type: Option<String>,
    pub files: Vec<FileProvenance>,
    /// Older runs of the same export and range folder that this one replaced.
    pub replaces_runs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CostData {
    /// The aggregated cost rows of the window.
    pub rows: CostRows,
    /// The requested window `[from, to_exclusive)`.
    pub from: NaiveDate,
    pub to_exclusive: NaiveDate,
    /// The days the selected runs cover, clipped to the window (`[start, end)`), if any.
    pub covered: Option<(NaiveDate, NaiveDate)>,
    /// The last day with cost when a partial month was allowed and the period's last days
    /// have no export run yet; None for a complete period.
    pub partial_until: Option<NaiveDate>,
    /// Export names as configured.
    pub exports: Vec<String>,
    pub runs: Vec<RunProvenance>,
    /// file, line, reason, raw (empty unless `LoadOptions::rejects`).
    pub rejects: DataFrame,
    pub rejected_rows: u64,
    pub data_quality: Vec<String>,
}

impl CostData {
    /// An empty set (no exports configured), in the same schema.
    pub fn empty(from: NaiveDate, to_exclusive: NaiveDate) -> Result<CostData> {
        Ok(CostData {
            rows: CostRows::default(),
            from,
            to_exclusive,
            covered: None,
            partial_until: None,
            exports: Vec::new(),
            runs: Vec::new(),
            rejects: rejects_frame(&[])?,
            rejected_rows: 0,
            data_quality: Vec::new(),
        })
    }

    /// What identifies the cost inputs (export runs, files with sizes and row counts), for
    /// the input fingerprint: the same runs read give the same fingerprint.
    pub fn fingerprint_material(&self) -> serde_json::Value {
        serde_json::json!({
            "exports": self.exports,
            "runs": self.runs.iter().map(|r| serde_json::json!({
                "export": r.export_name, "run_id": r.run_id, "submitted_time": r.submitted_time,
                "files": r.files.iter().map(|f| (f.path.clone(), f.bytes, f.rows)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    /// Export runs read, for the manifest and the evidence packs.
    pub fn provenance_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "exports": self.exports,
            "window": {"from": self.from, "to_exclusive": self.to_exclusive},
            "covered": self.covered,
            "runs": self.runs,
            "rejected_rows": self.rejected_rows,
        });
        // Only a partial month says so: a complete one's provenance is unchanged.
        if let Some(until) = self.partial_until {
            v["status"] = serde_json::json!(self.partial_status().unwrap_or_default());
            v["partial_until"] = serde_json::json!(until);
        }
        v
    }

    /// "partial: cost data until <day>" when the period's last days have no cost yet.
    pub fn partial_status(&self) -> Option<String> {
        self.partial_until.map(coverage::partial_status)
    }
}

pub fn rejects_frame(rejects: &[Reject]) -> Result<DataFrame> {
    crate::frame::frame(vec![
        crate::frame::column("file", rejects, |r| r.file.as_str()),
        crate::frame::column("line", rejects, |r| r.line as i64),
        crate::frame::column("reason", rejects, |r| r.reason.as_str()),
        crate::frame::column("raw", rejects, |r| r.raw.as_str()),
    ])
}

enum Kind {
    Csv { gzip: bool },
    Parquet,
}

fn kind_of(path: &str) -> Option<Kind> {
    let p = path.to_ascii_lowercase();
    if p.ends_with(".csv.gz") || p.ends_with(".gz") {
        Some(Kind::Csv { gzip: true })
    } else if p.ends_with(".csv") {
        Some(Kind::Csv { gzip: false })
    } else if p.ends_with(".parquet") {
        Some(Kind::Parquet)
    } else {
        None
    }
}

/// Find the runs of the configured exports, take the newest run per export and range folder,
/// read exactly the files their manifests list, and aggregate the rows charged in
/// `[from, to_exclusive)`. With `LoadOptions::period`, the period's days and rows are a
/// precondition (see `coverage`).
pub fn load(
    store: &Store,
    exports: &[String],
    from: NaiveDate,
    to_exclusive: NaiveDate,
    opts: &LoadOptions,
) -> Result<CostData> {
    if exports.is_empty() {
        return CostData::empty(from, to_exclusive);
    }
    let listed = store.list("")?;
    let mut data_quality = Vec::new();
    let runs = read_manifests(store, &listed, exports, &mut data_quality)?;
    require_known_exports(store, exports, &runs)?;
    let (winners, replaced) = select_runs(runs, exports, from, to_exclusive);
    let partial_until = match &opts.period {
        Some(req) => coverage::require_period_days(&winners, exports, req, store.display())?,
        None => None,
    };
    data_quality.extend(warn_all(version_warnings(&winners)));
    data_quality.extend(warn_all(double_range_warnings(&winners)));
    let mut reading = Reading::new(store, &listed, (from, to_exclusive), opts)?;
    let provenance = winners
        .iter()
        .map(|run| reading.read_run(run, &replaced))
        .collect::<Result<Vec<_>>>()?;
    let covered = covered_window(&winners, from, to_exclusive);
    data_quality.extend(warn_all(missing_run_warnings(
        exports,
        &winners,
        from,
        to_exclusive,
    )));
    data_quality.extend(warn_all(rejects_warning(reading.rejects.len())));
    let rows = CostRows::merge(reading.aggs.into_iter().map(|a| a.finish()).collect());
    if let Some(req) = &opts.period {
        coverage::require_period_rows(&rows, exports, req, store.display())?;
    }
    data_quality.extend(overlap_warnings(&rows));
    if let (Some(until), Some(req)) = (partial_until, &opts.period) {
        data_quality.push(warned(coverage::partial_note(until, req)));
    }
    Ok(CostData {
        rows,
        from,
        to_exclusive,
        covered,
        partial_until,
        exports: exports.to_vec(),
        runs: provenance,
        rejected_rows: reading.rejects.len() as u64,
        rejects: rejects_frame(&reading.rejects)?,
        data_quality,
    })
}

/// A data-quality line, also logged as a warning.
fn warned(msg: String) -> String {
    tracing::warn!("{msg}");
    msg
}

fn warn_all(msgs: impl IntoIterator<Item = String>) -> Vec<String> {
    msgs.into_iter().map(warned).collect()
}

/// Every run manifest in the store. A broken manifest of a configured export is an error; one
/// of another export is only noted in data quality.
fn read_manifests(
    store: &Store,
    listed: &[crate::store::Entry],
    exports: &[String],
    data_quality: &mut Vec<String>,
) -> Result<Vec<manifest::Run>> {
    let mut runs = Vec::new();
    for e in listed.iter().filter(|e| manifest::is_manifest(&e.path)) {
        let bytes = store.get(&e.path)?;
        let shown = format!("{}/{}", store.display(), e.path);
        match manifest::parse(&e.path, &shown, &bytes, listed) {
            Ok(run) => runs.push(run),
            Err(err) => {
                let path = e.path.to_lowercase();
                if exports.iter().any(|x| path.contains(&x.to_lowercase())) {
                    return Err(err);
                }
                data_quality.push(warned(format!(
                    "ignored an unreadable manifest of another export: {err}"
                )));
            }
        }
    }
    Ok(runs)
}

/// Every configured export must have at least one run in the store: a name that matches
/// nothing is a configuration error that lists the exports found.
fn require_known_exports(store: &Store, exports: &[String], runs: &[manifest::Run]) -> Result<()> {
    let found: BTreeSet<String> = runs.iter().map(|r| r.export_name.clone()).collect();
    let unknown: Vec<&String> = exports
        .iter()
        .filter(|e| !found.iter().any(|f| f.eq_ignore_ascii_case(e)))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::config(format!(
        "cost.exports names {} but {} holds no run of {}; exports found: {}",
        unknown
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", "),
        store.display(),
        if unknown.len() == 1 { "it" } else { "them" },
        if found.is_empty() {
            "none".to_string()
        } else {
            found.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    )))
}

/// The runs to read: of the configured exports, the newest per range folder, whose folder
/// overlaps the window; and the runs those replaced.
fn select_runs(
    runs: Vec<manifest::Run>,
    exports: &[String],
    from: NaiveDate,
    to_exclusive: NaiveDate,
) -> (Vec<manifest::Run>, Vec<manifest::Run>) {
    let wanted: Vec<String> = exports.iter().map(|e| e.to_lowercase()).collect();
    let selected: Vec<manifest::Run> = runs
        .into_iter()
        .filter(|r| wanted.contains(&r.export_name.to_lowercase()))
        .collect();
    let (winners, replaced) = manifest::newest_per_folder(selected);
    let last_day = to_exclusive.pred_opt().unwrap_or(to_exclusive);
    let winners = winners
        .into_iter()
        .filter(|r| r.range.0 <= last_day && r.range.1 >= from)
        .collect();
    (winners, replaced)
}

/// Runs whose manifest names an export type or `dataVersion` this reader does not know.
fn version_warnings(runs: &[manifest::Run]) -> Vec<String> {
    runs.iter()
        .filter_map(|r| {
            let why =
                versions::unknown_version(r.export_type.as_deref(), r.data_version.as_deref())?;
            Some(format!(
                "cost export '{}' run {} ({}): {why}; its columns were read by name and passed \
                 the schema check: compare the showback total with Cost Management",
                r.export_name, r.run_id, r.manifest_path
            ))
        })
        .collect()
}

/// Two range folders of one export covering the same days would count them twice.
fn double_range_warnings(winners: &[manifest::Run]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in winners.iter().enumerate() {
        for b in &winners[i + 1..] {
            if a.export_name.eq_ignore_ascii_case(&b.export_name)
                && a.start_date <= b.end_date
                && b.start_date <= a.end_date
            {
                out.push(format!(
                    "cost export '{}' has runs in range folders {} and {} that both cover {} to {}: \
                     those days are counted twice",
                    a.export_name,
                    a.range_folder,
                    b.range_folder,
                    a.start_date.max(b.start_date),
                    a.end_date.min(b.end_date)
                ));
            }
        }
    }
    out
}

/// The days the selected runs cover, clipped to the window (`[start, end)`).
fn covered_window(
    winners: &[manifest::Run],
    from: NaiveDate,
    to_exclusive: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let mut covered: Option<(NaiveDate, NaiveDate)> = None;
    for run in winners {
        let start = run.start_date.max(from);
        let end = run
            .end_date
            .succ_opt()
            .unwrap_or(run.end_date)
            .min(to_exclusive);
        if start < end {
            covered = Some(match covered {
                None => (start, end),
                Some((a, b)) => (a.min(start), b.max(end)),
            });
        }
    }
    covered
}

/// Configured exports without any run in the window.
fn missing_run_warnings(
    exports: &[String],
    winners: &[manifest::Run],
    from: NaiveDate,
    to_exclusive: NaiveDate,
) -> Vec<String> {
    let last_day = to_exclusive.pred_opt().unwrap_or(to_exclusive);
    exports
        .iter()
        .filter(|e| {
            !winners
                .iter()
                .any(|r| r.export_name.eq_ignore_ascii_case(e))
        })
        .map(|e| format!("cost export '{e}' has no run covering {from} to {last_day}"))
        .collect()
}

fn rejects_warning(rejected: usize) -> Option<String> {
    (rejected > 0).then(|| {
        format!(
            "{rejected} cost export rows were rejected (unreadable) and left out of showback; \
             see the rejects file"
        )
    })
}

/// The state of reading the selected runs: one aggregator per core (Parquet files are folded
/// in parallel, each aggregator taking its share of the resources; CSV is read by one thread
/// into the first), the rows set aside, and a scratch folder for Parquet blobs.
struct Reading<'a> {
    store: &'a Store,
    sizes: BTreeMap<&'a str, u64>,
    window: (NaiveDate, NaiveDate),
    collect_rejects: bool,
    aggs: Vec<aggregate::Aggregator>,
    rejects: Vec<Reject>,
    tmp: tempfile::TempDir,
}

impl<'a> Reading<'a> {
    fn new(
        store: &'a Store,
        listed: &'a [crate::store::Entry],
        window: (NaiveDate, NaiveDate),
        opts: &LoadOptions,
    ) -> Result<Reading<'a>> {
        let tmp = tempfile::tempdir().map_err(|e| {
            Error::input(
                "cost exports",
                format!("cannot create a temporary folder: {e}"),
            )
        })?;
        Ok(Reading {
            store,
            sizes: listed.iter().map(|e| (e.path.as_str(), e.size)).collect(),
            window,
            collect_rejects: opts.rejects,
            aggs: (0..fold_threads())
                .map(|_| aggregate::Aggregator::new(window, opts.tag_keys.as_deref()))
                .collect(),
            rejects: Vec::new(),
            tmp,
        })
    }

    /// Read every file of one run into the aggregate; its provenance.
    fn read_run(
        &mut self,
        run: &manifest::Run,
        replaced: &[manifest::Run],
    ) -> Result<RunProvenance> {
        let files = run
            .blobs
            .iter()
            .enumerate()
            .map(|(k, blob)| self.read_file(run, k, blob))
            .collect::<Result<Vec<_>>>()?;
        Ok(RunProvenance {
            export_name: run.export_name.clone(),
            run_id: run.run_id.clone(),
            submitted_time: run.submitted_time_text.clone(),
            start_date: run.start_date,
            end_date: run.end_date,
            range_folder: run.range_folder.clone(),
            manifest: run.manifest_path.clone(),
            legacy_manifest: run.legacy_manifest,
            data_version: run.data_version.clone(),
            export_type: run.export_type.clone(),
            files,
            replaces_runs: replaced
                .iter()
                .filter(|o| {
                    o.export_name.eq_ignore_ascii_case(&run.export_name)
                        && o.range_folder == run.range_folder
                })
                .map(|o| o.run_id.clone())
                .collect(),
        })
    }

    /// Read the `k`-th file of a run, checked against the manifest's byte and row counts.
    fn read_file(
        &mut self,
        run: &manifest::Run,
        k: usize,
        blob: &manifest::ManifestBlob,
    ) -> Result<FileProvenance> {
        let origin = format!("{}/{}", self.store.display(), blob.path);
        let size = self.listed_size(run, blob, &origin)?;
        let kind = kind_of(&blob.path).ok_or_else(|| {
            Error::input(
                &origin,
                "not a .csv, .csv.gz or .parquet file; cannot read this export format",
            )
        })?;
        let started = std::time::Instant::now();
        self.aggs
            .iter_mut()
            .for_each(|a| a.set_export(&run.export_name));
        let scanned = self.scan(kind, k, blob, &origin);
        tracing::debug!(
            file = %blob.path,
            seconds = started.elapsed().as_secs_f64(),
            "cost export file read"
        );
        let scanned = scanned.map_err(|e| with_version_hint(e, run))?;
        if let Some(expected) = blob.row_count
            && expected != scanned.rows
        {
            return Err(Error::input(
                &origin,
                format!(
                    "the manifest says {expected} data rows but the file has {}: \
                     incomplete or replaced; re-run the export",
                    scanned.rows
                ),
            ));
        }
        let rejected = scanned.rejects.len() as u64;
        let provenance = FileProvenance {
            path: blob.path.clone(),
            bytes: size,
            rows: scanned.rows,
            rows_in_window: scanned.rows - scanned.rows_outside_window - rejected,
            rejected_rows: rejected,
            schema: scanned
                .mapping
                .as_ref()
                .map(|m| m.family.as_str().to_string())
                .unwrap_or_else(|| "empty".into()),
        };
        self.rejects.extend(scanned.rejects);
        Ok(provenance)
    }

    /// The size the store lists for a file the manifest names, checked against its
    /// `byteCount`.
    fn listed_size(
        &self,
        run: &manifest::Run,
        blob: &manifest::ManifestBlob,
        origin: &str,
    ) -> Result<u64> {
        let Some(size) = self.sizes.get(blob.path.as_str()).copied() else {
            return Err(Error::input(
                origin,
                format!("listed in {} but not found", run.manifest_path),
            ));
        };
        if let Some(expected) = blob.byte_count
            && expected != size
        {
            return Err(Error::input(
                origin,
                format!(
                    "the manifest says {expected} bytes but the file has {size}: \
                     incomplete or replaced; re-run the export"
                ),
            ));
        }
        Ok(size)
    }

    /// Stream one file into the aggregators.
    fn scan(
        &mut self,
        kind: Kind,
        k: usize,
        blob: &manifest::ManifestBlob,
        origin: &str,
    ) -> Result<scan::FileScan> {
        match kind {
            Kind::Csv { gzip } => scan::scan_csv(
                self.store.open_read(&blob.path)?,
                gzip,
                origin,
                self.window,
                self.collect_rejects,
                &mut self.aggs[0],
            ),
            Kind::Parquet => {
                // A file in a folder store is scanned in place; a blob is copied first
                // (Parquet needs random access).
                let local = match self.store.local_path(&blob.path) {
                    Some(p) => p,
                    None => {
                        let local = self.tmp.path().join(format!("part-{k}.parquet"));
                        self.store.get_to_file(&blob.path, &local)?;
                        local
                    }
                };
                let scanned = scan::scan_parquet(
                    &local,
                    origin,
                    self.window,
                    self.collect_rejects,
                    &mut self.aggs,
                );
                if local.starts_with(self.tmp.path()) {
                    let _ = std::fs::remove_file(&local);
                }
                scanned
            }
        }
    }
}

/// A schema error of a run whose manifest names an unknown version says so: the version is
/// the likely reason the columns are not where this reader looks.
fn with_version_hint(e: Error, run: &manifest::Run) -> Error {
    let Some(why) =
        versions::unknown_version(run.export_type.as_deref(), run.data_version.as_deref())
    else {
        return e;
    };
    match e {
        Error::Input {
            context,
            message,
            cause,
        } if message.starts_with("unknown cost export schema") => Error::Input {
            context,
            message: format!("{message}; the run's manifest names {why}"),
            cause,
        },
        other => other,
    }
}

/// Threads that fold a Parquet export: the machine's cores, at most four.
fn fold_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// Two selected exports covering the same subscription and day would count its cost twice.
fn overlap_warnings(rows: &CostRows) -> Vec<String> {
    // `group_daily` is sorted by date, then group (groups sorted by subscription): the cells of
    // one subscription-day are adjacent.
    let cells = &rows.group_daily;
    let mut seen: Vec<((NaiveDate, &str), Vec<u16>)> = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        let day = cells[i].date;
        let sub = rows.groups[cells[i].key as usize].0.as_str();
        let mut exports: Vec<u16> = Vec::new();
        while i < cells.len() && cells[i].date == day && rows.groups[cells[i].key as usize].0 == sub
        {
            if !exports.contains(&cells[i].export) {
                exports.push(cells[i].export);
            }
            i += 1;
        }
        if !sub.is_empty() && exports.len() > 1 {
            exports.sort_unstable();
            seen.push(((day, sub), exports));
        }
    }
    let seen = seen.into_iter().map(|(k, e)| {
        let names: BTreeSet<String> = e
            .iter()
            .map(|&x| rows.exports[x as usize].clone())
            .collect();
        (k, names)
    });
    let mut by_pair: BTreeMap<Vec<String>, (usize, NaiveDate, NaiveDate, BTreeSet<&str>)> =
        BTreeMap::new();
    for ((d, s), e) in seen {
        let entry = by_pair
            .entry(e.into_iter().collect())
            .or_insert((0, d, d, BTreeSet::new()));
        entry.0 += 1;
        entry.1 = entry.1.min(d);
        entry.2 = entry.2.max(d);
        entry.3.insert(s);
    }
    by_pair
        .into_iter()
        .map(|(exports, (n, a, b, subs))| {
            let msg = format!(
                "cost exports {} both cover {n} subscription-days ({} subscriptions, {a} to {b}): \
                 their cost is counted twice; configure only one of them",
                exports.join(" and "),
                subs.len()
            );
            tracing::warn!("{msg}");
            msg
        })
        .collect()
}
