//! PDF reports, laid out by typst (used as a library) from a template embedded in the binary,
//! with bundled fonts and no access to the file system, network or clock: identical inputs give
//! identical bytes.

pub mod annex;
pub mod executive;
mod world;

use crate::assessment::ExecutiveInput;

use crate::error::{Error, Result};
use typst::foundations::Smart;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

pub use annex::{ANNEX_PATH, REPORT_PATH, RunFileRows};

const EXECUTIVE_TEMPLATE: &str = include_str!("templates/executive.typ");
const ANNEX_TEMPLATE: &str = include_str!("templates/annex.typ");
const EVIDENCE_TEMPLATE: &str = include_str!("templates/evidence.typ");

/// Renders `evidence/<framework>/evidence-pack.pdf` from the pack document's JSON: the one
/// file an auditor archives. With `attachments` (the pack's CSVs, by file name) it is PDF/A-3b
/// (ISO 19005-3, level B) and carries those files as associated files (relationship `Data`:
/// the figures of the document are computed from them); without, PDF/A-2b (ISO 19005-2), the
/// level archives accept most widely. typst checks the conformance while writing (fonts
/// embedded, every character shown by a glyph, XMP metadata, output intent) and refuses to
/// write a non-conforming file. PDF/A requires a document date: the template dates the pack by
/// its period (the first day after it), never by the clock, so identical inputs still give
/// identical bytes.
///
/// A pack whose text the bundled fonts cannot show (a subscription or owner named in CJK
/// script or with an emoji) cannot be PDF/A; it is written as a plain PDF (still carrying the
/// attachments) with a warning rather than failing the month's run.
pub fn render_evidence_pack(
    doc_json: Vec<u8>,
    ident: String,
    attachments: &[(String, bytes::Bytes)],
) -> Result<Vec<u8>> {
    let standard = if attachments.is_empty() {
        Standard::PdfA2b
    } else {
        Standard::PdfA3b
    };
    let job = |standard| Job {
        template: EVIDENCE_TEMPLATE,
        data: doc_json.clone(),
        ident: ident.clone(),
        what: "evidence pack",
        standard,
        attachments,
    };
    let (pdf, warnings) = match compile(job(standard)) {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!("evidence pack written as a plain PDF, not PDF/A: {e}");
            compile(job(Standard::Pdf))?
        }
    };
    for warning in warnings {
        tracing::warn!("evidence pack: {warning}");
    }
    Ok(pdf)
}

/// The executive report (`executive/executive-report.pdf`) and its annex of complete lists
/// (`executive/annex.pdf`).
#[derive(Debug, Clone)]
pub struct ExecutivePdfs {
    pub report: Vec<u8>,
    pub annex: Vec<u8>,
}

/// Renders the executive report and its annex. `files` are the run's table files with their
/// rows: the report names them (with those rows) as the home of the complete lists.
pub fn render_executive(input: &ExecutiveInput, files: &RunFileRows) -> Result<ExecutivePdfs> {
    let (pdfs, warnings) = render_executive_with_warnings(input, files)?;
    for warning in warnings {
        tracing::warn!("executive report: {warning}");
    }
    Ok(pdfs)
}

/// Renders the executive report and its annex and returns the layout warnings (a missing
/// glyph, an unknown font) instead of logging them, so tests can insist there are none.
pub fn render_executive_with_warnings(
    input: &ExecutiveInput,
    files: &RunFileRows,
) -> Result<(ExecutivePdfs, Vec<String>)> {
    let data = executive::view_json(input, files)
        .map_err(|e| Error::input_err("executive report data", e))?;
    let ident = format!(
        "defender-ledger executive {} {}",
        input.kpis.period, input.input_fingerprint
    );
    let (report, mut warnings) = compile(Job::plain(
        EXECUTIVE_TEMPLATE,
        data,
        ident,
        "executive report",
    ))?;
    let data =
        annex::annex_json(input, files).map_err(|e| Error::input_err("executive annex data", e))?;
    let ident = format!(
        "defender-ledger executive annex {} {}",
        input.kpis.period, input.input_fingerprint
    );
    let (annex, annex_warnings) =
        compile(Job::plain(ANNEX_TEMPLATE, data, ident, "executive annex"))?;
    warnings.extend(annex_warnings.into_iter().map(|w| format!("annex: {w}")));
    Ok((ExecutivePdfs { report, annex }, warnings))
}

/// What a PDF conforms to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Standard {
    /// Plain PDF (tagged), dated only when the template sets a date.
    Pdf,
    /// PDF/A-2b, dated by the template.
    PdfA2b,
    /// PDF/A-3b (PDF/A-2b that may carry attached files), dated by the template.
    PdfA3b,
}

/// One PDF to lay out: the template, its `/data.json`, the document identifier, what it is
/// (for errors), the standard and the files it attaches.
struct Job<'a> {
    template: &'static str,
    data: Vec<u8>,
    ident: String,
    what: &'a str,
    standard: Standard,
    attachments: &'a [(String, bytes::Bytes)],
}

impl<'a> Job<'a> {
    /// A plain PDF without attachments.
    fn plain(template: &'static str, data: Vec<u8>, ident: String, what: &'a str) -> Job<'a> {
        Job {
            template,
            data,
            ident,
            what,
            standard: Standard::Pdf,
            attachments: &[],
        }
    }
}

/// Lays out `template` with `/data.json` = `data` and writes a PDF (tagged, accessible) whose
/// only date is the one the template sets (the executive templates set none).
fn compile(job: Job) -> Result<(Vec<u8>, Vec<String>)> {
    let what = job.what;
    let world = world::MemoryWorld::new(job.template, job.data).with_attachments(job.attachments);
    let compiled = typst::compile::<PagedDocument>(&world);
    let warnings = compiled
        .warnings
        .iter()
        .map(|w| match world.line_of(w.span) {
            Some(line) => format!("template {line}: {}", w.message),
            None => w.message.to_string(),
        })
        .collect();
    let document = compiled.output.map_err(|errors| {
        Error::input(
            format!("laying out the {what}"),
            diagnostics(&world, &errors),
        )
    })?;
    let archival = |s| {
        PdfStandards::new(&[s])
            .map_err(|e| Error::input(format!("the {what}'s PDF standard"), e.message()))
    };
    let standards = match job.standard {
        Standard::Pdf => PdfStandards::default(),
        Standard::PdfA2b => archival(PdfStandard::A_2b)?,
        Standard::PdfA3b => archival(PdfStandard::A_3b)?,
    };
    let options = PdfOptions {
        ident: Smart::Custom(job.ident),
        creator: Smart::Custom(Some(format!("defender-ledger {}", crate::TOOL_VERSION))),
        timestamp: None,
        standards,
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| {
        Error::input(
            format!("writing the {what} PDF"),
            diagnostics(&world, &errors),
        )
    })?;
    Ok((without_false_suspects(pdf), warnings))
}

/// The catalog's mark-information dictionary as typst writes it for a tagged PDF 1.7.
const MARK_INFO: &[u8] = b"/MarkInfo<</Marked true/Suspects false>>";
const SUSPECTS_FALSE: &[u8] = b"/Suspects false";

/// The PDF with `/Suspects false` blanked out of the catalog's `/MarkInfo`, space for byte so
/// every offset (and the cross-reference table) stays valid. `false` is the entry's default,
/// so the document means the same; poppler (22.x, as in Debian 12) reports an explicit `false`
/// as "Suspects object is wrong type (boolean)" on every open, which readers of the job's PDFs
/// should not see. A file without that exact dictionary is returned unchanged.
pub fn without_false_suspects(mut pdf: Vec<u8>) -> Vec<u8> {
    if let Some(at) = pdf.windows(MARK_INFO.len()).position(|w| w == MARK_INFO) {
        let from = at + MARK_INFO.len() - 2 - SUSPECTS_FALSE.len();
        pdf[from..from + SUSPECTS_FALSE.len()].fill(b' ');
    }
    pdf
}

/// Errors with the template line they point at (a template bug, never a data problem the
/// user can fix, so the line number is what a maintainer needs).
fn diagnostics(world: &world::MemoryWorld, errors: &[typst::diag::SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| {
            let line = world
                .line_of(e.span)
                .map(|l| format!("template {l}: "))
                .unwrap_or_default();
            format!("{line}{}", e.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspects_false_is_blanked_in_place() {
        let pdf = b"1 0 obj<</Type/Catalog/MarkInfo<</Marked true/Suspects false>>>>".to_vec();
        let out = without_false_suspects(pdf.clone());
        assert_eq!(out.len(), pdf.len());
        assert_eq!(
            out,
            b"1 0 obj<</Type/Catalog/MarkInfo<</Marked true               >>>>".to_vec()
        );
        let other = b"%PDF-2.0 /MarkInfo<</Marked true>>".to_vec();
        assert_eq!(without_false_suspects(other.clone()), other);
    }
}
