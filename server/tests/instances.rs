//! Two `fennec` processes on one database behave as one server: what one instance writes or
//! ends, the other enforces at once. Runs on the backend `FENNEC_TEST_DATABASE` selects, but
//! for starting together on an empty database, which is PostgreSQL's to do safely.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fennec_app::api::{
    CreateClient, CreateResource, CurrentAdmin, ListClientSecrets, LoadApplication,
    RemoveClientSecret, RotateSigningKey, SaveApplication, SignIn, SignOut,
};
use fennec_core::store::scratch::ScratchDatabase;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use leptos::server_fn::ServerFn;
use rcgen::{CertificateParams, KeyPair};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

mod support;
use support::process::{free_port, prepared_database, start, Instance, PASSWORD};

/// Calls a console server function the way the console's pages do.
async fn call(
    instance: &Instance,
    public_url: &str,
    path: &str,
    cookie: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", instance.base))
        .header(ORIGIN, public_url)
        .json(&body);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn sign_in(instance: &Instance, public_url: &str) -> String {
    let body = json!({ "username": "admin", "password": PASSWORD });
    let answer = call(instance, public_url, SignIn::PATH, None, body).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let set_cookie = answer.headers()[SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_string()
}

async fn token(instance: &Instance, app: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/acme/-/{app}/oauth/token", instance.base))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_instances_on_one_database_act_as_one_server() {
    let database = prepared_database(ScratchDatabase::new().await).await;
    let public_url = format!("http://127.0.0.1:{}", free_port());
    let a = start(&database, &public_url, "a").await;
    let b = start(&database, &public_url, "b").await;

    // A session opened at A is valid at B.
    let session = sign_in(&a, &public_url).await;
    let at_b = call(
        &b,
        &public_url,
        CurrentAdmin::PATH,
        Some(&session),
        json!({}),
    )
    .await;
    assert_eq!(at_b.status(), StatusCode::OK);

    // A resource and a client registered through A serve tokens at B.
    let resource = json!({
        "tenant": "acme", "env": "-", "display_name": "Party API 2",
        "name": "party-api2", "scopes": ["read1"],
    });
    let created = call(
        &a,
        &public_url,
        CreateResource::PATH,
        Some(&session),
        resource,
    )
    .await;
    assert_eq!(created.status(), StatusCode::OK);
    let client = json!({
        "tenant": "acme", "env": "-", "display_name": "Backend", "name": "backend",
        "auth_method": "client_secret_post",
        "grants": [{ "resource": "party-api2", "scopes": ["read1"] }],
        "certificates": [],
    });
    let created = call(&a, &public_url, CreateClient::PATH, Some(&session), client).await;
    assert_eq!(created.status(), StatusCode::OK);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "backend"),
        ("client_secret", secret.as_str()),
        ("scope", "party-api2:read1"),
    ];
    let answer = token(&b, "backend", &form).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let issued: Value = answer.json().await.unwrap();
    assert!(issued["access_token"].as_str().is_some());

    // An assertion used at A is refused at B.
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = CertificateParams::new(vec!["signer.example.test".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let client = json!({
        "tenant": "acme", "env": "-", "display_name": "Signer", "name": "signer",
        "auth_method": "private_key_jwt", "grants": [],
        "certificates": [STANDARD.encode(cert.der())],
    });
    let created = call(&a, &public_url, CreateClient::PATH, Some(&session), client).await;
    assert_eq!(created.status(), StatusCode::OK);
    let now = fennec_server::now();
    let claims = json!({
        "iss": "signer", "sub": "signer", "aud": format!("{public_url}/acme/-/"),
        "jti": "used-once", "iat": now, "exp": now + 60,
    });
    let signing_key = EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap();
    let assertion =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &signing_key).unwrap();
    let assertion_form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let first = token(&a, "signer", &assertion_form).await;
    assert_eq!(first.status(), StatusCode::OK);
    let replayed = token(&b, "signer", &assertion_form).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let replayed: Value = replayed.json().await.unwrap();
    assert_eq!(replayed["error"], "invalid_client");

    // A key rotated at A, to sign at once, is published and used by B.
    let rotation = json!({ "tenant": "acme", "env": "-", "alg": "ES256", "grace_secs": 0 });
    let rotated = call(
        &a,
        &public_url,
        RotateSigningKey::PATH,
        Some(&session),
        rotation,
    )
    .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    let kid = rotated["kid"].as_str().unwrap().to_string();
    let jwks: Value = reqwest::get(format!(
        "{}/acme/-/.well-known/openid-configuration/keys",
        b.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(published.contains(&kid.as_str()), "{jwks}");
    let signs_with_new_key = within_a_second(|| async {
        let issued: Value = token(&b, "backend", &form).await.json().await.unwrap();
        let header = jsonwebtoken::decode_header(issued["access_token"].as_str().unwrap()).unwrap();
        header.kid.as_deref() == Some(kid.as_str())
    })
    .await;
    assert!(
        signs_with_new_key,
        "B signs with the new key within a second"
    );

    // A grant withdrawn at A is refused by B within a second.
    let which = json!({ "tenant": "acme", "env": "-", "app": "backend" });
    let details = call(
        &a,
        &public_url,
        LoadApplication::PATH,
        Some(&session),
        which,
    )
    .await;
    let mut changes: Value = details.json().await.unwrap();
    changes["is_resource"] = json!(false);
    changes["is_client"] = json!(true);
    changes["grants"] = json!([]);
    changes["confirm_grant_removal"] = json!(false);
    let save = json!({ "tenant": "acme", "env": "-", "app": "backend", "changes": changes });
    let saved = call(&a, &public_url, SaveApplication::PATH, Some(&session), save).await;
    assert_eq!(
        saved.status(),
        StatusCode::OK,
        "{}",
        saved.text().await.unwrap()
    );
    let refused_scope = within_a_second(|| async {
        let withdrawn = token(&b, "backend", &form).await;
        let status = withdrawn.status();
        let withdrawn: Value = withdrawn.json().await.unwrap();
        status == StatusCode::BAD_REQUEST && withdrawn["error"] == "invalid_scope"
    })
    .await;
    assert!(
        refused_scope,
        "B refuses the withdrawn grant within a second"
    );

    // A secret removed at A is refused by B within a second.
    let which = json!({ "tenant": "acme", "env": "-", "app": "backend" });
    let listed = call(
        &a,
        &public_url,
        ListClientSecrets::PATH,
        Some(&session),
        which,
    )
    .await;
    let listed: Value = listed.json().await.unwrap();
    let secret_id = listed[0]["id"].as_str().unwrap();
    let removal = json!({ "tenant": "acme", "env": "-", "app": "backend", "secret_id": secret_id });
    let removed = call(
        &a,
        &public_url,
        RemoveClientSecret::PATH,
        Some(&session),
        removal,
    )
    .await;
    assert_eq!(removed.status(), StatusCode::OK);
    let refused = within_a_second(|| async {
        token(&b, "backend", &form).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(refused, "B refuses the removed secret within a second");

    // Signing out at A ends the session at both.
    let out = call(&a, &public_url, SignOut::PATH, Some(&session), json!({})).await;
    assert_eq!(out.status(), StatusCode::OK);
    for instance in [&a, &b] {
        let after = call(
            instance,
            &public_url,
            CurrentAdmin::PATH,
            Some(&session),
            json!({}),
        )
        .await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    }
}

/// Whether `check` holds at some try within one second (the bound for one instance to see
/// another's change), trying every 50 ms.
async fn within_a_second<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn instances_that_start_together_on_an_empty_database_migrate_it_once() {
    // PostgreSQL only: it is the store for several instances, and its migrator holds a lock.
    let database = ScratchDatabase::postgres().await;
    let public_url = format!("http://127.0.0.1:{}", free_port());

    let (a, b) = tokio::join!(
        start(&database, &public_url, "a"),
        start(&database, &public_url, "b")
    );

    for instance in [&a, &b] {
        let setup = reqwest::get(format!("{}/console/setup", instance.base))
            .await
            .unwrap();
        assert_eq!(setup.status(), StatusCode::OK);
    }
    let applied = applied_migrations(database.url()).await;
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/postgres");
    let shipped = std::fs::read_dir(folder).unwrap().count() as i64;
    assert_eq!(applied, shipped, "each migration applied exactly once");
}

async fn applied_migrations(url: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap()
}
