//! The executive PDF: renders, is byte-identical for identical inputs, paginates a large tenant,
//! and every number a reader sees equals `kpis.json` and the CSV rounding (checked on the text
//! poppler extracts).

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
use defender_ledger::kpi::*;
use defender_ledger::render::pdf::executive::{self, delta_text};
use defender_ledger::render::pdf::{render_executive, render_executive_with_warnings};

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

fn input(subscriptions: usize) -> ExecutiveInput {
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
            reason: "ContainerSensor extension off".into(),
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
    let path = dir.join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .ok()?;
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

fn pages(text: &str) -> usize {
    text.matches('\u{c}').count().max(1)
}

#[test]
fn renders_identically_and_every_number_matches_kpis() {
    let input = input(0);
    let t0 = Instant::now();
    let pdf = render_executive(&input).unwrap();
    eprintln!("small report: {} bytes in {:?}", pdf.len(), t0.elapsed());
    assert!(pdf.starts_with(b"%PDF-"));
    let (_, warnings) = render_executive_with_warnings(&input).unwrap();
    assert!(warnings.is_empty(), "layout warnings: {warnings:?}");
    assert_eq!(
        pdf,
        render_executive(&input).unwrap(),
        "identical input, identical bytes"
    );
    if std::env::var_os("EXECUTIVE_PDF_OUT").is_some() {
        std::fs::write(std::env::var("EXECUTIVE_PDF_OUT").unwrap(), &pdf).unwrap();
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
    assert_fonts_embedded(&pdf, dir.path());
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
fn a_thousand_subscription_tenant_paginates_and_renders_fast() {
    let small = render_executive(&input(0)).unwrap();
    let big_input = input(1000);
    let t0 = Instant::now();
    let big = render_executive(&big_input).unwrap();
    let elapsed = t0.elapsed();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!(
        "1,000-subscription report: {} bytes in {elapsed:?} ({profile} build)",
        big.len()
    );
    if let Some(path) = std::env::var_os("EXECUTIVE_PDF_BIG_OUT") {
        std::fs::write(path, &big).unwrap();
    }
    // Release target is under 2 s; debug builds only get a loose bound against hangs.
    let bound = if cfg!(debug_assertions) { 60.0 } else { 2.0 };
    assert!(elapsed.as_secs_f64() < bound, "took {elapsed:?}");

    let dir = tempfile::tempdir().unwrap();
    let (Some(small_text), Some(big_text)) =
        (pdftotext(&small, dir.path()), pdftotext(&big, dir.path()))
    else {
        eprintln!("SKIPPED text checks: pdftotext not found (apt-get install poppler-utils)");
        return;
    };
    let (small_pages, big_pages) = (pages(&small_text), pages(&big_text));
    assert!(
        big_pages > small_pages + 10,
        "{big_pages} vs {small_pages} pages"
    );
    let absent: Vec<&str> = big_input
        .uncovered_subscriptions
        .iter()
        .map(|s| s.subscription_id.as_str())
        .filter(|id| !big_text.contains(id))
        .collect();
    assert!(
        absent.is_empty(),
        "{} ids missing: {absent:?}",
        absent.len()
    );
    assert!(big_text.contains(&format!("Page {big_pages} of {big_pages}")));
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
        checklist: vec![],
    };
    let pdf = render_executive(&input).unwrap();
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
