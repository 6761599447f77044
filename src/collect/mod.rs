//! Sources of Resource Graph data. A source answers "the rows of dataset D for day X"; live
//! collection queries Azure for today, replay reads recorded response bodies. Both validate
//! every page through `model::rows_to_frame`.

pub mod auth;
pub mod cost_exports;
pub mod progress;
pub mod replay;
pub mod resource_graph;
pub mod throttle;

use crate::error::{Error, PolarsContext, Result};
use crate::model::page::Page;
use crate::model::{Contract, rows_to_frame};
use chrono::NaiveDate;
use polars::prelude::*;

/// One dataset for one day, validated.
#[derive(Debug, Clone)]
pub struct Collected {
    pub frame: DataFrame,
    pub total_records: i64,
    pub pages: usize,
    pub origin: String,
    pub query_sha256: Option<String>,
}

pub trait Source {
    /// Human description without secrets ("replay of sample-data", "Azure Resource Graph").
    fn describe(&self) -> String;
    /// Days the source can answer for, if it is a recording; None for a live source.
    fn days(&self) -> Result<Option<Vec<NaiveDate>>>;
    /// The rows of `contract.dataset` on `date`, or None when the source has no data that day.
    fn collect(&self, contract: &Contract, date: NaiveDate) -> Result<Option<Collected>>;
}

/// Turn a sequence of pages into one validated frame, checking the page chain is complete:
/// no truncated page, a `$skipToken` on every page but the last, and rows = `totalRecords`.
/// `origin_of(i)` names page `i` (1-based) for error messages.
pub fn pages_to_frame(
    contract: &Contract,
    pages: &[Page],
    origin_of: &dyn Fn(usize) -> String,
) -> Result<(DataFrame, i64)> {
    let mut chain = PageChain::new(contract);
    for (i, page) in pages.iter().enumerate() {
        chain.push(page, &origin_of(i + 1), i + 1 == pages.len())?;
    }
    chain.finish(&origin_of(pages.len().max(1)))
}

/// The checks of [`pages_to_frame`], one page at a time, so a live source can validate and
/// convert each page as it arrives instead of holding every raw page in memory.
pub struct PageChain<'a> {
    contract: &'a Contract,
    frames: Vec<DataFrame>,
    rows: usize,
    total: Option<i64>,
    pages: usize,
}

impl<'a> PageChain<'a> {
    pub fn new(contract: &'a Contract) -> PageChain<'a> {
        PageChain {
            contract,
            frames: Vec::new(),
            rows: 0,
            total: None,
            pages: 0,
        }
    }

    /// Validate `page` (named `origin` in errors); `last` says whether the chain ends here.
    pub fn push(&mut self, page: &Page, origin: &str, last: bool) -> Result<()> {
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
        self.frames
            .push(rows_to_frame(self.contract, &page.rows, origin, self.rows)?);
        self.rows += page.rows.len();
        self.pages += 1;
        Ok(())
    }

    /// Rows validated so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Pages validated so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The stacked frame and `totalRecords`, after checking every reported row arrived.
    pub fn finish(mut self, origin: &str) -> Result<(DataFrame, i64)> {
        let total = self.total.unwrap_or(0);
        if self.rows as i64 != total {
            return Err(Error::input(
                origin,
                format!("received {} rows but totalRecords says {total}", self.rows),
            ));
        }
        let contract = self.contract;
        let frame = match self.frames.len() {
            0 => contract.empty_frame(),
            1 => self.frames.pop().unwrap(),
            _ => {
                let mut acc = self.frames.remove(0);
                for f in &self.frames {
                    acc.vstack_mut(f)
                        .ctx(format!("stacking pages of {}", contract.dataset))?;
                }
                acc.rechunk_mut();
                acc
            }
        };
        Ok((frame, total))
    }
}
