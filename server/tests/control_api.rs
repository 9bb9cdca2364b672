//! In-process tests of the Control API: every route, its errors, and who may call it.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use fennec_core::rules::ClientAuthMethod;
use fennec_core::service::{Admin, Fennec, NewClientInput};
use fennec_core::store::scratch::{first_start, ScratchDatabase, ADMIN_PASSWORD};
use fennec_core::views::GrantInput;
use leptos::config::LeptosOptions;
use serde_json::{json, Value};

mod support;
use support::{form_request, send, Answer, BASE};

const ACME: &str = "/api/v1/tenants/acme";
const PROD: &str = "/api/v1/tenants/acme/environments/-";

struct Api {
    router: Router,
    fennec: Fennec,
    admin: Admin,
    /// A token of `automation` in acme's master environment, with `fennec-control:write`.
    write: String,
    _database: ScratchDatabase,
}

/// A Fennec with tenants `acme` and `other`, the whole router, and a write token for acme.
async fn api() -> Api {
    let database = ScratchDatabase::new().await;
    let fennec = Fennec::new(database.store().await, BASE).unwrap();
    let now = fennec_server::now();
    let admin = first_start(&fennec, "acme", now).await;
    fennec.create_tenant(&admin, "other", now).await.unwrap();
    let options = LeptosOptions::builder()
        .output_name("fennec")
        .site_root(database.folder().display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let router = fennec_server::router(fennec.clone(), options);
    let mut api = Api {
        router,
        fennec,
        admin,
        write: String::new(),
        _database: database,
    };
    api.write = api
        .token("acme", "automation", &["write"], "fennec-control:write")
        .await;
    api
}

impl Api {
    /// Registers a master-environment client of `tenant` granted `scopes` of fennec-control,
    /// and gets a token for `scope` from Fennec's own token endpoint.
    async fn token(&self, tenant: &str, client: &str, scopes: &[&str], scope: &str) -> String {
        let secret = self.master_client(tenant, client, scopes).await;
        self.token_for(tenant, client, &secret, scope).await
    }

    /// Registers a master-environment client of `tenant` granted `scopes` of fennec-control,
    /// and returns its secret.
    async fn master_client(&self, tenant: &str, client: &str, scopes: &[&str]) -> String {
        let created = self
            .fennec
            .create_client(
                &self.admin,
                tenant,
                "master",
                NewClientInput {
                    display_name: client.into(),
                    name: client.into(),
                    auth_method: ClientAuthMethod::ClientSecretPost,
                    grants: vec![GrantInput {
                        resource: "fennec-control".into(),
                        scopes: scopes.iter().map(|s| s.to_string()).collect(),
                    }],
                    certificates: vec![],
                },
                fennec_server::now(),
            )
            .await
            .unwrap();
        created.secret.unwrap()
    }

    async fn token_for(&self, tenant: &str, client: &str, secret: &str, scope: &str) -> String {
        let form = format!(
            "grant_type=client_credentials&client_id={client}&client_secret={secret}&scope={scope}"
        );
        let uri = format!("/{tenant}/master/oauth/token");
        let answer = send(&self.router, form_request(&uri, &form, None)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
        answer.json["access_token"].as_str().unwrap().to_string()
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        send(&self.router, request.unwrap()).await
    }

    async fn get(&self, uri: &str) -> Answer {
        self.call(Method::GET, uri, Some(&self.write), None).await
    }

    async fn post(&self, uri: &str, body: Value) -> Answer {
        self.call(Method::POST, uri, Some(&self.write), Some(body))
            .await
    }

    async fn put(&self, uri: &str, body: Value) -> Answer {
        self.call(Method::PUT, uri, Some(&self.write), Some(body))
            .await
    }

    async fn delete(&self, uri: &str) -> Answer {
        self.call(Method::DELETE, uri, Some(&self.write), None)
            .await
    }

    /// Registers `party-api` with scopes `read` and `write` in Production.
    async fn party_api(&self) {
        let answer = self
            .post(
                &format!("{PROD}/resources"),
                json!({"name": "party-api", "display_name": "Party API", "scopes": ["read", "write"]}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    }

    /// Registers client `backend` granted `party-api:read`, and returns its secret.
    async fn backend(&self) -> String {
        let answer = self
            .post(
                &format!("{PROD}/clients"),
                json!({"name": "backend", "display_name": "Backend",
                       "grants": [{"resource": "party-api", "scopes": ["read"]}]}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
        answer.json["secret"].as_str().unwrap().to_string()
    }
}

/// Checks an RFC 9457 answer: its status, media type and problem type.
fn assert_problem(answer: &Answer, status: StatusCode, kind: &str) {
    assert_eq!(answer.status, status, "{}", answer.json);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(answer.json["type"], format!("urn:fennec:problem:{kind}"));
    assert_eq!(answer.json["status"], status.as_u16());
    assert!(answer.json["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(answer.json["detail"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

fn challenge(answer: &Answer) -> String {
    answer.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_master_environment_has_the_built_in_control_resource() {
    let api = api().await;

    for tenant in ["acme", "other"] {
        let details = api
            .fennec
            .application_details(&api.admin, tenant, "master", "fennec-control")
            .await
            .unwrap();
        assert_eq!(details.scopes, vec!["read", "write"]);
    }
}

#[tokio::test]
async fn the_built_in_control_resource_cannot_be_deleted_or_changed() {
    let api = api().await;

    let refused = api
        .fennec
        .delete_application(&api.admin, "acme", "master", "fennec-control", true, 0)
        .await;
    assert!(matches!(
        refused,
        Err(fennec_core::service::ServiceError::Invalid(_))
    ));
    let answer = api
        .put(
            "/api/v1/tenants/acme/environments/master/resources/fennec-control",
            json!({"name": "fennec-control", "display_name": "Mine", "scopes": ["all"]}),
        )
        .await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "validation");
}

#[tokio::test]
async fn a_request_without_a_token_is_challenged_without_an_error_code() {
    let api = api().await;

    let answer = api.call(Method::GET, ACME, None, None).await;

    assert_problem(&answer, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(challenge(&answer), "Bearer realm=\"fennec-control\"");
}

#[tokio::test]
async fn a_forged_or_foreign_token_is_an_invalid_token() {
    let api = api().await;
    // The same claims under a changed signature.
    let (signed, signature) = api.write.rsplit_once('.').unwrap();
    let middle = signature.len() / 2;
    let flipped = if &signature[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let forged = format!(
        "{signed}.{}{flipped}{}",
        &signature[..middle],
        &signature[middle + 1..]
    );
    // A token of a Production client, for another audience, from another issuer.
    let secret = {
        api.party_api().await;
        api.backend().await
    };
    let form = format!(
        "grant_type=client_credentials&client_id=backend&client_secret={secret}&scope=party-api:read"
    );
    let other_issuer = send(
        &api.router,
        form_request("/acme/-/oauth/token", &form, None),
    )
    .await;
    let other_issuer = other_issuer.json["access_token"].as_str().unwrap();

    for token in [forged.as_str(), other_issuer, "not-a-jwt"] {
        let answer = api.call(Method::GET, ACME, Some(token), None).await;
        assert_problem(&answer, StatusCode::UNAUTHORIZED, "invalid-token");
        assert!(
            challenge(&answer).contains("error=\"invalid_token\""),
            "{}",
            challenge(&answer)
        );
    }
}

#[tokio::test]
async fn a_basic_authorization_header_is_an_invalid_token() {
    let api = api().await;

    let request = Request::get(ACME)
        .header(header::AUTHORIZATION, "Basic YWRtaW46cGFzc3dvcmQ=")
        .body(Body::empty())
        .unwrap();
    let answer = send(&api.router, request).await;

    assert_problem(&answer, StatusCode::UNAUTHORIZED, "invalid-token");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let api = api().await;
    // A token minted two hours ago by the same key, with a one-hour lifetime.
    let secret = api.master_client("acme", "old", &["read"]).await;
    let form = format!(
        "grant_type=client_credentials&client_id=old&client_secret={secret}&scope=fennec-control:read"
    );
    let http = fennec_core::request::HttpTokenRequest {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: None,
        body: form.as_bytes(),
    };
    let target = fennec_core::service::TokenTarget {
        tenant: "acme",
        environment: "master",
        application: None,
    };
    let two_hours_ago = fennec_server::now() - 7200;
    let token = api
        .fennec
        .issue_token(target, &http, two_hours_ago)
        .await
        .unwrap()
        .access_token;

    let answer = api.call(Method::GET, ACME, Some(&token), None).await;

    assert_problem(&answer, StatusCode::UNAUTHORIZED, "invalid-token");
    assert!(answer.json["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn a_read_token_reads_but_cannot_write() {
    let api = api().await;
    let read = api
        .token("acme", "reader", &["read"], "fennec-control:read")
        .await;

    let listed = api.call(Method::GET, ACME, Some(&read), None).await;
    let refused = api
        .call(
            Method::POST,
            &format!("{PROD}/resources"),
            Some(&read),
            Some(json!({"display_name": "X", "scopes": ["a"]})),
        )
        .await;

    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
    assert_problem(&refused, StatusCode::FORBIDDEN, "insufficient-scope");
    let challenge = challenge(&refused);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"fennec-control:write\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_token_without_a_control_scope_is_refused() {
    let api = api().await;
    // Granted write, but asked for the audience alone.
    let bare = api
        .token("acme", "bare", &["write"], "fennec-control")
        .await;

    let answer = api.call(Method::GET, ACME, Some(&bare), None).await;

    assert_problem(&answer, StatusCode::FORBIDDEN, "insufficient-scope");
}

#[tokio::test]
async fn a_withdrawn_grant_or_a_deleted_client_stops_its_tokens_at_once() {
    let api = api().await;
    let token = api
        .token("acme", "shortlived", &["write"], "fennec-control:write")
        .await;
    assert_eq!(
        api.call(Method::GET, ACME, Some(&token), None).await.status,
        StatusCode::OK
    );

    api.fennec
        .delete_application(
            &api.admin,
            "acme",
            "master",
            "shortlived",
            false,
            fennec_server::now(),
        )
        .await
        .unwrap();
    let answer = api.call(Method::GET, ACME, Some(&token), None).await;

    assert_problem(&answer, StatusCode::UNAUTHORIZED, "invalid-token");
}

#[tokio::test]
async fn a_token_never_reaches_another_tenant() {
    let api = api().await;

    for (method, uri) in [
        (Method::GET, "/api/v1/tenants/other"),
        (Method::GET, "/api/v1/tenants/other/environments/-/clients"),
        (Method::GET, "/api/v1/tenants/other/audit"),
        (
            Method::DELETE,
            "/api/v1/tenants/other/environments/-/clients/x",
        ),
        (Method::GET, "/api/v1/tenants/nosuch/environments"),
    ] {
        let answer = api.call(method, uri, Some(&api.write), None).await;
        assert_problem(&answer, StatusCode::FORBIDDEN, "other-tenant");
    }
    let tenants = api.get("/api/v1/tenants").await;
    assert_eq!(tenants.json.as_array().unwrap().len(), 1);
    assert_eq!(tenants.json[0]["name"], "acme");
}

#[tokio::test]
async fn a_console_session_does_not_open_the_api_and_a_token_does_not_open_the_console() {
    let api = api().await;
    let session = api
        .fennec
        .sign_in(
            &api.admin.username,
            fennec_core::secret::Secret::from_presented(ADMIN_PASSWORD.to_string()),
            fennec_server::now(),
        )
        .await
        .unwrap();

    let with_cookie = Request::get(ACME)
        .header(header::COOKIE, format!("fennec_session={}", session.0))
        .body(Body::empty())
        .unwrap();
    let answer = send(&api.router, with_cookie).await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, "unauthenticated");

    let console_call =
        Request::post(<fennec_app::api::ListApplications as leptos::server_fn::ServerFn>::PATH)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, BASE)
            .header(header::AUTHORIZATION, format!("Bearer {}", api.write))
            .body(Body::from(
                json!({"tenant": "acme", "env": "-"}).to_string(),
            ))
            .unwrap();
    let answer = send(&api.router, console_call).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.json);
}

#[tokio::test]
async fn tenant_and_environments_are_listed_with_their_urls() {
    let api = api().await;

    let tenant = api.get(ACME).await;
    let environments = api.get(&format!("{ACME}/environments")).await;
    let production = api.get(PROD).await;
    let missing = api.get(&format!("{ACME}/environments/nosuch")).await;

    assert_eq!(tenant.status, StatusCode::OK);
    let names: Vec<&str> = environments
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["-", "master"]);
    assert_eq!(tenant.json["environments"], environments.json);
    assert_eq!(production.json["issuer"], format!("{BASE}/acme/-/"));
    assert_eq!(
        production.json["token_endpoint"],
        format!("{BASE}/acme/-/oauth/token")
    );
    assert_problem(&missing, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn an_environment_is_created_renamed_and_a_taken_name_conflicts() {
    let api = api().await;

    let created = api
        .post(
            &format!("{ACME}/environments"),
            json!({"name": "Test", "display_name": "Test"}),
        )
        .await;
    let again = api
        .post(
            &format!("{ACME}/environments"),
            json!({"name": "test", "display_name": "Again"}),
        )
        .await;
    let invalid = api
        .post(
            &format!("{ACME}/environments"),
            json!({"name": "no way", "display_name": ""}),
        )
        .await;
    let renamed = api
        .put(
            &format!("{ACME}/environments/test"),
            json!({"display_name": "Testing"}),
        )
        .await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    assert_eq!(
        created.headers[header::LOCATION],
        format!("{ACME}/environments/test")
    );
    assert_eq!(created.json["name"], "test");
    assert_problem(&again, StatusCode::CONFLICT, "name-taken");
    assert_problem(&invalid, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let fields: Vec<&str> = invalid.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"name"), "{fields:?}");
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.json);
    assert_eq!(
        api.get(&format!("{ACME}/environments/test")).await.json["display_name"],
        "Testing"
    );
}

#[tokio::test]
async fn a_resource_is_created_read_replaced_and_deleted() {
    let api = api().await;
    api.party_api().await;
    let uri = format!("{PROD}/resources/party-api");

    let read = api.get(&uri).await;
    let listed = api.get(&format!("{PROD}/resources")).await;
    let taken = api
        .post(
            &format!("{PROD}/resources"),
            json!({"name": "party-api", "display_name": "Again", "scopes": ["x"]}),
        )
        .await;
    let replaced = api
        .put(&uri, json!({"name": "party-api", "display_name": "Party", "scopes": ["read", "admin"], "notes": "owned by ops"}))
        .await;
    let deleted = api.delete(&uri).await;
    let gone = api.get(&uri).await;

    assert_eq!(
        read.json["requestable_scopes"],
        json!(["party-api:read", "party-api:write"])
    );
    assert_eq!(listed.json.as_array().unwrap().len(), 1);
    assert_problem(&taken, StatusCode::CONFLICT, "name-taken");
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.json);
    assert_eq!(replaced.json["scopes"], json!(["read", "admin"]));
    assert_eq!(replaced.json["notes"], "owned by ops");
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_problem(&gone, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn resource_validation_lists_every_field_the_console_would() {
    let api = api().await;

    let answer = api
        .post(
            &format!("{PROD}/resources"),
            json!({"name": "Bad Name!", "display_name": "", "scopes": []}),
        )
        .await;

    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    let mut fields: Vec<&str> = answer.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, vec!["display_name", "name", "scopes"]);
}

#[tokio::test]
async fn a_malformed_body_is_a_problem_not_plain_text() {
    let api = api().await;

    let broken = api
        .call(
            Method::POST,
            &format!("{PROD}/resources"),
            Some(&api.write),
            None,
        )
        .await;
    let request = Request::post(format!("{PROD}/resources"))
        .header(header::AUTHORIZATION, format!("Bearer {}", api.write))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"display_name\": "))
        .unwrap();
    let truncated = send(&api.router, request).await;
    let unknown_field = api
        .post(
            &format!("{PROD}/resources"),
            json!({"display_name": "X", "scopes": ["a"], "colour": "red"}),
        )
        .await;

    assert_problem(
        &broken,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    assert_problem(&truncated, StatusCode::BAD_REQUEST, "malformed-body");
    assert_problem(
        &unknown_field,
        StatusCode::UNPROCESSABLE_ENTITY,
        "malformed-body",
    );
}

#[tokio::test]
async fn removing_a_granted_scope_needs_confirmation() {
    let api = api().await;
    api.party_api().await;
    api.backend().await;
    let uri = format!("{PROD}/resources/party-api");
    let body = json!({"name": "party-api", "display_name": "Party API", "scopes": ["write"]});

    let asked = api.put(&uri, body.clone()).await;
    let confirmed = api.put(&format!("{uri}?confirm=true"), body).await;
    let delete_asked = api.delete(&format!("{PROD}/resources/party-api")).await;

    assert_problem(&asked, StatusCode::CONFLICT, "needs-confirmation");
    assert!(asked.json["detail"].as_str().unwrap().contains("backend"));
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.json);
    let client = api.get(&format!("{PROD}/clients/backend")).await;
    assert_eq!(client.json["grants"], json!([]));
    // backend no longer holds a grant of party-api, so deleting it asks nothing.
    assert_eq!(
        delete_asked.status,
        StatusCode::NO_CONTENT,
        "{}",
        delete_asked.json
    );
}

#[tokio::test]
async fn deleting_a_granted_resource_needs_confirmation() {
    let api = api().await;
    api.party_api().await;
    api.backend().await;

    let asked = api.delete(&format!("{PROD}/resources/party-api")).await;
    let confirmed = api
        .delete(&format!("{PROD}/resources/party-api?confirm=true"))
        .await;

    assert_problem(&asked, StatusCode::CONFLICT, "needs-confirmation");
    assert_eq!(confirmed.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_client_registered_through_the_api_gets_a_token() {
    let api = api().await;
    api.party_api().await;

    let created = api
        .post(
            &format!("{PROD}/clients"),
            json!({"name": "backend", "display_name": "Backend",
                   "grants": [{"resource": "party-api", "scopes": ["read"]}]}),
        )
        .await;
    let secret = created.json["secret"].as_str().unwrap();
    let form = format!(
        "grant_type=client_credentials&client_id=backend&client_secret={secret}&scope=party-api:read"
    );
    let token = send(
        &api.router,
        form_request("/acme/-/oauth/token", &form, None),
    )
    .await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    assert_eq!(
        created.headers[header::LOCATION],
        format!("{PROD}/clients/backend")
    );
    assert_eq!(created.json["auth_method"], "client_secret_post");
    assert_eq!(
        created.json["token_url"],
        format!("{BASE}/acme/-/backend/oauth/token")
    );
    assert_eq!(token.status, StatusCode::OK, "{}", token.json);
    assert_eq!(token.json["scope"], "party-api:read");
    // The secret is shown once: reading the client again does not return it.
    let read = api.get(&format!("{PROD}/clients/backend")).await;
    assert!(read.json.get("secret").is_none());
    assert!(!read.json.to_string().contains(secret));
}

#[tokio::test]
async fn a_client_is_replaced_and_deleted() {
    let api = api().await;
    api.party_api().await;
    api.backend().await;
    let uri = format!("{PROD}/clients/backend");

    let replaced = api
        .put(&uri, json!({"name": "backend", "display_name": "Backend", "auth_method": "client_secret_basic",
                          "grants": [{"resource": "party-api", "scopes": ["read", "write"]}],
                          "token_lifetime_secs": 600, "client_credentials_enabled": false}))
        .await;
    let too_long = api
        .put(
            &uri,
            json!({"display_name": "Backend", "auth_method": "client_secret_basic", "grants": [],
                          "token_lifetime_secs": 10, "client_credentials_enabled": true}),
        )
        .await;
    let listed = api.get(&format!("{PROD}/clients")).await;
    let deleted = api.delete(&uri).await;
    let gone = api.get(&uri).await;

    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.json);
    assert_eq!(replaced.json["auth_method"], "client_secret_basic");
    assert_eq!(replaced.json["token_lifetime_secs"], 600);
    assert_eq!(replaced.json["client_credentials_enabled"], false);
    assert_problem(&too_long, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(too_long.json["errors"][0]["field"], "token_lifetime_secs");
    let names: Vec<&str> = listed
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["backend"]);
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_problem(&gone, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn a_resource_route_does_not_show_a_client_and_the_reverse() {
    let api = api().await;
    api.party_api().await;
    api.backend().await;

    let client_as_resource = api.get(&format!("{PROD}/resources/backend")).await;
    let resource_as_client = api.get(&format!("{PROD}/clients/party-api")).await;

    assert_problem(&client_as_resource, StatusCode::NOT_FOUND, "not-found");
    assert_problem(&resource_as_client, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn a_client_becomes_a_resource_too_and_loses_only_that_role_on_delete() {
    let api = api().await;
    api.backend_without_grants().await;

    let made_resource = api
        .put(
            &format!("{PROD}/resources/backend"),
            json!({"display_name": "Backend", "name": "backend", "scopes": ["events"]}),
        )
        .await;
    let dropped = api.delete(&format!("{PROD}/resources/backend")).await;
    let client = api.get(&format!("{PROD}/clients/backend")).await;

    assert_eq!(
        made_resource.status,
        StatusCode::OK,
        "{}",
        made_resource.json
    );
    assert_eq!(made_resource.json["is_client"], true);
    assert_eq!(dropped.status, StatusCode::NO_CONTENT, "{}", dropped.json);
    assert_eq!(client.status, StatusCode::OK);
    assert_eq!(client.json["is_resource"], false);
}

impl Api {
    async fn backend_without_grants(&self) {
        let answer = self
            .post(
                &format!("{PROD}/clients"),
                json!({"name": "backend", "display_name": "Backend"}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    }
}

#[tokio::test]
async fn secrets_are_added_listed_without_values_and_removed() {
    let api = api().await;
    api.backend_without_grants().await;
    let secrets = format!("{PROD}/clients/backend/secrets");

    let generated = api.post(&secrets, json!({})).await;
    let typed = api
        .post(
            &secrets,
            json!({"value": "my-own-secret-of-enough-length", "expires_at": 4102444800i64}),
        )
        .await;
    let too_short = api.post(&secrets, json!({"value": "short"})).await;
    let listed = api.get(&secrets).await;
    let id = generated.json["id"].as_str().unwrap().to_string();
    let one = api.get(&format!("{secrets}/{id}")).await;
    let removed = api.delete(&format!("{secrets}/{id}")).await;
    let again = api.delete(&format!("{secrets}/{id}")).await;

    assert_eq!(generated.status, StatusCode::CREATED, "{}", generated.json);
    assert_eq!(
        generated.headers[header::LOCATION],
        format!("{secrets}/{id}")
    );
    let value = generated.json["value"].as_str().unwrap();
    assert_eq!(value.len(), 43);
    assert_eq!(typed.json["value"], Value::Null);
    assert_eq!(typed.json["info"], "my-");
    assert_eq!(typed.json["expires_at"], 4102444800i64);
    assert_problem(&too_short, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(too_short.json["errors"][0]["field"], "value");
    assert_eq!(listed.json.as_array().unwrap().len(), 3);
    assert!(!listed.json.to_string().contains(value));
    assert!(!listed.json.to_string().contains("my-own-secret"));
    assert_eq!(one.json["id"], id.as_str());
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_problem(&again, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn certificates_are_added_from_pem_listed_and_removed() {
    let api = api().await;
    api.backend_without_grants().await;
    let certificates = format!("{PROD}/clients/backend/certificates");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["backend".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();

    let added = api
        .post(&certificates, json!({"certificate": cert.pem()}))
        .await;
    let twice = api
        .post(&certificates, json!({"certificate": cert.pem()}))
        .await;
    let private_key = api
        .post(&certificates, json!({"certificate": key.serialize_pem()}))
        .await;
    let listed = api.get(&certificates).await;
    let id = added.json["id"].as_str().unwrap().to_string();
    let one = api.get(&format!("{certificates}/{id}")).await;
    let removed = api.delete(&format!("{certificates}/{id}")).await;

    assert_eq!(added.status, StatusCode::CREATED, "{}", added.json);
    assert_eq!(
        added.headers[header::LOCATION],
        format!("{certificates}/{id}")
    );
    assert!(!added.json["kid"].as_str().unwrap().is_empty());
    assert_problem(&twice, StatusCode::CONFLICT, "name-taken");
    assert_problem(&private_key, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(listed.json.as_array().unwrap().len(), 1);
    assert_eq!(one.json["id"], id.as_str());
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.json);
}

#[tokio::test]
async fn a_private_key_jwt_client_is_registered_with_its_certificate() {
    let api = api().await;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["jwt".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();

    let without = api
        .post(
            &format!("{PROD}/clients"),
            json!({"name": "jwt", "display_name": "JWT", "auth_method": "private_key_jwt"}),
        )
        .await;
    let with = api
        .post(
            &format!("{PROD}/clients"),
            json!({"name": "jwt", "display_name": "JWT", "auth_method": "private_key_jwt",
                                                 "certificates": [cert.pem()]}),
        )
        .await;
    let last = api.get(&format!("{PROD}/clients/jwt/certificates")).await;
    let id = last.json[0]["id"].as_str().unwrap();
    let keep_one = api
        .delete(&format!("{PROD}/clients/jwt/certificates/{id}"))
        .await;

    assert_problem(&without, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(with.status, StatusCode::CREATED, "{}", with.json);
    assert_eq!(with.json["secret"], Value::Null);
    assert_problem(&keep_one, StatusCode::UNPROCESSABLE_ENTITY, "validation");
}

#[tokio::test]
async fn signing_keys_are_listed_and_rotated() {
    let api = api().await;
    let keys = format!("{PROD}/signing-keys");

    let before = api.get(&keys).await;
    let rotated = api
        .post(&keys, json!({"alg": "ES256", "grace_secs": 0}))
        .await;
    let bad_alg = api.post(&keys, json!({"alg": "HS256"})).await;
    let after = api.get(&keys).await;
    let kid = rotated.json["kid"].as_str().unwrap().to_string();
    let one = api.get(&format!("{keys}/{kid}")).await;
    let jwks = send(
        &api.router,
        Request::get("/acme/-/.well-known/openid-configuration/keys")
            .body(Body::empty())
            .unwrap(),
    )
    .await;

    assert_eq!(before.json.as_array().unwrap().len(), 1);
    assert_eq!(before.json[0]["state"], "primary");
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.json);
    assert_eq!(rotated.headers[header::LOCATION], format!("{keys}/{kid}"));
    assert_eq!(rotated.json["alg"], "ES256");
    assert_problem(&bad_alg, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(after.json[0]["kid"], kid.as_str());
    assert_eq!(after.json[0]["state"], "primary");
    assert_eq!(one.json["kid"], kid.as_str());
    assert!(jwks.json.to_string().contains(&kid));
}

#[tokio::test]
async fn the_audit_trail_names_the_automation_client_and_filters_by_target() {
    let api = api().await;
    api.party_api().await;
    api.backend().await;

    let all = api.get(&format!("{ACME}/audit")).await;
    let filtered = api.get(&format!("{ACME}/audit?target=party")).await;

    assert_eq!(all.status, StatusCode::OK);
    let created = all
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "resource.created")
        .unwrap();
    assert_eq!(created["actor"], "client automation");
    assert_eq!(created["environment"], "-");
    assert!(filtered
        .json
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["target"].as_str().unwrap().contains("party")));
    assert!(!filtered.json.as_array().unwrap().is_empty());
    // No record ever holds a secret.
    assert!(!all.json.to_string().contains(&api.write));
}

#[tokio::test]
async fn an_unknown_api_route_is_a_problem() {
    let api = api().await;

    let answer = api.get("/api/v1/nothing/here").await;

    assert_problem(&answer, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_that_answer() {
    let api = api().await;

    let answer = api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let document = answer.json;

    assert_eq!(answer.status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            operations += 1;
            // Every documented operation answers (with a problem, not a 404 page or a 405)
            // when called without a token.
            let uri = path
                .replace("{tenant}", "acme")
                .replace("{env}", "-")
                .replace("{name}", "backend")
                .replace("{id}", "x")
                .replace("{kid}", "x");
            let called = api.call(method.clone(), &uri, None, None).await;
            assert_eq!(called.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
            // Every operation names its scope and documents its errors.
            let scope = &operation["security"][0]["bearer"][0];
            let wanted = if method == Method::GET {
                "fennec-control:read"
            } else {
                "fennec-control:write"
            };
            assert_eq!(scope, wanted, "{method} {path}");
            for status in ["401", "403"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert_eq!(operations, 28);
    // Every schema a reference names is defined.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_method_a_route_does_not_have_is_a_problem() {
    let api = api().await;

    let answer = api
        .call(Method::PATCH, PROD, Some(&api.write), Some(json!({})))
        .await;

    assert_problem(
        &answer,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    );
    assert!(answer.headers[header::ALLOW]
        .to_str()
        .unwrap()
        .contains("PUT"));
}

#[tokio::test]
async fn the_api_root_with_a_slash_is_a_problem_not_a_console_page() {
    let api = api().await;

    let answer = api.get("/api/v1/").await;

    assert_problem(&answer, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn a_token_of_a_deleted_client_stays_dead_when_the_name_is_reused() {
    let api = api().await;
    let old = api
        .token("acme", "phoenix", &["write"], "fennec-control:write")
        .await;
    api.fennec
        .delete_application(&api.admin, "acme", "master", "phoenix", false, 0)
        .await
        .unwrap();
    // The new client is registered a second later than the old token was issued.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let _new = api
        .token("acme", "phoenix", &["write"], "fennec-control:write")
        .await;

    let answer = api.call(Method::GET, ACME, Some(&old), None).await;

    assert_problem(&answer, StatusCode::UNAUTHORIZED, "invalid-token");
}

#[tokio::test]
async fn refused_callers_learn_nothing_from_their_bodies() {
    let api = api().await;
    let read = api
        .token("acme", "reader", &["read"], "fennec-control:read")
        .await;

    let read_only = api
        .call(
            Method::POST,
            &format!("{PROD}/resources"),
            Some(&read),
            Some(json!({"bad": 1})),
        )
        .await;
    let other_tenant = api
        .call(
            Method::POST,
            "/api/v1/tenants/other/environments/-/resources",
            Some(&api.write),
            Some(json!({"bad": 1})),
        )
        .await;
    let no_token_bad_query = api
        .call(
            Method::DELETE,
            &format!("{PROD}/resources/x?confirm=yes"),
            None,
            None,
        )
        .await;

    assert_problem(&read_only, StatusCode::FORBIDDEN, "insufficient-scope");
    assert_problem(&other_tenant, StatusCode::FORBIDDEN, "other-tenant");
    assert_problem(
        &no_token_bad_query,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn malformed_paths_and_queries_are_problems() {
    let api = api().await;

    let bad_path = api.get(&format!("{PROD}/clients/%FF")).await;
    let bad_query = api.delete(&format!("{PROD}/resources/x?confirm=yes")).await;

    assert_problem(&bad_path, StatusCode::BAD_REQUEST, "malformed-path");
    assert_problem(&bad_query, StatusCode::BAD_REQUEST, "malformed-query");
}

#[tokio::test]
async fn a_resource_with_bad_notes_is_not_half_created() {
    let api = api().await;
    let body = json!({"name": "half", "display_name": "Half", "scopes": ["a"],
                      "notes": "n".repeat(2001)});

    let answer = api.post(&format!("{PROD}/resources"), body).await;
    let after = api.get(&format!("{PROD}/resources/half")).await;

    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(answer.json["errors"][0]["field"], "notes");
    assert_problem(&after, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn an_overlong_audit_filter_is_a_field_error() {
    let api = api().await;

    let answer = api
        .get(&format!("{ACME}/audit?target={}", "a".repeat(201)))
        .await;

    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(answer.json["errors"][0]["field"], "target");
}

#[tokio::test]
async fn a_private_key_sent_with_a_certificate_is_refused() {
    let api = api().await;
    api.backend_without_grants().await;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["backend".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let both = format!("{}{}", cert.pem(), key.serialize_pem());

    let answer = api
        .post(
            &format!("{PROD}/clients/backend/certificates"),
            json!({"certificate": both}),
        )
        .await;

    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(answer.json["errors"][0]["field"], "certificate");
}

#[tokio::test]
async fn answers_with_secrets_are_not_cached_and_names_are_matched_like_the_console() {
    let api = api().await;
    api.backend_without_grants().await;

    let added = api
        .post(&format!("{PROD}/clients/BACKEND/secrets"), json!({}))
        .await;

    assert_eq!(added.status, StatusCode::CREATED, "{}", added.json);
    assert_eq!(added.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn a_rotation_refusal_names_the_request_field() {
    let api = api().await;

    let answer = api
        .post(&format!("{PROD}/signing-keys"), json!({"grace_secs": -1}))
        .await;

    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "validation");
    assert_eq!(answer.json["errors"][0]["field"], "grace_secs");
}
