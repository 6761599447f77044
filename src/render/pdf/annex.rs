//! `executive/annex.pdf`: the complete lists behind the executive report's tables. The report
//! shows the few rows that support a decision and names, for every list it shortens, the file
//! and the number of rows where the whole list is: a section of the annex, and the finance or
//! evidence file with the same rows where one exists. Row counts of run files come from the
//! files themselves ([`RunFileRows`]), so a count the report states is the count of the file it
//! names.

use std::collections::BTreeMap;

use serde::Serialize;

use super::executive;
use crate::assessment::ExecutiveInput;
use crate::format;

/// Where the annex is published in a run.
pub const ANNEX_PATH: &str = "executive/annex.pdf";
/// Where the report is published in a run.
pub const REPORT_PATH: &str = "executive/executive-report.pdf";

/// The annex sections, in order: (id, title). Every section is always present (an empty one
/// says so), so a reference such as "section A.3" means the same list every month.
pub const SECTIONS: [(&str, &str); 9] = [
    (
        MANAGEMENT_GROUPS,
        "Coverage by management group (month end)",
    ),
    (GAPS, "Coverage gaps in the period"),
    (UNCOVERED, "Uncovered subscriptions"),
    (
        UNPROTECTED,
        "Unprotected AKS and Arc clusters, unscanned registries (month end)",
    ),
    (ALERT_OWNERS, "Runtime alerts by owner and severity"),
    (OVERDUE_OWNERS, "Overdue critical vulnerabilities by owner"),
    (SHOWBACK, "Showback by owner"),
    (DATA_QUALITY, "Data-quality findings"),
    (SOURCES, "Sources"),
];
pub const MANAGEMENT_GROUPS: &str = "A.1";
pub const GAPS: &str = "A.2";
pub const UNCOVERED: &str = "A.3";
pub const UNPROTECTED: &str = "A.4";
pub const ALERT_OWNERS: &str = "A.5";
pub const OVERDUE_OWNERS: &str = "A.6";
pub const SHOWBACK: &str = "A.7";
pub const DATA_QUALITY: &str = "A.8";
pub const SOURCES: &str = "A.9";

/// The data rows of the run's table files (CSV and Parquet), by path relative to the run
/// folder: what the report may name as the home of a complete list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFileRows(BTreeMap<String, usize>);

impl RunFileRows {
    pub fn new(files: impl IntoIterator<Item = (String, usize)>) -> RunFileRows {
        RunFileRows(files.into_iter().collect())
    }

    /// The file at `path`, if the run has it.
    pub fn get(&self, path: &str) -> Option<FileRef> {
        self.0.get(path).map(|rows| FileRef {
            path: path.to_string(),
            rows: *rows,
        })
    }

    /// The first evidence pack's file `name` (packs in path order), if any pack has it.
    pub fn evidence(&self, name: &str) -> Option<FileRef> {
        self.0
            .iter()
            .find(|(path, _)| {
                path.strip_prefix("evidence/")
                    .and_then(|rest| rest.split_once('/'))
                    .is_some_and(|(_, file)| file == name)
            })
            .map(|(path, rows)| FileRef {
                path: path.clone(),
                rows: *rows,
            })
    }
}

/// A run file and its data rows.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub path: String,
    pub rows: usize,
}

impl FileRef {
    /// `evidence/soc2/alerts.csv (50 rows)`.
    pub fn cite(&self) -> String {
        format!("{} ({})", self.path, rows_text(self.rows))
    }

    /// `Every alert with its owner and detection time: evidence/soc2/alerts.csv (50 rows).`:
    /// the sentence naming this file as where `what` is listed.
    pub fn listed(&self, what: &str) -> String {
        format!("{what}: {}.", self.cite())
    }
}

/// `1 row`, `12 rows`.
pub fn rows_text(rows: usize) -> String {
    if rows == 1 {
        "1 row".into()
    } else {
        format!("{rows} rows")
    }
}

/// Long CamelCase names (`ContainerRegistriesVulnerabilityAssessments`) with a zero-width
/// space between words, so a table cell may break them instead of overflowing.
pub fn breakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_lower = false;
    for c in text.chars() {
        if prev_lower && c.is_uppercase() {
            out.push('\u{200b}');
        }
        prev_lower = c.is_lowercase();
        out.push(c);
    }
    out
}

/// `executive/annex.pdf, section A.3 (1001 rows)`.
pub fn annex_cite(section: &str, rows: usize) -> String {
    format!("{ANNEX_PATH}, section {section} ({})", rows_text(rows))
}

/// The sentence under a shortened list: empty when every row is shown, else `Top 10 of 1001
/// by gap days; 991 more: see executive/annex.pdf, section A.3 (1001 rows).`
pub fn more_note(shown: usize, total: usize, order: &str, section: &str) -> String {
    if shown >= total {
        return String::new();
    }
    let order = if order.is_empty() {
        String::new()
    } else {
        format!(" {order}")
    };
    format!(
        "Top {shown} of {total}{order}; {} more: see {}.",
        total - shown,
        annex_cite(section, total)
    )
}

/// The annex's layout data: every list in full, already formatted.
#[derive(Debug, Serialize)]
pub struct AnnexView {
    pub title: String,
    pub scope: String,
    pub period: String,
    pub period_label: String,
    pub period_range: String,
    pub fingerprint_short: String,
    pub report_path: String,
    pub sections: Vec<AnnexSection>,
}

/// One annex section: a table (`columns`, `rows` of cells) or a list (`items`), the number of
/// rows, and the run files holding the same rows.
#[derive(Debug, Serialize)]
pub struct AnnexSection {
    pub id: String,
    pub title: String,
    pub rows_total: usize,
    /// `3 rows`.
    pub rows_text: String,
    /// What one row is and where else the rows are published.
    pub note: String,
    /// Column headers; empty for a list section.
    pub columns: Vec<String>,
    /// Relative column widths (`auto` or `1fr`-style strings the template maps), one per column.
    pub widths: Vec<String>,
    /// Right-aligned columns (numbers).
    pub numeric: Vec<bool>,
    /// Table rows (cells) or list items (one cell each).
    pub rows: Vec<Vec<String>>,
    /// Sub-tables of a section with several parts (showback per currency): heading and rows.
    pub parts: Vec<AnnexPart>,
    pub empty_text: String,
}

#[derive(Debug, Serialize)]
pub struct AnnexPart {
    pub heading: String,
    pub rows: Vec<Vec<String>>,
}

impl AnnexSection {
    pub fn new(id: &str) -> AnnexSection {
        let title = SECTIONS
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, t)| t.to_string())
            .unwrap_or_default();
        AnnexSection {
            id: id.into(),
            title,
            rows_total: 0,
            rows_text: rows_text(0),
            note: String::new(),
            columns: vec![],
            widths: vec![],
            numeric: vec![],
            rows: vec![],
            parts: vec![],
            empty_text: "None.".into(),
        }
    }

    /// Columns as (header, width, numeric).
    pub fn columns(mut self, cols: &[(&str, &str, bool)]) -> AnnexSection {
        self.columns = cols.iter().map(|c| c.0.to_string()).collect();
        self.widths = cols.iter().map(|c| c.1.to_string()).collect();
        self.numeric = cols.iter().map(|c| c.2).collect();
        self
    }

    pub fn rows(mut self, rows: Vec<Vec<String>>) -> AnnexSection {
        self.rows_total = rows.len();
        self.rows_text = rows_text(rows.len());
        self.rows = rows;
        self
    }

    pub fn parts(mut self, parts: Vec<AnnexPart>) -> AnnexSection {
        self.rows_total = parts.iter().map(|p| p.rows.len()).sum();
        self.rows_text = rows_text(self.rows_total);
        self.parts = parts;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> AnnexSection {
        self.note = note.into();
        self
    }

    pub fn empty(mut self, text: &str) -> AnnexSection {
        self.empty_text = text.into();
        self
    }
}

/// The annex of `input`'s report: every list the report shortens, in full.
pub fn annex_view(input: &ExecutiveInput, files: &RunFileRows) -> AnnexView {
    let k = &input.kpis;
    let start = k.period_start;
    let last = k.period_end_exclusive.pred_opt().unwrap_or(start);
    AnnexView {
        title: "Defender for Containers: annex to the monthly executive report".into(),
        scope: input.scope.clone(),
        period: k.period.clone(),
        period_label: start.format("%B %Y").to_string(),
        period_range: format!("{start} to {last} (UTC)"),
        fingerprint_short: input.input_fingerprint.chars().take(12).collect(),
        report_path: REPORT_PATH.into(),
        sections: vec![
            management_groups_section(input, files),
            gaps_section(input, files),
            uncovered_section(input, files),
            unprotected_section(input, files),
            alert_owners_section(input, files),
            overdue_owners_section(input, files),
            showback_section(input, files),
            data_quality_section(input),
            sources_section(input),
        ],
    }
}

/// ` The same rows: data/x.parquet (3 rows).` when the run has the file, else empty: the end
/// of a section note naming the other file with the section's rows.
fn also_in(file: Option<FileRef>, what: &str) -> String {
    file.map(|f| format!(" {}", f.listed(what)))
        .unwrap_or_default()
}

/// A.1: coverage per management group on the month-end snapshot day, by name.
fn management_groups_section(input: &ExecutiveInput, files: &RunFileRows) -> AnnexSection {
    let mut mgs = input.coverage_by_management_group.clone();
    mgs.sort_by(|a, b| a.management_group.cmp(&b.management_group));
    AnnexSection::new(MANAGEMENT_GROUPS)
        .columns(&[
            ("Management group", "1fr", false),
            ("In scope", "auto", true),
            ("Compliant", "auto", true),
            ("Not covered", "auto", true),
            ("Rate", "auto", true),
        ])
        .rows(
            mgs.iter()
                .map(|m| {
                    vec![
                        m.management_group.clone(),
                        m.in_scope.to_string(),
                        m.compliant.to_string(),
                        (m.in_scope - m.compliant).to_string(),
                        format::rate(m.rate),
                    ]
                })
                .collect(),
        )
        .note(format!(
            "Subscriptions in scope and compliant on the month-end snapshot day, per management \
             group, by name.{}",
            also_in(
                files.get("data/coverage_by_management_group.parquet"),
                "The same rows"
            )
        ))
        .empty("No management group data.")
}

/// A.2: every coverage gap (run of non-compliant snapshot days) in the period, by start.
fn gaps_section(input: &ExecutiveInput, files: &RunFileRows) -> AnnexSection {
    AnnexSection::new(GAPS)
        .columns(&[
            ("Subscription", "1fr", false),
            ("Owner", "auto", false),
            ("From", "auto", false),
            ("To", "auto", false),
            ("Days", "auto", true),
            ("Note", "auto", false),
        ])
        .rows(
            executive::gap_lines(input)
                .into_iter()
                .map(|g| {
                    vec![
                        g.subscription,
                        g.owner,
                        g.start,
                        g.end,
                        g.days.to_string(),
                        g.note,
                    ]
                })
                .collect(),
        )
        .note(format!(
            "One row per run of snapshot days on which a subscription in scope was not \
             compliant, clipped to the period, by start; days are snapshot days.{}",
            also_in(
                files.evidence("coverage-gaps.csv"),
                "The same rows, with the reasons at start and end"
            )
        ))
        .empty("No coverage gaps.")
}

/// A.3: subscriptions not compliant on some snapshot day, longest gap first.
fn uncovered_section(input: &ExecutiveInput, files: &RunFileRows) -> AnnexSection {
    AnnexSection::new(UNCOVERED)
        .columns(&[
            ("Subscription id", "auto", false),
            ("Name", "1fr", false),
            ("Owner", "auto", false),
            ("Reason", "1.2fr", false),
            ("Gap days", "auto", true),
        ])
        .rows(
            executive::uncovered_in_reading_order(&input.uncovered_subscriptions)
                .into_iter()
                .map(|s| {
                    vec![
                        s.subscription_id,
                        s.name,
                        s.owner,
                        breakable(&s.reason),
                        s.gap_days.to_string(),
                    ]
                })
                .collect(),
        )
        .note(format!(
            "Subscriptions in scope and not compliant on a snapshot day of the period, longest \
             gap first; the reason is the one of the last such day.{}",
            also_in(
                files.evidence("coverage-daily.csv"),
                "Every subscription on every day"
            )
        ))
        .empty("Every subscription with containers is covered.")
}

/// A.4: clusters and registries not protected at month end.
fn unprotected_section(input: &ExecutiveInput, files: &RunFileRows) -> AnnexSection {
    AnnexSection::new(UNPROTECTED)
        .columns(&[
            ("Kind", "auto", false),
            ("Name", "1fr", false),
            ("Subscription id", "auto", false),
            ("Owner", "auto", false),
            ("Reason", "1.2fr", false),
        ])
        .rows(
            executive::unprotected_in_reading_order(&input.unprotected_resources)
                .into_iter()
                .map(|r| {
                    let reason = breakable(&r.reason);
                    vec![r.kind, r.name, r.subscription_id, r.owner, reason]
                })
                .collect(),
        )
        .note(format!(
            "Clusters and registries not protected on the month-end snapshot day: AKS, then \
             Arc, then registries, each by owner and name.{}",
            also_in(
                files.evidence("protection-inventory.csv"),
                "Every cluster and registry of the period with its protected days"
            )
        ))
        .empty("Every cluster and registry is protected.")
}

/// A.5: runtime alerts per owner, one column per severity and a total, most first.
fn alert_owners_section(input: &ExecutiveInput, files: &RunFileRows) -> AnnexSection {
    let (severities, owners) = executive::alerts_by_owner(input);
    let mut columns: Vec<(&str, &str, bool)> = vec![("Owner", "1fr", false)];
    columns.extend(severities.iter().map(|s| (s.as_str(), "auto", true)));
    columns.push(("Total", "auto", true));
    AnnexSection::new(ALERT_OWNERS)
        .columns(&columns)
        .rows(
            owners
                .iter()
                .map(|(owner, counts)| {
                    let mut row = vec![owner.clone()];
                    row.extend(counts.iter().map(|c| c.to_string()));
                    row.push(counts.iter().sum::<i64>().to_string());
                    row
                })
                .collect(),
        )
        .note(format!(
            "Runtime alerts of the period ({} in all) by owner, most first.{}",
            input.kpis.runtime_alerts.population,
            also_in(
                files.evidence("alerts.csv"),
                "Every alert with its owner and detection time"
            )
        ))
        .empty("No alerts.")
}

/// A.6: critical findings past their due date at period end, per owner, most first.
fn overdue_owners_section(input: &ExecutiveInput, files: &RunFileRows) -> AnnexSection {
    AnnexSection::new(OVERDUE_OWNERS)
        .columns(&[
            ("Owner", "1fr", false),
            ("Overdue critical findings", "auto", true),
        ])
        .rows(
            executive::overdue_by_owner(input)
                .into_iter()
                .map(|o| vec![o.owner, o.count.to_string()])
                .collect(),
        )
        .note(format!(
            "Critical findings (image digest × CVE) open past their due date at period end, by \
             owner of the image's resource, most first.{}",
            also_in(
                files.evidence("vulnerability-findings.csv"),
                "Every finding open or due in the period"
            )
        ))
        .empty("No critical vulnerability is past its SLA.")
}

/// A.7: spend per owner, one part per currency.
fn showback_section(input: &ExecutiveInput, files: &RunFileRows) -> AnnexSection {
    AnnexSection::new(SHOWBACK)
        .columns(&[
            ("Owner", "1fr", false),
            ("Amount", "auto", true),
            ("Share", "auto", true),
        ])
        .parts(
            input
                .kpis
                .showback
                .by_currency
                .iter()
                .map(|(cur, by_owner)| showback_currency_part(cur, by_owner))
                .collect(),
        )
        .note(format!(
            "Spend in the period by owning team per currency, largest first, unallocated last; \
             cents rounded by largest remainder.{}",
            also_in(
                files.get("finance/showback-by-owner.csv"),
                "The same rows, with the Defender for Containers share"
            )
        ))
        .empty("No cost rows in the period.")
}

/// One currency's part of A.7: its total as heading, then owner, amount and share rows.
fn showback_currency_part(cur: &str, by_owner: &BTreeMap<String, f64>) -> AnnexPart {
    let (rows, total) = executive::showback_rounded(by_owner);
    AnnexPart {
        heading: format!(
            "{cur}: {} ({})",
            format::money_cents(total, cur),
            rows_text(rows.len())
        ),
        rows: rows
            .iter()
            .map(|(o, c)| {
                vec![
                    executive::owner_label(o),
                    format::money_cents(*c, cur),
                    executive::share_text(*c, total),
                ]
            })
            .collect(),
    }
}

/// A.8: findings about the inputs, one item each.
fn data_quality_section(input: &ExecutiveInput) -> AnnexSection {
    AnnexSection::new(DATA_QUALITY)
        .rows(
            executive::data_quality(&input.kpis)
                .into_iter()
                .map(|d| vec![d])
                .collect(),
        )
        .note("Findings about the inputs: what was skipped, assumed or excluded, and why.")
}

/// A.9: the sources of the numbers, one item each.
fn sources_section(input: &ExecutiveInput) -> AnnexSection {
    AnnexSection::new(SOURCES)
        .rows(input.sources.iter().map(|s| vec![s.clone()]).collect())
        .note("Where the numbers came from.")
        .empty("None recorded.")
}

/// The JSON the annex template reads.
pub fn annex_json(input: &ExecutiveInput, files: &RunFileRows) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&annex_view(input, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_found_by_path_and_pack() {
        let files = RunFileRows::new([
            ("evidence/soc2/alerts.csv".to_string(), 50),
            ("evidence/pci-dss-4.0.1/alerts.csv".to_string(), 50),
            ("evidence/pci-dss-4.0.1/sub/alerts.csv".to_string(), 1),
            ("finance/showback-by-owner.csv".to_string(), 1),
        ]);
        assert_eq!(
            files.evidence("alerts.csv").unwrap().cite(),
            "evidence/pci-dss-4.0.1/alerts.csv (50 rows)"
        );
        assert_eq!(
            files.get("finance/showback-by-owner.csv").unwrap().cite(),
            "finance/showback-by-owner.csv (1 row)"
        );
        assert_eq!(files.evidence("coverage-gaps.csv"), None);
    }

    #[test]
    fn camel_case_may_break_between_words() {
        assert_eq!(
            breakable("pricingTier Free; ContainerSensor"),
            "pricing\u{200b}Tier Free; Container\u{200b}Sensor"
        );
    }

    #[test]
    fn a_shortened_list_names_the_annex_section_and_its_rows() {
        assert_eq!(more_note(10, 10, "by gap days", UNCOVERED), "");
        assert_eq!(
            more_note(10, 1001, "by gap days", UNCOVERED),
            "Top 10 of 1001 by gap days; 991 more: see executive/annex.pdf, section A.3 (1001 rows)."
        );
    }
}
