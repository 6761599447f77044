//! CLI only: parse arguments, load the configuration, call the pipeline, map errors to exit
//! codes (0 ok, 2 usage/config, 3 input data, 4 source/network, 5 publish).

use clap::{Args, Parser, Subcommand};
use defender_ledger::collect::Source;
use defender_ledger::collect::resource_graph::ResourceGraph;
use defender_ledger::config::Config;
use defender_ledger::error::Error;
use defender_ledger::history::History;
use defender_ledger::period::{Period, RunId, inclusive_days, parse_date};
use defender_ledger::pipeline::{self, report, snapshot};
use defender_ledger::render::signing;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

// polars allocates and frees large column buffers from several threads; glibc's allocator
// fragments under that load (a measured 14 % of the cost-export time went to malloc/free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "\
Examples:
  # Replay the bundled sample tenant and publish the 2026-10 reports to ./out
  defender-ledger run --period 2026-10

  # Daily, just after midnight UTC: snapshot yesterday from Azure Resource Graph
  defender-ledger snapshot --source azure

  # Monthly: publish last month's reports to blob storage
  defender-ledger --out https://acct.blob.core.windows.net/reports/ledger report --period 2026-10

  # Check a published run has not changed since it was written
  defender-ledger verify out/2026-10/20261101T060000Z

Exit codes: 0 ok, 1 verify found a changed, missing or added file, 2 usage or configuration,
3 input data, 4 source or network, 5 publish.";

#[derive(Parser, Debug)]
#[command(
    name = "defender-ledger",
    version,
    about = "Defender for Containers coverage, detection, remediation and showback, every month",
    after_help = EXAMPLES
)]
struct Cli {
    /// Configuration file (TOML); every key can be overridden by DEFENDER_LEDGER_<SECTION>_<KEY>.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output location: a folder or a blob URL (overrides [output] location).
    #[arg(long, global = true, value_name = "DIR|URL")]
    out: Option<String>,
    /// Sign manifest.json with this Ed25519 key: a PEM/PKCS#8 file, or env:VAR (hex or base64
    /// seed, or PEM). The signature and public key are published beside the manifest.
    #[arg(long, global = true, value_name = "FILE|env:VAR")]
    signing_key: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Take this date (YYYY-MM-DD, UTC) as today instead of the system clock: the default
    /// snapshot day, `--period previous` and `doctor` follow it (reproducible re-runs, tests).
    #[arg(long, global = true, hide = true, value_parser = parse_date)]
    today: Option<chrono::NaiveDate>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Replay a recorded tenant: snapshot every day up to the period's end, then report.
    Run {
        #[command(flatten)]
        period: PeriodArg,
        /// Folder in the sample-data layout to replay (overrides [source] replay_dir).
        #[arg(long, value_name = "DIR")]
        source: Option<String>,
        /// Snapshot again days that history already holds.
        #[arg(long)]
        refresh: bool,
        #[command(flatten)]
        partial: PartialArg,
    },
    /// Store one day's snapshot of every dataset in history.
    Snapshot {
        /// Day to label the snapshot with (default: yesterday, UTC).
        #[arg(long, value_parser = parse_date, conflicts_with_all = ["from", "to"])]
        date: Option<chrono::NaiveDate>,
        /// First day of a backfill (replayed sources only).
        #[arg(long, value_parser = parse_date, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Last day of a backfill, inclusive.
        #[arg(long, value_parser = parse_date, requires = "from")]
        to: Option<chrono::NaiveDate>,
        /// `azure` for live Resource Graph, or a folder to replay (default: [source] replay_dir).
        #[arg(long, value_name = "azure|DIR")]
        source: Option<String>,
    },
    /// Re-hash a published run against its manifest and check its signature; names every file
    /// changed, missing or added. Exit code 1 on any mismatch.
    Verify {
        /// The run folder or URL (`<out>/<period>/<run-id>`), or its manifest.json.
        run: String,
        /// Trusted public key (PEM). Without it the key published beside the manifest is used,
        /// which only proves the run has not changed by accident.
        #[arg(long, value_name = "FILE")]
        public_key: Option<String>,
    },
    /// Check the configuration, credential, queries, cost exports and output location, one line
    /// per check with a fix for each failure. Exit code 2 if any check fails.
    Doctor {
        /// Skip the Resource Graph checks (for a replayed tenant).
        #[arg(long)]
        offline: bool,
    },
    /// Compute and publish the reports of a month from history and cost exports.
    Report {
        #[command(flatten)]
        period: PeriodArg,
        /// Set unreadable cost-export rows aside in finance/rejected-cost-rows.csv (counted in
        /// the manifest) instead of failing on the first one.
        #[arg(long)]
        rejects: bool,
        #[command(flatten)]
        partial: PartialArg,
    },
}

#[derive(Args, Debug)]
struct PartialArg {
    /// Publish a period whose last days have no cost export run yet (a run before the month's
    /// final export; same as cost.allow_partial = true). The report then says "partial: cost
    /// data until <day>" on page 1, in data quality, kpis.json and the manifest. Without it,
    /// a period without cost for every day is an input error (exit 3).
    #[arg(long)]
    allow_partial_cost: bool,
}

#[derive(Args, Debug)]
struct PeriodArg {
    /// Calendar month in UTC, YYYY-MM, or `previous` for last month (for monthly schedules).
    #[arg(long, value_parser = parse_period)]
    period: PeriodSpec,
}

/// A period as given: a month, or the month before today (resolved once today is known).
#[derive(Debug, Clone, Copy)]
enum PeriodSpec {
    Month(Period),
    Previous,
}

impl PeriodArg {
    fn resolve(&self, today: chrono::NaiveDate) -> Period {
        match self.period {
            PeriodSpec::Month(p) => p,
            PeriodSpec::Previous => Period::of(today).previous(),
        }
    }
}

fn parse_period(s: &str) -> Result<PeriodSpec, String> {
    if s == "previous" {
        return Ok(PeriodSpec::Previous);
    }
    s.parse::<Period>().map(PeriodSpec::Month)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_logs = matches!(cli.log_format, LogFormat::Json);
    defender_ledger::logging::init_logging(json_logs);
    if json_logs {
        defender_ledger::collect::progress::set_bars(Some(false));
    }
    let started = Instant::now();
    let command_name = match &cli.command {
        Command::Run { .. } => "run",
        Command::Snapshot { .. } => "snapshot",
        Command::Report { .. } => "report",
        Command::Verify { .. } => "verify",
        Command::Doctor { .. } => "doctor",
    };
    match execute(cli) {
        Ok(summary) => {
            let mut line = summary;
            line["outcome"] = json!("ok");
            line["exit_code"] = json!(0);
            line["duration_ms"] = json!(started.elapsed().as_millis() as u64);
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            // The underlying errors, for whoever reads the logs (the message states the first).
            let causes = e.chain();
            for cause in &causes {
                tracing::debug!(%cause, "caused by");
            }
            let class = e.class();
            println!(
                "{}",
                json!({"command": command_name, "run_id": CHOSEN_RUN_ID.get(), "outcome": "failed", "error_class": format!("{class:?}").to_lowercase(),
                       "error": e.to_string(), "causes": causes,
                       "exit_code": class.exit_code(), "duration_ms": started.elapsed().as_millis() as u64})
            );
            ExitCode::from(class.exit_code() as u8)
        }
    }
}

/// Today in UTC: the system clock unless `--today` pins it.
fn today(cli: &Cli) -> chrono::NaiveDate {
    cli.today.unwrap_or_else(|| chrono::Utc::now().date_naive())
}

/// The configuration, and whether anything configured it (a file, an environment override
/// or `--out`) rather than defaults alone.
fn load_config(cli: &Cli) -> Result<(Config, bool), Error> {
    let (path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("defender-ledger.toml"), false),
    };
    let mut cfg = Config::load_from_process_env(&path, explicit)?;
    let configured = path.is_file()
        || cli.out.is_some()
        || !defender_ledger::config::overridden_keys(&|k| std::env::var(k).ok()).is_empty();
    if let Some(out) = &cli.out {
        cfg.output.location = out.clone();
    }
    Ok((cfg, configured))
}

/// The run id: fresh, unless DEFENDER_LEDGER_RUN_ID pins it (tests, re-publishing by hand).
fn run_id_for(store: &defender_ledger::store::Store, period: Period) -> Result<RunId, Error> {
    let id = match std::env::var("DEFENDER_LEDGER_RUN_ID") {
        Ok(s) => RunId::parse(&s).map_err(Error::config)?,
        Err(_) => store.fresh_run_id(&period.to_string())?,
    };
    let _ = CHOSEN_RUN_ID.set(id.to_string());
    Ok(id)
}

/// The run id of this invocation once chosen, so even a failure's summary line names it.
static CHOSEN_RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn execute(cli: Cli) -> Result<serde_json::Value, Error> {
    if let Command::Verify { run, public_key } = &cli.command {
        return verify(run, public_key.as_deref());
    }
    let (cfg, configured) = load_config(&cli)?;
    let today = today(&cli);
    let signing_key = cli
        .signing_key
        .as_deref()
        .map(signing::load_signing_key)
        .transpose()?;
    let label = config_label(&cli);
    match cli.command {
        Command::Verify { .. } => unreachable!("handled above"),
        Command::Doctor { offline } => doctor(&cfg, &label, configured, !offline, today),
        Command::Run {
            period,
            source,
            refresh,
            partial,
        } => replay_and_report(
            with_partial(cfg, &partial),
            period.resolve(today),
            source,
            refresh,
            signing_key,
        ),
        Command::Snapshot {
            date,
            from,
            to,
            source,
        } => snapshot_command(cfg, snapshot_days(date, from, to, today)?, source),
        Command::Report {
            period,
            rejects,
            partial,
        } => report_command(
            &with_partial(cfg, &partial),
            period.resolve(today),
            rejects,
            signing_key,
        ),
    }
}

/// How the configuration is named in `doctor`'s output.
fn config_label(cli: &Cli) -> String {
    cli.config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "defender-ledger.toml (or defaults)".into())
}

/// The configuration with `--allow-partial-cost` applied.
fn with_partial(mut cfg: Config, partial: &PartialArg) -> Config {
    if partial.allow_partial_cost {
        cfg.cost.allow_partial = true;
    }
    cfg
}

/// `doctor`: every check on stderr; exit 2 naming the failed ones.
fn doctor(
    cfg: &Config,
    label: &str,
    configured: bool,
    live: bool,
    today: chrono::NaiveDate,
) -> Result<serde_json::Value, Error> {
    let checks = pipeline::doctor::run(cfg, label, configured, live, today);
    for c in &checks {
        eprintln!("{c}");
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(Error::config(format!(
            "doctor: {} check(s) failed: {}",
            failed.len(),
            failed.join(", ")
        )));
    }
    Ok(json!({"command": "doctor", "checks": checks.len()}))
}

/// `run`: replay the configured (or given) source up to the period's end, then report.
fn replay_and_report(
    mut cfg: Config,
    period: Period,
    source: Option<String>,
    refresh: bool,
    signing_key: Option<ed25519_dalek::SigningKey>,
) -> Result<serde_json::Value, Error> {
    if let Some(dir) = source {
        cfg.source.replay_dir = Some(dir);
    }
    let out = pipeline::output_store(&cfg)?;
    let run_id = run_id_for(&out, period)?;
    let done = pipeline::run::replay_and_report(&cfg, &out, period, &run_id, refresh, signing_key)?;
    print_human_summary(&done.report, out.display());
    Ok(
        json!({"command": "run", "period": period.to_string(), "run_id": run_id.to_string(),
              "snapshot_days_written": done.snapshot_days_written, "files_published": done.report.files.len() + 1}),
    )
}

/// The days `snapshot` stores: `--date`, the inclusive `--from`/`--to` range (a range that
/// selects no day is a usage error), or yesterday (the daily schedule runs just after
/// midnight UTC).
fn snapshot_days(
    date: Option<chrono::NaiveDate>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
) -> Result<SnapshotDays, Error> {
    let yesterday = today - chrono::Duration::days(1);
    Ok(match (date, from, to) {
        (Some(d), _, _) => SnapshotDays {
            days: vec![d],
            backfill: d != yesterday,
        },
        (None, Some(f), Some(t)) => SnapshotDays {
            days: inclusive_days(f, t).map_err(Error::config)?,
            backfill: true,
        },
        _ => SnapshotDays {
            days: vec![yesterday],
            backfill: false,
        },
    })
}

/// The days a `snapshot` stores, and whether any of them is not the scheduled one.
struct SnapshotDays {
    days: Vec<chrono::NaiveDate>,
    backfill: bool,
}

/// `snapshot`: store the given days of every dataset, from Resource Graph or a replay.
fn snapshot_command(
    mut cfg: Config,
    days: SnapshotDays,
    source: Option<String>,
) -> Result<serde_json::Value, Error> {
    if let Some(s) = source.as_deref().filter(|s| *s != "azure") {
        cfg.source.replay_dir = Some(s.to_string());
    }
    let live = source.as_deref() == Some("azure");
    if live && days.backfill {
        return Err(Error::config(
            "--source azure answers for now only: Resource Graph keeps no history, so a \
             live snapshot describes the state at run time (labelled with yesterday's \
             date, as the daily schedule runs just after midnight UTC); backfill with \
             --from/--to works for replayed sources",
        ));
    }
    let out = pipeline::output_store(&cfg)?;
    let source: Box<dyn Source> = if live {
        Box::new(ResourceGraph::from_config(&cfg)?)
    } else {
        Box::new(pipeline::replay_source(&cfg)?)
    };
    let run_id = RunId::fresh();
    let _ = CHOSEN_RUN_ID.set(run_id.to_string());
    let history = History::new(&out);
    // `snapshot` always (re)writes the days it is given.
    let written = snapshot::snapshot_days(source.as_ref(), &history, &days.days, &run_id, true)?;
    Ok(
        json!({"command": "snapshot", "run_id": run_id.to_string(), "days": written.len(), "rows": rows_per_day(&written)}),
    )
}

/// `<date>/<dataset>` → rows, for the summary line.
fn rows_per_day(
    written: &[defender_ledger::history::SnapshotMarker],
) -> serde_json::Map<String, serde_json::Value> {
    written
        .iter()
        .flat_map(|m| {
            m.datasets
                .iter()
                .map(move |(k, v)| (format!("{}/{k}", m.date), json!(v.rows)))
        })
        .collect()
}

/// `report`: compute and publish one period from history and cost exports.
fn report_command(
    cfg: &Config,
    period: Period,
    rejects: bool,
    signing_key: Option<ed25519_dalek::SigningKey>,
) -> Result<serde_json::Value, Error> {
    let out = pipeline::output_store(cfg)?;
    let run_id = run_id_for(&out, period)?;
    let command = format!("report --period {period}");
    let outcome = report::report(
        &request(cfg, period, &run_id, command, rejects, signing_key),
        &out,
    )?;
    print_human_summary(&outcome, out.display());
    Ok(
        json!({"command": "report", "period": period.to_string(), "run_id": run_id.to_string(),
              "files_published": outcome.files.len() + 1}),
    )
}

/// What `report` needs for one period; query texts are found by the report itself.
fn request<'a>(
    cfg: &'a Config,
    period: Period,
    run_id: &RunId,
    command: String,
    rejects: bool,
    signing_key: Option<ed25519_dalek::SigningKey>,
) -> report::ReportRequest<'a> {
    report::ReportRequest {
        config: cfg,
        period,
        run_id: run_id.clone(),
        command,
        rejects,
        signing_key,
    }
}

/// `verify`: exit 0 when every file matches, 1 on any mismatch (reported on stdout).
fn verify(run: &str, public_key: Option<&str>) -> Result<serde_json::Value, Error> {
    let key = public_key.map(signing::load_public_key).transpose()?;
    let report = defender_ledger::verify::verify_location(run, key.as_ref())?;
    eprintln!("{report}");
    if !report.is_ok() {
        return Err(Error::Verification(report.problems().join("; ")));
    }
    Ok(
        json!({"command": "verify", "run": defender_ledger::store::redact(run), "files_checked": report.files_listed, "manifest_sha256": report.manifest_sha256}),
    )
}

fn print_human_summary(o: &report::ReportOutcome, out: &str) {
    let k = &o.kpis;
    let pct = |v: Option<f64>| {
        v.map(|x| format!("{x:.1} %"))
            .unwrap_or_else(|| "n/a".into())
    };
    let mins = |v: Option<f64>| {
        v.map(|x| format!("{x:.1} min"))
            .unwrap_or_else(|| "n/a".into())
    };
    eprintln!("defender-ledger {} — run {}", o.period, o.run_id);
    eprintln!(
        "  Compliance Rate (month end)   {}   min {}   gap subscription-days {}",
        pct(k.coverage.month_end_rate),
        pct(k.coverage.min_rate),
        k.coverage.gap_subscription_days
    );
    eprintln!(
        "  Detection latency (median)    {}   p90 {}   alerts {}",
        mins(k.detection_latency.overall.median),
        mins(k.detection_latency.overall.p90),
        k.detection_latency.population
    );
    let crit = k.remediation.by_severity.get("Critical");
    eprintln!(
        "  Critical remediation in SLA   {}   open past due {}",
        pct(crit.and_then(|c| c.rate)),
        crit.map(|c| c.open_past_due_at_period_end).unwrap_or(0)
    );
    eprintln!(
        "  High-severity runtime alerts  {}",
        k.runtime_alerts.high_total
    );
    for (cur, total) in &k.showback.export_total_by_currency {
        eprintln!("  Showback {cur} {total:.2} reconciled with the cost export");
    }
    eprintln!("  Cost anomalies                {}", k.anomalies.len());
    eprintln!(
        "  Published to {out}/{}/{}/ (manifest.json written last)",
        o.period, o.run_id
    );
}
