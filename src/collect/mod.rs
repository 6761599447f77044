//! Sources of Resource Graph data. A source answers "the rows of dataset D for day X"; live
//! collection queries Azure for today, replay reads recorded response bodies. Both validate
//! every page through `model::rows_to_frame`.

pub mod cost_exports;
pub mod replay;

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
    let mut frames = Vec::with_capacity(pages.len());
    let mut offset = 0usize;
    let total = pages.first().map(|p| p.total_records).unwrap_or(0);
    for (i, page) in pages.iter().enumerate() {
        let origin = origin_of(i + 1);
        if page.result_truncated {
            return Err(Error::input(
                &origin,
                format!(
                    "resultTruncated is \"true\": Resource Graph returned {} of {} rows and no \
                     $skipToken (the query uses limit/take/sample, or every column is dynamic); \
                     refusing an incomplete population",
                    page.count, page.total_records
                ),
            ));
        }
        let last = i + 1 == pages.len();
        if !last && page.skip_token.is_none() {
            return Err(Error::input(
                &origin,
                "page without $skipToken followed by more pages",
            ));
        }
        if last && page.skip_token.is_some() {
            return Err(Error::input(
                &origin,
                "last page still has a $skipToken: pages are missing",
            ));
        }
        frames.push(rows_to_frame(contract, &page.rows, &origin, offset)?);
        offset += page.rows.len();
    }
    if offset as i64 != total {
        return Err(Error::input(
            origin_of(pages.len().max(1)),
            format!("received {offset} rows but totalRecords says {total}"),
        ));
    }
    let frame = match frames.len() {
        0 => contract.empty_frame(),
        1 => frames.pop().unwrap(),
        _ => {
            let mut acc = frames.remove(0);
            for f in &frames {
                acc.vstack_mut(f)
                    .ctx(format!("stacking pages of {}", contract.dataset))?;
            }
            acc.rechunk_mut();
            acc
        }
    };
    Ok((frame, total))
}
