#!/usr/bin/env bash
# Pull 200k rows from the local Resource Graph fake at a quota of 15 requests per 5 s with
# 100 ms latency, and report the achieved time against the quota-limited minimum.
#   bench/resource-graph.sh [rows] [quota] [window_secs] [latency_ms]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --example rg_bench -- "$@"
