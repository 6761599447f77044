//! The OSCAL assessment results of each evidence pack (`evidence/<framework>/
//! assessment-results.json`): valid against NIST's OSCAL 1.1.2 JSON schema on the small
//! hand-made tenant of `tests/support/tenant.rs` (shared with `tests/evidence.rs`) and on the
//! bundled sample tenant, byte-identical across builds, with the SHA-256 of every evidence file
//! it references, findings exactly for the items with exceptions, and covered by `verify`.
//!
//! The schema is vendored under `tests/fixtures/oscal/` (see its README.md for the release and
//! how it was obtained) and checked here with the `jsonschema` crate, formats included.

mod support {
    pub mod tenant;
}
use support::tenant::{self, Computed, OCT, compute, tenant};

use defender_ledger::evidence::oscal::{
    self, ASSESSMENT_RESULTS_JSON, OSCAL_VERSION, control_token, item_exceptions,
};
use defender_ledger::evidence::{
    EvidenceInputs, EvidenceTable, Framework, ITEMS, QueryText, build_items, build_pack, mapping,
};
use defender_ledger::hashing::sha256_hex;
use defender_ledger::history::Snapshots;
use defender_ledger::model::DATASETS;
use defender_ledger::period::RunId;
use defender_ledger::pipeline::publish::publish_run;
use defender_ledger::render::manifest::{Manifest, file_entries};
use defender_ledger::render::{OutputFile, RunFiles};
use defender_ledger::store::Store;
use defender_ledger::verify::verify_run;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const RUN: &str = "20261101T060000Z";

/// The text of the fixture query of a dataset: its SHA-256 is in the snapshot markers, so the
/// pack ships it and the OSCAL file references it.
fn query_text(dataset: &str) -> String {
    format!("// dataset: {dataset}\nresources | where type =~ '{dataset}'\n")
}

fn queries() -> Vec<QueryText> {
    DATASETS
        .iter()
        .map(|c| QueryText {
            dataset: c.dataset.to_string(),
            file: format!("queries/{}.kql", c.dataset),
            text: query_text(c.dataset),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The small tenant of `support::tenant`, its markers hashing the queries of `query_text`.

fn snapshots(extra_reported: Option<(&str, &str, i64)>) -> Snapshots {
    tenant::snapshots_of(tenant(), extra_reported, |dataset| {
        sha256_hex(query_text(dataset).as_bytes())
    })
}

fn inputs<'a>(c: &'a Computed, queries: &'a [QueryText]) -> EvidenceInputs<'a> {
    EvidenceInputs {
        period: OCT,
        history: &c.history,
        params: &c.params,
        alerts: &c.detection.population,
        findings: &c.vulns,
        queries,
        scope_management_groups: &[],
        scope_subscriptions: &[],
        source: "fixture",
        signing_key_fingerprint: None,
        data_quality: &[],
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The bundled sample tenant (`sample-data/`), replayed into a temporary history.
fn sample() -> Computed {
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
    compute(&history.days_before(OCT.end_exclusive()).unwrap())
}

/// Both packs of a tenant, with the items they were built from.
struct Packs {
    items: Vec<EvidenceTable>,
    files: Vec<OutputFile>,
}

fn packs(c: &Computed, queries: &[QueryText]) -> Packs {
    let inp = inputs(c, queries);
    let mut files = Vec::new();
    for fw in Framework::ALL {
        files.extend(build_pack(fw, &inp).unwrap());
    }
    Packs {
        items: build_items(&inp).unwrap(),
        files,
    }
}

/// The sample tenant's packs, built once for the tests that read them.
fn sample_packs() -> &'static Packs {
    static P: OnceLock<Packs> = OnceLock::new();
    P.get_or_init(|| packs(&sample(), &[]))
}

fn small_packs() -> Packs {
    packs(&compute(&snapshots(None)), &queries())
}

fn pack_file<'a>(files: &'a [OutputFile], fw: Framework, rel: &str) -> &'a [u8] {
    let path = format!("{}/{rel}", fw.dir());
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is not in the pack"))
        .bytes
        .as_ref()
}

fn oscal_doc(files: &[OutputFile], fw: Framework) -> Value {
    serde_json::from_slice(pack_file(files, fw, ASSESSMENT_RESULTS_JSON)).unwrap()
}

/// The value of the prop `name` (in this tool's namespace) of an OSCAL object.
fn prop_values(obj: &Value, name: &str) -> Vec<String> {
    obj["props"]
        .as_array()
        .map(|props| {
            props
                .iter()
                .filter(|p| p["name"] == name)
                .map(|p| {
                    assert_eq!(p["ns"], oscal::PROP_NS, "{p}");
                    p["value"].as_str().unwrap().to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn prop(obj: &Value, name: &str) -> String {
    let v = prop_values(obj, name);
    assert_eq!(v.len(), 1, "prop {name} of {obj}");
    v[0].clone()
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

// ---------------------------------------------------------------------------------------------
// The official schema

const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/oscal/oscal_assessment-results_schema.json"
);

/// SHA-256 of the release asset `oscal_assessment-results_schema.json` of OSCAL v1.1.2.
const SCHEMA_SHA256: &str = "d033da70154cf6625ae46a746199e88e58f2928b1387dfac051d381b92f41b0d";

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_slice(&std::fs::read(SCHEMA).unwrap()).unwrap();
        jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the OSCAL schema compiles")
    })
}

fn assert_schema_valid(doc: &Value, what: &str) {
    let errors: Vec<String> = validator()
        .iter_errors(doc)
        .take(20)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid OSCAL {OSCAL_VERSION}:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_vendored_schema_is_the_nist_release_file() {
    let bytes = std::fs::read(SCHEMA).unwrap();
    assert_eq!(
        sha256_hex(&bytes),
        SCHEMA_SHA256,
        "the schema file was changed"
    );
    let schema: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        schema["$id"],
        format!("http://csrc.nist.gov/ns/oscal/{OSCAL_VERSION}/oscal-ar-schema.json")
    );
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    // The validator is not vacuous: a bad token, a bad uuid, a date without zone, a missing
    // import-ap and an unknown key each fail.
    let p = small_packs();
    let good = oscal_doc(&p.files, Framework::Soc2);
    assert_schema_valid(&good, "the SOC 2 file");
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: [Breakage; 5] = [
        ("control id not a token", |d| {
            d["assessment-results"]["results"][0]["reviewed-controls"]["control-selections"][0]["include-controls"]
                [0]["control-id"] = json!("7.1");
        }),
        ("uuid version 1", |d| {
            d["assessment-results"]["uuid"] = json!("6ba7b811-9dad-11d1-80b4-00c04fd430c8");
        }),
        ("date-time without zone", |d| {
            d["assessment-results"]["metadata"]["published"] = json!("2026-11-01T00:00:00");
        }),
        ("import-ap missing", |d| {
            d["assessment-results"]
                .as_object_mut()
                .unwrap()
                .remove("import-ap");
        }),
        ("unknown key", |d| {
            d["assessment-results"]["results"][0]["observations"][0]["sha256"] = json!("x");
        }),
    ];
    for (what, breaks) in breakages {
        let mut bad = good.clone();
        breaks(&mut bad);
        assert!(!validator().is_valid(&bad), "{what} was accepted");
    }
}

#[test]
fn valid_oscal_on_the_small_tenant_for_both_frameworks() {
    let p = small_packs();
    for fw in Framework::ALL {
        assert_schema_valid(
            &oscal_doc(&p.files, fw),
            &format!("{fw} on the small tenant"),
        );
    }
    // Also when a population does not reconcile and no query text is in the run.
    let c = compute(&snapshots(Some(("subscriptions", "2026-10-01", 2))));
    let p = packs(&c, &[]);
    for fw in Framework::ALL {
        assert_schema_valid(
            &oscal_doc(&p.files, fw),
            &format!("{fw} on the small tenant, not reconciling"),
        );
    }
}

#[test]
fn valid_oscal_on_the_bundled_sample_tenant_for_both_frameworks() {
    let p = sample_packs();
    for fw in Framework::ALL {
        assert_schema_valid(
            &oscal_doc(&p.files, fw),
            &format!("{fw} on the sample tenant"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Content

#[test]
fn two_builds_give_identical_bytes() {
    let c = compute(&snapshots(None));
    let q = queries();
    let (a, b) = (packs(&c, &q), packs(&c, &q));
    for fw in Framework::ALL {
        assert_eq!(
            pack_file(&a.files, fw, ASSESSMENT_RESULTS_JSON),
            pack_file(&b.files, fw, ASSESSMENT_RESULTS_JSON),
            "{fw}"
        );
    }
    // And the sample tenant, computed from scratch again.
    let again = packs(&sample(), &[]);
    for fw in Framework::ALL {
        assert_eq!(
            pack_file(&sample_packs().files, fw, ASSESSMENT_RESULTS_JSON),
            pack_file(&again.files, fw, ASSESSMENT_RESULTS_JSON),
            "{fw} (sample)"
        );
    }
}

#[test]
fn metadata_period_and_reviewed_controls() {
    let p = small_packs();
    for fw in Framework::ALL {
        let m = mapping::load(fw).unwrap();
        let doc = oscal_doc(&p.files, fw);
        let ar = &doc["assessment-results"];
        let md = &ar["metadata"];
        // Dates from the period end, never the clock.
        assert_eq!(md["published"], "2026-11-01T00:00:00Z");
        assert_eq!(md["last-modified"], "2026-11-01T00:00:00Z");
        assert_eq!(md["oscal-version"], OSCAL_VERSION);
        assert!(md["version"].as_str().unwrap().starts_with("2026-10"));
        let title = md["title"].as_str().unwrap();
        assert!(title.starts_with(&m.name), "{title}");
        assert!(title.contains("2026-10"), "{title}");
        assert!(
            title.contains("scope: every subscription the identity can read"),
            "{title}"
        );
        assert_eq!(prop(md, "framework"), fw.id());

        let results = arr(&ar["results"]);
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert_eq!(r["start"], "2026-10-01T00:00:00Z");
        assert_eq!(r["end"], "2026-11-01T00:00:00Z");

        // Every mapped control, as a token, with its original id.
        let selections = arr(&r["reviewed-controls"]["control-selections"]);
        let got: Vec<(String, String)> = selections
            .iter()
            .map(|s| {
                let inc = arr(&s["include-controls"]);
                assert_eq!(inc.len(), 1);
                (
                    prop(s, "control-id"),
                    inc[0]["control-id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = m
            .controls
            .iter()
            .map(|c| (c.id.clone(), control_token(fw, &c.id)))
            .collect();
        assert_eq!(got, want);

        // import-ap names the back-matter resource of the pack's mapping file.
        let href = ar["import-ap"]["href"].as_str().unwrap();
        let uuid = href.strip_prefix('#').expect("a fragment");
        let res = arr(&ar["back-matter"]["resources"])
            .iter()
            .find(|r| r["uuid"] == uuid)
            .expect("import-ap resolves to a back-matter resource");
        assert_eq!(res["rlinks"][0]["href"], "mapping.toml");
        assert_eq!(
            res["rlinks"][0]["hashes"][0]["value"],
            sha256_hex(pack_file(&p.files, fw, "mapping.toml"))
        );
    }
    let pci = oscal_doc(&p.files, Framework::PciDss401);
    let ids: Vec<&str> =
        arr(&pci["assessment-results"]["results"][0]["reviewed-controls"]["control-selections"])
            .iter()
            .map(|s| s["include-controls"][0]["control-id"].as_str().unwrap())
            .collect();
    assert!(
        ids.contains(&"req-6.3.3") && ids.contains(&"req-10.7.2"),
        "{ids:?}"
    );
}

#[test]
fn uuids_are_unique_version_5_and_reproducible() {
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "uuid" {
                        out.push(x.as_str().unwrap().to_string());
                    }
                    collect(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    let p = small_packs();
    let mut per_file = Vec::new();
    for fw in Framework::ALL {
        let mut all = Vec::new();
        collect(&oscal_doc(&p.files, fw), &mut all);
        for u in &all {
            assert_eq!(&u[14..15], "5", "{u}");
        }
        let set: BTreeSet<String> = all.iter().cloned().collect();
        assert_eq!(set.len(), all.len(), "{fw}: duplicate uuids");
        per_file.push(set);
    }
    // Only the tool (component and assessment platform) is the same object in both files.
    let doc = oscal_doc(&p.files, Framework::Soc2);
    let assets = &doc["assessment-results"]["results"][0]["local-definitions"]["assessment-assets"];
    let tool: BTreeSet<String> = [
        assets["components"][0]["uuid"]
            .as_str()
            .unwrap()
            .to_string(),
        assets["assessment-platforms"][0]["uuid"]
            .as_str()
            .unwrap()
            .to_string(),
    ]
    .into();
    let shared: BTreeSet<String> = per_file[0].intersection(&per_file[1]).cloned().collect();
    assert_eq!(shared, tool);

    // uuid5(uuid5(NAMESPACE_URL, "urn:defender-ledger:oscal:assessment-results"),
    //       "pci-dss-4.0.1/2026-10/tenant/observation/coverage-daily"), as Python computes it.
    let pci = oscal_doc(&p.files, Framework::PciDss401);
    let obs = arr(&pci["assessment-results"]["results"][0]["observations"]);
    let cov = obs
        .iter()
        .find(|o| prop(o, "evidence-item") == "coverage-daily")
        .unwrap();
    assert_eq!(cov["uuid"], "a86bcce3-1420-555a-a10c-0bd7f3da490e");
}

#[test]
fn observations_carry_population_method_and_queries() {
    let p = small_packs();
    for fw in Framework::ALL {
        let doc = oscal_doc(&p.files, fw);
        let obs = arr(&doc["assessment-results"]["results"][0]["observations"]);
        let ids: Vec<String> = obs.iter().map(|o| prop(o, "evidence-item")).collect();
        assert_eq!(ids, ITEMS.iter().map(|i| i.id).collect::<Vec<_>>());
        for (o, it) in obs.iter().zip(&p.items) {
            let pop = &it.population;
            assert_eq!(o["title"], it.item.title);
            assert!(
                o["description"]
                    .as_str()
                    .unwrap()
                    .starts_with(it.item.description)
            );
            let methods = arr(&o["methods"]);
            assert_eq!(methods.len(), 1);
            assert_eq!(methods[0], oscal::method(it.item.id));
            assert_eq!(prop(o, "population-rows"), pop.rows.to_string());
            assert_eq!(prop(o, "population-unit"), pop.unit);
            assert_eq!(
                prop(o, "population-reported-total"),
                pop.reported_total.unwrap().to_string()
            );
            assert_eq!(
                prop(o, "population-excluded"),
                pop.excluded_total().to_string()
            );
            assert_eq!(
                prop_values(o, "population-exclusion").len(),
                pop.exclusions.len()
            );
            assert_eq!(prop(o, "population-reconciles"), "true");
            assert_eq!(prop(o, "period"), "2026-10");
            assert_eq!(o["collected"], "2026-11-01T00:00:00Z");
            // Every query with its hash, and the query files of the pack as evidence.
            let hashes = prop_values(o, "query-sha256");
            assert_eq!(hashes.len(), pop.queries.len());
            for q in &pop.queries {
                assert!(hashes.contains(q.sha256.as_ref().unwrap()));
                let href = format!("queries/{}.kql", q.dataset);
                assert!(
                    arr(&o["relevant-evidence"])
                        .iter()
                        .any(|e| e["href"] == href.as_str()),
                    "{} lacks {href}",
                    it.item.id
                );
            }
        }
    }
    assert_eq!(oscal::method("coverage-daily"), "TEST");
    assert_eq!(oscal::method("protection-inventory"), "EXAMINE");
}

/// Every `relevant-evidence` and back-matter `rlink` of the file, with the hash it states.
fn referenced_hashes(doc: &Value) -> Vec<(String, String)> {
    let ar = &doc["assessment-results"];
    let mut out = Vec::new();
    for o in arr(&ar["results"][0]["observations"]) {
        for e in arr(&o["relevant-evidence"]) {
            out.push((e["href"].as_str().unwrap().to_string(), prop(e, "sha256")));
        }
    }
    for r in arr(&ar["back-matter"]["resources"]) {
        for l in arr(&r["rlinks"]) {
            assert_eq!(l["hashes"][0]["algorithm"], "SHA-256");
            out.push((
                l["href"].as_str().unwrap().to_string(),
                l["hashes"][0]["value"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_evidence_csv_hash_in_the_oscal_file_matches_the_file() {
    for (p, what) in [(&small_packs(), "small"), (sample_packs(), "sample")] {
        for fw in Framework::ALL {
            let doc = oscal_doc(&p.files, fw);
            let refs = referenced_hashes(&doc);
            for item in ITEMS {
                let csv = item.file_name();
                let (_, sha) = refs
                    .iter()
                    .find(|(href, _)| *href == csv)
                    .unwrap_or_else(|| panic!("{what} {fw}: {csv} not referenced"));
                assert_eq!(
                    *sha,
                    sha256_hex(pack_file(&p.files, fw, &csv)),
                    "{what} {fw}: {csv}"
                );
            }
            // Every other reference too (queries, mapping, population tables).
            for (href, sha) in &refs {
                assert_eq!(
                    *sha,
                    sha256_hex(pack_file(&p.files, fw, href)),
                    "{what} {fw}: {href}"
                );
            }
        }
    }
}

/// The findings of a file against the items: `not-satisfied` for exactly every (control, item)
/// pair of the mapping whose item has exceptions, `satisfied` for exactly the controls none of
/// whose items has. Returns the number of each.
fn check_findings(fw: Framework, items: &[EvidenceTable], doc: &Value) -> (usize, usize) {
    let m = mapping::load(fw).unwrap();
    let r = &doc["assessment-results"]["results"][0];
    let observation_of: BTreeMap<String, String> = arr(&r["observations"])
        .iter()
        .map(|o| {
            (
                prop(o, "evidence-item"),
                o["uuid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Independently of the module: the pack lists exceptions, or the population does not
    // reconcile.
    let with_exceptions: BTreeSet<&str> = items
        .iter()
        .filter(|i| !i.exceptions.is_empty() || !i.population.reconciles())
        .map(|i| i.item.id)
        .collect();
    for i in items {
        assert_eq!(
            !item_exceptions(i).is_empty(),
            with_exceptions.contains(i.item.id)
        );
    }
    let mut not_satisfied = BTreeSet::new();
    let mut satisfied = BTreeSet::new();
    for f in arr(&r["findings"]) {
        let control = prop(f, "control-id");
        let t = &f["target"];
        assert_eq!(t["type"], "objective-id");
        assert_eq!(t["target-id"], control_token(fw, &control));
        let related: Vec<&str> = arr(&f["related-observations"])
            .iter()
            .map(|o| o["observation-uuid"].as_str().unwrap())
            .collect();
        match t["status"]["state"].as_str().unwrap() {
            "not-satisfied" => {
                let item = prop(f, "evidence-item");
                assert_eq!(
                    related,
                    [observation_of[&item].as_str()],
                    "{control} {item}"
                );
                let listed = f["description"].as_str().unwrap();
                let it = items.iter().find(|i| i.item.id == item).unwrap();
                for line in item_exceptions(it) {
                    assert!(listed.contains(&line), "{control} {item}: {line}");
                }
                assert!(not_satisfied.insert((control, item)));
            }
            "satisfied" => {
                assert!(!related.is_empty());
                assert!(satisfied.insert(control));
            }
            s => panic!("status {s}"),
        }
    }
    let mut want_not = BTreeSet::new();
    let mut want_sat = BTreeSet::new();
    for c in &m.controls {
        let failing: Vec<&str> = c.items().filter(|i| with_exceptions.contains(i)).collect();
        if failing.is_empty() {
            want_sat.insert(c.id.clone());
        }
        for i in failing {
            want_not.insert((c.id.clone(), i.to_string()));
        }
    }
    assert_eq!(not_satisfied, want_not, "{fw}: not-satisfied findings");
    assert_eq!(satisfied, want_sat, "{fw}: satisfied findings");
    let items_found: BTreeSet<&str> = not_satisfied.iter().map(|(_, i)| i.as_str()).collect();
    assert_eq!(items_found, with_exceptions, "{fw}: items with findings");
    (not_satisfied.len(), satisfied.len())
}

#[test]
fn findings_exist_exactly_for_the_items_with_exceptions() {
    for p in [&small_packs(), sample_packs()] {
        for fw in Framework::ALL {
            let (n, _) = check_findings(fw, &p.items, &oscal_doc(&p.files, fw));
            assert!(n > 0, "{fw}");
        }
    }

    // Both tenants have exceptions in nearly every item. With the exceptions of every item but
    // coverage-gaps left out, the controls it does not support are satisfied.
    let c = compute(&snapshots(None));
    let q = queries();
    let inp = inputs(&c, &q);
    let mut items = build_items(&inp).unwrap();
    for it in items.iter_mut().filter(|i| i.item.id != "coverage-gaps") {
        it.exceptions.clear();
    }
    for fw in Framework::ALL {
        let m = mapping::load(fw).unwrap();
        let files = build_pack(fw, &inp).unwrap();
        let bytes = oscal::assessment_results(fw, &m, &inp, &items, &files).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        assert_schema_valid(&doc, &format!("{fw} with one item with exceptions"));
        let (n, s) = check_findings(fw, &items, &doc);
        let gap_controls = m
            .controls
            .iter()
            .filter(|c| c.items().any(|i| i == "coverage-gaps"))
            .count();
        assert_eq!(n, gap_controls, "{fw}");
        assert_eq!(s, m.controls.len() - gap_controls, "{fw}");
    }

    // The sample tenant's gap and overdue findings and the small tenant's unprotected Arc
    // cluster are findings against the controls they map to.
    let s = oscal_doc(&sample_packs().files, Framework::PciDss401);
    let titles: Vec<&str> = arr(&s["assessment-results"]["results"][0]["findings"])
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"10.7.2: exceptions in coverage-gaps"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"6.3.3: exceptions in vulnerability-findings"),
        "{titles:?}"
    );
    let small = small_packs();
    let soc2 = oscal_doc(&small.files, Framework::Soc2);
    let f = arr(&soc2["assessment-results"]["results"][0]["findings"])
        .iter()
        .find(|f| f["title"] == "CC6.8: exceptions in protection-inventory")
        .expect("unprotected resources are a finding");
    assert_eq!(f["target"]["status"]["state"], "not-satisfied");
    assert!(f["description"].as_str().unwrap().contains("arc1"));

    // A population that does not reconcile is a finding too, even for an item without other
    // exceptions.
    let c = compute(&snapshots(Some(("policy_states", "2026-10-02", 3))));
    let p = packs(&c, &[]);
    let policy = p
        .items
        .iter()
        .find(|i| i.item.id == "policy-compliance")
        .unwrap();
    assert!(!policy.population.reconciles());
    for fw in Framework::ALL {
        let doc = oscal_doc(&p.files, fw);
        check_findings(fw, &p.items, &doc);
        let text = serde_json::to_string(&doc).unwrap();
        assert!(
            text.contains("population does not reconcile"),
            "{fw}: the reconciliation failure is not in a finding"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Integrity: manifest, pack document, verify

#[test]
fn the_pack_lists_the_oscal_file_in_its_integrity_section() {
    let p = small_packs();
    for fw in Framework::ALL {
        let oscal_sha = sha256_hex(pack_file(&p.files, fw, ASSESSMENT_RESULTS_JSON));
        let doc: Value =
            serde_json::from_slice(pack_file(&p.files, fw, "evidence-pack.json")).unwrap();
        let path = format!("{}/{ASSESSMENT_RESULTS_JSON}", fw.dir());
        let entry = arr(&doc["integrity"]["files"])
            .iter()
            .find(|f| f["path"] == path.as_str())
            .expect("the OSCAL file is in the integrity section");
        assert_eq!(entry["sha256"], oscal_sha.as_str());
    }
}

#[test]
fn verify_catches_a_changed_byte_in_the_oscal_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let store = Store::open(out.to_str().unwrap(), true).unwrap();
    let c = compute(&snapshots(None));
    let q = queries();
    let files = build_pack(Framework::Soc2, &inputs(&c, &q)).unwrap();
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
    let path = format!("evidence/soc2/{ASSESSMENT_RESULTS_JSON}");
    assert!(
        manifest.files.iter().any(|f| f.path == path),
        "not in the manifest"
    );
    let run = RunFiles {
        files,
        local: vec![],
        unlisted: vec![],
        manifest,
    };
    publish_run(&store, OCT, &RunId::parse(RUN).unwrap(), &run).unwrap();
    let prefix = format!("{OCT}/{RUN}");
    assert!(verify_run(&store, &prefix, None).unwrap().is_ok());

    let target = out.join("2026-10").join(RUN).join(&path);
    let mut bytes = std::fs::read(&target).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&target, bytes).unwrap();
    let report = verify_run(&store, &prefix, None).unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.exit_code(), 1);
    let changed: Vec<&str> = report.changed.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(changed, [path.as_str()]);
}
