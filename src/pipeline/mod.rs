//! The two entry points and their composition: `snapshot` (daily) stores every dataset of a
//! day in history; `report` (monthly) computes KPIs and publishes a run; `run` replays a
//! recorded tenant through both; `doctor` checks a configuration end to end.

pub mod doctor;
pub mod earlier_runs;
pub mod publish;
pub mod report;
pub mod run;
pub mod snapshot;

use crate::collect::replay::Replay;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::Store;

/// Open the output store (created if it is a folder) with the configured credential.
pub fn output_store(cfg: &Config) -> Result<Store> {
    Store::open_with(&cfg.output.location, true, &cfg.store_options())
}

/// Open the cost-export container (read only).
pub fn cost_store(cfg: &Config) -> Result<Store> {
    let location = cfg.cost_location().ok_or_else(|| {
        Error::config("no cost export location: set [cost] location (or [source] replay_dir)")
    })?;
    Store::open_with(&location, false, &cfg.store_options())
}

/// The days of cost a report of `period` reads: the period, preceded by the anomaly
/// detector's window (`[start, end)`). `doctor` checks the same days.
pub fn cost_window(
    cfg: &Config,
    period: crate::period::Period,
) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let start = period.start() - chrono::Duration::days(cfg.anomalies.window_days);
    (start, period.end_exclusive())
}

/// The configured replay source, or a clear error saying how to name one.
pub fn replay_source(cfg: &Config) -> Result<Replay> {
    let dir = cfg.source.replay_dir.as_deref().ok_or_else(|| {
        Error::config("no replay source: pass --source DIR or set [source] replay_dir")
    })?;
    Replay::open_with(dir, &cfg.store_options())
}
