//! The finance files of a run through the real CLI on the bundled sample tenant: the workbook
//! `finance/showback.xlsx` read back with calamine and compared cell for cell with the finance
//! CSVs (values, types, row counts), its formats, frozen header and autofilter, every sheet
//! written row by row (constant memory: strings inline, no shared-string table), the
//! reconciliation sheet, byte-identical rebuilds, the `output.csv_bom` option, and the
//! documented precision of percentages and ratios; and the Parquet twins of those tables as a
//! warehouse reads them (amounts as DECIMAL(18, 2), read back by polars, DuckDB and pyarrow).

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::NaiveDate;
use polars::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PERIOD: &str = "2026-10";
const WORKBOOK: &str = "finance/showback.xlsx";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Each finance CSV, the sheet that holds it and its Parquet table (amounts as DECIMAL cents,
/// other numbers at full precision).
const TABLES: [(&str, &str, &str); 5] = [
    (
        "finance/showback-by-owner.csv",
        "showback-by-owner",
        "data/showback_by_owner.parquet",
    ),
    (
        "finance/showback-by-resource.csv",
        "showback-by-resource",
        "data/showback_by_resource.parquet",
    ),
    (
        "finance/defender-cost-allocation.csv",
        "defender-cost-allocation",
        "data/defender_cost_allocation.parquet",
    ),
    (
        "finance/untagged-resources.csv",
        "untagged-resources",
        "data/untagged_resources.parquet",
    ),
    (
        "finance/cost-anomalies.csv",
        "cost-anomalies",
        "data/cost_anomalies.parquet",
    ),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo run (`run --period 2026-10`, today pinned to 2026-11-02) into `out`.
fn demo(out: &Path, run_id: &str, envs: &[(&str, &str)]) -> PathBuf {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_defender-ledger"));
    cmd.current_dir(repo())
        .args(["--out", out.to_str().unwrap(), "--today", "2026-11-02"])
        .args(["run", "--period", PERIOD])
        .env("DEFENDER_LEDGER_LOG", "warn")
        .env("DEFENDER_LEDGER_RUN_ID", run_id)
        .env_remove("DEFENDER_LEDGER_OUTPUT_CSV_BOM");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("runs");
    assert!(
        o.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out.join(PERIOD).join(run_id)
}

/// One default demo run shared by the tests that only read it.
fn shared_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, run) = RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let run = demo(&tmp.path().join("out"), "20261201T000000Z", &[]);
        (tmp, run)
    });
    run
}

fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(bytes)).expect("the workbook opens")
}

/// Header and records of a CSV (a leading BOM refused: the default run writes none).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        !bytes.starts_with(BOM),
        "{}: no BOM by default",
        path.display()
    );
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// `column -> (type, description)` of a file in `finance/data-dictionary.csv`.
fn dictionary(run: &Path, file: &str) -> BTreeMap<String, (String, String)> {
    let (_, rows) = read_csv(&run.join("finance/data-dictionary.csv"));
    rows.into_iter()
        .filter(|r| r[0] == file && r[1] != "0")
        .map(|r| (r[2].clone(), (r[3].clone(), r[4].clone())))
        .collect()
}

/// The decimals the dictionary documents for a column ("Rounded ... to N decimals").
fn documented_decimals(description: &str) -> Option<usize> {
    let rest = description
        .split("Rounded half away from zero to ")
        .nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

/// An Excel serial date (1900 system, after February 1900) as a date.
fn excel_date(serial: f64) -> NaiveDate {
    assert_eq!(serial.fract(), 0.0, "a date without a time: {serial}");
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap() + chrono::Days::new(serial as u64)
}

/// A part of the xlsx zip as text.
fn zip_part(bytes: &[u8], name: &str) -> String {
    let mut zip = ::zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the workbook"))
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Compare one CSV field with its workbook cell, by the column's dictionary type.
fn assert_cell(kind: &str, csv: &str, cell: &Data, at: &str) {
    if csv.is_empty() {
        assert_eq!(cell, &Data::Empty, "{at}: empty in the CSV");
        return;
    }
    match (kind, cell) {
        ("text", Data::String(s)) => assert_eq!(s, csv, "{at}"),
        ("amount" | "number", Data::Float(v)) => {
            assert_eq!(*v, csv.parse::<f64>().unwrap(), "{at}: {csv}")
        }
        ("integer", Data::Float(v)) => {
            assert_eq!(v.fract(), 0.0, "{at}: an integer");
            assert_eq!(*v as i64, csv.parse::<i64>().unwrap(), "{at}");
        }
        ("integer", Data::Int(v)) => assert_eq!(*v, csv.parse::<i64>().unwrap(), "{at}"),
        ("date", Data::DateTime(d)) => {
            assert!(d.is_datetime(), "{at}: a date");
            assert_eq!(excel_date(d.as_f64()).to_string(), csv, "{at}");
        }
        ("boolean", Data::Bool(b)) => assert_eq!(b.to_string(), csv, "{at}"),
        _ => panic!("{at}: a {kind} column holds {cell:?} for '{csv}'"),
    }
}

#[test]
fn every_finance_csv_is_a_sheet_with_the_same_cells() {
    let run = shared_run();
    let mut book = open(std::fs::read(run.join(WORKBOOK)).unwrap());
    let names = book.sheet_names();
    assert_eq!(
        names,
        [
            "showback-by-owner",
            "showback-by-resource",
            "defender-cost-allocation",
            "untagged-resources",
            "cost-anomalies",
            "reconciliation",
            "data-dictionary",
        ]
    );
    for (csv_path, sheet, _) in TABLES {
        let (header, rows) = read_csv(&run.join(csv_path));
        let types = dictionary(run, csv_path);
        let range = book.worksheet_range(sheet).unwrap();
        assert_eq!(range.start(), Some((0, 0)), "{sheet}");
        assert_eq!(range.height(), rows.len() + 1, "{sheet}: header + rows");
        assert_eq!(range.width(), header.len(), "{sheet}");
        assert!(!rows.is_empty(), "{sheet}: the sample has rows");
        for (c, name) in header.iter().enumerate() {
            assert_eq!(
                range.get_value((0, c as u32)),
                Some(&Data::String(name.clone())),
                "{sheet} header"
            );
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, field) in row.iter().enumerate() {
                let cell = range.get_value((r as u32 + 1, c as u32)).unwrap();
                let kind = &types[&header[c]].0;
                assert_cell(
                    kind,
                    field,
                    cell,
                    &format!("{sheet} row {} {}", r + 2, header[c]),
                );
            }
        }
    }
    // The dictionary sheet is data-dictionary.csv.
    let (header, rows) = read_csv(&run.join("finance/data-dictionary.csv"));
    let range = book.worksheet_range("data-dictionary").unwrap();
    assert_eq!(range.height(), rows.len() + 1);
    let kinds = ["text", "integer", "text", "text", "text"];
    for (r, row) in std::iter::once(&header).chain(rows.iter()).enumerate() {
        for (c, field) in row.iter().enumerate() {
            let cell = range.get_value((r as u32, c as u32)).unwrap();
            let kind = if r == 0 { "text" } else { kinds[c] };
            assert_cell(kind, field, cell, &format!("data-dictionary row {}", r + 1));
        }
    }
}

#[test]
fn dates_are_dates_amounts_carry_their_currency_format_and_headers_are_frozen() {
    let run = shared_run();
    let bytes = std::fs::read(run.join(WORKBOOK)).unwrap();
    let mut book = open(bytes.clone());

    // defender-cost-allocation: charge_date (A) a date, amount (G) a number shown as USD.
    let range = book.worksheet_range("defender-cost-allocation").unwrap();
    let styles = book.worksheet_style("defender-cost-allocation").unwrap();
    for r in 1..range.height() as u32 {
        let date = range.get_value((r, 0)).unwrap();
        assert!(
            matches!(date, Data::DateTime(d) if d.is_datetime()),
            "{date:?}"
        );
        let format = |c: u32| {
            styles
                .get((r, c))
                .and_then(|s| s.number_format.as_ref())
                .map(|f| f.format_code.clone())
        };
        assert_eq!(format(0).as_deref(), Some("yyyy-mm-dd"));
        assert!(matches!(range.get_value((r, 6)), Some(Data::Float(_))));
        let currency = range.get_value((r, 2)).unwrap().to_string();
        assert_eq!(currency, "USD");
        assert_eq!(format(6), Some(format!("#,##0.00 \"{currency}\"")));
        // Counts are integers shown without decimals.
        assert_eq!(format(4).as_deref(), Some("0"));
    }
    // cost-anomalies: protected is a boolean, the ratio a number with 4 decimals.
    let range = book.worksheet_range("cost-anomalies").unwrap();
    let styles = book.worksheet_style("cost-anomalies").unwrap();
    for r in 1..range.height() as u32 {
        assert!(matches!(range.get_value((r, 10)), Some(Data::Bool(_))));
        let ratio = styles.get((r, 9)).and_then(|s| s.number_format.as_ref());
        assert_eq!(ratio.map(|f| f.format_code.as_str()), Some("0.0000"));
    }

    // Every sheet written in constant-memory mode (row by row, whatever the tenant's size):
    // strings inline in the cells, no shared-string table held for the whole workbook.
    let mut zip = ::zip::ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
    assert!(
        zip.by_name("xl/sharedStrings.xml").is_err(),
        "no shared-string table"
    );

    // Every sheet: a frozen header row, an autofilter over the whole table, and column
    // widths set within bounds.
    for (i, name) in book.sheet_names().iter().enumerate() {
        let xml = zip_part(&bytes, &format!("xl/worksheets/sheet{}.xml", i + 1));
        assert!(xml.contains(r#"t="inlineStr""#), "{name}: strings inline");
        assert!(
            xml.contains(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
            ),
            "{name}: frozen header"
        );
        let range = book.worksheet_range(name).unwrap();
        let last_col = (b'A' + range.width() as u8 - 1) as char;
        let filter = format!("<autoFilter ref=\"A1:{last_col}{}\"/>", range.height());
        assert!(xml.contains(&filter), "{name}: {filter}");
        // <col min=".." max=".." width=".." customWidth="1"/>, adjacent equal widths merged.
        let mut widths = Vec::new();
        for col in xml.split("<col ").skip(1) {
            let attr = |a: &str| -> f64 {
                let v = col.split(&format!("{a}=\"")).nth(1).unwrap();
                v.split('"').next().unwrap().parse().unwrap()
            };
            for _ in attr("min") as usize..=attr("max") as usize {
                widths.push(attr("width"));
            }
        }
        assert_eq!(widths.len(), range.width(), "{name}: every column sized");
        assert!(
            widths.iter().all(|w| (8.0..=61.0).contains(w)),
            "{name}: {widths:?}"
        );
    }
}

#[test]
fn the_reconciliation_sheet_shows_the_export_total_equal_to_the_showback() {
    let run = shared_run();
    let mut book = open(std::fs::read(run.join(WORKBOOK)).unwrap());
    let kpis: Value =
        serde_json::from_slice(&std::fs::read(run.join("kpis.json")).unwrap()).unwrap();
    let totals = kpis["showback"]["export_total_by_currency"]
        .as_object()
        .unwrap();
    // Σ showback-by-owner amount per currency, in cents, from the CSV.
    let (_, rows) = read_csv(&run.join("finance/showback-by-owner.csv"));
    let mut showback: BTreeMap<String, i64> = BTreeMap::new();
    for r in rows {
        *showback.entry(r[0].clone()).or_default() +=
            (r[2].parse::<f64>().unwrap() * 100.0).round() as i64;
    }

    let range = book.worksheet_range("reconciliation").unwrap();
    let header: Vec<String> = (0..4)
        .map(|c| range.get_value((0, c)).unwrap().to_string())
        .collect();
    assert_eq!(
        header,
        ["currency", "export_total", "showback_total", "difference"]
    );
    assert_eq!(range.height(), totals.len() + 1, "one row per currency");
    let formulas = book.worksheet_formula("reconciliation").unwrap();
    for (i, (currency, total)) in totals.iter().enumerate() {
        let r = i as u32 + 1;
        let total_cents = (total.as_f64().unwrap() * 100.0).round() as i64;
        let value = |c: u32| match range.get_value((r, c)) {
            Some(Data::Float(v)) => *v,
            other => panic!("{currency} column {c}: {other:?}"),
        };
        assert_eq!(range.get_value((r, 0)).unwrap().to_string(), *currency);
        assert_eq!(value(1), total_cents as f64 / 100.0, "export total");
        assert_eq!(value(2), showback[currency] as f64 / 100.0, "Σ showback");
        assert_eq!(value(1), value(2), "export total = Σ showback");
        assert_eq!(value(3), 0.0, "difference");
        // Σ showback and the difference are formulas over the sheets (values cached).
        let f = |c: u32| formulas.get_value((r, c)).cloned().unwrap_or_default();
        assert_eq!(
            f(2),
            format!(
                "SUMIF('showback-by-owner'!$A$2:$A${n},A{row},'showback-by-owner'!$C$2:$C${n})",
                n = showback_rows(run) + 1,
                row = r + 1
            )
        );
        assert_eq!(f(3), format!("ROUND(B{0}-C{0},2)", r + 1));
    }
    assert_eq!(showback.len(), totals.len());
}

fn showback_rows(run: &Path) -> usize {
    read_csv(&run.join("finance/showback-by-owner.csv")).1.len()
}

#[test]
fn identical_inputs_give_a_byte_identical_workbook_listed_in_the_manifest() {
    let run = shared_run();
    let tmp = tempfile::tempdir().unwrap();
    let again = demo(&tmp.path().join("out"), "20261201T010000Z", &[]);
    let a = std::fs::read(run.join(WORKBOOK)).unwrap();
    let b = std::fs::read(again.join(WORKBOOK)).unwrap();
    assert!(
        a == b,
        "two runs of the same inputs give the same workbook bytes"
    );

    // Fixed properties: created at the period's end, never the clock.
    let core = zip_part(&a, "docProps/core.xml");
    assert!(
        core.contains(
            r#"<dcterms:created xsi:type="dcterms:W3CDTF">2026-11-01T00:00:00Z</dcterms:created>"#
        ),
        "{core}"
    );
    assert!(core.contains("<dc:title>Defender for Containers showback 2026-10</dc:title>"));

    // Listed in the manifest like every run file.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == WORKBOOK)
        .expect("the workbook is in the manifest");
    use sha2::Digest;
    assert_eq!(
        entry["sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(&a))
    );
    assert_eq!(entry["bytes"].as_u64().unwrap(), a.len() as u64);
}

#[test]
fn csv_bom_is_written_only_when_configured() {
    let run = shared_run();
    let tmp = tempfile::tempdir().unwrap();
    let with_bom = demo(
        &tmp.path().join("out"),
        "20261201T020000Z",
        &[("DEFENDER_LEDGER_OUTPUT_CSV_BOM", "true")],
    );
    let finance: Vec<PathBuf> = std::fs::read_dir(run.join("finance"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    assert_eq!(finance.len(), 6, "five tables and the data dictionary");
    for p in finance {
        let rel = p.strip_prefix(run).unwrap();
        let plain = std::fs::read(&p).unwrap();
        let bommed = std::fs::read(with_bom.join(rel)).unwrap();
        assert!(
            !plain.starts_with(BOM),
            "{}: no BOM by default",
            rel.display()
        );
        assert_eq!(&bommed[..3], BOM, "{}: BOM when set", rel.display());
        assert_eq!(&bommed[3..], plain.as_slice(), "{}", rel.display());
    }
    // The workbook does not depend on the option.
    assert!(
        std::fs::read(run.join(WORKBOOK)).unwrap()
            == std::fs::read(with_bom.join(WORKBOOK)).unwrap()
    );

    // A value that is not true/false is a configuration error naming the variable.
    let o = Command::new(env!("CARGO_BIN_EXE_defender-ledger"))
        .current_dir(repo())
        .args(["--out", tmp.path().join("x").to_str().unwrap()])
        .args(["report", "--period", PERIOD])
        .env("DEFENDER_LEDGER_OUTPUT_CSV_BOM", "yes")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("DEFENDER_LEDGER_OUTPUT_CSV_BOM"));
}

#[test]
fn percentages_and_ratios_are_rounded_to_the_documented_precision() {
    let run = shared_run();
    let mut book = open(std::fs::read(run.join(WORKBOOK)).unwrap());
    let mut checked = Vec::new();
    for (csv_path, sheet, parquet) in TABLES {
        let types = dictionary(run, csv_path);
        let (header, rows) = read_csv(&run.join(csv_path));
        let full = ParquetReader::new(std::fs::File::open(run.join(parquet)).unwrap())
            .finish()
            .unwrap();
        let range = book.worksheet_range(sheet).unwrap();
        for (c, name) in header.iter().enumerate() {
            let (kind, description) = &types[name];
            if kind != "number" {
                continue;
            }
            let decimals = documented_decimals(description)
                .unwrap_or_else(|| panic!("{csv_path} {name}: precision documented"));
            checked.push((name.clone(), decimals));
            let values: Vec<Option<f64>> = full
                .column(name)
                .unwrap()
                .cast(&DataType::Float64)
                .unwrap()
                .f64()
                .unwrap()
                .iter()
                .collect();
            let mut more_precise_in_parquet = false;
            for (r, row) in rows.iter().enumerate() {
                let field = &row[c];
                let Some(v) = values[r] else {
                    assert!(field.is_empty(), "{name}: null is empty");
                    continue;
                };
                // Exactly the documented decimals, rounded half away from zero from the
                // full-precision Parquet value.
                let shown = field.split('.').nth(1).map_or(0, str::len);
                assert_eq!(shown, decimals, "{csv_path} {name} '{field}'");
                let scale = 10f64.powi(decimals as i32);
                let expected = (v * scale).round() / scale;
                assert_eq!(field.parse::<f64>().unwrap(), expected, "{name}: {v}");
                more_precise_in_parquet |= v != expected;
                // The workbook holds the same rounded value.
                assert_eq!(
                    range.get_value((r as u32 + 1, c as u32)),
                    Some(&Data::Float(expected))
                );
            }
            assert!(
                more_precise_in_parquet,
                "{name}: Parquet keeps full precision"
            );
        }
    }
    assert_eq!(
        checked,
        [
            ("share_of_currency_total_pct".to_string(), 2),
            ("ratio".to_string(), 4)
        ]
    );
}

/// The integer cents of a Decimal column read back from Parquet (nulls as `None`).
fn decimal_cents(df: &DataFrame, name: &str) -> Vec<Option<i128>> {
    let column = df.column(name).unwrap();
    assert_eq!(
        column.dtype(),
        &DataType::Decimal(18, 2),
        "{name}: DECIMAL(18, 2)"
    );
    column
        .as_materialized_series()
        .decimal()
        .unwrap()
        .physical()
        .iter()
        .collect()
}

#[test]
fn parquet_amounts_are_decimal_cents_equal_to_the_csv() {
    let run = shared_run();
    let mut checked = 0;
    for (csv_path, _, parquet) in TABLES {
        let types = dictionary(run, csv_path);
        let (header, rows) = read_csv(&run.join(csv_path));
        let table = ParquetReader::new(std::fs::File::open(run.join(parquet)).unwrap())
            .finish()
            .unwrap();
        assert_eq!(table.height(), rows.len(), "{parquet}: the CSV's rows");
        for (c, name) in header.iter().enumerate() {
            let (kind, description) = &types[name];
            if kind != "amount" {
                continue;
            }
            assert!(
                description.contains("DECIMAL(18, 2) in the Parquet table"),
                "{csv_path} {name}: the Parquet type documented"
            );
            for (r, cents) in decimal_cents(&table, name).into_iter().enumerate() {
                let field = &rows[r][c];
                let expected = (!field.is_empty()).then(|| field.replace('.', "").parse().unwrap());
                assert_eq!(cents, expected, "{parquet} row {r} {name}: CSV '{field}'");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "amounts checked: {checked}");
}

/// The Python of the test tools' venv (scripts/test-queries.sh creates it), when present.
fn test_python() -> Option<PathBuf> {
    let venv = std::env::var_os("KQL_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache/kql-venv"));
    let python = venv.join("bin/python");
    python.exists().then_some(python)
}

/// The DuckDB and pyarrow type a dictionary type must arrive as in Parquet.
fn reader_types(kind: &str) -> (&'static str, &'static [&'static str]) {
    match kind {
        "amount" => ("DECIMAL(18,2)", &["decimal128(18, 2)"]),
        "date" => ("DATE", &["date32[day]"]),
        "integer" => ("BIGINT", &["int64"]),
        "number" => ("DOUBLE", &["double"]),
        "boolean" => ("BOOLEAN", &["bool"]),
        "text" => ("VARCHAR", &["string", "large_string", "string_view"]),
        other => panic!("no Parquet type for dictionary type {other}"),
    }
}

/// Columns of `data/` published as floating point: measures and ratios, never money.
const FLOAT_COLUMNS: [&str; 5] = [
    "latency_minutes",
    "rate",
    "cvssScore",
    "share_of_currency_total_pct",
    "ratio",
];

#[test]
fn parquet_tables_reach_duckdb_and_pyarrow_with_their_types() {
    let run = shared_run();
    let Some(python) = test_python() else {
        eprintln!("SKIPPED: no test-tools venv (scripts/test-queries.sh creates it)");
        return;
    };
    let o = Command::new(python)
        .arg(repo().join("tests/tools/parquet_types.py"))
        .arg(run.join("data"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files: BTreeMap<String, Vec<[String; 3]>> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(files.len(), 11, "every table of data/: {:?}", files.keys());
    // The finance twins: every column as its dictionary type says.
    for (csv_path, _, parquet) in TABLES {
        let types = dictionary(run, csv_path);
        let name = parquet.trim_start_matches("data/");
        for [column, duck, arrow] in &files[name] {
            let (want_duck, want_arrow) = reader_types(&types[column].0);
            assert_eq!(duck, want_duck, "{name} {column} in DuckDB");
            assert!(
                want_arrow.contains(&arrow.as_str()),
                "{name} {column}: {arrow}"
            );
        }
    }
    // Every table: dates are dates, counts integers, and only measures are floating point.
    for (name, columns) in &files {
        for [column, duck, _] in columns {
            if duck == "DOUBLE" {
                assert!(FLOAT_COLUMNS.contains(&column.as_str()), "{name} {column}");
            }
            if column.ends_with("date")
                || ["first_seen", "last_seen", "due", "resolved"].contains(&column.as_str())
            {
                assert_eq!(duck, "DATE", "{name} {column}");
            }
        }
    }
}
