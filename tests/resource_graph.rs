//! Live collection against an in-process fake of Azure Resource Graph on 127.0.0.1. No test
//! contacts any other address: credentials are a static test token or a stand-in `az`.

mod support {
    pub mod fake_arg;
}

use defender_ledger::collect::Source;
use defender_ledger::collect::auth::StaticTokenCredential;
use defender_ledger::collect::resource_graph::{QuerySet, ResourceGraph, RetryPolicy, Scope};
use defender_ledger::config::Config;
use defender_ledger::error::ErrorClass;
use defender_ledger::model::{self, DATASETS};
use serde_json::json;
use std::time::{Duration, Instant};
use support::fake_arg::{FakeArg, Fault, rows_for};

fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 9, 5).unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_secs(5),
        max_attempts: 4,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..RetryPolicy::default()
    }
}

fn client(fake: &FakeArg, retry: RetryPolicy) -> ResourceGraph {
    ResourceGraph::builder(
        &fake.url,
        StaticTokenCredential::new(&["tok-1"], Duration::from_secs(3600)),
    )
    .queries(QuerySet::embedded())
    .retry(retry)
    .build()
    .unwrap()
}

fn registries(n: usize) -> FakeArg {
    let c = model::contract("container_registries").unwrap();
    FakeArg::builder()
        .dataset("container_registries", rows_for(c, n, 3))
        .start()
}

#[test]
fn pages_follow_skip_token_with_the_same_query_and_are_validated() {
    let fake = registries(2500);
    let rg = client(&fake, fast_retry());
    let c = model::contract("container_registries").unwrap();
    let got = rg.collect(c, day()).unwrap().unwrap();
    assert_eq!(got.height(), 2500);
    assert_eq!(got.total_records, 2500);
    assert_eq!(got.pages, 3);
    let q = rg.queries().get("container_registries").unwrap();
    assert_eq!(got.query_sha256.as_deref(), Some(q.sha256.as_str()));

    let log = fake.log();
    assert_eq!(log.len(), 3);
    assert_eq!(log.iter().map(|l| l.page).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(log[0].skip_token.is_none() && log[1].skip_token.is_some());
    for l in &log {
        assert_eq!(l.status, 200);
        assert_eq!(l.token, "tok-1");
        assert_eq!(l.body["query"], json!(q.text));
        assert_eq!(l.body["options"]["$top"], 1000);
        assert_eq!(l.body["options"]["resultFormat"], "objectArray");
    }
    assert!(fake.pages_served_twice().is_empty());
}

#[test]
fn every_dataset_collects_through_the_source_trait() {
    let mut b = FakeArg::builder();
    for c in DATASETS {
        b = b.dataset(c.dataset, rows_for(c, 1200, 4));
    }
    let fake = b.start();
    let rg = client(&fake, fast_retry());
    assert!(rg.days().unwrap().is_none());
    assert!(rg.describe().contains("Azure Resource Graph"));
    for c in DATASETS {
        let got = rg.collect(c, day()).unwrap().unwrap();
        assert_eq!(
            (got.height(), got.total_records, got.pages),
            (1200, 1200, 2),
            "{}",
            c.dataset
        );
        assert_eq!(
            got.rows.read().unwrap().schema().as_ref(),
            &c.schema(),
            "{}",
            c.dataset
        );
    }
}

#[test]
fn a_429_waits_retry_after_and_the_page_is_fetched_once() {
    let fake = registries(1500);
    fake.fault(
        Some("container_registries"),
        Some(2),
        Fault::Throttle {
            retry_after_secs: 1,
        },
        1,
    );
    let rg = client(&fake, fast_retry());
    let got = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap()
        .unwrap();
    assert_eq!(got.height(), 1500);
    let log = fake.log();
    let statuses: Vec<_> = log.iter().map(|l| (l.page, l.status)).collect();
    assert_eq!(statuses, [(1, 200), (2, 429), (2, 200)]);
    let gap = log[2].at - log[1].at;
    assert!(
        gap >= Duration::from_secs(1),
        "retried after {gap:?}, Retry-After was 1 s"
    );
    assert!(fake.pages_served_twice().is_empty());
}

#[test]
fn quota_headers_pace_requests_before_any_429() {
    // 3 requests per 1 s window, 8 pages: the client must wait for resets, never be throttled.
    let c = model::contract("container_registries").unwrap();
    let fake = FakeArg::builder()
        .dataset("container_registries", rows_for(c, 7500, 2))
        .quota(3, Duration::from_secs(1))
        .latency(Duration::from_millis(20))
        .start();
    let rg = client(&fake, fast_retry());
    let t = Instant::now();
    let got = rg.collect(c, day()).unwrap().unwrap();
    assert_eq!(got.height(), 7500);
    let log = fake.log();
    assert!(
        log.iter().all(|l| l.status == 200),
        "{:?}",
        log.iter().map(|l| l.status).collect::<Vec<_>>()
    );
    assert_eq!(log.len(), 8);
    // Pages 4 and 7 open new windows.
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(
        rg.stats()
            .paced_ms
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
}

#[test]
fn bursts_of_500s_resets_and_malformed_bodies_are_retried() {
    let fake = registries(3500);
    let ds = Some("container_registries");
    fake.fault(ds, Some(1), Fault::Malformed, 1);
    fake.fault(ds, Some(2), Fault::Status(500), 3);
    fake.fault(ds, Some(3), Fault::CutBody, 1);
    fake.fault(ds, Some(4), Fault::Status(503), 1);
    let rg = client(&fake, fast_retry());
    let got = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap()
        .unwrap();
    assert_eq!(got.height(), 3500);
    assert!(
        fake.pages_served_twice().is_empty(),
        "{:?}",
        fake.pages_served_twice()
    );
    let per_page = |p| fake.log().iter().filter(|l| l.page == p).count();
    assert_eq!(
        (per_page(1), per_page(2), per_page(3), per_page(4)),
        (2, 4, 2, 2)
    );
}

#[test]
fn persistent_500s_fail_naming_query_scope_and_page() {
    let fake = registries(2500);
    fake.fault(
        Some("container_registries"),
        Some(2),
        Fault::Status(500),
        100,
    );
    let rg = client(
        &fake,
        RetryPolicy {
            max_attempts: 3,
            ..fast_retry()
        },
    );
    let err = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Source);
    assert_eq!(err.class().exit_code(), 4);
    let msg = err.to_string();
    for part in [
        "container_registries",
        "queries/container_registries.kql",
        "tenant scope",
        "page 2",
        "HTTP 500",
        "gave up after 3 attempts",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    assert_eq!(fake.log().iter().filter(|l| l.page == 2).count(), 3);
}

#[test]
fn invalid_query_is_not_retried_and_shows_the_parser_position() {
    let fake = registries(10);
    fake.fault(None, None, Fault::InvalidQuery, 1);
    let rg = client(&fake, fast_retry());
    let err = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Source);
    let msg = err.to_string();
    for part in [
        "page 1",
        "HTTP 400",
        "InvalidQuery",
        "line 1, position 42",
        "correlationId",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    assert_eq!(fake.log().len(), 1);
}

#[test]
fn truncated_results_are_refused_not_shortened() {
    let fake = registries(2500);
    fake.fault(None, Some(1), Fault::Truncated, 1);
    let rg = client(&fake, fast_retry());
    let err = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("resultTruncated") && msg.contains("page 1"),
        "{msg}"
    );
    assert!(msg.contains("1000 of 2500"), "{msg}");
    assert_eq!(fake.log().len(), 1);
}

#[test]
fn a_response_slower_than_the_timeout_is_abandoned_and_retried() {
    let fake = registries(1500);
    fake.fault(None, Some(2), Fault::Slow(Duration::from_secs(3)), 1);
    let rg = client(
        &fake,
        RetryPolicy {
            request_timeout: Duration::from_millis(700),
            ..fast_retry()
        },
    );
    let t = Instant::now();
    let got = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap()
        .unwrap();
    assert_eq!(got.height(), 1500);
    assert!(t.elapsed() >= Duration::from_millis(700) && t.elapsed() < Duration::from_secs(3));
    assert_eq!(fake.log().iter().filter(|l| l.page == 2).count(), 2);

    // Always slow: the final error says it timed out, with query and page.
    let fake = registries(10);
    fake.fault(None, None, Fault::Slow(Duration::from_secs(2)), 100);
    let rg = client(
        &fake,
        RetryPolicy {
            request_timeout: Duration::from_millis(300),
            max_attempts: 2,
            ..fast_retry()
        },
    );
    let msg = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("timed out") && msg.contains("page 1"), "{msg}");
}

#[test]
fn an_expired_token_is_replaced_mid_run() {
    let fake = registries(2500);
    fake.fault(None, Some(2), Fault::ExpiredToken, 1);
    let cred = StaticTokenCredential::new(&["tok-1", "tok-2"], Duration::from_secs(3600));
    let rg = ResourceGraph::builder(&fake.url, cred.clone())
        .queries(QuerySet::embedded())
        .retry(fast_retry())
        .build()
        .unwrap();
    let got = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap()
        .unwrap();
    assert_eq!(got.height(), 2500);
    let seen: Vec<_> = fake
        .log()
        .iter()
        .map(|l| (l.page, l.status, l.token.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, 200, "tok-1".to_string()),
            (2, 401, "tok-1".to_string()),
            (2, 200, "tok-2".to_string()),
            (3, 200, "tok-2".to_string()),
        ]
    );
    assert_eq!(cred.issued(), 2);
    assert!(!format!("{rg:?}").contains("tok-"));
}

#[test]
fn subscription_lists_are_sent_in_chunks_and_management_groups_as_is() {
    let c = model::contract("container_registries").unwrap();
    let subs: Vec<String> = (0..1500)
        .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
        .collect();
    let fake = FakeArg::builder()
        .dataset("container_registries", rows_for(c, 3000, 1500))
        .start();
    let rg = ResourceGraph::builder(
        &fake.url,
        StaticTokenCredential::new(&["t"], Duration::from_secs(3600)),
    )
    .queries(QuerySet::embedded())
    .retry(fast_retry())
    .scope(Scope::Subscriptions(subs))
    .build()
    .unwrap();
    let got = rg.collect(c, day()).unwrap().unwrap();
    assert_eq!((got.height(), got.total_records), (3000, 3000));
    let sizes: Vec<usize> = fake
        .log()
        .iter()
        .map(|l| l.body["subscriptions"].as_array().unwrap().len())
        .collect();
    // 1000 subscriptions hold 2000 rows (2 pages), the other 500 hold 1000 rows (1 page).
    assert_eq!(sizes, [1000, 1000, 500]);

    let fake = registries(5);
    let rg = ResourceGraph::builder(
        &fake.url,
        StaticTokenCredential::new(&["t"], Duration::from_secs(3600)),
    )
    .queries(QuerySet::embedded())
    .scope(Scope::ManagementGroups(vec![
        "mg-platform".into(),
        "mg-apps".into(),
    ]))
    .build()
    .unwrap();
    rg.collect(c, day()).unwrap().unwrap();
    let body = &fake.log()[0].body;
    assert_eq!(body["managementGroups"], json!(["mg-platform", "mg-apps"]));
    assert!(body.get("subscriptions").is_none());
    assert_eq!(body["options"]["allowPartialScopes"], false);
}

#[test]
fn the_tenant_subscription_limit_is_an_error() {
    let fake = registries(5);
    fake.fault(None, None, Fault::SubscriptionLimit, 1);
    let rg = client(&fake, fast_retry());
    let msg = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("10,000") && msg.contains("page 1"), "{msg}");
}

#[test]
fn a_row_that_breaks_the_contract_names_page_row_and_column() {
    let c = model::contract("container_registries").unwrap();
    let mut rows = rows_for(c, 1500, 1);
    rows[1200]["adminUserEnabled"] = json!("sometimes");
    let fake = FakeArg::builder()
        .dataset("container_registries", rows)
        .start();
    let err = client(&fake, fast_retry()).collect(c, day()).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Input);
    let msg = err.to_string();
    assert!(
        msg.contains("page 2") && msg.contains("row 1201") && msg.contains("adminUserEnabled"),
        "{msg}"
    );
}

/// The `azure-cli` credential through `azure_identity`, with a stand-in `az` on PATH that
/// hands out a new token per call; config points the ARM endpoint at the fake.
#[test]
fn azure_cli_credential_from_config_with_a_stand_in_az() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let az = dir.path().join("az");
    let counter = dir.path().join("calls");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\n# stand-in for `az account get-access-token -o json --scope ...`\n\
             n=$(cat '{c}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{c}'\n\
             exp=$(( $(date +%s) + 3600 ))\n\
             printf '{{\"accessToken\":\"cli-token-%s\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":%s,\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}\\n' $n $exp\n",
            c = counter.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: the only test in this binary that reads or changes PATH.
    unsafe { std::env::set_var("PATH", path) };

    let fake = registries(2500);
    fake.fault(None, Some(3), Fault::ExpiredToken, 1);
    let mut config = Config::default();
    config.azure.credential = defender_ledger::store::CredentialKind::AzureCli;
    config.azure.arm_endpoint = fake.url.clone();
    config.azure.request_timeout_secs = 10;
    let rg = ResourceGraph::from_config_with_env(&config, &|_| None).unwrap();
    assert!(rg.describe().contains("azure-cli"));
    let got = rg
        .collect(model::contract("container_registries").unwrap(), day())
        .unwrap()
        .unwrap();
    assert_eq!(got.height(), 2500);
    let tokens: Vec<_> = fake
        .log()
        .iter()
        .map(|l| (l.status, l.token.clone()))
        .collect();
    assert_eq!(
        tokens,
        [
            (200, "cli-token-1".to_string()),
            (200, "cli-token-1".to_string()),
            (401, "cli-token-1".to_string()),
            (200, "cli-token-2".to_string()),
        ]
    );
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "2");
}

#[test]
fn config_errors_are_usage_errors() {
    let mut config = Config::default();
    config.azure.credential = defender_ledger::store::CredentialKind::AzureCli;
    config.azure.arm_endpoint = "not a url".into();
    let err = ResourceGraph::from_config_with_env(&config, &|_| None).unwrap_err();
    assert_eq!(err.class(), ErrorClass::Usage);
    config.azure.arm_endpoint = "http://127.0.0.1:9".into();
    config.azure.subscriptions = vec!["s".into()];
    config.azure.management_groups = vec!["m".into()];
    let err = ResourceGraph::from_config_with_env(&config, &|_| None).unwrap_err();
    assert!(err.to_string().contains("choose one scope"), "{err}");
}

/// The daily `snapshot` path end to end against the fake: every dataset stored in history and
/// the day committed with, per dataset, the rows Resource Graph reported (totalRecords), the
/// rows received and the SHA-256 of the query that produced them.
#[test]
fn live_snapshot_day_stores_history_with_population_figures() {
    let mut b = FakeArg::builder();
    for c in DATASETS {
        b = b.dataset(c.dataset, rows_for(c, 30, 4));
    }
    let fake = b.start();
    let rg = client(&fake, fast_retry());
    let tmp = tempfile::tempdir().unwrap();
    let store = defender_ledger::store::Store::open(tmp.path().to_str().unwrap(), true).unwrap();
    use defender_ledger::history::SnapshotDays;
    let history = defender_ledger::history::History::new(&store);
    let run = defender_ledger::period::RunId::parse("20261101T001500Z").unwrap();
    let marker = defender_ledger::pipeline::snapshot::snapshot_day(&rg, &history, day(), &run)
        .unwrap()
        .expect("a live source always answers");
    assert_eq!(marker.datasets.len(), DATASETS.len());
    for (name, rec) in &marker.datasets {
        assert_eq!((rec.rows, rec.total_records), (30, 30), "{name}");
        let q = QuerySet::embedded();
        assert_eq!(
            rec.query_sha256.as_deref(),
            Some(q.get(name).unwrap().sha256.as_str()),
            "{name}"
        );
    }
    let loaded = history
        .days_before(day() + chrono::Duration::days(1))
        .unwrap();
    assert_eq!(loaded.days(), [day()]);
    let stored = loaded.day(0, &["aks_clusters"]).unwrap();
    assert_eq!(stored.frame("aks_clusters").height(), 30);
}
