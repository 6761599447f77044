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
use crate::hashing::{FastMap, fast_map};
use chrono::{Datelike, NaiveDate};

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
        let rows: Vec<(&str, RowRef)> = rows.into_iter().collect();
        let first = rows.iter().map(|r| r.1.day).min().unwrap_or(EPOCH);
        let last = rows.iter().map(|r| r.1.day).max().unwrap_or(EPOCH);
        let mut agg = Aggregator::new((first, last + chrono::Duration::days(1)), None);
        for (export, row) in rows {
            agg.set_export(export);
            agg.add(&row);
        }
        agg.finish()
    }
}

impl CostRows {
    /// One aggregate of several, as if every row had gone into one `Aggregator`: resources
    /// with the same normalised fields become one (reported by the first spelling in sort
    /// order), and cells with the same (date, key, currency, export) are summed. Parallel scans
    /// fold disjoint rows into separate aggregators and merge them here.
    pub fn merge(parts: Vec<CostRows>) -> CostRows {
        if parts.len() == 1 {
            return parts.into_iter().next().expect("one part");
        }
        let mut parts = parts;
        let lists = parts
            .iter_mut()
            .map(|p| std::mem::take(&mut p.resources))
            .collect();
        let (resources, r_maps) = union_resources(lists);
        let (groups, g_maps) = union_sorted(parts.iter().map(|p| &p.groups));
        let (currencies, c_maps) = union_sorted(parts.iter().map(|p| &p.currencies));
        let (exports, e_maps) = union_sorted(parts.iter().map(|p| &p.exports));
        let remap = |table: &dyn Fn(&CostRows) -> &Vec<Cell>, keys: &[Vec<u32>]| {
            let mut cells: Vec<Cell> = Vec::new();
            for (k, part) in parts.iter().enumerate() {
                cells.extend(table(part).iter().map(|c| Cell {
                    key: keys[k][c.key as usize],
                    currency: c_maps[k][c.currency as usize] as u16,
                    export: e_maps[k][c.export as usize] as u16,
                    ..*c
                }));
            }
            sum_equal_cells(cells)
        };
        CostRows {
            monthly: remap(&|p| &p.monthly, &r_maps),
            defender_daily: remap(&|p| &p.defender_daily, &r_maps),
            cluster_daily: remap(&|p| &p.cluster_daily, &r_maps),
            group_daily: remap(&|p| &p.group_daily, &g_maps),
            resources,
            groups,
            currencies,
            exports,
        }
    }
}

/// Cells sorted by (date, key, currency, export), those with equal keys summed.
fn sum_equal_cells(mut cells: Vec<Cell>) -> Vec<Cell> {
    cells.sort_unstable_by_key(|c| (c.date, c.key, c.currency, c.export));
    let mut out: Vec<Cell> = Vec::with_capacity(cells.len());
    for c in cells {
        match out.last_mut() {
            Some(l)
                if (l.date, l.key, l.currency, l.export)
                    == (c.date, c.key, c.currency, c.export) =>
            {
                l.nanos += c.nanos;
                l.rows += c.rows;
            }
            _ => out.push(c),
        }
    }
    out
}

/// The sorted union of sorted, duplicate-free lists, and each list's old index → new index.
fn union_sorted<'a, T: Ord + Clone + 'a>(
    lists: impl Iterator<Item = &'a Vec<T>>,
) -> (Vec<T>, Vec<Vec<u32>>) {
    let lists: Vec<&Vec<T>> = lists.collect();
    let mut all: Vec<T> = lists.iter().flat_map(|l| l.iter().cloned()).collect();
    all.sort();
    all.dedup();
    let maps = lists
        .iter()
        .map(|l| {
            l.iter()
                .map(|x| all.binary_search(x).expect("in the union") as u32)
                .collect()
        })
        .collect();
    (all, maps)
}

/// The union of resource lists (each sorted, as `finish` leaves them): one resource per
/// normalised (subscription, id, group, tags), reported by its first spelling in sort order,
/// in `Resource` order; and each list's old index → new index. A k-way merge that moves the
/// strings: no resource is copied.
fn union_resources(lists: Vec<Vec<Resource>>) -> (Vec<Resource>, Vec<Vec<u32>>) {
    let same = |a: &Resource, b: &Resource| {
        a.subscription == b.subscription && a.id == b.id && a.group == b.group && a.tags == b.tags
    };
    let mut maps: Vec<Vec<u32>> = lists.iter().map(|l| vec![0; l.len()]).collect();
    let mut pos = vec![0usize; lists.len()];
    let mut lists: Vec<std::collections::VecDeque<Resource>> =
        lists.into_iter().map(Into::into).collect();
    let mut out: Vec<Resource> = Vec::new();
    // The list whose next resource sorts first, until all are empty.
    while let Some(k) = (0..lists.len())
        .filter(|&k| !lists[k].is_empty())
        .min_by(|&a, &b| lists[a][0].cmp(&lists[b][0]))
    {
        let r = lists[k].pop_front().expect("not empty");
        // A later spelling of the same resource: the first in sort order was kept.
        if !out.last().is_some_and(|last| same(last, &r)) {
            out.push(r);
        }
        maps[k][pos[k]] = (out.len() - 1) as u32;
        pos[k] += 1;
    }
    (out, maps)
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
    /// The next resource whose normalised fields hash the same (u32::MAX: none).
    same_hash: u32,
}

/// What one (resource, currency, export) sums into: its rows in the dense tables.
struct Slot {
    resource: u32,
    currency: u16,
    export: u16,
    monthly: u32,
    /// Allocated on the first Defender row / first row of a cluster resource.
    defender: Option<u32>,
    cluster: Option<u32>,
    /// The slot of (resource group, currency, export) in `group_daily`.
    group: u32,
}

/// Sums per slot and day (or month) of the load window in one flat vector, a slot's days side
/// by side: adding a row is an index, not a hash lookup, and the size follows the number of
/// resources and groups times the days of the window (about 45), never the rows.
struct Dense {
    width: usize,
    sums: Vec<(i64, i64)>,
}

impl Dense {
    fn new(width: usize) -> Dense {
        Dense {
            width: width.max(1),
            sums: Vec::new(),
        }
    }
    fn new_slot(&mut self) -> u32 {
        let slot = self.sums.len() / self.width;
        self.sums.resize(self.sums.len() + self.width, (0, 0));
        slot as u32
    }
    fn add(&mut self, slot: u32, offset: usize, nanos: i64) {
        let e = &mut self.sums[slot as usize * self.width + offset];
        e.0 += nanos;
        e.1 += 1;
    }
    /// `add` to the slot held in `slot`, taking a new one on first use.
    fn add_lazily(&mut self, slot: &mut Option<u32>, offset: usize, nanos: i64) {
        let s = match *slot {
            Some(s) => s,
            None => *slot.insert(self.new_slot()),
        };
        self.add(s, offset, nanos);
    }
}

/// Accumulates rows of any number of files and exports charged in the window.
pub struct Aggregator {
    window: (NaiveDate, NaiveDate),
    first_month: NaiveDate,
    last_day: Option<(NaiveDate, (usize, usize))>,
    tag_keys: Option<Vec<String>>,
    export: u16,
    exports: Vec<String>,
    currencies: Vec<String>,
    last_currency: (String, u16),
    resources: Vec<Interned>,
    /// Resources by the hash of their normalised fields (the fields themselves live once, in
    /// `resources`); entries with the same hash chain through `Interned::same_hash`.
    by_normalised: FastMap<u64, u32>,
    raw: RawKeys,
    groups: Vec<(String, String)>,
    group_ids: FastMap<(String, String), u32>,
    tag_cache: FastMap<Box<str>, String>,
    slots: Vec<Slot>,
    slot_ids: FastMap<(u32, u16, u16), u32>,
    group_slots: Vec<(u32, u16, u16)>,
    group_slot_ids: FastMap<(u32, u16, u16), u32>,
    monthly: Dense,
    defender_daily: Dense,
    cluster_daily: Dense,
    group_daily: Dense,
}

use crate::frame::EPOCH;

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

/// AKS (`Microsoft.ContainerService/managedClusters`) or Arc (`Microsoft.Kubernetes/
/// connectedClusters`) resource ids, lower-case. The anomaly detector matches exact ids.
fn is_cluster_id(id: &str) -> bool {
    id.contains("/providers/microsoft.containerservice/managedclusters/")
        || id.contains("/providers/microsoft.kubernetes/connectedclusters/")
}

/// The raw cells (subscription, resource id, resource group, tags) of every distinct resource
/// spelling, in a byte arena of fixed-size blocks (growing it never copies what is stored),
/// found by hash: a row is matched without copying its cells, and the whole table frees in
/// one go.
#[derive(Default)]
struct RawKeys {
    blocks: Vec<Vec<u8>>,
    /// Per entry: where its four cells start (block, offset), their lengths, its resource,
    /// and the next entry with the same hash (u32::MAX: none).
    entries: Vec<RawEntry>,
    by_hash: FastMap<u64, u32>,
    last: Option<u32>,
}

struct RawEntry {
    block: u32,
    start: u32,
    lens: [u32; 4],
    resource: u32,
    next: u32,
    /// Where this spelling's last row summed into: the next row of it almost always sums
    /// into the same places, found here without touching the resource or slot tables.
    last: Option<SumsAt>,
}

/// The dense rows one (resource, currency, export) slot adds into.
#[derive(Clone, Copy)]
struct SumsAt {
    currency: u16,
    export: u16,
    slot: u32,
    monthly: u32,
    group: u32,
    is_cluster: bool,
}

/// Arena block size; a key longer than this gets a block of its own.
const BLOCK: usize = 4 << 20;

impl RawKeys {
    fn hash(&self, fields: &[&[u8]; 4]) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = foldhash::fast::FixedState::default().build_hasher();
        for f in fields {
            h.write(f);
            h.write_usize(f.len());
        }
        h.finish()
    }

    fn matches(&self, e: &RawEntry, fields: &[&[u8]; 4]) -> bool {
        if fields
            .iter()
            .zip(&e.lens)
            .any(|(f, &len)| f.len() != len as usize)
        {
            return false;
        }
        let block = &self.blocks[e.block as usize];
        let mut at = e.start as usize;
        for f in fields {
            if block[at..at + f.len()] != **f {
                return false;
            }
            at += f.len();
        }
        true
    }

    /// The entry of the previous row when this row has the same cells (runs are common).
    fn last_if(&self, fields: &[&[u8]; 4]) -> Option<u32> {
        let at = self.last?;
        self.matches(&self.entries[at as usize], fields)
            .then_some(at)
    }

    /// The entry with these cells.
    fn find(&mut self, hash: u64, fields: &[&[u8]; 4]) -> Option<u32> {
        let mut at = *self.by_hash.get(&hash)?;
        while at != u32::MAX {
            let e = &self.entries[at as usize];
            if self.matches(e, fields) {
                self.last = Some(at);
                return Some(at);
            }
            at = e.next;
        }
        None
    }

    /// A new entry for these cells of `resource`; its index.
    fn insert(&mut self, hash: u64, fields: &[&[u8]; 4], resource: u32) -> u32 {
        let len: usize = fields.iter().map(|f| f.len()).sum();
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= len);
        if !fits {
            self.blocks.push(Vec::with_capacity(BLOCK.max(len)));
        }
        let block = self.blocks.len() - 1;
        let start = self.blocks[block].len();
        for f in fields {
            self.blocks[block].extend_from_slice(f);
        }
        let at = self.entries.len() as u32;
        let next = self.by_hash.insert(hash, at).unwrap_or(u32::MAX);
        self.entries.push(RawEntry {
            block: block as u32,
            start: start as u32,
            lens: fields.map(|f| f.len() as u32),
            resource,
            next,
            last: None,
        });
        self.last = Some(at);
        at
    }
}

/// Hash of a resource's normalised fields.
fn normalised_hash(sub: &str, id: &str, group: &str, tags: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    for f in [sub, id, group, tags] {
        h.write(f.as_bytes());
        h.write_usize(f.len());
    }
    h.finish()
}

fn month_index(first: NaiveDate, d: NaiveDate) -> usize {
    ((d.year() - first.year()) * 12 + d.month() as i32 - first.month() as i32) as usize
}

fn add_months(first: NaiveDate, k: usize) -> NaiveDate {
    first + chrono::Months::new(k as u32)
}

impl Aggregator {
    /// Rows charged in `window` (`[from, to)`); `tag_keys`: keep only these tag keys
    /// (case-insensitive) in `Resource::tags`.
    pub fn new(window: (NaiveDate, NaiveDate), tag_keys: Option<&[String]>) -> Aggregator {
        let days = (window.1 - window.0).num_days().max(1) as usize;
        let first_month = month_start(window.0);
        let last = window.1.pred_opt().unwrap_or(window.1).max(window.0);
        let months = month_index(first_month, last) + 1;
        Aggregator {
            window,
            first_month,
            last_day: None,
            tag_keys: tag_keys.map(|k| k.iter().map(|k| k.to_lowercase()).collect()),
            export: 0,
            exports: Vec::new(),
            currencies: Vec::new(),
            last_currency: (String::new(), u16::MAX),
            resources: Vec::new(),
            by_normalised: fast_map(),
            raw: RawKeys::default(),
            groups: Vec::new(),
            group_ids: fast_map(),
            tag_cache: fast_map(),
            slots: Vec::new(),
            slot_ids: fast_map(),
            group_slots: Vec::new(),
            group_slot_ids: fast_map(),
            monthly: Dense::new(months),
            defender_daily: Dense::new(days),
            cluster_daily: Dense::new(days),
            group_daily: Dense::new(days),
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

    /// Fold one row in; rows outside the window are the caller's to count (ignored here).
    pub fn add(&mut self, row: &RowRef) {
        if row.day < self.window.0 || row.day >= self.window.1 {
            return;
        }
        let entry = self.entry_of(row);
        let currency = self.currency_of(row.currency);
        let at = self.sums_at(entry, currency);
        let (day, month) = self.offsets(row.day);
        if row.defender {
            let slot = &mut self.slots[at.slot as usize];
            self.defender_daily
                .add_lazily(&mut slot.defender, day, row.nanos);
        } else {
            self.monthly.add(at.monthly, month, row.nanos);
        }
        if at.is_cluster {
            let slot = &mut self.slots[at.slot as usize];
            self.cluster_daily
                .add_lazily(&mut slot.cluster, day, row.nanos);
        }
        self.group_daily.add(at.group, day, row.nanos);
    }

    /// Where rows of raw-cell entry `entry` in `currency` and the current export sum into.
    fn sums_at(&mut self, entry: u32, currency: u16) -> SumsAt {
        let export = self.export;
        let e = &self.raw.entries[entry as usize];
        if let Some(at) = e.last
            && at.currency == currency
            && at.export == export
        {
            return at;
        }
        let resource = e.resource;
        let slot = self.slot_of(resource, currency);
        let s = &self.slots[slot as usize];
        let at = SumsAt {
            currency,
            export,
            slot,
            monthly: s.monthly,
            group: s.group,
            is_cluster: self.resources[resource as usize].is_cluster,
        };
        self.raw.entries[entry as usize].last = Some(at);
        at
    }

    /// (day, month) offsets of a date in the window; dates repeat row after row.
    fn offsets(&mut self, d: NaiveDate) -> (usize, usize) {
        if let Some((last, offsets)) = self.last_day
            && last == d
        {
            return offsets;
        }
        let offsets = (
            (d - self.window.0).num_days() as usize,
            month_index(self.first_month, d),
        );
        self.last_day = Some((d, offsets));
        offsets
    }

    /// The slot of (resource, currency, the current export).
    fn slot_of(&mut self, resource: u32, currency: u16) -> u32 {
        let export = self.export;
        match self.slot_ids.get(&(resource, currency, export)) {
            Some(&s) => s,
            None => {
                let group = self.resources[resource as usize].group;
                let g = match self.group_slot_ids.get(&(group, currency, export)) {
                    Some(&g) => g,
                    None => {
                        let g = self.group_daily.new_slot();
                        self.group_slots.push((group, currency, export));
                        self.group_slot_ids.insert((group, currency, export), g);
                        g
                    }
                };
                let s = self.slots.len() as u32;
                self.slots.push(Slot {
                    resource,
                    currency,
                    export,
                    monthly: self.monthly.new_slot(),
                    defender: None,
                    cluster: None,
                    group: g,
                });
                self.slot_ids.insert((resource, currency, export), s);
                s
            }
        }
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

    /// The raw-cell entry of a row, interning its resource on first sight (fast path: same
    /// cells as the last row).
    fn entry_of(&mut self, row: &RowRef) -> u32 {
        let fields = [
            row.subscription.as_bytes(),
            row.resource_id.as_bytes(),
            row.resource_group.as_bytes(),
            row.tags.as_bytes(),
        ];
        if let Some(at) = self.raw.last_if(&fields) {
            return at;
        }
        let hash = self.raw.hash(&fields);
        if let Some(at) = self.raw.find(hash, &fields) {
            return at;
        }
        let id = self.intern(row);
        self.raw.insert(hash, &fields, id)
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
        let hash = normalised_hash(&subscription, &id, &group, &tags);
        if let Some(i) = self.find_normalised(hash, &subscription, &id, &group, &tags) {
            // Another spelling of a known resource: report the first in sort order.
            let given = &mut self.resources[i as usize].resource.id_as_given;
            if row.resource_id < given.as_str() {
                *given = row.resource_id.to_string();
            }
            return i;
        }
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
        let same_hash = self.by_normalised.insert(hash, i).unwrap_or(u32::MAX);
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
            same_hash,
        });
        i
    }

    /// The resource with these normalised fields, if interned.
    fn find_normalised(
        &self,
        hash: u64,
        sub: &str,
        id: &str,
        group: &str,
        tags: &str,
    ) -> Option<u32> {
        let mut at = *self.by_normalised.get(&hash)?;
        while at != u32::MAX {
            let r = &self.resources[at as usize];
            let x = &r.resource;
            if x.id == id && x.subscription == sub && x.group == group && x.tags == tags {
                return Some(at);
            }
            at = r.same_hash;
        }
        None
    }

    /// The tables, in a canonical order (resources, groups, currencies and exports sorted;
    /// cells by date, key, currency and export), so identical inputs give identical output
    /// whatever the file order.
    pub fn finish(self) -> CostRows {
        // The lookup tables are done with: free them before the output is built (peak memory).
        drop(self.raw);
        drop(self.by_normalised);
        drop(self.slot_ids);
        drop(self.group_slot_ids);
        drop(self.group_ids);
        drop(self.tag_cache);
        let resources: Vec<Resource> = self.resources.into_iter().map(|r| r.resource).collect();
        let (r_order, r_map) = sort_order(&resources);
        let (g_order, g_map) = sort_order(&self.groups);
        let (c_order, c_map) = sort_order(&self.currencies);
        let (e_order, e_map) = sort_order(&self.exports);
        let published = |key: u32, currency: u16, export: u16, keys: &[u32]| {
            (
                keys[key as usize],
                c_map[currency as usize] as u16,
                e_map[export as usize] as u16,
            )
        };
        let tables = SlotTables::of(&self.slots, |s| {
            published(s.resource, s.currency, s.export, &r_map)
        });
        let group_slots: Vec<(CellKey, u32)> = self
            .group_slots
            .iter()
            .enumerate()
            .map(|(slot, &(g, c, e))| (published(g, c, e, &g_map), slot as u32))
            .collect();
        let days: Vec<NaiveDate> = (0..self.group_daily.width)
            .map(|k| self.window.0 + chrono::Duration::days(k as i64))
            .collect();
        let months: Vec<NaiveDate> = (0..self.monthly.width)
            .map(|k| add_months(self.first_month, k))
            .collect();
        CostRows {
            monthly: cells_of(&self.monthly, tables.monthly, &months),
            defender_daily: cells_of(&self.defender_daily, tables.defender, &days),
            cluster_daily: cells_of(&self.cluster_daily, tables.cluster, &days),
            group_daily: cells_of(&self.group_daily, group_slots, &days),
            groups: reorder(self.groups, &g_order),
            currencies: reorder(self.currencies, &c_order),
            exports: reorder(self.exports, &e_order),
            resources: reorder(resources, &r_order),
        }
    }
}

/// A cell's published (key, currency, export).
type CellKey = (u32, u16, u16);

/// Each resource table's slots with their published keys.
struct SlotTables {
    monthly: Vec<(CellKey, u32)>,
    defender: Vec<(CellKey, u32)>,
    cluster: Vec<(CellKey, u32)>,
}

impl SlotTables {
    fn of(slots: &[Slot], key: impl Fn(&Slot) -> CellKey) -> SlotTables {
        let mut t = SlotTables {
            monthly: Vec::new(),
            defender: Vec::new(),
            cluster: Vec::new(),
        };
        for s in slots {
            let k = key(s);
            t.monthly.push((k, s.monthly));
            if let Some(d) = s.defender {
                t.defender.push((k, d));
            }
            if let Some(c) = s.cluster {
                t.cluster.push((k, c));
            }
        }
        t
    }
}

/// The order that sorts `items`, and each item's new index.
fn sort_order<T: Ord>(items: &[T]) -> (Vec<usize>, Vec<u32>) {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.sort_unstable_by(|&a, &b| items[a].cmp(&items[b]));
    let mut remap = vec![0u32; items.len()];
    for (new, &old) in idx.iter().enumerate() {
        remap[old] = new as u32;
    }
    (idx, remap)
}

/// `items` in `order` (a permutation), moved, not copied.
fn reorder<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .map(|&i| items[i].take().expect("a permutation"))
        .collect()
}

/// The non-empty cells of a dense table, date by date; with the slots sorted by their
/// published key, the cells come out in (date, key, currency, export) order.
fn cells_of(dense: &Dense, mut slots: Vec<(CellKey, u32)>, dates: &[NaiveDate]) -> Vec<Cell> {
    slots.sort_unstable();
    let mut out = Vec::new();
    for (offset, &date) in dates.iter().enumerate().take(dense.width) {
        for &((key, currency, export), slot) in &slots {
            let (nanos, rows) = dense.sums[slot as usize * dense.width + offset];
            if rows > 0 {
                out.push(Cell {
                    date,
                    key,
                    currency,
                    export,
                    nanos,
                    rows,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_of_disjoint_rows_merge_into_the_aggregate_of_all_rows() {
        let ids = [
            "/subscriptions/aaaa/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c1",
            "/SUBSCRIPTIONS/AAAA/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/C1",
            "/subscriptions/aaaa/resourceGroups/MC_x/providers/Microsoft.Compute/disks/d1",
            "",
        ];
        let mut rows = Vec::new();
        for (k, day) in ["2026-08-31", "2026-09-01", "2026-09-02"]
            .iter()
            .enumerate()
        {
            for (j, id) in ids.iter().enumerate() {
                let mut r = row(day, id, (k * 10 + j) as i64 + 1, j == 3);
                r.currency = if j == 2 { "USD" } else { "EUR" };
                rows.push(r);
            }
        }
        let window = (d("2026-08-31"), d("2026-09-03"));
        let mut one = Aggregator::new(window, None);
        let mut two = [Aggregator::new(window, None), Aggregator::new(window, None)];
        one.set_export("e");
        two.iter_mut().for_each(|a| a.set_export("e"));
        for (i, r) in rows.iter().enumerate() {
            one.add(r);
            // Any split works; alternate rows so both spellings of c1 land in both.
            two[i % 2].add(r);
        }
        let [a, b] = two;
        let merged = CostRows::merge(vec![a.finish(), b.finish()]);
        let all = one.finish();
        assert_eq!(merged.resources, all.resources);
        assert_eq!(merged.groups, all.groups);
        assert_eq!(merged.currencies, all.currencies);
        assert_eq!(merged.monthly, all.monthly);
        assert_eq!(merged.defender_daily, all.defender_daily);
        assert_eq!(merged.cluster_daily, all.cluster_daily);
        assert_eq!(merged.group_daily, all.group_daily);
        assert_eq!(merged.resources.len(), 3);
    }

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
