//! Domain-level tests of first start, sign-in and registration rules, each on a fresh database.

use fennec_core::rules::ClientAuthMethod;
use fennec_core::secret::Secret;
use fennec_core::service::{
    Admin, Fennec, NewClientInput, NewResourceInput, ServiceError, SetupInput,
};
use fennec_core::store::Store;
use fennec_core::views::{ApplicationKind, GrantInput};

const NOW: i64 = 1_800_000_000;
const PASSWORD: &str = "a long enough password";

async fn fresh() -> (Fennec, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fennec.db").display());
    let store = Store::connect(&url).await.unwrap();
    (Fennec::new(store, "http://fennec.test/").unwrap(), dir)
}

fn setup_input(token: &str, tenant: &str) -> SetupInput {
    SetupInput {
        token: token.into(),
        username: "Admin".into(),
        password: Secret::from_presented(PASSWORD.into()),
        tenant: tenant.into(),
    }
}

async fn with_admin() -> (Fennec, Admin, tempfile::TempDir) {
    let (fennec, dir) = fresh().await;
    let token = fennec.prepare_setup(NOW).await.unwrap().unwrap();
    fennec
        .complete_setup(setup_input(&token, "acme"), NOW)
        .await
        .unwrap();
    let session = fennec
        .sign_in("admin", Secret::from_presented(PASSWORD.into()), NOW)
        .await
        .unwrap();
    let admin = fennec
        .session_admin(&session.0, NOW)
        .await
        .unwrap()
        .unwrap();
    (fennec, admin, dir)
}

#[tokio::test]
async fn setup_link_works_once_and_creates_production_and_master() {
    let (fennec, _dir) = fresh().await;
    let token = fennec.prepare_setup(NOW).await.unwrap().unwrap();
    assert!(fennec.setup_token_is_valid(&token).await.unwrap());

    let session = fennec
        .complete_setup(setup_input(&token, " Acme "), NOW)
        .await
        .unwrap();
    let admin = fennec
        .session_admin(&session.0, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.username, "admin");
    let envs = fennec.environments(&admin, "acme").await.unwrap();
    let names: Vec<_> = envs
        .iter()
        .map(|e| (e.name.as_str(), e.display_name.as_str()))
        .collect();
    assert_eq!(names, [("-", "Production"), ("master", "Master")]);

    let audit = fennec.audit_log(&admin, "acme").await.unwrap();
    assert_eq!(audit[0].action, "tenant.created");
    assert_eq!(audit[0].actor, "admin");

    assert!(!fennec.setup_token_is_valid(&token).await.unwrap());
    let again = fennec
        .complete_setup(setup_input(&token, "other"), NOW)
        .await;
    assert!(matches!(again, Err(ServiceError::SetupRefused)));
    assert!(fennec.prepare_setup(NOW).await.unwrap().is_none());
}

#[tokio::test]
async fn setup_without_the_token_is_refused() {
    let (fennec, _dir) = fresh().await;
    fennec.prepare_setup(NOW).await.unwrap().unwrap();

    let result = fennec
        .complete_setup(setup_input("guessed", "acme"), NOW)
        .await;

    assert!(matches!(result, Err(ServiceError::SetupRefused)));
}

#[tokio::test]
async fn setup_refuses_a_short_password_and_a_reserved_tenant_with_field_messages() {
    let (fennec, _dir) = fresh().await;
    let token = fennec.prepare_setup(NOW).await.unwrap().unwrap();
    let mut input = setup_input(&token, "console");
    input.password = Secret::from_presented("short".into());

    let Err(ServiceError::Invalid(fields)) = fennec.complete_setup(input, NOW).await else {
        panic!("expected field errors");
    };

    let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["password", "tenant"]);
    assert!(
        fennec.setup_token_is_valid(&token).await.unwrap(),
        "a refused setup keeps the link"
    );
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let (fennec, _admin, _dir) = with_admin().await;

    let unknown = fennec
        .sign_in("nobody", Secret::from_presented(PASSWORD.into()), NOW)
        .await;
    let wrong = fennec
        .sign_in(
            "admin",
            Secret::from_presented("wrong password!".into()),
            NOW,
        )
        .await;

    let (Err(a), Err(b)) = (unknown, wrong) else {
        panic!("both must fail")
    };
    assert_eq!(a.to_string(), b.to_string());
}

#[tokio::test]
async fn repeated_sign_in_failures_are_slowed_down() {
    let (fennec, _admin, _dir) = with_admin().await;
    for _ in 0..5 {
        let wrong = Secret::from_presented("wrong password!".into());
        assert!(matches!(
            fennec.sign_in("admin", wrong, NOW).await,
            Err(ServiceError::SignInFailed)
        ));
    }

    let right = Secret::from_presented(PASSWORD.into());
    let throttled = fennec.sign_in("admin", right, NOW).await;
    assert!(matches!(throttled, Err(ServiceError::Throttled(_))));

    let later = Secret::from_presented(PASSWORD.into());
    assert!(fennec.sign_in("admin", later, NOW + 60).await.is_ok());
}

#[tokio::test]
async fn signed_out_session_no_longer_works() {
    let (fennec, _admin, _dir) = with_admin().await;
    let session = fennec
        .sign_in("admin", Secret::from_presented(PASSWORD.into()), NOW)
        .await
        .unwrap();

    fennec.sign_out(&session.0).await.unwrap();

    assert!(fennec
        .session_admin(&session.0, NOW)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn resource_without_technical_name_gets_a_generated_one() {
    let (fennec, admin, _dir) = with_admin().await;
    let input = NewResourceInput {
        display_name: "Orders".into(),
        name: "  ".into(),
        scopes: vec!["read".into()],
    };

    let created = fennec
        .create_resource(&admin, "acme", "-", input, NOW)
        .await
        .unwrap();

    assert_eq!(created.name.len(), 8);
    assert!(created
        .name
        .chars()
        .all(|c| fennec_core::rules::NAME_ALPHABET.contains(c)));
    assert_eq!(
        created.requestable_scopes,
        [format!("{}:read", created.name)]
    );
}

#[tokio::test]
async fn bad_resource_input_is_refused_and_nothing_is_written() {
    let (fennec, admin, _dir) = with_admin().await;
    let input = NewResourceInput {
        display_name: "Orders".into(),
        name: "orders".into(),
        scopes: vec!["read".into(), "read".into()],
    };

    let result = fennec
        .create_resource(&admin, "acme", "-", input, NOW)
        .await;

    assert!(matches!(result, Err(ServiceError::Invalid(_))));
    assert!(fennec
        .applications(&admin, "acme", "-")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_taken_name_is_a_field_error() {
    let (fennec, admin, _dir) = with_admin().await;
    let input = || NewResourceInput {
        display_name: "Orders".into(),
        name: "orders".into(),
        scopes: vec!["read".into()],
    };
    fennec
        .create_resource(&admin, "acme", "-", input(), NOW)
        .await
        .unwrap();

    let Err(ServiceError::Invalid(fields)) = fennec
        .create_resource(&admin, "acme", "-", input(), NOW)
        .await
    else {
        panic!("expected a field error");
    };

    assert_eq!(fields[0].field, "name");
}

#[tokio::test]
async fn client_grant_naming_an_unknown_scope_is_refused() {
    let (fennec, admin, _dir) = with_admin().await;
    let resource = NewResourceInput {
        display_name: "Orders".into(),
        name: "orders".into(),
        scopes: vec!["read".into()],
    };
    fennec
        .create_resource(&admin, "acme", "-", resource, NOW)
        .await
        .unwrap();
    let client = NewClientInput {
        display_name: "Worker".into(),
        name: "worker".into(),
        auth_method: ClientAuthMethod::ClientSecretPost,
        grants: vec![GrantInput {
            resource: "orders".into(),
            scopes: vec!["write".into()],
        }],
    };

    let result = fennec.create_client(&admin, "acme", "-", client, NOW).await;

    assert!(matches!(result, Err(ServiceError::Invalid(_))));
    let apps = fennec.applications(&admin, "acme", "-").await.unwrap();
    assert_eq!(apps.len(), 1, "only the resource exists");
}

#[tokio::test]
async fn created_client_secret_is_shown_once_and_listed_as_a_client() {
    let (fennec, admin, _dir) = with_admin().await;
    let client = NewClientInput {
        display_name: "Worker".into(),
        name: "".into(),
        auth_method: ClientAuthMethod::ClientSecretBasic,
        grants: vec![],
    };

    let created = fennec
        .create_client(&admin, "acme", "-", client, NOW)
        .await
        .unwrap();

    assert_eq!(created.secret.len(), 43);
    assert_eq!(created.auth_method, ClientAuthMethod::ClientSecretBasic);
    assert_eq!(
        created.token_url,
        format!(
            "http://fennec.test/acme/-/{}/oauth/token",
            created.client_id
        )
    );
    let apps = fennec.applications(&admin, "acme", "-").await.unwrap();
    assert_eq!(apps[0].kind, ApplicationKind::Client);
    let audit = fennec.audit_log(&admin, "acme").await.unwrap();
    assert_eq!(audit[0].action, "client.created");
    assert!(
        !audit[0].detail.contains(&created.secret),
        "the audit trail never holds a secret"
    );
}

#[tokio::test]
async fn parallel_guesses_after_the_limit_get_one_try_between_waits() {
    let (fennec, _admin, _dir) = with_admin().await;
    for _ in 0..5 {
        let wrong = Secret::from_presented("wrong password!".into());
        let _ = fennec.sign_in("admin", wrong, NOW).await;
    }

    let guesses = (0..10).map(|_| {
        let fennec = fennec.clone();
        async move {
            let wrong = Secret::from_presented("wrong password!".into());
            fennec.sign_in("admin", wrong, NOW + 1).await
        }
    });
    let results = futures_join_all(guesses).await;

    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(ServiceError::SignInFailed)))
        .count();
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(ServiceError::Throttled(_))))
        .count();
    assert_eq!((checked, throttled), (1, 9));
}

/// Runs futures concurrently on the test runtime and collects their results in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

#[tokio::test]
async fn the_master_environment_takes_no_resources() {
    let (fennec, admin, _dir) = with_admin().await;
    let input = NewResourceInput {
        display_name: "Orders".into(),
        name: "orders".into(),
        scopes: vec!["read".into()],
    };

    let result = fennec
        .create_resource(&admin, "acme", "master", input, NOW)
        .await;

    let Err(ServiceError::Invalid(fields)) = result else {
        panic!("expected a refusal")
    };
    assert_eq!(fields[0].field, "environment");
}
