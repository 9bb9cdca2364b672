//! In-process HTTP tests of the token endpoint, the discovery metadata and the JWKS.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fennec_core::rules::ClientAuthMethod;
use fennec_core::service::{Admin, Fennec, NewClientInput};
use fennec_core::views::GrantInput;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

mod support;
use support::{assert_error, fixture, form_request, send, Answer, Fixture, BASE};

const TOKEN_URL: &str = "/acme/-/oauth/token";
const CLIENT_TOKEN_URL: &str = "/acme/-/my-backend-client/oauth/token";

/// A server on a fresh database with resource `party-api2` (read1, read2, write) and two
/// clients: `my-backend-client` (post, granted read1 and read2) and `basic-client` (basic,
/// granted read1).
struct TestServer {
    router: Router,
    post_secret: String,
    basic_secret: String,
    _database: fennec_core::store::scratch::ScratchDatabase,
}

async fn server() -> TestServer {
    let Fixture {
        fennec,
        admin,
        database,
    } = fixture().await;
    let post = client(
        &fennec,
        &admin,
        "my-backend-client",
        ClientAuthMethod::ClientSecretPost,
        &["read1", "read2"],
    )
    .await;
    let basic = client(
        &fennec,
        &admin,
        "basic-client",
        ClientAuthMethod::ClientSecretBasic,
        &["read1"],
    )
    .await;

    TestServer {
        router: fennec_server::oauth::routes(fennec),
        post_secret: post,
        basic_secret: basic,
        _database: database,
    }
}

async fn client(
    fennec: &Fennec,
    admin: &Admin,
    name: &str,
    method: ClientAuthMethod,
    scopes: &[&str],
) -> String {
    let input = NewClientInput {
        display_name: name.into(),
        name: name.into(),
        auth_method: method,
        grants: vec![GrantInput {
            resource: "party-api2".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }],
        certificates: vec![],
    };
    let now = fennec_server::now();
    fennec
        .create_client(admin, "acme", "-", input, now)
        .await
        .unwrap()
        .secret
        .expect("a secret client gets a secret")
}

impl TestServer {
    async fn send(&self, request: Request<Body>) -> Answer {
        send(&self.router, request).await
    }

    async fn post_form(&self, uri: &str, form: &str) -> Answer {
        self.send(form_request(uri, form, None)).await
    }

    async fn post_basic(&self, uri: &str, user: &str, secret: &str, form: &str) -> Answer {
        let credentials = STANDARD.encode(format!("{user}:{secret}"));
        self.send(form_request(
            uri,
            form,
            Some(format!("Basic {credentials}")),
        ))
        .await
    }

    async fn get_json(&self, uri: &str) -> Answer {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        self.send(request).await
    }

    fn post_credentials(&self, extra: &str) -> String {
        format!(
            "grant_type=client_credentials&client_id=my-backend-client&client_secret={}{extra}",
            self.post_secret
        )
    }
}

/// Verifies an access token with the environment's published JWKS and returns its claims.
async fn verified_claims(server: &TestServer, token: &str, audience: &str) -> Value {
    let jwks: JwkSet = serde_json::from_value(
        server
            .get_json("/acme/-/.well-known/openid-configuration/keys")
            .await
            .json,
    )
    .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[format!("{BASE}/acme/-/")]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn client_secret_post_gets_a_token_for_the_granted_scope() {
    let server = server().await;

    let answer = server
        .post_form(
            CLIENT_TOKEN_URL,
            &server.post_credentials("&scope=party-api2:read1"),
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.json);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(answer.headers[header::PRAGMA], "no-cache");
    assert_eq!(answer.json["token_type"], "Bearer");
    assert_eq!(answer.json["expires_in"], 3600);
    assert_eq!(answer.json["scope"], "party-api2:read1");
    let claims = verified_claims(
        &server,
        answer.json["access_token"].as_str().unwrap(),
        "party-api2",
    )
    .await;
    assert_eq!(claims["aud"], "party-api2");
    assert_eq!(claims["sub"], "my-backend-client");
    assert_eq!(claims["client_id"], "my-backend-client");
    assert_eq!(claims["scope"], "party-api2:read1");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

#[tokio::test]
async fn client_secret_basic_gets_a_token_at_the_environment_url() {
    let server = server().await;

    let answer = server
        .post_basic(
            TOKEN_URL,
            "basic-client",
            &server.basic_secret,
            "grant_type=client_credentials&scope=party-api2:read1",
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.json);
    let claims = verified_claims(
        &server,
        answer.json["access_token"].as_str().unwrap(),
        "party-api2",
    )
    .await;
    assert_eq!(claims["sub"], "basic-client");
}

#[tokio::test]
async fn selector_in_the_application_segment_reaches_the_same_client() {
    let server = server().await;

    let answer = server
        .post_form(
            "/acme/-/my-backend-client(*)/oauth/token",
            &server.post_credentials(""),
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.json);
}

#[tokio::test]
async fn without_scope_the_audience_is_the_client_and_no_scope_is_returned() {
    let server = server().await;

    let answer = server
        .post_form(TOKEN_URL, &server.post_credentials("&scope="))
        .await;

    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.json);
    assert!(answer.json.get("scope").is_none());
    let claims = verified_claims(
        &server,
        answer.json["access_token"].as_str().unwrap(),
        "my-backend-client",
    )
    .await;
    assert_eq!(claims["aud"], "my-backend-client");
    assert!(claims.get("scope").is_none());
}

#[tokio::test]
async fn two_granted_scopes_and_a_bare_resource_give_one_audience() {
    let server = server().await;

    let answer = server
        .post_form(
            TOKEN_URL,
            &server.post_credentials(
                "&scope=party-api2:read2+party-api2+party-api2:read1+party-api2:read2",
            ),
        )
        .await;

    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.json);
    assert_eq!(answer.json["scope"], "party-api2:read2 party-api2:read1");
    let claims = verified_claims(
        &server,
        answer.json["access_token"].as_str().unwrap(),
        "party-api2",
    )
    .await;
    assert_eq!(claims["aud"], "party-api2");
}

#[tokio::test]
async fn scope_not_granted_is_invalid_scope_naming_it() {
    let server = server().await;

    let answer = server
        .post_form(
            TOKEN_URL,
            &server.post_credentials("&scope=party-api2:read1+party-api2:write"),
        )
        .await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(answer.json["error_description"]
        .as_str()
        .unwrap()
        .contains("party-api2:write"));
}

#[tokio::test]
async fn get_is_405_invalid_request() {
    let server = server().await;

    let answer = server
        .send(Request::get(TOKEN_URL).body(Body::empty()).unwrap())
        .await;

    assert_error(&answer, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(answer.headers[header::ALLOW], "POST");
}

#[tokio::test]
async fn json_body_is_invalid_request() {
    let server = server().await;
    let request = Request::post(TOKEN_URL)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"grant_type":"client_credentials"}"#))
        .unwrap();

    let answer = server.send(request).await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn body_over_64_kib_is_refused() {
    let server = server().await;
    let padding = "x".repeat(70 * 1024);

    let answer = server
        .post_form(
            TOKEN_URL,
            &server.post_credentials(&format!("&padding={padding}")),
        )
        .await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request() {
    let server = server().await;
    let form = format!(
        "client_id=my-backend-client&client_secret={}",
        server.post_secret
    );

    let answer = server.post_form(TOKEN_URL, &form).await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn password_grant_is_unsupported_grant_type() {
    let server = server().await;
    let form = format!(
        "grant_type=password&username=a&password=b&client_id=my-backend-client&client_secret={}",
        server.post_secret
    );

    let answer = server.post_form(TOKEN_URL, &form).await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn repeated_parameter_is_invalid_request() {
    let server = server().await;

    let answer = server
        .post_form(
            TOKEN_URL,
            &server.post_credentials("&scope=party-api2:read1&scope=party-api2:read2"),
        )
        .await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn unknown_client_is_invalid_client() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_id=nobody&client_secret={}",
        server.post_secret
    );

    let answer = server.post_form(TOKEN_URL, &form).await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(answer.headers.get(header::WWW_AUTHENTICATE).is_none());
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let server = server().await;
    let form = "grant_type=client_credentials&client_id=my-backend-client&client_secret=wrong-secret-value";

    let answer = server.post_form(TOKEN_URL, form).await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn truncated_secret_is_invalid_client() {
    let server = server().await;
    let truncated = &server.post_secret[..40];
    let form = format!(
        "grant_type=client_credentials&client_id=my-backend-client&client_secret={truncated}"
    );

    let answer = server.post_form(TOKEN_URL, &form).await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn wrong_basic_secret_is_401_with_a_basic_challenge() {
    let server = server().await;

    let answer = server
        .post_basic(
            TOKEN_URL,
            "basic-client",
            "wrong-secret-value",
            "grant_type=client_credentials",
        )
        .await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
    let challenge = answer.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Basic"));
}

#[tokio::test]
async fn basic_credentials_for_a_post_client_are_invalid_client() {
    let server = server().await;

    let answer = server
        .post_basic(
            TOKEN_URL,
            "my-backend-client",
            &server.post_secret,
            "grant_type=client_credentials",
        )
        .await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn post_credentials_for_a_basic_client_are_invalid_client() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_id=basic-client&client_secret={}",
        server.basic_secret
    );

    let answer = server.post_form(TOKEN_URL, &form).await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn basic_header_and_client_secret_together_are_invalid_request() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_secret={}",
        server.post_secret
    );

    let answer = server
        .post_basic(TOKEN_URL, "basic-client", &server.basic_secret, &form)
        .await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn client_id_naming_another_client_than_the_basic_user_is_refused() {
    let server = server().await;

    let answer = server
        .post_basic(
            TOKEN_URL,
            "basic-client",
            &server.basic_secret,
            "grant_type=client_credentials&client_id=my-backend-client",
        )
        .await;

    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "body: {}",
        answer.json
    );
    assert_eq!(answer.json["error"], "invalid_request");
}

#[tokio::test]
async fn credentials_of_another_client_at_an_application_url_are_invalid_client() {
    let server = server().await;

    let answer = server
        .post_basic(
            CLIENT_TOKEN_URL,
            "basic-client",
            &server.basic_secret,
            "grant_type=client_credentials",
        )
        .await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn no_client_authentication_is_invalid_client() {
    let server = server().await;

    let answer = server
        .post_form(
            TOKEN_URL,
            "grant_type=client_credentials&client_id=my-backend-client",
        )
        .await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn a_resource_cannot_ask_for_tokens() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_id=party-api2&client_secret={}",
        server.post_secret
    );

    let answer = server.post_form(TOKEN_URL, &form).await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn unknown_environment_is_invalid_client() {
    let server = server().await;

    let answer = server
        .post_form("/acme/test/oauth/token", &server.post_credentials(""))
        .await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn environment_metadata_names_the_issuer_and_its_endpoints() {
    let server = server().await;

    for uri in [
        "/acme/-/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/acme/-/",
    ] {
        let answer = server.get_json(uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(answer.json["issuer"], format!("{BASE}/acme/-/"));
        assert_eq!(
            answer.json["token_endpoint"],
            format!("{BASE}/acme/-/oauth/token")
        );
        assert_eq!(
            answer.json["jwks_uri"],
            format!("{BASE}/acme/-/.well-known/openid-configuration/keys")
        );
        assert_eq!(
            answer.json["grant_types_supported"],
            serde_json::json!(["client_credentials"])
        );
        let methods = answer.json["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap();
        assert!(methods.contains(&"client_secret_post".into()));
        assert!(methods.contains(&"client_secret_basic".into()));
    }
}

#[tokio::test]
async fn application_metadata_has_its_token_url_and_granted_scopes() {
    let server = server().await;

    let answer = server
        .get_json("/acme/-/my-backend-client/.well-known/openid-configuration")
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["issuer"], format!("{BASE}/acme/-/"));
    assert_eq!(
        answer.json["token_endpoint"],
        format!("{BASE}{CLIENT_TOKEN_URL}")
    );
    assert_eq!(
        answer.json["scopes_supported"],
        serde_json::json!(["party-api2:read1", "party-api2:read2"])
    );
}

#[tokio::test]
async fn metadata_of_an_unknown_environment_is_404() {
    let server = server().await;

    let answer = server
        .get_json("/acme/nowhere/.well-known/openid-configuration")
        .await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwks_publishes_the_rs256_signing_key_without_private_parts() {
    let server = server().await;

    let answer = server
        .get_json("/acme/-/my-backend-client/.well-known/openid-configuration/keys")
        .await;

    assert_eq!(answer.status, StatusCode::OK);
    let keys = answer.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["use"], "sig");
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(keys[0]["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(keys[0].get("d").is_none() && keys[0].get("p").is_none());
}

#[tokio::test]
async fn put_on_the_token_endpoint_is_405() {
    let server = server().await;
    let request = Request::builder()
        .method(Method::PUT)
        .uri(TOKEN_URL)
        .body(Body::empty())
        .unwrap();

    let answer = server.send(request).await;

    assert_error(&answer, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let server = server().await;
    let good = STANDARD.encode(format!("basic-client:{}", server.basic_secret));
    let request = Request::post(TOKEN_URL)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, format!("Basic {good}"))
        .header(header::AUTHORIZATION, "Basic bm9ib2R5Om5vdGhpbmc=")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();

    let answer = server.send(request).await;

    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn unreadable_authorization_header_is_not_ignored() {
    let server = server().await;
    let mut request = form_request(TOKEN_URL, &server.post_credentials(""), None);
    request.headers_mut().insert(
        header::AUTHORIZATION,
        header::HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap(),
    );

    let answer = server.send(request).await;

    assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn get_with_a_large_body_is_still_405() {
    let server = server().await;
    let request = Request::get(TOKEN_URL)
        .body(Body::from("x".repeat(70 * 1024)))
        .unwrap();

    let answer = server.send(request).await;

    assert_error(&answer, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
}

#[tokio::test]
async fn a_resource_has_no_client_metadata() {
    let server = server().await;

    let answer = server
        .get_json("/acme/-/party-api2/.well-known/openid-configuration")
        .await;

    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}
