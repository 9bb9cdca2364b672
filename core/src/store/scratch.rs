//! Throw-away databases for tests: a fresh SQLite file or a fresh PostgreSQL database each.

use sqlx::{Connection, PgConnection};

use super::Store;

/// Which backend tests run on: `FENNEC_TEST_DATABASE=postgres` picks PostgreSQL, reached at
/// `FENNEC_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), where
/// each scratch database is created and, when dropped, removed again. Anything else, or
/// nothing, picks SQLite in a temporary folder.
pub struct ScratchDatabase {
    url: String,
    folder: tempfile::TempDir,
    postgres: Option<PostgresScratch>,
}

struct PostgresScratch {
    admin_url: String,
    name: String,
}

impl ScratchDatabase {
    /// Creates an empty database on the backend the environment selects.
    pub async fn new() -> ScratchDatabase {
        match std::env::var("FENNEC_TEST_DATABASE").as_deref() {
            Ok("postgres") => ScratchDatabase::postgres().await,
            _ => ScratchDatabase::sqlite(),
        }
    }

    /// Creates an empty SQLite database in a temporary folder.
    pub fn sqlite() -> ScratchDatabase {
        let folder = tempfile::tempdir().expect("a temporary folder for the test database");
        let url = format!("sqlite://{}", folder.path().join("fennec.db").display());
        ScratchDatabase {
            url,
            folder,
            postgres: None,
        }
    }

    /// Creates an empty PostgreSQL database on the test server, whatever the environment
    /// selects, for tests that only make sense there.
    pub async fn postgres() -> ScratchDatabase {
        let folder = tempfile::tempdir().expect("a temporary folder for the test database");
        let admin_url = std::env::var("FENNEC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("fennec_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL for the tests is not reachable: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("a scratch PostgreSQL database");
        let _ = admin.close().await;

        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("FENNEC_TEST_POSTGRES_URL names no database: {admin_url}"),
        };
        ScratchDatabase {
            url,
            folder,
            postgres: Some(PostgresScratch { admin_url, name }),
        }
    }

    /// The database URL, as `FENNEC_DATABASE_URL` would carry it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A temporary folder that lives as long as the database, e.g. for a data folder.
    pub fn folder(&self) -> &std::path::Path {
        self.folder.path()
    }

    /// A new store on this database (each call opens its own pool, like a separate instance).
    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("the scratch database opens and migrates")
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let Some(scratch) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread of its own.
        let name = scratch.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&scratch.admin_url).await?;
                sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    scratch.name
                ))
                .execute(&mut admin)
                .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            tracing::warn!(database = %name, "a scratch PostgreSQL database was left behind");
        }
    }
}

/// The password of the administrator that [`first_start`] creates.
pub const ADMIN_PASSWORD: &str = "a long enough password";

/// Does what the first-start page does: administrator `admin` (password [`ADMIN_PASSWORD`])
/// and `tenant` with its environments. Returns the administrator, as a session would name it.
pub async fn first_start(
    fennec: &crate::service::Fennec,
    tenant: &str,
    now: i64,
) -> crate::service::Admin {
    let token = fennec
        .prepare_setup(now)
        .await
        .expect("a setup link on an empty database")
        .expect("no administrator yet");
    let setup = crate::service::SetupInput {
        token,
        username: "admin".into(),
        password: crate::secret::Secret::from_presented(ADMIN_PASSWORD.into()),
        tenant: tenant.into(),
    };
    fennec
        .complete_setup(setup, now)
        .await
        .expect("the first-start setup succeeds");
    crate::service::Admin {
        id: String::new(),
        username: "admin".into(),
    }
}
