//! Export runs, found by their manifests (`manifest.json`, legacy `_manifest.json`), never by
//! parsing data-file paths: Microsoft's own documentation disagrees on the folder order.

use crate::error::{Error, Result};
use crate::store::Entry;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use std::collections::HashSet;

/// One file a manifest lists.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestBlob {
    /// Path relative to the store root, resolved from the container-relative `blobName`.
    pub path: String,
    pub byte_count: Option<u64>,
    pub row_count: Option<u64>,
}

/// One export run, as its manifest describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub manifest_path: String,
    pub legacy_manifest: bool,
    pub export_name: String,
    pub run_id: String,
    pub submitted_time: Option<DateTime<Utc>>,
    pub submitted_time_text: String,
    /// `runInfo.startDate` / `endDate` as dates (both inclusive).
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The `yyyyMMdd-yyyyMMdd` folder the run belongs to (runs of one folder replace each
    /// other), or the run's own range when the path has no such folder.
    pub range_folder: String,
    /// The days the range folder covers, `[start, end]`.
    pub range: (NaiveDate, NaiveDate),
    pub data_version: Option<String>,
    pub export_type: Option<String>,
    pub blobs: Vec<ManifestBlob>,
}

pub fn is_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "manifest.json" || name == "_manifest.json"
}

/// `2024-01-01T00:00:00`, `2024-01-31T00:00:00Z`, `...+00:00`, `2024-01-31`: the date part.
fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc).date_naive());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(dt.date());
    }
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// `20240101-20240131` → the two dates.
fn parse_range_folder(seg: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (a, b) = seg.split_once('-')?;
    if a.len() != 8 || b.len() != 8 {
        return None;
    }
    Some((
        NaiveDate::parse_from_str(a, "%Y%m%d").ok()?,
        NaiveDate::parse_from_str(b, "%Y%m%d").ok()?,
    ))
}

/// Resolve a container-relative `blobName` against the objects the store lists: exact, else
/// the listed path it ends with (the store is rooted below the container), else the file of
/// that name beside the manifest.
fn resolve_blob(blob_name: &str, manifest_dir: &str, listed: &HashSet<&str>) -> String {
    let b = blob_name.trim_start_matches('/');
    if listed.contains(b) {
        return b.to_string();
    }
    // The longest listed path the name ends with: try the suffixes after each '/', longest
    // first.
    if let Some(suffix) = b
        .match_indices('/')
        .map(|(i, _)| &b[i + 1..])
        .find(|s| listed.contains(s))
    {
        return suffix.to_string();
    }
    let file = b.rsplit('/').next().unwrap_or(b);
    if manifest_dir.is_empty() {
        file.to_string()
    } else {
        format!("{manifest_dir}/{file}")
    }
}

/// Parse one manifest at `path` (relative to the store root; `shown` names it in messages).
/// `listed` is every object under the store root (to resolve blob names).
pub fn parse(path: &str, shown: &str, bytes: &[u8], listed: &[Entry]) -> Result<Run> {
    let bad = |m: String| Error::input(shown, m);
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("manifest is not valid JSON: {e}")))?;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let folders = Folders::of(path);
    let export_name = s("/exportConfig/exportName")
        .or_else(|| folders.export_name())
        .ok_or_else(|| bad("manifest has no exportConfig.exportName".into()))?;
    let (start_date, end_date) = run_dates(&v, folders.range).map_err(bad)?;
    let submitted_time_text = s("/runInfo/submittedTime").unwrap_or_default();
    let blobs = blobs_of(&v, folders.dir, listed).map_err(bad)?;
    let (range_folder, range) = match (folders.range_folder, folders.range) {
        (Some(f), Some(r)) => (f.to_string(), r),
        _ => (
            format!(
                "{}-{}",
                start_date.format("%Y%m%d"),
                end_date.format("%Y%m%d")
            ),
            (start_date, end_date),
        ),
    };
    Ok(Run {
        manifest_path: path.to_string(),
        legacy_manifest: path.ends_with("_manifest.json"),
        export_name,
        run_id: s("/runInfo/runId")
            .or_else(|| folders.run_id())
            .unwrap_or_default(),
        submitted_time: parse_time(&submitted_time_text),
        submitted_time_text,
        start_date,
        end_date,
        range_folder,
        range,
        data_version: s("/exportConfig/dataVersion"),
        export_type: s("/exportConfig/type"),
        blobs,
    })
}

/// What a manifest's path says: its folder, and the `yyyyMMdd-yyyyMMdd` range folder in it
/// (the export's name is the folder above that).
struct Folders<'a> {
    dir: &'a str,
    segments: Vec<&'a str>,
    /// Index of the range folder in `segments`.
    range_at: Option<usize>,
    range_folder: Option<&'a str>,
    range: Option<(NaiveDate, NaiveDate)>,
}

impl<'a> Folders<'a> {
    fn of(path: &'a str) -> Folders<'a> {
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let segments: Vec<&str> = dir.split('/').collect();
        let range_at = segments
            .iter()
            .rposition(|seg| parse_range_folder(seg).is_some());
        let range_folder = range_at.map(|i| segments[i]);
        Folders {
            dir,
            range_at,
            range_folder,
            range: range_folder.and_then(parse_range_folder),
            segments,
        }
    }

    fn export_name(&self) -> Option<String> {
        self.range_at
            .and_then(|i| i.checked_sub(1))
            .map(|i| self.segments[i].to_string())
    }

    /// The last folder, when it has the length of a run id (a GUID).
    fn run_id(&self) -> Option<String> {
        self.segments
            .last()
            .filter(|seg| seg.len() == 36)
            .map(|seg| seg.to_string())
    }
}

/// `runInfo.startDate` and `endDate` (else the range folder's), in order.
fn run_dates(
    v: &Value,
    folder_range: Option<(NaiveDate, NaiveDate)>,
) -> std::result::Result<(NaiveDate, NaiveDate), String> {
    let day = |p: &str| v.pointer(p).and_then(Value::as_str).and_then(parse_day);
    let start = day("/runInfo/startDate")
        .or(folder_range.map(|r| r.0))
        .ok_or("runInfo.startDate missing or not a date")?;
    let end = day("/runInfo/endDate")
        .or(folder_range.map(|r| r.1))
        .ok_or("runInfo.endDate missing or not a date")?;
    if end < start {
        return Err(format!("runInfo.endDate {end} is before startDate {start}"));
    }
    Ok((start, end))
}

/// The files of `blobs[]`, resolved against the listed objects.
fn blobs_of(
    v: &Value,
    dir: &str,
    listed: &[Entry],
) -> std::result::Result<Vec<ManifestBlob>, String> {
    let listed: HashSet<&str> = listed.iter().map(|e| e.path.as_str()).collect();
    v.get("blobs")
        .and_then(Value::as_array)
        .ok_or("manifest has no blobs[] list")?
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let name = b
                .get("blobName")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("blobs[{i}] has no blobName"))?;
            Ok(ManifestBlob {
                path: resolve_blob(name, dir, &listed),
                byte_count: b.get("byteCount").and_then(Value::as_u64),
                row_count: b.get("dataRowCount").and_then(Value::as_u64),
            })
        })
        .collect()
}

/// Per (export, range folder) the newest run by `submittedTime` (ties: the larger run id, so
/// the choice never depends on listing order). Returns the winners and the runs they replace.
pub fn newest_per_folder(runs: Vec<Run>) -> (Vec<Run>, Vec<Run>) {
    let mut groups: std::collections::BTreeMap<(String, String), Vec<Run>> = Default::default();
    for r in runs {
        groups
            .entry((r.export_name.to_lowercase(), r.range_folder.clone()))
            .or_default()
            .push(r);
    }
    let mut winners = Vec::new();
    let mut replaced = Vec::new();
    for (_, mut rs) in groups {
        rs.sort_by(|a, b| {
            (a.submitted_time, &a.run_id, &a.manifest_path).cmp(&(
                b.submitted_time,
                &b.run_id,
                &b.manifest_path,
            ))
        });
        winners.push(rs.pop().expect("non-empty group"));
        replaced.extend(rs);
    }
    (winners, replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(p: &str) -> Entry {
        Entry {
            path: p.into(),
            size: 1,
        }
    }

    #[test]
    fn manifest_fields_and_blob_resolution() {
        let m = br#"{"exportConfig":{"exportName":"focus-daily","dataVersion":"1.0r2","type":"FocusCost"},
          "runInfo":{"submittedTime":"2026-09-20T06:12:44.1234567Z","runId":"0c2d8f7e-5d1b-4bbf-9a52-7e1f1a7c7b10",
                     "startDate":"2026-09-01T00:00:00","endDate":"2026-09-19T00:00:00Z"},
          "blobs":[{"blobName":"exports/focus-daily/20260901-20260930/202609200612/0c2d/part_0_0001.csv.gz","byteCount":10,"dataRowCount":3}]}"#;
        let listed = [entry(
            "focus-daily/20260901-20260930/202609200612/0c2d/part_0_0001.csv.gz",
        )];
        let p = "focus-daily/20260901-20260930/202609200612/0c2d/manifest.json";
        let r = parse(p, p, m, &listed).unwrap();
        assert_eq!(r.export_name, "focus-daily");
        assert_eq!(r.start_date.to_string(), "2026-09-01");
        assert_eq!(r.end_date.to_string(), "2026-09-19");
        assert_eq!(r.range_folder, "20260901-20260930");
        assert_eq!(r.range.1.to_string(), "2026-09-30");
        assert_eq!(r.blobs[0].path, listed[0].path);
        assert_eq!(r.blobs[0].row_count, Some(3));
        assert!(!r.legacy_manifest);
        assert_eq!(
            r.submitted_time.unwrap().to_rfc3339(),
            "2026-09-20T06:12:44.123456700+00:00"
        );
    }

    #[test]
    fn newest_submitted_run_wins() {
        let mk = |t: &str, id: &str| {
            let m = format!(
                r#"{{"exportConfig":{{"exportName":"e"}},"runInfo":{{"submittedTime":"{t}","runId":"{id}","startDate":"2026-09-01T00:00:00","endDate":"2026-09-30T00:00:00"}},"blobs":[]}}"#
            );
            let p = format!("e/20260901-20260930/{id}/manifest.json");
            parse(&p, &p, m.as_bytes(), &[]).unwrap()
        };
        let (w, r) = newest_per_folder(vec![
            mk("2026-10-02T06:00:00Z", "b"),
            mk("2026-10-03T06:00:00.5Z", "a"),
            mk("2026-10-01T06:00:00Z", "c"),
        ]);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].run_id, "a");
        assert_eq!(r.len(), 2);
    }
}
