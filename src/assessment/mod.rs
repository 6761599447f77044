//! What the numbers mean: the KPIs graded against their targets, the risks of the period, the
//! operational checklist, and the tables the executive report shows, gathered from the
//! pipeline's tables. Every decision of the executive report is made here, in one function
//! each; `render` only formats what this module returns.

pub mod checklist;
pub mod gather;
pub mod grading;
pub mod risks;

use crate::config::TargetConfig;
use crate::kpi::Kpis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use checklist::{CheckStatus, ChecklistItem};

/// Everything the executive PDF shows, as plain data. `kpis` and `previous` are the
/// `kpis.json` of this period and earlier ones; the tables below are what the finance and
/// evidence CSVs also publish, so every number in the PDF has a twin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExecutiveInput {
    /// This period's KPIs (the `kpis.json` written beside the PDF).
    pub kpis: Kpis,
    /// Up to 5 earlier periods' KPIs, oldest first, only those history has (may be empty).
    /// The last one is the comparison for the page-1 deltas.
    pub previous: Vec<Kpis>,
    /// Targets the tiles are graded against.
    pub targets: TargetConfig,
    /// Organisation scope in words, e.g. `Contoso tenant 72f9…, management group Production`.
    pub scope: String,
    /// SHA-256 (hex) of the inputs: the same value the manifest records.
    pub input_fingerprint: String,
    /// Where the data came from, one line each (queries, exports, replay folder).
    pub sources: Vec<String>,
    /// Coverage per management group on the month-end snapshot day.
    pub coverage_by_management_group: Vec<MgRow>,
    /// Subscriptions in scope and not compliant on the month-end snapshot day, plus those with
    /// a gap during the period (gap_days = snapshot days without coverage in the period).
    pub uncovered_subscriptions: Vec<SubscriptionRow>,
    /// AKS and Arc clusters and registries not protected on the month-end snapshot day.
    pub unprotected_resources: Vec<ResourceRow>,
    /// Runtime alerts of the period (same population as `kpis.runtime_alerts`) by owner and
    /// severity.
    pub alerts_by_owner_severity: Vec<OwnerSeverityCount>,
    /// Critical findings open past due at period end, by owner of the image's resource.
    pub overdue_critical_by_owner: Vec<OwnerCount>,
    /// Spend on container resources (clusters, their node resource groups, registries, Defender
    /// for Containers) per currency, full precision.
    pub container_spend: BTreeMap<String, f64>,
    /// vCores of protected AKS and Arc clusters on the month-end snapshot day.
    pub protected_vcores: i64,
    /// Hardening of the AKS clusters and registries of the month-end snapshot day, per kind.
    pub hardening: Vec<crate::kpi::hardening::KindPosture>,
    /// Azure Container Instances container groups of the month-end snapshot day: not covered
    /// by Defender for Containers.
    #[serde(default)]
    pub container_groups: crate::kpi::container_instances::GroupCount,
    /// Owner of each cluster, keyed by lower-case ARM id, to name owners of cost anomalies.
    #[serde(default)]
    pub resource_owners: BTreeMap<String, String>,
    /// The operational checklist, each item with its measured status.
    pub checklist: Vec<ChecklistItem>,
}

/// Coverage of one management group (immediate parent of its subscriptions).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MgRow {
    pub management_group: String,
    pub in_scope: i64,
    pub compliant: i64,
    /// compliant / in_scope × 100; `None` when nothing is in scope.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubscriptionRow {
    pub subscription_id: String,
    pub name: String,
    pub owner: String,
    /// Why it is not compliant, in words: `Containers plan is Free`, `ContainerSensor off`.
    pub reason: String,
    pub gap_days: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceRow {
    /// `AKS`, `Arc` or `Registry`.
    pub kind: String,
    pub name: String,
    pub id: String,
    pub subscription_id: String,
    pub owner: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OwnerSeverityCount {
    pub owner: String,
    pub severity: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OwnerCount {
    pub owner: String,
    pub count: i64,
}
