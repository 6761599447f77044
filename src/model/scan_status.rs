//! `scan_status`: the parent vulnerability assessment of each registry (registry images) and
//! cluster (running containers). A protected resource without findings is "scanned, nothing
//! found" only when this says Healthy; without a row it has no vulnerability data that day.
use super::{Contract, Kind::*};

/// The columns of `queries/scan_status.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "scan_status",
    columns: &[
        ("id", Key),
        ("subscriptionId", Key),
        ("resourceId", Str),
        ("source", Str),
        ("statusCode", Str),
        ("cause", Str),
        ("statusChangeDate", Time),
    ],
};
