//! Axum adapters for the OAuth 2.0 endpoints: token, discovery metadata and JWKS.

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use fennec_core::error::TokenError;
use fennec_core::request::HttpTokenRequest;
use fennec_core::service::{Fennec, TokenTarget};

/// Largest token request body accepted (SPEC 4.1).
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// The runtime routes of every environment and application (SPEC 1.6, 1.7).
pub fn routes(fennec: Fennec) -> Router {
    Router::new()
        .route("/{tenant}/{env}/oauth/token", any(environment_token))
        .route("/{tenant}/{env}/{app}/oauth/token", any(application_token))
        .route(
            "/{tenant}/{env}/.well-known/openid-configuration",
            get(environment_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server/{tenant}/{env}",
            get(environment_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server/{tenant}/{env}/",
            get(environment_metadata),
        )
        .route(
            "/{tenant}/{env}/{app}/.well-known/openid-configuration",
            get(application_metadata),
        )
        .route(
            "/{tenant}/{env}/.well-known/openid-configuration/keys",
            get(environment_keys),
        )
        .route(
            "/{tenant}/{env}/{app}/.well-known/openid-configuration/keys",
            get(application_keys),
        )
        .with_state(fennec)
}

async fn environment_token(
    State(fennec): State<Fennec>,
    Path((tenant, env)): Path<(String, String)>,
    request: Request,
) -> Response {
    let target = TokenTarget {
        tenant: &tenant,
        environment: &env,
        application: None,
    };
    token(&fennec, target, request).await
}

async fn application_token(
    State(fennec): State<Fennec>,
    Path((tenant, env, app)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let target = TokenTarget {
        tenant: &tenant,
        environment: &env,
        application: Some(&app),
    };
    token(&fennec, target, request).await
}

async fn token(fennec: &Fennec, target: TokenTarget<'_>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if parts.method != Method::POST {
        return token_error(&TokenError::MethodNotAllowed);
    }
    let authorization = match single_header(&parts.headers, header::AUTHORIZATION) {
        Ok(value) => value,
        Err(error) => return token_error(&error),
    };
    let content_type = match single_header(&parts.headers, header::CONTENT_TYPE) {
        Ok(value) => value,
        Err(error) => return token_error(&error),
    };
    let body = match to_bytes(body, MAX_TOKEN_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let error =
                TokenError::InvalidRequest("The request body is larger than 64 KiB.".into());
            return token_error(&error);
        }
    };
    let http = HttpTokenRequest {
        method: parts.method.as_str(),
        content_type,
        authorization,
        body: &body,
    };

    // The peer's address, when the server was started with connection info (not in tests).
    let source = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    match fennec
        .issue_token_from(target.clone(), &http, source.as_deref(), crate::now())
        .await
    {
        Ok(response) => no_store(Json(response).into_response()),
        Err(error) => {
            tracing::info!(
                tenant = target.tenant,
                env = target.environment,
                application = target.application,
                error = error.code(),
                reason = %error.description(),
                "token request refused"
            );
            token_error(&error)
        }
    }
}

/// The one value of a header; a repeated header, or one that is not visible ASCII, is refused
/// rather than half-read, so that no credential is silently ignored (SPEC 4.4).
fn single_header(
    headers: &HeaderMap,
    name: header::HeaderName,
) -> Result<Option<&str>, TokenError> {
    let mut values = headers.get_all(&name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenError::InvalidRequest(format!(
            "The {name} header is sent more than once."
        )));
    }
    first.to_str().map(Some).map_err(|_| {
        let description = format!("The {name} header is not readable.");
        match name == header::AUTHORIZATION {
            true => TokenError::invalid_client(description, true),
            false => TokenError::InvalidRequest(description),
        }
    })
}

/// The RFC 6749 §5.2 error response for a refused token request.
fn token_error(error: &TokenError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(error.to_json())).into_response();
    if let Some(challenge) = error.www_authenticate() {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if let Some(seconds) = error.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    if let Some(allowed) = error.allow() {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allowed));
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn environment_metadata(
    State(fennec): State<Fennec>,
    Path((tenant, env)): Path<(String, String)>,
) -> Response {
    json_or_not_found(fennec.metadata(&tenant, &env, None).await)
}

async fn application_metadata(
    State(fennec): State<Fennec>,
    Path((tenant, env, app)): Path<(String, String, String)>,
) -> Response {
    json_or_not_found(fennec.metadata(&tenant, &env, Some(&app)).await)
}

async fn environment_keys(
    State(fennec): State<Fennec>,
    Path((tenant, env)): Path<(String, String)>,
) -> Response {
    json_or_not_found(fennec.jwks(&tenant, &env, crate::now()).await)
}

async fn application_keys(
    State(fennec): State<Fennec>,
    Path((tenant, env, _app)): Path<(String, String, String)>,
) -> Response {
    json_or_not_found(fennec.jwks(&tenant, &env, crate::now()).await)
}

fn json_or_not_found(
    result: Result<Option<serde_json::Value>, fennec_core::service::ServiceError>,
) -> Response {
    match result {
        Ok(Some(doc)) => {
            let mut response = Json(doc).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            response
        }
        Ok(None) => (StatusCode::NOT_FOUND, Body::from("Not found")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "metadata lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Body::from("Temporarily unavailable"),
            )
                .into_response()
        }
    }
}
