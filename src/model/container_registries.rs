//! `container_registries`: Azure Container Registries; protected when their subscription is.
use super::{Contract, Kind::*};

/// The columns of `queries/container_registries.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "container_registries",
    columns: &[
        ("id", Key),
        ("name", Str),
        ("subscriptionId", Key),
        ("resourceGroup", Str),
        ("location", Str),
        ("tags", Object),
        ("sku", Str),
        ("adminUserEnabled", Bool),
        ("publicNetworkAccess", Str),
    ],
};
