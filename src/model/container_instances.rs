//! `container_instances`: Azure Container Instances container groups, a container service
//! Defender for Containers does not cover; listed in the inventory as not covered.
use super::{Contract, Kind::*};

/// The columns of `queries/container_instances.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "container_instances",
    columns: &[
        ("id", Key),
        ("name", Str),
        ("subscriptionId", Key),
        ("resourceGroup", Str),
        ("location", Str),
        ("tags", Object),
        ("sku", Str),
        ("osType", Str),
        ("ipAddressType", Str),
        ("ipAddress", Str),
        ("containers", Array(&["name"])),
    ],
};
