#!/usr/bin/env python3
"""Generate the bundled sample tenant of defender-ledger.

Writes, in the exact wire formats Azure produces:

* ``resource-graph/YYYY-MM-DD/<dataset>.json``: Resource Graph response pages
  (REST 2024-04-01, ``resultFormat: objectArray``) holding the rows of the job's
  queries, one file per snapshot day and dataset;
* ``cost-exports/...``: Cost Management Exports v2 runs (``manifest.json`` plus
  gzip CSV parts) of a FOCUS 1.0r2 export and an EA actual-cost 2024-08-01 export.

With ``--raw DIR`` it writes instead the raw Resource Graph table rows those result pages
come from (``raw_resources.py``), which ``tests/kql/check_sample.sh`` runs the queries on.

Everything is derived from ``--seed`` through ``random.Random`` instances seeded
with strings (which Python hashes with SHA-512, so they are stable across runs
and machines), never from the clock, and every collection is iterated in a
fixed order, so a rerun with the same arguments is byte-identical.

Usage:
    python3 sample-data/generate.py --out sample-data
    python3 sample-data/generate.py --out /tmp/big --scale 100
    python3 sample-data/generate.py --out /tmp/cost1m --cost-only --cost-rows 1000000
    python3 sample-data/generate.py --out /tmp/cost1m --cost-only --cost-rows 1000000 --format parquet
    python3 sample-data/generate.py --out /tmp/cost10m --cost-only --cost-rows 10000000 --split 10
    python3 sample-data/generate.py --raw /tmp/raw --raw-days 2026-09-01,2026-10-31

Standard library only (Python 3.11); ``--format parquet`` needs ``pyarrow``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import sys
import uuid
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------
# Fixed parameters of the tenant and its story. The README documents each one.
# ---------------------------------------------------------------------------

DEFAULT_SEED = 20260901
DEFAULT_START = "2026-09-01"
DEFAULT_END = "2026-10-31"
D = dt.date

# A daily snapshot that never ran: readers must skip it, not count it as 0 %.
MISSING_SNAPSHOT_DAYS = (D(2026, 10, 7),)
PAGE_SIZE = 100  # Resource Graph's default page size when $top is not sent

# Story 1a: Containers plan switched to Free, then back to Standard.
CHECKOUT_FREE_FROM = D(2026, 10, 12)
CHECKOUT_FREE_TO = D(2026, 10, 19)  # inclusive; Standard again on 2026-10-20
CHECKOUT_REENABLED_AT = "2026-10-20T08:47:13.5526621Z"
# Story 1b: sensor switched off in September and never switched back on.
RETAIL_SENSOR_OFF_FROM = D(2026, 9, 9)
# Story 2: the Arc clusters were connected on this day (empty arc_clusters before).
ARC_ONBOARDED = D(2026, 9, 4)
# Story 3: vulnerability assessment switched off on the supply-chain subscription.
SUPPLY_VA_OFF_FROM = D(2026, 9, 22)
# Story 5: alert storm on aks-payments-prod.
STORM_DAY = D(2026, 10, 18)
STORM_SIZE = 32
NEGATIVE_LATENCY_DAY = D(2026, 10, 9)
PRE_PERIOD_ALERT_DAYS = (D(2026, 7, 20), D(2026, 8, 10))
# Story 4b: an old image re-pushed to the shared registry, many findings at once
# (the vulnerabilities pages of the last days need a $skipToken).
OLD_IMAGE_PUSHED = D(2026, 10, 29)
OLD_IMAGE_FINDINGS = 86
# Story 7: cryptojacking on aks-retail-batch: (VMSS node-hours, node count at end of day).
SPIKE = {
    D(2026, 10, 24): (798.0, 40),
    D(2026, 10, 25): (1104.0, 48),
    D(2026, 10, 26): (1152.0, 48),
    D(2026, 10, 27): (800.0, 4),
}
REFUND_DAY = D(2026, 10, 14)
# Azure Container Instances: a container group created in mid-September (absent before).
ACI_FEED_CREATED = D(2026, 9, 15)
# Story 9: scan status. Defender returns no parent vulnerability assessment for this registry
# from this day on although its subscription scans ("no data"), and the running-image
# assessment of this protected cluster is NotApplicable / OffByPolicy all along.
SCAN_NO_DATA_CLUSTER = "arc-store-berlin"
SCAN_NO_DATA_FROM = D(2026, 10, 20)
SCAN_OFF_BY_POLICY_CLUSTER = "aks-identity-legacy"

# Billing identity of the fictitious EA enrollment.
ENROLLMENT = "86115370"
BILLING_ACCOUNT_NAME = "Contoso Ltd"
EA_ACCOUNT_ID = "7654321"
EA_ACCOUNT_NAME = "Contoso Cloud Operations"
EA_ACCOUNT_OWNER = "cloudops@contoso.com"
EA_DEPARTMENT_ID = "240517"
EA_DEPARTMENT_NAME = "Contoso IT"
EA_OFFER = "MS-AZR-0017P"
COMPUTE_DISCOUNT = 0.12  # EA discount on compute meters; other meters at list price

DEFENDER_VCORE_PRICE = 0.00941  # USD per vCore-hour (azure-formats 4.2)
DEFENDER_IMAGE_PRICE = 0.29

CONTAINERS_EXTENSIONS = (
    "ContainerRegistriesVulnerabilityAssessments",
    "AgentlessDiscoveryForKubernetes",
    "AgentlessVmScanning",
    "ContainerSensor",
    "ContainerIntegrityContribution",
)

# vCPUs the billing system counts per node. The job parses the size name and
# cannot parse Custom_GPU_Pool; Azure bills it as the NC6s_v3 it really is.
VM_SIZES = {
    # size: (vCPUs billed, meter subcategory, meter name, PAYG USD/h)
    "Standard_D4s_v5": (4, "Dsv5 Series", "D4s v5", 0.23),
    "Standard_D8s_v5": (8, "Dsv5 Series", "D8s v5", 0.46),
    "Standard_E16s_v5": (16, "Esv5 Series", "E16s v5", 1.216),
    "Standard_F8s_v2": (8, "FSv2 Series", "F8s v2", 0.406),
    # Constrained size: 32 active vCPUs, billed on the E64s v5 meter.
    "Standard_E64-32s_v5": (32, "Esv5 Series", "E64s v5", 4.864),
    "Custom_GPU_Pool": (6, "NCSv3 Series", "NC6s v3", 3.823),
    "Standard_B2s": (2, "BS Series", "B2s", 0.0496),
}

LOCATIONS = {
    # ARM name: (display name, meter region)
    "westeurope": ("West Europe", "EU West"),
    "northeurope": ("North Europe", "EU North"),
    "germanywestcentral": ("Germany West Central", "DE West Central"),
    "eastus": ("East US", "US East"),
}

MANAGEMENT_GROUPS = {
    # name: (display name, parent)
    "mg-contoso": ("Contoso", None),
    "mg-prod": ("Contoso Production", "mg-contoso"),
    "mg-nonprod": ("Contoso Non-Production", "mg-contoso"),
    "mg-sandbox": ("Contoso Sandbox", "mg-contoso"),
}

# ---------------------------------------------------------------------------
# Small helpers: ids, times, random streams
# ---------------------------------------------------------------------------


def stable_guid(*parts: object) -> str:
    """A GUID derived from names, so story ids stay the same whatever the seed."""
    h = hashlib.sha256("/".join(("defender-ledger-sample",) + tuple(str(p) for p in parts)).encode()).digest()
    return str(uuid.UUID(bytes=h[:16], version=4))


def rng_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def stream(seed: int, *parts: object) -> random.Random:
    """An independent random stream per purpose: output does not depend on loop order."""
    return random.Random("/".join((str(seed),) + tuple(str(p) for p in parts)))


TENANT_ID = stable_guid("tenant", "contoso")
TICKS = 10**7  # Azure's 100-ns ticks
EPOCH = dt.datetime(1970, 1, 1)
DOTNET_EPOCH_TICKS = 621355968000000000  # 0001-01-01 -> 1970-01-01
DOTNET_MAX_TICKS = 3155378975999999999  # DateTime.MaxValue.Ticks


def at(day: dt.date, seconds: float = 0.0) -> int:
    """Instant as 100-ns ticks since 1970 (day + seconds after midnight UTC)."""
    return ((day - D(1970, 1, 1)).days * 86400) * TICKS + int(round(seconds * TICKS))


def iso7(t: int) -> str:
    """ISO 8601 with 7 fractional digits and Z, as Azure writes .NET DateTimes."""
    secs, frac = divmod(t, TICKS)
    return (EPOCH + dt.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:07d}Z"


def day_of(t: int) -> dt.date:
    return D(1970, 1, 1) + dt.timedelta(days=t // (86400 * TICKS))


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def month_end(day: dt.date) -> dt.date:
    nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def fmt_num(x: float) -> str:
    """Invariant-culture number with a long fraction, like Cost Management writes.

    Rounded to 10 decimals then printed in shortest round-trip form; values
    below 1e-4 come out in scientific notation (1.5E-05), which Azure also emits.
    """
    x = round(x, 10)
    if x == 0:
        return "0"
    s = repr(x)
    if "e" in s:
        return s.replace("e", "E")
    if s.endswith(".0"):
        return s[:-2]
    return s


# ---------------------------------------------------------------------------
# The tenant model
# ---------------------------------------------------------------------------


@dataclass
class Pool:
    name: str
    count: int
    vm_size: str
    mode: str
    autoscale: tuple[int, int] | None = None


@dataclass
class Aks:
    name: str
    rg: str
    location: str
    tags: dict | None
    k8s: str
    pools: list[Pool]
    defender: bool | None  # None: no securityProfile.defender at all
    rbac: bool = True
    aad: bool = True
    netpol: str | None = "azure"
    azpolicy: bool = True
    power: str = "Running"
    uptime_sla: bool = True
    spike: bool = False
    cost_rg_upper: bool = False  # Cost Management upper-cases some node resource groups
    pvc_disks: int = 2
    id: str = ""
    cost_id: str = ""
    node_rg: str = ""
    sub: "Sub | None" = None


@dataclass
class Registry:
    name: str
    rg: str
    location: str
    tags: dict | None
    sku: str
    admin: bool = False
    public: str = "Enabled"
    repos: tuple = ()
    id: str = ""
    sub: "Sub | None" = None


@dataclass
class Arc:
    name: str
    rg: str
    location: str
    tags: dict | None
    distribution: str
    k8s: str
    cores: int
    nodes: int
    ext_state: str | None
    connectivity: str = "Connected"
    onboarded: dt.date = ARC_ONBOARDED
    id: str = ""
    sub: "Sub | None" = None


@dataclass
class AciContainer:
    name: str
    image: str
    cpu: float
    memory_gb: float
    ports: tuple = ()
    command: tuple = ()
    env: tuple = ()  # (name, value) pairs


@dataclass
class Aci:
    """An Azure Container Instances container group (not covered by Defender for Containers)."""

    name: str
    rg: str
    location: str
    tags: dict | None
    sku: str  # Standard | Dedicated | Confidential
    ip_type: str  # Public | Private | "" (no IP address)
    ip: str
    containers: list[AciContainer]
    os_type: str = "Linux"
    created: dt.date | None = None  # first snapshot day; None: before the period
    id: str = ""
    sub: "Sub | None" = None


@dataclass
class Other:
    """A non-container resource that only shows up in the cost exports."""

    meter: str
    name: str
    rg: str
    provider: str  # e.g. Microsoft.Compute/virtualMachines
    location: str
    tags: dict | None
    qty: tuple[float, float]


@dataclass
class Plan:
    tier: str = "Free"
    enabled_at: str | None = None
    free_from: dt.date | None = None
    free_to: dt.date | None = None
    reenabled_at: str | None = None
    ext_off: dict = field(default_factory=dict)  # extension -> first day "False"
    sensor_status: bool = False  # ContainerSensor carries operationStatus
    integrity: bool = True


@dataclass
class Sub:
    key: str
    name: str
    mg: str
    state: str
    tags: dict | None
    plan: Plan
    deprecated_plans: bool = False
    aks: list[Aks] = field(default_factory=list)
    registries: list[Registry] = field(default_factory=list)
    arcs: list[Arc] = field(default_factory=list)
    acis: list[Aci] = field(default_factory=list)
    others: list[Other] = field(default_factory=list)
    log_gb: tuple[float, float] | None = None  # Container insights ingestion per day
    id: str = ""
    replica: int = 0


def base_tenant() -> list[Sub]:
    """Replica 0: the tenant the README tells the story of."""
    std = lambda at_, **kw: Plan(tier="Standard", enabled_at=at_, **kw)  # noqa: E731
    subs = [
        # ---- mg-prod ------------------------------------------------------
        Sub("payments-prod", "Contoso Payments Prod", "mg-prod", "Enabled", {"costcenter": "CC-1001"},
            std("2025-03-14T09:21:07.4417652Z", sensor_status=True), deprecated_plans=True,
            aks=[Aks("aks-payments-prod", "rg-payments", "westeurope", {"owner": " Team-Payments ", "env": "prod"},
                     "1.31.4", [Pool("system", 3, "Standard_D4s_v5", "System"),
                                Pool("user", 6, "Standard_D8s_v5", "User", (5, 8))], True, pvc_disks=4)],
            registries=[Registry("acrpaymentsprod", "rg-payments", "westeurope", {"owner": "team-payments"}, "Premium",
                                 public="Disabled", repos=("payments/api", "payments/ledger-worker", "payments/fraud-scorer"))],
            acis=[Aci("aci-payments-recon", "rg-payments", "westeurope", {"owner": "team-payments", "env": "prod"},
                      "Standard", "Private", "10.30.12.4",
                      [AciContainer("reconciler", "acrpaymentsprod.azurecr.io/payments/ledger-worker:2026.08.3",
                                    1.0, 2.0, ports=(8080,), env=(("RECON_MODE", "nightly"),)),
                       AciContainer("otel-collector", "otel/opentelemetry-collector-contrib:0.108.0", 0.5, 0.5,
                                    ports=(4317,))]),
                  Aci("aci-fraud-scoring-cc", "rg-payments", "westeurope", {"owner": "team-payments", "env": "prod"},
                      "Confidential", "Public", "20.103.217.88",
                      [AciContainer("scorer", "acrpaymentsprod.azurecr.io/payments/fraud-scorer:3.2.0", 2.0, 4.0,
                                    ports=(443,))])],
            log_gb=(1.2, 3.4)),
        Sub("checkout-prod", "Contoso Checkout Prod", "mg-prod", "Enabled", {"Team": "checkout"},
            std("2025-06-03T11:05:52.9183301Z", free_from=CHECKOUT_FREE_FROM, free_to=CHECKOUT_FREE_TO,
                reenabled_at=CHECKOUT_REENABLED_AT),
            aks=[Aks("aks-checkout-prod", "rg-checkout", "northeurope", {"TEAM": "Checkout", "env": "prod"},
                     "1.30.9", [Pool("system", 3, "Standard_D4s_v5", "System"),
                                Pool("web", 4, "Standard_F8s_v2", "User", (3, 6))], True,
                     netpol="calico", azpolicy=False, cost_rg_upper=True)],
            registries=[Registry("acrcheckoutprod", "rg-checkout", "northeurope", {"TEAM": "checkout"}, "Standard",
                                 repos=("checkout/web", "checkout/cart-api"))],
            log_gb=(0.8, 2.2)),
        Sub("retail-analytics", "Contoso Retail Analytics", "mg-prod", "Enabled", None,
            std("2024-11-20T16:33:10.0284410Z", ext_off={"ContainerSensor": RETAIL_SENSOR_OFF_FROM}, sensor_status=True),
            aks=[Aks("aks-retail-batch", "rg-retail-batch", "westeurope", None, "1.29.9",
                     [Pool("batch", 4, "Standard_D4s_v5", "System")], None, aad=False, netpol=None,
                     azpolicy=False, uptime_sla=False, spike=True, cost_rg_upper=True, pvc_disks=1)],
            registries=[Registry("acrretailanalytics", "rg-retail-batch", "westeurope", {"cost-center": "CC-7700"},
                                 "Basic", admin=True, repos=("analytics/spark-job", "analytics/etl"))],
            acis=[Aci("aci-retail-feed-import", "rg-retail-batch", "westeurope", {"cost-center": "CC-7700"},
                      "Standard", "", "",
                      [AciContainer("feed-import", "acrretailanalytics.azurecr.io/analytics/etl:1.12.0", 1.0, 1.5,
                                    command=("python", "-m", "etl.import_feed"))],
                      created=ACI_FEED_CREATED)],
            others=[Other("blob_hot", "stretailanalytics01", "rg-retail-batch", "Microsoft.Storage/storageAccounts",
                          "westeurope", None, (800.0, 950.0))]),
        Sub("identity-prod", "Contoso Identity Prod", "mg-prod", "Enabled", {"costcenter": "CC-1002"},
            std("2025-01-09T10:02:44.3319875Z", sensor_status=True),
            aks=[Aks("aks-identity-prod", "rg-identity", "westeurope", {"Owner": "Team-Identity", "env": "prod"},
                     "1.31.4", [Pool("system", 2, "Standard_D4s_v5", "System"),
                                Pool("user", 3, "Standard_D8s_v5", "User")], True),
                 Aks("aks-identity-legacy", "rg-identity", "westeurope", {"owner": "team-iam"}, "1.28.15",
                     [Pool("system", 2, "Standard_D4s_v5", "System")], True, power="Stopped",
                     uptime_sla=False, netpol=None, pvc_disks=1)],
),
        Sub("edge-stores", "Contoso Edge Stores", "mg-prod", "Enabled", {"Team": "retail-edge"},
            std("2025-08-18T07:45:00.5512093Z"),
            arcs=[Arc("arc-store-berlin", "rg-edge", "germanywestcentral", {"owner": "retail-edge"}, "k3s",
                      "1.30.4+k3s1", 8, 2, "Succeeded"),
                  Arc("arc-store-munich", "rg-edge", "germanywestcentral", {"owner": "retail-edge"}, "k3s",
                      "1.29.8+k3s1", 8, 2, None),
                  Arc("arc-dc-frankfurt", "rg-edge", "germanywestcentral", {"CostCenter": "CC-5500"}, "openshift",
                      "1.29.10", 48, 6, "Failed")]),
        Sub("supplychain-prod", "Contoso Supply Chain", "mg-prod", "Enabled", {"CostCenter": "CC-2040"},
            std("2025-02-27T13:18:29.7006114Z",
                ext_off={"ContainerRegistriesVulnerabilityAssessments": SUPPLY_VA_OFF_FROM}),
            aks=[Aks("aks-supplychain-prod", "rg-supplychain", "westeurope", {"team": "supply-chain"}, "1.30.9",
                     [Pool("system", 3, "Standard_D4s_v5", "System"),
                      Pool("user", 2, "Standard_E16s_v5", "User")], True, netpol="cilium")],
            registries=[Registry("acrsupplychain", "rg-supplychain", "westeurope", {"team": "supply-chain"}, "Premium",
                                 repos=("supply/edi-gateway", "supply/inventory-sync"))],
),
        Sub("shared-prod", "Contoso Shared Services", "mg-prod", "Enabled", {"owner": "platform-team"},
            std("2024-09-30T08:00:12.8812345Z", sensor_status=True), deprecated_plans=True,
            aks=[Aks("aks-platform-ops", "rg-platform", "westeurope", {"owner": "platform-team"}, "1.31.4",
                     [Pool("system", 3, "Standard_D4s_v5", "System"),
                      Pool("memory", 2, "Standard_E64-32s_v5", "User")], True)],
            registries=[Registry("acrcontososhared", "rg-platform", "westeurope", {"owner": "platform-team"}, "Premium",
                                 admin=True, repos=("platform/nginx-ingress", "base/dotnet-runtime",
                                                    "legacy/reporting-java", "base/python"))],
            acis=[Aci("aci-reporting-export", "rg-platform", "westeurope", {"owner": "platform-team"},
                      "Standard", "Public", "20.238.197.54",
                      [AciContainer("exporter", "mcr.microsoft.com/azure-cli:2.61.0", 1.0, 1.5, ports=(443,),
                                    command=("/bin/bash", "-c", "/scripts/export-reports.sh"),
                                    env=(("EXPORT_TARGET", "stcontosoreports"),))])],
),
        Sub("erp-prod", "Contoso ERP Prod", "mg-prod", "Enabled", {"costcenter": "CC-3100"}, Plan(),
            others=[Other("vm_d8", "vm-erp-app01", "rg-erp", "Microsoft.Compute/virtualMachines", "westeurope",
                          {"owner": "team-erp"}, (24.0, 24.0)),
                    Other("vm_d8", "vm-erp-app02", "rg-erp", "Microsoft.Compute/virtualMachines", "westeurope",
                          {"owner": "team-erp"}, (24.0, 24.0)),
                    Other("sql_gp", "sqldb-erp", "rg-erp", "Microsoft.Sql/servers", "westeurope",
                          {"Owner": "team-erp"}, (96.0, 96.0)),
                    Other("blob_hot", "sterpbackup01", "rg-erp", "Microsoft.Storage/storageAccounts", "westeurope",
                          None, (2100.0, 2300.0))]),
        Sub("finance-reporting", "Contoso Finance Reporting", "mg-prod", "Enabled", {"costcenter": "CC-3200"}, Plan(),
            others=[Other("sql_gp", "sqldb-finance", "rg-finance", "Microsoft.Sql/servers", "westeurope",
                          {"team": "finance-bi"}, (48.0, 48.0)),
                    Other("appsvc_p1", "asp-finance-portal", "rg-finance", "Microsoft.Web/serverfarms", "westeurope",
                          {"team": "finance-bi"}, (24.0, 24.0))]),
        Sub("security-tools", "Contoso Security Tools", "mg-prod", "Enabled", {"owner": "secops"}, Plan(),
            others=[Other("law_ingest", "law-secops", "rg-secops", "Microsoft.OperationalInsights/workspaces",
                          "westeurope", None, (6.0, 11.0)),
                    Other("sentinel", "law-secops", "rg-secops", "Microsoft.OperationalInsights/workspaces",
                          "westeurope", None, (6.0, 11.0))]),
        Sub("backup-vault", "Contoso Backup Vault", "mg-prod", "Enabled", None, Plan(),
            others=[Other("backup_vm", "rsv-contoso-weu", "rg-backup", "Microsoft.RecoveryServices/vaults",
                          "westeurope", None, (14.0, 14.0))]),
        Sub("data-lake", "Contoso Data Lake", "mg-prod", "Enabled", {"Team": "data-platform"}, Plan(),
            others=[Other("blob_hot", "stcontosolake01", "rg-lake", "Microsoft.Storage/storageAccounts", "westeurope",
                          {"owner": "data-platform"}, (15500.0, 16200.0))]),
        # ---- directly under mg-contoso -----------------------------------
        Sub("connectivity", "Contoso Connectivity", "mg-contoso", "Enabled", {"costcenter": "CC-0001"}, Plan(),
            others=[Other("firewall", "afw-hub-weu", "rg-hub", "Microsoft.Network/azureFirewalls", "westeurope",
                          {"owner": "network-team"}, (24.0, 24.0)),
                    Other("bandwidth_in", "afw-hub-weu", "rg-hub", "Microsoft.Network/azureFirewalls", "westeurope",
                          {"owner": "network-team"}, (35.0, 80.0))]),
        # ---- mg-nonprod --------------------------------------------------
        Sub("payments-dev", "Contoso Payments Dev", "mg-nonprod", "Enabled", {"Team": "payments"},
            std("2025-03-14T09:25:51.0075519Z"),
            aks=[Aks("aks-payments-dev", "rg-payments-dev", "westeurope", {"owner": "team-payments", "env": "dev"},
                     "1.32.2", [Pool("system", 2, "Standard_D4s_v5", "System")], True, uptime_sla=False,
                     pvc_disks=1)],
),
        Sub("checkout-test", "Contoso Checkout Test", "mg-nonprod", "Enabled", None, Plan(),
            others=[Other("appsvc_p1", "asp-checkout-test", "rg-checkout-test", "Microsoft.Web/serverfarms",
                          "northeurope", {"Owner": "Team-Checkout"}, (24.0, 24.0))]),
        Sub("shared-nonprod", "Contoso Shared Services", "mg-nonprod", "Enabled", {"CostCenter": "CC-1900"},
            std("2024-09-30T08:04:33.1180021Z"),
            registries=[Registry("acrcontososharednp", "rg-platform-np", "westeurope", None, "Standard",
                                 repos=("platform/nginx-ingress", "base/python"))]),
        Sub("data-science", "Contoso Data Science", "mg-nonprod", "Enabled", {"owner": "data-science"},
            std("2025-05-22T14:12:09.6630187Z", sensor_status=True),
            aks=[Aks("aks-ml-training", "rg-ml", "westeurope", {"owner": "Data-Science "}, "1.30.9",
                     [Pool("system", 2, "Standard_D4s_v5", "System"),
                      Pool("gpu", 2, "Custom_GPU_Pool", "User")], True, uptime_sla=False, pvc_disks=3)],
            registries=[Registry("acrmlmodels", "rg-ml", "westeurope", {"owner": "data-science"}, "Premium",
                                 repos=("ml/trainer", "ml/inference"))],
            log_gb=(0.3, 0.9)),
        Sub("qa-automation", "Contoso QA Automation", "mg-nonprod", "Enabled", {"env": "test"},
            std("2025-04-02T07:30:18.9001234Z"),
            aks=[Aks("aks-qa-runners", "rg-qa", "westeurope", {"env": "test"}, "1.31.4",
                     [Pool("system", 2, "Standard_D4s_v5", "System"),
                      Pool("runners", 3, "Standard_D8s_v5", "User", (1, 5))], False, uptime_sla=False,
                     pvc_disks=1)]),
        Sub("erp-dev", "Contoso ERP Dev", "mg-nonprod", "Enabled", {"costcenter": "CC-3100"}, Plan(),
            others=[Other("vm_d4", "vm-erp-dev01", "rg-erp-dev", "Microsoft.Compute/virtualMachines", "westeurope",
                          {"owner": "team-erp", "env": "dev"}, (10.0, 24.0))]),
        Sub("legacy-apps", "Contoso Legacy Apps", "mg-nonprod", "Disabled", {"costcenter": "CC-1001"},
            std("2024-05-06T12:00:41.5520000Z"), deprecated_plans=True,
            aks=[Aks("aks-legacy-apps", "rg-legacy", "westeurope", {"owner": "team-legacy"}, "1.27.9",
                     [Pool("system", 2, "Standard_D4s_v5", "System")], True, power="Stopped", aad=False,
                     uptime_sla=False)]),
        # ---- mg-sandbox --------------------------------------------------
        Sub("sandbox-alice", "Contoso Sandbox Alice", "mg-sandbox", "Enabled", {"owner": "alice.kim@contoso.com"},
            Plan(), others=[Other("vm_b2s", "vm-alice-dev", "rg-alice", "Microsoft.Compute/virtualMachines",
                                  "westeurope", None, (8.0, 24.0))]),
        Sub("sandbox-bob", "Contoso Sandbox Bob", "mg-sandbox", "Enabled", None, Plan(),
            others=[Other("vm_b2s", "vm-bob-test", "rg-bob", "Microsoft.Compute/virtualMachines", "westeurope",
                          None, (24.0, 24.0)),
                    Other("blob_hot", "stbobscratch", "rg-bob", "Microsoft.Storage/storageAccounts", "westeurope",
                          {"purpose": "scratch"}, (120.0, 160.0))]),
        Sub("marketing-sandbox", "Contoso Marketing Sandbox", "mg-sandbox", "Warned", {"Team": "marketing"}, Plan(),
            registries=[Registry("acrmarketingsbx", "rg-marketing", "westeurope", {"team": "marketing"}, "Basic",
                                 repos=("campaigns/landing",))]),
        Sub("hackathon", "Contoso Hackathon 2026", "mg-sandbox", "Enabled", None, Plan(),
            others=[Other("blob_read_tiny", "sthackathon2026", "rg-hackathon", "Microsoft.Storage/storageAccounts",
                          "westeurope", None, (0.003, 0.003))]),
    ]
    return subs


def replicate(base: list[Sub], replica: int) -> list[Sub]:
    """Replica r of the tenant for --scale: same story, new ids and names."""
    subs = copy.deepcopy(base)
    sfx = "" if replica == 0 else f"-{replica + 1:03d}"
    for sub in subs:
        sub.replica = replica
        if replica:
            sub.key += sfx
            sub.name += f" {replica + 1:03d}"
        sub.id = stable_guid("subscription", sub.key)
        for a in sub.aks:
            a.name += sfx
            a.sub = sub
            a.id = (f"/subscriptions/{sub.id}/resourcegroups/{a.rg}/providers/"
                    f"Microsoft.ContainerService/managedClusters/{a.name}")
            a.cost_id = a.id.replace("/resourcegroups/", "/resourceGroups/")
            a.node_rg = f"MC_{a.rg}_{a.name}_{a.location}"
        for r in sub.registries:
            r.name += sfx.replace("-", "")
            r.sub = sub
            r.id = (f"/subscriptions/{sub.id}/resourceGroups/{r.rg}/providers/"
                    f"Microsoft.ContainerRegistry/registries/{r.name}")
        for c in sub.arcs:
            c.name += sfx
            c.sub = sub
            c.id = f"/subscriptions/{sub.id}/resourceGroups/{c.rg}/providers/Microsoft.Kubernetes/connectedClusters/{c.name}"
        for g in sub.acis:
            g.name += sfx
            g.sub = sub
            g.id = (f"/subscriptions/{sub.id}/resourceGroups/{g.rg}/providers/"
                    f"Microsoft.ContainerInstance/containerGroups/{g.name}")
        for o in sub.others:
            o.name += sfx.replace("-", "") if o.provider.startswith("Microsoft.Storage") else sfx
    return subs


def by_key(subs: list[Sub]) -> dict[str, Sub]:
    return {s.key: s for s in subs}


# ---------------------------------------------------------------------------
# Daily state: plan, coverage, node counts
# ---------------------------------------------------------------------------


def plan_on(sub: Sub, day: dt.date) -> tuple[str, str | None, dict[str, str]]:
    """Containers plan of a subscription at the end of a day: tier, enablementTime, extensions."""
    p = sub.plan
    tier, enabled_at = p.tier, p.enabled_at
    if p.free_from and p.free_from <= day <= p.free_to:
        tier, enabled_at = "Free", None
    elif p.free_to and day > p.free_to:
        enabled_at = p.reenabled_at
    if tier != "Standard":
        return tier, None, {name: "False" for name in CONTAINERS_EXTENSIONS}
    ext = {}
    for name in CONTAINERS_EXTENSIONS:
        off = p.ext_off.get(name)
        on = not (off and day >= off)
        if name == "ContainerIntegrityContribution" and not p.integrity:
            on = False
        ext[name] = "True" if on else "False"
    return tier, enabled_at, ext


def compliant(sub: Sub, day: dt.date) -> bool:
    """The job's default rule, used here only to place findings and alerts consistently."""
    tier, _, ext = plan_on(sub, day)
    required = ("ContainerSensor", "AgentlessDiscoveryForKubernetes", "ContainerRegistriesVulnerabilityAssessments")
    return sub.state == "Enabled" and tier == "Standard" and all(ext[n] == "True" for n in required)


def va_scanning(sub: Sub, day: dt.date) -> bool:
    """Defender produces image findings only while the plan and its VA extension are on."""
    tier, _, ext = plan_on(sub, day)
    return sub.state == "Enabled" and tier == "Standard" and ext["ContainerRegistriesVulnerabilityAssessments"] == "True"


def aks_protected(a: Aks, day: dt.date) -> bool:
    return compliant(a.sub, day) and a.defender is True


def arc_protected(c: Arc, day: dt.date) -> bool:
    return c.ext_state == "Succeeded" and day >= c.onboarded and compliant(c.sub, day)


def pool_count(seed: int, a: Aks, pool: Pool, day: dt.date) -> int:
    """Node count at the end of a day (the snapshot's view)."""
    if a.spike and day in SPIKE:
        return SPIKE[day][1]
    if pool.autoscale:
        return stream(seed, "pool", a.name, a.sub.key, pool.name, day).randint(*pool.autoscale)
    return pool.count


def node_hours(seed: int, a: Aks, pool: Pool, day: dt.date) -> float:
    """Billed node-hours of a pool on a day (autoscaled pools are not whole days)."""
    if a.power != "Running":
        return 0.0
    if a.spike and day in SPIKE:
        return SPIKE[day][0]
    n = pool_count(seed, a, pool, day)
    if pool.autoscale:
        return n * 24.0 * stream(seed, "nodehours", a.name, a.sub.key, pool.name, day).uniform(0.9, 1.04)
    return n * 24.0


# ---------------------------------------------------------------------------
# Resource Graph pages
# ---------------------------------------------------------------------------


def skip_token(rng: random.Random, skip: int) -> str:
    """Opaque continuation token; real ones are base64 of a small JSON document."""
    doc = {"$id": "1", "MaxRows": PAGE_SIZE, "RowsToSkip": skip, "kustoClusterUrl":
           f"https://ade-weu-{rng.randint(1, 9):02d}.kusto.windows.net", "queryId": rng_guid(rng)}
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def paginate(rows: list[dict], rng: random.Random) -> list[dict]:
    """Split rows into REST 2024-04-01 QueryResponse bodies (key order as Azure sends it)."""
    total = len(rows)
    if total == 0:
        return [{"totalRecords": 0, "count": 0, "data": [], "facets": [], "resultTruncated": "false"}]
    pages = []
    for i in range(0, total, PAGE_SIZE):
        chunk = rows[i:i + PAGE_SIZE]
        page = {"totalRecords": total, "count": len(chunk), "data": chunk, "facets": [], "resultTruncated": "false"}
        if i + PAGE_SIZE < total:
            page["$skipToken"] = skip_token(rng, i + PAGE_SIZE)
        pages.append(page)
    return pages


def write_pages(path: str, pages: list[dict]) -> None:
    body = "[\n" + ",\n".join(json.dumps(p, separators=(",", ":"), ensure_ascii=False) for p in pages) + "\n]\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(body)


# ---- one function per dataset: the rows of the job's query on one day -----


def mg_chain(mg: str) -> list[dict]:
    chain = []
    while mg:
        display, parent = MANAGEMENT_GROUPS[mg]
        chain.append({"name": mg, "displayName": display})
        mg = parent
    chain.append({"name": TENANT_ID, "displayName": "Tenant Root Group"})
    return chain


def rows_subscriptions(subs: list[Sub], day: dt.date) -> list[dict]:
    return [{"subscriptionId": s.id, "subscriptionName": s.name, "tenantId": TENANT_ID, "state": s.state,
             "managementGroups": mg_chain(s.mg), "tags": s.tags} for s in subs]


def plan_extensions(s: Sub, tier: str, ext: dict) -> list[dict]:
    """The plan's `extensions` array as the pricings API returns it: every Containers extension
    with its "True"/"False" string, VM scanning's exclusion tags, the sensor's operation status."""
    items = []
    for name in CONTAINERS_EXTENSIONS:
        item = {"name": name, "isEnabled": ext[name]}
        if name == "AgentlessVmScanning":
            item["additionalExtensionProperties"] = {"ExclusionTags": "[]"}
        if name == "ContainerSensor" and s.plan.sensor_status and tier == "Standard":
            item["operationStatus"] = {"code": "Succeeded", "message": None}
        items.append(item)
    return items


def rows_defender_plans(subs: list[Sub], day: dt.date) -> list[dict]:
    rows = []
    for s in subs:
        tier, enabled_at, ext = plan_on(s, day)
        items = plan_extensions(s, tier, ext)
        rows.append({"subscriptionId": s.id, "plan": "Containers", "pricingTier": tier, "subPlan": None,
                     "enablementTime": enabled_at, "deprecated": False, "extensions": items})
        if s.deprecated_plans:
            # Pre-2023 plans still listed by the pricings API, replaced by Containers.
            for plan in ("ContainerRegistry", "KubernetesService"):
                rows.append({"subscriptionId": s.id, "plan": plan, "pricingTier": "Free", "subPlan": None,
                             "enablementTime": None, "deprecated": True, "extensions": None})
    rows.sort(key=lambda r: (r["subscriptionId"], r["plan"]))
    return rows


def rows_aks(seed: int, subs: list[Sub], day: dt.date) -> list[dict]:
    rows = []
    for s in subs:
        for a in s.aks:
            rows.append({
                "id": a.id, "name": a.name, "subscriptionId": s.id, "resourceGroup": a.rg, "location": a.location,
                "tags": a.tags, "kubernetesVersion": a.k8s, "powerState": a.power, "nodeResourceGroup": a.node_rg,
                "agentPools": [{"name": p.name, "count": pool_count(seed, a, p, day), "vmSize": p.vm_size,
                                "mode": p.mode} for p in a.pools],
                "defenderEnabled": a.defender, "enableRBAC": a.rbac, "aadManaged": a.aad,
                "networkPolicy": a.netpol, "azurePolicyEnabled": a.azpolicy})
    rows.sort(key=lambda r: r["id"].lower())
    return rows


def rows_registries(subs: list[Sub], day: dt.date) -> list[dict]:
    rows = [{"id": r.id, "name": r.name, "subscriptionId": s.id, "resourceGroup": r.rg, "location": r.location,
             "tags": r.tags, "sku": r.sku, "adminUserEnabled": r.admin, "publicNetworkAccess": r.public}
            for s in subs for r in s.registries]
    rows.sort(key=lambda r: r["id"].lower())
    return rows


def rows_arc(subs: list[Sub], day: dt.date) -> list[dict]:
    rows = [{"id": c.id, "name": c.name, "subscriptionId": s.id, "resourceGroup": c.rg, "location": c.location,
             "tags": c.tags, "distribution": c.distribution, "kubernetesVersion": c.k8s,
             "totalCoreCount": c.cores, "totalNodeCount": c.nodes, "connectivityStatus": c.connectivity,
             "defenderExtensionState": c.ext_state}
            for s in subs for c in s.arcs if day >= c.onboarded]
    rows.sort(key=lambda r: r["id"].lower())
    return rows


def aci_container_item(c: AciContainer) -> dict:
    """One item of properties.containers, in the key order of the 2023-05-01 responses."""
    return {"name": c.name, "properties": {
        "image": c.image, "command": list(c.command), "ports": [{"port": p} for p in c.ports],
        "environmentVariables": [{"name": n, "value": v} for n, v in c.env],
        "resources": {"requests": {"cpu": c.cpu, "memoryInGB": c.memory_gb}}}}


def rows_container_instances(subs: list[Sub], day: dt.date) -> list[dict]:
    rows = [{"id": g.id, "name": g.name, "subscriptionId": s.id, "resourceGroup": g.rg, "location": g.location,
             "tags": g.tags, "sku": g.sku, "osType": g.os_type, "ipAddressType": g.ip_type, "ipAddress": g.ip,
             "containers": [aci_container_item(c) for c in g.containers]}
            for s in subs for g in s.acis if g.created is None or day >= g.created]
    rows.sort(key=lambda r: r["id"].lower())
    return rows


# ---- alerts -----------------------------------------------------------------

ALERT_TYPES = {
    "High": [("K8S_MaliciousContainerImage", "Digital currency mining container detected", "Execution"),
             ("K8S_ExposedDashboard", "Exposed Kubernetes dashboard detected", "InitialAccess"),
             ("K8S.NODE_DigitalCurrencyMining", "Detected suspicious activity related to digital currency mining",
              "Impact")],
    "Medium": [("K8S_SensitiveMount", "Container with a sensitive volume mount detected", "PrivilegeEscalation"),
               ("K8S_AnomalousPodDeployment", "Anomalous pod deployment", "Execution"),
               ("K8S.NODE_SuspectConnection", "Detected suspicious network connection", "CommandAndControl")],
    "Low": [("K8S_PrivilegedContainer", "Privileged container detected", "PrivilegeEscalation"),
            ("K8S_ClusterAdminBinding", "Role binding to the cluster-admin role detected", "Persistence"),
            ("K8S_KubeSystemContainer", "New container in the kube-system namespace detected", "Persistence")],
    "Informational": [("K8S.NODE_ImageBuildOnNode", "A container image build operation was detected on a node",
                       "DefenseEvasion"),
                      ("K8S_DefaultNamespaceChanges", "Changes detected in the default namespace", "Discovery")],
}
VM_ALERT_TYPES = [("VM_CryptoCoinMinerArtifacts", "Digital currency mining related behavior detected", "High", "Impact"),
                  ("VM_ThreatIntelSuspectLogon", "A logon from a malicious IP has been detected", "Medium",
                   "InitialAccess")]


@dataclass
class Alert:
    system_id: str
    sub: Sub
    rg: str
    location: str
    alert_type: str
    display: str
    severity: str
    intent: str
    start: int
    generated: int
    resource_id: str
    entity: str
    final_status: str = "Active"
    status_from: dt.date | None = None  # first snapshot day showing final_status

    def status_on(self, day: dt.date) -> str:
        if self.status_from and day >= self.status_from:
            return self.final_status
        return "Active"


def alert_resource_id(rng: random.Random, arm_id: str) -> str:
    """Defender writes the resource id in whatever casing its source had."""
    r = rng.random()
    if r < 0.45:
        return arm_id
    if r < 0.85:
        return arm_id.replace("/resourcegroups/", "/resourceGroups/")
    return arm_id.lower()


def new_alert(rng: random.Random, target, severity: str, kind: tuple, start: int, latency_s: float) -> Alert:
    start_ticks = start + rng.randrange(TICKS)
    system_id = f"{DOTNET_MAX_TICKS - (start_ticks + DOTNET_EPOCH_TICKS)}_{rng_guid(rng)}"
    is_aks = isinstance(target, Aks)
    return Alert(system_id=system_id, sub=target.sub, rg=target.rg, location=target.location, alert_type=kind[0],
                 display=kind[1], severity=severity, intent=kind[2], start=start_ticks,
                 generated=start_ticks + int(latency_s * TICKS),
                 resource_id=alert_resource_id(rng, target.id) if is_aks else target.id, entity=target.name)


def settle(rng: random.Random, alert: Alert) -> None:
    """Most alerts get resolved or dismissed a few days after they fire; snapshots show the change."""
    r = rng.random()
    gen_day = day_of(alert.generated)
    if r < 0.55:
        alert.final_status, alert.status_from = "Resolved", gen_day + dt.timedelta(days=rng.randint(1, 6))
    elif r < 0.67:
        alert.final_status, alert.status_from = "Dismissed", gen_day + dt.timedelta(days=rng.randint(0, 3))


def build_alerts(seed: int, subs: list[Sub], start: dt.date, end: dt.date) -> list[Alert]:
    rng = stream(seed, "alerts", subs[0].replica)
    k = by_key(subs)
    sfx = "" if subs[0].replica == 0 else f"-{subs[0].replica + 1:03d}"
    alerts: list[Alert] = []
    severities = ["High", "Medium", "Low", "Informational"]
    weights = [0.2, 0.35, 0.3, 0.15]
    # Normal background. Two alerts fired before the first snapshot: the one of 07-20 leaves
    # the 90-day window of the snapshots on 2026-10-18.
    for day in [d for d in PRE_PERIOD_ALERT_DAYS if d < start] + days_between(start, end):
        targets = [a for s in subs for a in s.aks if a.power == "Running" and aks_protected(a, max(day, start))]
        targets += [c for s in subs for c in s.arcs if arc_protected(c, day)]
        n = rng.choice((0, 0, 0, 0, 0, 0, 1, 1, 2)) if day >= start else 1
        for _ in range(n):
            target = targets[rng.randrange(len(targets))]
            sev = rng.choices(severities, weights)[0]
            kind = ALERT_TYPES[sev][rng.randrange(len(ALERT_TYPES[sev]))]
            latency = 60.0 * 2.0 * (180.0 ** rng.random())  # 2 minutes .. 6 hours, log-uniform
            alert = new_alert(rng, target, sev, kind, at(day, rng.uniform(0, 86000)), latency)
            settle(rng, alert)
            alerts.append(alert)
    # Every month gets every severity, whatever the draw, so per-severity latency is defined.
    for month_start in sorted({d.replace(day=1) for d in days_between(start, end)}):
        month_days = [d for d in days_between(month_start, month_end(month_start)) if start <= d <= end]
        seen = {a.severity for a in alerts if day_of(a.generated).replace(day=1) == month_start}
        for sev in severities:
            if sev not in seen:
                day = month_days[rng.randrange(len(month_days) - 1)]  # not the last day: generated by its end
                targets = [a for s in subs for a in s.aks if a.power == "Running" and aks_protected(a, day)]
                kind = ALERT_TYPES[sev][rng.randrange(len(ALERT_TYPES[sev]))]
                alert = new_alert(rng, targets[rng.randrange(len(targets))], sev, kind,
                                  at(day, rng.uniform(0, 60000)), 60.0 * 2.0 * (180.0 ** rng.random()))
                settle(rng, alert)
                alerts.append(alert)
    # Story 5: the storm, within a few hours on one cluster.
    payments = k["payments-prod" + sfx].aks[0]
    for i in range(STORM_SIZE):
        kind = ALERT_TYPES["High"][i % 2]
        alert = new_alert(rng, payments, "High", kind, at(STORM_DAY, 6000 + i * 320 + rng.uniform(0, 200)),
                          rng.uniform(180, 1500))
        alert.final_status = "Dismissed" if i % 6 == 5 else "Resolved"
        alert.status_from = STORM_DAY + dt.timedelta(days=1 if i % 6 == 5 else 3)
        alerts.append(alert)
    # Data-quality case: generated before it started (clock skew at the source).
    identity = k["identity-prod" + sfx].aks[0]
    neg = new_alert(rng, identity, "Medium", ALERT_TYPES["Medium"][0], at(NEGATIVE_LATENCY_DAY, 51730), -159.4)
    neg.final_status, neg.status_from = "Resolved", NEGATIVE_LATENCY_DAY + dt.timedelta(days=2)
    alerts.append(neg)
    # Non-container alerts the job must ignore.
    erp = k["erp-prod" + sfx]
    for i, day in enumerate((D(2026, 9, 12), D(2026, 9, 29), D(2026, 10, 15), D(2026, 10, 26))):
        vm = erp.others[i % 2]
        vm_id = f"/subscriptions/{erp.id}/resourceGroups/{vm.rg}/providers/{vm.provider}/{vm.name}"
        atype, display, sev, intent = VM_ALERT_TYPES[i % 2]
        start_t = at(day, rng.uniform(0, 80000)) + rng.randrange(TICKS)
        alert = Alert(system_id=f"{DOTNET_MAX_TICKS - (start_t + DOTNET_EPOCH_TICKS)}_{rng_guid(rng)}", sub=erp,
                      rg=vm.rg, location=vm.location, alert_type=atype, display=display, severity=sev, intent=intent,
                      start=start_t, generated=start_t + int(rng.uniform(300, 5000) * TICKS), resource_id=vm_id,
                      entity=vm.name)
        settle(rng, alert)
        alerts.append(alert)
    return alerts


def alert_id(a: Alert) -> str:
    return (f"/subscriptions/{a.sub.id}/resourceGroups/{a.rg}/providers/Microsoft.Security/locations/"
            f"{a.location}/alerts/{a.system_id}")


def alerts_listed(alerts: list[Alert], day: dt.date) -> list[Alert]:
    """The alerts a snapshot lists: generated by the end of the day and within the last 90 days."""
    end_t = at(day + dt.timedelta(days=1))
    start_t = at(day + dt.timedelta(days=1) - dt.timedelta(days=90))
    return [a for a in alerts if start_t <= a.generated < end_t]


def rows_alerts(alerts: list[Alert], day: dt.date) -> list[dict]:
    """Every alert generated by the end of the day and within the last 90 days, status as of that day."""
    rows = []
    for a in alerts_listed(alerts, day):
        rows.append({
            "id": alert_id(a), "systemAlertId": a.system_id, "subscriptionId": a.sub.id, "alertType": a.alert_type,
            "displayName": a.display, "severity": a.severity, "status": a.status_on(day), "intent": a.intent,
            "startTimeUtc": iso7(a.start), "timeGeneratedUtc": iso7(a.generated), "resourceId": a.resource_id,
            "compromisedEntity": a.entity})
    rows.sort(key=lambda r: r["id"].lower())
    return rows


# ---- vulnerabilities ----------------------------------------------------------

CVES = {
    "Critical": [("CVE-2024-45337", 9.1), ("CVE-2024-3094", 10.0), ("CVE-2024-45490", 9.8), ("CVE-2021-44228", 10.0)],
    "High": [("CVE-2024-6387", 8.1), ("CVE-2023-44487", 7.5), ("CVE-2023-4863", 8.8), ("CVE-2023-39325", 7.5),
             ("CVE-2023-5363", 7.5), ("CVE-2024-2961", 7.3), ("CVE-2023-29491", 7.8), ("CVE-2022-3715", 7.8),
             ("CVE-2023-26604", 7.8), ("CVE-2023-31484", 8.1), ("CVE-2024-6119", 7.5), ("CVE-2023-52425", 7.5)],
    "Medium": [("CVE-2022-40897", 5.9), ("CVE-2024-28182", 5.3), ("CVE-2023-50495", 6.5), ("CVE-2024-0727", 5.5),
               ("CVE-2023-4039", 4.8), ("CVE-2024-26461", 5.5), ("CVE-2023-7008", 5.9), ("CVE-2024-2511", 5.9),
               ("CVE-2023-5678", 5.3), ("CVE-2024-2398", 6.5)],
    "Low": [("CVE-2011-3374", 3.7), ("CVE-2017-18018", 4.7), ("CVE-2022-27943", 5.5), ("CVE-2022-0563", 5.5),
            ("CVE-2013-4392", 3.3), ("CVE-2016-2781", 6.5), ("CVE-2023-31439", 5.5)],
}


@dataclass
class Finding:
    resource: object  # Registry or Aks
    source: str  # registry | runtime
    host: str
    repository: str
    digest: str
    cve: str
    severity: str
    cvss: float
    fix_status: str
    first: dt.date
    last: dt.date | None  # last day listed Unhealthy; None = still open
    after: str = ""  # "" (disappears), "Healthy" or "NotApplicable" after `last`
    after_days: int = 0


def digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def build_findings(seed: int, subs: list[Sub], start: dt.date, end: dt.date) -> list[Finding]:
    rng = stream(seed, "findings", subs[0].replica)
    k = by_key(subs)
    sfx = "" if subs[0].replica == 0 else f"-{subs[0].replica + 1:03d}"
    acr = lambda key: k[key + sfx].registries[0]  # noqa: E731
    host = lambda r: f"{r.name}.azurecr.io"  # noqa: E731
    pay_acr, pay_aks = acr("payments-prod"), k["payments-prod" + sfx].aks[0]
    shared = acr("shared-prod")
    out = [
        # Story 4: Critical fixed inside its 15-day SLA (first 09-20, gone 09-28, due 10-05).
        Finding(pay_acr, "registry", host(pay_acr), "payments/api", digest(seed, sfx, "api", 1), "CVE-2024-45337",
                "Critical", 9.1, "FixAvailable", D(2026, 9, 20), D(2026, 9, 27)),
        # Story 4: Critical fixed late (first 09-25, due 10-10, Healthy from 10-20).
        Finding(pay_acr, "registry", host(pay_acr), "payments/ledger-worker", digest(seed, sfx, "ledger", 1),
                "CVE-2024-3094", "Critical", 10.0, "FixAvailable", D(2026, 9, 25), D(2026, 10, 19), "Healthy", 2),
        # Story 4: Critical still open past due at the end of October (first 10-03, due 10-18).
        Finding(pay_aks, "runtime", host(shared), "platform/nginx-ingress", digest(seed, sfx, "nginx", 7),
                "CVE-2024-45490", "Critical", 9.8, "FixAvailable", D(2026, 10, 3), None),
        # Left-censored Critical fixed early in September (due 09-16).
        Finding(shared, "registry", host(shared), "legacy/reporting-java", digest(seed, sfx, "reporting", 3),
                "CVE-2021-44228", "Critical", 10.0, "FixAvailable", start, D(2026, 9, 5)),
        # Story 3: on the registry whose scanning is switched off on 09-22: vanishes, not fixed.
        Finding(acr("supplychain-prod"), "registry", host(acr("supplychain-prod")), "supply/edi-gateway",
                digest(seed, sfx, "edi", 2), "CVE-2023-44487", "High", 7.5, "FixAvailable", D(2026, 9, 5),
                None),
        # Story 1a: fixed while the checkout plan was Free; only the 10-20 snapshot can confirm it.
        Finding(acr("checkout-prod"), "registry", host(acr("checkout-prod")), "checkout/web",
                digest(seed, sfx, "web", 4), "CVE-2023-39325", "High", 7.5, "FixAvailable", D(2026, 9, 24),
                D(2026, 10, 11)),
        # A Low finding exempted (NotApplicable) instead of fixed.
        Finding(shared, "registry", host(shared), "base/python", digest(seed, sfx, "python", 2), "CVE-2011-3374",
                "Low", 3.7, "WontFix", start, D(2026, 10, 9), "NotApplicable", 3),
    ]
    # Story 4b: a 2019 build of legacy/reporting-java re-pushed late in October.
    if end >= OLD_IMAGE_PUSHED:
        old_rng = stream(seed, "oldimage", subs[0].replica)
        old_digest = digest(seed, sfx, "reporting-2019")
        ids: list[str] = []
        while len(ids) < OLD_IMAGE_FINDINGS:
            cve = f"CVE-{old_rng.randint(2016, 2020)}-{old_rng.randint(1000, 29999)}"
            if cve not in ids:
                ids.append(cve)
        for cve in ids:
            sev = old_rng.choices(("High", "Medium", "Low"), (0.15, 0.45, 0.4))[0]
            cvss = round({"High": old_rng.uniform(7.0, 8.9), "Medium": old_rng.uniform(4.0, 6.9),
                          "Low": old_rng.uniform(1.5, 3.9)}[sev], 1)
            fix = old_rng.choices(("FixAvailable", "NoFixAvailable"), (0.8, 0.2))[0]
            out.append(Finding(shared, "registry", host(shared), "legacy/reporting-java", old_digest, cve, sev, cvss,
                               fix, OLD_IMAGE_PUSHED, None))
    # Background findings on every registry and protected cluster Defender scans.
    severities = ["High", "Medium", "Low"]
    life = {"High": (6, 45), "Medium": (15, 120), "Low": (40, 200)}
    span = (end - start).days
    for s in subs:
        if s.state != "Enabled" or s.plan.tier != "Standard":
            continue
        targets = [(r, "registry", list(r.repos)) for r in s.registries]
        # Running images come from the subscription's own registry, else the shared one.
        targets += [(a, "runtime", [(s.registries[0].repos[0] if s.registries else "platform/nginx-ingress")])
                    for a in s.aks if a.defender and a.power == "Running"]
        for res, source, repos in targets:
            reg_host = host(res) if source == "registry" else host(s.registries[0] if s.registries else shared)
            for repo in repos:
                for version in range(1):
                    dig = "sha256:" + "".join(f"{rng.getrandbits(32):08x}" for _ in range(8))
                    for _ in range(rng.choice((1, 1, 1, 2))):
                        sev = rng.choices(severities, (0.3, 0.45, 0.25))[0]
                        cve, cvss = CVES[sev][rng.randrange(len(CVES[sev]))]
                        first = start if rng.random() < 0.35 else start + dt.timedelta(days=rng.randrange(span))
                        lo, hi = life[sev]
                        last = first + dt.timedelta(days=rng.randint(lo, hi))
                        last = None if last >= end or s.key.startswith("retail-analytics") else last
                        after, after_days = ("Healthy", rng.randint(1, 3)) if rng.random() < 0.3 else ("", 0)
                        fix = rng.choices(("FixAvailable", "NoFixAvailable", "Unknown", "WontFix"),
                                          (0.7, 0.18, 0.08, 0.04))[0]
                        out.append(Finding(res, source, reg_host, repo, dig, cve, sev, cvss, fix, first, last,
                                           after, after_days))
    # One finding per (digest, CVE): drop accidental duplicates, keep the first.
    seen, unique = set(), []
    for f in out:
        if (f.digest, f.cve) not in seen:
            seen.add((f.digest, f.cve))
            unique.append(f)
    return unique


def finding_status(f: Finding, day: dt.date) -> str | None:
    """statusCode of a finding's row on a day; None when the day has no row for it."""
    if not va_scanning(f.resource.sub, day) or day < f.first:
        return None
    if f.last is None or day <= f.last:
        return "Unhealthy"
    if f.after and day <= f.last + dt.timedelta(days=f.after_days):
        return f.after
    return None


def finding_assessment_id(f: Finding) -> str:
    """The id of the finding's individual assessment, on the registry or cluster it was found on."""
    return f"{f.resource.id}/providers/Microsoft.Security/assessments/{stable_guid('assessment', f.digest, f.cve)}"


def finding_time(seed: int, f: Finding, day: dt.date) -> int:
    """When the day's scan reported the finding (ticks)."""
    rng = stream(seed, "vulntime", f.digest, f.cve, day)
    return at(day, rng.uniform(600, 21600)) + rng.randrange(TICKS)


def rows_vulnerabilities(seed: int, findings: list[Finding], day: dt.date) -> list[dict]:
    rows = []
    for f in findings:
        status = finding_status(f, day)
        if status is None:
            continue
        sub = f.resource.sub
        rows.append({
            "id": f"{finding_assessment_id(f)}/cves/{f.cve}",
            "subscriptionId": sub.id, "resourceId": f.resource.id, "source": f.source, "registryHost": f.host,
            "repository": f.repository, "imageDigest": f.digest, "cveId": f.cve, "severity": f.severity,
            "cvssScore": f.cvss, "fixStatus": f.fix_status, "statusCode": status,
            "timeGenerated": iso7(finding_time(seed, f, day))})
    rows.sort(key=lambda r: (r["id"].lower()))
    return rows


# ---- scan status --------------------------------------------------------------

# The parent vulnerability assessments: registry images, and running images per cluster.
SCAN_KEYS = {"registry": "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5", "runtime": "c609cf0f-71ab-41e9-a3c6-9a1f7fe1b8d5"}


@dataclass
class ScanRun:
    """Days in a row on which a registry or cluster has the same scan status."""

    resource: object  # Registry, Aks or Arc
    source: str  # registry | runtime
    status: str  # Healthy | Unhealthy | NotApplicable
    cause: str
    first: dt.date  # statusChangeDate (a run already going on the first day starts then)
    last: dt.date


def scan_state(resource, source: str, unhealthy: bool, day: dt.date) -> tuple[str, str] | None:
    """(statusCode, cause) of the resource's parent assessment at the end of a day; None: no row."""
    if source == "registry":
        if not va_scanning(resource.sub, day):
            return None
    else:
        if not (aks_protected(resource, day) if isinstance(resource, Aks) else arc_protected(resource, day)):
            return None
        if resource.name.startswith(SCAN_NO_DATA_CLUSTER) and day >= SCAN_NO_DATA_FROM:
            return None
        if resource.name.startswith(SCAN_OFF_BY_POLICY_CLUSTER):
            return "NotApplicable", "OffByPolicy"
    return ("Unhealthy" if unhealthy else "Healthy"), ""


def build_scan_runs(subs: list[Sub], findings: list[Finding], start: dt.date, end: dt.date) -> list[ScanRun]:
    """Unhealthy while the day's vulnerabilities rows hold an Unhealthy finding on the resource."""
    targets = [(r, "registry") for s in subs for r in s.registries]
    targets += [(a, "runtime") for s in subs for a in s.aks] + [(c, "runtime") for s in subs for c in s.arcs]
    days = days_between(start, end)
    unhealthy = {day: {(f.resource.id, f.source) for f in findings if finding_status(f, day) == "Unhealthy"}
                 for day in days}
    runs: list[ScanRun] = []
    for res, source in targets:
        current: ScanRun | None = None
        for day in days:
            state = scan_state(res, source, (res.id, source) in unhealthy[day], day)
            if current and state == (current.status, current.cause) and current.last == day - dt.timedelta(days=1):
                current.last = day
            elif state:
                current = ScanRun(res, source, state[0], state[1], day, day)
                runs.append(current)
    return runs


def scan_run_time(seed: int, r: ScanRun) -> int:
    """statusChangeDate of a run: when the scan on its first day reported the status (ticks)."""
    rng = stream(seed, "scantime", r.resource.id, r.source, r.first)
    return at(r.first, rng.uniform(600, 21600)) + rng.randrange(TICKS)


def rows_scan_status(seed: int, runs: list[ScanRun], day: dt.date) -> list[dict]:
    rows = []
    for r in runs:
        if not r.first <= day <= r.last:
            continue
        rows.append({
            "id": f"{r.resource.id}/providers/Microsoft.Security/assessments/{SCAN_KEYS[r.source]}",
            "subscriptionId": r.resource.sub.id, "resourceId": r.resource.id, "source": r.source,
            "statusCode": r.status, "cause": r.cause, "statusChangeDate": iso7(scan_run_time(seed, r))})
    rows.sort(key=lambda r: r["id"].lower())
    return rows


# ---- policy states ----------------------------------------------------------

POLICY = {
    "containers": "/providers/Microsoft.Authorization/policyDefinitions/1c988dd6-ade4-430f-a608-2a3e5b0a6d38",
    "containers_dine": "/providers/Microsoft.Authorization/policyDefinitions/c9ddb292-b203-4738-aead-18e2716e858f",
    "aks_profile": "/providers/Microsoft.Authorization/policyDefinitions/a1840de2-8088-4ea8-b153-b4c723e9cb01",
    "arc_extension": "/providers/Microsoft.Authorization/policyDefinitions/8dfab9c4-fe7b-49ad-85e4-1e9be085358f",
}


def rows_policy(seed: int, subs: list[Sub], day: dt.date) -> list[dict]:
    rows = []
    mg_scope = lambda mg: f"/providers/Microsoft.Management/managementGroups/{mg}"  # noqa: E731

    def row(s, resource_id, scope, name, definition, action, state):
        rng = stream(seed, "policytime", resource_id, name, day)
        rows.append({"subscriptionId": s.id, "resourceId": resource_id,
                     "policyAssignmentId": f"{scope}/providers/Microsoft.Authorization/policyAssignments/{name}",
                     "policyAssignmentScope": scope, "policyDefinitionId": definition,
                     "policyDefinitionAction": action, "complianceState": state,
                     "timestamp": iso7(at(day, rng.uniform(3600, 18000)) + rng.randrange(TICKS))})

    for s in subs:
        if s.state == "Disabled":
            continue  # Azure Policy stops evaluating disabled subscriptions
        tier = plan_on(s, day)[0]
        plan_state = "Compliant" if tier == "Standard" else "NonCompliant"
        sub_id = f"/subscriptions/{s.id}"
        # Audit assigned on the production management group (the backup vault is exempted);
        # the policy checks the pricing tier only, so a plan with its sensor off still passes.
        if s.mg == "mg-prod":
            row(s, sub_id, mg_scope("mg-prod"), "mdc-containers-audit", POLICY["containers"], "auditifnotexists",
                "Exempt" if s.key.startswith("backup-vault") else plan_state)
        # DeployIfNotExists assigned on two non-production subscriptions only.
        if s.key.startswith(("payments-dev", "data-science")):
            row(s, sub_id, sub_id, "deploy-mdc-containers", POLICY["containers_dine"], "DeployIfNotExists",
                plan_state)
        for a in s.aks if s.mg == "mg-prod" else ():  # AKS profile audit: production subscriptions
            row(s, a.id, sub_id, "aks-defender-profile", POLICY["aks_profile"], "audit",
                "Compliant" if a.defender else "NonCompliant")
        for c in s.arcs:
            if day >= c.onboarded:
                row(s, c.id, sub_id, "arc-defender-extension", POLICY["arc_extension"], "AuditIfNotExists",
                    "Compliant" if c.ext_state == "Succeeded" else "NonCompliant")
    rows.sort(key=lambda r: (r["subscriptionId"], r["resourceId"].lower(), r["policyAssignmentId"]))
    return rows


DATASETS = ("subscriptions", "defender_plans", "aks_clusters", "container_registries", "arc_clusters",
            "container_instances", "security_alerts", "vulnerabilities", "scan_status", "policy_states")


def snapshot_model(seed: int, replicas: list[list[Sub]], days: list[dt.date]):
    """Everything the Resource Graph snapshots of the period are made from: (subscriptions,
    alerts, findings, scan runs). Alerts, findings and runs depend on the whole period."""
    alerts = [a for subs in replicas for a in build_alerts(seed, subs, days[0], days[-1])]
    findings = [f for subs in replicas for f in build_findings(seed, subs, days[0], days[-1])]
    all_subs = [s for subs in replicas for s in subs]
    scan_runs = build_scan_runs(all_subs, findings, days[0], days[-1])
    return all_subs, alerts, findings, scan_runs


def write_resource_graph(out: str, seed: int, replicas: list[list[Sub]], days: list[dt.date]) -> int:
    all_subs, alerts, findings, scan_runs = snapshot_model(seed, replicas, days)
    n_files = 0
    for day in days:
        if day in MISSING_SNAPSHOT_DAYS:
            continue
        folder = os.path.join(out, "resource-graph", day.isoformat())
        os.makedirs(folder, exist_ok=True)
        rows = {
            "subscriptions": lambda: sorted(rows_subscriptions(all_subs, day), key=lambda r: r["subscriptionId"]),
            "defender_plans": lambda: rows_defender_plans(all_subs, day),
            "aks_clusters": lambda: rows_aks(seed, all_subs, day),
            "container_registries": lambda: rows_registries(all_subs, day),
            "arc_clusters": lambda: rows_arc(all_subs, day),
            "container_instances": lambda: rows_container_instances(all_subs, day),
            "security_alerts": lambda: rows_alerts(alerts, day),
            "vulnerabilities": lambda: rows_vulnerabilities(seed, findings, day),
            "scan_status": lambda: rows_scan_status(seed, scan_runs, day),
            "policy_states": lambda: rows_policy(seed, all_subs, day),
        }
        for name in DATASETS:
            pages = paginate(rows[name](), stream(seed, "skiptoken", day, name))
            write_pages(os.path.join(folder, f"{name}.json"), pages)
            n_files += 1
    return n_files


# ---------------------------------------------------------------------------
# Cost: meters, line items and the two CSV dialects
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    category: str
    subcategory: str
    name: str
    unit: str  # EA UnitOfMeasure / x_PricingUnitDescription
    consumed_unit: str  # FOCUS ConsumedUnit / PricingUnit
    payg: float
    discount: float
    service: str  # FOCUS ServiceName
    service_category: str
    family: str
    consumed_service: str
    product: str
    resource_type: str  # FOCUS ResourceType (display name)
    block: str = "1"


def vm_meter(size: str) -> Meter:
    vcpu, subcat, name, price = VM_SIZES[size]
    return Meter("Virtual Machines", subcat, name, "1 Hour", "Hours", price, COMPUTE_DISCOUNT, "Virtual Machines",
                 "Compute", "Compute", "Microsoft.Compute", f"Virtual Machines {subcat} - {name}",
                 "Virtual machine scale set")


METERS = {
    "aks_uptime": Meter("Azure Kubernetes Service", "Standard", "Standard Uptime SLA", "1 Hour", "Hours", 0.10, 0.0,
                        "Azure Kubernetes Service", "Compute", "Compute", "Microsoft.ContainerService",
                        "Azure Kubernetes Service - Standard - Uptime SLA", "Kubernetes service"),
    "pvc_disk": Meter("Storage", "Premium SSD Managed Disks", "P10 LRS Disk", "1/Month", "Months", 21.68, 0.0,
                      "Storage", "Storage", "Storage", "Microsoft.Compute", "Premium SSD Managed Disks - P10 LRS",
                      "Disk"),
    "lb": Meter("Load Balancer", "", "Standard Included LB Rules and Outbound Rules", "1 Hour", "Hours", 0.025, 0.0,
                "Load Balancer", "Networking", "Networking", "Microsoft.Network", "Load Balancer - Standard",
                "Load balancer"),
    "acr_Premium": Meter("Container Registry", "", "Premium Registry Unit", "1/Day", "Days", 1.667, 0.0,
                         "Container Registry", "Containers", "Containers", "Microsoft.ContainerRegistry",
                         "Container Registry - Premium", "Container registry"),
    "acr_Standard": Meter("Container Registry", "", "Standard Registry Unit", "1/Day", "Days", 0.667, 0.0,
                          "Container Registry", "Containers", "Containers", "Microsoft.ContainerRegistry",
                          "Container Registry - Standard", "Container registry"),
    "acr_Basic": Meter("Container Registry", "", "Basic Registry Unit", "1/Day", "Days", 0.167, 0.0,
                       "Container Registry", "Containers", "Containers", "Microsoft.ContainerRegistry",
                       "Container Registry - Basic", "Container registry"),
    "arc_k8s": Meter("Azure Arc", "Azure Arc enabled Kubernetes", "Kubernetes Configuration vCPU", "1 Hour", "Hours",
                     0.00274, 0.0, "Azure Arc", "Hybrid", "Compute", "Microsoft.KubernetesConfiguration",
                     "Azure Arc enabled Kubernetes - Kubernetes Configuration", "Kubernetes - Azure Arc"),
    "defender_vcore": Meter("Microsoft Defender for Cloud", "Microsoft Defender for Containers",
                            "Standard vCore vCore Pack", "1 Hour", "Hours", DEFENDER_VCORE_PRICE, 0.0,
                            "Microsoft Defender for Cloud", "Security", "Security", "Microsoft.Security",
                            "Microsoft Defender for Containers", "Pricing"),
    "defender_images": Meter("Microsoft Defender for Cloud", "Microsoft Defender for Containers", "Standard Images",
                             "1", "Count", DEFENDER_IMAGE_PRICE, 0.0, "Microsoft Defender for Cloud", "Security",
                             "Security", "Microsoft.Security", "Microsoft Defender for Containers", "Pricing"),
    "law_ingest": Meter("Log Analytics", "", "Pay-as-you-go Data Ingestion", "1 GB", "GB", 2.99, 0.0,
                        "Log Analytics", "Management and Governance", "Management and Governance",
                        "Microsoft.OperationalInsights", "Log Analytics - Pay-as-you-go", "Log Analytics workspace"),
    "sentinel": Meter("Sentinel", "", "Pay-as-you-go Analysis", "1 GB", "GB", 2.46, 0.0, "Microsoft Sentinel",
                      "Security", "Security", "Microsoft.OperationalInsights", "Sentinel - Pay-as-you-go",
                      "Log Analytics workspace"),
    "blob_hot": Meter("Storage", "Tiered Block Blob", "Hot LRS Data Stored", "1 GB/Month", "GB Months", 0.0196, 0.0,
                      "Storage", "Storage", "Storage", "Microsoft.Storage", "Blob Storage - Hot - LRS",
                      "Storage account"),
    "blob_read": Meter("Storage", "Tiered Block Blob", "Hot Read Operations", "10K", "10K", 0.005, 0.0, "Storage",
                       "Storage", "Storage", "Microsoft.Storage", "Blob Storage - Hot - LRS", "Storage account",
                       "10000"),
    "sql_gp": Meter("SQL Database", "General Purpose - Compute Gen5", "vCore", "1 Hour", "Hours", 0.5044, 0.0,
                    "SQL Database", "Databases", "Databases", "Microsoft.Sql",
                    "SQL Database Single General Purpose - Compute Gen5", "SQL database"),
    "appsvc_p1": Meter("Azure App Service", "Premium v3 Plan", "P1 v3 App", "1 Hour", "Hours", 0.1655, 0.0,
                       "Azure App Service", "Web", "Compute", "Microsoft.Web", "Azure App Service Premium v3 Plan",
                       "App Service plan"),
    "backup_vm": Meter("Backup", "", "Azure VM Protected Instances", "1/Month", "Months", 10.0, 0.0, "Backup",
                       "Storage", "Storage", "Microsoft.RecoveryServices", "Backup - Azure VM",
                       "Recovery Services vault"),
    "firewall": Meter("Azure Firewall", "", "Standard Deployment", "1 Hour", "Hours", 1.25, 0.0, "Azure Firewall",
                      "Networking", "Networking", "Microsoft.Network", "Azure Firewall - Standard", "Firewall"),
    "bandwidth_in": Meter("Bandwidth", "", "Standard Data Transfer In", "1 GB", "GB", 0.0, 0.0, "Bandwidth",
                          "Networking", "Networking", "Microsoft.Network", "Bandwidth - Data Transfer In",
                          "Firewall"),
    "support": Meter("Azure Support", "", "Standard Support", "1/Month", "Months", 100.0, 0.0, "Azure Support",
                     "Other", "Azure Support", "", "Azure Support - Standard", ""),
    "rounding": Meter("", "", "", "", "", 0.0, 0.0, "", "Other", "", "", "", ""),
}
METERS["blob_read_tiny"] = METERS["blob_read"]
for _size in VM_SIZES:
    METERS["vmss:" + _size] = vm_meter(_size)
METERS["vm_d8"] = METERS["vmss:Standard_D8s_v5"]
METERS["vm_d4"] = METERS["vmss:Standard_D4s_v5"]
METERS["vm_b2s"] = METERS["vmss:Standard_B2s"]


@dataclass
class Line:
    """One resource x meter: every static column of a cost row."""

    key: str
    sub: Sub | None
    rg: str
    resource_id: str
    resource_name: str
    arm_type: str  # lower-case ARM type, FOCUS x_ResourceType
    location: str
    meter: Meter
    tags: dict | None
    additional_info: str = ""
    charge_category: str = "Usage"  # FOCUS ChargeCategory
    charge_class: str = ""
    ea_charge_type: str = "Usage"
    frequency: tuple[str, str] = ("Usage-Based", "UsageBased")  # FOCUS, EA
    resource_type_override: str | None = None
    focus_tpl: str = ""
    ea_tpl: str = ""


FOCUS_COLUMNS = (
    "BilledCost,BillingAccountId,BillingAccountName,BillingAccountType,BillingCurrency,BillingPeriodEnd,"
    "BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodEnd,"
    "ChargePeriodStart,CommitmentDiscountCategory,CommitmentDiscountId,CommitmentDiscountName,"
    "CommitmentDiscountStatus,CommitmentDiscountType,ConsumedQuantity,ConsumedUnit,ContractedCost,"
    "ContractedUnitPrice,EffectiveCost,InvoiceIssuerName,ListCost,ListUnitPrice,PricingCategory,PricingQuantity,"
    "PricingUnit,ProviderName,PublisherName,RegionId,RegionName,ResourceId,ResourceName,ResourceType,"
    "ServiceCategory,ServiceName,SkuId,SkuPriceId,SubAccountId,SubAccountName,SubAccountType,Tags,x_AccountId,"
    "x_AccountName,x_AccountOwnerId,x_BilledCostInUsd,x_BilledUnitPrice,x_BillingAccountId,x_BillingAccountName,"
    "x_BillingExchangeRate,x_BillingExchangeRateDate,x_BillingProfileId,x_BillingProfileName,x_ContractedCostInUsd,"
    "x_CostAllocationRuleName,x_CostCenter,x_CustomerId,x_CustomerName,x_EffectiveCostInUsd,x_EffectiveUnitPrice,"
    "x_InvoiceId,x_InvoiceIssuerId,x_InvoiceSectionId,x_InvoiceSectionName,x_ListCostInUsd,x_PartnerCreditApplied,"
    "x_PartnerCreditRate,x_PricingBlockSize,x_PricingCurrency,x_PricingSubcategory,x_PricingUnitDescription,"
    "x_PublisherCategory,x_PublisherId,x_ResellerId,x_ResellerName,x_ResourceGroupName,x_ResourceType,"
    "x_ServicePeriodEnd,x_ServicePeriodStart,x_SkuDescription,x_SkuDetails,x_SkuIsCreditEligible,"
    "x_SkuMeterCategory,x_SkuMeterId,x_SkuMeterName,x_SkuMeterSubcategory,x_SkuOfferId,x_SkuOrderId,"
    "x_SkuOrderName,x_SkuPartNumber,x_SkuRegion,x_SkuServiceFamily,x_SkuTerm,x_SkuTier"
).split(",")

EA_COLUMNS = (
    "InvoiceSectionName,AccountName,AccountOwnerId,SubscriptionId,SubscriptionName,ResourceGroup,ResourceLocation,"
    "Date,ProductName,MeterCategory,MeterSubCategory,MeterId,MeterName,MeterRegion,UnitOfMeasure,Quantity,"
    "EffectivePrice,CostInBillingCurrency,CostCenter,ConsumedService,ResourceId,Tags,OfferId,AdditionalInfo,"
    "ServiceInfo1,ServiceInfo2,ResourceName,ReservationId,ReservationName,UnitPrice,ProductOrderId,"
    "ProductOrderName,Term,PublisherType,PublisherName,ChargeType,Frequency,PricingModel,AvailabilityZone,"
    "BillingAccountId,BillingAccountName,BillingCurrencyCode,BillingPeriodStartDate,BillingPeriodEndDate,"
    "BillingProfileId,BillingProfileName,InvoiceSectionId,IsAzureCreditEligible,PartNumber,PayGPrice,PlanName,"
    "ServiceFamily,CostAllocationRuleName,benefitId,benefitName,AccountId,ResourceLocationNormalized"
).split(",")
assert len(FOCUS_COLUMNS) == 96 and len(EA_COLUMNS) == 57

# Columns whose values change per row (everything else is baked into the line's template).
FOCUS_DYNAMIC = {
    "BilledCost": "c", "ContractedCost": "c", "EffectiveCost": "c", "x_BilledCostInUsd": "c",
    "x_ContractedCostInUsd": "c", "x_EffectiveCostInUsd": "c", "ListCost": "l", "x_ListCostInUsd": "l",
    "ConsumedQuantity": "q", "PricingQuantity": "q", "BillingPeriodStart": "bps", "x_BillingExchangeRateDate": "bps",
    "BillingPeriodEnd": "bpe", "ChargePeriodStart": "cps", "x_ServicePeriodStart": "cps", "ChargePeriodEnd": "cpe",
    "x_ServicePeriodEnd": "cpe",
}
EA_DYNAMIC = {"Date": "date", "Quantity": "q", "CostInBillingCurrency": "c", "BillingPeriodStartDate": "ebps",
              "BillingPeriodEndDate": "ebpe"}
# Number-typed FOCUS columns (for the Parquet variant).
FOCUS_NUMERIC = ("BilledCost", "ConsumedQuantity", "ContractedCost", "ContractedUnitPrice", "EffectiveCost",
                 "ListCost", "ListUnitPrice", "PricingQuantity", "x_BilledCostInUsd", "x_BilledUnitPrice",
                 "x_BillingExchangeRate", "x_ContractedCostInUsd", "x_EffectiveCostInUsd", "x_EffectiveUnitPrice",
                 "x_ListCostInUsd", "x_PricingBlockSize")
FOCUS_DATES = ("BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart",
               "x_BillingExchangeRateDate", "x_ServicePeriodEnd", "x_ServicePeriodStart")


def csv_cell(value: str) -> str:
    """RFC 4180: quote only when needed, double embedded quotes."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def tags_focus(tags: dict | None) -> str:
    return json.dumps(tags, separators=(",", ":"), ensure_ascii=False) if tags else ""


def tags_ea(tags: dict | None) -> str:
    """EA actual-cost Tags: a JSON object missing its outer braces (azure-formats 3.7)."""
    if not tags:
        return ""
    return ",".join(f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                    for k, v in tags.items())


def sku_code(meter: Meter, location: str) -> tuple[str, str, str, str]:
    """Stable product/SKU/part codes in the shapes Azure uses."""
    h = hashlib.sha256(f"{meter.category}|{meter.subcategory}|{meter.name}|{location}".encode()).hexdigest().upper()
    alnum = "".join(ch for ch in h if ch.isalnum())
    product = "DZH3" + alnum[:8]
    return (f"{product}/{alnum[8:12]}", f"{product}/{alnum[8:12]}/{alnum[12:16]}",
            f"{alnum[16:19]}-{alnum[19:24]}", stable_guid("meter", meter.category, meter.subcategory, meter.name,
                                                          location))


def compile_line(line: Line) -> None:
    """Bake the static columns of both dialects into %-format templates."""
    m, sub = line.meter, line.sub
    loc_name, meter_region = LOCATIONS.get(line.location, ("", ""))
    eff = m.payg * (1 - m.discount)
    sku_id, sku_price_id, part, meter_id = sku_code(m, line.location)
    if not m.category:  # rounding adjustment: no meter at all
        sku_id = sku_price_id = part = meter_id = ""
    product = f"{m.product} - {meter_region}" if m.product and meter_region else m.product
    static = {
        "BillingAccountId": f"/providers/Microsoft.Billing/billingAccounts/{ENROLLMENT}",
        "BillingAccountName": BILLING_ACCOUNT_NAME, "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD", "ChargeCategory": line.charge_category, "ChargeClass": line.charge_class,
        "ChargeDescription": product, "ChargeFrequency": line.frequency[0],
        "ConsumedUnit": m.consumed_unit, "ContractedUnitPrice": fmt_num(eff), "InvoiceIssuerName": "Microsoft",
        "ListUnitPrice": fmt_num(m.payg), "PricingCategory": "Standard" if m.category else "",
        "PricingUnit": m.consumed_unit, "ProviderName": "Microsoft", "PublisherName": "Microsoft",
        "RegionId": line.location, "RegionName": loc_name, "ResourceId": line.resource_id,
        "ResourceName": line.resource_name,
        "ResourceType": line.resource_type_override if line.resource_type_override is not None else m.resource_type,
        "ServiceCategory": m.service_category, "ServiceName": m.service, "SkuId": sku_id, "SkuPriceId": sku_price_id,
        "SubAccountId": f"/subscriptions/{sub.id}" if sub else "", "SubAccountName": sub.name if sub else "",
        "SubAccountType": "Subscription" if sub else "", "Tags": tags_focus(line.tags),
        "x_AccountId": EA_ACCOUNT_ID, "x_AccountName": EA_ACCOUNT_NAME, "x_AccountOwnerId": EA_ACCOUNT_OWNER,
        "x_BilledUnitPrice": fmt_num(eff), "x_BillingAccountId": ENROLLMENT,
        "x_BillingAccountName": BILLING_ACCOUNT_NAME, "x_BillingExchangeRate": "1", "x_BillingProfileId": ENROLLMENT,
        "x_BillingProfileName": BILLING_ACCOUNT_NAME, "x_EffectiveUnitPrice": fmt_num(eff),
        "x_InvoiceSectionId": EA_DEPARTMENT_ID, "x_InvoiceSectionName": EA_DEPARTMENT_NAME,
        "x_PricingBlockSize": m.block if m.category else "", "x_PricingCurrency": "USD",
        "x_PricingSubcategory": "Standard" if m.category else "", "x_PricingUnitDescription": m.unit,
        "x_PublisherCategory": "Cloud Provider", "x_ResourceGroupName": line.rg, "x_ResourceType": line.arm_type,
        "x_SkuDescription": product, "x_SkuDetails": line.additional_info,
        "x_SkuIsCreditEligible": "true" if m.category not in ("Azure Support", "") else "false",
        "x_SkuMeterCategory": m.category, "x_SkuMeterId": meter_id, "x_SkuMeterName": m.name,
        "x_SkuMeterSubcategory": m.subcategory, "x_SkuOfferId": EA_OFFER, "x_SkuPartNumber": part,
        "x_SkuRegion": meter_region, "x_SkuServiceFamily": m.family,
    }
    line.focus_tpl = row_template(FOCUS_COLUMNS, FOCUS_DYNAMIC, static)
    ea_static = {
        "InvoiceSectionName": EA_DEPARTMENT_NAME, "AccountName": EA_ACCOUNT_NAME, "AccountOwnerId": EA_ACCOUNT_OWNER,
        "SubscriptionId": sub.id if sub else "", "SubscriptionName": sub.name if sub else "",
        "ResourceGroup": line.rg, "ResourceLocation": line.location, "ProductName": product,
        "MeterCategory": m.category, "MeterSubCategory": m.subcategory, "MeterId": meter_id, "MeterName": m.name,
        "MeterRegion": meter_region, "UnitOfMeasure": m.unit, "EffectivePrice": fmt_num(eff),
        "ConsumedService": m.consumed_service, "ResourceId": line.resource_id, "Tags": tags_ea(line.tags),
        "OfferId": EA_OFFER, "AdditionalInfo": line.additional_info, "ResourceName": line.resource_name,
        "UnitPrice": fmt_num(eff), "PublisherType": "Azure", "PublisherName": "Microsoft",
        "ChargeType": line.ea_charge_type, "Frequency": line.frequency[1],
        "PricingModel": "OnDemand" if m.category else "", "BillingAccountId": ENROLLMENT,
        "BillingAccountName": BILLING_ACCOUNT_NAME, "BillingCurrencyCode": "USD", "BillingProfileId": ENROLLMENT,
        "BillingProfileName": BILLING_ACCOUNT_NAME, "InvoiceSectionId": EA_DEPARTMENT_ID,
        "IsAzureCreditEligible": "True" if m.category not in ("Azure Support", "") else "False",
        "PartNumber": part, "PayGPrice": fmt_num(m.payg), "ServiceFamily": m.family, "AccountId": EA_ACCOUNT_ID,
        "ResourceLocationNormalized": loc_name,
    }
    line.ea_tpl = row_template(EA_COLUMNS, EA_DYNAMIC, ea_static)



def row_template(columns: list[str], dynamic: dict[str, str], static: dict[str, str]) -> str:
    """A CSV line as a %-template: `dynamic` columns are filled per day, the rest are fixed."""
    cells = []
    for col in columns:
        if col in dynamic:
            cells.append(f"%({dynamic[col]})s")
        else:
            cells.append(csv_cell(static.get(col, "")).replace("%", "%%"))
    return ",".join(cells) + "\n"


def vmss_name(a: Aks, pool: Pool) -> tuple[str, str]:
    suffix = str(int(hashlib.sha256(f"{a.sub.id}/{a.name}".encode()).hexdigest(), 16))[:8]
    return f"aks-{pool.name}-{suffix}-vmss", suffix


def build_lines(subs: list[Sub]) -> dict[str, Line]:
    """All cost line items of one replica, keyed for the daily usage function."""
    lines: dict[str, Line] = {}

    def add(line: Line) -> None:
        compile_line(line)
        lines[line.key] = line

    for s in subs:
        base = f"/subscriptions/{s.id}/resourceGroups"
        for a in s.aks:
            node_rg = a.node_rg.upper() if a.cost_rg_upper else a.node_rg
            add(Line(f"{a.id}|uptime", s, a.rg, a.cost_id, a.name, "microsoft.containerservice/managedclusters",
                     a.location, METERS["aks_uptime"], a.tags))
            for pool in a.pools:
                name, suffix = vmss_name(a, pool)
                tags = dict(a.tags or {})
                tags.update({"aks-managed-createOperationID": stable_guid("op", a.id, pool.name),
                             "aks-managed-creationSource": f"vmssclient-{name}",
                             "aks-managed-orchestrator": f"Kubernetes:{a.k8s}",
                             "aks-managed-poolName": pool.name, "aks-managed-resourceNameSuffix": suffix})
                info = json.dumps({"UsageType": "ComputeHR", "ImageType": "Canonical", "ServiceType": pool.vm_size,
                                   "VMName": None, "VMProperties": None, "VCPUs": VM_SIZES[pool.vm_size][0],
                                   "CPUs": 0}, separators=(",", ":"))
                add(Line(f"{a.id}|vmss|{pool.name}", s, node_rg,
                         f"{base}/{node_rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}", name,
                         "microsoft.compute/virtualmachinescalesets", a.location, METERS["vmss:" + pool.vm_size],
                         tags, info))
            pvc = f"pvc-{stable_guid('pvc', a.id)}"
            add(Line(f"{a.id}|disk", s, node_rg, f"{base}/{node_rg}/providers/Microsoft.Compute/disks/{pvc}", pvc,
                     "microsoft.compute/disks", a.location, METERS["pvc_disk"],
                     {"k8s-azure-created-by": "kubernetes-azure-dd", "kubernetes.io-created-for-pv-name": pvc,
                      "kubernetes.io-created-for-pvc-namespace": a.name.split("-")[1]}))
            aks_tags = {"aks-managed-cluster-name": a.name, "aks-managed-cluster-rg": a.rg}
            add(Line(f"{a.id}|lb", s, node_rg, f"{base}/{node_rg}/providers/Microsoft.Network/loadBalancers/kubernetes",
                     "kubernetes", "microsoft.network/loadbalancers", a.location, METERS["lb"], aks_tags))
        for r in s.registries:
            add(Line(f"{r.id}|acr", s, r.rg, r.id, r.name, "microsoft.containerregistry/registries", r.location,
                     METERS["acr_" + r.sku], r.tags))
        for c in s.arcs:
            add(Line(f"{c.id}|arc", s, c.rg, c.id, c.name, "microsoft.kubernetes/connectedclusters", c.location,
                     METERS["arc_k8s"], c.tags))
        pricing = f"/subscriptions/{s.id}/providers/Microsoft.Security/pricings/Containers"
        location = (s.aks or s.registries or s.arcs or [None])[0]
        region = location.location if location else "westeurope"
        for meter in ("defender_vcore", "defender_images"):
            add(Line(f"{s.id}|{meter}", s, "", pricing, "Containers", "microsoft.security/pricings", region,
                     METERS[meter], None))
        if s.log_gb:
            ws = f"law-{s.key}"
            add(Line(f"{s.id}|law", s, "rg-monitoring", f"{base}/rg-monitoring/providers/"
                     f"Microsoft.OperationalInsights/workspaces/{ws}", ws, "microsoft.operationalinsights/workspaces",
                     "westeurope", METERS["law_ingest"], {"purpose": "container-insights"}))
        for i, o in enumerate(s.others):
            provider_type = o.provider.lower()
            info = ""
            if o.meter.startswith("vm_"):
                size = {"vm_d8": "Standard_D8s_v5", "vm_d4": "Standard_D4s_v5", "vm_b2s": "Standard_B2s"}[o.meter]
                info = json.dumps({"UsageType": "ComputeHR", "ImageType": "Windows Server BYOL", "ServiceType": size,
                                   "VMName": None, "VMProperties": None, "VCPUs": VM_SIZES[size][0], "CPUs": 0},
                                  separators=(",", ":"))
            rtype = "Virtual machine" if o.meter.startswith("vm_") else None
            add(Line(f"{s.id}|other|{i}", s, o.rg, f"{base}/{o.rg}/providers/{o.provider}/{o.name}", o.name,
                     provider_type, o.location, METERS[o.meter], o.tags, info, resource_type_override=rtype))
        if s.key.startswith("erp-prod"):
            vm = s.others[0]
            add(Line(f"{s.id}|refund", s, vm.rg, f"{base}/{vm.rg}/providers/{vm.provider}/{vm.name}", vm.name,
                     vm.provider.lower(), vm.location, METERS["vm_d8"], vm.tags, charge_class="Correction",
                     ea_charge_type="Refund", resource_type_override="Virtual machine"))
    # Enrollment-level rows: no subscription at all (azure-formats 3.1).
    add(Line("support", None, "", "", "", "", "", METERS["support"], None, charge_category="Purchase",
             ea_charge_type="Purchase", frequency=("Recurring", "Recurring"), resource_type_override=""))
    add(Line("rounding", None, "", "", "", "", "", METERS["rounding"], None, charge_category="Adjustment",
             ea_charge_type="RoundingAdjustment", frequency=("One-Time", "OneTime"), resource_type_override=""))
    return lines


def day_usage(seed: int, subs: list[Sub], lines: dict[str, Line], day: dt.date) -> list[tuple[Line, float, float]]:
    """(line, quantity, cost) of every charge of one replica on one day."""
    rng = stream(seed, "usage", subs[0].replica, day)
    out: list[tuple[Line, float, float]] = []
    days_in_month = month_end(day).day

    def use(key: str, qty: float, cost: float | None = None) -> None:
        line = lines[key]
        out.append((line, qty, qty * line.meter.payg * (1 - line.meter.discount) if cost is None else cost))

    for s in subs:
        if s.state == "Disabled":
            continue  # a disabled subscription stops accruing charges
        vcore_hours = 0.0
        for a in s.aks:
            if a.power == "Running":
                if a.uptime_sla:
                    use(f"{a.id}|uptime", 24.0)
                for pool in a.pools:
                    hours = node_hours(seed, a, pool, day)
                    use(f"{a.id}|vmss|{pool.name}", hours)
                    vcore_hours += hours * VM_SIZES[pool.vm_size][0]
                use(f"{a.id}|lb", 24.0)
            use(f"{a.id}|disk", a.pvc_disks / days_in_month)  # disks bill even when the cluster is stopped
        for r in s.registries:
            use(f"{r.id}|acr", 1.0)
        for c in s.arcs:
            if day >= c.onboarded:
                use(f"{c.id}|arc", c.cores * 24.0)
                vcore_hours += c.cores * 24.0
        tier = plan_on(s, day)[0]
        if tier == "Standard" and vcore_hours > 0:
            if s.plan.free_to and day == s.plan.free_to + dt.timedelta(days=1):
                vcore_hours *= (24 - 8.7869) / 24  # re-enabled at 08:47 UTC: a partial day
            use(f"{s.id}|defender_vcore", vcore_hours)
        if tier == "Standard" and s.registries and rng.random() < 0.3:
            use(f"{s.id}|defender_images", float(rng.randint(1, 9)))  # images pushed beyond the free quota
        if s.log_gb:
            use(f"{s.id}|law", rng.uniform(*s.log_gb))
        for i, o in enumerate(s.others):
            qty = rng.uniform(*o.qty)
            if o.meter in ("blob_hot", "backup_vm"):
                qty /= days_in_month  # monthly meters accrue daily
            if o.meter == "blob_read_tiny":
                use(f"{s.id}|other|{i}", 0.003, 1.5e-05)  # prints as 1.5E-05
            else:
                use(f"{s.id}|other|{i}", qty)
        if s.key.startswith("erp-prod") and day == REFUND_DAY:
            use(f"{s.id}|refund", -104.5)  # SLA credit for an outage: negative quantity and cost
    if day.day == 1:
        use("support", 1.0)
    if day == month_end(day):
        use("rounding", 0.0, -0.0012345679)
    return out


def day_strings(day: dt.date) -> dict[str, str]:
    first = day.replace(day=1)
    nxt_month = month_end(day) + dt.timedelta(days=1)
    return {
        "bps": f"{first.isoformat()}T00:00:00Z", "bpe": f"{nxt_month.isoformat()}T00:00:00Z",
        "cps": f"{day.isoformat()}T00:00:00Z", "cpe": f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00Z",
        "date": day.strftime("%m/%d/%Y"), "ebps": first.strftime("%m/%d/%Y"),
        "ebpe": month_end(day).strftime("%m/%d/%Y"),
    }


def render(lines_usage, dialect: str):
    """Yield CSV lines for (day, [(line, qty, cost)...]) groups."""
    for day, usage in lines_usage:
        values = day_strings(day)
        for line, qty, cost in usage:
            values["q"] = fmt_num(qty)
            values["c"] = fmt_num(cost)
            if dialect == "focus":
                values["l"] = fmt_num(qty * line.meter.payg) if line.meter.payg else values["c"]
                yield line.focus_tpl % values
            else:
                yield line.ea_tpl % values


# ---------------------------------------------------------------------------
# Export runs
# ---------------------------------------------------------------------------

EXPORTS = {
    "focus": {"exportName": "focus-monthly", "rootFolderPath": "exports/focus", "type": "FocusCost",
              "dataVersion": "1.0r2", "apiVersion": "2025-03-01", "header": FOCUS_COLUMNS, "end_z": False},
    "ea": {"exportName": "ea-actual", "rootFolderPath": "exports/ea", "type": "ActualCost",
           "dataVersion": "2024-08-01", "apiVersion": "2024-08-01", "header": EA_COLUMNS, "end_z": True},
}
STORAGE_ACCOUNT = "stcontosofinops"


class GzipCsvWriter:
    """Streams CSV text into a gzip member with a fixed header (mtime 0, no file name)."""

    def __init__(self, path: str, header: list[str], level: int = 6):
        self.path = path
        self.raw = open(path, "wb")
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="wb", mtime=0, filename="", compresslevel=level)
        self.rows = 0
        self.buf: list[str] = []
        self.gz.write((",".join(header) + "\n").encode())

    def write(self, line: str) -> None:
        self.buf.append(line)
        self.rows += 1
        if len(self.buf) >= 20000:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.gz.write("".join(self.buf).encode("utf-8"))
            self.buf.clear()

    def close(self) -> tuple[int, int]:
        self.flush()
        self.gz.close()
        self.raw.close()
        return os.path.getsize(self.path), self.rows


def run_folder(export: dict, range_start: dt.date, range_end: dt.date, submitted: str, run_id: str) -> str:
    stamp = submitted[:16].replace("-", "").replace("T", "").replace(":", "")
    return "/".join((export["rootFolderPath"], export["exportName"],
                     f"{range_start:%Y%m%d}-{range_end:%Y%m%d}", stamp, run_id))


def write_manifest(container: str, folder: str, export: dict, blobs: list[tuple[str, int, int]], submitted: str,
                   run_id: str, data_start: dt.date, data_end: dt.date, time_frame: str, execution: str,
                   file_format: str) -> None:
    manifest = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(b[1] for b in blobs),
        "blobCount": len(blobs),
        "dataRowCount": sum(b[2] for b in blobs),
        "exportConfig": {
            "exportName": export["exportName"],
            "resourceId": f"/providers/Microsoft.Billing/billingAccounts/{ENROLLMENT}/providers/"
                          f"Microsoft.CostManagement/exports/{export['exportName']}",
            "dataVersion": export["dataVersion"], "apiVersion": export["apiVersion"], "type": export["type"],
            "timeFrame": time_frame, "granularity": "Daily"},
        "deliveryConfig": {
            "partitionData": True, "dataOverwriteBehavior": "CreateNewReport", "fileFormat": file_format,
            "compressionMode": "Gzip" if file_format == "Csv" else "Snappy",
            "containerUri": f"/subscriptions/{stable_guid('subscription', 'connectivity')}/resourceGroups/rg-finops/"
                            f"providers/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}",
            "rootFolderPath": export["rootFolderPath"]},
        "runInfo": {
            "executionType": execution, "submittedTime": submitted, "runId": run_id,
            "startDate": f"{data_start.isoformat()}T00:00:00",
            "endDate": f"{data_end.isoformat()}T00:00:00" + ("Z" if export["end_z"] else "")},
        "blobs": [{"blobName": name, "byteCount": size, "dataRowCount": rows} for name, size, rows in blobs],
    }
    with open(os.path.join(container, folder, "manifest.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")


# (export, month start, submitted time, data to, partial?, parts)
RUNS = [
    ("focus", D(2026, 9, 1), "2026-09-16T05:12:44.1032074Z", D(2026, 9, 15), True, 1),
    ("focus", D(2026, 9, 1), "2026-10-02T05:09:21.6638150Z", D(2026, 9, 30), False, 1),
    ("focus", D(2026, 10, 1), "2026-10-16T05:11:03.2290418Z", D(2026, 10, 15), True, 1),
    ("focus", D(2026, 10, 1), "2026-11-02T05:14:37.9004126Z", D(2026, 10, 31), False, 2),
    ("ea", D(2026, 9, 1), "2026-09-16T06:31:18.5523907Z", D(2026, 9, 15), True, 1),
    ("ea", D(2026, 9, 1), "2026-10-02T06:28:55.0127736Z", D(2026, 9, 30), False, 1),
    ("ea", D(2026, 10, 1), "2026-10-16T06:33:40.7781142Z", D(2026, 10, 15), True, 1),
    ("ea", D(2026, 10, 1), "2026-11-02T06:35:12.3319458Z", D(2026, 10, 31), False, 1),
]


def write_cost_exports(out: str, seed: int, replicas: list[list[Sub]], start: dt.date, end: dt.date) -> list[str]:
    """The sample's export runs: both dialects render the very same (line, qty, cost) records."""
    container = os.path.join(out, "cost-exports")
    line_sets = [build_lines(subs) for subs in replicas]
    cache: dict[tuple[int, dt.date], list] = {}

    def usage(r: int, day: dt.date) -> list:
        if (r, day) not in cache:
            cache[(r, day)] = day_usage(seed, replicas[r], line_sets[r], day)
        return cache[(r, day)]

    written = []
    for export_key, month, submitted, data_to, partial, parts in RUNS:
        export = EXPORTS[export_key]
        data_to = min(data_to, end)
        if month > end or month_end(month) < start:
            continue
        days = days_between(max(month, start), data_to)
        run_id = rng_guid(stream(seed, "runid", export_key, month, submitted))
        folder = run_folder(export, month, month_end(month), submitted, run_id)
        os.makedirs(os.path.join(container, folder), exist_ok=True)
        keys = [(r, day) for r in range(len(replicas)) for day in days]
        total = sum(len(usage(r, day)) for r, day in keys)
        rows = render(((day, usage(r, day)) for r, day in keys), export_key)
        per_part = -(-total // parts)  # Azure splits large runs into parts of similar size
        blobs = []
        for p in range(parts):
            name = f"{folder}/part_{p}_0001.csv.gz"
            w = GzipCsvWriter(os.path.join(container, name), export["header"], level=9)
            for _ in range(min(per_part, total - p * per_part)):
                w.write(next(rows))
            size, n = w.close()
            blobs.append((name, size, n))
        write_manifest(container, folder, export, blobs, submitted, run_id, max(month, start), data_to,
                       "MonthToDate" if partial else "TheLastMonth", "OnDemand" if partial else "Scheduled", "Csv")
        written.append(folder)
    return written


# ---------------------------------------------------------------------------
# Benchmark mode: one large FOCUS run, streamed
# ---------------------------------------------------------------------------


def rows_per_replica(seed: int, start: dt.date, end: dt.date) -> int:
    subs = replicate(base_tenant(), 0)
    lines = build_lines(subs)
    return sum(len(day_usage(seed, subs, lines, d)) for d in days_between(start, end))


def have_pyarrow() -> bool:
    try:
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pa_parquet
    except ImportError:
        return False
    return bool(pa_csv and pa_parquet)


def write_large_focus(out: str, seed: int, start: dt.date, end: dt.date, target_rows: int, fmt: str,
                      split: int = 1) -> None:
    if fmt == "parquet" and not have_pyarrow():
        sys.exit("generate.py: --format parquet needs the pyarrow package (pip install pyarrow); "
                 "it is not importable here. Use --format csv, or install pyarrow.")
    per = rows_per_replica(seed, start, end) * split
    n_replicas = max(1, round(target_rows / per))
    export = EXPORTS["focus"]
    container = os.path.join(out, "cost-exports")
    submitted = f"{(end + dt.timedelta(days=2)).isoformat()}T05:14:37.9004126Z"
    extra = () if split == 1 else (split,)
    run_id = rng_guid(stream(seed, "runid", "large", start, end, target_rows, *extra))
    folder = run_folder(export, start, end, submitted, run_id)
    os.makedirs(os.path.join(container, folder), exist_ok=True)
    days = days_between(start, end)
    base = base_tenant()

    def groups():
        # Replica by replica, so only one replica's templates are alive at a time.
        for r in range(n_replicas):
            subs = replicate(base, r)
            lines = build_lines(subs)
            for day in days:
                usage = day_usage(seed, subs, lines, day)
                if split > 1:
                    # One charge as `split` rows of equal parts (like hourly granularity):
                    # the rows grow, the resources do not.
                    usage = [(line, q / split, c / split) for line, q, c in usage for _ in range(split)]
                yield day, usage

    if fmt == "csv":
        name = f"{folder}/part_0_0001.csv.gz"
        w = GzipCsvWriter(os.path.join(container, name), FOCUS_COLUMNS)
        for row in render(groups(), "focus"):
            w.write(row)
        size, n = w.close()
        blobs = [(name, size, n)]
        file_format = "Csv"
    else:
        blobs = [write_parquet(container, folder, render(groups(), "focus"))]
        file_format = "Parquet"
    write_manifest(container, folder, export, blobs, submitted, run_id, start, end, "Custom", "OnDemand", file_format)
    print(f"wrote {blobs[0][2]} rows ({n_replicas} tenant replicas x {per} rows) to "
          f"{os.path.join(container, folder)}")


def write_parquet(container: str, folder: str, rows) -> tuple[str, int, int]:
    """FOCUS as Parquet (snappy): CSV text chunks parsed by pyarrow's C++ reader into typed columns."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    types = {c: pa.string() for c in FOCUS_COLUMNS}
    for c in FOCUS_NUMERIC:
        types[c] = pa.float64()
    for c in FOCUS_DATES:
        types[c] = pa.timestamp("s", tz="UTC")
    schema = pa.schema([(c, types[c]) for c in FOCUS_COLUMNS])
    convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    header = (",".join(FOCUS_COLUMNS) + "\n").encode()
    name = f"{folder}/part_0_0001.snappy.parquet"
    path = os.path.join(container, name)
    writer = pq.ParquetWriter(path, schema, compression="snappy")
    total, buf = 0, []

    def flush():
        table = pacsv.read_csv(io.BytesIO(header + "".join(buf).encode()), convert_options=convert)
        writer.write_table(table.cast(schema))
        buf.clear()

    for row in rows:
        buf.append(row)
        total += 1
        if len(buf) >= 200000:
            flush()
    if buf:
        flush()
    writer.close()
    return name, os.path.getsize(path), total


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Generate the defender-ledger sample tenant (deterministic).")
    p.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                   help="output folder (default: the folder of this script)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--scale", type=int, default=1, help="tenant replicas, for benchmarks (default 1)")
    p.add_argument("--start", default=DEFAULT_START, help=f"first day (default {DEFAULT_START})")
    p.add_argument("--end", default=DEFAULT_END, help=f"last day, inclusive (default {DEFAULT_END})")
    p.add_argument("--cost-only", action="store_true",
                   help="write only one large FOCUS 1.0r2 export run (benchmarks)")
    p.add_argument("--cost-rows", type=int, help="approximate number of rows of that run (with --cost-only)")
    p.add_argument("--split", type=int, default=1,
                   help="write each charge of the --cost-only run as this many rows of equal parts: "
                        "more rows for the same resources (default 1)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv",
                   help="file format of the --cost-only run (parquet needs pyarrow)")
    p.add_argument("--raw", metavar="DIR",
                   help="write only the raw Resource Graph rows (DIR/<day>/<table>.json) from which the queries "
                        "give the sample's result pages; see raw_resources.py. Nothing else is written")
    p.add_argument("--raw-days", metavar="D1,D2,...",
                   help="with --raw: these snapshot days only (default: every snapshot day of the period)")
    args = p.parse_args(argv)
    args.start = dt.date.fromisoformat(args.start)
    args.end = dt.date.fromisoformat(args.end)
    if args.end < args.start:
        p.error("--end is before --start")
    if args.scale < 1:
        p.error("--scale must be at least 1")
    if args.cost_rows is not None and not args.cost_only:
        p.error("--cost-rows goes with --cost-only")
    if args.split < 1 or (args.split > 1 and not args.cost_only):
        p.error("--split is at least 1 and goes with --cost-only")
    if args.format == "parquet" and not args.cost_only:
        p.error("--format parquet applies to the --cost-only export; the sample's exports are gzip CSV")
    if args.raw and args.cost_only:
        p.error("--raw and --cost-only write different things; choose one")
    if args.raw_days and not args.raw:
        p.error("--raw-days goes with --raw")
    snapshot_days = [d for d in days_between(args.start, args.end) if d not in MISSING_SNAPSHOT_DAYS]
    args.raw_days_list = snapshot_days
    if args.raw_days:
        try:
            args.raw_days_list = sorted({dt.date.fromisoformat(d.strip())
                                         for d in args.raw_days.split(",") if d.strip()})
        except ValueError as e:
            p.error(f"--raw-days: {e}")
        bad = [d.isoformat() for d in args.raw_days_list if d not in snapshot_days]
        if bad:
            p.error(f"--raw-days: no snapshot on {', '.join(bad)} (the period is {args.start}..{args.end}; "
                    f"missing on purpose: {', '.join(d.isoformat() for d in MISSING_SNAPSHOT_DAYS)})")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.raw:
        # Imported here: the sample itself does not depend on it. No __pycache__ in sample-data/.
        sys.dont_write_bytecode = True
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import raw_resources

        base = base_tenant()
        replicas = [replicate(base, r) for r in range(args.scale)]
        n_files = raw_resources.write_raw(sys.modules[__name__], args.raw, args.seed, replicas,
                                          days_between(args.start, args.end), args.raw_days_list)
        print(f"wrote {n_files} raw Resource Graph table files for {len(args.raw_days_list)} day(s) to {args.raw}")
        return 0
    out = args.out
    os.makedirs(out, exist_ok=True)
    if args.cost_only:
        rows = args.cost_rows or args.scale * rows_per_replica(args.seed, args.start, args.end)
        write_large_focus(out, args.seed, args.start, args.end, rows, args.format, args.split)
        return 0
    # Replace only the generated trees, so stale runs from another seed cannot linger.
    for sub_dir in ("resource-graph", "cost-exports"):
        shutil.rmtree(os.path.join(out, sub_dir), ignore_errors=True)
    base = base_tenant()
    replicas = [replicate(base, r) for r in range(args.scale)]
    days = days_between(args.start, args.end)
    n_files = write_resource_graph(out, args.seed, replicas, days)
    runs = write_cost_exports(out, args.seed, replicas, args.start, args.end)
    print(f"wrote {n_files} Resource Graph files and {len(runs)} export runs to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
