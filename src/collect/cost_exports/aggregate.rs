//! The cost aggregate: export rows reduced, as they stream past, to exactly what showback and
//! the anomaly detector read, so memory grows with the number of resources, never with rows.
//!
//! Four tables, all in integer nano-units of the billing currency:
//! - `monthly`: non-Defender cost per calendar month and resource (showback);
//! - `defender_daily`: Defender for Containers cost per day and resource (the vCore split is
//!   per day);
//! - `cluster_daily`: cost per day of resources whose id is an AKS or Arc cluster;
//! - `group_daily`: cost per day, subscription and resource group, every row (a cluster's node
//!   resource group, for anomalies; subscription-days per export, for double-count warnings).
//!
//! Resources are interned: a row is matched to its resource by the raw cells as written
//! (consecutive rows usually share them), and each distinct resource is normalised once.

use super::scan::{keep_tags, normalise_subscription, resource_group_of};
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

fn fast_map<K, V>() -> FastMap<K, V> {
    HashMap::with_hasher(foldhash::fast::FixedState::default())
}

/// One resource as showback reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    /// Bare lower-case subscription GUID; "" when the export leaves it empty.
    pub subscription: String,
    /// Lower-case resource id ("" when none), for case-insensitive matching.
    pub id: String,
    /// Lower-case resource group (the group column, else taken from the resource id).
    pub group: String,
    /// The tags cell as given, or reduced to `LoadOptions::tag_keys` as a JSON object.
    pub tags: String,
    /// The resource id as the export wrote it (the first spelling in sort order).
    pub id_as_given: String,
}

/// A sum over export rows. `key` indexes `CostRows::resources`, or `CostRows::groups` in
/// `group_daily`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// The day; in `monthly`, the first day of the month.
    pub date: NaiveDate,
    pub key: u32,
    /// Index into `CostRows::currencies`.
    pub currency: u16,
    /// Index into `CostRows::exports`.
    pub export: u16,
    pub nanos: i64,
    /// Export rows summed.
    pub rows: i64,
}

/// The aggregated cost rows of the load window.
#[derive(Debug, Clone, Default)]
pub struct CostRows {
    pub resources: Vec<Resource>,
    /// (subscription, resource group), both lower-case.
    pub groups: Vec<(String, String)>,
    pub currencies: Vec<String>,
    pub exports: Vec<String>,
    pub monthly: Vec<Cell>,
    pub defender_daily: Vec<Cell>,
    pub cluster_daily: Vec<Cell>,
    pub group_daily: Vec<Cell>,
}

impl CostRows {
    pub fn currency(&self, c: &Cell) -> &str {
        &self.currencies[c.currency as usize]
    }
    pub fn resource(&self, c: &Cell) -> &Resource {
        &self.resources[c.key as usize]
    }
    pub fn export(&self, c: &Cell) -> &str {
        &self.exports[c.export as usize]
    }
    /// Export rows aggregated (every table but the overlapping `cluster_daily` and
    /// `group_daily`).
    pub fn row_count(&self) -> i64 {
        self.monthly
            .iter()
            .chain(&self.defender_daily)
            .map(|c| c.rows)
            .sum()
    }
    pub fn is_empty(&self) -> bool {
        self.monthly.is_empty() && self.defender_daily.is_empty()
    }

    /// An aggregate of already-normalised rows (tests and tools that build cost by hand).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, RowRef<'a>)>) -> CostRows {
        let mut agg = Aggregator::new(None);
        for (export, row) in rows {
            agg.set_export(export);
            agg.add(&row);
        }
        agg.finish()
    }
}

/// One valid export row, its cells as written (trimmed or not).
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    pub day: NaiveDate,
    pub nanos: i64,
    pub currency: &'a str,
    /// The first non-empty subscription cell (bare GUID or `/subscriptions/<guid>`).
    pub subscription: &'a str,
    pub resource_id: &'a str,
    pub resource_group: &'a str,
    pub tags: &'a str,
    pub defender: bool,
}

struct Interned {
    resource: Resource,
    is_cluster: bool,
    group: u32,
}

type CellKey = (i32, u32, u16, u16);

/// Accumulates rows of any number of files and exports.
pub struct Aggregator {
    tag_keys: Option<Vec<String>>,
    export: u16,
    exports: Vec<String>,
    currencies: Vec<String>,
    last_currency: (String, u16),
    resources: Vec<Interned>,
    by_normalised: FastMap<(String, String, String, String), u32>,
    by_raw: FastMap<Box<[u8]>, u32>,
    raw: Vec<u8>,
    last_raw: (Vec<u8>, u32),
    groups: Vec<(String, String)>,
    group_ids: FastMap<(String, String), u32>,
    tag_cache: FastMap<Box<str>, String>,
    monthly: FastMap<CellKey, (i64, i64)>,
    defender_daily: FastMap<CellKey, (i64, i64)>,
    cluster_daily: FastMap<CellKey, (i64, i64)>,
    group_daily: FastMap<CellKey, (i64, i64)>,
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

fn day_number(d: NaiveDate) -> i32 {
    (d - EPOCH).num_days() as i32
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

/// AKS (`Microsoft.ContainerService/managedClusters`) or Arc (`Microsoft.Kubernetes/
/// connectedClusters`) resource ids, lower-case. The anomaly detector matches exact ids.
fn is_cluster_id(id: &str) -> bool {
    id.contains("/providers/microsoft.containerservice/managedclusters/")
        || id.contains("/providers/microsoft.kubernetes/connectedclusters/")
}

fn add_to(map: &mut FastMap<CellKey, (i64, i64)>, key: CellKey, nanos: i64) {
    let e = map.entry(key).or_insert((0, 0));
    e.0 += nanos;
    e.1 += 1;
}

impl Aggregator {
    /// `tag_keys`: keep only these tag keys (case-insensitive) in `Resource::tags`.
    pub fn new(tag_keys: Option<&[String]>) -> Aggregator {
        Aggregator {
            tag_keys: tag_keys.map(|k| k.iter().map(|k| k.to_lowercase()).collect()),
            export: 0,
            exports: Vec::new(),
            currencies: Vec::new(),
            last_currency: (String::new(), u16::MAX),
            resources: Vec::new(),
            by_normalised: fast_map(),
            by_raw: fast_map(),
            raw: Vec::new(),
            last_raw: (Vec::new(), u32::MAX),
            groups: Vec::new(),
            group_ids: fast_map(),
            tag_cache: fast_map(),
            monthly: fast_map(),
            defender_daily: fast_map(),
            cluster_daily: fast_map(),
            group_daily: fast_map(),
        }
    }

    /// The export the following rows belong to.
    pub fn set_export(&mut self, name: &str) {
        self.export = match self.exports.iter().position(|e| e == name) {
            Some(i) => i as u16,
            None => {
                self.exports.push(name.to_string());
                (self.exports.len() - 1) as u16
            }
        };
    }

    pub fn add(&mut self, row: &RowRef) {
        let resource = self.resource_of(row);
        let currency = self.currency_of(row.currency);
        let day = day_number(row.day);
        let r = &self.resources[resource as usize];
        let (is_cluster, group) = (r.is_cluster, r.group);
        let export = self.export;
        if row.defender {
            add_to(
                &mut self.defender_daily,
                (day, resource, currency, export),
                row.nanos,
            );
        } else {
            let month = day_number(month_start(row.day));
            add_to(
                &mut self.monthly,
                (month, resource, currency, export),
                row.nanos,
            );
        }
        if is_cluster {
            add_to(
                &mut self.cluster_daily,
                (day, resource, currency, export),
                row.nanos,
            );
        }
        add_to(
            &mut self.group_daily,
            (day, group, currency, export),
            row.nanos,
        );
    }

    fn currency_of(&mut self, raw: &str) -> u16 {
        let raw = raw.trim();
        if self.last_currency.0 == raw {
            return self.last_currency.1;
        }
        let i = match self.currencies.iter().position(|c| c == raw) {
            Some(i) => i,
            None => {
                self.currencies.push(raw.to_string());
                self.currencies.len() - 1
            }
        } as u16;
        self.last_currency = (raw.to_string(), i);
        i
    }

    /// The interned resource of a row, by its raw cells (fast path: same as the last row).
    fn resource_of(&mut self, row: &RowRef) -> u32 {
        self.raw.clear();
        for part in [
            row.subscription,
            row.resource_id,
            row.resource_group,
            row.tags,
        ] {
            self.raw.extend_from_slice(part.as_bytes());
            self.raw.push(0x1f);
        }
        if self.last_raw.1 != u32::MAX && self.last_raw.0 == self.raw {
            return self.last_raw.1;
        }
        let id = match self.by_raw.get(self.raw.as_slice()) {
            Some(&id) => id,
            None => {
                let id = self.intern(row);
                self.by_raw.insert(self.raw.clone().into_boxed_slice(), id);
                id
            }
        };
        self.last_raw.0.clear();
        self.last_raw.0.extend_from_slice(&self.raw);
        self.last_raw.1 = id;
        id
    }

    fn kept_tags(&mut self, cell: &str) -> String {
        let Some(keys) = &self.tag_keys else {
            return cell.to_string();
        };
        if let Some(t) = self.tag_cache.get(cell) {
            return t.clone();
        }
        let kept = keep_tags(cell, keys);
        self.tag_cache.insert(cell.into(), kept.clone());
        kept
    }

    fn intern(&mut self, row: &RowRef) -> u32 {
        let subscription = normalise_subscription(row.subscription);
        let id = row.resource_id.to_lowercase();
        let group = resource_group_of(Some(row.resource_group), Some(row.resource_id));
        let tags = self.kept_tags(row.tags);
        let key = (subscription, id, group, tags);
        if let Some(&i) = self.by_normalised.get(&key) {
            // Another spelling of a known resource: report the first in sort order.
            let given = &mut self.resources[i as usize].resource.id_as_given;
            if row.resource_id < given.as_str() {
                *given = row.resource_id.to_string();
            }
            return i;
        }
        let (subscription, id, group, tags) = key.clone();
        let g = (subscription.clone(), group.clone());
        let group_id = match self.group_ids.get(&g) {
            Some(&i) => i,
            None => {
                self.groups.push(g.clone());
                let i = (self.groups.len() - 1) as u32;
                self.group_ids.insert(g, i);
                i
            }
        };
        let i = self.resources.len() as u32;
        self.resources.push(Interned {
            is_cluster: is_cluster_id(&id),
            resource: Resource {
                subscription,
                id,
                group,
                tags,
                id_as_given: row.resource_id.to_string(),
            },
            group: group_id,
        });
        self.by_normalised.insert(key, i);
        i
    }

    /// The tables, in a canonical order (resources, groups, currencies and exports sorted;
    /// cells by date, key, currency and export), so identical inputs give identical output
    /// whatever the file order.
    pub fn finish(self) -> CostRows {
        fn order<T: Ord>(items: &[T]) -> (Vec<usize>, Vec<u32>) {
            let mut idx: Vec<usize> = (0..items.len()).collect();
            idx.sort_by(|&a, &b| items[a].cmp(&items[b]));
            let mut remap = vec![0u32; items.len()];
            for (new, &old) in idx.iter().enumerate() {
                remap[old] = new as u32;
            }
            (idx, remap)
        }
        let resources: Vec<Resource> = self.resources.into_iter().map(|r| r.resource).collect();
        let (r_order, r_map) = order(&resources);
        let (g_order, g_map) = order(&self.groups);
        let (c_order, c_map) = order(&self.currencies);
        let (e_order, e_map) = order(&self.exports);
        let cells = |map: FastMap<CellKey, (i64, i64)>, keys: &[u32]| {
            let mut out: Vec<Cell> = map
                .into_iter()
                .map(|((day, key, currency, export), (nanos, rows))| Cell {
                    date: EPOCH + chrono::Duration::days(day as i64),
                    key: keys[key as usize],
                    currency: c_map[currency as usize] as u16,
                    export: e_map[export as usize] as u16,
                    nanos,
                    rows,
                })
                .collect();
            out.sort_by_key(|c| (c.date, c.key, c.currency, c.export));
            out
        };
        let monthly = cells(self.monthly, &r_map);
        let defender_daily = cells(self.defender_daily, &r_map);
        let cluster_daily = cells(self.cluster_daily, &r_map);
        let group_daily = cells(self.group_daily, &g_map);
        let pick = |v: &[String], o: &[usize]| o.iter().map(|&i| v[i].clone()).collect();
        CostRows {
            groups: g_order.iter().map(|&i| self.groups[i].clone()).collect(),
            currencies: pick(&self.currencies, &c_order),
            exports: pick(&self.exports, &e_order),
            resources: r_order.iter().map(|&i| resources[i].clone()).collect(),
            monthly,
            defender_daily,
            cluster_daily,
            group_daily,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn row<'a>(day: &str, rid: &'a str, nanos: i64, defender: bool) -> RowRef<'a> {
        RowRef {
            day: d(day),
            nanos,
            currency: " EUR ",
            subscription: "/subscriptions/AAAA",
            resource_id: rid,
            resource_group: "",
            tags: "",
            defender,
        }
    }

    #[test]
    fn rows_fold_into_months_days_and_groups() {
        let aks = "/subscriptions/aaaa/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c1";
        let vm =
            "/subscriptions/aaaa/resourceGroups/MC_x/providers/Microsoft.Compute/virtualMachines/v";
        let upper = aks.to_uppercase();
        let rows = [
            ("e", row("2026-09-01", aks, 5, false)),
            ("e", row("2026-09-02", &upper, 7, false)),
            ("e", row("2026-09-02", vm, 11, false)),
            ("e", row("2026-08-31", vm, 13, false)),
            ("e", row("2026-09-02", "", 17, true)),
        ];
        let r = CostRows::from_rows(rows);
        // Two spellings of the cluster id are one resource, reported as the first in order.
        assert_eq!(r.resources.len(), 3);
        assert_eq!(r.currencies, ["EUR"]);
        let cluster = r.resources.iter().position(|x| x.id == aks.to_lowercase());
        let cluster = cluster.unwrap() as u32;
        assert_eq!(
            r.resources[cluster as usize].id_as_given,
            aks.to_uppercase()
        );
        assert_eq!(r.resources[cluster as usize].group, "rg");
        let sept: Vec<(u32, i64, i64)> = r
            .monthly
            .iter()
            .filter(|c| c.date == d("2026-09-01"))
            .map(|c| (c.key, c.nanos, c.rows))
            .collect();
        assert!(sept.contains(&(cluster, 12, 2)));
        assert_eq!(r.monthly.len(), 3);
        assert_eq!(r.defender_daily.len(), 1);
        assert_eq!(r.defender_daily[0].nanos, 17);
        assert_eq!(r.cluster_daily.len(), 2);
        assert_eq!(r.row_count(), 5);
        let mc = r.groups.iter().position(|g| g.1 == "mc_x").unwrap() as u32;
        let mc_days: Vec<(NaiveDate, i64)> = r
            .group_daily
            .iter()
            .filter(|c| c.key == mc)
            .map(|c| (c.date, c.nanos))
            .collect();
        assert_eq!(mc_days, [(d("2026-08-31"), 13), (d("2026-09-02"), 11)]);
    }
}
