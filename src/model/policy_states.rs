//! `policy_states`: Azure Policy compliance of the Defender for Containers policies.
use super::{Contract, Kind::*};

/// The columns of `queries/policy_states.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "policy_states",
    columns: &[
        ("subscriptionId", Key),
        ("resourceId", Str),
        ("policyAssignmentId", Str),
        ("policyAssignmentScope", Str),
        ("policyDefinitionId", Str),
        ("policyDefinitionAction", Str),
        ("complianceState", Str),
        ("timestamp", Time),
    ],
};
