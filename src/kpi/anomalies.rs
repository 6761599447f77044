//! Cost anomalies per cluster-day (the cryptojacking signal).
//!
//! Daily cost of a cluster: for AKS, the rows whose resource id is the cluster plus the rows
//! of the same subscription whose resource group is the cluster's node resource group; for
//! Arc, the cluster resource only (ids and group names compare case-insensitively). A day is
//! anomalous when its cost exceeds `multiplier` × the median of the previous `window_days`
//! calendar days (a day without cost rows counts 0) and exceeds `floor`. A day is evaluated
//! only when its whole window lies inside the loaded cost data.

use crate::collect::cost_exports::{CostData, NANOS_PER_UNIT};
use crate::error::Result;
use crate::frame;
use crate::kpi::resource_days::{ResourceDay, ResourceKind, ResourceLedger};
use crate::kpi::stats::median;
use crate::kpi::{Anomaly, Parameters};
use crate::period::Period;
use chrono::{Days, NaiveDate};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// A cluster as its latest snapshot describes it.
struct Cluster {
    id: String,
    name: String,
    kind: String,
    subscription: String,
    owner: String,
    /// AKS only: the node resource group, lower-case.
    node_resource_group: Option<String>,
}

/// A cluster's protection on a day: (protected, reason not protected).
type Protection<'r> = HashMap<(&'r str, NaiveDate), (bool, &'r str)>;

/// Daily cost in nano-units per (lower-case cluster id, currency).
type DailyCost = BTreeMap<(String, String), BTreeMap<NaiveDate, i64>>;

/// One anomalous cluster-day: a row of cost-anomalies.csv.
struct AnomalyRow<'c> {
    cluster: &'c Cluster,
    /// Lower-case cluster id.
    key: String,
    anomaly: Anomaly,
    reason_not_protected: String,
}

/// Anomalous cluster-days of `period`, with the cluster's coverage that day, and the table
/// for `finance/cost-anomalies.csv`: date, cluster_id, cluster_name, kind, subscription_id,
/// owner, currency, cost, median_previous, ratio, protected, reason_not_protected.
pub fn compute(
    cost: &CostData,
    resources: &[ResourceDay],
    ledger: &ResourceLedger,
    params: &Parameters,
    period: Period,
) -> Result<(Vec<Anomaly>, DataFrame)> {
    let protection = cluster_protection(resources);
    let clusters = clusters_of(ledger);
    let daily = daily_cluster_cost(cost, &clusters);
    let mut rows = anomalous_days(cost, &clusters, &daily, &protection, params, period);
    let mut anomalies: Vec<Anomaly> = rows.iter().map(|r| r.anomaly.clone()).collect();
    // Unprotected first (the top risk), then by date and cost.
    anomalies.sort_by(|a, b| {
        a.coverage_rank()
            .cmp(&b.coverage_rank())
            .then(a.date.cmp(&b.date))
            .then(b.cost.total_cmp(&a.cost))
            .then(a.clusterId.cmp(&b.clusterId))
    });
    rows.sort_by(|a, b| {
        (a.anomaly.date.cmp(&b.anomaly.date))
            .then(a.key.cmp(&b.key))
            .then(a.anomaly.currency.cmp(&b.anomaly.currency))
    });
    Ok((anomalies, anomaly_table(&rows)?))
}

/// Each cluster's protection on the days cost is read for.
fn cluster_protection(resources: &[ResourceDay]) -> Protection<'_> {
    resources
        .iter()
        .filter(|r| r.kind.is_cluster())
        .map(|r| {
            (
                (r.id_lower.as_str(), r.date),
                (r.protected, r.reason.as_str()),
            )
        })
        .collect()
}

/// Each cluster by lower-case id, with its node resource group (AKS), as its latest snapshot
/// describes it.
fn clusters_of(ledger: &ResourceLedger) -> BTreeMap<String, Cluster> {
    ledger
        .latest()
        .iter()
        .filter(|(_, r)| r.kind.is_cluster())
        .map(|(key, r)| {
            let node_resource_group = (r.kind == ResourceKind::Aks)
                .then(|| r.node_resource_group.clone().filter(|s| !s.is_empty()))
                .flatten()
                .map(|s| s.to_lowercase());
            let cluster = Cluster {
                id: r.id.clone(),
                name: r.name.clone(),
                kind: r.kind.as_str().to_string(),
                subscription: r.subscription.clone(),
                owner: r.owner.clone(),
                node_resource_group,
            };
            (key.clone(), cluster)
        })
        .collect()
}

/// Daily cost per (cluster, currency): rows of the cluster resource, then rows of its node
/// resource group. A row of a cluster resource that sits in another cluster's node resource
/// group counts for the cluster it names (the first rule wins), so it is taken back out of
/// that group's total.
fn daily_cluster_cost(cost: &CostData, clusters: &BTreeMap<String, Cluster>) -> DailyCost {
    let by_node_rg: HashMap<(&str, &str), &str> = clusters
        .iter()
        .filter_map(|(k, c)| {
            c.node_resource_group
                .as_deref()
                .map(|rg| ((c.subscription.as_str(), rg), k.as_str()))
        })
        .collect();
    let r = &cost.rows;
    let mut daily = DailyCost::new();
    let mut credit = |cluster: &str, currency: &str, day: NaiveDate, nanos: i64| {
        *daily
            .entry((cluster.to_string(), currency.to_string()))
            .or_default()
            .entry(day)
            .or_default() += nanos;
    };
    for c in &r.cluster_daily {
        let res = r.resource(c);
        if clusters.contains_key(res.id.as_str()) {
            credit(&res.id, r.currency(c), c.date, c.nanos);
            let group = (res.subscription.as_str(), res.group.as_str());
            if let Some(other) = by_node_rg.get(&group) {
                credit(other, r.currency(c), c.date, -c.nanos);
            }
        }
    }
    for c in &r.group_daily {
        let (s, g) = &r.groups[c.key as usize];
        if let Some(cluster) = by_node_rg.get(&(s.as_str(), g.as_str())) {
            credit(cluster, r.currency(c), c.date, c.nanos);
        }
    }
    // A cluster whose only rows were taken back has no cost those days.
    daily.retain(|_, series| {
        series.retain(|_, m| *m != 0);
        !series.is_empty()
    });
    daily
}

/// The period's cluster-days whose cost exceeds `multiplier` × the median of the previous
/// `window_days` and the floor, among the days whose whole window is loaded.
fn anomalous_days<'c>(
    cost: &CostData,
    clusters: &'c BTreeMap<String, Cluster>,
    daily: &DailyCost,
    protection: &Protection,
    params: &Parameters,
    period: Period,
) -> Vec<AnomalyRow<'c>> {
    let p = &params.anomalies;
    let (loaded_from, loaded_to) = cost.covered.unwrap_or((cost.from, cost.to_exclusive));
    let window = p.window_days.max(1) as u64;
    let mut rows = Vec::new();
    for ((key, currency), series) in daily {
        let cluster = &clusters[key];
        for (&dd, &m) in series {
            if !period.contains(dd) || dd >= loaded_to {
                continue;
            }
            let Some(first) = dd.checked_sub_days(Days::new(window)) else {
                continue;
            };
            if first < loaded_from {
                continue;
            }
            let med = median(&previous_days(series, first, dd)).unwrap_or(0.0);
            let cost_day = m as f64 / NANOS_PER_UNIT as f64;
            if cost_day > p.multiplier * med && cost_day > p.floor {
                let prot = protection.get(&(key.as_str(), dd));
                let anomaly = Anomaly {
                    clusterId: cluster.id.clone(),
                    date: dd,
                    cost: cost_day,
                    currency: currency.clone(),
                    median_previous: med,
                    ratio: (med != 0.0).then(|| cost_day / med),
                    protected: prot.map(|p| p.0),
                };
                let reason_not_protected = match prot {
                    None => "no snapshot that day".to_string(),
                    Some((true, _)) => String::new(),
                    Some((false, r)) => r.to_string(),
                };
                rows.push(AnomalyRow {
                    cluster,
                    key: key.clone(),
                    anomaly,
                    reason_not_protected,
                });
            }
        }
    }
    rows
}

/// The cost of each day in `[first, day)`, in currency units (0 without cost).
fn previous_days(series: &BTreeMap<NaiveDate, i64>, first: NaiveDate, day: NaiveDate) -> Vec<f64> {
    first
        .iter_days()
        .take_while(|x| *x < day)
        .map(|x| series.get(&x).copied().unwrap_or(0) as f64 / NANOS_PER_UNIT as f64)
        .collect()
}

fn anomaly_table(rows: &[AnomalyRow]) -> Result<DataFrame> {
    frame::frame(vec![
        frame::date_column_of("date", rows, |r| Some(r.anomaly.date)),
        frame::column("cluster_id", rows, |r| r.cluster.id.as_str()),
        frame::column("cluster_name", rows, |r| r.cluster.name.as_str()),
        frame::column("kind", rows, |r| r.cluster.kind.as_str()),
        frame::column("subscription_id", rows, |r| r.cluster.subscription.as_str()),
        frame::column("owner", rows, |r| r.cluster.owner.as_str()),
        frame::column("currency", rows, |r| r.anomaly.currency.as_str()),
        frame::column("cost", rows, |r| r.anomaly.cost),
        frame::column("median_previous", rows, |r| r.anomaly.median_previous),
        frame::column("ratio", rows, |r| r.anomaly.ratio),
        frame::column("protected", rows, |r| r.anomaly.protected),
        frame::column("reason_not_protected", rows, |r| {
            r.reason_not_protected.as_str()
        }),
    ])
}
