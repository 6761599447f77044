//! Replay of recorded Resource Graph responses in the sample-data layout:
//! `<dir>/resource-graph/YYYY-MM-DD/<dataset>.json`, each file a JSON array of response page
//! bodies exactly as the REST API returned them, read and validated one page at a time.

use super::{Collected, PageChain, Source, StagedFile, StagedRows};
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
        let Some(reader) = self.store.open_read_opt(&rel)? else {
            return Ok(None);
        };
        let shown = format!("{}/{rel}", self.store.display());
        let (rows, total, pages) = stage_page_stream(contract, reader, &shown)?;
        Ok(Some(Collected {
            rows,
            total_records: total,
            pages,
            origin: rel,
            query_sha256: None,
        }))
    }
}

/// Validate and stage the pages of a recording as they are read: the file is a JSON array of
/// response pages, parsed one page at a time. A page is pushed once the next one (or the end
/// of the array) is seen, since only then is it known whether it is the last.
fn stage_page_stream(
    contract: &Contract,
    reader: Box<dyn std::io::Read + Send>,
    shown: &str,
) -> Result<(StagedFile, i64, usize)> {
    let mut staged = StagedRows::new(contract)?;
    let mut chain = PageChain::new(contract);
    let mut held: Option<Page> = None;
    let mut failure: Option<Error> = None;
    let mut on_page = |i: usize, body: Value| -> Result<()> {
        let page = page_from_value(body)
            .map_err(|e| Error::input_err(format!("{shown} page {}", i + 1), e))?;
        if let Some(previous) = held.replace(page) {
            staged.push(chain.push(&previous, &format!("{shown} page {i}"), false)?)?;
        }
        Ok(())
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = serde::Deserializer::deserialize_seq(
        &mut de,
        PageVisitor {
            on_page: &mut on_page,
            failure: &mut failure,
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    let n = parsed
        .and_then(|n| de.end().map(|_| n))
        .map_err(|e| Error::input(shown, format!("not a JSON array of response pages: {e}")))?;
    let Some(last) = held else {
        return Err(Error::input(shown, "no response pages"));
    };
    let origin = format!("{shown} page {n}");
    staged.push(chain.push(&last, &origin, true)?)?;
    let pages = chain.pages();
    let total = chain.finish(&origin)?;
    Ok((staged.finish()?, total, pages))
}

/// Visits a JSON array element by element, handing each page body to `on_page`. An error of
/// ours stops the parse and is kept in `failure` (serde errors carry only text).
struct PageVisitor<'f> {
    on_page: &'f mut dyn FnMut(usize, Value) -> Result<()>,
    failure: &'f mut Option<Error>,
}

impl<'de> serde::de::Visitor<'de> for PageVisitor<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of Resource Graph response pages")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(body) = seq.next_element::<Value>()? {
            if let Err(e) = (self.on_page)(n, body) {
                *self.failure = Some(e);
                return Err(serde::de::Error::custom("stopped at an invalid page"));
            }
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::contract;
    use serde_json::json;

    fn page(rows: &[Value], total: usize, token: Option<&str>) -> Value {
        let mut p = json!({"totalRecords": total, "count": rows.len(), "data": rows,
                           "facets": [], "resultTruncated": "false"});
        if let Some(t) = token {
            p["$skipToken"] = json!(t);
        }
        p
    }

    fn sub(id: &str) -> Value {
        json!({"subscriptionId": id, "subscriptionName": id, "tenantId": "t", "state": "Enabled",
               "managementGroups": [], "tags": null})
    }

    /// A replay folder holding `body` as the subscriptions of 2026-09-01.
    fn replay_with(body: &str) -> (tempfile::TempDir, Replay) {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("resource-graph/2026-09-01");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("subscriptions.json"), body).unwrap();
        let replay = Replay::open(dir.path().to_str().unwrap()).unwrap();
        (dir, replay)
    }

    fn collect(replay: &Replay, dataset: &str) -> Result<Option<Collected>> {
        let day = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        replay.collect(contract(dataset).unwrap(), day)
    }

    #[test]
    fn pages_are_read_one_by_one_into_one_staged_file() {
        let body = json!([
            page(&[sub("a"), sub("b")], 3, Some("t1")),
            page(&[sub("c")], 3, None)
        ]);
        let (_d, replay) = replay_with(&body.to_string());
        let c = collect(&replay, "subscriptions").unwrap().unwrap();
        assert_eq!((c.height(), c.total_records, c.pages), (3, 3, 2));
        assert_eq!(c.rows.read().unwrap().height(), 3);
        assert!(collect(&replay, "aks_clusters").unwrap().is_none());
    }

    #[test]
    fn a_bad_recording_names_the_file_and_page() {
        let bad_row = json!([
            page(&[sub("a")], 2, Some("t")),
            page(&[json!({"subscriptionId": 5})], 2, None)
        ]);
        let cases = [
            (bad_row.to_string(), "subscriptions.json page 2"),
            (
                format!("{} trailing", json!([page(&[sub("a")], 1, None)])),
                "not a JSON array",
            ),
            ("[]".to_string(), "no response pages"),
            ("{\"totalRecords\": 1}".to_string(), "not a JSON array"),
            (
                json!([page(&[sub("a")], 2, None)]).to_string(),
                "totalRecords says 2",
            ),
            (
                json!([page(&[sub("a")], 2, Some("t"))]).to_string(),
                "still has a $skipToken",
            ),
        ];
        for (body, expected) in cases {
            let (_d, replay) = replay_with(&body);
            let err = collect(&replay, "subscriptions").unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
            assert!(
                err.contains("resource-graph/2026-09-01/subscriptions.json"),
                "{err}"
            );
        }
    }
}
