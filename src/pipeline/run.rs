//! `run --period`: replay a recorded tenant through both entry points. Every recorded day up
//! to the period's end is snapshotted (days history already holds are kept unless
//! `refresh`), earlier recorded months without a published run are reported first (oldest
//! first, so the executive report has a trend), then the period itself.

use crate::collect::Source;
use crate::config::Config;
use crate::error::Result;
use crate::history::History;
use crate::period::{Period, RunId};
use crate::pipeline::report::{self, ReportOutcome, ReportRequest};
use crate::pipeline::snapshot;
use crate::store::Store;

/// What `run` did: the period's report, and how many snapshot days it wrote.
pub struct RunOutcome {
    pub report: ReportOutcome,
    pub snapshot_days_written: usize,
}

/// Replay the configured source into `out` and report `period` (and earlier unreported
/// months) under `run_id`.
pub fn replay_and_report(
    cfg: &Config,
    out: &Store,
    period: Period,
    run_id: &RunId,
    refresh: bool,
    signing_key: Option<ed25519_dalek::SigningKey>,
) -> Result<RunOutcome> {
    let replay = crate::pipeline::replay_source(cfg)?;
    let days: Vec<_> = replay
        .days()?
        .unwrap_or_default()
        .into_iter()
        .filter(|d| *d < period.end_exclusive())
        .collect();
    let history = History::new(out);
    let written = snapshot::snapshot_days(&replay, &history, &days, run_id, refresh)?;
    let command = format!("run --period {period}");
    let request = |p: Period| ReportRequest {
        config: cfg,
        period: p,
        run_id: run_id.clone(),
        command: command.clone(),
        rejects: false,
        signing_key: signing_key.clone(),
    };
    let mut earlier = days.first().map(|d| Period::of(*d));
    while let Some(p) = earlier.filter(|p| *p < period) {
        if out.newest_committed_run(&p.to_string())?.is_none() {
            report::report(&request(p), out)?;
            eprintln!("defender-ledger {p} — reported as history for the trend (run {run_id})");
        }
        earlier = Some(p.next());
    }
    Ok(RunOutcome {
        report: report::report(&request(period), out)?,
        snapshot_days_written: written.len(),
    })
}
