//! Policy states of the period's snapshot days, tallied as history is read: per day,
//! subscription, assignment, scope, definition and action, how many states are compliant,
//! non-compliant, exempt or other. A large tenant has tens of thousands of policy states a
//! day; the tally keeps a few thousand counts a day instead of the rows.

use crate::error::Result;
use crate::frame::strs;
use chrono::NaiveDate;
use polars::prelude::DataFrame;
use std::collections::BTreeMap;

/// (day, lower-case subscription, assignment, scope, definition, action).
pub type PolicyKey = (NaiveDate, String, String, String, String, String);

/// States of one key, by compliance (compared case-insensitively).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyCounts {
    pub compliant: i64,
    pub non_compliant: i64,
    pub exempt: i64,
    pub other: i64,
}

impl PolicyCounts {
    pub fn states(&self) -> i64 {
        self.compliant + self.non_compliant + self.exempt + self.other
    }
}

/// The policy states of the period, tallied.
#[derive(Debug, Clone, Default)]
pub struct PolicyTally {
    pub groups: BTreeMap<PolicyKey, PolicyCounts>,
    /// States without a `policyAssignmentId`, left out of `groups`.
    pub without_assignment: i64,
    /// Per day: (every state, those exactly `Compliant` or `Exempt`), for the checklist.
    pub by_day: BTreeMap<NaiveDate, (i64, i64)>,
}

impl PolicyTally {
    /// Count one snapshot day's `policy_states` rows.
    pub fn add_day(&mut self, date: NaiveDate, df: &DataFrame) -> Result<()> {
        let sub = strs(df, "subscriptionId")?;
        let asg = strs(df, "policyAssignmentId")?;
        let scope = strs(df, "policyAssignmentScope")?;
        let def = strs(df, "policyDefinitionId")?;
        let action = strs(df, "policyDefinitionAction")?;
        let state = strs(df, "complianceState")?;
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
            let key = (
                date,
                sub[i].clone().unwrap_or_default().to_lowercase(),
                a,
                scope[i].clone().unwrap_or_default(),
                def[i].clone().unwrap_or_default(),
                action[i].clone().unwrap_or_default(),
            );
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
