#!/usr/bin/env bash
# Install Azurite (npm) into the cache outside the clone, for tests/blob_store.rs, which starts
# and stops its own instance. Called by scripts/test.sh before `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${AZURITE_BLOB_ENDPOINT:-}" ]; then
  exit 0 # an emulator is already running; the tests use it
fi
bash scripts/azurite.sh install >/dev/null
