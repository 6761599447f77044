//! KPIs, exactly as DESIGN.md defines them. Nothing here knows about HTTP or blobs: every
//! function takes frames (snapshots, cost aggregates) and returns numbers and tables.
//!
//! The shapes below are the `kpis.json` contract (schema_version 1); the executive PDF, the
//! finance CSVs and the evidence packs all render from them, so every report shows the same
//! number.

pub mod anomalies;
pub mod coverage;
pub mod detection;
pub mod owners;
pub mod policy;
pub mod resource_days;
pub mod severity;
pub mod showback;
pub mod state;
pub mod stats;
pub mod subscription_days;
pub mod vcores;
pub mod vulnerabilities;

use crate::config::Config;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every threshold a KPI uses, printed by every report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Parameters {
    #[serde(rename = "coverage.required_extensions")]
    pub required_extensions: Vec<String>,
    #[serde(rename = "detection.alert_type_prefixes")]
    pub alert_type_prefixes: Vec<String>,
    #[serde(rename = "vulnerabilities.sla_days")]
    pub sla_days: BTreeMap<String, i64>,
    #[serde(rename = "showback.owner_tags")]
    pub owner_tags: Vec<String>,
    #[serde(rename = "showback.vcpu_overrides", default)]
    pub vcpu_overrides: BTreeMap<String, i64>,
    pub anomalies: AnomalyParameters,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnomalyParameters {
    pub multiplier: f64,
    pub window_days: i64,
    pub floor: f64,
}

impl Parameters {
    pub fn from_config(c: &Config) -> Parameters {
        Parameters {
            required_extensions: c.coverage.required_extensions.clone(),
            alert_type_prefixes: c.detection.alert_type_prefixes.clone(),
            sla_days: c.vulnerabilities.sla_days.clone(),
            owner_tags: c.showback.owner_tags.clone(),
            vcpu_overrides: c.showback.vcpu_overrides.clone(),
            anomalies: AnomalyParameters {
                multiplier: c.anomalies.multiplier,
                window_days: c.anomalies.window_days,
                floor: c.anomalies.floor,
            },
        }
    }
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters::from_config(&Config::default())
    }
}

// ---------------------------------------------------------------------------------------------
// kpis.json

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Kpis {
    pub schema_version: u32,
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end_exclusive: NaiveDate,
    pub parameters: Parameters,
    pub snapshot_days_in_period: Vec<NaiveDate>,
    pub snapshot_days_missing: Vec<NaiveDate>,
    pub coverage: CoverageKpis,
    pub detection_latency: DetectionLatency,
    pub runtime_alerts: RuntimeAlerts,
    pub remediation: Remediation,
    pub showback: ShowbackKpis,
    pub anomalies: Vec<Anomaly>,
    /// Data-quality findings (unparseable VM sizes, negative latencies, ...), in plain words.
    #[serde(default)]
    pub data_quality: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CoverageDay {
    pub date: NaiveDate,
    pub in_scope: i64,
    pub compliant: i64,
    pub rate: Option<f64>,
    pub aks_total: i64,
    pub aks_protected: i64,
    pub arc_total: i64,
    pub arc_protected: i64,
    pub registries_total: i64,
    pub registries_protected: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct Gap {
    pub subscriptionId: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Snapshot days in the clipped run (so Σ days = gap_subscription_days).
    pub days: i64,
    pub continues_from_previous_period: bool,
    pub open_at_period_end: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CoverageKpis {
    pub daily: Vec<CoverageDay>,
    pub month_end_date: Option<NaiveDate>,
    pub month_end_rate: Option<f64>,
    pub min_rate: Option<f64>,
    pub mean_rate: Option<f64>,
    pub gap_subscription_days: i64,
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencyStats {
    pub count: i64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub mean: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct NegativeLatency {
    pub systemAlertId: String,
    pub latency_minutes: f64,
    pub severity: String,
    pub resourceId: String,
    pub startTimeUtc: String,
    pub timeGeneratedUtc: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DetectionLatency {
    /// Alerts in the population (negative latencies included; they are excluded from stats).
    pub population: i64,
    pub overall: LatencyStats,
    pub by_severity: BTreeMap<String, LatencyStats>,
    pub negative_latency: Vec<NegativeLatency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuntimeAlerts {
    pub population: i64,
    pub high_total: i64,
    pub by_severity: BTreeMap<String, i64>,
    pub high_by_owner: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeverityRemediation {
    pub due_in_period: i64,
    pub resolved_on_time: i64,
    pub rate: Option<f64>,
    pub left_censored_due: i64,
    pub resolved_in_period: i64,
    pub median_days_to_resolve: Option<f64>,
    pub open_past_due_at_period_end: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Remediation {
    pub findings_total: i64,
    pub by_severity: BTreeMap<String, SeverityRemediation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct DefenderAllocation {
    pub subscriptionId: String,
    pub currency: String,
    pub owner: String,
    pub amount: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ShowbackKpis {
    pub source_exports: Vec<String>,
    pub rows_in_period: i64,
    /// currency -> owner -> amount (full precision).
    pub by_currency: BTreeMap<String, BTreeMap<String, f64>>,
    pub export_total_by_currency: BTreeMap<String, f64>,
    pub defender_containers_total: BTreeMap<String, f64>,
    pub defender_allocation: Vec<DefenderAllocation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct Anomaly {
    pub clusterId: String,
    pub date: NaiveDate,
    pub cost: f64,
    pub currency: String,
    pub median_previous: f64,
    /// cost / median_previous; null when the median is 0.
    pub ratio: Option<f64>,
    /// The cluster's protection that day; null when there is no snapshot that day.
    pub protected: Option<bool>,
}

impl Anomaly {
    /// Risk order: unprotected first, then unknown coverage (no snapshot), then protected.
    pub fn coverage_rank(&self) -> u8 {
        match self.protected {
            Some(false) => 0,
            None => 1,
            Some(true) => 2,
        }
    }
}
