//! The top risks of the period, in plain words and in reading order: a cost spike on an
//! unprotected cluster first (the cryptojacking signal), then coverage gaps, unprotected
//! resources, overdue critical vulnerabilities and the remaining spikes.

use super::ExecutiveInput;
use super::grading::resource_name;
use crate::format;
use crate::kpi::resource_days::ResourceKind;
use crate::kpi::severity::Severity;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Critical,
    High,
    Medium,
}

/// One risk in plain words.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Risk {
    pub level: RiskLevel,
    pub headline: String,
    pub text: String,
}

fn owner_of_cluster(input: &ExecutiveInput, cluster_id: &str) -> String {
    let lower = cluster_id.to_lowercase();
    input
        .resource_owners
        .get(&lower)
        .cloned()
        .or_else(|| {
            input
                .unprotected_resources
                .iter()
                .find(|r| r.id.to_lowercase() == lower)
                .map(|r| r.owner.clone())
        })
        .unwrap_or_else(|| "owner unknown".into())
}

/// Cost spikes, unprotected clusters first (by cost), then spikes on a day without a snapshot,
/// then spikes on protected clusters.
pub fn cost_spike_risks(input: &ExecutiveInput) -> Vec<Risk> {
    // One risk per cluster, coverage state and currency: a four-day spike is one story, not four.
    let mut groups: BTreeMap<(u8, String, String), Vec<&crate::kpi::Anomaly>> = BTreeMap::new();
    for a in &input.kpis.anomalies {
        groups
            .entry((a.coverage_rank(), a.clusterId.clone(), a.currency.clone()))
            .or_default()
            .push(a);
    }
    let mut ordered: Vec<_> = groups.into_iter().collect();
    ordered.sort_by(|(ka, a), (kb, b)| {
        let total = |v: &Vec<&crate::kpi::Anomaly>| v.iter().map(|x| x.cost).sum::<f64>();
        ka.0.cmp(&kb.0)
            .then(total(b).total_cmp(&total(a)))
            .then(ka.1.cmp(&kb.1))
    });
    let window = input.kpis.parameters.anomalies.window_days;
    ordered
        .into_iter()
        .map(|((_, cluster, currency), days)| {
            let name = resource_name(&cluster);
            let owner = owner_of_cluster(input, &cluster);
            let peak = days
                .iter()
                .copied()
                .max_by(|a, b| a.cost.total_cmp(&b.cost))
                .expect("a group has a day");
            let total: f64 = days.iter().map(|a| a.cost).sum();
            let first = days.iter().map(|a| a.date).min().expect("a day");
            let last = days.iter().map(|a| a.date).max().expect("a day");
            let times = match peak.ratio {
                Some(_) => format!("{} its", format::ratio(peak.ratio)),
                None => "far above its".into(),
            };
            let when = if days.len() == 1 {
                format!("cost {} on {first}", format::money(peak.cost, &currency))
            } else {
                format!(
                    "cost {} over {} anomalous days from {first} to {last}, peaking at {} on {}",
                    format::money(total, &currency),
                    days.len(),
                    format::money(peak.cost, &currency),
                    peak.date
                )
            };
            let base = format!(
                "{name} ({owner}) {when}, {times} {window}-day median of {}",
                format::money(peak.median_previous, &currency)
            );
            match peak.protected {
                Some(false) => Risk {
                    level: RiskLevel::Critical,
                    headline: "Cost spike on an unprotected cluster".into(),
                    text: format!(
                        "{base}, while Defender for Containers was off. A cryptominer would run \
                         unseen: investigate the workload and turn Defender on."
                    ),
                },
                None => Risk {
                    level: RiskLevel::High,
                    headline: "Cost spike, coverage unknown".into(),
                    text: format!(
                        "{base}; no snapshot that day shows whether Defender was on. Investigate \
                         the workload."
                    ),
                },
                Some(true) => Risk {
                    level: RiskLevel::Medium,
                    headline: "Cost spike on a protected cluster".into(),
                    text: format!("{base}. Defender was on: check its alerts for those days."),
                },
            }
        })
        .collect()
}

fn names_with_more(items: &[String], shown: usize) -> String {
    let mut s = items
        .iter()
        .take(shown)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > shown {
        s.push_str(&format!(" and {} more", items.len() - shown));
    }
    s
}

/// Coverage gaps in the period and resources unprotected at month end.
pub fn coverage_risks(input: &ExecutiveInput) -> Vec<Risk> {
    [coverage_gap_risk(input), unprotected_resources_risk(input)]
        .into_iter()
        .flatten()
        .collect()
}

/// The subscriptions with gaps in the period, and those still uncovered at month end.
fn coverage_gap_risk(input: &ExecutiveInput) -> Option<Risk> {
    let cov = &input.kpis.coverage;
    if cov.gaps.is_empty() {
        return None;
    }
    let subs: std::collections::BTreeSet<&str> =
        cov.gaps.iter().map(|g| g.subscriptionId.as_str()).collect();
    let mut open: Vec<_> = cov.gaps.iter().filter(|g| g.open_at_period_end).collect();
    open.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(a.subscriptionId.cmp(&b.subscriptionId))
    });
    let label = |id: &str| {
        input
            .uncovered_subscriptions
            .iter()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(id))
            .map(|s| format!("{} ({})", s.name, s.owner))
            .unwrap_or_else(|| id.to_string())
    };
    let open_names: Vec<String> = open
        .iter()
        .map(|g| format!("{} since {}", label(&g.subscriptionId), g.start))
        .collect();
    let n = subs.len();
    let mut text = format!(
        "{n} subscription{} with containers lacked full Defender coverage for {} \
         subscription-days in total.",
        if n == 1 { "" } else { "s" },
        cov.gap_subscription_days
    );
    if open.is_empty() {
        text.push_str(" All gaps were closed by month end.");
    } else {
        text.push_str(&format!(
            " Still uncovered at month end: {}.",
            names_with_more(&open_names, 3)
        ));
    }
    Some(Risk {
        level: RiskLevel::High,
        headline: "Coverage gaps".into(),
        text,
    })
}

/// The resources unprotected at month end, counted by kind and named.
fn unprotected_resources_risk(input: &ExecutiveInput) -> Option<Risk> {
    let unprotected = &input.unprotected_resources;
    if unprotected.is_empty() {
        return None;
    }
    let count = |kind: ResourceKind| {
        unprotected
            .iter()
            .filter(|r| r.kind.eq_ignore_ascii_case(kind.label()))
            .count()
    };
    let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    let (aks, arc, reg) = (
        count(ResourceKind::Aks),
        count(ResourceKind::Arc),
        count(ResourceKind::Registry),
    );
    let mut parts = vec![];
    if aks > 0 {
        parts.push(format!("{aks} AKS cluster{}", plural(aks, "", "s")));
    }
    if arc > 0 {
        parts.push(format!("{arc} Arc cluster{}", plural(arc, "", "s")));
    }
    if reg > 0 {
        parts.push(format!(
            "{reg} registr{} not scanned",
            plural(reg, "y", "ies")
        ));
    }
    let names: Vec<String> = unprotected
        .iter()
        .map(|r| format!("{} ({})", r.name, r.owner))
        .collect();
    Some(Risk {
        level: RiskLevel::High,
        headline: "Unprotected resources".into(),
        text: format!(
            "{} at month end: {}.",
            parts.join(", "),
            names_with_more(&names, 3)
        ),
    })
}

/// Critical vulnerabilities open past their SLA at period end, by owner.
pub fn overdue_critical_risk(input: &ExecutiveInput) -> Option<Risk> {
    let overdue = input
        .kpis
        .remediation
        .by_severity
        .get(Severity::Critical.as_str())
        .map(|s| s.open_past_due_at_period_end)
        .unwrap_or(0);
    if overdue == 0 {
        return None;
    }
    let mut owners = input.overdue_critical_by_owner.clone();
    owners.sort_by(|a, b| b.count.cmp(&a.count).then(a.owner.cmp(&b.owner)));
    let owners: Vec<String> = owners
        .iter()
        .map(|o| format!("{} {}", o.owner, o.count))
        .collect();
    let sla = input
        .kpis
        .parameters
        .sla_days
        .get(Severity::Critical.as_str())
        .map(|d| format!("{d}-day "))
        .unwrap_or_default();
    let mut text = format!(
        "{overdue} critical image vulnerabilit{} past the {sla}fix deadline at month end",
        if overdue == 1 { "y is" } else { "ies are" }
    );
    if owners.is_empty() {
        text.push('.');
    } else {
        text.push_str(&format!(": {}.", names_with_more(&owners, 4)));
    }
    Some(Risk {
        level: RiskLevel::High,
        headline: "Overdue critical vulnerabilities".into(),
        text,
    })
}

/// The top risks in reading order: a cost spike on an unprotected cluster first, then coverage
/// gaps, then overdue critical vulnerabilities, then the remaining spikes.
pub fn top_risks(input: &ExecutiveInput) -> Vec<Risk> {
    let spikes = cost_spike_risks(input);
    let (first, rest): (Vec<Risk>, Vec<Risk>) = spikes
        .into_iter()
        .partition(|r| r.level == RiskLevel::Critical);
    let mut out = first;
    out.extend(coverage_risks(input));
    out.extend(overdue_critical_risk(input));
    out.extend(rest);
    out
}
