//! Showback: cost rows of the period by owner, with Defender for Containers charges split by
//! protected vCores, and the reconciliation invariant (Σ showback = Σ export rows per currency).
//!
//! All arithmetic is in integer nano-units of the billing currency (as loaded), so every
//! split is exact: the owners' shares of a charge add up to the charge, and the invariant is
//! checked both on those integers and on the published amounts.

use crate::collect::cost_exports::{CostData, NANOS_PER_UNIT};
use crate::error::{Error, Result};
use crate::frame::{self, strs};
use crate::hashing::{FastMap, FastSet, fast_map, fast_set};
use crate::kpi::owners::{UNALLOCATED, owner_in, parse_tags};
use crate::kpi::resource_days::ResourceDay;
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
    by_day_sub: HashMap<NaiveDate, HashMap<String, BTreeMap<String, i64>>>,
    snapshot_days: BTreeSet<NaiveDate>,
}

fn vcore_index(resources: &[ResourceDay]) -> VcoreIndex {
    let mut idx = VcoreIndex {
        by_day_sub: HashMap::new(),
        snapshot_days: BTreeSet::new(),
    };
    for r in resources {
        idx.snapshot_days.insert(r.date);
        if r.kind.is_cluster() && r.protected && r.vcores > 0 {
            *idx.by_day_sub
                .entry(r.date)
                .or_default()
                .entry(r.subscription.clone())
                .or_default()
                .entry(r.owner.clone())
                .or_default() += r.vcores;
        }
    }
    idx
}

struct OwnerTotals {
    nanos: i128,
    defender: i128,
    /// Distinct resources (by `same_resource` index) with a non-empty id.
    resources: FastSet<u32>,
}

impl Default for OwnerTotals {
    fn default() -> Self {
        OwnerTotals {
            nanos: 0,
            defender: 0,
            resources: fast_set(),
        }
    }
}

#[derive(Default)]
struct ResourceTotals<'a> {
    given: &'a str,
    nanos: i128,
    rows: i64,
}

/// For each resource of the (sorted) cost resources, the index of the first one with the same
/// subscription, id and group: entries that differ only in tags are one showback resource.
fn same_resource(resources: &[crate::collect::cost_exports::Resource]) -> Vec<u32> {
    let mut out = Vec::with_capacity(resources.len());
    for (i, r) in resources.iter().enumerate() {
        let first = match i.checked_sub(1).map(|p| &resources[p]) {
            Some(p) if p.subscription == r.subscription && p.id == r.id && p.group == r.group => {
                out[i - 1]
            }
            _ => i as u32,
        };
        out.push(first);
    }
    out
}

/// Owner names, interned (keys of the accumulation maps stay small and cheap to hash).
#[derive(Default)]
struct OwnerNames {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl OwnerNames {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        let i = (self.names.len() - 1) as u32;
        self.ids.insert(name.to_string(), i);
        i
    }
}

/// Compute showback for `period` from the loaded cost data.
/// `resources`: resource-days covering the period; `subscription_tags`: lower-case subscription
/// id -> tags JSON from the latest snapshot before the period's end.
pub fn compute(
    cost: &CostData,
    resources: &[ResourceDay],
    subscription_tags: &BTreeMap<String, Option<String>>,
    params: &Parameters,
    period: Period,
) -> Result<ShowbackResult> {
    let r = &cost.rows;
    let vcores = vcore_index(resources);
    let keys = &params.owner_tags;

    let sub_owner: HashMap<String, Option<String>> = subscription_tags
        .iter()
        .map(|(s, t)| (s.to_lowercase(), owner_in(&parse_tags(t.as_deref()), keys)))
        .collect();
    let mut tag_cache: FastMap<&str, Option<String>> = fast_map();
    let same = same_resource(&r.resources);
    let mut names = OwnerNames::default();
    let unallocated = names.id(UNALLOCATED);

    let n_currencies = r.currencies.len();
    let mut export_nanos: Vec<Option<i128>> = vec![None; n_currencies];
    let mut defender_nanos: Vec<Option<i128>> = vec![None; n_currencies];
    let mut rows_in_period = 0i64;
    // (currency, owner) and (currency, resource, owner, source), by index; sorted at the end.
    let mut owner_acc: FastMap<(u16, u32), OwnerTotals> = fast_map();
    let mut res_acc: FastMap<ResIds, ResourceTotals> = fast_map();
    // (date, subscription, currency, owner) -> (owner vCores, subscription vCores, nanos, basis)
    // Defender cells come sorted by date, then subscription (resources sort by subscription
    // first), so each (date, subscription) is summed at the end of this list, in order.
    let mut def_rows: Vec<DefenderRow> = Vec::new();
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
        let key = same[cell.key as usize];
        let m = cell.nanos as i128;
        let cur = cell.currency;
        let s = resource.subscription.as_str();
        rows_in_period += cell.rows;
        *export_nanos[cur as usize].get_or_insert(0) += m;

        let mut credit = |owner: u32, source: &'static str, amount: i128, defender: bool| {
            let o = owner_acc.entry((cur, owner)).or_default();
            o.nanos += amount;
            if defender {
                o.defender += amount;
            } else if !resource.id.is_empty() {
                o.resources.insert(key);
            }
            let e = res_acc.entry((cur, key, owner, source)).or_default();
            e.nanos += amount;
            e.rows += cell.rows;
            e.given = &r.resources[key as usize].id_as_given;
        };

        if is_defender {
            *defender_nanos[cur as usize].get_or_insert(0) += m;
            let weights = (!s.is_empty())
                .then(|| vcores.by_day_sub.get(&d).and_then(|subs| subs.get(s)))
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
                    let (owners_here, ws): (Vec<&String>, Vec<i64>) = w.iter().unzip();
                    for (k, share) in split_exact(m, &ws).into_iter().enumerate() {
                        let owner = names.id(owners_here[k]);
                        credit(owner, SOURCE_DEFENDER_SPLIT, share, true);
                        let e = defender_row(&mut def_rows, (d, s, cur, owner), || {
                            (ws[k], total_v, 0, BASIS_VCORES)
                        });
                        e.2 += share;
                    }
                }
                _ => {
                    credit(unallocated, SOURCE_DEFENDER_UNSPLIT, m, true);
                    let e =
                        defender_row(&mut def_rows, (d, s, cur, unallocated), || (0, 0, 0, basis));
                    e.2 += m;
                }
            }
            continue;
        }

        let t = resource.tags.as_str();
        let from_resource = if s.is_empty() {
            None
        } else {
            tag_cache
                .entry(t)
                .or_insert_with(|| owner_in(&parse_tags(Some(t)), keys))
                .as_deref()
        };
        let (owner, source) = if s.is_empty() {
            (unallocated, SOURCE_UNALLOCATED)
        } else if let Some(o) = from_resource {
            (names.id(o), SOURCE_RESOURCE_TAG)
        } else if let Some(Some(o)) = sub_owner.get(s) {
            (names.id(o), SOURCE_SUBSCRIPTION_TAG)
        } else {
            (unallocated, SOURCE_UNALLOCATED)
        };
        credit(owner, source, m, false);
    }

    // Back to names, in the published order (a currency is listed when it has cells, even
    // if they net to zero).
    let by_currency_name = |v: &[Option<i128>]| -> BTreeMap<String, i128> {
        v.iter()
            .enumerate()
            .filter_map(|(i, m)| m.map(|m| (r.currencies[i].clone(), m)))
            .collect()
    };
    let export_total = by_currency_name(&export_nanos);
    let defender_total = by_currency_name(&defender_nanos);
    // Within each (date, subscription): by currency, then owner name.
    let mut start = 0;
    while start < def_rows.len() {
        let (d, s) = (def_rows[start].0.0, def_rows[start].0.1);
        let end = start
            + def_rows[start..]
                .iter()
                .take_while(|e| e.0.0 == d && e.0.1 == s)
                .count();
        def_rows[start..end].sort_by(|a, b| {
            (a.0.2.cmp(&b.0.2))
                .then_with(|| names.names[a.0.3 as usize].cmp(&names.names[b.0.3 as usize]))
        });
        start = end;
    }
    let def_alloc: Vec<(AllocKey, AllocValue)> = def_rows
        .into_iter()
        .map(|((d, s, c, o), v)| {
            let key = (
                d,
                s,
                r.currencies[c as usize].as_str(),
                names.names[o as usize].as_str(),
            );
            (key, v)
        })
        .collect();
    let owners: BTreeMap<(String, String), OwnerTotals> = owner_acc
        .into_iter()
        .map(|((c, o), t)| {
            (
                (
                    r.currencies[c as usize].clone(),
                    names.names[o as usize].clone(),
                ),
                t,
            )
        })
        .collect();
    let mut res_rows: Vec<(ResIds, ResourceTotals)> = res_acc.into_iter().collect();
    res_rows.sort_by(|a, b| {
        let (x, y) = (&a.0, &b.0);
        (x.0, x.1)
            .cmp(&(y.0, y.1))
            .then_with(|| names.names[x.2 as usize].cmp(&names.names[y.2 as usize]))
            .then(x.3.cmp(y.3))
    });
    let by_res: Vec<(ResKey, ResourceTotals)> = res_rows
        .into_iter()
        .map(|((c, k, o, source), t)| {
            let res = &r.resources[k as usize];
            (
                (
                    r.currencies[c as usize].as_str(),
                    res.subscription.as_str(),
                    res.id.as_str(),
                    res.group.as_str(),
                    names.names[o as usize].as_str(),
                    source,
                ),
                t,
            )
        })
        .collect();

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
    let mut alloc: BTreeMap<(&str, &str, &str), i128> = BTreeMap::new();
    for ((_, s, c, o), (_, _, m, _)) in &def_alloc {
        *alloc.entry((s, c, o)).or_default() += m;
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
                subscriptionId: s.to_string(),
                currency: c.to_string(),
                owner: o.to_string(),
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
        frame::column("currency", &rows, |r| r.0.as_str()),
        frame::column("owner", &rows, |r| r.1.as_str()),
        frame::column("amount", &rows, |r| units(r.2.nanos)),
        frame::column("defender_containers_amount", &rows, |r| units(r.2.defender)),
        frame::column("share_of_currency_total_pct", &rows, |r| {
            share(r.0, r.2.nanos)
        }),
        frame::column("resources", &rows, |r| r.2.resources.len() as i64),
    ])
}

/// (currency index, `same_resource` index, owner id, source) while summing.
type ResIds = (u16, u32, u32, &'static str);

/// (currency, subscription, resource id lower, resource group, owner, source)
type ResKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'static str);

fn resource_frame(by_res: &[(ResKey, ResourceTotals)]) -> Result<DataFrame> {
    let rows: Vec<(&ResKey, &ResourceTotals)> = by_res.iter().map(|(k, t)| (k, t)).collect();
    frame::frame(vec![
        frame::column("resource_id", &rows, |r| r.1.given),
        frame::column("subscription_id", &rows, |r| r.0.1),
        frame::column("resource_group", &rows, |r| r.0.3),
        frame::column("owner", &rows, |r| r.0.4),
        frame::column("owner_source", &rows, |r| r.0.5),
        frame::column("currency", &rows, |r| r.0.0),
        frame::column("amount", &rows, |r| units(r.1.nanos)),
    ])
}

fn untagged_frame(by_res: &[(ResKey, ResourceTotals)]) -> Result<DataFrame> {
    let rows: Vec<(&ResKey, &ResourceTotals)> = by_res
        .iter()
        .map(|(k, t)| (k, t))
        .filter(|(k, _)| k.5 == SOURCE_UNALLOCATED && !k.2.is_empty())
        .collect();
    frame::frame(vec![
        frame::column("resource_id", &rows, |r| r.1.given),
        frame::column("subscription_id", &rows, |r| r.0.1),
        frame::column("resource_group", &rows, |r| r.0.3),
        frame::column("currency", &rows, |r| r.0.0),
        frame::column("amount", &rows, |r| units(r.1.nanos)),
        frame::column("cost_rows", &rows, |r| r.1.rows),
    ])
}

/// (charge date, subscription, currency index, owner id) and its allocation.
type DefenderRow<'a> = ((NaiveDate, &'a str, u16, u32), AllocValue);

/// The row of `key` in the current (date, subscription) run at the end of `rows`.
fn defender_row<'r, 'a>(
    rows: &'r mut Vec<DefenderRow<'a>>,
    key: (NaiveDate, &'a str, u16, u32),
    new: impl FnOnce() -> AllocValue,
) -> &'r mut AllocValue {
    let run = rows
        .iter()
        .rev()
        .take_while(|e| e.0.0 == key.0 && e.0.1 == key.1)
        .count();
    let from = rows.len() - run;
    match rows[from..].iter().position(|e| e.0 == key) {
        Some(i) => &mut rows[from + i].1,
        None => {
            rows.push((key, new()));
            &mut rows.last_mut().expect("pushed").1
        }
    }
}

/// (charge date, subscription, currency, owner)
type AllocKey<'a> = (NaiveDate, &'a str, &'a str, &'a str);
/// (owner's protected vCores, subscription's protected vCores, nano-units, basis)
type AllocValue = (i64, i64, i128, &'static str);

fn defender_frame(alloc: &[(AllocKey, AllocValue)]) -> Result<DataFrame> {
    let rows: Vec<(&AllocKey, &AllocValue)> = alloc.iter().map(|(k, v)| (k, v)).collect();
    frame::frame(vec![
        frame::date_column_of("charge_date", &rows, |r| Some(r.0.0)),
        frame::column("subscription_id", &rows, |r| r.0.1),
        frame::column("currency", &rows, |r| r.0.2),
        frame::column("owner", &rows, |r| r.0.3),
        frame::column("protected_vcores", &rows, |r| r.1.0),
        frame::column("subscription_protected_vcores", &rows, |r| r.1.1),
        frame::column("amount", &rows, |r| units(r.1.2)),
        frame::column("allocation_basis", &rows, |r| r.1.3),
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
