//! Running the job's binary from the tests: in the repository (so `ledger.toml`, `queries/`
//! and the sample data resolve as they do for a user), with warnings-only logs.
#![allow(dead_code)] // each test binary uses a subset

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root: the job's working directory in the tests.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `defender-ledger <args>` run in the repository with `envs` set. Tests whose outcome
/// depends on the date pass `--today` (see `ledger_on`).
pub fn ledger(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_defender-ledger"));
    cmd.current_dir(repo())
        .args(args)
        .env("DEFENDER_LEDGER_LOG", "warn");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("runs")
}

/// `defender-ledger --today <today> <args>`: the job's clock pinned, so the test passes on
/// any day.
pub fn ledger_on(today: &str, args: &[&str], envs: &[(&str, &str)]) -> Output {
    ledger(&[&["--today", today], args].concat(), envs)
}
