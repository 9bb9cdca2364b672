//! Fennec's settings, from command-line flags or environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use fennec_core::store::StoreOptions;

/// Fennec: OAuth 2.0 client credentials for machine-to-machine access.
#[derive(Debug, Parser)]
#[command(name = "fennec", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the admin console and the token endpoint on one port (the default).
    Serve,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Every setting of `fennec serve`; each flag also reads the environment variable it names.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "FENNEC_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Public base URL of every issuer and endpoint; defaults to http://{listen}.
    #[arg(long, env = "FENNEC_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Folder for the embedded database and the first-start setup link.
    #[arg(
        long,
        env = "FENNEC_DATA_DIR",
        default_value = "./fennec-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Database URL; defaults to SQLite in the data folder (sqlite://{data-dir}/fennec.db).
    #[arg(long, env = "FENNEC_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Most database connections this instance keeps open.
    #[arg(
        long,
        env = "FENNEC_DATABASE_MAX_CONNECTIONS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        global = true
    )]
    pub database_max_connections: u32,

    /// Seconds a database statement may run (PostgreSQL) or wait for a lock (SQLite).
    #[arg(
        long,
        env = "FENNEC_DATABASE_STATEMENT_TIMEOUT",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=600),
        global = true
    )]
    pub database_statement_timeout: u64,

    /// Seconds a request waits for a database connection while the pool retries connecting;
    /// past it the request fails with 503.
    #[arg(
        long,
        env = "FENNEC_DATABASE_ACQUIRE_TIMEOUT",
        default_value_t = 3,
        value_parser = clap::value_parser!(u64).range(1..=600),
        global = true
    )]
    pub database_acquire_timeout: u64,

    /// Log format: text or json.
    #[arg(
        long,
        env = "FENNEC_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Folder of the console's compiled assets; defaults to `site` beside the binary's folder.
    #[arg(long, env = "FENNEC_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("FENNEC_PUBLIC_URL / --public-url must be an absolute http or https URL, got {0:?}")]
    PublicUrl(String),
    #[error("FENNEC_SITE_ROOT / --site-root: no console assets found at {0}")]
    SiteRoot(PathBuf),
}

impl Settings {
    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> Result<String, SettingsError> {
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen));
        let parsed: http::Uri = url
            .parse()
            .map_err(|_| SettingsError::PublicUrl(url.clone()))?;
        match (parsed.scheme_str(), parsed.authority()) {
            (Some("http" | "https"), Some(_)) if parsed.query().is_none() => {
                Ok(url.trim_end_matches('/').to_string())
            }
            _ => Err(SettingsError::PublicUrl(url)),
        }
    }

    /// The database URL, SQLite in the data folder unless set.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("fennec.db").display()))
    }

    /// The connection pool's settings.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.database_max_connections,
            statement_timeout: Duration::from_secs(self.database_statement_timeout),
            acquire_timeout: Duration::from_secs(self.database_acquire_timeout),
        }
    }

    /// Where the console's compiled assets are: the setting, or `site` next to the binary.
    pub fn site_root(&self) -> Result<PathBuf, SettingsError> {
        if let Some(root) = &self.site_root {
            return match root.join("pkg").is_dir() {
                true => Ok(root.clone()),
                false => Err(SettingsError::SiteRoot(root.clone())),
            };
        }
        let exe = std::env::current_exe().unwrap_or_default();
        let candidates = exe
            .ancestors()
            .skip(1)
            .take(2)
            .map(|dir| dir.join("site"))
            .collect::<Vec<_>>();
        candidates
            .iter()
            .find(|dir| dir.join("pkg").is_dir())
            .cloned()
            .ok_or_else(|| SettingsError::SiteRoot(candidates.first().cloned().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        let mut all = vec!["fennec"];
        all.extend_from_slice(args);
        Cli::parse_from(all).settings
    }

    #[test]
    fn public_url_defaults_to_the_listen_address() {
        let s = settings(&["--listen", "127.0.0.1:9000"]);
        assert_eq!(s.public_url().unwrap(), "http://127.0.0.1:9000");
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let s = settings(&["--public-url", "https://id.example.com/"]);
        assert_eq!(s.public_url().unwrap(), "https://id.example.com");
    }

    #[test]
    fn public_url_that_is_not_http_is_refused() {
        let s = settings(&["--public-url", "ftp://id.example.com"]);
        assert!(s.public_url().is_err());
        let s = settings(&["--public-url", "not a url"]);
        assert!(s.public_url().is_err());
    }

    #[test]
    fn database_defaults_to_sqlite_in_the_data_dir() {
        let s = settings(&["serve", "--data-dir", "/var/lib/fennec"]);
        assert_eq!(s.database_url(), "sqlite:///var/lib/fennec/fennec.db");
    }

    #[test]
    fn pool_settings_have_defaults_and_can_be_set() {
        let s = settings(&[]);
        assert_eq!(s.store_options().max_connections, 10);
        assert_eq!(s.store_options().statement_timeout, Duration::from_secs(5));
        assert_eq!(s.store_options().acquire_timeout, Duration::from_secs(3));

        let s = settings(&[
            "--database-max-connections",
            "40",
            "--database-statement-timeout",
            "2",
            "--database-acquire-timeout",
            "9",
        ]);
        assert_eq!(s.store_options().max_connections, 40);
        assert_eq!(s.store_options().statement_timeout, Duration::from_secs(2));
        assert_eq!(s.store_options().acquire_timeout, Duration::from_secs(9));
    }

    #[test]
    fn a_pool_of_no_connections_is_refused() {
        let all = ["fennec", "--database-max-connections", "0"];
        assert!(Cli::try_parse_from(all).is_err());
    }
}
