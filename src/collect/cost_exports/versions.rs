//! The export schema versions this reader is built and tested for, per export type, as a
//! manifest names them (`exportConfig.type`, `exportConfig.dataVersion`). Columns are always
//! matched by name, so an unknown version that still has the needed columns is read, with a
//! warning in data quality; one whose header fails the schema check is an input error that
//! names the version.

/// (export type, the `dataVersion`s known for it). Types compare case-insensitively.
const KNOWN: &[(&str, &[&str])] = &[
    ("FocusCost", &["1.0", "1.0r2", "1.2-preview"]),
    (
        "ActualCost",
        &["2021-10-01", "2023-12-01-preview", "2024-08-01"],
    ),
    (
        "AmortizedCost",
        &["2021-10-01", "2023-12-01-preview", "2024-08-01"],
    ),
];

/// Why a run's type and version are not known (None when they are, or when the manifest
/// does not say: legacy manifests name neither).
pub fn unknown_version(export_type: Option<&str>, data_version: Option<&str>) -> Option<String> {
    let version = data_version?;
    let Some(kind) = export_type else {
        return Some(format!(
            "dataVersion '{version}' without an exportConfig.type; known: {}",
            known_list()
        ));
    };
    match KNOWN.iter().find(|(t, _)| t.eq_ignore_ascii_case(kind)) {
        Some((_, versions)) if versions.contains(&version) => None,
        Some((t, versions)) => Some(format!(
            "dataVersion '{version}' is not one known for {t} exports ({})",
            versions.join(", ")
        )),
        None => Some(format!(
            "export type '{kind}' (dataVersion '{version}') is not a cost export type this job \
             knows; known: {}",
            known_list()
        )),
    }
}

fn known_list() -> String {
    KNOWN
        .iter()
        .map(|(t, v)| format!("{t} {}", v.join("/")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_versions_pass_and_unknown_ones_are_named() {
        assert_eq!(unknown_version(Some("FocusCost"), Some("1.0r2")), None);
        assert_eq!(
            unknown_version(Some("actualcost"), Some("2024-08-01")),
            None
        );
        assert_eq!(unknown_version(None, None), None);
        let w = unknown_version(Some("FocusCost"), Some("9.9")).unwrap();
        assert!(w.contains("'9.9'") && w.contains("1.0r2"), "{w}");
        let w = unknown_version(Some("PriceSheet"), Some("2023-05-01")).unwrap();
        assert!(w.contains("PriceSheet"), "{w}");
    }
}
