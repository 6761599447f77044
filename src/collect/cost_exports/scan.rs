//! Streaming aggregation of one export file to the normalised cost schema.
//!
//! A file is scanned once by polars' streaming engine and reduced, inside the scan, to one row
//! per (charge date, subscription, resource, resource group, tags, currency, Defender flag)
//! with the cost in integer nano-units (exact, order-independent sums) and a row count, so a
//! ten-million-row export is never materialised. Cells are parsed by the same Rust functions
//! (`schema::parse_charge_date`, `schema::parse_amount`) the diagnostic pass uses, so both
//! agree on which rows are bad. The diagnostic pass (the `csv` crate) only runs when the scan
//! found a bad row or failed: it names the file, line and column, or collects the rows as
//! rejects.

use super::schema::{Mapping, parse_amount, parse_charge_date};
use super::{Reject, cols};
use crate::error::{Error, PolarsContext, Result};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
const ROW: &str = "__row";
const CLASS: &str = "__class";
/// Row classes inside the scan: valid in the load window, valid outside it, bad.
const IN_WINDOW: i32 = 0;
const OUTSIDE: i32 = 1;
const BAD: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

/// What one file contributed.
#[derive(Debug)]
pub struct FileScan {
    pub mapping: Option<Mapping>,
    /// Data rows in the file (valid and rejected).
    pub rows: u64,
    pub rows_outside_window: u64,
    pub rejects: Vec<Reject>,
    /// The aggregate: `cols::KEYS`, `cols::NANOS`, `cols::ROWS`, `cols::RESOURCE_ID_AS_GIVEN`.
    pub aggregate: DataFrame,
}

/// A float amount in nano-units (rounded half to even); None beyond ±9.2e9 units.
pub fn nanos_of(v: f64) -> Option<i64> {
    let m = (v * 1e9).round_ties_even();
    (m.is_finite() && m.abs() < 9.2e18).then_some(m as i64)
}

/// An amount cell in nano-units. Plain decimals (`-20.25`, `0.00345678901234`) are converted
/// exactly from their digits, rounding half to even at the ninth decimal; only
/// scientific notation (`1.5E+01`) goes through a float.
pub fn parse_nanos(cell: &str) -> Option<i64> {
    let s = cell.trim();
    if s.bytes().any(|b| b == b'e' || b == b'E') {
        return parse_amount(s).and_then(nanos_of);
    }
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut value: i64 = 0;
    for b in int.bytes() {
        value = value.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    let fb = frac.as_bytes();
    for k in 0..9 {
        let d = fb.get(k).map(|b| (b - b'0') as i64).unwrap_or(0);
        value = value.checked_mul(10)?.checked_add(d)?;
    }
    // Round half to even at the ninth decimal, so rounding carries no bias over millions of
    // rows (a generator or a price list writing x.xxxxxxxxx5 would otherwise drift upwards).
    let tenth = fb.get(9).map(|b| b - b'0').unwrap_or(0);
    let rest_zero = fb.iter().skip(10).all(|b| *b == b'0');
    if tenth > 5 || (tenth == 5 && (!rest_zero || value % 2 == 1)) {
        value = value.checked_add(1)?;
    }
    Some(if neg { -value } else { value })
}

fn str_iter(c: &Column) -> PolarsResult<Box<dyn Iterator<Item = Option<&str>> + '_>> {
    Ok(Box::new(c.str()?.iter()))
}

fn named(s: Series, name: &PlSmallStr) -> Column {
    s.with_name(name.clone()).into_column()
}

/// Charge date of a text column, with a one-value cache (dates repeat row after row).
fn udf_date(c: Column) -> PolarsResult<Column> {
    let mut last: Option<(String, Option<i32>)> = None;
    let out: Int32Chunked = c
        .str()?
        .iter()
        .map(|v| {
            let v = v?;
            if let Some((s, d)) = &last
                && s == v
            {
                return *d;
            }
            let d = parse_charge_date(v).map(|d| (d - EPOCH).num_days() as i32);
            last = Some((v.to_string(), d));
            d
        })
        .collect();
    named(out.into_series(), c.name()).cast(&DataType::Date)
}

/// Amount of a text column in nano-units; null when not a finite number.
fn udf_nanos_text(c: Column) -> PolarsResult<Column> {
    let out: Int64Chunked = c.str()?.iter().map(|v| v.and_then(parse_nanos)).collect();
    Ok(named(out.into_series(), c.name()))
}

fn udf_nanos_number(c: Column) -> PolarsResult<Column> {
    let c = c.cast(&DataType::Float64)?;
    let out: Int64Chunked = c
        .f64()?
        .iter()
        .map(|v| v.filter(|v| v.is_finite()).and_then(nanos_of))
        .collect();
    Ok(named(out.into_series(), c.name()))
}

/// The bare lower-case subscription GUID from the first non-empty subscription column
/// (`x_SubscriptionId`, FOCUS `SubAccountId` = `/subscriptions/<guid>`, `SubscriptionId`).
pub fn normalise_subscription(v: &str) -> String {
    let v = v.trim().to_ascii_lowercase();
    let v = v.strip_prefix("/subscriptions/").unwrap_or(&v);
    v.split('/').next().unwrap_or_default().to_string()
}

fn udf_subscription(cs: &mut [Column]) -> PolarsResult<Column> {
    let name = cs[0].name().clone();
    let mut its = cs.iter().map(str_iter).collect::<PolarsResult<Vec<_>>>()?;
    let n = cs[0].len();
    let mut out = StringChunkedBuilder::new(name, n);
    // Rows of one subscription come in runs: normalise each distinct value once.
    let mut last: (String, String) = (String::new(), String::new());
    for _ in 0..n {
        let mut found = None;
        for it in its.iter_mut() {
            let v = it.next().flatten();
            if found.is_none() {
                found = v.map(str::trim).filter(|v| !v.is_empty());
            }
        }
        let raw = found.unwrap_or_default();
        if raw != last.0 {
            last = (raw.to_string(), normalise_subscription(raw));
        }
        out.append_value(&last.1);
    }
    Ok(out.finish().into_column())
}

/// Lower-case resource group: the group column when present and non-empty, else the
/// `/resourceGroups/<name>/` segment of the resource id.
pub fn resource_group_of(rg: Option<&str>, rid: Option<&str>) -> String {
    if let Some(rg) = rg.map(str::trim).filter(|s| !s.is_empty()) {
        return rg.to_lowercase();
    }
    let rid = rid.unwrap_or_default().to_lowercase();
    rid.split_once("/resourcegroups/")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

fn udf_resource_group(cs: &mut [Column]) -> PolarsResult<Column> {
    let name = cs[0].name().clone();
    let (rg, rid) = (&cs[0], &cs[1]);
    let mut out = StringChunkedBuilder::new(name, rg.len());
    let mut last: Option<(String, String)> = None;
    for (g, r) in rg.str()?.iter().zip(rid.str()?.iter()) {
        match g.map(str::trim).filter(|g| !g.is_empty()) {
            // The common case: a group column. Lower-case each distinct run once.
            Some(g) => {
                if last.as_ref().is_none_or(|(raw, _)| raw != g) {
                    last = Some((g.to_string(), g.to_lowercase()));
                }
                out.append_value(&last.as_ref().expect("set above").1);
            }
            None => out.append_value(resource_group_of(None, r)),
        }
    }
    Ok(out.finish().into_column())
}

/// Defender for Containers: meter category contains "Defender" and the meter, product or SKU
/// text contains "Containers" (case-insensitive). `cs[0]` is the category, the rest the texts.
pub fn is_defender_containers(category: Option<&str>, texts: &[Option<&str>]) -> bool {
    category.is_some_and(|c| contains_ignore_case(c, "defender"))
        && texts
            .iter()
            .flatten()
            .any(|t| contains_ignore_case(t, "containers"))
}

/// ASCII case-insensitive substring test without allocating (`needle` in lower case).
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn udf_defender(cs: &mut [Column]) -> PolarsResult<Column> {
    let name = cs[0].name().clone();
    let mut its = cs.iter().map(str_iter).collect::<PolarsResult<Vec<_>>>()?;
    let n = cs[0].len();
    let mut out = Vec::with_capacity(n);
    let mut texts = Vec::with_capacity(its.len());
    for _ in 0..n {
        texts.clear();
        let category = its[0].next().flatten();
        for it in its[1..].iter_mut() {
            texts.push(it.next().flatten());
        }
        out.push(is_defender_containers(category, &texts));
    }
    Ok(Column::new(name, out))
}

/// The tags cell reduced to the keys in `keys` (lower-case), as a JSON object with the
/// original key spelling and values; "" when none is present. Cached per distinct cell.
pub fn keep_tags(cell: &str, keys: &[String]) -> String {
    let all = crate::kpi::owners::parse_tags(Some(cell));
    let kept: serde_json::Map<String, serde_json::Value> = all
        .into_iter()
        .filter(|(k, _)| keys.iter().any(|w| w.eq_ignore_ascii_case(k)))
        .collect();
    if kept.is_empty() {
        String::new()
    } else {
        serde_json::Value::Object(kept).to_string()
    }
}

fn udf_keep_tags(c: Column, keys: &[String]) -> PolarsResult<Column> {
    let mut cache: std::collections::HashMap<&str, String> = Default::default();
    let ca = c.str()?;
    let out: Vec<Option<String>> = ca
        .iter()
        .map(|v| v.map(|v| cache.entry(v).or_insert_with(|| keep_tags(v, keys)).clone()))
        .collect();
    Ok(Column::new(c.name().clone(), out))
}

fn text_or_empty(e: Expr) -> Expr {
    e.cast(DataType::String).fill_null(lit(""))
}

/// The normalised columns of one file, from its raw columns. `name_of(i)` is the scan's
/// name for header column `i`; `text` tells whether dates and amounts are text cells.
fn normalised(
    m: &Mapping,
    tag_keys: Option<&[String]>,
    name_of: &dyn Fn(usize) -> String,
    dtypes: &dyn Fn(usize) -> DataType,
) -> Vec<Expr> {
    let c = |i: usize| col(name_of(i));
    let txt = |i: usize| text_or_empty(c(i));
    let opt_txt = |i: Option<usize>| i.map(txt).unwrap_or_else(|| lit(""));

    let date = match dtypes(m.date) {
        DataType::String => c(m.date).map(udf_date, |_, f| {
            Ok(Field::new(f.name().clone(), DataType::Date))
        }),
        DataType::Date | DataType::Datetime(_, _) => c(m.date).cast(DataType::Date),
        _ => c(m.date).cast(DataType::String).map(udf_date, |_, f| {
            Ok(Field::new(f.name().clone(), DataType::Date))
        }),
    };
    let int64 = |_: &Schema, f: &Field| Ok(Field::new(f.name().clone(), DataType::Int64));
    let nanos = match dtypes(m.amount) {
        DataType::String => c(m.amount).map(udf_nanos_text, int64),
        _ => c(m.amount).map(udf_nanos_number, int64),
    };
    let str_out = |_: &Schema, f: &[Field]| Ok(Field::new(f[0].name().clone(), DataType::String));
    let subscription = if m.subscription.is_empty() {
        lit("")
    } else {
        let args: Vec<Expr> = m.subscription[1..].iter().map(|&i| txt(i)).collect();
        txt(m.subscription[0]).map_many(udf_subscription, &args, str_out)
    };
    let rid = opt_txt(m.resource_id);
    let rg =
        opt_txt(m.resource_group).map_many(udf_resource_group, std::slice::from_ref(&rid), str_out);
    let defender = match m.meter_category {
        Some(cat) if !m.descriptors.is_empty() => {
            let args: Vec<Expr> = m.descriptors.iter().map(|&i| txt(i)).collect();
            txt(cat).map_many(udf_defender, &args, |_, f| {
                Ok(Field::new(f[0].name().clone(), DataType::Boolean))
            })
        }
        _ => lit(false),
    };
    let tags = match (m.tags, tag_keys) {
        (Some(i), Some(keys)) => {
            let keys: Vec<String> = keys.iter().map(|k| k.to_lowercase()).collect();
            txt(i).map(
                move |c| udf_keep_tags(c, &keys),
                |_, f| Ok(Field::new(f.name().clone(), DataType::String)),
            )
        }
        (i, _) => opt_txt(i),
    };
    vec![
        date.alias(cols::CHARGE_DATE),
        subscription.alias(cols::SUBSCRIPTION),
        // Keyed as given in the scan (one string per group instead of two); lower-cased on
        // the far smaller aggregate.
        rid.alias(cols::RESOURCE_ID),
        rg.alias(cols::RESOURCE_GROUP),
        tags.alias(cols::TAGS),
        txt(m.currency)
            .str()
            .strip_chars(lit(NULL))
            .alias(cols::CURRENCY),
        defender.alias(cols::IS_DEFENDER),
        nanos.alias(cols::NANOS),
    ]
}

/// Classify rows and aggregate them in the scan. `short_row` flags CSV rows with missing
/// fields; `excluded` holds record indexes already rejected.
fn aggregate(
    lf: LazyFrame,
    exprs: Vec<Expr>,
    short_row: Expr,
    window: (NaiveDate, NaiveDate),
    excluded: &BTreeSet<u64>,
) -> PolarsResult<DataFrame> {
    let mut sel = vec![col(ROW)];
    sel.extend(exprs);
    sel.push(short_row.alias("__short"));
    let mut lf = lf.select(sel);
    if !excluded.is_empty() {
        let idx: Vec<IdxSize> = excluded.iter().map(|&i| i as IdxSize).collect();
        let s = Series::new("excluded".into(), idx);
        lf = lf.filter(col(ROW).is_in(lit(s).implode(false), false).not());
    }
    let bad = col(cols::CHARGE_DATE)
        .is_null()
        .or(col(cols::NANOS).is_null())
        .or(col(cols::CURRENCY).str().len_bytes().eq(lit(0u32)))
        .or(col("__short"));
    let in_window = col(cols::CHARGE_DATE)
        .gt_eq(lit(window.0))
        .and(col(cols::CHARGE_DATE).lt(lit(window.1)));
    let class = when(bad)
        .then(lit(BAD))
        .when(in_window)
        .then(lit(IN_WINDOW))
        .otherwise(lit(OUTSIDE));
    let key = |name: &str| {
        when(col(CLASS).eq(lit(IN_WINDOW)))
            .then(col(name))
            .otherwise(lit(NULL).cast(DataType::Null))
            .alias(name)
    };
    let mut keys = vec![col(CLASS)];
    keys.extend(cols::KEYS.iter().map(|k| key(k)));
    lf.with_column(class.alias(CLASS))
        .group_by(keys)
        .agg([
            col(cols::NANOS).sum().alias(cols::NANOS),
            len().cast(DataType::Int64).alias(cols::ROWS),
            col(ROW).min().alias(ROW),
        ])
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

struct Counts {
    rows: u64,
    outside: u64,
    bad: u64,
    first_bad_row: Option<u64>,
}

fn counts(df: &DataFrame) -> Result<Counts> {
    let class = crate::frame::ints(df, CLASS)?;
    let rows = crate::frame::ints(df, cols::ROWS)?;
    let first = crate::frame::ints(df, ROW)?;
    let mut c = Counts {
        rows: 0,
        outside: 0,
        bad: 0,
        first_bad_row: None,
    };
    for i in 0..df.height() {
        let n = rows[i].unwrap_or(0) as u64;
        c.rows += n;
        match class[i].unwrap_or(0) as i32 {
            OUTSIDE => c.outside += n,
            BAD => {
                c.bad += n;
                c.first_bad_row = first[i].map(|v| v as u64);
            }
            _ => {}
        }
    }
    Ok(c)
}

fn valid_only(df: DataFrame) -> Result<DataFrame> {
    let mut out = df
        .lazy()
        .filter(col(CLASS).eq(lit(IN_WINDOW)))
        .select(
            cols::KEYS
                .iter()
                .map(|k| col(*k))
                .chain([col(cols::NANOS), col(cols::ROWS)])
                .collect::<Vec<_>>(),
        )
        .with_columns([
            col(cols::RESOURCE_ID).alias(cols::RESOURCE_ID_AS_GIVEN),
            col(cols::RESOURCE_ID).str().to_lowercase(),
        ])
        .collect()
        .ctx("cost aggregate")?;
    out.rechunk_mut();
    Ok(out)
}

/// Read the header record of a CSV file (None when the file is empty).
fn csv_header(path: &Path, origin: &str) -> Result<Option<Vec<String>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::input(origin, format!("cannot open: {e}")))?;
    let mut rec = csv::ByteRecord::new();
    match r.read_byte_record(&mut rec) {
        Ok(false) => Ok(None),
        Ok(true) => Ok(Some(
            rec.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
        )),
        Err(e) => Err(Error::input(origin, format!("header row: {e}"))),
    }
}

fn csv_scan(path: &Path, n_fields: usize, truncate_ragged: bool) -> PolarsResult<LazyFrame> {
    let schema: Schema = (0..n_fields)
        .map(|i| Field::new(format!("c{i}").into(), DataType::String))
        .collect();
    LazyCsvReader::new(PlRefPath::new(path.to_string_lossy().as_ref()))
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_missing_is_null(false)
        .with_truncate_ragged_lines(truncate_ragged)
        .with_row_index(Some(RowIndex {
            name: ROW.into(),
            offset: 0,
        }))
        .finish()
}

/// Scan one local CSV file (already decompressed).
pub fn scan_csv(
    path: &Path,
    origin: &str,
    window: (NaiveDate, NaiveDate),
    collect_rejects: bool,
    tag_keys: Option<&[String]>,
) -> Result<FileScan> {
    let Some(header) = csv_header(path, origin)? else {
        return Ok(FileScan {
            mapping: None,
            rows: 0,
            rows_outside_window: 0,
            rejects: Vec::new(),
            aggregate: empty_aggregate()?,
        });
    };
    let m = Mapping::from_headers(&header, origin)?;
    let n = header.len();
    let name_of = |i: usize| format!("c{i}");
    let string = |_: usize| DataType::String;
    // With missing_is_null off, a missing trailing field is null while an empty one is "".
    let short = col(name_of(n - 1)).is_null();
    let first = csv_scan(path, n, false).and_then(|lf| {
        aggregate(
            lf,
            normalised(&m, tag_keys, &name_of, &string),
            short.clone(),
            window,
            &BTreeSet::new(),
        )
    });
    let problem = match &first {
        Ok(df) => {
            let c = counts(df)?;
            (c.bad > 0).then(|| format!("{} bad rows", c.bad))
        }
        Err(e) => Some(e.to_string()),
    };
    let Some(problem) = problem else {
        let df = first.expect("checked");
        let c = counts(&df)?;
        return Ok(FileScan {
            mapping: Some(m),
            rows: c.rows,
            rows_outside_window: c.outside,
            rejects: Vec::new(),
            aggregate: valid_only(df)?,
        });
    };
    // Something is wrong: find it exactly.
    let rejects = diagnose_csv(path, origin, &m, collect_rejects)?;
    if !collect_rejects {
        return Err(match rejects.first() {
            Some(r) => Error::input(
                format!("{origin}, line {}", r.line),
                format!("{}; the row: {}", r.reason, r.raw),
            ),
            None => Error::input(origin, format!("cannot read the file: {problem}")),
        });
    }
    let excluded: BTreeSet<u64> = rejects.iter().map(|r| r.record).collect();
    let df = csv_scan(path, n, true)
        .and_then(|lf| {
            aggregate(
                lf,
                normalised(&m, tag_keys, &name_of, &string),
                short,
                window,
                &excluded,
            )
        })
        .ctx(format!(
            "{origin}: reading after setting aside rejected rows"
        ))?;
    let c = counts(&df)?;
    if c.bad > 0 {
        return Err(Error::input(
            origin,
            format!(
                "{} rows are unreadable but could not be located (first at data row {})",
                c.bad,
                c.first_bad_row.map(|r| r + 1).unwrap_or(0)
            ),
        ));
    }
    Ok(FileScan {
        mapping: Some(m),
        rows: c.rows + rejects.len() as u64,
        rows_outside_window: c.outside,
        rejects,
        aggregate: valid_only(df)?,
    })
}

/// Walk a CSV file record by record and report every bad row (only the first unless
/// `all`): wrong field count, invalid UTF-8, unparseable date or amount, empty currency.
fn diagnose_csv(path: &Path, origin: &str, m: &Mapping, all: bool) -> Result<Vec<Reject>> {
    let open_err = |e: &dyn std::fmt::Display| Error::input(origin, format!("cannot open: {e}"));
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| open_err(&e))?;
    let mut raw_file = std::fs::File::open(path).map_err(|e| open_err(&e))?;
    let n = m.headers.len();
    let mut out = Vec::new();
    let mut rec = csv::ByteRecord::new();
    let mut record = 0u64;
    loop {
        let start = r.position().clone();
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(Error::input(
                    format!("{origin}, line {}", start.line()),
                    format!("not valid CSV: {e}"),
                ));
            }
        }
        let reason = row_problem(&rec, m, n);
        if let Some(reason) = reason {
            let end = r.position().byte();
            let pos = rec.position().unwrap_or(&start);
            // With CRLF line ends a record's start position can sit on the previous
            // record's '\n': skip it, and count it as a line.
            let raw = raw_text(&mut raw_file, pos.byte(), end);
            let skipped = raw.len() - raw.trim_start_matches(['\r', '\n']).len();
            let newlines = raw[..skipped].matches('\n').count() as u64;
            out.push(Reject {
                file: origin.to_string(),
                line: pos.line() + newlines,
                record,
                reason,
                raw: raw[skipped..].to_string(),
            });
            if !all {
                break;
            }
        }
        record += 1;
    }
    Ok(out)
}

fn row_problem(rec: &csv::ByteRecord, m: &Mapping, n: usize) -> Option<String> {
    if rec.len() != n {
        return Some(format!(
            "the row has {} fields but the header has {n}",
            rec.len()
        ));
    }
    let cell = |i: usize| std::str::from_utf8(&rec[i]);
    for (i, what) in [
        (m.date, "date"),
        (m.amount, "amount"),
        (m.currency, "currency"),
    ] {
        let Ok(v) = cell(i) else {
            return Some(format!("column {}: not valid UTF-8", m.name(i)));
        };
        let ok = match what {
            "date" => parse_charge_date(v).is_some(),
            "amount" => parse_nanos(v).is_some(),
            _ => !v.trim().is_empty(),
        };
        if !ok {
            let expected = match what {
                "date" => "a date (MM/dd/yyyy or ISO 8601 UTC)",
                "amount" => "a number with a '.' decimal point",
                _ => "a currency code",
            };
            return Some(format!(
                "column {}: '{}' is not {expected}",
                m.name(i),
                v.chars().take(80).collect::<String>()
            ));
        }
    }
    None
}

fn raw_text(f: &mut std::fs::File, begin: u64, end: u64) -> String {
    let len = end.saturating_sub(begin).min(4096) as usize;
    let mut buf = vec![0u8; len];
    if f.seek(SeekFrom::Start(begin)).is_err() || f.read_exact(&mut buf).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&buf)
        .trim_end_matches(['\r', '\n'])
        .to_string()
}

/// Scan one local Parquet file.
pub fn scan_parquet(
    path: &Path,
    origin: &str,
    window: (NaiveDate, NaiveDate),
    collect_rejects: bool,
    tag_keys: Option<&[String]>,
) -> Result<FileScan> {
    let open = || {
        LazyFrame::scan_parquet(
            PlRefPath::new(path.to_string_lossy().as_ref()),
            ScanArgsParquet {
                row_index: Some(RowIndex {
                    name: ROW.into(),
                    offset: 0,
                }),
                ..Default::default()
            },
        )
    };
    let schema = open()
        .and_then(|mut lf| lf.collect_schema())
        .ctx(format!("{origin}: reading the Parquet schema"))?;
    let names: Vec<String> = schema
        .iter_names()
        .filter(|n| n.as_str() != ROW)
        .map(|n| n.to_string())
        .collect();
    let m = Mapping::from_headers(&names, origin)?;
    let dtype_names = names.clone();
    let dtypes = move |i: usize| {
        schema
            .get(dtype_names[i].as_str())
            .cloned()
            .unwrap_or(DataType::String)
    };
    let name_of = |i: usize| names[i].clone();
    let run = |excluded: &BTreeSet<u64>| {
        open()
            .and_then(|lf| {
                aggregate(
                    lf,
                    normalised(&m, tag_keys, &name_of, &dtypes),
                    lit(false),
                    window,
                    excluded,
                )
            })
            .ctx(format!("{origin}: reading"))
    };
    let df = run(&BTreeSet::new())?;
    let c = counts(&df)?;
    if c.bad == 0 {
        return Ok(FileScan {
            mapping: Some(m),
            rows: c.rows,
            rows_outside_window: c.outside,
            rejects: Vec::new(),
            aggregate: valid_only(df)?,
        });
    }
    // Locate the bad rows: recompute the checks on them with their raw values.
    let bad = open()
        .and_then(|lf| {
            let mut sel = vec![col(ROW)];
            sel.extend(normalised(&m, tag_keys, &name_of, &dtypes));
            let raw: Vec<Expr> = [m.date, m.amount, m.currency]
                .iter()
                .map(|&i| {
                    col(name_of(i))
                        .cast(DataType::String)
                        .alias(format!("raw{i}"))
                })
                .collect();
            sel.extend(raw);
            lf.select(sel)
                .filter(
                    col(cols::CHARGE_DATE)
                        .is_null()
                        .or(col(cols::NANOS).is_null())
                        .or(col(cols::CURRENCY).str().len_bytes().eq(lit(0u32))),
                )
                .collect_with_engine(Engine::Streaming)
                .map(|r| r.unwrap_single())
        })
        .ctx(format!("{origin}: locating bad rows"))?;
    let rows = crate::frame::ints(&bad, ROW)?;
    // Every column read once, not once per bad row.
    let raw_cols: Vec<(usize, Vec<Option<String>>)> = [m.date, m.amount, m.currency]
        .iter()
        .map(|&i| {
            (
                i,
                crate::frame::strs(&bad, &format!("raw{i}")).unwrap_or_default(),
            )
        })
        .collect();
    let parsed_dates = crate::frame::dates(&bad, cols::CHARGE_DATE).unwrap_or_default();
    let parsed_nanos = crate::frame::ints(&bad, cols::NANOS).unwrap_or_default();
    let mut rejects = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        let row = row.unwrap_or(0) as u64;
        let raw: Vec<(usize, Option<String>)> = raw_cols
            .iter()
            .map(|(i, v)| (*i, v.get(k).cloned().flatten()))
            .collect();
        let reason = raw
            .iter()
            .map(|(i, v)| {
                let v = v.as_deref().unwrap_or("");
                let what = if *i == m.date {
                    ("a date", parsed_dates.get(k).copied().flatten().is_some())
                } else if *i == m.amount {
                    (
                        "a finite number",
                        parsed_nanos.get(k).copied().flatten().is_some(),
                    )
                } else {
                    ("a currency code", !v.trim().is_empty())
                };
                (
                    format!("column {}: '{v}' is not {}", m.name(*i), what.0),
                    what.1,
                )
            })
            .find(|(_, ok)| !ok)
            .map(|(r, _)| r)
            .unwrap_or_else(|| "unreadable row".to_string());
        rejects.push(Reject {
            file: origin.to_string(),
            line: row + 1,
            record: row,
            reason,
            raw: raw
                .iter()
                .map(|(i, v)| format!("{}={}", m.name(*i), v.as_deref().unwrap_or("null")))
                .collect::<Vec<_>>()
                .join(", "),
        });
        if !collect_rejects {
            let r = &rejects[0];
            return Err(Error::input(
                format!("{origin}, row {}", r.line),
                format!("{}; the row: {}", r.reason, r.raw),
            ));
        }
    }
    let excluded: BTreeSet<u64> = rejects.iter().map(|r| r.record).collect();
    let df = run(&excluded)?;
    let c = counts(&df)?;
    Ok(FileScan {
        mapping: Some(m),
        rows: c.rows + rejects.len() as u64,
        rows_outside_window: c.outside,
        rejects,
        aggregate: valid_only(df)?,
    })
}

/// An aggregate with no rows, in the aggregate's schema.
pub fn empty_aggregate() -> Result<DataFrame> {
    let s = |n: &str, dt: DataType| Column::new_empty(n.into(), &dt);
    crate::frame::frame(vec![
        s(cols::CHARGE_DATE, DataType::Date),
        s(cols::SUBSCRIPTION, DataType::String),
        s(cols::RESOURCE_ID, DataType::String),
        s(cols::RESOURCE_GROUP, DataType::String),
        s(cols::TAGS, DataType::String),
        s(cols::CURRENCY, DataType::String),
        s(cols::IS_DEFENDER, DataType::Boolean),
        s(cols::NANOS, DataType::Int64),
        s(cols::ROWS, DataType::Int64),
        s(cols::RESOURCE_ID_AS_GIVEN, DataType::String),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_helpers() {
        assert_eq!(
            normalise_subscription("/subscriptions/AAAA-bbbb"),
            "aaaa-bbbb"
        );
        assert_eq!(normalise_subscription(" AAAA "), "aaaa");
        assert_eq!(
            resource_group_of(
                None,
                Some("/subscriptions/s/resourceGroups/RG-1/providers/x")
            ),
            "rg-1"
        );
        assert_eq!(resource_group_of(Some(" MC_rg "), None), "mc_rg");
        assert!(is_defender_containers(
            Some("Microsoft Defender for Cloud"),
            &[
                Some("Standard vCore vCore Pack"),
                Some("Microsoft Defender for Containers")
            ]
        ));
        assert!(!is_defender_containers(
            Some("Microsoft Defender for Cloud"),
            &[
                Some("Standard Node"),
                Some("Microsoft Defender for Servers")
            ]
        ));
        assert!(!is_defender_containers(
            Some("Containers"),
            &[Some("Containers")]
        ));
        assert_eq!(nanos_of(1e-5), Some(10_000));
        assert_eq!(nanos_of(-2.5), Some(-2_500_000_000));
        assert_eq!(parse_nanos("-20.25"), Some(-20_250_000_000));
        assert_eq!(parse_nanos("0.00345678901234"), Some(3_456_789));
        // Half to even: 1.5 nano → 2, 2.5 nano → 2, 2.51 nano → 3; signs are symmetric.
        assert_eq!(parse_nanos("0.0000000015"), Some(2));
        assert_eq!(parse_nanos("0.0000000025"), Some(2));
        assert_eq!(parse_nanos("0.00000000251"), Some(3));
        assert_eq!(parse_nanos("-0.0000000025"), Some(-2));
        assert_eq!(parse_nanos("30"), Some(30_000_000_000));
        assert_eq!(parse_nanos(".5"), Some(500_000_000));
        assert_eq!(parse_nanos("1.5E+01"), Some(15_000_000_000));
        assert_eq!(parse_nanos("1E-05"), Some(10_000));
        for bad in [
            "",
            "-",
            ".",
            "1,5",
            "1.2.3",
            "12;5",
            "abc",
            "inf",
            "NaN",
            "99999999999",
        ] {
            assert_eq!(parse_nanos(bad), None, "{bad}");
        }
    }
}
