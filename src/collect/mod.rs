//! Sources of Resource Graph data. A source answers "the rows of dataset D for day X"; live
//! collection queries Azure for today, replay reads recorded response bodies. Both validate
//! every page through `model::rows_to_frame` and stage the rows in a temporary Parquet file
//! page by page, so a large day is never whole in memory.

pub mod auth;
pub mod cost_exports;
pub mod progress;
pub mod replay;
pub mod resource_graph;
pub mod throttle;

use crate::error::{Error, PolarsContext, Result};
use crate::model::page::Page;
use crate::model::{Contract, rows_to_frame};
use crate::parquet::{ParquetSink, WrittenFile};
use chrono::NaiveDate;
use polars::prelude::*;

/// One dataset for one day, validated and staged in a temporary Parquet file (deleted when
/// this is dropped), ready to be copied into history.
#[derive(Debug)]
pub struct Collected {
    pub rows: StagedFile,
    pub total_records: i64,
    pub pages: usize,
    pub origin: String,
    pub query_sha256: Option<String>,
}

impl Collected {
    /// Rows validated.
    pub fn height(&self) -> usize {
        self.rows.written.rows
    }
}

pub trait Source {
    /// Human description without secrets ("replay of sample-data", "Azure Resource Graph").
    fn describe(&self) -> String;
    /// Days the source can answer for, if it is a recording; None for a live source.
    fn days(&self) -> Result<Option<Vec<NaiveDate>>>;
    /// The rows of `contract.dataset` on `date`, or None when the source has no data that day.
    fn collect(&self, contract: &Contract, date: NaiveDate) -> Result<Option<Collected>>;
}

/// Validated rows on their way to history: each page's frame is appended to a temporary
/// Parquet file as it arrives, so a day of 200,000 rows never sits whole in memory (at most
/// one row group of frames does). The file's bytes are exactly what history stores.
pub struct StagedRows {
    path: tempfile::TempPath,
    sink: ParquetSink,
}

/// A finished `StagedRows`: the temporary file (deleted on drop) and what was written.
#[derive(Debug)]
pub struct StagedFile {
    path: tempfile::TempPath,
    pub written: WrittenFile,
}

impl StagedRows {
    pub fn new(contract: &Contract) -> Result<StagedRows> {
        let path = tempfile::Builder::new()
            .prefix(&format!("defender-ledger-{}-", contract.dataset))
            .suffix(".parquet")
            .tempfile()
            .map_err(|e| Error::publish_err("a temporary file for collected rows", e))?
            .into_temp_path();
        let sink = ParquetSink::create(&path, &contract.schema())?;
        Ok(StagedRows { path, sink })
    }

    pub fn push(&mut self, frame: DataFrame) -> Result<()> {
        self.sink.push(frame)
    }

    pub fn finish(self) -> Result<StagedFile> {
        let written = self.sink.finish()?;
        Ok(StagedFile {
            path: self.path,
            written,
        })
    }
}

impl StagedFile {
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The rows read back (tests, small datasets).
    pub fn read(&self) -> Result<DataFrame> {
        let file = std::fs::File::open(&self.path)
            .map_err(|e| Error::input_err(self.path.display(), e))?;
        ParquetReader::new(file)
            .finish()
            .ctx(format!("reading {}", self.path.display()))
    }
}

/// Validate a sequence of pages and stage their rows, checking the page chain is complete:
/// no truncated page, a `$skipToken` on every page but the last, and rows = `totalRecords`.
/// `origin_of(i)` names page `i` (1-based) for error messages.
pub fn stage_pages(
    contract: &Contract,
    pages: &[Page],
    origin_of: &dyn Fn(usize) -> String,
) -> Result<(StagedFile, i64)> {
    let mut staged = StagedRows::new(contract)?;
    let mut chain = PageChain::new(contract);
    for (i, page) in pages.iter().enumerate() {
        staged.push(chain.push(page, &origin_of(i + 1), i + 1 == pages.len())?)?;
    }
    let total = chain.finish(&origin_of(pages.len().max(1)))?;
    Ok((staged.finish()?, total))
}

/// The checks of [`stage_pages`], one page at a time, so a source can validate and convert
/// each page as it arrives instead of holding every raw page in memory.
pub struct PageChain<'a> {
    contract: &'a Contract,
    rows: usize,
    total: Option<i64>,
    pages: usize,
}

impl<'a> PageChain<'a> {
    pub fn new(contract: &'a Contract) -> PageChain<'a> {
        PageChain {
            contract,
            rows: 0,
            total: None,
            pages: 0,
        }
    }

    /// Validate `page` (named `origin` in errors; `last` says whether the chain ends here) and
    /// return its rows as a frame of the contract.
    pub fn push(&mut self, page: &Page, origin: &str, last: bool) -> Result<DataFrame> {
        if page.result_truncated {
            return Err(Error::input(
                origin,
                format!(
                    "resultTruncated is \"true\": Resource Graph returned {} of {} rows and no \
                     $skipToken (the query uses limit/take/sample, or every column is dynamic); \
                     refusing an incomplete population",
                    page.count, page.total_records
                ),
            ));
        }
        if !last && page.skip_token.is_none() {
            return Err(Error::input(
                origin,
                "page without $skipToken followed by more pages",
            ));
        }
        if last && page.skip_token.is_some() {
            return Err(Error::input(
                origin,
                "last page still has a $skipToken: pages are missing",
            ));
        }
        self.total.get_or_insert(page.total_records);
        let frame = rows_to_frame(self.contract, &page.rows, origin, self.rows)?;
        self.rows += page.rows.len();
        self.pages += 1;
        Ok(frame)
    }

    /// Rows validated so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Pages validated so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// `totalRecords`, after checking every reported row arrived.
    pub fn finish(self, origin: &str) -> Result<i64> {
        let total = self.total.unwrap_or(0);
        if self.rows as i64 != total {
            return Err(Error::input(
                origin,
                format!("received {} rows but totalRecords says {total}", self.rows),
            ));
        }
        Ok(total)
    }
}
