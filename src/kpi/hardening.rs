//! Hardening of the container resources: the configuration settings the resource datasets
//! already collect (AKS `enableRBAC`, `aadManaged`, `networkPolicy`, `azurePolicyEnabled`;
//! registries `adminUserEnabled`, `publicNetworkAccess`), each graded pass, fail or unknown
//! by one documented rule (docs/kpis.md, "Hardening"). Arc-enabled clusters have no such
//! setting in Resource Graph and are not assessed.
//!
//! A resource's hardening is the one of its latest snapshot row, kept per resource (it grows
//! with resources, not days), like its owner.

use crate::error::Result;
use crate::frame::{bools, strs};
use crate::kpi::resource_days::ResourceKind;
use polars::prelude::*;

/// The grade of one setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The setting is the hardened one.
    Pass,
    /// The setting is the weak one (or an opt-in protection is absent).
    Fail,
    /// The snapshot does not say (the column is missing, or a registry setting is null).
    Unknown,
}

impl Outcome {
    /// `pass`, `fail` or `unknown`, as the evidence writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One graded setting: the dataset column, what it is in words, and its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// The column of the resource dataset (and of the protection inventory).
    pub column: &'static str,
    /// Short name for reports.
    pub label: &'static str,
    /// The pass/fail rule, as documented.
    pub rule: &'static str,
}

/// The AKS checks. The four are protections a cluster opts into: absent (null) is not on.
pub const AKS_CHECKS: [Check; 4] = [
    Check {
        column: "enableRBAC",
        label: "Kubernetes RBAC",
        rule: "pass when true; fail when false or absent",
    },
    Check {
        column: "aadManaged",
        label: "Entra ID integration",
        rule: "pass when true (managed Microsoft Entra ID); fail when false or absent",
    },
    Check {
        column: "networkPolicy",
        label: "network policy",
        rule: "pass when a network policy engine is set (azure, calico, cilium); fail when \
               absent or none",
    },
    Check {
        column: "azurePolicyEnabled",
        label: "Azure Policy add-on",
        rule: "pass when true; fail when false or absent",
    },
];

/// The registry checks. Both settings always exist on a registry: null is unknown.
pub const REGISTRY_CHECKS: [Check; 2] = [
    Check {
        column: "adminUserEnabled",
        label: "admin user disabled",
        rule: "pass when false; fail when true; unknown when null",
    },
    Check {
        column: "publicNetworkAccess",
        label: "public network access disabled",
        rule: "pass when Disabled; fail when Enabled; unknown when null",
    },
];

/// Every hardening column of the inventory, AKS first.
pub const COLUMNS: [&str; 6] = [
    "enableRBAC",
    "aadManaged",
    "networkPolicy",
    "azurePolicyEnabled",
    "adminUserEnabled",
    "publicNetworkAccess",
];

/// The checks of a kind (none for Arc-enabled clusters).
pub fn checks(kind: ResourceKind) -> &'static [Check] {
    match kind {
        ResourceKind::Aks => &AKS_CHECKS,
        ResourceKind::Registry => &REGISTRY_CHECKS,
        ResourceKind::Arc => &[],
    }
}

/// One resource's hardening on its latest snapshot row: per check of its kind, the value as
/// written (text) and its grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardening {
    /// AKS or registry.
    pub kind: ResourceKind,
    /// Per check of the kind, the value as the snapshot wrote it (booleans as `true`/`false`).
    pub values: Vec<Option<String>>,
    /// Per check of the kind, its grade.
    pub outcomes: Vec<Outcome>,
}

impl Hardening {
    /// The value of `column`, if the kind has that check.
    pub fn value(&self, column: &str) -> Option<&str> {
        let i = checks(self.kind).iter().position(|c| c.column == column)?;
        self.values[i].as_deref()
    }

    /// Fail when a check fails, else unknown when one is unknown, else pass.
    pub fn overall(&self) -> Outcome {
        if self.outcomes.contains(&Outcome::Fail) {
            Outcome::Fail
        } else if self.outcomes.is_empty() || self.outcomes.contains(&Outcome::Unknown) {
            Outcome::Unknown
        } else {
            Outcome::Pass
        }
    }

    /// The columns of the checks that fail, in check order.
    pub fn failed(&self) -> Vec<&'static str> {
        checks(self.kind)
            .iter()
            .zip(&self.outcomes)
            .filter(|(_, o)| **o == Outcome::Fail)
            .map(|(c, _)| c.column)
            .collect()
    }
}

/// The hardening of every row of one day's resource dataset of `kind`, in table order
/// (`None` for every row of Arc-enabled clusters, which are not assessed).
pub fn of_rows(kind: ResourceKind, df: &DataFrame) -> Result<Vec<Option<Hardening>>> {
    let checks = checks(kind);
    if checks.is_empty() {
        return Ok(vec![None; df.height()]);
    }
    let columns = checks
        .iter()
        .map(|c| column_text(df, c.column))
        .collect::<Result<Vec<_>>>()?;
    Ok((0..df.height())
        .map(|i| {
            let values: Vec<Option<String>> = columns
                .iter()
                .map(|c| c.as_ref().and_then(|v| v[i].clone()))
                .collect();
            let outcomes = checks
                .iter()
                .zip(&columns)
                .map(|(c, col)| grade(c.column, col.is_some(), values_of(col, i)))
                .collect();
            Some(Hardening {
                kind,
                values,
                outcomes,
            })
        })
        .collect())
}

fn values_of(col: &Option<Vec<Option<String>>>, i: usize) -> Option<&str> {
    col.as_ref().and_then(|v| v[i].as_deref())
}

/// A hardening column as text (`true`/`false` for booleans); `None` when the snapshot has no
/// such column (history written before it was collected).
fn column_text(df: &DataFrame, name: &str) -> Result<Option<Vec<Option<String>>>> {
    let Ok(c) = df.column(name) else {
        return Ok(None);
    };
    Ok(Some(match c.dtype() {
        DataType::Boolean => bools(df, name)?
            .into_iter()
            .map(|b| b.map(|b| b.to_string()))
            .collect(),
        _ => strs(df, name)?,
    }))
}

/// The rule of one check (see the `rule` texts): `present` says whether the snapshot has the
/// column at all.
fn grade(column: &str, present: bool, value: Option<&str>) -> Outcome {
    if !present {
        return Outcome::Unknown;
    }
    let v = value.map(str::to_ascii_lowercase);
    match (column, v.as_deref()) {
        ("enableRBAC" | "aadManaged" | "azurePolicyEnabled", Some("true")) => Outcome::Pass,
        ("enableRBAC" | "aadManaged" | "azurePolicyEnabled", _) => Outcome::Fail,
        ("networkPolicy", Some(p)) if !p.trim().is_empty() && p != "none" => Outcome::Pass,
        ("networkPolicy", _) => Outcome::Fail,
        ("adminUserEnabled", Some("false")) => Outcome::Pass,
        ("adminUserEnabled", Some("true")) => Outcome::Fail,
        ("publicNetworkAccess", Some("disabled")) => Outcome::Pass,
        ("publicNetworkAccess", Some("enabled")) => Outcome::Fail,
        _ => Outcome::Unknown,
    }
}

/// Hardening of the resources of one kind: how many were assessed, how many pass every
/// check, and per check how many pass, fail and are unknown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindPosture {
    /// `AKS clusters` or `Registries`.
    pub kind: String,
    /// Resources of the kind assessed.
    pub resources: usize,
    /// Those passing every check.
    pub pass_all: usize,
    /// Per check of the kind.
    pub checks: Vec<CheckPosture>,
}

/// One check over the resources of a kind.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckPosture {
    /// The dataset column.
    pub column: String,
    /// Its short name.
    pub label: String,
    /// Resources passing it.
    pub pass: usize,
    /// Resources failing it.
    pub fail: usize,
    /// Resources for which the snapshot does not say.
    pub unknown: usize,
}

/// The posture of AKS clusters and registries over `resources` (one hardening each).
pub fn posture<'a>(resources: impl Iterator<Item = &'a Hardening> + Clone) -> Vec<KindPosture> {
    [ResourceKind::Aks, ResourceKind::Registry]
        .into_iter()
        .map(|kind| {
            let of_kind: Vec<&Hardening> = resources.clone().filter(|h| h.kind == kind).collect();
            let checks = checks(kind)
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let count = |o: Outcome| of_kind.iter().filter(|h| h.outcomes[i] == o).count();
                    CheckPosture {
                        column: c.column.into(),
                        label: c.label.into(),
                        pass: count(Outcome::Pass),
                        fail: count(Outcome::Fail),
                        unknown: count(Outcome::Unknown),
                    }
                })
                .collect();
            KindPosture {
                kind: match kind {
                    ResourceKind::Aks => "AKS clusters",
                    _ => "Registries",
                }
                .into(),
                resources: of_kind.len(),
                pass_all: of_kind
                    .iter()
                    .filter(|h| h.overall() == Outcome::Pass)
                    .count(),
                checks,
            }
        })
        .collect()
}

/// One line per kind for a report: `AKS clusters: 6 of 11 pass all 4 checks (Kubernetes
/// RBAC 11, ...)`, the figure after each check being the resources that pass it.
pub fn posture_line(p: &KindPosture) -> String {
    let per_check = p
        .checks
        .iter()
        .map(|c| format!("{} {}", c.label, c.pass))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{}: {} of {} pass all {} checks ({per_check})",
        p.kind,
        p.pass_all,
        p.resources,
        p.checks.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aks(values: [Option<&str>; 4]) -> Hardening {
        let df = df!(
            "enableRBAC" => [values[0].map(|v| v == "true")],
            "aadManaged" => [values[1].map(|v| v == "true")],
            "networkPolicy" => [values[2]],
            "azurePolicyEnabled" => [values[3].map(|v| v == "true")],
        )
        .unwrap();
        of_rows(ResourceKind::Aks, &df).unwrap()[0].clone().unwrap()
    }

    #[test]
    fn aks_opt_in_protections_pass_only_when_on() {
        let h = aks([Some("true"), Some("true"), Some("azure"), Some("true")]);
        assert_eq!(h.overall(), Outcome::Pass);
        assert!(h.failed().is_empty());
        // Absent Entra ID profile, no network policy, 'none', add-on off: each a failure.
        let h = aks([Some("true"), None, None, Some("false")]);
        assert_eq!(
            h.failed(),
            ["aadManaged", "networkPolicy", "azurePolicyEnabled"]
        );
        assert_eq!(h.overall(), Outcome::Fail);
        let h = aks([Some("true"), Some("true"), Some("none"), Some("true")]);
        assert_eq!(h.failed(), ["networkPolicy"]);
        assert_eq!(h.value("networkPolicy"), Some("none"));
        assert_eq!(h.value("enableRBAC"), Some("true"));
    }

    #[test]
    fn registry_settings_pass_fail_or_unknown() {
        let df = df!(
            "adminUserEnabled" => [Some(false), Some(true), None],
            "publicNetworkAccess" => [Some("Disabled"), Some("Enabled"), None],
        )
        .unwrap();
        let rows: Vec<Hardening> = of_rows(ResourceKind::Registry, &df)
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(rows[0].overall(), Outcome::Pass);
        assert_eq!(
            rows[1].failed(),
            ["adminUserEnabled", "publicNetworkAccess"]
        );
        assert_eq!(rows[2].outcomes, [Outcome::Unknown, Outcome::Unknown]);
        assert_eq!(rows[2].overall(), Outcome::Unknown);
        // Posture: 3 registries, 1 passes both; admin user: 1 pass, 1 fail, 1 unknown.
        let p = posture(rows.iter());
        assert_eq!(p[0].resources, 0, "no AKS");
        assert_eq!((p[1].resources, p[1].pass_all), (3, 1));
        assert_eq!(
            (
                p[1].checks[0].pass,
                p[1].checks[0].fail,
                p[1].checks[0].unknown
            ),
            (1, 1, 1)
        );
        assert_eq!(
            posture_line(&p[1]),
            "Registries: 1 of 3 pass all 2 checks (admin user disabled 1, public network access \
             disabled 1)"
        );
    }

    #[test]
    fn the_inventory_lists_every_check_column_after_the_grade() {
        let all: Vec<&str> = AKS_CHECKS
            .iter()
            .chain(&REGISTRY_CHECKS)
            .map(|c| c.column)
            .collect();
        assert_eq!(all, COLUMNS);
        let columns = crate::evidence::PROTECTION_INVENTORY.columns;
        let at = columns
            .iter()
            .position(|c| *c == "hardening_failed")
            .unwrap();
        assert_eq!(columns[at + 1..at + 1 + COLUMNS.len()], COLUMNS);
    }

    #[test]
    fn a_snapshot_without_the_columns_is_unknown_and_arc_is_not_assessed() {
        let df = df!("id" => ["a"]).unwrap();
        let h = of_rows(ResourceKind::Aks, &df).unwrap()[0].clone().unwrap();
        assert_eq!(h.outcomes, [Outcome::Unknown; 4]);
        assert!(of_rows(ResourceKind::Arc, &df).unwrap()[0].is_none());
    }
}
