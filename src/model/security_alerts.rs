//! `security_alerts`: Defender alerts (ARG keeps about 90 days); the job's own daily history
//! is what makes detection latency measurable over time.
use super::{Contract, Kind::*};

/// The columns of `queries/security_alerts.kql`.
pub const CONTRACT: Contract = Contract {
    dataset: "security_alerts",
    columns: &[
        ("id", Key),
        ("systemAlertId", Key),
        ("subscriptionId", Key),
        ("alertType", Str),
        ("displayName", Str),
        ("severity", Str),
        ("status", Str),
        ("intent", Str),
        ("startTimeUtc", Time),
        ("timeGeneratedUtc", Time),
        ("resourceId", Str),
        ("compromisedEntity", Str),
    ],
};
