//! Resolution of a requested `scope` against a client's grants into audiences and scopes.

use serde_json::Value;

use crate::error::TokenError;

/// One resource granted to a client, with the scopes of it the client may request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The resource's technical name, which is also its audience value.
    pub resource: String,
    /// Granted scopes of that resource, without the resource prefix.
    pub scopes: Vec<String>,
}

/// What a token will carry after the requested scope has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// Distinct audiences, in the order the request first named them.
    pub audiences: Vec<String>,
    /// Granted `{resource}:{scope}` items, in request order.
    pub scopes: Vec<String>,
}

impl Granted {
    /// The `aud` claim: a string for a single audience, an array otherwise (SPEC 4.9).
    pub fn aud_claim(&self) -> Value {
        match self.audiences.as_slice() {
            [single] => Value::String(single.clone()),
            several => Value::from(several.to_vec()),
        }
    }

    /// The space-separated `scope` value, or `None` when no scope was granted.
    pub fn scope_claim(&self) -> Option<String> {
        if self.scopes.is_empty() {
            None
        } else {
            Some(self.scopes.join(" "))
        }
    }
}

/// Splits a `scope` parameter on spaces, dropping empty items and repeats (SPEC 4.8).
pub fn split_scope_param(scope: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();

    for item in scope.split(' ').filter(|item| !item.is_empty()) {
        if !items.iter().any(|seen| seen == item) {
            items.push(item.to_owned());
        }
    }

    items
}

/// Checks each requested item against the client's grants (SPEC 4.8, 4.9).
///
/// An item is either `{resource}:{scope}` or a bare resource name, which adds the audience
/// only. With nothing requested the audience is the client itself.
pub fn resolve_scopes(
    requested: &[String],
    grants: &[Grant],
    client_id: &str,
) -> Result<Granted, TokenError> {
    let mut granted = Granted {
        audiences: Vec::new(),
        scopes: Vec::new(),
    };

    for item in requested.iter().filter(|item| !item.is_empty()) {
        // Resource names cannot contain a colon, scopes can: the first colon separates them.
        let (resource, scope) = match item.split_once(':') {
            Some((resource, scope)) => (resource, Some(scope)),
            None => (item.as_str(), None),
        };

        let grant = grants
            .iter()
            .find(|grant| grant.resource == resource)
            .ok_or_else(|| TokenError::InvalidScope(item.clone()))?;
        if let Some(scope) = scope {
            if !grant.scopes.iter().any(|granted| granted == scope) {
                return Err(TokenError::InvalidScope(item.clone()));
            }
            push_new(&mut granted.scopes, item);
        }
        push_new(&mut granted.audiences, resource);
    }

    if granted.audiences.is_empty() {
        granted.audiences.push(client_id.to_owned());
    }

    Ok(granted)
}

fn push_new(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|present| present == value) {
        list.push(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grants() -> Vec<Grant> {
        vec![
            Grant {
                resource: "party-api2".into(),
                scopes: vec!["read1".into(), "read2".into()],
            },
            Grant {
                resource: "orders".into(),
                scopes: vec!["orders:read".into(), "write".into()],
            },
            Grant {
                resource: "audit".into(),
                scopes: vec![],
            },
        ]
    }

    fn items(scope: &str) -> Vec<String> {
        split_scope_param(scope)
    }

    #[test]
    fn split_drops_empty_items_and_repeats_keeping_first_seen_order() {
        assert_eq!(
            split_scope_param("  b a  b c a "),
            vec!["b".to_string(), "a".into(), "c".into()]
        );
    }

    #[test]
    fn split_is_case_sensitive_and_only_on_spaces() {
        assert_eq!(
            split_scope_param("Read read\tx"),
            vec!["Read".to_string(), "read\tx".into()]
        );
        assert!(split_scope_param("   ").is_empty());
    }

    #[test]
    fn granted_scopes_give_their_resource_as_audience() {
        let granted =
            resolve_scopes(&items("party-api2:read1 party-api2:read2"), &grants(), "c1").unwrap();

        assert_eq!(granted.audiences, ["party-api2"]);
        assert_eq!(granted.scopes, ["party-api2:read1", "party-api2:read2"]);
        assert_eq!(granted.aud_claim(), json!("party-api2"));
        assert_eq!(
            granted.scope_claim().as_deref(),
            Some("party-api2:read1 party-api2:read2")
        );
    }

    #[test]
    fn audiences_are_distinct_in_first_seen_order() {
        let requested = items("orders:write party-api2:read1 orders party-api2:read2");

        let granted = resolve_scopes(&requested, &grants(), "c1").unwrap();

        assert_eq!(granted.audiences, ["orders", "party-api2"]);
        assert_eq!(granted.aud_claim(), json!(["orders", "party-api2"]));
        assert_eq!(
            granted.scopes,
            ["orders:write", "party-api2:read1", "party-api2:read2"]
        );
    }

    #[test]
    fn bare_resource_adds_audience_without_scope() {
        let granted = resolve_scopes(&items("audit"), &grants(), "c1").unwrap();

        assert_eq!(granted.audiences, ["audit"]);
        assert!(granted.scopes.is_empty());
        assert_eq!(granted.scope_claim(), None);
    }

    #[test]
    fn scope_containing_a_colon_is_split_on_the_first_colon() {
        let granted = resolve_scopes(&items("orders:orders:read"), &grants(), "c1").unwrap();

        assert_eq!(granted.audiences, ["orders"]);
        assert_eq!(granted.scopes, ["orders:orders:read"]);
    }

    #[test]
    fn no_scope_requested_gives_the_client_as_audience() {
        let granted = resolve_scopes(&[], &grants(), "my-client").unwrap();

        assert_eq!(granted.audiences, ["my-client"]);
        assert!(granted.scopes.is_empty());
        assert_eq!(granted.aud_claim(), json!("my-client"));
    }

    #[test]
    fn scope_item_not_granted_is_invalid_scope() {
        let error = resolve_scopes(&items("party-api2:write"), &grants(), "c1").unwrap_err();

        assert_eq!(error, TokenError::InvalidScope("party-api2:write".into()));
    }

    #[test]
    fn unknown_resource_is_invalid_scope() {
        for item in [
            "billing",
            "billing:read",
            "Party-api2:read1",
            ":read1",
            "party-api2:",
        ] {
            let error = resolve_scopes(&items(item), &grants(), "c1").unwrap_err();
            assert_eq!(error, TokenError::InvalidScope(item.into()), "{item}");
        }
    }

    #[test]
    fn first_offending_item_is_named() {
        let requested = items("party-api2:read1 nope:a audit other:b");

        let error = resolve_scopes(&requested, &grants(), "c1").unwrap_err();

        assert_eq!(error, TokenError::InvalidScope("nope:a".into()));
    }

    #[test]
    fn repeated_items_passed_directly_are_still_deduplicated() {
        let requested = vec!["party-api2:read1".to_string(), "party-api2:read1".into()];

        let granted = resolve_scopes(&requested, &grants(), "c1").unwrap();

        assert_eq!(granted.scopes, ["party-api2:read1"]);
    }

    #[test]
    fn aud_claim_with_no_audience_is_an_empty_array() {
        let granted = Granted {
            audiences: vec![],
            scopes: vec![],
        };

        assert_eq!(granted.aud_claim(), json!([]));
    }
}
