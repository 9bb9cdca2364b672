//! Fennec's HTTP server: the admin console and the OAuth 2.0 endpoints on one axum router.

pub mod config;
pub mod control;
pub mod oauth;

use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use fennec_app::{shell, App};
use fennec_core::service::Fennec;
use fennec_core::store::Store;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Settings;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] config::SettingsError),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] fennec_core::store::StoreError),
    #[error("cannot prepare the service: {0}")]
    Service(#[from] fennec_core::service::ServiceError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// How often the process drops the proven-secret tags of secrets removed or expired; within the
/// one second in which every instance sees another's change.
const PROVEN_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs `fennec serve` until the process is interrupted.
pub async fn serve(settings: Settings) -> Result<(), StartError> {
    let public_url = settings.public_url()?;
    let site_root = settings.site_root()?;
    create_private_dir(&settings.data_dir).map_err(|source| StartError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;

    let store = Store::connect_with(&settings.database_url(), &settings.store_options()).await?;
    if store.backend() == "sqlite" {
        restrict_database_files(&settings.data_dir);
    }
    let fennec = Fennec::new(store, &public_url)?;
    announce_setup_link(&fennec, &settings.data_dir).await?;
    // A secret removed at another instance, or expired, leaves no tag here beyond this.
    tokio::spawn(
        fennec
            .clone()
            .sweep_proven_secrets_every(PROVEN_SWEEP_INTERVAL),
    );

    let options = LeptosOptions::builder()
        .output_name("fennec")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(settings.listen)
        // Uses the hashed asset names when cargo-leptos left a hash.txt beside the binary
        // (Leptos reads it from there, and fails if it is asked to and it is missing).
        .hash_files(hash_file_beside_binary())
        .build();
    let app = router(fennec, options);

    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: settings.listen,
            source,
        })?;
    tracing::info!(listen = %settings.listen, public_url = %public_url, "fennec is serving");
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartError::Serve)
}

/// Whether the build left the list of content-hashed asset names next to this binary.
fn hash_file_beside_binary() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|file| file.is_file())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what service managers and containers send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Creates the data folder readable by its owner only: it holds the signing keys.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes the embedded database files private to their owner, whatever the umask made them.
fn restrict_database_files(data_dir: &Path) {
    #[cfg(unix)]
    for name in ["fennec.db", "fennec.db-wal", "fennec.db-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let path = data_dir.join(name);
        if path.exists() {
            if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(error = %e, path = %path.display(), "cannot make the database file private");
            }
        }
    }
}

/// On an empty database, logs the one-time setup link and writes it to the data folder.
async fn announce_setup_link(fennec: &Fennec, data_dir: &Path) -> Result<(), StartError> {
    let link_file = data_dir.join("setup-link.txt");
    let now = now();
    match fennec.prepare_setup(now).await? {
        Some(token) => {
            let link = format!("{}/console/setup?token={token}", fennec.public_url());
            tracing::info!(setup.link = %link, "no administrator yet: open this one-time link to create one");
            if let Err(e) = write_private_file(&link_file, &link) {
                tracing::warn!(error = %e, path = %link_file.display(), "cannot write the setup link file");
            }
        }
        None => {
            let _ = std::fs::remove_file(&link_file);
        }
    }
    Ok(())
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// The whole application: OAuth endpoints, console pages, server functions and assets.
pub fn router(fennec: Fennec, options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    let context_fennec = fennec.clone();
    let shell_options = options.clone();
    let public_origin = origin_of(fennec.public_url());

    // The built console files, with the brotli and gzip copies the build made of them.
    let pkg = ServeDir::new(Path::new(&*options.site_root).join(&*options.site_pkg_dir))
        .precompressed_br()
        .precompressed_gzip();
    let console = Router::new()
        .nest_service("/pkg", pkg)
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(context_fennec.clone()),
            move || shell(shell_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
        .layer(middleware::from_fn(move |req, next| {
            check_origin(public_origin.clone(), req, next)
        }))
        .layer(middleware::from_fn(asset_caching))
        .layer(console_compression());

    Router::new()
        .merge(oauth::routes(fennec.clone()))
        .merge(control::router(fennec))
        .merge(console)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// Brotli or gzip for the console's pages and files, at a level that compresses the WASM
/// bundle in milliseconds rather than the seconds that the highest brotli level takes.
pub(crate) fn console_compression() -> CompressionLayer {
    CompressionLayer::new().quality(tower_http::CompressionLevel::Precise(5))
}

/// A year of caching for the console's content-hashed files (`/pkg/fennec.<hash>.wasm`), which
/// change name whenever they change; everything else under `/pkg` is checked again each time.
async fn asset_caching(req: Request, next: Next) -> Response {
    let policy = req.uri().path().strip_prefix("/pkg/").map(|file| {
        match file.split('.').count() >= 3 && !file.contains('/') {
            true => "public, max-age=31536000, immutable",
            false => "no-cache",
        }
    });
    let mut response = next.run(req).await;
    if let Some(policy) = policy {
        if response.status().is_success() {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        }
    }
    response
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
fn origin_of(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// Refuses console requests that change state unless they come from Fennec's own pages.
async fn check_origin(public_origin: String, req: Request, next: Next) -> Response {
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let console_call = req.uri().path().starts_with("/api/");
    if changes_state && console_call {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if origin != Some(public_origin.as_str()) {
            tracing::warn!(request.origin = ?origin, "console request from a foreign origin refused");
            return (
                StatusCode::FORBIDDEN,
                "This request must come from Fennec's console.",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
