//! `assessment-results.json`: each pack as NIST OSCAL 1.1.2 assessment results (JSON), the form
//! a GRC tool imports.
//!
//! - **metadata**: title with framework, period and scope; `published` and `last-modified` are
//!   the period end (midnight UTC after its last day), never the clock.
//! - **import-ap**: points at a back-matter resource for the pack's `mapping.toml` (see
//!   [`import_ap`] for why).
//! - **one result** for the period: `start` = period start, `end` = period end; the tool as an
//!   assessment asset; `reviewed-controls` with one control selection per mapped control.
//! - **one observation per evidence item**: description, method (`TEST` or `EXAMINE`), the
//!   population (rows, unit, reported total, exclusions, reconciliation), period, the queries
//!   with their SHA-256, and the item CSV as `relevant-evidence` with its SHA-256.
//! - **findings**: one `not-satisfied` finding per (item with exceptions, control it maps to),
//!   pointing to the item's observation; one `satisfied` finding per control none of whose items
//!   has an exception. An item has exceptions when the pack lists any for it (coverage gaps,
//!   findings overdue, unprotected resources, ...) or its population does not reconcile.
//!
//! Control ids become OSCAL tokens by [`control_token`]; the original id stays in a prop. Every
//! uuid is a name-based UUID version 5 ([`uuid_v5`]) of framework, period, scope and the
//! object's own id, so identical inputs give byte-identical files and the same object keeps its
//! uuid across re-runs of the period. Key order is the struct order below.

use crate::error::{Error, Result};
use crate::evidence::items::{EvidenceInputs, EvidenceTable};
use crate::evidence::mapping::{Control, EvidenceRef, Mapping};
use crate::evidence::pack::{
    CONTROLS_CSV, EXCLUSIONS_CSV, MAPPING_TOML, POPULATION_CSV, SNAPSHOT_DAYS_CSV,
};
use crate::evidence::{Framework, ITEMS};
use crate::render::OutputFile;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// File name inside each pack folder.
pub const ASSESSMENT_RESULTS_JSON: &str = "assessment-results.json";

/// The OSCAL release whose schema the file is written against (and validated with in
/// `tests/oscal.rs`).
pub const OSCAL_VERSION: &str = "1.1.2";

/// Namespace of every prop this tool defines (OSCAL requires a URI for props outside its own
/// vocabulary).
pub const PROP_NS: &str = "urn:defender-ledger:oscal";

/// The name the uuid namespace is derived from: `uuid5(NAMESPACE_URL, UUID_NAMESPACE_NAME)`.
pub const UUID_NAMESPACE_NAME: &str = "urn:defender-ledger:oscal:assessment-results";

/// RFC 9562 NAMESPACE_URL, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
const NAMESPACE_URL: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// A name-based UUID version 5 (RFC 9562 §5.5: SHA-1 of namespace and name, version and variant
/// bits set), as text. OSCAL accepts only versions 4 and 5; version 5 is the reproducible one:
/// `python3 -c 'import uuid; print(uuid.uuid5(ns, name))'` gives the same value.
pub fn uuid_v5(namespace: &[u8; 16], name: &str) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(namespace);
    h.update(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.digest().bytes()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn uuid_bytes(uuid: &str) -> [u8; 16] {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let mut b = [0u8; 16];
    hex::decode_to_slice(hex, &mut b).expect("a uuid made by uuid_v5");
    b
}

/// The namespace every uuid of these files is derived in.
pub fn uuid_namespace() -> [u8; 16] {
    uuid_bytes(&uuid_v5(&NAMESPACE_URL, UUID_NAMESPACE_NAME))
}

/// The control id as an OSCAL token (`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`): lower case, any other
/// character than a letter, digit, `.`, `-` or `_` replaced by `-`, and a prefix by framework:
/// PCI DSS requirement ids start with a digit, so every one gets `req-` (`6.3.3` → `req-6.3.3`,
/// `A3.2.1` → `req-a3.2.1`); SOC 2 criteria keep their id (`CC7.1` → `cc7.1`), with `_` in
/// front should one not start with a letter.
pub fn control_token(framework: Framework, id: &str) -> String {
    let body: String = id
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    match framework {
        Framework::PciDss401 => format!("req-{body}"),
        Framework::Soc2 => {
            if body.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                body
            } else {
                format!("_{body}")
            }
        }
    }
}

/// How the observation of an item was made. `TEST`: every unit is compared with an expected
/// state (plan and extensions on, policy compliant, finding resolved by its due date, no
/// coverage gap). `EXAMINE`: the item is a record reviewed as it is (inventory, alerts, owner
/// tags).
pub fn method(item: &str) -> &'static str {
    match item {
        "coverage-daily" | "coverage-gaps" | "policy-compliance" | "vulnerability-findings" => {
            "TEST"
        }
        _ => "EXAMINE",
    }
}

/// The exceptions an item raises in the OSCAL file: those the pack lists for it, plus its
/// population when it does not reconcile. An item with any gets `not-satisfied` findings.
pub fn item_exceptions(it: &EvidenceTable) -> Vec<String> {
    let mut out = it.exceptions.clone();
    if !it.population.reconciles() {
        out.push(format!(
            "population does not reconcile: {}",
            it.population.summary()
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The document, in OSCAL's key order.

#[derive(Debug, Serialize)]
struct Document {
    #[serde(rename = "assessment-results")]
    assessment_results: AssessmentResults,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct AssessmentResults {
    uuid: String,
    metadata: Metadata,
    import_ap: ImportAp,
    results: Vec<AssessmentResult>,
    back_matter: BackMatter,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Metadata {
    title: String,
    published: String,
    last_modified: String,
    version: String,
    oscal_version: String,
    props: Vec<Prop>,
    remarks: String,
}

#[derive(Debug, Serialize)]
struct ImportAp {
    href: String,
    remarks: String,
}

#[derive(Debug, Clone, Serialize)]
struct Prop {
    name: String,
    ns: &'static str,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<String>,
}

fn prop(name: &str, value: impl ToString) -> Prop {
    let value = value.to_string();
    let value = value.trim();
    Prop {
        name: name.into(),
        ns: PROP_NS,
        // OSCAL strings are non-empty without leading or trailing whitespace.
        value: if value.is_empty() { "-" } else { value }.to_string(),
        group: None,
        remarks: None,
    }
}

fn grouped(name: &str, value: impl ToString, group: &str) -> Prop {
    Prop {
        group: Some(group.into()),
        ..prop(name, value)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct AssessmentResult {
    uuid: String,
    title: String,
    description: String,
    start: String,
    end: String,
    props: Vec<Prop>,
    local_definitions: LocalDefinitions,
    reviewed_controls: ReviewedControls,
    observations: Vec<Observation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct LocalDefinitions {
    assessment_assets: AssessmentAssets,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct AssessmentAssets {
    components: Vec<Component>,
    assessment_platforms: Vec<AssessmentPlatform>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Component {
    uuid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    description: String,
    props: Vec<Prop>,
    status: State,
}

#[derive(Debug, Serialize)]
struct State {
    state: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct AssessmentPlatform {
    uuid: String,
    title: String,
    uses_components: Vec<UsesComponent>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct UsesComponent {
    component_uuid: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ReviewedControls {
    description: String,
    control_selections: Vec<ControlSelection>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ControlSelection {
    description: String,
    props: Vec<Prop>,
    include_controls: Vec<SelectControl>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct SelectControl {
    control_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Origin {
    actors: Vec<Actor>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Actor {
    #[serde(rename = "type")]
    kind: &'static str,
    actor_uuid: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Observation {
    uuid: String,
    title: String,
    description: String,
    props: Vec<Prop>,
    methods: Vec<&'static str>,
    types: Vec<&'static str>,
    origins: Vec<Origin>,
    relevant_evidence: Vec<RelevantEvidence>,
    collected: String,
    remarks: String,
}

#[derive(Debug, Serialize)]
struct RelevantEvidence {
    href: String,
    description: String,
    props: Vec<Prop>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Finding {
    uuid: String,
    title: String,
    description: String,
    props: Vec<Prop>,
    origins: Vec<Origin>,
    target: Target,
    related_observations: Vec<RelatedObservation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Target {
    #[serde(rename = "type")]
    kind: &'static str,
    target_id: String,
    title: String,
    props: Vec<Prop>,
    status: Status,
}

#[derive(Debug, Serialize)]
struct Status {
    state: &'static str,
    reason: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct RelatedObservation {
    observation_uuid: String,
}

#[derive(Debug, Serialize)]
struct BackMatter {
    resources: Vec<Resource>,
}

#[derive(Debug, Serialize)]
struct Resource {
    uuid: String,
    title: String,
    description: String,
    props: Vec<Prop>,
    rlinks: Vec<Rlink>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Rlink {
    href: String,
    media_type: &'static str,
    hashes: Vec<Hash>,
}

#[derive(Debug, Serialize)]
struct Hash {
    algorithm: &'static str,
    value: String,
}

// ---------------------------------------------------------------------------------------------
// Building it

/// Midnight UTC of a day, as OSCAL's date-time-with-timezone.
fn instant(d: NaiveDate) -> String {
    format!("{d}T00:00:00Z")
}

/// What was queried, as a uuid input and as words.
fn scope(inp: &EvidenceInputs) -> (String, String) {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.trim().to_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    let (mgs, subs) = (
        norm(inp.scope_management_groups),
        norm(inp.scope_subscriptions),
    );
    let list = |v: &[String]| {
        if v.len() <= 5 {
            v.join(", ")
        } else {
            format!("{}, … ({} in all)", v[..5].join(", "), v.len())
        }
    };
    match (mgs.is_empty(), subs.is_empty()) {
        (true, true) => (
            "tenant".into(),
            "every subscription the identity can read".into(),
        ),
        _ => {
            let mut key = Vec::new();
            let mut words = Vec::new();
            if !mgs.is_empty() {
                key.push(format!("mg:{}", mgs.join(",")));
                words.push(format!("management groups {}", list(&mgs)));
            }
            if !subs.is_empty() {
                key.push(format!("sub:{}", subs.join(",")));
                words.push(format!("subscriptions {}", list(&subs)));
            }
            (key.join(";"), words.join("; "))
        }
    }
}

struct Ids {
    ns: [u8; 16],
    prefix: String,
}

impl Ids {
    /// `{framework}/{period}/{scope}/{kind}/{id}`.
    fn of(&self, kind: &str, id: &str) -> String {
        uuid_v5(&self.ns, &format!("{}/{kind}/{id}", self.prefix))
    }
}

/// SHA-256 of the pack's files by path relative to the pack folder.
fn pack_hashes(framework: Framework, files: &[OutputFile]) -> BTreeMap<String, String> {
    let dir = format!("{}/", framework.dir());
    files
        .iter()
        .filter_map(|f| {
            f.path
                .strip_prefix(&dir)
                .map(|rel| (rel.to_string(), crate::hashing::sha256_hex(&f.bytes)))
        })
        .collect()
}

fn hash_of<'a>(hashes: &'a BTreeMap<String, String>, rel: &str) -> Result<&'a str> {
    hashes.get(rel).map(String::as_str).ok_or_else(|| {
        Error::input(
            ASSESSMENT_RESULTS_JSON,
            format!("{rel} is not among the pack files built before it"),
        )
    })
}

/// What every section of one framework's document is built from.
struct Context<'a> {
    framework: Framework,
    mapping: &'a Mapping,
    inp: &'a EvidenceInputs<'a>,
    items: &'a [EvidenceTable],
    ids: Ids,
    hashes: BTreeMap<String, String>,
    /// The tool, as the origin of every observation and finding.
    origins: Vec<Origin>,
    component_uuid: String,
    /// Midnight UTC after the period's last day.
    end: String,
}

/// `assessment-results.json` of one framework's pack. `files` are the pack files built before it
/// (item CSVs, population tables, mapping, queries): the document states their SHA-256.
pub fn assessment_results(
    framework: Framework,
    mapping: &Mapping,
    inp: &EvidenceInputs,
    items: &[EvidenceTable],
    files: &[OutputFile],
) -> Result<Vec<u8>> {
    check_unique_tokens(framework, mapping)?;
    let period = inp.period;
    let (scope_key, scope_words) = scope(inp);
    let ids = Ids {
        ns: uuid_namespace(),
        prefix: format!("{}/{period}/{scope_key}", framework.id()),
    };
    // The tool, as the assessment asset every observation and finding comes from.
    let component_uuid = uuid_v5(&ids.ns, "component/defender-ledger");
    let cx = Context {
        framework,
        mapping,
        inp,
        items,
        ids,
        hashes: pack_hashes(framework, files),
        origins: vec![Origin {
            actors: vec![Actor {
                kind: "tool",
                actor_uuid: component_uuid.clone(),
            }],
        }],
        component_uuid,
        end: instant(period.end_exclusive()),
    };
    let resources = cx.back_matter_resources()?;
    let import_ap = import_ap(&resources[0].uuid);
    let (observations, observation_of) = cx.observations()?;
    let doc = Document {
        assessment_results: AssessmentResults {
            uuid: cx.ids.of("assessment-results", framework.id()),
            metadata: cx.metadata(&scope_key, &scope_words),
            import_ap,
            results: vec![cx.result(&scope_words, observations, &observation_of)],
            back_matter: BackMatter { resources },
        },
    };
    let mut json = serde_json::to_vec_pretty(&doc).expect("OSCAL document serialises");
    json.push(b'\n');
    Ok(json)
}

/// Tokens must be unique, or two controls would merge in a GRC tool.
fn check_unique_tokens(framework: Framework, mapping: &Mapping) -> Result<()> {
    let mut tokens: BTreeMap<String, &str> = BTreeMap::new();
    for c in &mapping.controls {
        if let Some(other) = tokens.insert(control_token(framework, &c.id), &c.id) {
            return Err(Error::input(
                format!("reports/controls/{}.toml", framework.id()),
                format!(
                    "controls {other} and {} give the same OSCAL control id {}",
                    c.id,
                    control_token(framework, &c.id)
                ),
            ));
        }
    }
    Ok(())
}

impl Context<'_> {
    fn metadata(&self, scope_key: &str, scope_words: &str) -> Metadata {
        let (mapping, period) = (self.mapping, self.inp.period);
        Metadata {
            title: format!(
                "{} assessment results: Microsoft Defender for Containers, {period}, scope: \
                 {scope_words}",
                mapping.name
            ),
            published: self.end.clone(),
            last_modified: self.end.clone(),
            version: format!("{period} (defender-ledger {})", crate::TOOL_VERSION),
            oscal_version: OSCAL_VERSION.into(),
            props: self.metadata_props(scope_key),
            remarks: format!(
                "Generated by defender-ledger from the evidence pack in this folder; every \
                 referenced file is listed with its SHA-256 here and in the run's \
                 manifest.json. Findings are the tool's, not an assessor's conclusion: \
                 not-satisfied marks a control one of whose evidence items lists exceptions \
                 for the period, satisfied one whose items list none. {}",
                mapping.wording_note
            ),
        }
    }

    fn metadata_props(&self, scope_key: &str) -> Vec<Prop> {
        let (inp, period) = (self.inp, self.inp.period);
        let mut props = vec![
            prop("framework", self.framework.id()),
            prop("framework-name", &self.mapping.name),
            prop("period", period),
            prop("period-start", period.start()),
            prop("period-end-exclusive", period.end_exclusive()),
            prop("scope", scope_key),
        ];
        props.extend(
            inp.scope_management_groups
                .iter()
                .map(|m| prop("scope-management-group", m)),
        );
        props.extend(
            inp.scope_subscriptions
                .iter()
                .map(|s| prop("scope-subscription", s)),
        );
        props.push(prop("source", inp.source));
        props.push(prop("tool", "defender-ledger"));
        props.push(prop("tool-version", crate::TOOL_VERSION));
        props
    }

    /// The one result: the period, the tool, the controls reviewed, observations, findings.
    fn result(
        &self,
        scope_words: &str,
        observations: Vec<Observation>,
        observation_of: &BTreeMap<&str, String>,
    ) -> AssessmentResult {
        let (mapping, period) = (self.mapping, self.inp.period);
        let (days_used, days_missing) = period.split_days(&self.inp.history.days);
        AssessmentResult {
            uuid: self.ids.of("result", &period.to_string()),
            title: format!(
                "{} evidence for Microsoft Defender for Containers, {period}",
                mapping.name
            ),
            description: format!(
                "Azure Kubernetes Service clusters, Azure Arc-enabled Kubernetes clusters and \
                 Azure Container Registries under Microsoft Defender for Containers ({}), \
                 from daily Azure Resource Graph snapshots of the UTC calendar month \
                 {period}. The end is exclusive: midnight UTC after the last day.",
                scope_words
            ),
            start: instant(period.start()),
            end: self.end.clone(),
            props: vec![
                prop("snapshot-days-used", days_used.len()),
                prop("snapshot-days-missing", days_missing.len()),
            ],
            local_definitions: self.local_definitions(),
            reviewed_controls: ReviewedControls {
                description: format!(
                    "The {} controls of the pack's control mapping, as OSCAL tokens; the \
                     original id is the control-id prop of each selection.",
                    mapping.name
                ),
                control_selections: self.control_selections(),
            },
            observations,
            findings: self.findings(observation_of),
            remarks: missing_days_remark(&days_missing),
        }
    }

    /// The tool, as the assessment asset every observation and finding comes from.
    fn local_definitions(&self) -> LocalDefinitions {
        let component_uuid = self.component_uuid.clone();
        let platform_uuid = uuid_v5(&self.ids.ns, "assessment-platform/defender-ledger");
        LocalDefinitions {
            assessment_assets: AssessmentAssets {
                components: vec![Component {
                    uuid: component_uuid.clone(),
                    kind: "software",
                    title: "defender-ledger".into(),
                    description: "Monthly batch job that snapshots Azure Resource Graph daily \
                                  and computes Microsoft Defender for Containers coverage, \
                                  detection, remediation and ownership evidence."
                        .into(),
                    props: vec![prop("version", crate::TOOL_VERSION)],
                    status: State {
                        state: "operational",
                    },
                }],
                assessment_platforms: vec![AssessmentPlatform {
                    uuid: platform_uuid,
                    title: format!(
                        "defender-ledger {} on daily Azure Resource Graph snapshots",
                        crate::TOOL_VERSION
                    ),
                    uses_components: vec![UsesComponent { component_uuid }],
                }],
            },
        }
    }

    /// A back-matter resource for a pack file, with its SHA-256.
    fn resource(
        &self,
        rel: &str,
        title: String,
        description: &str,
        media_type: &'static str,
    ) -> Result<Resource> {
        Ok(Resource {
            uuid: self.ids.of("resource", rel),
            title,
            description: description.into(),
            props: vec![prop("pack-file", rel)],
            rlinks: vec![Rlink {
                href: rel.into(),
                media_type,
                hashes: vec![Hash {
                    algorithm: "SHA-256",
                    value: hash_of(&self.hashes, rel)?.into(),
                }],
            }],
        })
    }

    /// Back matter: the mapping first (the plan, see `import_ap`), then the pack-wide tables.
    fn back_matter_resources(&self) -> Result<Vec<Resource>> {
        Ok(vec![
            self.resource(
                MAPPING_TOML,
                format!("Control mapping: {}", self.mapping.name),
                "Which evidence item supports which control, why, and how far (full or \
                 partial, with the gap stated); a verbatim copy of the tool's reports/controls \
                 mapping.",
                "application/toml",
            )?,
            self.resource(
                CONTROLS_CSV,
                "Control to evidence table".into(),
                "One row per control and evidence item, with support, rationale and gap.",
                "text/csv",
            )?,
            self.resource(
                POPULATION_CSV,
                "Population reconciliation".into(),
                "Per item: rows, the rows Resource Graph reported, exclusions, queries and \
                 their SHA-256, period and snapshot days.",
                "text/csv",
            )?,
            self.resource(
                EXCLUSIONS_CSV,
                "Exclusions".into(),
                "Rows left out of each item's population, with the reason.",
                "text/csv",
            )?,
            self.resource(
                SNAPSHOT_DAYS_CSV,
                "Snapshot days".into(),
                "Every day of the period, used or missing, with the SHA-256 of its snapshot.",
                "text/csv",
            )?,
        ])
    }

    /// One observation per item, in item order, and each item's observation uuid.
    fn observations(&self) -> Result<(Vec<Observation>, BTreeMap<&'static str, String>)> {
        let mut observations = Vec::new();
        let mut observation_of = BTreeMap::new();
        for it in ITEMS
            .iter()
            .filter_map(|def| self.items.iter().find(|i| i.item.id == def.id))
        {
            let observation = self.observation(it)?;
            observation_of.insert(it.item.id, observation.uuid.clone());
            observations.push(observation);
        }
        Ok((observations, observation_of))
    }

    fn observation(&self, it: &EvidenceTable) -> Result<Observation> {
        let p = &it.population;
        Ok(Observation {
            uuid: self.ids.of("observation", it.item.id),
            title: it.item.title.into(),
            description: format!("{}\n\n{}", it.item.description, p.note),
            props: observation_props(it),
            methods: vec![method(it.item.id)],
            types: vec!["control-objective"],
            origins: self.origins.clone(),
            relevant_evidence: self.relevant_evidence(it)?,
            collected: self.end.clone(),
            remarks: p.summary(),
        })
    }

    /// The item's CSV, then the query texts shipped in the pack (live collection; replayed
    /// recordings have none).
    fn relevant_evidence(&self, it: &EvidenceTable) -> Result<Vec<RelevantEvidence>> {
        let p = &it.population;
        let file = it.item.file_name();
        let mut evidence = vec![RelevantEvidence {
            href: file.clone(),
            description: format!(
                "Evidence CSV {file} in this pack folder: {} data rows.",
                p.file_rows
            ),
            props: vec![
                prop("sha256", hash_of(&self.hashes, &file)?),
                prop("rows", p.file_rows),
            ],
        }];
        for q in &p.queries {
            let Some(h) = &q.sha256 else { continue };
            let Some(text) = self
                .inp
                .queries
                .iter()
                .find(|t| t.dataset == q.dataset && t.sha256() == *h)
            else {
                continue;
            };
            let name = text.file.rsplit('/').next().unwrap_or(&text.file);
            let rel = format!("queries/{name}");
            evidence.push(RelevantEvidence {
                description: format!(
                    "Azure Resource Graph query for dataset {} ({} snapshot days).",
                    q.dataset, q.days
                ),
                props: vec![prop("sha256", hash_of(&self.hashes, &rel)?)],
                href: rel,
            });
        }
        Ok(evidence)
    }

    fn control_selections(&self) -> Vec<ControlSelection> {
        let mapping = self.mapping;
        mapping
            .controls
            .iter()
            .map(|c| ControlSelection {
                description: format!("{} {}: {}", mapping.name, c.id, c.title),
                props: vec![
                    prop("control-id", &c.id),
                    prop("control-support", c.support().as_str()),
                    prop("evidence-items", c.items().collect::<Vec<_>>().join(" ")),
                ],
                include_controls: vec![SelectControl {
                    control_id: control_token(self.framework, &c.id),
                }],
            })
            .collect()
    }

    /// Findings, in mapping order: one "satisfied" per control without exceptions, else one
    /// "not satisfied" per evidence item of the control that lists exceptions.
    fn findings(&self, observation_of: &BTreeMap<&str, String>) -> Vec<Finding> {
        let exceptions: BTreeMap<&str, Vec<String>> = self
            .items
            .iter()
            .map(|it| (it.item.id, item_exceptions(it)))
            .collect();
        let mut findings = Vec::new();
        for c in &self.mapping.controls {
            let failing: Vec<&EvidenceRef> = c
                .evidence
                .iter()
                .filter(|e| {
                    exceptions
                        .get(e.item.as_str())
                        .is_some_and(|x| !x.is_empty())
                })
                .collect();
            if failing.is_empty() {
                findings.push(self.satisfied(c, observation_of));
            }
            for e in failing {
                let lines = &exceptions[e.item.as_str()];
                findings.push(self.not_satisfied(c, e, lines, observation_of));
            }
        }
        findings
    }

    fn target(&self, c: &Control, state: &'static str, reason: &'static str) -> Target {
        Target {
            kind: "objective-id",
            target_id: control_token(self.framework, &c.id),
            title: format!("{} {}: {}", self.mapping.name, c.id, c.title),
            props: vec![
                prop("control-id", &c.id),
                prop("control-support", c.support().as_str()),
            ],
            status: Status { state, reason },
        }
    }

    fn satisfied(&self, c: &Control, observation_of: &BTreeMap<&str, String>) -> Finding {
        Finding {
            uuid: self.ids.of("finding", &c.id),
            title: format!("{}: no exception in the period", c.id),
            description: format!(
                "None of the evidence items mapped to {} {} ({}) shows an exception for \
                 {}. Satisfied here means within this pack's evidence only: support \
                 for the control is {}.",
                self.mapping.name,
                c.id,
                c.items().collect::<Vec<_>>().join(", "),
                self.inp.period,
                c.support().as_str()
            ),
            props: vec![prop("control-id", &c.id)],
            origins: self.origins.clone(),
            target: self.target(c, "satisfied", "pass"),
            related_observations: related(c, observation_of),
            remarks: gaps(c),
        }
    }

    fn not_satisfied(
        &self,
        c: &Control,
        e: &EvidenceRef,
        lines: &[String],
        observation_of: &BTreeMap<&str, String>,
    ) -> Finding {
        let title_of = |id: &str| {
            self.items
                .iter()
                .find(|i| i.item.id == id)
                .map(|i| i.item.title)
        };
        Finding {
            uuid: self.ids.of("finding", &format!("{}/{}", c.id, e.item)),
            title: format!("{}: exceptions in {}", c.id, e.item),
            description: format!(
                "{} ({}) lists {} exception line(s) for {}, bearing on {} {}:\n\n{}",
                title_of(&e.item).unwrap_or(&e.item),
                crate::evidence::item(&e.item)
                    .map(|d| d.file_name())
                    .unwrap_or_default(),
                lines.len(),
                self.inp.period,
                self.mapping.name,
                c.id,
                lines
                    .iter()
                    .map(|l| format!("- {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            props: vec![
                prop("control-id", &c.id),
                prop("evidence-item", &e.item),
                prop("evidence-support", e.support.as_str()),
            ],
            origins: self.origins.clone(),
            target: self.target(c, "not-satisfied", "fail"),
            related_observations: vec![RelatedObservation {
                observation_uuid: observation_of
                    .get(e.item.as_str())
                    .cloned()
                    .unwrap_or_default(),
            }],
            remarks: Some(if e.gap.is_empty() {
                format!("{}: {}", e.item, e.rationale)
            } else {
                format!("{}: {} Gap: {}", e.item, e.rationale, e.gap)
            }),
        }
    }
}

/// An observation's props: the population, its exclusions and reconciliation, the queries
/// (grouped), and the item's figures.
fn observation_props(it: &EvidenceTable) -> Vec<Prop> {
    let p = &it.population;
    let mut props = vec![
        prop("evidence-item", it.item.id),
        prop("period", &p.period),
        prop("population-rows", p.rows),
        prop("population-unit", &p.unit),
        prop(
            "population-reported-total",
            p.reported_total
                .map(|n| n.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ),
        prop("population-excluded", p.excluded_total()),
    ];
    props.extend(
        p.exclusions
            .iter()
            .map(|(reason, n)| prop("population-exclusion", format!("{reason}: {n}"))),
    );
    props.push(prop("population-reconciles", p.reconciles()));
    props.push(prop("file-rows", p.file_rows));
    props.push(prop("snapshot-days-used", p.snapshot_days_used.len()));
    props.push(prop("snapshot-days-missing", p.snapshot_days_missing.len()));
    for (i, q) in p.queries.iter().enumerate() {
        let group = format!("query-{}", i + 1);
        props.push(grouped("query-dataset", &q.dataset, &group));
        props.push(grouped("query-file", &q.file, &group));
        if let Some(h) = &q.sha256 {
            props.push(grouped("query-sha256", h, &group));
        }
        props.push(grouped("query-snapshot-days", q.days, &group));
    }
    props.extend(
        it.figures
            .iter()
            .map(|f| prop("figure", format!("{}: {}", f.label, f.value))),
    );
    props
}

fn missing_days_remark(days_missing: &[NaiveDate]) -> Option<String> {
    (!days_missing.is_empty()).then(|| {
        format!(
            "{} day(s) of the period have no snapshot and are left out of every daily figure: {}",
            days_missing.len(),
            days_missing
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        )
    })
}

/// `import-ap` is required by the schema and must name an assessment plan. The pack has no
/// OSCAL assessment plan: what plays its part is the control mapping (`mapping.toml`: which
/// controls are assessed, with which evidence, how far). So `href` is a fragment to the
/// back-matter resource of that mapping, which links `mapping.toml` in the same folder with its
/// SHA-256. A fragment keeps the reference inside the document (valid `uri-reference`, never
/// dangling, hash-checked), where an `href` straight to `mapping.toml` would invite a tool to
/// parse a TOML file as an OSCAL plan.
fn import_ap(mapping_resource_uuid: &str) -> ImportAp {
    ImportAp {
        href: format!("#{mapping_resource_uuid}"),
        remarks: "No separate OSCAL assessment plan exists for this pack. The plan is the \
                  control mapping (back-matter resource, mapping.toml in this folder): the \
                  controls assessed and the evidence items that support each."
            .into(),
    }
}

fn related(c: &Control, observation_of: &BTreeMap<&str, String>) -> Vec<RelatedObservation> {
    c.items()
        .filter_map(|i| observation_of.get(i))
        .map(|u| RelatedObservation {
            observation_uuid: u.clone(),
        })
        .collect()
}

/// The gaps of a control's partial evidence, one line each.
fn gaps(c: &Control) -> Option<String> {
    let lines: Vec<String> = c
        .evidence
        .iter()
        .filter(|e| !e.gap.is_empty())
        .map(|e| format!("{}: {}", e.item, e.gap))
        .collect();
    (!lines.is_empty()).then(|| format!("Not shown by this evidence: {}", lines.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_matches_rfc_9562_vectors() {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        let dns = uuid_bytes("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
        assert_eq!(
            uuid_v5(&dns, "python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn control_ids_become_tokens() {
        assert_eq!(control_token(Framework::PciDss401, "6.3.3"), "req-6.3.3");
        assert_eq!(control_token(Framework::PciDss401, "A3.2.1"), "req-a3.2.1");
        assert_eq!(control_token(Framework::Soc2, "CC7.1"), "cc7.1");
        assert_eq!(control_token(Framework::Soc2, "1 x"), "_1-x");
    }
}
