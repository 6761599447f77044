//! Compliance Rate (coverage) and per-resource protection.
//!
//! A subscription is *in scope* on a snapshot day when it is `Enabled` and holds at least one
//! AKS cluster, registry or Arc cluster; it is *compliant* when its `Containers` plan is
//! `Standard` and every required extension has `isEnabled == "True"` (case-insensitive).
//! Daily rate = compliant / in scope × 100; gaps are runs of consecutive snapshot days on which
//! a subscription is in scope and not compliant.

use crate::error::{PolarsContext, Result};
use crate::frame::{self, bools, dates, ints, strs};
use crate::history::{SNAPSHOT_DATE, SnapshotDay};
use crate::kpi::container_instances::{ContainerGroupState, ContainerGroups};
use crate::kpi::hardening::{self, Hardening};
use crate::kpi::owners::resource_heads;
use crate::kpi::resource_days::{self as rd, ResourceDay, ResourceKind, ResourceLedger};
use crate::kpi::subscription_days::{self as sd, SubscriptionDay};
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
    /// The coverage part of kpis.json.
    pub kpis: CoverageKpis,
    /// One row per snapshot day of the period and subscription: snapshot_date,
    /// subscriptionId, subscriptionName, state, managementGroup, managementGroupName,
    /// container_resources, in_scope, compliant, reason. (Every day of history is in the
    /// published `data/subscription_days.parquet`, written as history is read.)
    pub subscription_days: DataFrame,
    /// Resource-days of the period's snapshot days, in table order (showback splits the
    /// period's Defender charges and anomalies read coverage on the period's days from them).
    pub resource_days: Vec<ResourceDay>,
    /// Every resource of history: latest row, protected days, node resource groups.
    pub ledger: ResourceLedger,
    /// Month-end compliance per immediate parent management group.
    pub by_management_group: DataFrame,
    /// Azure Container Instances container groups of the period: not covered by Defender
    /// for Containers, so outside every rate above.
    pub container_groups: ContainerGroups,
    /// Data-quality findings (VM sizes that name no vCPU count).
    pub data_quality: Vec<String>,
}

/// What coverage keeps while history is read day by day: the period's subscription-days,
/// its resource-days, the ledger of every resource and the open coverage gaps.
pub struct CoverageState {
    period: Period,
    period_subscription_days: Vec<DataFrame>,
    /// The subscription-days schema with no rows (for a period without snapshot days).
    no_subscription_days: Option<DataFrame>,
    recent: Vec<ResourceDay>,
    ledger: ResourceLedger,
    gaps: GapTracker,
    container_groups: ContainerGroupState,
    unparsed_vm_sizes: BTreeSet<String>,
}

/// One day's coverage tables, as `CoverageState::add_day` derived them.
pub struct DayCoverage {
    /// The day's subscription-days table (`kpi::subscription_days`).
    pub subscription_days: DataFrame,
    /// Sorted by kind, then id.
    pub resource_days: Vec<ResourceDay>,
}

impl CoverageState {
    /// `days`: every snapshot day that will be added (ascending).
    pub fn new(days: &[NaiveDate], period: Period) -> CoverageState {
        CoverageState {
            period,
            period_subscription_days: Vec::new(),
            no_subscription_days: None,
            recent: Vec::new(),
            ledger: ResourceLedger::new(days.to_vec()),
            gaps: GapTracker::new(period, days),
            container_groups: ContainerGroupState::new(period),
            unparsed_vm_sizes: BTreeSet::new(),
        }
    }

    /// Derive one snapshot day's tables and fold them in. Days arrive in ascending order.
    pub fn add_day(
        &mut self,
        day: &SnapshotDay,
        params: &Parameters,
        sub_tags: &BTreeMap<String, Option<String>>,
    ) -> Result<DayCoverage> {
        let subs = subscription_days(day, params)?;
        let (resources, hardening) =
            resource_days(day, &subs, params, sub_tags, &mut self.unparsed_vm_sizes)?;
        self.gaps.add_day(day.date, &failing_subscriptions(&subs)?);
        self.container_groups
            .add_day(day, &params.owner_tags, sub_tags)?;
        for r in &resources {
            self.ledger.add(r);
        }
        // In table order: the latest row of a resource wins, as for its owner.
        for (id_lower, h) in hardening {
            self.ledger.set_hardening(id_lower, h);
        }
        if self.period.contains(day.date) {
            self.recent.extend(resources.iter().cloned());
        }
        if self.period.contains(day.date) {
            self.period_subscription_days.push(subs.clone());
        }
        self.no_subscription_days
            .get_or_insert_with(|| subs.clear());
        Ok(DayCoverage {
            subscription_days: subs,
            resource_days: resources,
        })
    }

    /// The KPIs and tables of the period, once every day is in.
    pub fn finish(self) -> Result<CoverageResult> {
        let subscription_days = match self.period_subscription_days.is_empty() {
            true => self.no_subscription_days.unwrap_or_default(),
            false => stack(self.period_subscription_days)?,
        };
        let daily = daily_series(
            &subscription_days,
            &rd::to_frame(&self.recent)?,
            self.period,
        )?;
        let kpis = summarise(daily, self.gaps.finish());
        let by_management_group = by_management_group(&subscription_days, kpis.month_end_date)?;
        let data_quality = self
            .unparsed_vm_sizes
            .into_iter()
            .map(|s| format!("VM size '{s}' does not name its vCPUs; counted as 0 vCores (set showback.vcpu_overrides)"))
            .collect();
        Ok(CoverageResult {
            kpis,
            subscription_days,
            resource_days: self.recent,
            ledger: self.ledger,
            by_management_group,
            container_groups: self.container_groups.finish(),
            data_quality,
        })
    }
}

/// Frames of one schema stacked in order (at least one).
fn stack(frames: Vec<DataFrame>) -> Result<DataFrame> {
    let mut it = frames.into_iter();
    let mut acc = it.next().unwrap_or_default();
    for f in it {
        acc.vstack_mut(&f).ctx("stacking subscription-days")?;
    }
    acc.rechunk_mut();
    Ok(acc)
}

/// Subscriptions in scope and not compliant on a day's subscription-days.
fn failing_subscriptions(subscription_days: &DataFrame) -> Result<BTreeSet<String>> {
    Ok(sd::rows(subscription_days)?
        .into_iter()
        .filter(SubscriptionDay::is_gap)
        .filter_map(|r| r.subscription_id)
        .collect())
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
    col(sd::SUBSCRIPTION_ID)
        .str()
        .to_lowercase()
        .alias(sd::SUBSCRIPTION_ID)
}

/// Status of every subscription on one snapshot day: the subscription-days table
/// (`kpi::subscription_days`) of that day.
pub fn subscription_days(day: &SnapshotDay, params: &Parameters) -> Result<DataFrame> {
    let plans = containers_plan_verdicts(day.frame("defender_plans"), params)?;
    let subs = day.frame("subscriptions").clone().lazy().select([
        col(SNAPSHOT_DATE),
        lower_sub(),
        col(sd::SUBSCRIPTION_NAME),
        col(sd::STATE),
        col("managementGroups"),
    ]);
    let keys = [col(SNAPSHOT_DATE), col(sd::SUBSCRIPTION_ID)];
    let df = subs
        .join(
            container_holdings(day)?,
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
            col(sd::CONTAINER_RESOURCES).fill_null(lit(0i64)),
            col(sd::STATE)
                .eq(lit("Enabled"))
                .and(
                    col(sd::CONTAINER_RESOURCES)
                        .fill_null(lit(0i64))
                        .gt(lit(0i64)),
                )
                .fill_null(lit(false))
                .alias(sd::IN_SCOPE),
            col("plan_compliant")
                .fill_null(lit(false))
                .alias(sd::COMPLIANT),
            col("plan_reason")
                .fill_null(lit("no Containers plan"))
                .alias(sd::REASON),
        ])
        .sort(
            [SNAPSHOT_DATE, sd::SUBSCRIPTION_ID],
            SortMultipleOptions::default(),
        )
        .collect()
        .ctx("subscription status")?;
    with_management_groups(df)
}

/// Container resources (AKS, Arc, registries) per (day, lower-case subscription).
fn container_holdings(day: &SnapshotDay) -> Result<LazyFrame> {
    Ok(concat(
        ["aks_clusters", "arc_clusters", "container_registries"].map(|ds| {
            day.frame(ds)
                .clone()
                .lazy()
                .select([col(SNAPSHOT_DATE), lower_sub()])
        }),
        UnionArgs::default(),
    )
    .ctx("container resources")?
    .group_by([col(SNAPSHOT_DATE), col(sd::SUBSCRIPTION_ID)])
    .agg([len().cast(DataType::Int64).alias(sd::CONTAINER_RESOURCES)]))
}

/// The immediate parent management group (first element of the `managementGroups` ancestry
/// chain), id and display name, and the table's columns in order.
fn with_management_groups(df: DataFrame) -> Result<DataFrame> {
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
    df.lazy()
        .with_columns([
            lit(Series::new(sd::MANAGEMENT_GROUP.into(), mg)),
            lit(Series::new(sd::MANAGEMENT_GROUP_NAME.into(), mg_name)),
        ])
        .select(sd::COLUMNS.map(col))
        .collect()
        .ctx("subscription status")
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

/// A day's resource-days, and the hardening of its AKS and registry rows by lower-case id.
type DayResources = (Vec<ResourceDay>, Vec<(String, Hardening)>);

/// One snapshot day's container resources: vCores, protection (with the reason when not) and
/// owner, sorted by kind then id; and the hardening of each AKS cluster and registry row (by
/// lower-case id, in table order). Clusters and registries in a subscription that is not
/// Enabled are never protected. VM sizes that name no vCPUs are added to `unparsed`.
pub fn resource_days(
    day: &SnapshotDay,
    subscription_days: &DataFrame,
    params: &Parameters,
    sub_tags: &BTreeMap<String, Option<String>>,
    unparsed: &mut BTreeSet<String>,
) -> Result<DayResources> {
    let status = subscription_status(subscription_days)?;
    let mut rows = Vec::new();
    let mut hardening = Vec::new();
    for kind in ResourceKind::ALL {
        let df = day.frame(kind.dataset());
        let own = own_protection(kind, df, params, unparsed)?;
        let mut settings = hardening::of_rows(kind, df)?;
        let heads = resource_heads(df, &params.owner_tags, sub_tags)?;
        for (i, head) in heads.into_iter().enumerate() {
            let Some(h) = head else {
                continue;
            };
            let (state, sub_ok) = status.get(&h.subscription).cloned().unwrap_or_default();
            let (protected, reason) = protection(&state, sub_ok, &own[i]);
            let id_lower = h.id.to_lowercase();
            if let Some(hd) = settings[i].take() {
                hardening.push((id_lower.clone(), hd));
            }
            rows.push(ResourceDay {
                date: day.date,
                kind,
                id_lower,
                id: h.id,
                name: h.name,
                subscription: h.subscription,
                resource_group: h.resource_group,
                node_resource_group: own[i].node_resource_group.clone(),
                vcores: own[i].vcores,
                protected,
                reason,
                owner: h.owner,
            });
        }
    }
    rows.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    Ok((rows, hardening))
}

/// Lower-case subscription → (state, compliant) on a day's subscription-days.
fn subscription_status(subscription_days: &DataFrame) -> Result<BTreeMap<String, (String, bool)>> {
    Ok(sd::rows(subscription_days)?
        .into_iter()
        .filter_map(|r| {
            let state = r.state.unwrap_or_default();
            Some((r.subscription_id?, (state, r.compliant)))
        })
        .collect())
}

/// What a resource says of its own protection, whatever its subscription.
#[derive(Debug, Clone, Default)]
struct OwnProtection {
    vcores: i64,
    enabled: bool,
    reason: String,
    node_resource_group: Option<String>,
}

/// Per row of a resource dataset: AKS by its Defender profile, Arc by its Defender extension,
/// registries by their subscription alone.
fn own_protection(
    kind: ResourceKind,
    df: &DataFrame,
    params: &Parameters,
    unparsed: &mut BTreeSet<String>,
) -> Result<Vec<OwnProtection>> {
    Ok(match kind {
        ResourceKind::Aks => {
            let (pools, enabled, nrg) = (
                strs(df, "agentPools")?,
                bools(df, "defenderEnabled")?,
                strs(df, "nodeResourceGroup")?,
            );
            (0..df.height())
                .map(|i| OwnProtection {
                    vcores: aks_vcores(pools[i].as_deref(), params, unparsed),
                    enabled: enabled[i] == Some(true),
                    reason: match enabled[i] {
                        Some(true) => "",
                        Some(false) => "Defender profile disabled",
                        None => "Defender profile absent",
                    }
                    .to_string(),
                    node_resource_group: nrg[i].clone(),
                })
                .collect()
        }
        ResourceKind::Arc => {
            let (cores, ext) = (
                ints(df, "totalCoreCount")?,
                strs(df, "defenderExtensionState")?,
            );
            (0..df.height())
                .map(|i| OwnProtection {
                    vcores: cores[i].unwrap_or(0),
                    enabled: ext[i].as_deref() == Some("Succeeded"),
                    reason: match ext[i].as_deref() {
                        Some("Succeeded") => String::new(),
                        None => "Defender extension not installed".into(),
                        Some(other) => format!("Defender extension {other}"),
                    },
                    node_resource_group: None,
                })
                .collect()
        }
        ResourceKind::Registry => vec![
            OwnProtection {
                enabled: true,
                ..Default::default()
            };
            df.height()
        ],
    })
}

/// Protected, and if not why: the subscription first (state, then compliance), then the
/// resource's own setting.
fn protection(state: &str, subscription_compliant: bool, own: &OwnProtection) -> (bool, String) {
    let protected = state == "Enabled" && subscription_compliant && own.enabled;
    let reason = if protected {
        String::new()
    } else if state != "Enabled" {
        format!(
            "subscription {}",
            if state.is_empty() { "unknown" } else { state }
        )
    } else if !subscription_compliant {
        "subscription not compliant".to_string()
    } else {
        own.reason.clone()
    };
    (protected, reason)
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

/// Coverage gaps: runs of consecutive snapshot days (over all history, so a gap that started
/// last month is known to continue) on which a subscription is in scope and not compliant,
/// clipped to the period's snapshot days. Fed one day at a time; keeps only the open runs.
struct GapTracker {
    period: Period,
    /// The last snapshot day inside the period: a run reaching it is open at period end.
    last_period_day: Option<NaiveDate>,
    open: BTreeMap<String, Run>,
    done: Vec<Gap>,
}

/// An open run of failing days: the day it began, and its days inside the period.
struct Run {
    began: NaiveDate,
    inside: Option<(NaiveDate, NaiveDate, i64)>,
}

impl GapTracker {
    fn new(period: Period, days: &[NaiveDate]) -> GapTracker {
        GapTracker {
            period,
            last_period_day: days.iter().rev().find(|d| period.contains(**d)).copied(),
            open: BTreeMap::new(),
            done: Vec::new(),
        }
    }

    /// The subscriptions failing on `day`: their runs go on, every other run ends.
    fn add_day(&mut self, day: NaiveDate, failing: &BTreeSet<String>) {
        let ended: Vec<String> = self
            .open
            .keys()
            .filter(|s| !failing.contains(*s))
            .cloned()
            .collect();
        for sub in ended {
            let run = self.open.remove(&sub).expect("listed above");
            self.close(sub, run);
        }
        for sub in failing {
            let run = self.open.entry(sub.clone()).or_insert(Run {
                began: day,
                inside: None,
            });
            if self.period.contains(day) {
                run.inside = Some(match run.inside {
                    None => (day, day, 1),
                    Some((first, _, n)) => (first, day, n + 1),
                });
            }
        }
    }

    fn close(&mut self, sub: String, run: Run) {
        if let Some((start, end, days)) = run.inside {
            self.done.push(Gap {
                subscriptionId: sub,
                start,
                end,
                days,
                continues_from_previous_period: run.began < self.period.start(),
                open_at_period_end: Some(end) == self.last_period_day,
            });
        }
    }

    /// Every gap touching the period, by start then subscription.
    fn finish(mut self) -> Vec<Gap> {
        for (sub, run) in std::mem::take(&mut self.open) {
            self.close(sub, run);
        }
        let mut out = self.done;
        out.sort_by(|a, b| (a.start, &a.subscriptionId).cmp(&(b.start, &b.subscriptionId)));
        out
    }
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
