//! `defender_plans`: Defender pricing rows per subscription. Extensions are `isEnabled`
//! strings ("True"/"False") and null on deprecated plans.
use super::{Contract, Kind::*};

/// The columns of `queries/defender_plans.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "defender_plans",
    columns: &[
        ("subscriptionId", Key),
        ("plan", Key),
        ("pricingTier", Str),
        ("subPlan", Str),
        ("enablementTime", Time),
        ("deprecated", Bool),
        ("extensions", Array(&["name", "isEnabled"])),
    ],
};
