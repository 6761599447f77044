//! Showback: cost rows of the period by owner, with Defender for Containers charges split by
//! protected vCores, and the reconciliation invariant (Σ showback = Σ export rows per currency).
//!
//! All arithmetic is in integer nano-units of the billing currency (as loaded), so every
//! split is exact: the owners' shares of a charge add up to the charge, and the invariant is
//! checked both on those integers and on the published amounts.

use crate::collect::cost_exports::{Cell, CostData, CostRows, NANOS_PER_UNIT, Resource};
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
/// The owner came from the subscription's tags.
pub const SOURCE_SUBSCRIPTION_TAG: &str = "subscription tag";
/// A share of a Defender for Containers charge split by protected vCores.
pub const SOURCE_DEFENDER_SPLIT: &str = "defender vcore split";
/// A Defender for Containers charge that could not be split (owner `unallocated`).
pub const SOURCE_DEFENDER_UNSPLIT: &str = "defender not split";
/// No owner tag on the resource or its subscription.
pub const SOURCE_UNALLOCATED: &str = "unallocated";

/// Why a Defender charge went where it did (`allocation_basis` in defender-cost-allocation.csv).
pub const BASIS_VCORES: &str = "protected vCores";
/// No snapshot on the charge's day: unallocated.
pub const BASIS_NO_SNAPSHOT: &str = "no snapshot that day";
/// No protected cluster vCores in the subscription that day: unallocated.
pub const BASIS_NO_VCORES: &str = "no protected vCores";
/// The charge names no subscription: unallocated.
pub const BASIS_NO_SUBSCRIPTION: &str = "no subscription";

/// Column names of `finance/showback-by-resource.csv` (`ShowbackResult::by_resource`).
pub mod resource_columns {
    /// The resource id as the export wrote it.
    pub const RESOURCE_ID: &str = "resource_id";
    /// Lower-case subscription GUID ("" when the export leaves it empty).
    pub const SUBSCRIPTION_ID: &str = "subscription_id";
    /// Lower-case resource group.
    pub const RESOURCE_GROUP: &str = "resource_group";
    /// Owner the amount went to.
    pub const OWNER: &str = "owner";
    /// Where the owner came from (`SOURCE_*`).
    pub const OWNER_SOURCE: &str = "owner_source";
    /// Billing currency.
    pub const CURRENCY: &str = "currency";
    /// Amount of the period, full precision.
    pub const AMOUNT: &str = "amount";
}

/// Reconciliation tolerance per currency.
pub const TOLERANCE: f64 = 0.01;

/// Showback of the period: the KPIs and the finance tables.
#[derive(Debug, Clone)]
pub struct ShowbackResult {
    /// The showback part of kpis.json.
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
    /// Data-quality findings (charges on days without a snapshot, rejected rows).
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

/// A Defender charge's row in defender-cost-allocation.csv while summing: (charge date,
/// subscription, currency index, owner id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AllocationKey<'a> {
    date: NaiveDate,
    subscription: &'a str,
    currency: u16,
    owner: u32,
}

/// How much of a day's Defender charges went to one owner, and on what basis.
#[derive(Debug, Clone, Copy)]
struct Allocation {
    /// The owner's protected vCores that day in the subscription.
    owner_vcores: i64,
    /// The subscription's protected vCores that day.
    subscription_vcores: i64,
    nanos: i128,
    basis: &'static str,
}

/// A row of showback-by-resource.csv while summing, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ResourceKey {
    currency: u16,
    /// `same_resource` index.
    resource: u32,
    owner: u32,
    source: &'static str,
}

/// A row of showback-by-resource.csv (and untagged-resources.csv), by name.
struct ResourceLine<'a> {
    currency: &'a str,
    subscription: &'a str,
    /// Lower-case resource id.
    id: &'a str,
    group: &'a str,
    owner: &'a str,
    source: &'static str,
    totals: ResourceTotals<'a>,
}

/// A row of defender-cost-allocation.csv, by name.
struct AllocationLine<'a> {
    date: NaiveDate,
    subscription: &'a str,
    currency: &'a str,
    owner: &'a str,
    allocation: Allocation,
}

/// Everything summed over the period's cost cells, still keyed by index.
struct Tally<'a> {
    cost: &'a CostRows,
    vcores: VcoreIndex,
    owner_keys: &'a [String],
    /// Lower-case subscription id -> owner from its tags.
    subscription_owner: HashMap<String, Option<String>>,
    tag_owner: FastMap<&'a str, Option<String>>,
    same: Vec<u32>,
    names: OwnerNames,
    unallocated: u32,
    export_nanos: Vec<Option<i128>>,
    defender_nanos: Vec<Option<i128>>,
    rows_in_period: i64,
    owners: FastMap<(u16, u32), OwnerTotals>,
    resources: FastMap<ResourceKey, ResourceTotals<'a>>,
    /// Defender cells come sorted by date, then subscription (resources sort by subscription
    /// first), so each (date, subscription) is summed at the end of this list, in order.
    allocations: Vec<(AllocationKey<'a>, Allocation)>,
    no_snapshot_days: BTreeSet<NaiveDate>,
}

impl<'a> Tally<'a> {
    fn new(
        cost: &'a CostRows,
        resources: &[ResourceDay],
        subscription_tags: &BTreeMap<String, Option<String>>,
        owner_keys: &'a [String],
    ) -> Self {
        let subscription_owner = subscription_tags
            .iter()
            .map(|(s, t)| {
                let owner = owner_in(&parse_tags(t.as_deref()), owner_keys);
                (s.to_lowercase(), owner)
            })
            .collect();
        let mut names = OwnerNames::default();
        let unallocated = names.id(UNALLOCATED);
        let n_currencies = cost.currencies.len();
        Tally {
            cost,
            vcores: vcore_index(resources),
            owner_keys,
            subscription_owner,
            tag_owner: fast_map(),
            same: same_resource(&cost.resources),
            names,
            unallocated,
            export_nanos: vec![None; n_currencies],
            defender_nanos: vec![None; n_currencies],
            rows_in_period: 0,
            owners: fast_map(),
            resources: fast_map(),
            allocations: Vec::new(),
            no_snapshot_days: BTreeSet::new(),
        }
    }

    /// Add one cost cell of the period: a Defender charge of one day, or a month's other cost.
    fn add(&mut self, cell: &'a Cell, is_defender: bool) {
        let m = cell.nanos as i128;
        self.rows_in_period += cell.rows;
        *self.export_nanos[cell.currency as usize].get_or_insert(0) += m;
        if is_defender {
            *self.defender_nanos[cell.currency as usize].get_or_insert(0) += m;
            self.split_defender_charge(cell);
        } else {
            let (owner, source) = self.owner_of(self.cost.resource(cell));
            self.credit(cell, owner, source, m, false);
        }
    }

    /// The owner of a non-Defender cost cell's resource, and where it came from.
    fn owner_of(&mut self, resource: &'a Resource) -> (u32, &'static str) {
        let s = resource.subscription.as_str();
        if s.is_empty() {
            return (self.unallocated, SOURCE_UNALLOCATED);
        }
        let keys = self.owner_keys;
        let t = resource.tags.as_str();
        let from_resource = self
            .tag_owner
            .entry(t)
            .or_insert_with(|| owner_in(&parse_tags(Some(t)), keys))
            .as_deref();
        if let Some(o) = from_resource {
            (self.names.id(o), SOURCE_RESOURCE_TAG)
        } else if let Some(Some(o)) = self.subscription_owner.get(s) {
            (self.names.id(o), SOURCE_SUBSCRIPTION_TAG)
        } else {
            (self.unallocated, SOURCE_UNALLOCATED)
        }
    }

    /// Split one day's Defender charge among the owners of the subscription's protected
    /// clusters by vCores, or leave it unallocated with the reason.
    fn split_defender_charge(&mut self, cell: &'a Cell) {
        let (d, m) = (cell.date, cell.nanos as i128);
        let s = self.cost.resource(cell).subscription.as_str();
        let weights = (!s.is_empty())
            .then(|| self.vcores.by_day_sub.get(&d).and_then(|subs| subs.get(s)))
            .flatten()
            .cloned();
        let basis = if s.is_empty() {
            BASIS_NO_SUBSCRIPTION
        } else if !self.vcores.snapshot_days.contains(&d) {
            self.no_snapshot_days.insert(d);
            BASIS_NO_SNAPSHOT
        } else if weights.is_none() {
            BASIS_NO_VCORES
        } else {
            BASIS_VCORES
        };
        let key = |owner| AllocationKey {
            date: d,
            subscription: s,
            currency: cell.currency,
            owner,
        };
        match weights {
            Some(w) if basis == BASIS_VCORES => {
                let subscription_vcores: i64 = w.values().sum();
                let (owners_here, ws): (Vec<&String>, Vec<i64>) = w.iter().unzip();
                for (k, share) in split_exact(m, &ws).into_iter().enumerate() {
                    let owner = self.names.id(owners_here[k]);
                    self.credit(cell, owner, SOURCE_DEFENDER_SPLIT, share, true);
                    let a = allocation_row(&mut self.allocations, key(owner), || Allocation {
                        owner_vcores: ws[k],
                        subscription_vcores,
                        nanos: 0,
                        basis: BASIS_VCORES,
                    });
                    a.nanos += share;
                }
            }
            _ => {
                let owner = self.unallocated;
                self.credit(cell, owner, SOURCE_DEFENDER_UNSPLIT, m, true);
                let a = allocation_row(&mut self.allocations, key(owner), || Allocation {
                    owner_vcores: 0,
                    subscription_vcores: 0,
                    nanos: 0,
                    basis,
                });
                a.nanos += m;
            }
        }
    }

    /// Credit `amount` of a cell to an owner, and to the cell's resource under that owner.
    fn credit(
        &mut self,
        cell: &Cell,
        owner: u32,
        source: &'static str,
        amount: i128,
        defender: bool,
    ) {
        let resource = self.same[cell.key as usize];
        let o = self.owners.entry((cell.currency, owner)).or_default();
        o.nanos += amount;
        if defender {
            o.defender += amount;
        } else if !self.cost.resource(cell).id.is_empty() {
            o.resources.insert(resource);
        }
        let key = ResourceKey {
            currency: cell.currency,
            resource,
            owner,
            source,
        };
        let e = self.resources.entry(key).or_default();
        e.nanos += amount;
        e.rows += cell.rows;
        e.given = &self.cost.resources[resource as usize].id_as_given;
    }

    fn currency(&self, i: u16) -> &'a str {
        &self.cost.currencies[i as usize]
    }

    /// Per currency name, for the currencies that have cells (even if they net to zero).
    fn by_currency_name(&self, v: &[Option<i128>]) -> BTreeMap<String, i128> {
        v.iter()
            .enumerate()
            .filter_map(|(i, m)| m.map(|m| (self.cost.currencies[i].clone(), m)))
            .collect()
    }
}

/// The summed period, by name and in the published order (borrowing the tally).
struct Totals<'t> {
    export: BTreeMap<String, i128>,
    defender: BTreeMap<String, i128>,
    owners: BTreeMap<(&'t str, &'t str), &'t OwnerTotals>,
    resources: Vec<ResourceLine<'t>>,
    allocations: Vec<AllocationLine<'t>>,
}

impl<'a> Tally<'a> {
    /// Within each (date, subscription) run of allocations: by currency, then owner name.
    fn sort_allocations(&mut self) {
        let (rows, names) = (&mut self.allocations, &self.names.names);
        let mut start = 0;
        while start < rows.len() {
            let (d, s) = (rows[start].0.date, rows[start].0.subscription);
            let run = rows[start..]
                .iter()
                .take_while(|e| e.0.date == d && e.0.subscription == s)
                .count();
            rows[start..start + run].sort_by(|a, b| {
                (a.0.currency.cmp(&b.0.currency))
                    .then_with(|| names[a.0.owner as usize].cmp(&names[b.0.owner as usize]))
            });
            start += run;
        }
    }

    fn owner_name(&self, id: u32) -> &str {
        &self.names.names[id as usize]
    }

    /// Back to names, in the published order. Call `sort_allocations` first.
    fn totals(&self) -> Totals<'_> {
        let allocations = self
            .allocations
            .iter()
            .map(|(k, allocation)| AllocationLine {
                date: k.date,
                subscription: k.subscription,
                currency: self.currency(k.currency),
                owner: self.owner_name(k.owner),
                allocation: *allocation,
            })
            .collect();
        let owners = self
            .owners
            .iter()
            .map(|(&(c, o), t)| ((self.currency(c), self.owner_name(o)), t))
            .collect();
        Totals {
            export: self.by_currency_name(&self.export_nanos),
            defender: self.by_currency_name(&self.defender_nanos),
            owners,
            resources: self.resource_lines(),
            allocations,
        }
    }

    /// showback-by-resource rows: by currency, resource, owner name, source.
    fn resource_lines(&self) -> Vec<ResourceLine<'_>> {
        let mut rows: Vec<(&ResourceKey, &ResourceTotals)> = self.resources.iter().collect();
        rows.sort_by(|(x, _), (y, _)| {
            (x.currency, x.resource)
                .cmp(&(y.currency, y.resource))
                .then_with(|| self.owner_name(x.owner).cmp(self.owner_name(y.owner)))
                .then(x.source.cmp(y.source))
        });
        rows.into_iter()
            .map(|(k, t)| {
                let res = &self.cost.resources[k.resource as usize];
                ResourceLine {
                    currency: self.currency(k.currency),
                    subscription: &res.subscription,
                    id: &res.id,
                    group: &res.group,
                    owner: self.owner_name(k.owner),
                    source: k.source,
                    totals: ResourceTotals {
                        given: t.given,
                        nanos: t.nanos,
                        rows: t.rows,
                    },
                }
            })
            .collect()
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
    let mut tally = Tally::new(r, resources, subscription_tags, &params.owner_tags);
    // The period's cells: non-Defender cost by month, Defender cost by day (the split is
    // per day).
    let monthly = r.monthly.iter().filter(|c| c.date == period.start());
    let defender = r.defender_daily.iter().filter(|c| period.contains(c.date));
    for cell in monthly {
        tally.add(cell, false);
    }
    for cell in defender {
        tally.add(cell, true);
    }
    tally.sort_allocations();
    let totals = tally.totals();

    let export_total = to_units(&totals.export);
    // Invariant on the integers: every nano-unit of the period went to exactly one owner.
    let mut shown: BTreeMap<String, i128> = BTreeMap::new();
    for ((c, _), o) in &totals.owners {
        *shown.entry(c.to_string()).or_default() += o.nanos;
    }
    check_reconciliation(&to_units(&shown), &export_total)?;
    // ... and on the published amounts.
    let by_owner = owner_frame(&totals.owners, &totals.export)?;
    check_reconciliation(
        &totals_by_currency(&by_owner, "currency", "amount")?,
        &export_total,
    )?;
    let by_resource = resource_frame(&totals.resources)?;
    check_reconciliation(
        &totals_by_currency(
            &by_resource,
            resource_columns::CURRENCY,
            resource_columns::AMOUNT,
        )?,
        &export_total,
    )?;
    Ok(ShowbackResult {
        kpis: showback_kpis(cost, &tally, &totals),
        by_owner,
        by_resource,
        defender_allocation: defender_frame(&totals.allocations)?,
        untagged: untagged_frame(&totals.resources)?,
        rejected_rows: cost.rejected_rows,
        data_quality: data_quality(cost, &tally.no_snapshot_days),
    })
}

fn to_units(m: &BTreeMap<String, i128>) -> BTreeMap<String, f64> {
    m.iter().map(|(k, v)| (k.clone(), units(*v))).collect()
}

/// The showback part of kpis.json.
fn showback_kpis(cost: &CostData, tally: &Tally, totals: &Totals) -> ShowbackKpis {
    let mut by_currency: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for ((c, o), t) in &totals.owners {
        by_currency
            .entry(c.to_string())
            .or_default()
            .insert(o.to_string(), units(t.nanos));
    }
    let mut alloc: BTreeMap<(&str, &str, &str), i128> = BTreeMap::new();
    for a in &totals.allocations {
        *alloc
            .entry((a.subscription, a.currency, a.owner))
            .or_default() += a.allocation.nanos;
    }
    ShowbackKpis {
        source_exports: cost.exports.clone(),
        rows_in_period: tally.rows_in_period,
        by_currency,
        export_total_by_currency: to_units(&totals.export),
        defender_containers_total: to_units(&totals.defender),
        defender_allocation: alloc
            .into_iter()
            .map(|((s, c, o), m)| DefenderAllocation {
                subscriptionId: s.to_string(),
                currency: c.to_string(),
                owner: o.to_string(),
                amount: units(m),
            })
            .collect(),
    }
}

fn data_quality(cost: &CostData, no_snapshot_days: &BTreeSet<NaiveDate>) -> Vec<String> {
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
    data_quality
}

fn owner_frame(
    owners: &BTreeMap<(&str, &str), &OwnerTotals>,
    totals: &BTreeMap<String, i128>,
) -> Result<DataFrame> {
    let mut rows: Vec<(&str, &str, &OwnerTotals)> =
        owners.iter().map(|(&(c, o), t)| (c, o, *t)).collect();
    // Per currency, largest amount first; owner name breaks ties.
    rows.sort_by(|a, b| {
        a.0.cmp(b.0)
            .then(b.2.nanos.cmp(&a.2.nanos))
            .then(a.1.cmp(b.1))
    });
    let share = |c: &str, m: i128| {
        let t = totals.get(c).copied().unwrap_or(0);
        (t != 0).then(|| m as f64 / t as f64 * 100.0)
    };
    frame::frame(vec![
        frame::column("currency", &rows, |r| r.0),
        frame::column("owner", &rows, |r| r.1),
        frame::column("amount", &rows, |r| units(r.2.nanos)),
        frame::column("defender_containers_amount", &rows, |r| units(r.2.defender)),
        frame::column("share_of_currency_total_pct", &rows, |r| {
            share(r.0, r.2.nanos)
        }),
        frame::column("resources", &rows, |r| r.2.resources.len() as i64),
    ])
}

fn resource_frame(lines: &[ResourceLine]) -> Result<DataFrame> {
    use resource_columns::*;
    frame::frame(vec![
        frame::column(RESOURCE_ID, lines, |r| r.totals.given),
        frame::column(SUBSCRIPTION_ID, lines, |r| r.subscription),
        frame::column(RESOURCE_GROUP, lines, |r| r.group),
        frame::column(OWNER, lines, |r| r.owner),
        frame::column(OWNER_SOURCE, lines, |r| r.source),
        frame::column(CURRENCY, lines, |r| r.currency),
        frame::column(AMOUNT, lines, |r| units(r.totals.nanos)),
    ])
}

fn untagged_frame(lines: &[ResourceLine]) -> Result<DataFrame> {
    let rows: Vec<&ResourceLine> = lines
        .iter()
        .filter(|r| r.source == SOURCE_UNALLOCATED && !r.id.is_empty())
        .collect();
    frame::frame(vec![
        frame::column("resource_id", &rows, |r| r.totals.given),
        frame::column("subscription_id", &rows, |r| r.subscription),
        frame::column("resource_group", &rows, |r| r.group),
        frame::column("currency", &rows, |r| r.currency),
        frame::column("amount", &rows, |r| units(r.totals.nanos)),
        frame::column("cost_rows", &rows, |r| r.totals.rows),
    ])
}

/// The allocation of `key` in the current (date, subscription) run at the end of `rows`.
fn allocation_row<'r, 'a>(
    rows: &'r mut Vec<(AllocationKey<'a>, Allocation)>,
    key: AllocationKey<'a>,
    new: impl FnOnce() -> Allocation,
) -> &'r mut Allocation {
    let run = rows
        .iter()
        .rev()
        .take_while(|e| e.0.date == key.date && e.0.subscription == key.subscription)
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

fn defender_frame(lines: &[AllocationLine]) -> Result<DataFrame> {
    frame::frame(vec![
        frame::date_column_of("charge_date", lines, |r| Some(r.date)),
        frame::column("subscription_id", lines, |r| r.subscription),
        frame::column("currency", lines, |r| r.currency),
        frame::column("owner", lines, |r| r.owner),
        frame::column("protected_vcores", lines, |r| r.allocation.owner_vcores),
        frame::column("subscription_protected_vcores", lines, |r| {
            r.allocation.subscription_vcores
        }),
        frame::column("amount", lines, |r| units(r.allocation.nanos)),
        frame::column("allocation_basis", lines, |r| r.allocation.basis),
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
