//! Showback: cost rows of the period by owner, with Defender for Containers charges split by
//! protected vCores, and the reconciliation invariant (Σ showback = Σ export rows per currency).

use crate::collect::cost_exports::CostData;
use crate::error::Result;
use crate::kpi::{Parameters, ShowbackKpis};
use crate::period::Period;
use polars::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct ShowbackResult {
    pub kpis: ShowbackKpis,
    /// currency, owner, amount, ... (finance/showback-by-owner.csv)
    pub by_owner: DataFrame,
    /// finance/showback-by-resource.csv
    pub by_resource: DataFrame,
    /// finance/defender-cost-allocation.csv
    pub defender_allocation: DataFrame,
    /// finance/untagged-resources.csv
    pub untagged: DataFrame,
    pub data_quality: Vec<String>,
}

/// Compute showback for `period` from the loaded cost data.
/// `resources`: the `kpi::resource_days` table; `subscription_tags`: lower-case subscription
/// id -> tags JSON from the latest snapshot before the period's end.
pub fn compute(
    _cost: &CostData,
    _resources: &DataFrame,
    _subscription_tags: &BTreeMap<String, Option<String>>,
    _params: &Parameters,
    _period: Period,
) -> Result<ShowbackResult> {
    todo!("showback")
}
