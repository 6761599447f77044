//! Vulnerability Remediation Rate.
//!
//! A finding is (`imageDigest`, `cveId`) with `statusCode == Unhealthy`. `first_seen` is the
//! first snapshot day it appears; it is resolved on the first snapshot day after its last
//! appearance on which the resource(s) it was last seen on are protected (disappearing while
//! scanning is off is not remediation). `due = first_seen + SLA(severity)`; the rate for a
//! severity is findings due in the period resolved on or before `due` / findings due × 100.

use crate::error::{PolarsContext, Result};
use crate::frame;
use crate::hashing::FastMap;
use crate::kpi::owners::UNALLOCATED;
use crate::kpi::resource_days::ResourceLedger;
use crate::kpi::stats::median;
use crate::kpi::{Parameters, Remediation, SeverityRemediation};
use crate::period::Period;
use chrono::{Duration, NaiveDate};
use polars::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Vulnerability remediation of the period and the findings table.
#[derive(Debug, Clone)]
pub struct VulnerabilityResult {
    /// The remediation part of kpis.json.
    pub kpis: Remediation,
    /// One row per finding known before the period's end, by first seen, digest and CVE.
    pub findings: DataFrame,
    /// Unhealthy rows read of each finding, in the order of `findings` (for the evidence).
    pub appearances: Vec<i64>,
}

/// One finding (image digest, CVE) as history shows it. Its text is borrowed from the finding
/// state and the resource ledger: a year of a large tenant has 750,000 findings, and nine owned
/// strings each would double the memory the state already holds.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    /// Image digest.
    pub image_digest: &'a str,
    /// CVE id.
    pub cve_id: &'a str,
    /// Severity of its last row.
    pub severity: &'a str,
    /// CVSS score of its last row.
    pub cvss: Option<f64>,
    /// Subscription of its last row, lower-case.
    pub subscription: Cow<'a, str>,
    /// Registry or cluster of its last row.
    pub resource_id: &'a str,
    /// Where Defender saw it (registry or runtime).
    pub source: &'a str,
    /// Registry host of the image.
    pub registry_host: &'a str,
    /// Repository of the image.
    pub repository: &'a str,
    /// First snapshot day it appeared.
    pub first_seen: NaiveDate,
    /// Last snapshot day it appeared.
    pub last_seen: NaiveDate,
    /// First later snapshot day on which every resource it was last seen on is protected.
    pub resolved: Option<NaiveDate>,
    /// first_seen + SLA days of its severity; `None` without an SLA.
    pub due: Option<NaiveDate>,
    /// First seen on the first snapshot day ever stored (true age unknown).
    pub left_censored: bool,
    /// Owner of the resource it was last seen on.
    pub owner: &'a str,
    /// Unhealthy rows of this finding read (one per snapshot day and resource it was on).
    pub appearances: i64,
}

impl Finding<'_> {
    /// Resolved on or before its due day; open counts as not; `None` without an SLA.
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

/// Every finding history has shown, folded one snapshot day at a time: first and last day
/// seen, the resources of the last day, and the attributes of its last row. Grows with
/// findings, not with days. Text that repeats (digests, resources, registries) is stored once.
#[derive(Default)]
pub struct FindingState {
    /// Key: `imageDigest` NUL `cveId`.
    findings: FastMap<Box<str>, Acc>,
    texts: Texts,
    key: String,
    /// Rows whose `statusCode` is not Unhealthy (not appearances).
    pub rows_not_unhealthy: i64,
    /// Unhealthy rows without `imageDigest` or `cveId`.
    pub rows_without_key: i64,
}

/// A finding's place in table order and its accumulated state.
#[derive(Clone, Copy)]
struct FindingKey<'a> {
    first_seen: NaiveDate,
    digest: &'a str,
    cve: &'a str,
    acc: &'a Acc,
}

struct Acc {
    first_seen: NaiveDate,
    last_seen: NaiveDate,
    /// Lower-case resource ids of the last day.
    last_resources: Vec<u32>,
    /// The last row of the last day: severity, subscription, resource, source, host, repo.
    attrs: [u32; 6],
    cvss: Option<f64>,
    appearances: i64,
}

/// Interned strings.
#[derive(Default)]
struct Texts {
    all: Vec<Box<str>>,
    ids: FastMap<Box<str>, u32>,
}

impl Texts {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        self.all.push(s.into());
        let i = (self.all.len() - 1) as u32;
        self.ids.insert(s.into(), i);
        i
    }

    fn get(&self, i: u32) -> &str {
        &self.all[i as usize]
    }
}

const ATTR_COLUMNS: [&str; 6] = [
    "severity",
    "subscriptionId",
    "resourceId",
    "source",
    "registryHost",
    "repository",
];

impl FindingState {
    /// Every day of `source` folded in (fixtures; reports fold while reading all datasets).
    pub fn of(source: &dyn crate::history::SnapshotDays) -> Result<FindingState> {
        let mut state = FindingState::default();
        for i in 0..source.days().len() {
            let day = source.day(i, &["vulnerabilities"])?;
            state.add_day(day.date, day.frame("vulnerabilities"))?;
        }
        Ok(state)
    }

    /// Fold in one snapshot day's `vulnerabilities` rows (days ascending).
    pub fn add_day(&mut self, date: NaiveDate, df: &DataFrame) -> Result<()> {
        let text = |name: &str| -> Result<&StringChunked> {
            df.column(name)
                .ctx(format!("column {name}"))?
                .str()
                .ctx(format!("column {name} as text"))
        };
        let (status, digest, cve) = (text("statusCode")?, text("imageDigest")?, text("cveId")?);
        let attrs: Vec<&StringChunked> = ATTR_COLUMNS
            .iter()
            .map(|c| text(c))
            .collect::<Result<_>>()?;
        let cvss = frame::floats(df, "cvssScore")?;
        for (i, cvss) in cvss.into_iter().enumerate() {
            if status.get(i) != Some("Unhealthy") {
                self.rows_not_unhealthy += 1;
                continue;
            }
            let (Some(dg), Some(c)) = (digest.get(i), cve.get(i)) else {
                self.rows_without_key += 1;
                continue;
            };
            let row: [&str; 6] = std::array::from_fn(|k| attrs[k].get(i).unwrap_or(""));
            self.add_appearance(date, dg, c, &row, cvss);
        }
        Ok(())
    }

    fn add_appearance(
        &mut self,
        date: NaiveDate,
        dg: &str,
        c: &str,
        row: &[&str; 6],
        cvss: Option<f64>,
    ) {
        self.key.clear();
        self.key.push_str(dg);
        self.key.push('\0');
        self.key.push_str(c);
        let resource = self.texts.id(&row[2].to_lowercase());
        if !self.findings.contains_key(self.key.as_str()) {
            let fresh = Acc {
                first_seen: date,
                last_seen: date,
                last_resources: Vec::new(),
                attrs: [u32::MAX; 6],
                cvss: None,
                appearances: 0,
            };
            self.findings.insert(self.key.as_str().into(), fresh);
        }
        let acc = self
            .findings
            .get_mut(self.key.as_str())
            .expect("inserted above");
        acc.appearances += 1;
        if acc.last_seen != date {
            acc.last_seen = date;
            acc.last_resources.clear();
        }
        if !acc.last_resources.contains(&resource) {
            acc.last_resources.push(resource);
        }
        for (k, value) in row.iter().enumerate() {
            if acc.attrs[k] == u32::MAX || self.texts.get(acc.attrs[k]) != *value {
                acc.attrs[k] = self.texts.id(value);
            }
        }
        acc.cvss = cvss;
    }

    /// The findings in table order (first seen, digest, CVE), as keys: 48 bytes each, where a
    /// whole [`Finding`] is about 200.
    fn ordered(&self) -> Vec<FindingKey<'_>> {
        let mut keys: Vec<FindingKey<'_>> = self
            .findings
            .iter()
            .map(|(key, acc)| {
                let (digest, cve) = key.split_once('\0').expect("digest NUL cve");
                FindingKey {
                    first_seen: acc.first_seen,
                    digest,
                    cve,
                    acc,
                }
            })
            .collect();
        keys.sort_by(|a, b| (a.first_seen, a.digest, a.cve).cmp(&(b.first_seen, b.digest, b.cve)));
        keys
    }

    /// One finding of `key`, resolved against the ledger.
    fn finding<'a>(
        &'a self,
        key: FindingKey<'a>,
        ledger: &'a ResourceLedger,
        params: &Parameters,
    ) -> Finding<'a> {
        let a = key.acc;
        let attr = |k: usize| self.texts.get(a.attrs[k]);
        let (sev, res) = (attr(0), attr(2));
        Finding {
            image_digest: key.digest,
            cve_id: key.cve,
            severity: sev,
            cvss: a.cvss,
            subscription: lower(attr(1)),
            owner: ledger.owner(&res.to_lowercase()).unwrap_or(UNALLOCATED),
            resource_id: res,
            source: attr(3),
            registry_host: attr(4),
            repository: attr(5),
            first_seen: a.first_seen,
            last_seen: a.last_seen,
            resolved: self.resolution(a, ledger),
            due: params
                .sla_days
                .get(sev)
                .map(|days| a.first_seen + Duration::days(*days)),
            left_censored: Some(a.first_seen) == ledger.days().first().copied(),
            appearances: a.appearances,
        }
    }

    /// Forget every finding once the findings table is built, keeping the row counters the
    /// evidence reports: the table holds what the outputs read.
    pub fn free_findings(&mut self) {
        self.findings = Default::default();
        self.texts = Texts::default();
        self.key = String::new();
    }

    /// The first snapshot day after the last appearance on which every resource the finding
    /// was last seen on is protected.
    fn resolution(&self, a: &Acc, ledger: &ResourceLedger) -> Option<NaiveDate> {
        let days = ledger.days();
        let after = days.partition_point(|d| *d <= a.last_seen);
        (after..days.len())
            .find(|&i| {
                a.last_resources
                    .iter()
                    .all(|r| ledger.protected_on(self.texts.get(*r), i))
            })
            .map(|i| days[i])
    }
}

/// `s` in lower case, borrowed when it already is (subscription ids mostly are).
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The remediation KPIs of `period` over `findings`, in one pass (a year of a large tenant
/// has hundreds of thousands; they need not all exist at once).
pub fn summarise<'a>(
    findings: impl IntoIterator<Item = Finding<'a>>,
    params: &Parameters,
    period: Period,
) -> Remediation {
    let mut by_severity: BTreeMap<String, SeverityTally> = params
        .sla_days
        .keys()
        .map(|s| (s.clone(), SeverityTally::default()))
        .collect();
    let mut total = 0i64;
    for f in findings {
        total += 1;
        let tally = match by_severity.get_mut(f.severity) {
            Some(t) => t,
            None => by_severity.entry(f.severity.to_string()).or_default(),
        };
        tally.add(&f, period);
    }
    Remediation {
        vulnerability_data: Default::default(),
        findings_total: total,
        by_severity: by_severity
            .into_iter()
            .map(|(sev, t)| (sev, t.finish()))
            .collect(),
    }
}

/// What the remediation KPIs of one severity count, finding by finding.
#[derive(Default)]
struct SeverityTally {
    due: i64,
    on_time: i64,
    left_censored_due: i64,
    /// Days from first seen to resolution of the findings resolved in the period.
    resolved_in: Vec<f64>,
    open_past_due: i64,
}

impl SeverityTally {
    fn add(&mut self, f: &Finding<'_>, period: Period) {
        if f.due_in(period) {
            self.due += 1;
            self.on_time += i64::from(f.resolved_on_time() == Some(true));
            self.left_censored_due += i64::from(f.left_censored);
        }
        if let Some(r) = f.resolved.filter(|r| period.contains(*r)) {
            self.resolved_in.push((r - f.first_seen).num_days() as f64);
        }
        self.open_past_due += i64::from(f.open_past_due(period));
    }

    fn finish(self) -> SeverityRemediation {
        SeverityRemediation {
            due_in_period: self.due,
            resolved_on_time: self.on_time,
            rate: (self.due > 0).then(|| self.on_time as f64 / self.due as f64 * 100.0),
            left_censored_due: self.left_censored_due,
            resolved_in_period: self.resolved_in.len() as i64,
            median_days_to_resolve: median(&self.resolved_in),
            open_past_due_at_period_end: self.open_past_due,
        }
    }
}

/// Remediation of `period` from every finding history has shown. The findings are made one
/// row group at a time from their sorted keys, so only the table (and never a second copy of
/// every finding) holds them whole.
pub fn compute(
    state: &FindingState,
    ledger: &ResourceLedger,
    params: &Parameters,
    period: Period,
) -> Result<VulnerabilityResult> {
    let keys = state.ordered();
    let finding = |k| state.finding(k, ledger, params);
    let kpis = summarise(keys.iter().copied().map(finding), params, period);
    let mut table = findings_table(&[], period)?;
    let mut appearances = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(crate::parquet::ROW_GROUP_ROWS) {
        let rows: Vec<Finding<'_>> = chunk.iter().copied().map(finding).collect();
        appearances.extend(rows.iter().map(|f| f.appearances));
        table
            .vstack_mut(&findings_table(&rows, period)?)
            .ctx("findings table")?;
    }
    Ok(VulnerabilityResult {
        kpis,
        findings: table,
        appearances,
    })
}

/// Column names of the findings table (`VulnerabilityResult::findings`,
/// `data/vulnerability_findings.parquet`).
pub mod columns {
    /// Image digest (`sha256:...`).
    pub const IMAGE_DIGEST: &str = "imageDigest";
    /// CVE id.
    pub const CVE_ID: &str = "cveId";
    /// Severity as Defender wrote it on the finding's last row.
    pub const SEVERITY: &str = "severity";
    /// CVSS base score.
    pub const CVSS_SCORE: &str = "cvssScore";
    /// Subscription of the resource it was last seen on.
    pub const SUBSCRIPTION_ID: &str = "subscriptionId";
    /// Registry or cluster it was last seen on.
    pub const RESOURCE_ID: &str = "resourceId";
    /// Where Defender saw it (registry or runtime).
    pub const SOURCE: &str = "source";
    /// Registry host of the image.
    pub const REGISTRY_HOST: &str = "registryHost";
    /// Repository of the image.
    pub const REPOSITORY: &str = "repository";
    /// Owner of the resource it was last seen on.
    pub const OWNER: &str = "owner";
    /// First snapshot day it appeared.
    pub const FIRST_SEEN: &str = "first_seen";
    /// Last snapshot day it appeared.
    pub const LAST_SEEN: &str = "last_seen";
    /// first_seen + SLA days of its severity (null without an SLA).
    pub const DUE: &str = "due";
    /// Snapshot day it was resolved (null while open).
    pub const RESOLVED: &str = "resolved";
    /// Due within the period.
    pub const DUE_IN_PERIOD: &str = "due_in_period";
    /// Resolved on or before its due day (null while open or without an SLA).
    pub const SLA_MET: &str = "sla_met";
    /// Open and past due at the period's end.
    pub const OPEN_PAST_DUE: &str = "open_past_due";
    /// First seen on the first snapshot day ever stored (true age unknown).
    pub const LEFT_CENSORED: &str = "left_censored";
}

fn findings_table(f: &[Finding<'_>], period: Period) -> Result<DataFrame> {
    use columns::*;
    frame::frame(vec![
        frame::column(IMAGE_DIGEST, f, |x| x.image_digest),
        frame::column(CVE_ID, f, |x| x.cve_id),
        frame::column(SEVERITY, f, |x| x.severity),
        frame::column(CVSS_SCORE, f, |x| x.cvss),
        frame::column(SUBSCRIPTION_ID, f, |x| x.subscription.as_ref()),
        frame::column(RESOURCE_ID, f, |x| x.resource_id),
        frame::column(SOURCE, f, |x| x.source),
        frame::column(REGISTRY_HOST, f, |x| x.registry_host),
        frame::column(REPOSITORY, f, |x| x.repository),
        frame::column(OWNER, f, |x| x.owner),
        frame::date_column_of(FIRST_SEEN, f, |x| Some(x.first_seen)),
        frame::date_column_of(LAST_SEEN, f, |x| Some(x.last_seen)),
        frame::date_column_of(DUE, f, |x| x.due),
        frame::date_column_of(RESOLVED, f, |x| x.resolved),
        frame::column(DUE_IN_PERIOD, f, |x| x.due_in(period)),
        frame::column(SLA_MET, f, |x| x.resolved_on_time()),
        frame::column(OPEN_PAST_DUE, f, |x| x.open_past_due(period)),
        frame::column(LEFT_CENSORED, f, |x| x.left_censored),
    ])
}

/// What the reports read of a finding: a row of the findings table (or of a selection of its
/// columns that keeps these), its text borrowed from the table.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow<'a> {
    /// CVE id.
    pub cve_id: &'a str,
    /// Image digest.
    pub image_digest: &'a str,
    /// Severity as Defender wrote it.
    pub severity: &'a str,
    /// Owner of the resource it was last seen on.
    pub owner: &'a str,
    /// Due day, if its severity has an SLA.
    pub due: Option<NaiveDate>,
    /// Resolution day, if resolved.
    pub resolved: Option<NaiveDate>,
    /// Due within the period.
    pub due_in_period: bool,
    /// Resolved on or before its due day; `None` while open or without an SLA.
    pub sla_met: Option<bool>,
    /// Open and past due at the period's end.
    pub open_past_due: bool,
}

/// Decode the findings table (or a selection of it) into rows, in table order. The text stays
/// in the table: a year of a large tenant has hundreds of thousands of findings.
pub fn finding_rows(df: &DataFrame) -> Result<Vec<FindingRow<'_>>> {
    use crate::frame::{bools, dates, str_refs};
    let mut cve = str_refs(df, columns::CVE_ID)?.into_iter();
    let mut digest = str_refs(df, columns::IMAGE_DIGEST)?.into_iter();
    let mut severity = str_refs(df, columns::SEVERITY)?.into_iter();
    let mut owner = str_refs(df, columns::OWNER)?.into_iter();
    let mut due = dates(df, columns::DUE)?.into_iter();
    let mut resolved = dates(df, columns::RESOLVED)?.into_iter();
    let mut due_in = bools(df, columns::DUE_IN_PERIOD)?.into_iter();
    let mut met = bools(df, columns::SLA_MET)?.into_iter();
    let mut past = bools(df, columns::OPEN_PAST_DUE)?.into_iter();
    Ok((0..df.height())
        .map(|_| FindingRow {
            cve_id: cve.next().flatten().unwrap_or_default(),
            image_digest: digest.next().flatten().unwrap_or_default(),
            severity: severity.next().flatten().unwrap_or_default(),
            owner: owner.next().flatten().unwrap_or_default(),
            due: due.next().flatten(),
            resolved: resolved.next().flatten(),
            due_in_period: due_in.next().flatten() == Some(true),
            sla_met: met.next().flatten(),
            open_past_due: past.next().flatten() == Some(true),
        })
        .collect())
}
