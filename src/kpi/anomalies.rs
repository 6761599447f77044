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

struct Cluster {
    id: String,
    name: String,
    kind: String,
    subscription: String,
    owner: String,
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
    let p = &params.anomalies;
    // Each cluster's protection on the days cost is read for.
    let protection: HashMap<(&str, NaiveDate), (bool, &str)> = resources
        .iter()
        .filter(|r| r.kind.is_cluster())
        .map(|r| {
            (
                (r.id_lower.as_str(), r.date),
                (r.protected, r.reason.as_str()),
            )
        })
        .collect();
    // Each cluster with its node resource group (AKS), as its latest snapshot describes it.
    let clusters: BTreeMap<String, (Cluster, Option<String>)> = ledger
        .latest()
        .iter()
        .filter(|(_, r)| r.kind.is_cluster())
        .map(|(key, r)| {
            let node_rg = (r.kind == ResourceKind::Aks)
                .then(|| r.node_resource_group.clone().filter(|s| !s.is_empty()))
                .flatten()
                .map(|s| s.to_lowercase());
            let cluster = Cluster {
                id: r.id.clone(),
                name: r.name.clone(),
                kind: r.kind.as_str().to_string(),
                subscription: r.subscription.clone(),
                owner: r.owner.clone(),
            };
            (key.clone(), (cluster, node_rg))
        })
        .collect();
    let by_node_rg: HashMap<(&str, &str), &str> = clusters
        .iter()
        .filter_map(|(k, (c, rg))| {
            rg.as_deref()
                .map(|rg| ((c.subscription.as_str(), rg), k.as_str()))
        })
        .collect();

    // Daily cost per (cluster, currency): rows of the cluster resource, then rows of its node
    // resource group. A row of a cluster resource that sits in another cluster's node
    // resource group counts for the cluster it names (the first rule wins), so it is taken
    // back out of that group's total.
    let r = &cost.rows;
    let mut daily: BTreeMap<(String, String), BTreeMap<NaiveDate, i64>> = BTreeMap::new();
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

    let (loaded_from, loaded_to) = cost.covered.unwrap_or((cost.from, cost.to_exclusive));
    let window = p.window_days.max(1) as u64;
    let mut anomalies = Vec::new();
    let mut rows: Vec<(&Cluster, String, Anomaly, String)> = Vec::new();
    for ((key, currency), series) in &daily {
        let cluster = &clusters[key].0;
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
            let previous: Vec<f64> = first
                .iter_days()
                .take_while(|x| *x < dd)
                .map(|x| series.get(&x).copied().unwrap_or(0) as f64 / NANOS_PER_UNIT as f64)
                .collect();
            let med = median(&previous).unwrap_or(0.0);
            let cost_day = m as f64 / NANOS_PER_UNIT as f64;
            if cost_day > p.multiplier * med && cost_day > p.floor {
                let prot = protection.get(&(key.as_str(), dd));
                let a = Anomaly {
                    clusterId: cluster.id.clone(),
                    date: dd,
                    cost: cost_day,
                    currency: currency.clone(),
                    median_previous: med,
                    ratio: (med != 0.0).then(|| cost_day / med),
                    protected: prot.map(|p| p.0),
                };
                let why = match prot {
                    None => "no snapshot that day".to_string(),
                    Some((true, _)) => String::new(),
                    Some((false, r)) => r.to_string(),
                };
                rows.push((cluster, key.clone(), a.clone(), why));
                anomalies.push(a);
            }
        }
    }
    // Unprotected first (the top risk), then by date and cost.
    anomalies.sort_by(|a, b| {
        a.coverage_rank()
            .cmp(&b.coverage_rank())
            .then(a.date.cmp(&b.date))
            .then(b.cost.total_cmp(&a.cost))
            .then(a.clusterId.cmp(&b.clusterId))
    });
    rows.sort_by(|a, b| {
        a.2.date
            .cmp(&b.2.date)
            .then(a.1.cmp(&b.1))
            .then(a.2.currency.cmp(&b.2.currency))
    });
    let table = frame::frame(vec![
        frame::date_column_of("date", &rows, |r| Some(r.2.date)),
        frame::column("cluster_id", &rows, |r| r.0.id.as_str()),
        frame::column("cluster_name", &rows, |r| r.0.name.as_str()),
        frame::column("kind", &rows, |r| r.0.kind.as_str()),
        frame::column("subscription_id", &rows, |r| r.0.subscription.as_str()),
        frame::column("owner", &rows, |r| r.0.owner.as_str()),
        frame::column("currency", &rows, |r| r.2.currency.as_str()),
        frame::column("cost", &rows, |r| r.2.cost),
        frame::column("median_previous", &rows, |r| r.2.median_previous),
        frame::column("ratio", &rows, |r| r.2.ratio),
        frame::column("protected", &rows, |r| r.2.protected),
        frame::column("reason_not_protected", &rows, |r| r.3.as_str()),
    ])?;
    Ok((anomalies, table))
}
