#!/usr/bin/env bash
# The one test command: installs what the tests need (poppler for PDF text checks, Azurite
# and the Kusto parser from npm), then runs every test. Safe on a fresh clone and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build outside the clone so CI and developers reuse one compiled dependency tree.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/defender-ledger/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# System tools the tests call: PDF text extraction and rendering (poppler), PDF structure
# checks of the archival evidence packs (qpdf).
missing=()
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for prep in scripts/prepare-*.sh; do
  [ -e "$prep" ] && bash "$prep"
done

# Every query in queries/ must parse in the official Kusto parser.
bash scripts/check-queries.sh
bash scripts/test-queries.sh
bash tests/kql/check_sample.sh

# Formatting and lints first: a warning fails the run (the [lints] table in Cargo.toml).
cargo fmt --check
cargo clippy --all-targets -- -D warnings

cargo test --no-fail-fast "$@"
