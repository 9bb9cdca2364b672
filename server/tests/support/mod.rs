//! Shared setup of the in-process HTTP tests: a fresh Fennec with one tenant, and requests.

#![allow(dead_code)]

pub mod process;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use fennec_core::service::{Admin, Fennec, NewResourceInput};
use fennec_core::store::scratch::{first_start, ScratchDatabase};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The public URL every test server runs under.
pub const BASE: &str = "https://id.example.test";
/// Issuer of the tenant `acme`'s default environment.
pub const ISSUER: &str = "https://id.example.test/acme/-/";

/// A Fennec on a fresh database with tenant `acme`, its administrator, and resource
/// `party-api2` with scopes `read1`, `read2` and `write`.
pub struct Fixture {
    pub fennec: Fennec,
    pub admin: Admin,
    pub database: ScratchDatabase,
}

pub async fn fixture() -> Fixture {
    let database = ScratchDatabase::new().await;
    let fennec = Fennec::new(database.store().await, BASE).unwrap();
    let now = fennec_server::now();

    let admin = first_start(&fennec, "acme", now).await;

    let resource = NewResourceInput {
        display_name: "Party API 2".into(),
        name: "party-api2".into(),
        scopes: vec!["read1".into(), "read2".into(), "write".into()],
    };
    fennec
        .create_resource(&admin, "acme", "-", resource, now)
        .await
        .unwrap();
    Fixture {
        fennec,
        admin,
        database,
    }
}

/// A response, with its body read as JSON (`Null` when it is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
}

pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
    }
}

pub fn form_request(uri: &str, form: &str, authorization: Option<String>) -> Request<Body> {
    let mut builder =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(Body::from(form.to_string())).unwrap()
}

/// Checks an RFC 6749 §5.2 error: status, code, a description, and no caching.
pub fn assert_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "body: {}", answer.json);
    assert_eq!(answer.json["error"], code, "body: {}", answer.json);
    let description = answer.json["error_description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !description.is_empty(),
        "an error carries a human description"
    );
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
}
