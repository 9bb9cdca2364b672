//! Parsing of a raw token endpoint request (SPEC 4.1 to 4.5) into typed values.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode_str;

use crate::error::TokenError;
use crate::rules::ClientAuthMethod;
use crate::secret::Secret;

/// Largest accepted request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The only `client_assertion_type` Fennec accepts (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// Some clients leave out the `=` padding of the Basic credentials; accepting both costs
/// nothing and spares their developers a confusing `invalid_client`.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The parts of an HTTP request the token endpoint looks at, free of any web framework.
#[derive(Clone, Copy)]
pub struct HttpTokenRequest<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The raw request body.
    pub body: &'a [u8],
}

/// A token request whose syntax has been checked; the client is not authenticated yet.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The requested grant.
    pub grant_type: GrantType,
    /// The credentials the client presented.
    pub credentials: ClientCredentials,
    /// The `client_id` form parameter, which must name the authenticated client when sent.
    pub client_id_param: Option<String>,
    /// The raw `scope` parameter; see [`crate::scope::split_scope_param`].
    pub scope: Option<String>,
}

/// A grant type Fennec supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// RFC 6749 §4.4.
    ClientCredentials,
}

impl GrantType {
    /// The registered name, e.g. `client_credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

impl FromStr for GrantType {
    type Err = TokenError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "client_credentials" => Ok(GrantType::ClientCredentials),
            _ => Err(TokenError::UnsupportedGrantType),
        }
    }
}

/// How the client tried to authenticate, with what it presented.
#[derive(Clone)]
pub enum ClientCredentials {
    /// `client_secret_basic`: decoded from the `Authorization` header.
    Basic {
        /// The Basic user, form-url-decoded.
        client_id: String,
        /// The Basic password, form-url-decoded.
        secret: Secret,
    },
    /// `client_secret_post`: `client_id` and `client_secret` form parameters.
    Post {
        /// The `client_id` parameter.
        client_id: String,
        /// The `client_secret` parameter.
        secret: Secret,
    },
    /// `private_key_jwt`: a signed assertion, not yet verified.
    Assertion {
        /// The `client_assertion_type` parameter, always [`JWT_BEARER_ASSERTION_TYPE`].
        assertion_type: String,
        /// The compact JWT, as sent.
        assertion: String,
    },
    /// No credentials at all.
    None,
}

impl ClientCredentials {
    /// Whether the client used the `Authorization` header, so a failure earns a Basic challenge.
    pub fn tried_authorization_header(&self) -> bool {
        matches!(self, ClientCredentials::Basic { .. })
    }

    /// The authentication method these credentials belong to, if any.
    pub fn method(&self) -> Option<ClientAuthMethod> {
        match self {
            ClientCredentials::Basic { .. } => Some(ClientAuthMethod::ClientSecretBasic),
            ClientCredentials::Post { .. } => Some(ClientAuthMethod::ClientSecretPost),
            ClientCredentials::Assertion { .. } => Some(ClientAuthMethod::PrivateKeyJwt),
            ClientCredentials::None => None,
        }
    }

    /// The client id the credentials name directly; an assertion names it inside the JWT.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            ClientCredentials::Basic { client_id, .. }
            | ClientCredentials::Post { client_id, .. } => Some(client_id),
            ClientCredentials::Assertion { .. } | ClientCredentials::None => None,
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredentials::Basic { client_id, secret } => f
                .debug_struct("Basic")
                .field("client_id", client_id)
                .field("secret", secret)
                .finish(),
            ClientCredentials::Post { client_id, secret } => f
                .debug_struct("Post")
                .field("client_id", client_id)
                .field("secret", secret)
                .finish(),
            ClientCredentials::Assertion { assertion_type, .. } => f
                .debug_struct("Assertion")
                .field("assertion_type", assertion_type)
                .field("assertion", &"***")
                .finish(),
            ClientCredentials::None => f.write_str("None"),
        }
    }
}

/// Checks a raw token request and extracts the grant, the credentials and the scope.
pub fn parse_token_request(req: &HttpTokenRequest<'_>) -> Result<TokenRequest, TokenError> {
    // Methods are case-sensitive (RFC 9110 §9.1): `post` is not POST.
    if req.method != "POST" {
        return Err(TokenError::MethodNotAllowed);
    }
    if !is_form_content_type(req.content_type) {
        return Err(TokenError::UnsupportedMediaType);
    }
    if req.body.len() > MAX_BODY_BYTES {
        return Err(TokenError::InvalidRequest(
            "The request body is too large.".into(),
        ));
    }

    let mut params = FormParams::parse(req.body)?;

    let grant_type = params
        .grant_type
        .take()
        .ok_or_else(|| TokenError::InvalidRequest("The grant_type parameter is missing.".into()))?
        .parse()?;

    let credentials = client_credentials(req.authorization, &mut params)?;

    Ok(TokenRequest {
        grant_type,
        credentials,
        client_id_param: params.client_id,
        scope: params.scope,
    })
}

/// Decodes an `Authorization: Basic` value into client id and secret (RFC 6749 §2.3.1).
pub fn decode_basic(header_value: &str) -> Result<(String, Secret), TokenError> {
    let malformed = || {
        TokenError::invalid_client(
            "The Authorization header is not valid Basic credentials.",
            true,
        )
    };

    let trimmed = header_value.trim();
    let (scheme, encoded) = trimmed.split_once([' ', '\t']).unwrap_or((trimmed, ""));
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(TokenError::invalid_client(
            "Only the Basic authorization scheme is supported.",
            true,
        ));
    }

    let bytes = BASIC_BASE64
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;

    // The id cannot contain a raw colon (it would be percent-encoded), the secret can.
    let (raw_id, raw_secret) = text.split_once(':').ok_or_else(malformed)?;
    let client_id = form_decode(raw_id).ok_or_else(malformed)?;
    let secret = form_decode(raw_secret).ok_or_else(malformed)?;
    if client_id.is_empty() || secret.is_empty() {
        return Err(malformed());
    }

    Ok((client_id, Secret::from_presented(secret)))
}

fn is_form_content_type(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return false;
    };

    let media_type = value
        .split_once(';')
        .map_or(value, |(media_type, _)| media_type);
    media_type.trim().eq_ignore_ascii_case(FORM_MEDIA_TYPE)
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value, refusing non-UTF-8.
fn form_decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");

    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(Cow::into_owned)
}

/// Picks the one authentication method the request uses (SPEC 4.4, 4.5).
fn client_credentials(
    authorization: Option<&str>,
    params: &mut FormParams,
) -> Result<ClientCredentials, TokenError> {
    let secret = params.client_secret.take();
    let assertion = params.client_assertion.take();
    let assertion_type = params.client_assertion_type.take();

    let methods_used = [
        authorization.is_some(),
        secret.is_some(),
        assertion.is_some() || assertion_type.is_some(),
    ]
    .into_iter()
    .filter(|used| *used)
    .count();
    if methods_used > 1 {
        return Err(TokenError::InvalidRequest(
            "Use only one client authentication method per request.".into(),
        ));
    }

    if let Some(header) = authorization {
        let (client_id, secret) = decode_basic(header)?;
        return Ok(ClientCredentials::Basic { client_id, secret });
    }

    if let Some(secret) = secret {
        let Some(client_id) = params.client_id.clone() else {
            return Err(TokenError::invalid_client(
                "A client_secret needs a client_id.",
                false,
            ));
        };
        return Ok(ClientCredentials::Post {
            client_id,
            secret: Secret::from_presented(secret),
        });
    }

    match (assertion_type, assertion) {
        (None, None) => Ok(ClientCredentials::None),
        (Some(assertion_type), Some(assertion)) => {
            if assertion_type != JWT_BEARER_ASSERTION_TYPE {
                return Err(TokenError::invalid_client(
                    "Unsupported client_assertion_type.",
                    false,
                ));
            }
            Ok(ClientCredentials::Assertion {
                assertion_type,
                assertion,
            })
        }
        (None, Some(_)) => Err(TokenError::InvalidRequest(
            "The client_assertion_type parameter is missing.".into(),
        )),
        (Some(_), None) => Err(TokenError::InvalidRequest(
            "The client_assertion parameter is missing.".into(),
        )),
    }
}

/// The form parameters the token endpoint knows; all others are ignored.
#[derive(Default)]
struct FormParams {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    client_assertion_type: Option<String>,
}

impl FormParams {
    fn parse(body: &[u8]) -> Result<FormParams, TokenError> {
        let mut params = FormParams::default();

        for (name, value) in form_urlencoded::parse(body) {
            // RFC 6749 §3.1: a parameter without a value is treated as omitted.
            if value.is_empty() {
                continue;
            }
            let Some(slot) = params.slot(&name) else {
                continue;
            };
            if slot.is_some() {
                return Err(TokenError::InvalidRequest(format!(
                    "The {name} parameter was sent more than once."
                )));
            }
            *slot = Some(value.into_owned());
        }

        Ok(params)
    }

    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        match name {
            "grant_type" => Some(&mut self.grant_type),
            "scope" => Some(&mut self.scope),
            "client_id" => Some(&mut self.client_id),
            "client_secret" => Some(&mut self.client_secret),
            "client_assertion" => Some(&mut self.client_assertion),
            "client_assertion_type" => Some(&mut self.client_assertion_type),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const FORM: &str = "application/x-www-form-urlencoded";
    const ASSERTION_TYPE_PARAM: &str =
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

    fn post(body: &str) -> HttpTokenRequest<'_> {
        HttpTokenRequest {
            method: "POST",
            content_type: Some(FORM),
            authorization: None,
            body: body.as_bytes(),
        }
    }

    fn basic_header(raw_credentials: &[u8]) -> String {
        format!("Basic {}", STANDARD.encode(raw_credentials))
    }

    fn invalid_request_text(result: Result<TokenRequest, TokenError>) -> String {
        match result {
            Err(TokenError::InvalidRequest(text)) => text,
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn client_secret_post_request_is_parsed() {
        let body = "grant_type=client_credentials&client_id=my-client&client_secret=s3cr%2Bt&scope=party-api2%3Aread1+party-api2:read2";

        let request = parse_token_request(&post(body)).unwrap();

        assert_eq!(request.grant_type, GrantType::ClientCredentials);
        assert_eq!(request.client_id_param.as_deref(), Some("my-client"));
        assert_eq!(
            request.scope.as_deref(),
            Some("party-api2:read1 party-api2:read2")
        );
        match request.credentials {
            ClientCredentials::Post { client_id, secret } => {
                assert_eq!(client_id, "my-client");
                assert_eq!(secret.expose(), "s3cr+t");
            }
            other => panic!("expected Post, got {other:?}"),
        }
    }

    #[test]
    fn client_secret_basic_request_is_parsed_and_keeps_client_id_param() {
        let header = basic_header(b"my-client:the-secret");
        let request = HttpTokenRequest {
            authorization: Some(&header),
            ..post("grant_type=client_credentials&client_id=my-client")
        };

        let parsed = parse_token_request(&request).unwrap();

        assert!(parsed.credentials.tried_authorization_header());
        assert_eq!(
            parsed.credentials.method(),
            Some(ClientAuthMethod::ClientSecretBasic)
        );
        assert_eq!(parsed.credentials.client_id(), Some("my-client"));
        assert_eq!(parsed.client_id_param.as_deref(), Some("my-client"));
        match parsed.credentials {
            ClientCredentials::Basic { secret, .. } => assert_eq!(secret.expose(), "the-secret"),
            other => panic!("expected Basic, got {other:?}"),
        }
    }

    #[test]
    fn private_key_jwt_request_is_parsed() {
        let body = format!(
            "grant_type=client_credentials&client_assertion=aaa.bbb.ccc&{ASSERTION_TYPE_PARAM}"
        );

        let request = parse_token_request(&post(&body)).unwrap();

        assert_eq!(
            request.credentials.method(),
            Some(ClientAuthMethod::PrivateKeyJwt)
        );
        assert_eq!(request.credentials.client_id(), None);
        match request.credentials {
            ClientCredentials::Assertion {
                assertion_type,
                assertion,
            } => {
                assert_eq!(assertion_type, JWT_BEARER_ASSERTION_TYPE);
                assert_eq!(assertion, "aaa.bbb.ccc");
            }
            other => panic!("expected Assertion, got {other:?}"),
        }
    }

    #[test]
    fn request_without_credentials_has_none() {
        let request =
            parse_token_request(&post("grant_type=client_credentials&client_id=c1")).unwrap();

        assert!(matches!(request.credentials, ClientCredentials::None));
        assert_eq!(request.credentials.method(), None);
        assert!(!request.credentials.tried_authorization_header());
        assert_eq!(request.client_id_param.as_deref(), Some("c1"));
        assert_eq!(request.scope, None);
    }

    #[test]
    fn method_other_than_post_is_method_not_allowed() {
        for method in ["GET", "PUT", "post"] {
            let request = HttpTokenRequest {
                method,
                ..post("grant_type=client_credentials")
            };
            assert_eq!(
                parse_token_request(&request).unwrap_err(),
                TokenError::MethodNotAllowed,
                "{method}"
            );
        }
    }

    #[test]
    fn missing_or_other_content_type_is_unsupported_media_type() {
        for content_type in [None, Some("application/json"), Some("text/plain"), Some("")] {
            let request = HttpTokenRequest {
                content_type,
                ..post("grant_type=client_credentials")
            };
            let error = parse_token_request(&request).unwrap_err();
            assert_eq!(error, TokenError::UnsupportedMediaType, "{content_type:?}");
            assert_eq!(error.code(), "invalid_request");
        }
    }

    #[test]
    fn content_type_with_charset_or_upper_case_is_accepted() {
        for content_type in [
            "application/x-www-form-urlencoded; charset=UTF-8",
            "Application/X-WWW-Form-URLEncoded",
            " application/x-www-form-urlencoded ;charset=utf-8",
        ] {
            let request = HttpTokenRequest {
                content_type: Some(content_type),
                ..post("grant_type=client_credentials")
            };
            assert!(parse_token_request(&request).is_ok(), "{content_type}");
        }
    }

    #[test]
    fn body_over_64_kib_is_invalid_request() {
        let prefix = "grant_type=client_credentials&padding=";
        let at_limit = format!("{prefix}{}", "a".repeat(MAX_BODY_BYTES - prefix.len()));
        let over_limit = format!("{at_limit}a");

        assert!(parse_token_request(&post(&at_limit)).is_ok());
        let text = invalid_request_text(parse_token_request(&post(&over_limit)));
        assert!(text.contains("too large"), "{text}");
    }

    #[test]
    fn missing_grant_type_is_invalid_request() {
        let text = invalid_request_text(parse_token_request(&post("client_id=c1")));

        assert!(text.contains("grant_type"), "{text}");
    }

    #[test]
    fn empty_grant_type_counts_as_missing() {
        let text = invalid_request_text(parse_token_request(&post("grant_type=&client_id=c1")));

        assert!(text.contains("grant_type"), "{text}");
    }

    #[test]
    fn password_and_other_grants_are_unsupported_grant_type() {
        for grant in ["password", "authorization_code", "Client_Credentials"] {
            let body = format!("grant_type={grant}");
            assert_eq!(
                parse_token_request(&post(&body)).unwrap_err(),
                TokenError::UnsupportedGrantType,
                "{grant}"
            );
        }
    }

    #[test]
    fn known_parameter_sent_twice_is_invalid_request_naming_it() {
        let body = "grant_type=client_credentials&scope=a&scope=b";

        let text = invalid_request_text(parse_token_request(&post(body)));

        assert!(text.contains("scope"), "{text}");
    }

    #[test]
    fn duplicate_grant_type_is_invalid_request_even_with_same_value() {
        let body = "grant_type=client_credentials&grant_type=client_credentials";

        let text = invalid_request_text(parse_token_request(&post(body)));

        assert!(text.contains("grant_type"), "{text}");
    }

    #[test]
    fn repeated_parameter_with_one_empty_value_is_not_a_duplicate() {
        let body = "grant_type=client_credentials&scope=&scope=party-api2:read1";

        let request = parse_token_request(&post(body)).unwrap();

        assert_eq!(request.scope.as_deref(), Some("party-api2:read1"));
    }

    #[test]
    fn unknown_parameters_are_ignored_even_when_repeated() {
        let body = "grant_type=client_credentials&foo=1&foo=2&audience=x";

        assert!(parse_token_request(&post(body)).is_ok());
    }

    #[test]
    fn empty_client_secret_counts_as_absent() {
        let body = "grant_type=client_credentials&client_id=c1&client_secret=";

        let request = parse_token_request(&post(body)).unwrap();

        assert!(matches!(request.credentials, ClientCredentials::None));
    }

    #[test]
    fn client_secret_without_client_id_is_invalid_client() {
        let body = "grant_type=client_credentials&client_secret=abc";

        let error = parse_token_request(&post(body)).unwrap_err();

        assert_eq!(error.code(), "invalid_client");
        assert_eq!(error.www_authenticate(), None);
    }

    #[test]
    fn basic_header_with_client_secret_is_invalid_request() {
        let header = basic_header(b"c1:secret");
        let request = HttpTokenRequest {
            authorization: Some(&header),
            ..post("grant_type=client_credentials&client_id=c1&client_secret=secret")
        };

        let text = invalid_request_text(parse_token_request(&request));

        assert!(text.contains("one client authentication method"), "{text}");
    }

    #[test]
    fn basic_header_with_client_assertion_is_invalid_request() {
        let header = basic_header(b"c1:secret");
        let body =
            format!("grant_type=client_credentials&client_assertion=a.b.c&{ASSERTION_TYPE_PARAM}");
        let request = HttpTokenRequest {
            authorization: Some(&header),
            ..post(&body)
        };

        invalid_request_text(parse_token_request(&request));
    }

    #[test]
    fn client_secret_with_client_assertion_is_invalid_request() {
        let body = format!(
            "grant_type=client_credentials&client_id=c1&client_secret=s&client_assertion=a.b.c&{ASSERTION_TYPE_PARAM}"
        );

        invalid_request_text(parse_token_request(&post(&body)));
    }

    #[test]
    fn client_secret_with_lone_assertion_type_is_still_two_methods() {
        let body = format!(
            "grant_type=client_credentials&client_id=c1&client_secret=s&{ASSERTION_TYPE_PARAM}"
        );

        invalid_request_text(parse_token_request(&post(&body)));
    }

    #[test]
    fn assertion_without_its_type_or_type_without_assertion_is_invalid_request() {
        let without_type = "grant_type=client_credentials&client_assertion=a.b.c";
        let without_assertion = format!("grant_type=client_credentials&{ASSERTION_TYPE_PARAM}");

        let text = invalid_request_text(parse_token_request(&post(without_type)));
        assert!(text.contains("client_assertion_type"), "{text}");
        let text = invalid_request_text(parse_token_request(&post(&without_assertion)));
        assert!(text.contains("client_assertion "), "{text}");
    }

    #[test]
    fn unknown_assertion_type_is_invalid_client() {
        let body = "grant_type=client_credentials&client_assertion=a.b.c&client_assertion_type=urn%3Aexample%3Asaml";

        let error = parse_token_request(&post(body)).unwrap_err();

        assert_eq!(error.code(), "invalid_client");
    }

    #[test]
    fn bearer_authorization_is_invalid_client_with_challenge() {
        let request = HttpTokenRequest {
            authorization: Some("Bearer eyJhbGciOi.x.y"),
            ..post("grant_type=client_credentials")
        };

        let error = parse_token_request(&request).unwrap_err();

        assert_eq!(error.status(), 401);
        assert_eq!(error.www_authenticate(), Some(r#"Basic realm="fennec""#));
    }

    #[test]
    fn malformed_basic_header_in_request_is_invalid_client_with_challenge() {
        let request = HttpTokenRequest {
            authorization: Some("Basic !!!not-base64!!!"),
            ..post("grant_type=client_credentials")
        };

        let error = parse_token_request(&request).unwrap_err();

        assert_eq!(error.code(), "invalid_client");
        assert!(error.www_authenticate().is_some());
    }

    #[test]
    fn basic_plus_is_a_space_and_percent_2b_is_a_plus() {
        let (client_id, secret) = decode_basic(&basic_header(b"my+client:a+b%2Bc")).unwrap();

        assert_eq!(client_id, "my client");
        assert_eq!(secret.expose(), "a b+c");
    }

    #[test]
    fn basic_splits_on_the_first_colon_only() {
        let (client_id, secret) = decode_basic(&basic_header(b"c1:se:cr:et")).unwrap();

        assert_eq!(client_id, "c1");
        assert_eq!(secret.expose(), "se:cr:et");
    }

    #[test]
    fn basic_percent_encoded_colon_in_id_is_decoded() {
        let (client_id, secret) = decode_basic(&basic_header(b"urn%3Aclient:pw")).unwrap();

        assert_eq!(client_id, "urn:client");
        assert_eq!(secret.expose(), "pw");
    }

    #[test]
    fn basic_utf8_secret_is_decoded() {
        let (_, secret) = decode_basic(&basic_header("c1:gr%C3%BC%C3%9F".as_bytes())).unwrap();

        assert_eq!(secret.expose(), "grüß");
    }

    #[test]
    fn basic_scheme_is_case_insensitive_and_padding_optional() {
        let encoded = STANDARD.encode(b"c1:pw");
        let unpadded = encoded.trim_end_matches('=');
        assert_ne!(encoded, unpadded, "the test needs a padded value");

        for header in [format!("bASIC {encoded}"), format!("Basic   {unpadded}")] {
            let (client_id, secret) = decode_basic(&header).unwrap();
            assert_eq!(
                (client_id.as_str(), secret.expose()),
                ("c1", "pw"),
                "{header}"
            );
        }
    }

    #[test]
    fn basic_that_is_not_utf8_is_invalid_client() {
        let error = decode_basic(&basic_header(b"c1:\xff\xfe")).unwrap_err();

        assert_eq!(error.code(), "invalid_client");
        assert_eq!(error.www_authenticate(), Some(r#"Basic realm="fennec""#));
    }

    #[test]
    fn basic_percent_escape_that_is_not_utf8_is_invalid_client() {
        let error = decode_basic(&basic_header(b"c1:%FF")).unwrap_err();

        assert_eq!(error.code(), "invalid_client");
    }

    #[test]
    fn basic_without_colon_or_with_empty_parts_is_invalid_client() {
        for raw in [&b"no-colon"[..], b":pw", b"c1:", b":"] {
            let error = decode_basic(&basic_header(raw)).unwrap_err();
            assert_eq!(error.code(), "invalid_client", "{raw:?}");
        }
    }

    #[test]
    fn basic_with_wrong_scheme_or_nothing_is_invalid_client() {
        for header in ["Bearer abc", "Digest x=1", "", "Basic", "Basic "] {
            let error = decode_basic(header).unwrap_err();
            assert!(
                matches!(
                    error,
                    TokenError::InvalidClient {
                        tried_authorization_header: true,
                        ..
                    }
                ),
                "{header:?}: {error:?}"
            );
        }
    }

    #[test]
    fn basic_error_never_contains_the_secret() {
        let error = decode_basic(&basic_header(b"c1:%FFtop-secret")).unwrap_err();

        assert!(!error.description().contains("top-secret"));
        assert!(!format!("{error:?}").contains("top-secret"));
    }

    #[test]
    fn debug_of_a_request_hides_secrets_and_assertions() {
        let post_body = "grant_type=client_credentials&client_id=c1&client_secret=top-secret";
        let assertion_body = format!(
            "grant_type=client_credentials&client_assertion=eyJ.payload.sig&{ASSERTION_TYPE_PARAM}"
        );

        let with_secret = format!("{:?}", parse_token_request(&post(post_body)).unwrap());
        let with_assertion = format!("{:?}", parse_token_request(&post(&assertion_body)).unwrap());

        assert!(with_secret.contains("c1") && !with_secret.contains("top-secret"));
        assert!(!with_assertion.contains("payload"));
    }

    #[test]
    fn grant_type_round_trips_its_name() {
        assert_eq!(
            GrantType::ClientCredentials.as_str().parse::<GrantType>(),
            Ok(GrantType::ClientCredentials)
        );
    }
}
