//! `arc_clusters`: Arc-enabled Kubernetes clusters; `defenderExtensionState` is null when the
//! Defender extension is not installed.
use super::{Contract, Kind::*};

/// The columns of `queries/arc_clusters.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "arc_clusters",
    columns: &[
        ("id", Key),
        ("name", Str),
        ("subscriptionId", Key),
        ("resourceGroup", Str),
        ("location", Str),
        ("tags", Object),
        ("distribution", Str),
        ("kubernetesVersion", Str),
        ("totalCoreCount", Int),
        ("totalNodeCount", Int),
        ("connectivityStatus", Str),
        ("defenderExtensionState", Str),
    ],
};
