//! KPIs, exactly as docs/kpis.md defines them. Nothing here knows about HTTP or blobs: every
//! function takes frames (snapshots, cost aggregates) and returns numbers and tables.
//!
//! The shapes below are the `kpis.json` contract (schema_version 1); the executive PDF, the
//! finance CSVs and the evidence packs all render from them, so every report shows the same
//! number.

#![warn(missing_docs)]

pub mod anomalies;
pub mod container_instances;
pub mod coverage;
pub mod detection;
pub mod hardening;
pub mod owners;
pub mod policy;
pub mod resource_days;
pub mod scan_status;
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
    /// Extensions of the Containers plan that must be enabled for compliance.
    #[serde(rename = "coverage.required_extensions")]
    pub required_extensions: Vec<String>,
    /// Alert types (by prefix, case-sensitive) counted as container runtime alerts.
    #[serde(rename = "detection.alert_type_prefixes")]
    pub alert_type_prefixes: Vec<String>,
    /// Days to remediate a vulnerability finding, per severity.
    #[serde(rename = "vulnerabilities.sla_days")]
    pub sla_days: BTreeMap<String, i64>,
    /// Tag keys naming an owner, in the order they are tried.
    #[serde(rename = "showback.owner_tags")]
    pub owner_tags: Vec<String>,
    /// vCPUs of VM sizes whose name does not say (size name → vCPUs).
    #[serde(rename = "showback.vcpu_overrides", default)]
    pub vcpu_overrides: BTreeMap<String, i64>,
    /// Cost-anomaly thresholds.
    pub anomalies: AnomalyParameters,
}

/// Thresholds of the cost-anomaly signal (`[anomalies]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnomalyParameters {
    /// A day is anomalous above this multiple of the window's median.
    pub multiplier: f64,
    /// Calendar days before the day whose median is the baseline.
    pub window_days: i64,
    /// Minimum daily cost of an anomaly, in the billing currency.
    pub floor: f64,
}

impl Parameters {
    /// The thresholds a configuration sets.
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

/// `kpis.json`: every KPI of one period and the parameters used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Kpis {
    /// Version of this shape (1).
    pub schema_version: u32,
    /// The period, `YYYY-MM`.
    pub period: String,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// First day after the period.
    pub period_end_exclusive: NaiveDate,
    /// Every threshold used.
    pub parameters: Parameters,
    /// Snapshot days of the period, ascending.
    pub snapshot_days_in_period: Vec<NaiveDate>,
    /// Days of the period without a snapshot (left out everywhere).
    pub snapshot_days_missing: Vec<NaiveDate>,
    /// Compliance Rate and gaps.
    pub coverage: CoverageKpis,
    /// Detection latency (MTTD) of the runtime-alert population.
    pub detection_latency: DetectionLatency,
    /// Runtime alerts by severity and owner.
    pub runtime_alerts: RuntimeAlerts,
    /// Vulnerability remediation within SLA.
    pub remediation: Remediation,
    /// Showback by owner, reconciled to the cost export.
    pub showback: ShowbackKpis,
    /// Anomalous cluster cost days, unprotected first.
    pub anomalies: Vec<Anomaly>,
    /// Data-quality findings (unparseable VM sizes, negative latencies, ...), in plain words.
    #[serde(default)]
    pub data_quality: Vec<String>,
}

/// Coverage on one snapshot day.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CoverageDay {
    /// The snapshot day.
    pub date: NaiveDate,
    /// Subscriptions in scope.
    pub in_scope: i64,
    /// Subscriptions in scope and compliant.
    pub compliant: i64,
    /// compliant / in scope × 100; null with nobody in scope.
    pub rate: Option<f64>,
    /// AKS clusters that day.
    pub aks_total: i64,
    /// AKS clusters protected that day.
    pub aks_protected: i64,
    /// Arc-enabled clusters that day.
    pub arc_total: i64,
    /// Arc-enabled clusters protected that day.
    pub arc_protected: i64,
    /// Container registries that day.
    pub registries_total: i64,
    /// Container registries protected (scanned) that day.
    pub registries_protected: i64,
}

/// A run of consecutive snapshot days on which a subscription was in scope and not compliant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct Gap {
    /// Lower-case subscription GUID.
    pub subscriptionId: String,
    /// First snapshot day of the gap, clipped to the period.
    pub start: NaiveDate,
    /// Last snapshot day of the gap, clipped to the period.
    pub end: NaiveDate,
    /// Snapshot days in the clipped run (so Σ days = gap_subscription_days).
    pub days: i64,
    /// The run began before the period.
    pub continues_from_previous_period: bool,
    /// The run reaches the period's last snapshot day.
    pub open_at_period_end: bool,
}

/// Compliance Rate (coverage) of the period.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CoverageKpis {
    /// One entry per snapshot day of the period.
    pub daily: Vec<CoverageDay>,
    /// The period's last snapshot day.
    pub month_end_date: Option<NaiveDate>,
    /// Daily rate on the month-end day.
    pub month_end_rate: Option<f64>,
    /// Lowest daily rate (days with nobody in scope left out).
    pub min_rate: Option<f64>,
    /// Mean daily rate (days with nobody in scope left out).
    pub mean_rate: Option<f64>,
    /// Σ over snapshot days of (in scope − compliant).
    pub gap_subscription_days: i64,
    /// Every gap of the period.
    pub gaps: Vec<Gap>,
}

/// Count, median, p90 and mean of detection latencies, in minutes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencyStats {
    /// Latencies counted.
    pub count: i64,
    /// Median, in minutes.
    pub median: Option<f64>,
    /// 90th percentile (nearest rank), in minutes.
    pub p90: Option<f64>,
    /// Mean, in minutes.
    pub mean: Option<f64>,
}

/// An alert generated before it started: a data-quality finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct NegativeLatency {
    /// The alert.
    pub systemAlertId: String,
    /// timeGeneratedUtc − startTimeUtc, negative.
    pub latency_minutes: f64,
    /// Alert severity.
    pub severity: String,
    /// Resource the alert names.
    pub resourceId: String,
    /// Start time as ISO 8601.
    pub startTimeUtc: String,
    /// Generation time as ISO 8601.
    pub timeGeneratedUtc: String,
}

/// Detection latency (MTTD) of the period's runtime alerts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DetectionLatency {
    /// Alerts in the population (negative latencies included; they are excluded from stats).
    pub population: i64,
    /// Statistics over every alert with a valid latency.
    pub overall: LatencyStats,
    /// Statistics per severity.
    pub by_severity: BTreeMap<String, LatencyStats>,
    /// Alerts generated before they started (data-quality findings).
    pub negative_latency: Vec<NegativeLatency>,
}

/// The period's runtime alerts by severity and owner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuntimeAlerts {
    /// Alerts in the population.
    pub population: i64,
    /// High-severity alerts.
    pub high_total: i64,
    /// Alerts per severity.
    pub by_severity: BTreeMap<String, i64>,
    /// High-severity alerts per owner.
    pub high_by_owner: BTreeMap<String, i64>,
}

/// Vulnerability remediation of one severity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SeverityRemediation {
    /// Findings due in the period.
    pub due_in_period: i64,
    /// Of those, resolved on or before their due day.
    pub resolved_on_time: i64,
    /// resolved_on_time / due_in_period × 100; null with none due.
    pub rate: Option<f64>,
    /// Findings due in the period first seen on the first snapshot day ever stored.
    pub left_censored_due: i64,
    /// Findings resolved in the period.
    pub resolved_in_period: i64,
    /// Median of (resolved − first seen) over those.
    pub median_days_to_resolve: Option<f64>,
    /// Findings open and past due at the period's end.
    pub open_past_due_at_period_end: i64,
}

/// Vulnerability remediation within SLA.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Remediation {
    /// Findings known (every (image digest, CVE) seen).
    pub findings_total: i64,
    /// Remediation per severity.
    pub by_severity: BTreeMap<String, SeverityRemediation>,
    /// Whether each protected registry and cluster had vulnerability data ("no data" is not
    /// "no findings"; docs/kpis.md, "Vulnerability data").
    #[serde(default)]
    pub vulnerability_data: scan_status::VulnerabilityDataKpis,
}

/// Defender for Containers charges that went to one owner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct DefenderAllocation {
    /// Subscription the charge was billed to.
    pub subscriptionId: String,
    /// Billing currency.
    pub currency: String,
    /// Owner it went to (`unallocated` when it could not be split).
    pub owner: String,
    /// Amount over the period, full precision.
    pub amount: f64,
}

/// Showback of the period, per currency.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ShowbackKpis {
    /// Cost exports read, as configured.
    pub source_exports: Vec<String>,
    /// Export rows dated in the period.
    pub rows_in_period: i64,
    /// currency -> owner -> amount (full precision).
    pub by_currency: BTreeMap<String, BTreeMap<String, f64>>,
    /// Σ export rows of the period per currency.
    pub export_total_by_currency: BTreeMap<String, f64>,
    /// Defender for Containers charges of the period per currency.
    pub defender_containers_total: BTreeMap<String, f64>,
    /// Where the Defender charges went, per subscription, currency and owner.
    pub defender_allocation: Vec<DefenderAllocation>,
}

/// A cluster-day whose cost exceeds the anomaly thresholds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[allow(non_snake_case)]
pub struct Anomaly {
    /// The cluster, as its latest snapshot writes its id.
    pub clusterId: String,
    /// The anomalous day.
    pub date: NaiveDate,
    /// Cost that day.
    pub cost: f64,
    /// Billing currency.
    pub currency: String,
    /// Median daily cost of the window before the day.
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
