//! Server-only helpers of the console: the session cookie and the mapping of domain errors.

use fennec_core::service::{Admin, Fennec, ServiceError, SessionToken, SESSION_LIFETIME_SECS};
use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::error::ConsoleError;

const SESSION_COOKIE: &str = "fennec_session";

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The domain service provided to every server function.
pub fn fennec() -> Result<Fennec, ConsoleError> {
    use_context::<Fennec>().ok_or_else(|| {
        tracing::error!("the Fennec service is missing from the server function context");
        ConsoleError::Message("The server is not ready.".into())
    })
}

/// The session token of the current request, from its cookie.
pub async fn session_token() -> Option<String> {
    let headers: HeaderMap = leptos_axum::extract().await.ok()?;
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_string()))
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// The signed-in administrator, or `SignedOut`.
pub async fn require_admin() -> Result<(Fennec, Admin), ConsoleError> {
    let fennec = fennec()?;
    let token = session_token().await.ok_or_else(signed_out)?;
    match fennec
        .session_admin(&token, now())
        .await
        .map_err(map_error)?
    {
        Some(admin) => Ok((fennec, admin)),
        None => Err(signed_out()),
    }
}

/// Sets the session cookie: HttpOnly, SameSite=Strict, Secure over https.
pub fn set_session_cookie(fennec: &Fennec, token: &SessionToken) {
    let secure = fennec.public_url().starts_with("https://");
    let cookie = cookie::Cookie::build((SESSION_COOKIE, token.0.clone()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(SESSION_LIFETIME_SECS))
        .build();
    write_cookie(&cookie.to_string());
}

/// Removes the session cookie from the browser.
pub fn clear_session_cookie() {
    let cookie = cookie::Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    write_cookie(&cookie.to_string());
}

fn write_cookie(value: &str) {
    let (Some(options), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(value),
    ) else {
        tracing::error!("cannot set the session cookie");
        return;
    };
    options.append_header(SET_COOKIE, value);
}

/// Turns a domain error into what the console shows, with a fitting HTTP status; internal
/// causes are logged, not shown.
pub fn map_error(error: ServiceError) -> ConsoleError {
    let status = match &error {
        ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Unauthenticated | ServiceError::SignInFailed => StatusCode::UNAUTHORIZED,
        ServiceError::SetupRefused => StatusCode::FORBIDDEN,
        ServiceError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::NeedsConfirmation(_) | ServiceError::Taken(_) => StatusCode::CONFLICT,
        ServiceError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    set_status(status);

    match error {
        ServiceError::Invalid(fields) => ConsoleError::Fields(fields),
        ServiceError::Taken(field) => ConsoleError::Fields(vec![field]),
        ServiceError::Unauthenticated => ConsoleError::SignedOut,
        ServiceError::NeedsConfirmation(message) => ConsoleError::NeedsConfirmation(message),
        ServiceError::Internal(cause) => {
            tracing::error!(error = %cause, "console operation failed");
            ConsoleError::Message(ServiceError::Internal(cause).to_string())
        }
        other => ConsoleError::Message(other.to_string()),
    }
}

/// The answer to a request without a valid session.
fn signed_out() -> ConsoleError {
    set_status(StatusCode::UNAUTHORIZED);
    ConsoleError::SignedOut
}

fn set_status(status: StatusCode) {
    if let Some(options) = use_context::<ResponseOptions>() {
        options.set_status(status);
    }
}

/// Keeps a response that carries a secret out of every cache.
pub fn forbid_caching() {
    if let Some(options) = use_context::<ResponseOptions>() {
        options.insert_header(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
