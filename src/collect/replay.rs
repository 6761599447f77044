//! Replay of recorded Resource Graph responses in the sample-data layout:
//! `<dir>/resource-graph/YYYY-MM-DD/<dataset>.json`, each file a JSON array of response page
//! bodies exactly as the REST API returned them.

use super::{Collected, Source, pages_to_frame};
use crate::error::{Error, Result};
use crate::model::Contract;
use crate::model::page::{Page, page_from_value};
use crate::store::{Store, StoreOptions};
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::BTreeSet;

pub struct Replay {
    store: Store,
}

impl Replay {
    /// A replay folder or blob prefix, reached with default store options.
    pub fn open(dir: &str) -> Result<Replay> {
        Replay::open_with(dir, &StoreOptions::default())
    }

    /// With the configured credential and retries (a replay kept in a private container).
    pub fn open_with(dir: &str, options: &StoreOptions) -> Result<Replay> {
        let store = Store::open_with(dir, false, options)
            .map_err(|e| Error::config(format!("replay source {dir}: {e}")))?;
        Ok(Replay { store })
    }

    fn file(date: NaiveDate, dataset: &str) -> String {
        format!("resource-graph/{date}/{dataset}.json")
    }
}

impl Source for Replay {
    fn describe(&self) -> String {
        format!("replay of {}", self.store.display())
    }

    fn days(&self) -> Result<Option<Vec<NaiveDate>>> {
        let mut days = BTreeSet::new();
        for e in self.store.list("resource-graph")? {
            let mut parts = e.path.split('/');
            if let (Some(_), Some(day)) = (parts.next(), parts.next())
                && let Ok(d) = NaiveDate::parse_from_str(day, "%Y-%m-%d")
            {
                days.insert(d);
            }
        }
        Ok(Some(days.into_iter().collect()))
    }

    fn collect(&self, contract: &Contract, date: NaiveDate) -> Result<Option<Collected>> {
        let rel = Self::file(date, contract.dataset);
        let Some(bytes) = self.store.get_opt(&rel)? else {
            return Ok(None);
        };
        let shown = format!("{}/{rel}", self.store.display());
        let bodies: Vec<Value> = serde_json::from_slice(&bytes).map_err(|e| {
            Error::input(&shown, format!("not a JSON array of response pages: {e}"))
        })?;
        let pages: Vec<Page> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                page_from_value(v).map_err(|e| Error::input(format!("{shown} page {}", i + 1), e))
            })
            .collect::<Result<_>>()?;
        if pages.is_empty() {
            return Err(Error::input(&shown, "no response pages"));
        }
        let (frame, total) = pages_to_frame(contract, &pages, &|i| format!("{shown} page {i}"))?;
        Ok(Some(Collected {
            frame,
            total_records: total,
            pages: pages.len(),
            origin: rel,
            query_sha256: None,
        }))
    }
}
