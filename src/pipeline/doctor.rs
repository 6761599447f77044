//! `doctor`: why does it not work yet? One line per check, each failure with its fix: the
//! configuration, a token from the configured credential, every query with `$top: 1`, the
//! export runs the next report would read, and a probe blob written and deleted where reports go.

use crate::collect::cost_exports::{self, LoadOptions};
use crate::collect::resource_graph::ResourceGraph;
use crate::config::Config;
use crate::error::Error;
use crate::model::DATASETS;
use crate::period::{Period, RunId};
use bytes::Bytes;
use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What to do about a failure.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(name: impl Into<String>, err: impl std::fmt::Display, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok: false,
            detail: err.to_string(),
            fix: Some(fix.into()),
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {}",
            if self.ok { " ok " } else { "FAIL" },
            self.name,
            self.detail
        )?;
        if let Some(fix) = &self.fix {
            write!(f, "\n       fix: {fix}")?;
        }
        Ok(())
    }
}

/// Run every check. `live` includes the Resource Graph checks (skipped for replayed tenants);
/// `today` (UTC) decides which month's cost exports are checked.
pub fn run(cfg: &Config, config_label: &str, live: bool, today: NaiveDate) -> Vec<Check> {
    let mut out = vec![Check::pass(
        "configuration",
        format!(
            "{config_label} is valid (SHA-256 {})",
            &cfg.fingerprint()[..12]
        ),
    )];
    if live {
        out.extend(resource_graph_checks(cfg));
    }
    out.push(cost_export_check(cfg, today));
    out.push(output_check(cfg));
    out
}

fn resource_graph_checks(cfg: &Config) -> Vec<Check> {
    let rg = match ResourceGraph::from_config(cfg) {
        Ok(rg) => rg,
        Err(e) => {
            return vec![Check::fail(
                "Resource Graph client",
                e,
                "set azure.credential (workload-identity, managed-identity, client-secret, azure-cli) \
                 and the AZURE_* variables it reads; see docs/deploy.md",
            )];
        }
    };
    let mut out = Vec::new();
    for contract in DATASETS {
        let name = format!("query {}", contract.dataset);
        match rg.probe(contract) {
            Ok(total) => out.push(Check::pass(name, format!("answers; {total} rows in scope"))),
            Err(e) => {
                let text = e.to_string();
                let fix = if text.contains("token")
                    || text.contains("credential")
                    || text.contains("401")
                {
                    "the credential could not get or use a token: check azure.credential and its \
                     AZURE_* variables (or `az login` for azure-cli)"
                } else if text.contains("403")
                    || text.contains("AuthorizationFailed")
                    || text.contains("AccessDenied")
                {
                    "grant the identity Reader at the management group(s) queried (docs/deploy.md, least privilege)"
                } else if text.contains("InvalidQuery")
                    || text.contains("BadRequest")
                    || text.contains("column")
                {
                    "fix the query file named above (run scripts/check-queries.sh), keeping the contract columns"
                } else {
                    "check azure.arm_endpoint and network access to it; the error names query, scope and page"
                };
                let token_problem = fix.starts_with("the credential");
                out.push(Check::fail(name, text, fix));
                if token_problem {
                    // Every other query would fail the same way.
                    break;
                }
            }
        }
    }
    out
}

/// The export runs the report of the current month would read.
fn cost_export_check(cfg: &Config, today: NaiveDate) -> Check {
    let name = "cost exports";
    let store = match crate::pipeline::cost_store(cfg) {
        Ok(s) => s,
        Err(e) => {
            return Check::fail(
                name,
                e,
                "set [cost] location to the export container (folder or blob URL)",
            );
        }
    };
    if cfg.cost.exports.is_empty() {
        return Check::fail(
            name,
            "[cost] exports is empty",
            "name the export(s) that feed showback in [cost] exports",
        );
    }
    let period = Period::of(today);
    let (window, end) = crate::pipeline::cost_window(cfg, period);
    match cost_exports::load(
        &store,
        &cfg.cost.exports,
        window,
        end,
        &LoadOptions::default(),
    ) {
        Ok(cost) if cost.runs.is_empty() => Check::fail(
            name,
            format!(
                "no run of {} covers {window} to {}",
                cfg.cost.exports.join(", "),
                period.end_exclusive()
            ),
            "check the export schedule in Cost Management (daily, month-to-date) and its container",
        ),
        Ok(cost) => Check::pass(
            name,
            format!(
                "would read {}",
                cost.runs
                    .iter()
                    .map(|r| format!(
                        "{} run {} ({} to {})",
                        r.export_name, r.run_id, r.start_date, r.end_date
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        Err(e) => Check::fail(
            name,
            &e,
            match e {
                Error::Config(_) => "name exports that exist in [cost] exports",
                _ => {
                    "grant Storage Blob Data Reader on the export container, and check the files the error names"
                }
            },
        ),
    }
}

/// Write and delete a probe blob where reports go.
fn output_check(cfg: &Config) -> Check {
    let name = "output location";
    let store = match crate::pipeline::output_store(cfg) {
        Ok(s) => s,
        Err(e) => {
            return Check::fail(
                name,
                e,
                "set [output] location (or --out) to a folder or an existing container",
            );
        }
    };
    let probe = format!("_doctor/{}.probe", RunId::fresh());
    if let Err(e) = store.put_new(
        &probe,
        Bytes::from_static(b"defender-ledger doctor probe\n"),
    ) {
        let text = e.to_string();
        let fix = if text.contains("ContainerNotFound")
            || text.contains("must exist")
            || text.contains("does not exist")
        {
            "create the container first (the job never creates containers)"
        } else {
            "grant the identity write on the reports container (the custom role in docs/deploy.md, or \
             Storage Blob Data Contributor); a read-only SAS cannot publish"
        };
        return Check::fail(name, text, fix);
    }
    // Deleting is not needed to publish (WORM containers refuse it): a failure is only noted.
    let deleted = store.delete(&probe).is_ok();
    Check::pass(
        name,
        format!(
            "wrote {}/{probe}{}",
            store.display(),
            if deleted {
                " and deleted it"
            } else {
                " (could not delete it: fine for immutable containers)"
            }
        ),
    )
}
