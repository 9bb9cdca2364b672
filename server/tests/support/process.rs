//! Real `fennec serve` processes for the tests of several instances and of outages.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fennec_core::service::Fennec;
use fennec_core::store::scratch::{first_start, ScratchDatabase, ADMIN_PASSWORD};

/// The password of the administrator `admin` in [`prepared_database`].
pub const PASSWORD: &str = ADMIN_PASSWORD;

/// A running `fennec serve`, stopped when dropped.
pub struct Instance {
    pub base: String,
    /// Where its log lines go.
    pub log: PathBuf,
    child: Child,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

/// Starts an instance on `database`, behind the shared public URL `public_url`.
pub async fn start(database: &ScratchDatabase, public_url: &str, name: &str) -> Instance {
    start_with(database.url(), database, public_url, name, &[]).await
}

/// Starts an instance on the database at `url`, with extra environment variables.
pub async fn start_with(
    url: &str,
    database: &ScratchDatabase,
    public_url: &str,
    name: &str,
    env: &[(&str, &str)],
) -> Instance {
    let port = free_port();
    let data_dir = database.folder().join(name);
    let site_root = database.folder().join("site");
    std::fs::create_dir_all(site_root.join("pkg")).unwrap();
    let log = database.folder().join(format!("{name}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_fennec"))
        .arg("serve")
        .env("FENNEC_LISTEN", format!("127.0.0.1:{port}"))
        .env("FENNEC_PUBLIC_URL", public_url)
        .env("FENNEC_DATA_DIR", &data_dir)
        .env("FENNEC_DATABASE_URL", url)
        .env("FENNEC_SITE_ROOT", &site_root)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the fennec binary starts");
    let instance = Instance {
        base: format!("http://127.0.0.1:{port}"),
        log,
        child,
    };

    // Any answer means it serves; on an empty database the tenant's metadata is a 404.
    let probe = format!("{}/acme/-/.well-known/openid-configuration", instance.base);
    for _ in 0..150 {
        if reqwest::get(&probe).await.is_ok() {
            return instance;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("instance {name} did not start serving");
}

/// The database with the administrator `admin` and tenant `acme`, as the setup page leaves it.
pub async fn prepared_database(database: ScratchDatabase) -> ScratchDatabase {
    let fennec = Fennec::new(database.store().await, "http://unused.test").unwrap();
    first_start(&fennec, "acme", fennec_server::now()).await;
    database
}
