//! One framework's evidence pack: the item CSVs, the population and control tables, the
//! snapshot-day ledger, the mapping itself, and the content of `evidence-pack.pdf` as data
//! (`EvidencePackDoc`, also published as `evidence-pack.json`).

use crate::error::Result;
use crate::evidence::items::{EvidenceInputs, EvidenceTable, Figure, Population, build_items};
use crate::evidence::mapping::{self, Mapping, Support};
use crate::evidence::{Framework, ITEMS};
use crate::frame;
use crate::kpi::Parameters;
use crate::render::OutputFile;
use crate::render::csv::{CsvSpec, to_csv};
use crate::render::manifest::{FileEntry, file_entries};
use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

pub const POPULATION_CSV: &str = "population.csv";
pub const EXCLUSIONS_CSV: &str = "exclusions.csv";
pub const CONTROLS_CSV: &str = "controls.csv";
pub const SNAPSHOT_DAYS_CSV: &str = "snapshot-days.csv";
pub const MAPPING_TOML: &str = "mapping.toml";
pub const PACK_JSON: &str = "evidence-pack.json";
pub const PACK_PDF: &str = "evidence-pack.pdf";

/// The most CSV bytes `evidence-pack.pdf` carries as attachments. A year of a large tenant's
/// item CSVs runs to hundreds of MB, more than a PDF should hold (and than a run should keep
/// in memory twice); above this the CSVs stay beside the PDF only, and the PDF says so.
pub const ATTACHMENT_LIMIT_BYTES: u64 = 16 << 20;

/// Exception lines per item repeated under each control in the document.
const EXCEPTIONS_PER_CONTROL_ITEM: usize = 10;

/// Both frameworks' packs, the items built and their CSVs encoded once (a large tenant's
/// item CSVs run to hundreds of MB; both packs share the same bytes).
pub fn build_packs(inputs: &EvidenceInputs) -> Result<Vec<OutputFile>> {
    let items = build_items(inputs)?;
    let csvs = item_csvs(&items)?;
    let mut out = Vec::new();
    for fw in Framework::ALL {
        out.extend(pack_files_with(fw, inputs, &items, &csvs)?);
    }
    Ok(out)
}

/// Each item's table as CSV bytes.
fn item_csvs(items: &[EvidenceTable]) -> Result<Vec<bytes::Bytes>> {
    items
        .iter()
        .map(|it| to_csv(&it.table, CsvSpec::default()).map(bytes::Bytes::from))
        .collect()
}

/// One framework's pack: every file under `evidence/<framework>/`.
pub fn build_pack(framework: Framework, inputs: &EvidenceInputs) -> Result<Vec<OutputFile>> {
    let items = build_items(inputs)?;
    pack_files(framework, inputs, &items)
}

/// One framework's pack from items already built.
pub fn pack_files(
    framework: Framework,
    inputs: &EvidenceInputs,
    items: &[EvidenceTable],
) -> Result<Vec<OutputFile>> {
    pack_files_with(framework, inputs, items, &item_csvs(items)?)
}

/// One framework's pack from items and their CSV bytes (`csvs[i]` is `items[i]`'s table).
fn pack_files_with(
    framework: Framework,
    inputs: &EvidenceInputs,
    items: &[EvidenceTable],
    csvs: &[bytes::Bytes],
) -> Result<Vec<OutputFile>> {
    let mapping = mapping::load(framework)?;
    let dir = framework.dir();
    let at = |name: &str| format!("{dir}/{name}");
    let mut files = Vec::new();
    for (it, csv) in items.iter().zip(csvs) {
        let path = at(&it.item.file_name());
        files.push(OutputFile::new(path, csv.clone(), Some(it.table.height())));
    }
    let pops: Vec<&Population> = items.iter().map(|i| &i.population).collect();
    let population = population_table(&pops)?;
    files.push(csv_file(at(POPULATION_CSV), &population)?);
    let exclusions = exclusions_table(&pops)?;
    files.push(csv_file(at(EXCLUSIONS_CSV), &exclusions)?);
    let controls = controls_table(&mapping)?;
    files.push(csv_file(at(CONTROLS_CSV), &controls)?);
    let days = snapshot_days_table(inputs)?;
    files.push(csv_file(at(SNAPSHOT_DAYS_CSV), &days)?);
    files.push(OutputFile::new(
        at(MAPPING_TOML),
        mapping::source_text(framework).as_bytes().to_vec(),
        None,
    ));
    for q in inputs.queries {
        let name = q.file.rsplit('/').next().unwrap_or(&q.file);
        files.push(OutputFile::new(
            at(&format!("queries/{name}")),
            q.text.as_bytes().to_vec(),
            None,
        ));
    }
    // Built from the files above (it states their SHA-256), listed in the document's integrity
    // section below.
    let oscal =
        crate::evidence::oscal::assessment_results(framework, &mapping, inputs, items, &files)?;
    files.push(OutputFile::new(
        at(crate::evidence::oscal::ASSESSMENT_RESULTS_JSON),
        oscal,
        None,
    ));
    let doc = pack_doc(
        framework,
        &mapping,
        inputs,
        items,
        &file_entries(&files, &[]),
    );
    let mut json = serde_json::to_vec_pretty(&doc).expect("pack document serialises");
    json.push(b'\n');
    files.push(OutputFile::new(at(PACK_JSON), json, None));
    let attached = attachment_bytes(&doc.integrity.attachments, &files, &dir);
    files.push(OutputFile::new(
        at(PACK_PDF),
        render_pdf(&doc, &attached)?,
        None,
    ));
    Ok(files)
}

/// The bytes of the files the document attaches, by file name within the pack.
fn attachment_bytes(
    attachments: &Attachments,
    files: &[OutputFile],
    dir: &str,
) -> Vec<(String, bytes::Bytes)> {
    attachments
        .files
        .iter()
        .filter_map(|name| {
            let path = format!("{dir}/{name}");
            let f = files.iter().find(|f| f.path == path)?;
            Some((name.clone(), f.bytes.clone()))
        })
        .collect()
}

/// Render the pack document as `evidence-pack.pdf` (typst template
/// `render/pdf/templates/evidence.typ`): cover, scope and period, control table, per-control
/// summaries with exceptions, population reconciliation, integrity, sign-off. `attached` are
/// the bytes of the files `doc.integrity.attachments` names (PDF/A-3b when there are any).
pub fn render_pdf(doc: &EvidencePackDoc, attached: &[(String, bytes::Bytes)]) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(doc).expect("pack document serialises");
    let ident = format!(
        "defender-ledger evidence {} {}",
        doc.cover.framework, doc.cover.period
    );
    crate::render::pdf::render_evidence_pack(json, ident, attached)
}

fn csv_file(path: String, df: &DataFrame) -> Result<OutputFile> {
    Ok(OutputFile::new(
        path,
        to_csv(df, CsvSpec::default())?,
        Some(df.height()),
    ))
}

fn join_dates(days: &[NaiveDate]) -> String {
    days.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `population.csv`: one row per item.
pub fn population_table(pops: &[&Population]) -> Result<DataFrame> {
    frame::frame(vec![
        frame::column("item", pops, |p| p.item.as_str()),
        frame::column("file", pops, |p| p.file.as_str()),
        frame::column("file_rows", pops, |p| p.file_rows as i64),
        frame::column("unit", pops, |p| p.unit.as_str()),
        frame::column("rows", pops, |p| p.rows),
        frame::column("excluded", pops, |p| p.excluded_total()),
        frame::column("reported_total", pops, |p| p.reported_total),
        frame::column("reconciles", pops, |p| p.reconciles()),
        frame::column("exclusions", pops, |p| {
            p.exclusions
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect::<Vec<_>>()
                .join("; ")
        }),
        frame::column("population_datasets", pops, |p| {
            p.population_datasets.join(" ")
        }),
        frame::column("queries", pops, |p| {
            p.queries
                .iter()
                .map(|q| match &q.sha256 {
                    Some(h) => format!("{} (sha256 {h}, {} days)", q.file, q.days),
                    None => format!("{} ({} days)", q.file, q.days),
                })
                .collect::<Vec<_>>()
                .join("; ")
        }),
        frame::column("period", pops, |p| p.period.as_str()),
        frame::date_column_of("period_start", pops, |p| Some(p.period_start)),
        frame::date_column_of("period_end_exclusive", pops, |p| {
            Some(p.period_end_exclusive)
        }),
        frame::column("snapshot_days_used", pops, |p| {
            p.snapshot_days_used.len() as i64
        }),
        frame::date_column_of("first_snapshot_day", pops, |p| {
            p.snapshot_days_used.first().copied()
        }),
        frame::date_column_of("last_snapshot_day", pops, |p| {
            p.snapshot_days_used.last().copied()
        }),
        frame::column("snapshot_days_missing", pops, |p| {
            join_dates(&p.snapshot_days_missing)
        }),
        frame::column("note", pops, |p| p.note.as_str()),
    ])
}

/// `exclusions.csv`: one row per item and exclusion reason.
pub fn exclusions_table(pops: &[&Population]) -> Result<DataFrame> {
    let rows: Vec<(&str, &str, i64)> = pops
        .iter()
        .flat_map(|p| {
            p.exclusions
                .iter()
                .map(move |(r, n)| (p.item.as_str(), r.as_str(), *n))
        })
        .collect();
    frame::frame(vec![
        frame::column("item", &rows, |r| r.0),
        frame::column("reason", &rows, |r| r.1),
        frame::column("rows", &rows, |r| r.2),
    ])
}

/// `controls.csv`: one row per control and evidence item.
pub fn controls_table(m: &Mapping) -> Result<DataFrame> {
    let mut cols: [Vec<String>; 8] = Default::default();
    for c in &m.controls {
        for e in &c.evidence {
            let file = crate::evidence::item(&e.item)
                .map(|i| i.file_name())
                .unwrap_or_default();
            for (j, v) in [
                c.id.clone(),
                c.title.clone(),
                c.support().as_str().to_string(),
                e.item.clone(),
                file,
                e.support.as_str().to_string(),
                e.rationale.clone(),
                e.gap.clone(),
            ]
            .into_iter()
            .enumerate()
            {
                cols[j].push(v);
            }
        }
    }
    let n = cols[0].len();
    let [id, title, csup, item, file, sup, why, gap] = cols;
    frame::frame(vec![
        Column::new("framework".into(), vec![m.framework.clone(); n]),
        Column::new("control_id".into(), id),
        Column::new("control_title".into(), title),
        Column::new("control_support".into(), csup),
        Column::new("item".into(), item),
        Column::new("item_file".into(), file),
        Column::new("support".into(), sup),
        Column::new("rationale".into(), why),
        Column::new("gap".into(), gap),
    ])
}

/// `snapshot-days.csv`: every day of the period, used or missing, with the SHA-256 of that
/// day's snapshot content (over its dataset files' hashes). Content, not the id of the run that
/// wrote it, so identical inputs give an identical pack; the manifest names the history runs.
pub fn snapshot_days_table(inp: &EvidenceInputs) -> Result<DataFrame> {
    let days = inp.period.days();
    let mut status = Vec::new();
    let mut content = Vec::new();
    let mut source = Vec::new();
    for d in &days {
        let used = inp.history.days.contains(d);
        let m = inp.history.markers.iter().find(|m| m.date == *d);
        status.push(if used { "used" } else { "missing" });
        let suffix = format!("/{d}");
        let day_hashes: Vec<&str> = inp
            .history
            .content_sha256
            .iter()
            .filter(|(k, _)| k.ends_with(&suffix))
            .map(|(_, v)| v.as_str())
            .collect();
        content.push(if day_hashes.is_empty() {
            String::new()
        } else {
            crate::hashing::sha256_hex(day_hashes.join("\n").as_bytes())
        });
        source.push(m.map(|m| m.source.clone()).unwrap_or_default());
    }
    frame::frame(vec![
        frame::date_column("date", &days.iter().copied().map(Some).collect::<Vec<_>>()),
        Column::new("status".into(), status),
        Column::new("snapshot_sha256".into(), content),
        Column::new("source".into(), source),
    ])
}

// ---------------------------------------------------------------------------------------------
// The pack document

/// Everything `evidence-pack.pdf` shows, in page order.
#[derive(Debug, Clone, Serialize)]
pub struct EvidencePackDoc {
    pub schema_version: u32,
    pub cover: Cover,
    pub scope: Scope,
    /// Control → evidence table.
    pub control_table: Vec<ControlRow>,
    /// Per-control summaries with their exceptions.
    pub controls: Vec<ControlSummary>,
    /// Every evidence item with its figures and exceptions.
    pub items: Vec<ItemSummary>,
    /// Population reconciliation, one per item.
    pub populations: Vec<Population>,
    /// Pack-level exceptions: missing snapshot days, populations that do not reconcile.
    pub pack_exceptions: Vec<String>,
    /// The report's data-quality findings: what the figures could not count or read (e.g.
    /// protected resources without vulnerability data: unknown, not zero findings).
    pub data_quality: Vec<String>,
    pub integrity: Integrity,
    pub sign_off: SignOff,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cover {
    pub title: String,
    pub framework: String,
    pub framework_name: String,
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end_exclusive: NaiveDate,
    pub tool: String,
    pub tool_version: String,
    pub wording_note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub statement: String,
    pub source: String,
    /// Configured management groups and subscriptions; both empty = every subscription the
    /// identity can read.
    pub management_groups: Vec<String>,
    pub subscriptions: Vec<String>,
    pub parameters: Parameters,
    pub snapshot_days_in_period: Vec<NaiveDate>,
    pub snapshot_days_missing: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlRow {
    pub id: String,
    pub title: String,
    pub support: Support,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlEvidence {
    pub item: String,
    pub item_title: String,
    pub file: String,
    pub support: Support,
    pub rationale: String,
    pub gap: String,
    pub figures: Vec<Figure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlSummary {
    pub id: String,
    pub title: String,
    pub support: Support,
    pub evidence: Vec<ControlEvidence>,
    /// The exceptions of its items, each prefixed with the item id.
    pub exceptions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    pub file: String,
    pub rows: usize,
    pub controls: Vec<String>,
    pub figures: Vec<Figure>,
    pub exceptions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Integrity {
    pub statement: String,
    /// SHA-256, size and rows of every pack file written before the document.
    pub files: Vec<FileEntry>,
    pub manifest: String,
    pub verify_command: String,
    /// SHA-256 of the Ed25519 public key, when the run is signed.
    pub signing_key_fingerprint: Option<String>,
    /// The pack's CSVs carried inside the PDF, or why they are not.
    pub attachments: Attachments,
}

/// Which of the pack's CSVs `evidence-pack.pdf` carries (PDF/A-3 associated files): all of
/// them when together they fit in [`ATTACHMENT_LIMIT_BYTES`], else none.
#[derive(Debug, Clone, Serialize)]
pub struct Attachments {
    pub statement: String,
    /// File names within the pack, in pack order.
    pub files: Vec<String>,
    /// Bytes of every CSV of the pack together.
    pub csv_bytes: u64,
    pub limit_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signatory {
    pub role: String,
    pub name: String,
    pub date: String,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignOff {
    pub statement: String,
    pub signatories: Vec<Signatory>,
    pub exceptions_and_remediation: String,
}

/// The document of one framework's pack. `files` are the pack files already built (their
/// hashes go into the integrity section; the document cannot hash itself or the manifest).
pub fn pack_doc(
    framework: Framework,
    mapping: &Mapping,
    inp: &EvidenceInputs,
    items: &[EvidenceTable],
    files: &[FileEntry],
) -> EvidencePackDoc {
    let (in_period, missing) = inp.period.split_days(&inp.history.days);
    EvidencePackDoc {
        schema_version: 1,
        cover: cover(framework, mapping, inp),
        control_table: control_table(mapping),
        controls: mapping
            .controls
            .iter()
            .map(|c| control_summary(c, items))
            .collect(),
        items: item_summaries(mapping, items),
        populations: items.iter().map(|i| i.population.clone()).collect(),
        pack_exceptions: pack_exceptions(items, &missing),
        data_quality: inp.data_quality.to_vec(),
        scope: scope(inp, in_period, missing),
        integrity: integrity(inp, files),
        sign_off: sign_off(framework, inp),
    }
}

fn cover(framework: Framework, mapping: &Mapping, inp: &EvidenceInputs) -> Cover {
    let period = inp.period;
    Cover {
        title: format!(
            "{} evidence pack: Microsoft Defender for Containers, {period}",
            mapping.name
        ),
        framework: framework.id().into(),
        framework_name: mapping.name.clone(),
        period: period.to_string(),
        period_start: period.start(),
        period_end_exclusive: period.end_exclusive(),
        tool: "defender-ledger".into(),
        tool_version: crate::TOOL_VERSION.into(),
        wording_note: mapping.wording_note.clone(),
    }
}

fn scope(inp: &EvidenceInputs, in_period: Vec<NaiveDate>, missing: Vec<NaiveDate>) -> Scope {
    let period = inp.period;
    Scope {
        statement: format!(
            "Azure Kubernetes Service clusters, Azure Arc-enabled Kubernetes clusters and Azure \
             Container Registries under Microsoft Defender for Containers, from daily Azure \
             Resource Graph snapshots of the UTC calendar month {period} ({} to {} exclusive). \
             Control support is judged for this platform only, never for the entity as a whole.",
            period.start(),
            period.end_exclusive()
        ),
        source: inp.source.to_string(),
        management_groups: inp.scope_management_groups.to_vec(),
        subscriptions: inp.scope_subscriptions.to_vec(),
        parameters: inp.params.clone(),
        snapshot_days_in_period: in_period,
        snapshot_days_missing: missing,
    }
}

/// Control → evidence table.
fn control_table(mapping: &Mapping) -> Vec<ControlRow> {
    mapping
        .controls
        .iter()
        .map(|c| ControlRow {
            id: c.id.clone(),
            title: c.title.clone(),
            support: c.support(),
            items: c.items().map(String::from).collect(),
        })
        .collect()
}

/// One control with its evidence and the first exceptions of each of its items.
fn control_summary(c: &mapping::Control, items: &[EvidenceTable]) -> ControlSummary {
    let by_id = |id: &str| items.iter().find(|i| i.item.id == id);
    let mut exceptions = Vec::new();
    let evidence = c
        .evidence
        .iter()
        .map(|e| {
            let built = by_id(&e.item);
            if let Some(b) = built {
                exceptions.extend(control_item_exceptions(&e.item, b));
            }
            ControlEvidence {
                item: e.item.clone(),
                item_title: built.map(|b| b.item.title.to_string()).unwrap_or_default(),
                file: built.map(|b| b.item.file_name()).unwrap_or_default(),
                support: e.support,
                rationale: e.rationale.clone(),
                gap: e.gap.clone(),
                figures: built.map(|b| b.figures.clone()).unwrap_or_default(),
            }
        })
        .collect();
    ControlSummary {
        id: c.id.clone(),
        title: c.title.clone(),
        support: c.support(),
        evidence,
        exceptions,
    }
}

/// An item's exceptions as repeated under a control: the first few, prefixed with the item
/// id, then a line saying how many more there are and where.
fn control_item_exceptions(item: &str, b: &EvidenceTable) -> Vec<String> {
    let n = b.exceptions.len();
    let mut out: Vec<String> = b
        .exceptions
        .iter()
        .take(EXCEPTIONS_PER_CONTROL_ITEM)
        .map(|x| format!("[{item}] {x}"))
        .collect();
    if n > EXCEPTIONS_PER_CONTROL_ITEM {
        out.push(format!(
            "[{item}] … {} more in the item's section and {}",
            n - EXCEPTIONS_PER_CONTROL_ITEM,
            b.item.file_name()
        ));
    }
    out
}

/// Every evidence item built, in item order, with its controls, figures and exceptions.
fn item_summaries(mapping: &Mapping, items: &[EvidenceTable]) -> Vec<ItemSummary> {
    ITEMS
        .iter()
        .filter_map(|def| items.iter().find(|i| i.item.id == def.id))
        .map(|b| ItemSummary {
            id: b.item.id.into(),
            title: b.item.title.into(),
            description: b.item.description.into(),
            file: b.item.file_name(),
            rows: b.table.height(),
            controls: mapping
                .controls_for(b.item.id)
                .map(|(c, _)| c.id.clone())
                .collect(),
            figures: b.figures.clone(),
            exceptions: b.exceptions.clone(),
        })
        .collect()
}

/// Pack-level exceptions: missing snapshot days, populations that do not reconcile.
fn pack_exceptions(items: &[EvidenceTable], missing: &[NaiveDate]) -> Vec<String> {
    let mut pack_exceptions = Vec::new();
    if !missing.is_empty() {
        pack_exceptions.push(format!(
            "{} day(s) of the period have no snapshot and are left out of every daily figure: {}",
            missing.len(),
            join_dates(missing)
        ));
    }
    for it in items {
        if !it.population.reconciles() {
            pack_exceptions.push(format!(
                "population of {} does not reconcile: {}",
                it.item.id,
                it.population.summary()
            ));
        }
    }
    pack_exceptions
}

fn integrity(inp: &EvidenceInputs, files: &[FileEntry]) -> Integrity {
    let period = inp.period;
    Integrity {
        statement: "Every file of the run, this pack included, is listed with its SHA-256, size \
                    and rows in manifest.json at the root of the run, written last. When the run \
                    is signed, manifest.json.sig holds the Ed25519 signature of manifest.json \
                    and manifest.pub.pem the public key; obtain the public key independently \
                    (not from the same folder) to prove more than accidental change. The \
                    hashes below are of the pack files written before this document."
            .into(),
        files: files.to_vec(),
        // The run id lives only in the run's path and manifest, so identical inputs give an
        // identical pack.
        manifest: format!("manifest.json at the root of this run (period {period})"),
        verify_command: format!(
            "defender-ledger verify <output>/{period}/<run-id> --public-key <independently obtained manifest.pub.pem>"
        ),
        signing_key_fingerprint: inp.signing_key_fingerprint.clone(),
        attachments: attachments(files),
    }
}

/// The pack's CSVs (`files` are the pack files written before the document) attached when
/// they fit together, with the sentence the PDF prints about it.
fn attachments(files: &[FileEntry]) -> Attachments {
    let csvs: Vec<&FileEntry> = files.iter().filter(|f| f.path.ends_with(".csv")).collect();
    let csv_bytes = csvs.iter().map(|f| f.bytes).sum::<u64>();
    let fits = !csvs.is_empty() && csv_bytes <= ATTACHMENT_LIMIT_BYTES;
    let statement = if fits {
        format!(
            "This PDF carries the pack's {} CSV files ({}) as attachments (PDF/A-3 \
             associated files, relationship Data), byte for byte the files listed above: the \
             one file archived holds its evidence.",
            csvs.len(),
            size(csv_bytes)
        )
    } else {
        format!(
            "The pack's CSV files ({}) exceed the {} this PDF carries as attachments: they \
             stay beside it in the pack, listed above with their SHA-256.",
            size(csv_bytes),
            size(ATTACHMENT_LIMIT_BYTES)
        )
    };
    let names = csvs
        .iter()
        .map(|f| f.path.rsplit('/').next().unwrap_or(&f.path).to_string());
    Attachments {
        statement,
        files: if fits { names.collect() } else { Vec::new() },
        csv_bytes,
        limit_bytes: ATTACHMENT_LIMIT_BYTES,
    }
}

fn sign_off(framework: Framework, inp: &EvidenceInputs) -> SignOff {
    let (period, dir) = (inp.period, framework.dir());
    SignOff {
        statement: format!(
            "I have reviewed this evidence pack for {period}: the populations reconcile or their \
             differences are explained, the exceptions listed are known to management, and the \
             files match manifest.json ({dir} verified with `defender-ledger verify`)."
        ),
        signatories: ["Prepared by", "Reviewed by (compliance lead)"]
            .into_iter()
            .map(|role| Signatory {
                role: role.into(),
                name: String::new(),
                date: String::new(),
                signature: String::new(),
            })
            .collect(),
        exceptions_and_remediation: String::new(),
    }
}

/// A size as people read it: `1.0 KiB` below one MiB, else `16.0 MiB`.
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1 << 20 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / f64::from(1u32 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, bytes: u64) -> FileEntry {
        FileEntry {
            path: path.into(),
            sha256: "0".repeat(64),
            bytes,
            rows: Some(1),
        }
    }

    #[test]
    fn the_csvs_are_attached_together_when_they_fit_and_never_in_part() {
        let small = [
            entry("evidence/soc2/alerts.csv", 1000),
            entry("evidence/soc2/mapping.toml", 500),
            entry("evidence/soc2/population.csv", 24),
        ];
        let a = attachments(&small);
        assert_eq!(a.files, ["alerts.csv", "population.csv"]);
        assert_eq!(a.csv_bytes, 1024);
        assert!(
            a.statement
                .contains("carries the pack's 2 CSV files (1.0 KiB)")
        );

        // One byte over the limit between them: none attached, and the PDF says why.
        let large = [
            entry("evidence/soc2/alerts.csv", ATTACHMENT_LIMIT_BYTES),
            entry("evidence/soc2/population.csv", 1),
        ];
        let a = attachments(&large);
        assert!(a.files.is_empty());
        assert!(
            a.statement.contains("(16.0 MiB) exceed the 16.0 MiB"),
            "{}",
            a.statement
        );
    }
}
