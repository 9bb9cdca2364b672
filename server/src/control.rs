//! The Control API under `/api/v1`: REST resources for automation, secured by Fennec's own
//! access tokens, with the OpenAPI document generated from the same handlers and its docs page.

pub mod model;
pub mod problem;
mod routes;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use fennec_core::service::{ControlAccess, ControlCaller, ControlRefusal, Fennec};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa_axum::router::OpenApiRouter;

use self::problem::{Problem, PROBLEM_JSON};

/// Where the Control API lives.
pub const PREFIX: &str = "/api/v1";

/// The Control API's routes with its OpenAPI document and docs page, for merging into the
/// server's router.
pub fn router(fennec: Fennec) -> Router {
    let (api, document) = api_router().split_for_parts();
    let document = finish_document(document);
    let json = serde_json::to_string(&document).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document cannot be written");
        "{}".into()
    });

    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let json = json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], json) }
        }),
    )
    .route("/api/v1/docs", get(docs_page))
    .route("/api/v1", any(unknown_route))
    .route("/api/v1/", any(unknown_route))
    .route("/api/v1/{*rest}", any(unknown_route))
    .method_not_allowed_fallback(method_not_allowed)
    // Answers may hold a secret shown once; none belongs in a cache.
    .layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
    .layer(crate::console_compression())
    .with_state(fennec)
}

/// The routes and their OpenAPI description, collected from the handlers' annotations.
pub fn api_router() -> OpenApiRouter<Fennec> {
    routes::collect(OpenApiRouter::with_openapi(base_document()))
}

/// The OpenAPI document as served: every route the Control API has, and nothing else.
pub fn openapi_document() -> OpenApi {
    finish_document(api_router().split_for_parts().1)
}

fn base_document() -> OpenApi {
    use utoipa::openapi::{InfoBuilder, OpenApiBuilder};
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Fennec Control API")
                .version("1")
                .description(Some(
                    "Manage a tenant's environments, resources, clients, secrets, \
                     certificates and signing keys. Authenticate with an access token from \
                     the tenant's master environment (`{base}/{tenant}/master/oauth/token`), \
                     issued to a client granted `fennec-control:read` (to read) or \
                     `fennec-control:write` (to read and change). Errors are RFC 9457 \
                     problem details.",
                ))
                .build(),
        )
        .build()
}

/// Adds what every operation shares: the bearer scheme, the scope it needs, and the answers
/// to a missing or refused token and to an outage.
fn finish_document(mut document: OpenApi) -> OpenApi {
    let components = document.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".into());
    bearer.description = Some(
        "An RFC 9068 access token from the tenant's master environment for the audience \
         fennec-control."
            .into(),
    );
    components
        .security_schemes
        .insert("bearer".into(), SecurityScheme::Http(bearer));

    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            (Method::GET, item.get.as_mut()),
            (Method::POST, item.post.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            if path.ends_with("/openapi.json") || path.ends_with("/docs") {
                continue;
            }
            let access = match method {
                Method::GET => ControlAccess::Read,
                _ => ControlAccess::Write,
            };
            operation.security = Some(vec![SecurityRequirement::new("bearer", [access.scope()])]);
            let mut shared = vec![
                ("400", "A malformed path, query or body."),
                (
                    "401",
                    "No token, or one that is not valid (`WWW-Authenticate` says why).",
                ),
                (
                    "403",
                    "The token lacks the scope, or is for another tenant.",
                ),
                ("500", "The server failed; the details are in its log."),
                ("503", "The database cannot be reached right now."),
            ];
            if operation.request_body.is_some() {
                shared.push(("413", "The body is larger than 2 MB."));
                shared.push(("415", "The body is not `application/json`."));
                shared.push((
                    "422",
                    "The body does not fit the schema, or fields need attention.",
                ));
            }
            for (status, description) in shared {
                operation
                    .responses
                    .responses
                    .entry(status.into())
                    .or_insert_with(|| problem_response(description));
            }
        }
    }
    document
}

/// An error answer as the document describes it.
pub(crate) fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// Anything under `/api/v1` that is not a route: a problem, not the console's page.
async fn unknown_route() -> Problem {
    Problem::not_found("There is no such Control API route. See /api/v1/openapi.json.")
}

/// A method the route does not have: a problem, with the `Allow` header axum adds.
async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "This route does not take that method; the Allow header lists those it takes.",
    )
}

/// The browsable documentation: Swagger UI, served from Fennec itself, reading the document.
async fn docs_page() -> Response {
    let page = Html(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fennec Control API</title>
<link rel="stylesheet" href="/api-docs/vendor/swagger-ui.css">
</head>
<body>
<noscript>The documentation needs JavaScript; the document itself is at
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="/api-docs/vendor/swagger-ui-bundle.js"></script>
<script src="/api-docs/start.js"></script>
</body>
</html>
"#,
    );
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        page,
    )
        .into_response()
}

/// The automation client behind the request's bearer token, already authorised for the
/// tenant in the request's path and for what its method does (reading or changing).
pub struct Caller(pub ControlCaller);

impl FromRequestParts<Fennec> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, fennec: &Fennec) -> Result<Self, Problem> {
        // Only the Authorization header counts: a console session cookie is never enough.
        let token = match parts.headers.get(header::AUTHORIZATION) {
            None => return Err(ControlRefusal::Missing.into()),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim().to_string())
                .ok_or(ControlRefusal::InvalidToken(
                    "the Authorization header is not a Bearer token.",
                ))?,
        };
        let caller = fennec
            .authenticate_control(&token, crate::now())
            .await
            .map_err(|refusal| {
                if let ControlRefusal::InvalidToken(reason) = &refusal {
                    tracing::info!(reason, "control API token refused");
                }
                Problem::from(refusal)
            })?;

        // Authorised here, before the path, query or body is read, so that a caller without
        // the right learns nothing from how its request would have been parsed.
        let access = match parts.method {
            Method::GET | Method::HEAD => ControlAccess::Read,
            _ => ControlAccess::Write,
        };
        let tenant = parts
            .uri
            .path()
            .strip_prefix("/api/v1/tenants/")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or(&caller.tenant)
            .to_string();
        caller.permits(&tenant, access)?;
        Ok(Caller(caller))
    }
}

/// A `201 Created` answer with the new thing's `Location`.
pub(crate) fn created<T: serde::Serialize>(location: String, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
