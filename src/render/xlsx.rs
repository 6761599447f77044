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
//! - A table with more rows than an Excel sheet holds (1,048,575 under the header) does not
//!   fail the run: its sheet holds a one-line note pointing to the CSV, which has every row.
//! - A `reconciliation` sheet: per currency, the export total, Σ showback-by-owner amount (a
//!   `SUMIF` over that sheet, its value cached) and their difference (0.00).
//! - The data dictionary as the last sheet.
//!
//! Memory stays flat whatever the table's size: every sheet is written in rust_xlsxwriter's
//! constant-memory mode, row by row straight from the frame's columns (each row goes to a
//! temporary file in the system temp dir as soon as the next one starts; strings are written
//! inline rather than in a shared-string table). Column widths are measured first, in one pass
//! over each column, since a constant-memory sheet is written in order.
//!
//! The bytes are deterministic: the document's creation date is given by the caller (the
//! period's end, not the clock), every other property is fixed, and rust_xlsxwriter writes the
//! zip entries with a fixed timestamp, so identical inputs give identical files.

use crate::error::{Error, PolarsContext, Result};
use crate::render::csv::{CsvSpec, FloatStyle};
use crate::render::dictionary::{DICTIONARY_COLUMNS, DictionaryRow};
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rust_xlsxwriter::{
    ColNum, DocProperties, ExcelDateTime, Format, Formula, RowNum, Workbook, Worksheet, XlsxError,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

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
/// The most data rows a sheet holds: Excel's 1,048,576 rows less the header.
pub const MAX_DATA_ROWS: usize = 1_048_575;

/// One finance table as a sheet: the frame as the CSV shows it and the CSV's spec.
pub struct Sheet<'a> {
    /// Sheet name (at most 31 characters, no `[]:*?/\`): the CSV's file name without
    /// `finance/` and `.csv` (a table too long for a sheet points to `finance/<name>.csv`).
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
    build_workbook(w, MAX_DATA_ROWS)
}

/// The workbook, a table of more than `max_rows` rows written as a note instead of its rows.
fn build_workbook(w: &FinanceWorkbook, max_rows: usize) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(
        u16::try_from(w.created.year()).unwrap_or(1900),
        w.created.month() as u8,
        w.created.day() as u8,
    )
    .and_then(|d| d.and_hms(0, 0, 0))
    .map_err(xlsx_error)?;
    let props = DocProperties::new()
        .set_title(format!("Defender for Containers showback {}", w.period))
        .set_subject("Tag-based cost showback, reconciled to the cost export")
        .set_author("defender-ledger")
        .set_keywords("showback, finance, defender-ledger")
        .set_creation_datetime(&created);
    book.set_properties(&props);
    let styles = Styles::new();
    // The showback sheet's frame, when its rows are in the workbook (the SUMIF needs them).
    let mut showback = None;
    for t in &w.tables {
        if t.df.height() > max_rows {
            let note = too_many_rows(t.name, t.df.height(), max_rows);
            tracing::warn!(
                sheet = t.name,
                rows = t.df.height(),
                "{WORKBOOK_PATH}: {note}"
            );
            write_note(&mut book, t.name, &note)?;
            continue;
        }
        write_table(&mut book, t, table_columns(t)?, &styles)?;
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
    let mut columns = table_columns(&reconciliation)?;
    if let Some(df) = showback {
        reconciliation_formulas(&mut columns, w.showback_sheet, df);
    }
    write_table(&mut book, &reconciliation, columns, &styles)?;
    let dictionary = dictionary_frame(w.dictionary)?;
    let dictionary = Sheet {
        name: DICTIONARY_SHEET,
        df: &dictionary,
        spec: CsvSpec::default(),
        currency_column: None,
    };
    write_table(&mut book, &dictionary, table_columns(&dictionary)?, &styles)?;
    book.save_to_buffer().map_err(xlsx_error)
}

fn xlsx_error(e: XlsxError) -> Error {
    Error::input_err(WORKBOOK_PATH, e)
}

/// The note a sheet holds instead of a table too long for it.
fn too_many_rows(sheet: &str, rows: usize, max_rows: usize) -> String {
    format!(
        "{} rows do not fit in an Excel sheet ({} at most): see finance/{sheet}.csv, which has \
         them all",
        thousands(rows),
        thousands(max_rows)
    )
}

/// `1048575` as `1,048,575`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut s = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(d);
    }
    s
}

/// A sheet holding only `note` in A1.
fn write_note(book: &mut Workbook, name: &str, note: &str) -> Result<()> {
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_error)?;
    sheet.set_name(name).map_err(xlsx_error)?;
    sheet
        .set_column_width(0, MAX_WIDTH as f64)
        .map_err(xlsx_error)?;
    sheet.write_string(0, 0, note).map_err(xlsx_error)?;
    Ok(())
}

/// Write the reconciliation's `showback_total` as a SUMIF over the showback sheet and
/// `difference` as `ROUND(export_total - showback_total, 2)`, each with its computed value
/// cached (what a reader without a calculation engine sees, and what Excel recomputes).
fn reconciliation_formulas(columns: &mut [SheetColumn], showback_sheet: &str, df: &DataFrame) {
    let col = |name: &str| {
        df.get_column_names()
            .iter()
            .position(|c| c.as_str() == name)
    };
    let (Some(cur), Some(amt)) = (col("currency"), col("amount")) else {
        return;
    };
    let last = df.height().max(1) + 1;
    let range = |c: usize| {
        let l = column_letter(c);
        format!("'{showback_sheet}'!${l}$2:${l}${last}")
    };
    let (currencies, amounts) = (range(cur), range(amt));
    for c in columns.iter_mut() {
        c.formula = match c.name.as_str() {
            "showback_total" => {
                let (currencies, amounts) = (currencies.clone(), amounts.clone());
                Some(Box::new(move |row| {
                    format!("=SUMIF({currencies},A{row},{amounts})")
                }))
            }
            "difference" => Some(Box::new(|row| format!("=ROUND(B{row}-C{row},2)"))),
            _ => continue,
        };
    }
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

/// How a column's cells are written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Bool,
    Date,
    Integer,
    Number(NumberKind),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberKind {
    /// Money in the row's currency.
    Amount,
    Fixed(u32),
    General,
}

/// A cell's formula from its 1-based Excel row.
type FormulaFn<'a> = Box<dyn Fn(usize) -> String + 'a>;

/// One column of a sheet: the frame's column, cast to the type its cells are written as.
struct SheetColumn<'a> {
    name: String,
    data: Column,
    kind: Kind,
    /// Cells written as this formula, the number cached as its result.
    formula: Option<FormulaFn<'a>>,
}

/// One cell, borrowed from its column.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell<'a> {
    Empty,
    Text(&'a str),
    Bool(bool),
    Date(NaiveDate),
    Integer(i64),
    /// The column's float, before it is read back from the CSV's text.
    Number(f64),
}

/// A column's cells in order.
enum Values<'a> {
    Text(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
    Bool(Box<dyn Iterator<Item = Option<bool>> + 'a>),
    Date(Box<dyn Iterator<Item = Option<NaiveDate>> + 'a>),
    Integer(Box<dyn Iterator<Item = Option<i64>> + 'a>),
    Number(Box<dyn Iterator<Item = Option<f64>> + 'a>),
}

impl<'a> Values<'a> {
    /// The next cell (empty for a null, and for an empty string: the CSV cannot tell them
    /// apart either).
    fn next_cell(&mut self) -> Cell<'a> {
        let cell = match self {
            Values::Text(i) => i.next().flatten().filter(|s| !s.is_empty()).map(Cell::Text),
            Values::Bool(i) => i.next().flatten().map(Cell::Bool),
            Values::Date(i) => i.next().flatten().map(Cell::Date),
            Values::Integer(i) => i.next().flatten().map(Cell::Integer),
            Values::Number(i) => i.next().flatten().map(Cell::Number),
        };
        cell.unwrap_or(Cell::Empty)
    }
}

impl SheetColumn<'_> {
    fn values(&self) -> Result<Values<'_>> {
        let name = self.name.as_str();
        Ok(match self.kind {
            Kind::Text => Values::Text(Box::new(self.data.str().ctx(name)?.iter())),
            Kind::Bool => Values::Bool(Box::new(self.data.bool().ctx(name)?.iter())),
            Kind::Date => Values::Date(Box::new(self.data.date().ctx(name)?.as_date_iter())),
            Kind::Integer => Values::Integer(Box::new(self.data.i64().ctx(name)?.iter())),
            Kind::Number(_) => Values::Number(Box::new(self.data.f64().ctx(name)?.iter())),
        })
    }
}

/// The columns of a table (no copy but the casts of integers to i64 and floats to f64).
fn table_columns<'a>(t: &Sheet) -> Result<Vec<SheetColumn<'a>>> {
    let context = format!("{WORKBOOK_PATH}, sheet {}", t.name);
    t.df.columns()
        .iter()
        .map(|c| {
            let name = c.name().to_string();
            let (data, kind) = match c.dtype() {
                DataType::String => (c.clone(), Kind::Text),
                DataType::Boolean => (c.clone(), Kind::Bool),
                DataType::Date => (c.clone(), Kind::Date),
                DataType::Float32 | DataType::Float64 => {
                    let kind = match t.spec.float_style(&name) {
                        FloatStyle::Amount => NumberKind::Amount,
                        FloatStyle::Fixed(d) => NumberKind::Fixed(d),
                        FloatStyle::Shortest => NumberKind::General,
                    };
                    let data = c.cast(&DataType::Float64).ctx(&name)?;
                    (data, Kind::Number(kind))
                }
                dt if dt.is_integer() => (c.cast(&DataType::Int64).ctx(&name)?, Kind::Integer),
                other => {
                    return Err(Error::input(
                        &context,
                        format!("column {name}: cannot write type {other}"),
                    ));
                }
            };
            Ok(SheetColumn {
                name,
                data,
                kind,
                formula: None,
            })
        })
        .collect()
}

/// The data dictionary as a table (file, position, column, type, description).
fn dictionary_frame(rows: &[DictionaryRow]) -> Result<DataFrame> {
    let text = |f: fn(&DictionaryRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let [file, position, column, kind, description] = DICTIONARY_COLUMNS;
    DataFrame::new_infer_height(vec![
        Column::new(file.into(), text(|r| r.file)),
        Column::new(
            position.into(),
            rows.iter().map(|r| r.position as i64).collect::<Vec<_>>(),
        ),
        Column::new(column.into(), text(|r| r.column)),
        Column::new(kind.into(), text(|r| r.kind)),
        Column::new(description.into(), text(|r| r.description.as_str())),
    ])
    .ctx("data dictionary sheet")
}

/// A float as the CSV prints it ([`crate::render::csv`]'s `format_fixed` and `format_number`),
/// formatted in a buffer reused from cell to cell.
#[derive(Default)]
struct NumberText {
    buf: String,
}

impl NumberText {
    /// The CSV's text for `v` in a column of this kind.
    fn text(&mut self, v: f64, kind: NumberKind) -> &str {
        self.buf.clear();
        let decimals = match kind {
            NumberKind::Amount => 2,
            NumberKind::Fixed(d) => d as usize,
            NumberKind::General => {
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    let _ = write!(self.buf, "{v:.1}");
                } else {
                    let _ = write!(self.buf, "{v}");
                }
                return &self.buf;
            }
        };
        let _ = write!(self.buf, "{v:.decimals$}");
        // A negative zero (`-0.00`) is printed without its sign.
        if self.buf.starts_with('-') && self.buf[1..].bytes().all(|b| b == b'0' || b == b'.') {
            self.buf.remove(0);
        }
        &self.buf
    }

    /// The cell's value: the number the CSV's text reads back as (the float itself when the
    /// CSV prints it in full).
    fn value(&mut self, v: f64, kind: NumberKind) -> std::result::Result<f64, String> {
        if !v.is_finite() {
            return Err(format!("'{v}' is not a finite number"));
        }
        if kind == NumberKind::General {
            return Ok(v);
        }
        let text = self.text(v, kind);
        text.parse::<f64>().map_err(|e| format!("'{text}': {e}"))
    }
}

/// The displayed width of every column, in characters: the header's plus 2 (the filter
/// button), else the widest cell's plus 1, bounded to [`MIN_WIDTH`]..[`MAX_WIDTH`]. One pass
/// over each column (stopping at the bound), formatting numbers as the cells show them.
fn column_widths(
    columns: &[SheetColumn],
    currencies: Option<&StringChunked>,
    height: usize,
) -> Result<Vec<usize>> {
    let mut text = NumberText::default();
    let mut widths = Vec::with_capacity(columns.len());
    for col in columns {
        let mut width = col.name.chars().count() + 2;
        let mut values = col.values()?;
        let amount = col.kind == Kind::Number(NumberKind::Amount);
        let mut currency = currency_codes(currencies);
        for _ in 0..height {
            if width >= MAX_WIDTH {
                break;
            }
            // An amount shows its row's currency code after the number.
            let code = if amount {
                currency.next().flatten()
            } else {
                None
            };
            let shown = match (values.next_cell(), col.kind) {
                (Cell::Empty, _) => 0,
                (Cell::Text(s), _) => s.chars().count(),
                (Cell::Bool(_), _) => 5,
                (Cell::Date(_), _) => 10,
                (Cell::Integer(i), _) => {
                    text.buf.clear();
                    let _ = write!(text.buf, "{i}");
                    text.buf.len()
                }
                (Cell::Number(v), Kind::Number(NumberKind::Amount)) => {
                    grouped_len(text.text(v, NumberKind::Amount)) + code.map_or(0, |c| c.len() + 1)
                }
                (Cell::Number(v), Kind::Number(kind)) => text.text(v, kind).len(),
                (Cell::Number(_), _) => 0,
            };
            width = width.max(shown + 1);
        }
        widths.push(width.clamp(MIN_WIDTH, MAX_WIDTH));
    }
    Ok(widths)
}

/// Each row's currency code, or none for every row.
fn currency_codes<'a>(
    currencies: Option<&'a StringChunked>,
) -> Box<dyn Iterator<Item = Option<&'a str>> + 'a> {
    match currencies {
        Some(ca) => Box::new(ca.iter()),
        None => Box::new(std::iter::repeat(None)),
    }
}

/// Add a table's sheet in constant-memory mode: widths measured first, then a bold frozen
/// header, an autofilter over the table and the rows, in order, from the frame's columns.
/// A constant-memory worksheet named after the table: column widths, the header row frozen,
/// an autofilter over every row.
fn sheet_with_header<'b>(
    book: &'b mut Workbook,
    t: &Sheet,
    columns: &[SheetColumn],
    widths: &[usize],
    styles: &Styles,
) -> Result<&'b mut Worksheet> {
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_error)?;
    sheet.set_name(t.name).map_err(xlsx_error)?;
    for (c, w) in widths.iter().enumerate() {
        sheet
            .set_column_width(c as ColNum, *w as f64)
            .map_err(xlsx_error)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    let last_col = columns.len().saturating_sub(1) as ColNum;
    sheet
        .autofilter(0, 0, t.df.height() as RowNum, last_col)
        .map_err(xlsx_error)?;
    for (c, col) in columns.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as ColNum, &col.name, &styles.header)
            .map_err(xlsx_error)?;
    }
    Ok(sheet)
}

/// Each column's cell format (amounts are formatted per row, by currency).
fn column_formats(columns: &[SheetColumn], styles: &Styles) -> Vec<Format> {
    columns
        .iter()
        .map(|c| match c.kind {
            Kind::Date => styles.date.clone(),
            Kind::Integer => styles.integer.clone(),
            Kind::Number(NumberKind::Fixed(d)) => styles.fixed(d),
            _ => styles.general.clone(),
        })
        .collect()
}

fn write_table(
    book: &mut Workbook,
    t: &Sheet,
    columns: Vec<SheetColumn>,
    styles: &Styles,
) -> Result<()> {
    let context = format!("{WORKBOOK_PATH}, sheet {}", t.name);
    let height = t.df.height();
    let currencies = match t.currency_column {
        Some(c) if t.df.get_column_names().iter().any(|n| n.as_str() == c) => {
            Some(t.df.column(c).ctx(c)?.str().ctx(c)?)
        }
        _ => None,
    };
    let widths = column_widths(&columns, currencies, height)?;
    let sheet = sheet_with_header(book, t, &columns, &widths, styles)?;
    let formats = column_formats(&columns, styles);
    let mut values: Vec<Values> = columns.iter().map(|c| c.values()).collect::<Result<_>>()?;
    let mut currency = currency_codes(currencies);
    let mut amount_formats: BTreeMap<Option<&str>, Format> = BTreeMap::new();
    let mut text = NumberText::default();
    for r in 0..height {
        let row = (r + 1) as RowNum;
        let code = currency.next().flatten();
        for (c, col) in columns.iter().enumerate() {
            let xc = c as ColNum;
            let written = match values[c].next_cell() {
                Cell::Empty => continue,
                Cell::Text(s) => sheet.write_string(row, xc, s),
                Cell::Bool(b) => sheet.write_boolean(row, xc, b),
                Cell::Date(d) => excel_date(d)
                    .and_then(|d| sheet.write_datetime_with_format(row, xc, &d, &formats[c])),
                Cell::Integer(i) => sheet.write_number_with_format(row, xc, i as f64, &formats[c]),
                Cell::Number(v) => {
                    let kind = match col.kind {
                        Kind::Number(kind) => kind,
                        _ => NumberKind::General,
                    };
                    let value = text
                        .value(v, kind)
                        .map_err(|m| Error::input(&context, format!("column {}: {m}", col.name)))?;
                    let format = match kind {
                        NumberKind::Amount => amount_formats
                            .entry(code)
                            .or_insert_with(|| styles.amount(code)),
                        _ => &formats[c],
                    };
                    match &col.formula {
                        Some(formula) => {
                            let result = text.text(value, kind).to_string();
                            let formula = Formula::new(formula(r + 2)).set_result(result);
                            sheet.write_formula_with_format(row, xc, formula, format)
                        }
                        None => sheet.write_number_with_format(row, xc, value, format),
                    }
                }
            };
            written.map_err(|e| {
                Error::input(&context, format!("row {} column {}: {e}", r + 2, col.name))
            })?;
        }
    }
    Ok(())
}

/// A date as an Excel date (no time).
fn excel_date(d: NaiveDate) -> std::result::Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).unwrap_or(0),
        d.month() as u8,
        d.day() as u8,
    )
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
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    use std::io::Cursor;

    fn sample() -> (DataFrame, DataFrame) {
        let owners = df!(
            "currency" => ["EUR", "USD", "USD"],
            "owner" => [Some("a"), Some("=cmd|' /C calc'!A0"), None],
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

    fn owners_sheet(owners: &DataFrame) -> Sheet<'_> {
        Sheet {
            name: "showback-by-owner",
            df: owners,
            spec: CsvSpec {
                amount_columns: &["amount"],
                fixed_decimals: &[("share_of_currency_total_pct", 2)],
                bom: false,
            },
            currency_column: Some("currency"),
        }
    }

    fn build(owners: &DataFrame, anomalies: &DataFrame, max_rows: usize) -> Vec<u8> {
        let mut totals = BTreeMap::new();
        totals.insert("EUR".to_string(), 10.0);
        totals.insert("USD".to_string(), 1234568.0);
        let rec = reconciliation(&totals, owners).unwrap();
        let dictionary = crate::render::dictionary::dictionary_rows();
        build_workbook(
            &FinanceWorkbook {
                period: "2026-10",
                created: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                tables: vec![
                    owners_sheet(owners),
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
            },
            max_rows,
        )
        .unwrap()
    }

    fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
        open_workbook_from_rs(Cursor::new(bytes)).unwrap()
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
        let a = build(&owners, &anomalies, MAX_DATA_ROWS);
        let b = build(&owners, &anomalies, MAX_DATA_ROWS);
        assert_eq!(a, b);
        assert_eq!(&a[..2], b"PK");
    }

    #[test]
    fn cells_are_typed_and_text_is_never_a_formula() {
        let (owners, anomalies) = sample();
        let mut book = open(build(&owners, &anomalies, MAX_DATA_ROWS));
        let range = book.worksheet_range("showback-by-owner").unwrap();
        assert_eq!(range.height(), 4);
        assert_eq!(
            range.get_value((0, 2)),
            Some(&Data::String("amount".into()))
        );
        let row = |r: u32| {
            (0..5)
                .map(|c| range.get_value((r, c)).cloned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            row(2),
            [
                Some(Data::String("USD".into())),
                Some(Data::String("=cmd|' /C calc'!A0".into())),
                Some(Data::Float(1234567.89)),
                Some(Data::Float(99.99)),
                Some(Data::Float(2.0)),
            ]
        );
        // Nulls are empty cells.
        assert_eq!(row(3)[1], Some(Data::Empty));
        assert_eq!(row(3)[3], Some(Data::Empty));
        let styles = book.worksheet_style("showback-by-owner").unwrap();
        let format = |r: u32, c: u32| {
            styles
                .get((r, c))
                .and_then(|s| s.number_format.as_ref())
                .map(|f| f.format_code.clone())
        };
        assert_eq!(format(1, 2).as_deref(), Some("#,##0.00 \"EUR\""));
        assert_eq!(format(2, 2).as_deref(), Some("#,##0.00 \"USD\""));
        assert_eq!(format(2, 3).as_deref(), Some("0.00"));
        assert_eq!(format(2, 4).as_deref(), Some("0"));
        assert!(
            book.worksheet_formula("showback-by-owner")
                .unwrap()
                .cells()
                .all(|(_, _, f)| f.is_empty())
        );

        let range = book.worksheet_range("cost-anomalies").unwrap();
        assert!(matches!(range.get_value((1, 0)), Some(Data::DateTime(d)) if d.is_datetime()));
        assert_eq!(range.get_value((1, 4)), Some(&Data::Bool(false)));

        // The reconciliation's Σ showback and difference are formulas over the sheet.
        let formulas = book.worksheet_formula(RECONCILIATION_SHEET).unwrap();
        assert_eq!(
            formulas.get_value((1, 2)).map(String::as_str),
            Some("SUMIF('showback-by-owner'!$A$2:$A$4,A2,'showback-by-owner'!$C$2:$C$4)")
        );
        assert_eq!(
            formulas.get_value((2, 3)).map(String::as_str),
            Some("ROUND(B3-C3,2)")
        );
        let range = book.worksheet_range(RECONCILIATION_SHEET).unwrap();
        assert_eq!(range.get_value((2, 2)), Some(&Data::Float(1234568.0)));
        assert_eq!(range.get_value((2, 3)), Some(&Data::Float(0.0)));

        // The data dictionary: its positions are integers, an empty column name is empty.
        let range = book.worksheet_range(DICTIONARY_SHEET).unwrap();
        let rows = crate::render::dictionary::dictionary_rows();
        assert_eq!(range.height(), rows.len() + 1);
        assert_eq!(range.get_value((1, 1)), Some(&Data::Float(0.0)));
        assert_eq!(range.get_value((1, 2)), Some(&Data::Empty));
    }

    #[test]
    fn a_table_too_long_for_a_sheet_is_a_note_and_the_workbook_is_still_written() {
        let (owners, anomalies) = sample();
        // showback-by-owner's 3 rows are over a limit of 2; cost-anomalies' 1 row is not.
        let mut book = open(build(&owners, &anomalies, 2));
        let range = book.worksheet_range("showback-by-owner").unwrap();
        assert_eq!((range.height(), range.width()), (1, 1));
        assert_eq!(
            range.get_value((0, 0)),
            Some(&Data::String(
                "3 rows do not fit in an Excel sheet (2 at most): see \
                 finance/showback-by-owner.csv, which has them all"
                    .into()
            ))
        );
        let range = book.worksheet_range("cost-anomalies").unwrap();
        assert_eq!(range.height(), 2);
        // The reconciliation keeps its values, without a SUMIF over rows not in the workbook.
        let range = book.worksheet_range(RECONCILIATION_SHEET).unwrap();
        assert_eq!(range.get_value((2, 2)), Some(&Data::Float(1234568.0)));
        let formulas = book.worksheet_formula(RECONCILIATION_SHEET).unwrap();
        assert!(formulas.cells().all(|(_, _, f)| f.is_empty()));
        assert_eq!(
            too_many_rows("showback-by-resource", 1_200_000, MAX_DATA_ROWS),
            "1,200,000 rows do not fit in an Excel sheet (1,048,575 at most): see \
             finance/showback-by-resource.csv, which has them all"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(grouped_len("1234567.89"), "1,234,567.89".len());
        assert_eq!(grouped_len("-123.00"), 7);
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_048_575), "1,048,575");
        let s = Styles::new();
        // Only plain codes reach a number format.
        let _ = s.amount(Some("US\"D"));
    }

    #[test]
    fn numbers_are_the_csv_text() {
        use crate::render::csv::{format_fixed, format_number};
        let mut text = NumberText::default();
        let values = [
            0.0,
            -0.0,
            -0.004,
            -0.005,
            162.805,
            1234567.891,
            -1234.5,
            7.8541,
            1.0 / 3.0,
            1e15,
            1e16,
            -2.5e-7,
            99.995,
            f64::MAX,
        ];
        for v in values {
            for d in [0, 2, 4] {
                let kind = NumberKind::Fixed(d);
                assert_eq!(text.text(v, kind), format_fixed(v, d), "{v} {d}");
                let csv: f64 = format_fixed(v, d).parse().unwrap();
                assert_eq!(text.value(v, kind).unwrap(), csv, "{v} {d}");
            }
            assert_eq!(text.text(v, NumberKind::Amount), format_fixed(v, 2));
            assert_eq!(text.text(v, NumberKind::General), format_number(v));
            let csv: f64 = format_number(v).parse().unwrap();
            assert_eq!(text.value(v, NumberKind::General).unwrap(), csv);
        }
        assert!(text.value(f64::NAN, NumberKind::Amount).is_err());
        assert!(text.value(f64::INFINITY, NumberKind::General).is_err());
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
        let columns = table_columns(&sheet).unwrap();
        let kinds: Vec<Kind> = columns.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Date,
                Kind::Text,
                Kind::Number(NumberKind::Amount),
                Kind::Number(NumberKind::General),
                Kind::Bool
            ]
        );
        let cell = |c: usize| columns[c].values().unwrap().next_cell();
        assert_eq!(cell(2), Cell::Number(162.805));
        let csv: f64 = crate::render::csv::format_amount(162.805).parse().unwrap();
        let mut text = NumberText::default();
        assert_eq!(text.value(162.805, NumberKind::Amount).unwrap(), csv);
        assert_eq!(cell(4), Cell::Bool(false));
        assert_eq!(
            cell(0),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 10, 24).unwrap())
        );
    }

    #[test]
    fn widths_come_from_the_content_as_shown() {
        let (owners, _) = sample();
        let sheet = owners_sheet(&owners);
        let columns = table_columns(&sheet).unwrap();
        let currencies = owners.column("currency").unwrap().str().unwrap();
        let widths = column_widths(&columns, Some(currencies), owners.height()).unwrap();
        // currency: header 8 + 2; owner: "=cmd|' /C calc'!A0" 18 + 1; amount:
        // "1,234,567.89 USD" 16 + 1; the percentage's header 27 + 2; resources 9 + 2.
        assert_eq!(widths, [10, 19, 17, 29, 11]);
        // Long text is bounded.
        let long = df!("x" => ["y".repeat(200)]).unwrap();
        let sheet = Sheet {
            name: "long",
            df: &long,
            spec: CsvSpec::default(),
            currency_column: None,
        };
        let columns = table_columns(&sheet).unwrap();
        assert_eq!(column_widths(&columns, None, 1).unwrap(), [MAX_WIDTH]);
    }
}
