#!/usr/bin/env bash
# Check every query in queries/ with the official Kusto parser and analyser
# (npm @kusto/language-service-next), installed once into a git-ignored cache folder.
#   scripts/check-queries.sh            # install if needed, then check
# KUSTO_LS_DIR overrides the install folder (CI can cache it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="12.4.1"
dir="${KUSTO_LS_DIR:-$root/.cache/kusto-language-service}"
pkg="$dir/node_modules/@kusto/language-service-next/package.json"
if ! command -v node >/dev/null 2>&1; then
  echo "check-queries: node is required (apt-get install nodejs npm)" >&2
  exit 2
fi
if [ ! -f "$pkg" ] || ! grep -q "\"$version\"" "$pkg"; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save --silent \
    "@kusto/language-service-next@$version" >&2
fi
exec node "$root/scripts/check-queries.js" "$dir/node_modules" "$root"
