//! Token endpoint errors (RFC 6749 §5.2) and their HTTP status, headers and JSON body.

use std::fmt;

use serde_json::{json, Value};

/// Longest piece of client input echoed back in an error description.
const MAX_ECHOED_LEN: usize = 64;

/// Why a token request failed, as the client will be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// A malformed request; the text says what is wrong.
    InvalidRequest(String),
    /// The client could not be authenticated.
    InvalidClient {
        /// What the client is told; never a secret or a hint of which check failed inside.
        description: String,
        /// Whether the client sent an `Authorization` header, which earns a Basic challenge.
        tried_authorization_header: bool,
    },
    /// The client may not use this grant.
    UnauthorizedClient(String),
    /// A grant type other than `client_credentials`.
    UnsupportedGrantType,
    /// A requested scope item that is not granted; carries the item.
    InvalidScope(String),
    /// An HTTP method other than POST.
    MethodNotAllowed,
    /// A body that is not `application/x-www-form-urlencoded`.
    UnsupportedMediaType,
    /// The server cannot serve the request for now (e.g. the database is unreachable).
    TemporarilyUnavailable,
    /// Too many failed authentications for this client or from this source; refused without
    /// checking, for `retry_after` more seconds (RFC 6585 §4).
    TooManyAttempts { retry_after: i64 },
    /// An unexpected failure inside the server; the cause is logged, not sent.
    ServerError,
}

impl TokenError {
    /// Shorthand for an `invalid_client` error.
    pub fn invalid_client(
        description: impl Into<String>,
        tried_authorization_header: bool,
    ) -> Self {
        TokenError::InvalidClient {
            description: description.into(),
            tried_authorization_header,
        }
    }

    /// The RFC 6749 `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_)
            | TokenError::MethodNotAllowed
            | TokenError::UnsupportedMediaType => "invalid_request",
            TokenError::InvalidClient { .. } => "invalid_client",
            TokenError::UnauthorizedClient(_) => "unauthorized_client",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::TemporarilyUnavailable | TokenError::TooManyAttempts { .. } => {
                "temporarily_unavailable"
            }
            TokenError::ServerError => "server_error",
        }
    }

    /// The HTTP status code of the response.
    pub fn status(&self) -> u16 {
        match self {
            TokenError::InvalidClient { .. } => 401,
            TokenError::MethodNotAllowed => 405,
            TokenError::TemporarilyUnavailable => 503,
            TokenError::TooManyAttempts { .. } => 429,
            TokenError::ServerError => 500,
            _ => 400,
        }
    }

    /// The `error_description`: short, human, and limited to the characters RFC 6749 allows.
    pub fn description(&self) -> String {
        let text = match self {
            TokenError::InvalidRequest(text)
            | TokenError::UnauthorizedClient(text)
            | TokenError::InvalidClient {
                description: text, ..
            } => text.clone(),
            TokenError::UnsupportedGrantType => {
                "Only the client_credentials grant type is supported.".to_owned()
            }
            TokenError::InvalidScope(item) => {
                format!(
                    "The scope '{}' is not granted to this client.",
                    shorten(item)
                )
            }
            TokenError::MethodNotAllowed => "The token endpoint accepts only POST.".to_owned(),
            TokenError::UnsupportedMediaType => {
                "The body must be application/x-www-form-urlencoded.".to_owned()
            }
            TokenError::TemporarilyUnavailable => {
                "The server is temporarily unavailable; try again later.".to_owned()
            }
            TokenError::TooManyAttempts { retry_after } => {
                format!("Too many failed attempts; try again in {retry_after} s.")
            }
            TokenError::ServerError => "The server could not complete the request.".to_owned(),
        };

        to_description_charset(&text)
    }

    /// The `WWW-Authenticate` challenge, sent only when a Basic header was tried and failed.
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            TokenError::InvalidClient {
                tried_authorization_header: true,
                ..
            } => Some(r#"Basic realm="fennec""#),
            _ => None,
        }
    }

    /// The `Allow` header that a 405 response must carry (RFC 9110 §15.5.6).
    pub fn allow(&self) -> Option<&'static str> {
        match self {
            TokenError::MethodNotAllowed => Some("POST"),
            _ => None,
        }
    }

    /// The `Retry-After` seconds of a refusal that ends by itself.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            TokenError::TooManyAttempts { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The JSON body, `{"error", "error_description"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "error": self.code(),
            "error_description": self.description(),
        })
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for TokenError {}

/// Cuts client input that is echoed back, so a huge value is not reflected in full.
fn shorten(input: &str) -> String {
    if input.chars().count() <= MAX_ECHOED_LEN {
        return input.to_owned();
    }

    let head: String = input.chars().take(MAX_ECHOED_LEN).collect();
    format!("{head}...")
}

/// RFC 6749 §5.2 allows only printable ASCII without `"` and `\` in `error_description`;
/// anything else, which can only come from echoed input, becomes `?`.
fn to_description_charset(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '?',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_errors() -> Vec<TokenError> {
        vec![
            TokenError::InvalidRequest("The grant_type parameter is missing.".into()),
            TokenError::invalid_client("Client authentication failed.", true),
            TokenError::invalid_client("Client authentication failed.", false),
            TokenError::UnauthorizedClient("The grant is disabled for this client.".into()),
            TokenError::UnsupportedGrantType,
            TokenError::InvalidScope("party-api2:write".into()),
            TokenError::MethodNotAllowed,
            TokenError::UnsupportedMediaType,
            TokenError::TemporarilyUnavailable,
            TokenError::ServerError,
        ]
    }

    #[test]
    fn each_error_maps_to_its_rfc_code() {
        let codes: Vec<&str> = all_errors().iter().map(TokenError::code).collect();

        assert_eq!(
            codes,
            [
                "invalid_request",
                "invalid_client",
                "invalid_client",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
                "invalid_request",
                "invalid_request",
                "temporarily_unavailable",
                "server_error",
            ]
        );
    }

    #[test]
    fn each_error_maps_to_its_status() {
        let statuses: Vec<u16> = all_errors().iter().map(TokenError::status).collect();

        assert_eq!(statuses, [400, 401, 401, 400, 400, 400, 405, 400, 503, 500]);
    }

    #[test]
    fn basic_challenge_only_for_invalid_client_that_tried_the_header() {
        let challenges: Vec<Option<&str>> = all_errors()
            .iter()
            .map(TokenError::www_authenticate)
            .collect();

        let mut expected = vec![None; challenges.len()];
        expected[1] = Some(r#"Basic realm="fennec""#);
        assert_eq!(challenges, expected);
    }

    #[test]
    fn only_method_not_allowed_carries_an_allow_header() {
        for error in all_errors() {
            let expected = (error == TokenError::MethodNotAllowed).then_some("POST");
            assert_eq!(error.allow(), expected, "{error}");
        }
    }

    #[test]
    fn descriptions_are_short_and_never_empty() {
        for error in all_errors() {
            let description = error.description();
            assert!(!description.is_empty(), "{error:?}");
            assert!(description.len() < 100, "{description}");
        }
    }

    #[test]
    fn fixed_descriptions_read_as_sentences() {
        assert_eq!(
            TokenError::UnsupportedGrantType.description(),
            "Only the client_credentials grant type is supported."
        );
        assert_eq!(
            TokenError::MethodNotAllowed.description(),
            "The token endpoint accepts only POST."
        );
        assert_eq!(
            TokenError::UnsupportedMediaType.description(),
            "The body must be application/x-www-form-urlencoded."
        );
        assert_eq!(
            TokenError::ServerError.description(),
            "The server could not complete the request."
        );
        assert_eq!(
            TokenError::TemporarilyUnavailable.description(),
            "The server is temporarily unavailable; try again later."
        );
    }

    #[test]
    fn invalid_scope_description_names_the_item() {
        let error = TokenError::InvalidScope("party-api2:write".into());

        assert_eq!(
            error.description(),
            "The scope 'party-api2:write' is not granted to this client."
        );
    }

    #[test]
    fn echoed_scope_is_shortened_and_restricted_to_allowed_characters() {
        let error = TokenError::InvalidScope(format!("a\"b\\cé{}", "z".repeat(200)));

        let description = error.description();

        assert!(
            description.starts_with("The scope 'a?b?c?zzz"),
            "{description}"
        );
        assert!(description.contains("...'"), "{description}");
        assert!(description.len() < 120, "{description}");
    }

    #[test]
    fn json_body_has_error_and_description() {
        let body = TokenError::invalid_client("Client authentication failed.", true).to_json();

        assert_eq!(
            body,
            json!({
                "error": "invalid_client",
                "error_description": "Client authentication failed.",
            })
        );
    }

    #[test]
    fn display_joins_code_and_description() {
        assert_eq!(
            TokenError::UnsupportedGrantType.to_string(),
            "unsupported_grant_type: Only the client_credentials grant type is supported."
        );
    }
}
