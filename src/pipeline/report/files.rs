//! Phase 3 of a report: every run file, rendered from the inputs and results, and the
//! manifest that lists them.

use super::inputs::ReportInputs;
use super::{ReportRequest, ReportResults, kpis_json};
use crate::collect::cost_exports::CostData;
use crate::config::Config;
use crate::error::Result;
use crate::hashing::sha256_hex;
use crate::kpi::state::HistoryState;
use crate::render::csv::{CsvSpec, to_csv};
use crate::render::decimal::with_decimal_amounts;
use crate::render::manifest::{Manifest, file_entries};
use crate::render::rounding::round_amounts_by_currency;
use crate::render::{OutputFile, RunFileSet, RunFiles, parquet_file};
use crate::store::Store;
use polars::prelude::DataFrame;
use serde_json::json;

/// Render every file of the run, its manifest and (when signing) the signature.
/// Large files are spilled to `scratch` as soon as they are built.
pub fn build(
    req: &ReportRequest,
    out: &Store,
    inp: &ReportInputs,
    res: &ReportResults,
    scratch: &std::path::Path,
) -> Result<RunFiles> {
    let mut files = RunFileSet::new(scratch, inp.streamed.clone());
    files.add(OutputFile::new("kpis.json", kpis_json(&res.kpis), None))?;
    let (finance, shown) = finance_files(req, res, &inp.cost)?;
    files.extend(finance)?;
    files.extend(data_tables(inp, res, &shown)?)?;
    let source = snapshot_source(&inp.history);
    let queries = live_query_texts(&inp.history)?;
    let evidence = evidence_inputs(req, inp, res, &source, &queries);
    files.extend(crate::evidence::build_packs(&evidence)?)?;
    let fingerprint = input_fingerprint(inp);
    let named = run_file_rows(&files);
    files.extend(executive_files(
        req,
        out,
        inp,
        res,
        fingerprint.clone(),
        &named,
    )?)?;
    let manifest = manifest(req, out, inp, &res.params, &source, fingerprint, &files);
    // The signature covers the manifest bytes; it is written before the manifest (which stays
    // the last write) and is not listed in it.
    let signature = req
        .signing_key
        .as_ref()
        .map(|k| crate::render::signing::signature_files(k, &manifest.to_bytes()))
        .unwrap_or_default();
    Ok(RunFiles {
        files: files.files,
        local: files.local,
        unlisted: signature,
        manifest,
    })
}

/// A finance table to publish: its path, the table, its amount columns, and whether it is a
/// part of the export total (its amounts are then rounded by largest remainder per currency).
struct FinanceTable<'a> {
    path: &'static str,
    /// Its Parquet twin in `data/` (same rows, amounts as DECIMAL cents).
    parquet: &'static str,
    df: &'a DataFrame,
    amounts: &'static [&'static str],
    parts_of_total: bool,
}

/// A finance table as shown (amounts in cents, ratios and percentages at the dictionary's
/// precision; the Parquet tables keep full precision), for the CSV and the workbook.
struct ShownTable {
    path: &'static str,
    parquet: &'static str,
    amounts: &'static [&'static str],
    shown: DataFrame,
    decimals: Vec<(&'static str, u32)>,
}

fn finance_tables(res: &ReportResults) -> [FinanceTable<'_>; 5] {
    let showback = &res.showback;
    let table = |path, parquet, df, amounts, parts_of_total| FinanceTable {
        path,
        parquet,
        df,
        amounts,
        parts_of_total,
    };
    // Showback tables are parts of a total: their amounts are rounded by largest remainder
    // within each currency so every CSV column sums exactly to the rounded export total.
    [
        table(
            "finance/showback-by-owner.csv",
            "data/showback_by_owner.parquet",
            &showback.by_owner,
            &["amount", "defender_containers_amount"],
            true,
        ),
        table(
            "finance/showback-by-resource.csv",
            "data/showback_by_resource.parquet",
            &showback.by_resource,
            &["amount"],
            true,
        ),
        table(
            "finance/defender-cost-allocation.csv",
            "data/defender_cost_allocation.parquet",
            &showback.defender_allocation,
            &["amount"],
            true,
        ),
        table(
            "finance/untagged-resources.csv",
            "data/untagged_resources.parquet",
            &showback.untagged,
            &["amount"],
            true,
        ),
        table(
            "finance/cost-anomalies.csv",
            "data/cost_anomalies.parquet",
            &res.anomalies_table,
            &["cost", "median_previous"],
            false,
        ),
    ]
}

/// A finance table rounded and at the dictionary's precision, and its CSV.
fn shown_table(t: FinanceTable, bom: bool) -> Result<(OutputFile, ShownTable)> {
    use crate::render::dictionary;
    dictionary::check_columns(t.path, t.df)?;
    let rounded = if t.parts_of_total {
        round_amounts_by_currency(t.df, "currency", t.amounts, 2)?
    } else {
        t.df.clone()
    };
    let shown = dictionary::apply_precision(t.path, &rounded)?;
    let decimals = dictionary::precision(t.path)?;
    let spec = CsvSpec {
        amount_columns: t.amounts,
        fixed_decimals: &decimals,
        bom,
    };
    let csv = OutputFile::new(t.path, to_csv(&shown, spec)?, Some(t.df.height()));
    let table = ShownTable {
        path: t.path,
        parquet: t.parquet,
        amounts: t.amounts,
        shown,
        decimals,
    };
    Ok((csv, table))
}

/// The finance CSVs, the data dictionary and the workbook holding them (and the rejected rows,
/// when set aside), with the tables as shown. With `output.csv_bom` every CSV starts with a
/// UTF-8 byte-order mark.
fn finance_files(
    req: &ReportRequest,
    res: &ReportResults,
    cost: &CostData,
) -> Result<(Vec<OutputFile>, Vec<ShownTable>)> {
    let bom = req.config.output.csv_bom;
    let mut files = Vec::new();
    let mut shown_tables = Vec::new();
    for t in finance_tables(res) {
        let (csv, shown) = shown_table(t, bom)?;
        files.push(csv);
        shown_tables.push(shown);
    }
    files.push(OutputFile::new(
        "finance/data-dictionary.csv",
        crate::render::csv::with_bom(crate::render::dictionary::dictionary_csv()?, bom),
        None,
    ));
    files.push(workbook_file(req, res, &shown_tables)?);
    if req.rejects {
        files.push(rejected_rows_file(cost, bom)?);
    }
    Ok((files, shown_tables))
}

/// finance/showback.xlsx: every finance table as a sheet, the reconciliation and the
/// dictionary.
fn workbook_file(
    req: &ReportRequest,
    res: &ReportResults,
    shown_tables: &[ShownTable],
) -> Result<OutputFile> {
    use crate::render::{dictionary, xlsx};
    let sheet_name =
        |path: &'static str| path.trim_start_matches("finance/").trim_end_matches(".csv");
    let by_owner = &shown_tables[0].shown;
    let reconciliation =
        xlsx::reconciliation(&res.kpis.showback.export_total_by_currency, by_owner)?;
    let dictionary_rows = dictionary::dictionary_rows();
    let period = req.period.to_string();
    let workbook = xlsx::FinanceWorkbook {
        period: &period,
        created: req.period.end_exclusive(),
        tables: shown_tables
            .iter()
            .map(|t| xlsx::Sheet {
                name: sheet_name(t.path),
                df: &t.shown,
                spec: CsvSpec {
                    amount_columns: t.amounts,
                    fixed_decimals: &t.decimals,
                    bom: false,
                },
                currency_column: Some("currency"),
            })
            .collect(),
        reconciliation: &reconciliation,
        showback_sheet: sheet_name(shown_tables[0].path),
        dictionary: &dictionary_rows,
    };
    Ok(OutputFile::new(
        xlsx::WORKBOOK_PATH,
        xlsx::finance_workbook(&workbook)?,
        None,
    ))
}

/// finance/rejected-cost-rows.csv: export rows set aside as unreadable.
fn rejected_rows_file(cost: &CostData, bom: bool) -> Result<OutputFile> {
    let path = "finance/rejected-cost-rows.csv";
    crate::render::dictionary::check_columns(path, &cost.rejects)?;
    let spec = CsvSpec {
        bom,
        ..CsvSpec::default()
    };
    let bytes = to_csv(&cost.rejects, spec)?;
    Ok(OutputFile::new(path, bytes, Some(cost.rejects.height())))
}

/// Every KPI table as Parquet (the per-day tables were streamed while history was read). A
/// table with a finance CSV twin publishes its amounts as DECIMAL(18, 2), the twin's cents.
fn data_tables(
    inp: &ReportInputs,
    res: &ReportResults,
    shown: &[ShownTable],
) -> Result<Vec<OutputFile>> {
    let coverage = &inp.history.coverage;
    let tables = [
        (
            "data/coverage_by_management_group.parquet",
            &coverage.by_management_group,
        ),
        ("data/alerts.parquet", &res.detection.population),
        (
            "data/alerts_by_owner_cluster_status.parquet",
            &res.detection.by_owner_cluster_status,
        ),
        ("data/vulnerability_findings.parquet", &res.vulns.findings),
        ("data/showback_by_owner.parquet", &res.showback.by_owner),
        (
            "data/showback_by_resource.parquet",
            &res.showback.by_resource,
        ),
        (
            "data/defender_cost_allocation.parquet",
            &res.showback.defender_allocation,
        ),
        ("data/untagged_resources.parquet", &res.showback.untagged),
        ("data/cost_anomalies.parquet", &res.anomalies_table),
    ];
    tables
        .into_iter()
        .map(|(path, df)| match finance_twin(path, shown) {
            Some(t) => {
                let typed = with_decimal_amounts(path, df, &t.shown, t.amounts)?;
                parquet_file(path, &typed)
            }
            None => parquet_file(path, df),
        })
        .collect()
}

/// The finance table a `data/` table is the Parquet twin of, if any.
fn finance_twin<'a>(data_path: &str, shown: &'a [ShownTable]) -> Option<&'a ShownTable> {
    shown.iter().find(|t| t.parquet == data_path)
}

/// Where the snapshots came from (the newest marker's source).
fn snapshot_source(history: &HistoryState) -> String {
    history
        .markers
        .last()
        .map(|m| m.source.clone())
        .unwrap_or_default()
}

fn evidence_inputs<'a>(
    req: &'a ReportRequest,
    inp: &'a ReportInputs,
    res: &'a ReportResults,
    source: &'a str,
    queries: &'a [crate::evidence::QueryText],
) -> crate::evidence::EvidenceInputs<'a> {
    let cfg = req.config;
    crate::evidence::EvidenceInputs {
        period: req.period,
        history: &inp.history,
        params: &res.params,
        alerts: &res.detection.population,
        findings: &res.vulns,
        queries,
        scope_management_groups: &cfg.azure.management_groups,
        scope_subscriptions: &cfg.azure.subscriptions,
        source,
        data_quality: &res.kpis.data_quality,
        signing_key_fingerprint: req
            .signing_key
            .as_ref()
            .map(|k| crate::render::signing::fingerprint(&k.verifying_key())),
    }
}

/// SHA-256 over the snapshot contents and the cost-export files read.
fn input_fingerprint(inp: &ReportInputs) -> String {
    let material = json!({
        "snapshots": inp.history.content_sha256,
        "cost": inp.cost.fingerprint_material(),
    });
    sha256_hex(serde_json::to_string(&material).expect("json").as_bytes())
}

/// The rows of every table file built so far, for the executive report to name the file
/// where each complete list is.
fn run_file_rows(files: &RunFileSet) -> crate::render::pdf::RunFileRows {
    let memory = files.files.iter().map(|f| (&f.path, f.rows));
    let local = files.local.iter().map(|f| (&f.path, f.rows));
    crate::render::pdf::RunFileRows::new(
        memory
            .chain(local)
            .filter_map(|(path, rows)| Some((path.clone(), rows?))),
    )
}

/// The executive report and its annex of complete lists.
fn executive_files(
    req: &ReportRequest,
    out: &Store,
    inp: &ReportInputs,
    res: &ReportResults,
    input_fingerprint: String,
    named: &crate::render::pdf::RunFileRows,
) -> Result<Vec<OutputFile>> {
    let h = &inp.history;
    let parts = crate::assessment::gather::Parts {
        kpis: &res.kpis,
        params: &res.params,
        coverage: &h.coverage,
        detection: &res.detection,
        vulns: &res.vulns,
        showback: &res.showback,
        policy: &h.period_rows.policy,
        sub_tags: &h.subscription_tags,
        scope: scope_words(req.config, h),
        sources: source_lines(h, &inp.cost),
        input_fingerprint,
    };
    let previous = crate::pipeline::earlier_runs::previous_kpis(out, req.period)?;
    let executive = crate::assessment::gather::build(&parts, previous, req.config.targets.clone())?;
    let pdfs = crate::render::pdf::render_executive(&executive, named)?;
    Ok(vec![
        OutputFile::new(crate::render::pdf::REPORT_PATH, pdfs.report, None),
        OutputFile::new(crate::render::pdf::ANNEX_PATH, pdfs.annex, None),
    ])
}

fn manifest(
    req: &ReportRequest,
    out: &Store,
    inp: &ReportInputs,
    params: &crate::kpi::Parameters,
    source: &str,
    input_fingerprint: String,
    files: &RunFileSet,
) -> Manifest {
    let (cfg, period, h) = (req.config, req.period, &inp.history);
    let (in_period, missing) = period.split_days(&h.days);
    Manifest {
        schema_version: 1,
        tool: "defender-ledger".into(),
        tool_version: crate::TOOL_VERSION.into(),
        run_id: req.run_id.to_string(),
        command: req.command.clone(),
        period: period.to_string(),
        period_start: period.start().to_string(),
        period_end_exclusive: period.end_exclusive().to_string(),
        source: source.to_string(),
        output: out.display().to_string(),
        config_sha256: cfg.fingerprint(),
        provenance: json!({
            "scope": {
                "management_groups": cfg.azure.management_groups,
                "subscriptions": cfg.azure.subscriptions,
            },
            "parameters": params,
            "snapshot_days_used": h.days,
            "snapshot_days_in_period": in_period,
            "snapshot_days_missing": missing,
            "snapshots": h.markers,
            "cost_exports": inp.cost.provenance_json(),
        }),
        input_fingerprint,
        files: file_entries(&files.files, &files.local),
    }
}

/// The organisation scope in words: tenant(s) and the configured query scope.
fn scope_words(cfg: &Config, history: &HistoryState) -> String {
    let tenants = history
        .tenants
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
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
    format!("tenant {tenants} · {scope}")
}

/// Where the numbers came from, one line each.
fn source_lines(history: &HistoryState, cost: &CostData) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = history.markers.last() {
        out.push(format!(
            "Azure Resource Graph snapshots: {} ({} snapshot days up to {})",
            m.source,
            history.days.len(),
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
fn live_query_texts(history: &HistoryState) -> Result<Vec<crate::evidence::QueryText>> {
    let live = history
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
