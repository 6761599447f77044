//! How the headline KPIs are graded against the targets of `[targets]`, and the derived
//! figures the report states beside them (share of spend allocated, cost per protected vCore).

use crate::kpi::Kpis;
use crate::kpi::owners::UNALLOCATED;
use crate::kpi::severity::Severity;
use serde::Serialize;
use std::collections::BTreeMap;

/// A rate within this many percentage points below its target is amber, further below is red.
pub const RATE_AMBER_POINTS: f64 = 5.0;
/// A median detection time up to this multiple of its target is amber, above is red.
pub const MTTD_AMBER_FACTOR: f64 = 2.0;
/// High-severity alerts up to this many above target are amber, more are red.
pub const HIGH_ALERTS_AMBER_EXTRA: i64 = 5;

/// Status against a target, as a traffic light.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Green,
    Amber,
    Red,
    NoData,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Green => "On target",
            Status::Amber => "Near target",
            Status::Red => "Off target",
            Status::NoData => "No data",
        }
    }
}

/// Higher is better: green at or above target, amber within `RATE_AMBER_POINTS` below.
pub fn rate_status(value: Option<f64>, target: f64) -> Status {
    match value {
        None => Status::NoData,
        Some(v) if v >= target => Status::Green,
        Some(v) if v >= target - RATE_AMBER_POINTS => Status::Amber,
        Some(_) => Status::Red,
    }
}

/// Lower is better: green at or below target, amber up to `MTTD_AMBER_FACTOR` × target.
pub fn minutes_status(value: Option<f64>, target: f64) -> Status {
    match value {
        None => Status::NoData,
        Some(v) if v <= target => Status::Green,
        Some(v) if v <= target * MTTD_AMBER_FACTOR => Status::Amber,
        Some(_) => Status::Red,
    }
}

/// Lower is better: green at or below target, amber up to `HIGH_ALERTS_AMBER_EXTRA` above.
pub fn count_status(value: i64, target: i64) -> Status {
    if value <= target {
        Status::Green
    } else if value <= target + HIGH_ALERTS_AMBER_EXTRA {
        Status::Amber
    } else {
        Status::Red
    }
}

/// Compliance Rate: the month-end snapshot day's rate.
pub fn compliance_rate(k: &Kpis) -> Option<f64> {
    k.coverage.month_end_rate
}

/// MTTD: median detection latency over all severities.
pub fn mttd_minutes(k: &Kpis) -> Option<f64> {
    k.detection_latency.overall.median
}

/// The headline Vulnerability Remediation Rate: critical findings fixed within their SLA.
pub fn critical_remediation_rate(k: &Kpis) -> Option<f64> {
    k.remediation
        .by_severity
        .get(Severity::Critical.as_str())
        .and_then(|s| s.rate)
}

/// High-severity runtime alerts.
pub fn high_alerts(k: &Kpis) -> i64 {
    k.runtime_alerts.high_total
}

/// Share of spend assigned to an owner (not `unallocated`), in %; `None` when the total is 0.
pub fn allocated_pct(by_owner: &BTreeMap<String, f64>) -> Option<f64> {
    let total: f64 = by_owner.values().sum();
    if total.abs() < 0.005 {
        return None;
    }
    let unallocated = by_owner.get(UNALLOCATED).copied().unwrap_or(0.0);
    Some((total - unallocated) / total * 100.0)
}

/// Defender for Containers spend divided by protected vCores; `None` without protected vCores.
pub fn cost_per_protected_vcore(defender_spend: f64, protected_vcores: i64) -> Option<f64> {
    (protected_vcores > 0).then(|| defender_spend / protected_vcores as f64)
}

/// The last path segment of an ARM id: the resource's name.
pub fn resource_name(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}
