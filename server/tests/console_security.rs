//! In-process tests of the console's protections: origin checks and security headers.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use fennec_core::service::Fennec;
use fennec_core::store::scratch::ScratchDatabase;
use leptos::config::LeptosOptions;
use tower::ServiceExt;

const BASE: &str = "http://127.0.0.1:8080";

async fn router() -> (Router, ScratchDatabase) {
    let dir = ScratchDatabase::new().await;
    let fennec = Fennec::new(dir.store().await, BASE).unwrap();
    let options = LeptosOptions::builder()
        .output_name("fennec")
        .site_root(dir.folder().display().to_string())
        .site_pkg_dir("pkg")
        .build();
    (fennec_server::router(fennec, options), dir)
}

fn server_fn_call(origin: Option<&str>) -> Request<Body> {
    let mut builder =
        Request::post("/api/sign_out").header(header::CONTENT_TYPE, "application/json");
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder.body(Body::from("{}")).unwrap()
}

#[tokio::test]
async fn console_call_from_a_foreign_origin_is_refused() {
    let (router, _dir) = router().await;

    let response = router
        .oneshot(server_fn_call(Some("https://evil.example")))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn console_call_without_an_origin_is_refused() {
    let (router, _dir) = router().await;

    let response = router.oneshot(server_fn_call(None)).await.unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn console_call_from_the_public_origin_passes_the_check() {
    let (router, _dir) = router().await;

    let response = router.oneshot(server_fn_call(Some(BASE))).await.unwrap();

    assert_ne!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn token_endpoint_needs_no_origin() {
    let (router, _dir) = router().await;
    let request = Request::post("/acme/-/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();

    let response = router.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let (router, _dir) = router().await;
    let request = Request::get("/acme/-/.well-known/openid-configuration")
        .body(Body::empty())
        .unwrap();

    let response = router.oneshot(request).await.unwrap();

    let headers = response.headers();
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
}

#[tokio::test]
async fn a_mistyped_token_url_is_not_found_rather_than_forbidden() {
    let (router, _dir) = router().await;
    let request = Request::post("/acme/-/oauth/token/")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();

    let response = router.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Writes a console asset of `size` compressible bytes into the site's `pkg` folder.
fn asset(dir: &ScratchDatabase, name: &str, size: usize) {
    let pkg = dir.folder().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join(name),
        "fennec console asset ".repeat(size / 21 + 1),
    )
    .unwrap();
}

async fn get_asset(router: Router, path: &str) -> axum::response::Response {
    let request = Request::get(path)
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .unwrap();
    router.oneshot(request).await.unwrap()
}

#[tokio::test]
async fn hashed_console_assets_are_cached_for_a_year_and_compressed() {
    let (router, dir) = router().await;
    asset(&dir, "fennec.Xk3j9aQ2.wasm", 40_000);

    let response = get_asset(router, "/pkg/fennec.Xk3j9aQ2.wasm").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
}

#[tokio::test]
async fn unhashed_console_assets_are_checked_again_each_time() {
    let (router, dir) = router().await;
    asset(&dir, "fennec.css", 4_000);

    let response = get_asset(router, "/pkg/fennec.css").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
}

#[tokio::test]
async fn console_pages_are_compressed_and_the_token_endpoint_is_not() {
    let (router, _dir) = router().await;

    let page = get_asset(router.clone(), "/console/login").await;
    let token = router
        .oneshot(
            Request::post("/acme/-/oauth/token")
                .header(header::ACCEPT_ENCODING, "br, gzip")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("grant_type=client_credentials"))
                .unwrap(),
        )
        .await
        .unwrap();

    assert_eq!(page.headers()[header::CONTENT_ENCODING], "br");
    assert!(token.headers().get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn a_precompressed_copy_is_sent_as_it_is() {
    let (router, dir) = router().await;
    asset(&dir, "fennec.Xk3j9aQ2.js", 4_000);
    let precompressed = b"brotli bytes made by the build".to_vec();
    std::fs::write(
        dir.folder().join("pkg/fennec.Xk3j9aQ2.js.br"),
        &precompressed,
    )
    .unwrap();

    let response = get_asset(router, "/pkg/fennec.Xk3j9aQ2.js").await;

    assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body.as_ref(), precompressed.as_slice());
}
