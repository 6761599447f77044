#!/usr/bin/env bash
# Benchmark: a year of a large tenant. Generates (once, kept in $BENCH_DIR) a tenant of 1,000
# subscriptions, 4,200 AKS + 800 Arc clusters, 1,500 registries, about 200,000 vulnerability
# rows a day and a typed FOCUS Parquet export of 20M rows in the month, with 365 days of
# daily history; then runs `report --period 2026-09` over the last 30, 180 and 365 days of
# that history and prints wall time, peak RSS (/usr/bin/time -v) and the sizes of history and
# of the published run. Also times one daily `snapshot` of the tenant replayed from Resource
# Graph pages.
#
#   bench/scale.sh                  default: 30 180 365 days
#   bench/scale.sh 30               one history length
#   BENCH_DIR=/data/bench bench/scale.sh
#   BENCH_REPEAT=3 bench/scale.sh   (median of three runs per length; default one)
#   SCALE_* variables size the tenant (see examples/scale_tenant.rs)
#
# Needs: /usr/bin/time (Debian package `time`) and about 25 GB of disk for the 365-day tenant.
# The report's scratch files go to $TMPDIR.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/defender-ledger-bench}/scale"
DAYS=("${@:-30 180 365}")
read -r -a DAYS <<<"${DAYS[*]}"
LAST=2026-09-30
PERIOD=2026-09
REPEAT="${BENCH_REPEAT:-1}"

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  apt-get install -y -q time >/dev/null
fi
echo "building the release binary and generator (the first build takes about 25 minutes)" >&2
(cd "$ROOT" && cargo build --release -q --bin defender-ledger --example scale_tenant)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
BIN="$TARGET/defender-ledger"

# The full history once; shorter histories are its last N days, hard-linked.
max=0; for d in "${DAYS[@]}"; do [ "$d" -gt "$max" ] && max=$d; done
FULL="$BENCH_DIR/tenant-$max"
if [ ! -f "$FULL/.done" ]; then
  echo "generating $max days of history and the cost export in $FULL" >&2
  "$TARGET/examples/scale_tenant" "$FULL" "$max" "$LAST"
  touch "$FULL/.done"
fi

# history_of N: a store holding the last N days of the full history (hard links).
history_of() {
  local n=$1 dir="$BENCH_DIR/history-$1"
  rm -rf "$dir"; mkdir -p "$dir"
  local first; first=$(date -d "$LAST - $((n - 1)) days" +%F)
  (cd "$FULL" && find history -type d -name 'date=*' | while read -r d; do
     day=${d##*date=}
     if [[ ! "$day" < "$first" ]]; then mkdir -p "$dir/$d" && cp -al "$d/." "$dir/$d/"; fi
   done)
  echo "$dir"
}

cat >"$BENCH_DIR/ledger.toml" <<EOF
[cost]
location = "$FULL/cost-exports"
exports = ["focus-scale"]
EOF

# measure NAME CMD...: REPEAT runs under /usr/bin/time -v; prints the median wall time and the
# largest peak RSS.
measure() {
  local name=$1; shift
  local log; log=$(mktemp)
  local times=() rss_max=0 wall rss
  for _ in $(seq "$REPEAT"); do
    /usr/bin/time -v "$@" >"$log.out" 2>"$log" || { tail -20 "$log" >&2; exit 1; }
    wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}')
    times+=("$(python3 -c "p='$wall'.split(':'); print(round(sum(float(x)*60**i for i,x in enumerate(reversed(p))),1))")")
    rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  SECONDS_TAKEN=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  RSS_MB=$((rss_max / 1024))
}

echo "| history | report wall | peak RSS | history size | published run |"
echo "|---|---|---|---|---|"
for n in "${DAYS[@]}"; do
  out=$(history_of "$n")
  for _ in 1; do
    rm -rf "$out/$PERIOD"
    measure "report $n days" env DEFENDER_LEDGER_LOG=warn "$BIN" --config "$BENCH_DIR/ledger.toml" \
      --out "$out" report --period "$PERIOD"
  done
  echo "| $n days | ${SECONDS_TAKEN} s | ${RSS_MB} MB | $(du -sh "$out/history" | cut -f1) | $(du -sh "$out/$PERIOD" | cut -f1) |"
done

# One daily snapshot of the tenant from Resource Graph pages (replayed).
PAGES="$BENCH_DIR/pages"
if [ ! -f "$PAGES/.done" ]; then
  "$TARGET/examples/scale_tenant" --pages "$PAGES" "$LAST"
  touch "$PAGES/.done"
fi
snap="$BENCH_DIR/snapshot-out"
rm -rf "$snap"
measure "snapshot" env DEFENDER_LEDGER_LOG=warn "$BIN" --out "$snap" snapshot --source "$PAGES" --date "$LAST"
echo
echo "One daily snapshot ($(du -sh "$PAGES/resource-graph" | cut -f1) of Resource Graph pages): ${SECONDS_TAKEN} s, peak RSS ${RSS_MB} MB"
