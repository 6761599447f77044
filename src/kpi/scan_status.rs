//! "No data" is not "no findings". A protected registry or cluster without vulnerability rows
//! on a day was either scanned with nothing found, or Azure returned nothing for it. The
//! parent vulnerability assessment of the resource (`scan_status`) tells them apart: each
//! protected registry (registry images) and AKS or Arc cluster (running containers) gets one
//! outcome per snapshot day of the period, by this rule (docs/kpis.md, "Vulnerability data"):
//!
//! 1. **findings**: the day's `vulnerabilities` rows name the resource (same source);
//! 2. otherwise its assessment says **Healthy**: scanned, no findings;
//! 3. otherwise **NotApplicable**: not assessed, with Azure's cause (e.g. OffByPolicy);
//! 4. otherwise **no data**: no assessment row, or one that says Unhealthy while no finding
//!    came back.
//!
//! Unprotected resources are not expected to be scanned and are left out (they are already
//! listed as unprotected). Days from before `scan_status` was collected are not graded.
//! Only counts and the resources with an exception are kept: the state grows with resources.

use crate::error::Result;
use crate::frame::strs;
use crate::history::SnapshotDay;
use crate::kpi::resource_days::{ResourceDay, ResourceKind};
use crate::period::Period;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The dataset.
pub const DATASET: &str = "scan_status";

/// What a protected resource's vulnerability data says on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Findings came back.
    Findings,
    /// Scanned (assessment Healthy), nothing found.
    NoFindings,
    /// The assessment says NotApplicable.
    NotApplicable,
    /// Neither findings nor a Healthy or NotApplicable assessment.
    NoData,
}

/// The month-end counts and the period's resource-days by outcome (kpis.json,
/// `remediation.vulnerability_data`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilityDataKpis {
    /// The period's last snapshot day, when `scan_status` was collected on it.
    pub month_end_date: Option<NaiveDate>,
    /// Protected registries and clusters on that day.
    pub protected_resources: i64,
    /// Of those, with findings.
    pub with_findings: i64,
    /// Scanned, no findings (assessment Healthy).
    pub scanned_no_findings: i64,
    /// Assessment NotApplicable.
    pub not_applicable: i64,
    /// No vulnerability data.
    pub no_data: i64,
    /// Protected resource-days of the period that were graded.
    pub protected_resource_days: i64,
    /// Of those, without vulnerability data.
    pub no_data_resource_days: i64,
    /// Snapshot days of the period from before `scan_status` was collected (not graded).
    pub days_not_collected: i64,
}

/// A protected resource with no data or a NotApplicable assessment on some day of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanException {
    /// AKS, Arc or registry.
    pub kind: ResourceKind,
    /// The ARM id as Azure gives it.
    pub id: String,
    /// Resource name.
    pub name: String,
    /// Owner.
    pub owner: String,
    /// Days of the period without vulnerability data.
    pub no_data_days: i64,
    /// Days of the period the assessment said NotApplicable, and its last cause.
    pub not_applicable_days: i64,
    /// Azure's cause of the last NotApplicable status (empty when none).
    pub cause: String,
    /// The outcome on the month-end day (None: not protected or not present that day).
    pub on_month_end: Option<Outcome>,
}

/// What the period's vulnerability data says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VulnerabilityData {
    /// The counts.
    pub kpis: VulnerabilityDataKpis,
    /// Resources with no data or NotApplicable on some day, by kind then name.
    pub exceptions: Vec<ScanException>,
}

/// The period's outcomes, folded one snapshot day at a time.
pub struct ScanState {
    period: Period,
    last_period_day: Option<NaiveDate>,
    kpis: VulnerabilityDataKpis,
    /// By lower-case id.
    exceptions: BTreeMap<String, ScanException>,
}

/// The source whose findings and assessment cover a resource kind.
fn source_of(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Registry => "registry",
        ResourceKind::Aks | ResourceKind::Arc => "runtime",
    }
}

impl ScanState {
    /// `last_period_day`: the period's last snapshot day (its outcomes are the month end's).
    pub fn new(period: Period, last_period_day: Option<NaiveDate>) -> ScanState {
        ScanState {
            period,
            last_period_day,
            kpis: VulnerabilityDataKpis::default(),
            exceptions: BTreeMap::new(),
        }
    }

    /// Grade one snapshot day's protected resources. `collected`: whether the day's snapshot
    /// holds `scan_status` (false for days from before it existed: not graded).
    pub fn add_day(
        &mut self,
        day: &SnapshotDay,
        resources: &[ResourceDay],
        collected: bool,
    ) -> Result<()> {
        if !self.period.contains(day.date) {
            return Ok(());
        }
        if !collected {
            self.kpis.days_not_collected += 1;
            return Ok(());
        }
        let found = resources_with_findings(day)?;
        let assessed = assessments(day)?;
        let month_end = Some(day.date) == self.last_period_day;
        if month_end {
            self.kpis.month_end_date = Some(day.date);
        }
        for r in resources.iter().filter(|r| r.protected) {
            let key = (r.id_lower.clone(), source_of(r.kind));
            let status = assessed.get(&key);
            let outcome = outcome(found.contains(&key), status.map(|s| s.0.as_str()));
            self.count(outcome, month_end);
            if matches!(outcome, Outcome::NoData | Outcome::NotApplicable) {
                let cause = status.map(|s| s.1.clone()).unwrap_or_default();
                self.note_exception(r, outcome, cause);
            }
            if month_end && let Some(e) = self.exceptions.get_mut(&r.id_lower) {
                e.on_month_end = Some(outcome);
            }
        }
        Ok(())
    }

    fn count(&mut self, outcome: Outcome, month_end: bool) {
        let k = &mut self.kpis;
        k.protected_resource_days += 1;
        if outcome == Outcome::NoData {
            k.no_data_resource_days += 1;
        }
        if !month_end {
            return;
        }
        k.protected_resources += 1;
        *match outcome {
            Outcome::Findings => &mut k.with_findings,
            Outcome::NoFindings => &mut k.scanned_no_findings,
            Outcome::NotApplicable => &mut k.not_applicable,
            Outcome::NoData => &mut k.no_data,
        } += 1;
    }

    fn note_exception(&mut self, r: &ResourceDay, outcome: Outcome, cause: String) {
        let e = self
            .exceptions
            .entry(r.id_lower.clone())
            .or_insert_with(|| ScanException {
                kind: r.kind,
                id: r.id.clone(),
                name: r.name.clone(),
                owner: r.owner.clone(),
                no_data_days: 0,
                not_applicable_days: 0,
                cause: String::new(),
                on_month_end: None,
            });
        e.owner = r.owner.clone();
        match outcome {
            Outcome::NoData => e.no_data_days += 1,
            _ => {
                e.not_applicable_days += 1;
                e.cause = cause;
            }
        }
    }

    /// The counts and the exceptions, by kind then name.
    pub fn finish(self) -> VulnerabilityData {
        let mut exceptions: Vec<ScanException> = self.exceptions.into_values().collect();
        exceptions.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
        VulnerabilityData {
            kpis: self.kpis,
            exceptions,
        }
    }
}

/// The rule, in order: findings, Healthy, NotApplicable, else no data.
pub fn outcome(has_findings: bool, status_code: Option<&str>) -> Outcome {
    match (has_findings, status_code) {
        (true, _) => Outcome::Findings,
        (false, Some(s)) if s.eq_ignore_ascii_case("healthy") => Outcome::NoFindings,
        (false, Some(s)) if s.eq_ignore_ascii_case("notapplicable") => Outcome::NotApplicable,
        _ => Outcome::NoData,
    }
}

/// (lower-case resource id, source) of every finding row of the day.
fn resources_with_findings(day: &SnapshotDay) -> Result<HashSet<ResourceKey>> {
    let df = day.frame("vulnerabilities");
    let (ids, sources) = (strs(df, "resourceId")?, strs(df, "source")?);
    Ok(ids
        .into_iter()
        .zip(sources)
        .filter_map(|(id, source)| Some((id?.to_lowercase(), known_source(source.as_deref())?)))
        .collect())
}

/// (lower-case resource id, source): how a resource is looked up in a day's rows.
type ResourceKey = (String, &'static str);

/// (lower-case resource id, source) → (status code, cause) of the day's assessments.
fn assessments(day: &SnapshotDay) -> Result<HashMap<ResourceKey, (String, String)>> {
    let df = day.frame(DATASET);
    let (ids, sources) = (strs(df, "resourceId")?, strs(df, "source")?);
    let (codes, causes) = (strs(df, "statusCode")?, strs(df, "cause")?);
    let mut out = HashMap::new();
    for i in 0..df.height() {
        let (Some(id), Some(source)) = (ids[i].as_deref(), known_source(sources[i].as_deref()))
        else {
            continue;
        };
        let status = (
            codes[i].clone().unwrap_or_default(),
            causes[i].clone().unwrap_or_default(),
        );
        out.insert((id.to_lowercase(), source), status);
    }
    Ok(out)
}

fn known_source(s: Option<&str>) -> Option<&'static str> {
    match s? {
        "registry" => Some("registry"),
        "runtime" => Some("runtime"),
        _ => None,
    }
}

impl VulnerabilityDataKpis {
    /// The data-quality line of the report, or None when every protected resource had data.
    pub fn data_quality(&self, exceptions: &[ScanException]) -> Option<String> {
        if self.no_data_resource_days == 0 {
            return None;
        }
        let names: Vec<String> = exceptions
            .iter()
            .filter(|e| e.no_data_days > 0)
            .map(|e| {
                let days = if e.no_data_days == 1 { "day" } else { "days" };
                format!("{} {} ({} {days})", e.kind.as_str(), e.name, e.no_data_days)
            })
            .collect();
        Some(format!(
            "Vulnerability data: {} of {} protected resource-days had neither findings nor a \
             Healthy or NotApplicable scan result (no data, not zero findings): {}",
            self.no_data_resource_days,
            self.protected_resource_days,
            names.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_in_order() {
        assert_eq!(outcome(true, None), Outcome::Findings);
        assert_eq!(outcome(true, Some("Healthy")), Outcome::Findings);
        assert_eq!(outcome(false, Some("Healthy")), Outcome::NoFindings);
        assert_eq!(
            outcome(false, Some("notApplicable")),
            Outcome::NotApplicable
        );
        // Unhealthy without any finding returned: the findings are missing, not zero.
        assert_eq!(outcome(false, Some("Unhealthy")), Outcome::NoData);
        assert_eq!(outcome(false, None), Outcome::NoData);
    }
}
