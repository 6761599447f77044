//! Load cost exports and compute showback, timing each step (used by `bench/cost.sh`).
//!
//! cargo run --release --example showback_bench -- <export-folder> <export[,export...]> <YYYY-MM>
//!
//! Prints the rows read, the aggregate size, the totals per currency and the elapsed times.
//! The showback runs without snapshots (owners from resource tags only; Defender charges stay
//! unallocated), which exercises every step but the vCore split.

use defender_ledger::collect::cost_exports::{self, LoadOptions};
use defender_ledger::kpi::{Parameters, showback};
use defender_ledger::period::Period;
use defender_ledger::store::Store;
use std::collections::BTreeMap;
use std::time::Instant;

// The same allocator as the defender-ledger binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, exports, period] = args.as_slice() else {
        eprintln!("usage: showback_bench <export-folder> <export[,export...]> <YYYY-MM>");
        std::process::exit(2);
    };
    let period: Period = period.parse()?;
    let exports: Vec<String> = exports.split(',').map(String::from).collect();
    let store = Store::open(dir, false)?;

    let t0 = Instant::now();
    let cost = cost_exports::load(
        &store,
        &exports,
        period.start(),
        period.end_exclusive(),
        &LoadOptions {
            rejects: false,
            tag_keys: Some(Parameters::default().owner_tags),
            period: None,
        },
    )?;
    let load_s = t0.elapsed().as_secs_f64();
    let rss_after_load = rss_anon_mb();
    let rows: u64 = cost
        .runs
        .iter()
        .flat_map(|r| &r.files)
        .map(|f| f.rows)
        .sum();

    let t1 = Instant::now();
    let r = showback::compute(&cost, &[], &BTreeMap::new(), &Parameters::default(), period)?;
    let showback_s = t1.elapsed().as_secs_f64();

    println!("rows_read={rows}");
    println!("resources={}", cost.rows.resources.len());
    println!(
        "aggregate_cells={}",
        cost.rows.monthly.len()
            + cost.rows.defender_daily.len()
            + cost.rows.cluster_daily.len()
            + cost.rows.group_daily.len()
    );
    println!("runs={}", cost.runs.len());
    for (c, v) in &r.kpis.export_total_by_currency {
        println!("total_{c}={v:.6}");
    }
    println!("owners={}", r.by_owner.height());
    println!("load_seconds={load_s:.3}");
    println!("rss_anon_mb_after_load={rss_after_load}");
    println!("rss_anon_mb_after_showback={}", rss_anon_mb());
    println!("showback_seconds={showback_s:.3}");
    for q in &cost.data_quality {
        println!("data_quality: {q}");
    }
    Ok(())
}

/// Anonymous resident memory now (Linux), in MiB; 0 elsewhere.
fn rss_anon_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}
