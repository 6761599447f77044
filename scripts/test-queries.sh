#!/usr/bin/env bash
# Run every Resource Graph query in queries/ (and queries/legacy/) on the raw fixture rows in
# tests/kql/fixtures/ and compare with the expected rows (tests/kql/run_queries.py, DuckDB via
# duckdb-kql). The Python packages, pinned in tests/kql/requirements.txt, go into a git-ignored
# venv that is created on first use and rebuilt when the pins change.
#   scripts/test-queries.sh                          # every case
#   scripts/test-queries.sh --only vulnerabilities   # arguments go to run_queries.py
# KQL_VENV overrides the venv folder (CI can cache it). Exits non-zero when a case fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${KQL_VENV:-$root/.cache/kql-venv}"
req="$root/tests/kql/requirements.txt"
stamp="$venv/.requirements.txt"

if ! command -v python3 >/dev/null 2>&1; then
  echo "test-queries: python3 is required (apt-get install python3 python3-venv)" >&2
  exit 2
fi

# Debian's python3 creates venvs only with python3-venv (ensurepip) installed.
make_venv() {
  rm -rf "$venv"
  python3 -m venv "$venv" >/dev/null 2>&1 && return 0
  rm -rf "$venv"
  echo "test-queries: python3 -m venv failed; installing python3-venv" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 ||
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${pyver}-venv" >/dev/null
  python3 -m venv "$venv"
}

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
  echo "test-queries: creating $venv with the pinned packages of tests/kql/requirements.txt" >&2
  make_venv
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" >&2
  cp "$req" "$stamp"
fi

exec "$venv/bin/python" "$root/tests/kql/run_queries.py" "$@"
