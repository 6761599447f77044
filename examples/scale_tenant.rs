//! A large tenant for `bench/scale.sh`: daily history written straight into an output store
//! (JSON pages for 200,000 vulnerability rows a day would be gigabytes), validated through the
//! job's own dataset contracts and history store, plus a FOCUS cost export in typed Parquet
//! (doubles and timestamps, as Azure writes it) for the report's month and the anomaly window
//! before it.
//!
//!   cargo run --release --example scale_tenant -- <out-dir> <days> [<last-day>]
//!   cargo run --release --example scale_tenant -- --pages <replay-dir> <day>
//!
//! `<out-dir>/history/...` is what `snapshot` would have written for `<days>` days ending on
//! `<last-day>` (default 2026-09-30); `<out-dir>/cost-exports/...` holds one export run,
//! `focus-scale`, from 14 days before the last day's month to its end. Everything derives from
//! the day and the object's index through a fixed hash, so reruns are identical. `--pages`
//! writes one day as Resource Graph response pages in the replay layout instead.
//!
//! Sizes (environment, defaults = the largest tenants the job is built for):
//! SCALE_SUBSCRIPTIONS 1000, SCALE_AKS 4200, SCALE_ARC 800, SCALE_REGISTRIES 1500,
//! SCALE_IMAGES 28000 (about 7 CVE rows each: 200,000 vulnerability rows a day),
//! SCALE_ALERTS 150 (new alerts a day, each listed for 30 days),
//! SCALE_COST_ROWS 20000000 (cost rows in the month), SCALE_COST_WINDOW 14 (days of cost
//! before the month, which a report reads for the anomaly window).

use chrono::{Datelike, Duration, NaiveDate};
use defender_ledger::history::{DatasetRecord, History, SnapshotMarker};
use defender_ledger::model::{contract, rows_to_frame};
use defender_ledger::parquet::ParquetSink;
use defender_ledger::period::RunId;
use defender_ledger::store::Store;
use polars::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TENANT: &str = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f";
const RUN: &str = "20261001T000000Z";

/// A fixed 64-bit hash of a few numbers (splitmix64 steps).
fn h(parts: &[u64]) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for p in parts {
        x ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(x << 6)
            .wrapping_add(x >> 2);
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x = z ^ (z >> 31);
    }
    x
}

fn guid(parts: &[u64]) -> String {
    let (a, b) = (h(parts), h(&[h(parts), 7]));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Size {
    subscriptions: usize,
    aks: usize,
    arc: usize,
    registries: usize,
    images: usize,
    alerts: usize,
    cost_rows: usize,
}

impl Size {
    fn from_env() -> Size {
        Size {
            subscriptions: env("SCALE_SUBSCRIPTIONS", 1000),
            aks: env("SCALE_AKS", 4200),
            arc: env("SCALE_ARC", 800),
            registries: env("SCALE_REGISTRIES", 1500),
            images: env("SCALE_IMAGES", 28_000),
            alerts: env("SCALE_ALERTS", 150),
            cost_rows: env("SCALE_COST_ROWS", 20_000_000),
        }
    }
}

fn sub_id(i: usize) -> String {
    guid(&[1, i as u64])
}

fn owner(kind: u64, i: usize, every: usize) -> Value {
    // One object in five has no owner tag.
    if h(&[kind, i as u64, 9]).is_multiple_of(5) {
        Value::Null
    } else {
        json!({"owner": format!("team-{:03}", i % every), "env": "prod"})
    }
}

fn aks_id(s: &Size, k: usize) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/rg-aks-{k:05}/providers/Microsoft.ContainerService/managedClusters/aks-{k:05}",
        sub_id(k % s.subscriptions)
    )
}

fn arc_id(s: &Size, a: usize) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rg-arc-{a:05}/providers/Microsoft.Kubernetes/connectedClusters/arc-{a:05}",
        sub_id((a * 7) % s.subscriptions)
    )
}

fn registry_id(s: &Size, r: usize) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rg-acr-{r:05}/providers/Microsoft.ContainerRegistry/registries/acr{r:05}",
        sub_id((r * 3) % s.subscriptions)
    )
}

fn iso(day: NaiveDate, seconds: u64) -> String {
    let t = day.and_hms_opt(0, 0, 0).unwrap() + Duration::seconds(seconds as i64);
    format!("{}.0000000Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// Days since the epoch: the clock every schedule below runs on.
fn n(day: NaiveDate) -> u64 {
    (day - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as u64
}

fn subscriptions(s: &Size, _day: NaiveDate) -> Vec<Value> {
    (0..s.subscriptions)
        .map(|i| {
            let mg = format!("mg-{:02}", i % 20);
            json!({"subscriptionId": sub_id(i), "subscriptionName": format!("sub-{i:04}"),
                   "tenantId": TENANT, "state": if i % 97 == 5 { "Disabled" } else { "Enabled" },
                   "managementGroups": [{"name": mg, "displayName": format!("Business unit {}", i % 20)},
                                        {"name": TENANT, "displayName": "Tenant Root Group"}],
                   "tags": owner(1, i, 120)})
        })
        .collect()
}

fn plans(s: &Size, day: NaiveDate) -> Vec<Value> {
    (0..s.subscriptions)
        .map(|i| {
            // One subscription in ten lacks the sensor; one in fifty switches the plan off
            // for three weeks in every six.
            let off = i % 50 == 1 && (n(day) / 21) % 2 == 1;
            let sensor = if i % 10 == 3 { "False" } else { "True" };
            json!({"subscriptionId": sub_id(i), "plan": "Containers",
                   "pricingTier": if off { "Free" } else { "Standard" }, "subPlan": null,
                   "enablementTime": "2025-06-01T00:00:00.0000000Z", "deprecated": false,
                   "extensions": [{"name": "ContainerSensor", "isEnabled": sensor},
                                  {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"},
                                  {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"}]})
        })
        .collect()
}

fn aks(s: &Size, day: NaiveDate) -> Vec<Value> {
    (0..s.aks)
        .map(|k| {
            let user = 2 + (k + n(day) as usize / 7) % 8;
            json!({"id": aks_id(s, k), "name": format!("aks-{k:05}"), "subscriptionId": sub_id(k % s.subscriptions),
                   "resourceGroup": format!("rg-aks-{k:05}"), "location": "westeurope", "tags": owner(2, k, 150),
                   "kubernetesVersion": "1.31.4", "powerState": "Running",
                   "nodeResourceGroup": format!("MC_rg-aks-{k:05}_aks-{k:05}_westeurope"),
                   "agentPools": [{"name": "system", "count": 3, "vmSize": "Standard_D4s_v5", "mode": "System"},
                                  {"name": "user", "count": user, "vmSize": "Standard_D8s_v5", "mode": "User"}],
                   "defenderEnabled": if k % 25 == 4 { Value::Null } else { json!(true) },
                   "enableRBAC": true, "aadManaged": k % 3 != 0, "networkPolicy": "azure", "azurePolicyEnabled": true})
        })
        .collect()
}

fn arc(s: &Size, _day: NaiveDate) -> Vec<Value> {
    (0..s.arc)
        .map(|a| {
            json!({"id": arc_id(s, a), "name": format!("arc-{a:05}"), "subscriptionId": sub_id((a * 7) % s.subscriptions),
                   "resourceGroup": format!("rg-arc-{a:05}"), "location": "westeurope", "tags": owner(3, a, 150),
                   "distribution": "k3s", "kubernetesVersion": "1.30.2", "totalCoreCount": 16 + (a % 5) * 8,
                   "totalNodeCount": 2 + a % 5, "connectivityStatus": "Connected",
                   "defenderExtensionState": if a % 10 == 0 { Value::Null } else { json!("Succeeded") }})
        })
        .collect()
}

fn registries(s: &Size, _day: NaiveDate) -> Vec<Value> {
    (0..s.registries)
        .map(|r| {
            json!({"id": registry_id(s, r), "name": format!("acr{r:05}"), "subscriptionId": sub_id((r * 3) % s.subscriptions),
                   "resourceGroup": format!("rg-acr-{r:05}"), "location": "westeurope", "tags": owner(4, r, 150),
                   "sku": "Premium", "adminUserEnabled": r % 11 == 0, "publicNetworkAccess": "Enabled"})
        })
        .collect()
}

/// Alerts starting on `start` (index within the day), with their cluster.
fn alert(s: &Size, start: NaiveDate, i: usize) -> Value {
    let x = h(&[5, n(start), i as u64]);
    let k = (x % s.aks as u64) as usize;
    let begin = x % 86_000;
    let latency = 60 + (x >> 20) % 7200;
    let severity = ["High", "Medium", "Low", "High", "Informational"][((x >> 8) % 5) as usize];
    let alert_type = if (x >> 12).is_multiple_of(10) {
        "VM_SuspiciousActivity"
    } else {
        "K8S_MaliciousContainer"
    };
    let sid = guid(&[5, n(start), i as u64]);
    json!({"id": format!("{}/providers/Microsoft.Security/locations/westeurope/alerts/{sid}", aks_id(s, k)),
           "systemAlertId": sid, "subscriptionId": sub_id(k % s.subscriptions), "alertType": alert_type,
           "displayName": "Suspicious container activity", "severity": severity,
           "status": if (x >> 16).is_multiple_of(3) { "Resolved" } else { "Active" }, "intent": "Execution",
           "startTimeUtc": iso(start, begin), "timeGeneratedUtc": iso(start, begin + latency),
           "resourceId": aks_id(s, k), "compromisedEntity": format!("aks-{k:05}")})
}

fn alerts(s: &Size, day: NaiveDate) -> Vec<Value> {
    (0..30)
        .flat_map(|back| {
            let start = day - Duration::days(back);
            (0..s.alerts).map(move |i| alert(s, start, i))
        })
        .collect()
}

const SEVERITIES: [(&str, f64); 4] = [
    ("Critical", 9.8),
    ("High", 8.1),
    ("Medium", 5.5),
    ("Low", 3.1),
];

/// Image slots: each runs one image version at a time, replaced every 30 to 330 days (a new
/// digest: its CVEs disappear, the new version's appear). Four slots in five live in a
/// registry, the rest run in a cluster.
fn vulnerabilities(s: &Size, day: NaiveDate) -> Vec<Value> {
    let mut rows = Vec::with_capacity(s.images * 7);
    for i in 0..s.images {
        let slot = i as u64;
        let period = 30 + h(&[6, slot]) % 300;
        let version = (n(day) + h(&[7, slot]) % period) / period;
        let digest = format!(
            "sha256:{:016x}{:016x}{:016x}{:016x}",
            h(&[8, slot, version]),
            h(&[9, slot, version]),
            h(&[10, slot]),
            h(&[11, version])
        );
        let registry = i % 5 != 0;
        let (resource, source, host) = if registry {
            let r = i % s.registries;
            (
                registry_id(s, r),
                "registry",
                format!("acr{r:05}.azurecr.io"),
            )
        } else {
            (
                aks_id(s, i % s.aks),
                "runtime",
                format!("acr{:05}.azurecr.io", i % s.registries),
            )
        };
        let sub = resource.split('/').nth(2).unwrap_or_default().to_string();
        let cves = 4 + h(&[12, slot, version]) % 7;
        for j in 0..cves {
            let x = h(&[13, slot, version, j]);
            let cve = format!("CVE-{}-{}", 2022 + x % 4, 1000 + (x >> 8) % 40_000);
            let (severity, cvss) =
                SEVERITIES[[0, 1, 1, 2, 2, 2, 2, 3, 3, 3][((x >> 24) % 10) as usize]];
            let status = if (x >> 32).is_multiple_of(30) {
                "Healthy"
            } else {
                "Unhealthy"
            };
            rows.push(json!({"id": format!("{resource}/providers/Microsoft.Security/assessments/{}/cves/{cve}", guid(&[14, slot, version])),
                "subscriptionId": sub, "resourceId": resource, "source": source, "registryHost": host,
                "repository": format!("app-{:04}", i % 4000), "imageDigest": digest, "cveId": cve,
                "severity": severity, "cvssScore": cvss, "fixStatus": "FixAvailable", "statusCode": status,
                "timeGenerated": iso(day, 3600)}));
        }
    }
    rows
}

fn policy_states(s: &Size, day: NaiveDate) -> Vec<Value> {
    let mut rows = Vec::with_capacity(s.aks * 2);
    for k in 0..s.aks {
        for (p, def) in [
            "64def556-fbad-4622-930e-72d1d5589bf5",
            "a8eff44f-8c92-45c3-a3fb-9880802d67a7",
        ]
        .iter()
        .enumerate()
        {
            let x = h(&[15, k as u64, p as u64, n(day) / 7]);
            let sub = sub_id(k % s.subscriptions);
            rows.push(json!({"subscriptionId": sub, "resourceId": aks_id(s, k),
                "policyAssignmentId": format!("/providers/Microsoft.Management/managementGroups/mg-{:02}/providers/Microsoft.Authorization/policyAssignments/defender-containers-{p}", k % 20),
                "policyAssignmentScope": format!("/providers/Microsoft.Management/managementGroups/mg-{:02}", k % 20),
                "policyDefinitionId": format!("/providers/Microsoft.Authorization/policyDefinitions/{def}"),
                "policyDefinitionAction": "auditifnotexists",
                "complianceState": if x.is_multiple_of(12) { "NonCompliant" } else { "Compliant" },
                "timestamp": iso(day, 7200)}));
        }
    }
    rows
}

type Rows = fn(&Size, NaiveDate) -> Vec<Value>;
const DATASETS: [(&str, Rows); 8] = [
    ("subscriptions", subscriptions),
    ("defender_plans", plans),
    ("aks_clusters", aks),
    ("container_registries", registries),
    ("arc_clusters", arc),
    ("security_alerts", alerts),
    ("vulnerabilities", vulnerabilities),
    ("policy_states", policy_states),
];

/// One snapshot day through the contracts into history, committed with its marker.
fn write_day(
    s: &Size,
    history: &History,
    day: NaiveDate,
    run: &RunId,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut datasets = BTreeMap::new();
    for (name, rows_of) in DATASETS {
        let rows = rows_of(s, day);
        let df = rows_to_frame(contract(name).unwrap(), &rows, "scale tenant generator", 0)?;
        history.write_dataset(name, day, run, &df)?;
        datasets.insert(
            name.to_string(),
            DatasetRecord {
                rows: rows.len(),
                total_records: rows.len() as i64,
                pages: rows.len().div_ceil(1000).max(1),
                origin: format!("scale tenant generator: {name}"),
                query_sha256: None,
            },
        );
    }
    history.commit_day(&SnapshotMarker {
        date: day,
        run_id: run.to_string(),
        source: "scale tenant generator".into(),
        datasets,
    })?;
    Ok(())
}

/// One cost resource: its id, name, group, subscription, tags, meter, daily cost range.
struct CostResource {
    id: String,
    name: String,
    group: String,
    sub: String,
    tags: Option<String>,
    category: &'static str,
    meter: &'static str,
    description: &'static str,
    cost: f64,
}

/// The billed resources: every cluster (with its node pools and disks), registry and the
/// Containers plan of every subscription, and enough other resources to reach the row count.
fn cost_resources(s: &Size, rows_per_day: usize) -> Vec<CostResource> {
    let mut out = Vec::new();
    let tags = |v: Value| (!v.is_null()).then(|| v.to_string());
    for k in 0..s.aks {
        let (sub, nrg) = (
            sub_id(k % s.subscriptions),
            format!("MC_rg-aks-{k:05}_aks-{k:05}_westeurope"),
        );
        let t = tags(owner(2, k, 150));
        out.push(CostResource {
            id: aks_id(s, k),
            name: format!("aks-{k:05}"),
            group: format!("rg-aks-{k:05}"),
            sub: sub.clone(),
            tags: t.clone(),
            category: "Azure Kubernetes Service",
            meter: "Standard Uptime SLA",
            description: "Azure Kubernetes Service - Standard - Uptime SLA - EU West",
            cost: 2.4,
        });
        for (j, what) in [
            "vmss-system",
            "vmss-user",
            "disk-0",
            "disk-1",
            "disk-2",
            "lb",
            "pip",
        ]
        .iter()
        .enumerate()
        {
            out.push(CostResource { id: format!("/subscriptions/{sub}/resourceGroups/{nrg}/providers/Microsoft.Compute/{what}/aks-{what}-{k:05}"), name: format!("aks-{what}-{k:05}"), group: nrg.clone(), sub: sub.clone(), tags: t.clone(), category: if j < 2 { "Virtual Machines" } else { "Storage" }, meter: if j < 2 { "D8s v5" } else { "P10 LRS Disk" }, description: "Virtual Machines Dsv5 Series - D8s v5 - EU West", cost: if j < 2 { 30.0 } else { 1.3 } });
        }
    }
    for a in 0..s.arc {
        out.push(CostResource {
            id: arc_id(s, a),
            name: format!("arc-{a:05}"),
            group: format!("rg-arc-{a:05}"),
            sub: sub_id((a * 7) % s.subscriptions),
            tags: tags(owner(3, a, 150)),
            category: "Azure Arc",
            meter: "vCPU",
            description: "Azure Arc enabled Kubernetes",
            cost: 0.5,
        });
    }
    for r in 0..s.registries {
        out.push(CostResource {
            id: registry_id(s, r),
            name: format!("acr{r:05}"),
            group: format!("rg-acr-{r:05}"),
            sub: sub_id((r * 3) % s.subscriptions),
            tags: tags(owner(4, r, 150)),
            category: "Container Registry",
            meter: "Premium Registry Unit",
            description: "Container Registry Premium",
            cost: 1.67,
        });
    }
    for i in 0..s.subscriptions {
        let sub = sub_id(i);
        out.push(CostResource {
            id: format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers"),
            name: "Containers".into(),
            group: String::new(),
            sub,
            tags: None,
            category: "Microsoft Defender for Cloud",
            meter: "Standard vCore vCore Pack",
            description: "Microsoft Defender for Containers - EU West",
            cost: 11.6,
        });
    }
    let mut o = 0;
    while out.len() < rows_per_day {
        let sub = sub_id(o % s.subscriptions);
        let group = format!("rg-app-{:04}", o % 9000);
        out.push(CostResource { id: format!("/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/st{o:07}"), name: format!("st{o:07}"), group, sub, tags: tags(owner(6, o, 200)), category: "Storage", meter: "Hot LRS Data Stored", description: "Storage - Hot LRS - EU West", cost: 0.8 });
        o += 1;
    }
    out
}

/// A FOCUS export run of typed Parquet parts (about 2M rows each) with its manifest.
fn write_cost(
    s: &Size,
    out: &std::path::Path,
    last: NaiveDate,
) -> Result<usize, Box<dyn std::error::Error>> {
    let month_start = last.with_day(1).unwrap();
    let month_end = (month_start + Duration::days(32)).with_day(1).unwrap();
    let first = month_start - Duration::days(env("SCALE_COST_WINDOW", 14) as i64);
    let per_day = s.cost_rows / (month_end - month_start).num_days() as usize;
    let resources = cost_resources(s, per_day);
    let run_id = guid(&[16, n(first), n(month_end)]);
    let folder = format!(
        "exports/focus/focus-scale/{}-{}/202610020500/{run_id}",
        first.format("%Y%m%d"),
        (month_end - Duration::days(1)).format("%Y%m%d")
    );
    let dir = out.join("cost-exports").join(&folder);
    std::fs::create_dir_all(&dir)?;
    let (mut blobs, mut total, mut part, mut day) = (Vec::new(), 0usize, 1, first);
    while day < month_end {
        let name = format!("part_0_{part:04}.snappy.parquet");
        let path = dir.join(&name);
        let mut sink: Option<ParquetSink> = None;
        let mut rows = 0;
        // About fifteen days a part.
        for _ in 0..15 {
            if day >= month_end {
                break;
            }
            let df = cost_day(&resources, day)?;
            rows += df.height();
            let sink = match sink.as_mut() {
                Some(sk) => sk,
                None => sink.insert(ParquetSink::create(&path, df.schema())?),
            };
            sink.push(df)?;
            day += Duration::days(1);
        }
        let written = sink.expect("at least one day").finish()?;
        blobs.push(json!({"blobName": format!("{folder}/{name}"), "byteCount": written.bytes, "dataRowCount": rows}));
        total += rows;
        part += 1;
    }
    let manifest = json!({
        "manifestVersion": "2024-04-01", "byteCount": blobs.iter().map(|b| b["byteCount"].as_u64().unwrap()).sum::<u64>(),
        "blobCount": blobs.len(), "dataRowCount": total,
        "exportConfig": {"exportName": "focus-scale", "resourceId": "/providers/Microsoft.Billing/billingAccounts/1/providers/Microsoft.CostManagement/exports/focus-scale",
                         "dataVersion": "1.0r2", "apiVersion": "2025-03-01", "type": "FocusCost", "timeFrame": "Custom", "granularity": "Daily"},
        "deliveryConfig": {"partitionData": true, "dataOverwriteBehavior": "CreateNewReport", "fileFormat": "Parquet", "compressionMode": "Snappy",
                           "containerUri": "/subscriptions/0/resourceGroups/rg-finops/providers/Microsoft.Storage/storageAccounts/stscale", "rootFolderPath": "exports/focus"},
        "runInfo": {"executionType": "OnDemand", "submittedTime": "2026-10-02T05:00:00.0000000Z", "runId": run_id,
                    "startDate": format!("{first}T00:00:00"), "endDate": format!("{}T00:00:00", month_end - Duration::days(1))},
        "blobs": blobs,
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok(total)
}

/// One day of cost rows, typed as Azure writes FOCUS Parquet.
fn cost_day(resources: &[CostResource], day: NaiveDate) -> PolarsResult<DataFrame> {
    let start = day
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let end = start + 86_400_000;
    let len = resources.len();
    let cost: Vec<f64> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let x = h(&[17, i as u64, n(day)]);
            // A crypto-mining week on one cluster in a hundred (its VM scale sets, thirty times).
            let spike = r.category == "Virtual Machines"
                && (i / 8) % 100 == 7
                && day.day() >= 20
                && day.day() < 27;
            let base = r.cost * (0.9 + (x % 200) as f64 / 1000.0);
            ((if spike { base * 30.0 } else { base }) * 1e6).round() / 1e6
        })
        .collect();
    let ts = |v: i64| {
        Column::new_scalar(
            PlSmallStr::EMPTY,
            Scalar::new(DataType::Int64, v.into()),
            len,
        )
    };
    let text = |name: &str, f: &dyn Fn(&CostResource) -> String| {
        Column::new(name.into(), resources.iter().map(f).collect::<Vec<_>>())
    };
    let utc = DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC));
    DataFrame::new_infer_height(vec![
        Column::new("BilledCost".into(), cost.clone()),
        text("BillingCurrency", &|_| "USD".into()),
        ts(end).cast(&utc)?.with_name("ChargePeriodEnd".into()),
        ts(start).cast(&utc)?.with_name("ChargePeriodStart".into()),
        text("ChargeDescription", &|r| r.description.into()),
        Column::new("EffectiveCost".into(), cost.clone()),
        Column::new("ListCost".into(), cost),
        text("ResourceId", &|r| r.id.clone()),
        text("ResourceName", &|r| r.name.clone()),
        text("ServiceName", &|r| r.category.into()),
        text("SubAccountId", &|r| format!("/subscriptions/{}", r.sub)),
        Column::new(
            "Tags".into(),
            resources.iter().map(|r| r.tags.clone()).collect::<Vec<_>>(),
        ),
        text("x_ResourceGroupName", &|r| r.group.clone()),
        text("x_SkuDescription", &|r| r.description.into()),
        text("x_SkuMeterCategory", &|r| r.category.into()),
        text("x_SkuMeterName", &|r| r.meter.into()),
    ])
}

/// One day as Resource Graph response pages (1,000 rows each) in the replay layout, for timing
/// `snapshot` on a day of the large tenant.
fn write_pages(out: &std::path::Path, day: NaiveDate) -> Result<(), Box<dyn std::error::Error>> {
    let s = Size::from_env();
    let dir = out.join("resource-graph").join(day.to_string());
    std::fs::create_dir_all(&dir)?;
    for (name, rows_of) in DATASETS {
        let rows = rows_of(&s, day);
        let total = rows.len();
        let chunks: Vec<&[Value]> = rows.chunks(1000).collect();
        let pages: Vec<Value> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut page = json!({"totalRecords": total, "count": chunk.len(), "data": chunk,
                                      "facets": [], "resultTruncated": "false"});
                if i + 1 < chunks.len() {
                    page["$skipToken"] = json!(format!("ew0KICAiJGlkIjogIjEiLA0KICAiTWF4Um93cyI6IDEwMDAsDQogICJSb3dzVG9Ta2lwIjogMTAwMA0KfQ==/{i}"));
                }
                page
            })
            .collect();
        let pages = if pages.is_empty() {
            vec![
                json!({"totalRecords": 0, "count": 0, "data": [], "facets": [], "resultTruncated": "false"}),
            ]
        } else {
            pages
        };
        let file =
            std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.json")))?);
        serde_json::to_writer(file, &pages)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, out, day] = args.as_slice()
        && flag == "--pages"
    {
        return write_pages(std::path::Path::new(out), day.parse()?);
    }
    let (out, days) = match args.as_slice() {
        [out, days, ..] => (std::path::PathBuf::from(out), days.parse::<i64>()?),
        _ => {
            eprintln!("usage: scale_tenant <out-dir> <days> [<last-day>]");
            std::process::exit(2);
        }
    };
    let last: NaiveDate = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(NaiveDate::from_ymd_opt(2026, 9, 30).unwrap());
    let s = Size::from_env();
    std::fs::create_dir_all(&out)?;
    let store = Store::open(out.to_str().unwrap(), true)?;
    let history = History::new(&store);
    let run = RunId::parse(RUN)?;
    let t = Instant::now();
    let committed = history.committed_days_before(last + Duration::days(1))?;
    for back in (0..days).rev() {
        let day = last - Duration::days(back);
        if !committed.contains(&day) {
            write_day(&s, &history, day, &run)?;
            eprintln!("history {day} ({:.0} s)", t.elapsed().as_secs_f64());
        }
    }
    let cost = out.join("cost-exports");
    if !cost.exists() {
        let rows = write_cost(&s, &out, last)?;
        eprintln!(
            "cost export: {rows} rows ({:.0} s)",
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
