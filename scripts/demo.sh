#!/usr/bin/env bash
# The README's first command: replay the bundled sample tenant and publish the October 2026
# reports to ./out. It is `cargo run -- run --period 2026-10`, built in the same target folder
# as scripts/test.sh, so the two commands compile the dependencies once, not twice.
# Extra arguments are passed to the job (e.g. `scripts/demo.sh --out /tmp/demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/defender-ledger/target}"
exec cargo run -q -- "$@" run --period 2026-10
