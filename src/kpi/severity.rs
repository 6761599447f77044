//! Severities of alerts and vulnerability findings as Defender writes them. Tables keep the
//! severity as the string Azure gave (an unknown severity is still counted under its own
//! name); the KPIs that single out one severity name it through this enum.

/// A severity the KPIs single out (SLA defaults, high-severity alerts, overdue criticals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Vulnerability findings only.
    Critical,
    /// Alerts and vulnerability findings.
    High,
    /// Alerts and vulnerability findings.
    Medium,
    /// Alerts and vulnerability findings.
    Low,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    /// The severity as Defender spells it (`Critical`, `High`, `Medium`, `Low`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
        }
    }

    /// The severity a cell names, compared exactly as Defender spells it.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether a (possibly null) cell names this severity.
    pub fn is(self, cell: Option<&str>) -> bool {
        cell == Some(self.as_str())
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_as_defender_writes_them() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("high"), None);
        assert!(Severity::High.is(Some("High")));
        assert!(!Severity::High.is(None));
    }
}
