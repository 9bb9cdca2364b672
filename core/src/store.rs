//! Persistence of Fennec's registrations, keys, administrators and sessions (SQLite for now).

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{FromRow, SqlitePool};
use std::str::FromStr;

/// A failure of the storage layer; the message is for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database refused the operation: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the database failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the failure is a uniqueness violation, e.g. a name already taken.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// Handle to Fennec's database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

#[derive(Debug, Clone, FromRow)]
pub struct AdminRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct EnvironmentRow {
    pub tenant: String,
    pub name: String,
    pub display_name: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub private_der: Vec<u8>,
    pub state: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct ApplicationRow {
    pub id: String,
    pub tenant: String,
    pub environment: String,
    pub name: String,
    pub display_name: String,
    pub is_resource: bool,
    pub is_client: bool,
    pub auth_method: Option<String>,
    pub token_lifetime_secs: i64,
    pub client_credentials_enabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ScopeRow {
    pub application_id: String,
    pub scope: String,
}

/// A granted scope, with the name of the resource it belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct GrantRow {
    pub resource_name: String,
    pub scope: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct SecretRow {
    pub id: String,
    pub hash: String,
    pub info: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// Everything written when a new application registration is created, in one transaction.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub id: String,
    pub tenant: String,
    pub environment: String,
    pub name: String,
    pub display_name: String,
    pub is_resource: bool,
    pub is_client: bool,
    pub auth_method: Option<String>,
    pub token_lifetime_secs: i64,
    pub scopes: Vec<String>,
    /// (resource application id, scope) pairs.
    pub grants: Vec<(String, String)>,
    pub secret: Option<NewSecret>,
    pub certificates: Vec<NewCertificate>,
    pub created_at: i64,
}

/// A client certificate to keep: only the public DER and its SHA-256 thumbprint.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub id: String,
    pub der: Vec<u8>,
    pub sha256_thumbprint: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct CertificateRow {
    pub id: String,
    pub der: Vec<u8>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewSecret {
    pub id: String,
    pub hash: String,
    pub info: Option<String>,
    pub expires_at: Option<i64>,
}

/// A new environment with its first signing key.
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub name: String,
    pub display_name: String,
    pub sort_order: i64,
    pub key_kid: String,
    pub key_alg: String,
    pub key_der: Vec<u8>,
}

/// Everything the first-start setup writes, in one transaction.
#[derive(Debug, Clone)]
pub struct InitialSetup {
    pub setup_token_hash: String,
    pub admin: AdminRow,
    pub tenant: String,
    pub environments: Vec<NewEnvironment>,
    pub session_token_hash: String,
    pub session_expires_at: i64,
    pub audit: AuditEntry,
    pub now: i64,
}

/// Why the first-start setup did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SetupRefused {
    #[error("the setup link is not valid or was already used")]
    InvalidToken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;

        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Whether any administrator exists yet.
    pub async fn has_admin(&self) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
            .fetch_one(&self.pool)
            .await?;
        Ok(count > 0)
    }

    /// Replaces any earlier setup token with this one.
    pub async fn replace_setup_token(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)")
            .bind(token_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether this setup token is the current one and no administrator exists yet.
    pub async fn setup_token_is_valid(&self, token_hash: &str) -> Result<bool, StoreError> {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ? \
             AND NOT EXISTS (SELECT 1 FROM admins)",
        )
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await?;
        Ok(found > 0)
    }

    /// Consumes the setup token and writes the first administrator, tenant and session.
    pub async fn complete_setup(&self, setup: &InitialSetup) -> Result<(), SetupRefused> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;

        // Deleting the token first makes a concurrent second use find nothing to delete.
        let consumed = sqlx::query(
            "DELETE FROM setup_tokens WHERE token_hash = ? AND NOT EXISTS (SELECT 1 FROM admins)",
        )
        .bind(&setup.setup_token_hash)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if consumed.rows_affected() != 1 {
            return Err(SetupRefused::InvalidToken);
        }

        insert_admin(&mut tx, &setup.admin, setup.now).await?;
        insert_tenant(&mut tx, &setup.tenant, &setup.environments, setup.now).await?;
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, admin_id, created_at, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&setup.session_token_hash)
        .bind(&setup.admin.id)
        .bind(setup.now)
        .bind(setup.session_expires_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        insert_audit(&mut tx, &setup.audit).await?;

        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    pub async fn admin_by_username(&self, username: &str) -> Result<Option<AdminRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, username, password_hash FROM admins WHERE username = ?")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Claims one sign-in attempt for a username, atomically, so parallel guesses cannot slip
    /// past the limit: after `free` attempts without success each further one must wait
    /// 1, 2, 4 … up to 256 seconds after the previous. `Err(seconds)` is the wait left.
    pub async fn claim_login_attempt(
        &self,
        username: &str,
        now: i64,
        free: i64,
    ) -> Result<Result<(), i64>, StoreError> {
        // Counts older than a day are forgotten, which also keeps the table small.
        sqlx::query("DELETE FROM login_failures WHERE last_failure < ?1")
            .bind(now - 86_400)
            .execute(&self.pool)
            .await?;

        let claimed = sqlx::query(
            "INSERT INTO login_failures (username, failures, last_failure) VALUES (?1, 1, ?2) \
             ON CONFLICT (username) DO UPDATE SET failures = failures + 1, last_failure = ?2 \
             WHERE login_failures.failures < ?3 \
             OR login_failures.last_failure + (1 << MIN(login_failures.failures - ?3, 8)) <= ?2",
        )
        .bind(username)
        .bind(now)
        .bind(free)
        .execute(&self.pool)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(Ok(()));
        }

        let (failures, last): (i64, i64) =
            sqlx::query_as("SELECT failures, last_failure FROM login_failures WHERE username = ?1")
                .bind(username)
                .fetch_one(&self.pool)
                .await?;
        let wait = last + (1_i64 << (failures - free).clamp(0, 8)) - now;
        Ok(Err(wait.max(1)))
    }

    pub async fn clear_login_failures(&self, username: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE username = ?")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        admin_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, admin_id, created_at, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(admin_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The administrator of an unexpired session.
    pub async fn session_admin(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<AdminRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.id, a.username, a.password_hash FROM admin_sessions s \
             JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = ? AND s.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT name FROM tenants ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The environments of a tenant, `master` last.
    pub async fn environments(&self, tenant: &str) -> Result<Vec<EnvironmentRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT tenant, name, display_name FROM environments WHERE tenant = ? \
             ORDER BY sort_order, name",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn environment(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Option<EnvironmentRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT tenant, name, display_name FROM environments WHERE tenant = ? AND name = ?",
        )
        .bind(tenant)
        .bind(env)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The signing keys of an environment that are published (primary and next).
    pub async fn signing_keys(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Vec<SigningKeyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kid, alg, private_der, state FROM signing_keys \
             WHERE tenant = ? AND environment = ? AND state IN ('primary', 'next') \
             ORDER BY CASE state WHEN 'primary' THEN 0 ELSE 1 END, created_at",
        )
        .bind(tenant)
        .bind(env)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn applications(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Vec<ApplicationRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{APPLICATION_COLUMNS} WHERE tenant = ? AND environment = ? ORDER BY name"
        ))
        .bind(tenant)
        .bind(env)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn application(
        &self,
        tenant: &str,
        env: &str,
        name: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{APPLICATION_COLUMNS} WHERE tenant = ? AND environment = ? AND name = ?"
        ))
        .bind(tenant)
        .bind(env)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The scopes of every resource in an environment, in their defined order.
    pub async fn environment_scopes(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Vec<ScopeRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.application_id, s.scope FROM resource_scopes s \
             JOIN applications a ON a.id = s.application_id \
             WHERE a.tenant = ? AND a.environment = ? ORDER BY s.application_id, s.position",
        )
        .bind(tenant)
        .bind(env)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The scopes granted to a client, with their resources' names, in granted order.
    pub async fn client_grants(&self, client_id: &str) -> Result<Vec<GrantRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT a.name AS resource_name, g.scope FROM client_grants g \
             JOIN applications a ON a.id = g.resource_id \
             WHERE g.client_id = ? AND a.is_resource = 1 ORDER BY g.position",
        )
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn client_secrets(&self, application_id: &str) -> Result<Vec<SecretRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, hash, info, created_at, expires_at FROM client_secrets \
             WHERE application_id = ? ORDER BY created_at",
        )
        .bind(application_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Writes a registration with its scopes, grants, secret and audit record, all or nothing.
    pub async fn insert_application(
        &self,
        app: &NewApplication,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;

        sqlx::query(
            "INSERT INTO applications (id, tenant, environment, name, display_name, is_resource, \
             is_client, auth_method, token_lifetime_secs, client_credentials_enabled, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        )
        .bind(&app.id)
        .bind(&app.tenant)
        .bind(&app.environment)
        .bind(&app.name)
        .bind(&app.display_name)
        .bind(app.is_resource)
        .bind(app.is_client)
        .bind(&app.auth_method)
        .bind(app.token_lifetime_secs)
        .bind(app.created_at)
        .execute(&mut *tx)
        .await?;

        for (position, scope) in app.scopes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO resource_scopes (application_id, scope, position) VALUES (?, ?, ?)",
            )
            .bind(&app.id)
            .bind(scope)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }

        for (position, (resource_id, scope)) in app.grants.iter().enumerate() {
            sqlx::query(
                "INSERT INTO client_grants (client_id, resource_id, scope, position) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(&app.id)
            .bind(resource_id)
            .bind(scope)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }

        if let Some(secret) = &app.secret {
            sqlx::query(
                "INSERT INTO client_secrets (id, application_id, hash, info, created_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&secret.id)
            .bind(&app.id)
            .bind(&secret.hash)
            .bind(&secret.info)
            .bind(app.created_at)
            .bind(secret.expires_at)
            .execute(&mut *tx)
            .await?;
        }

        for cert in &app.certificates {
            sqlx::query(
                "INSERT INTO client_certificates (id, application_id, der, sha256_thumbprint, \
                 created_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&cert.id)
            .bind(&app.id)
            .bind(&cert.der)
            .bind(&cert.sha256_thumbprint)
            .bind(app.created_at)
            .execute(&mut *tx)
            .await?;
        }

        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The certificates of a `private_key_jwt` client, oldest first.
    pub async fn client_certificates(
        &self,
        application_id: &str,
    ) -> Result<Vec<CertificateRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, der, created_at FROM client_certificates \
             WHERE application_id = ? ORDER BY created_at, id",
        )
        .bind(application_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records the use of an assertion id; `false` when the same client already used it and
    /// that assertion has not yet expired. One statement, so two racing uses cannot both win.
    pub async fn claim_assertion_id(
        &self,
        application_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO used_assertions (application_id, jti, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (application_id, jti) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE used_assertions.expires_at < ?",
        )
        .bind(application_id)
        .bind(jti)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Forgets assertion ids whose assertions expired before `now`.
    pub async fn prune_assertion_ids(&self, now: i64) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM used_assertions WHERE expires_at < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    /// Whether client assertions in an environment must name only the issuer as audience.
    pub async fn strict_assertion_audience(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<bool, StoreError> {
        let strict: Option<bool> = sqlx::query_scalar(
            "SELECT strict_assertion_audience FROM environments WHERE tenant = ? AND name = ?",
        )
        .bind(tenant)
        .bind(env)
        .fetch_optional(&self.pool)
        .await?;
        Ok(strict.unwrap_or(false))
    }

    /// Switches an environment's strict assertion audience mode, with its audit record.
    pub async fn set_strict_assertion_audience(
        &self,
        tenant: &str,
        env: &str,
        strict: bool,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "UPDATE environments SET strict_assertion_audience = ? WHERE tenant = ? AND name = ?",
        )
        .bind(strict)
        .bind(tenant)
        .bind(env)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The newest audit records of a tenant.
    pub async fn audit_log(&self, tenant: &str, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, actor, tenant, environment, action, target, detail FROM audit_log \
             WHERE tenant = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// One recorded change: who, when, what. Never holds a secret value.
#[derive(Debug, Clone, FromRow)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub tenant: Option<String>,
    pub environment: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
}

const APPLICATION_COLUMNS: &str = "SELECT id, tenant, environment, name, display_name, \
    is_resource, is_client, auth_method, token_lifetime_secs, client_credentials_enabled, \
    created_at FROM applications";

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

async fn insert_admin(tx: &mut Tx<'_>, admin: &AdminRow, now: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO admins (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)")
        .bind(&admin.id)
        .bind(&admin.username)
        .bind(&admin.password_hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_tenant(
    tx: &mut Tx<'_>,
    tenant: &str,
    environments: &[NewEnvironment],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO tenants (name, created_at) VALUES (?, ?)")
        .bind(tenant)
        .bind(now)
        .execute(&mut **tx)
        .await?;

    for env in environments {
        sqlx::query(
            "INSERT INTO environments (tenant, name, display_name, sort_order, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(tenant)
        .bind(&env.name)
        .bind(&env.display_name)
        .bind(env.sort_order)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, tenant, environment, alg, private_der, state, created_at) \
             VALUES (?, ?, ?, ?, ?, 'primary', ?)",
        )
        .bind(&env.key_kid)
        .bind(tenant)
        .bind(&env.name)
        .bind(&env.key_alg)
        .bind(&env.key_der)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_audit(tx: &mut Tx<'_>, entry: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, tenant, environment, action, target, detail) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.tenant)
    .bind(&entry.environment)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
