//! What a report needs from history, gathered in one pass over the snapshot days in date
//! order, one day in memory at a time.
//!
//! Coverage and alerts of a month need only that month's days, but remediation needs every
//! finding's first and last day seen, alert deduplication every alert's latest snapshot, and
//! gaps whether they began before the month. So each KPI family keeps a compact state that
//! grows with distinct things (subscriptions, resources, alerts, findings), never with days:
//! `CoverageState`, `AlertState`, `FindingState`. The per-day tables the run publishes
//! (subscription-days, resource-days, the snapshot copies) are handed to the caller as each
//! day is read, to be streamed to files.

use crate::error::Result;
use crate::frame::strs;
use crate::history::{SnapshotDay, SnapshotDays, SnapshotMarker};
use crate::kpi::Parameters;
use crate::kpi::container_instances;
use crate::kpi::coverage::{CoverageResult, CoverageState, DayCoverage};
use crate::kpi::detection::AlertState;
use crate::kpi::policy::PolicyTally;
use crate::kpi::resource_days::ResourceKind;
use crate::kpi::scan_status::{self, ScanState, VulnerabilityData};
use crate::kpi::vulnerabilities::FindingState;
use crate::model::DATASETS;
use crate::period::Period;
use chrono::NaiveDate;
use polars::prelude::DataFrame;
use std::collections::{BTreeMap, BTreeSet};

/// Everything the KPIs, the evidence and the executive report take from history.
pub struct HistoryState {
    /// Snapshot days read, ascending (history before the period included).
    pub days: Vec<NaiveDate>,
    /// The commit marker of every snapshot day read.
    pub markers: Vec<SnapshotMarker>,
    /// SHA-256 of every snapshot file read, by `<dataset>/<date>`: the content fingerprint of
    /// the report's Resource Graph inputs (independent of which run wrote them).
    pub content_sha256: BTreeMap<String, String>,
    /// Lower-case subscription id → tags, from the latest snapshot that lists it.
    pub subscription_tags: BTreeMap<String, Option<String>>,
    /// Tenant ids of the subscriptions.
    pub tenants: BTreeSet<String>,
    /// Coverage of the period and the ledger of every resource.
    pub coverage: CoverageResult,
    /// The latest row of every alert.
    pub alerts: AlertState,
    /// Every vulnerability finding seen.
    pub findings: FindingState,
    /// What outputs read of the period's raw rows.
    pub period_rows: PeriodRows,
    /// Whether each protected registry and cluster had vulnerability data on the period's days.
    pub vulnerability_data: VulnerabilityData,
}

/// What outputs read of the period's raw rows: the policy states tallied, and per resource
/// dataset the rows of the period and those of its last day.
#[derive(Debug, Clone, Default)]
pub struct PeriodRows {
    last_period_day: Option<NaiveDate>,
    /// The period's policy states, tallied.
    pub policy: PolicyTally,
    /// Rows of each resource dataset over the period's snapshot days.
    pub resource_rows: BTreeMap<String, i64>,
    /// Rows of each resource dataset on the last snapshot day of the period.
    pub last_day: BTreeMap<String, DataFrame>,
}

impl PeriodRows {
    fn add_day(&mut self, day: &SnapshotDay, period: Period) -> Result<()> {
        if !period.contains(day.date) {
            return Ok(());
        }
        self.policy.add_day(day.date, day.frame("policy_states"))?;
        for kind in ResourceKind::ALL {
            let df = day.frame(kind.dataset());
            *self.resource_rows.entry(kind.dataset().into()).or_default() += df.height() as i64;
            if Some(day.date) == self.last_period_day {
                self.last_day.insert(kind.dataset().into(), df.clone());
            }
        }
        let groups = day.frame(container_instances::DATASET).height() as i64;
        *self
            .resource_rows
            .entry(container_instances::DATASET.into())
            .or_default() += groups;
        Ok(())
    }

    /// Rows of a resource dataset on the period's last snapshot day.
    pub fn on_last_day(&self, dataset: &str) -> Option<&DataFrame> {
        self.last_day.get(dataset)
    }
}

/// Lower-case subscription id → its tags cell (JSON object text, or none).
pub type SubscriptionTags = BTreeMap<String, Option<String>>;

/// Called with each day's rows and derived coverage tables, in date order.
pub type OnDay<'a> = dyn FnMut(&SnapshotDay, &DayCoverage) -> Result<()> + 'a;

impl HistoryState {
    /// Read every snapshot day of `source` once, in order.
    pub fn gather(
        source: &dyn SnapshotDays,
        params: &Parameters,
        period: Period,
        on_day: &mut OnDay,
    ) -> Result<HistoryState> {
        let (tags, tenants) = subscription_facts(source)?;
        let mut state = HistoryState::gather_with_tags(source, params, period, tags, on_day)?;
        state.tenants = tenants;
        Ok(state)
    }

    /// `gather` with the subscription tags given (owners fall back to them).
    pub fn gather_with_tags(
        source: &dyn SnapshotDays,
        params: &Parameters,
        period: Period,
        subscription_tags: BTreeMap<String, Option<String>>,
        on_day: &mut OnDay,
    ) -> Result<HistoryState> {
        let days = source.days().to_vec();
        let mut coverage = CoverageState::new(&days, period);
        let mut alerts = AlertState::default();
        let mut findings = FindingState::default();
        let mut period_rows = PeriodRows {
            last_period_day: days.iter().rev().find(|d| period.contains(**d)).copied(),
            ..Default::default()
        };
        let mut scans = ScanState::new(period, period_rows.last_period_day);
        let mut content_sha256 = BTreeMap::new();
        let datasets: Vec<&str> = DATASETS.iter().map(|c| c.dataset).collect();
        for i in 0..days.len() {
            let day = source.day(i, &datasets)?;
            let day_coverage = coverage.add_day(&day, params, &subscription_tags)?;
            alerts.add_day(day.frame("security_alerts"))?;
            findings.add_day(day.date, day.frame("vulnerabilities"))?;
            period_rows.add_day(&day, period)?;
            let collected = day.holds(scan_status::DATASET);
            scans.add_day(&day, &day_coverage.resource_days, collected)?;
            content_sha256.extend(day.content_sha256.iter().cloned());
            on_day(&day, &day_coverage)?;
        }
        Ok(HistoryState {
            days,
            markers: source.markers().to_vec(),
            content_sha256,
            subscription_tags,
            tenants: BTreeSet::new(),
            coverage: coverage.finish()?,
            alerts,
            findings,
            period_rows,
            vulnerability_data: scans.finish(),
        })
    }

    /// `gather` without a per-day consumer (tests, fixtures).
    pub fn of(
        source: &dyn SnapshotDays,
        params: &Parameters,
        period: Period,
    ) -> Result<HistoryState> {
        HistoryState::gather(source, params, period, &mut |_, _| Ok(()))
    }

    /// `of` with the subscription tags given.
    pub fn with_tags(
        source: &dyn SnapshotDays,
        params: &Parameters,
        period: Period,
        tags: SubscriptionTags,
    ) -> Result<HistoryState> {
        HistoryState::gather_with_tags(source, params, period, tags, &mut |_, _| Ok(()))
    }
}

/// Subscription tags from the latest snapshot that lists each subscription (lower-case id; on
/// the same day the later row wins), and every tenant id, from the `subscriptions` rows of
/// every day. Tags are needed before any resource-day is built (owners fall back to them).
pub fn subscription_facts(
    source: &dyn SnapshotDays,
) -> Result<(SubscriptionTags, BTreeSet<String>)> {
    let mut tags = BTreeMap::new();
    let mut tenants = BTreeSet::new();
    for i in 0..source.days().len() {
        let day = source.day(i, &["subscriptions"])?;
        let df = day.frame("subscriptions");
        let (ids, t, tenant) = (
            strs(df, "subscriptionId")?,
            strs(df, "tags")?,
            strs(df, "tenantId")?,
        );
        for (j, id) in ids.into_iter().enumerate() {
            if let Some(id) = id {
                tags.insert(id.to_lowercase(), t[j].clone());
            }
        }
        tenants.extend(tenant.into_iter().flatten());
    }
    Ok((tags, tenants))
}
