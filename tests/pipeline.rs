//! The whole job on the bundled sample tenant, through the real CLI: the demo run, its
//! manifest re-hashed, showback against the export total, determinism, exit codes, and failed
//! runs that publish nothing.

mod support {
    pub mod cli;
    pub mod fs;
}

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::cli::{ledger, repo};
use support::fs::{copy_tree, files_under};

fn run_dirs(out: &Path, period: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out.join(period))
        .map(|it| it.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn demo(out: &Path, run_id: &str) -> PathBuf {
    let o = ledger(
        &["--out", out.to_str().unwrap(), "run", "--period", "2026-10"],
        &[("DEFENDER_LEDGER_RUN_ID", run_id)],
    );
    assert!(
        o.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.join("2026-10").join(run_id)
}

#[test]
fn demo_run_publishes_a_verifiable_reconciled_run_and_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let run = demo(&tmp.path().join("a"), "20261101T060000Z");

    // Every file the manifest lists re-hashes to its SHA-256, and nothing else is there.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let listed = manifest["files"].as_array().unwrap();
    for f in listed {
        let bytes = std::fs::read(run.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap(),
            "{}",
            f["path"]
        );
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
    }
    assert_eq!(
        files_under(&run).len(),
        listed.len() + 1,
        "only listed files plus the manifest"
    );
    assert_eq!(manifest["run_id"], "20261101T060000Z");
    // 2026-10-07 has no snapshot in the sample: listed as missing, never counted as 0 %.
    assert_eq!(
        manifest["provenance"]["snapshot_days_missing"],
        serde_json::json!(["2026-10-07"])
    );

    // Showback equals the October total of the FOCUS export's final run, which the sample's
    // generator summed independently: 33,128.7432141222 USD.
    let kpis: Value =
        serde_json::from_slice(&std::fs::read(run.join("kpis.json")).unwrap()).unwrap();
    let total = kpis["showback"]["export_total_by_currency"]["USD"]
        .as_f64()
        .unwrap();
    assert!((total - 33128.7432141222).abs() < 0.005, "{total}");
    let owners: f64 = kpis["showback"]["by_currency"]["USD"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((owners - total).abs() < 0.01);
    // The finance CSV column sums exactly to the rounded total.
    let mut csv = csv::Reader::from_path(run.join("finance/showback-by-owner.csv")).unwrap();
    let cents: i64 = csv
        .records()
        .map(|r| (r.unwrap()[2].parse::<f64>().unwrap() * 100.0).round() as i64)
        .sum();
    assert_eq!(cents, (total * 100.0).round() as i64);

    // The executive PDF shows the same numbers as kpis.json and the finance CSV.
    if let Ok(o) = Command::new("pdftotext")
        .args(["-layout"])
        .arg(run.join("executive/executive-report.pdf"))
        .arg("-")
        .output()
    {
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let rate = kpis["coverage"]["month_end_rate"].as_f64().unwrap();
        assert!(
            text.contains(&format!("{rate:.1}%")),
            "month-end rate {rate:.1}% in the PDF"
        );
        let mttd = kpis["detection_latency"]["overall"]["median"]
            .as_f64()
            .unwrap();
        assert!(
            text.contains(&format!("{mttd:.1} min")),
            "MTTD {mttd:.1} min in the PDF"
        );
        let high = kpis["runtime_alerts"]["high_total"].as_i64().unwrap();
        assert!(text.contains(&high.to_string()));
        let mut csv = csv::Reader::from_path(run.join("finance/showback-by-owner.csv")).unwrap();
        for r in csv.records() {
            let r = r.unwrap();
            let shown = format!("{} {}", &r[2], &r[0]);
            assert!(
                text.contains(&shown),
                "owner {} amount {shown} in the PDF as in the CSV",
                &r[1]
            );
        }
    } else {
        eprintln!("pdftotext not installed: PDF text not compared");
    }

    // Same inputs, another run id and folder: byte-identical files (the manifest differs only
    // by its run id and output location).
    let again = demo(&tmp.path().join("b"), "20261101T070000Z");
    for f in listed {
        let p = f["path"].as_str().unwrap();
        assert_eq!(
            std::fs::read(run.join(p)).unwrap(),
            std::fs::read(again.join(p)).unwrap(),
            "{p} differs"
        );
    }

    // A re-run into the same output keeps the first run and adds a second. `previous` is the
    // month before "today", pinned here so the test passes on any day.
    let o = ledger(
        &[
            "--out",
            tmp.path().join("a").to_str().unwrap(),
            "--today",
            "2026-11-02",
            "report",
            "--period",
            "previous",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(summary["period"], "2026-10");
    assert_eq!(run_dirs(&tmp.path().join("a"), "2026-10").len(), 2);
}

#[test]
fn wrong_arguments_and_config_exit_2_with_a_message() {
    let o = ledger(&["run", "--period", "2026-13"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("YYYY-MM"));
    let o = ledger(&["frobnicate"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = ledger(
        &["report", "--period", "2026-10"],
        &[("DEFENDER_LEDGER_ANOMALIES_FLOOR", "ten")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("DEFENDER_LEDGER_ANOMALIES_FLOOR"));
    let tmp = tempfile::tempdir().unwrap();
    let o = ledger(
        &[
            "--out",
            tmp.path().to_str().unwrap(),
            "run",
            "--period",
            "2026-10",
            "--source",
            "/nonexistent/tenant",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    // The summary line says what failed, for the scheduler's logs.
    let last: Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"], "failed");
    assert_eq!(last["exit_code"], 2);
}

#[test]
fn a_bad_page_names_file_row_and_column_and_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let tenant = tmp.path().join("tenant");
    copy_tree(
        &repo().join("sample-data/resource-graph"),
        &tenant.join("resource-graph"),
    );
    copy_tree(
        &repo().join("sample-data/cost-exports"),
        &tenant.join("cost-exports"),
    );
    let page = tenant.join("resource-graph/2026-10-15/aks_clusters.json");
    let text = std::fs::read_to_string(&page).unwrap();
    let broken = text.replacen(
        "\"defenderEnabled\":true",
        "\"defenderEnabled\":\"maybe\"",
        1,
    );
    assert_ne!(text, broken);
    std::fs::write(&page, broken).unwrap();
    let out = tmp.path().join("out");
    let o = ledger(
        &[
            "--out",
            out.to_str().unwrap(),
            "run",
            "--period",
            "2026-10",
            "--source",
            tenant.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("2026-10-15/aks_clusters.json page 1"), "{err}");
    assert!(err.contains("column 'defenderEnabled'"), "{err}");
    assert!(err.contains("row "), "{err}");
    assert!(run_dirs(&out, "2026-10").is_empty(), "nothing published");
}

#[test]
fn a_corrupt_cost_export_fails_the_run_before_anything_is_published_and_a_rerun_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let tenant = tmp.path().join("tenant");
    copy_tree(&repo().join("sample-data"), &tenant);
    // Truncate the last part of October's final FOCUS run.
    let part =
        files_under(&tenant.join("cost-exports/exports/focus/focus-monthly/20261001-20261031"))
            .into_iter()
            .rfind(|p| p.to_string_lossy().ends_with("part_1_0001.csv.gz"))
            .unwrap();
    let good = std::fs::read(&part).unwrap();
    std::fs::write(&part, &good[..good.len() / 2]).unwrap();
    let out = tmp.path().join("out");
    let args = [
        "--out",
        out.to_str().unwrap(),
        "run",
        "--period",
        "2026-10",
        "--source",
        tenant.to_str().unwrap(),
    ];
    let o = ledger(&args, &[]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("part_1_0001.csv.gz"));
    assert!(
        run_dirs(&out, "2026-10").is_empty(),
        "a failed run publishes nothing"
    );

    // Put the file back: the re-run (history already holds the snapshots) succeeds.
    std::fs::write(&part, &good).unwrap();
    let o = ledger(&args, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(run_dirs(&out, "2026-10").len(), 1);
}

#[test]
fn signed_run_verifies_and_a_tampered_byte_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A fixed Ed25519 seed (hex) passed through the environment, never on the command line.
    let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let o = ledger(
        &[
            "--out",
            out.to_str().unwrap(),
            "--signing-key",
            "env:TEST_LEDGER_KEY",
            "run",
            "--period",
            "2026-10",
        ],
        &[
            ("TEST_LEDGER_KEY", seed),
            ("DEFENDER_LEDGER_RUN_ID", "20261101T060000Z"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains(seed),
        "the key never reaches the logs"
    );
    let run = out.join("2026-10/20261101T060000Z");
    assert!(run.join("manifest.json.sig").exists());
    let pubkey = run.join("manifest.pub.pem");
    let verify = |key: &Path| {
        ledger(
            &[
                "verify",
                run.to_str().unwrap(),
                "--public-key",
                key.to_str().unwrap(),
            ],
            &[],
        )
    };
    assert_eq!(verify(&pubkey).status.code(), Some(0));

    // One byte changed in a finance CSV: verify exits 1 and names the file.
    let target = run.join("finance/showback-by-owner.csv");
    let mut bytes = std::fs::read(&target).unwrap();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'1' { b'2' } else { b'1' };
    std::fs::write(&target, bytes).unwrap();
    let o = verify(&pubkey);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("finance/showback-by-owner.csv"));
}
