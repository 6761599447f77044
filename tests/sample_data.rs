//! The bundled sample tenant is exactly what its seeded generator makes: regenerating it gives
//! the same files (gzip parts compared by content, since compressed bytes depend on the zlib
//! build).

mod support {
    pub mod fs;
}

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::fs::files_under;

fn content(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).unwrap();
    if p.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        raw
    }
}

#[test]
fn generator_reproduces_the_committed_sample() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(repo.join("sample-data/generate.py"))
        .arg("--out")
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    for sub in ["resource-graph", "cost-exports"] {
        let committed = files_under(&repo.join("sample-data").join(sub));
        let made = files_under(&tmp.path().join(sub));
        let rel = |v: &[PathBuf], base: &Path| -> Vec<PathBuf> {
            v.iter()
                .map(|p| p.strip_prefix(base).unwrap().to_path_buf())
                .collect()
        };
        assert_eq!(
            rel(&committed, &repo.join("sample-data")),
            rel(&made, tmp.path()),
            "same files in {sub}"
        );
        for (a, b) in committed.iter().zip(&made) {
            assert!(
                content(a) == content(b),
                "{} differs from a fresh generation",
                a.display()
            );
        }
    }
}
