//! The executive PDF and its annex: they render, are byte-identical for identical inputs, the
//! report stays at most 6 pages at any tenant size while the annex holds every row, every
//! number a reader sees equals `kpis.json` and the CSV rounding, and every count the report
//! gives for a file it names is that file's row count (checked on the text poppler extracts).

mod support {
    pub mod demo;
}

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chrono::NaiveDate;
use defender_ledger::assessment::checklist::{
    check_defender_on_every_subscription, check_resources_tagged,
};
use defender_ledger::assessment::grading::{
    Status, allocated_pct, cost_per_protected_vcore, rate_status,
};
use defender_ledger::assessment::risks::{RiskLevel, top_risks};
use defender_ledger::assessment::{
    CheckStatus, ChecklistItem, ExecutiveInput, MgRow, OwnerCount, OwnerSeverityCount, ResourceRow,
    SubscriptionRow,
};
use defender_ledger::config::TargetConfig;
use defender_ledger::format;
use defender_ledger::kpi::container_instances::GroupCount;
use defender_ledger::kpi::hardening::{CheckPosture, KindPosture};
use defender_ledger::kpi::*;
use defender_ledger::render::pdf::executive::{self, delta_text};
use defender_ledger::render::pdf::{
    ANNEX_PATH, ExecutivePdfs, RunFileRows, annex, render_executive, render_executive_with_warnings,
};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const SUB_PAY: &str = "0b1f6f32-5a3e-4c1b-9d0e-1f2a3b4c5d6e";
const SUB_EDGE: &str = "7c2d9e41-0f6b-4a8d-b1c2-d3e4f5a6b7c8";
const CLUSTER_MINER: &str = "/subscriptions/7c2d9e41-0f6b-4a8d-b1c2-d3e4f5a6b7c8/resourceGroups/rg-edge/providers/Microsoft.ContainerService/managedClusters/aks-edge-batch";
const CLUSTER_PAY: &str = "/subscriptions/0b1f6f32-5a3e-4c1b-9d0e-1f2a3b4c5d6e/resourceGroups/rg-pay/providers/Microsoft.ContainerService/managedClusters/aks-payments";

fn latency(count: i64, median: f64, p90: f64, mean: f64) -> LatencyStats {
    LatencyStats {
        count,
        median: Some(median),
        p90: Some(p90),
        mean: Some(mean),
    }
}

/// A small month: 30 days, 2026-11-14 missing, one subscription uncovered from the 18th on,
/// a cost spike on an unprotected cluster, overdue criticals, two currencies with untagged spend.
fn kpis(period: &str, month_end_rate: f64, median: f64, crit_rate: f64, high: i64) -> Kpis {
    let start = d(&format!("{period}-01"));
    let end = {
        let (y, m): (i32, u32) = (period[..4].parse().unwrap(), period[5..].parse().unwrap());
        if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1).unwrap()
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1).unwrap()
        }
    };
    let missing = start + chrono::Days::new(13);
    let mut daily = vec![];
    let mut days = vec![];
    let mut day = start;
    while day < end {
        if day != missing {
            let uncovered = if day >= start + chrono::Days::new(17) {
                1
            } else {
                0
            };
            let in_scope = 12;
            let compliant = in_scope - uncovered;
            daily.push(CoverageDay {
                date: day,
                in_scope,
                compliant,
                rate: Some(compliant as f64 / in_scope as f64 * 100.0),
                aks_total: 9,
                aks_protected: 8 - uncovered,
                arc_total: 2,
                arc_protected: 1,
                registries_total: 4,
                registries_protected: 3,
            });
            days.push(day);
        }
        day = day.succ_opt().unwrap();
    }
    if let Some(last) = daily.last_mut() {
        last.rate = Some(month_end_rate);
    }
    let gap_days = daily.iter().filter(|d| d.compliant < d.in_scope).count() as i64;
    let mut by_severity_lat = BTreeMap::new();
    by_severity_lat.insert("High".to_string(), latency(5, median - 2.0, 40.5, 19.25));
    by_severity_lat.insert("Medium".to_string(), latency(9, median + 3.3, 61.0, 30.0));
    let mut remediation = BTreeMap::new();
    remediation.insert(
        "Critical".to_string(),
        SeverityRemediation {
            due_in_period: 8,
            resolved_on_time: 6,
            rate: Some(crit_rate),
            left_censored_due: 1,
            resolved_in_period: 7,
            median_days_to_resolve: Some(9.5),
            open_past_due_at_period_end: 3,
        },
    );
    remediation.insert(
        "High".to_string(),
        SeverityRemediation {
            due_in_period: 0,
            resolved_on_time: 0,
            rate: None,
            left_censored_due: 0,
            resolved_in_period: 2,
            median_days_to_resolve: Some(12.0),
            open_past_due_at_period_end: 0,
        },
    );
    let mut eur = BTreeMap::new();
    eur.insert("team-payments".to_string(), 10234.567);
    eur.insert("team-edge".to_string(), 2210.004);
    eur.insert("platform".to_string(), 3105.339);
    eur.insert("unallocated".to_string(), 845.125);
    let mut usd = BTreeMap::new();
    usd.insert("team-data".to_string(), 1200.335);
    usd.insert("unallocated".to_string(), 99.995);
    let mut by_currency = BTreeMap::new();
    by_currency.insert("EUR".to_string(), eur);
    by_currency.insert("USD".to_string(), usd);
    Kpis {
        schema_version: 1,
        period: period.to_string(),
        period_start: start,
        period_end_exclusive: end,
        parameters: Parameters::default(),
        snapshot_days_in_period: days,
        snapshot_days_missing: vec![missing],
        coverage: CoverageKpis {
            month_end_date: daily.last().map(|d| d.date),
            month_end_rate: Some(month_end_rate),
            min_rate: Some(91.66666666666667),
            mean_rate: Some(96.42857142857143),
            gap_subscription_days: gap_days,
            gaps: vec![Gap {
                subscriptionId: SUB_EDGE.to_string(),
                start: start + chrono::Days::new(17),
                end: end.pred_opt().unwrap(),
                days: gap_days,
                continues_from_previous_period: false,
                open_at_period_end: true,
            }],
            daily,
        },
        detection_latency: DetectionLatency {
            population: 15,
            overall: latency(14, median, 55.75, 26.4),
            by_severity: by_severity_lat,
            negative_latency: vec![NegativeLatency {
                systemAlertId: "2517538088322968242_neg".into(),
                latency_minutes: -3.5,
                severity: "Medium".into(),
                resourceId: CLUSTER_PAY.into(),
                startTimeUtc: "2026-11-03T10:00:00Z".into(),
                timeGeneratedUtc: "2026-11-03T09:56:30Z".into(),
            }],
        },
        runtime_alerts: RuntimeAlerts {
            population: 15,
            high_total: high,
            by_severity: [("High".to_string(), high), ("Medium".to_string(), 10)]
                .into_iter()
                .collect(),
            high_by_owner: [("team-payments".to_string(), high)].into_iter().collect(),
        },
        remediation: Remediation {
            vulnerability_data: Default::default(),
            findings_total: 57,
            by_severity: remediation,
        },
        showback: ShowbackKpis {
            source_exports: vec!["focus-monthly".into(), "ea-actual".into()],
            rows_in_period: 4210,
            export_total_by_currency: by_currency
                .iter()
                .map(|(c, o)| (c.clone(), o.values().sum()))
                .collect(),
            defender_containers_total: [("EUR".to_string(), 1432.8), ("USD".to_string(), 96.0)]
                .into_iter()
                .collect(),
            defender_allocation: vec![],
            by_currency,
        },
        anomalies: vec![
            Anomaly {
                clusterId: CLUSTER_PAY.into(),
                date: start + chrono::Days::new(4),
                cost: 88.5,
                currency: "EUR".into(),
                median_previous: 25.0,
                ratio: Some(3.54),
                protected: Some(true),
            },
            Anomaly {
                clusterId: CLUSTER_MINER.into(),
                date: start + chrono::Days::new(20),
                cost: 612.4,
                currency: "EUR".into(),
                median_previous: 41.2,
                ratio: Some(14.864077669902912),
                protected: Some(false),
            },
        ],
        data_quality: vec!["VM size Standard_Weird_v9 has no vCPU count; counted as 0.".into()],
    }
}

/// The report of the small month, or of a tenant with `subscriptions` more uncovered
/// subscriptions and every other list grown with it (management groups, gaps, unprotected
/// resources, alert owners, overdue owners, showback owners, data-quality findings), with
/// long names to stress the layout.
fn input(subscriptions: usize) -> ExecutiveInput {
    let mut i = small_input(subscriptions);
    let n = subscriptions;
    if n == 0 {
        return i;
    }
    let k = &mut i.kpis;
    for s in i.uncovered_subscriptions.iter().skip(1) {
        k.coverage.gaps.push(Gap {
            subscriptionId: s.subscription_id.clone(),
            start: k.period_start + chrono::Days::new(30 - s.gap_days as u64),
            end: k.period_end_exclusive.pred_opt().unwrap(),
            days: s.gap_days,
            continues_from_previous_period: false,
            open_at_period_end: true,
        });
    }
    for m in 0..n / 8 {
        i.coverage_by_management_group.push(MgRow {
            management_group: format!("Landing zone {m:03} (corporate, West Europe)"),
            in_scope: (m % 9 + 1) as i64,
            compliant: (m % 9 + 1 - m % 3) as i64,
            rate: Some((m % 9 + 1 - m % 3) as f64 / (m % 9 + 1) as f64 * 100.0),
        });
    }
    for r in 0..2 * n {
        let (kind, provider) = match r % 3 {
            0 => ("AKS", "Microsoft.ContainerService/managedClusters"),
            1 => ("Arc", "Microsoft.Kubernetes/connectedClusters"),
            _ => ("Registry", "Microsoft.ContainerRegistry/registries"),
        };
        let name = format!("{}-sandbox-{r:05}-westeurope", kind.to_lowercase());
        i.unprotected_resources.push(ResourceRow {
            kind: kind.into(),
            id: format!("/subscriptions/x/resourceGroups/rg/providers/{provider}/{name}"),
            name,
            subscription_id: format!("{:08x}-0000-4000-8000-{:012x}", r, r * 7919),
            owner: format!("team-{:02}", r % 37),
            reason: "Defender extension not installed on the cluster".into(),
        });
    }
    for o in 0..37 {
        i.alerts_by_owner_severity.push(OwnerSeverityCount {
            owner: format!("team-{o:02}"),
            severity: if o % 2 == 0 { "High" } else { "Low" }.into(),
            count: (o % 7 + 1) as i64,
        });
    }
    for o in 0..n / 20 {
        i.overdue_critical_by_owner.push(OwnerCount {
            owner: format!("cost-centre-{o:03}-platform-engineering"),
            count: (o % 4 + 1) as i64,
        });
    }
    let eur = i.kpis.showback.by_currency.get_mut("EUR").unwrap();
    for o in 0..n / 5 {
        eur.insert(
            format!("cost-centre-{o:03}-platform-engineering"),
            100.0 + o as f64 * 3.17,
        );
    }
    // More currencies than the report body shows (it shows three).
    for cur in ["CHF", "GBP"] {
        let owners = (0..n / 10)
            .map(|o| (format!("cost-centre-{o:03}-{cur}"), 50.0 + o as f64))
            .chain([("unallocated".to_string(), 12.5)])
            .collect();
        i.kpis.showback.by_currency.insert(cur.into(), owners);
    }
    for (cur, owners) in &i.kpis.showback.by_currency {
        let total: f64 = owners.values().sum();
        i.kpis
            .showback
            .export_total_by_currency
            .insert(cur.clone(), total);
    }
    for q in 0..n / 50 {
        i.kpis.data_quality.push(format!(
            "VM size Standard_Custom_{q:03} has no vCPU count; counted as 0 (see showback.vcpu_overrides)."
        ));
    }
    i
}

/// The table files a run of `input` would publish, with their rows.
fn run_files(input: &ExecutiveInput) -> RunFileRows {
    let k = &input.kpis;
    let owners: usize = k.showback.by_currency.values().map(|o| o.len()).sum();
    let alerts: i64 = input.alerts_by_owner_severity.iter().map(|a| a.count).sum();
    let mut files = vec![
        (
            "data/coverage_by_management_group.parquet".to_string(),
            input.coverage_by_management_group.len(),
        ),
        ("finance/showback-by-owner.csv".to_string(), owners),
    ];
    for pack in ["pci-dss-4.0.1", "soc2"] {
        files.extend([
            (
                format!("evidence/{pack}/coverage-gaps.csv"),
                k.coverage.gaps.len(),
            ),
            (format!("evidence/{pack}/alerts.csv"), alerts as usize),
            (
                format!("evidence/{pack}/protection-inventory.csv"),
                input.unprotected_resources.len() + 40,
            ),
            (
                format!("evidence/{pack}/vulnerability-findings.csv"),
                k.remediation.findings_total as usize,
            ),
        ]);
    }
    RunFileRows::new(files)
}

fn render(input: &ExecutiveInput) -> ExecutivePdfs {
    render_executive(input, &run_files(input)).unwrap()
}

/// 11 AKS clusters (6 pass every check) and 8 registries (1 passes both), as on the demo.
fn hardening_posture() -> Vec<KindPosture> {
    let check = |column: &str, label: &str, pass, fail| CheckPosture {
        column: column.into(),
        label: label.into(),
        pass,
        fail,
        unknown: 0,
    };
    vec![
        KindPosture {
            kind: "AKS clusters".into(),
            resources: 11,
            pass_all: 6,
            checks: vec![
                check("enableRBAC", "Kubernetes RBAC", 11, 0),
                check("aadManaged", "Entra ID integration", 9, 2),
                check("networkPolicy", "network policy", 9, 2),
                check("azurePolicyEnabled", "Azure Policy add-on", 9, 2),
            ],
        },
        KindPosture {
            kind: "Registries".into(),
            resources: 8,
            pass_all: 1,
            checks: vec![
                check("adminUserEnabled", "admin user disabled", 6, 2),
                check(
                    "publicNetworkAccess",
                    "public network access disabled",
                    1,
                    7,
                ),
            ],
        },
    ]
}

fn small_input(subscriptions: usize) -> ExecutiveInput {
    let mut uncovered = vec![SubscriptionRow {
        subscription_id: SUB_EDGE.into(),
        name: "Edge-Batch".into(),
        owner: "team-edge".into(),
        reason: "Containers plan switched to Free".into(),
        gap_days: 12,
    }];
    for i in 0..subscriptions {
        uncovered.push(SubscriptionRow {
            subscription_id: format!("{:08x}-0000-4000-8000-{:012x}", i, i * 7919),
            name: format!("Sandbox-{i:04}"),
            owner: format!("team-{:02}", i % 37),
            // The longest reason the job writes: every check failing at once.
            reason: if i % 4 != 3 {
                "pricingTier Free; ContainerSensor disabled; AgentlessDiscoveryForKubernetes \
                 disabled; ContainerRegistriesVulnerabilityAssessments disabled"
                    .into()
            } else {
                "ContainerSensor extension off".into()
            },
            gap_days: (i % 30) as i64 + 1,
        });
    }
    let previous = vec![
        kpis("2026-08", 83.3, 35.0, 60.0, 9),
        kpis("2026-09", 88.1, 31.0, 70.0, 6),
        kpis("2026-10", 95.0, 24.8, 80.0, 3),
    ];
    ExecutiveInput {
        kpis: kpis("2026-11", 91.66666666666667, 22.3, 75.0, 5),
        previous,
        targets: TargetConfig::default(),
        scope: "Contoso (tenant 72f988bf-86f1-41af-91ab-2d7cd011db47)".into(),
        input_fingerprint: "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd"
            .into(),
        sources: vec![
            "Azure Resource Graph: queries/*.kql, 29 daily snapshots".into(),
            "Cost Management exports: focus-monthly (FOCUS 1.0r2), ea-actual".into(),
        ],
        coverage_by_management_group: vec![
            MgRow {
                management_group: "Production".into(),
                in_scope: 7,
                compliant: 7,
                rate: Some(100.0),
            },
            MgRow {
                management_group: "Edge".into(),
                in_scope: 3,
                compliant: 2,
                rate: Some(66.66666666666667),
            },
            MgRow {
                management_group: "Sandbox".into(),
                in_scope: 2,
                compliant: 2,
                rate: Some(100.0),
            },
        ],
        uncovered_subscriptions: uncovered,
        unprotected_resources: vec![
            ResourceRow {
                kind: "AKS".into(),
                name: "aks-edge-batch".into(),
                id: CLUSTER_MINER.into(),
                subscription_id: SUB_EDGE.into(),
                owner: "team-edge".into(),
                reason: "subscription not covered".into(),
            },
            ResourceRow {
                kind: "Arc".into(),
                name: "arc-store-017".into(),
                id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/arc-store-017".into(),
                subscription_id: SUB_PAY.into(),
                owner: "team-retail".into(),
                reason: "Defender extension not installed".into(),
            },
            ResourceRow {
                kind: "Registry".into(),
                name: "acrlegacy".into(),
                id: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acrlegacy".into(),
                subscription_id: SUB_PAY.into(),
                owner: "platform".into(),
                reason: "vulnerability assessment extension off".into(),
            },
        ],
        alerts_by_owner_severity: vec![
            OwnerSeverityCount {
                owner: "team-payments".into(),
                severity: "High".into(),
                count: 5,
            },
            OwnerSeverityCount {
                owner: "team-payments".into(),
                severity: "Medium".into(),
                count: 4,
            },
            OwnerSeverityCount {
                owner: "team-edge".into(),
                severity: "Medium".into(),
                count: 6,
            },
        ],
        overdue_critical_by_owner: vec![
            OwnerCount {
                owner: "team-edge".into(),
                count: 2,
            },
            OwnerCount {
                owner: "platform".into(),
                count: 1,
            },
        ],
        container_spend: [("EUR".to_string(), 9876.544), ("USD".to_string(), 740.1)]
            .into_iter()
            .collect(),
        protected_vcores: 96,
        resource_owners: BTreeMap::new(),
        hardening: hardening_posture(),
        container_groups: GroupCount {
            total: 3,
            public_ip: 2,
            confidential: 1,
        },
        checklist: vec![
            ChecklistItem {
                name: "Defender on every subscription with containers".into(),
                status: CheckStatus::Fail,
                measured: "11 of 12 subscriptions with containers covered on 2026-11-30".into(),
            },
            ChecklistItem {
                name: "Policy enforcing Defender for Containers".into(),
                status: CheckStatus::Warn,
                measured: "DeployIfNotExists assigned on 2 of 3 management groups".into(),
            },
            ChecklistItem {
                name: "Alerts routed to owners".into(),
                status: CheckStatus::Pass,
                measured: "every alert maps to an owner".into(),
            },
            ChecklistItem {
                name: "Registry scanning on and reviewed".into(),
                status: CheckStatus::Fail,
                measured: "3 of 4 registries scanned".into(),
            },
            ChecklistItem {
                name: "Owners responding to runtime alerts".into(),
                status: CheckStatus::NotMeasured,
                measured: "alert status not tracked in this tenant".into(),
            },
            ChecklistItem {
                name: "Resources tagged with an owner".into(),
                status: CheckStatus::Warn,
                measured: "94.6% of EUR spend allocated".into(),
            },
        ],
    }
}

/// `pdftotext -layout`, or `None` when poppler is not installed.
fn pdftotext(pdf: &[u8], dir: &Path) -> Option<String> {
    pdftotext_with(pdf, dir, &["-layout"])
}

/// `pdftotext` in reading order with every run of white space made one space: sentences that
/// wrap (or sit in a column) read as one line.
fn pdftotext_flat(pdf: &[u8], dir: &Path) -> Option<String> {
    let text = pdftotext_with(pdf, dir, &[])?;
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn pdftotext_with(pdf: &[u8], dir: &Path, args: &[&str]) -> Option<String> {
    let path = dir.join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(args)
        .args([path.to_str().unwrap(), "-"])
        .output()
        .ok()?;
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

fn pages(text: &str) -> usize {
    text.matches('\u{c}').count().max(1)
}

/// The report body's page limit at any tenant size.
const MAX_REPORT_PAGES: usize = 6;

/// Every "see <file> (<n> rows)" and "<file> (<n> rows)" the report and annex state, checked:
/// a run file's count is its rows in `files`, an annex section's count is the count in that
/// section's heading (and the annex's table of contents). Returns how many claims were checked.
fn assert_counts_match_files(
    report: &str,
    annex: &str,
    files: &dyn Fn(&str) -> Option<usize>,
) -> usize {
    let claim = regex::Regex::new(
        r"([a-z0-9.-]+(?:/[a-z0-9.-]+)+\.(?:csv|parquet|pdf))(?:, section (A\.\d+)(?: ([A-Z]{3}))?)? \((\d+) rows?\)",
    )
    .unwrap();
    let mut checked = 0;
    for text in [report, annex] {
        for c in claim.captures_iter(text) {
            let path = &c[1];
            let rows: usize = c[4].parse().unwrap();
            if path == ANNEX_PATH {
                let section = c.get(2).map(|m| m.as_str()).expect("an annex section");
                let heading = match c.get(3) {
                    // A currency part of the showback section: "USD: 123.45 USD (24 rows)".
                    Some(cur) => format!(
                        r"{}: -?[\d.]+ {} \((\d+) rows?\)",
                        cur.as_str(),
                        cur.as_str()
                    ),
                    None => {
                        let title = annex::SECTIONS.iter().find(|s| s.0 == section).unwrap().1;
                        format!(
                            r"{} {} \((\d+) rows?\)",
                            regex::escape(section),
                            regex::escape(title)
                        )
                    }
                };
                let found = regex::Regex::new(&heading)
                    .unwrap()
                    .captures(annex)
                    .unwrap_or_else(|| panic!("annex section {section} {heading} not found"));
                assert_eq!(found[1].parse::<usize>().unwrap(), rows, "{}", &c[0]);
            } else {
                let actual = files(path).unwrap_or_else(|| panic!("{path} is not a run file"));
                assert_eq!(actual, rows, "{}", &c[0]);
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn renders_identically_and_every_number_matches_kpis() {
    let input = input(0);
    let t0 = Instant::now();
    let pdfs = render(&input);
    let pdf = pdfs.report.clone();
    eprintln!("small report: {} bytes in {:?}", pdf.len(), t0.elapsed());
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdfs.annex.starts_with(b"%PDF-"));
    let (again, warnings) = render_executive_with_warnings(&input, &run_files(&input)).unwrap();
    assert!(warnings.is_empty(), "layout warnings: {warnings:?}");
    assert_eq!(pdf, again.report, "identical input, identical bytes");
    assert_eq!(pdfs.annex, again.annex, "identical input, identical annex");
    if let Some(path) = std::env::var_os("EXECUTIVE_PDF_OUT") {
        std::fs::write(&path, &pdf).unwrap();
        std::fs::write(Path::new(&path).with_extension("annex.pdf"), &pdfs.annex).unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let Some(text) = pdftotext(&pdf, dir.path()) else {
        eprintln!("SKIPPED text checks: pdftotext not found (apt-get install poppler-utils)");
        return;
    };
    let k = &input.kpis;
    let mut expected = vec![
        format::rate(k.coverage.month_end_rate),
        format::rate(k.coverage.min_rate),
        format::rate(k.coverage.mean_rate),
        format::minutes(k.detection_latency.overall.median),
        format::minutes(k.detection_latency.overall.p90),
        format::rate(k.remediation.by_severity["Critical"].rate),
        "91.7%".to_string(),
        "22.3 min".to_string(),
        "75.0%".to_string(),
        "-3.3 pts vs 2026-10".to_string(),
        "-2.5 min vs 2026-10".to_string(),
        "+2 vs 2026-10".to_string(),
        // Showback: largest-remainder cents as in showback-by-owner.csv.
        "10234.57 EUR".to_string(),
        "2210.00 EUR".to_string(),
        "3105.34 EUR".to_string(),
        "845.13 EUR".to_string(),
        "16395.04 EUR".to_string(),
        "1200.34 USD".to_string(), // ties go to the first owner in order
        "99.99 USD".to_string(),
        "1300.33 USD".to_string(),
        // Cost block.
        "9876.54 EUR".to_string(),
        "1432.80 EUR".to_string(),
        "14.93 EUR".to_string(), // 1432.80 / 96
        "612.40 EUR".to_string(),
        "14.9×".to_string(),
        "Page 1 of".to_string(),
        SUB_EDGE.to_string(),
        "aks-edge-batch".to_string(),
        "arc-store-017".to_string(),
        "acrlegacy".to_string(),
        input.input_fingerprint.clone(),
        "2026-11-14".to_string(),
        // The hardening posture line, per kind.
        "Hardening at month end".to_string(),
        "6 of 11 pass all 4".to_string(),
        "Kubernetes RBAC 11".to_string(),
        "1 of 8 pass all 2".to_string(),
    ];
    for (cur, owners) in &k.showback.by_currency {
        let (rows, total) = executive::showback_rounded(owners);
        for (_, c) in rows {
            expected.push(format::money_cents(c, cur));
        }
        expected.push(format::money_cents(total, cur));
        expected.push(format::money(k.showback.export_total_by_currency[cur], cur));
    }
    for (sev, st) in &k.detection_latency.by_severity {
        expected.push(format::minutes(st.median));
        expected.push(format::minutes(st.p90));
        assert!(text.contains(sev.as_str()));
    }
    // The container groups Defender for Containers does not cover, counted in one sentence.
    let flat = pdftotext_flat(&pdf, dir.path()).unwrap();
    assert!(
        flat.contains(
            "Not covered: 3 Azure Container Instances container groups at month end (2 with a \
             public IP address, 1 on the confidential SKU)"
        ),
        "{flat}"
    );
    let missing: Vec<&String> = expected.iter().filter(|e| !text.contains(*e)).collect();
    assert!(
        missing.is_empty(),
        "not in the PDF text: {missing:?}\n{text}"
    );

    let n = pages(&text);
    for p in 1..=n {
        assert!(
            text.contains(&format!("Page {p} of {n}")),
            "page number {p} of {n}"
        );
    }
    // The cost spike on the unprotected cluster is the first risk, before coverage gaps.
    let spike = text.find("Cost spike on an unprotected cluster").unwrap();
    let gaps = text.find("Coverage gaps").unwrap();
    let overdue = text.find("Overdue critical vulnerabilities").unwrap();
    assert!(spike < gaps && gaps < overdue, "risk order");
    // The run id never appears: only inputs decide the bytes.
    assert!(!text.contains("T060000Z"));
    assert!(n <= MAX_REPORT_PAGES, "{n} pages");
    assert_fonts_embedded(&pdf, dir.path());
    assert_fonts_embedded(&pdfs.annex, dir.path());

    // Every list fits: nothing is shortened, and the files named carry the rows stated.
    let flat = pdftotext_flat(&pdf, dir.path()).unwrap();
    let annex = pdftotext_flat(&pdfs.annex, dir.path()).unwrap();
    assert!(!flat.contains(" more: see "), "{flat}");
    let files = run_files(&input);
    let checked = assert_counts_match_files(&flat, &annex, &|p| files_rows(&files, p));
    assert!(
        checked >= 8,
        "{checked} file counts in the report and annex"
    );
}

fn files_rows(files: &RunFileRows, path: &str) -> Option<usize> {
    files.get(path).map(|f| f.rows)
}

fn assert_fonts_embedded(pdf: &[u8], dir: &Path) {
    let path = dir.join("fonts.pdf");
    std::fs::write(&path, pdf).unwrap();
    let Ok(out) = Command::new("pdffonts").arg(&path).output() else {
        eprintln!("SKIPPED font check: pdffonts not found");
        return;
    };
    let listing = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = listing.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts listed:\n{listing}");
    for row in rows {
        assert!(row.contains("Inter"), "only the bundled font: {row}");
        // Columns: name type encoding emb sub uni object ID
        let cols: Vec<&str> = row.split_whitespace().collect();
        let emb = cols[cols.len() - 5];
        assert_eq!(emb, "yes", "font not embedded: {row}");
    }
}

#[test]
fn a_thousand_subscription_tenant_keeps_the_report_short_and_the_annex_complete() {
    let big_input = input(1000);
    let t0 = Instant::now();
    let (big, warnings) =
        render_executive_with_warnings(&big_input, &run_files(&big_input)).unwrap();
    let elapsed = t0.elapsed();
    assert!(warnings.is_empty(), "layout warnings: {warnings:?}");
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!(
        "1,000-subscription report: {} bytes, annex {} bytes, in {elapsed:?} ({profile} build)",
        big.report.len(),
        big.annex.len()
    );
    if let Some(path) = std::env::var_os("EXECUTIVE_PDF_BIG_OUT") {
        std::fs::write(&path, &big.report).unwrap();
        std::fs::write(Path::new(&path).with_extension("annex.pdf"), &big.annex).unwrap();
    }
    // Only a loose bound against hangs: bench/executive.sh measures.
    assert!(elapsed.as_secs_f64() < 120.0, "took {elapsed:?}");

    let dir = tempfile::tempdir().unwrap();
    let (Some(report), Some(annex)) = (
        pdftotext(&big.report, dir.path()),
        pdftotext(&big.annex, dir.path()),
    ) else {
        eprintln!("SKIPPED text checks: pdftotext not found (apt-get install poppler-utils)");
        return;
    };
    let n = pages(&report);
    assert!(n <= MAX_REPORT_PAGES, "report of {n} pages");
    assert!(report.contains(&format!("Page {n} of {n}")));
    let annex_pages = pages(&annex);
    assert!(annex_pages > 20, "annex of {annex_pages} pages");
    assert!(annex.contains(&format!("Page {annex_pages} of {annex_pages}")));

    // The annex holds every row of every list.
    let i = &big_input;
    let mut expected: Vec<String> = vec![];
    expected.extend(
        i.uncovered_subscriptions
            .iter()
            .map(|s| s.subscription_id.clone()),
    );
    expected.extend(i.unprotected_resources.iter().map(|r| r.name.clone()));
    expected.extend(
        i.coverage_by_management_group
            .iter()
            .map(|m| m.management_group.clone()),
    );
    expected.extend(i.alerts_by_owner_severity.iter().map(|a| a.owner.clone()));
    expected.extend(i.overdue_critical_by_owner.iter().map(|o| o.owner.clone()));
    for (cur, owners) in &i.kpis.showback.by_currency {
        let (rows, _) = executive::showback_rounded(owners);
        expected.extend(rows.iter().map(|(_, c)| format::money_cents(*c, cur)));
        expected.extend(owners.keys().filter(|o| *o != "unallocated").cloned());
    }
    expected.extend(
        i.kpis
            .data_quality
            .iter()
            .map(|d| d.chars().take(40).collect()),
    );
    let flat_annex = pdftotext_flat(&big.annex, dir.path()).unwrap();
    // Long names wrap at their hyphens, which poppler drops when it joins the lines.
    let squeeze = |t: &str| t.replace(|c: char| c == '-' || c.is_whitespace(), "");
    let squeezed = squeeze(&flat_annex);
    let absent: Vec<&String> = expected
        .iter()
        .filter(|e| !squeezed.contains(&squeeze(e)))
        .collect();
    assert!(
        absent.is_empty(),
        "{} rows missing from the annex, first {:?}",
        absent.len(),
        &absent[..absent.len().min(5)]
    );

    // The report shows the first rows of each list and says where the rest is, with counts
    // that are the rows of the files it names.
    let flat = pdftotext_flat(&big.report, dir.path()).unwrap();
    for (total, section) in [
        (i.coverage_by_management_group.len(), "A.1"),
        (i.uncovered_subscriptions.len(), "A.3"),
        (i.unprotected_resources.len(), "A.4"),
        (i.overdue_critical_by_owner.len(), "A.6"),
    ] {
        let cite = format!("see {ANNEX_PATH}, section {section} ({total} rows)");
        assert!(flat.contains(&cite), "{cite} in the report");
    }
    let alert_owners: std::collections::BTreeSet<&str> = i
        .alerts_by_owner_severity
        .iter()
        .map(|a| a.owner.as_str())
        .collect();
    let cite = format!(
        "more: see {ANNEX_PATH}, section A.5 ({} rows)",
        alert_owners.len()
    );
    assert!(flat.contains(&cite), "{cite} in the report");
    assert!(flat.contains("section A.7 EUR ("));
    assert!(flat.contains("1 more currency in executive/annex.pdf, section A.7"));
    let files = run_files(i);
    let checked = assert_counts_match_files(&flat, &flat_annex, &|p| files_rows(&files, p));
    assert!(
        checked >= 12,
        "{checked} file counts in the report and annex"
    );
    // The longest gaps lead, and a shortened owner list sums the rest in one row.
    let longest = executive::uncovered_in_reading_order(&i.uncovered_subscriptions);
    assert_eq!(longest[0].gap_days, 30);
    assert!(
        flat.contains(&longest[0].subscription_id),
        "the longest gap leads"
    );
    let others = alert_owners.len() - executive::TOP_ALERT_OWNERS;
    assert!(
        flat.contains(&format!("{others} other owners")),
        "the other owners' row"
    );
}

/// The demo run through the real CLI: the report and annex are published, listed in the
/// manifest, at most 6 pages, and every count the report gives for a file it names is the
/// row count the manifest records for that file (or the annex section's).
#[test]
fn the_demo_report_names_files_with_their_row_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = support::demo::publish(&out);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let rows: BTreeMap<String, Option<usize>> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rows"].as_u64().map(|r| r as usize),
            )
        })
        .collect();
    assert!(
        rows.contains_key(ANNEX_PATH),
        "the annex is in the manifest"
    );
    assert!(rows.contains_key("executive/executive-report.pdf"));
    let report = std::fs::read(run.join("executive/executive-report.pdf")).unwrap();
    let annex = std::fs::read(run.join(ANNEX_PATH)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (Some(text), Some(flat), Some(flat_annex)) = (
        pdftotext(&report, dir.path()),
        pdftotext_flat(&report, dir.path()),
        pdftotext_flat(&annex, dir.path()),
    ) else {
        eprintln!("SKIPPED text checks: pdftotext not found (apt-get install poppler-utils)");
        return;
    };
    assert!(pages(&text) <= MAX_REPORT_PAGES, "{} pages", pages(&text));
    // A CSV's rows are also counted from the file itself, not only taken from the manifest.
    let csv_rows = |p: &str| {
        csv::Reader::from_path(run.join(p))
            .unwrap()
            .records()
            .count()
    };
    let checked = assert_counts_match_files(&flat, &flat_annex, &|p| {
        let listed = rows.get(p).copied().flatten()?;
        if p.ends_with(".csv") {
            assert_eq!(csv_rows(p), listed, "{p}: manifest rows");
        }
        Some(listed)
    });
    assert!(
        checked >= 8,
        "{checked} file counts in the report and annex"
    );
}

/// Not a test: `bench/executive.sh` runs it to print pages and render time per tenant size
/// (`EXECUTIVE_BENCH_SIZES`, subscriptions; default 24 200 1000). The synthetic tenant is the
/// worst case for the report's length: every subscription is uncovered, with two unprotected
/// resources each.
#[test]
#[ignore]
fn bench_executive_sizes() {
    let sizes = std::env::var("EXECUTIVE_BENCH_SIZES").unwrap_or_else(|_| "24 200 1000".into());
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| subscriptions | uncovered / unprotected / MGs / showback owners | report pages | annex pages | render (both) | report | annex |"
    );
    println!("|---|---|---|---|---|---|---|");
    // Fonts and the typst library are parsed once per process. The warm-up renders another
    // input: typst memoises layouts, so rendering the measured input twice would time a cache.
    let _ = render(&input(1));
    for n in sizes
        .split_whitespace()
        .map(|s| s.parse::<usize>().unwrap())
    {
        let input = input(n);
        let t0 = Instant::now();
        let pdfs = render(&input);
        let elapsed = t0.elapsed();
        let count = |pdf: &[u8]| {
            pdftotext(pdf, dir.path())
                .map(|t| pages(&t).to_string())
                .unwrap_or_else(|| "?".into())
        };
        let owners: usize = input
            .kpis
            .showback
            .by_currency
            .values()
            .map(|o| o.len())
            .sum();
        println!(
            "| {n} | {} / {} / {} / {owners} | {} | {} | {:.2} s | {} KB | {} KB |",
            input.uncovered_subscriptions.len(),
            input.unprotected_resources.len(),
            input.coverage_by_management_group.len(),
            count(&pdfs.report),
            count(&pdfs.annex),
            elapsed.as_secs_f64(),
            pdfs.report.len() / 1024,
            pdfs.annex.len() / 1024
        );
    }
}

#[test]
fn derived_values() {
    let i = input(0);
    // Deltas: higher is better for rates, lower for minutes.
    assert_eq!(
        delta_text(Some(91.7), Some(("2026-10", Some(95.0))), 1, " pts", true),
        ("-3.3 pts vs 2026-10".to_string(), Some(false))
    );
    assert_eq!(
        delta_text(Some(22.3), Some(("2026-10", Some(24.8))), 1, " min", false),
        ("-2.5 min vs 2026-10".to_string(), Some(true))
    );
    assert_eq!(delta_text(Some(1.0), None, 1, "", true).1, None);
    assert_eq!(rate_status(Some(100.0), 100.0), Status::Green);
    assert_eq!(rate_status(Some(96.0), 100.0), Status::Amber);
    assert_eq!(rate_status(Some(91.7), 100.0), Status::Red);
    assert_eq!(rate_status(None, 100.0), Status::NoData);

    let eur = &i.kpis.showback.by_currency["EUR"];
    let pct = allocated_pct(eur).unwrap();
    assert!((pct - (1.0 - 845.125 / 16395.035) * 100.0).abs() < 1e-9);
    assert!((cost_per_protected_vcore(1432.8, 96).unwrap() - 14.925).abs() < 1e-9);
    assert_eq!(cost_per_protected_vcore(1432.8, 0), None);

    let risks = top_risks(&i);
    assert_eq!(risks[0].level, RiskLevel::Critical);
    assert!(
        risks[0].text.contains("aks-edge-batch (owner unknown)")
            || risks[0].text.contains("aks-edge-batch (team-edge)")
    );
    assert!(risks[0].text.contains("612.40 EUR"));
    assert_eq!(risks[1].headline, "Coverage gaps");
    assert!(risks[1].text.contains("Edge-Batch (team-edge)"));
    assert_eq!(risks[2].headline, "Unprotected resources");
    assert_eq!(risks[3].headline, "Overdue critical vulnerabilities");
    assert!(risks[3].text.contains("team-edge 2, platform 1"));
    assert_eq!(risks.last().unwrap().level, RiskLevel::Medium);

    let tiles = executive::tiles(&i);
    assert_eq!(tiles[0].value, "91.7%");
    assert_eq!(tiles[0].status, Status::Red);
    assert_eq!(tiles[1].status, Status::Green);
    assert_eq!(tiles[3].value, "5");
    assert_eq!(tiles[3].delta, "+2 vs 2026-10");
    assert_eq!(tiles[3].improved, Some(false));

    let check = check_defender_on_every_subscription(&i.kpis);
    assert_eq!(check.status, CheckStatus::Fail);
    assert_eq!(check_resources_tagged(&i.kpis).status, CheckStatus::Warn);
}

/// A first period with no history, nothing in scope, no alerts, no cost: every section says so
/// instead of failing.
#[test]
fn an_empty_first_period_renders() {
    let mut k = kpis("2026-02", 100.0, 10.0, 100.0, 0);
    k.snapshot_days_in_period.clear();
    k.snapshot_days_missing = vec![d("2026-02-01")];
    k.coverage = CoverageKpis {
        daily: vec![],
        month_end_date: None,
        month_end_rate: None,
        min_rate: None,
        mean_rate: None,
        gap_subscription_days: 0,
        gaps: vec![],
    };
    k.detection_latency = DetectionLatency {
        population: 0,
        overall: LatencyStats::default(),
        by_severity: BTreeMap::new(),
        negative_latency: vec![],
    };
    k.runtime_alerts = RuntimeAlerts {
        population: 0,
        high_total: 0,
        by_severity: BTreeMap::new(),
        high_by_owner: BTreeMap::new(),
    };
    k.remediation = Remediation {
        vulnerability_data: Default::default(),
        findings_total: 0,
        by_severity: BTreeMap::new(),
    };
    k.showback = ShowbackKpis::default();
    k.anomalies.clear();
    k.data_quality.clear();
    let input = ExecutiveInput {
        kpis: k,
        previous: vec![],
        targets: TargetConfig::default(),
        scope: "Empty tenant".into(),
        input_fingerprint: "00".repeat(32),
        sources: vec![],
        coverage_by_management_group: vec![],
        uncovered_subscriptions: vec![],
        unprotected_resources: vec![],
        alerts_by_owner_severity: vec![],
        overdue_critical_by_owner: vec![],
        container_spend: BTreeMap::new(),
        protected_vcores: 0,
        resource_owners: BTreeMap::new(),
        hardening: vec![],
        container_groups: GroupCount::default(),
        checklist: vec![],
    };
    let pdfs = render(&input);
    let pdf = pdfs.report;
    let dir = tempfile::tempdir().unwrap();
    let Some(text) = pdftotext(&pdf, dir.path()) else {
        eprintln!("SKIPPED text checks: pdftotext not found (apt-get install poppler-utils)");
        return;
    };
    assert!(text.contains("February 2026"));
    assert!(text.contains("n/a"));
    assert!(text.contains("no earlier period to compare"));
    assert!(text.contains("No cost spike, coverage gap"));
}
