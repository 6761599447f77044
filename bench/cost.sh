#!/usr/bin/env bash
# Benchmark: loading a large FOCUS export and computing showback, against the time it takes
# just to decompress the file (zcat) and against DuckDB doing the same aggregation.
#
#   bench/cost.sh [ROWS...]            default: 1000000
#   BENCH_DIR=/tmp/bench bench/cost.sh 1000000 10000000
#   BENCH_PARQUET=0 bench/cost.sh 10000000      (gzip CSV only)
#   BENCH_REPEAT=1 bench/cost.sh                 (one run per tool instead of the median of 3)
#   BENCH_SPLIT=10 bench/cost.sh 10000000        (each charge as 10 rows: 10x the rows of the
#                                                 1M-row tenant, same resources; memory stays flat)
#   BENCH_TYPED=10000000 bench/cost.sh 0         (only: a typed FOCUS Parquet export of that many
#                                                 rows over many resources, doubles and timestamps
#                                                 as Azure writes them, from examples/scale_tenant)
#
# Needs: python3 (the sample-data generator), /usr/bin/time (Debian package `time`), and from
# PyPI `duckdb` (and `pyarrow` for the Parquet variant; skipped when it cannot be installed).
# Generated exports are kept in $BENCH_DIR and reused by later runs.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/defender-ledger-bench}"
GENERATOR="${GENERATOR:-$ROOT/sample-data/generate.py}"
EXPORT=focus-monthly
PERIOD=2026-09
ROWS=("${@:-1000000}")
SPLIT="${BENCH_SPLIT:-1}"
SUFFIX=""; [ "$SPLIT" = 1 ] || SUFFIX="-split$SPLIT"

[ -f "$GENERATOR" ] || { echo "no generator at $GENERATOR (set GENERATOR=...)" >&2; exit 2; }
if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  apt-get install -y -q time >/dev/null
fi
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install -q duckdb
HAVE_PARQUET="${BENCH_PARQUET:-1}"   # BENCH_PARQUET=0 skips the Parquet variant
if [ "$HAVE_PARQUET" = 1 ]; then
  python3 -c 'import pyarrow' 2>/dev/null || python3 -m pip install -q pyarrow || HAVE_PARQUET=0
fi

echo "building the release benchmark binary (the first build takes about 15 minutes)" >&2
(cd "$ROOT" && cargo build --release -q --example showback_bench)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/showback_bench"

# measure NAME CMD... : runs CMD $REPEAT times under /usr/bin/time -v, prints
# "NAME median-seconds max-rss_mb", and sets SECONDS_TAKEN / RSS_MB (the median of the runs,
# so a cold page cache or a noisy neighbour on the first run does not decide the ratio).
REPEAT="${BENCH_REPEAT:-3}"
measure() {
  local name=$1; shift
  local log; log=$(mktemp)
  local times=() rss_max=0 wall rss
  for _ in $(seq "$REPEAT"); do
    /usr/bin/time -v "$@" >"$log.out" 2>"$log" || { cat "$log.out" "$log" >&2; exit 1; }
    wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
    times+=("$(python3 -c "p='$wall'.split(':'); print(round(sum(float(x)*60**i for i,x in enumerate(reversed(p))),2))")")
    rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  SECONDS_TAKEN=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  RSS_MB=$((rss_max / 1024))
  printf "  %-28s %8.2f s %7d MB   (runs: %s)\n" "$name" "$SECONDS_TAKEN" "$RSS_MB" "${times[*]}"
  LAST_OUT="$log.out"
}

duckdb_query() {
  # The same aggregation as the loader, in one pass over the file (grouping sets): September
  # rows summed per month and resource (showback), per day and resource for Defender charges
  # and cluster resources (other rows fall into one group per day and subscription), and per
  # day and resource group (anomalies). Σ cost and row count per group.
  local source=$1
  cat <<SQL
WITH rows AS (
  SELECT CAST(substr(CAST(ChargePeriodStart AS VARCHAR), 1, 10) AS DATE) AS d,
         lower(replace(coalesce(SubAccountId, ''), '/subscriptions/', '')) AS s,
         lower(coalesce(ResourceId, '')) AS r,
         lower(coalesce(x_ResourceGroupName, '')) AS g,
         coalesce(Tags, '') AS t,
         BillingCurrency AS c,
         (x_SkuMeterCategory ILIKE '%defender%'
          AND concat_ws('|', x_SkuMeterName, x_SkuDescription, ChargeDescription) ILIKE '%containers%') AS def,
         CAST(EffectiveCost AS DOUBLE) AS cost
  FROM $source
), keyed AS (
  SELECT *, date_trunc('month', d) AS m,
         CASE WHEN def OR r LIKE '%/providers/microsoft.containerservice/managedclusters/%'
                   OR r LIKE '%/providers/microsoft.kubernetes/connectedclusters/%'
              THEN r END AS dr
  FROM rows WHERE d >= DATE '2026-09-01' AND d < DATE '2026-10-01'
), agg AS (
  SELECT GROUPING(m, g, dr) AS gid, sum(cost) AS cost, count(*) AS n
  FROM keyed
  GROUP BY GROUPING SETS ((m, s, r, g, t, c, def), (d, s, dr, c, def), (d, s, g, c))
)
SELECT gid, count(*) AS groups, sum(n) AS rows_in_period, round(sum(cost), 6) AS total
FROM agg GROUP BY gid ORDER BY gid
SQL
}

run_duckdb() {
  local source=$1
  python3 - "$source" <<PY
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads TO 2")
print(con.execute("""$(duckdb_query "$1")""").fetchall())
PY
}

# generated DIR ROWS [GENERATOR ARGS...]: generate the export into DIR unless a finished one is
# there (kept between runs).
generated() {
  local dir=$1 n=$2; shift 2
  if [ ! -f "$dir/.done" ]; then
    echo "generating $n rows in $dir" >&2
    rm -rf "$dir"
    python3 "$GENERATOR" --cost-only --cost-rows "$n" --split "$SPLIT" "$@" --out "$dir" >/dev/null
    touch "$dir/.done"
  fi
}

# duckdb_run SOURCE-EXPR: DuckDB over the same files; sets t_duck and prints its answer.
duckdb_run() {
  measure "duckdb (same aggregation)" bash -c "$(declare -f run_duckdb duckdb_query); run_duckdb \"$1\""
  t_duck=$SECONDS_TAKEN
  sed 's/^/    /' "$LAST_OUT"
}

for n in "${ROWS[@]}"; do
  [ "$n" = 0 ] && continue   # `bench/cost.sh 0` with BENCH_TYPED runs only the typed case
  dir="$BENCH_DIR/focus-$n$SUFFIX"
  generated "$dir" "$n"
  exports="$dir/cost-exports"
  files=$(find "$exports" -name 'part_*.csv.gz' | sort)
  bytes=$(cat $files | wc -c)
  raw=$(zcat $files | wc -c)
  echo "== $n rows$SUFFIX: $(echo "$files" | wc -l) gzip part(s), $((bytes / 1048576)) MB compressed, $((raw / 1048576)) MB CSV"
  measure "zcat > /dev/null" sh -c "zcat $files > /dev/null"; t_zcat=$SECONDS_TAKEN
  measure "defender-ledger showback" "$BIN" "$exports" "$EXPORT" "$PERIOD"; t_ours=$SECONDS_TAKEN; rss_ours=$RSS_MB
  grep -E "rows_read|resources|aggregate_cells|total_|load_seconds|showback_seconds" "$LAST_OUT" | sed 's/^/    /'
  list=$(echo "$files" | sed "s/.*/'&'/" | paste -sd, -)
  duckdb_run "read_csv([$list], all_varchar=true, header=true)"
  python3 -c "print(f'  ratios: ours/zcat = {$t_ours/max($t_zcat,0.01):.2f}, ours/duckdb = {$t_ours/max($t_duck,0.01):.2f}; peak RSS ours {$rss_ours} MB')"

  if [ "$HAVE_PARQUET" = 1 ]; then
    pdir="$BENCH_DIR/focus-$n$SUFFIX-parquet"
    generated "$pdir" "$n" --format parquet
    pfiles=$(find "$pdir/cost-exports" -name '*.parquet' | sort)
    echo "== $n rows as Parquet: $(( $(cat $pfiles | wc -c) / 1048576 )) MB"
    measure "defender-ledger showback" "$BIN" "$pdir/cost-exports" "$EXPORT" "$PERIOD"; t_ours=$SECONDS_TAKEN
    grep -E "rows_read|total_" "$LAST_OUT" | sed 's/^/    /'
    plist=$(echo "$pfiles" | sed "s/.*/'&'/" | paste -sd, -)
    duckdb_run "read_parquet([$plist])"
    python3 -c "print(f'  ratio: ours/duckdb = {$t_ours/max($t_duck,0.01):.2f}')"
  fi
done

# Typed Parquet over many resources (the shape of a large tenant's Parquet export): the scale
# tenant's generator, one month, no anomaly window, one day of history (not used here).
TYPED="${BENCH_TYPED:-0}"
if [ "$TYPED" != 0 ]; then
  (cd "$ROOT" && cargo build --release -q --example scale_tenant)
  tdir="$BENCH_DIR/focus-$TYPED-typed"
  if [ ! -f "$tdir/.done" ]; then
    echo "generating a typed Parquet export of $TYPED rows in $tdir" >&2
    rm -rf "$tdir"
    SCALE_COST_ROWS="$TYPED" SCALE_COST_WINDOW=0 \
      "${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/scale_tenant" "$tdir" 1 2026-09-30 >/dev/null
    touch "$tdir/.done"
  fi
  tfiles=$(find "$tdir/cost-exports" -name '*.parquet' | sort)
  echo "== $TYPED rows, typed Parquet (scale tenant): $(( $(cat $tfiles | wc -c) / 1048576 )) MB"
  measure "defender-ledger showback" "$BIN" "$tdir/cost-exports" focus-scale "$PERIOD"; t_ours=$SECONDS_TAKEN
  grep -E "rows_read|resources|total_" "$LAST_OUT" | sed 's/^/    /'
  tlist=$(echo "$tfiles" | sed "s/.*/'&'/" | paste -sd, -)
  duckdb_run "read_parquet([$tlist])"
  python3 -c "print(f'  ratio: ours/duckdb = {$t_ours/max($t_duck,0.01):.2f}')"
fi
