//! Detection latency (MTTD) and high-severity runtime alerts.
//!
//! Population: distinct `systemAlertId`, each from the latest snapshot that lists it, with
//! `timeGeneratedUtc` in the period and `alertType` starting with a configured prefix
//! (case-sensitive). Latency = timeGeneratedUtc − startTimeUtc in fractional minutes; negative
//! latencies are data-quality findings, listed and excluded from the statistics (but counted
//! in the high-severity totals).

use crate::error::{PolarsContext, Result};
use crate::frame::{dates, latest_row_per_key, ns_to_iso, strs, timestamps_ns};
use crate::history::{SNAPSHOT_DATE, Snapshots};
use crate::kpi::owners::UNALLOCATED;
use crate::kpi::resource_days as rd;
use crate::kpi::stats::{mean, median, p90_nearest_rank};
use crate::kpi::{DetectionLatency, LatencyStats, NegativeLatency, Parameters, RuntimeAlerts};
use crate::period::Period;
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct DetectionResult {
    pub latency: DetectionLatency,
    pub alerts: RuntimeAlerts,
    /// The population, one row per alert: systemAlertId, alertType, displayName, severity,
    /// status, subscriptionId, resourceId, cluster, owner, startTimeUtc, timeGeneratedUtc,
    /// latency_minutes, latency_excluded, snapshot_date (where it was last seen).
    pub population: DataFrame,
    /// Alert counts per owner, cluster, severity and status.
    pub by_owner_cluster_status: DataFrame,
}

fn stats_of(values: &[f64]) -> LatencyStats {
    LatencyStats {
        count: values.len() as i64,
        median: median(values),
        p90: p90_nearest_rank(values),
        mean: mean(values),
    }
}

/// Latest row per `systemAlertId` among snapshots (indices into `df`).
fn latest_rows(df: &DataFrame) -> Result<Vec<usize>> {
    let ids = strs(df, "systemAlertId")?;
    let days = dates(df, SNAPSHOT_DATE)?;
    let mut idx: Vec<usize> = latest_row_per_key(ids.iter().map(|s| s.as_deref()), &days)
        .into_values()
        .collect();
    idx.sort_unstable();
    Ok(idx)
}

/// Owner and name of each cluster (lower-case id), from its latest snapshot.
fn cluster_owners(resource_days: &DataFrame) -> Result<HashMap<String, (String, String)>> {
    let ids = strs(resource_days, rd::ID_LOWER)?;
    let kinds = strs(resource_days, rd::KIND)?;
    let owners = strs(resource_days, rd::OWNER)?;
    let names = strs(resource_days, rd::NAME)?;
    let days = dates(resource_days, rd::DATE)?;
    let clusters = ids
        .iter()
        .zip(&kinds)
        .map(|(id, kind)| id.clone().filter(|_| kind.as_deref() != Some("registry")));
    Ok(latest_row_per_key(clusters, &days)
        .into_iter()
        .map(|(id, i)| {
            let owner = owners[i].clone().unwrap_or_default();
            (id, (owner, names[i].clone().unwrap_or_default()))
        })
        .collect())
}

pub fn compute(
    snap: &Snapshots,
    resource_days: &DataFrame,
    params: &Parameters,
    period: Period,
) -> Result<DetectionResult> {
    let all = snap.frame("security_alerts");
    let idx: Vec<IdxSize> = latest_rows(all)?
        .into_iter()
        .map(|i| i as IdxSize)
        .collect();
    let latest = all
        .take(&IdxCa::from_vec("idx".into(), idx))
        .ctx("latest alert rows")?;

    let start_ns = crate::frame::day_start_ns(period.start());
    let end_ns = crate::frame::day_start_ns(period.end_exclusive());
    let types = strs(&latest, "alertType")?;
    let generated = timestamps_ns(&latest, "timeGeneratedUtc")?;
    let keep: Vec<bool> = types
        .iter()
        .zip(&generated)
        .map(|(t, g)| {
            let in_period = g.is_some_and(|g| g >= start_ns && g < end_ns);
            let container = t.as_deref().is_some_and(|t| {
                params
                    .alert_type_prefixes
                    .iter()
                    .any(|p| t.starts_with(p.as_str()))
            });
            in_period && container
        })
        .collect();
    let pop = latest
        .filter(&BooleanChunked::from_slice("keep".into(), &keep))
        .ctx("alert population")?
        .sort(
            ["timeGeneratedUtc", "systemAlertId"],
            SortMultipleOptions::default(),
        )
        .ctx("alert population")?;

    let ids = strs(&pop, "systemAlertId")?;
    let sev = strs(&pop, "severity")?;
    let res = strs(&pop, "resourceId")?;
    let started = timestamps_ns(&pop, "startTimeUtc")?;
    let generated = timestamps_ns(&pop, "timeGeneratedUtc")?;
    let owners_by_cluster = cluster_owners(resource_days)?;

    let mut overall = Vec::new();
    let mut by_sev: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut negative = Vec::new();
    let mut latency_col = Vec::with_capacity(pop.height());
    let mut excluded_col = Vec::with_capacity(pop.height());
    let mut owner_col = Vec::with_capacity(pop.height());
    let mut cluster_col = Vec::with_capacity(pop.height());
    let mut sev_counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut high_by_owner: BTreeMap<String, i64> = BTreeMap::new();
    for i in 0..pop.height() {
        let severity = sev[i].clone().unwrap_or_default();
        let resource = res[i].clone().unwrap_or_default();
        let (owner, cluster) = owners_by_cluster
            .get(&resource.to_lowercase())
            .cloned()
            .unwrap_or_else(|| (UNALLOCATED.to_string(), String::new()));
        *sev_counts.entry(severity.clone()).or_default() += 1;
        if severity == "High" {
            *high_by_owner.entry(owner.clone()).or_default() += 1;
        }
        let latency = match (started[i], generated[i]) {
            (Some(s), Some(g)) => Some((g - s) as f64 / 60e9),
            _ => None,
        };
        let excluded = latency.is_none_or(|l| l < 0.0);
        if let Some(l) = latency {
            if l < 0.0 {
                negative.push(NegativeLatency {
                    systemAlertId: ids[i].clone().unwrap_or_default(),
                    latency_minutes: l,
                    severity: severity.clone(),
                    resourceId: resource.clone(),
                    startTimeUtc: started[i].map(ns_to_iso).unwrap_or_default(),
                    timeGeneratedUtc: generated[i].map(ns_to_iso).unwrap_or_default(),
                });
            } else {
                overall.push(l);
                by_sev.entry(severity.clone()).or_default().push(l);
            }
        }
        latency_col.push(latency);
        excluded_col.push(excluded);
        owner_col.push(owner);
        cluster_col.push(cluster);
    }

    let population = pop
        .clone()
        .lazy()
        .with_columns([
            lit(Series::new("latency_minutes".into(), latency_col)),
            lit(Series::new("latency_excluded".into(), excluded_col)),
            lit(Series::new("owner".into(), owner_col)),
            lit(Series::new("cluster".into(), cluster_col)),
        ])
        .select([
            col("systemAlertId"),
            col("alertType"),
            col("displayName"),
            col("severity"),
            col("status"),
            col("subscriptionId"),
            col("resourceId"),
            col("cluster"),
            col("owner"),
            col("startTimeUtc"),
            col("timeGeneratedUtc"),
            col("latency_minutes"),
            col("latency_excluded"),
            col(SNAPSHOT_DATE).alias("last_seen_snapshot"),
        ])
        .collect()
        .ctx("alert population table")?;
    let by_owner_cluster_status = population
        .clone()
        .lazy()
        .group_by([
            col("owner"),
            col("cluster"),
            col("resourceId"),
            col("severity"),
            col("status"),
        ])
        .agg([len().cast(DataType::Int64).alias("alerts")])
        .sort(
            ["owner", "cluster", "resourceId", "severity", "status"],
            SortMultipleOptions::default(),
        )
        .collect()
        .ctx("alerts by owner, cluster and status")?;

    let n = pop.height() as i64;
    Ok(DetectionResult {
        latency: DetectionLatency {
            population: n,
            overall: stats_of(&overall),
            by_severity: by_sev
                .iter()
                .map(|(k, v)| (k.clone(), stats_of(v)))
                .collect(),
            negative_latency: negative,
        },
        alerts: RuntimeAlerts {
            population: n,
            high_total: sev_counts.get("High").copied().unwrap_or(0),
            by_severity: sev_counts,
            high_by_owner,
        },
        population,
        by_owner_cluster_status,
    })
}
