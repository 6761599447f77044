//! Who owns a resource: the value of the first configured tag key found on the resource, else
//! on its subscription, else `unallocated`. Keys match case-insensitively but otherwise exactly
//! (`cost-center` is not `costcenter`); values are trimmed and lower-cased so `Team-A` and
//! `team-a` are one owner; a value that is empty after trimming does not count.

use crate::error::Result;
use crate::frame::strs;
pub use crate::tags::parse_tags;
use polars::prelude::DataFrame;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// The owner of a resource no owner tag names.
pub const UNALLOCATED: &str = "unallocated";

/// The owner named by `tags` under the first of `keys` present with a non-empty value.
pub fn owner_in(tags: &Map<String, Value>, keys: &[String]) -> Option<String> {
    for key in keys {
        for (k, v) in tags {
            if k.eq_ignore_ascii_case(key) {
                let value = match v {
                    Value::String(s) => s.trim().to_lowercase(),
                    Value::Null => String::new(),
                    other => other.to_string().trim().to_lowercase(),
                };
                if !value.is_empty() {
                    return Some(value);
                }
            }
        }
    }
    None
}

/// Resource first (every key in priority order), then subscription, then `unallocated`.
pub fn resolve_owner(
    resource_tags: Option<&str>,
    subscription_tags: Option<&str>,
    keys: &[String],
) -> String {
    resolve_owner_with_source(resource_tags, subscription_tags, keys).0
}

/// What every resource dataset's row says of itself (`id`, `name`, `subscriptionId`,
/// `resourceGroup`), with its owner resolved from its and its subscription's tags.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceHead {
    /// The ARM id as Azure gives it.
    pub id: String,
    /// Resource name ("" when absent).
    pub name: String,
    /// Lower-case subscription GUID.
    pub subscription: String,
    /// Resource group ("" when absent).
    pub resource_group: String,
    /// Owner (see `resolve_owner`).
    pub owner: String,
}

/// The head of each row of a resource dataset's frame, in row order; None for a row without
/// id or subscription (skipped by every resource table; the evidence counts them).
/// `subscription_tags`: lower-case subscription → its tags cell.
pub fn resource_heads(
    df: &DataFrame,
    keys: &[String],
    subscription_tags: &BTreeMap<String, Option<String>>,
) -> Result<Vec<Option<ResourceHead>>> {
    let (ids, names, subs, rgs, tags) = (
        strs(df, "id")?,
        strs(df, "name")?,
        strs(df, "subscriptionId")?,
        strs(df, "resourceGroup")?,
        strs(df, "tags")?,
    );
    // Owners repeat resource after resource: resolve each tag pair once.
    let mut owners: HashMap<(Option<&str>, Option<&str>), String> = HashMap::new();
    let mut heads = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let (Some(id), Some(sub)) = (ids[i].clone(), subs[i].as_deref()) else {
            heads.push(None);
            continue;
        };
        let subscription = sub.to_lowercase();
        let key = (
            tags[i].as_deref(),
            subscription_tags
                .get(&subscription)
                .and_then(|t| t.as_deref()),
        );
        let owner = owners
            .entry(key)
            .or_insert_with(|| resolve_owner(key.0, key.1, keys))
            .clone();
        heads.push(Some(ResourceHead {
            id,
            name: names[i].clone().unwrap_or_default(),
            subscription,
            resource_group: rgs[i].clone().unwrap_or_default(),
            owner,
        }));
    }
    Ok(heads)
}

/// `resolve_owner`, with the configured key the owner came from and where that tag is
/// (`resource`, `subscription` or `none`), for the ownership evidence.
pub fn resolve_owner_with_source(
    resource_tags: Option<&str>,
    subscription_tags: Option<&str>,
    keys: &[String],
) -> (String, &'static str, String) {
    let find = |tags: Option<&str>| {
        let t = parse_tags(tags);
        keys.iter()
            .find_map(|k| owner_in(&t, std::slice::from_ref(k)).map(|o| (o, k.clone())))
    };
    if let Some((o, k)) = find(resource_tags) {
        (o, "resource", k)
    } else if let Some((o, k)) = find(subscription_tags) {
        (o, "subscription", k)
    } else {
        (UNALLOCATED.to_string(), "none", String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["owner".into(), "team".into(), "costcenter".into()]
    }

    #[test]
    fn brace_less_tags_and_key_casing() {
        // The EA cell text `"env": "prod","Owner": " Team-A "` (CSV unescaped).
        let t = parse_tags(Some(r#""env": "prod","Owner": " Team-A ""#));
        assert_eq!(owner_in(&t, &keys()).as_deref(), Some("team-a"));
        let t = parse_tags(Some(r#"{"TEAM":"Payments"}"#));
        assert_eq!(owner_in(&t, &keys()).as_deref(), Some("payments"));
    }

    #[test]
    fn priority_is_key_order_on_resource_then_subscription() {
        // Resource has team and costcenter: team wins over costcenter (owner absent).
        assert_eq!(
            resolve_owner(
                Some(r#"{"costcenter":"cc1","team":"t1"}"#),
                Some(r#"{"owner":"o"}"#),
                &keys()
            ),
            "t1"
        );
        // Resource has only a near-miss key: falls back to the subscription.
        assert_eq!(
            resolve_owner(
                Some(r#"{"cost-center":"cc9"}"#),
                Some(r#"{"CostCenter":"CC-1"}"#),
                &keys()
            ),
            "cc-1"
        );
        // Blank value does not count.
        assert_eq!(
            resolve_owner(Some(r#"{"owner":"  "}"#), None, &keys()),
            UNALLOCATED
        );
        assert_eq!(resolve_owner(None, None, &keys()), UNALLOCATED);
        assert_eq!(
            resolve_owner(Some(""), Some("not json"), &keys()),
            UNALLOCATED
        );
    }
}
