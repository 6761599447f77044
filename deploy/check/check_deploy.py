#!/usr/bin/env python3
"""Checks of the deployment files that schema validators cannot make, run by
scripts/check-deploy.sh inside its virtualenv (see requirements.txt beside this file).

- Bicep: syntax (tree-sitter-bicep), every referenced symbol is declared, and every
  Microsoft.App/jobs resource uses only property names the 2024-03-01 API defines, sets its
  required ones and no read-only ones (models of azure-mgmt-appcontainers 3.1.0).
- The schedules, identity wiring, resources and security settings the documentation promises.
- Every DEFENDER_LEDGER_* variable set anywhere names a real config key (src/config.rs).
- No secret in any deployment file; the custom role can never delete.

Usage: check_deploy.py REPO_ROOT. Prints one line per failure, exits 1 if there is any.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
FAILURES: list[str] = []


def fail(where: str, message: str) -> None:
    FAILURES.append(f"{where}: {message}")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# ---------------------------------------------------------------- configuration keys


def config_env_names() -> set[str]:
    """DEFENDER_LEDGER_<SECTION>_<KEY> for every overridable key in src/config.rs."""
    text = (ROOT / "src/config.rs").read_text()
    pairs = re.findall(r'\(\s*"(\w+)",\s*"(\w+)",\s*Kind::\w+\s*\)', text)
    if not pairs:
        fail("src/config.rs", "no overridable keys found (did the OVERRIDABLE table move?)")
    return {f"DEFENDER_LEDGER_{s.upper()}_{k.upper()}" for s, k in pairs}


# Variables the binary reads that are not config keys (src/main.rs).
EXTRA_LEDGER_VARS = {"DEFENDER_LEDGER_LOG", "DEFENDER_LEDGER_RUN_ID"}


def check_env_name(where: str, name: str, known: set[str]) -> None:
    if name.startswith("DEFENDER_LEDGER_") and name not in known | EXTRA_LEDGER_VARS:
        fail(where, f"{name} is not a configuration key (see src/config.rs)")


# ---------------------------------------------------------------- secrets

SECRET_VALUE = re.compile(
    r"(AccountKey=|SharedAccessSignature=|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY|"
    r"AZURE_CLIENT_SECRET\s*[:=]\s*\S|AZURE_STORAGE_KEY\s*[:=]\s*\S|"
    r"AZURE_STORAGE_CONNECTION_STRING\s*[:=]\s*\S)"
)
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|ACCOUNT_?KEY|CONNECTION_STRING|SAS_TOKEN)", re.I)


def check_no_secrets(paths: list[Path]) -> None:
    for path in paths:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if SECRET_VALUE.search(line):
                fail(f"{rel(path)}:{n}", "looks like a credential; identities authorise every request")


# ---------------------------------------------------------------- Kubernetes


def load_yaml_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def check_kubernetes(known: set[str]) -> None:
    kdir = ROOT / "deploy/kubernetes"
    docs: dict[str, tuple[Path, dict]] = {}
    for path in sorted(kdir.glob("*.yaml")):
        for doc in load_yaml_docs(path):
            docs[f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"] = (path, doc)

    kust_path = kdir / "kustomization.yaml"
    kust = yaml.safe_load(kust_path.read_text())
    listed = set(kust.get("resources", []))
    present = {p.name for p in kdir.glob("*.yaml")} - {"kustomization.yaml"}
    for missing in sorted(listed - present):
        fail(rel(kust_path), f"lists {missing}, which does not exist")
    for unlisted in sorted(present - listed):
        fail(rel(kust_path), f"does not list {unlisted}")
    image_names = {i.get("name") for i in kust.get("images", [])}

    for key, (path, doc) in docs.items():
        if doc.get("kind") == "Secret":
            fail(rel(path), f"{key}: no Secret belongs in the manifests")

    sa = docs.get("ServiceAccount/defender-ledger")
    if not sa:
        fail("deploy/kubernetes", "no ServiceAccount defender-ledger")
    elif "azure.workload.identity/client-id" not in sa[1]["metadata"].get("annotations", {}):
        fail(rel(sa[0]), "ServiceAccount lacks the azure.workload.identity/client-id annotation")

    cm = docs.get("ConfigMap/defender-ledger")
    if cm:
        for name in cm[1].get("data", {}):
            check_env_name(rel(cm[0]), name, known)
            if SECRET_NAME.search(name):
                fail(rel(cm[0]), f"{name}: secrets do not go in a ConfigMap (use the identity)")
        if cm[1].get("data", {}).get("DEFENDER_LEDGER_AZURE_CREDENTIAL") != "workload-identity":
            fail(rel(cm[0]), "DEFENDER_LEDGER_AZURE_CREDENTIAL must be workload-identity on AKS")

    expected = {
        "defender-ledger-snapshot": ("15 0 * * *", r"\bsnapshot --source azure\b"),
        "defender-ledger-report": (
            "0 6 2 * *",
            r'\breport --period "\$\(date -u -d "\$\(date -u \+%Y-%m-01\) -1 day" \+%Y-%m\)"',
        ),
    }
    for name, (schedule, command_re) in expected.items():
        entry = docs.get(f"CronJob/{name}")
        if not entry:
            fail("deploy/kubernetes", f"no CronJob {name}")
            continue
        path, cj = entry
        where = f"{rel(path)} ({name})"
        spec = cj["spec"]
        if spec.get("schedule") != schedule:
            fail(where, f"schedule is {spec.get('schedule')!r}, expected {schedule!r}")
        if spec.get("timeZone") not in ("Etc/UTC", "UTC"):
            fail(where, "timeZone must be Etc/UTC (the schedules are in UTC)")
        if spec.get("concurrencyPolicy") != "Forbid":
            fail(where, "concurrencyPolicy must be Forbid")
        job = spec["jobTemplate"]["spec"]
        pod = job["template"]
        if pod["metadata"].get("labels", {}).get("azure.workload.identity/use") != "true":
            fail(where, 'pod label azure.workload.identity/use: "true" is missing')
        pspec = pod["spec"]
        if pspec.get("serviceAccountName") != "defender-ledger":
            fail(where, "serviceAccountName must be defender-ledger")
        if pspec.get("restartPolicy") != "Never":
            fail(where, "restartPolicy must be Never (podFailurePolicy needs it)")
        if not pspec.get("securityContext", {}).get("runAsNonRoot"):
            fail(where, "pod securityContext.runAsNonRoot must be true")
        rules = job.get("podFailurePolicy", {}).get("rules", [])
        no_retry = {
            c
            for r in rules
            if r.get("action") == "FailJob"
            for c in r.get("onExitCodes", {}).get("values", [])
        }
        if not {2, 3} <= no_retry:
            fail(where, "podFailurePolicy must fail the Job at once on exit codes 2 and 3")
        for c in pspec["containers"]:
            cwhere = f"{where} container {c['name']}"
            if c.get("image") not in image_names:
                fail(cwhere, f"image {c.get('image')!r} is not set by kustomization.yaml images")
            command = " ".join(c.get("command", []) + c.get("args", []))
            if not re.search(command_re, command):
                fail(cwhere, f"command {command!r} does not match {command_re!r}")
            res = c.get("resources", {})
            for k in ("cpu", "memory"):
                if k not in res.get("requests", {}):
                    fail(cwhere, f"resources.requests.{k} is missing")
            if "memory" not in res.get("limits", {}):
                fail(cwhere, "resources.limits.memory is missing")
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(cwhere, "allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(cwhere, "readOnlyRootFilesystem must be true")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                fail(cwhere, "capabilities must drop ALL")
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            if "/tmp" not in mounts:
                fail(cwhere, "needs a writable /tmp (read-only root filesystem)")
            for e in c.get("env", []):
                check_env_name(cwhere, e["name"], known)
                if "valueFrom" not in e and SECRET_NAME.search(e["name"]):
                    fail(cwhere, f"{e['name']}: no literal secret in a manifest")


# ---------------------------------------------------------------- Bicep

def bicep_syntax_and_symbols(path: Path) -> bool:
    """False when the file does not parse."""
    import tree_sitter_bicep
    from tree_sitter import Language, Parser

    tree = Parser(Language(tree_sitter_bicep.language())).parse(path.read_bytes())
    errors: list = []

    def find_errors(node) -> None:
        if node.type == "ERROR" or node.is_missing:
            errors.append(node)
            return
        for child in node.children:
            find_errors(child)

    find_errors(tree.root_node)
    for node in errors[:10]:
        line, col = node.start_point
        fail(f"{rel(path)}:{line + 1}:{col + 1}", f"Bicep syntax error near {node.text.decode()[:40]!r}")
    if errors:
        return False

    declared: set[str] = set()
    references: list = []
    declarations = {
        "parameter_declaration",
        "variable_declaration",
        "resource_declaration",
        "output_declaration",
        "module_declaration",
        "type_declaration",
        "user_defined_function",
    }

    def walk(node, in_for_head: bool = False) -> None:
        if node.type == "identifier":
            parent = node.parent
            index = next(i for i, ch in enumerate(parent.children) if ch.id == node.id)
            if parent.type in declarations and index == 1:
                declared.add(node.text.decode())
            elif in_for_head:
                declared.add(node.text.decode())
            elif parent.type == "object_property" and index == 0:
                pass  # a property name
            elif parent.type == "call_expression" and parent.field_name_for_child(index) == "function":
                pass  # a function name
            elif parent.type == "member_expression" and index > 0:
                pass  # .property
            else:
                references.append(node)
        for i, child in enumerate(node.children):
            head = node.type in ("for_statement", "for_expression") and child.type in (
                "identifier",
                "for_variable_block",
            )
            walk(child, in_for_head or head)

    walk(tree.root_node)
    for node in references:
        name = node.text.decode()
        if name not in declared and name not in ("az", "sys"):
            line, col = node.start_point
            fail(f"{rel(path)}:{line + 1}:{col + 1}", f"'{name}' is not declared")
    return True


def model_tree(model) -> dict:
    """REST property tree of an SDK model: {restName: (attr, type) or {nested...}}."""
    tree: dict = {}
    for attr, spec in model._attribute_map.items():
        parts = [p.replace("\\.", ".") for p in re.split(r"(?<!\\)\.", spec["key"])]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = (attr, spec["type"])
    return tree


def check_against_model(where: str, value, model, models, is_resource: bool = False) -> None:
    if not isinstance(value, dict):
        return  # an expression: checked by Azure at deployment time
    validation = getattr(model, "_validation", {})
    tree = model_tree(model)

    def visit(prefix: str, value: dict, tree: dict) -> None:
        for key, item in value.items():
            if is_resource and prefix == "" and key == "name":
                continue  # the resource name: read-only in the model, required in Bicep
            if key not in tree:
                fail(where, f"unknown property {prefix}{key} (known: {', '.join(sorted(tree))})")
                continue
            node = tree[key]
            if isinstance(node, dict):
                if isinstance(item, dict):
                    visit(f"{prefix}{key}.", item, node)
                continue
            attr, typ = node
            if validation.get(attr, {}).get("readonly"):
                fail(where, f"{prefix}{key} is read-only")
            inner = typ.strip("[]")
            sub = getattr(models, inner, None)
            if sub is None or not hasattr(sub, "_attribute_map"):
                continue
            if typ.startswith("[") and isinstance(item, list):
                for n, element in enumerate(item):
                    check_against_model(f"{where} {prefix}{key}[{n}]", element, sub, models)
            elif not typ.startswith("[") and not typ.startswith("{"):
                check_against_model(f"{where} {prefix}{key}", item, sub, models)

    visit("", value, tree)
    present = set()

    def collect(prefix: str, value: dict) -> None:
        for key, item in value.items():
            present.add(prefix + key)
            if isinstance(item, dict):
                collect(prefix + key + ".", item)

    collect("", value)
    for attr, rule in validation.items():
        if rule.get("required"):
            key = model._attribute_map[attr]["key"].replace("\\.", ".")
            if key not in present:
                fail(where, f"required property {key} is missing")


def check_bicep(known: set[str]) -> None:
    from azure.mgmt.appcontainers import models
    from pycep import BicepParser

    for path in sorted((ROOT / "deploy").rglob("*.bicep")):
        if not bicep_syntax_and_symbols(path):
            continue
        try:
            doc = BicepParser().parse(file_path=path)
        except Exception as e:  # pycep's grammar is stricter than Bicep's in places
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            fail(rel(path), f"pycep cannot parse it: {first}")
            continue
        params = doc.get("parameters", {})
        variables = doc.get("variables", {})
        for name, res in doc.get("resources", {}).items():
            where = f"{rel(path)} resource {name}"
            config = res["config"]
            if res["type"] != "Microsoft.App/jobs":
                continue
            if res["api_version"] != "2024-03-01":
                fail(where, f"api version {res['api_version']} is not the one checked (2024-03-01)")
            check_against_model(where, config, models.Job, models, is_resource=True)
            identity = config.get("identity", {})
            if identity.get("type") != "UserAssigned":
                fail(where, "identity.type must be UserAssigned")
            conf = config.get("properties", {}).get("configuration", {})
            if conf.get("triggerType") != "Schedule":
                fail(where, "triggerType must be Schedule")
            if "secrets" in conf:
                fail(where, "no secrets: the managed identity authorises every request")
            timeout = conf.get("replicaTimeout")
            if not isinstance(timeout, int) or timeout >= 86400:
                fail(where, "replicaTimeout must be a literal under one day (no overlapping runs)")
            sched = conf.get("scheduleTriggerConfig", {})
            if sched.get("parallelism") != 1 or sched.get("replicaCompletionCount") != 1:
                fail(where, "one replica per execution (parallelism 1, replicaCompletionCount 1)")
            cron = sched.get("cronExpression")
            cron = params.get(cron, {}).get("default", cron) if isinstance(cron, str) else cron
            want = "15 0 * * *" if "snapshot" in config.get("name", "") else "0 6 2 * *"
            if cron != want:
                fail(where, f"schedule is {cron!r}, expected {want!r}")
            for c in config.get("properties", {}).get("template", {}).get("containers", []):
                env = c.get("env")
                env = variables.get(env, {}).get("value", env) if isinstance(env, str) else env
                names = [e.get("name") for e in env or []]
                if "AZURE_CLIENT_ID" not in names:
                    fail(where, "AZURE_CLIENT_ID must name the user-assigned identity")
                for e in env or []:
                    check_env_name(where, e.get("name", ""), known)
                    if "secretRef" in e or SECRET_NAME.search(e.get("name", "")):
                        fail(where, f"{e.get('name')}: no secrets")
                command = " ".join((c.get("command") or []) + (c.get("args") or []))
                if "snapshot" in config.get("name", ""):
                    if "snapshot --source azure" not in command:
                        fail(where, f"command {command!r} is not a live snapshot")
                elif '--period "$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)"' not in command:
                    fail(where, f"command {command!r} does not report the previous month")
                if "resources" not in c:
                    fail(where, "container resources (cpu, memory) must be set")


# ---------------------------------------------------------------- image, config, role


def check_image_and_config(known: set[str]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    if len(stages) < 2:
        fail("Dockerfile", "must be multi-stage (build, then runtime)")
    runtime = dockerfile[dockerfile.rfind("\nFROM ") :]
    user = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    if not user or user[-1].split(":")[0] in ("root", "0"):
        fail("Dockerfile", "the runtime stage must end as a non-root USER")
    if not re.search(r'^ENTRYPOINT \["/usr/local/bin/defender-ledger"\]', runtime, re.M):
        fail("Dockerfile", "ENTRYPOINT must be the binary, /usr/local/bin/defender-ledger")
    if "ca-certificates" not in runtime:
        fail("Dockerfile", "the runtime stage needs CA certificates")
    if "--locked" not in dockerfile:
        fail("Dockerfile", "cargo build must use --locked")
    for m in re.finditer(r"^(?:ENV|ARG)\s+(\w+)", dockerfile, re.M):
        if SECRET_NAME.search(m.group(1)) or m.group(1).startswith("AZURE_"):
            fail("Dockerfile", f"{m.group(1)}: credentials are never built into the image")
    ignore = (ROOT / ".dockerignore").read_text().split()
    for must in (".git", "target", "out", ".env"):
        if must not in ignore:
            fail(".dockerignore", f"must exclude {must}")

    cfg_path = ROOT / "deploy/defender-ledger.toml"
    cfg = tomllib.loads(cfg_path.read_text())
    for section, table in cfg.items():
        for key in table:
            check_env_name(rel(cfg_path), f"DEFENDER_LEDGER_{section.upper()}_{key.upper()}", known)
    if cfg.get("source", {}).get("replay_dir"):
        fail(rel(cfg_path), "the image collects from Azure: no [source] replay_dir")

    for path in sorted((ROOT / "deploy/roles").glob("*.json")):
        role = json.loads(path.read_text())
        granted = role.get("Actions", []) + role.get("DataActions", [])
        for action in granted:
            if "*" in action or re.search(r"/(delete|move/action|permanentDelete/action)$", action, re.I) \
                    or "immutableStorage" in action or "deleteBlobVersion" in action:
                fail(rel(path), f"{action}: the writer role must never delete, move or override")
        for need in ("blobs/read", "blobs/write", "blobs/add/action"):
            if not any(a.endswith(need) for a in role.get("DataActions", [])):
                fail(rel(path), f"DataActions lacks .../{need}")


def main() -> int:
    known = config_env_names()
    check_kubernetes(known)
    check_bicep(known)
    check_image_and_config(known)
    files = [ROOT / "Dockerfile", ROOT / ".dockerignore"] + [
        p for p in (ROOT / "deploy").rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".bicep", ".json", ".toml")
    ]
    check_no_secrets(files)
    for line in FAILURES:
        print(f"FAIL {line}")
    if not FAILURES:
        print(f"deploy checks: {len(files)} files, no finding")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
