//! `vulnerabilities`: image CVE findings, one row per (resource, image digest, CVE), from the
//! current individual assessments or the legacy sub-assessments (`queries/legacy/`).
use super::{Contract, Kind::*};

/// The columns of `queries/vulnerabilities.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "vulnerabilities",
    columns: &[
        ("id", Key),
        ("subscriptionId", Key),
        ("resourceId", Str),
        ("source", Str),
        ("registryHost", Str),
        ("repository", Str),
        ("imageDigest", Str),
        ("cveId", Str),
        ("severity", Str),
        ("cvssScore", Float),
        ("fixStatus", Str),
        ("statusCode", Str),
        ("timeGenerated", Time),
    ],
};
