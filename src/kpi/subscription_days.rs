//! The subscription-days table: one row per snapshot day and subscription, whether it is in
//! scope and compliant, and why not (see docs/kpis.md, "Coverage"). Coverage derives it, the
//! evidence packs, the executive report and `data/subscription_days.parquet` read it; its
//! column names live here, and [`rows`] decodes a frame once into typed rows.

use crate::error::Result;
use crate::frame::{bools, dates, ints, strs};
use chrono::NaiveDate;
use polars::prelude::DataFrame;

/// The snapshot day (`snapshot_date`, as in every history table).
pub const SNAPSHOT_DATE: &str = crate::history::SNAPSHOT_DATE;
/// Lower-case subscription GUID.
pub const SUBSCRIPTION_ID: &str = "subscriptionId";
/// Display name of the subscription.
pub const SUBSCRIPTION_NAME: &str = "subscriptionName";
/// Subscription state (`Enabled`, `Disabled`, ...).
pub const STATE: &str = "state";
/// Immediate parent management group id.
pub const MANAGEMENT_GROUP: &str = "managementGroup";
/// Immediate parent management group display name (its id when it has none).
pub const MANAGEMENT_GROUP_NAME: &str = "managementGroupName";
/// AKS clusters, registries and Arc clusters the subscription holds that day.
pub const CONTAINER_RESOURCES: &str = "container_resources";
/// `Enabled` and holding at least one container resource.
pub const IN_SCOPE: &str = "in_scope";
/// Containers plan `Standard` with every required extension enabled.
pub const COMPLIANT: &str = "compliant";
/// Why the plan is not compliant (empty when it is).
pub const REASON: &str = "reason";

/// Every column, in table order.
pub const COLUMNS: [&str; 10] = [
    SNAPSHOT_DATE,
    SUBSCRIPTION_ID,
    SUBSCRIPTION_NAME,
    STATE,
    MANAGEMENT_GROUP,
    MANAGEMENT_GROUP_NAME,
    CONTAINER_RESOURCES,
    IN_SCOPE,
    COMPLIANT,
    REASON,
];

/// One row of the table. Strings are as stored (null stays `None`); the two flags are true
/// only when the cell is true (null counts as false).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionDay {
    /// The snapshot day.
    pub date: Option<NaiveDate>,
    /// Lower-case subscription GUID.
    pub subscription_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Subscription state.
    pub state: Option<String>,
    /// Immediate parent management group id.
    pub management_group: Option<String>,
    /// Immediate parent management group display name.
    pub management_group_name: Option<String>,
    /// Container resources held that day.
    pub container_resources: Option<i64>,
    /// In scope that day.
    pub in_scope: bool,
    /// Compliant that day.
    pub compliant: bool,
    /// Why not compliant.
    pub reason: Option<String>,
}

impl SubscriptionDay {
    /// In scope and not compliant: a gap subscription-day.
    pub fn is_gap(&self) -> bool {
        self.in_scope && !self.compliant
    }
}

/// Decode a subscription-days frame into rows, in frame order.
pub fn rows(df: &DataFrame) -> Result<Vec<SubscriptionDay>> {
    let mut date = dates(df, SNAPSHOT_DATE)?.into_iter();
    let mut id = strs(df, SUBSCRIPTION_ID)?.into_iter();
    let mut name = strs(df, SUBSCRIPTION_NAME)?.into_iter();
    let mut state = strs(df, STATE)?.into_iter();
    let mut mg = strs(df, MANAGEMENT_GROUP)?.into_iter();
    let mut mg_name = strs(df, MANAGEMENT_GROUP_NAME)?.into_iter();
    let mut resources = ints(df, CONTAINER_RESOURCES)?.into_iter();
    let mut in_scope = bools(df, IN_SCOPE)?.into_iter();
    let mut compliant = bools(df, COMPLIANT)?.into_iter();
    let mut reason = strs(df, REASON)?.into_iter();
    Ok((0..df.height())
        .map(|_| SubscriptionDay {
            date: date.next().flatten(),
            subscription_id: id.next().flatten(),
            name: name.next().flatten(),
            state: state.next().flatten(),
            management_group: mg.next().flatten(),
            management_group_name: mg_name.next().flatten(),
            container_resources: resources.next().flatten(),
            in_scope: in_scope.next().flatten() == Some(true),
            compliant: compliant.next().flatten() == Some(true),
            reason: reason.next().flatten(),
        })
        .collect())
}
