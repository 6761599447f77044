//! The bundled demo, published through the real CLI with a pinned run id.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Run id of every demo published by the tests.
pub const RUN_ID: &str = "20261101T060000Z";

/// `run --period 2026-10` into `out`; the published run's folder.
pub fn publish(out: &Path) -> PathBuf {
    let o = Command::new(env!("CARGO_BIN_EXE_defender-ledger"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--out", out.to_str().unwrap(), "run", "--period", "2026-10"])
        .env("DEFENDER_LEDGER_LOG", "warn")
        .env("DEFENDER_LEDGER_RUN_ID", RUN_ID)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("2026-10").join(RUN_ID)
}
