//! vCPUs of a VM size, from its name: `Standard_D4s_v5` has 4, the constrained
//! `Standard_E64-32s_v5` has 32 (the number after the dash is the active vCPUs). A config table
//! overrides any size; a name that does not parse counts 0 and is reported as a finding.

use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// vCPUs of a VM size: an override, else the count its name gives (`Standard_D4s_v5` is 4, the constrained `Standard_E64-32s_v5` is 32); `None` when the name gives none.
pub fn vcpus_of(size: &str, overrides: &BTreeMap<String, i64>) -> Option<i64> {
    if let Some(v) = overrides
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(size))
        .map(|(_, v)| *v)
    {
        return Some(v);
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        // Family letters, the vCPU count, an optional "-<constrained vCPUs>", then the rest.
        Regex::new(r"(?i)^(?:standard|basic)_[a-z]+(\d+)(?:-(\d+))?[a-z]*(?:_.*)?$").unwrap()
    });
    let caps = re.captures(size.trim())?;
    let n = caps.get(2).or(caps.get(1))?.as_str().parse().ok()?;
    (n > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let none = BTreeMap::new();
        assert_eq!(vcpus_of("Standard_D4s_v5", &none), Some(4));
        assert_eq!(vcpus_of("Standard_D8s_v5", &none), Some(8));
        assert_eq!(vcpus_of("Standard_E64-32s_v5", &none), Some(32));
        assert_eq!(vcpus_of("Standard_F8s_v2", &none), Some(8));
        assert_eq!(vcpus_of("Standard_NC24ads_A100_v4", &none), Some(24));
        assert_eq!(vcpus_of("Standard_B2ms", &none), Some(2));
        assert_eq!(vcpus_of("Custom_GPU_Pool", &none), None);
        let o = BTreeMap::from([("Custom_GPU_Pool".to_string(), 24)]);
        assert_eq!(vcpus_of("custom_gpu_pool", &o), Some(24));
    }
}
