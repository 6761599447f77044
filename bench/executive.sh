#!/usr/bin/env bash
# Benchmark: the executive report and its annex at three tenant sizes. Renders a synthetic
# tenant (the KPI set and lists of tests/executive_pdf.rs, grown to N subscriptions: gaps,
# management groups, unprotected resources, owners and showback lines grow with it) and prints,
# per size, the pages of the report (at most 6 at any size) and of the annex, the render time
# of both and their sizes. The renderer is the one the job runs; only its input is synthetic.
#
#   bench/executive.sh                 default: 24 200 1000 subscriptions
#   bench/executive.sh 24 5000         other sizes
#
# Dev build (the test profile), so times are those of a debug build with dependencies at
# opt-level 1; a release build renders several times faster. Needs poppler-utils (pdfinfo) for
# page counts. Not part of the test suite: the benchmark is an ignored test that this script runs
# on its own.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SIZES="${*:-24 200 1000}"
if ! command -v pdftotext >/dev/null; then
  echo "pdftotext not found: page counts will show as ? (apt-get install poppler-utils)" >&2
fi
cd "$ROOT"
EXECUTIVE_BENCH_SIZES="$SIZES" cargo test -q --test executive_pdf -- --ignored --exact \
  bench_executive_sizes --nocapture --test-threads 1 2>&1 | grep '^|'
