//! Naming and scope rules shared by the console (in the browser) and the server.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest tenant, environment or application name, in characters.
pub const MAX_NAME_LEN: usize = 50;

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_LEN: usize = 100;

/// Longest scope of a resource, in characters.
pub const MAX_SCOPE_LEN: usize = 50;

/// Most scopes a single resource may declare.
pub const MAX_SCOPES_PER_RESOURCE: usize = 100;

/// Characters used for generated application names: no `0`/`o` nor `1`/`l`/`i`, which are
/// easily confused when read aloud or copied by hand.
pub const NAME_ALPHABET: &str = "abcdefghjkmnpqrstuvwxyz23456789";

/// Length of a generated application name.
pub const GENERATED_NAME_LEN: usize = 8;

/// The administration environment of every tenant (SPEC 1.2).
pub const MASTER_ENVIRONMENT: &str = "master";

/// The built-in resource of each master environment that guards the Control API.
pub const CONTROL_RESOURCE: &str = "fennec-control";

/// The Control API scope that lets a client read everything in its tenant.
pub const CONTROL_READ_SCOPE: &str = "read";

/// The Control API scope that lets a client change everything in its tenant (and read it).
pub const CONTROL_WRITE_SCOPE: &str = "write";

/// Whether a registration is the built-in Control API resource, which no one edits or deletes.
pub fn is_control_resource(env: &str, name: &str) -> bool {
    env == MASTER_ENVIRONMENT && name == CONTROL_RESOURCE
}

/// Why a name or display name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was left after trimming.
    #[error("A name is required.")]
    Empty,
    /// Longer than the limit for this kind of name.
    #[error("At most {max} characters are allowed.")]
    TooLong {
        /// The limit that was exceeded, in characters.
        max: usize,
    },
    /// A character outside the allowed set.
    #[error("The character {0:?} is not allowed here.")]
    InvalidCharacter(char),
}

/// Why a resource scope, or a resource's list of scopes, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeRuleError {
    /// An empty scope.
    #[error("A scope cannot be empty.")]
    Empty,
    /// A scope longer than [`MAX_SCOPE_LEN`].
    #[error("The scope '{0}' is longer than 50 characters.")]
    TooLong(String),
    /// A scope with a character outside the allowed set.
    #[error("The scope '{scope}' contains {character:?}, which is not allowed.")]
    InvalidCharacter {
        /// The offending scope.
        scope: String,
        /// The first character that is not allowed.
        character: char,
    },
    /// A resource without any scope.
    #[error("A resource needs at least one scope.")]
    NoScopes,
    /// A resource with more than [`MAX_SCOPES_PER_RESOURCE`] scopes.
    #[error("A resource can have at most 100 scopes.")]
    TooMany,
    /// The same scope listed twice.
    #[error("The scope '{0}' is listed more than once.")]
    Duplicate(String),
}

/// Trims and lower-cases a tenant, environment or application name and checks it (SPEC 1.1).
pub fn normalize_name(input: &str) -> Result<String, NameError> {
    // ASCII-only lower-casing keeps non-ASCII input as typed, so the error shows the user
    // their own character, and no Unicode case folding can turn a look-alike into a letter.
    let name = input.trim().to_ascii_lowercase();

    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(NameError::InvalidCharacter(bad));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { max: MAX_NAME_LEN });
    }

    Ok(name)
}

/// Trims a display name and checks it: 1 to 100 characters, none of them control characters.
pub fn check_display_name(input: &str) -> Result<String, NameError> {
    let name = input.trim();

    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(bad) = name.chars().find(|c| c.is_control()) {
        return Err(NameError::InvalidCharacter(bad));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_LEN {
        return Err(NameError::TooLong {
            max: MAX_DISPLAY_NAME_LEN,
        });
    }

    Ok(name.to_owned())
}

/// Checks one resource scope (SPEC 2.1); scopes are case-sensitive and never rewritten.
pub fn check_scope(scope: &str) -> Result<(), ScopeRuleError> {
    if scope.is_empty() {
        return Err(ScopeRuleError::Empty);
    }
    if let Some(bad) = scope.chars().find(|c| !is_scope_char(*c)) {
        return Err(ScopeRuleError::InvalidCharacter {
            scope: scope.to_owned(),
            character: bad,
        });
    }
    if scope.len() > MAX_SCOPE_LEN {
        return Err(ScopeRuleError::TooLong(scope.to_owned()));
    }

    Ok(())
}

/// Checks a resource's whole list of scopes: 1 to 100, each valid, no two the same.
pub fn check_scope_list(scopes: &[String]) -> Result<(), ScopeRuleError> {
    if scopes.is_empty() {
        return Err(ScopeRuleError::NoScopes);
    }
    if scopes.len() > MAX_SCOPES_PER_RESOURCE {
        return Err(ScopeRuleError::TooMany);
    }

    for (index, scope) in scopes.iter().enumerate() {
        check_scope(scope)?;
        if scopes[..index].contains(scope) {
            return Err(ScopeRuleError::Duplicate(scope.clone()));
        }
    }

    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}

fn is_scope_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-:;.,=[]".contains(c)
}

/// How a client authenticates at the token endpoint (SPEC 3.2), named as in RFC 7591.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body.
    #[default]
    ClientSecretPost,
    /// `client_id` and secret in an HTTP Basic `Authorization` header.
    ClientSecretBasic,
    /// A JWT assertion signed with a key of one of the client's certificates.
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// Every method, in the order metadata lists them.
    pub const ALL: [ClientAuthMethod; 3] = [
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::PrivateKeyJwt,
    ];

    /// The registered RFC name, e.g. `client_secret_post`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client authentication method name that Fennec does not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unsupported client authentication method.")]
pub struct UnknownAuthMethod;

impl FromStr for ClientAuthMethod {
    type Err = UnknownAuthMethod;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ClientAuthMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == value)
            .ok_or(UnknownAuthMethod)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_trimmed_and_lower_cased() {
        assert_eq!(normalize_name("  My-App_2 \t").unwrap(), "my-app_2");
    }

    #[test]
    fn production_environment_name_dash_is_valid() {
        assert_eq!(normalize_name("-").unwrap(), "-");
    }

    #[test]
    fn blank_name_is_empty() {
        assert_eq!(normalize_name("   "), Err(NameError::Empty));
        assert_eq!(normalize_name(""), Err(NameError::Empty));
    }

    #[test]
    fn name_of_fifty_characters_is_accepted_and_fifty_one_is_too_long() {
        assert!(normalize_name(&"a".repeat(50)).is_ok());
        assert_eq!(
            normalize_name(&"a".repeat(51)),
            Err(NameError::TooLong { max: 50 })
        );
    }

    #[test]
    fn name_with_space_or_dot_names_the_character() {
        assert_eq!(
            normalize_name("my app"),
            Err(NameError::InvalidCharacter(' '))
        );
        assert_eq!(
            normalize_name("my.app"),
            Err(NameError::InvalidCharacter('.'))
        );
    }

    #[test]
    fn non_ascii_letters_are_refused_as_typed() {
        assert_eq!(normalize_name("Äpp"), Err(NameError::InvalidCharacter('Ä')));
        // The Kelvin sign lower-cases to a plain `k` under Unicode rules.
        assert_eq!(
            normalize_name("\u{212A}ey"),
            Err(NameError::InvalidCharacter('\u{212A}'))
        );
    }

    #[test]
    fn name_error_messages_are_human() {
        assert_eq!(NameError::Empty.to_string(), "A name is required.");
        assert_eq!(
            NameError::TooLong { max: 50 }.to_string(),
            "At most 50 characters are allowed."
        );
        assert_eq!(
            NameError::InvalidCharacter('.').to_string(),
            "The character '.' is not allowed here."
        );
    }

    #[test]
    fn name_alphabet_has_no_look_alikes_and_only_name_characters() {
        for look_alike in ['0', 'o', '1', 'l', 'i'] {
            assert!(!NAME_ALPHABET.contains(look_alike), "{look_alike}");
        }
        assert!(NAME_ALPHABET.chars().all(is_name_char));
        let mut sorted: Vec<char> = NAME_ALPHABET.chars().collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), NAME_ALPHABET.len());
    }

    #[test]
    fn display_name_is_trimmed_and_keeps_case_and_unicode() {
        assert_eq!(
            check_display_name("  Party API — Test ").unwrap(),
            "Party API — Test"
        );
    }

    #[test]
    fn display_name_limit_counts_characters_not_bytes() {
        assert!(check_display_name(&"é".repeat(100)).is_ok());
        assert_eq!(
            check_display_name(&"é".repeat(101)),
            Err(NameError::TooLong { max: 100 })
        );
    }

    #[test]
    fn display_name_with_control_character_is_refused() {
        assert_eq!(
            check_display_name("Party\nAPI"),
            Err(NameError::InvalidCharacter('\n'))
        );
        assert_eq!(check_display_name(" \t "), Err(NameError::Empty));
    }

    #[test]
    fn scope_with_every_allowed_punctuation_is_valid() {
        assert!(check_scope("Read_1-a:b;c.d,e=[f]").is_ok());
    }

    #[test]
    fn scope_with_space_or_slash_is_refused_naming_the_character() {
        assert_eq!(
            check_scope("read all"),
            Err(ScopeRuleError::InvalidCharacter {
                scope: "read all".into(),
                character: ' '
            })
        );
        assert!(matches!(
            check_scope("read/all"),
            Err(ScopeRuleError::InvalidCharacter { character: '/', .. })
        ));
    }

    #[test]
    fn scope_length_limit_is_fifty() {
        assert!(check_scope(&"s".repeat(50)).is_ok());
        assert_eq!(
            check_scope(&"s".repeat(51)),
            Err(ScopeRuleError::TooLong("s".repeat(51)))
        );
        assert_eq!(check_scope(""), Err(ScopeRuleError::Empty));
    }

    #[test]
    fn scope_list_must_not_be_empty_or_exceed_one_hundred() {
        assert_eq!(check_scope_list(&[]), Err(ScopeRuleError::NoScopes));

        let hundred: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
        assert!(check_scope_list(&hundred).is_ok());

        let too_many: Vec<String> = (0..101).map(|i| format!("s{i}")).collect();
        assert_eq!(check_scope_list(&too_many), Err(ScopeRuleError::TooMany));
    }

    #[test]
    fn duplicate_scope_is_named_and_case_matters() {
        let scopes = vec!["read".to_string(), "Read".into(), "read".into()];
        assert_eq!(
            check_scope_list(&scopes),
            Err(ScopeRuleError::Duplicate("read".into()))
        );
        assert!(check_scope_list(&scopes[..2]).is_ok());
    }

    #[test]
    fn invalid_scope_in_list_is_named() {
        let scopes = vec!["read".to_string(), "write all".into()];
        let error = check_scope_list(&scopes).unwrap_err();
        assert!(error.to_string().contains("'write all'"), "{error}");
    }

    #[test]
    fn auth_method_round_trips_through_its_rfc_name() {
        for method in ClientAuthMethod::ALL {
            assert_eq!(method.as_str().parse::<ClientAuthMethod>(), Ok(method));
            assert_eq!(method.to_string(), method.as_str());
        }
        assert_eq!(ClientAuthMethod::PrivateKeyJwt.as_str(), "private_key_jwt");
        assert_eq!(
            "Client_Secret_Post".parse::<ClientAuthMethod>(),
            Err(UnknownAuthMethod)
        );
    }

    #[cfg(feature = "server")]
    #[test]
    fn auth_method_serializes_as_its_rfc_name() {
        let json = serde_json::to_string(&ClientAuthMethod::ClientSecretBasic).unwrap();
        assert_eq!(json, "\"client_secret_basic\"");

        let parsed: ClientAuthMethod = serde_json::from_str("\"private_key_jwt\"").unwrap();
        assert_eq!(parsed, ClientAuthMethod::PrivateKeyJwt);
    }

    #[test]
    fn auth_method_defaults_to_client_secret_post() {
        assert_eq!(
            ClientAuthMethod::default(),
            ClientAuthMethod::ClientSecretPost
        );
    }
}
