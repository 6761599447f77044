"""Print the column types DuckDB and pyarrow read from every Parquet file under a folder.

Used by tests/finance_files.rs: the run's data/*.parquet must reach a warehouse with their
types (amounts as DECIMAL, dates as dates, counts as integers), as two independent readers
see them. Output: one JSON object, {"<file>": [[column, duckdb type, pyarrow type], ...]}.

    python parquet_types.py <folder>
"""

import json
import pathlib
import sys

import duckdb
import pyarrow.parquet as pq


def types_of(path: pathlib.Path) -> list:
    con = duckdb.connect()
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    arrow = pq.read_schema(path)
    # Reading every row too: a type that only fails on its values must fail here.
    pq.read_table(path)
    con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()
    return [[name, duck, str(arrow.field(name).type)] for name, duck, *_ in described]


def main() -> None:
    folder = pathlib.Path(sys.argv[1])
    out = {p.name: types_of(p) for p in sorted(folder.glob("*.parquet"))}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
