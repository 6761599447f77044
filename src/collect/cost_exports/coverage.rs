//! The report period's cost is a precondition, never a zero: every configured export must have
//! selected runs whose date ranges (`runInfo.startDate`..`endDate`) cover every day of the
//! period (not of the wider read window that starts earlier for anomalies), and at least one
//! cost row in the period. A month before its final export can be published only when asked
//! (`allow_partial`), and only when the missing days are at the end of the period.

use super::aggregate::CostRows;
use super::manifest::Run;
use crate::error::{Error, Result};
use crate::period::compact_ranges;
use chrono::NaiveDate;

/// The days a report needs cost for, and whether a month cut short at the end is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodRequirement {
    pub start: NaiveDate,
    pub end_exclusive: NaiveDate,
    /// Accept days missing at the end of the period (a run before the month's final export);
    /// the report then says "partial: cost data until <day>".
    pub allow_partial: bool,
}

impl PeriodRequirement {
    fn days(&self) -> Vec<NaiveDate> {
        crate::period::days_between(self.start, self.end_exclusive)
    }

    fn shown(&self) -> String {
        let last = self.end_exclusive.pred_opt().unwrap_or(self.end_exclusive);
        format!("{} to {last}", self.start)
    }
}

/// The days of the period the runs of `export` cover.
fn covered_days(runs: &[Run], export: &str, req: &PeriodRequirement) -> Vec<NaiveDate> {
    req.days()
        .into_iter()
        .filter(|d| {
            runs.iter().any(|r| {
                r.export_name.eq_ignore_ascii_case(export) && r.start_date <= *d && *d <= r.end_date
            })
        })
        .collect()
}

/// What to do about missing cost days, said once for every message.
const WHAT_TO_DO: &str = "run the export for those days (Cost Management > Exports > Run now), \
     or wait for the export's run after the month closes; to publish a month whose last days \
     have no cost yet, pass --allow-partial-cost (or set cost.allow_partial)";

/// Check that the selected runs cover the period: Ok(None) when every day is covered,
/// Ok(Some(last day)) when a partial month is allowed and every export covers the period from
/// its first day to at least that day; else an input error naming each export and its missing
/// days. `location` names the export container.
pub fn require_period_days(
    runs: &[Run],
    exports: &[String],
    req: &PeriodRequirement,
    location: &str,
) -> Result<Option<NaiveDate>> {
    let all = req.days();
    let mut problems = Vec::new();
    let mut partial_until: Option<NaiveDate> = None;
    for export in exports {
        let covered = covered_days(runs, export, req);
        if covered.len() == all.len() {
            continue;
        }
        let missing: Vec<NaiveDate> = all
            .iter()
            .copied()
            .filter(|d| !covered.contains(d))
            .collect();
        // Covered days form a prefix of the period: only its end is missing.
        let prefix = !covered.is_empty() && covered.iter().zip(&all).all(|(c, a)| c == a);
        if req.allow_partial && prefix {
            let last = *covered.last().expect("not empty");
            partial_until = Some(partial_until.map_or(last, |p| p.min(last)));
            continue;
        }
        let found = runs_of(runs, export);
        problems.push(format!(
            "cost export '{export}' has no data for {} of the period {}{}{}",
            compact_ranges(&missing),
            req.shown(),
            if found.is_empty() {
                " (no run of it covers any day of the period)".to_string()
            } else {
                format!(" (its selected runs cover {found})")
            },
            if req.allow_partial {
                "; --allow-partial-cost accepts only days missing at the end of the period, \
                 after a covered first part"
            } else {
                ""
            }
        ));
    }
    if problems.is_empty() {
        return Ok(partial_until);
    }
    Err(Error::input(
        location,
        format!("{}; {WHAT_TO_DO}", problems.join("; ")),
    ))
}

/// The date ranges of an export's selected runs, for messages.
fn runs_of(runs: &[Run], export: &str) -> String {
    runs.iter()
        .filter(|r| r.export_name.eq_ignore_ascii_case(export))
        .map(|r| format!("{} to {}", r.start_date, r.end_date))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Check that every export has at least one cost row charged in the period (up to
/// `partial_until` when the month is partial). A run whose parts hold only a header covers
/// its days on paper but carries no cost: that is not a month with zero spend.
pub fn require_period_rows(
    rows: &CostRows,
    exports: &[String],
    req: &PeriodRequirement,
    location: &str,
) -> Result<()> {
    let empty: Vec<&String> = exports
        .iter()
        .filter(|e| {
            !rows.group_daily.iter().any(|c| {
                c.date >= req.start
                    && c.date < req.end_exclusive
                    && rows.export(c).eq_ignore_ascii_case(e)
            })
        })
        .collect();
    if empty.is_empty() {
        return Ok(());
    }
    Err(Error::input(
        location,
        format!(
            "{} no cost row charged in the period {}: the runs' files hold only a header, or \
             every row is dated outside the period or was set aside as unreadable; check the \
             export in Cost Management and run it again",
            empty
                .iter()
                .map(|e| format!("cost export '{e}' has"))
                .collect::<Vec<_>>()
                .join(", "),
            req.shown()
        ),
    ))
}

/// How every statement of a partial month starts: `partial: cost data until <day>`.
pub const PARTIAL_PREFIX: &str = "partial: cost data until ";

/// "partial: cost data until <day>".
pub fn partial_status(until: NaiveDate) -> String {
    format!("{PARTIAL_PREFIX}{until}")
}

/// The data-quality line of a partial month; it starts with `partial_status`.
pub fn partial_note(until: NaiveDate, req: &PeriodRequirement) -> String {
    let last = req.end_exclusive.pred_opt().unwrap_or(req.end_exclusive);
    let missing = crate::period::days_between(until.succ_opt().unwrap_or(until), req.end_exclusive);
    format!(
        "{}; no export run covers {} yet (--allow-partial-cost), so showback, Defender cost \
         and anomalies stop at {until}, not at {last}",
        partial_status(until),
        compact_ranges(&missing)
    )
}

/// The "partial: cost data until <day>" statement among a report's data-quality lines (as
/// `kpis.json` carries them), for the places that repeat it (page 1 of the PDF).
pub fn partial_in(data_quality: &[String]) -> Option<&str> {
    data_quality
        .iter()
        .find(|l| l.starts_with(PARTIAL_PREFIX))
        .map(|l| l.split(';').next().unwrap_or(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn run(export: &str, start: &str, end: &str) -> Run {
        Run {
            manifest_path: format!("{export}/{start}/manifest.json"),
            legacy_manifest: false,
            export_name: export.into(),
            run_id: start.into(),
            submitted_time: None,
            submitted_time_text: String::new(),
            start_date: d(start),
            end_date: d(end),
            range_folder: String::new(),
            range: (d(start), d(end)),
            data_version: None,
            export_type: None,
            blobs: Vec::new(),
        }
    }

    fn october(allow_partial: bool) -> PeriodRequirement {
        PeriodRequirement {
            start: d("2026-10-01"),
            end_exclusive: d("2026-11-01"),
            allow_partial,
        }
    }

    #[test]
    fn every_export_must_cover_every_day_of_the_period() {
        let exports = ["a".to_string(), "b".to_string()];
        let full = [
            run("a", "2026-10-01", "2026-10-31"),
            run("B", "2026-09-20", "2026-10-10"),
            run("b", "2026-10-11", "2026-11-05"),
        ];
        assert_eq!(
            require_period_days(&full, &exports, &october(false), "c").unwrap(),
            None
        );
        // The window's earlier days (September) do not stand in for the period's.
        let runs = [
            run("a", "2026-09-01", "2026-09-30"),
            run("b", "2026-10-01", "2026-10-31"),
        ];
        let e = require_period_days(&runs, &exports, &october(true), "c")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cost export 'a' has no data for 2026-10-01 to 2026-10-31"),
            "{e}"
        );
        assert!(!e.contains("'b'"), "{e}");
    }

    #[test]
    fn a_partial_month_is_only_its_end_and_only_when_allowed() {
        let exports = ["a".to_string(), "b".to_string()];
        let runs = [
            run("a", "2026-10-01", "2026-10-15"),
            run("b", "2026-10-01", "2026-10-20"),
        ];
        let e = require_period_days(&runs, &exports, &october(false), "c").unwrap_err();
        assert!(e.to_string().contains("2026-10-16 to 2026-10-31"), "{e}");
        // Allowed: the last day every export covers.
        assert_eq!(
            require_period_days(&runs, &exports, &october(true), "c").unwrap(),
            Some(d("2026-10-15"))
        );
        // A hole in the middle is never a partial month.
        let holes = [
            run("a", "2026-10-01", "2026-10-10"),
            run("a", "2026-10-13", "2026-10-31"),
        ];
        let e = require_period_days(&holes, &exports[..1], &october(true), "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no data for 2026-10-11 to 2026-10-12"), "{e}");
        assert!(e.contains("accepts only days missing at the end"), "{e}");
        let note = partial_note(d("2026-10-15"), &october(true));
        assert_eq!(
            partial_in(std::slice::from_ref(&note)),
            Some("partial: cost data until 2026-10-15")
        );
    }
}
