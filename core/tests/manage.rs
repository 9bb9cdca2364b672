//! Domain-level tests of managing registrations: edits, renames, type changes, scopes and
//! their grants, secrets, certificates, deletion, environments, tenants and the audit trail.

use fennec_core::error::TokenError;
use fennec_core::request::HttpTokenRequest;
use fennec_core::rules::ClientAuthMethod;
use fennec_core::secret::Secret;
use fennec_core::service::{
    Admin, Fennec, NewClientInput, NewResourceInput, SecretInput, ServiceError, TokenTarget,
};
use fennec_core::store::scratch::{first_start, ScratchDatabase};
use fennec_core::views::{ApplicationChanges, ApplicationKind, GrantInput};

const NOW: i64 = 1_800_000_000;

/// Tenant `acme` with resource `party-api2` (read1, read2) and client `backend`
/// (client_secret_post, granted both); returns the client's secret too.
struct World {
    fennec: Fennec,
    admin: Admin,
    secret: String,
    _database: ScratchDatabase,
}

async fn world() -> World {
    let database = ScratchDatabase::new().await;
    let fennec = Fennec::new(database.store().await, "http://fennec.test").unwrap();
    let admin = first_start(&fennec, "acme", NOW).await;
    let resource = NewResourceInput {
        display_name: "Party API 2".into(),
        name: "party-api2".into(),
        scopes: vec!["read1".into(), "read2".into()],
    };
    fennec
        .create_resource(&admin, "acme", "-", resource, NOW)
        .await
        .unwrap();
    let client = NewClientInput {
        display_name: "Backend".into(),
        name: "backend".into(),
        auth_method: ClientAuthMethod::ClientSecretPost,
        grants: vec![GrantInput {
            resource: "party-api2".into(),
            scopes: vec!["read1".into(), "read2".into()],
        }],
        certificates: vec![],
    };
    let created = fennec
        .create_client(&admin, "acme", "-", client, NOW)
        .await
        .unwrap();
    World {
        fennec,
        admin,
        secret: created.secret.unwrap(),
        _database: database,
    }
}

/// A token request at the environment's URL with `client_secret_post`.
async fn token(
    fennec: &Fennec,
    client: &str,
    secret: &str,
    scope: &str,
    now: i64,
) -> Result<serde_json::Value, TokenError> {
    let body = format!(
        "grant_type=client_credentials&client_id={client}&client_secret={secret}&scope={scope}"
    );
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
    let response = fennec.issue_token(target, &http, now).await?;
    Ok(serde_json::to_value(response).unwrap())
}

/// The edit view's current state of `app`, as changes to start from.
async fn changes_of(world: &World, app: &str) -> ApplicationChanges {
    let details = world
        .fennec
        .application_details(&world.admin, "acme", "-", app)
        .await
        .unwrap();
    ApplicationChanges {
        display_name: details.display_name,
        name: details.name,
        notes: details.notes,
        is_resource: matches!(
            details.kind,
            ApplicationKind::Resource | ApplicationKind::ClientAndResource
        ),
        is_client: details.auth_method.is_some(),
        scopes: details.scopes,
        auth_method: details.auth_method.unwrap_or_default(),
        grants: details.grants,
        token_lifetime_secs: details.token_lifetime_secs,
        client_credentials_enabled: details.client_credentials_enabled,
        confirm_grant_removal: false,
    }
}

async fn update(
    world: &World,
    app: &str,
    changes: ApplicationChanges,
) -> Result<fennec_core::views::ApplicationDetails, ServiceError> {
    world
        .fennec
        .update_application(&world.admin, "acme", "-", app, changes, NOW)
        .await
}

/// The field of a name (or certificate) already in use.
fn taken_field_of(result: Result<impl std::fmt::Debug, ServiceError>) -> String {
    match result {
        Err(ServiceError::Taken(field)) => field.field,
        other => panic!("expected a taken name, got {other:?}"),
    }
}

fn field_of(result: Result<impl std::fmt::Debug, ServiceError>) -> String {
    match result {
        Err(ServiceError::Invalid(fields)) => fields[0].field.clone(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn details_show_scopes_grants_secrets_and_who_is_granted() {
    let world = world().await;

    let resource = world
        .fennec
        .application_details(&world.admin, "acme", "-", "party-api2")
        .await
        .unwrap();
    assert_eq!(resource.scopes, ["read1", "read2"]);
    assert_eq!(
        resource.requestable_scopes,
        ["party-api2:read1", "party-api2:read2"]
    );
    assert_eq!(resource.granted_to, ["backend"]);
    assert_eq!(resource.auth_method, None);

    let client = world
        .fennec
        .application_details(&world.admin, "acme", "-", "backend")
        .await
        .unwrap();
    assert_eq!(client.auth_method, Some(ClientAuthMethod::ClientSecretPost));
    assert_eq!(client.grants[0].scopes, ["read1", "read2"]);
    assert_eq!(client.secrets.len(), 1);
    assert_eq!(client.token_lifetime_secs, 3_600);
    assert_eq!(
        client.token_url.as_deref(),
        Some("http://fennec.test/acme/-/backend/oauth/token")
    );
}

#[tokio::test]
async fn a_renamed_client_keeps_its_secret_and_grants_under_its_new_name() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.name = "Backend-2".into();
    changes.display_name = "Backend two".into();
    changes.notes = "Runs the nightly export.".into();

    let details = update(&world, "backend", changes).await.unwrap();

    assert_eq!(details.name, "backend-2");
    assert_eq!(details.notes, "Runs the nightly export.");
    assert_eq!(
        details.token_url.as_deref(),
        Some("http://fennec.test/acme/-/backend-2/oauth/token")
    );
    let issued = token(
        &world.fennec,
        "backend-2",
        &world.secret,
        "party-api2:read1",
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(issued["scope"], "party-api2:read1");
    let old = token(&world.fennec, "backend", &world.secret, "", NOW).await;
    assert_eq!(old.unwrap_err().code(), "invalid_client");
}

#[tokio::test]
async fn renaming_onto_a_taken_name_is_a_field_error_and_changes_nothing() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.name = "party-api2".into();
    changes.notes = "lost?".into();

    assert_eq!(
        taken_field_of(update(&world, "backend", changes).await),
        "name"
    );

    let details = changes_of(&world, "backend").await;
    assert_eq!(
        (details.name.as_str(), details.notes.as_str()),
        ("backend", "")
    );
}

#[tokio::test]
async fn removing_a_granted_scope_asks_first_then_takes_the_grant_away() {
    let world = world().await;
    let mut changes = changes_of(&world, "party-api2").await;
    changes.scopes = vec!["read1".into(), "write".into()];

    let asked = update(&world, "party-api2", changes.clone()).await;
    match asked {
        Err(ServiceError::NeedsConfirmation(message)) => {
            assert!(
                message.contains("read2") && message.contains("backend"),
                "{message}"
            );
        }
        other => panic!("expected a confirmation request, got {other:?}"),
    }
    assert_eq!(
        changes_of(&world, "party-api2").await.scopes,
        ["read1", "read2"]
    );

    changes.confirm_grant_removal = true;
    let details = update(&world, "party-api2", changes).await.unwrap();
    assert_eq!(details.scopes, ["read1", "write"]);

    let refused = token(
        &world.fennec,
        "backend",
        &world.secret,
        "party-api2:read2",
        NOW,
    )
    .await;
    assert_eq!(refused.unwrap_err().code(), "invalid_scope");
    let kept = token(
        &world.fennec,
        "backend",
        &world.secret,
        "party-api2:read1",
        NOW,
    )
    .await;
    assert!(kept.is_ok(), "the grant of a scope that stays is kept");
}

#[tokio::test]
async fn a_client_can_become_client_and_resource_and_back() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.is_resource = true;
    changes.scopes = vec!["callback".into()];

    let both = update(&world, "backend", changes.clone()).await.unwrap();
    assert_eq!(both.kind, ApplicationKind::ClientAndResource);
    assert_eq!(both.requestable_scopes, ["backend:callback"]);

    changes.is_resource = false;
    let client = update(&world, "backend", changes.clone()).await.unwrap();
    assert_eq!(client.kind, ApplicationKind::Client);
    assert!(client.scopes.is_empty());

    changes.is_client = false;
    changes.is_resource = false;
    assert_eq!(field_of(update(&world, "backend", changes).await), "kind");
}

#[tokio::test]
async fn a_client_that_stops_being_one_loses_its_secrets() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.is_client = false;
    changes.is_resource = true;
    changes.scopes = vec!["read".into()];

    let details = update(&world, "backend", changes).await.unwrap();

    assert_eq!(details.kind, ApplicationKind::Resource);
    assert!(details.secrets.is_empty());
    let refused = token(&world.fennec, "backend", &world.secret, "", NOW).await;
    assert_eq!(refused.unwrap_err().code(), "invalid_client");
}

#[tokio::test]
async fn lifetime_and_grant_switch_take_effect_at_the_token_endpoint() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.token_lifetime_secs = 299;
    assert_eq!(
        field_of(update(&world, "backend", changes.clone()).await),
        "token_lifetime_secs"
    );
    changes.token_lifetime_secs = 86_401;
    assert_eq!(
        field_of(update(&world, "backend", changes.clone()).await),
        "token_lifetime_secs"
    );

    changes.token_lifetime_secs = 600;
    update(&world, "backend", changes.clone()).await.unwrap();
    let issued = token(&world.fennec, "backend", &world.secret, "", NOW)
        .await
        .unwrap();
    assert_eq!(issued["expires_in"], 600);

    changes.client_credentials_enabled = false;
    update(&world, "backend", changes).await.unwrap();
    let refused = token(&world.fennec, "backend", &world.secret, "", NOW).await;
    assert_eq!(refused.unwrap_err().code(), "unauthorized_client");
}

#[tokio::test]
async fn changing_the_method_is_enforced_and_private_key_jwt_needs_a_certificate() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.auth_method = ClientAuthMethod::ClientSecretBasic;
    update(&world, "backend", changes.clone()).await.unwrap();
    let by_post = token(&world.fennec, "backend", &world.secret, "", NOW).await;
    assert_eq!(by_post.unwrap_err().code(), "invalid_client");

    changes.auth_method = ClientAuthMethod::PrivateKeyJwt;
    assert_eq!(
        field_of(update(&world, "backend", changes).await),
        "auth_method"
    );
}

#[tokio::test]
async fn grants_can_be_edited_and_must_name_existing_scopes() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.grants = vec![GrantInput {
        resource: "party-api2".into(),
        scopes: vec!["read2".into()],
    }];
    update(&world, "backend", changes.clone()).await.unwrap();
    let refused = token(
        &world.fennec,
        "backend",
        &world.secret,
        "party-api2:read1",
        NOW,
    )
    .await;
    assert_eq!(refused.unwrap_err().code(), "invalid_scope");

    changes.grants[0].scopes = vec!["nope".into()];
    assert_eq!(field_of(update(&world, "backend", changes).await), "grants");
}

#[tokio::test]
async fn added_secrets_authenticate_until_they_expire_and_ten_at_most() {
    let world = world().await;
    let typed = SecretInput {
        value: Some(Secret::from_admin("typed by hand 123").unwrap()),
        expires_at: Some(NOW + 100),
    };
    let added = world
        .fennec
        .add_client_secret(&world.admin, "acme", "-", "backend", typed, NOW)
        .await
        .unwrap();
    assert_eq!(added.value, None, "a typed secret is not repeated back");
    assert_eq!(
        added.secret.info, None,
        "secrets of 20 characters or fewer keep no info"
    );
    assert!(
        token(&world.fennec, "backend", "typed by hand 123", "", NOW + 99)
            .await
            .is_ok()
    );
    let expired = token(&world.fennec, "backend", "typed by hand 123", "", NOW + 100).await;
    assert_eq!(expired.unwrap_err().code(), "invalid_client");

    let generated = SecretInput {
        value: None,
        expires_at: None,
    };
    let added = world
        .fennec
        .add_client_secret(&world.admin, "acme", "-", "backend", generated.clone(), NOW)
        .await
        .unwrap();
    let value = added.value.unwrap();
    assert_eq!(value.len(), 43);
    assert_eq!(added.secret.info.as_deref(), Some(&value[..3]));
    assert!(token(&world.fennec, "backend", &value, "", NOW)
        .await
        .is_ok());

    for _ in 3..10 {
        world
            .fennec
            .add_client_secret(&world.admin, "acme", "-", "backend", generated.clone(), NOW)
            .await
            .unwrap();
    }
    let eleventh = world
        .fennec
        .add_client_secret(&world.admin, "acme", "-", "backend", generated, NOW)
        .await;
    assert_eq!(field_of(eleventh), "secret");

    let past = SecretInput {
        value: None,
        expires_at: Some(NOW),
    };
    let refused = world
        .fennec
        .add_client_secret(&world.admin, "acme", "-", "party-api2", past.clone(), NOW)
        .await;
    assert!(
        matches!(refused, Err(ServiceError::NotFound(_))),
        "a resource has no secrets"
    );
    let refused = world
        .fennec
        .add_client_secret(&world.admin, "acme", "-", "backend", past, NOW)
        .await;
    assert_eq!(field_of(refused), "expires_at");

    let audit = world
        .fennec
        .audit_trail(&world.admin, "acme", Some("backend"))
        .await
        .unwrap();
    assert_eq!(audit[0].action, "client_secret.added");
    assert!(audit.iter().all(|e| !e.detail.contains(&value)));
    assert!(audit.iter().all(|e| !e.detail.contains("typed by hand")));
}

fn certificate() -> String {
    use base64::Engine;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["signer.example.test".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    base64::engine::general_purpose::STANDARD.encode(cert.der())
}

#[tokio::test]
async fn certificates_are_added_and_removed_but_a_jwt_client_keeps_one() {
    let world = world().await;
    let first = world
        .fennec
        .add_client_certificate(&world.admin, "acme", "-", "backend", &certificate(), NOW)
        .await
        .unwrap();
    let twice = world
        .fennec
        .add_client_certificate(&world.admin, "acme", "-", "backend", &first.der_base64, NOW)
        .await;
    assert_eq!(taken_field_of(twice), "certificates");

    let mut changes = changes_of(&world, "backend").await;
    changes.auth_method = ClientAuthMethod::PrivateKeyJwt;
    update(&world, "backend", changes).await.unwrap();
    let last = world
        .fennec
        .remove_client_certificate(
            &world.admin,
            "acme",
            "-",
            "backend",
            &first.sha256_thumbprint,
            NOW,
        )
        .await;
    assert_eq!(field_of(last), "certificates");

    let second = world
        .fennec
        .add_client_certificate(&world.admin, "acme", "-", "backend", &certificate(), NOW)
        .await
        .unwrap();
    world
        .fennec
        .remove_client_certificate(
            &world.admin,
            "acme",
            "-",
            "backend",
            &first.sha256_thumbprint,
            NOW,
        )
        .await
        .unwrap();
    let details = changes_of(&world, "backend").await;
    assert_eq!(details.auth_method, ClientAuthMethod::PrivateKeyJwt);
    let listed = world
        .fennec
        .application_details(&world.admin, "acme", "-", "backend")
        .await
        .unwrap()
        .certificates;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sha256_thumbprint, second.sha256_thumbprint);

    for _ in 0..3 {
        world
            .fennec
            .add_client_certificate(&world.admin, "acme", "-", "backend", &certificate(), NOW)
            .await
            .unwrap();
    }
    let fifth = world
        .fennec
        .add_client_certificate(&world.admin, "acme", "-", "backend", &certificate(), NOW)
        .await;
    assert_eq!(field_of(fifth), "certificates");
}

#[tokio::test]
async fn deleting_a_granted_resource_asks_first_then_removes_the_grants() {
    let world = world().await;

    let asked = world
        .fennec
        .delete_application(&world.admin, "acme", "-", "party-api2", false, NOW)
        .await;
    assert!(matches!(asked, Err(ServiceError::NeedsConfirmation(ref m)) if m.contains("backend")));
    assert!(token(
        &world.fennec,
        "backend",
        &world.secret,
        "party-api2:read1",
        NOW
    )
    .await
    .is_ok());

    world
        .fennec
        .delete_application(&world.admin, "acme", "-", "party-api2", true, NOW)
        .await
        .unwrap();
    let refused = token(
        &world.fennec,
        "backend",
        &world.secret,
        "party-api2:read1",
        NOW,
    )
    .await;
    assert_eq!(refused.unwrap_err().code(), "invalid_scope");
    let apps = world
        .fennec
        .applications(&world.admin, "acme", "-")
        .await
        .unwrap();
    assert_eq!(apps.len(), 1);

    world
        .fennec
        .delete_application(&world.admin, "acme", "-", "backend", false, NOW)
        .await
        .unwrap();
    let gone = token(&world.fennec, "backend", &world.secret, "", NOW).await;
    assert_eq!(gone.unwrap_err().code(), "invalid_client");
    let again = world
        .fennec
        .delete_application(&world.admin, "acme", "-", "backend", true, NOW)
        .await;
    assert!(matches!(again, Err(ServiceError::NotFound(_))));
}

#[tokio::test]
async fn environments_are_created_with_their_own_keys_and_renamed() {
    let world = world().await;
    let test = world
        .fennec
        .create_environment(&world.admin, "acme", " Test ", "Test", NOW)
        .await
        .unwrap();
    assert_eq!(test.name, "test");

    let envs = world
        .fennec
        .environments(&world.admin, "acme")
        .await
        .unwrap();
    let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["-", "test", "master"], "master stays last");
    let production = world.fennec.jwks("acme", "-", NOW).await.unwrap().unwrap();
    let own = world
        .fennec
        .jwks("acme", "test", NOW)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(production["keys"][0]["kid"], own["keys"][0]["kid"]);

    let taken = world
        .fennec
        .create_environment(&world.admin, "acme", "test", "Again", NOW)
        .await;
    assert_eq!(taken_field_of(taken), "name");
    let bad = world
        .fennec
        .create_environment(&world.admin, "acme", "no spaces", "Bad", NOW)
        .await;
    assert_eq!(field_of(bad), "name");

    let renamed = world
        .fennec
        .rename_environment(&world.admin, "acme", "test", "Staging", NOW)
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "Staging");
    let unknown = world
        .fennec
        .rename_environment(&world.admin, "acme", "nowhere", "X", NOW)
        .await;
    assert!(matches!(unknown, Err(ServiceError::NotFound(_))));
}

#[tokio::test]
async fn another_tenant_gets_production_and_master() {
    let world = world().await;
    let tenant = world
        .fennec
        .create_tenant(&world.admin, "Contoso", NOW)
        .await
        .unwrap();
    assert_eq!(tenant, "contoso");
    let envs = world
        .fennec
        .environments(&world.admin, "contoso")
        .await
        .unwrap();
    let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["-", "master"]);
    let view = world.fennec.admin_view(&world.admin).await.unwrap();
    assert_eq!(view.tenants, ["acme", "contoso"]);

    assert_eq!(
        taken_field_of(world.fennec.create_tenant(&world.admin, "acme", NOW).await),
        "tenant"
    );
    assert_eq!(
        field_of(
            world
                .fennec
                .create_tenant(&world.admin, "console", NOW)
                .await
        ),
        "tenant"
    );
}

#[tokio::test]
async fn the_audit_trail_lists_changes_newest_first_and_filters_by_registration() {
    let world = world().await;
    let mut changes = changes_of(&world, "backend").await;
    changes.token_lifetime_secs = 900;
    update(&world, "backend", changes).await.unwrap();

    let all = world
        .fennec
        .audit_trail(&world.admin, "acme", None)
        .await
        .unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "application.updated",
            "client.created",
            "resource.created",
            "tenant.created"
        ]
    );
    assert!(
        all[0].detail.contains("lifetime: 900 s"),
        "{}",
        all[0].detail
    );
    assert_eq!(all[0].actor, "admin");

    let backend = world
        .fennec
        .audit_trail(&world.admin, "acme", Some("backend"))
        .await
        .unwrap();
    assert_eq!(backend.len(), 2);
    assert!(backend
        .iter()
        .all(|e| e.target.as_deref() == Some("backend")));
}

#[tokio::test]
async fn renaming_a_granted_resource_asks_first_and_keeps_the_grants() {
    let world = world().await;
    let mut changes = changes_of(&world, "party-api2").await;
    changes.name = "party-api3".into();

    let asked = update(&world, "party-api2", changes.clone()).await;
    assert!(
        matches!(asked, Err(ServiceError::NeedsConfirmation(ref m)) if m.contains("backend")),
        "{asked:?}"
    );
    assert_eq!(changes_of(&world, "party-api2").await.name, "party-api2");

    changes.confirm_grant_removal = true;
    update(&world, "party-api2", changes).await.unwrap();
    let issued = token(
        &world.fennec,
        "backend",
        &world.secret,
        "party-api3:read1",
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(issued["scope"], "party-api3:read1");
}
