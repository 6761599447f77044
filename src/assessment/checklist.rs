//! The operational checklist: each item measured from this period's data, one function each.

use super::ResourceRow;
use super::grading::allocated_pct;
use crate::error::Result;
use crate::format;
use crate::kpi::Kpis;
use crate::kpi::detection::{PopulationAlert, population_alerts};
use crate::kpi::owners::UNALLOCATED;
use crate::kpi::policy::PolicyTally;
use crate::kpi::severity::Severity;
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
    /// No data to measure it this period.
    NotMeasured,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChecklistItem {
    pub name: String,
    pub status: CheckStatus,
    /// What was measured, in words: `41 of 42 subscriptions with containers`.
    pub measured: String,
}

/// The checklist item "Defender on every subscription with containers", measured on the
/// month-end snapshot day.
pub fn check_defender_on_every_subscription(kpis: &Kpis) -> ChecklistItem {
    let name = "Defender on every subscription with containers".to_string();
    let Some(day) = kpis.coverage.daily.iter().rev().find(|d| d.in_scope > 0) else {
        return ChecklistItem {
            name,
            status: CheckStatus::NotMeasured,
            measured: "no subscription with containers on any snapshot day".into(),
        };
    };
    let status = if day.compliant == day.in_scope {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    ChecklistItem {
        name,
        status,
        measured: format!(
            "{} of {} subscriptions with containers covered on {}",
            day.compliant, day.in_scope, day.date
        ),
    }
}

/// The checklist item "Resources tagged with an owner", from the share of spend allocated.
pub fn check_resources_tagged(kpis: &Kpis) -> ChecklistItem {
    let name = "Resources tagged with an owner".to_string();
    let shares: Vec<String> = kpis
        .showback
        .by_currency
        .iter()
        .filter_map(|(cur, owners)| allocated_pct(owners).map(|p| (cur, p)))
        .map(|(cur, p)| format!("{} of {cur} spend allocated", format::rate(Some(p))))
        .collect();
    let worst = kpis
        .showback
        .by_currency
        .values()
        .filter_map(allocated_pct)
        .fold(None, |acc: Option<f64>, p| {
            Some(acc.map_or(p, |a| a.min(p)))
        });
    let status = match worst {
        None => CheckStatus::NotMeasured,
        Some(p) if p >= 99.995 => CheckStatus::Pass,
        Some(p) if p >= 90.0 => CheckStatus::Warn,
        Some(_) => CheckStatus::Fail,
    };
    ChecklistItem {
        name,
        status,
        measured: if shares.is_empty() {
            "no spend in the period".into()
        } else {
            shares.join("; ")
        },
    }
}

/// What the checklist is measured on.
pub struct Measured<'a> {
    pub kpis: &'a Kpis,
    /// Policy states of the period, tallied.
    pub policy: &'a PolicyTally,
    /// The runtime-alert population (`DetectionResult::population`).
    pub alerts: &'a DataFrame,
    /// Resources not protected on the month-end snapshot day.
    pub unprotected: &'a [ResourceRow],
}

/// The operational checklist, in the report's order.
pub fn measure(m: &Measured) -> Result<Vec<ChecklistItem>> {
    Ok(vec![
        check_defender_on_every_subscription(m.kpis),
        check_policy_enforced(m.kpis, m.policy),
        check_alerts_routed(m.alerts)?,
        check_registry_scanning(m.kpis, m.unprotected),
        check_owners_responding(m.alerts)?,
        check_resources_tagged(m.kpis),
    ])
}

fn item(name: &str, status: CheckStatus, measured: String) -> ChecklistItem {
    ChecklistItem {
        name: name.into(),
        status,
        measured,
    }
}

/// Pass when every part is done, warn otherwise; not measured when there is nothing to count.
fn all_or_warn(name: &str, done: usize, of: usize, none: &str, measured: String) -> ChecklistItem {
    match (of, done == of) {
        (0, _) => item(name, CheckStatus::NotMeasured, none.into()),
        (_, true) => item(name, CheckStatus::Pass, measured),
        (_, false) => item(name, CheckStatus::Warn, measured),
    }
}

/// "Policy enforcing Defender for Containers": the Defender policy states of the month-end
/// snapshot day that are compliant or exempt.
pub fn check_policy_enforced(kpis: &Kpis, policy: &PolicyTally) -> ChecklistItem {
    let (total, ok) = kpis
        .coverage
        .month_end_date
        .and_then(|d| policy.by_day.get(&d).copied())
        .unwrap_or((0, 0));
    all_or_warn(
        "Policy enforcing Defender for Containers",
        ok as usize,
        total as usize,
        "no policy states on the month-end snapshot",
        format!("{ok} of {total} Defender policy states compliant or exempt at month end"),
    )
}

/// "Alerts routed to owners": runtime alerts whose cluster has an owner.
pub fn check_alerts_routed(alerts: &DataFrame) -> Result<ChecklistItem> {
    let owners: Vec<Option<String>> = population_alerts(alerts)?
        .into_iter()
        .map(|a| a.owner)
        .collect();
    let routed = owners
        .iter()
        .filter(|o| o.as_deref().is_some_and(|o| o != UNALLOCATED))
        .count();
    Ok(all_or_warn(
        "Alerts routed to owners",
        routed,
        owners.len(),
        "no runtime alerts in the period",
        format!("{routed} of {} runtime alerts have an owner", owners.len()),
    ))
}

/// "Registry scanning on and reviewed": every registry protected at month end and no critical
/// finding past due.
pub fn check_registry_scanning(kpis: &Kpis, unprotected: &[ResourceRow]) -> ChecklistItem {
    let unscanned = unprotected.iter().filter(|r| r.kind == "Registry").count();
    let overdue = kpis
        .remediation
        .by_severity
        .get(Severity::Critical.as_str())
        .map(|c| c.open_past_due_at_period_end)
        .unwrap_or(0);
    let registries = kpis
        .coverage
        .daily
        .last()
        .map(|d| d.registries_total)
        .unwrap_or(0);
    let status = if registries == 0 {
        CheckStatus::NotMeasured
    } else if unscanned == 0 && overdue == 0 {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    item(
        "Registry scanning on and reviewed",
        status,
        format!(
            "{unscanned} of {registries} registries not scanned at month end; {overdue} critical findings past due"
        ),
    )
}

/// "Owners responding to runtime alerts": high-severity alerts no longer Active at the end.
pub fn check_owners_responding(alerts: &DataFrame) -> Result<ChecklistItem> {
    let high: Vec<PopulationAlert> = population_alerts(alerts)?
        .into_iter()
        .filter(|a| Severity::High.is(a.severity.as_deref()))
        .collect();
    let handled = high
        .iter()
        .filter(|a| a.status.as_deref() != Some("Active"))
        .count();
    Ok(all_or_warn(
        "Owners responding to runtime alerts",
        handled,
        high.len(),
        "no high-severity alerts in the period",
        format!(
            "{handled} of {} high-severity alerts resolved or dismissed by the last snapshot",
            high.len()
        ),
    ))
}
