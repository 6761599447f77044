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
use crate::kpi::severity::Severity;
use crate::kpi::stats::{mean, median, p90_nearest_rank};
use crate::kpi::{DetectionLatency, LatencyStats, NegativeLatency, Parameters, RuntimeAlerts};
use crate::period::Period;
use polars::prelude::*;
use std::collections::BTreeMap;

/// Detection latency, runtime alerts and the tables behind them.
#[derive(Debug, Clone)]
pub struct DetectionResult {
    /// Detection latency of the population.
    pub latency: DetectionLatency,
    /// The population by severity and owner.
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
        self.latest = self.latest.take().map(own_text).transpose()?;
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

/// The frame with its text copied into buffers of its own. A polars gather (take, unique)
/// keeps the string buffers of the frames it read from, so without this the state would keep
/// every snapshot day's decoded alert text (megabytes a day on a large tenant) for as long as
/// one alert last listed that day survives: memory would grow with days, not with alerts.
fn own_text(df: DataFrame) -> Result<DataFrame> {
    let columns = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::String => {
                let ca = c.str().ctx("alert text")?;
                let owned = ca.downcast_iter().map(|a| a.clone().gc());
                Ok(StringChunked::from_chunk_iter(ca.name().clone(), owned).into_column())
            }
            _ => Ok(c.clone()),
        })
        .collect::<Result<Vec<_>>>()?;
    DataFrame::new(df.height(), columns).ctx("alert state")
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

/// Column names of the alert population table (`DetectionResult::population`,
/// `data/runtime_alerts.parquet`): the `security_alerts` contract's columns with the owner,
/// cluster and latency derived here.
pub mod columns {
    /// Alert id (distinct in the population).
    pub const SYSTEM_ALERT_ID: &str = "systemAlertId";
    /// Alert type (`K8S_...`).
    pub const ALERT_TYPE: &str = "alertType";
    /// Display name.
    pub const DISPLAY_NAME: &str = "displayName";
    /// Severity as Defender wrote it.
    pub const SEVERITY: &str = "severity";
    /// Status at the latest snapshot listing the alert (`Active`, `Resolved`, ...).
    pub const STATUS: &str = "status";
    /// Subscription GUID.
    pub const SUBSCRIPTION_ID: &str = "subscriptionId";
    /// Resource the alert names.
    pub const RESOURCE_ID: &str = "resourceId";
    /// Name of the cluster `resourceId` names ("" when unknown).
    pub const CLUSTER: &str = "cluster";
    /// Owner of that cluster, else `unallocated`.
    pub const OWNER: &str = "owner";
    /// Start of the suspicious activity.
    pub const START_TIME_UTC: &str = "startTimeUtc";
    /// When Defender generated the alert.
    pub const TIME_GENERATED_UTC: &str = "timeGeneratedUtc";
    /// timeGeneratedUtc − startTimeUtc, in minutes.
    pub const LATENCY_MINUTES: &str = "latency_minutes";
    /// Left out of the latency statistics (missing or negative).
    pub const LATENCY_EXCLUDED: &str = "latency_excluded";
    /// Snapshot day the alert was last listed.
    pub const LAST_SEEN_SNAPSHOT: &str = "last_seen_snapshot";
}

/// What the executive report and the evidence read of one alert of the population, decoded
/// once. Cells are as stored (null stays `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationAlert {
    /// Alert id.
    pub system_alert_id: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Status at the latest snapshot.
    pub status: Option<String>,
    /// Owner of its cluster.
    pub owner: Option<String>,
    /// Name of its cluster.
    pub cluster: Option<String>,
}

/// Decode the population table (or a selection keeping these columns) into rows, in order.
pub fn population_alerts(df: &DataFrame) -> Result<Vec<PopulationAlert>> {
    let mut id = strs(df, columns::SYSTEM_ALERT_ID)?.into_iter();
    let mut severity = strs(df, columns::SEVERITY)?.into_iter();
    let mut status = strs(df, columns::STATUS)?.into_iter();
    let mut owner = strs(df, columns::OWNER)?.into_iter();
    let mut cluster = strs(df, columns::CLUSTER)?.into_iter();
    Ok((0..df.height())
        .map(|_| PopulationAlert {
            system_alert_id: id.next().flatten(),
            severity: severity.next().flatten(),
            status: status.next().flatten(),
            owner: owner.next().flatten(),
            cluster: cluster.next().flatten(),
        })
        .collect())
}

/// One alert of the population, decoded once from the frame.
struct AlertRow {
    system_alert_id: String,
    severity: String,
    resource_id: String,
    started_ns: Option<i64>,
    generated_ns: Option<i64>,
}

impl AlertRow {
    /// Latency in fractional minutes, when both times are known.
    fn latency_minutes(&self) -> Option<f64> {
        match (self.started_ns, self.generated_ns) {
            (Some(s), Some(g)) => Some((g - s) as f64 / 60e9),
            _ => None,
        }
    }
}

fn alert_rows(pop: &DataFrame) -> Result<Vec<AlertRow>> {
    let ids = strs(pop, "systemAlertId")?;
    let sev = strs(pop, "severity")?;
    let res = strs(pop, "resourceId")?;
    let started = timestamps_ns(pop, "startTimeUtc")?;
    let generated = timestamps_ns(pop, "timeGeneratedUtc")?;
    Ok(ids
        .into_iter()
        .zip(sev)
        .zip(res)
        .zip(started.into_iter().zip(generated))
        .map(|(((id, sev), res), (started_ns, generated_ns))| AlertRow {
            system_alert_id: id.unwrap_or_default(),
            severity: sev.unwrap_or_default(),
            resource_id: res.unwrap_or_default(),
            started_ns,
            generated_ns,
        })
        .collect())
}

/// The population: the latest row of each alert generated in the period whose type starts
/// with a configured prefix, by time generated and id.
fn population_of(alerts: &AlertState, params: &Parameters, period: Period) -> Result<DataFrame> {
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
    latest
        .filter(&BooleanChunked::from_slice("keep".into(), &keep))
        .ctx("alert population")?
        .sort(
            ["timeGeneratedUtc", "systemAlertId"],
            SortMultipleOptions::default(),
        )
        .ctx("alert population")
}

/// What the population adds up to: latency samples, counts, and the derived columns of the
/// population table (one entry per alert, in population order).
#[derive(Default)]
struct AlertTally {
    overall: Vec<f64>,
    by_severity: BTreeMap<String, Vec<f64>>,
    negative: Vec<NegativeLatency>,
    severity_counts: BTreeMap<String, i64>,
    high_by_owner: BTreeMap<String, i64>,
    latency: Vec<Option<f64>>,
    excluded: Vec<bool>,
    owner: Vec<String>,
    cluster: Vec<String>,
}

impl AlertTally {
    fn add(&mut self, alert: &AlertRow, owners_by_cluster: &BTreeMap<&str, (&str, &str)>) {
        let severity = &alert.severity;
        let (owner, cluster) = owners_by_cluster
            .get(alert.resource_id.to_lowercase().as_str())
            .map(|(o, n)| (o.to_string(), n.to_string()))
            .unwrap_or_else(|| (UNALLOCATED.to_string(), String::new()));
        *self.severity_counts.entry(severity.clone()).or_default() += 1;
        if severity == Severity::High.as_str() {
            *self.high_by_owner.entry(owner.clone()).or_default() += 1;
        }
        let latency = alert.latency_minutes();
        match latency {
            Some(l) if l < 0.0 => self.negative.push(NegativeLatency {
                systemAlertId: alert.system_alert_id.clone(),
                latency_minutes: l,
                severity: severity.clone(),
                resourceId: alert.resource_id.clone(),
                startTimeUtc: alert.started_ns.map(ns_to_iso).unwrap_or_default(),
                timeGeneratedUtc: alert.generated_ns.map(ns_to_iso).unwrap_or_default(),
            }),
            Some(l) => {
                self.overall.push(l);
                self.by_severity
                    .entry(severity.clone())
                    .or_default()
                    .push(l);
            }
            None => {}
        }
        self.latency.push(latency);
        self.excluded.push(latency.is_none_or(|l| l < 0.0));
        self.owner.push(owner);
        self.cluster.push(cluster);
    }
}

/// Detection latency and runtime alerts of `period`, with the population table.
pub fn compute(
    alerts: &AlertState,
    ledger: &ResourceLedger,
    params: &Parameters,
    period: Period,
) -> Result<DetectionResult> {
    let pop = population_of(alerts, params, period)?;
    let owners_by_cluster = cluster_owners(ledger);
    let mut tally = AlertTally::default();
    for alert in alert_rows(&pop)? {
        tally.add(&alert, &owners_by_cluster);
    }
    let n = pop.height() as i64;
    let population = population_table(pop, &mut tally)?;
    let by_owner_cluster_status = by_owner_cluster_status(&population)?;
    Ok(DetectionResult {
        latency: DetectionLatency {
            population: n,
            overall: stats_of(&tally.overall),
            by_severity: tally
                .by_severity
                .iter()
                .map(|(k, v)| (k.clone(), stats_of(v)))
                .collect(),
            negative_latency: tally.negative,
        },
        alerts: RuntimeAlerts {
            population: n,
            high_total: tally
                .severity_counts
                .get(Severity::High.as_str())
                .copied()
                .unwrap_or(0),
            by_severity: tally.severity_counts,
            high_by_owner: tally.high_by_owner,
        },
        population,
        by_owner_cluster_status,
    })
}

/// The population with its derived columns, in the published column order.
fn population_table(pop: DataFrame, tally: &mut AlertTally) -> Result<DataFrame> {
    pop.lazy()
        .with_columns([
            lit(Series::new(
                "latency_minutes".into(),
                std::mem::take(&mut tally.latency),
            )),
            lit(Series::new(
                "latency_excluded".into(),
                std::mem::take(&mut tally.excluded),
            )),
            lit(Series::new(
                "owner".into(),
                std::mem::take(&mut tally.owner),
            )),
            lit(Series::new(
                "cluster".into(),
                std::mem::take(&mut tally.cluster),
            )),
        ])
        .select([
            col(columns::SYSTEM_ALERT_ID),
            col(columns::ALERT_TYPE),
            col(columns::DISPLAY_NAME),
            col(columns::SEVERITY),
            col(columns::STATUS),
            col(columns::SUBSCRIPTION_ID),
            col(columns::RESOURCE_ID),
            col(columns::CLUSTER),
            col(columns::OWNER),
            col(columns::START_TIME_UTC),
            col(columns::TIME_GENERATED_UTC),
            col(columns::LATENCY_MINUTES),
            col(columns::LATENCY_EXCLUDED),
            col(SNAPSHOT_DATE).alias(columns::LAST_SEEN_SNAPSHOT),
        ])
        .collect()
        .ctx("alert population table")
}

/// Alert counts per owner, cluster, resource, severity and status.
fn by_owner_cluster_status(population: &DataFrame) -> Result<DataFrame> {
    population
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
        .ctx("alerts by owner, cluster and status")
}
