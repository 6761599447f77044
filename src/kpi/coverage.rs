//! Compliance Rate (coverage) and per-resource protection.
//!
//! A subscription is *in scope* on a snapshot day when it is `Enabled` and holds at least one
//! AKS cluster, registry or Arc cluster; it is *compliant* when its `Containers` plan is
//! `Standard` and every required extension has `isEnabled == "True"` (case-insensitive).
//! Daily rate = compliant / in scope × 100; gaps are runs of consecutive snapshot days on which
//! a subscription is in scope and not compliant.

use crate::error::{PolarsContext, Result};
use crate::frame::{self, bools, dates, ints, strs};
use crate::history::{SNAPSHOT_DATE, Snapshots};
use crate::kpi::owners::resolve_owner;
use crate::kpi::resource_days as rd;
use crate::kpi::vcores::vcpus_of;
use crate::kpi::{CoverageDay, CoverageKpis, Gap, Parameters};
use crate::period::Period;
use chrono::NaiveDate;
use polars::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Everything coverage produces: the KPIs, the tables behind them, and findings.
#[derive(Debug, Clone)]
pub struct CoverageResult {
    pub kpis: CoverageKpis,
    /// One row per snapshot day and subscription (all history up to the period end):
    /// snapshot_date, subscriptionId, subscriptionName, state, managementGroup,
    /// managementGroupName, in_scope, compliant, reason.
    pub subscription_days: DataFrame,
    /// One row per snapshot day and container resource (`kpi::resource_days`).
    pub resource_days: DataFrame,
    /// Month-end compliance per immediate parent management group.
    pub by_management_group: DataFrame,
    pub data_quality: Vec<String>,
}

pub fn compute(
    snap: &Snapshots,
    params: &Parameters,
    period: Period,
    sub_tags: &BTreeMap<String, Option<String>>,
) -> Result<CoverageResult> {
    let subscription_days = subscription_days(snap, params)?;
    let (resource_days, data_quality) = resource_days(snap, &subscription_days, params, sub_tags)?;
    let daily = daily_series(&subscription_days, &resource_days, period)?;
    let gaps = gaps(&subscription_days, &snap.days, period)?;
    let kpis = summarise(daily, gaps);
    let by_management_group = by_management_group(&subscription_days, kpis.month_end_date)?;
    Ok(CoverageResult {
        kpis,
        subscription_days,
        resource_days,
        by_management_group,
        data_quality,
    })
}

/// Whether a Containers plan's extensions include every required one enabled, and if not, why.
pub fn extensions_verdict(extensions_json: Option<&str>, required: &[String]) -> (bool, String) {
    let items: Vec<Value> = extensions_json
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for name in required {
        let item = items
            .iter()
            .find(|i| i.get("name").and_then(Value::as_str) == Some(name.as_str()));
        match item {
            None => problems.push(format!("{name} absent")),
            Some(i) => {
                let enabled = match i.get("isEnabled") {
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    Some(Value::Bool(b)) => *b,
                    _ => false,
                };
                if !enabled {
                    problems.push(format!("{name} disabled"));
                }
            }
        }
    }
    (problems.is_empty(), problems.join("; "))
}

fn lower_sub() -> Expr {
    col("subscriptionId")
        .str()
        .to_lowercase()
        .alias("subscriptionId")
}

/// Status of every subscription on every snapshot day.
pub fn subscription_days(snap: &Snapshots, params: &Parameters) -> Result<DataFrame> {
    let holdings = concat(
        ["aks_clusters", "arc_clusters", "container_registries"].map(|ds| {
            snap.frame(ds)
                .clone()
                .lazy()
                .select([col(SNAPSHOT_DATE), lower_sub()])
        }),
        UnionArgs::default(),
    )
    .ctx("container resources")?
    .group_by([col(SNAPSHOT_DATE), col("subscriptionId")])
    .agg([len().cast(DataType::Int64).alias("container_resources")]);

    let plans = containers_plan_verdicts(snap.frame("defender_plans"), params)?;

    let subs = snap.frame("subscriptions").clone().lazy().select([
        col(SNAPSHOT_DATE),
        lower_sub(),
        col("subscriptionName"),
        col("state"),
        col("managementGroups"),
    ]);
    let keys = [col(SNAPSHOT_DATE), col("subscriptionId")];
    let df = subs
        .join(
            holdings,
            keys.clone(),
            keys.clone(),
            JoinArgs::new(JoinType::Left),
        )
        .join(
            plans.lazy(),
            keys.clone(),
            keys,
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            col("container_resources").fill_null(lit(0i64)),
            col("state")
                .eq(lit("Enabled"))
                .and(
                    col("container_resources")
                        .fill_null(lit(0i64))
                        .gt(lit(0i64)),
                )
                .fill_null(lit(false))
                .alias("in_scope"),
            col("plan_compliant")
                .fill_null(lit(false))
                .alias("compliant"),
            col("plan_reason")
                .fill_null(lit("no Containers plan"))
                .alias("reason"),
        ])
        .sort(
            [SNAPSHOT_DATE, "subscriptionId"],
            SortMultipleOptions::default(),
        )
        .collect()
        .ctx("subscription status")?;

    // Immediate parent management group (first element of the ancestry chain).
    let chains = strs(&df, "managementGroups")?;
    let (mg, mg_name): (Vec<Option<String>>, Vec<Option<String>>) = chains
        .iter()
        .map(|c| {
            let first = c
                .as_deref()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .and_then(|v| v.as_array().and_then(|a| a.first().cloned()));
            let get = |k: &str| {
                first
                    .as_ref()
                    .and_then(|f| f.get(k))
                    .and_then(Value::as_str)
                    .map(String::from)
            };
            (get("name"), get("displayName").or_else(|| get("name")))
        })
        .unzip();
    let df = df
        .lazy()
        .with_columns([
            lit(Series::new("managementGroup".into(), mg)),
            lit(Series::new("managementGroupName".into(), mg_name)),
        ])
        .select([
            col(SNAPSHOT_DATE),
            col("subscriptionId"),
            col("subscriptionName"),
            col("state"),
            col("managementGroup"),
            col("managementGroupName"),
            col("container_resources"),
            col("in_scope"),
            col("compliant"),
            col("reason"),
        ])
        .collect()
        .ctx("subscription status")?;
    Ok(df)
}

/// Per (day, subscription): whether its Containers plan is compliant, and why not.
fn containers_plan_verdicts(plans: &DataFrame, params: &Parameters) -> Result<DataFrame> {
    let plans = plans
        .clone()
        .lazy()
        .filter(col("plan").eq(lit("Containers")))
        .with_columns([lower_sub()])
        .collect()
        .ctx("Containers plans")?;
    let tiers = strs(&plans, "pricingTier")?;
    let exts = strs(&plans, "extensions")?;
    let (ok, reason): (Vec<bool>, Vec<String>) = tiers
        .iter()
        .zip(&exts)
        .map(|(tier, ext)| {
            let (ext_ok, ext_reason) =
                extensions_verdict(ext.as_deref(), &params.required_extensions);
            let tier_ok = tier.as_deref() == Some("Standard");
            let mut why = Vec::new();
            if !tier_ok {
                why.push(format!(
                    "pricingTier {}",
                    tier.as_deref().unwrap_or("missing")
                ));
            }
            if !ext_reason.is_empty() {
                why.push(ext_reason);
            }
            (tier_ok && ext_ok, why.join("; "))
        })
        .unzip();
    plans
        .lazy()
        .with_columns([
            lit(Series::new("plan_compliant".into(), ok)),
            lit(Series::new("plan_reason".into(), reason)),
        ])
        // Should a day list the plan twice, a compliant row wins (it is the same subscription).
        .group_by([col(SNAPSHOT_DATE), col("subscriptionId")])
        .agg([
            col("plan_compliant").max().alias("plan_compliant"),
            col("plan_reason")
                .sort(SortOptions::default())
                .first()
                .alias("plan_reason"),
        ])
        .with_columns([when(col("plan_compliant"))
            .then(lit(""))
            .otherwise(col("plan_reason"))
            .alias("plan_reason")])
        .collect()
        .ctx("Containers plan verdicts")
}

/// vCores of an AKS cluster: Σ pool count × vCPUs of its VM size. Unparseable sizes count 0
/// and are returned as findings.
fn aks_vcores(
    pools_json: Option<&str>,
    params: &Parameters,
    unparsed: &mut BTreeSet<String>,
) -> i64 {
    let pools: Vec<Value> = pools_json
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    pools
        .iter()
        .map(|p| {
            let count = p.get("count").and_then(Value::as_i64).unwrap_or(0);
            let size = p.get("vmSize").and_then(Value::as_str).unwrap_or_default();
            match vcpus_of(size, &params.vcpu_overrides) {
                Some(v) => count * v,
                None => {
                    unparsed.insert(size.to_string());
                    0
                }
            }
        })
        .sum()
}

/// Per snapshot day and container resource: vCores, protection (with the reason when not) and
/// owner. Clusters and registries in a subscription that is not Enabled are never protected.
pub fn resource_days(
    snap: &Snapshots,
    subscription_days: &DataFrame,
    params: &Parameters,
    sub_tags: &BTreeMap<String, Option<String>>,
) -> Result<(DataFrame, Vec<String>)> {
    // (date, subscription) -> (state, compliant)
    let mut sub_status: BTreeMap<(NaiveDate, String), (String, bool)> = BTreeMap::new();
    {
        let d = dates(subscription_days, SNAPSHOT_DATE)?;
        let s = strs(subscription_days, "subscriptionId")?;
        let st = strs(subscription_days, "state")?;
        let c = bools(subscription_days, "compliant")?;
        for i in 0..d.len() {
            if let (Some(d), Some(s)) = (d[i], s[i].clone()) {
                sub_status.insert(
                    (d, s),
                    (st[i].clone().unwrap_or_default(), c[i].unwrap_or(false)),
                );
            }
        }
    }
    let mut unparsed = BTreeSet::new();
    let mut rows = ResourceRows::default();
    for (kind, dataset) in [
        ("aks", "aks_clusters"),
        ("arc", "arc_clusters"),
        ("registry", "container_registries"),
    ] {
        let df = snap.frame(dataset);
        let d = dates(df, SNAPSHOT_DATE)?;
        let ids = strs(df, "id")?;
        let names = strs(df, "name")?;
        let subs = strs(df, "subscriptionId")?;
        let rgs = strs(df, "resourceGroup")?;
        let tags = strs(df, "tags")?;
        // Owners repeat day after day: resolve each (resource tags, subscription tags) once.
        let mut owners: std::collections::HashMap<(Option<&str>, Option<&str>), String> =
            Default::default();
        // Kind-specific columns, read once per dataset (not per row).
        let (pools, enabled, nrg) = if kind == "aks" {
            (
                strs(df, "agentPools")?,
                bools(df, "defenderEnabled")?,
                strs(df, "nodeResourceGroup")?,
            )
        } else {
            Default::default()
        };
        let (cores, ext) = if kind == "arc" {
            (
                ints(df, "totalCoreCount")?,
                strs(df, "defenderExtensionState")?,
            )
        } else {
            Default::default()
        };
        for i in 0..df.height() {
            let (Some(date), Some(id), Some(sub)) = (d[i], ids[i].clone(), subs[i].clone()) else {
                continue;
            };
            let sub = sub.to_lowercase();
            let (state, sub_ok) = sub_status
                .get(&(date, sub.clone()))
                .cloned()
                .unwrap_or_default();
            let (vcores, own_ok, own_reason, node_rg) = match kind {
                "aks" => {
                    let v = aks_vcores(pools[i].as_deref(), params, &mut unparsed);
                    let reason = match enabled[i] {
                        Some(true) => "",
                        Some(false) => "Defender profile disabled",
                        None => "Defender profile absent",
                    };
                    (
                        v,
                        enabled[i] == Some(true),
                        reason.to_string(),
                        nrg[i].clone(),
                    )
                }
                "arc" => {
                    let reason = match ext[i].as_deref() {
                        Some("Succeeded") => String::new(),
                        None => "Defender extension not installed".into(),
                        Some(other) => format!("Defender extension {other}"),
                    };
                    (
                        cores[i].unwrap_or(0),
                        ext[i].as_deref() == Some("Succeeded"),
                        reason,
                        None,
                    )
                }
                _ => (0, true, String::new(), None),
            };
            let reason = if state != "Enabled" {
                format!(
                    "subscription {}",
                    if state.is_empty() { "unknown" } else { &state }
                )
            } else if !sub_ok {
                "subscription not compliant".to_string()
            } else {
                own_reason
            };
            let protected = state == "Enabled" && sub_ok && own_ok;
            rows.push(ResourceRow {
                date,
                kind,
                id: id.clone(),
                name: names[i].clone().unwrap_or_default(),
                sub: sub.clone(),
                rg: rgs[i].clone().unwrap_or_default(),
                node_rg,
                vcores,
                protected,
                reason: if protected { String::new() } else { reason },
                owner: {
                    let key = (
                        tags[i].as_deref(),
                        sub_tags.get(&sub).and_then(|t| t.as_deref()),
                    );
                    owners
                        .entry(key)
                        .or_insert_with(|| resolve_owner(key.0, key.1, &params.owner_tags))
                        .clone()
                },
            });
        }
    }
    let findings = unparsed
        .into_iter()
        .map(|s| format!("VM size '{s}' does not name its vCPUs; counted as 0 vCores (set showback.vcpu_overrides)"))
        .collect();
    Ok((rows.into_frame()?, findings))
}

struct ResourceRow {
    date: NaiveDate,
    kind: &'static str,
    id: String,
    name: String,
    sub: String,
    rg: String,
    node_rg: Option<String>,
    vcores: i64,
    protected: bool,
    reason: String,
    owner: String,
}

#[derive(Default)]
struct ResourceRows(Vec<ResourceRow>);

impl ResourceRows {
    fn push(&mut self, r: ResourceRow) {
        self.0.push(r)
    }

    fn into_frame(mut self) -> Result<DataFrame> {
        self.0
            .sort_by(|a, b| (a.date, a.kind, &a.id).cmp(&(b.date, b.kind, &b.id)));
        let r = &self.0;
        frame::frame(vec![
            frame::date_column_of(rd::DATE, r, |x| Some(x.date)),
            Column::new(
                rd::KIND.into(),
                r.iter().map(|x| x.kind).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::ID.into(),
                r.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::ID_LOWER.into(),
                r.iter().map(|x| x.id.to_lowercase()).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::NAME.into(),
                r.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::SUBSCRIPTION.into(),
                r.iter().map(|x| x.sub.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::RESOURCE_GROUP.into(),
                r.iter().map(|x| x.rg.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::NODE_RESOURCE_GROUP.into(),
                r.iter().map(|x| x.node_rg.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::VCORES.into(),
                r.iter().map(|x| x.vcores).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::PROTECTED.into(),
                r.iter().map(|x| x.protected).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::REASON.into(),
                r.iter().map(|x| x.reason.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                rd::OWNER.into(),
                r.iter().map(|x| x.owner.as_str()).collect::<Vec<_>>(),
            ),
        ])
    }
}

/// The daily series for the snapshot days of the period.
fn daily_series(
    subscription_days: &DataFrame,
    resource_days: &DataFrame,
    period: Period,
) -> Result<Vec<CoverageDay>> {
    let in_period = |lf: LazyFrame| lf.filter(crate::frame::in_period(SNAPSHOT_DATE, period));
    let subs = in_period(subscription_days.clone().lazy())
        .group_by([col(SNAPSHOT_DATE)])
        .agg([
            col("in_scope")
                .cast(DataType::Int64)
                .sum()
                .alias("in_scope"),
            col("in_scope")
                .and(col("compliant"))
                .cast(DataType::Int64)
                .sum()
                .alias("compliant"),
        ])
        .sort([SNAPSHOT_DATE], SortMultipleOptions::default())
        .collect()
        .ctx("daily coverage")?;
    let res = in_period(resource_days.clone().lazy())
        .group_by([col(SNAPSHOT_DATE), col(rd::KIND)])
        .agg([
            len().cast(DataType::Int64).alias("total"),
            col(rd::PROTECTED)
                .cast(DataType::Int64)
                .sum()
                .alias("protected"),
        ])
        .collect()
        .ctx("daily protection")?;
    let mut per_kind: BTreeMap<(NaiveDate, String), (i64, i64)> = BTreeMap::new();
    {
        let d = dates(&res, SNAPSHOT_DATE)?;
        let k = strs(&res, rd::KIND)?;
        let t = ints(&res, "total")?;
        let p = ints(&res, "protected")?;
        for i in 0..d.len() {
            per_kind.insert(
                (d[i].unwrap(), k[i].clone().unwrap()),
                (t[i].unwrap_or(0), p[i].unwrap_or(0)),
            );
        }
    }
    let d = dates(&subs, SNAPSHOT_DATE)?;
    let s = ints(&subs, "in_scope")?;
    let c = ints(&subs, "compliant")?;
    Ok((0..d.len())
        .map(|i| {
            let date = d[i].unwrap();
            let (in_scope, compliant) = (s[i].unwrap_or(0), c[i].unwrap_or(0));
            let kind = |k: &str| {
                per_kind
                    .get(&(date, k.to_string()))
                    .copied()
                    .unwrap_or((0, 0))
            };
            let (aks_total, aks_protected) = kind("aks");
            let (arc_total, arc_protected) = kind("arc");
            let (registries_total, registries_protected) = kind("registry");
            CoverageDay {
                date,
                in_scope,
                compliant,
                rate: (in_scope > 0).then(|| compliant as f64 / in_scope as f64 * 100.0),
                aks_total,
                aks_protected,
                arc_total,
                arc_protected,
                registries_total,
                registries_protected,
            }
        })
        .collect())
}

/// Runs of consecutive snapshot days (over all history, so a gap that started last month is
/// known to continue) on which a subscription is in scope and not compliant, clipped to the
/// period's snapshot days.
fn gaps(subscription_days: &DataFrame, all_days: &[NaiveDate], period: Period) -> Result<Vec<Gap>> {
    let d = dates(subscription_days, SNAPSHOT_DATE)?;
    let s = strs(subscription_days, "subscriptionId")?;
    let scope = bools(subscription_days, "in_scope")?;
    let ok = bools(subscription_days, "compliant")?;
    let mut failing: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
    for i in 0..d.len() {
        if scope[i] == Some(true) && ok[i] != Some(true) {
            failing
                .entry(s[i].clone().unwrap())
                .or_default()
                .insert(d[i].unwrap());
        }
    }
    let days: Vec<NaiveDate> = all_days
        .iter()
        .copied()
        .filter(|d| *d < period.end_exclusive())
        .collect();
    let last_period_day = days.iter().rev().find(|d| period.contains(**d)).copied();
    let mut out = Vec::new();
    for (sub, bad) in failing {
        let mut run: Vec<NaiveDate> = Vec::new();
        let mut flush = |run: &mut Vec<NaiveDate>| {
            let inside: Vec<NaiveDate> = run
                .iter()
                .copied()
                .filter(|d| period.contains(*d))
                .collect();
            if let (Some(first), Some(last)) = (inside.first(), inside.last()) {
                out.push(Gap {
                    subscriptionId: sub.clone(),
                    start: *first,
                    end: *last,
                    days: inside.len() as i64,
                    continues_from_previous_period: run[0] < period.start(),
                    open_at_period_end: Some(*last) == last_period_day,
                });
            }
            run.clear();
        };
        for day in &days {
            if bad.contains(day) {
                run.push(*day);
            } else if !run.is_empty() {
                flush(&mut run);
            }
        }
        if !run.is_empty() {
            flush(&mut run);
        }
    }
    out.sort_by(|a, b| (a.start, &a.subscriptionId).cmp(&(b.start, &b.subscriptionId)));
    Ok(out)
}

fn summarise(daily: Vec<CoverageDay>, gaps: Vec<Gap>) -> CoverageKpis {
    let rates: Vec<f64> = daily.iter().filter_map(|d| d.rate).collect();
    let last = daily.last();
    CoverageKpis {
        month_end_date: last.map(|d| d.date),
        month_end_rate: last.and_then(|d| d.rate),
        min_rate: rates.iter().copied().reduce(f64::min),
        mean_rate: crate::kpi::stats::mean(&rates),
        gap_subscription_days: daily.iter().map(|d| d.in_scope - d.compliant).sum(),
        gaps,
        daily,
    }
}

/// Month-end in-scope and compliant subscriptions per immediate parent management group.
fn by_management_group(
    subscription_days: &DataFrame,
    month_end: Option<NaiveDate>,
) -> Result<DataFrame> {
    let Some(day) = month_end else {
        return frame::frame(vec![
            Column::new("managementGroup".into(), Vec::<String>::new()),
            Column::new("managementGroupName".into(), Vec::<String>::new()),
            Column::new("in_scope".into(), Vec::<i64>::new()),
            Column::new("compliant".into(), Vec::<i64>::new()),
            Column::new("rate".into(), Vec::<f64>::new()),
        ]);
    };
    subscription_days
        .clone()
        .lazy()
        .filter(col(SNAPSHOT_DATE).eq(lit(day)).and(col("in_scope")))
        .group_by([col("managementGroup"), col("managementGroupName")])
        .agg([
            len().cast(DataType::Int64).alias("in_scope"),
            col("compliant")
                .cast(DataType::Int64)
                .sum()
                .alias("compliant"),
        ])
        .with_columns([(col("compliant").cast(DataType::Float64) * lit(100.0)
            / col("in_scope").cast(DataType::Float64))
        .alias("rate")])
        .sort(["managementGroup"], SortMultipleOptions::default())
        .collect()
        .ctx("coverage by management group")
}
