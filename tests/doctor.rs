//! `doctor` through the real CLI against the fake Resource Graph and Azurite (127.0.0.1 only;
//! the credential is `azure-cli` with a stand-in `az`): everything passing, then each failure
//! with its fix.

mod support {
    pub mod azurite;
    pub mod fake_arg;
}

use defender_ledger::model::DATASETS;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use support::azurite;
use support::fake_arg::{FakeArg, Fault, rows_for};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A folder with a stand-in `az` that hands out a token, or fails like a logged-out CLI.
fn stand_in_az(works: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let az = dir.path().join("az");
    let body = if works {
        "#!/bin/sh\nexp=$(( $(date +%s) + 3600 ))\n\
         printf '{\"accessToken\":\"doctor-token\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"expires_on\":%s,\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}\\n' $exp\n"
    } else {
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n"
    };
    std::fs::write(&az, body).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn fake() -> FakeArg {
    let mut b = FakeArg::builder();
    for c in DATASETS {
        b = b.dataset(c.dataset, rows_for(c, 3, 2));
    }
    b.start()
}

fn doctor(az: &Path, arm: &str, out: &str, cs: &str) -> (i32, String) {
    let path = format!(
        "{}:{}",
        az.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_defender-ledger"))
        .current_dir(repo())
        // Pinned: the cost-export check reads the month of "today", and the sample exports
        // end in October 2026.
        .args(["--out", out, "--today", "2026-10-20", "doctor"])
        .env("PATH", path)
        .env("DEFENDER_LEDGER_LOG", "warn")
        .env("DEFENDER_LEDGER_AZURE_CREDENTIAL", "azure-cli")
        .env("DEFENDER_LEDGER_AZURE_ARM_ENDPOINT", arm)
        .env("DEFENDER_LEDGER_AZURE_REQUEST_TIMEOUT_SECS", "10")
        .env("DEFENDER_LEDGER_AZURE_MAX_ATTEMPTS", "2")
        .env("AZURE_STORAGE_CONNECTION_STRING", cs)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_check_passes_against_working_endpoints() {
    let fake = fake();
    let az = stand_in_az(true);
    let (out, ep) = azurite::fresh_location("doctor", "ledger");
    let (code, text) = doctor(
        az.path(),
        &fake.url,
        &out,
        &azurite::connection_string(&ep, &azurite::account_key()),
    );
    assert_eq!(code, 0, "{text}");
    for c in DATASETS {
        assert!(
            text.contains(&format!("[ ok ] query {}", c.dataset)),
            "{text}"
        );
    }
    assert!(
        text.contains("[ ok ] cost exports: would read focus-monthly run"),
        "{text}"
    );
    assert!(text.contains("[ ok ] output location: wrote"), "{text}");
    assert!(
        !text.contains("doctor-token"),
        "the token never reaches the output"
    );
}

#[test]
fn each_failure_names_its_fix() {
    let fake = fake();
    let (out, ep) = azurite::fresh_location("doctor", "ledger");
    let good_cs = azurite::connection_string(&ep, &azurite::account_key());

    // A credential that cannot get a token.
    let (code, text) = doctor(stand_in_az(false).path(), &fake.url, &out, &good_cs);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("[FAIL] query subscriptions"), "{text}");
    assert!(
        text.contains("fix: the credential could not get or use a token"),
        "{text}"
    );

    // A query the service rejects.
    let az = stand_in_az(true);
    fake.fault(Some("vulnerabilities"), None, Fault::InvalidQuery, 100);
    let (code, text) = doctor(az.path(), &fake.url, &out, &good_cs);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("[ ok ] query subscriptions"), "{text}");
    assert!(text.contains("[FAIL] query vulnerabilities"), "{text}");
    assert!(text.contains("fix: fix the query file"), "{text}");

    // A reports container that does not exist.
    let missing = format!("{ep}/{}/ledger", azurite::unique_container("absent"));
    let (_, text) = doctor(az.path(), &fake.url, &missing, &good_cs);
    assert!(text.contains("[FAIL] output location"), "{text}");
    assert!(text.contains("fix: create the container first"), "{text}");

    // No right to write (a key the account does not accept).
    let wrong = azurite::connection_string(&ep, "bm90LXRoZS1rZXk=");
    let (_, text) = doctor(az.path(), &fake.url, &out, &wrong);
    assert!(text.contains("[FAIL] output location"), "{text}");
    assert!(text.contains("fix: grant the identity write"), "{text}");
    assert!(
        !text.contains("bm90LXRoZS1rZXk="),
        "the key never reaches the output"
    );
}
