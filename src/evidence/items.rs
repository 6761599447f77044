//! Evidence items: pure functions from the pipeline's tables to the evidence CSV tables, each
//! with its population.
//!
//! A population says what an auditor needs to test completeness: how many units the item
//! counts (`rows`), how many rows Resource Graph reported for the same queries over the same
//! snapshot days (`reported_total`, Σ `totalRecords` from the snapshot markers), and every row
//! left out with its reason. It reconciles when `rows + Σ exclusions = reported_total`. The
//! exclusions are counted here from the raw snapshot frames, independently of the KPI code that
//! built the table, so a disagreement between the two shows up as a failed reconciliation.

use crate::error::{PolarsContext, Result};
use crate::evidence::{self, ItemDef};
use crate::frame::{self, dates, floats, strs, timestamps_ns};
use crate::history::{SNAPSHOT_DATE, SnapshotMarker};
use crate::kpi::container_instances::{self, ContainerGroup};
use crate::kpi::detection::{PopulationAlert, population_alerts};
use crate::kpi::hardening::{self, Hardening};
use crate::kpi::policy::PolicyCounts;
use crate::kpi::resource_days::{ResourceDay, ResourceKind};
use crate::kpi::scan_status::{ScanException, VulnerabilityDataKpis};
use crate::kpi::severity::Severity;
use crate::kpi::state::HistoryState;
use crate::kpi::subscription_days::{self, SubscriptionDay};
use crate::kpi::vulnerabilities::{FindingRow, VulnerabilityResult, finding_rows};
use crate::kpi::{Gap, Parameters};
use crate::model::ADDED_LATER;
use crate::period::Period;
use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The most exception lines an item lists in the pack document (the CSV has them all).
pub const MAX_EXCEPTION_LINES: usize = 25;

/// A query's text, when a query produced the snapshots (live collection).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryText {
    pub dataset: String,
    /// File name as shipped, e.g. `queries/aks_clusters.kql`.
    pub file: String,
    pub text: String,
}

impl QueryText {
    pub fn sha256(&self) -> String {
        crate::hashing::sha256_hex(self.text.as_bytes())
    }
}

/// Everything the evidence items are built from: the tables `report` already computes.
pub struct EvidenceInputs<'a> {
    pub period: Period,
    /// What the report read from history (every day before the period's end): days and
    /// markers, the coverage tables, the alert and finding states, the period's raw rows.
    pub history: &'a HistoryState,
    pub params: &'a Parameters,
    /// `DetectionResult::population`.
    pub alerts: &'a DataFrame,
    /// Every finding and its table.
    pub findings: &'a VulnerabilityResult,
    /// Query texts by dataset; empty when the snapshots were replayed from recordings.
    pub queries: &'a [QueryText],
    /// What was queried: configured management groups and subscriptions (empty = tenant).
    pub scope_management_groups: &'a [String],
    pub scope_subscriptions: &'a [String],
    /// The data source, secrets removed (manifest `source`).
    pub source: &'a str,
    /// SHA-256 of the Ed25519 public key the manifest will be signed with, if signing.
    pub signing_key_fingerprint: Option<String>,
    /// The report's data-quality findings (`kpis.json` `data_quality`), e.g. protected
    /// resources without vulnerability data.
    pub data_quality: &'a [String],
}

/// A query behind an item, as the snapshot markers recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryRef {
    pub dataset: String,
    /// The query file, or what produced the rows when no query did (a replayed recording).
    pub file: String,
    /// SHA-256 of the query text; None for replayed recordings.
    pub sha256: Option<String>,
    /// Snapshot days whose rows this query produced.
    pub days: usize,
}

/// The population of one evidence item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Population {
    pub item: String,
    /// The item's CSV, relative to the pack folder.
    pub file: String,
    /// Data rows in the CSV.
    pub file_rows: usize,
    /// What `rows` counts (rows of the CSV, resource-days, subscription-days, ...).
    pub unit: String,
    /// Units the item accounts for.
    pub rows: i64,
    /// Rows Resource Graph reported (Σ totalRecords) for the source datasets over the days
    /// used; None when a day used has no marker for a dataset.
    pub reported_total: Option<i64>,
    /// Rows left out, with the reason.
    pub exclusions: Vec<(String, i64)>,
    /// Datasets whose totals make `reported_total`.
    pub population_datasets: Vec<String>,
    /// Every query the item depends on.
    pub queries: Vec<QueryRef>,
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end_exclusive: NaiveDate,
    pub snapshot_days_used: Vec<NaiveDate>,
    /// Days of the period without a snapshot.
    pub snapshot_days_missing: Vec<NaiveDate>,
    /// How the population is formed, in one or two sentences.
    pub note: String,
}

impl Population {
    pub fn excluded_total(&self) -> i64 {
        self.exclusions.iter().map(|(_, n)| n).sum()
    }

    /// `rows + Σ exclusions = reported_total`.
    pub fn reconciles(&self) -> bool {
        self.reported_total == Some(self.rows + self.excluded_total())
    }

    /// One line for people: "412 + 3 excluded = 415 reported: reconciles".
    pub fn summary(&self) -> String {
        let reported = self
            .reported_total
            .map(|r| r.to_string())
            .unwrap_or_else(|| "unknown (no snapshot marker)".into());
        format!(
            "{} {} + {} excluded = {}; Resource Graph reported {}: {}",
            self.rows,
            self.unit,
            self.excluded_total(),
            self.rows + self.excluded_total(),
            reported,
            if self.reconciles() {
                "reconciles"
            } else {
                "DOES NOT RECONCILE"
            }
        )
    }
}

/// One evidence item, built: its table, its population, and what the pack document says about
/// it.
#[derive(Debug, Clone)]
pub struct EvidenceTable {
    pub item: &'static ItemDef,
    pub table: DataFrame,
    pub population: Population,
    /// Headline figures, e.g. "coverage on 2026-10-31" = "93.3 %".
    pub figures: Vec<Figure>,
    /// Exceptions in plain words (at most `MAX_EXCEPTION_LINES`, then a pointer to the CSV).
    pub exceptions: Vec<String>,
}

/// A headline number of an item, as the pack document prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub label: String,
    pub value: String,
}

impl EvidenceTable {
    /// An item's table, with its headline figures as (label, value) and its exceptions
    /// capped for the pack document.
    fn new(
        item: &'static ItemDef,
        table: DataFrame,
        population: Population,
        figures: Vec<(String, String)>,
        exceptions: Vec<String>,
    ) -> EvidenceTable {
        EvidenceTable {
            item,
            table,
            population,
            figures: figs(figures),
            exceptions: capped(exceptions, &item.file_name()),
        }
    }
}

fn figs(v: Vec<(String, String)>) -> Vec<Figure> {
    v.into_iter()
        .map(|(label, value)| Figure { label, value })
        .collect()
}

fn days_text(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// Build every evidence item of `ITEMS`, in order.
pub fn build_items(inp: &EvidenceInputs) -> Result<Vec<EvidenceTable>> {
    let cx = Ctx::new(inp);
    Ok(vec![
        coverage_daily(&cx)?,
        coverage_gaps(&cx)?,
        protection_inventory(&cx)?,
        policy_compliance(&cx)?,
        alerts(&cx)?,
        vulnerability_findings(&cx)?,
        ownership_tags(&cx)?,
    ])
}

// ---------------------------------------------------------------------------------------------
// Shared context: snapshot days, markers, queries.

pub(crate) struct Ctx<'a> {
    pub inp: &'a EvidenceInputs<'a>,
    /// Snapshot days inside the period.
    pub period_days: Vec<NaiveDate>,
    /// Days of the period without a snapshot.
    pub missing: Vec<NaiveDate>,
    markers: BTreeMap<NaiveDate, &'a SnapshotMarker>,
    /// `subscription_day_index` of the inputs, built on first use (two items read it).
    subscription_days: std::cell::OnceCell<SubDayIndex>,
}

const RESOURCE_DATASETS: [&str; 3] = ["aks_clusters", "container_registries", "arc_clusters"];
/// The protection inventory's rows: the covered kinds, then container groups.
const INVENTORY_DATASETS: [&str; 4] = [
    "aks_clusters",
    "container_registries",
    "arc_clusters",
    "container_instances",
];
const COVERAGE_DATASETS: [&str; 5] = [
    "subscriptions",
    "defender_plans",
    "aks_clusters",
    "container_registries",
    "arc_clusters",
];

/// The queries behind the protection inventory: coverage's and the container groups'.
const INVENTORY_QUERIES: [&str; 6] = [
    "subscriptions",
    "defender_plans",
    "aks_clusters",
    "container_registries",
    "arc_clusters",
    "container_instances",
];

impl<'a> Ctx<'a> {
    pub fn new(inp: &'a EvidenceInputs<'a>) -> Self {
        let period = inp.period;
        let (period_days, missing) = period.split_days(&inp.history.days);
        let markers = inp.history.markers.iter().map(|m| (m.date, m)).collect();
        Ctx {
            inp,
            period_days,
            missing,
            markers,
            subscription_days: Default::default(),
        }
    }

    /// (day, lower-case subscription) → what the subscription-days table says of it.
    fn subscription_day_index(&self) -> Result<&SubDayIndex> {
        if self.subscription_days.get().is_none() {
            let idx = subscription_day_index(&self.inp.history.coverage.subscription_days)?;
            let _ = self.subscription_days.set(idx);
        }
        Ok(self.subscription_days.get().expect("set above"))
    }

    /// All snapshot days read (history before the period included), ascending.
    fn all_days(&self) -> Vec<NaiveDate> {
        self.inp
            .history
            .days
            .iter()
            .copied()
            .filter(|d| *d < self.inp.period.end_exclusive())
            .collect()
    }

    /// Σ totalRecords of `datasets` over `days`; None if any is unknown.
    fn reported(&self, datasets: &[&str], days: &[NaiveDate]) -> Option<i64> {
        let mut total = 0;
        for day in days {
            let m = self.markers.get(day)?;
            for ds in datasets {
                match m.datasets.get(*ds) {
                    Some(r) => total += r.total_records,
                    // A snapshot from before the dataset existed: it had none.
                    None if ADDED_LATER.contains(ds) => {}
                    None => return None,
                }
            }
        }
        Some(total)
    }

    /// The queries behind `datasets` over `days`, one entry per distinct query hash.
    fn queries(&self, datasets: &[&str], days: &[NaiveDate]) -> Vec<QueryRef> {
        let mut out = Vec::new();
        for ds in datasets {
            let mut by_hash: BTreeMap<Option<String>, usize> = BTreeMap::new();
            for day in days {
                if let Some(r) = self.markers.get(day).and_then(|m| m.datasets.get(*ds)) {
                    *by_hash.entry(r.query_sha256.clone()).or_default() += 1;
                }
            }
            for (hash, n) in by_hash {
                let text = self.inp.queries.iter().find(|q| q.dataset == *ds);
                let file = match (&hash, text) {
                    (Some(h), Some(q)) if q.sha256() == *h => q.file.clone(),
                    (Some(_), _) => format!(
                        "queries/{ds}.kql (text not in this run: the hash is from the snapshot markers)"
                    ),
                    (None, _) => {
                        format!("{ds}: replayed Resource Graph recording, no query text")
                    }
                };
                out.push(QueryRef {
                    dataset: ds.to_string(),
                    file,
                    sha256: hash,
                    days: n,
                });
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn population(
        &self,
        item: &ItemDef,
        file_rows: usize,
        unit: impl Into<String>,
        rows: i64,
        population_datasets: &[&str],
        query_datasets: &[&str],
        days: Vec<NaiveDate>,
        exclusions: Vec<(String, i64)>,
        note: impl Into<String>,
    ) -> Population {
        let period = self.inp.period;
        let exclusions = exclusions.into_iter().filter(|(_, n)| *n != 0).collect();
        let mut note = note.into();
        let changed: Vec<&str> = query_datasets
            .iter()
            .copied()
            .filter(|ds| {
                self.queries(&[ds], &days)
                    .iter()
                    .filter(|q| q.sha256.is_some())
                    .count()
                    > 1
            })
            .collect();
        if !changed.is_empty() {
            note.push_str(&format!(
                " The query text of {} changed during the days used (one entry per version).",
                changed.join(", ")
            ));
        }
        Population {
            item: item.id.to_string(),
            file: item.file_name(),
            file_rows,
            unit: unit.into(),
            rows,
            reported_total: self.reported(population_datasets, &days),
            exclusions,
            population_datasets: population_datasets.iter().map(|s| s.to_string()).collect(),
            queries: self.queries(query_datasets, &days),
            period: period.to_string(),
            period_start: period.start(),
            period_end_exclusive: period.end_exclusive(),
            snapshot_days_used: days,
            snapshot_days_missing: self.missing.clone(),
            note,
        }
    }
}

fn capped(mut lines: Vec<String>, file: &str) -> Vec<String> {
    if lines.len() > MAX_EXCEPTION_LINES {
        let more = lines.len() - MAX_EXCEPTION_LINES;
        lines.truncate(MAX_EXCEPTION_LINES);
        lines.push(format!("… and {more} more: see {file}"));
    }
    lines
}

fn pct(num: i64, den: i64) -> String {
    if den == 0 {
        "n/a (none in scope)".into()
    } else {
        format!("{:.1} %", num as f64 / den as f64 * 100.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage per subscription per day

/// A day of coverage-daily: subscriptions in scope, compliant, and the others with why.
#[derive(Default)]
struct CoverageDayTally {
    in_scope: i64,
    compliant: i64,
    not_compliant: Vec<String>,
}

/// The period's subscription-days tallied per day.
fn coverage_per_day(table: &DataFrame) -> Result<BTreeMap<NaiveDate, CoverageDayTally>> {
    let mut per_day: BTreeMap<NaiveDate, CoverageDayTally> = BTreeMap::new();
    for r in subscription_days::rows(table)? {
        let Some(day) = r.date else { continue };
        let e = per_day.entry(day).or_default();
        if r.in_scope {
            e.in_scope += 1;
            if r.compliant {
                e.compliant += 1;
            } else {
                e.not_compliant.push(format!(
                    "{} ({})",
                    r.subscription_id.unwrap_or_default(),
                    r.reason.unwrap_or_default()
                ));
            }
        }
    }
    Ok(per_day)
}

/// One exception per day with a non-compliant subscription, and the period's figures.
fn coverage_daily_findings(
    per_day: &BTreeMap<NaiveDate, CoverageDayTally>,
) -> (Vec<String>, Vec<(String, String)>) {
    let exceptions = per_day
        .iter()
        .filter(|(_, t)| t.compliant < t.in_scope)
        .map(|(day, t)| {
            format!(
                "{day}: {} of {} in-scope subscriptions compliant; not compliant: {}",
                t.compliant,
                t.in_scope,
                t.not_compliant.join(", ")
            )
        })
        .collect();
    let rates: Vec<(i64, i64)> = per_day
        .values()
        .filter(|t| t.in_scope > 0)
        .map(|t| (t.in_scope, t.compliant))
        .collect();
    let mut figures = Vec::new();
    if let Some((day, t)) = per_day.iter().next_back() {
        figures.push((
            format!("coverage on {day} (last snapshot day)"),
            pct(t.compliant, t.in_scope),
        ));
    }
    if let Some(min) = rates
        .iter()
        .map(|(n, c)| *c as f64 / *n as f64 * 100.0)
        .reduce(f64::min)
    {
        figures.push(("minimum daily coverage".into(), format!("{min:.1} %")));
    }
    figures.push((
        "non-compliant in-scope subscription-days".into(),
        rates.iter().map(|(n, c)| n - c).sum::<i64>().to_string(),
    ));
    (exceptions, figures)
}

fn coverage_daily(cx: &Ctx) -> Result<EvidenceTable> {
    let item = &evidence::COVERAGE_DAILY;
    let p = cx.inp.period;
    let table = cx
        .inp
        .history
        .coverage
        .subscription_days
        .clone()
        .lazy()
        .filter(frame::in_period(SNAPSHOT_DATE, p))
        .select(item.columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .sort(
            [SNAPSHOT_DATE, "subscriptionId"],
            SortMultipleOptions::default(),
        )
        .collect()
        .ctx("coverage per subscription per day")?;

    let (exceptions, figures) = coverage_daily_findings(&coverage_per_day(&table)?);
    let population = cx.population(
        item,
        table.height(),
        "subscription-days",
        table.height() as i64,
        &["subscriptions"],
        &COVERAGE_DATASETS,
        cx.period_days.clone(),
        vec![],
        "Every subscription listed on every snapshot day of the period, in scope or not; \
         Resource Graph totals are those of the subscriptions query.",
    );
    Ok(EvidenceTable::new(
        item, table, population, figures, exceptions,
    ))
}

// ---------------------------------------------------------------------------------------------
// Coverage gaps

/// Subscription-days by (day, lower-case subscription).
type SubDayIndex = BTreeMap<(NaiveDate, String), SubscriptionDay>;

fn subscription_day_index(df: &DataFrame) -> Result<SubDayIndex> {
    let mut out = BTreeMap::new();
    for r in subscription_days::rows(df)? {
        let (Some(day), Some(sub)) = (r.date, r.subscription_id.as_deref()) else {
            continue;
        };
        out.insert((day, sub.to_lowercase()), r);
    }
    Ok(out)
}

/// One row of coverage-gaps.csv: a gap with what the subscription-days say at its ends.
struct GapRow<'g> {
    gap: &'g Gap,
    name: String,
    management_group: String,
    reason_at_start: String,
    reason_at_end: String,
    calendar_days: i64,
    missing_within: i64,
}

impl GapRow<'_> {
    /// The exception line of the gap.
    fn exception(&self) -> String {
        let g = self.gap;
        format!(
            "{} ({}): not covered {} to {} ({}{}{}{}): {}",
            g.subscriptionId,
            self.name,
            g.start,
            g.end,
            days_text(g.days).replace("day", "snapshot day"),
            if self.missing_within > 0 {
                format!(
                    ", {} without snapshot inside",
                    days_text(self.missing_within)
                )
            } else {
                String::new()
            },
            if g.continues_from_previous_period {
                ", began before the period"
            } else {
                ""
            },
            if g.open_at_period_end {
                ", still open at period end"
            } else {
                ""
            },
            self.reason_at_start
        )
    }
}

fn gap_rows<'g>(cx: &Ctx, gaps: &[&'g Gap]) -> Result<Vec<GapRow<'g>>> {
    let idx = cx.subscription_day_index()?;
    let snapshot_days: BTreeSet<NaiveDate> = cx.inp.history.days.iter().copied().collect();
    let at = |day: NaiveDate, sub: &str| {
        idx.get(&(day, sub.to_lowercase()))
            .cloned()
            .unwrap_or_default()
    };
    Ok(gaps
        .iter()
        .map(|g| {
            let first = at(g.start, &g.subscriptionId);
            let last = at(g.end, &g.subscriptionId);
            let missing_within = g
                .start
                .iter_days()
                .take_while(|d| *d <= g.end)
                .filter(|d| !snapshot_days.contains(d))
                .count() as i64;
            GapRow {
                gap: g,
                name: first.name.unwrap_or_default(),
                management_group: first.management_group.unwrap_or_default(),
                reason_at_start: first.reason.unwrap_or_default(),
                reason_at_end: last.reason.unwrap_or_default(),
                calendar_days: (g.end - g.start).num_days() + 1,
                missing_within,
            }
        })
        .collect())
}

fn gaps_table(rows: &[GapRow]) -> Result<DataFrame> {
    frame::frame(vec![
        frame::column("subscriptionId", rows, |r| r.gap.subscriptionId.clone()),
        frame::column("subscriptionName", rows, |r| r.name.clone()),
        frame::column("managementGroup", rows, |r| r.management_group.clone()),
        frame::date_column_of("start", rows, |r| Some(r.gap.start)),
        frame::date_column_of("end", rows, |r| Some(r.gap.end)),
        frame::column("snapshot_days", rows, |r| r.gap.days),
        frame::column("calendar_days", rows, |r| r.calendar_days),
        frame::column("missing_snapshot_days_within", rows, |r| r.missing_within),
        frame::column("continues_from_previous_period", rows, |r| {
            r.gap.continues_from_previous_period
        }),
        frame::column("open_at_period_end", rows, |r| r.gap.open_at_period_end),
        frame::column("reason_at_start", rows, |r| r.reason_at_start.clone()),
        frame::column("reason_at_end", rows, |r| r.reason_at_end.clone()),
    ])
}

fn coverage_gaps(cx: &Ctx) -> Result<EvidenceTable> {
    let item = &evidence::COVERAGE_GAPS;
    let mut gaps: Vec<&Gap> = cx.inp.history.coverage.kpis.gaps.iter().collect();
    gaps.sort_by(|a, b| (a.start, &a.subscriptionId).cmp(&(b.start, &b.subscriptionId)));
    let rows = gap_rows(cx, &gaps)?;
    let exceptions = rows.iter().map(GapRow::exception).collect();
    let table = gaps_table(&rows)?;

    // The population: subscription-days of the period, independently classified.
    let (mut out_of_scope, mut compliant) = (0i64, 0i64);
    for ((day, _), r) in cx.subscription_day_index()? {
        if !cx.inp.period.contains(*day) {
            continue;
        }
        match (r.in_scope, r.compliant) {
            (false, _) => out_of_scope += 1,
            (true, true) => compliant += 1,
            (true, false) => {}
        }
    }
    let failing: i64 = gaps.iter().map(|g| g.days).sum();
    let figures = vec![
        ("coverage gaps".into(), gaps.len().to_string()),
        ("gap subscription-days".into(), failing.to_string()),
        (
            "gaps open at period end".into(),
            gaps.iter()
                .filter(|g| g.open_at_period_end)
                .count()
                .to_string(),
        ),
    ];
    let population = cx.population(
        item,
        table.height(),
        "non-compliant in-scope subscription-days (Σ snapshot_days)",
        failing,
        &["subscriptions"],
        &COVERAGE_DATASETS,
        cx.period_days.clone(),
        vec![
            (
                "subscription-day not in scope (not Enabled, or no container resources)".into(),
                out_of_scope,
            ),
            ("subscription-day in scope and compliant".into(), compliant),
        ],
        "Every subscription-day of the period is either out of scope, compliant, or inside \
         exactly one gap.",
    );
    Ok(EvidenceTable::new(
        item, table, population, figures, exceptions,
    ))
}

// ---------------------------------------------------------------------------------------------
// Protection inventory

/// One resource of the period: a row of protection-inventory.csv, as its last day describes it.
struct Inv {
    /// `aks`, `arc`, `registry`, or `aci` for a container group (not covered).
    kind: &'static str,
    id: String,
    name: String,
    sub: String,
    rg: String,
    owner: String,
    days: BTreeSet<NaiveDate>,
    protected: BTreeSet<NaiveDate>,
    last: NaiveDate,
    last_protected: bool,
    last_reason: String,
    last_vcores: i64,
    /// Settings of its latest row (AKS and registries).
    hardening: Option<Hardening>,
    /// What the inventory says of a container group (None: a covered kind).
    group: Option<GroupFacts>,
}

/// A container group's images, IP exposure and SKU, as the inventory writes them.
struct GroupFacts {
    images: String,
    exposure: &'static str,
    ip_address: String,
    sku: String,
    confidential: bool,
}

impl Inv {
    fn new(r: &ResourceDay) -> Inv {
        Inv {
            kind: r.kind.as_str(),
            id: r.id.clone(),
            name: r.name.clone(),
            sub: r.subscription.clone(),
            rg: r.resource_group.clone(),
            owner: r.owner.clone(),
            days: BTreeSet::new(),
            protected: BTreeSet::new(),
            last: r.date,
            last_protected: r.protected,
            last_reason: r.reason.clone(),
            last_vcores: r.vcores,
            hardening: None,
            group: None,
        }
    }

    /// A container group's row: present on its days, protected on none.
    fn of_group(g: &ContainerGroup) -> Inv {
        Inv {
            kind: container_instances::KIND,
            id: g.id.clone(),
            name: g.name.clone(),
            sub: g.subscription.clone(),
            rg: g.resource_group.clone(),
            owner: g.owner.clone(),
            days: g.days.clone(),
            protected: BTreeSet::new(),
            last: g.last_seen().unwrap_or_default(),
            last_protected: false,
            last_reason: container_instances::NOT_COVERED.into(),
            last_vcores: 0,
            hardening: None,
            group: Some(GroupFacts {
                images: g.images.join("; "),
                exposure: g.exposure(),
                ip_address: g.ip_address.clone(),
                sku: g.sku.clone(),
                confidential: g.confidential(),
            }),
        }
    }

    /// Covered by Defender for Containers (every kind but container groups).
    fn covered(&self) -> bool {
        self.group.is_none()
    }

    /// The exception of a container group: not covered, with what makes it matter.
    fn group_exception(&self) -> Option<String> {
        let g = self.group.as_ref()?;
        let ip = match g.exposure {
            "public" => format!("public IP {}", g.ip_address),
            "private" => "private IP".to_string(),
            _ => "no IP address".to_string(),
        };
        Some(format!(
            "{} {} (owner {}): {} on {} of {} days; {ip}; SKU {}; images: {}",
            self.kind,
            self.name,
            self.owner,
            self.last_reason,
            self.days.len(),
            self.days.len(),
            if g.sku.is_empty() { "unknown" } else { &g.sku },
            if g.images.is_empty() {
                "none listed"
            } else {
                &g.images
            },
        ))
    }

    /// `pass`, `fail`, `unknown`, or empty for a kind without hardening checks (Arc).
    fn hardening_grade(&self) -> &'static str {
        self.hardening.as_ref().map_or("", |h| h.overall().as_str())
    }

    /// The failing settings, `; `-separated.
    fn hardening_failed(&self) -> String {
        self.hardening
            .as_ref()
            .map(|h| h.failed().join("; "))
            .unwrap_or_default()
    }

    /// The value of a hardening column as the snapshot wrote it (empty when not applicable).
    fn setting(&self, column: &str) -> Option<&str> {
        self.hardening.as_ref().and_then(|h| h.value(column))
    }

    fn hardening_exception(&self) -> Option<String> {
        let failed = self.hardening_failed();
        (!failed.is_empty()).then(|| {
            format!(
                "{} {} (owner {}): hardening fails on {}: {failed}",
                self.kind, self.name, self.owner, self.last
            )
        })
    }

    fn days_unprotected(&self) -> usize {
        self.days.len() - self.protected.len()
    }

    fn exception(&self) -> String {
        format!(
            "{} {} (owner {}): unprotected {} of {} days; on {}: {}",
            self.kind,
            self.name,
            self.owner,
            self.days_unprotected(),
            self.days.len(),
            self.last,
            if self.last_protected {
                "protected"
            } else {
                &self.last_reason
            }
        )
    }
}

/// The period's resources by kind and name, the resource-days read, and the second rows of a
/// resource on a day.
fn inventory(cx: &Ctx) -> (Vec<Inv>, i64, i64) {
    let mut inv: BTreeMap<(&str, &str), Inv> = BTreeMap::new();
    let (mut rows_in_period, mut duplicates) = (0i64, 0i64);
    for r in &cx.inp.history.coverage.resource_days {
        if !cx.inp.period.contains(r.date) {
            continue;
        }
        rows_in_period += 1;
        let e = inv
            .entry((r.kind.as_str(), r.id_lower.as_str()))
            .or_insert_with(|| Inv::new(r));
        if !e.days.insert(r.date) {
            duplicates += 1;
        }
        if r.protected {
            e.protected.insert(r.date);
        }
        if r.date >= e.last {
            *e = Inv {
                days: std::mem::take(&mut e.days),
                protected: std::mem::take(&mut e.protected),
                ..Inv::new(r)
            };
        }
    }
    let ledger = &cx.inp.history.coverage.ledger;
    let mut rows: Vec<Inv> = inv
        .into_iter()
        .map(|((_, id_lower), mut r)| {
            r.hardening = ledger.hardening(id_lower).cloned();
            r
        })
        .collect();
    rows.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
    // Container groups last: not covered, outside the covered kinds' order.
    let groups = &cx.inp.history.coverage.container_groups;
    rows.extend(groups.groups.iter().map(Inv::of_group));
    (
        rows,
        rows_in_period + groups.rows,
        duplicates + groups.second_rows,
    )
}

fn inventory_table(rows: &[Inv]) -> Result<DataFrame> {
    frame::frame(
        vec![
            frame::column("kind", rows, |r| r.kind),
            frame::column("id", rows, |r| r.id.as_str()),
            frame::column("name", rows, |r| r.name.as_str()),
            frame::column("subscriptionId", rows, |r| r.sub.as_str()),
            frame::column("resourceGroup", rows, |r| r.rg.as_str()),
            frame::column("owner", rows, |r| r.owner.as_str()),
            frame::date_column_of("first_seen", rows, |r| r.days.first().copied()),
            frame::date_column_of("last_seen", rows, |r| Some(r.last)),
            frame::column("days_present", rows, |r| r.days.len() as i64),
            frame::column("days_protected", rows, |r| r.protected.len() as i64),
            frame::column("days_unprotected", rows, |r| r.days_unprotected() as i64),
            frame::column("protected_on_last_day", rows, |r| r.last_protected),
            frame::column("reason_on_last_day", rows, |r| r.last_reason.as_str()),
            frame::column("vcores_on_last_day", rows, |r| r.last_vcores),
            frame::column("hardening", rows, |r| r.hardening_grade()),
            frame::column("hardening_failed", rows, |r| r.hardening_failed()),
        ]
        .into_iter()
        .chain(
            hardening::COLUMNS
                .iter()
                .map(|c| frame::column(c, rows, |r| r.setting(c))),
        )
        .chain(group_columns(rows))
        .collect(),
    )
}

/// The columns of a container group (empty for the covered kinds).
fn group_columns(rows: &[Inv]) -> Vec<Column> {
    let fact = |r: &Inv, f: fn(&GroupFacts) -> String| r.group.as_ref().map(f);
    vec![
        frame::column(COVERED, rows, Inv::covered),
        frame::column("images", rows, |r| fact(r, |g| g.images.clone())),
        frame::column("ip_exposure", rows, |r| fact(r, |g| g.exposure.into())),
        frame::column("ip_address", rows, |r| fact(r, |g| g.ip_address.clone())),
        frame::column("container_group_sku", rows, |r| fact(r, |g| g.sku.clone())),
        frame::column("confidential_sku", rows, |r| {
            r.group.as_ref().map(|g| g.confidential)
        }),
    ]
}

/// The inventory column that tells covered kinds from container groups.
const COVERED: &str = "covered_by_defender_for_containers";

fn inventory_figures(rows: &[Inv]) -> Vec<(String, String)> {
    let kinds = |k: ResourceKind| rows.iter().filter(|r| r.kind == k.as_str()).count();
    let covered: Vec<&Inv> = rows.iter().filter(|r| r.covered()).collect();
    let groups: Vec<&GroupFacts> = rows.iter().filter_map(|r| r.group.as_ref()).collect();
    vec![
        (
            "resources (AKS / Arc / registries)".into(),
            format!(
                "{} / {} / {}",
                kinds(ResourceKind::Aks),
                kinds(ResourceKind::Arc),
                kinds(ResourceKind::Registry)
            ),
        ),
        (
            "protected on their last day".into(),
            format!(
                "{} of {}",
                covered.iter().filter(|r| r.last_protected).count(),
                covered.len()
            ),
        ),
        (
            "container groups not covered by Defender for Containers (ACI)".into(),
            format!(
                "{} ({} with a public IP, {} on the confidential SKU)",
                groups.len(),
                groups.iter().filter(|g| g.exposure == "public").count(),
                groups.iter().filter(|g| g.confidential).count()
            ),
        ),
        (
            "hardening passes every check on the last day (AKS / registries)".into(),
            hardening::posture(rows.iter().filter_map(|r| r.hardening.as_ref()))
                .iter()
                .map(|p| format!("{} of {}", p.pass_all, p.resources))
                .collect::<Vec<_>>()
                .join(" / "),
        ),
        (
            "resources without an owner".into(),
            rows.iter()
                .filter(|r| r.owner == crate::kpi::owners::UNALLOCATED)
                .count()
                .to_string(),
        ),
    ]
}

fn protection_inventory(cx: &Ctx) -> Result<EvidenceTable> {
    let item = &evidence::PROTECTION_INVENTORY;
    let (rows, rows_in_period, duplicates) = inventory(cx);
    let table = inventory_table(&rows)?;
    // Raw rows of the three datasets in the period that never became a resource-day.
    let raw: i64 = INVENTORY_DATASETS
        .iter()
        .map(|ds| {
            cx.inp
                .history
                .period_rows
                .resource_rows
                .get(*ds)
                .copied()
                .unwrap_or(0)
        })
        .sum();
    let unusable = raw - rows_in_period;
    let present: i64 = rows.iter().map(|r| r.days.len() as i64).sum();
    let unprotected = rows
        .iter()
        .filter(|r| r.covered() && r.days_unprotected() > 0)
        .map(Inv::exception);
    let exceptions = unprotected
        .chain(rows.iter().filter_map(Inv::hardening_exception))
        .chain(rows.iter().filter_map(Inv::group_exception))
        .collect();
    let figures = inventory_figures(&rows);
    let population = cx.population(
        item,
        table.height(),
        "resource-days (Σ days_present)",
        present,
        &INVENTORY_DATASETS,
        &INVENTORY_QUERIES,
        cx.period_days.clone(),
        vec![
            (
                "second row for the same resource on the same day".into(),
                duplicates,
            ),
            ("row without id or subscriptionId".into(), unusable.max(0)),
        ],
        "Every AKS cluster, registry and Arc-enabled cluster row of every snapshot day of the \
         period, one CSV row per resource; then every Azure Container Instances container group \
         (kind aci), which Defender for Containers does not cover: present on its days, \
         protected on none, outside every coverage rate.",
    );
    Ok(EvidenceTable::new(
        item, table, population, figures, exceptions,
    ))
}

// ---------------------------------------------------------------------------------------------
// Policy compliance

/// A row of policy-compliance.csv: the tally's key with the subscription replaced by its
/// management group that day. Ordered field by field, in this order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PolicyGroup {
    date: NaiveDate,
    management_group: String,
    assignment: String,
    scope: String,
    definition: String,
    action: String,
}

/// The period's policy states per management group (the subscription's immediate parent that
/// day), from the tally kept per subscription as history was read.
fn policy_groups(cx: &Ctx) -> Result<BTreeMap<PolicyGroup, PolicyCounts>> {
    let idx = cx.subscription_day_index()?;
    let mut groups: BTreeMap<PolicyGroup, PolicyCounts> = BTreeMap::new();
    for (k, n) in &cx.inp.history.period_rows.policy.groups {
        let management_group = idx
            .get(&(k.date, k.subscription.clone()))
            .map(|x| x.management_group.clone().unwrap_or_default())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "(unknown)".into());
        let key = PolicyGroup {
            date: k.date,
            management_group,
            assignment: k.assignment.clone(),
            scope: k.scope.clone(),
            definition: k.definition.clone(),
            action: k.action.clone(),
        };
        groups.entry(key).or_default().add(n);
    }
    Ok(groups)
}

fn policy_table(groups: &BTreeMap<PolicyGroup, PolicyCounts>) -> Result<DataFrame> {
    let rows: Vec<(&PolicyGroup, &PolicyCounts)> = groups.iter().collect();
    frame::frame(vec![
        frame::date_column_of("snapshot_date", &rows, |x| Some(x.0.date)),
        frame::column("managementGroup", &rows, |x| x.0.management_group.as_str()),
        frame::column("policyAssignmentId", &rows, |x| x.0.assignment.as_str()),
        frame::column("policyAssignmentScope", &rows, |x| x.0.scope.as_str()),
        frame::column("policyDefinitionId", &rows, |x| x.0.definition.as_str()),
        frame::column("policyDefinitionAction", &rows, |x| x.0.action.as_str()),
        frame::column("compliant", &rows, |x| x.1.compliant),
        frame::column("non_compliant", &rows, |x| x.1.non_compliant),
        frame::column("exempt", &rows, |x| x.1.exempt),
        frame::column("other", &rows, |x| x.1.other),
        frame::column("states", &rows, |x| x.1.states()),
        frame::column("rate", &rows, |x| x.1.rate()),
    ])
}

/// Non-compliant states on the last snapshot day, and the figures at period end.
fn policy_month_end(
    groups: &BTreeMap<PolicyGroup, PolicyCounts>,
    last_day: Option<NaiveDate>,
) -> (Vec<String>, Vec<(String, String)>) {
    let month_end: Vec<(&PolicyGroup, &PolicyCounts)> = groups
        .iter()
        .filter(|(k, _)| Some(k.date) == last_day)
        .collect();
    let exceptions = month_end
        .iter()
        .filter(|(_, c)| c.non_compliant > 0)
        .map(|(k, c)| {
            format!(
                "{}: assignment {} (definition {}) in {}: {} non-compliant, {} compliant, {} exempt",
                k.date,
                k.assignment,
                k.definition,
                k.management_group,
                c.non_compliant,
                c.compliant,
                c.exempt
            )
        })
        .collect();
    let mut total = PolicyCounts::default();
    for (_, c) in &month_end {
        total.add(c);
    }
    let (mc, mn, me) = (total.compliant, total.non_compliant, total.exempt);
    let figures = vec![
        (
            format!(
                "policy compliance on {}",
                last_day.map(|d| d.to_string()).unwrap_or("-".into())
            ),
            pct(mc, mc + mn),
        ),
        ("non-compliant states at period end".into(), mn.to_string()),
        ("exempt states at period end".into(), me.to_string()),
    ];
    (exceptions, figures)
}

fn policy_compliance(cx: &Ctx) -> Result<EvidenceTable> {
    let item = &evidence::POLICY_COMPLIANCE;
    let groups = policy_groups(cx)?;
    let table = policy_table(&groups)?;
    let counted: i64 = groups.values().map(PolicyCounts::states).sum();
    let (exceptions, figures) = policy_month_end(&groups, cx.period_days.last().copied());
    let population = cx.population(
        item,
        table.height(),
        "policy states (Σ states)",
        counted,
        &["policy_states"],
        &["policy_states", "subscriptions"],
        cx.period_days.clone(),
        vec![(
            "policy state without policyAssignmentId".into(),
            cx.inp.history.period_rows.policy.without_assignment,
        )],
        "Every policy state of the Defender for Containers policies on every snapshot day of \
         the period, counted by assignment, definition and management group (the immediate \
         parent of the subscription that day).",
    );
    Ok(EvidenceTable::new(
        item, table, population, figures, exceptions,
    ))
}

// ---------------------------------------------------------------------------------------------
// Alerts

/// Why an alert's latency is left out of the statistics ("" when it is not).
fn latency_exclusion_reason(latency: Option<f64>) -> &'static str {
    match latency {
        None => "missing startTimeUtc or timeGeneratedUtc",
        Some(x) if x < 0.0 => {
            "negative latency: timeGeneratedUtc before startTimeUtc (data-quality finding)"
        }
        Some(_) => "",
    }
}

/// The alert population's exclusions, counted independently over every snapshot read (an
/// alert comes from the latest snapshot that lists it, which may predate the period).
fn alert_exclusions(cx: &Ctx) -> Result<Vec<(String, i64)>> {
    let state = &cx.inp.history.alerts;
    let latest = state.latest()?;
    let types = strs(&latest, "alertType")?;
    let generated = timestamps_ns(&latest, "timeGeneratedUtc")?;
    let (rows_read, no_id) = (state.rows_read, state.rows_without_id);
    let earlier = rows_read - no_id - latest.height() as i64;
    let (start, end) = (
        frame::day_start_ns(cx.inp.period.start()),
        frame::day_start_ns(cx.inp.period.end_exclusive()),
    );
    let prefixes = &cx.inp.params.alert_type_prefixes;
    let (mut outside, mut not_container) = (0i64, 0i64);
    for (t, g) in types.iter().zip(&generated) {
        let in_period = g.is_some_and(|g| g >= start && g < end);
        if !in_period {
            outside += 1;
        } else if !t
            .as_deref()
            .is_some_and(|t| prefixes.iter().any(|p| t.starts_with(p.as_str())))
        {
            not_container += 1;
        }
    }
    Ok(vec![
        (
            "earlier snapshot row of an alert listed again later (latest snapshot wins)".into(),
            earlier,
        ),
        ("row without systemAlertId".into(), no_id),
        ("timeGeneratedUtc outside the period".into(), outside),
        (
            format!("alertType not starting with {}", prefixes.join(" or ")),
            not_container,
        ),
    ])
}

/// Alerts excluded from the latency statistics, then every High-severity alert.
fn alert_exceptions(alerts: &[PopulationAlert], reasons: &[&str]) -> Vec<String> {
    let mut exceptions = Vec::new();
    for (a, reason) in alerts.iter().zip(reasons) {
        if !reason.is_empty() {
            exceptions.push(format!(
                "alert {}: {}; excluded from latency statistics",
                a.system_alert_id.clone().unwrap_or_default(),
                reason
            ));
        }
    }
    for a in alerts {
        if Severity::High.is(a.severity.as_deref()) {
            exceptions.push(format!(
                "High-severity alert {} on {} (owner {}), status {}",
                a.system_alert_id.clone().unwrap_or_default(),
                a.cluster
                    .clone()
                    .filter(|c| !c.is_empty())
                    .unwrap_or("(unknown cluster)".into()),
                a.owner.clone().unwrap_or_default(),
                a.status.clone().unwrap_or_default()
            ));
        }
    }
    exceptions
}

fn alert_figures(alerts: &[PopulationAlert], latency: &[Option<f64>]) -> Vec<(String, String)> {
    let valid: Vec<f64> = latency
        .iter()
        .flatten()
        .copied()
        .filter(|l| *l >= 0.0)
        .collect();
    let mut figures = vec![
        ("alerts in the population".into(), alerts.len().to_string()),
        (
            "High severity".into(),
            alerts
                .iter()
                .filter(|a| Severity::High.is(a.severity.as_deref()))
                .count()
                .to_string(),
        ),
    ];
    if let Some(m) = crate::kpi::stats::median(&valid) {
        figures.push(("median detection latency".into(), format!("{m:.1} min")));
    }
    if let Some(p) = crate::kpi::stats::p90_nearest_rank(&valid) {
        figures.push(("p90 detection latency".into(), format!("{p:.1} min")));
    }
    figures
}

fn alerts(cx: &Ctx) -> Result<EvidenceTable> {
    let item = &evidence::ALERTS;
    let pop = cx.inp.alerts;
    let latency = floats(pop, "latency_minutes")?;
    let reasons: Vec<&str> = latency
        .iter()
        .map(|l| latency_exclusion_reason(*l))
        .collect();
    let table = pop
        .clone()
        .lazy()
        .with_columns([lit(Series::new(
            "latency_exclusion_reason".into(),
            reasons.clone(),
        ))])
        .select(item.columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .collect()
        .ctx("alert evidence")?;
    let rows = population_alerts(&table)?;
    let exceptions = alert_exceptions(&rows, &reasons);
    let figures = alert_figures(&rows, &latency);
    let population = cx.population(
        item,
        table.height(),
        "alerts",
        table.height() as i64,
        &["security_alerts"],
        &["security_alerts", "aks_clusters", "arc_clusters"],
        cx.all_days(),
        alert_exclusions(cx)?,
        "Every snapshot before the period end is read, because each alert is taken from the \
         latest snapshot that lists it.",
    );
    Ok(EvidenceTable::new(
        item, table, population, figures, exceptions,
    ))
}

// ---------------------------------------------------------------------------------------------
// Vulnerability findings

/// A finding that breaks its SLA: due in the period and not resolved in time, or open past
/// due.
fn finding_exception(f: &FindingRow<'_>) -> Option<String> {
    let short: String = f.image_digest.chars().take(19).collect();
    let due = f.due.map(|d| d.to_string()).unwrap_or_default();
    let who = format!("{} {} on {short} (owner {})", f.severity, f.cve_id, f.owner);
    if f.due_in_period && f.sla_met == Some(false) {
        let outcome = match f.resolved {
            Some(r) => format!("resolved late on {r}"),
            None => "not resolved".into(),
        };
        Some(format!("{who}: due {due}, {outcome}"))
    } else if f.open_past_due {
        Some(format!("{who}: open past due since {due}"))
    } else {
        None
    }
}

fn finding_figures(rows: &[FindingRow<'_>]) -> Vec<(String, String)> {
    let due_n = rows.iter().filter(|f| f.due_in_period).count() as i64;
    let met_n = rows
        .iter()
        .filter(|f| f.due_in_period && f.sla_met == Some(true))
        .count() as i64;
    vec![
        ("findings in the pack".into(), rows.len().to_string()),
        (
            "due in the period, resolved within SLA".into(),
            format!("{met_n} of {due_n} ({})", pct(met_n, due_n)),
        ),
        (
            "open past due at period end".into(),
            rows.iter().filter(|f| f.open_past_due).count().to_string(),
        ),
    ]
}

/// The findings of the pack (open at the period's start, or due in it), each with its
/// appearances and SLA days, and the appearances of the findings closed before the period.
fn findings_of_period(cx: &Ctx, item: &ItemDef) -> Result<(DataFrame, Vec<i64>, i64)> {
    use crate::kpi::vulnerabilities::columns::{DUE_IN_PERIOD, RESOLVED, SEVERITY};
    let f = &cx.inp.findings.findings;
    // Only the three columns the selection needs: decoding every finding's text here would
    // cost hundreds of MB on a large tenant.
    let resolved = crate::frame::dates(f, RESOLVED)?;
    let due_in_period = crate::frame::bools(f, DUE_IN_PERIOD)?;
    let severity = crate::frame::str_refs(f, SEVERITY)?;
    let start = cx.inp.period.start();
    let mut keep = Vec::with_capacity(f.height());
    let mut apps = Vec::new();
    let mut sla = Vec::new();
    let mut closed_before = 0i64;
    // `appearances` is in the table's row order.
    for (i, &n) in cx.inp.findings.appearances.iter().enumerate() {
        let k = resolved[i].is_none_or(|r| r >= start) || due_in_period[i] == Some(true);
        keep.push(k);
        if k {
            let sev = severity[i].unwrap_or_default();
            apps.push(n);
            sla.push(cx.inp.params.sla_days.get(sev).copied());
        } else {
            closed_before += n;
        }
    }
    let table = f
        .filter(&BooleanChunked::from_slice("keep".into(), &keep))
        .ctx("findings of the period")?
        .lazy()
        .with_columns([
            lit(Series::new("appearances".into(), apps.clone())),
            lit(Series::new("sla_days".into(), sla)),
        ])
        .select(item.columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .collect()
        .ctx("vulnerability evidence")?;
    Ok((table, apps, closed_before))
}

fn vulnerability_findings(cx: &Ctx) -> Result<EvidenceTable> {
    let item = &evidence::VULNERABILITY_FINDINGS;
    let state = &cx.inp.history.findings;
    let (not_unhealthy, no_key) = (state.rows_not_unhealthy, state.rows_without_key);
    let (table, apps, closed_before) = findings_of_period(cx, item)?;
    let rows = finding_rows(&table)?;
    let scans = &cx.inp.history.vulnerability_data;
    let exceptions = rows
        .iter()
        .filter_map(finding_exception)
        .chain(scans.exceptions.iter().map(scan_exception))
        .collect();
    let mut figures = finding_figures(&rows);
    figures.extend(scan_figures(&scans.kpis));
    let population = cx.population(
        item,
        table.height(),
        "Unhealthy vulnerability rows (Σ appearances)",
        apps.iter().sum(),
        &["vulnerabilities"],
        &[
            "vulnerabilities",
            "aks_clusters",
            "container_registries",
            "arc_clusters",
            "scan_status",
        ],
        cx.all_days(),
        vec![
            (
                "statusCode not Unhealthy (Healthy or NotApplicable rows are not appearances)"
                    .into(),
                not_unhealthy,
            ),
            ("Unhealthy row without imageDigest or cveId".into(), no_key),
            (
                "rows of findings resolved before the period and not due in it".into(),
                closed_before,
            ),
        ],
        "Every snapshot before the period end is read: first seen and resolution need the \
         history. A finding is resolved on the first later snapshot day on which its resource \
         is protected and the finding is gone.",
    );
    Ok(EvidenceTable::new(
        item, table, population, figures, exceptions,
    ))
}

/// The month-end vulnerability data of the protected registries and clusters (docs/kpis.md,
/// "Vulnerability data"), and the period's resource-days without data.
fn scan_figures(k: &VulnerabilityDataKpis) -> Vec<(String, String)> {
    let mut figures = Vec::new();
    if let Some(d) = k.month_end_date {
        figures.push((
            format!("protected registries and clusters on {d}, by vulnerability data"),
            format!(
                "{}: {} with findings, {} scanned with no findings, {} not applicable, {} no data",
                k.protected_resources,
                k.with_findings,
                k.scanned_no_findings,
                k.not_applicable,
                k.no_data
            ),
        ));
    }
    figures.push((
        "protected resource-days of the period without vulnerability data".into(),
        format!(
            "{} of {}{}",
            k.no_data_resource_days,
            k.protected_resource_days,
            match k.days_not_collected {
                0 => String::new(),
                n => format!(
                    " ({n} snapshot days from before scan results were collected not graded)"
                ),
            }
        ),
    ));
    figures
}

/// A protected resource without vulnerability data, or not assessed, on some days.
fn scan_exception(e: &ScanException) -> String {
    let mut parts = Vec::new();
    if e.no_data_days > 0 {
        parts.push(format!(
            "no vulnerability data on {} days (neither findings nor a Healthy scan result: unknown, not zero findings)",
            e.no_data_days
        ));
    }
    if e.not_applicable_days > 0 {
        parts.push(format!(
            "scan result NotApplicable ({}) on {} days",
            if e.cause.is_empty() {
                "no cause given"
            } else {
                &e.cause
            },
            e.not_applicable_days
        ));
    }
    format!(
        "{} {} (owner {}): {}",
        e.kind.as_str(),
        e.name,
        e.owner,
        parts.join("; ")
    )
}

// ---------------------------------------------------------------------------------------------
// Ownership tags

/// A row of ownership-tags.csv: a container resource on the last snapshot day and where its
/// owner came from.
struct OwnershipRow {
    kind: ResourceKind,
    id: String,
    name: String,
    /// Lower-case subscription GUID.
    subscription: String,
    resource_group: String,
    owner: String,
    /// `resource`, `subscription` or `none`.
    source: String,
    /// The tag key that named the owner.
    key: String,
}

/// Every container resource on the last snapshot day, by kind, name and id.
fn ownership_rows(cx: &Ctx, last: Option<NaiveDate>) -> Result<Vec<OwnershipRow>> {
    let mut rows = Vec::new();
    for kind in ResourceKind::ALL {
        let Some(df) = cx.inp.history.period_rows.on_last_day(kind.dataset()) else {
            continue;
        };
        let d = dates(df, SNAPSHOT_DATE)?;
        let id = strs(df, "id")?;
        let name = strs(df, "name")?;
        let sub = strs(df, "subscriptionId")?;
        let rg = strs(df, "resourceGroup")?;
        let tags = strs(df, "tags")?;
        for i in 0..df.height() {
            if d[i].is_none() || d[i] != last {
                continue;
            }
            let subscription = sub[i].clone().unwrap_or_default().to_lowercase();
            let subscription_tags = cx
                .inp
                .history
                .subscription_tags
                .get(&subscription)
                .and_then(|t| t.as_deref());
            let (owner, source, key) = crate::kpi::owners::resolve_owner_with_source(
                tags[i].as_deref(),
                subscription_tags,
                &cx.inp.params.owner_tags,
            );
            rows.push(OwnershipRow {
                kind,
                id: id[i].clone().unwrap_or_default(),
                name: name[i].clone().unwrap_or_default(),
                subscription,
                resource_group: rg[i].clone().unwrap_or_default(),
                owner,
                source: source.to_string(),
                key,
            });
        }
    }
    rows.sort_by(|a, b| (a.kind.as_str(), &a.name, &a.id).cmp(&(b.kind.as_str(), &b.name, &b.id)));
    Ok(rows)
}

fn ownership_table(rows: &[OwnershipRow], last: Option<NaiveDate>) -> Result<DataFrame> {
    frame::frame(vec![
        frame::date_column("snapshot_date", &vec![last; rows.len()]),
        frame::column("kind", rows, |r| r.kind.as_str()),
        frame::column("id", rows, |r| r.id.as_str()),
        frame::column("name", rows, |r| r.name.as_str()),
        frame::column("subscriptionId", rows, |r| r.subscription.as_str()),
        frame::column("resourceGroup", rows, |r| r.resource_group.as_str()),
        frame::column("owner", rows, |r| r.owner.as_str()),
        frame::column("owner_source", rows, |r| r.source.as_str()),
        frame::column("owner_tag_key", rows, |r| r.key.as_str()),
    ])
}

fn ownership_tags(cx: &Ctx) -> Result<EvidenceTable> {
    let item = &evidence::OWNERSHIP_TAGS;
    let last = cx.period_days.last().copied();
    let rows = ownership_rows(cx, last)?;
    let table = ownership_table(&rows, last)?;
    let count = |src: &str| rows.iter().filter(|r| r.source == src).count() as i64;
    let n = rows.len() as i64;
    let figures = vec![
        (
            "owner tag on the resource itself".into(),
            format!(
                "{} of {n} ({})",
                count("resource"),
                pct(count("resource"), n)
            ),
        ),
        (
            "owner inherited from the subscription".into(),
            count("subscription").to_string(),
        ),
        ("no owner (unallocated)".into(), count("none").to_string()),
    ];
    let exceptions = rows
        .iter()
        .filter(|r| r.source == "none")
        .map(|r| {
            format!(
                "{} {} in {}: no owner tag on the resource or its subscription",
                r.kind.as_str(),
                r.name,
                r.subscription
            )
        })
        .collect();
    let population = cx.population(
        item,
        table.height(),
        "resources on the last snapshot day",
        n,
        &RESOURCE_DATASETS,
        &[
            "aks_clusters",
            "container_registries",
            "arc_clusters",
            "subscriptions",
        ],
        last.into_iter().collect(),
        vec![],
        format!(
            "Every container resource on the last snapshot day of the period; owner keys tried \
             in order: {} (resource first, then subscription).",
            cx.inp.params.owner_tags.join(", ")
        ),
    );
    Ok(EvidenceTable::new(
        item, table, population, figures, exceptions,
    ))
}
