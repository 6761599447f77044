//! Azure Container Instances container groups (`container_instances`): a container service
//! Defender for Containers does not cover (no runtime sensor on them, no scanning of what they
//! run). They are not in the coverage KPIs, whose population is what the plan can protect;
//! the protection inventory lists each group of the period, flagged as not covered, with its
//! owner, images, IP exposure and SKU, and the executive report counts them.
//!
//! Only the period's days are kept, one entry per group (its latest row and its days), so the
//! state grows with container groups, not with days.

use crate::error::Result;
use crate::frame::strs;
use crate::history::SnapshotDay;
use crate::kpi::owners::resource_heads;
use crate::period::Period;
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The dataset.
pub const DATASET: &str = "container_instances";
/// The inventory's kind for a container group.
pub const KIND: &str = "aci";
/// The reason the inventory gives for every container group.
pub const NOT_COVERED: &str = "not covered by Defender for Containers";

/// One container group of the period, as its latest snapshot row describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerGroup {
    /// The ARM id as Azure gives it.
    pub id: String,
    /// Resource name.
    pub name: String,
    /// Lower-case subscription GUID.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Owner as the group's and its subscription's tags name it.
    pub owner: String,
    /// `Standard`, `Dedicated` or `Confidential` (empty when Azure does not say).
    pub sku: String,
    /// `Public`, `Private`, or empty when the group has no IP address.
    pub ip_address_type: String,
    /// The IP address (empty when none).
    pub ip_address: String,
    /// The images its containers run, distinct and sorted.
    pub images: Vec<String>,
    /// The snapshot days of the period it was seen on.
    pub days: BTreeSet<NaiveDate>,
}

impl ContainerGroup {
    /// Reachable from the internet: its IP address type is `Public`.
    pub fn public_ip(&self) -> bool {
        self.ip_address_type.eq_ignore_ascii_case("public")
    }

    /// Runs on the confidential SKU (hardware-based trusted execution environment).
    pub fn confidential(&self) -> bool {
        self.sku.eq_ignore_ascii_case("confidential")
    }

    /// `public`, `private` or `none`, as the inventory writes the exposure.
    pub fn exposure(&self) -> &'static str {
        if self.public_ip() {
            "public"
        } else if self.ip_address_type.eq_ignore_ascii_case("private") {
            "private"
        } else {
            "none"
        }
    }

    /// The last snapshot day of the period it was seen on.
    pub fn last_seen(&self) -> Option<NaiveDate> {
        self.days.last().copied()
    }
}

/// The period's container groups, and how many of the period's rows described them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerGroups {
    /// By name, then id.
    pub groups: Vec<ContainerGroup>,
    /// Rows of the period that name a group (id and subscription present).
    pub rows: i64,
    /// Of those, second rows for a group on a day it already had one.
    pub second_rows: i64,
}

/// The period's container groups, folded one snapshot day at a time.
pub struct ContainerGroupState {
    period: Period,
    /// By lower-case id: ids compare case-insensitively, as for every resource.
    groups: BTreeMap<String, ContainerGroup>,
    rows: i64,
    second_rows: i64,
}

impl ContainerGroupState {
    /// No groups yet; only days of `period` will be kept.
    pub fn new(period: Period) -> ContainerGroupState {
        ContainerGroupState {
            period,
            groups: BTreeMap::new(),
            rows: 0,
            second_rows: 0,
        }
    }

    /// Fold in one snapshot day (days arrive in ascending order; days outside the period and
    /// days from before the dataset existed add nothing). The latest row of a group wins.
    pub fn add_day(
        &mut self,
        day: &SnapshotDay,
        owner_tags: &[String],
        sub_tags: &BTreeMap<String, Option<String>>,
    ) -> Result<()> {
        if !self.period.contains(day.date) {
            return Ok(());
        }
        for g in groups_of_day(day, owner_tags, sub_tags)? {
            let id_lower = g.id.to_lowercase();
            let mut days = self
                .groups
                .remove(&id_lower)
                .map(|old| old.days)
                .unwrap_or_default();
            self.rows += 1;
            if !days.insert(day.date) {
                self.second_rows += 1;
            }
            self.groups.insert(id_lower, ContainerGroup { days, ..g });
        }
        Ok(())
    }

    /// The period's container groups, by name then id.
    pub fn finish(self) -> ContainerGroups {
        let mut groups: Vec<ContainerGroup> = self.groups.into_values().collect();
        groups.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        ContainerGroups {
            groups,
            rows: self.rows,
            second_rows: self.second_rows,
        }
    }
}

/// One snapshot day's container groups (rows without id or subscription are skipped, as for
/// every resource dataset; the evidence counts them).
fn groups_of_day(
    day: &SnapshotDay,
    owner_tags: &[String],
    sub_tags: &BTreeMap<String, Option<String>>,
) -> Result<Vec<ContainerGroup>> {
    let df = day.frame(DATASET);
    let heads = resource_heads(df, owner_tags, sub_tags)?;
    let (skus, ip_types, ips, containers) = (
        strs(df, "sku")?,
        strs(df, "ipAddressType")?,
        strs(df, "ipAddress")?,
        strs(df, "containers")?,
    );
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (i, head) in heads.into_iter().enumerate() {
        let Some(h) = head else {
            continue;
        };
        out.push(ContainerGroup {
            id: h.id,
            name: h.name,
            subscription: h.subscription,
            resource_group: h.resource_group,
            owner: h.owner,
            sku: text(&skus[i]),
            ip_address_type: text(&ip_types[i]),
            ip_address: text(&ips[i]),
            images: images_of(containers[i].as_deref()),
            days: BTreeSet::new(),
        });
    }
    Ok(out)
}

/// The distinct images of a `containers` cell (Azure's items: `properties.image`), sorted.
pub fn images_of(containers: Option<&str>) -> Vec<String> {
    let items: Vec<Value> = containers
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let images: BTreeSet<String> = items
        .iter()
        .filter_map(|c| c.pointer("/properties/image").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    images.into_iter().collect()
}

/// The container groups of the month-end snapshot day, counted for the executive report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupCount {
    /// Container groups listed on the month-end snapshot day.
    pub total: usize,
    /// Of those, with a public IP address.
    pub public_ip: usize,
    /// Of those, on the confidential SKU.
    pub confidential: usize,
}

impl GroupCount {
    /// The groups whose last day in the period is the month-end snapshot day.
    pub fn on_month_end(groups: &[ContainerGroup], month_end: Option<NaiveDate>) -> GroupCount {
        let on: Vec<&ContainerGroup> = groups
            .iter()
            .filter(|g| month_end.is_some() && g.last_seen() == month_end)
            .collect();
        GroupCount {
            total: on.len(),
            public_ip: on.iter().filter(|g| g.public_ip()).count(),
            confidential: on.iter().filter(|g| g.confidential()).count(),
        }
    }

    /// The executive report's sentence, or empty when there are none.
    pub fn text(&self) -> String {
        let n = self.total;
        if n == 0 {
            return String::new();
        }
        format!(
            "Not covered: {n} Azure Container Instances container group{} at month end \
             ({} with a public IP address, {} on the confidential SKU). Defender for Containers \
             does not protect this service; each group is listed in the protection inventory \
             (kind {KIND}) with its owner and images.",
            if n == 1 { "" } else { "s" },
            self.public_ip,
            self.confidential,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_read_from_the_items_distinct_and_sorted() {
        let cell = r#"[{"name":"b","properties":{"image":"mcr.microsoft.com/b:1"}},
                       {"name":"a","properties":{"image":"docker.io/a:2"}},
                       {"name":"c","properties":{"image":"docker.io/a:2"}},
                       {"name":"d","properties":{}}]"#;
        assert_eq!(
            images_of(Some(cell)),
            vec!["docker.io/a:2", "mcr.microsoft.com/b:1"]
        );
        assert!(images_of(None).is_empty());
        assert!(images_of(Some("not json")).is_empty());
    }

    #[test]
    fn exposure_and_sku_read_case_insensitively() {
        let g = ContainerGroup {
            id: "x".into(),
            name: "x".into(),
            subscription: "s".into(),
            resource_group: "rg".into(),
            owner: "o".into(),
            sku: "confidential".into(),
            ip_address_type: "PUBLIC".into(),
            ip_address: "20.1.2.3".into(),
            images: vec![],
            days: BTreeSet::new(),
        };
        assert!(g.public_ip() && g.confidential());
        assert_eq!(g.exposure(), "public");
        let private = ContainerGroup {
            ip_address_type: "Private".into(),
            ..g.clone()
        };
        assert_eq!(private.exposure(), "private");
        let none = ContainerGroup {
            ip_address_type: String::new(),
            ..g
        };
        assert_eq!(none.exposure(), "none");
    }
}
