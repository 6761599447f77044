//! Audit evidence packs, one per framework and period, under `evidence/<framework>/`:
//!
//! - one CSV per evidence item (`ITEMS`), built from the same tables the KPIs come from;
//! - `population.csv`: per item, the rows it holds, the rows Resource Graph reported for the
//!   same queries over the same snapshot days, every exclusion with its reason, the queries and
//!   their SHA-256, the period, and the snapshot days used and missing;
//! - `snapshot-days.csv`: every day of the period, used or missing (gaps are shown, never
//!   hidden);
//! - `controls.csv` and `mapping.toml`: control → items, with support and rationale;
//! - `assessment-results.json`: the pack as NIST OSCAL 1.1.2 assessment results for GRC tools
//!   (`oscal`);
//! - `evidence-pack.json`: the content of `evidence-pack.pdf` as data (`pack::EvidencePackDoc`).
//!
//! Nothing here reads storage or the network: `EvidenceInputs` carries every table, and
//! `build_pack` returns files for `publish`.

pub mod items;
pub mod mapping;
pub mod oscal;
pub mod pack;

pub use items::{
    EvidenceInputs, EvidenceTable, Figure, Population, QueryRef, QueryText, build_items,
};
pub use mapping::{Mapping, Support};
pub use pack::{EvidencePackDoc, build_pack, build_packs};

use std::fmt;
use std::str::FromStr;

/// A compliance framework with an evidence pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Framework {
    /// PCI DSS v4.0.1.
    PciDss401,
    /// SOC 2 Trust Services Criteria.
    Soc2,
}

impl Framework {
    pub const ALL: [Framework; 2] = [Framework::PciDss401, Framework::Soc2];

    /// Folder and mapping-file name.
    pub fn id(self) -> &'static str {
        match self {
            Framework::PciDss401 => "pci-dss-4.0.1",
            Framework::Soc2 => "soc2",
        }
    }

    /// Where this framework's pack lives inside a run.
    pub fn dir(self) -> String {
        format!("evidence/{}", self.id())
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Framework {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Framework::ALL
            .into_iter()
            .find(|f| f.id().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown framework {s} (known: pci-dss-4.0.1, soc2)"))
    }
}

/// An evidence item: one CSV in every pack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemDef {
    /// Stable id, used in mappings and as the CSV file stem.
    pub id: &'static str,
    pub title: &'static str,
    /// What one row is and how the population is counted.
    pub description: &'static str,
    /// Columns of the CSV, in order.
    pub columns: &'static [&'static str],
}

impl ItemDef {
    pub fn file_name(&self) -> String {
        format!("{}.csv", self.id)
    }
}

pub const COVERAGE_DAILY: ItemDef = ItemDef {
    id: "coverage-daily",
    title: "Defender for Containers coverage per subscription per day",
    description: "One row per subscription and snapshot day of the period: in scope (Enabled \
                  and holding container resources), compliant (Containers plan Standard with every \
                  required extension enabled) and the reason when not.",
    columns: &crate::kpi::subscription_days::COLUMNS,
};

pub const COVERAGE_GAPS: ItemDef = ItemDef {
    id: "coverage-gaps",
    title: "Coverage gaps with start and end",
    description: "One row per run of consecutive snapshot days on which a subscription in scope \
                  was not compliant, clipped to the period; the population is the in-scope \
                  subscription-days, of which the gap days are the failing ones.",
    columns: &[
        "subscriptionId",
        "subscriptionName",
        "managementGroup",
        "start",
        "end",
        "snapshot_days",
        "calendar_days",
        "missing_snapshot_days_within",
        "continues_from_previous_period",
        "open_at_period_end",
        "reason_at_start",
        "reason_at_end",
    ],
};

pub const PROTECTION_INVENTORY: ItemDef = ItemDef {
    id: "protection-inventory",
    title: "Protection inventory of AKS clusters, Arc-enabled clusters and registries, with owner, \
            and the container groups Defender for Containers does not cover",
    description: "One row per container resource seen on a snapshot day of the period, with the \
                  days present and protected, and its hardening settings on its last day (AKS \
                  and registries; graded pass, fail or unknown by the rules of docs/kpis.md); \
                  then one row per Azure Container Instances container group (kind aci, \
                  covered_by_defender_for_containers false) with its images, IP exposure and \
                  SKU. Σ days_present is the resource-days population.",
    columns: &[
        "kind",
        "id",
        "name",
        "subscriptionId",
        "resourceGroup",
        "owner",
        "first_seen",
        "last_seen",
        "days_present",
        "days_protected",
        "days_unprotected",
        "protected_on_last_day",
        "reason_on_last_day",
        "vcores_on_last_day",
        "hardening",
        "hardening_failed",
        "enableRBAC",
        "aadManaged",
        "networkPolicy",
        "azurePolicyEnabled",
        "adminUserEnabled",
        "publicNetworkAccess",
        "covered_by_defender_for_containers",
        "images",
        "ip_exposure",
        "ip_address",
        "container_group_sku",
        "confidential_sku",
    ],
};

pub const POLICY_COMPLIANCE: ItemDef = ItemDef {
    id: "policy-compliance",
    title: "Compliance of the Defender for Containers policies by assignment and management group",
    description: "One row per snapshot day, policy assignment, definition and management group: \
                  resource compliance states counted; rate = compliant / (compliant + non-compliant) \
                  with exemptions listed separately.",
    columns: &[
        "snapshot_date",
        "managementGroup",
        "policyAssignmentId",
        "policyAssignmentScope",
        "policyDefinitionId",
        "policyDefinitionAction",
        "compliant",
        "non_compliant",
        "exempt",
        "other",
        "states",
        "rate",
    ],
};

pub const ALERTS: ItemDef = ItemDef {
    id: "alerts",
    title: "Container runtime alerts with start, generated time and detection latency",
    description: "One row per distinct alert (systemAlertId, latest snapshot wins) generated in \
                  the period with a container alert type; latency = timeGeneratedUtc − \
                  startTimeUtc in minutes.",
    columns: &[
        "systemAlertId",
        "alertType",
        "displayName",
        "severity",
        "status",
        "subscriptionId",
        "resourceId",
        "cluster",
        "owner",
        "startTimeUtc",
        "timeGeneratedUtc",
        "latency_minutes",
        "latency_excluded",
        "latency_exclusion_reason",
        "last_seen_snapshot",
    ],
};

pub const VULNERABILITY_FINDINGS: ItemDef = ItemDef {
    id: "vulnerability-findings",
    title: "Image vulnerability findings with first seen, due, resolved and SLA met",
    description: "One row per finding (image digest, CVE) open during the period or due in it; \
                  Σ appearances is the count of Unhealthy rows behind the findings.",
    columns: &[
        "imageDigest",
        "cveId",
        "severity",
        "cvssScore",
        "subscriptionId",
        "resourceId",
        "source",
        "registryHost",
        "repository",
        "owner",
        "first_seen",
        "last_seen",
        "appearances",
        "sla_days",
        "due",
        "resolved",
        "sla_met",
        "due_in_period",
        "open_past_due",
        "left_censored",
    ],
};

pub const OWNERSHIP_TAGS: ItemDef = ItemDef {
    id: "ownership-tags",
    title: "Ownership-tag coverage of container resources at period end",
    description: "One row per AKS cluster, Arc-enabled cluster and registry on the last snapshot \
                  day of the period: the owner, the tag key it came from and whether that tag is \
                  on the resource itself, inherited from the subscription, or absent.",
    columns: &[
        "snapshot_date",
        "kind",
        "id",
        "name",
        "subscriptionId",
        "resourceGroup",
        "owner",
        "owner_source",
        "owner_tag_key",
    ],
};

/// Every evidence item, in pack order.
pub const ITEMS: &[ItemDef] = &[
    COVERAGE_DAILY,
    COVERAGE_GAPS,
    PROTECTION_INVENTORY,
    POLICY_COMPLIANCE,
    ALERTS,
    VULNERABILITY_FINDINGS,
    OWNERSHIP_TAGS,
];

pub fn item(id: &str) -> Option<&'static ItemDef> {
    ITEMS.iter().find(|i| i.id == id)
}
