//! The values of the columns that decide KPIs, against the vocabularies Defender uses: alert
//! severity and status, vulnerability severity and status code. An unknown value (`Banana`,
//! `Exploded`, `high` in lower case) is never merged into a known one or dropped without a
//! word: each becomes a data-quality finding that names where it was first seen (file or
//! query, row) and counts the rows that carry it.

use polars::prelude::DataFrame;
use std::collections::BTreeMap;

/// One column with a closed vocabulary, and what the KPIs do with a value outside it.
pub struct Vocabulary {
    /// Dataset of the column.
    pub dataset: &'static str,
    /// The column.
    pub column: &'static str,
    /// The values Defender writes, in their usual order (compared exactly).
    pub known: &'static [&'static str],
    /// What the KPIs do with an unknown value, in plain words.
    pub consequence: &'static str,
}

/// Every column with a closed vocabulary.
pub const VOCABULARIES: &[Vocabulary] = &[
    Vocabulary {
        dataset: "security_alerts",
        column: "severity",
        known: &["High", "Medium", "Low", "Informational"],
        consequence: "those alerts are counted under that value in the per-severity tables and \
                      are not in the high-severity total",
    },
    Vocabulary {
        dataset: "security_alerts",
        column: "status",
        known: &["Active", "InProgress", "Resolved", "Dismissed"],
        consequence: "those alerts are listed under that status",
    },
    Vocabulary {
        dataset: "vulnerabilities",
        column: "severity",
        known: &["Critical", "High", "Medium", "Low"],
        consequence: "those findings have no SLA (vulnerabilities.sla_days) and are not in the \
                      remediation rates",
    },
    Vocabulary {
        dataset: "vulnerabilities",
        column: "statusCode",
        known: &["Healthy", "Unhealthy", "NotApplicable"],
        consequence: "only Unhealthy rows count as an open finding, so those rows are not",
    },
];

/// Distinct unknown values remembered per column; beyond, rows are still counted.
const MAX_DISTINCT: usize = 100;

/// Where an unknown value was first seen, and how many rows carry it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    rows: u64,
    first_origin: String,
    first_row: usize,
}

/// Unknown values found so far, per (dataset, column, value).
#[derive(Debug, Default)]
pub struct Findings {
    seen: BTreeMap<(usize, String), Seen>,
    /// Rows with an unknown value beyond `MAX_DISTINCT` distinct ones, per vocabulary.
    more: BTreeMap<usize, u64>,
}

impl Findings {
    /// Check the rows of `dataset` read from `origin` (a file or query; rows 1-based).
    pub fn check_frame(&mut self, dataset: &str, frame: &DataFrame, origin: &str) {
        for (v, vocab) in VOCABULARIES.iter().enumerate() {
            if vocab.dataset != dataset {
                continue;
            }
            let Ok(column) = frame.column(vocab.column).and_then(|c| c.str()) else {
                continue;
            };
            for (i, value) in column.iter().enumerate() {
                let value = value.unwrap_or("null");
                if !vocab.known.contains(&value) {
                    self.note(v, value, origin, i + 1);
                }
            }
        }
    }

    fn note(&mut self, vocab: usize, value: &str, origin: &str, row: usize) {
        let distinct = self.seen.keys().filter(|(v, _)| *v == vocab).count();
        let key = (vocab, value.chars().take(80).collect::<String>());
        match self.seen.get_mut(&key) {
            Some(s) => s.rows += 1,
            None if distinct < MAX_DISTINCT => {
                self.seen.insert(
                    key,
                    Seen {
                        rows: 1,
                        first_origin: origin.to_string(),
                        first_row: row,
                    },
                );
            }
            None => *self.more.entry(vocab).or_default() += 1,
        }
    }

    /// One data-quality line per unknown value (by column, then value), and one per column
    /// for the values beyond the first hundred.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .seen
            .iter()
            .map(|((v, value), s)| {
                let vocab = &VOCABULARIES[*v];
                format!(
                    "{}.{}: unknown value '{value}' in {} row(s), first in {}, row {}; known: {}; \
                     {}",
                    vocab.dataset,
                    vocab.column,
                    s.rows,
                    s.first_origin,
                    s.first_row,
                    vocab.known.join(", "),
                    vocab.consequence
                )
            })
            .collect();
        out.extend(self.more.iter().map(|(v, rows)| {
            let vocab = &VOCABULARIES[*v];
            format!(
                "{}.{}: {rows} more row(s) with unknown values beyond the first {MAX_DISTINCT} \
                 distinct ones",
                vocab.dataset, vocab.column
            )
        }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn unknown_values_are_named_counted_and_never_merged() {
        let df = df!(
            "severity" => ["High", "Banana", "high", "Banana"],
            "status" => [Some("Active"), Some("Exploded"), None, Some("Resolved")],
        )
        .unwrap();
        let mut f = Findings::default();
        f.check_frame("security_alerts", &df, "q/security_alerts page 1");
        f.check_frame("subscriptions", &df, "elsewhere");
        let lines = f.lines();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(
            lines[0].starts_with("security_alerts.severity: unknown value 'Banana' in 2 row(s), first in q/security_alerts page 1, row 2"),
            "{lines:#?}"
        );
        assert!(
            lines[1].contains("unknown value 'high' in 1 row(s)"),
            "{lines:#?}"
        );
        assert!(
            lines[2].contains("status: unknown value 'Exploded'"),
            "{lines:#?}"
        );
        assert!(lines[3].contains("unknown value 'null'"), "{lines:#?}");
    }
}
