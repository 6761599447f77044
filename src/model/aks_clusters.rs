//! `aks_clusters`: managed clusters with their node pools (for vCores) and Defender profile.
//! `defenderEnabled` is null when the security profile is absent: not protected.
use super::{Contract, Kind::*};

/// The columns of `queries/aks_clusters.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "aks_clusters",
    columns: &[
        ("id", Key),
        ("name", Str),
        ("subscriptionId", Key),
        ("resourceGroup", Str),
        ("location", Str),
        ("tags", Object),
        ("kubernetesVersion", Str),
        ("powerState", Str),
        ("nodeResourceGroup", Str),
        ("agentPools", Array(&["count", "vmSize"])),
        ("defenderEnabled", Bool),
        ("enableRBAC", Bool),
        ("aadManaged", Bool),
        ("networkPolicy", Str),
        ("azurePolicyEnabled", Bool),
    ],
};
