//! Detection latency (MTTD) and high-severity runtime alerts.
//!
//! Population: distinct `systemAlertId`, each from the latest snapshot that lists it, with
//! `timeGeneratedUtc` in the period and `alertType` starting with a configured prefix
//! (case-sensitive). Latency = timeGeneratedUtc − startTimeUtc in fractional minutes; negative
//! latencies are data-quality findings, listed and excluded from the statistics (but counted
//! in the high-severity totals).

use crate::error::{PolarsContext, Result};
use crate::frame::{dates, latest_row_per_key, ns_to_iso, strs, timestamps_ns};
use crate::history::SNAPSHOT_DATE;
use crate::kpi::owners::UNALLOCATED;
use crate::kpi::resource_days::ResourceLedger;
use crate::kpi::stats::{mean, median, p90_nearest_rank};
use crate::kpi::{DetectionLatency, LatencyStats, NegativeLatency, Parameters, RuntimeAlerts};
use crate::period::Period;
use polars::prelude::*;
use std::collections::BTreeMap;

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

/// Every alert history has listed, each as the latest snapshot that lists it, and what the
/// evidence counts of the rows read. Fed one snapshot day at a time; grows with alerts, not
/// with days.
#[derive(Debug, Clone, Default)]
pub struct AlertState {
    /// One row per `systemAlertId`: the contract's columns with `snapshot_date`.
    latest: Option<DataFrame>,
    /// Alert rows read, over every day.
    pub rows_read: i64,
    /// Rows without a `systemAlertId` (left out).
    pub rows_without_id: i64,
}

impl AlertState {
    /// Fold in one snapshot day's `security_alerts` rows (days ascending).
    pub fn add_day(&mut self, day: &DataFrame) -> Result<()> {
        self.rows_read += day.height() as i64;
        let ids = day.column("systemAlertId").ctx("systemAlertId")?;
        self.rows_without_id += ids.null_count() as i64;
        // Within a day the later row wins, as across days the later day does.
        let idx: Vec<IdxSize> = latest_rows(day)?
            .into_iter()
            .map(|i| i as IdxSize)
            .collect();
        let today = day
            .take(&IdxCa::from_vec("idx".into(), idx))
            .ctx("latest alert rows")?;
        self.latest = Some(match self.latest.take() {
            None => today,
            Some(before) => before
                .vstack(&today)
                .ctx("alerts so far")?
                .unique_stable(
                    Some(&["systemAlertId".to_string()]),
                    UniqueKeepStrategy::Last,
                    None,
                )
                .ctx("latest alert rows")?,
        });
        Ok(())
    }

    /// The latest row of every alert (no particular order), with `snapshot_date`.
    pub fn latest(&self) -> Result<DataFrame> {
        Ok(match &self.latest {
            Some(df) => df.clone(),
            None => crate::history::with_date_column(
                crate::model::security_alerts::CONTRACT.empty_frame(),
                None,
            ),
        })
    }
}

/// Latest row per `systemAlertId` within one frame (indices, ascending); on the same date the
/// later row wins.
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
fn cluster_owners(ledger: &ResourceLedger) -> BTreeMap<&str, (&str, &str)> {
    ledger
        .latest()
        .iter()
        .filter(|(_, r)| r.kind.is_cluster())
        .map(|(id, r)| (id.as_str(), (r.owner.as_str(), r.name.as_str())))
        .collect()
}

pub fn compute(
    alerts: &AlertState,
    ledger: &ResourceLedger,
    params: &Parameters,
    period: Period,
) -> Result<DetectionResult> {
    let latest = alerts.latest()?;

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
    let owners_by_cluster = cluster_owners(ledger);

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
            .get(resource.to_lowercase().as_str())
            .map(|(o, n)| (o.to_string(), n.to_string()))
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
