//! Every KPI against a small hand-made fixture. Expected values are worked out by hand in the
//! comments beside each assertion, from the definitions in DESIGN.md.

use chrono::NaiveDate;
use defender_ledger::history::{Snapshots, with_date_column};
use defender_ledger::kpi::coverage::CoverageResult;
use defender_ledger::kpi::resource_days::{self, ResourceLedger};
use defender_ledger::kpi::state::HistoryState;
use defender_ledger::kpi::{self, Parameters};
use defender_ledger::model::{contract, rows_to_frame};
use defender_ledger::period::Period;
use polars::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// One dataset's snapshots: `(day, rows)` pairs validated through the real contract.
fn snapshots_of(dataset: &str, days: &[(&str, Vec<Value>)]) -> DataFrame {
    let c = contract(dataset).unwrap();
    let mut out = with_date_column(c.empty_frame(), None);
    for (day, rows) in days {
        let df = rows_to_frame(c, rows, "fixture", 0).unwrap();
        out.vstack_mut(&with_date_column(df, Some(d(day)))).unwrap();
    }
    out
}

fn snaps(frames: Vec<(&str, DataFrame)>) -> Snapshots {
    Snapshots::from_frames(
        frames
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
    .unwrap()
}

/// Coverage of `snap` with the given subscription tags, and its resource-days as a table.
fn coverage(
    snap: &Snapshots,
    params: &Parameters,
    tags: BTreeMap<String, Option<String>>,
) -> (CoverageResult, DataFrame) {
    let h = HistoryState::with_tags(snap, params, OCT, tags).unwrap();
    let table = resource_days::to_frame(&h.coverage.resource_days).unwrap();
    (h.coverage, table)
}

fn approx(a: Option<f64>, b: f64) {
    let a = a.expect("a value");
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

const OCT: Period = Period {
    year: 2026,
    month: 10,
};

// ---------------------------------------------------------------------------------------------
// Coverage

fn sub(id: &str, state: &str, tags: Value) -> Value {
    json!({"subscriptionId": id, "subscriptionName": format!("Sub {id}"), "tenantId": "t", "state": state,
           "managementGroups": [{"name": "mg-prod", "displayName": "Production"}, {"name": "t", "displayName": "Tenant Root Group"}],
           "tags": tags})
}

fn plan(sub: &str, tier: &str, sensor: &str, discovery: &str, va: &str) -> Value {
    json!({"subscriptionId": sub, "plan": "Containers", "pricingTier": tier, "subPlan": null,
           "enablementTime": "2026-01-01T00:00:00.0000000Z", "deprecated": false,
           "extensions": [
               {"name": "ContainerSensor", "isEnabled": sensor},
               {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": discovery, "additionalExtensionProperties": null},
               {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": va}]})
}

fn aks(sub: &str, name: &str, defender: Value, tags: Value) -> Value {
    json!({"id": format!("/subscriptions/{sub}/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"),
           "name": name, "subscriptionId": sub, "resourceGroup": "rg", "location": "westeurope", "tags": tags,
           "kubernetesVersion": "1.30.5", "powerState": "Running", "nodeResourceGroup": format!("MC_rg_{name}_westeurope"),
           "agentPools": [{"name": "sys", "count": 2, "vmSize": "Standard_D4s_v5", "mode": "System"}],
           "defenderEnabled": defender, "enableRBAC": true, "aadManaged": true, "networkPolicy": null, "azurePolicyEnabled": true})
}

fn acr(sub: &str, name: &str) -> Value {
    json!({"id": format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/{name}"),
           "name": name, "subscriptionId": sub, "resourceGroup": "rg", "location": "westeurope", "tags": null,
           "sku": "Premium", "adminUserEnabled": false, "publicNetworkAccess": "Enabled"})
}

fn arc(sub: &str, name: &str, state: Value) -> Value {
    json!({"id": format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/{name}"),
           "name": name, "subscriptionId": sub, "resourceGroup": "rg", "location": "westeurope", "tags": null,
           "distribution": "k3s", "kubernetesVersion": "1.29.0", "totalCoreCount": 16, "totalNodeCount": 4,
           "connectivityStatus": "Connected", "defenderExtensionState": state})
}

/// Days 09-30, 10-01, 10-02, 10-04 (10-03 has no snapshot).
/// A: Enabled, one AKS with Defender on, plan Standard with every extension: compliant.
/// B: Enabled, one registry; ContainerSensor "false" on 09-30 and 10-01, every flag "TRUE" on
///    10-02 (case-insensitive), pricingTier Free on 10-04.
/// C: Enabled, no container resources: out of scope.
/// D: Disabled, one AKS with Defender on: out of scope, never protected.
/// E: Enabled, one Arc cluster without the extension, no Containers plan row: non-compliant.
fn coverage_fixture() -> Snapshots {
    let days = ["2026-09-30", "2026-10-01", "2026-10-02", "2026-10-04"];
    let b_plan = |day: &str| match day {
        "2026-10-02" => plan("b", "Standard", "TRUE", "TRUE", "TRUE"),
        "2026-10-04" => plan("b", "Free", "True", "True", "True"),
        _ => plan("b", "Standard", "false", "True", "True"),
    };
    let per_day =
        |f: &dyn Fn(&str) -> Vec<Value>| days.iter().map(|day| (*day, f(day))).collect::<Vec<_>>();
    snaps(vec![
        (
            "subscriptions",
            snapshots_of(
                "subscriptions",
                &per_day(&|_| {
                    vec![
                        sub("a", "Enabled", json!({"owner": "Team-A"})),
                        sub("b", "Enabled", json!(null)),
                        sub("c", "Enabled", json!(null)),
                        sub("d", "Disabled", json!(null)),
                        sub("e", "Enabled", json!({"team": "edge"})),
                    ]
                }),
            ),
        ),
        (
            "defender_plans",
            snapshots_of(
                "defender_plans",
                &per_day(&|day| {
                    vec![
                        plan("a", "Standard", "True", "True", "True"),
                        b_plan(day),
                        plan("c", "Standard", "True", "True", "True"),
                        plan("d", "Standard", "True", "True", "True"),
                    ]
                }),
            ),
        ),
        (
            "aks_clusters",
            snapshots_of(
                "aks_clusters",
                &per_day(&|_| {
                    vec![
                        aks("a", "aks-a", json!(true), json!(null)),
                        aks("d", "aks-d", json!(true), json!(null)),
                    ]
                }),
            ),
        ),
        (
            "container_registries",
            snapshots_of(
                "container_registries",
                &per_day(&|_| vec![acr("b", "acrb")]),
            ),
        ),
        (
            "arc_clusters",
            snapshots_of(
                "arc_clusters",
                &per_day(&|_| vec![arc("e", "arc-e", json!(null))]),
            ),
        ),
    ])
}

#[test]
fn coverage_daily_rates_gaps_and_protection() {
    let snap = coverage_fixture();
    let params = Parameters::default();
    let (r, resource_days) = coverage(&snap, &params, BTreeMap::new());
    let k = &r.kpis;
    // Period snapshot days: 10-01, 10-02, 10-04 (09-30 is history, 10-03 missing).
    let dates: Vec<_> = k.daily.iter().map(|x| x.date.to_string()).collect();
    assert_eq!(dates, ["2026-10-01", "2026-10-02", "2026-10-04"]);
    // In scope every day: A, B, E (C holds nothing, D is Disabled) = 3.
    assert!(k.daily.iter().all(|x| x.in_scope == 3));
    // Compliant: 10-01 A; 10-02 A, B; 10-04 A.
    assert_eq!(
        k.daily.iter().map(|x| x.compliant).collect::<Vec<_>>(),
        [1, 2, 1]
    );
    approx(k.daily[0].rate, 100.0 / 3.0);
    approx(k.daily[1].rate, 200.0 / 3.0);
    assert_eq!(k.month_end_date, Some(d("2026-10-04")));
    approx(k.month_end_rate, 100.0 / 3.0);
    approx(k.min_rate, 100.0 / 3.0);
    // Mean of 33.33, 66.67, 33.33 = 44.44.
    approx(k.mean_rate, (100.0 / 3.0 + 200.0 / 3.0 + 100.0 / 3.0) / 3.0);
    // Σ (in scope − compliant) = 2 + 1 + 2.
    assert_eq!(k.gap_subscription_days, 5);

    // Gaps: B 09-30..10-01 clipped to 10-01 (continues), B 10-04 (open), E 09-30..10-04
    // clipped to 10-01..10-04 over 3 snapshot days (continues, open).
    let gaps: Vec<_> = k
        .gaps
        .iter()
        .map(|g| {
            (
                g.subscriptionId.as_str(),
                g.start.to_string(),
                g.end.to_string(),
                g.days,
                g.continues_from_previous_period,
                g.open_at_period_end,
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [
            (
                "b",
                "2026-10-01".into(),
                "2026-10-01".into(),
                1,
                true,
                false
            ),
            ("e", "2026-10-01".into(), "2026-10-04".into(), 3, true, true),
            (
                "b",
                "2026-10-04".into(),
                "2026-10-04".into(),
                1,
                false,
                true
            ),
        ]
    );
    assert_eq!(
        k.gaps.iter().map(|g| g.days).sum::<i64>(),
        k.gap_subscription_days
    );

    // Resources on 10-02: AKS a protected, AKS d not (Disabled sub); registry protected (B
    // compliant); Arc not (no extension). On 10-04 the registry is unprotected again.
    let day2 = &k.daily[1];
    assert_eq!(
        (
            day2.aks_total,
            day2.aks_protected,
            day2.arc_total,
            day2.arc_protected
        ),
        (2, 1, 1, 0)
    );
    assert_eq!((day2.registries_total, day2.registries_protected), (1, 1));
    assert_eq!(
        (k.daily[2].registries_total, k.daily[2].registries_protected),
        (1, 0)
    );

    // vCores: 2 nodes × 4 vCPUs; owner from cluster tags then subscription tags.
    let rd = resource_days.filter(&resource_days.column("id_lower").unwrap().str().unwrap().equal("/subscriptions/a/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks-a")).unwrap();
    assert_eq!(rd.column("vcores").unwrap().i64().unwrap().get(0), Some(8));
}

#[test]
fn coverage_owner_falls_back_to_subscription_tags() {
    let snap = coverage_fixture();
    let tags = BTreeMap::from([("a".to_string(), Some(r#"{"Owner":" Team-A "}"#.to_string()))]);
    let (_, resource_days) = coverage(&snap, &Parameters::default(), tags);
    let owners: Vec<_> = defender_ledger::frame::strs(&resource_days, "owner").unwrap();
    let kinds: Vec<_> = defender_ledger::frame::strs(&resource_days, "name").unwrap();
    let of = |name: &str| {
        owners[kinds
            .iter()
            .position(|k| k.as_deref() == Some(name))
            .unwrap()]
        .clone()
        .unwrap()
    };
    assert_eq!(of("aks-a"), "team-a");
    assert_eq!(of("acrb"), "unallocated");
}

#[test]
fn extension_verdicts_are_case_insensitive_and_absent_is_non_compliant() {
    let req: Vec<String> = Parameters::default().required_extensions;
    let all_true = r#"[{"name":"ContainerSensor","isEnabled":"TRUE"},{"name":"AgentlessDiscoveryForKubernetes","isEnabled":"true"},{"name":"ContainerRegistriesVulnerabilityAssessments","isEnabled":"True","x":1}]"#;
    assert!(kpi::coverage::extensions_verdict(Some(all_true), &req).0);
    let one_missing = r#"[{"name":"ContainerSensor","isEnabled":"True"},{"name":"AgentlessDiscoveryForKubernetes","isEnabled":"True"}]"#;
    let (ok, why) = kpi::coverage::extensions_verdict(Some(one_missing), &req);
    assert!(!ok);
    assert!(why.contains("ContainerRegistriesVulnerabilityAssessments absent"));
    assert!(!kpi::coverage::extensions_verdict(None, &req).0);
}

// ---------------------------------------------------------------------------------------------
// Detection latency and high-severity alerts

fn alert(
    id: &str,
    alert_type: &str,
    sev: &str,
    status: &str,
    start: &str,
    generated: &str,
    resource: &str,
) -> Value {
    json!({"id": format!("/alerts/{id}"), "systemAlertId": id, "subscriptionId": "a", "alertType": alert_type,
           "displayName": "x", "severity": sev, "status": status, "intent": "Execution",
           "startTimeUtc": start, "timeGeneratedUtc": generated, "resourceId": resource, "compromisedEntity": "c"})
}

#[test]
fn detection_latency_population_and_owners() {
    let cluster_a = "/subscriptions/a/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-a";
    let cluster_a_other_case = "/subscriptions/a/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-a";
    let cov = coverage_fixture();
    let mut frames = cov.frames.clone();
    frames.insert(
        "security_alerts".into(),
        snapshots_of(
            "security_alerts",
            &[
                (
                    "2026-10-01",
                    vec![
                        // a1 as first seen: Active (the later snapshot says Resolved and wins).
                        alert(
                            "a1",
                            "K8S_X",
                            "High",
                            "Active",
                            "2026-10-01T00:00:00Z",
                            "2026-10-01T00:10:00Z",
                            cluster_a,
                        ),
                        // a7: generated the second before the period starts.
                        alert(
                            "a7",
                            "K8S_Old",
                            "High",
                            "Active",
                            "2026-09-30T23:00:00Z",
                            "2026-09-30T23:59:59Z",
                            cluster_a,
                        ),
                    ],
                ),
                (
                    "2026-10-02",
                    vec![
                        alert(
                            "a1",
                            "K8S_X",
                            "High",
                            "Resolved",
                            "2026-10-01T00:00:00Z",
                            "2026-10-01T00:10:00Z",
                            cluster_a,
                        ),
                        alert(
                            "a2",
                            "K8S_Y",
                            "Medium",
                            "Active",
                            "2026-10-02T00:00:00Z",
                            "2026-10-02T00:30:00Z",
                            cluster_a,
                        ),
                        // 60.5 minutes, 7 fractional digits, resource id in another letter case.
                        alert(
                            "a3",
                            "K8S_Z",
                            "High",
                            "Active",
                            "2026-10-02T01:00:00.0000000Z",
                            "2026-10-02T02:00:30.0000000Z",
                            cluster_a_other_case,
                        ),
                        // Generated 2 minutes before it started: listed, excluded from latency, counted as High.
                        alert(
                            "a4",
                            "K8S_W",
                            "High",
                            "Active",
                            "2026-10-02T05:00:00Z",
                            "2026-10-02T04:58:00Z",
                            "/subscriptions/z/unknown",
                        ),
                        // Not container alerts: other prefix, and the prefix is case-sensitive.
                        alert(
                            "a5",
                            "VM_Foo",
                            "High",
                            "Active",
                            "2026-10-02T00:00:00Z",
                            "2026-10-02T00:05:00Z",
                            cluster_a,
                        ),
                        alert(
                            "a6",
                            "k8s_lower",
                            "High",
                            "Active",
                            "2026-10-02T00:00:00Z",
                            "2026-10-02T00:05:00Z",
                            cluster_a,
                        ),
                    ],
                ),
                (
                    "2026-10-04",
                    vec![
                        // Generated at the exclusive end of the period.
                        alert(
                            "a8",
                            "K8S_Late",
                            "Low",
                            "Active",
                            "2026-10-31T23:00:00Z",
                            "2026-11-01T00:00:00Z",
                            cluster_a,
                        ),
                    ],
                ),
            ],
        ),
    );
    let snap = Snapshots::from_frames(frames).unwrap();
    let params = Parameters::default();
    let tags = BTreeMap::from([("a".to_string(), Some(r#"{"owner":"Team-A"}"#.to_string()))]);
    let h = HistoryState::with_tags(&snap, &params, OCT, tags).unwrap();
    let r = kpi::detection::compute(&h.alerts, &h.coverage.ledger, &params, OCT).unwrap();

    // Population a1, a2, a3, a4.
    assert_eq!(r.latency.population, 4);
    // Latencies 10, 30, 60.5 (a4's −2 excluded): median 30, mean 100.5 / 3 = 33.5,
    // p90 at rank ⌈0.9 × 3⌉ = 3 → 60.5.
    assert_eq!(r.latency.overall.count, 3);
    approx(r.latency.overall.median, 30.0);
    approx(r.latency.overall.mean, 33.5);
    approx(r.latency.overall.p90, 60.5);
    // High: [10, 60.5] → median 35.25, p90 rank ⌈1.8⌉ = 2 → 60.5. Medium: [30].
    let high = &r.latency.by_severity["High"];
    assert_eq!(high.count, 2);
    approx(high.median, 35.25);
    approx(high.p90, 60.5);
    approx(r.latency.by_severity["Medium"].median, 30.0);
    assert_eq!(r.latency.negative_latency.len(), 1);
    assert_eq!(r.latency.negative_latency[0].systemAlertId, "a4");
    approx(Some(r.latency.negative_latency[0].latency_minutes), -2.0);

    // High count includes the negative-latency a4: a1, a3, a4 = 3; owners: a1 and a3 on
    // aks-a (subscription tag owner Team-A), a4 on an unknown cluster.
    assert_eq!(r.alerts.high_total, 3);
    assert_eq!(r.alerts.by_severity["Medium"], 1);
    assert_eq!(
        r.alerts.high_by_owner,
        BTreeMap::from([("team-a".into(), 2), ("unallocated".into(), 1)])
    );
    // The latest snapshot wins: a1 is Resolved.
    let statuses = defender_ledger::frame::strs(&r.population, "status").unwrap();
    let ids = defender_ledger::frame::strs(&r.population, "systemAlertId").unwrap();
    assert_eq!(
        statuses[ids.iter().position(|i| i.as_deref() == Some("a1")).unwrap()].as_deref(),
        Some("Resolved")
    );
}

// ---------------------------------------------------------------------------------------------
// Vulnerability remediation

fn finding(digest: &str, cve: &str, sev: &str, status: &str, resource: &str) -> Value {
    json!({"id": format!("/a/{digest}/{cve}"), "subscriptionId": "a", "resourceId": resource, "source": "registry",
           "registryHost": "r.azurecr.io", "repository": "app", "imageDigest": digest, "cveId": cve, "severity": sev,
           "cvssScore": 9.8, "fixStatus": "FixAvailable", "statusCode": status, "timeGenerated": "2026-10-01T00:00:00.0000000Z"})
}

/// resource_days for two registries: R always protected; U unprotected on 10-05 and 10-10.
fn registry_days(days: &[&str]) -> DataFrame {
    let mut date = vec![];
    let mut id = vec![];
    let mut prot = vec![];
    for day in days {
        for r in ["/r", "/u"] {
            date.push(Some(d(day)));
            id.push(r);
            prot.push(!(r == "/u" && (*day == "2026-10-05" || *day == "2026-10-10")));
        }
    }
    let n = id.len();
    defender_ledger::frame::frame(vec![
        defender_ledger::frame::date_column("snapshot_date", &date),
        Column::new("kind".into(), vec!["registry"; n]),
        Column::new("id".into(), id.clone()),
        Column::new("id_lower".into(), id),
        Column::new("owner".into(), vec!["team-a"; n]),
        Column::new("protected".into(), prot),
    ])
    .unwrap()
}

#[test]
fn remediation_rates_per_severity() {
    let days = [
        "2026-09-01",
        "2026-09-10",
        "2026-09-20",
        "2026-10-01",
        "2026-10-05",
        "2026-10-10",
        "2026-10-20",
        "2026-10-31",
    ];
    let rows = |day: &str| -> Vec<Value> {
        let mut v = vec![];
        let on = |from: &str, to: &str| day >= from && day <= to;
        // f1 Critical on R: 09-20..10-01, gone 10-05 → resolved 10-05 = due (09-20 + 15) → on time, 15 days.
        if on("2026-09-20", "2026-10-01") {
            v.push(finding("d1", "CVE-1", "Critical", "Unhealthy", "/r"));
        }
        // f2 Critical on R: 10-01..10-10, Healthy on 10-20 → resolved 10-20 > due 10-16 → late, 19 days.
        if on("2026-10-01", "2026-10-10") {
            v.push(finding("d2", "CVE-2", "Critical", "Unhealthy", "/r"));
        }
        if day == "2026-10-20" {
            v.push(finding("d2", "CVE-2", "Critical", "Healthy", "/r"));
        }
        // f3 Critical on U: 10-01 only; U unprotected 10-05 and 10-10, so resolved 10-20 → late, 19 days.
        if day == "2026-10-01" {
            v.push(finding("d3", "CVE-3", "Critical", "Unhealthy", "/U"));
        }
        // f4 Critical on R: every day from the first ever (left-censored), open; due 09-16.
        v.push(finding("d4", "CVE-4", "Critical", "Unhealthy", "/r"));
        // f5 High on R: 09-01..09-10 (left-censored), resolved 09-20 ≤ due 10-01 → on time.
        if on("2026-09-01", "2026-09-10") {
            v.push(finding("d5", "CVE-5", "High", "Unhealthy", "/r"));
        }
        // f6 High on R: 10-20, NotApplicable 10-31 → resolved 10-31 (11 days); due 11-19.
        if day == "2026-10-20" {
            v.push(finding("d6", "CVE-6", "High", "Unhealthy", "/r"));
        }
        if day == "2026-10-31" {
            v.push(finding("d6", "CVE-6", "High", "NotApplicable", "/r"));
        }
        // f7 Low: only ever Healthy → not a finding.
        v.push(finding("d7", "CVE-7", "Low", "Healthy", "/r"));
        // f8 Medium on R: 10-10.. open, due 2027-01-08.
        if on("2026-10-10", "2026-10-31") {
            v.push(finding("d8", "CVE-8", "Medium", "Unhealthy", "/r"));
        }
        // f9 Informational: no SLA configured → no due date.
        if day == "2026-10-31" {
            v.push(finding("d9", "CVE-9", "Informational", "Unhealthy", "/r"));
        }
        v
    };
    let snap = snaps(vec![(
        "vulnerabilities",
        snapshots_of(
            "vulnerabilities",
            &days.iter().map(|day| (*day, rows(day))).collect::<Vec<_>>(),
        ),
    )]);
    let params = Parameters::default();
    let state = kpi::vulnerabilities::FindingState::of(&snap).unwrap();
    let ledger = ResourceLedger::of_rows(&resource_days::decode(&registry_days(&days)).unwrap());
    let r = kpi::vulnerabilities::compute(&state, &ledger, &params, OCT).unwrap();
    let k = &r.kpis;
    assert_eq!(k.findings_total, 8);

    let c = &k.by_severity["Critical"];
    // Due in October: f1 (10-05), f2 (10-16), f3 (10-16); on time: f1 → 1/3.
    assert_eq!((c.due_in_period, c.resolved_on_time), (3, 1));
    approx(c.rate, 100.0 / 3.0);
    assert_eq!(c.left_censored_due, 0);
    // Resolved in October: f1 (15 d), f2 (19 d), f3 (19 d) → median 19.
    assert_eq!(c.resolved_in_period, 3);
    approx(c.median_days_to_resolve, 19.0);
    // f4 open, due 09-16 < 11-01.
    assert_eq!(c.open_past_due_at_period_end, 1);

    let h = &k.by_severity["High"];
    // f5 due 10-01, resolved 09-20: on time, left-censored.
    assert_eq!(
        (h.due_in_period, h.resolved_on_time, h.left_censored_due),
        (1, 1, 1)
    );
    approx(h.rate, 100.0);
    // f6 resolved 10-31 after 11 days.
    assert_eq!(h.resolved_in_period, 1);
    approx(h.median_days_to_resolve, 11.0);
    assert_eq!(h.open_past_due_at_period_end, 0);

    let m = &k.by_severity["Medium"];
    assert_eq!(
        (m.due_in_period, m.rate, m.open_past_due_at_period_end),
        (0, None, 0)
    );
    assert_eq!(k.by_severity["Low"].due_in_period, 0);
    let i = &k.by_severity["Informational"];
    assert_eq!((i.due_in_period, i.open_past_due_at_period_end), (0, 0));
}
