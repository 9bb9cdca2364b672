//! Persistence of Fennec's registrations, keys, administrators and sessions, on SQLite or
//! PostgreSQL: every query is written once, in SQL both understand, and runs on either pool.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::FromRow;

#[cfg(feature = "test-support")]
pub mod scratch;

/// A failure of the storage layer; the message is for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database refused the operation: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the database failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Whether the failure is a uniqueness violation, e.g. a name already taken.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// Whether the database could not be reached or was too busy: worth retrying later,
    /// unlike a refused statement.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                // PostgreSQL: connection exceptions (08…), shutdowns and restarts (57P0…),
                // too many connections, statement timeout; SQLite: busy and locked.
                code.starts_with("08")
                    || code.starts_with("57P0")
                    || code == "53300"
                    || code == "57014"
                    || code == "5"
                    || code == "6"
            }),
            _ => false,
        }
    }
}

/// How the connection pool behaves; every field is a setting of `fennec serve`.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections one instance keeps open.
    pub max_connections: u32,
    /// How long a statement may run (PostgreSQL) or wait for a lock (SQLite).
    pub statement_timeout: Duration,
    /// How long a request waits for a connection, while the pool keeps trying to open one.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// Handle to Fennec's database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// On SQLite, one connection of its own for recording assertion ids. A connection drops
    /// its page cache whenever another connection has written since its last statement, so
    /// writes that took turns over the pool's connections read the same pages from the file
    /// again on every commit; one connection that makes them all keeps them.
    ledger: Option<SqlitePool>,
    health: Arc<Health>,
    /// Counts this process's changes to registrations, keys and environments, so that values
    /// kept for a moment (see `crate::recent`) are dropped as soon as this process changes them.
    generation: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Remembers whether the database is failing, so that an outage is logged once when it starts
/// and once when it ends rather than once per request.
#[derive(Debug, Default)]
struct Health {
    failing: AtomicBool,
}

impl Health {
    fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Err(e) if e.is_unavailable() => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "the database cannot be reached; requests that need it fail until it is back");
                }
            }
            _ => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the database is reachable again");
                }
            }
        }
        result
    }
}

/// Inside an [`on_pool!`] transaction: adds an environment to a tenant with its first signing key.
macro_rules! add_environment {
    ($tx:ident, $tenant:expr, $env:expr, $now:expr) => {
        insert_environment_row($tenant, $env, $now)
            .execute(&mut *$tx)
            .await?;
        insert_first_key_row($tenant, $env, $now)
            .execute(&mut *$tx)
            .await?;
        if $env.name == crate::rules::MASTER_ENVIRONMENT {
            let id = uuid::Uuid::new_v4().to_string();
            insert_control_resource_row($tenant, &id, $now)
                .execute(&mut *$tx)
                .await?;
            for (position, scope) in CONTROL_SCOPES.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO resource_scopes (application_id, scope, position) \
                     VALUES ($1, $2, $3)",
                )
                .bind(id.as_str())
                .bind(*scope)
                .bind(position as i64)
                .execute(&mut *$tx)
                .await?;
            }
        }
    };
}

/// Inside an [`on_pool!`] body: runs one statement and, when it changed exactly one row, writes
/// the audit record, in one transaction; `Ok(false)`, with nothing written, when it changed none.
macro_rules! audited_change {
    (@run $pool:ident, $audit:expr, $tx:ident, $before:block, $statement:expr) => {{
        let mut $tx = $pool.begin().await?;
        $before
        let changed = $statement.execute(&mut *$tx).await?;
        if changed.rows_affected() != 1 {
            return Ok(false);
        }
        insert_audit($audit).execute(&mut *$tx).await?;
        $tx.commit().await?;
        Ok(true)
    }};
    // A change that removes secrets: they are noted first (see `note_removed_secrets!`); the
    // brackets hold the application id and `Some` secret id to note that one only.
    (
        $pool:ident, $audit:expr, noting removed secrets of ($app:expr, $secret:expr),
        $statement:expr
    ) => {
        audited_change!(@run $pool, $audit, tx, {
            note_removed_secrets!(tx, $audit.at, $app, $secret);
        }, $statement)
    };
    ($pool:ident, $audit:expr, $statement:expr) => {
        audited_change!(@run $pool, $audit, tx, {}, $statement)
    };
}

/// Inside the transaction `$tx`, notes the secrets of application `$app` (only the secret
/// `$secret`, when it is `Some`) as removed at `$at`, for every instance to drop what it
/// remembers of them (see [`Store::secrets_removed_since`]), and forgets notes older than
/// [`REMOVED_SECRETS_KEPT_SECS`]. Run it before the secrets are deleted.
macro_rules! note_removed_secrets {
    ($tx:ident, $at:expr, $app:expr, $secret:expr) => {
        sqlx::query(
            "INSERT INTO removed_secrets (secret_id, application_id, removed_at) \
             SELECT id, application_id, $1 FROM client_secrets \
             WHERE application_id = $2 AND ($3 IS NULL OR id = $3)",
        )
        .bind($at)
        .bind($app)
        .bind($secret)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("DELETE FROM removed_secrets WHERE removed_at < $1")
            .bind($at - REMOVED_SECRETS_KEPT_SECS)
            .execute(&mut *$tx)
            .await?;
    };
}

/// How long a removed secret is noted as such: far longer than any instance takes to read it.
pub const REMOVED_SECRETS_KEPT_SECS: i64 = 3600;

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is. The body is
/// compiled once per backend, so each query's text serves both; it must use `$1`-style
/// parameters and SQL that SQLite and PostgreSQL read alike. The result passes through the
/// outage tracker.
macro_rules! on_pool {
    // A change to what the token endpoint reads: counted once it is done, whatever the outcome.
    ($store:expr, changes $pool:ident => $body:expr) => {{
        let result = on_pool!($store, $pool => $body);
        $store.generation.fetch_add(1, Ordering::SeqCst);
        result
    }};
    // The assertion ledger's writes: on SQLite through its own connection (see `Store::ledger`).
    ($store:expr, ledger $pool:ident => $body:expr) => {{
        let result: Result<_, StoreError> = match (&$store.pool, &$store.ledger) {
            (Pool::Sqlite(_), Some($pool)) | (Pool::Sqlite($pool), None) => async { $body }.await,
            (Pool::Postgres($pool), _) => async { $body }.await,
        };
        $store.health.observe(result)
    }};
    ($store:expr, $pool:ident => $body:expr) => {{
        let result: Result<_, StoreError> = match &$store.pool {
            Pool::Sqlite($pool) => async { $body }.await,
            Pool::Postgres($pool) => async { $body }.await,
        };
        $store.health.observe(result)
    }};
}

/// Most assertion ids written by one statement (three parameters each).
pub const CLAIMS_PER_STATEMENT: usize = 200;

/// One use of a client assertion's id, to be recorded until the assertion expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionClaim {
    pub application_id: String,
    pub jti: String,
    pub expires_at: i64,
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
    /// `primary` (the signer), `next` (published, signing from `activates_at`) or `retired`
    /// (published until `retires_at`).
    pub state: String,
    pub created_at: i64,
    pub activates_at: Option<i64>,
    pub retires_at: Option<i64>,
}

/// A generated signing key to store.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub kid: String,
    pub alg: String,
    pub private_der: Vec<u8>,
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
    pub notes: String,
}

/// The whole editable state of a registration, written over the stored one.
#[derive(Debug, Clone)]
pub struct ApplicationUpdate {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub notes: String,
    pub is_resource: bool,
    pub is_client: bool,
    pub auth_method: Option<String>,
    pub token_lifetime_secs: i64,
    pub client_credentials_enabled: bool,
    /// The resource's scopes in their order; scopes no longer listed are removed, and with
    /// them every client's grant of them.
    pub scopes: Vec<String>,
    /// (resource application id, scope) pairs the client is granted, in order.
    pub grants: Vec<(String, String)>,
    /// Removes the secrets and certificates too (the registration stops being a client).
    pub drop_credentials: bool,
}

/// A client's grant of one scope of a resource, by the client's name.
#[derive(Debug, Clone, FromRow)]
pub struct GranteeRow {
    pub client_name: String,
    pub scope: String,
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
    /// How many changes this process has made to registrations, keys and environments.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Opens the database at `url` with the default pool options; see [`Store::connect_with`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, &StoreOptions::default()).await
    }

    /// Opens (creating an SQLite file if needed) the database at `url` and applies the
    /// migrations. On PostgreSQL the migrator holds an advisory lock, so when several
    /// instances start together one migrates and the others wait for it.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let mut ledger = None;
        let pool = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                // With a write-ahead log, NORMAL syncs at checkpoints rather than at every
                // commit: a crash of the process loses nothing, a power cut may lose the last
                // commits, and the file is never corrupted. Every assertion id is a commit.
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.statement_timeout);
            let pool_of = |connections: u32| {
                SqlitePoolOptions::new()
                    .max_connections(connections)
                    .acquire_timeout(options.acquire_timeout)
                    // A connection to a local file does not go stale, and pinging it before
                    // every statement would double the hand-offs to its worker thread.
                    .test_before_acquire(false)
            };
            let pool = pool_of(options.max_connections)
                .connect_with(connect.clone())
                .await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            ledger = Some(pool_of(1).connect_lazy_with(connect));
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let timeout_ms = options.statement_timeout.as_millis().to_string();
            let connect = PgConnectOptions::from_str(url)?
                .application_name("fennec")
                .options([("statement_timeout", timeout_ms.as_str())]);
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        Ok(Store {
            pool,
            ledger,
            health: Arc::default(),
            generation: Arc::default(),
        })
    }

    /// Connections open for recording assertion ids on their own; `None` where they share
    /// the pool (PostgreSQL).
    pub fn ledger_connections(&self) -> Option<u32> {
        self.ledger.as_ref().map(SqlitePool::size)
    }

    /// Which backend this store runs on: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection; later operations fail as unavailable.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
        if let Some(ledger) = &self.ledger {
            ledger.close().await;
        }
    }

    /// Whether any administrator exists yet.
    pub async fn has_admin(&self) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
                .fetch_one(pool)
                .await?;
            Ok(count > 0)
        })
    }

    /// Replaces any earlier setup token with this one.
    pub async fn replace_setup_token(&self, token_hash: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM setup_tokens")
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
                .bind(token_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Whether this setup token is the current one and no administrator exists yet.
    pub async fn setup_token_is_valid(&self, token_hash: &str) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let found: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 \
                 AND NOT EXISTS (SELECT 1 FROM admins)",
            )
            .bind(token_hash)
            .fetch_one(pool)
            .await?;
            Ok(found > 0)
        })
    }

    /// Consumes the setup token and writes the first administrator, tenant and session.
    pub async fn complete_setup(&self, setup: &InitialSetup) -> Result<(), SetupRefused> {
        let done = on_pool!(self, changes pool => {
            let mut tx = pool.begin().await?;

            // Deleting the token first makes a concurrent second use find nothing to delete.
            let consumed = sqlx::query(
                "DELETE FROM setup_tokens WHERE token_hash = $1 \
                 AND NOT EXISTS (SELECT 1 FROM admins)",
            )
            .bind(&setup.setup_token_hash)
            .execute(&mut *tx)
            .await?;
            if consumed.rows_affected() != 1 {
                return Ok(false);
            }

            sqlx::query(
                "INSERT INTO admins (id, username, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&setup.admin.id)
            .bind(&setup.admin.username)
            .bind(&setup.admin.password_hash)
            .bind(setup.now)
            .execute(&mut *tx)
            .await?;

            sqlx::query("INSERT INTO tenants (name, created_at) VALUES ($1, $2)")
                .bind(&setup.tenant)
                .bind(setup.now)
                .execute(&mut *tx)
                .await?;
            for env in &setup.environments {
                add_environment!(tx, &setup.tenant, env, setup.now);
            }

            sqlx::query(
                "INSERT INTO admin_sessions (token_hash, admin_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&setup.session_token_hash)
            .bind(&setup.admin.id)
            .bind(setup.now)
            .bind(setup.session_expires_at)
            .execute(&mut *tx)
            .await?;
            insert_audit(&setup.audit).execute(&mut *tx).await?;

            tx.commit().await?;
            Ok(true)
        })?;
        match done {
            true => Ok(()),
            false => Err(SetupRefused::InvalidToken),
        }
    }

    pub async fn admin_by_username(&self, username: &str) -> Result<Option<AdminRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT id, username, password_hash FROM admins WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(pool)
            .await?)
        })
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
        on_pool!(self, pool => {
            // Counts older than a day are forgotten, which also keeps the table small.
            sqlx::query("DELETE FROM login_failures WHERE last_failure < $1")
                .bind(now - 86_400)
                .execute(pool)
                .await?;

            let claimed = sqlx::query(
                "INSERT INTO login_failures (username, failures, last_failure) VALUES ($1, 1, $2) \
                 ON CONFLICT (username) DO UPDATE \
                 SET failures = login_failures.failures + 1, last_failure = $2 \
                 WHERE login_failures.failures < $3 \
                 OR login_failures.last_failure + CASE WHEN login_failures.failures - $3 >= 8 \
                 THEN 256 ELSE 1 << CAST(login_failures.failures - $3 AS INTEGER) END <= $2",
            )
            .bind(username)
            .bind(now)
            .bind(free)
            .execute(pool)
            .await?;
            if claimed.rows_affected() == 1 {
                return Ok(Ok(()));
            }

            let (failures, last): (i64, i64) = sqlx::query_as(
                "SELECT failures, last_failure FROM login_failures WHERE username = $1",
            )
            .bind(username)
            .fetch_one(pool)
            .await?;
            let wait = last + (1_i64 << (failures - free).clamp(0, 8)) - now;
            Ok(Err(wait.max(1)))
        })
    }

    pub async fn clear_login_failures(&self, username: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM login_failures WHERE username = $1")
                .bind(username)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        admin_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO admin_sessions (token_hash, admin_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(admin_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The administrator of an unexpired session.
    pub async fn session_admin(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<AdminRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT a.id, a.username, a.password_hash FROM admin_sessions s \
                 JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = $1 AND s.expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?)
        })
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT name FROM tenants ORDER BY name")
                .fetch_all(pool)
                .await?)
        })
    }

    /// The environments of a tenant, `master` last.
    pub async fn environments(&self, tenant: &str) -> Result<Vec<EnvironmentRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT tenant, name, display_name FROM environments WHERE tenant = $1 \
                 ORDER BY sort_order, name",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn environment(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Option<EnvironmentRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT tenant, name, display_name FROM environments \
                 WHERE tenant = $1 AND name = $2",
            )
            .bind(tenant)
            .bind(env)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// The signing keys of an environment that are published at `now`: the primary, the next
    /// one, and retired ones until their `retires_at`; in that order.
    pub async fn signing_keys(
        &self,
        tenant: &str,
        env: &str,
        now: i64,
    ) -> Result<Vec<SigningKeyRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT kid, alg, private_der, state, created_at, activates_at, retires_at \
                 FROM signing_keys WHERE tenant = $1 AND environment = $2 \
                 AND (state IN ('primary', 'next') OR retires_at > $3) \
                 ORDER BY CASE state WHEN 'primary' THEN 0 WHEN 'next' THEN 1 ELSE 2 END, \
                 created_at DESC",
            )
            .bind(tenant)
            .bind(env)
            .bind(now)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Adds a next signing key that becomes the signer at `activates_at`, with its audit
    /// record; `false` (and nothing written) when the environment already has a next key.
    pub async fn insert_next_key(
        &self,
        tenant: &str,
        env: &str,
        key: &NewSigningKey,
        activates_at: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            audited_change!(pool, audit, sqlx::query(
                "INSERT INTO signing_keys (kid, tenant, environment, alg, private_der, state, \
                 created_at, activates_at) \
                 SELECT $1, $2, $3, $4, $5, 'next', $6, $7 WHERE NOT EXISTS \
                 (SELECT 1 FROM signing_keys WHERE tenant = $2 AND environment = $3 \
                 AND state = 'next')",
            )
            .bind(&key.kid)
            .bind(tenant)
            .bind(env)
            .bind(&key.alg)
            .bind(&key.private_der)
            .bind(audit.at)
            .bind(activates_at))
        })
    }

    /// Makes a next key whose time has come the signer and retires the old primary, which stays
    /// published for `retire_after` more seconds. Safe to race: only one caller promotes.
    pub async fn promote_due_key(
        &self,
        tenant: &str,
        env: &str,
        now: i64,
        retire_after: i64,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE signing_keys SET state = 'retired', retires_at = $3 \
                 WHERE tenant = $1 AND environment = $2 AND state = 'primary' AND EXISTS \
                 (SELECT 1 FROM signing_keys n WHERE n.tenant = $1 AND n.environment = $2 \
                 AND n.state = 'next' AND n.activates_at <= $4)",
            )
            .bind(tenant)
            .bind(env)
            .bind(now + retire_after)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let promoted = sqlx::query(
                "UPDATE signing_keys SET state = 'primary' \
                 WHERE tenant = $1 AND environment = $2 AND state = 'next' \
                 AND activates_at <= $3",
            )
            .bind(tenant)
            .bind(env)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(promoted.rows_affected() == 1)
        })
    }

    /// The longest access token lifetime of the environment's clients, if it has any.
    pub async fn longest_token_lifetime(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Option<i64>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "SELECT MAX(token_lifetime_secs) FROM applications \
                 WHERE tenant = $1 AND environment = $2 AND is_client",
            )
            .bind(tenant)
            .bind(env)
            .fetch_one(pool)
            .await?)
        })
    }

    pub async fn applications(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Vec<ApplicationRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(&format!(
                "{APPLICATION_COLUMNS} WHERE tenant = $1 AND environment = $2 ORDER BY name"
            ))
            .bind(tenant)
            .bind(env)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn application(
        &self,
        tenant: &str,
        env: &str,
        name: &str,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(&format!(
                "{APPLICATION_COLUMNS} WHERE tenant = $1 AND environment = $2 AND name = $3"
            ))
            .bind(tenant)
            .bind(env)
            .bind(name)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// The scopes of every resource in an environment, in their defined order.
    pub async fn environment_scopes(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<Vec<ScopeRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT s.application_id, s.scope FROM resource_scopes s \
                 JOIN applications a ON a.id = s.application_id \
                 WHERE a.tenant = $1 AND a.environment = $2 \
                 ORDER BY s.application_id, s.position",
            )
            .bind(tenant)
            .bind(env)
            .fetch_all(pool)
            .await?)
        })
    }

    /// The scopes granted to a client, with their resources' names, in granted order.
    pub async fn client_grants(&self, client_id: &str) -> Result<Vec<GrantRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT a.name AS resource_name, g.scope FROM client_grants g \
                 JOIN applications a ON a.id = g.resource_id \
                 WHERE g.client_id = $1 AND a.is_resource ORDER BY g.position",
            )
            .bind(client_id)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn client_secrets(&self, application_id: &str) -> Result<Vec<SecretRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT id, hash, info, created_at, expires_at FROM client_secrets \
                 WHERE application_id = $1 ORDER BY created_at, id",
            )
            .bind(application_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// The secrets removed at or after `since` (Unix seconds), by any instance: pairs of
    /// application id and secret id, oldest first.
    pub async fn secrets_removed_since(
        &self,
        since: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT application_id, secret_id FROM removed_secrets WHERE removed_at >= $1 \
                 ORDER BY removed_at",
            )
            .bind(since)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Removes one secret of a client, with its audit record; `false` when there is no such
    /// secret.
    pub async fn delete_client_secret(
        &self,
        application_id: &str,
        secret_id: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            let secret = Some(secret_id);
            audited_change!(pool, audit, noting removed secrets of (application_id, secret),
                sqlx::query("DELETE FROM client_secrets WHERE id = $1 AND application_id = $2")
                    .bind(secret_id)
                    .bind(application_id))
        })
    }

    /// Writes a registration with its scopes, grants, secret and audit record, all or nothing.
    pub async fn insert_application(
        &self,
        app: &NewApplication,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        on_pool!(self, changes pool => {
            let mut tx = pool.begin().await?;

            sqlx::query(
                "INSERT INTO applications (id, tenant, environment, name, display_name, \
                 is_resource, is_client, auth_method, token_lifetime_secs, \
                 client_credentials_enabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10)",
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
                    "INSERT INTO resource_scopes (application_id, scope, position) \
                     VALUES ($1, $2, $3)",
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
                     VALUES ($1, $2, $3, $4)",
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
                    "INSERT INTO client_secrets (id, application_id, hash, info, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
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
                     created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&cert.id)
                .bind(&app.id)
                .bind(&cert.der)
                .bind(&cert.sha256_thumbprint)
                .bind(app.created_at)
                .execute(&mut *tx)
                .await?;
            }

            insert_audit(audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The certificates of a `private_key_jwt` client, oldest first.
    pub async fn client_certificates(
        &self,
        application_id: &str,
    ) -> Result<Vec<CertificateRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT id, der, created_at FROM client_certificates \
                 WHERE application_id = $1 ORDER BY created_at, id",
            )
            .bind(application_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Records the use of an assertion id; `false` when the same client already used it and
    /// that assertion has not yet expired. See [`Store::claim_assertion_ids`].
    pub async fn claim_assertion_id(
        &self,
        application_id: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let claim = AssertionClaim {
            application_id: application_id.to_string(),
            jti: jti.to_string(),
            expires_at,
        };
        let first_use = self.claim_assertion_ids(&[claim], now).await?;
        Ok(first_use[0])
    }

    /// Records the use of several assertion ids at once, answering for each, in order, whether
    /// it was its first use: `false` when the same client already used that id and the
    /// assertion has not yet expired, or when the id comes earlier in the same list. Each
    /// statement is one upsert, so two racing uses cannot both win, in one process or across
    /// instances. A list longer than [`CLAIMS_PER_STATEMENT`] is written in several statements,
    /// and a failure may then leave the earlier ones written.
    pub async fn claim_assertion_ids(
        &self,
        claims: &[AssertionClaim],
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        // A list may name one id twice; only its first mention can win, and PostgreSQL refuses
        // an upsert that touches the same row twice.
        let mut first_use = vec![false; claims.len()];
        let mut unique: Vec<usize> = Vec::with_capacity(claims.len());
        let mut seen = std::collections::HashSet::with_capacity(claims.len());
        for (index, claim) in claims.iter().enumerate() {
            if seen.insert((claim.application_id.as_str(), claim.jti.as_str())) {
                unique.push(index);
            }
        }
        // Rows in one order everywhere: two instances writing overlapping lists at once then
        // take their row locks in the same order and cannot deadlock each other.
        unique.sort_by(|&a, &b| {
            let key = |i: usize| (claims[i].application_id.as_str(), claims[i].jti.as_str());
            key(a).cmp(&key(b))
        });
        for chunk in unique.chunks(CLAIMS_PER_STATEMENT) {
            let mut sql = String::from(
                "INSERT INTO used_assertions (application_id, jti, expires_at) VALUES ",
            );
            for row in 0..chunk.len() {
                let base = 2 + 3 * row;
                if row > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${}, ${})", base, base + 1, base + 2));
            }
            sql.push_str(
                " ON CONFLICT (application_id, jti) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE used_assertions.expires_at < $1 \
                 RETURNING application_id, jti",
            );
            let won: Vec<(String, String)> = on_pool!(self, ledger pool => {
                let mut query = sqlx::query_as(&sql).bind(now);
                for &index in chunk {
                    let claim = &claims[index];
                    query = query
                        .bind(&claim.application_id)
                        .bind(&claim.jti)
                        .bind(claim.expires_at);
                }
                Ok(query.fetch_all(pool).await?)
            })?;
            let won: std::collections::HashSet<(&str, &str)> =
                won.iter().map(|(a, j)| (a.as_str(), j.as_str())).collect();
            for &index in chunk {
                let claim = &claims[index];
                first_use[index] =
                    won.contains(&(claim.application_id.as_str(), claim.jti.as_str()));
            }
        }
        Ok(first_use)
    }

    /// Forgets assertion ids whose assertions expired before `now`.
    pub async fn prune_assertion_ids(&self, now: i64) -> Result<u64, StoreError> {
        on_pool!(self, pool => {
            let result = sqlx::query("DELETE FROM used_assertions WHERE expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?;
            Ok(result.rows_affected())
        })
    }

    /// Whether client assertions in an environment must name only the issuer as audience.
    pub async fn strict_assertion_audience(
        &self,
        tenant: &str,
        env: &str,
    ) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let strict: Option<bool> = sqlx::query_scalar(
                "SELECT strict_assertion_audience FROM environments \
                 WHERE tenant = $1 AND name = $2",
            )
            .bind(tenant)
            .bind(env)
            .fetch_optional(pool)
            .await?;
            Ok(strict.unwrap_or(false))
        })
    }

    /// Switches an environment's strict assertion audience mode, with its audit record.
    pub async fn set_strict_assertion_audience(
        &self,
        tenant: &str,
        env: &str,
        strict: bool,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            audited_change!(pool, audit, sqlx::query(
                "UPDATE environments SET strict_assertion_audience = $1 \
                 WHERE tenant = $2 AND name = $3",
            )
            .bind(strict)
            .bind(tenant)
            .bind(env))
        })
    }

    /// The newest audit records of a tenant; of the targets (registrations, environments, keys)
    /// whose name contains `target`, if given.
    pub async fn audit_log(
        &self,
        tenant: &str,
        target: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT at, actor, tenant, environment, action, target, detail FROM audit_log \
                 WHERE tenant = $1 AND (CAST($2 AS TEXT) IS NULL \
                 OR target LIKE '%' || $2 || '%' ESCAPE '\\') \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(tenant)
            .bind(target.map(escape_like))
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// The scopes of one resource, in their defined order.
    pub async fn resource_scopes(&self, application_id: &str) -> Result<Vec<String>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "SELECT scope FROM resource_scopes WHERE application_id = $1 ORDER BY position",
            )
            .bind(application_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// The clients granted scopes of a resource, by client name.
    pub async fn resource_grantees(
        &self,
        resource_id: &str,
    ) -> Result<Vec<GranteeRow>, StoreError> {
        on_pool!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT c.name AS client_name, g.scope FROM client_grants g \
                 JOIN applications c ON c.id = g.client_id \
                 WHERE g.resource_id = $1 AND g.client_id <> $1 ORDER BY c.name, g.position",
            )
            .bind(resource_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Writes a registration's new state with its audit record, all or nothing.
    pub async fn update_application(
        &self,
        update: &ApplicationUpdate,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        on_pool!(self, changes pool => {
            let mut tx = pool.begin().await?;

            sqlx::query(
                "UPDATE applications SET name = $2, display_name = $3, notes = $4, \
                 is_resource = $5, is_client = $6, auth_method = $7, token_lifetime_secs = $8, \
                 client_credentials_enabled = $9 WHERE id = $1",
            )
            .bind(&update.id)
            .bind(&update.name)
            .bind(&update.display_name)
            .bind(&update.notes)
            .bind(update.is_resource)
            .bind(update.is_client)
            .bind(&update.auth_method)
            .bind(update.token_lifetime_secs)
            .bind(update.client_credentials_enabled)
            .execute(&mut *tx)
            .await?;

            // Scopes that stay keep their rows, so that the grants of them stay too.
            let stored: Vec<String> = sqlx::query_scalar(
                "SELECT scope FROM resource_scopes WHERE application_id = $1",
            )
            .bind(&update.id)
            .fetch_all(&mut *tx)
            .await?;
            for gone in stored.iter().filter(|s| !update.scopes.contains(s)) {
                sqlx::query("DELETE FROM resource_scopes WHERE application_id = $1 AND scope = $2")
                    .bind(&update.id)
                    .bind(gone)
                    .execute(&mut *tx)
                    .await?;
            }
            for (position, scope) in update.scopes.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO resource_scopes (application_id, scope, position) \
                     VALUES ($1, $2, $3) \
                     ON CONFLICT (application_id, scope) DO UPDATE SET position = excluded.position",
                )
                .bind(&update.id)
                .bind(scope)
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
            }

            sqlx::query("DELETE FROM client_grants WHERE client_id = $1")
                .bind(&update.id)
                .execute(&mut *tx)
                .await?;
            for (position, (resource_id, scope)) in update.grants.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO client_grants (client_id, resource_id, scope, position) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&update.id)
                .bind(resource_id)
                .bind(scope)
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
            }

            if update.drop_credentials {
                note_removed_secrets!(tx, audit.at, &update.id, None::<&str>);
                sqlx::query("DELETE FROM client_secrets WHERE application_id = $1")
                    .bind(&update.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM client_certificates WHERE application_id = $1")
                    .bind(&update.id)
                    .execute(&mut *tx)
                    .await?;
            }

            insert_audit(audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes a registration with everything that hangs on it (scopes and their grants,
    /// its own grants, secrets, certificates, used assertion ids), with its audit record.
    pub async fn delete_application(
        &self,
        application_id: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            audited_change!(pool, audit, noting removed secrets of (application_id, None::<&str>),
                sqlx::query("DELETE FROM applications WHERE id = $1").bind(application_id))
        })
    }

    /// Adds a secret unless the client already has `max`; `false` (nothing written) if so.
    pub async fn insert_client_secret(
        &self,
        application_id: &str,
        secret: &NewSecret,
        max: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            audited_change!(pool, audit, sqlx::query(
                "INSERT INTO client_secrets (id, application_id, hash, info, created_at, \
                 expires_at) SELECT $1, $2, $3, $4, $5, $6 \
                 WHERE (SELECT COUNT(*) FROM client_secrets WHERE application_id = $2) < $7",
            )
            .bind(&secret.id)
            .bind(application_id)
            .bind(&secret.hash)
            .bind(&secret.info)
            .bind(audit.at)
            .bind(secret.expires_at)
            .bind(max))
        })
    }

    /// Adds a certificate unless the client already has `max`; `false` (nothing written) if
    /// so. The same certificate twice is a uniqueness violation.
    pub async fn insert_client_certificate(
        &self,
        application_id: &str,
        certificate: &NewCertificate,
        max: i64,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            audited_change!(pool, audit, sqlx::query(
                "INSERT INTO client_certificates (id, application_id, der, sha256_thumbprint, \
                 created_at) SELECT $1, $2, $3, $4, $5 \
                 WHERE (SELECT COUNT(*) FROM client_certificates WHERE application_id = $2) < $6",
            )
            .bind(&certificate.id)
            .bind(application_id)
            .bind(&certificate.der)
            .bind(&certificate.sha256_thumbprint)
            .bind(audit.at)
            .bind(max))
        })
    }

    /// Removes one certificate of a client, named by its SHA-256 thumbprint; unless it is the
    /// last one and `keep_one` is set. `false` when nothing was removed.
    pub async fn delete_client_certificate(
        &self,
        application_id: &str,
        sha256_thumbprint: &str,
        keep_one: bool,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            audited_change!(pool, audit, sqlx::query(
                "DELETE FROM client_certificates WHERE application_id = $1 \
                 AND sha256_thumbprint = $2 AND (NOT $3 OR \
                 (SELECT COUNT(*) FROM client_certificates WHERE application_id = $1) > 1)",
            )
            .bind(application_id)
            .bind(sha256_thumbprint)
            .bind(keep_one))
        })
    }

    /// Adds an environment with its first signing key to a tenant.
    pub async fn insert_environment(
        &self,
        tenant: &str,
        env: &NewEnvironment,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        on_pool!(self, changes pool => {
            let mut tx = pool.begin().await?;
            add_environment!(tx, tenant, env, audit.at);
            insert_audit(audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Adds a tenant with its environments, each with its first signing key.
    pub async fn insert_tenant(
        &self,
        tenant: &str,
        environments: &[NewEnvironment],
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        on_pool!(self, changes pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO tenants (name, created_at) VALUES ($1, $2)")
                .bind(tenant)
                .bind(audit.at)
                .execute(&mut *tx)
                .await?;
            for env in environments {
                add_environment!(tx, tenant, env, audit.at);
            }
            insert_audit(audit).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Changes the display name of an environment; `false` when there is no such environment.
    pub async fn rename_environment(
        &self,
        tenant: &str,
        env: &str,
        display_name: &str,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        on_pool!(self, changes pool => {
            audited_change!(pool, audit, sqlx::query(
                "UPDATE environments SET display_name = $3 WHERE tenant = $1 AND name = $2",
            )
            .bind(tenant)
            .bind(env)
            .bind(display_name))
        })
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
    created_at, notes FROM applications";

/// The statement that records one audit entry, for either backend.
fn insert_audit<'q, DB>(entry: &'q AuditEntry) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO audit_log (at, actor, tenant, environment, action, target, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.at)
    .bind(entry.actor.as_str())
    .bind(entry.tenant.as_deref())
    .bind(entry.environment.as_deref())
    .bind(entry.action.as_str())
    .bind(entry.target.as_deref())
    .bind(entry.detail.as_str())
}

/// The statement that adds an environment to a tenant, for either backend.
fn insert_environment_row<'q, DB>(
    tenant: &'q str,
    env: &'q NewEnvironment,
    now: i64,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO environments (tenant, name, display_name, sort_order, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(env.name.as_str())
    .bind(env.display_name.as_str())
    .bind(env.sort_order)
    .bind(now)
}

/// The scopes of the built-in Control API resource, in order.
const CONTROL_SCOPES: [&str; 2] = [
    crate::rules::CONTROL_READ_SCOPE,
    crate::rules::CONTROL_WRITE_SCOPE,
];

/// The statement that adds the built-in Control API resource to a new master environment
/// (migration 0005 added it to the tenants that existed before).
fn insert_control_resource_row<'q, DB>(
    tenant: &'q str,
    id: &'q str,
    now: i64,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO applications (id, tenant, environment, name, display_name, is_resource, \
         is_client, auth_method, token_lifetime_secs, client_credentials_enabled, created_at) \
         VALUES ($1, $2, $3, $4, 'Fennec Control API', TRUE, FALSE, NULL, 3600, TRUE, $5)",
    )
    .bind(id)
    .bind(tenant)
    .bind(crate::rules::MASTER_ENVIRONMENT)
    .bind(crate::rules::CONTROL_RESOURCE)
    .bind(now)
}

/// The statement that stores a new environment's first signing key, for either backend.
fn insert_first_key_row<'q, DB>(
    tenant: &'q str,
    env: &'q NewEnvironment,
    now: i64,
) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO signing_keys (kid, tenant, environment, alg, private_der, state, \
         created_at) VALUES ($1, $2, $3, $4, $5, 'primary', $6)",
    )
    .bind(env.key_kid.as_str())
    .bind(tenant)
    .bind(env.name.as_str())
    .bind(env.key_alg.as_str())
    .bind(env.key_der.as_slice())
    .bind(now)
}

/// A text to find inside others with `LIKE … ESCAPE '\'`: its wildcards match only themselves.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A database URL fit for a message: the password, if any, replaced.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_database_url_is_not_repeated() {
        assert_eq!(
            redact_url("mysql://fennec:hunter2@db:3306/fennec"),
            "mysql://fennec:***@db:3306/fennec"
        );
        assert_eq!(redact_url("mysql://db/fennec"), "mysql://db/fennec");
    }

    #[tokio::test]
    async fn the_embedded_database_logs_ahead_and_syncs_at_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fennec.db").display());
        let store = Store::connect(&url).await.unwrap();
        let Pool::Sqlite(pool) = &store.pool else {
            panic!("a sqlite URL opens SQLite");
        };

        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();

        assert_eq!(mode, "wal");
        assert_eq!(synchronous, 1, "NORMAL");
    }

    #[tokio::test]
    async fn an_unknown_database_scheme_is_refused_with_its_name() {
        let error = Store::connect("mysql://fennec:hunter2@db/fennec")
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("mysql://fennec:***@db/fennec"),
            "{message}"
        );
        assert!(!message.contains("hunter2"));
    }
}
