//! The Dockerfile, the Kubernetes CronJobs and the Container Apps jobs are checked by
//! `scripts/check-deploy.sh` (validators from PyPI, cached after the first run), so the one test
//! command covers them too.

use std::path::Path;
use std::process::Command;

fn python3_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn deploy_files_pass_their_validators() {
    if !python3_available() {
        eprintln!(
            "SKIPPED deploy_files_pass_their_validators: python3 is not installed, \
             so the deployment validators (PyPI) cannot run"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("bash")
        .arg(root.join("scripts/check-deploy.sh"))
        .current_dir(root)
        .output()
        .expect("bash runs scripts/check-deploy.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scripts/check-deploy.sh failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("check-deploy: all checks passed"),
        "{stdout}"
    );
}
