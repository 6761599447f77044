//! `finance/showback.xlsx`: the finance tables as one Excel workbook, for finance teams that
//! import the showback into Excel.
//!
//! - One sheet per finance CSV, with the CSV's columns, rows and values: every number in a
//!   cell is read back from the text the CSV prints for it (the same cent-rounded amounts and
//!   the dictionary's precision for ratios and percentages), so workbook and CSV agree cell
//!   for cell. Amounts are numbers with a two-decimal format that shows the row's currency
//!   (`#,##0.00 "USD"`), dates are Excel dates, booleans are booleans, counts are integers
//!   (format `0`), nulls are empty cells, text is always text (never a formula).
//! - Every sheet has a bold, frozen header row, an autofilter over the table and column widths
//!   taken from the content, bounded to 8..60 characters.
//! - A `reconciliation` sheet: per currency, the export total, Σ showback-by-owner amount (a
//!   `SUMIF` over that sheet, its value cached) and their difference (0.00).
//! - The data dictionary as the last sheet.
//!
//! The bytes are deterministic: the document's creation date is given by the caller (the
//! period's end, not the clock), every other property is fixed, and rust_xlsxwriter writes the
//! zip entries with a fixed timestamp, so identical inputs give identical files.

use crate::error::{Error, PolarsContext, Result};
use crate::render::csv::{CsvSpec, FloatStyle, column_cells, format_amount};
use crate::render::dictionary::{DICTIONARY_COLUMNS, DictionaryRow};
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rust_xlsxwriter::{ColNum, DocProperties, ExcelDateTime, Format, Formula, RowNum, Workbook};
use std::collections::BTreeMap;

/// Where the workbook is published in the run.
pub const WORKBOOK_PATH: &str = "finance/showback.xlsx";
/// The reconciliation sheet's name, and its data dictionary entry.
pub const RECONCILIATION_SHEET: &str = "reconciliation";
pub const RECONCILIATION_DICTIONARY_ENTRY: &str = "finance/showback.xlsx, sheet reconciliation";
/// The data dictionary sheet's name.
pub const DICTIONARY_SHEET: &str = "data-dictionary";

/// Bounds of a column's width, in characters.
const MIN_WIDTH: usize = 8;
const MAX_WIDTH: usize = 60;
/// Excel's last row (1,048,576 rows, the header included).
const MAX_ROWS: usize = 1_048_576;

/// One finance table as a sheet: the frame as the CSV shows it and the CSV's spec.
pub struct Sheet<'a> {
    /// Sheet name (at most 31 characters, no `[]:*?/\`).
    pub name: &'a str,
    /// The table as published in the CSV (amounts already rounded to cents, ratios to the
    /// dictionary's precision).
    pub df: &'a DataFrame,
    /// The CSV's spec: amount columns and fixed decimals (its `bom` is ignored).
    pub spec: CsvSpec<'a>,
    /// The column naming each row's currency (the amount format shows it).
    pub currency_column: Option<&'a str>,
}

/// Everything the workbook holds.
pub struct FinanceWorkbook<'a> {
    /// The period, e.g. `2026-10` (in the document title).
    pub period: &'a str,
    /// The document's creation date (the period's end: never the clock).
    pub created: NaiveDate,
    /// The finance tables, in sheet order.
    pub tables: Vec<Sheet<'a>>,
    /// The reconciliation sheet (see [`reconciliation`]).
    pub reconciliation: &'a DataFrame,
    /// The sheet of `tables` whose `amount` the reconciliation sums (showback-by-owner).
    pub showback_sheet: &'a str,
    /// The data dictionary rows.
    pub dictionary: &'a [DictionaryRow],
}

/// The reconciliation table: per currency (sorted), the export total rounded to cents, the sum
/// of the cent-rounded showback-by-owner `amount` and the difference, in the columns of the
/// dictionary entry [`RECONCILIATION_DICTIONARY_ENTRY`]. Sums are taken in integer cents.
pub fn reconciliation(
    export_totals: &BTreeMap<String, f64>,
    by_owner_shown: &DataFrame,
) -> Result<DataFrame> {
    let mut rows: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (currency, total) in export_totals {
        rows.entry(currency.clone()).or_default().0 =
            crate::render::rounding::round_largest_remainder(&[*total], 2)[0];
    }
    let currencies = crate::frame::strs(by_owner_shown, "currency")?;
    let amounts = crate::frame::floats(by_owner_shown, "amount")?;
    for (c, a) in currencies.into_iter().zip(amounts) {
        if let (Some(c), Some(a)) = (c, a) {
            rows.entry(c).or_default().1 += cents(a);
        }
    }
    let money = |v: i64| v as f64 / 100.0;
    let df = df!(
        "currency" => rows.keys().cloned().collect::<Vec<_>>(),
        "export_total" => rows.values().map(|r| money(r.0)).collect::<Vec<_>>(),
        "showback_total" => rows.values().map(|r| money(r.1)).collect::<Vec<_>>(),
        "difference" => rows.values().map(|r| money(r.0 - r.1)).collect::<Vec<_>>(),
    )
    .ctx("reconciliation")?;
    crate::render::dictionary::check_columns(RECONCILIATION_DICTIONARY_ENTRY, &df)?;
    Ok(df)
}

/// An amount already rounded to cents, in cents.
fn cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

/// The workbook's bytes.
pub fn finance_workbook(w: &FinanceWorkbook) -> Result<Vec<u8>> {
    let err = |e: rust_xlsxwriter::XlsxError| Error::input(WORKBOOK_PATH, e);
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(
        u16::try_from(w.created.year()).unwrap_or(1900),
        w.created.month() as u8,
        w.created.day() as u8,
    )
    .and_then(|d| d.and_hms(0, 0, 0))
    .map_err(err)?;
    let props = DocProperties::new()
        .set_title(format!("Defender for Containers showback {}", w.period))
        .set_subject("Tag-based cost showback, reconciled to the cost export")
        .set_author("defender-ledger")
        .set_keywords("showback, finance, defender-ledger")
        .set_creation_datetime(&created);
    book.set_properties(&props);
    let styles = Styles::new();
    let mut showback = None;
    for t in &w.tables {
        let cells = table_cells(t)?;
        write_sheet(&mut book, t.name, &cells, &styles).map_err(err)?;
        if t.name == w.showback_sheet {
            showback = Some(t.df);
        }
    }
    let reconciliation = Sheet {
        name: RECONCILIATION_SHEET,
        df: w.reconciliation,
        spec: CsvSpec {
            amount_columns: &["export_total", "showback_total", "difference"],
            ..CsvSpec::default()
        },
        currency_column: Some("currency"),
    };
    let cells = table_cells(&reconciliation)?;
    let sheet = write_sheet(&mut book, RECONCILIATION_SHEET, &cells, &styles).map_err(err)?;
    if let Some(df) = showback {
        reconciliation_formulas(sheet, w, df, &cells, &styles).map_err(err)?;
    }
    let dictionary = dictionary_cells(w.dictionary);
    write_sheet(&mut book, DICTIONARY_SHEET, &dictionary, &styles).map_err(err)?;
    book.save_to_buffer().map_err(err)
}

/// Replace the reconciliation's `showback_total` with a SUMIF over the showback sheet and
/// `difference` with `ROUND(export_total - showback_total, 2)`, each with its computed value
/// cached (what a reader without a calculation engine sees, and what Excel recomputes).
fn reconciliation_formulas(
    sheet: &mut rust_xlsxwriter::Worksheet,
    w: &FinanceWorkbook,
    showback: &DataFrame,
    cells: &SheetCells,
    styles: &Styles,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    let col = |df: &DataFrame, name: &str| {
        df.get_column_names()
            .iter()
            .position(|c| c.as_str() == name)
    };
    let (Some(cur), Some(amt)) = (col(showback, "currency"), col(showback, "amount")) else {
        return Ok(());
    };
    let last = showback.height().max(1) + 1;
    let range = |c: usize| {
        let l = column_letter(c);
        format!("'{}'!${l}$2:${l}${last}", w.showback_sheet)
    };
    for (i, row) in cells.rows.iter().enumerate() {
        let r = (i + 1) as RowNum;
        let excel_row = i + 2;
        let format = match &row[0] {
            Cell::Text(c) => styles.amount(Some(c)),
            _ => styles.amount(None),
        };
        let value = |c: &Cell| match c {
            Cell::Number(v, _) => format_amount(*v),
            _ => "0".into(),
        };
        let sum = Formula::new(format!(
            "=SUMIF({},A{excel_row},{})",
            range(cur),
            range(amt)
        ))
        .set_result(value(&row[2]));
        sheet.write_formula_with_format(r, 2, sum, &format)?;
        let diff =
            Formula::new(format!("=ROUND(B{excel_row}-C{excel_row},2)")).set_result(value(&row[3]));
        sheet.write_formula_with_format(r, 3, diff, &format)?;
    }
    Ok(())
}

/// `A`, `B`, ..., `Z`, `AA`, ... for a 0-based column.
fn column_letter(mut c: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

/// One cell as the workbook writes it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Integer(i64),
    /// A number and how it is formatted.
    Number(f64, NumberKind),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberKind {
    /// Money in the row's currency.
    Amount,
    Fixed(u32),
    General,
}

/// A sheet's header and cells, with each row's currency.
struct SheetCells {
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
    currencies: Vec<Option<String>>,
}

/// The cells of a table, numbers parsed from the CSV's text for them.
fn table_cells(t: &Sheet) -> Result<SheetCells> {
    let df = t.df;
    let context = format!("{WORKBOOK_PATH}, sheet {}", t.name);
    if df.height() >= MAX_ROWS {
        return Err(Error::input(
            &context,
            format!(
                "{} rows do not fit in an Excel sheet ({} at most); the CSV has them all",
                df.height(),
                MAX_ROWS - 1
            ),
        ));
    }
    let mut columns: Vec<Vec<Cell>> = Vec::with_capacity(df.width());
    for c in df.columns() {
        let name = c.name().to_string();
        let bad = |what: &str| Error::input(&context, format!("column {name}: {what}"));
        let cells = match c.dtype() {
            DataType::String => c
                .str()
                .ctx(&name)?
                .iter()
                .map(|v| v.map_or(Cell::Empty, text_or_empty))
                .collect(),
            DataType::Boolean => c
                .bool()
                .ctx(&name)?
                .iter()
                .map(|v| v.map_or(Cell::Empty, Cell::Bool))
                .collect(),
            DataType::Date => c
                .date()
                .ctx(&name)?
                .as_date_iter()
                .map(|v| v.map_or(Cell::Empty, Cell::Date))
                .collect(),
            DataType::Float32 | DataType::Float64 => {
                let style = t.spec.float_style(&name);
                let kind = match style {
                    FloatStyle::Amount => NumberKind::Amount,
                    FloatStyle::Fixed(d) => NumberKind::Fixed(d),
                    FloatStyle::Shortest => NumberKind::General,
                };
                column_cells(c, style)?
                    .into_iter()
                    .map(|text| {
                        if text.is_empty() {
                            return Ok(Cell::Empty);
                        }
                        match text.parse::<f64>() {
                            Ok(v) if v.is_finite() => Ok(Cell::Number(v, kind)),
                            _ => Err(bad(&format!("'{text}' is not a finite number"))),
                        }
                    })
                    .collect::<Result<_>>()?
            }
            dt if dt.is_integer() => {
                let c = c.cast(&DataType::Int64).ctx(&name)?;
                c.i64()
                    .ctx(&name)?
                    .iter()
                    .map(|v| v.map_or(Cell::Empty, Cell::Integer))
                    .collect()
            }
            other => return Err(bad(&format!("cannot write type {other}"))),
        };
        columns.push(cells);
    }
    let currencies = match t.currency_column {
        Some(c) if df.get_column_names().iter().any(|n| n.as_str() == c) => {
            crate::frame::strs(df, c)?
        }
        _ => vec![None; df.height()],
    };
    let rows = (0..df.height())
        .map(|r| columns.iter().map(|c| c[r].clone()).collect())
        .collect();
    Ok(SheetCells {
        header: df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows,
        currencies,
    })
}

fn dictionary_cells(rows: &[DictionaryRow]) -> SheetCells {
    SheetCells {
        header: DICTIONARY_COLUMNS.iter().map(|s| s.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(r.file.to_string()),
                    Cell::Integer(r.position as i64),
                    text_or_empty(r.column),
                    Cell::Text(r.kind.to_string()),
                    Cell::Text(r.description.clone()),
                ]
            })
            .collect(),
        currencies: vec![None; rows.len()],
    }
}

/// An empty string is an empty cell (the CSV cannot tell them apart either).
fn text_or_empty(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.to_string())
    }
}

/// The workbook's formats, one per currency for amounts.
struct Styles {
    header: Format,
    date: Format,
    integer: Format,
    general: Format,
}

impl Styles {
    fn new() -> Styles {
        Styles {
            header: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            integer: Format::new().set_num_format("0"),
            general: Format::new(),
        }
    }

    /// Two decimals, thousands grouped, the currency code shown after the number. A code that
    /// is not plain letters and digits is left out of the format rather than escaped.
    fn amount(&self, currency: Option<&str>) -> Format {
        match currency {
            Some(c) if !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()) => {
                Format::new().set_num_format(format!("#,##0.00 \"{c}\""))
            }
            _ => Format::new().set_num_format("#,##0.00"),
        }
    }

    fn fixed(&self, decimals: u32) -> Format {
        if decimals == 0 {
            Format::new().set_num_format("0")
        } else {
            Format::new().set_num_format(format!("0.{}", "0".repeat(decimals as usize)))
        }
    }
}

/// Add a sheet: bold frozen header, the cells, an autofilter, widths from the content.
fn write_sheet<'b>(
    book: &'b mut Workbook,
    name: &str,
    cells: &SheetCells,
    styles: &Styles,
) -> std::result::Result<&'b mut rust_xlsxwriter::Worksheet, rust_xlsxwriter::XlsxError> {
    let sheet = book.add_worksheet();
    sheet.set_name(name)?;
    let mut widths: Vec<usize> = cells.header.iter().map(|h| h.chars().count() + 2).collect();
    for (c, h) in cells.header.iter().enumerate() {
        sheet.write_string_with_format(0, c as ColNum, h, &styles.header)?;
    }
    let mut amount_formats: BTreeMap<Option<String>, Format> = BTreeMap::new();
    for (r, row) in cells.rows.iter().enumerate() {
        let xr = (r + 1) as RowNum;
        let currency = cells.currencies[r].as_deref();
        for (c, cell) in row.iter().enumerate() {
            let xc = c as ColNum;
            let shown = match cell {
                Cell::Empty => 0,
                Cell::Text(s) => {
                    sheet.write_string(xr, xc, s)?;
                    s.chars().count()
                }
                Cell::Bool(b) => {
                    sheet.write_boolean(xr, xc, *b)?;
                    5
                }
                Cell::Date(d) => {
                    let dt = ExcelDateTime::from_ymd(
                        u16::try_from(d.year()).unwrap_or(0),
                        d.month() as u8,
                        d.day() as u8,
                    )?;
                    sheet.write_datetime_with_format(xr, xc, &dt, &styles.date)?;
                    10
                }
                Cell::Integer(i) => {
                    sheet.write_number_with_format(xr, xc, *i as f64, &styles.integer)?;
                    i.to_string().len()
                }
                Cell::Number(v, NumberKind::Amount) => {
                    let format = amount_formats
                        .entry(currency.map(String::from))
                        .or_insert_with(|| styles.amount(currency));
                    sheet.write_number_with_format(xr, xc, *v, format)?;
                    grouped_len(&format_amount(*v)) + currency.map_or(0, |c| c.len() + 1)
                }
                Cell::Number(v, NumberKind::Fixed(d)) => {
                    sheet.write_number_with_format(xr, xc, *v, &styles.fixed(*d))?;
                    crate::render::csv::format_fixed(*v, *d).len()
                }
                Cell::Number(v, NumberKind::General) => {
                    sheet.write_number_with_format(xr, xc, *v, &styles.general)?;
                    crate::render::csv::format_number(*v).len()
                }
            };
            widths[c] = widths[c].max(shown + 1);
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let last_col = cells.header.len().saturating_sub(1) as ColNum;
    sheet.autofilter(0, 0, cells.rows.len() as RowNum, last_col)?;
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as ColNum, (*w).clamp(MIN_WIDTH, MAX_WIDTH) as f64)?;
    }
    Ok(sheet)
}

/// Length of `1234567.89` shown as `1,234,567.89`.
fn grouped_len(plain: &str) -> usize {
    let digits = plain
        .trim_start_matches('-')
        .split('.')
        .next()
        .unwrap_or("")
        .len();
    plain.len() + digits.saturating_sub(1) / 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (DataFrame, DataFrame) {
        let owners = df!(
            "currency" => ["EUR", "USD", "USD"],
            "owner" => ["a", "=cmd|' /C calc'!A0", "unallocated"],
            "amount" => [10.0, 1234567.89, 0.11],
            "share_of_currency_total_pct" => [Some(100.0), Some(99.99), None],
            "resources" => [1i64, 2, 0],
        )
        .unwrap();
        let anomalies = df!(
            "date" => [NaiveDate::from_ymd_opt(2026, 10, 24).unwrap()],
            "currency" => ["USD"],
            "cost" => [162.805],
            "ratio" => [7.8541],
            "protected" => [Some(false)],
        )
        .unwrap();
        (owners, anomalies)
    }

    fn build(owners: &DataFrame, anomalies: &DataFrame) -> Vec<u8> {
        let mut totals = BTreeMap::new();
        totals.insert("EUR".to_string(), 10.0);
        totals.insert("USD".to_string(), 1234568.0);
        let rec = reconciliation(&totals, owners).unwrap();
        let dictionary = crate::render::dictionary::dictionary_rows();
        finance_workbook(&FinanceWorkbook {
            period: "2026-10",
            created: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            tables: vec![
                Sheet {
                    name: "showback-by-owner",
                    df: owners,
                    spec: CsvSpec {
                        amount_columns: &["amount"],
                        fixed_decimals: &[("share_of_currency_total_pct", 2)],
                        bom: false,
                    },
                    currency_column: Some("currency"),
                },
                Sheet {
                    name: "cost-anomalies",
                    df: anomalies,
                    spec: CsvSpec {
                        amount_columns: &["cost"],
                        fixed_decimals: &[("ratio", 4)],
                        bom: false,
                    },
                    currency_column: Some("currency"),
                },
            ],
            reconciliation: &rec,
            showback_sheet: "showback-by-owner",
            dictionary: &dictionary,
        })
        .unwrap()
    }

    #[test]
    fn reconciliation_in_cents() {
        let (owners, _) = sample();
        let mut totals = BTreeMap::new();
        totals.insert("USD".to_string(), 1234568.004);
        totals.insert("EUR".to_string(), 10.0);
        let rec = reconciliation(&totals, &owners).unwrap();
        assert_eq!(
            crate::frame::strs(&rec, "currency").unwrap(),
            [Some("EUR".into()), Some("USD".into())]
        );
        assert_eq!(
            crate::frame::floats(&rec, "export_total").unwrap(),
            [Some(10.0), Some(1234568.0)]
        );
        assert_eq!(
            crate::frame::floats(&rec, "showback_total").unwrap(),
            [Some(10.0), Some(1234568.0)]
        );
        assert_eq!(
            crate::frame::floats(&rec, "difference").unwrap(),
            [Some(0.0), Some(0.0)]
        );
    }

    #[test]
    fn bytes_are_deterministic_and_dated_by_the_caller() {
        let (owners, anomalies) = sample();
        let a = build(&owners, &anomalies);
        let b = build(&owners, &anomalies);
        assert_eq!(a, b);
        assert_eq!(&a[..2], b"PK");
    }

    #[test]
    fn helpers() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(grouped_len("1234567.89"), "1,234,567.89".len());
        assert_eq!(grouped_len("-123.00"), 7);
        let s = Styles::new();
        // Only plain codes reach a number format.
        let _ = s.amount(Some("US\"D"));
    }

    #[test]
    fn cost_rounding_matches_the_csv_text() {
        // 162.805 prints as 162.80 or 162.81 in the CSV (float formatting); the cell holds
        // exactly what the CSV prints.
        let (_, anomalies) = sample();
        let sheet = Sheet {
            name: "cost-anomalies",
            df: &anomalies,
            spec: CsvSpec {
                amount_columns: &["cost"],
                ..CsvSpec::default()
            },
            currency_column: Some("currency"),
        };
        let cells = table_cells(&sheet).unwrap();
        let csv = crate::render::csv::format_amount(162.805);
        assert_eq!(
            cells.rows[0][2],
            Cell::Number(csv.parse().unwrap(), NumberKind::Amount)
        );
        assert_eq!(cells.rows[0][4], Cell::Bool(false));
        assert_eq!(
            cells.rows[0][0],
            Cell::Date(NaiveDate::from_ymd_opt(2026, 10, 24).unwrap())
        );
    }
}
