//! `subscriptions`: every subscription visible to the job, its state, management-group
//! ancestry (immediate parent first) and tags (the owner fallback for showback).
use super::{Contract, Kind::*};

/// The columns of `queries/subscriptions.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "subscriptions",
    columns: &[
        ("subscriptionId", Key),
        ("subscriptionName", Str),
        ("tenantId", Str),
        ("state", Str),
        ("managementGroups", Array(&["name"])),
        ("tags", Object),
    ],
};
