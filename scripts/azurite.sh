#!/usr/bin/env bash
# Azurite (the Azure Storage emulator) for tests and local runs, blob service only.
#
#   scripts/azurite.sh install          install the npm package into the cache, print the binary
#   scripts/azurite.sh start [DIR]      start on 127.0.0.1 on a free port (in memory, or persisted
#                                       in DIR), wait until it answers, print shell exports
#   scripts/azurite.sh stop             stop the instance `start` began
#   scripts/azurite.sh env              print the exports again
#   scripts/azurite.sh container NAME   create a container (signed with the emulator's key)
#
# Typical use:   eval "$(scripts/azurite.sh start)"; cargo test --test blob_store; scripts/azurite.sh stop
#
# The package lives outside the repository, in $AZURITE_HOME (default
# ${XDG_CACHE_HOME:-~/.cache}/defender-ledger/azurite); state (pid, port, log) in
# $AZURITE_STATE (default $AZURITE_HOME/run). Pin another version with AZURITE_VERSION.
set -euo pipefail

AZURITE_VERSION=${AZURITE_VERSION:-3.35.0}
AZURITE_HOME=${AZURITE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/defender-ledger/azurite}
AZURITE_STATE=${AZURITE_STATE:-$AZURITE_HOME/run}
BIN="$AZURITE_HOME/node_modules/.bin/azurite-blob"
# The well-known development account and key every Azurite instance accepts.
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

die() { echo "azurite.sh: $*" >&2; exit 1; }

install() {
  if [[ -x "$BIN" ]] && [[ "$("$BIN" --version 2>/dev/null)" == "$AZURITE_VERSION" ]]; then
    echo "$BIN"; return
  fi
  command -v npm >/dev/null || die "npm is not installed (Node.js 18+ is needed for Azurite)"
  mkdir -p "$AZURITE_HOME"
  echo "installing azurite@$AZURITE_VERSION into $AZURITE_HOME" >&2
  npm install --prefix "$AZURITE_HOME" --no-audit --no-fund --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2
  [[ -x "$BIN" ]] || die "npm finished but $BIN is missing"
  echo "$BIN"
}

print_env() {
  local port; port=$(cat "$AZURITE_STATE/port")
  local ep="http://127.0.0.1:$port/$ACCOUNT"
  echo "export AZURITE_BLOB_ENDPOINT=$ep"
  echo "export AZURITE_ACCOUNT_KEY='$KEY'"
  echo "export AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=$ep;'"
}

start() {
  local dir=${1:-}
  install >/dev/null
  if [[ -f "$AZURITE_STATE/pid" ]] && kill -0 "$(cat "$AZURITE_STATE/pid")" 2>/dev/null; then
    print_env; return
  fi
  mkdir -p "$AZURITE_STATE"
  local persist=(--inMemoryPersistence --extentMemoryLimit 2048)
  if [[ -n "$dir" ]]; then mkdir -p "$dir"; persist=(--location "$dir"); fi
  local log="$AZURITE_STATE/azurite.log"
  : >"$log"
  # Port 0: the kernel picks a free port; Azurite prints the one it got.
  nohup "$BIN" --blobHost 127.0.0.1 --blobPort 0 --skipApiVersionCheck --disableTelemetry \
    "${persist[@]}" >"$log" 2>&1 &
  echo $! >"$AZURITE_STATE/pid"
  local port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's#.*successfully listens on http://127.0.0.1:\([0-9]*\).*#\1#p' "$log" | head -1)
    [[ -n "$port" ]] && break
    kill -0 "$(cat "$AZURITE_STATE/pid")" 2>/dev/null || { cat "$log" >&2; die "Azurite exited"; }
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat "$log" >&2; stop; die "Azurite did not start within 30 s"; }
  echo "$port" >"$AZURITE_STATE/port"
  # Answering: any HTTP status (400 for a bare GET) means the service is up.
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/$ACCOUNT?comp=list" 2>/dev/null; then break; fi
    sleep 0.1
  done
  print_env
}

stop() {
  [[ -f "$AZURITE_STATE/pid" ]] || return 0
  local pid; pid=$(cat "$AZURITE_STATE/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$AZURITE_STATE/pid" "$AZURITE_STATE/port"
}

# One Shared Key-signed `PUT ?restype=container` (the job itself never creates containers).
container() {
  local name=${1:?container name}
  [[ -f "$AZURITE_STATE/port" ]] || die "not running: scripts/azurite.sh start first"
  local port; port=$(cat "$AZURITE_STATE/port")
  local date version=2021-12-02
  date=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')
  local sts
  sts=$(printf 'PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s/%s/%s\nrestype:container' \
    "$date" "$version" "$ACCOUNT" "$ACCOUNT" "$name")
  local hexkey sig
  hexkey=$(printf '%s' "$KEY" | base64 -d | od -An -vtx1 | tr -d ' \n')
  sig=$(printf '%s' "$sts" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 -w0)
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Length: 0" \
    -H "x-ms-date: $date" -H "x-ms-version: $version" \
    -H "Authorization: SharedKey $ACCOUNT:$sig" \
    "http://127.0.0.1:$port/$ACCOUNT/$name?restype=container")
  case "$status" in
    201) echo "created container $name" >&2 ;;
    409) echo "container $name already exists" >&2 ;;
    *) die "creating container $name: HTTP $status" ;;
  esac
}

case "${1:-}" in
  install) install ;;
  start) shift; start "${1:-}" ;;
  stop) stop ;;
  env) print_env ;;
  container) shift; container "${1:-}" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
