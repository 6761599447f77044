//! `report --period`: one published run per period, in four phases that follow the data:
//!
//! 1. [`inputs::load`]: read history once, day by day (streaming the per-day run tables to
//!    local files as it goes), and the cost exports of the period and the anomaly window;
//! 2. [`compute`]: every KPI, as typed results;
//! 3. [`files::build`]: render every run file (CSV, Parquet, JSON, PDF, evidence packs) and
//!    the manifest;
//! 4. [`crate::pipeline::publish::publish_run`]: every file, then the manifest last.

pub mod files;
pub mod inputs;

use crate::config::Config;
use crate::error::Result;
use crate::kpi::detection::DetectionResult;
use crate::kpi::showback::ShowbackResult;
use crate::kpi::vulnerabilities::VulnerabilityResult;
use crate::kpi::{self, Anomaly, Kpis, Parameters};
use crate::period::{Period, RunId};
use crate::store::Store;
use inputs::ReportInputs;
use polars::prelude::DataFrame;
use std::time::Instant;

/// What a report computed and where it went.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    pub period: Period,
    pub run_id: RunId,
    pub kpis: Kpis,
    pub files: Vec<String>,
}

pub struct ReportRequest<'a> {
    pub config: &'a Config,
    pub period: Period,
    pub run_id: RunId,
    pub command: String,
    /// Set unreadable cost rows aside (published as `finance/rejected-cost-rows.csv` and
    /// counted in the manifest) instead of failing on the first.
    pub rejects: bool,
    /// Sign `manifest.json` with this Ed25519 key (signature and public key published beside it).
    pub signing_key: Option<ed25519_dalek::SigningKey>,
}

/// Every KPI of the period, typed (coverage is part of the inputs: it is built while history
/// is read).
pub struct ReportResults {
    pub params: Parameters,
    pub detection: DetectionResult,
    pub vulns: VulnerabilityResult,
    pub showback: ShowbackResult,
    pub anomalies_table: DataFrame,
    pub kpis: Kpis,
}

pub fn report(req: &ReportRequest, out: &Store) -> Result<ReportOutcome> {
    let params = Parameters::from_config(req.config);
    let scratch = tempfile::tempdir().map_err(|e| {
        crate::Error::publish_err("a temporary folder for the run's large files", e)
    })?;
    let phase = |name: &str, t: Instant| crate::logging::phase_done(name, t);
    let t = Instant::now();
    let mut inputs = inputs::load(req, out, &params, scratch.path())?;
    phase("inputs", t);
    let t = Instant::now();
    let results = compute(req.period, params, &mut inputs)?;
    phase("compute", t);
    let t = Instant::now();
    let run = files::build(req, out, &inputs, &results, scratch.path())?;
    phase("files", t);
    let t = Instant::now();
    crate::pipeline::publish::publish_run(out, req.period, &req.run_id, &run)?;
    phase("publish", t);
    Ok(ReportOutcome {
        period: req.period,
        run_id: req.run_id.clone(),
        kpis: results.kpis,
        files: run.paths(),
    })
}

/// Phase 2: detection, remediation, showback and anomalies from the inputs, and `kpis.json`.
///
/// The cost rows are read by showback and anomalies only, and the finding state by the
/// findings table only: each is freed as soon as its last reader is done, so a large tenant's
/// findings table (hundreds of thousands of rows) is never built beside the cost aggregate.
/// The files phase needs neither (the results, the export runs and the rejects are kept).
pub fn compute(
    period: Period,
    params: Parameters,
    inp: &mut ReportInputs,
) -> Result<ReportResults> {
    let showback = kpi::showback::compute(
        &inp.cost,
        &inp.history.coverage.resource_days,
        &inp.history.subscription_tags,
        &params,
        period,
    )?;
    let (anomalies, anomalies_table) = kpi::anomalies::compute(
        &inp.cost,
        &inp.history.coverage.resource_days,
        &inp.history.coverage.ledger,
        &params,
        period,
    )?;
    inp.cost.rows = Default::default();
    let h = &inp.history;
    let detection = kpi::detection::compute(&h.alerts, &h.coverage.ledger, &params, period)?;
    let vulns = kpi::vulnerabilities::compute(&h.findings, &h.coverage.ledger, &params, period)?;
    inp.history.findings.free_findings();
    let kpis = kpis_of(
        period, inp, &params, &detection, &vulns, &showback, anomalies,
    );
    Ok(ReportResults {
        params,
        detection,
        vulns,
        showback,
        anomalies_table,
        kpis,
    })
}

/// The `kpis.json` record of the period.
fn kpis_of(
    period: Period,
    inp: &ReportInputs,
    params: &Parameters,
    detection: &DetectionResult,
    vulns: &VulnerabilityResult,
    showback: &ShowbackResult,
    anomalies: Vec<Anomaly>,
) -> Kpis {
    let coverage = &inp.history.coverage;
    let (in_period, missing) = period.split_days(&inp.history.days);
    let mut data_quality = coverage.data_quality.clone();
    data_quality.extend(inp.data_quality.iter().cloned());
    data_quality.extend(inp.cost.data_quality.iter().cloned());
    data_quality.extend(showback.data_quality.iter().cloned());
    let scans = &inp.history.vulnerability_data;
    data_quality.extend(scans.kpis.data_quality(&scans.exceptions));
    let mut remediation = vulns.kpis.clone();
    remediation.vulnerability_data = scans.kpis.clone();
    Kpis {
        schema_version: 1,
        period: period.to_string(),
        period_start: period.start(),
        period_end_exclusive: period.end_exclusive(),
        parameters: params.clone(),
        snapshot_days_in_period: in_period,
        snapshot_days_missing: missing,
        coverage: coverage.kpis.clone(),
        detection_latency: detection.latency.clone(),
        runtime_alerts: detection.alerts.clone(),
        remediation,
        showback: showback.kpis.clone(),
        anomalies,
        data_quality,
    }
}

pub fn kpis_json(kpis: &Kpis) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(kpis).expect("kpis serialise");
    v.push(b'\n');
    v
}
