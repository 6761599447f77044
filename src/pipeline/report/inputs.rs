//! Phase 1 of a report: history, read once and day by day, and the cost exports.
//!
//! While history is read, the run tables that hold one row per day (every dataset's snapshot
//! copy, subscription-days, resource-days) are streamed to Parquet files in a scratch folder,
//! so neither they nor history are ever whole in memory.

use super::ReportRequest;
use crate::collect::cost_exports::{self, CostData};
use crate::error::{Error, Result};
use crate::history::{History, SNAPSHOT_DATE, SnapshotDay, SnapshotDays, with_date_column};
use crate::kpi::Parameters;
use crate::kpi::coverage::DayCoverage;
use crate::kpi::resource_days;
use crate::kpi::state::HistoryState;
use crate::model::DATASETS;
use crate::parquet::{ParquetSink, WrittenFile};
use crate::period::Period;
use crate::render::LocalFile;
use crate::store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything a report reads.
pub struct ReportInputs {
    pub history: HistoryState,
    pub cost: CostData,
    /// Run files written while history was read (`data/...parquet`).
    pub streamed: Vec<LocalFile>,
    /// Findings about the history's values (unknown severities and statuses), for the
    /// data-quality section.
    pub data_quality: Vec<String>,
}

/// Read the history before the period's end and the cost exports the period needs.
pub fn load(
    req: &ReportRequest,
    out: &Store,
    params: &Parameters,
    scratch: &Path,
) -> Result<ReportInputs> {
    let (cfg, period) = (req.config, req.period);
    let days = History::new(out).days_before(period.end_exclusive())?;
    require_period_days(&days, period, out)?;
    if cfg.cost.exports.is_empty() {
        return Err(Error::config(
            "[cost] exports is empty: name the export(s) that feed showback",
        ));
    }
    // Cost first: a period without cost fails before history is read.
    let cost = load_cost(req, params)?;
    let started = std::time::Instant::now();
    let mut sinks = DaySinks::new(scratch)?;
    let mut vocabulary = crate::model::vocabulary::Findings::default();
    let history = HistoryState::gather(&days, params, period, &mut |day, cov| {
        check_vocabularies(&mut vocabulary, day, out);
        sinks.push(day, cov)
    })?;
    let streamed = sinks.finish()?;
    crate::logging::phase_done("history", started);
    Ok(ReportInputs {
        history,
        cost,
        streamed,
        data_quality: vocabulary.lines(),
    })
}

/// The cost exports of the period and the anomaly window before it; the period's days and
/// rows are a precondition (unless a partial month is allowed).
fn load_cost(req: &ReportRequest, params: &Parameters) -> Result<CostData> {
    let (cfg, period) = (req.config, req.period);
    let (window_start, window_end) = crate::pipeline::cost_window(cfg, period);
    let load = cost_exports::LoadOptions {
        rejects: req.rejects,
        tag_keys: Some(params.owner_tags.clone()),
        period: Some(cost_exports::PeriodRequirement {
            start: period.start(),
            end_exclusive: period.end_exclusive(),
            allow_partial: cfg.cost.allow_partial,
        }),
    };
    let cost_store = crate::pipeline::cost_store(cfg)?;
    cost_exports::load(
        &cost_store,
        &cfg.cost.exports,
        window_start,
        window_end,
        &load,
    )
}

/// The day's severities and statuses against the known vocabularies, each snapshot file named
/// as history stores it.
fn check_vocabularies(
    findings: &mut crate::model::vocabulary::Findings,
    day: &SnapshotDay,
    out: &Store,
) {
    for dataset in ["security_alerts", "vulnerabilities"] {
        let origin = format!("{}/history/{dataset}/date={}", out.display(), day.date);
        findings.check_frame(dataset, day.frame(dataset), &origin);
    }
}

/// A report needs at least one snapshot day in its period.
fn require_period_days(days: &dyn SnapshotDays, period: Period, out: &Store) -> Result<()> {
    if days.days().iter().any(|d| period.contains(*d)) {
        return Ok(());
    }
    Err(Error::input(
        format!("{}/history", out.display()),
        format!(
            "no snapshot days for {period}; run `snapshot` daily (or `run --period {period}` for a replayed source)"
        ),
    ))
}

/// The run tables written one snapshot day at a time.
struct DaySinks {
    dir: PathBuf,
    snapshots: BTreeMap<&'static str, ParquetSink>,
    subscription_days: Option<ParquetSink>,
    resource_days: ParquetSink,
}

impl DaySinks {
    fn new(dir: &Path) -> Result<DaySinks> {
        let mut snapshots = BTreeMap::new();
        for c in DATASETS {
            let schema = with_date_column(c.empty_frame(), None)
                .schema()
                .as_ref()
                .clone();
            let path = dir.join(format!("snapshots-{}.parquet", c.dataset));
            snapshots.insert(c.dataset, ParquetSink::create(&path, &schema)?);
        }
        let schema = resource_days::to_frame(&[])?.schema().as_ref().clone();
        Ok(DaySinks {
            dir: dir.to_path_buf(),
            snapshots,
            subscription_days: None,
            resource_days: ParquetSink::create(&dir.join("resource_days.parquet"), &schema)?,
        })
    }

    fn push(&mut self, day: &SnapshotDay, coverage: &DayCoverage) -> Result<()> {
        for (dataset, sink) in &mut self.snapshots {
            sink.push(day.frame(dataset).clone())?;
        }
        let subs = &coverage.subscription_days;
        if self.subscription_days.is_none() {
            let path = self.dir.join("subscription_days.parquet");
            let schema = subs.schema().as_ref().clone();
            self.subscription_days = Some(ParquetSink::create(&path, &schema)?);
        }
        if let Some(sink) = self.subscription_days.as_mut() {
            debug_assert!(subs.column(SNAPSHOT_DATE).is_ok());
            sink.push(subs.clone())?;
        }
        self.resource_days
            .push(resource_days::to_frame(&coverage.resource_days)?)
    }

    fn finish(self) -> Result<Vec<LocalFile>> {
        let table = |path: String, file: WrittenFile| LocalFile {
            rows: Some(file.rows),
            path,
            file,
        };
        let mut out = Vec::new();
        for (dataset, sink) in self.snapshots {
            out.push(table(
                format!("data/snapshots/{dataset}.parquet"),
                sink.finish()?,
            ));
        }
        if let Some(sink) = self.subscription_days {
            out.push(table(
                "data/subscription_days.parquet".into(),
                sink.finish()?,
            ));
        }
        out.push(table(
            "data/resource_days.parquet".into(),
            self.resource_days.finish()?,
        ));
        Ok(out)
    }
}
