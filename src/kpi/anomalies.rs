//! Cost anomalies per cluster-day (the cryptojacking signal).

use crate::collect::cost_exports::CostData;
use crate::error::Result;
use crate::kpi::{Anomaly, Parameters};
use crate::period::Period;
use polars::prelude::*;

/// Anomalous cluster-days of `period`, with the cluster's coverage that day, and the table
/// for `finance/cost-anomalies.csv`.
pub fn compute(
    _cost: &CostData,
    _resources: &DataFrame,
    _params: &Parameters,
    _period: Period,
) -> Result<(Vec<Anomaly>, DataFrame)> {
    todo!("anomalies")
}
