//! The Control API's one error shape, RFC 9457 problem details, and the one place that maps
//! domain errors and token refusals onto it and onto HTTP statuses.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fennec_core::service::{ControlRefusal, ServiceError};
use fennec_core::views::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// What kind of problem this is, e.g. `urn:fennec:problem:validation`.
    #[serde(rename = "type", serialize_with = "problem_type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// A short summary of the kind, the same for every occurrence.
    #[schema(value_type = String)]
    pub title: &'static str,
    pub status: u16,
    /// What went wrong this time, for a person to read.
    pub detail: String,
    /// The fields that need attention, for a validation problem.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For a 401 or 403: the `WWW-Authenticate` challenge (RFC 6750 §3).
    #[serde(skip)]
    #[schema(ignore)]
    challenge: Option<Box<str>>,
}

/// The `type` member: a URN made from the problem's short code.
fn problem_type<S: serde::Serializer>(
    code: &&'static str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("urn:fennec:problem:{code}"))
}

/// One field the server refused, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field's name in the request document, e.g. `scopes`.
    pub field: String,
    pub message: String,
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> Self {
        ProblemField {
            field: e.field,
            message: e.message,
        }
    }
}

impl Problem {
    /// A problem of kind `urn:fennec:problem:{code}`.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            kind: code,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            challenge: None,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    fn with_challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge.into());
        self
    }
}

/// The realm named in every challenge.
const REALM: &str = "fennec-control";

impl From<ControlRefusal> for Problem {
    fn from(refusal: ControlRefusal) -> Self {
        let detail = refusal.to_string();
        match refusal {
            ControlRefusal::Missing => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                detail,
            )
            // RFC 6750 §3.1: no error code when the request had no authentication at all.
            .with_challenge(format!("Bearer realm=\"{REALM}\"")),
            ControlRefusal::InvalidToken(_) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-token",
                "Invalid access token",
                &detail,
            )
            .with_challenge(format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
                quoted(&detail)
            )),
            ControlRefusal::InsufficientScope(ref scope) => Problem::new(
                StatusCode::FORBIDDEN,
                "insufficient-scope",
                "Insufficient scope",
                &detail,
            )
            .with_challenge(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            ControlRefusal::OtherTenant => Problem::new(
                StatusCode::FORBIDDEN,
                "other-tenant",
                "Another tenant",
                &detail,
            )
            .with_challenge(format!(
                "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", error_description=\"{}\"",
                quoted(&detail)
            )),
            ControlRefusal::Service(e) => e.into(),
        }
    }
}

impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Self {
        let detail = error.to_string();
        match error {
            ServiceError::Invalid(fields) => Problem {
                errors: fields.into_iter().map(ProblemField::from).collect(),
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Validation failed",
                    detail,
                )
            },
            ServiceError::Taken(field) => Problem {
                errors: vec![field.into()],
                ..Problem::new(StatusCode::CONFLICT, "name-taken", "Name taken", detail)
            },
            ServiceError::NeedsConfirmation(_) => Problem::new(
                StatusCode::CONFLICT,
                "needs-confirmation",
                "Confirmation needed",
                format!("{detail} Repeat the request with ?confirm=true to go ahead."),
            ),
            ServiceError::NotFound(_) => Problem::not_found(detail),
            ServiceError::Unavailable => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable",
                detail,
            ),
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, "control API operation failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server-error",
                    "Server error",
                    ServiceError::Internal(cause).to_string(),
                )
            }
            // Sign-in and setup errors belong to the console; a Control API call meeting one
            // is a defect, answered like any other internal failure.
            other => {
                tracing::error!(error = %other, "console error in a control API operation");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server-error",
                    "Server error",
                    "Something went wrong on the server. The details are in its log.",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let challenge = self
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok());
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body,
        )
            .into_response();
        if let Some(challenge) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// A quoted-string's content (RFC 9110 §5.6.4): quotes and backslashes escaped.
fn quoted(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A JSON request body whose problems are answered as problem details, not plain text.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => {
                let status = rejection.status();
                let (code, title) = match status {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                        ("unsupported-media-type", "Unsupported media type")
                    }
                    StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Request too large"),
                    _ => ("malformed-body", "Malformed request body"),
                };
                Err(Problem::new(status, code, title, rejection.body_text()))
            }
        }
    }
}

/// Path parameters whose problems are answered as problem details.
pub struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    axum::extract::Path<T>: FromRequestParts<S, Rejection = PathRejection>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-path",
                "Malformed path",
                rejection.body_text(),
            )),
        }
    }
}

/// Query parameters whose problems are answered as problem details.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-query",
                "Malformed query",
                rejection.body_text(),
            )),
        }
    }
}

impl Problem {
    /// The same problem with its field names as this route's request document spells them.
    pub fn renaming_fields(mut self, names: &[(&str, &str)]) -> Self {
        for error in &mut self.errors {
            if let Some((_, to)) = names.iter().find(|(from, _)| *from == error.field) {
                error.field = to.to_string();
            }
        }
        self
    }
}
