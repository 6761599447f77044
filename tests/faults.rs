//! The fault matrix: each input fault a finance user can meet, injected into a copy of the
//! bundled sample tenant and run through the real CLI. Every case asserts the exit code, the
//! message (what is wrong, where, and what to do) and what is published: nothing at all for
//! an error, the finding in kpis.json for a warning. Clocks are pinned; no traffic leaves
//! 127.0.0.1 (the doctor case has a stand-in `az` that is logged out, so no token is ever
//! sent anywhere).

mod support {
    pub mod cli;
    pub mod fs;
}

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::cli::{self, repo};
use support::fs::{copy_tree, files_under};

/// The job with its clock pinned: every fault here is independent of the calendar.
fn ledger(args: &[&str], envs: &[(&str, &str)]) -> Output {
    cli::ledger_on("2026-12-01", args, envs)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The summary line a failed or finished command prints last on stdout.
fn summary(o: &Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(out.lines().last().expect("a summary line")).expect("JSON")
}

/// A copy of the sample tenant (Resource Graph pages and cost exports) to break.
struct Tenant {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    out: PathBuf,
}

impl Tenant {
    fn new() -> Tenant {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("tenant");
        for part in ["resource-graph", "cost-exports"] {
            copy_tree(&repo().join("sample-data").join(part), &root.join(part));
        }
        let out = tmp.path().join("out");
        Tenant {
            _tmp: tmp,
            root,
            out,
        }
    }

    fn exports(&self) -> PathBuf {
        self.root.join("cost-exports/exports/focus/focus-monthly")
    }

    /// The month's final run of the FOCUS export (the one a report of that month reads).
    fn final_run(&self, range: &str) -> PathBuf {
        let mut runs: Vec<PathBuf> = files_under(&self.exports().join(range))
            .into_iter()
            .filter(|p| p.ends_with("manifest.json"))
            .map(|p| p.parent().unwrap().to_path_buf())
            .collect();
        runs.sort();
        runs.pop().expect("a run")
    }

    /// `run --period P` of this tenant into its own output folder.
    fn run(&self, period: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "--out",
            self.out.to_str().unwrap(),
            "run",
            "--period",
            period,
            "--source",
            self.root.to_str().unwrap(),
        ];
        args.extend(extra);
        ledger(&args, &[])
    }

    /// The runs published for `period` (folders under `<out>/<period>`).
    fn published(&self, period: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.out.join(period))
            .map(|it| it.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    fn kpis(&self, period: &str) -> Value {
        let run = self.published(period).pop().expect("a published run");
        serde_json::from_slice(&std::fs::read(run.join("kpis.json")).unwrap()).unwrap()
    }
}

fn data_quality(kpis: &Value) -> Vec<String> {
    kpis["data_quality"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Rewrite one gzip CSV part of a run through `edit` (its text in, new text out) and keep
/// the run's manifest true to it (byte and row counts), so only the edit is at fault.
fn rewrite_part(run: &Path, part: &str, edit: impl FnOnce(String) -> String) {
    let path = run.join(part);
    let mut text = String::new();
    MultiGzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let text = edit(text);
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let rows = text.lines().count().saturating_sub(1) as u64;
    edit_manifest(run, |m| {
        for b in m["blobs"].as_array_mut().unwrap() {
            if b["blobName"].as_str().unwrap().ends_with(part) {
                b["byteCount"] = bytes.len().into();
                b["dataRowCount"] = rows.into();
            }
        }
    });
}

fn edit_manifest(run: &Path, edit: impl FnOnce(&mut Value)) {
    let path = run.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// Line `n` (1-based) of `text` with its `column`-th comma-separated field replaced (the
/// fields before it are never quoted in the sample exports).
fn with_field(text: String, n: usize, column: usize, value: &str) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    let mut fields: Vec<&str> = lines[n - 1].splitn(column + 2, ',').collect();
    fields[column] = value;
    lines[n - 1] = fields.join(",");
    lines.concat()
}

/// BillingCurrency is the fifth FOCUS column of the sample exports.
const CURRENCY: usize = 4;

fn assert_failed(o: &Output, code: i32, class: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    let s = summary(o);
    assert_eq!(s["outcome"], "failed");
    assert_eq!(s["error_class"], class);
}

#[test]
fn a_month_without_its_export_run_exits_3_naming_the_export_and_the_days() {
    let t = Tenant::new();
    std::fs::remove_dir_all(t.exports().join("20260901-20260930")).unwrap();
    let o = t.run("2026-09", &[]);
    assert_failed(&o, 3, "input");
    let err = stderr(&o);
    assert!(
        err.contains("cost export 'focus-monthly' has no data for 2026-09-01 to 2026-09-30"),
        "{err}"
    );
    assert!(
        err.contains("Run now") && err.contains("--allow-partial-cost"),
        "{err}"
    );
    assert!(t.published("2026-09").is_empty(), "nothing published");
}

#[test]
fn a_partial_month_needs_the_option_and_then_says_so_everywhere() {
    let t = Tenant::new();
    // October's final run is not there yet: the month-to-date run covers 10-01 to 10-15.
    std::fs::remove_dir_all(t.final_run("20261001-20261031").parent().unwrap()).unwrap();
    let o = t.run("2026-10", &[]);
    assert_failed(&o, 3, "input");
    let err = stderr(&o);
    assert!(
        err.contains(
            "has no data for 2026-10-16 to 2026-10-31 of the period 2026-10-01 to 2026-10-31"
        ),
        "{err}"
    );
    assert!(t.published("2026-10").is_empty(), "nothing published");

    let o = t.run("2026-10", &["--allow-partial-cost"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dq = data_quality(&t.kpis("2026-10"));
    assert!(
        dq.iter().any(|l| l.starts_with(
            "partial: cost data until 2026-10-15; no export run covers 2026-10-16 to 2026-10-31"
        )),
        "{dq:#?}"
    );
    let run = t.published("2026-10").pop().unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let cost = &manifest["provenance"]["cost_exports"];
    assert_eq!(
        cost["status"], "partial: cost data until 2026-10-15",
        "{cost}"
    );
    assert_eq!(cost["partial_until"], "2026-10-15");
    let page1 = Command::new("pdftotext")
        .args(["-l", "1", "-layout"])
        .arg(run.join("executive/executive-report.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; scripts/test.sh installs it)");
    let page1 = String::from_utf8_lossy(&page1.stdout);
    assert!(
        page1.contains("partial: cost data until 2026-10-15"),
        "{page1}"
    );

    // verify names the run folder as given, leading slash included.
    let o = ledger(&["verify", run.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("verify {}", run.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_export_whose_parts_hold_only_a_header_exits_3() {
    let t = Tenant::new();
    let run = t.final_run("20261001-20261031");
    for part in ["part_0_0001.csv.gz", "part_1_0001.csv.gz"] {
        rewrite_part(&run, part, |text| {
            text.split_inclusive('\n').next().unwrap().to_string()
        });
    }
    let o = t.run("2026-10", &[]);
    assert_failed(&o, 3, "input");
    let err = stderr(&o);
    assert!(
        err.contains("cost export 'focus-monthly' has no cost row charged in the period 2026-10-01 to 2026-10-31"),
        "{err}"
    );
    assert!(err.contains("only a header"), "{err}");
    assert!(t.published("2026-10").is_empty(), "nothing published");
}

#[test]
fn a_currency_outside_iso_4217_exits_3_naming_file_line_and_column_or_is_set_aside() {
    let t = Tenant::new();
    let run = t.final_run("20261001-20261031");
    rewrite_part(&run, "part_0_0001.csv.gz", |text| {
        with_field(text, 3, CURRENCY, "ZZZ")
    });
    let o = t.run("2026-10", &[]);
    assert_failed(&o, 3, "input");
    let err = stderr(&o);
    assert!(err.contains("part_0_0001.csv.gz, line 3"), "{err}");
    assert!(
        err.contains("column BillingCurrency: 'ZZZ' is not an ISO 4217 currency code"),
        "{err}"
    );
    assert!(t.published("2026-10").is_empty(), "nothing published");

    // With --rejects the row is set aside, counted and published apart; history is already
    // there from the run above.
    let o = ledger(
        &[
            "--out",
            t.out.to_str().unwrap(),
            "report",
            "--period",
            "2026-10",
            "--rejects",
        ],
        &[(
            "DEFENDER_LEDGER_SOURCE_REPLAY_DIR",
            t.root.to_str().unwrap(),
        )],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = t.published("2026-10").pop().unwrap();
    let rejects = std::fs::read_to_string(run.join("finance/rejected-cost-rows.csv")).unwrap();
    assert!(
        rejects.contains("ZZZ") && rejects.contains("ISO 4217"),
        "{rejects}"
    );
    let dq = data_quality(&t.kpis("2026-10"));
    assert!(
        dq.iter()
            .any(|l| l.starts_with("1 cost export rows were rejected")),
        "{dq:#?}"
    );
}

#[test]
fn a_multi_megabyte_cell_fails_fast_naming_file_line_and_column() {
    let t = Tenant::new();
    let run = t.final_run("20261001-20261031");
    let huge = "A".repeat(4 << 20);
    rewrite_part(&run, "part_1_0001.csv.gz", |text| {
        with_field(text, 5, CURRENCY, &huge)
    });
    let started = Instant::now();
    let o = t.run("2026-10", &[]);
    let took = started.elapsed();
    assert_failed(&o, 3, "input");
    let err = stderr(&o);
    assert!(err.contains("part_1_0001.csv.gz, line 5"), "{err}");
    assert!(
        err.contains("column BillingCurrency: a cell longer than 65536 bytes (the per-cell limit)"),
        "{err}"
    );
    assert!(err.len() < 10_000, "the message does not quote the cell");
    // The whole run (60 snapshot days, September's report, then this failure) in a dev build.
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(t.published("2026-10").is_empty(), "nothing published");
}

/// Replace the value of the first `"key":"..."` in a Resource Graph page file.
fn replace_first_value(path: &Path, key: &str, value: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let pat = format!("\"{key}\":\"");
    let at = text.find(&pat).expect("the key is in the page") + pat.len();
    let end = at + text[at..].find('"').unwrap();
    let old = text[at..end].to_string();
    std::fs::write(path, format!("{}{value}{}", &text[..at], &text[end..])).unwrap();
    old
}

#[test]
fn unknown_severities_and_statuses_are_findings_naming_file_row_and_value() {
    let t = Tenant::new();
    let day = t.root.join("resource-graph/2026-10-20");
    replace_first_value(&day.join("security_alerts.json"), "severity", "Banana");
    replace_first_value(&day.join("security_alerts.json"), "status", "Exploded");
    replace_first_value(&day.join("vulnerabilities.json"), "statusCode", "Fixed?");
    let o = t.run("2026-10", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dq = data_quality(&t.kpis("2026-10"));
    let find = |prefix: &str| {
        dq.iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no finding {prefix}: {dq:#?}"))
            .clone()
    };
    let sev = find("security_alerts.severity: unknown value 'Banana' in 1 row(s), first in ");
    assert!(
        sev.contains("/history/security_alerts/date=2026-10-20, row 1;"),
        "{sev}"
    );
    assert!(
        sev.contains("known: High, Medium, Low, Informational"),
        "{sev}"
    );
    find("security_alerts.status: unknown value 'Exploded' in 1 row(s)");
    let status = find("vulnerabilities.statusCode: unknown value 'Fixed?'");
    assert!(
        status.contains("not"),
        "says what the KPIs do with it: {status}"
    );
}

#[test]
fn an_unknown_data_version_is_a_warning_and_with_a_failing_schema_an_error_naming_it() {
    let t = Tenant::new();
    let run = t.final_run("20261001-20261031");
    edit_manifest(&run, |m| m["exportConfig"]["dataVersion"] = "9.9".into());
    let o = t.run("2026-10", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dq = data_quality(&t.kpis("2026-10"));
    assert!(
        dq.iter().any(|l| l.contains(
            "dataVersion '9.9' is not one known for FocusCost exports (1.0, 1.0r2, 1.2-preview)"
        )),
        "{dq:#?}"
    );

    // The same version with a header the schema check refuses: an error that names it.
    rewrite_part(&run, "part_0_0001.csv.gz", |text| {
        text.replacen("BillingCurrency,", "Currency9,", 1)
    });
    let t2_out = t.out.with_file_name("out-2");
    let o = ledger(
        &[
            "--out",
            t2_out.to_str().unwrap(),
            "run",
            "--period",
            "2026-10",
            "--source",
            t.root.to_str().unwrap(),
        ],
        &[],
    );
    assert_failed(&o, 3, "input");
    let err = stderr(&o);
    assert!(
        err.contains("unknown cost export schema: no billing currency column"),
        "{err}"
    );
    assert!(
        err.contains("the run's manifest names dataVersion '9.9' is not one known for FocusCost"),
        "{err}"
    );
    assert!(!t2_out.join("2026-10").exists(), "nothing published");
}

#[test]
fn an_inverted_date_range_exits_2_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = ledger(
        &[
            "--out",
            out.to_str().unwrap(),
            "snapshot",
            "--from",
            "2026-09-10",
            "--to",
            "2026-09-01",
            "--source",
            repo().join("sample-data").to_str().unwrap(),
        ],
        &[],
    );
    assert_failed(&o, 2, "usage");
    assert!(
        stderr(&o)
            .contains("--to 2026-09-01 is before --from 2026-09-10: the range selects no day"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing stored");
}

#[test]
fn doctor_with_nothing_configured_answers_in_seconds_and_creates_nothing() {
    // An empty working folder, no DEFENDER_LEDGER_* or AZURE_* variable, and an Azure CLI
    // that is logged out: the default credential chain must not wait on the instance
    // metadata endpoint, and no ./out may appear.
    let cwd = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let az = bin.path().join("az");
    std::fs::write(
        &az,
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_defender-ledger"))
        .current_dir(cwd.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .env("HOME", cwd.path())
        .args(["--today", "2026-11-02", "doctor"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_failed(&o, 2, "usage");
    let err = stderr(&o);
    assert!(
        err.contains("[FAIL] configuration: nothing is configured"),
        "{err}"
    );
    assert!(err.contains("fix: copy defender-ledger.toml"), "{err}");
    assert!(err.contains("checked with azure-cli"), "{err}");
    assert!(
        err.contains("[ ok ] output location: ./out does not exist yet"),
        "{err}"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().collect();
    assert!(left.is_empty(), "doctor left {left:?} behind");
}
