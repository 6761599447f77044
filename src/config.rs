//! One typed configuration: a TOML file, then `DEFENDER_LEDGER_<SECTION>_<KEY>` environment
//! overrides, validated up front so a bad value fails before any query runs.

use crate::error::{Error, Result};
pub use crate::store::CredentialKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub source: SourceConfig,
    pub azure: AzureConfig,
    pub cost: CostConfig,
    pub coverage: CoverageConfig,
    pub detection: DetectionConfig,
    pub vulnerabilities: VulnerabilityConfig,
    pub showback: ShowbackConfig,
    pub anomalies: AnomalyConfig,
    pub targets: TargetConfig,
    pub output: OutputConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// A folder in the sample-data layout to replay instead of querying Azure.
    pub replay_dir: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AzureConfig {
    /// workload-identity, managed-identity, client-secret, azure-cli or default (the chain).
    pub credential: CredentialKind,
    pub arm_endpoint: String,
    pub authority_host: String,
    pub management_groups: Vec<String>,
    pub subscriptions: Vec<String>,
    /// Seconds before a single HTTP request is abandoned.
    pub request_timeout_secs: u64,
    /// Attempts per page before giving up on 5xx, resets and timeouts.
    pub max_attempts: u32,
}

impl Default for AzureConfig {
    fn default() -> Self {
        AzureConfig {
            credential: CredentialKind::Default,
            arm_endpoint: "https://management.azure.com".into(),
            authority_host: "https://login.microsoftonline.com".into(),
            management_groups: vec![],
            subscriptions: vec![],
            request_timeout_secs: 60,
            max_attempts: 6,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CostConfig {
    /// Root of the export container (folder or blob URL); defaults to `<replay_dir>/cost-exports`.
    pub location: Option<String>,
    /// Export names whose runs feed showback.
    pub exports: Vec<String>,
    /// Publish a period whose last days have no export run yet (a run before the month's
    /// final export); the report then says "partial: cost data until <day>". Off by default:
    /// a period without cost for every day is an input error. Left out of the serialised
    /// configuration while false, so the manifest's `config_sha256` is unchanged.
    #[serde(skip_serializing_if = "is_false")]
    pub allow_partial: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CoverageConfig {
    pub required_extensions: Vec<String>,
}

impl Default for CoverageConfig {
    fn default() -> Self {
        CoverageConfig {
            required_extensions: vec![
                "ContainerSensor".into(),
                "AgentlessDiscoveryForKubernetes".into(),
                "ContainerRegistriesVulnerabilityAssessments".into(),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionConfig {
    pub alert_type_prefixes: Vec<String>,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            alert_type_prefixes: vec!["K8S".into()],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VulnerabilityConfig {
    /// SLA in days per severity; a severity without an entry has no due date.
    pub sla_days: BTreeMap<String, i64>,
}

impl Default for VulnerabilityConfig {
    fn default() -> Self {
        let sla_days = [("Critical", 15), ("High", 30), ("Medium", 90), ("Low", 180)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        VulnerabilityConfig { sla_days }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ShowbackConfig {
    /// Tag keys that name an owner, in priority order, matched case-insensitively.
    pub owner_tags: Vec<String>,
    /// vCPUs for VM sizes whose name does not say it (or says it wrongly).
    pub vcpu_overrides: BTreeMap<String, i64>,
}

impl Default for ShowbackConfig {
    fn default() -> Self {
        ShowbackConfig {
            owner_tags: vec!["owner".into(), "team".into(), "costcenter".into()],
            vcpu_overrides: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    pub multiplier: f64,
    pub window_days: i64,
    pub floor: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            multiplier: 3.0,
            window_days: 14,
            floor: 10.0,
        }
    }
}

/// Targets the executive report grades KPIs against (green at or better than target).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TargetConfig {
    pub compliance_rate: f64,
    pub mttd_median_minutes: f64,
    pub remediation_rate: f64,
    pub high_alerts: i64,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            compliance_rate: 100.0,
            mttd_median_minutes: 30.0,
            remediation_rate: 95.0,
            high_alerts: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Folder or blob URL that receives `<period>/<run-id>/` and `history/`.
    pub location: String,
    /// Start every CSV of the run with a UTF-8 byte-order mark (EF BB BF), for teams that
    /// open CSVs in Excel by double-click. Off by default: strict parsers reject a BOM.
    /// Left out of the serialised configuration while false, so the manifest's
    /// `config_sha256` of a configuration without the key is unchanged.
    #[serde(skip_serializing_if = "is_false")]
    pub csv_bom: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            location: "./out".into(),
            csv_bom: false,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How an environment override is parsed into TOML.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    List,
    Int,
    Float,
    /// `true` or `false`
    Bool,
    /// `Critical=15,High=30`
    IntMap,
}

/// Every key that can be overridden from the environment, by section.
const OVERRIDABLE: &[(&str, &str, Kind)] = &[
    ("source", "replay_dir", Kind::Str),
    ("azure", "credential", Kind::Str),
    ("azure", "arm_endpoint", Kind::Str),
    ("azure", "authority_host", Kind::Str),
    ("azure", "management_groups", Kind::List),
    ("azure", "subscriptions", Kind::List),
    ("azure", "request_timeout_secs", Kind::Int),
    ("azure", "max_attempts", Kind::Int),
    ("cost", "location", Kind::Str),
    ("cost", "exports", Kind::List),
    ("cost", "allow_partial", Kind::Bool),
    ("coverage", "required_extensions", Kind::List),
    ("detection", "alert_type_prefixes", Kind::List),
    ("vulnerabilities", "sla_days", Kind::IntMap),
    ("showback", "owner_tags", Kind::List),
    ("showback", "vcpu_overrides", Kind::IntMap),
    ("anomalies", "multiplier", Kind::Float),
    ("anomalies", "window_days", Kind::Int),
    ("anomalies", "floor", Kind::Float),
    ("targets", "compliance_rate", Kind::Float),
    ("targets", "mttd_median_minutes", Kind::Float),
    ("targets", "remediation_rate", Kind::Float),
    ("targets", "high_alerts", Kind::Int),
    ("output", "location", Kind::Str),
    ("output", "csv_bom", Kind::Bool),
];

pub const ENV_PREFIX: &str = "DEFENDER_LEDGER_";

/// The environment variable that overrides `section.key`.
pub fn env_name(section: &str, key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}_{}",
        section.to_uppercase(),
        key.to_uppercase()
    )
}

impl Config {
    /// Load the file (if it exists, or fail if it was named explicitly), apply environment
    /// overrides from `env`, and validate.
    pub fn load(
        path: &Path,
        explicit: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => String::new(),
            Err(e) => {
                return Err(Error::config(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
        apply_env_overrides(&mut table, env)?;
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e| Error::config(format!("{}: {e}", path.display())))?;
        config.validate()?;
        Ok(config)
    }

    /// Load with the process environment.
    pub fn load_from_process_env(path: &Path, explicit: bool) -> Result<Config> {
        Config::load(path, explicit, &|k| std::env::var(k).ok())
    }

    pub fn validate(&self) -> Result<()> {
        let a = &self.anomalies;
        // NaN multipliers fail too: only a positive number passes.
        let multiplier_ok = a.multiplier > 0.0;
        if !multiplier_ok || a.window_days < 1 || a.floor < 0.0 {
            return Err(Error::config(
                "anomalies: multiplier must be > 0, window_days >= 1 and floor >= 0",
            ));
        }
        if self.showback.owner_tags.iter().any(|t| t.trim().is_empty()) {
            return Err(Error::config("showback.owner_tags: empty tag key"));
        }
        if self.detection.alert_type_prefixes.is_empty() {
            return Err(Error::config(
                "detection.alert_type_prefixes: at least one prefix",
            ));
        }
        for (sev, days) in &self.vulnerabilities.sla_days {
            if *days < 0 {
                return Err(Error::config(format!(
                    "vulnerabilities.sla_days.{sev}: negative"
                )));
            }
        }
        if self.output.location.trim().is_empty() {
            return Err(Error::config("output.location is empty"));
        }
        Ok(())
    }

    /// Where cost exports are read from: configured, else `<replay_dir>/cost-exports`.
    pub fn cost_location(&self) -> Option<String> {
        self.cost.location.clone().or_else(|| {
            self.source
                .replay_dir
                .as_ref()
                .map(|d| format!("{}/cost-exports", d.trim_end_matches('/')))
        })
    }

    /// How stores reach Azure: the credential, authority, timeout and attempts of `[azure]`.
    pub fn store_options(&self) -> crate::store::StoreOptions {
        let azure = &self.azure;
        crate::store::StoreOptions::default()
            .with_credential(azure.credential)
            .with_authority_host(&azure.authority_host)
            .with_request_timeout(std::time::Duration::from_secs(
                azure.request_timeout_secs.max(1),
            ))
            .with_attempts(azure.max_attempts)
    }

    /// SHA-256 of the effective configuration, with locations stripped of any query string
    /// (a SAS token is a secret), recorded in the manifest.
    pub fn fingerprint(&self) -> String {
        let mut redacted = self.clone();
        redacted.cost.location = redacted.cost.location.map(|l| crate::store::redact(&l));
        redacted.output.location = crate::store::redact(&redacted.output.location);
        let json = serde_json::to_vec(&redacted).expect("config serialises");
        hex::encode(Sha256::digest(json))
    }
}

/// The environment variables among `DEFENDER_LEDGER_<SECTION>_<KEY>` that are set.
pub fn overridden_keys(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    OVERRIDABLE
        .iter()
        .map(|(section, key, _)| env_name(section, key))
        .filter(|name| env(name).is_some())
        .collect()
}

fn apply_env_overrides(
    table: &mut toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    for (section, key, kind) in OVERRIDABLE {
        let name = env_name(section, key);
        let Some(raw) = env(&name) else { continue };
        let value = parse_override(&name, &raw, *kind)?;
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let sect = entry
            .as_table_mut()
            .ok_or_else(|| Error::config(format!("[{section}] is not a table")))?;
        sect.insert(key.to_string(), value);
    }
    Ok(())
}

fn parse_override(name: &str, raw: &str, kind: Kind) -> Result<toml::Value> {
    let list = || -> Vec<String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let bad = |what: &str| Error::config(format!("{name}='{raw}' is not {what}"));
    Ok(match kind {
        Kind::Str => toml::Value::String(raw.to_string()),
        Kind::List => toml::Value::Array(list().into_iter().map(toml::Value::String).collect()),
        Kind::Int => toml::Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
        Kind::Float => toml::Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?),
        Kind::Bool => match raw.trim() {
            "true" => toml::Value::Boolean(true),
            "false" => toml::Value::Boolean(false),
            _ => return Err(bad("true or false")),
        },
        Kind::IntMap => {
            let mut t = toml::Table::new();
            for item in list() {
                let (k, v) = item.split_once('=').ok_or_else(|| bad("a list of KEY=N"))?;
                let v: i64 = v.trim().parse().map_err(|_| bad("a list of KEY=N"))?;
                t.insert(k.trim().to_string(), toml::Value::Integer(v));
            }
            toml::Value::Table(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load_with(text: &str, vars: &[(&str, &str)]) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(&path, true, &|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_match_design() {
        let c = load_with("", &[]).unwrap();
        assert_eq!(c.vulnerabilities.sla_days["Critical"], 15);
        assert_eq!(c.vulnerabilities.sla_days["Low"], 180);
        assert_eq!(c.showback.owner_tags, ["owner", "team", "costcenter"]);
        assert_eq!(c.anomalies.floor, 10.0);
        assert_eq!(c.coverage.required_extensions.len(), 3);
    }

    #[test]
    fn env_overrides_win_and_lists_split_on_commas() {
        let c = load_with(
            "[cost]\nexports = [\"a\"]\n",
            &[
                ("DEFENDER_LEDGER_COST_EXPORTS", "x, y"),
                ("DEFENDER_LEDGER_AZURE_ARM_ENDPOINT", "http://127.0.0.1:1"),
                (
                    "DEFENDER_LEDGER_VULNERABILITIES_SLA_DAYS",
                    "Critical=7,High=14",
                ),
            ],
        )
        .unwrap();
        assert_eq!(c.cost.exports, ["x", "y"]);
        assert_eq!(c.azure.arm_endpoint, "http://127.0.0.1:1");
        assert_eq!(c.vulnerabilities.sla_days.len(), 2);
        assert_eq!(c.vulnerabilities.sla_days["Critical"], 7);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = load_with("[coverage]\nrequired_extension = []\n", &[]).unwrap_err();
        assert!(e.to_string().contains("required_extension"), "{e}");
        let e = load_with("", &[("DEFENDER_LEDGER_ANOMALIES_FLOOR", "ten")]).unwrap_err();
        assert!(
            e.to_string().contains("DEFENDER_LEDGER_ANOMALIES_FLOOR"),
            "{e}"
        );
        let e = load_with("[azure]\ncredential = \"magic\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
    }

    #[test]
    fn csv_bom_defaults_off_and_is_overridable() {
        let c = load_with("", &[]).unwrap();
        assert!(!c.output.csv_bom);
        let c = load_with("[output]\ncsv_bom = true\n", &[]).unwrap();
        assert!(c.output.csv_bom);
        let c = load_with(
            "[output]\ncsv_bom = true\n",
            &[("DEFENDER_LEDGER_OUTPUT_CSV_BOM", "false")],
        )
        .unwrap();
        assert!(!c.output.csv_bom);
        let c = load_with("", &[("DEFENDER_LEDGER_OUTPUT_CSV_BOM", " true ")]).unwrap();
        assert!(c.output.csv_bom);
        let e = load_with("", &[("DEFENDER_LEDGER_OUTPUT_CSV_BOM", "yes")]).unwrap_err();
        assert!(
            e.to_string().contains("DEFENDER_LEDGER_OUTPUT_CSV_BOM"),
            "{e}"
        );
        let e = load_with("[output]\ncsv_bom = \"true\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("csv_bom"), "{e}");
    }

    #[test]
    fn csv_bom_off_keeps_the_config_fingerprint() {
        // A configuration without the key hashes as it did before the key existed.
        let off = Config::default();
        let json = serde_json::to_string(&off.output).unwrap();
        assert!(!json.contains("csv_bom"), "{json}");
        let mut on = Config::default();
        on.output.csv_bom = true;
        assert_ne!(off.fingerprint(), on.fingerprint());
    }
}
