//! The executive report's layout data: the `View` the template lays out, every value already
//! formatted. What the report says (grades against targets, risks, the checklist, the tables
//! it shows) is decided in `crate::assessment`; this module only formats it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use crate::assessment::grading::{
    HIGH_ALERTS_AMBER_EXTRA, MTTD_AMBER_FACTOR, RATE_AMBER_POINTS, Status, allocated_pct,
    compliance_rate, cost_per_protected_vcore, count_status, critical_remediation_rate,
    high_alerts, minutes_status, mttd_minutes, rate_status,
};
use crate::assessment::risks::{Risk, top_risks};
use crate::assessment::{
    CheckStatus, ExecutiveInput, MgRow, OwnerCount, ResourceRow, SubscriptionRow,
};
use crate::config::TargetConfig;
use crate::format;
use crate::kpi::owners::UNALLOCATED;
use crate::kpi::{Kpis, LatencyStats, Parameters, ShowbackKpis};

use super::annex::{self, FileRef, RunFileRows, annex_cite, more_note};

/// At most this many risks on page 1; the rest are counted.
pub const MAX_PAGE1_RISKS: usize = 5;

/// Rows each shortened list shows in the report body; the complete lists are in the annex
/// (`executive/annex.pdf`) and the finance and evidence files it names.
pub const TOP_MANAGEMENT_GROUPS: usize = 10;
pub const TOP_UNCOVERED: usize = 10;
pub const TOP_UNPROTECTED: usize = 10;
pub const TOP_ALERT_OWNERS: usize = 15;
pub const TOP_OVERDUE_OWNERS: usize = 10;
pub const MAX_SOURCES: usize = 6;
pub const MAX_DATA_QUALITY: usize = 8;

/// One KPI tile on page 1.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tile {
    pub label: String,
    pub value: String,
    /// Supporting numbers under the value.
    pub detail: String,
    /// Change against the previous period, e.g. `+2.5 pts vs 2026-10`.
    pub delta: String,
    /// Whether the change is an improvement (`None`: no change or nothing to compare).
    pub improved: Option<bool>,
    pub status: Status,
    pub status_label: String,
    pub target: String,
}

/// `(text, improved)` for a change of a value where `higher_is_better` says which way is good.
/// The text carries `unit` and the comparison period.
pub fn delta_text(
    current: Option<f64>,
    previous: Option<(&str, Option<f64>)>,
    places: usize,
    unit: &str,
    higher_is_better: bool,
) -> (String, Option<bool>) {
    let Some((prev_period, prev)) = previous else {
        return ("no earlier period to compare".into(), None);
    };
    match (current, prev) {
        (Some(c), Some(p)) => {
            let diff = c - p;
            let text = format::signed(diff, places);
            let zero = text.chars().all(|ch| ch == '0' || ch == '.');
            let improved = if zero {
                None
            } else {
                Some((diff > 0.0) == higher_is_better)
            };
            (format!("{text}{unit} vs {prev_period}"), improved)
        }
        _ => (format!("not comparable with {prev_period} (n/a)"), None),
    }
}

pub fn compliance_tile(k: &Kpis, prev: Option<&Kpis>, t: &TargetConfig) -> Tile {
    let value = compliance_rate(k);
    let (delta, improved) = delta_text(
        value,
        prev.map(|p| (p.period.as_str(), compliance_rate(p))),
        1,
        " pts",
        true,
    );
    let status = rate_status(value, t.compliance_rate);
    Tile {
        label: "Compliance Rate".into(),
        value: format::rate(value),
        detail: format!(
            "min {} · mean {} · {} gap subscription-days",
            format::rate(k.coverage.min_rate),
            format::rate(k.coverage.mean_rate),
            k.coverage.gap_subscription_days
        ),
        delta,
        improved,
        status,
        status_label: status.label().into(),
        target: format!("target {}", format::rate(Some(t.compliance_rate))),
    }
}

pub fn mttd_tile(k: &Kpis, prev: Option<&Kpis>, t: &TargetConfig) -> Tile {
    let value = mttd_minutes(k);
    let (delta, improved) = delta_text(
        value,
        prev.map(|p| (p.period.as_str(), mttd_minutes(p))),
        1,
        " min",
        false,
    );
    let status = minutes_status(value, t.mttd_median_minutes);
    let o = &k.detection_latency.overall;
    Tile {
        label: "Mean time to detect (median)".into(),
        value: format::minutes(value),
        detail: format!("p90 {} · {} alerts", format::minutes(o.p90), o.count),
        delta,
        improved,
        status,
        status_label: status.label().into(),
        target: format!("target ≤ {}", format::minutes(Some(t.mttd_median_minutes))),
    }
}

pub fn remediation_tile(k: &Kpis, prev: Option<&Kpis>, t: &TargetConfig) -> Tile {
    let value = critical_remediation_rate(k);
    let (delta, improved) = delta_text(
        value,
        prev.map(|p| (p.period.as_str(), critical_remediation_rate(p))),
        1,
        " pts",
        true,
    );
    let status = rate_status(value, t.remediation_rate);
    let sla = k.parameters.sla_days.get("Critical");
    let detail = match k.remediation.by_severity.get("Critical") {
        Some(s) => format!(
            "{} of {} due fixed on time · {} overdue",
            s.resolved_on_time, s.due_in_period, s.open_past_due_at_period_end
        ),
        None => "no critical findings".into(),
    };
    Tile {
        label: match sla {
            Some(d) => format!("Vulnerability Remediation Rate (Critical, {d}-day SLA)"),
            None => "Vulnerability Remediation Rate (Critical)".into(),
        },
        value: format::rate(value),
        detail,
        delta,
        improved,
        status,
        status_label: status.label().into(),
        target: format!("target {}", format::rate(Some(t.remediation_rate))),
    }
}

pub fn high_alerts_tile(k: &Kpis, prev: Option<&Kpis>, t: &TargetConfig) -> Tile {
    let value = high_alerts(k);
    let (delta, improved) = delta_text(
        Some(value as f64),
        prev.map(|p| (p.period.as_str(), Some(high_alerts(p) as f64))),
        0,
        "",
        false,
    );
    let status = count_status(value, t.high_alerts);
    let owners = k.runtime_alerts.high_by_owner.len();
    Tile {
        label: "High-severity runtime alerts".into(),
        value: value.to_string(),
        detail: format!(
            "{} runtime alerts in all · {owners} owner{}",
            k.runtime_alerts.population,
            if owners == 1 { "" } else { "s" }
        ),
        delta,
        improved,
        status,
        status_label: status.label().into(),
        target: format!("target ≤ {}", t.high_alerts),
    }
}

/// The four page-1 tiles, compared with the last earlier period.
pub fn tiles(input: &ExecutiveInput) -> Vec<Tile> {
    let k = &input.kpis;
    let prev = input.previous.last();
    let t = &input.targets;
    vec![
        compliance_tile(k, prev, t),
        mttd_tile(k, prev, t),
        remediation_tile(k, prev, t),
        high_alerts_tile(k, prev, t),
    ]
}

// ---------------------------------------------------------------------------------------------
// The view the template lays out

#[derive(Debug, Serialize)]
struct View {
    title: String,
    scope: String,
    period: String,
    period_label: String,
    period_range: String,
    snapshot_summary: String,
    fingerprint: String,
    fingerprint_short: String,
    tiles: Vec<Tile>,
    risks: Vec<Risk>,
    risks_more: usize,
    no_risks: bool,
    /// At most `MAX_SHOWBACK_CURRENCIES` currencies on page 1.
    costs: Vec<CostView>,
    costs_more: String,
    protected_vcores: String,
    coverage: CoverageView,
    alerts: AlertsView,
    vulnerabilities: VulnView,
    showback: Vec<ShowbackView>,
    /// Where every owner's amount is listed.
    showback_text: String,
    trend: TrendView,
    checklist: Vec<CheckView>,
    appendix: AppendixView,
}

#[derive(Debug, Serialize)]
struct CostView {
    currency: String,
    container_spend: String,
    defender_spend: String,
    per_vcore: String,
    allocated: String,
}

#[derive(Debug, Serialize)]
struct DailyPoint {
    day: u32,
    rate: Option<f64>,
}

#[derive(Debug, Serialize)]
struct CoverageView {
    days_in_period: u32,
    points: Vec<DailyPoint>,
    missing_days: Vec<u32>,
    y_min: f64,
    target: f64,
    target_text: String,
    summary: String,
    /// The management groups with the most subscriptions not covered, worst first.
    management_groups: Vec<MgView>,
    management_groups_total: usize,
    management_groups_more: String,
    /// How many gaps the period had and where they are listed.
    gaps_text: String,
    /// The subscriptions with the longest gaps.
    uncovered: Vec<SubscriptionRow>,
    uncovered_total: usize,
    uncovered_more: String,
    /// Unprotected resources in reading order (AKS, Arc, registries).
    unprotected: Vec<ResourceRow>,
    unprotected_total: usize,
    /// `4 AKS, 2 Arc, 3 registries`.
    unprotected_kinds: String,
    unprotected_more: String,
    /// Where every cluster and registry of the period is listed.
    inventory_text: String,
    hardening_text: String,
    /// The container groups Defender for Containers does not cover (empty when none).
    not_covered_text: String,
}

#[derive(Debug, Serialize)]
struct MgView {
    name: String,
    in_scope: i64,
    compliant: i64,
    rate: Option<f64>,
    rate_text: String,
}

#[derive(Debug, Serialize)]
struct SeverityCount {
    severity: String,
    count: i64,
}

#[derive(Debug, Serialize)]
struct OwnerBar {
    owner: String,
    total: i64,
    segments: Vec<SeverityCount>,
    /// The row that sums the owners not shown.
    other: bool,
}

#[derive(Debug, Serialize)]
struct MttdRow {
    severity: String,
    count: i64,
    median: String,
    p90: String,
    mean: String,
}

#[derive(Debug, Serialize)]
struct AlertsView {
    population: i64,
    high_total: i64,
    severities: Vec<String>,
    by_severity: Vec<SeverityCount>,
    by_owner: Vec<OwnerBar>,
    owners_total: usize,
    owners_more: String,
    /// Where every alert is listed.
    alerts_text: String,
    max_owner_total: i64,
    mttd: Vec<MttdRow>,
    negative_latency: usize,
}

#[derive(Debug, Serialize)]
struct SlaRow {
    severity: String,
    sla: String,
    due: i64,
    on_time: i64,
    rate: String,
    rate_value: Option<f64>,
    left_censored: i64,
    resolved: i64,
    median_days: String,
    overdue: i64,
}

#[derive(Debug, Serialize)]
struct VulnView {
    findings_total: i64,
    rows: Vec<SlaRow>,
    overdue_by_owner: Vec<OwnerRow>,
    overdue_owners_total: usize,
    overdue_more: String,
    /// Where every finding is listed.
    findings_text: String,
    overdue_max: i64,
    target_text: String,
}

#[derive(Debug, Serialize)]
struct ShowbackRow {
    owner: String,
    amount: String,
    value: f64,
    share: String,
    unallocated: bool,
    /// The row that sums the owners not shown.
    other: bool,
}

/// An owner and a count; `other` marks the row that sums the owners not shown.
#[derive(Debug, Serialize)]
struct OwnerRow {
    owner: String,
    count: i64,
    other: bool,
}

#[derive(Debug, Serialize)]
struct ShowbackView {
    currency: String,
    rows: Vec<ShowbackRow>,
    owners_more: String,
    max: f64,
    total: String,
    export_total: String,
    defender_total: String,
    allocated: String,
}

#[derive(Debug, Serialize)]
struct TrendSeries {
    label: String,
    values: Vec<Option<f64>>,
    texts: Vec<String>,
    target: f64,
    higher_is_better: bool,
}

#[derive(Debug, Serialize)]
struct TrendView {
    periods: Vec<String>,
    series: Vec<TrendSeries>,
}

#[derive(Debug, Serialize)]
struct CheckView {
    name: String,
    status: String,
    measured: String,
}

#[derive(Debug, Serialize)]
struct Param {
    name: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct AppendixView {
    parameters: Vec<Param>,
    period_range: String,
    scope: String,
    snapshot_days: String,
    snapshot_count: usize,
    missing_days: String,
    fingerprint: String,
    sources: Vec<String>,
    sources_more: String,
    data_quality: Vec<String>,
    data_quality_more: String,
    showback_exports: String,
}

const ALERT_SEVERITIES: &[&str] = &["High", "Medium", "Low", "Informational"];
const VULN_SEVERITIES: &[&str] = &["Critical", "High", "Medium", "Low"];

/// Known severities in their usual order, then any others alphabetically.
fn ordered<'a>(known: &[&str], seen: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let seen: std::collections::BTreeSet<&String> = seen.into_iter().collect();
    let mut out: Vec<String> = known
        .iter()
        .filter(|k| seen.iter().any(|s| s.as_str() == **k))
        .map(|s| s.to_string())
        .collect();
    out.extend(
        seen.into_iter()
            .filter(|s| !known.contains(&s.as_str()))
            .cloned(),
    );
    out
}

/// Last day of the period (inclusive).
fn period_last_day(k: &Kpis) -> NaiveDate {
    k.period_end_exclusive.pred_opt().unwrap_or(k.period_start)
}

/// `2026-11-01 to 2026-11-13, 2026-11-15 to 2026-11-30`: consecutive dates as ranges.
pub fn date_ranges(days: &[NaiveDate]) -> String {
    let mut sorted = days.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut out: Vec<String> = vec![];
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end.succ_opt().unwrap_or(end) {
            i += 1;
            end = sorted[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start} to {end}")
        });
        i += 1;
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(", ")
    }
}

/// The lower bound of the coverage chart's y axis: 0, or a multiple of 10 below the lowest
/// value or target when everything sits high (so a dip from 100 % to 96 % is visible).
pub fn chart_floor(values: impl IntoIterator<Item = f64>, target: f64) -> f64 {
    let low = values.into_iter().fold(target, f64::min);
    if low < 50.0 {
        0.0
    } else {
        (((low - 5.0) / 10.0).floor() * 10.0).max(0.0)
    }
}

/// Longest gap first, then by name and id, so the worst cases lead a long table.
pub fn uncovered_in_reading_order(rows: &[SubscriptionRow]) -> Vec<SubscriptionRow> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        b.gap_days
            .cmp(&a.gap_days)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.subscription_id.cmp(&b.subscription_id))
    });
    rows
}

/// AKS, then Arc, then registries, each by owner and name.
pub fn unprotected_in_reading_order(rows: &[ResourceRow]) -> Vec<ResourceRow> {
    let rank = |k: &str| match k.to_ascii_lowercase().as_str() {
        "aks" => 0,
        "arc" => 1,
        "registry" => 2,
        _ => 3,
    };
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        rank(&a.kind)
            .cmp(&rank(&b.kind))
            .then_with(|| a.owner.cmp(&b.owner))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    rows
}

fn mg_view(m: &MgRow) -> MgView {
    MgView {
        name: m.management_group.clone(),
        in_scope: m.in_scope,
        compliant: m.compliant,
        rate: m.rate,
        rate_text: format::rate(m.rate),
    }
}

/// Management groups with the most subscriptions not covered first, then the lowest rate,
/// then by name: the ones to act on lead a shortened table.
pub fn management_groups_worst_first(rows: &[MgRow]) -> Vec<MgRow> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        (b.in_scope - b.compliant)
            .cmp(&(a.in_scope - a.compliant))
            .then_with(|| {
                a.rate
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.rate.unwrap_or(f64::INFINITY))
            })
            .then_with(|| a.management_group.cmp(&b.management_group))
    });
    rows
}

/// One coverage gap of the period, formatted: subscription (name and id), owner, from, to,
/// snapshot days and a note.
pub(super) struct GapLine {
    pub subscription: String,
    pub owner: String,
    pub start: String,
    pub end: String,
    pub days: i64,
    pub note: String,
}

/// Every gap of the period, by start and subscription.
pub(super) fn gap_lines(input: &ExecutiveInput) -> Vec<GapLine> {
    let owner_of = |sub: &str| {
        input
            .uncovered_subscriptions
            .iter()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(sub))
    };
    let mut gaps: Vec<GapLine> = input
        .kpis
        .coverage
        .gaps
        .iter()
        .map(|g| {
            let row = owner_of(&g.subscriptionId);
            let mut notes = vec![];
            if g.continues_from_previous_period {
                notes.push("began before the period");
            }
            if g.open_at_period_end {
                notes.push("still open");
            }
            GapLine {
                subscription: row
                    .map(|r| format!("{} ({})", r.name, g.subscriptionId))
                    .unwrap_or_else(|| g.subscriptionId.clone()),
                owner: row.map(|r| r.owner.clone()).unwrap_or_default(),
                start: g.start.to_string(),
                end: g.end.to_string(),
                days: g.days,
                note: notes.join(", "),
            }
        })
        .collect();
    gaps.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(a.subscription.cmp(&b.subscription))
    });
    gaps
}

/// `4 AKS, 2 Arc, 3 registries`: unprotected resources counted by kind, in reading order.
fn kinds_text(rows: &[ResourceRow]) -> String {
    let mut counts: Vec<(String, usize)> = vec![];
    for r in rows {
        match counts.iter_mut().find(|(k, _)| *k == r.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.kind.clone(), 1)),
        }
    }
    counts
        .iter()
        .map(|(kind, n)| match kind.as_str() {
            "Registry" => format!("{n} {}", if *n == 1 { "registry" } else { "registries" }),
            _ => format!("{n} {kind}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Every ... : <file> (n rows).` when the run has `file`, else empty: where a list the report
/// shortens is published in full.
fn listed_in(file: Option<FileRef>, what: &str) -> String {
    file.map(|f| f.listed(what)).unwrap_or_default()
}

/// The note under a list shortened to its first `top` of `total` rows (empty when all fit).
fn top_more_note(top: usize, total: usize, order: &str, section: &str) -> String {
    more_note(total.min(top), total, order, section)
}

/// The day of the period `d` is, counting from 1.
fn day_of_period(k: &Kpis, d: NaiveDate) -> u32 {
    (d - k.period_start).num_days() as u32 + 1
}

/// The coverage chart's points: each day of the period with a snapshot, and its rate.
fn coverage_points(k: &Kpis) -> Vec<DailyPoint> {
    k.coverage
        .daily
        .iter()
        .filter(|d| d.date >= k.period_start && d.date < k.period_end_exclusive)
        .map(|d| DailyPoint {
            day: day_of_period(k, d.date),
            rate: d.rate,
        })
        .collect()
}

/// The line under the coverage chart: month-end, minimum and mean rate.
fn coverage_summary(k: &Kpis) -> String {
    match k.coverage.month_end_date {
        Some(d) => format!(
            "Month end ({d}): {} · minimum {} · mean {} over {} snapshot days",
            format::rate(k.coverage.month_end_rate),
            format::rate(k.coverage.min_rate),
            format::rate(k.coverage.mean_rate),
            k.snapshot_days_in_period.len()
        ),
        None => "No snapshot day had a subscription with containers in scope.".into(),
    }
}

/// How many coverage gaps the period had and where each is listed.
fn gaps_text(k: &Kpis, files: &RunFileRows) -> String {
    let gaps = k.coverage.gaps.len();
    if gaps == 0 {
        return "No coverage gaps in the period.".to_string();
    }
    let mut homes = vec![annex_cite(annex::GAPS, gaps)];
    homes.extend(files.evidence("coverage-gaps.csv").map(|f| f.cite()));
    format!(
        "{gaps} coverage gap{} in the period ({} gap subscription-days), each with its start \
         and end: see {}.",
        if gaps == 1 { "" } else { "s" },
        k.coverage.gap_subscription_days,
        homes.join(" and ")
    )
}

/// The coverage section: the daily chart, the worst management groups, the gaps, the
/// subscriptions with the longest gaps and the unprotected clusters and registries.
fn coverage_view(input: &ExecutiveInput, files: &RunFileRows) -> CoverageView {
    let k = &input.kpis;
    let points = coverage_points(k);
    let target = input.targets.compliance_rate;
    let y_min = chart_floor(points.iter().filter_map(|p| p.rate), target);
    let mgs = management_groups_worst_first(&input.coverage_by_management_group);
    let mg_total = mgs.len();
    let uncovered = uncovered_in_reading_order(&input.uncovered_subscriptions);
    let uncovered_total = uncovered.len();
    let unprotected = unprotected_in_reading_order(&input.unprotected_resources);
    let unprotected_total = unprotected.len();
    CoverageView {
        days_in_period: (k.period_end_exclusive - k.period_start).num_days() as u32,
        points,
        missing_days: k
            .snapshot_days_missing
            .iter()
            .map(|d| day_of_period(k, *d))
            .collect(),
        y_min,
        target,
        target_text: format!("target {}", format::rate(Some(target))),
        summary: coverage_summary(k),
        management_groups: mgs
            .iter()
            .take(TOP_MANAGEMENT_GROUPS)
            .map(mg_view)
            .collect(),
        management_groups_total: mg_total,
        management_groups_more: top_more_note(
            TOP_MANAGEMENT_GROUPS,
            mg_total,
            "by subscriptions not covered",
            annex::MANAGEMENT_GROUPS,
        ),
        gaps_text: gaps_text(k, files),
        uncovered: uncovered.into_iter().take(TOP_UNCOVERED).collect(),
        uncovered_total,
        uncovered_more: top_more_note(
            TOP_UNCOVERED,
            uncovered_total,
            "by gap days",
            annex::UNCOVERED,
        ),
        unprotected_kinds: kinds_text(&unprotected),
        unprotected: unprotected.into_iter().take(TOP_UNPROTECTED).collect(),
        unprotected_total,
        unprotected_more: top_more_note(
            TOP_UNPROTECTED,
            unprotected_total,
            "(AKS, then Arc, then registries)",
            annex::UNPROTECTED,
        ),
        inventory_text: listed_in(
            files.evidence("protection-inventory.csv"),
            "Every cluster, registry and container group of the period with its protected days",
        ),
        hardening_text: hardening_text(&input.hardening),
        not_covered_text: input.container_groups.text(),
    }
}

/// The hardening posture in one sentence per kind, or empty when the month end lists no
/// AKS cluster or registry.
fn hardening_text(posture: &[crate::kpi::hardening::KindPosture]) -> String {
    let lines: Vec<String> = posture
        .iter()
        .filter(|p| p.resources > 0)
        .map(crate::kpi::hardening::posture_line)
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "Hardening at month end: {}. The settings and failing checks of each resource are in \
         the protection inventory (hardening, hardening_failed); the rules are in the \
         appendix's KPI definitions.",
        lines.join("; ")
    )
}

/// The alert severities in order, and every owner's alerts by severity, most alerts first.
pub(super) fn alerts_by_owner(input: &ExecutiveInput) -> (Vec<String>, Vec<(String, Vec<i64>)>) {
    let severities = ordered(
        ALERT_SEVERITIES,
        input
            .kpis
            .runtime_alerts
            .by_severity
            .keys()
            .chain(input.alerts_by_owner_severity.iter().map(|r| &r.severity)),
    );
    let mut owners: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for r in &input.alerts_by_owner_severity {
        *owners
            .entry(&r.owner)
            .or_default()
            .entry(&r.severity)
            .or_default() += r.count;
    }
    let mut rows: Vec<(String, Vec<i64>)> = owners
        .into_iter()
        .map(|(owner, sev)| {
            let counts = severities
                .iter()
                .map(|s| sev.get(s.as_str()).copied().unwrap_or(0))
                .collect();
            (owner.to_string(), counts)
        })
        .collect();
    let total = |r: &(String, Vec<i64>)| r.1.iter().sum::<i64>();
    rows.sort_by(|a, b| total(b).cmp(&total(a)).then(a.0.cmp(&b.0)));
    (severities, rows)
}

/// `12 other owners`.
fn others_label(n: usize) -> String {
    format!("{n} other owner{}", if n == 1 { "" } else { "s" })
}

/// The first `top` of `items`, each as `row`, then, when some are left, one row for the
/// rest as `rest_row`: a shortened chart whose last bar sums the owners not shown.
fn top_then_rest<T, R>(
    items: &[T],
    top: usize,
    row: impl Fn(&T) -> R,
    rest_row: impl FnOnce(&[T]) -> R,
) -> Vec<R> {
    let mut out: Vec<R> = items.iter().take(top).map(row).collect();
    let rest = &items[items.len().min(top)..];
    if !rest.is_empty() {
        out.push(rest_row(rest));
    }
    out
}

/// One bar of the alerts-by-owner chart: `counts` in the order of `severities`.
fn owner_bar(severities: &[String], owner: String, counts: &[i64], other: bool) -> OwnerBar {
    OwnerBar {
        owner,
        total: counts.iter().sum(),
        segments: severities
            .iter()
            .zip(counts)
            .map(|(s, c)| SeverityCount {
                severity: s.clone(),
                count: *c,
            })
            .collect(),
        other,
    }
}

/// The alerts-by-owner chart: the owners with the most alerts, then one bar for the others.
fn alert_owner_bars(severities: &[String], owners: &[(String, Vec<i64>)]) -> Vec<OwnerBar> {
    top_then_rest(
        owners,
        TOP_ALERT_OWNERS,
        |(o, c)| owner_bar(severities, o.clone(), c, false),
        |rest| {
            let mut sum = vec![0; severities.len()];
            for (_, c) in rest {
                sum.iter_mut().zip(c).for_each(|(s, c)| *s += c);
            }
            owner_bar(severities, others_label(rest.len()), &sum, true)
        },
    )
}

/// One row of the detection-latency table.
fn mttd_row(severity: &str, st: &LatencyStats) -> MttdRow {
    MttdRow {
        severity: severity.into(),
        count: st.count,
        median: format::minutes(st.median),
        p90: format::minutes(st.p90),
        mean: format::minutes(st.mean),
    }
}

/// The detection-latency table: a row per severity, then one for all alerts.
fn mttd_rows(k: &Kpis) -> Vec<MttdRow> {
    let latency = &k.detection_latency;
    let mut rows: Vec<MttdRow> = ordered(ALERT_SEVERITIES, latency.by_severity.keys())
        .iter()
        .map(|s| mttd_row(s, &latency.by_severity[s]))
        .collect();
    rows.push(mttd_row("All", &latency.overall));
    rows
}

/// The alerts section: counts by severity, the alerts-by-owner chart and detection latency.
fn alerts_view(input: &ExecutiveInput, files: &RunFileRows) -> AlertsView {
    let k = &input.kpis;
    let (severities, owners) = alerts_by_owner(input);
    let owners_total = owners.len();
    let by_owner = alert_owner_bars(&severities, &owners);
    AlertsView {
        population: k.runtime_alerts.population,
        high_total: k.runtime_alerts.high_total,
        by_severity: severities
            .iter()
            .map(|s| SeverityCount {
                severity: s.clone(),
                count: k.runtime_alerts.by_severity.get(s).copied().unwrap_or(0),
            })
            .collect(),
        severities,
        max_owner_total: by_owner.iter().map(|o| o.total).max().unwrap_or(0),
        by_owner,
        owners_more: top_more_note(
            TOP_ALERT_OWNERS,
            owners_total,
            "owners by alerts",
            annex::ALERT_OWNERS,
        ),
        owners_total,
        alerts_text: listed_in(
            files.evidence("alerts.csv"),
            "Every alert with its owner and detection time",
        ),
        mttd: mttd_rows(k),
        negative_latency: k.detection_latency.negative_latency.len(),
    }
}

/// Owners with critical findings open past due, most first.
pub(super) fn overdue_by_owner(input: &ExecutiveInput) -> Vec<OwnerCount> {
    let mut overdue = input.overdue_critical_by_owner.clone();
    overdue.sort_by(|a, b| b.count.cmp(&a.count).then(a.owner.cmp(&b.owner)));
    overdue
}

/// The SLA table's row for severity `s`: its SLA and, if it had findings, their remediation.
fn sla_row(k: &Kpis, s: &String) -> SlaRow {
    let sla = k
        .parameters
        .sla_days
        .get(s)
        .map(|d| format!("{d} days"))
        .unwrap_or_else(|| "none".into());
    match k.remediation.by_severity.get(s) {
        Some(r) => SlaRow {
            severity: s.clone(),
            sla,
            due: r.due_in_period,
            on_time: r.resolved_on_time,
            rate: format::rate(r.rate),
            rate_value: r.rate,
            left_censored: r.left_censored_due,
            resolved: r.resolved_in_period,
            median_days: format::days(r.median_days_to_resolve),
            overdue: r.open_past_due_at_period_end,
        },
        None => SlaRow {
            severity: s.clone(),
            sla,
            due: 0,
            on_time: 0,
            rate: format::rate(None),
            rate_value: None,
            left_censored: 0,
            resolved: 0,
            median_days: format::days(None),
            overdue: 0,
        },
    }
}

/// The SLA table: a row per severity with findings or an SLA, in severity order.
fn sla_rows(k: &Kpis) -> Vec<SlaRow> {
    ordered(
        VULN_SEVERITIES,
        k.remediation
            .by_severity
            .keys()
            .chain(k.parameters.sla_days.keys()),
    )
    .iter()
    .map(|s| sla_row(k, s))
    .collect()
}

/// The overdue-by-owner chart: the owners with the most overdue findings, then one row for
/// the others.
fn overdue_owner_rows(overdue: &[OwnerCount]) -> Vec<OwnerRow> {
    top_then_rest(
        overdue,
        TOP_OVERDUE_OWNERS,
        |o| OwnerRow {
            owner: o.owner.clone(),
            count: o.count,
            other: false,
        },
        |rest| OwnerRow {
            owner: others_label(rest.len()),
            count: rest.iter().map(|o| o.count).sum(),
            other: true,
        },
    )
}

/// The vulnerabilities section: the SLA table and the overdue critical findings by owner.
fn vuln_view(input: &ExecutiveInput, files: &RunFileRows) -> VulnView {
    let k = &input.kpis;
    let overdue = overdue_by_owner(input);
    let overdue_owners_total = overdue.len();
    let shown = overdue_owner_rows(&overdue);
    VulnView {
        findings_total: k.remediation.findings_total,
        rows: sla_rows(k),
        overdue_max: shown.iter().map(|o| o.count).max().unwrap_or(0),
        overdue_by_owner: shown,
        overdue_more: top_more_note(
            TOP_OVERDUE_OWNERS,
            overdue_owners_total,
            "owners by overdue findings",
            annex::OVERDUE_OWNERS,
        ),
        overdue_owners_total,
        findings_text: listed_in(
            files.evidence("vulnerability-findings.csv"),
            "Every finding open or due in the period, with first seen, due and resolved",
        ),
        target_text: format!(
            "target {}",
            format::rate(Some(input.targets.remediation_rate))
        ),
    }
}

/// Per currency: each owner's amount rounded by largest remainder (as in the CSV), biggest
/// first with `unallocated` last, and the total of the rounded amounts.
pub fn showback_rounded(by_owner: &BTreeMap<String, f64>) -> (Vec<(String, i64)>, i64) {
    let owners: Vec<&String> = by_owner.keys().collect();
    let amounts: Vec<f64> = by_owner.values().copied().collect();
    let cents = format::largest_remainder_cents(&amounts);
    let mut rows: Vec<(String, i64)> = owners
        .into_iter()
        .cloned()
        .zip(cents.iter().copied())
        .collect();
    rows.sort_by(|a, b| {
        (a.0 == UNALLOCATED)
            .cmp(&(b.0 == UNALLOCATED))
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(&b.0))
    });
    (rows, cents.iter().sum())
}

/// The owner label the report shows for `unallocated`.
pub(super) fn owner_label(owner: &str) -> String {
    if owner == UNALLOCATED {
        "unallocated (untagged)".into()
    } else {
        owner.to_string()
    }
}

/// `12.3%` of `total` cents, or `n/a`.
pub(super) fn share_text(cents: i64, total: i64) -> String {
    if total != 0 {
        format::rate(Some(cents as f64 / total as f64 * 100.0))
    } else {
        format::rate(None)
    }
}

/// Owners shown per currency: all of them up to this many, else the largest, a row summing
/// the others and `unallocated`. With several currencies each gets fewer.
pub const TOP_SHOWBACK_OWNERS: usize = 25;
pub const TOP_SHOWBACK_OWNERS_PER_CURRENCY: usize = 10;
/// At most this many currencies in the report body (in code order); the others are in the
/// annex and the CSV.
pub const MAX_SHOWBACK_CURRENCIES: usize = 3;

/// One currency's showback rows as the report shows them, and the note on the owners left
/// out: every owner when there are at most `limit`, else the largest, one row summing the
/// others, and `unallocated`.
fn showback_rows(
    cur: &str,
    rows: &[(String, i64)],
    total: i64,
    limit: usize,
) -> (Vec<ShowbackRow>, String) {
    let row = |owner: String, c: i64, unallocated: bool, other: bool| ShowbackRow {
        owner,
        amount: format::money_cents(c, cur),
        value: c as f64,
        share: share_text(c, total),
        unallocated,
        other,
    };
    if rows.len() <= limit {
        let shown = rows
            .iter()
            .map(|(o, c)| row(owner_label(o), *c, o == UNALLOCATED, false))
            .collect();
        return (shown, String::new());
    }
    let (named, unallocated): (Vec<_>, Vec<_>) = rows.iter().partition(|(o, _)| o != UNALLOCATED);
    let keep = limit - 1 - unallocated.len();
    let mut shown = top_then_rest(
        &named,
        keep,
        |(o, c)| row(o.clone(), *c, false, false),
        |rest| {
            row(
                others_label(rest.len()),
                rest.iter().map(|(_, c)| *c).sum(),
                false,
                true,
            )
        },
    );
    shown.extend(
        unallocated
            .iter()
            .map(|(o, c)| row(owner_label(o), *c, true, false)),
    );
    let owners_more = format!(
        "Top {keep} of {} owners by amount; {} more: see {}, section {} {cur} ({}).",
        rows.len() - unallocated.len(),
        named.len() - keep,
        annex::ANNEX_PATH,
        annex::SHOWBACK,
        annex::rows_text(rows.len())
    );
    (shown, owners_more)
}

/// The showback chart of currency `cur`: its owners' amounts and the currency's totals.
fn showback_currency_view(
    s: &ShowbackKpis,
    cur: &String,
    by_owner: &BTreeMap<String, f64>,
    limit: usize,
) -> ShowbackView {
    let (rows, total) = showback_rounded(by_owner);
    let (shown, owners_more) = showback_rows(cur, &rows, total, limit);
    let max = shown
        .iter()
        .map(|r| r.value as i64)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    ShowbackView {
        currency: cur.clone(),
        rows: shown,
        owners_more,
        max,
        total: format::money_cents(total, cur),
        export_total: s
            .export_total_by_currency
            .get(cur)
            .map(|v| format::money(*v, cur))
            .unwrap_or_else(|| "n/a".into()),
        defender_total: s
            .defender_containers_total
            .get(cur)
            .map(|v| format::money(*v, cur))
            .unwrap_or_else(|| format::money(0.0, cur)),
        allocated: format::rate(allocated_pct(by_owner)),
    }
}

/// The showback section: a chart per currency, for the first `MAX_SHOWBACK_CURRENCIES`.
fn showback_view(input: &ExecutiveInput) -> Vec<ShowbackView> {
    let s = &input.kpis.showback;
    let limit = if s.by_currency.len() <= 1 {
        TOP_SHOWBACK_OWNERS
    } else {
        TOP_SHOWBACK_OWNERS_PER_CURRENCY
    };
    s.by_currency
        .iter()
        .take(MAX_SHOWBACK_CURRENCIES)
        .map(|(cur, by_owner)| showback_currency_view(s, cur, by_owner, limit))
        .collect()
}

/// `1 more currency`, `2 more currencies`.
fn more_currencies(n: usize) -> String {
    format!("{n} more currenc{}", if n == 1 { "y" } else { "ies" })
}

/// Where every owner's amount is listed (and the currencies the body leaves out).
fn showback_text(input: &ExecutiveInput, files: &RunFileRows) -> String {
    let currencies = input.kpis.showback.by_currency.len();
    let left_out = currencies.saturating_sub(MAX_SHOWBACK_CURRENCIES);
    let mut text = String::new();
    if left_out > 0 {
        text.push_str(&format!(
            "{} in {}, section {}. ",
            more_currencies(left_out),
            annex::ANNEX_PATH,
            annex::SHOWBACK
        ));
    }
    text.push_str(&listed_in(
        files.get("finance/showback-by-owner.csv"),
        "Every owner's amount, with the Defender for Containers share",
    ));
    text
}

/// Every currency page 1's cost table has a row for: of container spend, Defender spend or
/// showback, in code order.
fn cost_currencies(input: &ExecutiveInput) -> BTreeSet<&String> {
    let s = &input.kpis.showback;
    input
        .container_spend
        .keys()
        .chain(s.defender_containers_total.keys())
        .chain(s.by_currency.keys())
        .collect()
}

fn cost_view(input: &ExecutiveInput) -> Vec<CostView> {
    let s = &input.kpis.showback;
    cost_currencies(input)
        .into_iter()
        .map(|cur| {
            let defender = s.defender_containers_total.get(cur).copied().unwrap_or(0.0);
            CostView {
                currency: cur.clone(),
                container_spend: input
                    .container_spend
                    .get(cur)
                    .map(|v| format::money(*v, cur))
                    .unwrap_or_else(|| "n/a".into()),
                defender_spend: format::money(defender, cur),
                per_vcore: cost_per_protected_vcore(defender, input.protected_vcores)
                    .map(|v| format::money(v, cur))
                    .unwrap_or_else(|| "n/a".into()),
                allocated: format::rate(s.by_currency.get(cur).and_then(allocated_pct)),
            }
        })
        .collect()
}

/// Where the currencies page 1 leaves out are: the annex's showback and the finance CSV.
fn costs_more(input: &ExecutiveInput) -> String {
    let left_out = cost_currencies(input)
        .len()
        .saturating_sub(MAX_SHOWBACK_CURRENCIES);
    if left_out == 0 {
        return String::new();
    }
    format!(
        "{}: see {}, section {}.",
        more_currencies(left_out),
        annex::ANNEX_PATH,
        annex::SHOWBACK
    )
}

fn trend_view(input: &ExecutiveInput) -> TrendView {
    let mut all: Vec<&Kpis> = input.previous.iter().collect();
    let skip = all.len().saturating_sub(5);
    all.drain(..skip);
    all.push(&input.kpis);
    let t = &input.targets;
    let series = |label: &str,
                  f: &dyn Fn(&Kpis) -> Option<f64>,
                  text: &dyn Fn(Option<f64>) -> String,
                  target: f64,
                  higher_is_better: bool| {
        let values: Vec<Option<f64>> = all.iter().map(|k| f(k)).collect();
        TrendSeries {
            label: label.into(),
            texts: values.iter().map(|v| text(*v)).collect(),
            values,
            target,
            higher_is_better,
        }
    };
    TrendView {
        periods: all.iter().map(|k| k.period.clone()).collect(),
        series: vec![
            series(
                "Compliance Rate",
                &compliance_rate,
                &format::rate,
                t.compliance_rate,
                true,
            ),
            series(
                "MTTD (median)",
                &mttd_minutes,
                &format::minutes,
                t.mttd_median_minutes,
                false,
            ),
            series(
                "Critical remediation",
                &critical_remediation_rate,
                &format::rate,
                t.remediation_rate,
                true,
            ),
            series(
                "High-severity alerts",
                &|k| Some(high_alerts(k) as f64),
                &|v| v.map(|v| format::fixed(v, 0)).unwrap_or_default(),
                t.high_alerts as f64,
                false,
            ),
        ],
    }
}

/// Every data-quality finding: the KPIs' own, then each alert with a negative latency.
pub(super) fn data_quality(k: &Kpis) -> Vec<String> {
    let mut data_quality = k.data_quality.clone();
    for n in &k.detection_latency.negative_latency {
        data_quality.push(format!(
            "Alert {} has a negative detection latency ({}); excluded from MTTD.",
            n.systemAlertId,
            format::minutes(Some(n.latency_minutes))
        ));
    }
    data_quality
}

fn param(name: &str, value: String) -> Param {
    Param {
        name: name.into(),
        value,
    }
}

/// The KPI parameters the numbers were computed with, by their configuration names.
fn kpi_parameters(p: &Parameters) -> Vec<Param> {
    let mut params = vec![
        param(
            "coverage.required_extensions",
            p.required_extensions.join(", "),
        ),
        param(
            "detection.alert_type_prefixes",
            p.alert_type_prefixes.join(", "),
        ),
        param(
            "vulnerabilities.sla_days",
            ordered(VULN_SEVERITIES, p.sla_days.keys())
                .iter()
                .map(|s| format!("{s} {}", p.sla_days[s]))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        param("showback.owner_tags", p.owner_tags.join(", ")),
        param(
            "anomalies",
            format!(
                "multiplier {}, window {} days, floor {} per day",
                p.anomalies.multiplier, p.anomalies.window_days, p.anomalies.floor
            ),
        ),
    ];
    if !p.vcpu_overrides.is_empty() {
        params.push(param(
            "showback.vcpu_overrides",
            p.vcpu_overrides
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    params
}

/// The targets the tiles are graded against, each with its amber band.
fn target_parameters(t: &TargetConfig) -> Vec<Param> {
    vec![
        param(
            "targets.compliance_rate",
            format!(
                "{} (amber within {} pts below)",
                format::rate(Some(t.compliance_rate)),
                format::fixed(RATE_AMBER_POINTS, 1)
            ),
        ),
        param(
            "targets.mttd_median_minutes",
            format!(
                "{} (amber up to {}× target)",
                format::minutes(Some(t.mttd_median_minutes)),
                format::fixed(MTTD_AMBER_FACTOR, 1)
            ),
        ),
        param(
            "targets.remediation_rate",
            format!(
                "{} for Critical (amber within {} pts below)",
                format::rate(Some(t.remediation_rate)),
                format::fixed(RATE_AMBER_POINTS, 1)
            ),
        ),
        param(
            "targets.high_alerts",
            format!(
                "{} (amber up to {HIGH_ALERTS_AMBER_EXTRA} above)",
                t.high_alerts
            ),
        ),
    ]
}

/// The appendix: parameters and targets, the period and its snapshot days, the input
/// fingerprint, sources and data-quality findings (each list shortened).
fn appendix_view(input: &ExecutiveInput, period_range: &str) -> AppendixView {
    let k = &input.kpis;
    let mut parameters = kpi_parameters(&k.parameters);
    parameters.extend(target_parameters(&input.targets));
    let data_quality = data_quality(k);
    let dq_total = data_quality.len();
    let sources_total = input.sources.len();
    AppendixView {
        parameters,
        period_range: period_range.into(),
        scope: input.scope.clone(),
        snapshot_days: date_ranges(&k.snapshot_days_in_period),
        snapshot_count: k.snapshot_days_in_period.len(),
        missing_days: date_ranges(&k.snapshot_days_missing),
        fingerprint: input.input_fingerprint.clone(),
        sources: input.sources.iter().take(MAX_SOURCES).cloned().collect(),
        sources_more: top_more_note(MAX_SOURCES, sources_total, "", annex::SOURCES),
        data_quality: data_quality.into_iter().take(MAX_DATA_QUALITY).collect(),
        data_quality_more: top_more_note(MAX_DATA_QUALITY, dq_total, "", annex::DATA_QUALITY),
        showback_exports: if k.showback.source_exports.is_empty() {
            "none".into()
        } else {
            k.showback.source_exports.join(", ")
        },
    }
}

fn status_word(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "pass",
        CheckStatus::Warn => "warn",
        CheckStatus::Fail => "fail",
        CheckStatus::NotMeasured => "not measured",
    }
}

/// The JSON the template reads (everything pre-formatted); useful to inspect a report's data.
/// `files` are the run's table files the report may name as the home of a complete list.
pub fn view_json(input: &ExecutiveInput, files: &RunFileRows) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&view(input, files))
}

fn view(input: &ExecutiveInput, files: &RunFileRows) -> View {
    let k = &input.kpis;
    let start = k.period_start;
    let last = period_last_day(k);
    let period_label = start.format("%B %Y").to_string();
    let period_range = format!("{start} to {last} (UTC)");
    let days = (k.period_end_exclusive - start).num_days();
    let missing = k.snapshot_days_missing.len();
    let snapshot_summary = format!(
        "{} of {days} days with a snapshot{}{}",
        k.snapshot_days_in_period.len(),
        if missing == 0 {
            String::new()
        } else {
            format!(" ({missing} missing)")
        },
        // A month published before its final cost export says so beside the period.
        crate::collect::cost_exports::coverage::partial_in(&k.data_quality)
            .map(|p| format!(" · {p}"))
            .unwrap_or_default()
    );
    let risks = top_risks(input);
    let risks_more = risks.len().saturating_sub(MAX_PAGE1_RISKS);
    let fingerprint_short: String = input.input_fingerprint.chars().take(12).collect();
    View {
        title: "Defender for Containers: monthly executive report".into(),
        scope: input.scope.clone(),
        period: k.period.clone(),
        period_label,
        period_range: period_range.clone(),
        snapshot_summary,
        fingerprint: input.input_fingerprint.clone(),
        fingerprint_short,
        tiles: tiles(input),
        no_risks: risks.is_empty(),
        risks: risks.into_iter().take(MAX_PAGE1_RISKS).collect(),
        risks_more,
        costs: cost_view(input)
            .into_iter()
            .take(MAX_SHOWBACK_CURRENCIES)
            .collect(),
        costs_more: costs_more(input),
        protected_vcores: input.protected_vcores.to_string(),
        coverage: coverage_view(input, files),
        alerts: alerts_view(input, files),
        vulnerabilities: vuln_view(input, files),
        showback: showback_view(input),
        showback_text: showback_text(input, files),
        trend: trend_view(input),
        checklist: input
            .checklist
            .iter()
            .map(|c| CheckView {
                name: c.name.clone(),
                status: status_word(c.status).into(),
                measured: c.measured.clone(),
            })
            .collect(),
        appendix: appendix_view(input, &period_range),
    }
}
