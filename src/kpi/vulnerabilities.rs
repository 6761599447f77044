//! Vulnerability Remediation Rate.
//!
//! A finding is (`imageDigest`, `cveId`) with `statusCode == Unhealthy`. `first_seen` is the
//! first snapshot day it appears; it is resolved on the first snapshot day after its last
//! appearance on which the resource(s) it was last seen on are protected (disappearing while
//! scanning is off is not remediation). `due = first_seen + SLA(severity)`; the rate for a
//! severity is findings due in the period resolved on or before `due` / findings due × 100.

use crate::error::{PolarsContext, Result};
use crate::frame::{self, dates, floats, strs};
use crate::history::{SNAPSHOT_DATE, Snapshots};
use crate::kpi::owners::UNALLOCATED;
use crate::kpi::resource_days as rd;
use crate::kpi::stats::median;
use crate::kpi::{Parameters, Remediation, SeverityRemediation};
use crate::period::Period;
use chrono::{Duration, NaiveDate};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct VulnerabilityResult {
    pub kpis: Remediation,
    /// One row per finding known before the period's end.
    pub findings: DataFrame,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub image_digest: String,
    pub cve_id: String,
    pub severity: String,
    pub cvss: Option<f64>,
    pub subscription: String,
    pub resource_id: String,
    pub source: String,
    pub registry_host: String,
    pub repository: String,
    pub first_seen: NaiveDate,
    pub last_seen: NaiveDate,
    pub resolved: Option<NaiveDate>,
    pub due: Option<NaiveDate>,
    pub left_censored: bool,
    pub owner: String,
}

impl Finding {
    pub fn resolved_on_time(&self) -> Option<bool> {
        match (self.due, self.resolved) {
            (Some(due), Some(r)) => Some(r <= due),
            (Some(_), None) => Some(false),
            _ => None,
        }
    }

    /// Its fix deadline falls in `period` (the population of the SLA rate).
    pub fn due_in(&self, period: Period) -> bool {
        self.due.is_some_and(|d| period.contains(d))
    }

    /// Still open at the end of `period` with its deadline already passed.
    pub fn open_past_due(&self, period: Period) -> bool {
        self.resolved.is_none() && self.due.is_some_and(|d| d < period.end_exclusive())
    }
}

#[derive(Default)]
struct Acc {
    days: BTreeSet<NaiveDate>,
    last_day: Option<NaiveDate>,
    last_resources: BTreeSet<String>,
    row: usize,
}

/// Build every finding from the snapshots (the cut-off is whatever `snap` holds).
pub fn findings(
    snap: &Snapshots,
    resource_days: &DataFrame,
    params: &Parameters,
) -> Result<Vec<Finding>> {
    let df = snap.frame("vulnerabilities");
    let day = dates(df, SNAPSHOT_DATE)?;
    let status = strs(df, "statusCode")?;
    let digest = strs(df, "imageDigest")?;
    let cve = strs(df, "cveId")?;
    let resource = strs(df, "resourceId")?;
    let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for i in 0..df.height() {
        if status[i].as_deref() != Some("Unhealthy") {
            continue;
        }
        let (Some(d), Some(dg), Some(c)) = (day[i], digest[i].clone(), cve[i].clone()) else {
            continue;
        };
        let a = acc.entry((dg, c)).or_default();
        a.days.insert(d);
        let res = resource[i].clone().unwrap_or_default().to_lowercase();
        if a.last_day != Some(d) {
            if a.last_day.is_none_or(|l| d > l) {
                a.last_day = Some(d);
                a.last_resources.clear();
                a.last_resources.insert(res);
                a.row = i;
            }
        } else {
            a.last_resources.insert(res);
            a.row = i;
        }
    }

    // (day, resource) pairs that were protected, and each resource's latest owner.
    let mut protected: HashSet<(NaiveDate, String)> = HashSet::new();
    let owners: HashMap<String, String> = {
        let d = dates(resource_days, rd::DATE)?;
        let id = strs(resource_days, rd::ID_LOWER)?;
        let p = frame::bools(resource_days, rd::PROTECTED)?;
        let o = strs(resource_days, rd::OWNER)?;
        for i in 0..d.len() {
            if let (Some(d), Some(id), Some(true)) = (d[i], id[i].clone(), p[i]) {
                protected.insert((d, id));
            }
        }
        frame::latest_row_per_key(id.iter().cloned(), &d)
            .into_iter()
            .map(|(id, i)| (id, o[i].clone().unwrap_or_default()))
            .collect()
    };

    let first_day_ever = snap.days.first().copied();
    let severity = strs(df, "severity")?;
    let cvss = floats(df, "cvssScore")?;
    let sub = strs(df, "subscriptionId")?;
    let source = strs(df, "source")?;
    let host = strs(df, "registryHost")?;
    let repo = strs(df, "repository")?;
    let mut out = Vec::with_capacity(acc.len());
    for ((dg, c), a) in acc {
        let first_seen = *a.days.first().unwrap();
        let last_seen = a.last_day.unwrap();
        let resolved = snap
            .days
            .iter()
            .copied()
            .filter(|d| *d > last_seen)
            .find(|d| {
                a.last_resources
                    .iter()
                    .all(|r| protected.contains(&(*d, r.clone())))
            });
        let sev = severity[a.row].clone().unwrap_or_default();
        let due = params
            .sla_days
            .get(&sev)
            .map(|days| first_seen + Duration::days(*days));
        let res = resource[a.row].clone().unwrap_or_default();
        out.push(Finding {
            image_digest: dg,
            cve_id: c,
            severity: sev,
            cvss: cvss[a.row],
            subscription: sub[a.row].clone().unwrap_or_default().to_lowercase(),
            owner: owners
                .get(&res.to_lowercase())
                .cloned()
                .unwrap_or_else(|| UNALLOCATED.into()),
            resource_id: res,
            source: source[a.row].clone().unwrap_or_default(),
            registry_host: host[a.row].clone().unwrap_or_default(),
            repository: repo[a.row].clone().unwrap_or_default(),
            first_seen,
            last_seen,
            resolved,
            due,
            left_censored: Some(first_seen) == first_day_ever,
        });
    }
    Ok(out)
}

/// The remediation KPIs of `period` over `findings`.
pub fn summarise(findings: &[Finding], params: &Parameters, period: Period) -> Remediation {
    let mut severities: BTreeSet<String> = params.sla_days.keys().cloned().collect();
    severities.extend(findings.iter().map(|f| f.severity.clone()));
    let by_severity = severities
        .into_iter()
        .map(|sev| {
            let of: Vec<&Finding> = findings.iter().filter(|f| f.severity == sev).collect();
            let due: Vec<&&Finding> = of.iter().filter(|f| f.due_in(period)).collect();
            let on_time = due
                .iter()
                .filter(|f| f.resolved_on_time() == Some(true))
                .count() as i64;
            let resolved_in: Vec<f64> = of
                .iter()
                .filter_map(|f| {
                    f.resolved
                        .filter(|r| period.contains(*r))
                        .map(|r| (r - f.first_seen).num_days() as f64)
                })
                .collect();
            let open_past_due = of.iter().filter(|f| f.open_past_due(period)).count() as i64;
            let stats = SeverityRemediation {
                due_in_period: due.len() as i64,
                resolved_on_time: on_time,
                rate: (!due.is_empty()).then(|| on_time as f64 / due.len() as f64 * 100.0),
                left_censored_due: due.iter().filter(|f| f.left_censored).count() as i64,
                resolved_in_period: resolved_in.len() as i64,
                median_days_to_resolve: median(&resolved_in),
                open_past_due_at_period_end: open_past_due,
            };
            (sev, stats)
        })
        .collect();
    Remediation {
        findings_total: findings.len() as i64,
        by_severity,
    }
}

pub fn compute(
    snap: &Snapshots,
    resource_days: &DataFrame,
    params: &Parameters,
    period: Period,
) -> Result<VulnerabilityResult> {
    let all = findings(snap, resource_days, params)?;
    let kpis = summarise(&all, params, period);
    Ok(VulnerabilityResult {
        kpis,
        findings: findings_table(&all, period)?,
    })
}

fn findings_table(f: &[Finding], period: Period) -> Result<DataFrame> {
    frame::frame(vec![
        frame::column("imageDigest", f, |x| x.image_digest.as_str()),
        frame::column("cveId", f, |x| x.cve_id.as_str()),
        frame::column("severity", f, |x| x.severity.as_str()),
        frame::column("cvssScore", f, |x| x.cvss),
        frame::column("subscriptionId", f, |x| x.subscription.as_str()),
        frame::column("resourceId", f, |x| x.resource_id.as_str()),
        frame::column("source", f, |x| x.source.as_str()),
        frame::column("registryHost", f, |x| x.registry_host.as_str()),
        frame::column("repository", f, |x| x.repository.as_str()),
        frame::column("owner", f, |x| x.owner.as_str()),
        frame::date_column_of("first_seen", f, |x| Some(x.first_seen)),
        frame::date_column_of("last_seen", f, |x| Some(x.last_seen)),
        frame::date_column_of("due", f, |x| x.due),
        frame::date_column_of("resolved", f, |x| x.resolved),
        frame::column("due_in_period", f, |x| x.due_in(period)),
        frame::column("sla_met", f, |x| x.resolved_on_time()),
        frame::column("open_past_due", f, |x| x.open_past_due(period)),
        frame::column("left_censored", f, |x| x.left_censored),
    ])
    .and_then(|df| {
        df.sort(
            ["first_seen", "imageDigest", "cveId"],
            SortMultipleOptions::default(),
        )
        .ctx("sorting findings")
    })
}
