//! Cost exports end to end: every schema and format in `tests/fixtures/cost/` (made by
//! `make.py` there) carries the same logical rows, so all must give the same showback.

mod support {
    pub mod fs;
}

use chrono::NaiveDate;
use defender_ledger::collect::cost_exports::{
    self, CostData, CostRows, LoadOptions, NANOS_PER_UNIT, RowRef,
};
use defender_ledger::error::Error;
use defender_ledger::frame;
use defender_ledger::kpi::resource_days as rd;
use defender_ledger::kpi::{Parameters, anomalies, showback};
use defender_ledger::period::Period;
use defender_ledger::store::Store;
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use support::fs::copy_tree;

const S1: &str = "11111111-1111-1111-1111-111111111111";
const S2: &str = "22222222-2222-2222-2222-222222222222";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn fixture(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cost")
        .join(case)
}

fn store(case: &str) -> Store {
    Store::open(fixture(case).to_str().unwrap(), false).unwrap()
}

fn period() -> Period {
    "2026-09".parse().unwrap()
}

/// The report's load window: 14 days before the period start to its end.
fn load(case: &str, export: &str, rejects: bool) -> Result<CostData, Error> {
    load_with(
        case,
        export,
        &LoadOptions {
            rejects,
            tag_keys: None,
            period: None,
        },
    )
}

fn load_with(case: &str, export: &str, opts: &LoadOptions) -> Result<CostData, Error> {
    cost_exports::load(
        &store(case),
        &[export.to_string()],
        d("2026-08-18"),
        d("2026-10-01"),
        opts,
    )
}

/// resource_days rows: (date, kind, id, subscription, node RG, vCores, protected, reason, owner)
type Res<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    i64,
    bool,
    &'a str,
    &'a str,
);

/// Resource-days, built as a table and read back through `resource_days::decode`.
fn resources(rows: &[Res]) -> Vec<rd::ResourceDay> {
    rd::decode(&resource_table(rows)).unwrap()
}

fn resource_table(rows: &[Res]) -> DataFrame {
    frame::frame(vec![
        frame::date_column(
            rd::DATE,
            &rows.iter().map(|r| Some(d(r.0))).collect::<Vec<_>>(),
        ),
        Column::new(
            rd::KIND.into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
        Column::new(rd::ID.into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
        Column::new(
            rd::ID_LOWER.into(),
            rows.iter().map(|r| r.2.to_lowercase()).collect::<Vec<_>>(),
        ),
        Column::new(
            rd::NAME.into(),
            rows.iter()
                .map(|r| r.2.rsplit('/').next().unwrap())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            rd::SUBSCRIPTION.into(),
            rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        ),
        Column::new(
            rd::RESOURCE_GROUP.into(),
            rows.iter().map(|_| "rg").collect::<Vec<_>>(),
        ),
        Column::new(
            rd::NODE_RESOURCE_GROUP.into(),
            rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        ),
        Column::new(
            rd::VCORES.into(),
            rows.iter().map(|r| r.5).collect::<Vec<_>>(),
        ),
        Column::new(
            rd::PROTECTED.into(),
            rows.iter().map(|r| r.6).collect::<Vec<_>>(),
        ),
        Column::new(
            rd::REASON.into(),
            rows.iter().map(|r| r.7).collect::<Vec<_>>(),
        ),
        Column::new(
            rd::OWNER.into(),
            rows.iter().map(|r| r.8).collect::<Vec<_>>(),
        ),
    ])
    .unwrap()
}

fn cluster(sub: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/{name}"
    )
}

/// The snapshot of 2026-09-05 in S1: c1 (team-a, 12 vCores) and Arc c2 (team-b, 4 vCores)
/// protected; c3 (team-c, 8 vCores) not protected, so it takes no share. No snapshot on 09-06.
fn fixture_resources() -> Vec<rd::ResourceDay> {
    let c1 = cluster(S1, "c1");
    let c2 = format!(
        "/subscriptions/{S1}/resourceGroups/rg-arc/providers/Microsoft.Kubernetes/connectedClusters/c2"
    );
    let c3 = cluster(S1, "c3");
    resources(&[
        (
            "2026-09-05",
            "aks",
            &c1,
            S1,
            Some("MC_rg-aks_c1"),
            12,
            true,
            "",
            "team-a",
        ),
        ("2026-09-05", "arc", &c2, S1, None, 4, true, "", "team-b"),
        (
            "2026-09-05",
            "aks",
            &c3,
            S1,
            Some("MC_rg-aks_c3"),
            8,
            false,
            "Defender profile absent",
            "team-c",
        ),
        (
            "2026-09-05",
            "registry",
            "/subscriptions/x/acr",
            S1,
            None,
            0,
            true,
            "",
            "team-z",
        ),
    ])
}

fn sub_tags() -> BTreeMap<String, Option<String>> {
    BTreeMap::from([
        (S1.to_string(), Some(r#"{"Owner":"Platform"}"#.to_string())),
        (S2.to_string(), None),
    ])
}

fn owner_amounts(r: &showback::ShowbackResult, currency: &str) -> BTreeMap<String, f64> {
    r.kpis
        .by_currency
        .get(currency)
        .cloned()
        .unwrap_or_default()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The showback every fixture must give (see make.py for the rows):
///   team-a      = 100.50 (row 1) − 20.25 (refund, row 3) + 7.50 (Defender 10.00 × 12/16) = 87.75
///   platform    = 15.00 (row 2: `cost-center` is not `costcenter`, so the subscription's
///                 `Owner: Platform` applies, lower-cased)
///   team-b      = 30.00 (row 5, key `team`) + 2.50 (Defender 10.00 × 4/16) = 32.50
///   unallocated = 5.00 (row 4, empty subscription) + 12.34 (row 6, untagged in an untagged
///                 subscription) + 4.00 (row 8, Defender on 09-06 without a snapshot) = 21.34
///   EUR total   = 87.75 + 15.00 + 32.50 + 21.34 = 156.59
///               = 100.50 + 15 − 20.25 + 5 + 30 + 12.34 + 10 + 4 (every EUR row of the period)
///   USD: team-b = 8.00 (row 9, key `TEAM`)
///   The 1000.00 row of 2026-08-31 is loaded (anomaly window) but is not in the period.
fn assert_standard_showback(case: &str, cost: &CostData) {
    let r = showback::compute(
        cost,
        &fixture_resources(),
        &sub_tags(),
        &Parameters::default(),
        period(),
    )
    .unwrap_or_else(|e| panic!("{case}: {e}"));
    let eur = owner_amounts(&r, "EUR");
    let expect = [
        ("team-a", 87.75),
        ("platform", 15.0),
        ("team-b", 32.5),
        ("unallocated", 21.34),
    ];
    assert_eq!(eur.len(), expect.len(), "{case}: {eur:?}");
    for (o, v) in expect {
        assert!(close(eur[o], v), "{case}: {o} = {} not {v}", eur[o]);
    }
    let usd = owner_amounts(&r, "USD");
    assert_eq!(usd.len(), 1, "{case}: {usd:?}");
    assert!(close(usd["team-b"], 8.0), "{case}");
    assert!(
        close(r.kpis.export_total_by_currency["EUR"], 156.59),
        "{case}"
    );
    assert!(
        close(r.kpis.defender_containers_total["EUR"], 14.0),
        "{case}"
    );
    assert_eq!(r.kpis.rows_in_period, 9, "{case}");
    // Defender allocation: 7.50 / 2.50 on 09-05, 4.00 unallocated on 09-06.
    let alloc: Vec<(String, f64)> = r
        .kpis
        .defender_allocation
        .iter()
        .map(|a| (a.owner.clone(), a.amount))
        .collect();
    assert_eq!(alloc.len(), 3, "{case}: {alloc:?}");
    assert!(alloc.iter().any(|(o, a)| o == "team-a" && close(*a, 7.5)));
    assert!(alloc.iter().any(|(o, a)| o == "team-b" && close(*a, 2.5)));
    assert!(
        alloc
            .iter()
            .any(|(o, a)| o == "unallocated" && close(*a, 4.0))
    );
    let basis = frame::strs(&r.defender_allocation, "allocation_basis").unwrap();
    assert!(
        basis
            .iter()
            .any(|b| b.as_deref() == Some(showback::BASIS_NO_SNAPSHOT))
    );
    // Reconciliation holds on every table finance receives.
    for df in [&r.by_owner, &r.by_resource] {
        let t = showback::totals_by_currency(df, "currency", "amount").unwrap();
        assert!(
            close(t["EUR"], 156.59) && close(t["USD"], 8.0),
            "{case}: {t:?}"
        );
    }
    // Untagged resources: st-d only (the empty-subscription row has no resource).
    let untagged = frame::strs(&r.untagged, "resource_id").unwrap();
    assert_eq!(untagged.len(), 1, "{case}: {untagged:?}");
    assert!(untagged[0].as_deref().unwrap().ends_with("/st-d"));
    // Owner sources in the by-resource table.
    let sources = frame::strs(&r.by_resource, "owner_source").unwrap();
    for s in [
        "resource tag",
        "subscription tag",
        "defender vcore split",
        "unallocated",
    ] {
        assert!(
            sources.iter().any(|x| x.as_deref() == Some(s)),
            "{case}: {s}"
        );
    }
    assert!(
        r.data_quality.iter().any(|q| q.contains("2026-09-06")),
        "{case}"
    );
}

#[test]
fn every_schema_and_format_gives_the_same_showback() {
    for (case, export) in [
        ("focus-1.0", "focus-daily"),
        ("focus-1.0r2-gz", "focus-daily"),
        ("focus-1.2", "focus-12"),
        ("ea-2024", "ea-actual"),
        ("ea-2021", "ea-amortized"),
        ("mca-2023", "mca-actual"),
        ("legacy", "focus-legacy"),
    ] {
        let cost = load(case, export, false).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(cost.runs.len(), 1, "{case}");
        let rows: u64 = cost.runs[0].files.iter().map(|f| f.rows).sum();
        assert_eq!(rows, 10, "{case}");
        assert_standard_showback(case, &cost);
        // Keeping only the owner tag keys in the scan gives the same showback.
        let opts = LoadOptions {
            rejects: false,
            tag_keys: Some(Parameters::default().owner_tags),
            period: None,
        };
        let slim = load_with(case, export, &opts).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_standard_showback(case, &slim);
        assert!(
            slim.rows
                .resources
                .iter()
                .all(|r| !r.tags.contains("cost-center")),
            "{case}"
        );
    }
}

#[test]
fn newest_run_wins_and_provenance_is_recorded() {
    // focus-1.0r2-gz holds an older run of the same range whose amounts are all 999.
    let cost = load("focus-1.0r2-gz", "FOCUS-DAILY", false).unwrap();
    let run = &cost.runs[0];
    assert_eq!(run.run_id, "0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b02");
    assert_eq!(run.replaces_runs, ["0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b03"]);
    assert_eq!(run.data_version.as_deref(), Some("1.0r2"));
    assert_eq!(run.files.len(), 2);
    assert_eq!(run.files[0].rows + run.files[1].rows, 10);
    assert_eq!(run.files[0].schema, "FOCUS");
    assert!(run.files[0].path.ends_with("part_0_0001.csv.gz"));
    assert_eq!(run.start_date, d("2026-08-01"));
    assert_eq!(run.end_date, d("2026-09-30"));
    let legacy = load("legacy", "focus-legacy", false).unwrap();
    assert!(legacy.runs[0].legacy_manifest);
}

#[test]
fn parquet_gives_the_same_showback() {
    // Amounts as doubles, as most Parquet exports write them.
    let cost = typed_parquet_export(DataType::Float64);
    assert_standard_showback("parquet", &cost);
}

#[test]
fn parquet_decimal_amounts_give_the_same_showback() {
    // Amounts as Parquet DECIMAL(38, 10) (as some writers and warehouses re-export them):
    // read exactly from their digits, like a CSV cell.
    let cost = typed_parquet_export(DataType::Decimal(38, 10));
    assert_standard_showback("parquet decimal", &cost);
}

/// The FOCUS 1.0r2 fixture rows as a typed Parquet export (dates as timestamps, amounts as
/// `amount`) with a manifest, loaded.
fn typed_parquet_export(amount: DataType) -> CostData {
    let src = load("focus-1.0r2-gz", "focus-daily", false).unwrap();
    assert!(!src.rows.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp
        .path()
        .join("focus-parquet/20260801-20260930/202610010600/0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b11");
    std::fs::create_dir_all(&run_dir).unwrap();
    let csv_dir = fixture("focus-1.0").join(
        "focus-daily/20260801-20260930/202610010600/0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b01/part_0_0001.csv",
    );
    let mut df = LazyCsvReader::new(PlRefPath::new(csv_dir.to_str().unwrap()))
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()
        .unwrap()
        .with_columns([
            col("EffectiveCost").cast(amount),
            col("ChargePeriodStart")
                .str()
                .to_datetime(
                    Some(TimeUnit::Microseconds),
                    None,
                    StrptimeOptions {
                        format: Some("%Y-%m-%dT%H:%MZ".into()),
                        ..Default::default()
                    },
                    lit("raise"),
                )
                .alias("chargeperiodstart"),
        ])
        .drop(cols_selector(["ChargePeriodStart"]))
        .collect()
        .unwrap();
    let path = run_dir.join("part_0_0001.snappy.parquet");
    let mut f = std::fs::File::create(&path).unwrap();
    ParquetWriter::new(&mut f).finish(&mut df).unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let manifest = serde_json::json!({
        "exportConfig": {"exportName": "focus-parquet", "dataVersion": "1.0", "type": "FocusCost"},
        "runInfo": {"submittedTime": "2026-10-01T06:00:00Z", "runId": "0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b11",
                    "startDate": "2026-08-01T00:00:00", "endDate": "2026-09-30T00:00:00"},
        "blobs": [{"blobName": "focus-parquet/20260801-20260930/202610010600/0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b11/part_0_0001.snappy.parquet",
                   "byteCount": bytes, "dataRowCount": 10}]
    });
    std::fs::write(run_dir.join("manifest.json"), manifest.to_string()).unwrap();
    let store = Store::open(tmp.path().to_str().unwrap(), false).unwrap();
    cost_exports::load(
        &store,
        &["focus-parquet".to_string()],
        d("2026-08-18"),
        d("2026-10-01"),
        &LoadOptions::default(),
    )
    .unwrap()
}

fn cols_selector<const N: usize>(names: [&str; N]) -> Selector {
    Selector::ByName {
        names: names.iter().map(|n| (*n).into()).collect(),
        strict: true,
    }
}

#[test]
fn unknown_export_name_is_a_config_error_listing_what_exists() {
    let err = load("focus-1.0", "focus-dialy", false).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let m = err.to_string();
    assert!(
        m.contains("'focus-dialy'") && m.contains("focus-daily"),
        "{m}"
    );
}

#[test]
fn truncated_gzip_names_the_file() {
    let err = load("bad-gzip", "focus-daily", false).unwrap_err();
    let m = err.to_string();
    assert!(
        m.contains("part_0_0001.csv.gz") && m.contains("truncated or corrupt"),
        "{m}"
    );
    // The file is at fault (exit 3), not the network.
    assert!(matches!(err, Error::Input { .. }), "{err:?}");
    // Rejects mode cannot set aside a broken stream: still an error.
    assert!(load("bad-gzip", "focus-daily", true).is_err());
}

#[test]
fn bad_rows_name_file_line_and_column_or_become_rejects() {
    let err = load("bad-row", "focus-daily", false).unwrap_err();
    let m = err.to_string();
    assert!(
        m.contains("part_0_0001.csv, line 4") && m.contains("has 13 fields but the header has 14"),
        "{m}"
    );
    let cost = load("bad-row", "focus-daily", true).unwrap();
    assert_eq!(cost.rejected_rows, 2);
    let lines = frame::ints(&cost.rejects, "line").unwrap();
    assert_eq!(lines, vec![Some(4), Some(7)]);
    let reasons = frame::strs(&cost.rejects, "reason").unwrap();
    assert!(
        reasons[1]
            .as_deref()
            .unwrap()
            .contains("EffectiveCost: '12;5'"),
        "{reasons:?}"
    );
    let raw = frame::strs(&cost.rejects, "raw").unwrap();
    assert!(raw[1].as_deref().unwrap().contains("st-d"));
    let file = &cost.runs[0].files[0];
    assert_eq!((file.rows, file.rejected_rows), (10, 2));
    // Reconciliation is against the valid rows: the refund (−20.25, line 4) and st-d (12.34,
    // line 7) are out, so EUR = 156.59 + 20.25 − 12.34 = 164.50.
    let r = showback::compute(
        &cost,
        &fixture_resources(),
        &sub_tags(),
        &Parameters::default(),
        period(),
    )
    .unwrap();
    assert!(close(r.kpis.export_total_by_currency["EUR"], 164.5));
    assert_eq!(r.rejected_rows, 2);
    assert!(r.data_quality.iter().any(|q| q.contains("2 unreadable")));
}

#[test]
fn overlapping_exports_warn() {
    let tmp = tempfile::tempdir().unwrap();
    for case in ["focus-1.0", "ea-2024"] {
        copy_tree(&fixture(case), tmp.path());
    }
    let store = Store::open(tmp.path().to_str().unwrap(), false).unwrap();
    let cost = cost_exports::load(
        &store,
        &["focus-daily".into(), "ea-actual".into()],
        d("2026-09-01"),
        d("2026-10-01"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(
        cost.data_quality
            .iter()
            .any(|q| q.contains("ea-actual and focus-daily") && q.contains("counted twice")),
        "{:?}",
        cost.data_quality
    );
}

// ---------------------------------------------------------------------------------------------
// Anomalies, on hand-built cost aggregates.

/// (date, subscription, resource id, resource group, amount)
fn cost_rows(from: &str, to: &str, rows: &[(NaiveDate, &str, String, &str, f64)]) -> CostData {
    let mut c = CostData::empty(d(from), d(to)).unwrap();
    c.covered = Some((d(from), d(to)));
    c.rows = CostRows::from_rows(rows.iter().map(|r| {
        (
            "e",
            RowRef {
                day: r.0,
                nanos: (r.4 * NANOS_PER_UNIT as f64).round() as i64,
                currency: "EUR",
                subscription: r.1,
                resource_id: r.2.as_str(),
                resource_group: r.3,
                tags: "",
                defender: false,
            },
        )
    }));
    c
}

/// AKS c1 (S1, node RG MC_rg-aks_c1) and Arc c2 (S1).
///
/// c1: 5.00/day on the cluster + 3.00/day in its node RG (written upper-case in the export)
///     = 8.00/day from 08-18, except 08-20 (no rows: counts 0) and 08-25 (20.00).
///     09-02: 5 + 35 = 40.00. Window 08-19..09-01 = {0, 20, 8 × 12}: median 8; 40 > 3 × 8 and
///            > 10 → anomaly, ratio 5. Snapshot that day: not protected.
///     09-10: 5 + 25 = 30.00. Window 08-27..09-09 = {40, 8 × 13}: median 8; 30 > 24 → anomaly,
///            ratio 3.75. No snapshot that day → protected unknown.
///     09-11: 5 + 19 = 24.00. Window 08-28..09-10 = {40, 30, 8 × 12}: median 8; 24 is not > 24.
///     09-12: 100.00 in a group of the same name in S2: not c1's (other subscription).
/// c2: 1.00/day; 09-15: 9.00 (> 3 × 1 but not > floor 10); 09-20: 12.00, window 09-06..09-19 =
///     {9, 1 × 13}: median 1 → anomaly, ratio 12; snapshot: not protected.
fn anomaly_case(from: &str) -> (CostData, Vec<rd::ResourceDay>) {
    let c1 = cluster(S1, "c1");
    let c2 = format!(
        "/subscriptions/{S1}/resourceGroups/rg-arc/providers/Microsoft.Kubernetes/connectedClusters/c2"
    );
    let node_vm = format!(
        "/subscriptions/{S1}/resourceGroups/MC_RG-AKS_C1/providers/Microsoft.Compute/virtualMachineScaleSets/pool1"
    );
    let mut rows = Vec::new();
    for day in d("2026-08-18")
        .iter_days()
        .take_while(|x| *x < d("2026-10-01"))
    {
        let ds = day.to_string();
        if day >= d(from) {
            if ds != "2026-08-20" {
                let node = match ds.as_str() {
                    "2026-08-25" => 15.0,
                    "2026-09-02" => 35.0,
                    "2026-09-10" => 25.0,
                    "2026-09-11" => 19.0,
                    _ => 3.0,
                };
                rows.push((day, S1, c1.clone(), "rg-aks", 5.0));
                rows.push((day, S1, node_vm.clone(), "MC_RG-AKS_C1", node));
            }
            let arc = match ds.as_str() {
                "2026-09-15" => 9.0,
                "2026-09-20" => 12.0,
                _ => 1.0,
            };
            rows.push((day, S1, c2.clone(), "rg-arc", arc));
        }
    }
    rows.push((
        d("2026-09-12"),
        S2,
        format!("/subscriptions/{S2}/resourceGroups/mc_rg-aks_c1/x"),
        "mc_rg-aks_c1",
        100.0,
    ));
    let cost = cost_rows(from, "2026-10-01", &rows);
    let res = resources(&[
        (
            "2026-09-02",
            "aks",
            &c1,
            S1,
            Some("MC_rg-aks_c1"),
            8,
            false,
            "subscription not compliant",
            "team-a",
        ),
        (
            "2026-09-20",
            "aks",
            &c1,
            S1,
            Some("MC_rg-aks_c1"),
            8,
            true,
            "",
            "team-a",
        ),
        (
            "2026-09-20",
            "arc",
            &c2,
            S1,
            None,
            4,
            false,
            "Defender extension not installed",
            "team-b",
        ),
    ]);
    (cost, res)
}

#[test]
fn anomalies_hand_worked_window() {
    let (cost, res) = anomaly_case("2026-08-18");
    let (found, table) = anomalies::compute(
        &cost,
        &res,
        &rd::ResourceLedger::of_rows(&res),
        &Parameters::default(),
        period(),
    )
    .unwrap();
    type Row = (String, f64, f64, Option<f64>, Option<bool>);
    let got: Vec<Row> = found
        .iter()
        .map(|a| {
            (
                a.date.to_string(),
                a.cost,
                a.median_previous,
                a.ratio,
                a.protected,
            )
        })
        .collect();
    // Unprotected first, then unknown coverage; by date.
    assert_eq!(
        got,
        vec![
            ("2026-09-02".into(), 40.0, 8.0, Some(5.0), Some(false)),
            ("2026-09-20".into(), 12.0, 1.0, Some(12.0), Some(false)),
            ("2026-09-10".into(), 30.0, 8.0, Some(3.75), None),
        ]
    );
    assert!(found[1].clusterId.ends_with("connectedClusters/c2"));
    assert_eq!(table.height(), 3);
    let reasons = frame::strs(&table, "reason_not_protected").unwrap();
    assert_eq!(reasons[0].as_deref(), Some("subscription not compliant"));
    assert_eq!(reasons[1].as_deref(), Some("no snapshot that day"));
}

#[test]
fn anomalies_need_a_whole_window_of_loaded_data() {
    // Loaded from 08-20: 09-02's window (08-19..09-01) is not inside the data, so it is not
    // evaluated; 09-10's window (08-27..09-09) is, and still flags.
    let (cost, res) = anomaly_case("2026-08-20");
    let (found, _) = anomalies::compute(
        &cost,
        &res,
        &rd::ResourceLedger::of_rows(&res),
        &Parameters::default(),
        period(),
    )
    .unwrap();
    let days: Vec<String> = found.iter().map(|a| a.date.to_string()).collect();
    assert_eq!(days, ["2026-09-20", "2026-09-10"]);
}

#[test]
fn overlapping_range_folders_of_one_export_warn_and_foreign_broken_manifests_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture("focus-1.0"), tmp.path());
    // A second range folder of the same export covering 2026-09-01..30 again.
    let src = fixture("focus-1.0")
        .join("focus-daily/20260801-20260930/202610010600/0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b01");
    let dst = tmp
        .path()
        .join("focus-daily/20260901-20260930/202610010700/0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b99");
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::copy(src.join("part_0_0001.csv"), dst.join("part_0_0001.csv")).unwrap();
    let m = std::fs::read_to_string(src.join("manifest.json"))
        .unwrap()
        .replace(
            "20260801-20260930/202610010600",
            "20260901-20260930/202610010700",
        )
        .replace("7e1f1a7c7b01", "7e1f1a7c7b99")
        .replace("2026-08-01T00:00:00", "2026-09-01T00:00:00");
    std::fs::write(dst.join("manifest.json"), m).unwrap();
    // A broken manifest of an export nobody configured.
    let other = tmp.path().join("other-export/20260901-20260930/x");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("manifest.json"), "{not json").unwrap();

    let cost = load_dir(tmp.path(), "focus-daily", false).unwrap();
    assert_eq!(cost.runs.len(), 2);
    let dq = cost.data_quality.join("\n");
    assert!(
        dq.contains("20260801-20260930 and 20260901-20260930"),
        "{dq}"
    );
    assert!(dq.contains("unreadable manifest of another export"), "{dq}");
    // The broken manifest does stop a load that asks for its export.
    let err = load_dir(tmp.path(), "other-export", false).unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
}

#[test]
fn manifest_counts_must_match_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture("focus-1.0"), tmp.path());
    let run = tmp
        .path()
        .join("focus-daily/20260801-20260930/202610010600/0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b01");
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    let open = |text: &str| {
        std::fs::write(run.join("manifest.json"), text).unwrap();
        load_dir(tmp.path(), "focus-daily", false)
    };
    let rows = open(&manifest.replace("\"dataRowCount\": 10", "\"dataRowCount\": 11")).unwrap_err();
    assert!(
        rows.to_string().contains("part_0_0001.csv")
            && rows
                .to_string()
                .contains("11 data rows but the file has 10"),
        "{rows}"
    );
    let bytes =
        serde_json::from_str::<serde_json::Value>(&manifest).unwrap()["blobs"][0]["byteCount"]
            .as_u64()
            .unwrap();
    let err = open(&manifest.replace(
        &format!("\"byteCount\": {bytes}"),
        &format!("\"byteCount\": {}", bytes + 1),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("bytes but the file has"), "{err}");
}

/// Write one export run (one file) with a manifest into `root`; returns the file's path.
fn write_run(root: &std::path::Path, export: &str, file: &str, bytes: &[u8], rows: u64) {
    let folder =
        format!("{export}/20260901-20260930/202610010600/0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b21");
    std::fs::create_dir_all(root.join(&folder)).unwrap();
    std::fs::write(root.join(&folder).join(file), bytes).unwrap();
    let manifest = serde_json::json!({
        "exportConfig": {"exportName": export, "dataVersion": "1.0", "type": "FocusCost"},
        "runInfo": {"submittedTime": "2026-10-01T06:00:00Z", "runId": "0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b21",
                    "startDate": "2026-09-01T00:00:00", "endDate": "2026-09-30T00:00:00"},
        "blobs": [{"blobName": format!("{folder}/{file}"), "byteCount": bytes.len(), "dataRowCount": rows}]
    });
    std::fs::write(
        root.join(&folder).join("manifest.json"),
        manifest.to_string(),
    )
    .unwrap();
}

fn load_dir(root: &std::path::Path, export: &str, rejects: bool) -> Result<CostData, Error> {
    let store = Store::open(root.to_str().unwrap(), false).unwrap();
    cost_exports::load(
        &store,
        &[export.to_string()],
        d("2026-09-01"),
        d("2026-10-01"),
        &LoadOptions {
            rejects,
            tag_keys: None,
            period: None,
        },
    )
}

#[test]
fn a_large_gzip_file_streams_in_blocks_and_a_deep_bad_row_keeps_its_line() {
    // 120,000 rows of 0.01 EUR (about 14 MB, so several read blocks). Every 1,000th row has a
    // line break inside its quoted tags, so it takes two lines. Data row k (0-based) starts
    // on line 2 + k + ⌈k / 1000⌉ (rows 0, 1000, ... are the two-line ones, each adding one
    // line to the rows after it). Row 100,000 is bad: it starts on line
    // 2 + 100,000 + 100 = 100,102.
    use std::io::Write;
    let mut csv = String::from(
        "ChargePeriodStart,EffectiveCost,BillingCurrency,SubAccountId,ResourceId,Tags\n",
    );
    for k in 0..120_000u32 {
        let amount = if k == 100_000 { "12;5" } else { "0.01" };
        let tags = if k % 1000 == 0 {
            "\"{\"\"owner\"\":\"\"team-a\"\",\n\"\"note\"\":\"\"x\"\"}\""
        } else {
            "\"{\"\"owner\"\":\"\"team-a\"\"}\""
        };
        csv.push_str(&format!(
            "2026-09-{:02}T00:00:00Z,{amount},EUR,/subscriptions/{S1},/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.Compute/disks/d{},{tags}\n",
            1 + k % 30,
            k % 500
        ));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(csv.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_run(tmp.path(), "big", "part_0_0001.csv.gz", &gz, 120_000);

    let err = load_dir(tmp.path(), "big", false).unwrap_err().to_string();
    assert!(
        err.contains("part_0_0001.csv.gz, line 100102") && err.contains("EffectiveCost: '12;5'"),
        "{err}"
    );
    let cost = load_dir(tmp.path(), "big", true).unwrap();
    assert_eq!(cost.rejected_rows, 1);
    assert_eq!(
        frame::ints(&cost.rejects, "line").unwrap(),
        vec![Some(100_102)]
    );
    // 119,999 valid rows of 0.01 = 1,199.99 EUR, on 500 disks, all owned by team-a. Disk d0
    // carries two tag sets (its two-line rows add a note), so it is two resource entries.
    assert_eq!(cost.rows.row_count(), 119_999);
    assert_eq!(cost.rows.resources.len(), 501);
    let total: i64 = cost.rows.monthly.iter().map(|c| c.nanos).sum();
    assert_eq!(total, 1_199_990_000_000);
    let r = showback::compute(
        &cost,
        &resources(&[]),
        &BTreeMap::new(),
        &Parameters::default(),
        period(),
    )
    .unwrap();
    assert!(close(r.kpis.by_currency["EUR"]["team-a"], 1199.99));
}

/// A one-file Parquet export run `pq` of `df`'s three rows in a new folder.
fn parquet_run(df: &mut DataFrame) -> tempfile::TempDir {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_run(tmp.path(), "pq", "part_0_0001.snappy.parquet", &buf, 3);
    tmp
}

#[test]
fn a_bad_parquet_row_names_its_row_and_column_or_becomes_a_reject() {
    // Three typed rows; the second has no amount.
    let mut df = df!(
        "ChargePeriodStart" => ["2026-09-01T00:00:00Z", "2026-09-02T00:00:00Z", "2026-09-03T00:00:00Z"],
        "EffectiveCost" => [Some(1.5), None, Some(2.25)],
        "BillingCurrency" => ["EUR", "EUR", "EUR"],
        "SubAccountId" => [format!("/subscriptions/{S1}"), format!("/subscriptions/{S1}"), format!("/subscriptions/{S1}")],
    )
    .unwrap();
    let tmp = parquet_run(&mut df);
    let err = load_dir(tmp.path(), "pq", false).unwrap_err().to_string();
    assert!(
        err.contains("part_0_0001.snappy.parquet, row 2")
            && err.contains("column EffectiveCost: 'null'"),
        "{err}"
    );
    let cost = load_dir(tmp.path(), "pq", true).unwrap();
    assert_eq!(cost.rejected_rows, 1);
    assert_eq!(cost.runs[0].files[0].rows, 3);
    let total: i64 = cost.rows.monthly.iter().map(|c| c.nanos).sum();
    assert_eq!(total, 3_750_000_000);
}

#[test]
fn parquet_null_text_cells_read_as_empty_and_an_oversized_cell_is_named() {
    // Row 1 has no resource id and no tags (nulls), row 2 a 70,000-byte resource id (over
    // the 65,536-byte cell limit), row 3 is whole.
    let rid = format!("/subscriptions/{S1}/resourceGroups/rg/providers/Microsoft.Compute/disks/d1");
    let huge = "x".repeat(70_000);
    let mut df = df!(
        "ChargePeriodStart" => ["2026-09-01T00:00:00Z", "2026-09-02T00:00:00Z", "2026-09-03T00:00:00Z"],
        "EffectiveCost" => [1.5, 2.0, 2.25],
        "BillingCurrency" => ["EUR", "EUR", "EUR"],
        "SubAccountId" => [format!("/subscriptions/{S1}"), format!("/subscriptions/{S1}"), format!("/subscriptions/{S1}")],
        "ResourceId" => [None, Some(huge), Some(rid.clone())],
        "Tags" => [None, Some("{}".to_string()), Some(r#"{"owner":"team-a"}"#.to_string())],
    )
    .unwrap();
    let tmp = parquet_run(&mut df);
    let err = load_dir(tmp.path(), "pq", false).unwrap_err().to_string();
    assert!(
        err.contains("part_0_0001.snappy.parquet, row 2")
            && err.contains("column ResourceId: a cell longer than 65536 bytes"),
        "{err}"
    );
    assert!(err.len() < 10_000, "the message does not quote the cell");
    let cost = load_dir(tmp.path(), "pq", true).unwrap();
    assert_eq!(cost.rejected_rows, 1);
    let mut ids: Vec<&str> = cost.rows.resources.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, vec!["", rid.to_lowercase().as_str()]);
    let total: i64 = cost.rows.monthly.iter().map(|c| c.nanos).sum();
    assert_eq!(total, 3_750_000_000);
}

#[test]
fn a_cluster_billed_inside_another_clusters_node_resource_group_counts_once() {
    // c1's node resource group MC_x holds 8.00/day of VMs and, oddly, the cluster resource of
    // c3 (1.00/day, 50.00 on 09-10). A row counts for the cluster it names first, so:
    // c1 = 8.00 every day (no anomaly); c3 on 09-10 = 50.00 against a median of 1.00 → ratio
    // 50. Counted in both, c1 would read 58.00 against a median of 9.00 and be flagged too.
    let c1 = cluster(S1, "c1");
    let c3 = format!(
        "/subscriptions/{S1}/resourceGroups/MC_x/providers/Microsoft.ContainerService/managedClusters/c3"
    );
    let vm = format!(
        "/subscriptions/{S1}/resourceGroups/MC_x/providers/Microsoft.Compute/virtualMachines/v"
    );
    let mut rows = Vec::new();
    for day in d("2026-08-18")
        .iter_days()
        .take_while(|x| *x < d("2026-10-01"))
    {
        rows.push((day, S1, vm.clone(), "MC_x", 8.0));
        let c3_cost = if day == d("2026-09-10") { 50.0 } else { 1.0 };
        rows.push((day, S1, c3.clone(), "MC_x", c3_cost));
    }
    let cost = cost_rows("2026-08-18", "2026-10-01", &rows);
    let res = resources(&[
        (
            "2026-09-10",
            "aks",
            &c1,
            S1,
            Some("MC_x"),
            8,
            true,
            "",
            "team-a",
        ),
        (
            "2026-09-10",
            "aks",
            &c3,
            S1,
            Some("MC_c3"),
            4,
            true,
            "",
            "team-b",
        ),
    ]);
    let (found, _) = anomalies::compute(
        &cost,
        &res,
        &rd::ResourceLedger::of_rows(&res),
        &Parameters::default(),
        period(),
    )
    .unwrap();
    let got: Vec<(String, String, f64, f64)> = found
        .iter()
        .map(|a| {
            let name = a.clusterId.rsplit('/').next().unwrap().to_string();
            (name, a.date.to_string(), a.cost, a.median_previous)
        })
        .collect();
    assert_eq!(
        got,
        [("c3".to_string(), "2026-09-10".to_string(), 50.0, 1.0)]
    );
}
