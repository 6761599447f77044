#!/usr/bin/env bash
# Check the bundled sample against the real queries. For a set of snapshot days, write the raw
# Resource Graph rows of the sample tenant in Azure's shapes (sample-data/generate.py --raw, built
# from the generator's own objects), run every query of queries/ on them in DuckDB
# (tests/kql/run_queries.py --sample) and compare the result with the committed result pages
# sample-data/resource-graph/<day>/<dataset>.json. Exits non-zero on any difference.
#   bash tests/kql/check_sample.sh                              # the story days below (~30 s)
#   bash tests/kql/check_sample.sh --all                        # every snapshot day (~1-2 min)
#   bash tests/kql/check_sample.sh --days 2026-10-18,2026-10-20
# The raw rows go to a temporary folder removed on exit; SAMPLE_RAW_DIR=<dir> writes them there
# and keeps them. The venv is the one of scripts/test-queries.sh (created on first use).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

# Days that together cover the story of sample-data/README.md.
story_days=(
  2026-09-01  # first snapshot: left-censored findings and alerts, no Arc cluster yet
  2026-09-04  # Arc clusters connected (arc_clusters, Arc policy states, arc-store-berlin scanned)
  2026-09-05  # last Unhealthy day of CVE-2021-44228; CVE-2023-44487 appears on acrsupplychain
  2026-09-09  # ContainerSensor off on Contoso Retail Analytics
  2026-09-15  # aci-retail-feed-import created
  2026-09-17  # aks-platform-ops Healthy while its findings are listed Healthy
  2026-09-22  # vulnerability assessment off on Contoso Supply Chain: its findings and scans vanish
  2026-09-30  # month end
  2026-10-03  # CVE-2024-45490 on aks-payments-prod
  2026-10-06  # the day before the missing snapshot
  2026-10-09  # negative-latency alert
  2026-10-10  # CVE-2011-3374 NotApplicable
  2026-10-12  # Contoso Checkout Prod on the Free tier
  2026-10-17  # last snapshot with the alert of 2026-07-20
  2026-10-18  # alert storm on aks-payments-prod
  2026-10-19  # storm alerts dismissed
  2026-10-20  # Standard again (new enablementTime); arc-store-berlin without scan row; CVE-2024-3094 Healthy
  2026-10-21  # storm alerts resolved
  2026-10-24  # aks-retail-batch autoscales to 40 nodes
  2026-10-27  # back to 4 nodes
  2026-10-29  # 2019 image re-pushed: 107 findings on two pages
  2026-10-31  # last snapshot
)
days="$(IFS=,; echo "${story_days[*]}")"
case "${1:-}" in
  "") ;;
  --all) days="" ;;
  --days) days="${2:?--days wants D1,D2,...}" ;;
  *) echo "usage: check_sample.sh [--all | --days D1,D2,...]" >&2; exit 2 ;;
esac

if [ -n "${SAMPLE_RAW_DIR:-}" ]; then
  raw="$SAMPLE_RAW_DIR"
  mkdir -p "$raw"
else
  raw="$(mktemp -d)"
  trap 'rm -rf "$raw"' EXIT
fi

gen=(--raw "$raw")
run=(--sample "$raw")
if [ -n "$days" ]; then
  gen+=(--raw-days "$days")
  run+=(--days "$days")
fi
# The generator is standard-library Python; the check runs in the venv with duckdb-kql.
python3 "$root/sample-data/generate.py" "${gen[@]}"
bash "$root/scripts/test-queries.sh" "${run[@]}"
