//! Benchmark (not a test): pull many rows from the local Resource Graph fake under a quota and
//! latency, and compare the time with the quota-limited minimum.
//!
//!   cargo run --example rg_bench -- [rows] [quota] [window_secs] [latency_ms]
//!
//! Defaults: 200,000 rows, 15 requests per 5 s, 100 ms latency. Paging is sequential
//! ($skipToken chains), so with pages P = ceil(rows / 1000), quota Q per window W and
//! latency L the best possible time is (ceil(P / Q) - 1) * W + (P - (ceil(P / Q) - 1) * Q) * L:
//! every full window waits for its reset, the last one only for its own requests.

#[path = "../tests/support/fake_arg.rs"]
mod fake_arg;

use defender_ledger::collect::Source;
use defender_ledger::collect::auth::StaticTokenCredential;
use defender_ledger::collect::resource_graph::{QuerySet, ResourceGraph, RetryPolicy};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn main() {
    defender_ledger::logging::init_logging(false);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (rows, quota, window_s, latency_ms) = (arg(0, 200_000), arg(1, 15), arg(2, 5), arg(3, 100));
    let contract = defender_ledger::model::contract("container_registries").unwrap();

    let fake = fake_arg::FakeArg::builder()
        .dataset(
            contract.dataset,
            fake_arg::rows_for(contract, rows as usize, 50),
        )
        .quota(quota as u32, Duration::from_secs(window_s))
        .latency(Duration::from_millis(latency_ms))
        .start();
    let rg = ResourceGraph::builder(
        &fake.url,
        StaticTokenCredential::new(&["bench-token"], Duration::from_secs(3600)),
    )
    .queries(QuerySet::embedded())
    .retry(RetryPolicy::default())
    .build()
    .expect("client");

    let start = Instant::now();
    let got = rg
        .collect(contract, chrono::Utc::now().date_naive())
        .expect("collect")
        .expect("rows");
    let achieved = start.elapsed().as_secs_f64();

    let pages = rows.div_ceil(1000);
    let windows = pages.div_ceil(quota);
    let last = pages - (windows - 1) * quota;
    let minimum = ((windows - 1) * window_s) as f64 + (last * latency_ms) as f64 / 1000.0;
    let log = fake.log();
    let throttled = log.iter().filter(|l| l.status == 429).count();
    let s = rg.stats();
    println!("rows              {}", got.height());
    println!(
        "pages             {pages} ({} requests, {throttled} throttled by the fake)",
        log.len()
    );
    println!("quota             {quota} per {window_s} s, latency {latency_ms} ms");
    println!("quota-limited min {minimum:.2} s");
    println!("achieved          {achieved:.2} s");
    println!(
        "efficiency        {:.3} (minimum / achieved)",
        minimum / achieved
    );
    println!(
        "client            paced {:.1} s before resets, {} retries, {} 429s",
        s.paced_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        s.retried.load(Ordering::Relaxed),
        s.throttled.load(Ordering::Relaxed)
    );
    assert_eq!(got.height() as u64, rows);
}
