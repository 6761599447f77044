//! `report --period`: read the period's snapshots (and history before it) and cost exports,
//! compute every KPI, render, and publish one run with its manifest last.

use crate::collect::cost_exports;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::frame::{dates, strs};
use crate::history::{History, SNAPSHOT_DATE, Snapshots};
use crate::kpi::{self, Kpis, Parameters};
use crate::period::{Period, RunId};
use crate::render::csv::{CsvSpec, to_csv};
use crate::render::manifest::{Manifest, file_entries, sha256_hex};
use crate::render::rounding::round_amounts_by_currency;
use crate::render::{OutputFile, parquet_file};
use crate::store::Store;
use polars::prelude::DataFrame;
use serde_json::json;
use std::collections::BTreeMap;

/// What a report computed and where it went.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    pub period: Period,
    pub run_id: RunId,
    pub kpis: Kpis,
    pub files: Vec<String>,
}

/// Subscription tags from the latest snapshot that lists each subscription (all snapshots
/// loaded are before the period's end).
pub fn latest_subscription_tags(snap: &Snapshots) -> Result<BTreeMap<String, Option<String>>> {
    let df = snap.frame("subscriptions");
    let d = dates(df, SNAPSHOT_DATE)?;
    let ids = strs(df, "subscriptionId")?;
    let tags = strs(df, "tags")?;
    let keys = ids.iter().map(|s| s.as_deref().map(str::to_lowercase));
    Ok(crate::frame::latest_row_per_key(keys, &d)
        .into_iter()
        .map(|(id, i)| (id, tags[i].clone()))
        .collect())
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

pub fn report(req: &ReportRequest, out: &Store) -> Result<ReportOutcome> {
    let (cfg, period) = (req.config, req.period);
    let params = Parameters::from_config(cfg);
    let snap = History::new(out).load_before(period.end_exclusive())?;
    let (in_period, missing) = period.split_days(&snap.days);
    if in_period.is_empty() {
        return Err(Error::input(
            format!("{}/history", out.display()),
            format!(
                "no snapshot days for {period}; run `snapshot` daily (or `run --period {period}` for a replayed source)"
            ),
        ));
    }
    let sub_tags = latest_subscription_tags(&snap)?;

    let coverage = kpi::coverage::compute(&snap, &params, period, &sub_tags)?;
    let detection = kpi::detection::compute(&snap, &coverage.resource_days, &params, period)?;
    let vulns = kpi::vulnerabilities::compute(&snap, &coverage.resource_days, &params, period)?;

    if cfg.cost.exports.is_empty() {
        return Err(Error::config(
            "[cost] exports is empty: name the export(s) that feed showback",
        ));
    }
    let cost_store = crate::pipeline::cost_store(cfg)?;
    let (window_start, window_end) = crate::pipeline::cost_window(cfg, period);
    let load = cost_exports::LoadOptions {
        rejects: req.rejects,
        tag_keys: Some(params.owner_tags.clone()),
    };
    let cost = cost_exports::load(
        &cost_store,
        &cfg.cost.exports,
        window_start,
        window_end,
        &load,
    )?;
    let showback =
        kpi::showback::compute(&cost, &coverage.resource_days, &sub_tags, &params, period)?;
    let (anomalies, anomalies_table) =
        kpi::anomalies::compute(&cost, &coverage.resource_days, &params, period)?;

    let mut data_quality = coverage.data_quality.clone();
    data_quality.extend(cost.data_quality.iter().cloned());
    data_quality.extend(showback.data_quality.iter().cloned());

    let kpis = Kpis {
        schema_version: 1,
        period: period.to_string(),
        period_start: period.start(),
        period_end_exclusive: period.end_exclusive(),
        parameters: params.clone(),
        snapshot_days_in_period: in_period.clone(),
        snapshot_days_missing: missing.clone(),
        coverage: coverage.kpis.clone(),
        detection_latency: detection.latency.clone(),
        runtime_alerts: detection.alerts.clone(),
        remediation: vulns.kpis.clone(),
        showback: showback.kpis.clone(),
        anomalies,
        data_quality,
    };

    let mut files = vec![OutputFile::new("kpis.json", kpis_json(&kpis), None)];
    // Showback tables are parts of a total: their amounts are rounded by largest remainder
    // within each currency so every CSV column sums exactly to the rounded export total.
    let finance: [(&str, &DataFrame, &[&str], bool); 5] = [
        (
            "finance/showback-by-owner.csv",
            &showback.by_owner,
            &["amount", "defender_containers_amount"],
            true,
        ),
        (
            "finance/showback-by-resource.csv",
            &showback.by_resource,
            &["amount"],
            true,
        ),
        (
            "finance/defender-cost-allocation.csv",
            &showback.defender_allocation,
            &["amount"],
            true,
        ),
        (
            "finance/untagged-resources.csv",
            &showback.untagged,
            &["amount"],
            true,
        ),
        (
            "finance/cost-anomalies.csv",
            &anomalies_table,
            &["cost", "median_previous"],
            false,
        ),
    ];
    for (path, df, amounts, parts_of_total) in finance {
        crate::render::dictionary::check_columns(path, df)?;
        let shown = if parts_of_total {
            round_amounts_by_currency(df, "currency", amounts, 2)?
        } else {
            df.clone()
        };
        let bytes = to_csv(
            &shown,
            CsvSpec {
                amount_columns: amounts,
            },
        )?;
        files.push(OutputFile::new(path, bytes, Some(df.height())));
    }
    files.push(OutputFile::new(
        "finance/data-dictionary.csv",
        crate::render::dictionary::dictionary_csv()?,
        None,
    ));
    if req.rejects {
        crate::render::dictionary::check_columns("finance/rejected-cost-rows.csv", &cost.rejects)?;
        let bytes = to_csv(&cost.rejects, CsvSpec::default())?;
        files.push(OutputFile::new(
            "finance/rejected-cost-rows.csv",
            bytes,
            Some(cost.rejects.height()),
        ));
    }
    let tables = [
        (
            "data/subscription_days.parquet",
            &coverage.subscription_days,
        ),
        ("data/resource_days.parquet", &coverage.resource_days),
        (
            "data/coverage_by_management_group.parquet",
            &coverage.by_management_group,
        ),
        ("data/alerts.parquet", &detection.population),
        (
            "data/alerts_by_owner_cluster_status.parquet",
            &detection.by_owner_cluster_status,
        ),
        ("data/vulnerability_findings.parquet", &vulns.findings),
        ("data/showback_by_owner.parquet", &showback.by_owner),
        ("data/showback_by_resource.parquet", &showback.by_resource),
        (
            "data/defender_cost_allocation.parquet",
            &showback.defender_allocation,
        ),
        ("data/untagged_resources.parquet", &showback.untagged),
        ("data/cost_anomalies.parquet", &anomalies_table),
    ];
    for (path, df) in tables {
        files.push(parquet_file(path, df)?);
    }
    for (dataset, df) in &snap.frames {
        files.push(parquet_file(
            &format!("data/snapshots/{dataset}.parquet"),
            df,
        )?);
    }

    let source = snap
        .markers
        .last()
        .map(|m| m.source.clone())
        .unwrap_or_default();
    // Query texts behind live snapshots, for the evidence packs (none for replays).
    let queries = live_query_texts(&snap)?;
    let evidence_inputs = crate::evidence::EvidenceInputs {
        period,
        snapshots: &snap,
        params: &params,
        subscription_days: &coverage.subscription_days,
        resource_days: &coverage.resource_days,
        gaps: &coverage.kpis.gaps,
        alerts: &detection.population,
        findings: &vulns.findings,
        subscription_tags: &sub_tags,
        queries: &queries,
        scope_management_groups: &cfg.azure.management_groups,
        scope_subscriptions: &cfg.azure.subscriptions,
        source: &source,
        signing_key_fingerprint: req
            .signing_key
            .as_ref()
            .map(|k| crate::render::signing::fingerprint(&k.verifying_key())),
    };
    files.extend(crate::evidence::build_packs(&evidence_inputs)?);
    let input_fingerprint = sha256_hex(
        serde_json::to_string(
            &json!({"snapshots": snap.content_sha256, "cost": cost.fingerprint_material()}),
        )
        .expect("json")
        .as_bytes(),
    );
    let executive = crate::pipeline::executive::build(
        &crate::pipeline::executive::Parts {
            kpis: &kpis,
            params: &params,
            coverage: &coverage,
            detection: &detection,
            vulns: &vulns,
            showback: &showback,
            policy_states: snap.frame("policy_states"),
            sub_tags: &sub_tags,
            scope: scope_words(cfg, &snap)?,
            sources: source_lines(&snap, &cost),
            input_fingerprint: input_fingerprint.clone(),
        },
        crate::pipeline::executive::previous_kpis(out, period)?,
        cfg.targets.clone(),
    )?;
    files.push(OutputFile::new(
        "executive/executive-report.pdf",
        crate::render::pdf::render_executive(&executive)?,
        None,
    ));

    let manifest = Manifest {
        schema_version: 1,
        tool: "defender-ledger".into(),
        tool_version: crate::TOOL_VERSION.into(),
        run_id: req.run_id.to_string(),
        command: req.command.clone(),
        period: period.to_string(),
        period_start: period.start().to_string(),
        period_end_exclusive: period.end_exclusive().to_string(),
        source: source.clone(),
        output: out.display().to_string(),
        config_sha256: cfg.fingerprint(),
        provenance: json!({
            "scope": {
                "management_groups": cfg.azure.management_groups,
                "subscriptions": cfg.azure.subscriptions,
            },
            "parameters": params,
            "snapshot_days_used": snap.days,
            "snapshot_days_in_period": in_period,
            "snapshot_days_missing": missing,
            "snapshots": snap.markers,
            "cost_exports": cost.provenance_json(),
        }),
        input_fingerprint,
        files: file_entries(&files),
    };
    // The signature covers the manifest bytes; it is written before the manifest (which stays
    // the last write) and is not listed in it.
    let signature = req
        .signing_key
        .as_ref()
        .map(|k| crate::render::signing::signature_files(k, &manifest.to_bytes()))
        .unwrap_or_default();
    crate::pipeline::publish::publish_run(out, period, &req.run_id, &files, &signature, &manifest)?;
    Ok(ReportOutcome {
        period,
        run_id: req.run_id.clone(),
        kpis,
        files: files.into_iter().map(|f| f.path).collect(),
    })
}

pub fn kpis_json(kpis: &Kpis) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(kpis).expect("kpis serialise");
    v.push(b'\n');
    v
}

/// The KPIs of the newest committed run of `period`, if there is one (for trends).
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

/// The organisation scope in words: tenant(s) and the configured query scope.
fn scope_words(cfg: &Config, snap: &Snapshots) -> Result<String> {
    let tenants: std::collections::BTreeSet<String> =
        strs(snap.frame("subscriptions"), "tenantId")?
            .into_iter()
            .flatten()
            .collect();
    let tenants = tenants.into_iter().collect::<Vec<_>>().join(", ");
    let scope = match (
        cfg.azure.management_groups.is_empty(),
        cfg.azure.subscriptions.is_empty(),
    ) {
        (true, true) => "every subscription the identity can read".to_string(),
        (false, _) => format!(
            "management groups {}",
            cfg.azure.management_groups.join(", ")
        ),
        (true, false) => format!("{} configured subscriptions", cfg.azure.subscriptions.len()),
    };
    Ok(format!("tenant {tenants} · {scope}"))
}

/// Where the numbers came from, one line each.
fn source_lines(snap: &Snapshots, cost: &cost_exports::CostData) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = snap.markers.last() {
        out.push(format!(
            "Azure Resource Graph snapshots: {} ({} snapshot days up to {})",
            m.source,
            snap.days.len(),
            m.date
        ));
    }
    for r in &cost.runs {
        out.push(format!(
            "Cost Management export {} ({} {}), run {} submitted {}, {} to {}",
            r.export_name,
            r.export_type.as_deref().unwrap_or("?"),
            r.data_version.as_deref().unwrap_or("?"),
            r.run_id,
            r.submitted_time,
            r.start_date,
            r.end_date
        ));
    }
    out
}

/// The query texts behind live snapshots (none for replayed recordings), for the evidence.
fn live_query_texts(snap: &Snapshots) -> Result<Vec<crate::evidence::QueryText>> {
    let live = snap
        .markers
        .iter()
        .any(|m| m.datasets.values().any(|d| d.query_sha256.is_some()));
    if !live {
        return Ok(vec![]);
    }
    Ok(crate::collect::resource_graph::QuerySet::discover()?
        .iter()
        .map(|q| crate::evidence::QueryText {
            dataset: q.dataset.clone(),
            file: q.path.clone(),
            text: q.text.clone(),
        })
        .collect())
}
