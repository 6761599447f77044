//! Control mappings as data: `reports/controls/<framework>.toml`, embedded in the binary so a
//! pack never depends on files beside it. Each control lists the evidence items that support
//! it, how far (`full` or `partial`), why, and for partial support what is missing.
//!
//! Validation is strict because the mapping is what an auditor reads first: every evidence
//! item maps to at least one control, control ids are unique, every reference names a known
//! item, and partial support always says what it leaves out.

use crate::error::{Error, Result};
use crate::evidence::{Framework, ITEMS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How far an evidence item supports a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Support {
    Full,
    Partial,
}

impl Support {
    pub fn as_str(self) -> &'static str {
        match self {
            Support::Full => "full",
            Support::Partial => "partial",
        }
    }
}

/// One evidence item's support for one control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    /// An id from `evidence::ITEMS`.
    pub item: String,
    pub support: Support,
    /// One line: what the item shows for this control.
    pub rationale: String,
    /// For partial support: what the item does not show. Empty for full support.
    #[serde(default)]
    pub gap: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    /// The control's short title, quoted.
    pub title: String,
    pub evidence: Vec<EvidenceRef>,
}

impl Control {
    /// Full when at least one item gives full support, else partial.
    pub fn support(&self) -> Support {
        if self.evidence.iter().any(|e| e.support == Support::Full) {
            Support::Full
        } else {
            Support::Partial
        }
    }

    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.evidence.iter().map(|e| e.item.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// `pci-dss-4.0.1` or `soc2`: the pack folder name.
    pub framework: String,
    /// Display name, e.g. "PCI DSS v4.0.1".
    pub name: String,
    /// Where the quoted titles come from and what to check before publishing.
    pub wording_note: String,
    pub controls: Vec<Control>,
}

impl Mapping {
    /// Controls an item supports, in mapping order.
    pub fn controls_for<'a>(
        &'a self,
        item: &'a str,
    ) -> impl Iterator<Item = (&'a Control, &'a EvidenceRef)> + 'a {
        self.controls.iter().flat_map(move |c| {
            c.evidence
                .iter()
                .filter(move |e| e.item == item)
                .map(move |e| (c, e))
        })
    }
}

const PCI_DSS_TOML: &str = include_str!("../../reports/controls/pci-dss-4.0.1.toml");
const SOC2_TOML: &str = include_str!("../../reports/controls/soc2.toml");

/// The mapping file's text, verbatim (it is published in the pack).
pub fn source_text(framework: Framework) -> &'static str {
    match framework {
        Framework::PciDss401 => PCI_DSS_TOML,
        Framework::Soc2 => SOC2_TOML,
    }
}

/// The embedded mapping of `framework`, parsed and validated.
pub fn load(framework: Framework) -> Result<Mapping> {
    let origin = format!("reports/controls/{}.toml", framework.id());
    let m = parse(source_text(framework), &origin)?;
    if m.framework != framework.id() {
        return Err(Error::input(
            &origin,
            format!(
                "framework is \"{}\", expected \"{}\"",
                m.framework,
                framework.id()
            ),
        ));
    }
    Ok(m)
}

/// Parse and validate a mapping text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Mapping> {
    let m: Mapping = toml::from_str(text).map_err(|e| Error::input_err(origin, e))?;
    validate(&m).map_err(|msg| Error::input(origin, msg))?;
    Ok(m)
}

/// Every rule the mapping must satisfy, as one message naming each problem.
pub fn validate(m: &Mapping) -> std::result::Result<(), String> {
    let known: BTreeSet<&str> = ITEMS.iter().map(|i| i.id).collect();
    let mut problems = Vec::new();
    if m.name.trim().is_empty() {
        problems.push("name is empty".to_string());
    }
    let mut ids = BTreeSet::new();
    for c in &m.controls {
        if c.id.trim().is_empty() {
            problems.push("a control has an empty id".into());
        }
        if !ids.insert(c.id.as_str()) {
            problems.push(format!("control {} is listed twice", c.id));
        }
        if c.title.trim().is_empty() {
            problems.push(format!("control {} has no title", c.id));
        }
        if c.evidence.is_empty() {
            problems.push(format!("control {} lists no evidence item", c.id));
        }
        let mut seen = BTreeSet::new();
        for e in &c.evidence {
            if !known.contains(e.item.as_str()) {
                problems.push(format!(
                    "control {}: unknown evidence item \"{}\" (known: {})",
                    c.id,
                    e.item,
                    known.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
            if !seen.insert(e.item.as_str()) {
                problems.push(format!("control {}: item {} listed twice", c.id, e.item));
            }
            if e.rationale.trim().is_empty() {
                problems.push(format!("control {}, item {}: no rationale", c.id, e.item));
            }
            if e.support == Support::Partial && e.gap.trim().is_empty() {
                problems.push(format!(
                    "control {}, item {}: partial support must say what is missing (gap)",
                    c.id, e.item
                ));
            }
        }
    }
    for item in &known {
        if !m.controls.iter().any(|c| c.items().any(|i| i == *item)) {
            problems.push(format!("evidence item {item} maps to no control"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
