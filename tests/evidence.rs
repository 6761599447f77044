//! Evidence packs: the control mappings, the evidence items and their populations on a small
//! hand-made tenant, and `verify` against tampered, incomplete, padded and signed runs.

mod support {
    pub mod tenant;
}
use support::tenant::{self, ACR_ID, AKS_ID, Computed, OCT, Tenant, compute, d, tenant};

use defender_ledger::evidence::{
    self, EvidenceInputs, EvidenceTable, Framework, ITEMS, build_items, build_pack, mapping,
};
use defender_ledger::history::Snapshots;
use defender_ledger::period::RunId;
use defender_ledger::pipeline::publish::publish_run;
use defender_ledger::render::manifest::{MANIFEST, Manifest, file_entries};
use defender_ledger::render::signing;
use defender_ledger::render::{OutputFile, RunFiles};
use defender_ledger::store::Store;
use defender_ledger::verify::{KeyOrigin, SignatureCheck, verify_location, verify_run};
use ed25519_dalek::SigningKey;
use polars::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Mappings

#[test]
fn mappings_parse_and_every_item_maps_to_a_control() {
    for fw in Framework::ALL {
        let m = mapping::load(fw).unwrap_or_else(|e| panic!("{fw}: {e}"));
        assert_eq!(m.framework, fw.id());
        for item in ITEMS {
            assert!(
                m.controls_for(item.id).next().is_some(),
                "{fw}: {} maps to no control",
                item.id
            );
        }
        let mut ids: Vec<&str> = m.controls.iter().map(|c| c.id.as_str()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{fw}: duplicate control ids");
    }
    // Partial support is explicit where the evidence is complementary (11.5.1).
    let pci = mapping::load(Framework::PciDss401).unwrap();
    let c = pci.controls.iter().find(|c| c.id == "11.5.1").unwrap();
    assert_eq!(c.support(), evidence::Support::Partial);
    assert!(c.evidence.iter().all(|e| !e.gap.is_empty()));
    let soc2 = mapping::load(Framework::Soc2).unwrap();
    assert!(soc2.controls.iter().any(|c| c.id == "CC7.2"));
}

#[test]
fn mapping_validation_names_each_problem() {
    let text = mapping::source_text(Framework::Soc2);
    // A typo in an item, a duplicated control, a partial support without a gap.
    let broken = text
        .replacen("item = \"ownership-tags\"", "item = \"ownership-tag\"", 1)
        .replacen("id = \"CC6.8\"", "id = \"CC6.1\"", 1)
        .replacen(
            "gap = \"The evaluation itself (true/false positive, incident decision) is recorded in the SOC's case system, not here.\"",
            "gap = \"\"",
            1,
        );
    let err = mapping::parse(&broken, "soc2.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown evidence item \"ownership-tag\""),
        "{err}"
    );
    assert!(err.contains("control CC6.1 is listed twice"), "{err}");
    assert!(
        err.contains("CC7.3, item alerts: partial support must say"),
        "{err}"
    );
    assert!(
        err.contains("evidence item ownership-tags maps to no control"),
        "{err}"
    );
    // An unknown support level or key is refused by the parser.
    let err = mapping::parse(
        &text.replacen("support = \"full\"", "support = \"most\"", 1),
        "x",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("most"), "{err}");
}

/// Snapshots of `tenant()`; the markers' query hashes are placeholders.
fn snapshots(extra_reported: Option<(&str, &str, i64)>) -> Snapshots {
    snapshots_of(tenant(), extra_reported)
}

fn snapshots_of(t: Tenant, extra_reported: Option<(&str, &str, i64)>) -> Snapshots {
    tenant::snapshots_of(t, extra_reported, |dataset| {
        format!("{:064x}", dataset.len())
    })
}

fn inputs(c: &Computed) -> EvidenceInputs<'_> {
    EvidenceInputs {
        period: OCT,
        history: &c.history,
        params: &c.params,
        alerts: &c.detection.population,
        findings: &c.vulns,
        queries: &[],
        scope_management_groups: &[],
        scope_subscriptions: &[],
        source: "fixture",
        signing_key_fingerprint: None,
        data_quality: &[],
    }
}

fn item<'a>(items: &'a [EvidenceTable], id: &str) -> &'a EvidenceTable {
    items.iter().find(|i| i.item.id == id).unwrap()
}

fn excluded(t: &EvidenceTable, reason_starts: &str) -> i64 {
    t.population
        .exclusions
        .iter()
        .find(|(r, _)| r.starts_with(reason_starts))
        .map(|(_, n)| *n)
        .unwrap_or(0)
}

fn col_strs(df: &DataFrame, name: &str) -> Vec<String> {
    defender_ledger::frame::strs(df, name)
        .unwrap()
        .into_iter()
        .map(|s| s.unwrap_or_default())
        .collect()
}

#[test]
fn every_population_reconciles_on_the_sample_tenant() {
    let c = compute(&snapshots(None));
    let items = build_items(&inputs(&c)).unwrap();
    assert_eq!(items.len(), ITEMS.len());
    for it in &items {
        assert!(
            it.population.reconciles(),
            "{}: {}",
            it.item.id,
            it.population.summary()
        );
        let cols: Vec<String> = it
            .table
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(cols, it.item.columns, "{} columns", it.item.id);
        // Days of October without a snapshot are listed, never hidden.
        assert_eq!(
            it.population.snapshot_days_missing.len(),
            29,
            "{}",
            it.item.id
        );
        assert!(!it.population.queries.is_empty(), "{}", it.item.id);
    }

    // Coverage: 3 subscriptions × 2 October days; 6 reported.
    let cov = item(&items, "coverage-daily");
    assert_eq!(
        (cov.population.rows, cov.population.reported_total),
        (6, Some(6))
    );

    // Gaps: b on 10-01 only. Of 6 subscription-days: c twice out of scope, a twice and b once
    // compliant, one failing day in the gap.
    let gaps = item(&items, "coverage-gaps");
    assert_eq!(gaps.table.height(), 1);
    assert_eq!(col_strs(&gaps.table, "subscriptionId"), ["b"]);
    assert_eq!(gaps.population.rows, 1);
    assert_eq!(excluded(gaps, "subscription-day not in scope"), 2);
    assert_eq!(excluded(gaps, "subscription-day in scope and compliant"), 3);
    assert!(col_strs(&gaps.table, "reason_at_start")[0].contains("ContainerSensor"));

    // Inventory: aks1, arc1, acr1 on two days each = 6 resource-days.
    let inv = item(&items, "protection-inventory");
    assert_eq!(inv.table.height(), 3);
    assert_eq!(
        (inv.population.rows, inv.population.reported_total),
        (6, Some(6))
    );
    let days_protected: Vec<i64> = defender_ledger::frame::ints(&inv.table, "days_protected")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    // Ordered aks, arc, registry: arc never protected, registry unprotected on 10-01.
    assert_eq!(days_protected, [2, 0, 1]);
    assert_eq!(
        col_strs(&inv.table, "owner"),
        ["payments", "platform", "unallocated"]
    );
    // Hardening (docs/kpis.md): aks1 has no network policy (null: absent, a failure), the other
    // three AKS checks pass; arc1 is not assessed; acr1 passes the admin user check (false)
    // and fails public network access (Enabled).
    assert_eq!(col_strs(&inv.table, "hardening"), ["fail", "", "fail"]);
    assert_eq!(
        col_strs(&inv.table, "hardening_failed"),
        ["networkPolicy", "", "publicNetworkAccess"]
    );
    assert_eq!(col_strs(&inv.table, "enableRBAC"), ["true", "", ""]);
    assert_eq!(col_strs(&inv.table, "adminUserEnabled"), ["", "", "false"]);
    assert!(
        inv.exceptions.iter().any(|e| e.contains("aks1")
            && e.contains("hardening fails")
            && e.ends_with(": networkPolicy")),
        "{:?}",
        inv.exceptions
    );

    // Policy: 4 states a day, one without assignment each day.
    let pol = item(&items, "policy-compliance");
    assert_eq!(pol.population.rows, 6);
    assert_eq!(excluded(pol, "policy state without policyAssignmentId"), 2);
    assert_eq!(pol.population.reported_total, Some(8));

    // Alerts: a1 and n1 in the population. Rows read: s1 (09-30), a1+v1 (10-01), a1+v1+n1
    // (10-02) = 6: 2 earlier rows of a1 and v1, s1 outside the period, v1 not a container type.
    let al = item(&items, "alerts");
    assert_eq!(col_strs(&al.table, "systemAlertId"), ["a1", "n1"]);
    assert_eq!(excluded(al, "earlier snapshot row"), 2);
    assert_eq!(excluded(al, "timeGeneratedUtc outside the period"), 1);
    assert_eq!(excluded(al, "alertType not starting with"), 1);
    assert_eq!(al.population.reported_total, Some(6));
    assert_eq!(
        al.population.snapshot_days_used.len(),
        3,
        "history is read too"
    );
    let why = col_strs(&al.table, "latency_exclusion_reason");
    assert!(why[0].is_empty() && why[1].starts_with("negative latency"));
    assert!(al.exceptions.iter().any(|e| e.contains("alert n1")));

    // Vulnerabilities: 8 rows over three days; d3 Healthy three times; d1 twice and d2 three
    // times Unhealthy.
    let vu = item(&items, "vulnerability-findings");
    assert_eq!(vu.table.height(), 2);
    assert_eq!(vu.population.rows, 5);
    assert_eq!(excluded(vu, "statusCode not Unhealthy"), 3);
    assert_eq!(vu.population.reported_total, Some(8));
    let resolved = defender_ledger::frame::dates(&vu.table, "resolved").unwrap();
    let cves = col_strs(&vu.table, "cveId");
    let i = cves.iter().position(|c| c == "CVE-2026-0001").unwrap();
    assert_eq!(resolved[i], Some(d("2026-10-02")));

    // Ownership at period end (10-02): aks1 by its own tag, arc1 inherited, acr1 none.
    let own = item(&items, "ownership-tags");
    assert_eq!(
        col_strs(&own.table, "owner_source"),
        ["aks", "arc", "registry"].map(|k| match k {
            "aks" => "resource",
            "arc" => "subscription",
            _ => "none",
        })
    );
    assert_eq!(
        col_strs(&own.table, "owner_tag_key"),
        ["owner", "owner", ""]
    );
    assert_eq!(
        (own.population.rows, own.population.reported_total),
        (3, Some(3))
    );
}

#[test]
fn a_population_that_resource_graph_reported_larger_does_not_reconcile() {
    // Resource Graph said 4 alerts on 10-02 but 3 were stored.
    let c = compute(&snapshots(Some(("security_alerts", "2026-10-02", 1))));
    let items = build_items(&inputs(&c)).unwrap();
    let al = item(&items, "alerts");
    assert!(!al.population.reconciles());
    assert!(al.population.summary().contains("DOES NOT RECONCILE"));
    // Items that do not read that dataset are unaffected.
    assert!(item(&items, "coverage-daily").population.reconciles());
}

#[test]
fn pack_holds_every_item_population_and_control_table() {
    let c = compute(&snapshots(None));
    for fw in Framework::ALL {
        let files = build_pack(fw, &inputs(&c)).unwrap();
        let get = |name: &str| {
            files
                .iter()
                .find(|f| f.path == format!("evidence/{}/{name}", fw.id()))
                .unwrap_or_else(|| panic!("{fw}: no {name}"))
        };
        for it in ITEMS {
            get(&it.file_name());
        }
        let pop = String::from_utf8(get("population.csv").bytes.to_vec()).unwrap();
        let mut r = csv::Reader::from_reader(pop.as_bytes());
        let headers = r.headers().unwrap().clone();
        let ok = headers.iter().position(|h| h == "reconciles").unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len(), ITEMS.len());
        assert!(rows.iter().all(|row| &row[ok] == "true"), "{pop}");
        let controls = String::from_utf8(get("controls.csv").bytes.to_vec()).unwrap();
        for it in ITEMS {
            assert!(
                controls.contains(&format!(",{},{}", it.id, it.file_name())),
                "{}",
                it.id
            );
        }
        let days = String::from_utf8(get("snapshot-days.csv").bytes.to_vec()).unwrap();
        assert_eq!(days.matches(",missing,").count(), 29);
        assert_eq!(days.matches(",used,").count(), 2);
        let doc: Value = serde_json::from_slice(&get("evidence-pack.json").bytes).unwrap();
        assert_eq!(doc["cover"]["framework"], fw.id());
        assert_eq!(doc["populations"].as_array().unwrap().len(), ITEMS.len());
        assert!(!doc["integrity"]["files"].as_array().unwrap().is_empty());
        assert_eq!(doc["sign_off"]["signatories"].as_array().unwrap().len(), 2);
        assert!(
            doc["pack_exceptions"][0]
                .as_str()
                .unwrap()
                .contains("29 day(s)"),
            "missing days are an exception on the pack"
        );
        assert_eq!(
            get("mapping.toml").bytes,
            mapping::source_text(fw).as_bytes()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// verify

const RUN: &str = "20261101T060000Z";

/// Publish a small run (an evidence pack and a CSV) under `<tmp>/out/2026-10/<RUN>/`, signed
/// when `key` is given. Returns the store and the run folder on disk.
fn publish_sample(tmp: &std::path::Path, key: Option<&SigningKey>) -> (Store, std::path::PathBuf) {
    let out = tmp.join("out");
    let store = Store::open(out.to_str().unwrap(), true).unwrap();
    let c = compute(&snapshots(None));
    let mut files = build_pack(Framework::Soc2, &inputs(&c)).unwrap();
    files.push(OutputFile::new(
        "finance/showback-by-owner.csv",
        "owner,currency,amount\r\nteam-a,EUR,1.00\r\n",
        Some(1),
    ));
    let manifest = Manifest {
        schema_version: 1,
        tool: "defender-ledger".into(),
        tool_version: defender_ledger::TOOL_VERSION.into(),
        run_id: RUN.into(),
        command: "test".into(),
        period: OCT.to_string(),
        period_start: OCT.start().to_string(),
        period_end_exclusive: OCT.end_exclusive().to_string(),
        source: "fixture".into(),
        output: store.display().to_string(),
        config_sha256: "0".repeat(64),
        provenance: json!({}),
        input_fingerprint: "0".repeat(64),
        files: file_entries(&files, &[]),
    };
    // Signature files go before the manifest, which stays the last write of the run.
    let signature = key
        .map(|k| signing::signature_files(k, &manifest.to_bytes()))
        .unwrap_or_default();
    let run = RunFiles {
        files,
        local: vec![],
        unlisted: signature,
        manifest,
    };
    publish_run(&store, OCT, &RunId::parse(RUN).unwrap(), &run).unwrap();
    (store, out.join("2026-10").join(RUN))
}

fn prefix() -> String {
    format!("{OCT}/{RUN}")
}

#[test]
fn an_untouched_run_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, dir) = publish_sample(tmp.path(), None);
    let report = verify_run(&store, &prefix(), None).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.files_ok, report.files_listed);
    assert_eq!(report.signature, SignatureCheck::Unsigned);
    assert!(report.warnings.iter().any(|w| w.contains("not signed")));
    assert_eq!(report.exit_code(), 0);
    // The run folder itself, as the CLI receives it (also with /manifest.json).
    assert!(
        verify_location(dir.to_str().unwrap(), None)
            .unwrap()
            .is_ok()
    );
    let m = dir.join(MANIFEST);
    assert!(verify_location(m.to_str().unwrap(), None).unwrap().is_ok());
}

#[test]
fn verify_names_a_file_with_one_tampered_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, dir) = publish_sample(tmp.path(), None);
    let target = dir.join("evidence/soc2/alerts.csv");
    let mut bytes = std::fs::read(&target).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x01;
    std::fs::write(&target, bytes).unwrap();
    let report = verify_run(&store, &prefix(), None).unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.changed.len(), 1);
    assert_eq!(report.changed[0].path, "evidence/soc2/alerts.csv");
    assert_eq!(
        report.changed[0].expected_bytes,
        report.changed[0].actual_bytes
    );
    assert!(report.missing.is_empty() && report.added.is_empty());
    let text = report.to_string();
    assert!(text.contains("CHANGED  evidence/soc2/alerts.csv"), "{text}");
    assert!(text.contains("FAILED (1 changed)"), "{text}");
}

#[test]
fn verify_names_a_missing_and_an_added_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, dir) = publish_sample(tmp.path(), None);
    std::fs::remove_file(dir.join("finance/showback-by-owner.csv")).unwrap();
    std::fs::write(dir.join("evidence/soc2/extra-evidence.csv"), "a\r\n1\r\n").unwrap();
    let report = verify_run(&store, &prefix(), None).unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.missing, ["finance/showback-by-owner.csv"]);
    assert_eq!(report.added, ["evidence/soc2/extra-evidence.csv"]);
    assert!(report.changed.is_empty());
    let text = report.to_string();
    assert!(
        text.contains("MISSING  finance/showback-by-owner.csv"),
        "{text}"
    );
    assert!(
        text.contains("ADDED    evidence/soc2/extra-evidence.csv"),
        "{text}"
    );
}

#[test]
fn a_signed_run_verifies_and_fails_with_the_wrong_public_key() {
    let tmp = tempfile::tempdir().unwrap();
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let (store, dir) = publish_sample(tmp.path(), Some(&key));

    // The right key, given independently.
    let report = verify_run(&store, &prefix(), Some(&key.verifying_key())).unwrap();
    assert!(report.is_ok(), "{report}");
    assert!(matches!(
        report.signature,
        SignatureCheck::Valid {
            key_origin: KeyOrigin::Given,
            ..
        }
    ));
    assert!(report.added.is_empty(), "signature files are not 'added'");

    // The wrong key.
    let wrong = SigningKey::from_bytes(&[43u8; 32]).verifying_key();
    let report = verify_run(&store, &prefix(), Some(&wrong)).unwrap();
    assert!(!report.is_ok());
    assert!(matches!(report.signature, SignatureCheck::Invalid { .. }));
    assert!(report.to_string().contains("signature invalid"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("is not the key given"))
    );

    // No key given: the published one is used, with a warning about what that proves.
    let report = verify_run(&store, &prefix(), None).unwrap();
    assert!(report.is_ok(), "{report}");
    assert!(matches!(
        report.signature,
        SignatureCheck::Valid {
            key_origin: KeyOrigin::Published,
            ..
        }
    ));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("accidental change"))
    );

    // A manifest rewritten to match a tampered file fails the signature.
    let target = dir.join("evidence/soc2/coverage-gaps.csv");
    let mut bytes = std::fs::read(&target).unwrap();
    bytes.push(b'x');
    let new_sha = defender_ledger::hashing::sha256_hex(&bytes);
    let old_sha = defender_ledger::hashing::sha256_hex(&std::fs::read(&target).unwrap());
    std::fs::write(&target, &bytes).unwrap();
    let m = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&m)
        .unwrap()
        .replace(&old_sha, &new_sha);
    let n = bytes.len();
    let text = text.replace(
        &format!("\"bytes\": {},", n - 1),
        &format!("\"bytes\": {n},"),
    );
    std::fs::write(&m, text).unwrap();
    let report = verify_run(&store, &prefix(), Some(&key.verifying_key())).unwrap();
    assert!(report.changed.is_empty(), "{report}");
    assert!(
        matches!(report.signature, SignatureCheck::Invalid { .. }),
        "{report}"
    );
    assert!(!report.is_ok());
}

#[test]
fn a_key_given_for_an_unsigned_run_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _) = publish_sample(tmp.path(), None);
    let key = SigningKey::from_bytes(&[42u8; 32]).verifying_key();
    let report = verify_run(&store, &prefix(), Some(&key)).unwrap();
    assert_eq!(report.signature, SignatureCheck::MissingSignature);
    assert!(!report.is_ok());
}

#[test]
fn a_folder_without_manifest_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().to_str().unwrap(), true).unwrap();
    let err = verify_run(&store, "2026-10/20261101T060000Z", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no manifest.json"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// The bundled sample tenant, end to end

#[test]
fn every_population_reconciles_on_the_bundled_sample_tenant() {
    use defender_ledger::collect::Source;
    use defender_ledger::collect::replay::Replay;
    use defender_ledger::history::History;
    use defender_ledger::pipeline::snapshot::snapshot_days;

    let root = env!("CARGO_MANIFEST_DIR");
    let source = Replay::open(&format!("{root}/sample-data")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path().to_str().unwrap(), true).unwrap();
    let history = History::new(&store);
    let days = source.days().unwrap().unwrap();
    snapshot_days(&source, &history, &days, &RunId::parse(RUN).unwrap(), false).unwrap();
    let c = compute(&history.days_before(OCT.end_exclusive()).unwrap());
    let items = build_items(&inputs(&c)).unwrap();
    for it in &items {
        assert!(
            it.population.reconciles(),
            "{}: {}",
            it.item.id,
            it.population.summary()
        );
        assert!(it.population.reported_total.unwrap() > 0, "{}", it.item.id);
        assert!(
            it.population.queries.iter().all(|q| q.sha256.is_none()),
            "replayed recordings have no query"
        );
    }
    // The story of the sample tenant shows through: a gap and a late fix.
    assert!(item(&items, "coverage-gaps").table.height() > 0);
    assert!(!item(&items, "vulnerability-findings").exceptions.is_empty());
    // Alerts and findings agree with the KPI module's own totals.
    assert_eq!(
        item(&items, "alerts").table.height() as i64,
        c.detection.latency.population
    );
}

/// A container group row in the query's result shape.
fn group(
    name: &str,
    sub: &str,
    tags: Value,
    sku: &str,
    ip: (&str, &str),
    images: &[&str],
) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "properties": {"image": image}}))
        .collect();
    json!({
        "id": format!("/subscriptions/{sub}/resourceGroups/rg-jobs/providers/Microsoft.ContainerInstance/containerGroups/{name}"),
        "name": name, "subscriptionId": sub, "resourceGroup": "rg-jobs", "location": "westeurope",
        "tags": tags, "sku": sku, "osType": "Linux", "ipAddressType": ip.0, "ipAddress": ip.1,
        "containers": containers,
    })
}

#[test]
fn container_groups_are_listed_as_not_covered_with_exposure_images_and_sku() {
    // aci-jobs (subscription b, owner tag payments): public 20.1.2.3, Standard, two images
    // (one twice); on 09-30 (outside the period), 10-01 and twice on 10-02. aci-scoring
    // (subscription a, no tags: owner platform from the subscription): no IP address,
    // Confidential, on 10-01 only.
    let jobs = || {
        group(
            "aci-jobs",
            "b",
            json!({"owner": "payments"}),
            "Standard",
            ("Public", "20.1.2.3"),
            &[
                "mcr.microsoft.com/azure-cli:2.61.0",
                "docker.io/library/busybox:1.36",
                "docker.io/library/busybox:1.36",
            ],
        )
    };
    let scoring = group(
        "aci-scoring",
        "a",
        Value::Null,
        "Confidential",
        ("", ""),
        &["acr.example/score:1"],
    );
    let mut t = tenant();
    let days = t.entry("container_instances").or_default();
    days.insert("2026-09-30", vec![jobs()]);
    days.insert("2026-10-01", vec![jobs(), scoring]);
    days.insert("2026-10-02", vec![jobs(), jobs()]);
    let c = compute(&snapshots_of(t, None));
    let items = build_items(&inputs(&c)).unwrap();
    let inv = item(&items, "protection-inventory");
    let text = |col: &str| -> Vec<String> {
        let c = inv
            .table
            .column(col)
            .unwrap()
            .cast(&DataType::String)
            .unwrap();
        c.str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    let tail = |col: &str| text(col)[3..].to_vec();

    // The three covered resources first, unchanged, then the groups by name.
    assert_eq!(
        col_strs(&inv.table, "kind"),
        ["aks", "arc", "registry", "aci", "aci"]
    );
    assert_eq!(
        text("covered_by_defender_for_containers"),
        ["true", "true", "true", "false", "false"]
    );
    assert_eq!(tail("name"), ["aci-jobs", "aci-scoring"]);
    assert_eq!(tail("owner"), ["payments", "platform"]);
    assert_eq!(tail("first_seen"), ["2026-10-01", "2026-10-01"]);
    assert_eq!(tail("last_seen"), ["2026-10-02", "2026-10-01"]);
    assert_eq!(tail("days_present"), ["2", "1"]);
    assert_eq!(tail("days_protected"), ["0", "0"]);
    assert_eq!(tail("protected_on_last_day"), ["false", "false"]);
    assert_eq!(
        tail("reason_on_last_day"),
        ["not covered by Defender for Containers"; 2]
    );
    assert_eq!(
        tail("images"),
        [
            "docker.io/library/busybox:1.36; mcr.microsoft.com/azure-cli:2.61.0",
            "acr.example/score:1"
        ]
    );
    assert_eq!(tail("ip_exposure"), ["public", "none"]);
    assert_eq!(tail("ip_address"), ["20.1.2.3", ""]);
    assert_eq!(tail("container_group_sku"), ["Standard", "Confidential"]);
    assert_eq!(tail("confidential_sku"), ["false", "true"]);
    // The covered kinds have no group facts.
    assert_eq!(text("ip_exposure")[..3], ["", "", ""]);

    // Population: 6 covered resource-days + 2 + 1 group-days = 9; reported: 6 + 2 (10-01)
    // + 2 (10-02) = 10, the second aci-jobs row of 10-02 excluded.
    assert_eq!(
        (inv.population.rows, inv.population.reported_total),
        (9, Some(10))
    );
    assert_eq!(
        excluded(inv, "second row for the same resource on the same day"),
        1
    );
    assert!(inv.population.reconciles(), "{}", inv.population.summary());
    assert!(
        inv.exceptions.iter().any(
            |e| e.starts_with("aci aci-jobs (owner payments): not covered")
                && e.contains("public IP 20.1.2.3")
        ),
        "{:?}",
        inv.exceptions
    );
    assert!(
        inv.exceptions.iter().any(|e| e.contains("aci-scoring")
            && e.contains("no IP address")
            && e.contains("SKU Confidential")),
        "{:?}",
        inv.exceptions
    );
    // Coverage does not count them: the same 6 resource-days as without groups.
    assert_eq!(c.history.coverage.resource_days.len(), 6);

    // The executive count: groups of the month-end day (10-02): aci-jobs only.
    let count = defender_ledger::kpi::container_instances::GroupCount::on_month_end(
        &c.history.coverage.container_groups.groups,
        Some(d("2026-10-02")),
    );
    assert_eq!(
        (count.total, count.public_ip, count.confidential),
        (1, 1, 0)
    );
    assert!(count.text().starts_with("Not covered: 1 Azure Container Instances container group at month end (1 with a public IP address, 0 on the confidential SKU)"));
}

/// A parent vulnerability assessment row in the query's result shape.
fn scan(resource: &str, source: &str, code: &str, cause: &str) -> Value {
    json!({"id": format!("{resource}/providers/Microsoft.Security/assessments/x-{source}"),
           "subscriptionId": "a", "resourceId": resource, "source": source, "statusCode": code,
           "cause": cause, "statusChangeDate": "2026-10-01T00:00:00Z"})
}

#[test]
fn no_vulnerability_data_is_told_from_no_findings() {
    // Protected: aks1 on 10-01 and 10-02, acr1 on 10-02 only (subscription b's gap on 10-01);
    // arc1 never. acr1 has registry findings every day. Scan results: aks1 NotApplicable
    // (OffByPolicy) on 10-01; nothing for aks1 on 10-02 (its row is missing, and it has no
    // running-container findings); acr1 Unhealthy on 10-02 (findings came back).
    // So: 10-01 aks1 not applicable; 10-02 aks1 no data, acr1 findings.
    let mut t = tenant();
    let days = t.entry("scan_status").or_default();
    days.insert(
        "2026-10-01",
        vec![scan(AKS_ID, "runtime", "NotApplicable", "OffByPolicy")],
    );
    days.insert(
        "2026-10-02",
        vec![scan(ACR_ID, "registry", "Unhealthy", "")],
    );
    let c = compute(&snapshots_of(t, None));
    let data = &c.history.vulnerability_data;
    let k = &data.kpis;
    assert_eq!(k.month_end_date, Some(d("2026-10-02")));
    assert_eq!(
        (
            k.protected_resources,
            k.with_findings,
            k.scanned_no_findings,
            k.not_applicable,
            k.no_data
        ),
        (2, 1, 0, 0, 1)
    );
    assert_eq!((k.protected_resource_days, k.no_data_resource_days), (3, 1));
    assert_eq!(k.days_not_collected, 0);
    assert_eq!(data.exceptions.len(), 1);
    let e = &data.exceptions[0];
    assert_eq!(
        (e.name.as_str(), e.no_data_days, e.not_applicable_days),
        ("aks1", 1, 1)
    );
    assert_eq!(e.cause, "OffByPolicy");
    assert_eq!(
        k.data_quality(&data.exceptions).unwrap(),
        "Vulnerability data: 1 of 3 protected resource-days had neither findings nor a Healthy \
         or NotApplicable scan result (no data, not zero findings): aks aks1 (1 day)"
    );

    let items = build_items(&inputs(&c)).unwrap();
    let vf = item(&items, "vulnerability-findings");
    assert!(
        vf.exceptions.iter().any(|x| x
            .starts_with("aks aks1 (owner payments): no vulnerability data on 1 days")
            && x.ends_with("scan result NotApplicable (OffByPolicy) on 1 days")),
        "{:?}",
        vf.exceptions
    );
    assert!(
        vf.figures.iter().any(|f| f.label.contains("on 2026-10-02")
            && f.value
                == "2: 1 with findings, 0 scanned with no findings, 0 not applicable, 1 no data"),
        "{:?}",
        vf.figures
    );

    // The pack's data-quality section carries the report's data-quality findings.
    let dq = vec![k.data_quality(&data.exceptions).unwrap()];
    let inp = EvidenceInputs {
        data_quality: &dq,
        ..inputs(&c)
    };
    let files = build_pack(Framework::Soc2, &inp).unwrap();
    let pack = files
        .iter()
        .find(|f| f.path == "evidence/soc2/evidence-pack.json")
        .unwrap();
    let doc: Value = serde_json::from_slice(&pack.bytes).unwrap();
    assert_eq!(doc["data_quality"], json!(dq));

    // Without scan results collected (the tenant's snapshots predate them), nothing is graded.
    let before = compute(&snapshots(None));
    let k = &before.history.vulnerability_data.kpis;
    assert_eq!((k.days_not_collected, k.protected_resource_days), (2, 0));
    assert_eq!(k.data_quality(&[]), None);
}
