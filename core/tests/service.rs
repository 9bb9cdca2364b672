//! Domain-level tests of first start, sign-in and registration rules, each on a fresh database.

use fennec_core::error::TokenError;
use fennec_core::keys::SigningAlg;
use fennec_core::replay::ReplayLedger;
use fennec_core::request::HttpTokenRequest;
use fennec_core::rules::ClientAuthMethod;
use fennec_core::secret::Secret;
use fennec_core::service::SecretInput;
use fennec_core::service::{
    parse_signing_alg, Admin, Fennec, NewClientInput, NewResourceInput, ServiceError, SetupInput,
    TokenTarget,
};
use fennec_core::store::scratch::ScratchDatabase;
use fennec_core::store::AssertionClaim;
use fennec_core::views::{ApplicationKind, GrantInput};

const NOW: i64 = 1_800_000_000;
const PASSWORD: &str = "a long enough password";

async fn fresh() -> (Fennec, ScratchDatabase) {
    let database = ScratchDatabase::new().await;
    let store = database.store().await;
    (Fennec::new(store, "http://fennec.test/").unwrap(), database)
}

fn setup_input(token: &str, tenant: &str) -> SetupInput {
    SetupInput {
        token: token.into(),
        username: "Admin".into(),
        password: Secret::from_presented(PASSWORD.into()),
        tenant: tenant.into(),
    }
}

async fn with_admin() -> (Fennec, Admin, ScratchDatabase) {
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
async fn a_taken_name_is_a_taken_field() {
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

    let Err(ServiceError::Taken(field)) = fennec
        .create_resource(&admin, "acme", "-", input(), NOW)
        .await
    else {
        panic!("expected a taken name");
    };

    assert_eq!(field.field, "name");
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
        certificates: vec![],
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
        certificates: vec![],
    };

    let created = fennec
        .create_client(&admin, "acme", "-", client, NOW)
        .await
        .unwrap();

    let secret = created
        .secret
        .clone()
        .expect("a secret client gets a secret");
    assert_eq!(secret.len(), 43);
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
        !audit[0].detail.contains(&secret),
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

/// A self-signed certificate for a new key of the given kind, DER in standard base64.
fn certificate_for(alg: &'static rcgen::SignatureAlgorithm) -> String {
    use base64::Engine;
    let key = rcgen::KeyPair::generate_for(alg).unwrap();
    let params = rcgen::CertificateParams::new(vec!["client.example.test".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    base64::engine::general_purpose::STANDARD.encode(cert.der())
}

fn jwt_client(certificates: Vec<String>) -> NewClientInput {
    NewClientInput {
        display_name: "Signer".into(),
        name: "signer".into(),
        auth_method: ClientAuthMethod::PrivateKeyJwt,
        grants: vec![],
        certificates,
    }
}

/// The field errors of a refused registration, or a failure naming what happened instead.
async fn certificate_errors(fennec: &Fennec, admin: &Admin, input: NewClientInput) -> String {
    match fennec.create_client(admin, "acme", "-", input, NOW).await {
        Err(ServiceError::Invalid(errors)) => {
            assert!(
                errors.iter().all(|e| e.field == "certificates"),
                "{errors:?}"
            );
            let apps = fennec.applications(admin, "acme", "-").await.unwrap();
            assert!(
                apps.is_empty(),
                "nothing is written when a client is refused"
            );
            errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join(" | ")
        }
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[tokio::test]
async fn private_key_jwt_client_keeps_its_certificates_and_gets_no_secret() {
    let (fennec, admin, _dir) = with_admin().await;
    let input = jwt_client(vec![
        certificate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        certificate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
    ]);
    let created = fennec
        .create_client(&admin, "acme", "-", input, NOW)
        .await
        .unwrap();
    assert_eq!(created.secret, None);
    let audit = fennec.audit_log(&admin, "acme").await.unwrap();
    assert!(audit[0].detail.starts_with("method: private_key_jwt"));
    assert!(audit[0].detail.contains("certificates: "));
}

#[tokio::test]
async fn private_key_jwt_client_needs_a_certificate() {
    let (fennec, admin, _dir) = with_admin().await;
    let message = certificate_errors(&fennec, &admin, jwt_client(vec![])).await;
    assert!(message.contains("at least one certificate"), "{message}");
}

#[tokio::test]
async fn more_than_four_certificates_are_refused() {
    let (fennec, admin, _dir) = with_admin().await;
    let five = (0..5)
        .map(|_| certificate_for(&rcgen::PKCS_ECDSA_P256_SHA256))
        .collect();
    let message = certificate_errors(&fennec, &admin, jwt_client(five)).await;
    assert!(message.contains("at most 4"), "{message}");
}

#[tokio::test]
async fn duplicate_certificate_is_refused() {
    let (fennec, admin, _dir) = with_admin().await;
    let cert = certificate_for(&rcgen::PKCS_ECDSA_P256_SHA256);
    let message = certificate_errors(&fennec, &admin, jwt_client(vec![cert.clone(), cert])).await;
    assert!(message.contains("duplicate"), "{message}");
}

#[tokio::test]
async fn ed25519_certificate_is_an_unsupported_key_type() {
    let (fennec, admin, _dir) = with_admin().await;
    let cert = certificate_for(&rcgen::PKCS_ED25519);
    let message = certificate_errors(&fennec, &admin, jwt_client(vec![cert])).await;
    assert!(
        message.contains("Ed25519") && message.contains("not supported"),
        "{message}"
    );
}

#[tokio::test]
async fn rsa_1024_certificate_is_refused() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let der_path = dir.path().join("small.der");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/CN=small", "-outform", "DER", "-out"])
        .arg(&der_path)
        .arg("-keyout")
        .arg(dir.path().join("small.key"))
        .output()
        .expect("the openssl command is installed");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let der = std::fs::read(der_path).unwrap();
    let cert = base64::engine::general_purpose::STANDARD.encode(der);
    let (fennec, admin, _dir) = with_admin().await;
    let message = certificate_errors(&fennec, &admin, jwt_client(vec![cert])).await;
    assert!(message.contains("1024 bits"), "{message}");
}

#[tokio::test]
async fn text_that_is_not_a_certificate_is_refused() {
    let (fennec, admin, _dir) = with_admin().await;
    let message = certificate_errors(
        &fennec,
        &admin,
        jwt_client(vec!["bm90IGEgY2VydGlmaWNhdGU=".into(), "%%%".into()]),
    )
    .await;
    assert!(
        message.contains("Certificate 1: The file is not an X.509 certificate"),
        "{message}"
    );
    assert!(message.contains("Certificate 2:"), "{message}");
}

#[tokio::test]
async fn secret_client_with_a_certificate_is_refused() {
    let (fennec, admin, _dir) = with_admin().await;
    let mut input = jwt_client(vec![certificate_for(&rcgen::PKCS_ECDSA_P256_SHA256)]);
    input.auth_method = ClientAuthMethod::ClientSecretPost;
    let message = certificate_errors(&fennec, &admin, input).await;
    assert!(
        message.contains("only by clients that authenticate with private key JWT"),
        "{message}"
    );
}

#[tokio::test]
async fn strict_assertion_audience_is_switched_per_environment_and_audited() {
    let (fennec, admin, _dir) = with_admin().await;
    assert!(!fennec.strict_assertion_audience("acme", "-").await.unwrap());

    fennec
        .set_strict_assertion_audience(&admin, "acme", "-", true, NOW)
        .await
        .unwrap();

    assert!(fennec.strict_assertion_audience("acme", "-").await.unwrap());
    assert!(!fennec
        .strict_assertion_audience("acme", "master")
        .await
        .unwrap());
    let audit = fennec.audit_log(&admin, "acme").await.unwrap();
    assert_eq!(audit[0].action, "environment.assertion_audience_changed");
    let unknown = fennec
        .set_strict_assertion_audience(&admin, "acme", "nowhere", true, NOW)
        .await;
    assert!(matches!(unknown, Err(ServiceError::NotFound(_))));
}

#[tokio::test]
async fn assertion_ids_are_single_use_until_they_expire_and_then_pruned() {
    let (fennec, admin, dir) = with_admin().await;
    let input = jwt_client(vec![certificate_for(&rcgen::PKCS_ECDSA_P256_SHA256)]);
    fennec
        .create_client(&admin, "acme", "-", input, NOW)
        .await
        .unwrap();
    let store = dir.store().await;
    let app = store
        .application("acme", "-", "signer")
        .await
        .unwrap()
        .unwrap();
    let exp = NOW + 100;

    assert!(store
        .claim_assertion_id(&app.id, "j1", exp, NOW)
        .await
        .unwrap());
    assert!(!store
        .claim_assertion_id(&app.id, "j1", exp, NOW + 99)
        .await
        .unwrap());
    assert!(store
        .claim_assertion_id(&app.id, "j2", exp, NOW)
        .await
        .unwrap());
    // Once its assertion has expired, a jti may be used again by a new assertion.
    assert!(store
        .claim_assertion_id(&app.id, "j1", NOW + 300, NOW + 101)
        .await
        .unwrap());

    assert_eq!(
        store.prune_assertion_ids(NOW + 200).await.unwrap(),
        1,
        "j2 expired"
    );
    assert!(!store
        .claim_assertion_id(&app.id, "j1", NOW + 300, NOW + 250)
        .await
        .unwrap());
}

fn claim(application_id: &str, jti: &str, expires_at: i64) -> AssertionClaim {
    AssertionClaim {
        application_id: application_id.to_string(),
        jti: jti.to_string(),
        expires_at,
    }
}

async fn signer_id(fennec: &Fennec, admin: &Admin, dir: &ScratchDatabase) -> String {
    let input = jwt_client(vec![certificate_for(&rcgen::PKCS_ECDSA_P256_SHA256)]);
    fennec
        .create_client(admin, "acme", "-", input, NOW)
        .await
        .unwrap();
    let store = dir.store().await;
    store
        .application("acme", "-", "signer")
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_list_of_assertion_ids_is_answered_use_by_use_in_order() {
    let (fennec, admin, dir) = with_admin().await;
    let app = signer_id(&fennec, &admin, &dir).await;
    let store = dir.store().await;
    assert!(store
        .claim_assertion_id(&app, "used", NOW + 100, NOW)
        .await
        .unwrap());
    assert!(store
        .claim_assertion_id(&app, "expired", NOW + 10, NOW)
        .await
        .unwrap());

    let claims = [
        claim(&app, "used", NOW + 100),
        claim(&app, "fresh", NOW + 100),
        claim(&app, "fresh", NOW + 100),
        claim(&app, "expired", NOW + 100),
        claim(&app, "other", NOW + 100),
    ];
    let first_use = store.claim_assertion_ids(&claims, NOW + 20).await.unwrap();
    assert_eq!(first_use, [false, true, false, true, true]);

    // More ids than one statement takes: every one is new once, and used the second time.
    let many: Vec<_> = (0..450)
        .map(|i| claim(&app, &format!("many-{i}"), NOW + 100))
        .collect();
    let first_use = store.claim_assertion_ids(&many, NOW).await.unwrap();
    assert!(first_use.iter().all(|&first| first));
    let again = store.claim_assertion_ids(&many, NOW).await.unwrap();
    assert!(again.iter().all(|&first| !first));
    assert!(store
        .claim_assertion_ids(&[], NOW)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_uses_of_one_assertion_id_let_exactly_one_through() {
    let (fennec, admin, dir) = with_admin().await;
    let app = signer_id(&fennec, &admin, &dir).await;
    let store = dir.store().await;
    let ledger = std::sync::Arc::new(ReplayLedger::new());

    let race = |jti: fn(usize) -> String| {
        let (ledger, store, app) = (ledger.clone(), store.clone(), app.clone());
        futures_join_all((0..48).map(move |i| {
            let (ledger, store, app) = (ledger.clone(), store.clone(), app.clone());
            async move {
                ledger
                    .claim(&store, claim(&app, &jti(i), NOW + 100), NOW)
                    .await
                    .unwrap()
            }
        }))
    };
    let same = race(|_| "same".to_string()).await;
    assert_eq!(same.iter().filter(|&&first| first).count(), 1, "{same:?}");
    let distinct = race(|i| format!("distinct-{i}")).await;
    assert!(distinct.iter().all(|&first| first), "{distinct:?}");
    let replayed = race(|i| format!("distinct-{i}")).await;
    assert!(replayed.iter().all(|&first| !first), "{replayed:?}");
}

#[tokio::test]
async fn on_sqlite_assertion_ids_are_written_through_one_connection_of_their_own() {
    let (fennec, admin, dir) = with_admin().await;
    let app = signer_id(&fennec, &admin, &dir).await;
    let store = dir.store().await;
    let ledger = ReplayLedger::new();

    for i in 0..5 {
        let jti = format!("own-{i}");
        assert!(ledger
            .claim(&store, claim(&app, &jti, NOW + 100), NOW)
            .await
            .unwrap());
    }

    match store.backend() {
        "sqlite" => assert_eq!(store.ledger_connections(), Some(1)),
        _ => assert_eq!(store.ledger_connections(), None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_use_the_database_refuses_fails_alone_among_uses_written_together() {
    let (fennec, admin, dir) = with_admin().await;
    let app = signer_id(&fennec, &admin, &dir).await;
    let store = dir.store().await;
    let ledger = std::sync::Arc::new(ReplayLedger::new());
    // A use by a client that no longer exists breaks the foreign key of its row.
    let answers = futures_join_all((0..32).map(|i| {
        let (ledger, store) = (ledger.clone(), store.clone());
        let owner = if i % 8 == 0 {
            "deleted-client".to_string()
        } else {
            app.clone()
        };
        async move {
            let first_use = ledger
                .claim(&store, claim(&owner, &format!("j{i}"), NOW + 100), NOW)
                .await;
            (i, first_use)
        }
    }))
    .await;
    for (i, first_use) in answers {
        match i % 8 {
            0 => assert!(first_use.is_err(), "use {i}: {first_use:?}"),
            _ => assert_eq!(first_use, Ok(true), "use {i}"),
        }
    }
}

#[tokio::test]
async fn a_used_assertion_id_outlives_its_expiry_by_a_margin_before_it_is_removed() {
    use base64::Engine;
    let (fennec, admin, dir) = with_admin().await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["client.example.test".into()]).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let certificate = base64::engine::general_purpose::STANDARD.encode(der);
    fennec
        .create_client(&admin, "acme", "-", jwt_client(vec![certificate]), NOW)
        .await
        .unwrap();
    let signing_key =
        jsonwebtoken::EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap();
    let present = |jti: &'static str, iat: i64, exp: i64| {
        let claims = serde_json::json!({
            "iss": "signer", "sub": "signer", "aud": "http://fennec.test/acme/-/",
            "jti": jti, "iat": iat, "exp": exp,
        });
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let assertion = jsonwebtoken::encode(&header, &claims, &signing_key).unwrap();
        let body = format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A\
             client-assertion-type%3Ajwt-bearer&client_assertion={assertion}"
        );
        let fennec = fennec.clone();
        async move { token_for(&fennec, &body, iat).await }
    };
    present("first", NOW, NOW + 10).await.unwrap();
    // A minute later expired ids are removed, but not one that expired 51 seconds ago.
    present("second", NOW + 61, NOW + 100).await.unwrap();
    let store = dir.store().await;
    let app = store
        .application("acme", "-", "signer")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(!store
        .claim_assertion_id(&app, "first", NOW + 10, NOW + 5)
        .await
        .unwrap());
}

#[tokio::test]
async fn urls_of_an_unknown_environment_are_not_made_up() {
    let (fennec, _admin, _dir) = with_admin().await;
    let urls = fennec.existing_environment_urls("acme", "-").await.unwrap();
    assert_eq!(urls.authority, "http://fennec.test/acme/-/");
    let unknown = fennec.existing_environment_urls("acme", "nowhere").await;
    assert!(matches!(unknown, Err(ServiceError::NotFound(_))));
}

/// Creates `worker`, a `client_secret_post` client with no grants; returns its secret.
async fn secret_client(fennec: &Fennec, admin: &Admin) -> String {
    let client = NewClientInput {
        display_name: "Worker".into(),
        name: "worker".into(),
        auth_method: ClientAuthMethod::ClientSecretPost,
        grants: vec![],
        certificates: vec![],
    };
    let created = fennec
        .create_client(admin, "acme", "-", client, NOW)
        .await
        .unwrap();
    created.secret.unwrap()
}

/// The token endpoint's answer at `now` to a form `body` posted to Production of `acme`.
async fn token_for(
    fennec: &Fennec,
    body: &str,
    now: i64,
) -> Result<fennec_core::token::TokenResponse, TokenError> {
    let http = HttpTokenRequest {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded"),
        authorization: None,
        body: body.as_bytes(),
    };
    let target = TokenTarget {
        tenant: "acme",
        environment: "-",
        application: None,
    };
    fennec.issue_token(target, &http, now).await
}

/// The `kid` in the header of a token issued to `worker` at `now`, or the refusal.
async fn token_kid(fennec: &Fennec, secret: &str, now: i64) -> Result<String, TokenError> {
    let body = format!("grant_type=client_credentials&client_id=worker&client_secret={secret}");
    let token = token_for(fennec, &body, now).await?;
    let header = jsonwebtoken::decode_header(&token.access_token).unwrap();
    Ok(header.kid.unwrap())
}

async fn published_kids(fennec: &Fennec, now: i64) -> Vec<String> {
    let jwks = fennec.jwks("acme", "-", now).await.unwrap().unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_after() {
    let (fennec, admin, _dir) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    let old = token_kid(&fennec, &secret, NOW).await.unwrap();

    let next = fennec
        .rotate_signing_key(&admin, "acme", "-", None, 3_600, NOW)
        .await
        .unwrap();
    assert_eq!(next.state, "next");
    assert_eq!(next.alg, "RS256", "the signer's algorithm by default");
    assert_eq!(next.activates_at, Some(NOW + 3_600));
    assert_eq!(
        published_kids(&fennec, NOW).await,
        [old.clone(), next.kid.clone()]
    );
    assert_eq!(token_kid(&fennec, &secret, NOW + 3_599).await.unwrap(), old);

    // Once the grace period is over the next key signs; the old one stays published for the
    // longest token lifetime of the environment's clients (3,600 s here), then goes.
    assert_eq!(
        token_kid(&fennec, &secret, NOW + 3_600).await.unwrap(),
        next.kid
    );
    let keys = fennec
        .signing_key_list(&admin, "acme", "-", NOW + 3_600)
        .await
        .unwrap();
    let states: Vec<_> = keys
        .iter()
        .map(|k| (k.kid.clone(), k.state.clone()))
        .collect();
    assert_eq!(
        states,
        [
            (next.kid.clone(), "primary".into()),
            (old.clone(), "retired".into())
        ]
    );
    assert_eq!(keys[1].retires_at, Some(NOW + 7_200));
    assert_eq!(
        published_kids(&fennec, NOW + 7_199).await,
        [next.kid.clone(), old.clone()]
    );
    assert_eq!(
        published_kids(&fennec, NOW + 7_200).await,
        vec![next.kid.clone()]
    );

    let audit = fennec.audit_log(&admin, "acme").await.unwrap();
    assert_eq!(audit[0].action, "signing_key.rotation_started");
    assert_eq!(audit[0].target, Some(next.kid));
}

#[tokio::test]
async fn an_immediate_rotation_to_es256_signs_at_once() {
    let (fennec, admin, _dir) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    let old = token_kid(&fennec, &secret, NOW).await.unwrap();

    let key = fennec
        .rotate_signing_key(&admin, "acme", "-", Some(SigningAlg::ES256), 0, NOW)
        .await
        .unwrap();

    assert_eq!((key.state.as_str(), key.alg.as_str()), ("primary", "ES256"));
    let token = token_kid(&fennec, &secret, NOW).await.unwrap();
    assert_eq!(token, key.kid);
    assert!(published_kids(&fennec, NOW).await.contains(&old));
}

#[tokio::test]
async fn a_second_rotation_waits_for_the_first_and_grace_is_bounded() {
    let (fennec, admin, _dir) = with_admin().await;
    fennec
        .rotate_signing_key(&admin, "acme", "-", None, 600, NOW)
        .await
        .unwrap();

    let again = fennec
        .rotate_signing_key(&admin, "acme", "-", None, 600, NOW + 1)
        .await;
    assert!(matches!(again, Err(ServiceError::Invalid(ref f)) if f[0].field == "rotation"));
    let too_long = fennec
        .rotate_signing_key(&admin, "acme", "-", None, 31 * 86_400, NOW + 1)
        .await;
    assert!(matches!(too_long, Err(ServiceError::Invalid(ref f)) if f[0].field == "grace"));
    let unknown = fennec
        .rotate_signing_key(&admin, "acme", "nowhere", None, 0, NOW)
        .await;
    assert!(matches!(unknown, Err(ServiceError::NotFound(_))));

    // After the first one signs, a new rotation may start.
    fennec
        .rotate_signing_key(&admin, "acme", "-", None, 0, NOW + 600)
        .await
        .unwrap();
    let keys = fennec
        .signing_key_list(&admin, "acme", "-", NOW + 600)
        .await
        .unwrap();
    assert_eq!(keys.iter().filter(|k| k.state == "primary").count(), 1);
}

#[tokio::test]
async fn a_removed_secret_no_longer_authenticates() {
    let (fennec, admin, _dir) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    assert!(token_kid(&fennec, &secret, NOW).await.is_ok());

    let secrets = fennec
        .client_secret_list(&admin, "acme", "-", "worker")
        .await
        .unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].info.as_deref(), Some(&secret[..3]));
    fennec
        .remove_client_secret(&admin, "acme", "-", "worker", &secrets[0].id, NOW)
        .await
        .unwrap();

    let refused = token_kid(&fennec, &secret, NOW).await.unwrap_err();
    assert_eq!(refused.code(), "invalid_client");
    assert!(fennec
        .client_secret_list(&admin, "acme", "-", "worker")
        .await
        .unwrap()
        .is_empty());
    let again = fennec
        .remove_client_secret(&admin, "acme", "-", "worker", &secrets[0].id, NOW)
        .await;
    assert!(matches!(again, Err(ServiceError::NotFound(_))));
    let audit = fennec.audit_log(&admin, "acme").await.unwrap();
    assert_eq!(audit[0].action, "client_secret.removed");
    assert!(!audit[0].detail.contains(&secret));
}

#[test]
fn signing_algorithms_are_named_as_in_jose() {
    assert_eq!(parse_signing_alg("es256").unwrap(), SigningAlg::ES256);
    assert_eq!(parse_signing_alg(" RS256 ").unwrap(), SigningAlg::RS256);
    assert!(matches!(
        parse_signing_alg("HS256"),
        Err(ServiceError::Invalid(ref f)) if f[0].field == "alg"
    ));
}

#[tokio::test]
async fn a_proven_secret_skips_argon2_until_it_is_removed() {
    let (fennec, admin, _dir) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    assert!(token_kid(&fennec, &secret, NOW).await.is_ok());
    let after_first = fennec.hashing_runs();

    assert!(token_kid(&fennec, &secret, NOW).await.is_ok());
    assert_eq!(
        fennec.hashing_runs(),
        after_first,
        "the second request hashed nothing"
    );

    let wrong = format!("{secret}x");
    assert_eq!(
        token_kid(&fennec, &wrong, NOW).await.unwrap_err().code(),
        "invalid_client"
    );
    assert_eq!(
        fennec.hashing_runs(),
        after_first + 1,
        "a wrong secret is checked"
    );

    let secrets = fennec
        .client_secret_list(&admin, "acme", "-", "worker")
        .await
        .unwrap();
    fennec
        .remove_client_secret(&admin, "acme", "-", "worker", &secrets[0].id, NOW)
        .await
        .unwrap();
    let refused = token_kid(&fennec, &secret, NOW).await.unwrap_err();
    assert_eq!(refused.code(), "invalid_client");
}

#[tokio::test]
async fn a_secret_removed_by_another_instance_stops_passing_here_within_a_second() {
    let (fennec, admin, database) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    assert!(token_kid(&fennec, &secret, NOW).await.is_ok());

    // Another instance on the same database removes it; this one still remembers the proof.
    remove_secret_elsewhere(&database, &admin).await;

    // This instance may use what it read for half a second; after that the secret fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let refused = loop {
        match token_kid(&fennec, &secret, NOW).await {
            Err(refused) => break refused,
            Ok(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Ok(_) => panic!("the removed secret still passes after a second"),
        }
    };
    assert_eq!(refused.code(), "invalid_client");
}

/// The id of `worker`'s oldest secret.
async fn first_secret_id(fennec: &Fennec, admin: &Admin) -> String {
    fennec
        .client_secret_list(admin, "acme", "-", "worker")
        .await
        .unwrap()[0]
        .id
        .clone()
}

/// Removes `worker`'s oldest secret through a second service on the same database, as another
/// instance would.
async fn remove_secret_elsewhere(database: &ScratchDatabase, admin: &Admin) {
    let other = Fennec::new(database.store().await, "http://fennec.test/").unwrap();
    let id = first_secret_id(&other, admin).await;
    other
        .remove_client_secret(admin, "acme", "-", "worker", &id, NOW)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sweep_drops_the_proof_of_a_secret_removed_elsewhere_without_another_request() {
    let (fennec, admin, database) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    assert!(token_kid(&fennec, &secret, NOW).await.is_ok());
    assert_eq!(fennec.proven_secrets_held(), 1);

    fennec.sweep_proven_secrets(NOW).await.unwrap();
    assert_eq!(
        fennec.proven_secrets_held(),
        1,
        "a stored secret keeps its proof"
    );

    remove_secret_elsewhere(&database, &admin).await;
    fennec.sweep_proven_secrets(NOW).await.unwrap();
    assert_eq!(fennec.proven_secrets_held(), 0);
}

/// Adds a generated secret to `worker` at `now`, expiring at `expires_at`.
async fn add_generated_secret(
    fennec: &Fennec,
    admin: &Admin,
    expires_at: Option<i64>,
    now: i64,
) -> fennec_core::views::AddedSecret {
    let input = SecretInput {
        value: None,
        expires_at,
    };
    fennec
        .add_client_secret(admin, "acme", "-", "worker", input, now)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sweep_drops_the_proof_of_a_secret_once_it_expires() {
    let (fennec, admin, _dir) = with_admin().await;
    secret_client(&fennec, &admin).await;
    let expiring = add_generated_secret(&fennec, &admin, Some(NOW + 60), NOW)
        .await
        .value
        .unwrap();
    assert!(token_kid(&fennec, &expiring, NOW).await.is_ok());

    fennec.sweep_proven_secrets(NOW + 59).await.unwrap();
    assert_eq!(fennec.proven_secrets_held(), 1, "not expired yet");
    fennec.sweep_proven_secrets(NOW + 60).await.unwrap();
    assert_eq!(fennec.proven_secrets_held(), 0);
}

#[tokio::test]
async fn the_sweep_runs_by_itself_at_its_interval() {
    let (fennec, admin, database) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    assert!(token_kid(&fennec, &secret, NOW).await.is_ok());
    let sweeping = tokio::spawn(
        fennec
            .clone()
            .sweep_proven_secrets_every(std::time::Duration::from_millis(20)),
    );

    remove_secret_elsewhere(&database, &admin).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while fennec.proven_secrets_held() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the proof outlived its secret"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sweeping.abort();
}

#[tokio::test]
async fn a_sweep_drops_the_proof_of_a_client_deleted_elsewhere() {
    let (fennec, admin, database) = with_admin().await;
    let secret = secret_client(&fennec, &admin).await;
    assert!(token_kid(&fennec, &secret, NOW).await.is_ok());

    let other = Fennec::new(database.store().await, "http://fennec.test/").unwrap();
    other
        .delete_application(&admin, "acme", "-", "worker", false, NOW)
        .await
        .unwrap();
    assert_eq!(
        fennec.proven_secrets_held(),
        1,
        "nothing told this instance"
    );
    fennec.sweep_proven_secrets(NOW).await.unwrap();
    assert_eq!(fennec.proven_secrets_held(), 0);
}

#[tokio::test]
async fn removed_secrets_are_noted_for_an_hour_and_a_failed_removal_notes_nothing() {
    let (fennec, admin, database) = with_admin().await;
    secret_client(&fennec, &admin).await;
    let store = database.store().await;
    let refused = fennec
        .remove_client_secret(&admin, "acme", "-", "worker", "no-such-secret", NOW)
        .await;
    assert!(matches!(refused, Err(ServiceError::NotFound(_))));
    assert!(store.secrets_removed_since(0).await.unwrap().is_empty());

    let first = first_secret_id(&fennec, &admin).await;
    fennec
        .remove_client_secret(&admin, "acme", "-", "worker", &first, NOW)
        .await
        .unwrap();
    let noted = store.secrets_removed_since(NOW).await.unwrap();
    assert_eq!(noted.len(), 1);
    assert_eq!(noted[0].1, first);

    // The next removal, over an hour later, forgets the first note.
    let later = NOW + fennec_core::store::REMOVED_SECRETS_KEPT_SECS + 1;
    let second = add_generated_secret(&fennec, &admin, None, later)
        .await
        .secret
        .id;
    fennec
        .remove_client_secret(&admin, "acme", "-", "worker", &second, later)
        .await
        .unwrap();
    let noted: Vec<String> = store
        .secrets_removed_since(0)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, secret_id)| secret_id)
        .collect();
    assert_eq!(noted, [second]);
}
