#!/usr/bin/env python3
"""Run every Resource Graph query in queries/ against raw fixture rows and compare the result
with the rows worked out by hand.

Each folder tests/kql/fixtures/<case>/ holds
  - one JSON file per Resource Graph table the query reads (`securityresources.json`, ...):
    an array of raw rows in Azure's shape. Keys starting with "_" (`_source`, `_note`) are
    documentation and are removed before loading;
  - expected.json: {"query": "queries/<x>.kql", "columns": [...], "rows": [...]}, the exact
    output columns in order and the rows Resource Graph returns for those inputs.

The query runs in DuckDB through duckdb-kql (a KQL-to-DuckDB translator). Two of its gaps are
worked around here, see docs/queries.md:
  - an explicit JSON null inside a dynamic value is not a KQL null there, so null-valued keys
    are dropped (recursively) when rows are loaded; Kusto reads {"k": null}.k and {}.k alike.
    Expected dynamic output values are compared with their null-valued keys dropped too;
  - datetimes have microsecond precision in DuckDB (Kusto keeps 100 ns ticks), so datetimes
    are compared truncated to the microsecond.

Checks per case: the query runs; its columns are exactly `columns`; every column of the
dataset contract (src/model/<dataset>.rs) is there and every value has the contract's type;
`id` (when projected) is non-empty and unique; the rows equal `rows` (as a multiset).

usage: run_queries.py [--only CASE ...] [--query CASE=FILE ...] [--show] [--list]
       run_queries.py --sample RAWDIR [--days D1,D2,...] [--pages DIR]
  --query CASE=FILE  run FILE instead of the case's query (e.g. an older revision)
  --show             print the rows the query returned, as JSON
  --sample RAWDIR    check the bundled sample instead of the fixtures: RAWDIR/<day>/ holds the raw
                     rows of the five tables for that snapshot day (`sample-data/generate.py --raw
                     RAWDIR` writes them from the generator's objects). Every query of queries/ (not
                     queries/legacy/: no committed page was made by it) runs on each day's rows and
                     its result must equal the rows of the committed page file
                     sample-data/resource-graph/<day>/<dataset>.json (all pages' `data`), compared
                     as for the fixtures. The few ways the committed pages differ from any query
                     result by construction are listed in SAMPLE_DIFFERENCES, applied explicitly
                     and counted in the output
  --days D1,D2,...   with --sample: only these day folders (default: every one in RAWDIR)
  --pages DIR        with --sample: the committed pages (default sample-data/resource-graph)
Exit status: 0 when every case (or every day and dataset) passes, 1 otherwise, 2 on a usage or
setup error.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Resource Graph tables and their standard columns (the same list scripts/check-queries.js
# gives the Kusto analyser). Every row of every table carries all of them.
TABLES = ("resources", "resourcecontainers", "securityresources",
          "kubernetesconfigurationresources", "policyresources")
STRING_COLUMNS = ("id", "name", "type", "tenantId", "kind", "location", "resourceGroup",
                  "subscriptionId", "managedBy")
DYNAMIC_COLUMNS = ("sku", "plan", "properties", "tags", "identity", "zones",
                   "extendedLocation")

CONTRACT_RE = re.compile(r'\("(\w+)",\s*(Key|Str|Bool|Int|Float|Time|Array|Object)\b'
                         r'(?:\(&\[([^\]]*)\]\))?')


def drop_null_keys(value):
    """Remove null-valued object keys at every depth (array items are kept as they are)."""
    if isinstance(value, dict):
        return {k: drop_null_keys(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_null_keys(v) for v in value]
    return value


def load_tables(con, case_dir: Path) -> dict[str, int]:
    """Create the five tables and load the case's rows; returns row counts per table."""
    counts = {}
    cols = ", ".join([f'"{c}" VARCHAR' for c in STRING_COLUMNS] +
                     [f'"{c}" JSON' for c in DYNAMIC_COLUMNS])
    known = set(STRING_COLUMNS) | set(DYNAMIC_COLUMNS)
    for table in TABLES:
        con.execute(f'CREATE TABLE "{table}" ({cols})')
        path = case_dir / f"{table}.json"
        if not path.exists():
            continue
        rows = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected a JSON array of rows")
        for i, row in enumerate(rows):
            row = {k: v for k, v in row.items() if not k.startswith("_")}
            unknown = set(row) - known
            if unknown:
                raise ValueError(f"{path} row {i + 1}: not a {table} column: "
                                 f"{', '.join(sorted(unknown))}")
            values = [row.get(c, "") for c in STRING_COLUMNS]
            for c, v in zip(STRING_COLUMNS, values):
                if not isinstance(v, str):
                    raise ValueError(f"{path} row {i + 1}: '{c}' must be a string")
            for c in DYNAMIC_COLUMNS:
                v = row.get(c)
                values.append(None if v is None else json.dumps(drop_null_keys(v)))
            con.execute(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(values))})',
                        values)
        counts[table] = len(rows)
    return counts


def contract(dataset: str):
    """[(column, kind, item_keys)] from src/model/<dataset>.rs, or None."""
    path = ROOT / "src" / "model" / f"{dataset}.rs"
    if not path.exists():
        return None
    out = []
    for m in CONTRACT_RE.finditer(path.read_text(encoding="utf-8")):
        keys = re.findall(r'"(\w+)"', m.group(3) or "")
        out.append((m.group(1), m.group(2), keys))
    return out


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 as Resource Graph writes it (7 fractional digits, Z) to a naive UTC datetime
    truncated to the microsecond."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?"
                     r"(Z|[+-]\d\d:\d\d)?", text.strip())
    if not m:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    date, clock, frac, zone = m.groups()
    if clock.count(":") == 1:
        clock += ":00"
    value = dt.datetime.fromisoformat(f"{date}T{clock}")
    if frac:
        value = value.replace(microsecond=int(frac[:6].ljust(6, "0")))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        value -= sign * dt.timedelta(hours=hours, minutes=minutes)
    return value


def format_time(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize(value, kind: str, from_duckdb: bool):
    """One comparable form for a value of DuckDB column type `kind` (JSON, TIMESTAMP, ...).
    DuckDB hands JSON values over as text; expected.json values are already parsed."""
    if value is None:
        return None
    if kind == "JSON":
        if from_duckdb and isinstance(value, str):
            value = json.loads(value)
        return drop_null_keys(value)
    if kind.startswith("TIMESTAMP"):
        if isinstance(value, str):
            value = parse_time(value)
        return format_time(value)
    if kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL"):
        if isinstance(value, str):
            value = float(value)
        value = float(value)
        return None if math.isnan(value) else round(value, 9)
    return value


def canon(row: dict) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def check_contract(cols, kinds, rows, spec) -> list[str]:
    """The same rules the job applies to each Resource Graph row (src/model/mod.rs)."""
    problems = []
    missing = [c for c, _, _ in spec if c not in cols]
    if missing:
        problems.append(f"missing contract columns: {', '.join(missing)}")
    for n, row in enumerate(rows, 1):
        for col, kind, keys in spec:
            if col not in row:
                continue
            v = row[col]
            bad = None
            if kind == "Key":
                bad = not (isinstance(v, str) and v)
            elif kind == "Str":
                bad = not (v is None or isinstance(v, (str, int, float, bool)))
            elif kind == "Bool":
                bad = not (v is None or isinstance(v, bool) or
                           (isinstance(v, str) and v.lower() in ("true", "false", "")))
            elif kind == "Int":
                bad = not (v is None or (isinstance(v, int) and not isinstance(v, bool)))
            elif kind == "Float":
                bad = not (v is None or isinstance(v, (int, float)))
            elif kind == "Time":
                bad = not (v is None or v == "" or isinstance(v, str))
            elif kind == "Object":
                bad = not (v is None or v == "" or isinstance(v, dict))
            elif kind == "Array":
                bad = not (v is None or (isinstance(v, list) and all(
                    isinstance(i, dict) and all(k in i for k in keys) for i in v)))
            if bad:
                problems.append(f"row {n}: column '{col}' breaks the contract ({kind}"
                                f"{'(' + ', '.join(keys) + ')' if keys else ''}): {v!r}")
    return problems


def diff_rows(cols, actual: list[dict], want: list[dict], limit: int | None = None) -> list[str]:
    """Compare two lists of normalized rows as multisets; the differences as report lines
    (at most `limit` row differences listed when given)."""
    got_count = collections.Counter(canon(r) for r in actual)
    want_count = collections.Counter(canon(r) for r in want)
    missing = list((want_count - got_count).elements())
    extra = list((got_count - want_count).elements())
    if not missing and not extra:
        return []
    key = "id" if "id" in cols else cols[0]
    extra_by_key = {json.loads(e).get(key): json.loads(e) for e in extra}
    problems = [f"rows differ: {len(missing)} expected row(s) not returned, "
                f"{len(extra)} returned row(s) not expected "
                f"(query returned {len(actual)} rows, expected {len(want)})"]
    shown = []
    for m in missing:
        m = json.loads(m)
        other = extra_by_key.pop(m.get(key), None)
        if other is None:
            shown.append(f"  not returned: {canon(m)}")
        else:
            diffs = [f"{c}: expected {m.get(c)!r}, got {other.get(c)!r}"
                     for c in sorted(set(m) | set(other)) if m.get(c) != other.get(c)]
            shown.append(f"  {key}={m.get(key)}:\n      " + "\n      ".join(diffs))
    for e in extra_by_key.values():
        shown.append(f"  not expected: {canon(e)}")
    if limit is not None and len(shown) > limit:
        shown = shown[:limit] + [f"  ... and {len(shown) - limit} more"]
    return problems + shown


def run_case(case_dir: Path, query_override: Path | None, show: bool):
    """Returns (passed, messages, info)."""
    import duckdb_kql  # imported late so that --list and --help work without the venv

    spec_path = case_dir / "expected.json"
    expected = json.loads(spec_path.read_text(encoding="utf-8"))
    query_path = query_override or (ROOT / expected["query"])
    text = query_path.read_text(encoding="utf-8")
    header = re.match(r"//\s*dataset:\s*(\w+)", text)
    dataset = header.group(1) if header else None

    con = duckdb_kql.connect()
    counts = load_tables(con, case_dir)
    try:
        rel = duckdb_kql.kql(con, text)
        cols = list(rel.columns)
        kinds = [str(t).upper() for t in rel.types]
        raw = rel.fetchall()
    except Exception as e:  # noqa: BLE001 - any failure to run is the finding
        return False, [f"query failed: {type(e).__name__}: {e}"], counts
    actual = [{c: normalize(v, k, True) for c, v, k in zip(cols, r, kinds)} for r in raw]
    if show:
        print(json.dumps(actual, indent=2, ensure_ascii=False))

    problems = []
    want_cols = expected["columns"]
    if cols != want_cols:
        problems.append(f"columns differ:\n      query    {cols}\n      expected {want_cols}")
    spec = contract(dataset) if dataset else None
    if spec is None:
        problems.append(f"no contract for dataset {dataset!r} (src/model/<dataset>.rs)")
    else:
        problems += check_contract(cols, kinds, actual, spec)
    if "id" in cols:
        ids = [r["id"] for r in actual]
        dupes = sorted(k for k, n in collections.Counter(ids).items() if n > 1)
        if dupes:
            problems.append(f"'id' is not unique: {dupes}")
    if not expected["rows"]:
        problems.append("expected.json has no rows: the case would prove nothing")

    kind_of = dict(zip(cols, kinds))
    want = [{c: normalize(v, kind_of.get(c, ""), False) for c, v in r.items()} for r in expected["rows"]]
    problems += diff_rows(cols, actual, want)
    info = dict(counts)
    info["rows"] = len(actual)
    return not problems, problems, info


# ---- --sample: the bundled sample's result pages against the queries ------------------------

PAGES = ROOT / "sample-data" / "resource-graph"
DAY_RE = re.compile(r"\d{4}-\d\d-\d\d")

# How the committed sample pages differ from what the queries return for *any* raw rows. These
# are fixed by the way the pages are written and cannot be produced by an Azure-shaped row;
# changing them would change the committed sample, which must stay reproducible byte for byte.
# Each one is applied to the committed rows (or the query's columns) of the named dataset and
# column only, every use is counted in the output, and an entry that no longer applies fails the
# run. Anything else is a mismatch.
SAMPLE_DIFFERENCES = {
    "subscriptions": [("query_only", "id")],
    "defender_plans": [("query_only", "id"), ("null_for_empty", "subPlan")],
    "aks_clusters": [("null_for_empty", "networkPolicy")],
    "policy_states": [("query_only", "id")],
}
DIFFERENCE_TEXT = {
    "query_only": "projected by the query for stable paging, not a contract column: the pages hold the "
                  "contract columns only",
    "null_for_empty": "null in the pages where the query's tostring() returns \"\" (Resource Graph never "
                      "returns null from tostring())",
}


def sample_queries() -> dict[str, Path]:
    """dataset -> query file, for every query of queries/ (not queries/legacy/)."""
    out = {}
    for path in sorted((ROOT / "queries").glob("*.kql")):
        header = re.match(r"//\s*dataset:\s*(\w+)", path.read_text(encoding="utf-8"))
        if not header:
            raise ValueError(f"{path.relative_to(ROOT)}: no '// dataset: <name>' header")
        out[header.group(1)] = path
    return out


def read_pages(path: Path) -> tuple[list[dict], list[str]]:
    """The rows of a committed page file (all pages' `data`, in order) and any paging problems."""
    pages = json.loads(path.read_text(encoding="utf-8"))
    rows, problems = [], []
    for i, page in enumerate(pages, 1):
        data = page.get("data", [])
        if page.get("count") != len(data):
            problems.append(f"page {i}: count {page.get('count')} but {len(data)} rows")
        rows += data
    for i, page in enumerate(pages, 1):
        if page.get("totalRecords") != len(rows):
            problems.append(f"page {i}: totalRecords {page.get('totalRecords')} but {len(rows)} rows in all")
    return rows, problems


def check_sample_dataset(con, dataset: str, query: Path, page_file: Path, used: collections.Counter):
    """Run one query on the loaded day and compare with the committed page file.
    Returns (passed, problems, n_rows, notes)."""
    import duckdb_kql

    try:
        rel = duckdb_kql.kql(con, query.read_text(encoding="utf-8"))
        cols = list(rel.columns)
        kinds = [str(t).upper() for t in rel.types]
        raw = rel.fetchall()
    except Exception as e:  # noqa: BLE001 - any failure to run is the finding
        return False, [f"query failed: {type(e).__name__}: {e}"], 0, []
    actual = [{c: normalize(v, k, True) for c, v, k in zip(cols, r, kinds)} for r in raw]
    committed, problems = read_pages(page_file)
    spec = contract(dataset)
    if spec is None:
        return False, [f"no contract for dataset {dataset!r} (src/model/<dataset>.rs)"], len(actual), []
    problems += check_contract(cols, kinds, actual, spec)
    if "id" in cols:
        dupes = sorted(k for k, n in collections.Counter(r["id"] for r in actual).items() if n > 1)
        if dupes:
            problems.append(f"'id' is not unique in the query's result: {dupes[:5]}")

    page_cols = list(committed[0]) if committed else None
    for n, row in enumerate(committed, 1):
        if list(row) != page_cols:
            problems.append(f"committed row {n} has the columns {list(row)}, row 1 {page_cols}")
            break
    contract_cols = {c for c, _, _ in spec}
    notes = []
    committed = [dict(r) for r in committed]
    for kind, col in SAMPLE_DIFFERENCES.get(dataset, []):
        n = 0
        if kind == "query_only":
            if col in cols and col not in contract_cols and (page_cols is None or col not in page_cols):
                for r in actual:
                    del r[col]
                kinds = [k for c, k in zip(cols, kinds) if c != col]
                cols = [c for c in cols if c != col]
                n = len(committed)
                notes.append(f"{col}: query only")
        elif kind == "null_for_empty":
            for r in committed:
                if col in r and r[col] is None:
                    r[col] = ""
                    n += 1
            if n:
                notes.append(f"{col}: null for \"\" x{n}")
        used[(dataset, kind, col)] += n
    if page_cols is not None and cols != page_cols:
        problems.append(f"columns differ:\n      query {cols}\n      pages {page_cols}")
    kind_of = dict(zip(cols, kinds))
    want = [{c: normalize(v, kind_of.get(c, ""), False) for c, v in r.items()} for r in committed]
    problems += diff_rows(cols, actual, want, limit=10)
    return not problems, problems, len(actual), notes


def run_sample(raw_dir: Path, days: list[str] | None, pages_dir: Path) -> int:
    import time

    import duckdb_kql

    started = time.monotonic()
    if not raw_dir.is_dir():
        print(f"--sample: {raw_dir} is not a folder", file=sys.stderr)
        return 2
    available = sorted(p.name for p in raw_dir.iterdir() if p.is_dir() and DAY_RE.fullmatch(p.name))
    if days is None:
        days = available
    unknown = [d for d in days if d not in available]
    if unknown or not days:
        print(f"--sample: no raw rows for {', '.join(unknown) or 'any day'} in {raw_dir} "
              f"(write them with sample-data/generate.py --raw {raw_dir})", file=sys.stderr)
        return 2
    try:
        queries = sample_queries()
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 2

    passed = failed = 0
    used: collections.Counter = collections.Counter()
    per_dataset: dict[str, list[int]] = {d: [0, 0, 0] for d in queries}  # passed, failed, rows
    for day in days:
        page_dir = pages_dir / day
        if not page_dir.is_dir():
            print(f"FAIL {day}: no committed pages in {page_dir}")
            failed += 1
            continue
        page_sets = {p.stem for p in page_dir.glob("*.json")}
        for name in sorted(page_sets - set(queries)):
            print(f"FAIL {day} {name}: a committed page file and no query in queries/ for it")
            failed += 1
        con = duckdb_kql.connect()
        try:
            counts = load_tables(con, raw_dir / day)
        except Exception as e:  # noqa: BLE001 - broken raw rows fail the day
            print(f"FAIL {day}: raw rows: {type(e).__name__}: {e}")
            failed += 1
            continue
        loaded = ", ".join(f"{t} {n}" for t, n in counts.items())
        print(f"---- {day} (raw rows: {loaded})")
        for dataset, query in queries.items():
            page_file = page_dir / f"{dataset}.json"
            if not page_file.exists():
                ok, problems, n, notes = False, [f"no committed page file {page_file}"], 0, []
            else:
                ok, problems, n, notes = check_sample_dataset(con, dataset, query, page_file, used)
            per_dataset[dataset][0 if ok else 1] += 1
            per_dataset[dataset][2] += n
            note = f" [{'; '.join(notes)}]" if notes else ""
            if ok:
                passed += 1
                print(f"ok   {day} {dataset}: {n} rows{note}")
            else:
                failed += 1
                print(f"FAIL {day} {dataset}: {query.relative_to(ROOT)} -> {n} rows{note}")
                for p in problems:
                    print(f"    {p}")
        con.close()

    print("per dataset (days passed / failed, rows compared):")
    for dataset, (ok, bad, rows) in per_dataset.items():
        print(f"  {dataset:22} {ok:3d} / {bad:d}  {rows:6d} rows")
    print("known differences of the committed pages (SAMPLE_DIFFERENCES), applied:")
    for dataset, entries in SAMPLE_DIFFERENCES.items():
        for kind, col in entries:
            n = used.get((dataset, kind, col), 0)
            if n == 0:
                failed += 1
                print(f"FAIL stale difference {dataset}.{col} ({kind}): the committed pages no longer differ "
                      f"this way; remove it from SAMPLE_DIFFERENCES")
            else:
                print(f"  {dataset}.{col} ({n} rows): {DIFFERENCE_TEXT[kind]}")
    print(f"sample: {passed} passed, {failed} failed ({len(days)} day(s) x {len(queries)} queries, "
          f"{time.monotonic() - started:.1f} s)")
    return 1 if failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", default=None, metavar="CASE")
    ap.add_argument("--query", action="append", default=[], metavar="CASE=FILE")
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--sample", metavar="RAWDIR", type=Path)
    ap.add_argument("--days", metavar="D1,D2,...")
    ap.add_argument("--pages", metavar="DIR", type=Path, default=PAGES)
    args = ap.parse_args(argv)

    if args.sample is not None:
        if args.only is not None or args.query or args.show or args.list:
            print("--sample does not combine with --only, --query, --show or --list", file=sys.stderr)
            return 2
        days = None
        if args.days:
            days = sorted({d.strip() for d in args.days.split(",") if d.strip()})
        return run_sample(args.sample, days, args.pages)
    if args.days or args.pages != PAGES:
        print("--days and --pages go with --sample", file=sys.stderr)
        return 2

    cases = sorted(p.parent for p in FIXTURES.glob("*/expected.json"))
    if not cases:
        print(f"no fixtures under {FIXTURES}", file=sys.stderr)
        return 2
    overrides = {}
    for item in args.query:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).exists():
            print(f"--query wants CASE=FILE with an existing file, got {item!r}",
                  file=sys.stderr)
            return 2
        overrides[name] = Path(path)
    names = {c.name for c in cases}
    for name in list(overrides) + list(args.only or []):
        if name not in names:
            print(f"unknown case {name!r}; cases: {', '.join(sorted(names))}", file=sys.stderr)
            return 2
    if args.only:
        cases = [c for c in cases if c.name in args.only]
    if args.list:
        for c in cases:
            print(f"{c.name}: {json.loads((c / 'expected.json').read_text())['query']}")
        return 0

    # Every query in queries/ (and queries/legacy/) must be covered by a case.
    covered = {json.loads((c / "expected.json").read_text())["query"]
               for c in sorted(p.parent for p in FIXTURES.glob("*/expected.json"))}
    queries = sorted(str(p.relative_to(ROOT)) for p in
                     list((ROOT / "queries").glob("*.kql")) +
                     list((ROOT / "queries" / "legacy").glob("*.kql")))
    uncovered = [q for q in queries if q not in covered]

    passed = failed = 0
    for case in cases:
        try:
            ok, problems, info = run_case(case, overrides.get(case.name), args.show)
        except Exception as e:  # noqa: BLE001 - a broken fixture fails its case
            ok, problems, info = False, [f"fixture error: {type(e).__name__}: {e}"], {}
        query = overrides.get(case.name) or json.loads(
            (case / "expected.json").read_text())["query"]
        if ok:
            passed += 1
            loaded = ", ".join(f"{t} {n}" for t, n in info.items() if t != "rows")
            print(f"ok   {case.name}: {query} -> {info['rows']} rows (from {loaded})")
        else:
            failed += 1
            print(f"FAIL {case.name}: {query}")
            for p in problems:
                print(f"    {p}")
    if uncovered and not args.only:
        failed += 1
        print(f"FAIL coverage: queries without a fixture: {', '.join(uncovered)}")
    print(f"kql: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
