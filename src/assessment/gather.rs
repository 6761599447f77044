//! Gathering what the executive report shows from the pipeline's tables, so every number in
//! the PDF comes from the same tables as the CSVs and kpis.json.

use super::checklist;
use super::{ExecutiveInput, MgRow, OwnerCount, OwnerSeverityCount, ResourceRow, SubscriptionRow};
use crate::error::{PolarsContext, Result};
use crate::frame::{ints, strs};
use crate::kpi::container_instances::GroupCount;
use crate::kpi::coverage::CoverageResult;
use crate::kpi::detection::{DetectionResult, population_alerts};
use crate::kpi::hardening::KindPosture;
use crate::kpi::owners::resolve_owner;
use crate::kpi::severity::Severity;
use crate::kpi::showback::{ShowbackResult, resource_columns};
use crate::kpi::subscription_days;
use crate::kpi::vulnerabilities::{VulnerabilityResult, finding_rows};
use crate::kpi::{Kpis, Parameters};
use std::collections::BTreeMap;

pub struct Parts<'a> {
    pub kpis: &'a Kpis,
    pub params: &'a Parameters,
    pub coverage: &'a CoverageResult,
    pub detection: &'a DetectionResult,
    pub vulns: &'a VulnerabilityResult,
    pub showback: &'a ShowbackResult,
    pub policy: &'a crate::kpi::policy::PolicyTally,
    pub sub_tags: &'a BTreeMap<String, Option<String>>,
    pub scope: String,
    pub sources: Vec<String>,
    pub input_fingerprint: String,
}

/// Everything the executive report shows, from the pipeline's tables.
pub fn build(
    parts: &Parts,
    previous: Vec<Kpis>,
    targets: crate::config::TargetConfig,
) -> Result<ExecutiveInput> {
    let k = parts.kpis;
    let (unprotected_resources, protected_vcores) = month_end_resources(parts);
    // Each resource's owner as its latest snapshot names it.
    let resource_owners: BTreeMap<String, String> = parts
        .coverage
        .ledger
        .latest()
        .iter()
        .map(|(id, r)| (id.clone(), r.owner.clone()))
        .collect();
    let checklist = checklist::measure(&checklist::Measured {
        kpis: k,
        policy: parts.policy,
        alerts: &parts.detection.population,
        unprotected: &unprotected_resources,
    })?;
    Ok(ExecutiveInput {
        kpis: k.clone(),
        previous,
        targets,
        scope: parts.scope.clone(),
        input_fingerprint: parts.input_fingerprint.clone(),
        sources: parts.sources.clone(),
        coverage_by_management_group: coverage_by_management_group(parts)?,
        uncovered_subscriptions: uncovered_subscriptions(parts)?,
        unprotected_resources,
        alerts_by_owner_severity: alerts_by_owner_severity(parts)?,
        overdue_critical_by_owner: overdue_critical_by_owner(parts)?,
        container_spend: container_spend(parts)?,
        protected_vcores,
        resource_owners,
        hardening: month_end_hardening(parts),
        container_groups: GroupCount::on_month_end(
            &parts.coverage.container_groups.groups,
            parts.kpis.coverage.month_end_date,
        ),
        checklist,
    })
}

/// Hardening posture of the AKS clusters and registries listed on the month-end day.
fn month_end_hardening(parts: &Parts) -> Vec<KindPosture> {
    let month_end = parts.kpis.coverage.month_end_date;
    let ledger = &parts.coverage.ledger;
    let on_month_end = parts
        .coverage
        .resource_days
        .iter()
        .filter(|r| month_end == Some(r.date))
        .filter_map(|r| ledger.hardening(&r.id_lower));
    crate::kpi::hardening::posture(on_month_end)
}

/// Coverage by management group (month end).
fn coverage_by_management_group(parts: &Parts) -> Result<Vec<MgRow>> {
    let mg = &parts.coverage.by_management_group;
    let names = strs(mg, "managementGroupName")?;
    let in_scope = ints(mg, "in_scope")?;
    let compliant = ints(mg, "compliant")?;
    Ok((0..mg.height())
        .map(|i| {
            let s = in_scope[i].unwrap_or(0);
            let c = compliant[i].unwrap_or(0);
            MgRow {
                management_group: names[i]
                    .clone()
                    .unwrap_or_else(|| "(no management group)".into()),
                in_scope: s,
                compliant: c,
                rate: (s > 0).then(|| c as f64 / s as f64 * 100.0),
            }
        })
        .collect())
}

/// Uncovered subscriptions: a gap in the period, or not compliant at month end; each with the
/// name and reason of its latest non-compliant day in the period.
fn uncovered_subscriptions(parts: &Parts) -> Result<Vec<SubscriptionRow>> {
    let k = parts.kpis;
    let month_end = k.coverage.month_end_date;
    let gap_days: BTreeMap<&str, i64> = k.coverage.gaps.iter().fold(BTreeMap::new(), |mut m, g| {
        *m.entry(g.subscriptionId.as_str()).or_default() += g.days;
        m
    });
    let mut latest_reason: BTreeMap<String, (String, String)> = BTreeMap::new();
    for r in subscription_days::rows(&parts.coverage.subscription_days)? {
        let in_period = r
            .date
            .is_some_and(|x| Some(x) <= month_end && x >= k.period_start);
        if !(in_period && r.is_gap()) {
            continue;
        }
        let Some(s) = r.subscription_id else { continue };
        let why = (r.name.unwrap_or_default(), r.reason.unwrap_or_default());
        latest_reason.insert(s, why);
    }
    let sub_owner = |sub: &str| {
        resolve_owner(
            None,
            parts.sub_tags.get(sub).cloned().flatten().as_deref(),
            &parts.params.owner_tags,
        )
    };
    Ok(latest_reason
        .into_iter()
        .map(|(s, (n, r))| SubscriptionRow {
            gap_days: gap_days.get(s.as_str()).copied().unwrap_or(0),
            owner: sub_owner(&s),
            subscription_id: s,
            name: n,
            reason: r,
        })
        .collect())
}

/// Unprotected resources and protected cluster vCores on the month-end day.
fn month_end_resources(parts: &Parts) -> (Vec<ResourceRow>, i64) {
    let month_end = parts.kpis.coverage.month_end_date;
    let mut unprotected_resources = Vec::new();
    let mut protected_vcores = 0;
    let on_month_end = parts
        .coverage
        .resource_days
        .iter()
        .filter(|r| month_end == Some(r.date));
    for r in on_month_end {
        if r.protected {
            if r.kind.is_cluster() {
                protected_vcores += r.vcores;
            }
        } else {
            unprotected_resources.push(ResourceRow {
                kind: r.kind.label().into(),
                name: r.name.clone(),
                id: r.id.clone(),
                subscription_id: r.subscription.clone(),
                owner: r.owner.clone(),
                reason: r.reason.clone(),
            });
        }
    }
    (unprotected_resources, protected_vcores)
}

/// Alerts by owner and severity (the runtime-alert population).
fn alerts_by_owner_severity(parts: &Parts) -> Result<Vec<OwnerSeverityCount>> {
    let mut by_os: BTreeMap<(String, String), i64> = BTreeMap::new();
    for a in population_alerts(&parts.detection.population)? {
        *by_os
            .entry((a.owner.unwrap_or_default(), a.severity.unwrap_or_default()))
            .or_default() += 1;
    }
    Ok(by_os
        .into_iter()
        .map(|((owner, severity), count)| OwnerSeverityCount {
            owner,
            severity,
            count,
        })
        .collect())
}

/// Open critical findings past due, by owner.
fn overdue_critical_by_owner(parts: &Parts) -> Result<Vec<OwnerCount>> {
    let mut overdue: BTreeMap<String, i64> = BTreeMap::new();
    // Decode only the findings open past due: a large tenant has hundreds of thousands.
    let findings = &parts.vulns.findings;
    let past_due = findings
        .column(crate::kpi::vulnerabilities::columns::OPEN_PAST_DUE)
        .and_then(|c| c.bool().cloned())
        .ctx("open past due findings")?;
    let past_due = findings.filter(&past_due).ctx("open past due findings")?;
    for f in finding_rows(&past_due)? {
        if Severity::Critical.is(Some(f.severity)) && f.open_past_due {
            *overdue.entry(f.owner.to_string()).or_default() += 1;
        }
    }
    Ok(overdue
        .into_iter()
        .map(|(owner, count)| OwnerCount { owner, count })
        .collect())
}

/// Container spend per currency: cost of cluster and registry resources, their node resource
/// groups, and Defender for Containers.
fn container_spend(parts: &Parts) -> Result<BTreeMap<String, f64>> {
    let ledger = &parts.coverage.ledger;
    let br = &parts.showback.by_resource;
    let (rid, rs, rg, cur, amt) = (
        strs(br, resource_columns::RESOURCE_ID)?,
        strs(br, resource_columns::SUBSCRIPTION_ID)?,
        strs(br, resource_columns::RESOURCE_GROUP)?,
        strs(br, resource_columns::CURRENCY)?,
        crate::frame::floats(br, resource_columns::AMOUNT)?,
    );
    let mut container_spend = parts.kpis.showback.defender_containers_total.clone();
    for i in 0..br.height() {
        let is_container = rid[i]
            .as_deref()
            .is_some_and(|x| ledger.latest().contains_key(&x.to_lowercase()))
            || ledger.is_node_resource_group(
                rs[i].as_deref().unwrap_or_default(),
                &rg[i].clone().unwrap_or_default().to_lowercase(),
            );
        if is_container {
            *container_spend
                .entry(cur[i].clone().unwrap_or_default())
                .or_default() += amt[i].unwrap_or(0.0);
        }
    }
    Ok(container_spend)
}
