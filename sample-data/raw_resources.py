"""Raw Resource Graph rows of the sample tenant, for checking the sample against the queries.

``generate.py --raw DIR`` calls :func:`write_raw`. For each chosen snapshot day it writes
``DIR/<day>/<table>.json``: one JSON array per Resource Graph table (``resources``,
``resourcecontainers``, ``securityresources``, ``kubernetesconfigurationresources``,
``policyresources``) holding the rows Azure would have stored that day, in Azure's shapes
(standard columns ``id, name, type, tenantId, kind, location, resourceGroup, subscriptionId,
managedBy`` and the dynamic ``sku, plan, properties, tags, identity, zones, extendedLocation``).

The rows are built from the same generator objects as the committed result pages
(subscriptions, plans, clusters, registries, container groups, alerts, findings, scan runs,
policy states), by inverting each query's projection. ``tests/kql/run_queries.py --sample DIR``
runs the real queries of ``queries/`` on them and compares the result with the committed
``resource-graph/<day>/<dataset>.json`` pages. The shapes follow the raw rows of
``tests/kql/fixtures/*/``, which say where each comes from; what Microsoft does not document is
marked ASSUMED here too:

* subscriptions (``resourcecontainers``): ``properties.managementGroupAncestorsChain`` (parent
  first, Tenant Root Group last), ``properties.state``; resource groups and management groups sit
  in the same table and are excluded by the query;
* Defender plans (``securityresources``, ``microsoft.security/pricings``): the pricing
  properties of the 2024-01-01 examples, extension ``isEnabled`` as the strings ``"True"`` /
  ``"False"``, ``deprecated`` a real boolean (``false`` written out on the current plan, as the
  Pricing model allows: the sample's ``deprecated`` column is never null), no ``subPlan``
  (Containers has none); the VirtualMachines and CloudPosture plans are excluded;
* AKS (``resources``): ``properties.agentPoolProfiles`` with exactly the keys of the sample's
  ``agentPools`` (name, count, vmSize, mode), ``securityProfile.defender.securityMonitoring.enabled``
  (no ``defender`` profile where ``defenderEnabled`` is null), the Azure Policy add-on under
  ``azurepolicy`` on some clusters and ``azurePolicy`` on others; the node scale sets are
  excluded;
* registries, Arc clusters, container groups (``resources``); the Defender extension of the Arc
  clusters in ``kubernetesconfigurationresources`` (Resource Graph's PascalCase bag, ARM camelCase
  on arc-dc-frankfurt), next to an Azure Monitor extension the query must not pick;
* alerts (``securityresources``, ``microsoft.security/locations/alerts``): Resource Graph's
  PascalCase bag; node-level (``K8S.NODE_``) alerts list a LogAnalytics identifier before the
  AzureResource one;
* vulnerability findings: one individual SoftwareUpdate assessment per finding (the sample's
  assessment id is derived from the image digest and the CVE, so each assessment holds one CVE),
  ``additionalData.CvesDetails`` a JSON *string*. ASSUMED, as in the fixture: registry images have
  ``resourceDetails.Id`` ``/repositories/<repo>/images/<digest>``, running containers the cluster
  id, both a ``NativeResourceId`` ``<host>/<repo>@<digest>``; the CVE item carries ``CvssScore``
  and, when the fix status is not ``FixAvailable`` (which comes from a non-empty
  ``FixedVersion``), ``FixStatus``; the scan time is ``status.statusChangeDate``;
* scan status: the parent assessments c0b7cfc6 (registry) and c609cf0f (cluster);
* policy states (``policyresources``): the PolicyStates record of the policyinsights examples.

Standard library only; deterministic (no clock, no unseeded randomness).
"""

from __future__ import annotations

import hashlib
import json
import os

TABLES = ("resources", "resourcecontainers", "securityresources", "kubernetesconfigurationresources",
          "policyresources")
DYNAMIC = ("sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation")
DEFENDER_EXTENSION = "microsoft.azuredefender.kubernetes"
SCAN_DISPLAY = {
    "registry": "Azure registry container images should have vulnerabilities resolved (powered by Microsoft "
                "Defender Vulnerability Management)",
    "runtime": "Azure running container images should have vulnerabilities resolved (powered by Microsoft "
               "Defender Vulnerability Management)",
}
OFF_BY_POLICY = "The effect of the assessment's policy definition is set to disabled"


def arm_parts(resource_id: str) -> tuple[str, str]:
    """(resource group, resource type) of an ARM id; ("", "Microsoft.Resources/subscriptions") for a
    subscription."""
    seg = resource_id.strip("/").split("/")
    rg = seg[3] if len(seg) > 3 and seg[2].lower() == "resourcegroups" else ""
    if "providers" not in seg:
        return rg, "Microsoft.Resources/subscriptions"
    i = len(seg) - 1 - seg[::-1].index("providers")
    rest = seg[i + 1:]
    return rg, "/".join([rest[0]] + rest[1::2])


class Raw:
    """The raw rows of one day, per table."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        self.tables: dict[str, list[dict]] = {t: [] for t in TABLES}

    def add(self, table: str, id_: str, name: str, type_: str, sub_id: str, *, rg: str = "", location: str = "",
            kind: str = "", managed_by: str = "", **dynamic) -> dict:
        unknown = set(dynamic) - set(DYNAMIC)
        if unknown:
            raise ValueError(f"not a Resource Graph column: {sorted(unknown)}")
        row = {"id": id_, "name": name, "type": type_, "tenantId": self.tenant_id, "kind": kind,
               "location": location, "resourceGroup": rg, "subscriptionId": sub_id, "managedBy": managed_by}
        for col in DYNAMIC:
            row[col] = dynamic.get(col)
        self.tables[table].append(row)
        return row


def version_of(*parts: object) -> str:
    """A made-up but stable package version (the FixedVersion of a finding)."""
    h = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return f"{1 + h[0] % 9}.{h[1] % 20}.{h[2] % 30}"


# ---- resourcecontainers -----------------------------------------------------------------


def add_containers(raw: Raw, g, subs) -> None:
    for mg, (display, parent) in g.MANAGEMENT_GROUPS.items():
        chain = g.mg_chain(parent) if parent else [{"name": g.TENANT_ID, "displayName": "Tenant Root Group"}]
        raw.add("resourcecontainers", f"/providers/Microsoft.Management/managementGroups/{mg}", mg,
                "microsoft.management/managementgroups", "",
                properties={"displayName": display,
                            "details": {"parent": {"name": chain[0]["name"],
                                                   "displayName": chain[0]["displayName"]}},
                            "managementGroupAncestorsChain": chain})
    for s in subs:
        raw.add("resourcecontainers", f"/subscriptions/{s.id}", s.name, "microsoft.resources/subscriptions", s.id,
                tags=s.tags,
                properties={"managedByTenants": [],
                            "managementGroupAncestorsChain": [{"displayName": m["displayName"], "name": m["name"]}
                                                              for m in g.mg_chain(s.mg)],
                            "state": s.state,
                            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                                     "quotaId": "EnterpriseAgreement_2014-09-01",
                                                     "spendingLimit": "Off"}})
        groups = {}
        for res in list(s.aks) + list(s.registries) + list(s.arcs) + list(s.acis) + list(s.others):
            groups.setdefault(res.rg, res.location)
        for a in s.aks:
            groups.setdefault(a.node_rg, a.location)
        for rg, location in groups.items():
            raw.add("resourcecontainers", f"/subscriptions/{s.id}/resourceGroups/{rg}", rg,
                    "microsoft.resources/subscriptions/resourcegroups", s.id, rg=rg.lower(), location=location,
                    properties={"provisioningState": "Succeeded"})


# ---- securityresources: pricings ------------------------------------------------------------


def add_pricings(raw: Raw, g, subs, day) -> None:
    for s in subs:
        base = f"/subscriptions/{s.id}/providers/Microsoft.Security/pricings"
        tier, enabled_at, ext = g.plan_on(s, day)
        items = g.plan_extensions(s, tier, ext)
        props = {"pricingTier": tier, "freeTrialRemainingTime": "PT0S"}
        if enabled_at:
            props["enablementTime"] = enabled_at
        props.update({"deprecated": False, "enforce": "False", "inherited": "False", "inheritedFrom": None,
                      "resourcesCoverageStatus": "FullyCovered" if tier == "Standard" else "NotCovered",
                      "extensions": items})
        raw.add("securityresources", f"{base}/Containers", "Containers", "microsoft.security/pricings", s.id,
                properties=props)
        if s.deprecated_plans:
            for plan in ("KubernetesService", "ContainerRegistry"):
                raw.add("securityresources", f"{base}/{plan}", plan, "microsoft.security/pricings", s.id,
                        properties={"pricingTier": "Free", "freeTrialRemainingTime": "PT0S", "enforce": "False",
                                    "resourcesCoverageStatus": "NotCovered", "deprecated": True,
                                    "replacedBy": ["Containers"]})
        # Other plans of the same subscription: not container plans, left out by the query.
        raw.add("securityresources", f"{base}/VirtualMachines", "VirtualMachines", "microsoft.security/pricings",
                s.id, properties={"pricingTier": "Free", "freeTrialRemainingTime": "PT0S", "enforce": "False",
                                  "resourcesCoverageStatus": "NotCovered"})
        raw.add("securityresources", f"{base}/CloudPosture", "CloudPosture", "microsoft.security/pricings", s.id,
                properties={"pricingTier": "Free", "freeTrialRemainingTime": "PT0S", "enforce": "False",
                            "resourcesCoverageStatus": "NotCovered"})


# ---- resources ----------------------------------------------------------------------------


def add_aks(raw: Raw, g, seed, subs, day) -> None:
    n = 0
    for s in subs:
        workspace = (f"/subscriptions/{s.id}/resourceGroups/DefaultResourceGroup-WEU/providers/"
                     f"Microsoft.OperationalInsights/workspaces/DefaultWorkspace-{s.id}-WEU")
        for a in s.aks:
            # Both spellings of the add-on key occur in Azure; alternate them over the clusters.
            addon = "azurePolicy" if n % 2 else "azurepolicy"
            n += 1
            network = {"networkPlugin": "azure", "loadBalancerSku": "standard", "outboundType": "loadBalancer"}
            if a.netpol:
                network["networkPolicy"] = a.netpol
            props = {
                "provisioningState": "Succeeded",
                "powerState": {"code": a.power},
                "kubernetesVersion": ".".join(a.k8s.split(".")[:2]),
                "currentKubernetesVersion": a.k8s,
                "dnsPrefix": a.name,
                "fqdn": f"{a.name}-{a.sub.id[:8]}.hcp.{a.location}.azmk8s.io",
                "agentPoolProfiles": [{"name": p.name, "count": g.pool_count(seed, a, p, day), "vmSize": p.vm_size,
                                       "mode": p.mode} for p in a.pools],
                "nodeResourceGroup": a.node_rg,
                "enableRBAC": a.rbac,
                "aadProfile": {"managed": a.aad, "enableAzureRBAC": a.aad, "tenantID": g.TENANT_ID},
                "networkProfile": network,
                "addonProfiles": {addon: {"enabled": a.azpolicy, "config": None}},
            }
            if a.defender is not None:
                props["securityProfile"] = {"defender": {"logAnalyticsWorkspaceResourceId": workspace,
                                                         "securityMonitoring": {"enabled": a.defender}}}
            raw.add("resources", a.id, a.name, "microsoft.containerservice/managedclusters", s.id, rg=a.rg,
                    location=a.location, tags=a.tags,
                    sku={"name": "Base", "tier": "Standard" if a.uptime_sla else "Free"},
                    identity={"type": "SystemAssigned"}, properties=props)
            # The node pools' scale sets live in the node resource group: not clusters.
            for p in a.pools:
                name, _ = g.vmss_name(a, p)
                raw.add("resources", f"/subscriptions/{s.id}/resourceGroups/{a.node_rg}/providers/"
                        f"Microsoft.Compute/virtualMachineScaleSets/{name}", name,
                        "microsoft.compute/virtualmachinescalesets", s.id, rg=a.node_rg.lower(), location=a.location,
                        tags=dict(a.tags or {}, **{"aks-managed-poolName": p.name}),
                        sku={"name": p.vm_size, "tier": "Standard", "capacity": g.pool_count(seed, a, p, day)},
                        properties={"provisioningState": "Succeeded", "orchestrationMode": "Uniform"})


def add_registries(raw: Raw, subs) -> None:
    for s in subs:
        for r in s.registries:
            raw.add("resources", r.id, r.name, "microsoft.containerregistry/registries", s.id, rg=r.rg,
                    location=r.location, tags=r.tags, sku={"name": r.sku, "tier": r.sku},
                    properties={"loginServer": f"{r.name}.azurecr.io", "adminUserEnabled": r.admin,
                                "publicNetworkAccess": r.public, "provisioningState": "Succeeded",
                                "zoneRedundancy": "Disabled"})


def add_arcs(raw: Raw, subs, day) -> None:
    for s in subs:
        for c in s.arcs:
            if day < c.onboarded:
                continue
            raw.add("resources", c.id, c.name, "microsoft.kubernetes/connectedclusters", s.id, rg=c.rg,
                    location=c.location, tags=c.tags, identity={"type": "SystemAssigned"},
                    properties={"agentVersion": "1.21.10", "kubernetesVersion": c.k8s, "distribution": c.distribution,
                                "infrastructure": "generic", "totalNodeCount": c.nodes, "totalCoreCount": c.cores,
                                "connectivityStatus": c.connectivity, "provisioningState": "Succeeded"})
            ext_base = f"{c.id}/providers/Microsoft.KubernetesConfiguration/extensions"
            raw.add("kubernetesconfigurationresources", f"{ext_base}/azuremonitor-containers",
                    "azuremonitor-containers", "microsoft.kubernetesconfiguration/extensions", s.id, rg=c.rg,
                    properties={"ExtensionType": "microsoft.azuremonitor.containers",
                                "ProvisioningState": "Succeeded", "InstallState": "Installed"})
            if c.ext_state is None:
                continue
            installed = "Installed" if c.ext_state == "Succeeded" else "Failed"
            if c.name.startswith("arc-dc-frankfurt"):
                props = {"extensionType": DEFENDER_EXTENSION, "provisioningState": c.ext_state,
                         "autoUpgradeMinorVersion": True, "releaseTrain": "stable",
                         "scope": {"cluster": {"releaseNamespace": "mdc"}}}
            else:
                props = {"ExtensionType": DEFENDER_EXTENSION, "ProvisioningState": c.ext_state,
                         "InstallState": installed, "Scope": {"cluster": {"ReleaseNamespace": "mdc"}}}
            raw.add("kubernetesconfigurationresources", f"{ext_base}/{DEFENDER_EXTENSION}", DEFENDER_EXTENSION,
                    "microsoft.kubernetesconfiguration/extensions", s.id, rg=c.rg, properties=props)


def add_container_groups(raw: Raw, g, subs, day) -> None:
    for s in subs:
        for grp in s.acis:
            if grp.created is not None and day < grp.created:
                continue
            ports = [{"protocol": "TCP", "port": p} for c in grp.containers for p in c.ports]
            props = {"sku": grp.sku, "provisioningState": "Succeeded",
                     "containers": [g.aci_container_item(c) for c in grp.containers],
                     "restartPolicy": "OnFailure", "osType": grp.os_type}
            if grp.ip_type == "Private":
                props["ipAddress"] = {"ports": ports, "ip": grp.ip, "type": "Private"}
                props["subnetIds"] = [{"id": f"/subscriptions/{s.id}/resourceGroups/{grp.rg}/providers/"
                                             f"Microsoft.Network/virtualNetworks/vnet-{grp.rg}/subnets/aci"}]
            elif grp.ip_type == "Public":
                props["ipAddress"] = {"ports": ports, "ip": grp.ip, "type": "Public"}
            if grp.sku == "Confidential":
                props["confidentialComputeProperties"] = {"ccePolicy": ""}
            raw.add("resources", grp.id, grp.name, "microsoft.containerinstance/containergroups", s.id, rg=grp.rg,
                    location=grp.location, tags=grp.tags, properties=props)


def add_others(raw: Raw, subs) -> None:
    """Non-container resources of the cost exports: in the same table, left out by every query."""
    seen = set()
    for s in subs:
        for o in s.others:
            rid = f"/subscriptions/{s.id}/resourceGroups/{o.rg}/providers/{o.provider}/{o.name}"
            if rid.lower() in seen:
                continue
            seen.add(rid.lower())
            raw.add("resources", rid, o.name, o.provider.lower(), s.id, rg=o.rg, location=o.location, tags=o.tags,
                    properties={"provisioningState": "Succeeded"})


# ---- securityresources: alerts, findings, scan status ------------------------------------------


def add_alerts(raw: Raw, g, alerts, day) -> None:
    for a in g.alerts_listed(alerts, day):
        identifiers = [{"AzureResourceId": a.resource_id, "Type": "AzureResource"}]
        if a.alert_type.startswith("K8S.NODE_"):
            identifiers.insert(0, {"WorkspaceId": g.stable_guid("workspace", a.sub.id),
                                   "WorkspaceSubscriptionId": a.sub.id,
                                   "WorkspaceResourceGroup": "DefaultResourceGroup-WEU",
                                   "AgentId": g.stable_guid("agent", a.resource_id.lower()), "Type": "LogAnalytics"})
        raw.add("securityresources", g.alert_id(a), a.system_id, "microsoft.security/locations/alerts", a.sub.id,
                rg=a.rg, location=a.location,
                properties={"Status": a.status_on(day), "Severity": a.severity, "Intent": a.intent,
                            "AlertType": a.alert_type, "AlertDisplayName": a.display, "SystemAlertId": a.system_id,
                            "ProductName": "Microsoft Defender for Cloud", "VendorName": "Microsoft",
                            "StartTimeUtc": g.iso7(a.start), "EndTimeUtc": g.iso7(a.start),
                            "TimeGeneratedUtc": g.iso7(a.generated), "CompromisedEntity": a.entity,
                            "ResourceIdentifiers": identifiers, "IsIncident": False})


def add_findings(raw: Raw, g, seed, findings, day) -> None:
    for f in findings:
        status = g.finding_status(f, day)
        if status is None:
            continue
        assessment_id = g.finding_assessment_id(f)
        image = f"{f.host}/{f.repository}@{f.digest}"
        if f.source == "registry":
            details = {"Source": "Azure", "ResourceType": ".containerimage",
                       "Id": f"/repositories/{f.repository}/images/{f.digest}", "ResourceName": f.repository,
                       "NativeResourceId": image}
        else:
            details = {"Source": "Azure", "ResourceType": "K8s-container", "Id": f.resource.id,
                       "ResourceName": f.repository.rsplit("/", 1)[-1], "NativeResourceId": image}
        cve = {"CveId": f.cve, "CvssScore": f.cvss}
        if f.fix_status == "FixAvailable":
            fixed = version_of(f.digest, f.cve)
        else:
            fixed = ""
            cve["FixStatus"] = f.fix_status
        state = {"code": status}
        if status == "NotApplicable":
            state.update(cause="Exempt", description="Exempted")
        state.update(firstEvaluationDate=g.iso7(g.finding_time(seed, f, f.first)),
                     statusChangeDate=g.iso7(g.finding_time(seed, f, day)))
        raw.add("securityresources", assessment_id, assessment_id.rsplit("/", 1)[-1], "microsoft.security/assessments",
                f.resource.sub.id, rg=f.resource.rg,
                properties={"displayName": f"Vulnerabilities in {f.repository} should be remediated ({f.cve})",
                            "resourceDetails": details,
                            "metadata": {"displayName": f"Vulnerabilities in {f.repository} should be remediated",
                                         "recommendationCategory": "SoftwareUpdate", "severity": f.severity,
                                         "assessmentType": "BuiltIn"},
                            "additionalData": {"FixedVersion": fixed,
                                               "CvesDetails": json.dumps([cve], separators=(",", ":"))},
                            "status": state})


def add_scan_status(raw: Raw, g, seed, runs, day) -> None:
    first_run = {}
    for r in runs:
        key = (r.resource.id, r.source)
        if key not in first_run or r.first < first_run[key].first:
            first_run[key] = r
    for r in runs:
        if not r.first <= day <= r.last:
            continue
        key = g.SCAN_KEYS[r.source]
        state = {"code": r.status}
        if r.cause:
            state["cause"] = r.cause
            if r.cause == "OffByPolicy":
                state["description"] = OFF_BY_POLICY
        state.update(firstEvaluationDate=g.iso7(g.scan_run_time(seed, first_run[(r.resource.id, r.source)])),
                     statusChangeDate=g.iso7(g.scan_run_time(seed, r)))
        raw.add("securityresources", f"{r.resource.id}/providers/Microsoft.Security/assessments/{key}", key,
                "microsoft.security/assessments", r.resource.sub.id, rg=r.resource.rg,
                properties={"displayName": SCAN_DISPLAY[r.source],
                            "resourceDetails": {"Source": "Azure", "Id": r.resource.id},
                            "metadata": {"displayName": SCAN_DISPLAY[r.source], "severity": "High",
                                         "assessmentType": "BuiltIn"},
                            "status": state})


# ---- policyresources ------------------------------------------------------------------------


def add_policy_states(raw: Raw, g, seed, subs, day) -> None:
    by_id = {s.id: s for s in subs}
    for p in g.rows_policy(seed, subs, day):
        s = by_id[p["subscriptionId"]]
        rg, rtype = arm_parts(p["resourceId"])
        location = next((res.location for res in list(s.aks) + list(s.arcs) if res.id == p["resourceId"]), "")
        name = g.stable_guid("policystate", p["resourceId"].lower(), p["policyAssignmentId"].lower())
        mg_ids = ",".join(m["name"] for m in g.mg_chain(s.mg))
        raw.add("policyresources", f"{p['resourceId']}/providers/microsoft.policyinsights/policystates/{name}", name,
                "microsoft.policyinsights/policystates", s.id, rg=rg.lower(), location=location,
                properties={"timestamp": p["timestamp"], "resourceId": p["resourceId"],
                            "policyAssignmentId": p["policyAssignmentId"],
                            "policyDefinitionId": p["policyDefinitionId"],
                            "isCompliant": p["complianceState"] == "Compliant", "subscriptionId": s.id,
                            "resourceType": "/" + rtype, "resourceLocation": location, "resourceGroup": rg,
                            "policyAssignmentName": p["policyAssignmentId"].rsplit("/", 1)[-1],
                            "policyAssignmentScope": p["policyAssignmentScope"],
                            "policyDefinitionName": p["policyDefinitionId"].rsplit("/", 1)[-1],
                            "policyDefinitionAction": p["policyDefinitionAction"],
                            "managementGroupIds": mg_ids, "policyDefinitionReferenceId": None,
                            "complianceState": p["complianceState"], "policyDefinitionVersion": "1.0.0"})


# ---- one day, and the files -------------------------------------------------------------------


def raw_day(g, seed, subs, alerts, findings, runs, day) -> dict[str, list[dict]]:
    raw = Raw(g.TENANT_ID)
    add_containers(raw, g, subs)
    add_pricings(raw, g, subs, day)
    add_aks(raw, g, seed, subs, day)
    add_registries(raw, subs)
    add_arcs(raw, subs, day)
    add_container_groups(raw, g, subs, day)
    add_others(raw, subs)
    add_alerts(raw, g, alerts, day)
    add_findings(raw, g, seed, findings, day)
    add_scan_status(raw, g, seed, runs, day)
    add_policy_states(raw, g, seed, subs, day)
    return raw.tables


def write_table(path: str, rows: list[dict]) -> None:
    body = "[\n" + ",\n".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in rows) + "\n]\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(body)


def write_raw(g, out: str, seed: int, replicas, period, days) -> int:
    """Write the raw rows of `days` (dates within `period`, the generated period) under `out`.

    `g` is the generator module (generate.py), whose objects and helpers the rows are built from.
    The model is built over the whole period, as for the committed pages, so that alerts, findings
    and scan runs are the same. Returns the number of files written.
    """
    subs, alerts, findings, runs = g.snapshot_model(seed, replicas, period)
    n = 0
    for day in days:
        folder = os.path.join(out, day.isoformat())
        os.makedirs(folder, exist_ok=True)
        for table, rows in raw_day(g, seed, subs, alerts, findings, runs, day).items():
            write_table(os.path.join(folder, f"{table}.json"), rows)
            n += 1
    return n
