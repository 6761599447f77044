//! Reading one export file into the cost aggregate, streaming.
//!
//! CSV (plain or gzip) is inflated and tokenised in one pass (`csv_stream`); Parquet is read by
//! a polars lazy scan of the needed columns, one row group at a time (`row_group_batches`). Either way each row is checked
//! (date, amount, currency, field count), normalised and folded into the `Aggregator` as it
//! passes, so a ten-million-row export is never held in memory. A bad row stops the load with
//! its file, line and column, or in rejects mode is set aside with its raw text.
//!
//! Amounts become integer nano-units (exact, order-independent sums).

use super::Reject;
use super::aggregate::{Aggregator, RowRef};
use super::csv_stream::{self, Fields, Next, ReadFailure, limits};
use super::schema::{Mapping, parse_amount, parse_charge_date};
use crate::error::{Error, PolarsContext, Result};
use chrono::NaiveDate;
use polars::prelude::*;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// What one file contributed (its rows went into the aggregator).
#[derive(Debug)]
pub struct FileScan {
    pub mapping: Option<Mapping>,
    /// Data rows in the file (valid and rejected).
    pub rows: u64,
    pub rows_outside_window: u64,
    pub rejects: Vec<Reject>,
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

/// The bare lower-case subscription GUID from the first non-empty subscription column
/// (`x_SubscriptionId`, FOCUS `SubAccountId` = `/subscriptions/<guid>`, `SubscriptionId`).
pub fn normalise_subscription(v: &str) -> String {
    let v = v.trim().to_ascii_lowercase();
    let v = v.strip_prefix("/subscriptions/").unwrap_or(&v);
    v.split('/').next().unwrap_or_default().to_string()
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

/// Defender for Containers: meter category contains "Defender" and the meter, product or SKU
/// text contains "Containers" (case-insensitive).
pub fn is_defender_containers(category: Option<&str>, texts: &[Option<&str>]) -> bool {
    category.is_some_and(category_names_defender)
        && texts
            .iter()
            .flatten()
            .any(|t| contains_ignore_case(t, "containers"))
}

/// The category half of `is_defender_containers`.
fn category_names_defender(category: &str) -> bool {
    contains_ignore_case(category, "defender")
}

/// ASCII case-insensitive substring test without allocating (`needle` in lower case).
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// The tags cell reduced to the keys in `keys` (lower-case), as a JSON object with the
/// original key spelling and values; "" when none is present. Cached per distinct cell.
pub fn keep_tags(cell: &str, keys: &[String]) -> String {
    let all = crate::tags::parse_tags(Some(cell));
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

/// The cells that repeat row after row (dates, meter categories), parsed once per value.
struct Repeats {
    last_date: (Vec<u8>, Option<NaiveDate>),
    dates: HashMap<Vec<u8>, Option<NaiveDate>>,
    last_category: (Vec<u8>, bool),
    /// The last currency cell found to be an ISO 4217 code.
    last_currency: Vec<u8>,
}

impl Repeats {
    fn new() -> Repeats {
        Repeats {
            last_date: (Vec::new(), None),
            dates: HashMap::new(),
            last_category: (b"\x00".to_vec(), false),
            last_currency: Vec::new(),
        }
    }

    fn date(&mut self, cell: &str) -> Option<NaiveDate> {
        if self.last_date.0 == cell.as_bytes() {
            return self.last_date.1;
        }
        // No date spelling is longer than this: a longer cell is parsed (and fails) uncached,
        // so the cache stays small whatever the cells.
        if cell.len() > 40 {
            return parse_charge_date(cell);
        }
        let d = match self.dates.get(cell.as_bytes()) {
            Some(d) => *d,
            None => {
                // Exports hold a few distinct date spellings; bound the cache anyway.
                if self.dates.len() > 4096 {
                    self.dates.clear();
                }
                let d = parse_charge_date(cell);
                self.dates.insert(cell.as_bytes().to_vec(), d);
                d
            }
        };
        self.last_date.0.clear();
        self.last_date.0.extend_from_slice(cell.as_bytes());
        self.last_date.1 = d;
        d
    }

    /// Whether a (trimmed) currency cell is an active ISO 4217 code; rows repeat their
    /// currency, so the table is searched only when it changes.
    fn iso_currency(&mut self, code: &str) -> bool {
        if !self.last_currency.is_empty() && self.last_currency == code.as_bytes() {
            return true;
        }
        let ok = is_iso_4217(code);
        if ok {
            self.last_currency.clear();
            self.last_currency.extend_from_slice(code.as_bytes());
        }
        ok
    }

    /// Whether a row of this meter category can be a Defender for Containers charge: the
    /// category half of `is_defender_containers`, cached per value, so the full test runs
    /// only on the rare rows that pass it.
    fn maybe_defender(&mut self, category: &str) -> bool {
        if self.last_category.0 != category.as_bytes() {
            self.last_category.0.clear();
            self.last_category.0.extend_from_slice(category.as_bytes());
            self.last_category.1 = category_names_defender(category);
        }
        self.last_category.1
    }
}

fn not_a(m: &Mapping, i: usize, v: &str, expected: &str) -> String {
    format!(
        "column {}: '{}' is not {expected}",
        m.name(i),
        v.chars().take(80).collect::<String>()
    )
}

const EXPECT_DATE: &str = "a date (MM/dd/yyyy or ISO 8601 UTC)";
const EXPECT_AMOUNT: &str = "a number with a '.' decimal point";
use super::currency::{EXPECT_CURRENCY, is_iso_4217};

/// Check one CSV record and fold it in: Ok(true) in the window, Ok(false) outside it,
/// Err(reason) when bad.
fn csv_row(
    f: &Fields,
    m: &Mapping,
    window: (NaiveDate, NaiveDate),
    repeats: &mut Repeats,
    agg: &mut Aggregator,
) -> std::result::Result<bool, String> {
    let n = m.headers.len();
    if f.len() != n {
        return Err(format!(
            "the row has {} fields but the header has {n}",
            f.len()
        ));
    }
    let text = |i: usize| {
        std::str::from_utf8(f.get(i)).map_err(|_| format!("column {}: not valid UTF-8", m.name(i)))
    };
    let opt = |i: Option<usize>| i.map(text).transpose().map(Option::unwrap_or_default);
    let date_cell = text(m.date)?;
    let day = repeats
        .date(date_cell)
        .ok_or_else(|| not_a(m, m.date, date_cell, EXPECT_DATE))?;
    let amount_cell = text(m.amount)?;
    let nanos =
        parse_nanos(amount_cell).ok_or_else(|| not_a(m, m.amount, amount_cell, EXPECT_AMOUNT))?;
    let currency = text(m.currency)?.trim();
    if !repeats.iso_currency(currency) {
        return Err(not_a(m, m.currency, currency, EXPECT_CURRENCY));
    }
    let mut subscription = "";
    for &i in &m.subscription {
        let v = text(i)?.trim();
        if !v.is_empty() {
            subscription = v;
            break;
        }
    }
    let defender = match m.meter_category {
        Some(c) => {
            let category = text(c)?;
            repeats.maybe_defender(category) && {
                let texts = (m.descriptors.iter().map(|&i| text(i).map(Some)))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                is_defender_containers(Some(category), &texts)
            }
        }
        None => false,
    };
    let row = RowRef {
        day,
        nanos,
        currency,
        subscription,
        resource_id: opt(m.resource_id)?,
        resource_group: opt(m.resource_group)?,
        tags: opt(m.tags)?,
        defender,
    };
    if day < window.0 || day >= window.1 {
        return Ok(false);
    }
    agg.add(&row);
    Ok(true)
}

/// Read one CSV file (gzip when `gzip`) from `reader`, streaming, into `agg`.
pub fn scan_csv(
    reader: Box<dyn Read + Send>,
    gzip: bool,
    origin: &str,
    window: (NaiveDate, NaiveDate),
    collect_rejects: bool,
    agg: &mut Aggregator,
) -> Result<FileScan> {
    let mut mapping: Option<Mapping> = None;
    let mut header_error: Option<Error> = None;
    let mut repeats = Repeats::new();
    let mut outside = 0u64;
    let mut rejects: Vec<Reject> = Vec::new();
    let records = csv_stream::for_each_record(
        csv_stream::blocks(reader, gzip),
        |index, f| {
            let Some(m) = &mapping else {
                let header: Vec<String> = (0..f.len())
                    .map(|i| String::from_utf8_lossy(f.get(i)).into_owned())
                    .collect();
                match Mapping::from_headers(&header, origin) {
                    Ok(m) => mapping = Some(m),
                    Err(e) => {
                        header_error = Some(e);
                        return Next::Stop;
                    }
                }
                return Next::Continue;
            };
            debug_assert!(index > 0);
            match csv_row(f, m, window, &mut repeats, agg) {
                Ok(true) => Next::Continue,
                Ok(false) => {
                    outside += 1;
                    Next::Continue
                }
                Err(reason) => Next::Bad(reason),
            }
        },
        |index, raw, reason| {
            rejects.push(Reject {
                file: origin.to_string(),
                line: raw.line,
                record: index - 1,
                reason,
                raw: raw.text,
            });
            collect_rejects
        },
    );
    let records = records.map_err(|e| read_failure(e, origin, mapping.as_ref()))?;
    if let Some(e) = header_error {
        return Err(e);
    }
    if !collect_rejects && let Some(r) = rejects.first() {
        return Err(Error::input(
            format!("{origin}, line {}", r.line),
            format!("{}; the row: {}", r.reason, r.raw),
        ));
    }
    Ok(FileScan {
        mapping,
        rows: records.saturating_sub(1),
        rows_outside_window: outside,
        rejects,
    })
}

/// The error of a CSV read that stopped early: a corrupt gzip stream or a record over a limit
/// is the file's fault (input), a failing read underneath is the source's.
fn read_failure(e: ReadFailure, origin: &str, mapping: Option<&Mapping>) -> Error {
    match e {
        ReadFailure::Gzip(e) => Error::input(
            origin,
            format!("the gzip stream is truncated or corrupt ({e}); re-run the export"),
        ),
        ReadFailure::Io(e) => Error::source(origin, format!("read failed: {e}")),
        ReadFailure::TooLarge(o) => {
            let column = match mapping {
                Some(m) if o.field < m.headers.len() => m.name(o.field).to_string(),
                _ => format!("#{}", o.field + 1),
            };
            Error::input(
                format!("{origin}, line {}", o.line),
                format!(
                    "column {column}: {o}; no Cost Management cell is this long, so the file is \
                     damaged or not an export: check it and re-run the export"
                ),
            )
        }
    }
}

/// The query's rows one Parquet row group at a time, collected on another thread one group
/// ahead of the caller: decoding overlaps folding, and memory holds at most two row groups
/// whatever the file size (polars' streaming engine decodes several groups ahead).
fn row_group_batches(
    lf: LazyFrame,
    row_groups: Vec<usize>,
) -> std::sync::mpsc::Receiver<PolarsResult<DataFrame>> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<PolarsResult<DataFrame>>(1);
    std::thread::Builder::new()
        .name("cost-export-parquet".into())
        .spawn(move || {
            let mut offset = 0usize;
            for n in row_groups {
                let batch = lf.clone().slice(offset as i64, n as IdxSize).collect();
                offset += n;
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
            }
        })
        .expect("spawning a thread");
    rx
}

fn row_group_sizes(path: &Path) -> PolarsResult<Vec<usize>> {
    let file = std::fs::File::open(path)?;
    let mut reader = ParquetReader::new(file);
    Ok(reader
        .get_metadata()?
        .row_groups
        .iter()
        .map(|g| g.num_rows())
        .collect())
}

const ROW: &str = "__row";

/// How one Parquet file's columns are read: the mapping, whether date and amount are typed,
/// and where each text column sits in a batch.
struct ParquetPlan {
    m: Mapping,
    typed_date: bool,
    typed_amount: bool,
    /// Batch text columns `__t<k>`: currency, the subscription columns, then optional ones.
    texts: usize,
    /// The header column of each batch text column.
    text_columns: Vec<usize>,
    rid: Option<usize>,
    rg: Option<usize>,
    tags: Option<usize>,
    category: Option<usize>,
    first_descriptor: usize,
}

/// Open `path` lazily and plan the columns the mapping needs: a projection of them, dates
/// and amounts cast to their typed or text form, every other field as text.
fn plan_parquet(path: &Path, origin: &str) -> Result<(ParquetPlan, LazyFrame)> {
    let lf = LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().as_ref()),
        ScanArgsParquet {
            row_index: Some(RowIndex {
                name: ROW.into(),
                offset: 0,
            }),
            ..Default::default()
        },
    )
    .ctx(format!("{origin}: opening"))?;
    let schema = lf
        .clone()
        .collect_schema()
        .ctx(format!("{origin}: reading the Parquet schema"))?;
    let names: Vec<String> = schema
        .iter_names()
        .filter(|n| n.as_str() != ROW)
        .map(|n| n.to_string())
        .collect();
    let m = Mapping::from_headers(&names, origin)?;
    let dtype = |i: usize| {
        schema
            .get(names[i].as_str())
            .cloned()
            .unwrap_or(DataType::String)
    };
    let typed_date = matches!(dtype(m.date), DataType::Date | DataType::Datetime(_, _));
    let typed_amount = dtype(m.amount).is_primitive_numeric();
    let plan = ParquetPlan::of(m, typed_date, typed_amount);
    let select = plan.projection(&names);
    Ok((plan, lf.select(select)))
}

impl ParquetPlan {
    /// Where each text column of the mapping sits in a batch: currency, the subscription
    /// columns, then the optional ones and the descriptors.
    fn of(m: Mapping, typed_date: bool, typed_amount: bool) -> ParquetPlan {
        let mut texts: Vec<usize> = vec![m.currency];
        texts.extend(&m.subscription);
        let mut slot = |i: Option<usize>| {
            i.map(|i| {
                texts.push(i);
                texts.len() - 1
            })
        };
        let (rid, rg, tags, category) = (
            slot(m.resource_id),
            slot(m.resource_group),
            slot(m.tags),
            slot(m.meter_category),
        );
        let first_descriptor = texts.len();
        texts.extend(&m.descriptors);
        ParquetPlan {
            m,
            typed_date,
            typed_amount,
            texts: texts.len(),
            text_columns: texts,
            rid,
            rg,
            tags,
            category,
            first_descriptor,
        }
    }

    /// The columns a batch holds: the row number, `__date`, `__amount` and `__t<k>`.
    fn projection(&self, names: &[String]) -> Vec<Expr> {
        let m = &self.m;
        let c = |i: usize| col(names[i].as_str());
        let mut select = vec![col(ROW)];
        select.push(match self.typed_date {
            true => c(m.date).cast(DataType::Date).alias("__date"),
            false => c(m.date).cast(DataType::String).alias("__date"),
        });
        select.push(match self.typed_amount {
            true => c(m.amount).cast(DataType::Float64).alias("__amount"),
            false => c(m.amount).cast(DataType::String).alias("__amount"),
        });
        for (k, &i) in self.text_columns.iter().enumerate() {
            select.push(c(i).cast(DataType::String).alias(format!("__t{k}")));
        }
        select
    }
}

/// What one fold worker of a Parquet file found.
#[derive(Default)]
struct PartScan {
    outside: u64,
    rejects: Vec<Reject>,
}

/// Read one local Parquet file into `aggs`: a polars lazy scan of the columns the mapping
/// needs, one row group at a time, folded by one thread per aggregator. Each aggregator
/// takes the rows whose resource id hashes to it, so each holds its own share of the
/// resources and the shares merge without overlap (`CostRows::merge`); the fold, bound by
/// memory latency, runs on every core. Typed dates and amounts are taken as typed; text ones
/// are parsed like CSV cells. A bad row stops the load (the first in the file is reported)
/// or, collecting rejects, is set aside.
pub fn scan_parquet(
    path: &Path,
    origin: &str,
    window: (NaiveDate, NaiveDate),
    collect_rejects: bool,
    aggs: &mut [Aggregator],
) -> Result<FileScan> {
    let (plan, lf) = plan_parquet(path, origin)?;
    let row_groups = row_group_sizes(path).ctx(format!("{origin}: reading the Parquet footer"))?;
    let batches = row_group_batches(lf, row_groups);
    let shards = aggs.len();
    let (rows, parts) = std::thread::scope(|scope| -> Result<(u64, Vec<PartScan>)> {
        let mut senders = Vec::new();
        let mut workers = Vec::new();
        for agg in aggs.iter_mut() {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
            senders.push(tx);
            let plan = &plan;
            workers.push(
                scope.spawn(move || fold_batches(plan, rx, origin, window, collect_rejects, agg)),
            );
        }
        let mut rows = 0u64;
        let mut read_error = None;
        for batch in batches {
            let owned = batch.and_then(|mut df| {
                // One chunk per column, so reading row i is a direct index.
                df.rechunk_mut();
                let owners = rows_by_shard(&plan, &df, shards)?;
                Ok((df, owners))
            });
            match owned.ctx(format!("{origin}: reading")) {
                Ok((df, owners)) => {
                    rows += df.height() as u64;
                    let df = std::sync::Arc::new(df);
                    // A worker that stopped at a bad row no longer listens.
                    for (tx, mine) in senders.iter().zip(owners) {
                        drop(tx.send((df.clone(), mine)));
                    }
                }
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        drop(senders);
        let parts: Vec<Result<PartScan>> = workers
            .into_iter()
            .map(|w| w.join().expect("a fold worker panicked"))
            .collect();
        if let Some(e) = read_error {
            return Err(e);
        }
        first_error(parts).map(|p| (rows, p))
    })?;
    let outside = parts.iter().map(|p| p.outside).sum();
    let mut rejects: Vec<Reject> = parts.into_iter().flat_map(|p| p.rejects).collect();
    rejects.sort_by_key(|r| r.record);
    Ok(FileScan {
        mapping: Some(plan.m),
        rows,
        rows_outside_window: outside,
        rejects,
    })
}

/// The workers' results, or the error of the earliest bad row among them.
fn first_error(parts: Vec<Result<PartScan>>) -> Result<Vec<PartScan>> {
    let mut ok = Vec::new();
    let mut earliest: Option<(u64, Error)> = None;
    for p in parts {
        match p {
            Ok(p) => ok.push(p),
            Err(e) => {
                let row = row_of_error(&e);
                if earliest.as_ref().is_none_or(|(r, _)| row < *r) {
                    earliest = Some((row, e));
                }
            }
        }
    }
    match earliest {
        Some((_, e)) => Err(e),
        None => Ok(ok),
    }
}

/// The row number a bad-row error names (`<file>, row N`), for picking the first.
fn row_of_error(e: &Error) -> u64 {
    match e {
        Error::Input { context, .. } => context
            .rsplit_once(", row ")
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(u64::MAX),
        _ => u64::MAX,
    }
}

/// A row group and the rows of it one worker folds.
type Batch = (std::sync::Arc<DataFrame>, Vec<u32>);

/// The rows of a batch each of `shards` aggregators owns: by the hash of the resource id
/// cell, so every row of one resource (as written) goes to the same one. Worked out once
/// per batch, so the workers do not each hash every row.
fn rows_by_shard(plan: &ParquetPlan, df: &DataFrame, shards: usize) -> PolarsResult<Vec<Vec<u32>>> {
    let n = df.height() as u32;
    let rid = match plan.rid {
        Some(k) if shards > 1 => df.column(&format!("__t{k}"))?.str()?,
        _ => {
            let mut all = vec![Vec::new(); shards];
            all[0] = (0..n).collect();
            return Ok(all);
        }
    };
    let mut owners = vec![Vec::with_capacity(n as usize / shards + 1); shards];
    for (i, id) in rid.iter().enumerate() {
        owners[shard_of(id.unwrap_or_default(), shards)].push(i as u32);
    }
    Ok(owners)
}

/// Which of `shards` aggregators owns a resource id cell.
fn shard_of(resource_id: &str, shards: usize) -> usize {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    h.write(resource_id.as_bytes());
    (h.finish() % shards as u64) as usize
}

/// One worker: fold the rows of every batch it is given.
fn fold_batches(
    plan: &ParquetPlan,
    rx: std::sync::mpsc::Receiver<Batch>,
    origin: &str,
    window: (NaiveDate, NaiveDate),
    collect_rejects: bool,
    agg: &mut Aggregator,
) -> Result<PartScan> {
    let mut repeats = Repeats::new();
    let mut last_typed_day = (i32::MIN, EPOCH);
    let mut part = PartScan::default();
    for (df, mine) in rx {
        let b = BatchColumns::of(plan, &df, origin)?;
        for i in mine {
            let i = i as usize;
            match parquet_row(plan, &b, i, &mut repeats, &mut last_typed_day) {
                Ok(row) if row.day < window.0 || row.day >= window.1 => part.outside += 1,
                Ok(row) => agg.add(&row),
                Err(reject) => {
                    if !collect_rejects {
                        return Err(Error::input(
                            format!("{origin}, row {}", reject.line),
                            format!("{}; the row: {}", reject.reason, reject.raw),
                        ));
                    }
                    part.rejects.push(Reject {
                        file: origin.to_string(),
                        ..reject
                    });
                }
            }
        }
    }
    Ok(part)
}

/// A batch's columns, typed once.
struct BatchColumns<'a> {
    row_no: IdxCa,
    date: &'a Column,
    amount: &'a Column,
    date_days: Option<Int32Chunked>,
    date_text: Option<&'a StringChunked>,
    amount_f: Option<&'a Float64Chunked>,
    amount_text: Option<&'a StringChunked>,
    /// The text columns' single arrays (the batch is rechunked), read by index, and the
    /// column itself where it holds nulls.
    texts: Vec<(&'a TextArray, Option<&'a StringChunked>)>,
    /// Whether any text cell of the batch is over the per-cell limit (rows are checked
    /// one by one only then).
    oversized: bool,
}

type TextArray = <StringType as PolarsDataType>::Array;

/// The single array of a rechunked text column (an empty one for an empty batch).
fn single_array(ca: &StringChunked) -> PolarsResult<&TextArray> {
    match ca.downcast_iter().collect::<Vec<_>>().as_slice() {
        [one] => Ok(*one),
        _ => Err(
            polars::prelude::polars_err!(ComputeError: "a text column of {} chunks", ca.chunks().len()),
        ),
    }
}

impl<'a> BatchColumns<'a> {
    fn of(plan: &ParquetPlan, df: &'a DataFrame, origin: &str) -> Result<BatchColumns<'a>> {
        let row_no = df.column(ROW).ctx(origin)?.cast(&IDX_DTYPE).ctx(origin)?;
        let row_no = row_no.idx().ctx(origin)?.clone();
        let date = df.column("__date").ctx(origin)?;
        let amount = df.column("__amount").ctx(origin)?;
        let texts: Vec<_> = (0..plan.texts)
            .map(|k| {
                let ca = df.column(&format!("__t{k}"))?.str()?;
                Ok((single_array(ca)?, (ca.null_count() > 0).then_some(ca)))
            })
            .collect::<PolarsResult<_>>()
            .ctx(origin)?;
        let oversized = texts
            .iter()
            .any(|(a, _)| a.len_iter().any(|n| n as usize > limits::CELL_BYTES));
        // Exactly one of each pair is Some: typed or text.
        let date_days = plan
            .typed_date
            .then(|| date.date().map(|d| d.physical().clone()))
            .transpose()
            .ctx(origin)?;
        let date_text = (!plan.typed_date)
            .then(|| date.str())
            .transpose()
            .ctx(origin)?;
        let amount_f = plan
            .typed_amount
            .then(|| amount.f64())
            .transpose()
            .ctx(origin)?;
        let amount_text = (!plan.typed_amount)
            .then(|| amount.str())
            .transpose()
            .ctx(origin)?;
        Ok(BatchColumns {
            row_no,
            date,
            amount,
            date_days,
            date_text,
            amount_f,
            amount_text,
            texts,
            oversized,
        })
    }

    /// Text cell `i` of column `k`; a null reads as empty.
    fn text(&self, k: usize, i: usize) -> &'a str {
        match self.texts[k] {
            (a, None) => a.value(i),
            (_, Some(nullable)) => nullable.get(i).unwrap_or_default(),
        }
    }
}

/// Check one Parquet row and read it as a `RowRef`, or say why it is bad.
fn parquet_row<'a>(
    plan: &ParquetPlan,
    b: &BatchColumns<'a>,
    i: usize,
    repeats: &mut Repeats,
    last_typed_day: &mut (i32, NaiveDate),
) -> std::result::Result<RowRef<'a>, Reject> {
    let m = &plan.m;
    let day = match (&b.date_days, &b.date_text) {
        (Some(d), _) => d.get(i).map(|v| {
            if last_typed_day.0 != v {
                *last_typed_day = (v, EPOCH + chrono::Duration::days(v as i64));
            }
            last_typed_day.1
        }),
        (_, Some(s)) => s.get(i).and_then(|v| repeats.date(v)),
        _ => None,
    };
    let nanos = match (&b.amount_f, &b.amount_text) {
        (Some(a), _) => a.get(i).filter(|v| v.is_finite()).and_then(nanos_of),
        (_, Some(s)) => s.get(i).and_then(parse_nanos),
        _ => None,
    };
    let oversized = || (0..plan.texts).find(|&k| b.text(k, i).len() > limits::CELL_BYTES);
    if let Some(k) = b.oversized.then(oversized).flatten() {
        let column = plan.text_columns[k];
        let mut reject = parquet_reject(plan, b, i, column, "", "");
        reject.reason = format!(
            "column {}: a cell longer than {} bytes (the per-cell limit)",
            m.name(column),
            limits::CELL_BYTES
        );
        return Err(reject);
    }
    let currency = b.text(0, i).trim();
    let problem = if day.is_none() {
        Some((m.date, EXPECT_DATE))
    } else if nanos.is_none() {
        Some((m.amount, EXPECT_AMOUNT))
    } else if !repeats.iso_currency(currency) {
        Some((m.currency, EXPECT_CURRENCY))
    } else {
        None
    };
    if let Some((column, expected)) = problem {
        return Err(parquet_reject(plan, b, i, column, expected, currency));
    }
    let subscription = (1..=m.subscription.len())
        .map(|k| b.text(k, i).trim())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    let defender = plan.category.map(|k| b.text(k, i)).is_some_and(|category| {
        repeats.maybe_defender(category) && {
            let descriptors: Vec<_> = (plan.first_descriptor..plan.texts)
                .map(|k| Some(b.text(k, i)))
                .collect();
            is_defender_containers(Some(category), &descriptors)
        }
    });
    Ok(RowRef {
        day: day.expect("checked"),
        nanos: nanos.expect("checked"),
        currency,
        subscription,
        resource_id: plan.rid.map(|k| b.text(k, i)).unwrap_or_default(),
        resource_group: plan.rg.map(|k| b.text(k, i)).unwrap_or_default(),
        tags: plan.tags.map(|k| b.text(k, i)).unwrap_or_default(),
        defender,
    })
}

/// The reject of a bad Parquet row: its date, amount and currency cells as read.
fn parquet_reject(
    plan: &ParquetPlan,
    b: &BatchColumns,
    i: usize,
    column: usize,
    expected: &str,
    currency: &str,
) -> Reject {
    let m = &plan.m;
    let raw = |c: &Column| {
        c.get(i)
            .ok()
            .filter(|v| !v.is_null())
            .map(|v| v.str_value().to_string())
            .unwrap_or_else(|| "null".into())
    };
    let (date_raw, amount_raw) = (raw(b.date), raw(b.amount));
    let value = if column == m.date {
        date_raw.clone()
    } else if column == m.amount {
        amount_raw.clone()
    } else {
        currency.to_string()
    };
    let value: String = value.chars().take(80).collect();
    let currency: String = currency.chars().take(80).collect();
    let line = b.row_no.get(i).unwrap_or(0) as u64;
    Reject {
        file: String::new(),
        line: line + 1,
        record: line,
        reason: format!("column {}: '{value}' is not {expected}", m.name(column)),
        raw: format!(
            "{}={date_raw}, {}={amount_raw}, {}={currency}",
            m.name(m.date),
            m.name(m.amount),
            m.name(m.currency)
        ),
    }
}

use crate::frame::EPOCH;

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
