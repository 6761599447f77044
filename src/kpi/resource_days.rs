//! The per-day container-resource table (`data/resource_days.parquet`): one row per snapshot
//! day and AKS cluster, Arc cluster or registry, with its vCores, protection and owner.
//! Coverage builds it one day at a time; showback (Defender split by protected vCores),
//! anomalies (coverage on the spike day), remediation (resolution only while protected),
//! detection (alert owners), evidence and the executive report read it.
//!
//! Rows are typed ([`ResourceDay`]) between stages; the frame exists only to be published.
//! Across all of history the report keeps a [`ResourceLedger`]: what it needs of every
//! resource ever seen, which grows with resources, not with days.

use crate::error::Result;
use crate::frame::{self, bools, dates, ints, strs};
use crate::kpi::hardening::Hardening;
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The snapshot day (Date).
pub const DATE: &str = "snapshot_date";
/// `aks`, `arc` or `registry` (`ResourceKind::as_str`).
pub const KIND: &str = "kind";
/// Resource id as Azure gives it.
pub const ID: &str = "id";
/// Lower-case resource id, for case-insensitive joins.
pub const ID_LOWER: &str = "id_lower";
/// Resource name.
pub const NAME: &str = "name";
/// Lower-case subscription GUID.
pub const SUBSCRIPTION: &str = "subscriptionId";
/// Resource group.
pub const RESOURCE_GROUP: &str = "resourceGroup";
/// Node resource group: AKS only, else null.
pub const NODE_RESOURCE_GROUP: &str = "nodeResourceGroup";
/// vCores (Int64): AKS Σ pool count × vCPUs, Arc totalCoreCount, registry 0.
pub const VCORES: &str = "vcores";
/// Protected that day (Boolean).
pub const PROTECTED: &str = "protected";
/// Why not protected ("" when protected).
pub const REASON: &str = "reason";
/// Owner: resource tags, then subscription tags, else unallocated.
pub const OWNER: &str = "owner";

/// The container resources Defender for Containers protects. Ordered as their names sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    /// An AKS cluster (`aks_clusters`).
    Aks,
    /// An Arc-enabled Kubernetes cluster (`arc_clusters`).
    Arc,
    /// A container registry (`container_registries`).
    Registry,
}

impl ResourceKind {
    /// Every kind, in table order.
    pub const ALL: [ResourceKind; 3] =
        [ResourceKind::Aks, ResourceKind::Arc, ResourceKind::Registry];

    /// The name in tables: `aks`, `arc`, `registry`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Aks => "aks",
            ResourceKind::Arc => "arc",
            ResourceKind::Registry => "registry",
        }
    }

    /// The dataset its rows come from.
    pub fn dataset(self) -> &'static str {
        match self {
            ResourceKind::Aks => "aks_clusters",
            ResourceKind::Arc => "arc_clusters",
            ResourceKind::Registry => "container_registries",
        }
    }

    /// The name in reports: `AKS`, `Arc`, `Registry`.
    pub fn label(self) -> &'static str {
        match self {
            ResourceKind::Aks => "AKS",
            ResourceKind::Arc => "Arc",
            ResourceKind::Registry => "Registry",
        }
    }

    /// AKS and Arc clusters (they have vCores and Defender sensors; registries do not).
    pub fn is_cluster(self) -> bool {
        self != ResourceKind::Registry
    }

    /// The kind a table names (`aks`, `arc`, `registry`).
    pub fn parse(s: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One container resource on one snapshot day.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDay {
    /// The snapshot day.
    pub date: NaiveDate,
    /// AKS, Arc or registry.
    pub kind: ResourceKind,
    /// The ARM id as Azure gives it.
    pub id: String,
    /// The id in lower case: resources compare case-insensitively.
    pub id_lower: String,
    /// Resource name.
    pub name: String,
    /// Lower case.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// AKS only.
    pub node_resource_group: Option<String>,
    /// vCores that day (registries 0).
    pub vcores: i64,
    /// Protected that day (see docs/kpis.md, "Per resource").
    pub protected: bool,
    /// Why not protected ("" when protected).
    pub reason: String,
    /// Owner as the resource's and its subscription's tags name it.
    pub owner: String,
}

/// The table of `rows`, in their order.
pub fn to_frame(r: &[ResourceDay]) -> Result<DataFrame> {
    frame::frame(vec![
        frame::date_column_of(DATE, r, |x| Some(x.date)),
        frame::column(KIND, r, |x| x.kind.as_str()),
        frame::column(ID, r, |x| x.id.as_str()),
        frame::column(ID_LOWER, r, |x| x.id_lower.as_str()),
        frame::column(NAME, r, |x| x.name.as_str()),
        frame::column(SUBSCRIPTION, r, |x| x.subscription.as_str()),
        frame::column(RESOURCE_GROUP, r, |x| x.resource_group.as_str()),
        frame::column(NODE_RESOURCE_GROUP, r, |x| x.node_resource_group.clone()),
        frame::column(VCORES, r, |x| x.vcores),
        frame::column(PROTECTED, r, |x| x.protected),
        frame::column(REASON, r, |x| x.reason.as_str()),
        frame::column(OWNER, r, |x| x.owner.as_str()),
    ])
}

/// Rows of a resource-days table (tests build tables by hand; columns other than date, kind
/// and id may be left out). Rows without a date, a known kind or an id are skipped.
pub fn decode(df: &DataFrame) -> Result<Vec<ResourceDay>> {
    let (d, kind, id) = (dates(df, DATE)?, strs(df, KIND)?, strs(df, ID)?);
    let has = |name: &str| df.column(name).is_ok();
    let text = |name: &str| -> Result<Vec<Option<String>>> {
        if has(name) {
            strs(df, name)
        } else {
            Ok(vec![None; df.height()])
        }
    };
    let (name, sub, rg, nrg, reason, owner) = (
        text(NAME)?,
        text(SUBSCRIPTION)?,
        text(RESOURCE_GROUP)?,
        text(NODE_RESOURCE_GROUP)?,
        text(REASON)?,
        text(OWNER)?,
    );
    let vcores = if has(VCORES) {
        ints(df, VCORES)?
    } else {
        vec![None; df.height()]
    };
    let protected = if has(PROTECTED) {
        bools(df, PROTECTED)?
    } else {
        vec![None; df.height()]
    };
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let (Some(date), Some(k), Some(id)) = (
            d[i],
            kind[i].as_deref().and_then(ResourceKind::parse),
            id[i].clone(),
        ) else {
            continue;
        };
        out.push(ResourceDay {
            date,
            kind: k,
            id_lower: id.to_lowercase(),
            id,
            name: name[i].clone().unwrap_or_default(),
            subscription: sub[i].clone().unwrap_or_default().to_lowercase(),
            resource_group: rg[i].clone().unwrap_or_default(),
            node_resource_group: nrg[i].clone(),
            vcores: vcores[i].unwrap_or(0),
            protected: protected[i] == Some(true),
            reason: reason[i].clone().unwrap_or_default(),
            owner: owner[i]
                .clone()
                .unwrap_or_else(|| crate::kpi::owners::UNALLOCATED.to_string()),
        });
    }
    Ok(out)
}

/// Snapshot-day indices as a bit set (a year of days is six words).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DaySet(Vec<u64>);

impl DaySet {
    /// Add a day index.
    pub fn insert(&mut self, day: usize) {
        let (w, b) = (day / 64, day % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << b;
    }

    /// Whether a day index is in the set.
    pub fn contains(&self, day: usize) -> bool {
        self.0
            .get(day / 64)
            .is_some_and(|w| w & (1 << (day % 64)) != 0)
    }
}

/// What the report needs of every container resource ever seen before the period's end,
/// whatever the day: its latest row, the snapshot days on which it was protected, and the node
/// resource groups clusters have used. Grows with resources, not with days.
#[derive(Debug, Clone, Default)]
pub struct ResourceLedger {
    /// Snapshot days, ascending: `DaySet` indices point into it.
    days: Vec<NaiveDate>,
    /// By lower-case id: the row of the latest snapshot that lists the resource (on a tie,
    /// the later row in table order).
    latest: BTreeMap<String, ResourceDay>,
    protected: HashMap<String, DaySet>,
    /// (subscription, lower-case node resource group) of every AKS row.
    node_resource_groups: BTreeSet<(String, String)>,
    /// By lower-case id: the hardening of the latest snapshot row (AKS and registries).
    hardening: BTreeMap<String, Hardening>,
}

impl ResourceLedger {
    /// An empty ledger over the snapshot days `days` (ascending).
    pub fn new(days: Vec<NaiveDate>) -> ResourceLedger {
        ResourceLedger {
            days,
            ..Default::default()
        }
    }

    /// A ledger of `rows` (any order of days; within a day, table order).
    pub fn of_rows(rows: &[ResourceDay]) -> ResourceLedger {
        let days: BTreeSet<NaiveDate> = rows.iter().map(|r| r.date).collect();
        let mut ledger = ResourceLedger::new(days.into_iter().collect());
        let mut sorted: Vec<&ResourceDay> = rows.iter().collect();
        sorted.sort_by_key(|r| r.date);
        for r in sorted {
            ledger.add(r);
        }
        ledger
    }

    /// Fold in one row. Rows arrive day by day, ascending, each day in table order.
    pub fn add(&mut self, row: &ResourceDay) {
        if let Some(nrg) = &row.node_resource_group {
            self.node_resource_groups
                .insert((row.subscription.clone(), nrg.to_lowercase()));
        }
        if row.protected
            && let Ok(day) = self.days.binary_search(&row.date)
        {
            self.protected
                .entry(row.id_lower.clone())
                .or_default()
                .insert(day);
        }
        match self.latest.get_mut(&row.id_lower) {
            Some(latest) if latest.date > row.date => {}
            Some(latest) => *latest = row.clone(),
            None => {
                self.latest.insert(row.id_lower.clone(), row.clone());
            }
        }
    }

    /// Record a resource's hardening on its latest row (rows arrive day by day, ascending).
    pub fn set_hardening(&mut self, id_lower: String, hardening: Hardening) {
        self.hardening.insert(id_lower, hardening);
    }

    /// The hardening of a resource (lower-case id) on its latest row; `None` for Arc clusters.
    pub fn hardening(&self, id_lower: &str) -> Option<&Hardening> {
        self.hardening.get(id_lower)
    }

    /// The snapshot days the ledger spans.
    pub fn days(&self) -> &[NaiveDate] {
        &self.days
    }

    /// Each resource's latest row, by lower-case id.
    pub fn latest(&self) -> &BTreeMap<String, ResourceDay> {
        &self.latest
    }

    /// The owner of a resource (lower-case id) as its latest snapshot names it.
    pub fn owner(&self, id_lower: &str) -> Option<&str> {
        self.latest.get(id_lower).map(|r| r.owner.as_str())
    }

    /// Whether the resource (lower-case id) was protected on snapshot day index `day`.
    pub fn protected_on(&self, id_lower: &str, day: usize) -> bool {
        self.protected
            .get(id_lower)
            .is_some_and(|s| s.contains(day))
    }

    /// Whether (subscription, resource group) is the node resource group of some AKS cluster.
    pub fn is_node_resource_group(&self, subscription: &str, group_lower: &str) -> bool {
        self.node_resource_groups
            .contains(&(subscription.to_string(), group_lower.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: &str, id: &str, protected: bool, owner: &str) -> ResourceDay {
        ResourceDay {
            date: day.parse().unwrap(),
            kind: ResourceKind::Aks,
            id: id.into(),
            id_lower: id.to_lowercase(),
            name: id.into(),
            subscription: "s".into(),
            resource_group: "rg".into(),
            node_resource_group: Some("MC_X".into()),
            vcores: 4,
            protected,
            reason: String::new(),
            owner: owner.into(),
        }
    }

    #[test]
    fn the_ledger_keeps_the_latest_row_and_the_protected_days() {
        let rows = [
            row("2026-09-02", "/C", false, "b"),
            row("2026-09-01", "/c", true, "a"),
            row("2026-09-02", "/c", true, "c"),
        ];
        let l = ResourceLedger::of_rows(&rows);
        // Latest day 09-02 has two rows for /c; the later one in table order wins.
        assert_eq!(l.owner("/c"), Some("c"));
        assert!(l.protected_on("/c", 0) && l.protected_on("/c", 1));
        assert!(!l.protected_on("/x", 0));
        assert!(l.is_node_resource_group("s", "mc_x"));
    }

    #[test]
    fn kinds_sort_as_their_names() {
        let mut k = ResourceKind::ALL.to_vec();
        k.sort_by_key(|k| k.as_str());
        assert_eq!(k, ResourceKind::ALL.to_vec());
    }
}
