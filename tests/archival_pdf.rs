//! The PDFs of a run as archived files: every evidence pack is PDF/A-3b carrying the pack's
//! CSVs byte for byte (XMP identification, output intent, associated files, dated by its
//! period and not by the clock), and every PDF the job writes
//! passes `qpdf --check` and opens in poppler without a warning. Checked on the demo run through
//! the real CLI; a tool that is not installed is skipped with a message (scripts/test.sh
//! installs both, poppler-utils and qpdf).

mod support {
    pub mod demo;
}

use std::path::{Path, PathBuf};
use std::process::Command;

fn demo(out: &Path) -> PathBuf {
    support::demo::publish(out)
}

/// `(success, stdout + stderr)` of a tool, or `None` when it is not installed.
fn tool(program: &str, args: &[&str], pdf: &Path) -> Option<(bool, String)> {
    let o = Command::new(program).args(args).arg(pdf).output().ok()?;
    let mut text = String::from_utf8_lossy(&o.stdout).to_string();
    text.push_str(&String::from_utf8_lossy(&o.stderr));
    Some((o.status.success(), text))
}

/// What poppler prints on stderr while it reads the whole file (nothing for a clean file):
/// `pdfinfo` reads the structure, `pdftotext` every page. `None` when poppler is not installed.
fn poppler_warnings(pdf: &Path) -> Option<String> {
    let mut warnings = String::new();
    for args in [
        vec![pdf.to_str().unwrap()],
        vec![pdf.to_str().unwrap(), "-"],
    ] {
        let program = if args.len() == 1 {
            "pdfinfo"
        } else {
            "pdftotext"
        };
        let o = Command::new(program).args(&args).output().ok()?;
        assert!(o.status.success(), "{program} failed on {}", pdf.display());
        warnings.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    Some(warnings)
}

/// The files `evidence-pack.json` says the PDF attaches, read from beside the PDF.
fn attached_csvs(pack: &Path) -> Vec<(String, bytes::Bytes)> {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pack.with_file_name("evidence-pack.json")).unwrap())
            .unwrap();
    doc["integrity"]["attachments"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let name = n.as_str().unwrap().to_string();
            let bytes = std::fs::read(pack.with_file_name(&name)).unwrap();
            (name, bytes::Bytes::from(bytes))
        })
        .collect()
}

/// The attachments poppler extracts from `pack` (`pdfdetach -saveall`), by name, in the
/// order of `evidence-pack.json`; `None` when poppler is not installed.
fn detached(pack: &Path) -> Option<Vec<(String, bytes::Bytes)>> {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("pdfdetach")
        .arg("-saveall")
        .arg("-o")
        .arg(dir.path())
        .arg(pack)
        .output()
        .ok()?;
    assert!(o.status.success(), "pdfdetach: {o:?}");
    let mut saved: Vec<(String, bytes::Bytes)> = Vec::new();
    for (name, _) in attached_csvs(pack) {
        let bytes = std::fs::read(dir.path().join(&name)).unwrap();
        saved.push((name, bytes::Bytes::from(bytes)));
    }
    let count = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(count, saved.len(), "no attachment beyond the pack's CSVs");
    Some(saved)
}

#[test]
fn every_pdf_of_the_demo_is_clean_and_evidence_packs_are_pdf_a_3b_with_their_csvs() {
    let tmp = tempfile::tempdir().unwrap();
    let run = demo(&tmp.path().join("out"));
    let packs =
        ["pci-dss-4.0.1", "soc2"].map(|f| run.join(format!("evidence/{f}/evidence-pack.pdf")));
    let pdfs: Vec<PathBuf> = packs
        .iter()
        .cloned()
        .chain([
            run.join("executive/executive-report.pdf"),
            run.join("executive/annex.pdf"),
        ])
        .collect();

    for pdf in &pdfs {
        match tool("qpdf", &["--check"], pdf) {
            Some((ok, text)) => {
                assert!(ok, "qpdf --check {}:\n{text}", pdf.display());
                assert!(
                    !text.to_lowercase().contains("warning"),
                    "qpdf --check {}:\n{text}",
                    pdf.display()
                );
            }
            None => eprintln!("SKIPPED qpdf --check: qpdf not found (apt-get install qpdf)"),
        }
        match poppler_warnings(pdf) {
            Some(w) => assert!(w.trim().is_empty(), "poppler on {}:\n{w}", pdf.display()),
            None => eprintln!("SKIPPED poppler checks: poppler-utils not installed"),
        }
    }

    for (pack, framework) in packs.iter().zip(["pci-dss-4.0.1", "soc2"]) {
        let bytes = std::fs::read(pack).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        // PDF/A identification in the XMP metadata, and the output intent PDF/A requires.
        assert!(text.contains("<pdfaid:part>3</pdfaid:part>"), "{framework}");
        assert!(
            text.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
            "{framework}"
        );
        assert!(text.contains("/OutputIntents"), "{framework}");
        assert!(bytes.starts_with(b"%PDF-1.7"), "PDF/A-3 is PDF 1.7");
        assert!(text.contains("/AFRelationship/Data"), "{framework}");
        // Dated by the period (the first day after it), never by the clock.
        assert!(
            text.contains("2026-11-01T00:00:00"),
            "{framework}: XMP date"
        );
        if let Some((_, info)) = tool("pdfinfo", &["-isodates"], pack) {
            assert!(info.contains("2026-11-01T00:00:00"), "{info}");
        }
        // The published document renders to the published bytes again: nothing but the pack
        // decides them.
        let attached = attached_csvs(pack);
        let csvs_in_pack = std::fs::read_dir(pack.parent().unwrap())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("csv".as_ref()))
            .count();
        assert!(csvs_in_pack >= 11, "{framework}: {csvs_in_pack} CSVs");
        assert_eq!(
            attached.len(),
            csvs_in_pack,
            "{framework}: every CSV of the pack"
        );
        if let Some(saved) = detached(pack) {
            assert_eq!(
                saved, attached,
                "{framework}: pdfdetach gives the pack's CSVs"
            );
        }
        let doc = std::fs::read(pack.with_file_name("evidence-pack.json")).unwrap();
        let again = defender_ledger::render::pdf::render_evidence_pack(
            doc,
            format!("defender-ledger evidence {framework} 2026-10"),
            &attached,
        )
        .unwrap();
        assert!(
            again == bytes,
            "{framework}: rendering again gives other bytes"
        );
    }

    // A name the bundled fonts cannot show (CJK, emoji) cannot be PDF/A: the pack is still
    // written, as a plain PDF, rather than failing the month's run.
    let doc = std::fs::read(packs[0].with_file_name("evidence-pack.json")).unwrap();
    let doc = String::from_utf8(doc)
        .unwrap()
        .replace("Contoso", "株式会社 😀");
    let plain = defender_ledger::render::pdf::render_evidence_pack(
        doc.into_bytes(),
        "defender-ledger evidence pci-dss-4.0.1 2026-10".into(),
        &attached_csvs(&packs[0]),
    )
    .unwrap();
    assert!(plain.starts_with(b"%PDF-"));
    assert!(!String::from_utf8_lossy(&plain).contains("<pdfaid:part>"));
}
