//! Showback: cost rows of the period by owner, with Defender for Containers charges split by
//! protected vCores, and the reconciliation invariant (Σ showback = Σ export rows per currency).
//!
//! All arithmetic is in integer nano-units of the billing currency (as loaded), so every
//! split is exact: the owners' shares of a charge add up to the charge, and the invariant is
//! checked both on those integers and on the published amounts.

use crate::collect::cost_exports::{CostData, NANOS_PER_UNIT};
use crate::error::{Error, Result};
use crate::frame::{self, bools, dates, ints, strs};
use crate::kpi::owners::{UNALLOCATED, owner_in, parse_tags};
use crate::kpi::resource_days as rd;
use crate::kpi::{DefenderAllocation, Parameters, ShowbackKpis};
use crate::period::Period;
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a row's owner came from (`owner_source` in showback-by-resource.csv).
pub const SOURCE_RESOURCE_TAG: &str = "resource tag";
pub const SOURCE_SUBSCRIPTION_TAG: &str = "subscription tag";
pub const SOURCE_DEFENDER_SPLIT: &str = "defender vcore split";
/// A Defender for Containers charge that could not be split (owner `unallocated`).
pub const SOURCE_DEFENDER_UNSPLIT: &str = "defender not split";
pub const SOURCE_UNALLOCATED: &str = "unallocated";

/// Why a Defender charge went where it did (`allocation_basis` in defender-cost-allocation.csv).
pub const BASIS_VCORES: &str = "protected vCores";
pub const BASIS_NO_SNAPSHOT: &str = "no snapshot that day";
pub const BASIS_NO_VCORES: &str = "no protected vCores";
pub const BASIS_NO_SUBSCRIPTION: &str = "no subscription";

/// Reconciliation tolerance per currency.
pub const TOLERANCE: f64 = 0.01;

#[derive(Debug, Clone)]
pub struct ShowbackResult {
    pub kpis: ShowbackKpis,
    /// finance/showback-by-owner.csv: currency, owner, amount, defender_containers_amount,
    /// share_of_currency_total_pct, resources.
    pub by_owner: DataFrame,
    /// finance/showback-by-resource.csv: resource_id, subscription_id, resource_group, owner,
    /// owner_source, currency, amount.
    pub by_resource: DataFrame,
    /// finance/defender-cost-allocation.csv: charge_date, subscription_id, currency, owner,
    /// protected_vcores, subscription_protected_vcores, amount, allocation_basis.
    pub defender_allocation: DataFrame,
    /// finance/untagged-resources.csv: resource_id, subscription_id, resource_group,
    /// currency, amount, cost_rows.
    pub untagged: DataFrame,
    /// Export rows set aside as unreadable (rejects mode); not part of any total.
    pub rejected_rows: u64,
    pub data_quality: Vec<String>,
}

/// Split `total` nano-units in proportion to `weights` (all > 0), exactly: floors, then the
/// missing units to the largest remainders (ties to the earlier entry).
pub fn split_exact(total: i128, weights: &[i64]) -> Vec<i128> {
    let sum: i128 = weights.iter().map(|&w| w as i128).sum();
    if sum <= 0 {
        return vec![0; weights.len()];
    }
    let mut out = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    for &w in weights {
        let q = total * w as i128;
        out.push(q.div_euclid(sum));
        rems.push(q.rem_euclid(sum));
    }
    let missing = total - out.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| rems[b].cmp(&rems[a]).then(a.cmp(&b)));
    for &i in order.iter().take(missing.max(0) as usize) {
        out[i] += 1;
    }
    out
}

/// The hard invariant: per currency, Σ showback = Σ export rows of the period within 0.01,
/// and the same currencies on both sides.
pub fn check_reconciliation(
    showback: &BTreeMap<String, f64>,
    export: &BTreeMap<String, f64>,
) -> Result<()> {
    let currencies: BTreeSet<&String> = showback.keys().chain(export.keys()).collect();
    let mut problems = Vec::new();
    for c in currencies {
        let s = showback.get(c).copied().unwrap_or(0.0);
        let e = export.get(c).copied().unwrap_or(0.0);
        if (s - e).abs() > TOLERANCE || !s.is_finite() || !e.is_finite() {
            problems.push(format!(
                "{c}: showback {s:.6} vs export rows {e:.6} (difference {:.6})",
                s - e
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Reconciliation(format!(
            "{}; nothing is published",
            problems.join("; ")
        )))
    }
}

/// Σ `amount_column` per `currency_column` of a frame.
pub fn totals_by_currency(
    df: &DataFrame,
    currency_column: &str,
    amount_column: &str,
) -> Result<BTreeMap<String, f64>> {
    let c = strs(df, currency_column)?;
    let a = frame::floats(df, amount_column)?;
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for (c, a) in c.into_iter().zip(a) {
        *out.entry(c.unwrap_or_default()).or_default() += a.unwrap_or(0.0);
    }
    Ok(out)
}

fn units(nanos: i128) -> f64 {
    nanos as f64 / NANOS_PER_UNIT as f64
}

/// Protected vCores per owner for each (snapshot date, subscription), and the snapshot days.
struct VcoreIndex {
    by_day_sub: HashMap<(NaiveDate, String), BTreeMap<String, i64>>,
    snapshot_days: BTreeSet<NaiveDate>,
}

fn vcore_index(resources: &DataFrame) -> Result<VcoreIndex> {
    let d = dates(resources, rd::DATE)?;
    let kind = strs(resources, rd::KIND)?;
    let sub = strs(resources, rd::SUBSCRIPTION)?;
    let vc = ints(resources, rd::VCORES)?;
    let prot = bools(resources, rd::PROTECTED)?;
    let owner = strs(resources, rd::OWNER)?;
    let mut idx = VcoreIndex {
        by_day_sub: HashMap::new(),
        snapshot_days: BTreeSet::new(),
    };
    for i in 0..resources.height() {
        let Some(day) = d[i] else { continue };
        idx.snapshot_days.insert(day);
        let cluster = matches!(kind[i].as_deref(), Some("aks") | Some("arc"));
        let v = vc[i].unwrap_or(0);
        if cluster && prot[i] == Some(true) && v > 0 {
            let s = sub[i].clone().unwrap_or_default().to_lowercase();
            let o = owner[i].clone().unwrap_or_else(|| UNALLOCATED.to_string());
            *idx.by_day_sub
                .entry((day, s))
                .or_default()
                .entry(o)
                .or_default() += v;
        }
    }
    Ok(idx)
}

#[derive(Default)]
struct OwnerTotals {
    nanos: i128,
    defender: i128,
    resources: BTreeSet<String>,
}

#[derive(Default)]
struct ResourceTotals {
    given: String,
    nanos: i128,
    rows: i64,
}

/// Compute showback for `period` from the loaded cost data.
/// `resources`: the `kpi::resource_days` table; `subscription_tags`: lower-case subscription
/// id -> tags JSON from the latest snapshot before the period's end.
pub fn compute(
    cost: &CostData,
    resources: &DataFrame,
    subscription_tags: &BTreeMap<String, Option<String>>,
    params: &Parameters,
    period: Period,
) -> Result<ShowbackResult> {
    let r = &cost.rows;
    let vcores = vcore_index(resources)?;
    let keys = &params.owner_tags;

    let sub_owner: HashMap<String, Option<String>> = subscription_tags
        .iter()
        .map(|(s, t)| (s.to_lowercase(), owner_in(&parse_tags(t.as_deref()), keys)))
        .collect();
    let mut tag_cache: HashMap<String, Option<String>> = HashMap::new();

    let mut export_total: BTreeMap<String, i128> = BTreeMap::new();
    let mut defender_total: BTreeMap<String, i128> = BTreeMap::new();
    let mut rows_in_period = 0i64;
    let mut owners: BTreeMap<(String, String), OwnerTotals> = BTreeMap::new();
    // (currency, subscription, resource id lower, resource group, owner, source)
    let mut by_res: BTreeMap<
        (String, String, String, String, String, &'static str),
        ResourceTotals,
    > = BTreeMap::new();
    // (date, subscription, currency, owner) -> (owner vCores, subscription vCores, nanos, basis)
    let mut def_alloc: BTreeMap<AllocKey, AllocValue> = BTreeMap::new();
    let mut no_snapshot_days: BTreeSet<NaiveDate> = BTreeSet::new();

    // The period's cells: non-Defender cost by month, Defender cost by day (the split is
    // per day).
    let cells = r
        .monthly
        .iter()
        .filter(|c| c.date == period.start())
        .map(|c| (c, false))
        .chain(
            r.defender_daily
                .iter()
                .filter(|c| period.contains(c.date))
                .map(|c| (c, true)),
        );
    for (cell, is_defender) in cells {
        let d = cell.date;
        let resource = r.resource(cell);
        let m = cell.nanos as i128;
        let c = r.currency(cell).to_string();
        let s = resource.subscription.clone();
        let res = resource.id.clone();
        let group = resource.group.clone();
        rows_in_period += cell.rows;
        *export_total.entry(c.clone()).or_default() += m;

        let mut credit = |owner: String, source: &'static str, amount: i128, defender: bool| {
            let o = owners.entry((c.clone(), owner.clone())).or_default();
            o.nanos += amount;
            if defender {
                o.defender += amount;
            } else if !res.is_empty() {
                o.resources.insert(res.clone());
            }
            let e = by_res
                .entry((
                    c.clone(),
                    s.clone(),
                    res.clone(),
                    group.clone(),
                    owner,
                    source,
                ))
                .or_default();
            e.nanos += amount;
            e.rows += cell.rows;
            if e.given.is_empty() {
                e.given = resource.id_as_given.clone();
            }
        };

        if is_defender {
            *defender_total.entry(c.clone()).or_default() += m;
            let weights = (!s.is_empty())
                .then(|| vcores.by_day_sub.get(&(d, s.clone())))
                .flatten();
            let basis = if s.is_empty() {
                BASIS_NO_SUBSCRIPTION
            } else if !vcores.snapshot_days.contains(&d) {
                no_snapshot_days.insert(d);
                BASIS_NO_SNAPSHOT
            } else if weights.is_none() {
                BASIS_NO_VCORES
            } else {
                BASIS_VCORES
            };
            match weights {
                Some(w) if basis == BASIS_VCORES => {
                    let total_v: i64 = w.values().sum();
                    let (names, ws): (Vec<&String>, Vec<i64>) = w.iter().unzip();
                    for (k, share) in split_exact(m, &ws).into_iter().enumerate() {
                        credit(names[k].clone(), SOURCE_DEFENDER_SPLIT, share, true);
                        let e = def_alloc
                            .entry((d, s.clone(), c.clone(), names[k].clone()))
                            .or_insert((ws[k], total_v, 0, BASIS_VCORES));
                        e.2 += share;
                    }
                }
                _ => {
                    credit(UNALLOCATED.to_string(), SOURCE_DEFENDER_UNSPLIT, m, true);
                    let e = def_alloc
                        .entry((d, s.clone(), c.clone(), UNALLOCATED.to_string()))
                        .or_insert((0, 0, 0, basis));
                    e.2 += m;
                }
            }
            continue;
        }

        let t = &resource.tags;
        let from_resource = if s.is_empty() {
            None
        } else {
            tag_cache
                .entry(t.clone())
                .or_insert_with(|| owner_in(&parse_tags(Some(t)), keys))
                .clone()
        };
        let (owner, source) = if s.is_empty() {
            (UNALLOCATED.to_string(), SOURCE_UNALLOCATED)
        } else if let Some(o) = from_resource {
            (o, SOURCE_RESOURCE_TAG)
        } else if let Some(Some(o)) = sub_owner.get(&s) {
            (o.clone(), SOURCE_SUBSCRIPTION_TAG)
        } else {
            (UNALLOCATED.to_string(), SOURCE_UNALLOCATED)
        };
        credit(owner, source, m, false);
    }

    // Invariant on the integers: every nano-unit of the period went to exactly one owner.
    let mut shown: BTreeMap<String, i128> = BTreeMap::new();
    for ((c, _), o) in &owners {
        *shown.entry(c.clone()).or_default() += o.nanos;
    }
    let to_units = |m: &BTreeMap<String, i128>| -> BTreeMap<String, f64> {
        m.iter().map(|(k, v)| (k.clone(), units(*v))).collect()
    };
    check_reconciliation(&to_units(&shown), &to_units(&export_total))?;

    // Tables.
    let by_owner = owner_frame(&owners, &export_total)?;
    // ... and on the published amounts.
    check_reconciliation(
        &totals_by_currency(&by_owner, "currency", "amount")?,
        &to_units(&export_total),
    )?;
    let by_resource = resource_frame(&by_res)?;
    check_reconciliation(
        &totals_by_currency(&by_resource, "currency", "amount")?,
        &to_units(&export_total),
    )?;
    let defender_allocation = defender_frame(&def_alloc)?;
    let untagged = untagged_frame(&by_res)?;

    let mut by_currency: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for ((c, o), t) in &owners {
        by_currency
            .entry(c.clone())
            .or_default()
            .insert(o.clone(), units(t.nanos));
    }
    let mut alloc: BTreeMap<(String, String, String), i128> = BTreeMap::new();
    for ((_, s, c, o), (_, _, m, _)) in &def_alloc {
        *alloc.entry((s.clone(), c.clone(), o.clone())).or_default() += m;
    }
    let kpis = ShowbackKpis {
        source_exports: cost.exports.clone(),
        rows_in_period,
        by_currency,
        export_total_by_currency: to_units(&export_total),
        defender_containers_total: to_units(&defender_total),
        defender_allocation: alloc
            .into_iter()
            .map(|((s, c, o), m)| DefenderAllocation {
                subscriptionId: s,
                currency: c,
                owner: o,
                amount: units(m),
            })
            .collect(),
    };

    let mut data_quality = Vec::new();
    if !no_snapshot_days.is_empty() {
        data_quality.push(format!(
            "Defender for Containers charges on {} day(s) without a snapshot stay unallocated: {}",
            no_snapshot_days.len(),
            no_snapshot_days
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if cost.rejected_rows > 0 {
        data_quality.push(format!(
            "{} unreadable export rows were rejected and are not in any showback total",
            cost.rejected_rows
        ));
    }
    Ok(ShowbackResult {
        kpis,
        by_owner,
        by_resource,
        defender_allocation,
        untagged,
        rejected_rows: cost.rejected_rows,
        data_quality,
    })
}

fn owner_frame(
    owners: &BTreeMap<(String, String), OwnerTotals>,
    totals: &BTreeMap<String, i128>,
) -> Result<DataFrame> {
    let mut rows: Vec<(&String, &String, &OwnerTotals)> =
        owners.iter().map(|((c, o), t)| (c, o, t)).collect();
    // Per currency, largest amount first; owner name breaks ties.
    rows.sort_by(|a, b| {
        a.0.cmp(b.0)
            .then(b.2.nanos.cmp(&a.2.nanos))
            .then(a.1.cmp(b.1))
    });
    let share = |c: &String, m: i128| {
        let t = totals.get(c).copied().unwrap_or(0);
        (t != 0).then(|| m as f64 / t as f64 * 100.0)
    };
    frame::frame(vec![
        Column::new(
            "currency".into(),
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "owner".into(),
            rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "amount".into(),
            rows.iter().map(|r| units(r.2.nanos)).collect::<Vec<_>>(),
        ),
        Column::new(
            "defender_containers_amount".into(),
            rows.iter().map(|r| units(r.2.defender)).collect::<Vec<_>>(),
        ),
        Column::new(
            "share_of_currency_total_pct".into(),
            rows.iter()
                .map(|r| share(r.0, r.2.nanos))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "resources".into(),
            rows.iter()
                .map(|r| r.2.resources.len() as i64)
                .collect::<Vec<_>>(),
        ),
    ])
}

type ResKey = (String, String, String, String, String, &'static str);

fn resource_frame(by_res: &BTreeMap<ResKey, ResourceTotals>) -> Result<DataFrame> {
    let rows: Vec<(&ResKey, &ResourceTotals)> = by_res.iter().collect();
    frame::frame(vec![
        Column::new(
            "resource_id".into(),
            rows.iter().map(|r| r.1.given.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "subscription_id".into(),
            rows.iter().map(|r| r.0.1.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "resource_group".into(),
            rows.iter().map(|r| r.0.3.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "owner".into(),
            rows.iter().map(|r| r.0.4.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "owner_source".into(),
            rows.iter().map(|r| r.0.5).collect::<Vec<_>>(),
        ),
        Column::new(
            "currency".into(),
            rows.iter().map(|r| r.0.0.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "amount".into(),
            rows.iter().map(|r| units(r.1.nanos)).collect::<Vec<_>>(),
        ),
    ])
}

fn untagged_frame(by_res: &BTreeMap<ResKey, ResourceTotals>) -> Result<DataFrame> {
    let rows: Vec<(&ResKey, &ResourceTotals)> = by_res
        .iter()
        .filter(|(k, _)| k.5 == SOURCE_UNALLOCATED && !k.2.is_empty())
        .collect();
    frame::frame(vec![
        Column::new(
            "resource_id".into(),
            rows.iter().map(|r| r.1.given.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "subscription_id".into(),
            rows.iter().map(|r| r.0.1.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "resource_group".into(),
            rows.iter().map(|r| r.0.3.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "currency".into(),
            rows.iter().map(|r| r.0.0.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "amount".into(),
            rows.iter().map(|r| units(r.1.nanos)).collect::<Vec<_>>(),
        ),
        Column::new(
            "cost_rows".into(),
            rows.iter().map(|r| r.1.rows).collect::<Vec<_>>(),
        ),
    ])
}

/// (charge date, subscription, currency, owner)
type AllocKey = (NaiveDate, String, String, String);
/// (owner's protected vCores, subscription's protected vCores, nano-units, basis)
type AllocValue = (i64, i64, i128, &'static str);

fn defender_frame(alloc: &BTreeMap<AllocKey, AllocValue>) -> Result<DataFrame> {
    let rows: Vec<(&AllocKey, &AllocValue)> = alloc.iter().collect();
    frame::frame(vec![
        frame::date_column(
            "charge_date",
            &rows.iter().map(|r| Some(r.0.0)).collect::<Vec<_>>(),
        ),
        Column::new(
            "subscription_id".into(),
            rows.iter().map(|r| r.0.1.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "currency".into(),
            rows.iter().map(|r| r.0.2.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "owner".into(),
            rows.iter().map(|r| r.0.3.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "protected_vcores".into(),
            rows.iter().map(|r| r.1.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "subscription_protected_vcores".into(),
            rows.iter().map(|r| r.1.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "amount".into(),
            rows.iter().map(|r| units(r.1.2)).collect::<Vec<_>>(),
        ),
        Column::new(
            "allocation_basis".into(),
            rows.iter().map(|r| r.1.3).collect::<Vec<_>>(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_split() {
        // 10.00 between 12 and 4 vCores: 7.50 / 2.50.
        assert_eq!(
            split_exact(10_000_000_000, &[12, 4]),
            vec![7_500_000_000, 2_500_000_000]
        );
        // 1 nano-unit in thirds: the first gets it.
        assert_eq!(split_exact(1, &[1, 1, 1]), vec![1, 0, 0]);
        // 100 in thirds: 34, 33, 33.
        assert_eq!(split_exact(100, &[1, 1, 1]), vec![34, 33, 33]);
        // A refund splits too, and still sums exactly: -100 → -33, -33, -34? floors are
        // -34 (rem 2), -34 (rem 2), -34 (rem 2) = -102 → 2 units to the first two.
        assert_eq!(split_exact(-100, &[1, 1, 1]), vec![-33, -33, -34]);
    }

    #[test]
    fn reconciliation_mismatch_fails() {
        let s = BTreeMap::from([("EUR".to_string(), 100.0), ("USD".to_string(), 5.0)]);
        let e = BTreeMap::from([("EUR".to_string(), 100.005), ("USD".to_string(), 5.02)]);
        let err = check_reconciliation(&s, &e).unwrap_err();
        assert!(matches!(err, Error::Reconciliation(_)));
        let msg = err.to_string();
        assert!(msg.contains("USD") && !msg.contains("EUR:"), "{msg}");
        // A currency on one side only is a mismatch too.
        let only = BTreeMap::from([("GBP".to_string(), 1.0)]);
        assert!(check_reconciliation(&only, &BTreeMap::new()).is_err());
        assert!(check_reconciliation(&e, &e).is_ok());
    }
}
