//! The store against Azurite: publishing runs that never overwrite, block uploads, streaming
//! reads, a server that dies mid-publish, retries through a faulty proxy (publishing and
//! reading cost exports), history round trips and a missing container. Azurite is started by
//! `support::azurite` (or taken from `AZURITE_BLOB_ENDPOINT`).

mod support;

use bytes::Bytes;
use chrono::NaiveDate;
use defender_ledger::collect::cost_exports::{self, LoadOptions};
use defender_ledger::error::Error;
use defender_ledger::history::{DatasetRecord, History, SnapshotDays, SnapshotMarker};
use defender_ledger::model::{DATASETS, contract, rows_to_frame};
use defender_ledger::period::RunId;
use defender_ledger::store::{MANIFEST, Store};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};
use support::azurite::{self, Azurite};

fn data(len: usize, seed: u32) -> Vec<u8> {
    // Not compressible into a pattern Azurite could special-case; cheap to make.
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn read_all(store: &Store, rel: &str) -> Vec<u8> {
    let mut out = Vec::new();
    store.open_read(rel).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// The files of a small report run.
fn report_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "finance/showback-by-owner.csv",
            b"owner,currency,amount\nteam-a,EUR,12.34\n".to_vec(),
        ),
        ("data/showback.parquet", data(70_000, 1)),
        ("executive/executive-report.pdf", data(150_000, 2)),
        (
            "evidence/pci-dss-4.0.1/coverage.csv",
            b"a,b\n1,2\n".to_vec(),
        ),
        ("kpis.json", br#"{"schema_version":1}"#.to_vec()),
    ]
}

#[test]
fn publish_list_and_read_back_byte_identical() {
    let t = Instant::now();
    let (url, _) = azurite::fresh_location("publish", "ledger/prod");
    let store = Store::open_with(&url, true, &azurite::options(azurite::shared())).unwrap();
    store.check().unwrap();
    assert!(store.credential().unwrap().contains("account key"));
    assert_eq!(store.newest_committed_run("2026-10").unwrap(), None);

    let mut run = store.begin_run("2026-10").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (rel, bytes) in report_files() {
        if rel.ends_with(".pdf") {
            // Through the file path too (below the block size: a single Put Blob).
            let local = dir.path().join("report.pdf");
            std::fs::write(&local, &bytes).unwrap();
            run.put_file(rel, &local).unwrap();
        } else {
            run.put(rel, Bytes::from(bytes)).unwrap();
        }
    }
    let listed: Vec<String> = run.files().iter().map(|f| f.path.clone()).collect();
    // Nothing is visible to readers before the manifest.
    assert_eq!(store.newest_committed_run("2026-10").unwrap(), None);
    let id = run.commit(Bytes::from_static(b"{\"files\":[]}")).unwrap();
    assert_eq!(
        store.newest_committed_run("2026-10").unwrap(),
        Some(id.clone())
    );

    let run_dir = format!("2026-10/{id}");
    let mut expected: Vec<String> = listed.iter().map(|p| format!("{run_dir}/{p}")).collect();
    expected.push(format!("{run_dir}/{MANIFEST}"));
    expected.sort();
    let got: Vec<String> = store
        .list(&run_dir)
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(got, expected);

    for (rel, bytes) in report_files() {
        let path = format!("{run_dir}/{rel}");
        assert_eq!(
            store.get(&path).unwrap().as_ref(),
            bytes.as_slice(),
            "{rel}"
        );
        assert_eq!(read_all(&store, &path), bytes, "{rel}");
    }
    assert_eq!(
        store
            .content_type_of(&format!("{run_dir}/finance/showback-by-owner.csv"))
            .unwrap()
            .as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        store
            .content_type_of(&format!("{run_dir}/executive/executive-report.pdf"))
            .unwrap()
            .as_deref(),
        Some("application/pdf")
    );
    assert_eq!(
        store
            .content_type_of(&format!("{run_dir}/{MANIFEST}"))
            .unwrap()
            .as_deref(),
        Some("application/json")
    );
    eprintln!(
        "publish_list_and_read_back_byte_identical: {:?}",
        t.elapsed()
    );
}

#[test]
fn overwrite_is_refused_for_blobs_blocks_and_runs() {
    let (url, ep) = azurite::fresh_location("overwrite", "");
    let opts = azurite::options(&ep).with_block_size(256 * 1024);
    let store = Store::open_with(&url, true, &opts).unwrap();
    store
        .put_new(
            "2026-10/20261101T060000Z/a.csv",
            Bytes::from_static(b"first"),
        )
        .unwrap();
    let err = store
        .put_new(
            "2026-10/20261101T060000Z/a.csv",
            Bytes::from_static(b"second"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(err.to_string().contains("never overwrite"), "{err}");
    assert_eq!(
        store
            .get("2026-10/20261101T060000Z/a.csv")
            .unwrap()
            .as_ref(),
        b"first"
    );

    // A block upload onto an existing blob: the conditional commit refuses it.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.parquet");
    std::fs::write(&big, data(1_000_000, 3)).unwrap();
    let err = store
        .put_new_file("2026-10/20261101T060000Z/a.csv", &big)
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(
        store
            .get("2026-10/20261101T060000Z/a.csv")
            .unwrap()
            .as_ref(),
        b"first"
    );
    store.put_new_file("2026-10/x/big.parquet", &big).unwrap();
    let err = store
        .put_new_file("2026-10/x/big.parquet", &big)
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");

    // A used run-id cannot be started again.
    let err = store
        .begin_run_with_id("2026-10", RunId::parse("20261101T060000Z").unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
}

#[test]
fn multi_megabyte_file_goes_up_in_blocks_and_streams_back() {
    let t = Instant::now();
    let (url, ep) = azurite::fresh_location("blocks", "big");
    let container = url
        .trim_start_matches(&format!("{ep}/"))
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let opts = azurite::options(&ep).with_block_size(1024 * 1024);
    let store = Store::open_with(&url, true, &opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("export.csv.gz");
    let bytes = data(9 * 1024 * 1024 + 12_345, 4);
    std::fs::write(&local, &bytes).unwrap();

    let w = store.put_new_file("exports/export.csv.gz", &local).unwrap();
    assert_eq!(w.size, bytes.len() as u64);
    assert_eq!(w.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(
        azurite::committed_blocks(&ep, &container, "big/exports/export.csv.gz"),
        10
    );
    assert_eq!(
        store
            .content_type_of("exports/export.csv.gz")
            .unwrap()
            .as_deref(),
        Some("application/gzip")
    );
    let copy = dir.path().join("copy");
    assert_eq!(
        store.get_to_file("exports/export.csv.gz", &copy).unwrap(),
        bytes.len() as u64
    );
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
    assert_eq!(read_all(&store, "exports/export.csv.gz"), bytes);
    eprintln!("multi_megabyte_file_goes_up_in_blocks: {:?}", t.elapsed());
}

#[test]
fn azurite_stopped_mid_publish_leaves_no_manifest_and_a_rerun_succeeds() {
    let t = Instant::now();
    let state = tempfile::tempdir().unwrap();
    let mut emulator = Azurite::start(Some(state.path()), 0);
    let ep = emulator.endpoint();
    azurite::create_container(&ep, "reports");
    let url = format!("{ep}/reports/ledger");
    // Few, fast retries: the test stops the server on purpose.
    let opts = azurite::options(&ep).with_retries(2, Duration::from_secs(3));
    let store = Store::open_with(&url, true, &opts).unwrap();

    let mut run = store.begin_run("2026-10").unwrap();
    let failed_id = run.run_id().clone();
    let files = report_files();
    run.put(files[0].0, Bytes::from(files[0].1.clone()))
        .unwrap();
    run.put(files[1].0, Bytes::from(files[1].1.clone()))
        .unwrap();

    emulator.stop();
    let err = run
        .put(files[2].0, Bytes::from(files[2].1.clone()))
        .unwrap_err();
    assert_eq!(err.class().exit_code(), 5, "{err}");
    let err = run.commit(Bytes::from_static(b"{}")).unwrap_err();
    assert!(err.to_string().contains("not committed"), "{err}");

    // Restart on the same port and storage: what was written is there, but no manifest.
    let emulator = Azurite::start(Some(state.path()), emulator.port);
    let store = Store::open_with(&url, true, &opts).unwrap();
    let partial = store.list(&format!("2026-10/{failed_id}")).unwrap();
    assert_eq!(partial.len(), 2);
    assert!(partial.iter().all(|e| !e.path.ends_with(MANIFEST)));
    assert_eq!(store.newest_committed_run("2026-10").unwrap(), None);

    // The re-run gets a fresh run-id and commits.
    let mut rerun = store.begin_run("2026-10").unwrap();
    assert_ne!(rerun.run_id(), &failed_id);
    for (rel, bytes) in report_files() {
        rerun.put(rel, Bytes::from(bytes)).unwrap();
    }
    let id = rerun.commit(Bytes::from_static(b"{}")).unwrap();
    assert_eq!(
        store.newest_committed_run("2026-10").unwrap(),
        Some(id.clone())
    );
    assert_eq!(store.committed_runs("2026-10").unwrap(), vec![id]);
    drop(emulator);
    eprintln!("azurite_stopped_mid_publish: {:?}", t.elapsed());
}

#[test]
fn transient_server_errors_are_retried() {
    let (url, ep) = azurite::fresh_location("retry", "p");
    let proxy = support::faulty_proxy::start(&ep, 2);
    let proxied = url.replace(
        ep.trim_end_matches(azurite::ACCOUNT).trim_end_matches('/'),
        &proxy.base,
    );
    let opts = azurite::options(&ep)
        .with_retries(4, Duration::from_secs(20))
        .with_block_size(256 * 1024);
    let store = Store::open_with(&proxied, true, &opts).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("d.parquet");
    let bytes = data(700_000, 5);
    std::fs::write(&local, &bytes).unwrap();

    let mut run = store.begin_run("2026-10").unwrap();
    run.put("a.csv", Bytes::from_static(b"x,y\n")).unwrap();
    run.put_file("data/d.parquet", &local).unwrap();
    let id = run.commit(Bytes::from_static(b"{}")).unwrap();
    assert!(
        proxy.injected() >= 5,
        "only {} faults injected",
        proxy.injected()
    );
    assert_eq!(
        store.newest_committed_run("2026-10").unwrap(),
        Some(id.clone())
    );
    assert_eq!(
        read_all(&store, &format!("2026-10/{id}/data/d.parquet")),
        bytes
    );
}

#[test]
fn cost_exports_stream_through_server_errors_and_a_storm_names_the_request() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (url, ep) = azurite::fresh_location("costretry", "");
    let url = url.trim_end_matches('/').to_string();
    let direct = Store::open_with(&url, false, &azurite::options(&ep)).unwrap();
    upload_tree(&direct, &repo.join("sample-data/cost-exports"), "");
    let load = |store: &Store| {
        cost_exports::load(
            store,
            &["focus-monthly".to_string()],
            NaiveDate::from_ymd_opt(2026, 9, 17).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            &LoadOptions::default(),
        )
    };
    let through = |every: usize, retries: usize| {
        let proxy = support::faulty_proxy::start(&ep, every);
        let proxied = url.replace(
            ep.trim_end_matches(azurite::ACCOUNT).trim_end_matches('/'),
            &proxy.base,
        );
        let opts = azurite::options(&ep).with_retries(retries, Duration::from_secs(20));
        (Store::open_with(&proxied, false, &opts).unwrap(), proxy)
    };
    let folder = Store::open(
        repo.join("sample-data/cost-exports").to_str().unwrap(),
        false,
    )
    .unwrap();
    let expected = load(&folder).unwrap();

    // Every second request answered 503: the gzip parts still stream in whole.
    let (store, proxy) = through(2, 4);
    let got = load(&store).unwrap();
    assert!(proxy.injected() >= 3, "only {} faults", proxy.injected());
    assert_eq!(got.rows.row_count(), expected.rows.row_count());
    let total = |c: &cost_exports::CostData| c.rows.monthly.iter().map(|x| x.nanos).sum::<i64>();
    assert_eq!(total(&got), total(&expected));

    // Every request answered 503: a source error (exit 4) naming where, not a partial load.
    let (store, _proxy) = through(1, 1);
    let err = load(&store).unwrap_err();
    assert!(matches!(err, Error::Source { .. }), "{err:?}");
    assert!(err.to_string().contains("costretry"), "{err}");
}

#[test]
fn missing_container_says_it_must_exist() {
    let ep = azurite::shared();
    let url = format!("{ep}/{}/prefix", azurite::unique_container("absent"));
    let opts = azurite::options(ep).with_retries(1, Duration::from_secs(2));
    let store = Store::open_with(&url, true, &opts).unwrap();
    for err in [
        store.check().unwrap_err(),
        store
            .put_new("2026-10/r/a.csv", Bytes::from_static(b"x"))
            .unwrap_err(),
        store.list("2026-10").unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(
            msg.contains("does not exist") && msg.contains("create it first"),
            "{msg}"
        );
    }
}

#[test]
fn wrong_key_is_reported_as_access_denied() {
    let (url, ep) = azurite::fresh_location("badkey", "");
    let cs = azurite::connection_string(&ep, "QUJDREVGR0g=");
    let opts = defender_ledger::store::StoreOptions::default()
        .with_env("AZURE_STORAGE_CONNECTION_STRING", &cs)
        .with_retries(1, Duration::from_secs(2));
    let store = Store::open_with(&url, true, &opts).unwrap();
    let msg = store.check().unwrap_err().to_string();
    assert!(msg.contains("access denied"), "{msg}");
    assert!(!msg.contains("QUJDREVGR0g="), "{msg}");
}

#[test]
fn history_round_trips_through_blob() {
    let (url, ep) = azurite::fresh_location("history", "ledger");
    let store = Store::open_with(&url, true, &azurite::options(&ep)).unwrap();
    let history = History::new(&store);
    let subs = contract("subscriptions").unwrap();
    let rows = |name: &str| {
        vec![serde_json::json!({
            "subscriptionId": "00000000-0000-0000-0000-000000000001",
            "subscriptionName": name,
            "tenantId": "t",
            "state": "Enabled",
            "managementGroups": [{"name": "mg", "displayName": "MG"}],
            "tags": {"owner": "team-a"},
        })]
    };
    let days = [
        NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(),
    ];
    let mut written = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let run = RunId::parse(&format!("2026100{}T001500Z", i + 2)).unwrap();
        let mut datasets = BTreeMap::new();
        for c in DATASETS {
            let df = if c.dataset == "subscriptions" {
                rows_to_frame(subs, &rows(&format!("sub-{i}")), "test", 0).unwrap()
            } else {
                c.empty_frame()
            };
            history.write_dataset(c.dataset, *day, &run, &df).unwrap();
            datasets.insert(
                c.dataset.to_string(),
                DatasetRecord {
                    rows: df.height(),
                    total_records: df.height() as i64,
                    pages: 1,
                    origin: "test".into(),
                    query_sha256: None,
                },
            );
            if c.dataset == "subscriptions" {
                written.push(df);
            }
        }
        history
            .commit_day(&SnapshotMarker {
                date: *day,
                run_id: run.to_string(),
                source: "test".into(),
                datasets,
            })
            .unwrap();
    }
    // A later snapshot of day 2 that never committed is ignored.
    let orphan = RunId::parse("20261003T120000Z").unwrap();
    history
        .write_dataset(
            "subscriptions",
            days[1],
            &orphan,
            &rows_to_frame(subs, &rows("never-committed"), "test", 0).unwrap(),
        )
        .unwrap();

    let loaded = history
        .days_before(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        .unwrap();
    assert_eq!(loaded.days(), days);
    let mut frames = vec![];
    for i in 0..days.len() {
        frames.push(
            loaded
                .day(i, &["subscriptions"])
                .unwrap()
                .frame("subscriptions")
                .clone(),
        );
    }
    let frame = frames[0].vstack(&frames[1]).unwrap();
    assert_eq!(frame.height(), 2);
    let names_ca = frame.column("subscriptionName").unwrap().str().unwrap();
    let names: Vec<Option<&str>> = (0..frame.height()).map(|i| names_ca.get(i)).collect();
    assert_eq!(names, [Some("sub-0"), Some("sub-1")]);
    let without_date = frame.drop("snapshot_date").unwrap();
    let expected = written[0].vstack(&written[1]).unwrap();
    assert!(without_date.equals_missing(&expected));
    let only_first = history.days_before(days[1]).unwrap();
    assert_eq!(only_first.days(), &days[..1]);
}

/// Upload every file under `root` to `store`, at `prefix` + its path below `root`.
fn upload_tree(store: &Store, root: &std::path::Path, prefix: &str) {
    for f in support::fs::files_under(root) {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        store
            .put_new(
                &format!("{prefix}{rel}"),
                Bytes::from(std::fs::read(&f).unwrap()),
            )
            .unwrap();
    }
}

/// The whole job with Azure Blob on both sides: cost exports read from one container, the
/// run and its history published to another. The published run re-hashes against its
/// manifest, and the showback equals what the same exports give from a folder.
#[test]
fn whole_run_published_to_blob_with_exports_read_from_blob() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (exports_url, ep) = azurite::fresh_location("exports", "");
    let (reports_url, _) = azurite::fresh_location("reports", "ledger");
    let exports_url = exports_url.trim_end_matches('/').to_string();
    let cs = azurite::connection_string(&ep, &azurite::account_key());

    // Upload the sample's export container as it would be in Azure.
    let exports = Store::open_with(&exports_url, false, &azurite::options(&ep)).unwrap();
    upload_tree(&exports, &repo.join("sample-data/cost-exports"), "");

    let ledger = |out: &str, cost: Option<&str>, run_id: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_defender-ledger"));
        cmd.current_dir(&repo)
            .args(["--out", out, "run", "--period", "2026-10"])
            .env("DEFENDER_LEDGER_LOG", "warn")
            .env("DEFENDER_LEDGER_RUN_ID", run_id)
            .env("AZURE_STORAGE_CONNECTION_STRING", &cs);
        if let Some(c) = cost {
            cmd.env("DEFENDER_LEDGER_COST_LOCATION", c);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains(&azurite::account_key()),
            "no key in logs"
        );
    };
    ledger(&reports_url, Some(&exports_url), "20261101T060000Z");

    let reports = Store::open_with(&reports_url, false, &azurite::options(&ep)).unwrap();
    let run = "2026-10/20261101T060000Z";
    assert_eq!(
        reports
            .newest_committed_run("2026-10")
            .unwrap()
            .map(|r| r.to_string())
            .as_deref(),
        Some("20261101T060000Z")
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&reports.get(&format!("{run}/{MANIFEST}")).unwrap()).unwrap();
    for f in manifest["files"].as_array().unwrap() {
        let bytes = reports
            .get(&format!("{run}/{}", f["path"].as_str().unwrap()))
            .unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap(),
            "{}",
            f["path"]
        );
    }
    assert!(
        !reports.list("history/_snapshots").unwrap().is_empty(),
        "history lives in blob too"
    );

    // The same exports from the sample's folder give the same showback.
    let tmp = tempfile::tempdir().unwrap();
    ledger(tmp.path().to_str().unwrap(), None, "20261101T060000Z");
    let from_folder: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join(run).join("kpis.json")).unwrap())
            .unwrap();
    let from_blob: serde_json::Value =
        serde_json::from_slice(&reports.get(&format!("{run}/kpis.json")).unwrap()).unwrap();
    assert_eq!(from_blob["showback"], from_folder["showback"]);
    assert_eq!(from_blob["anomalies"], from_folder["anomalies"]);

    // The recorded Resource Graph pages replayed from a blob prefix too (opened with the
    // configured storage options): the same KPIs as the folder replay.
    let (replay_url, _) = azurite::fresh_location("replay", "tenant");
    let replay = Store::open_with(&replay_url, false, &azurite::options(&ep)).unwrap();
    upload_tree(
        &replay,
        &repo.join("sample-data/resource-graph"),
        "resource-graph/",
    );
    let out = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_defender-ledger"))
        .current_dir(&repo)
        .args([
            "--out",
            out.path().to_str().unwrap(),
            "run",
            "--period",
            "2026-10",
        ])
        .env("DEFENDER_LEDGER_LOG", "warn")
        .env("DEFENDER_LEDGER_RUN_ID", "20261101T060000Z")
        .env("DEFENDER_LEDGER_SOURCE_REPLAY_DIR", &replay_url)
        .env("DEFENDER_LEDGER_COST_LOCATION", &exports_url)
        .env("AZURE_STORAGE_CONNECTION_STRING", &cs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let replayed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join(run).join("kpis.json")).unwrap())
            .unwrap();
    assert_eq!(replayed, from_folder);
}
