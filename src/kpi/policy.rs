//! Policy states of the period's snapshot days, tallied as history is read: per day,
//! subscription, assignment, scope, definition and action, how many states are compliant,
//! non-compliant, exempt or other. A large tenant has tens of thousands of policy states a
//! day; the tally keeps a few thousand counts a day instead of the rows.

use crate::error::Result;
use crate::frame::strs;
use chrono::NaiveDate;
use polars::prelude::DataFrame;
use std::collections::BTreeMap;

/// Columns of the `policy_states` dataset the tally reads.
pub mod columns {
    /// Subscription GUID.
    pub const SUBSCRIPTION_ID: &str = "subscriptionId";
    /// Policy assignment id (states without one are counted apart).
    pub const POLICY_ASSIGNMENT_ID: &str = "policyAssignmentId";
    /// Scope of the assignment.
    pub const POLICY_ASSIGNMENT_SCOPE: &str = "policyAssignmentScope";
    /// Policy definition id.
    pub const POLICY_DEFINITION_ID: &str = "policyDefinitionId";
    /// Effect of the definition (`audit`, `deny`, ...).
    pub const POLICY_DEFINITION_ACTION: &str = "policyDefinitionAction";
    /// `Compliant`, `NonCompliant`, `Exempt`, ...
    pub const COMPLIANCE_STATE: &str = "complianceState";
}

/// What the tally counts states by. Ordered field by field, in this order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyKey {
    /// Snapshot day.
    pub date: NaiveDate,
    /// Lower-case subscription GUID.
    pub subscription: String,
    /// Policy assignment id.
    pub assignment: String,
    /// Scope of the assignment.
    pub scope: String,
    /// Policy definition id.
    pub definition: String,
    /// Effect of the definition.
    pub action: String,
}

/// States of one key, by compliance (compared case-insensitively).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyCounts {
    /// `Compliant` states.
    pub compliant: i64,
    /// `NonCompliant` states.
    pub non_compliant: i64,
    /// `Exempt` states.
    pub exempt: i64,
    /// Any other state.
    pub other: i64,
}

impl PolicyCounts {
    /// Every state counted.
    pub fn states(&self) -> i64 {
        self.compliant + self.non_compliant + self.exempt + self.other
    }

    /// Add another key's counts to these.
    pub fn add(&mut self, other: &PolicyCounts) {
        self.compliant += other.compliant;
        self.non_compliant += other.non_compliant;
        self.exempt += other.exempt;
        self.other += other.other;
    }

    /// Compliant / (compliant + non-compliant) × 100; `None` without either.
    pub fn rate(&self) -> Option<f64> {
        let den = self.compliant + self.non_compliant;
        (den > 0).then(|| self.compliant as f64 / den as f64 * 100.0)
    }
}

/// The policy states of the period, tallied.
#[derive(Debug, Clone, Default)]
pub struct PolicyTally {
    /// Counts per key.
    pub groups: BTreeMap<PolicyKey, PolicyCounts>,
    /// States without a `policyAssignmentId`, left out of `groups`.
    pub without_assignment: i64,
    /// Per day: (every state, those exactly `Compliant` or `Exempt`), for the checklist.
    pub by_day: BTreeMap<NaiveDate, (i64, i64)>,
}

impl PolicyTally {
    /// Count one snapshot day's `policy_states` rows.
    pub fn add_day(&mut self, date: NaiveDate, df: &DataFrame) -> Result<()> {
        let sub = strs(df, columns::SUBSCRIPTION_ID)?;
        let asg = strs(df, columns::POLICY_ASSIGNMENT_ID)?;
        let scope = strs(df, columns::POLICY_ASSIGNMENT_SCOPE)?;
        let def = strs(df, columns::POLICY_DEFINITION_ID)?;
        let action = strs(df, columns::POLICY_DEFINITION_ACTION)?;
        let state = strs(df, columns::COMPLIANCE_STATE)?;
        let day = self.by_day.entry(date).or_default();
        for i in 0..df.height() {
            day.0 += 1;
            if matches!(state[i].as_deref(), Some("Compliant") | Some("Exempt")) {
                day.1 += 1;
            }
            let Some(a) = asg[i].clone().filter(|a| !a.is_empty()) else {
                self.without_assignment += 1;
                continue;
            };
            let key = PolicyKey {
                date,
                subscription: sub[i].clone().unwrap_or_default().to_lowercase(),
                assignment: a,
                scope: scope[i].clone().unwrap_or_default(),
                definition: def[i].clone().unwrap_or_default(),
                action: action[i].clone().unwrap_or_default(),
            };
            let c = self.groups.entry(key).or_default();
            match state[i].as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("compliant") => c.compliant += 1,
                Some("noncompliant") => c.non_compliant += 1,
                Some("exempt") => c.exempt += 1,
                _ => c.other += 1,
            }
        }
        Ok(())
    }
}
