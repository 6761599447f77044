//! `doctor`: why does it not work yet? One line per check, each failure with its fix: the
//! configuration, a token from the configured credential, every query with `$top: 1`, the
//! export runs the next report would read, and whether reports can be written where they go.
//!
//! `doctor` answers within seconds and leaves nothing behind: it never probes the managed
//! identity endpoint unless `azure.credential` is `managed-identity` (the `default` chain is
//! checked with the link this environment selects without a network wait), and it creates no
//! output folder (a folder that does not exist yet is checked through its nearest parent).

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

/// Run every check. `configured`: a configuration file, an environment override or `--out`
/// was given (else every setting is a default, which is reported as a failure with its fix);
/// `live` includes the Resource Graph checks (skipped for replayed tenants); `today` (UTC)
/// decides which month's cost exports are checked.
pub fn run(
    cfg: &Config,
    config_label: &str,
    configured: bool,
    live: bool,
    today: NaiveDate,
) -> Vec<Check> {
    let mut out = vec![configuration_check(cfg, config_label, configured)];
    if live {
        out.extend(resource_graph_checks(cfg, &|k| std::env::var(k).ok()));
    }
    out.push(cost_export_check(cfg, today));
    out.push(output_check(cfg));
    out
}

fn configuration_check(cfg: &Config, config_label: &str, configured: bool) -> Check {
    if !configured {
        return Check::fail(
            "configuration",
            "nothing is configured: no defender-ledger.toml here, no --config, no --out and no \
             DEFENDER_LEDGER_* variable, so every setting is a default",
            "copy defender-ledger.toml from the repository (or pass --config FILE) and set \
             [cost] exports, [output] location and [azure] scope and credential; see the \
             README's Configuration section",
        );
    }
    Check::pass(
        "configuration",
        format!(
            "{config_label} is valid (SHA-256 {})",
            &cfg.fingerprint()[..12]
        ),
    )
}

/// The credential `doctor` checks: the configured one, except that the `default` chain is
/// resolved without a network wait to the link this environment selects (client secret or
/// workload identity when their variables are set, managed identity where the platform
/// announces its endpoint, else the Azure CLI): probing the instance metadata endpoint can
/// take minutes off Azure, so it is only done when `managed-identity` is chosen.
fn credential_for_checks(
    cfg: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Config, Option<String>) {
    use crate::config::CredentialKind;
    if cfg.azure.credential != CredentialKind::Default {
        return (cfg.clone(), None);
    }
    let set = |n: &str| env(n).is_some_and(|v| !v.trim().is_empty());
    let kind = if set("AZURE_CLIENT_SECRET") {
        CredentialKind::ClientSecret
    } else if set("AZURE_FEDERATED_TOKEN_FILE") {
        CredentialKind::WorkloadIdentity
    } else if set("IDENTITY_ENDPOINT") || set("MSI_ENDPOINT") {
        CredentialKind::ManagedIdentity
    } else {
        CredentialKind::AzureCli
    };
    let mut checked = cfg.clone();
    checked.azure.credential = kind;
    let note = format!(
        "azure.credential default: checked with {} (the link this environment selects); the \
         instance metadata endpoint is only probed with azure.credential = managed-identity",
        kind.name()
    );
    (checked, Some(note))
}

fn resource_graph_checks(cfg: &Config, env: &dyn Fn(&str) -> Option<String>) -> Vec<Check> {
    let (cfg, note) = credential_for_checks(cfg, env);
    let mut checks: Vec<Check> = note
        .map(|n| Check::pass("credential", n))
        .into_iter()
        .collect();
    checks.extend(query_checks(&cfg, env));
    checks
}

fn query_checks(cfg: &Config, env: &dyn Fn(&str) -> Option<String>) -> Vec<Check> {
    let rg = match ResourceGraph::from_config_with_env(cfg, env) {
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

/// Whether reports can be written where they go, leaving nothing behind: a blob container
/// gets a probe blob written and deleted; a folder is never created (a missing one is checked
/// through its nearest existing parent, which the first run creates it in).
fn output_check(cfg: &Config) -> Check {
    let name = "output location";
    match crate::store::Location::parse(&cfg.output.location) {
        Ok(crate::store::Location::Folder(dir)) => folder_output_check(name, &dir),
        Ok(crate::store::Location::Blob(_)) => blob_output_check(name, cfg),
        Err(e) => Check::fail(
            name,
            e,
            "set [output] location (or --out) to a folder or an existing container",
        ),
    }
}

/// A folder: writable if it exists, else its nearest existing parent must be. The probe is an
/// anonymous temporary file, gone when closed.
fn folder_output_check(name: &str, dir: &std::path::Path) -> Check {
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.is_dir())
        .map(|a| {
            if a.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                a
            }
        })
        .unwrap_or(std::path::Path::new("."));
    if let Err(e) = tempfile::tempfile_in(existing) {
        return Check::fail(
            name,
            format!("cannot write in {}: {e}", existing.display()),
            "give the job's user write access there, or set [output] location (or --out) to a \
             writable folder or a blob container",
        );
    }
    let detail = if existing == dir {
        format!("{} is writable", dir.display())
    } else {
        format!(
            "{} does not exist yet; the first run creates it in {} (writable)",
            dir.display(),
            existing.display()
        )
    };
    Check::pass(name, detail)
}

/// A blob container: write and delete a probe blob.
fn blob_output_check(name: &str, cfg: &Config) -> Check {
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
