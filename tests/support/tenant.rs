//! The small hand-made tenant the evidence and OSCAL tests share: three snapshot days of
//! every dataset, built through the job's own contracts, and the KPIs computed over them.
#![allow(dead_code)] // each test binary uses a subset

use chrono::NaiveDate;
use defender_ledger::history::{
    DatasetRecord, SnapshotDays, SnapshotMarker, Snapshots, with_date_column,
};
use defender_ledger::kpi::detection::DetectionResult;
use defender_ledger::kpi::state::HistoryState;
use defender_ledger::kpi::vulnerabilities::VulnerabilityResult;
use defender_ledger::kpi::{self, Parameters};
use defender_ledger::model::{DATASETS, contract, rows_to_frame};
use defender_ledger::period::Period;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The report period of the fixture.
pub const OCT: Period = Period {
    year: 2026,
    month: 10,
};

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Rows per dataset per day.
pub type Tenant = BTreeMap<&'static str, BTreeMap<&'static str, Vec<Value>>>;

// ---------------------------------------------------------------------------------------------
// A small tenant: three snapshot days (09-30, 10-01, 10-02), the rest of October missing.
//
// Subscription a: Enabled, owner tag on the subscription, compliant every day; one AKS cluster
//   with Defender on and its own owner tag, one Arc cluster without the extension.
// Subscription b: Enabled, no tags, one registry; ContainerSensor off on 10-01 (a one-day gap),
//   compliant on 09-30 and 10-02.
// Subscription c: Disabled, no resources (never in scope).

pub fn sub(id: &str, state: &str, tags: Value) -> Value {
    json!({"subscriptionId": id, "subscriptionName": format!("Sub {id}"), "tenantId": "t", "state": state,
           "managementGroups": [{"name": "mg-prod", "displayName": "Production"}], "tags": tags})
}

pub fn plan(sub: &str, sensor: &str) -> Value {
    json!({"subscriptionId": sub, "plan": "Containers", "pricingTier": "Standard", "subPlan": null,
           "enablementTime": "2026-01-01T00:00:00Z", "deprecated": false,
           "extensions": [
               {"name": "ContainerSensor", "isEnabled": sensor},
               {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
               {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"}]})
}

pub const AKS_ID: &str =
    "/subscriptions/a/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1";
pub const ACR_ID: &str =
    "/subscriptions/b/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr1";

pub fn aks() -> Value {
    json!({"id": AKS_ID, "name": "aks1", "subscriptionId": "a", "resourceGroup": "rg", "location": "westeurope",
           "tags": {"Owner": "Payments"}, "kubernetesVersion": "1.30.5", "powerState": "Running",
           "nodeResourceGroup": "MC_rg_aks1", "agentPools": [{"name": "sys", "count": 2, "vmSize": "Standard_D4s_v5", "mode": "System"}],
           "defenderEnabled": true, "enableRBAC": true, "aadManaged": true, "networkPolicy": null, "azurePolicyEnabled": true})
}

pub fn acr() -> Value {
    json!({"id": ACR_ID, "name": "acr1", "subscriptionId": "b", "resourceGroup": "rg", "location": "westeurope",
           "tags": null, "sku": "Premium", "adminUserEnabled": false, "publicNetworkAccess": "Enabled"})
}

pub fn arc() -> Value {
    json!({"id": "/subscriptions/a/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/arc1",
           "name": "arc1", "subscriptionId": "a", "resourceGroup": "rg", "location": "westeurope", "tags": null,
           "distribution": "k3s", "kubernetesVersion": "1.29.0", "totalCoreCount": 8, "totalNodeCount": 2,
           "connectivityStatus": "Connected", "defenderExtensionState": null})
}

pub fn alert(id: &str, alert_type: &str, sev: &str, start: &str, generated: &str) -> Value {
    json!({"id": format!("/alerts/{id}"), "systemAlertId": id, "subscriptionId": "a", "alertType": alert_type,
           "displayName": "x", "severity": sev, "status": "Active", "intent": "Execution",
           "startTimeUtc": start, "timeGeneratedUtc": generated, "resourceId": AKS_ID, "compromisedEntity": "aks1"})
}

pub fn finding(digest: &str, cve: &str, sev: &str, status: &str) -> Value {
    json!({"id": format!("/a/{digest}/{cve}"), "subscriptionId": "b", "resourceId": ACR_ID, "source": "registry",
           "registryHost": "acr1.azurecr.io", "repository": "app", "imageDigest": digest, "cveId": cve, "severity": sev,
           "cvssScore": 9.8, "fixStatus": "FixAvailable", "statusCode": status, "timeGenerated": "2026-10-01T00:00:00Z"})
}

pub fn policy(sub: &str, assignment: Option<&str>, state: &str) -> Value {
    json!({"subscriptionId": sub, "resourceId": format!("/subscriptions/{sub}"),
           "policyAssignmentId": assignment.map(|a| format!("/providers/Microsoft.Management/managementGroups/mg-prod/providers/Microsoft.Authorization/policyAssignments/{a}")),
           "policyAssignmentScope": "/providers/Microsoft.Management/managementGroups/mg-prod",
           "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/1c988dd6-ade4-430f-a608-2a3e5b0a6d38",
           "policyDefinitionAction": "auditifnotexists", "complianceState": state, "timestamp": "2026-10-01T03:00:00Z"})
}

/// The tenant described above, as rows per dataset per day.
pub fn tenant() -> Tenant {
    let days = ["2026-09-30", "2026-10-01", "2026-10-02"];
    let mut t: BTreeMap<&str, BTreeMap<&str, Vec<Value>>> = BTreeMap::new();
    for day in days {
        let mut put = |ds: &'static str, rows: Vec<Value>| {
            t.entry(ds).or_default().insert(day, rows);
        };
        put(
            "subscriptions",
            vec![
                sub("a", "Enabled", json!({"owner": "platform"})),
                sub("b", "Enabled", Value::Null),
                sub("c", "Disabled", Value::Null),
            ],
        );
        let b_sensor = if day == "2026-10-01" { "False" } else { "True" };
        put(
            "defender_plans",
            vec![plan("a", "True"), plan("b", b_sensor)],
        );
        put("aks_clusters", vec![aks()]);
        put("container_registries", vec![acr()]);
        put("arc_clusters", vec![arc()]);
        let mut alerts = vec![];
        if day == "2026-09-30" {
            // Generated in September: outside the period.
            alerts.push(alert(
                "s1",
                "K8S.NODE_Miner",
                "High",
                "2026-09-29T10:00:00Z",
                "2026-09-29T10:05:00Z",
            ));
        }
        if day != "2026-09-30" {
            // Listed on two snapshots: the latest wins, the earlier row is an exclusion.
            alerts.push(alert(
                "a1",
                "K8S.NODE_Miner",
                "High",
                "2026-10-01T08:00:00Z",
                "2026-10-01T08:12:00Z",
            ));
            // Not a container alert type.
            alerts.push(alert(
                "v1",
                "VM_Bruteforce",
                "Medium",
                "2026-10-01T09:00:00Z",
                "2026-10-01T09:01:00Z",
            ));
        }
        if day == "2026-10-02" {
            // Negative latency: in the population, excluded from the statistics.
            alerts.push(alert(
                "n1",
                "K8S_Privileged",
                "Low",
                "2026-10-02T10:00:00Z",
                "2026-10-02T09:58:00Z",
            ));
        }
        put("security_alerts", alerts);
        let mut v = vec![];
        if day != "2026-10-02" {
            // Seen 09-30 and 10-01, gone on 10-02 while the registry is protected: resolved.
            v.push(finding(
                "sha256:d1",
                "CVE-2026-0001",
                "Critical",
                "Unhealthy",
            ));
        }
        v.push(finding("sha256:d2", "CVE-2026-0002", "High", "Unhealthy"));
        v.push(finding("sha256:d3", "CVE-2026-0003", "Low", "Healthy"));
        put("vulnerabilities", v);
        put(
            "policy_states",
            vec![
                policy("a", Some("mdc-containers-audit"), "Compliant"),
                policy(
                    "b",
                    Some("mdc-containers-audit"),
                    if day == "2026-10-01" {
                        "NonCompliant"
                    } else {
                        "Compliant"
                    },
                ),
                policy("c", Some("mdc-containers-audit"), "Exempt"),
                policy("c", None, "Compliant"),
            ],
        );
    }
    t
}

/// Snapshots (frames and markers) of the rows `t` (see `tenant()`); `extra_reported` adds to
/// one dataset's totalRecords on one day, as if Resource Graph had reported rows that were not
/// stored; `query_sha256` gives the query hash each dataset's markers record.
pub fn snapshots_of(
    t: Tenant,
    extra_reported: Option<(&str, &str, i64)>,
    query_sha256: fn(&str) -> String,
) -> Snapshots {
    let mut frames = BTreeMap::new();
    let mut markers: BTreeMap<&str, SnapshotMarker> = BTreeMap::new();
    for c in DATASETS {
        let mut out = with_date_column(c.empty_frame(), None);
        for (day, rows) in t.get(c.dataset).cloned().unwrap_or_default() {
            let df = rows_to_frame(contract(c.dataset).unwrap(), &rows, "fixture", 0).unwrap();
            out.vstack_mut(&with_date_column(df, Some(d(day)))).unwrap();
            let extra = match extra_reported {
                Some((ds, dd, n)) if ds == c.dataset && dd == day => n,
                _ => 0,
            };
            markers
                .entry(day)
                .or_insert_with(|| SnapshotMarker {
                    date: d(day),
                    run_id: format!("{}T010000Z", day.replace('-', "")),
                    source: "fixture".into(),
                    datasets: BTreeMap::new(),
                })
                .datasets
                .insert(
                    c.dataset.to_string(),
                    DatasetRecord {
                        rows: rows.len(),
                        total_records: rows.len() as i64 + extra,
                        pages: 1,
                        origin: format!("queries/{}.kql", c.dataset),
                        query_sha256: Some(query_sha256(c.dataset)),
                    },
                );
        }
        frames.insert(c.dataset.to_string(), out);
    }
    let mut snap = Snapshots::from_frames(frames).unwrap();
    snap.markers = markers.into_values().collect();
    snap
}

pub struct Computed {
    pub history: HistoryState,
    pub params: Parameters,
    pub detection: DetectionResult,
    pub vulns: VulnerabilityResult,
}

pub fn compute(snap: &dyn SnapshotDays) -> Computed {
    let params = Parameters::default();
    let history = HistoryState::of(snap, &params, OCT).unwrap();
    let ledger = &history.coverage.ledger;
    let detection = kpi::detection::compute(&history.alerts, ledger, &params, OCT).unwrap();
    let vulns = kpi::vulnerabilities::compute(&history.findings, ledger, &params, OCT).unwrap();
    Computed {
        history,
        params,
        detection,
        vulns,
    }
}
