//! In-process tests of early refusals: floods of wrong secrets get 429 without hashing, while
//! proven secrets and other clients keep getting tokens.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use fennec_core::rules::ClientAuthMethod;
use fennec_core::service::{Fennec, NewClientInput};
use fennec_core::throttle::{FREE_CLIENT_FAILURES, FREE_SOURCE_FAILURES};
use fennec_core::views::GrantInput;

mod support;
use support::{fixture, form_request, send, Answer, Fixture};

const TOKEN_URL: &str = "/acme/-/oauth/token";

struct Flood {
    router: axum::Router,
    fennec: Fennec,
    target_secret: String,
    bystander_secret: String,
    _fixture: Fixture,
}

async fn flood() -> Flood {
    let fixture = fixture().await;
    let mut secrets = Vec::new();
    for name in ["target", "bystander"] {
        let input = NewClientInput {
            display_name: name.into(),
            name: name.into(),
            auth_method: ClientAuthMethod::ClientSecretPost,
            grants: vec![GrantInput {
                resource: "party-api2".into(),
                scopes: vec!["read1".into()],
            }],
            certificates: vec![],
        };
        let created = fixture
            .fennec
            .create_client(&fixture.admin, "acme", "-", input, fennec_server::now())
            .await
            .unwrap();
        secrets.push(created.secret.unwrap());
    }
    Flood {
        router: fennec_server::oauth::routes(fixture.fennec.clone()),
        fennec: fixture.fennec.clone(),
        bystander_secret: secrets.pop().unwrap(),
        target_secret: secrets.pop().unwrap(),
        _fixture: fixture,
    }
}

impl Flood {
    async fn attempt(&self, client: &str, secret: &str, source: Option<[u8; 4]>) -> Answer {
        let form =
            format!("grant_type=client_credentials&client_id={client}&client_secret={secret}");
        let mut request: Request<Body> = form_request(TOKEN_URL, &form, None);
        if let Some(ip) = source {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
        }
        send(&self.router, request).await
    }
}

#[tokio::test]
async fn repeated_wrong_secrets_for_a_client_are_refused_with_429_without_hashing() {
    let flood = flood().await;
    for _ in 0..=FREE_CLIENT_FAILURES {
        let answer = flood.attempt("target", "wrong-secret", None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.json);
    }
    let hashed_before = flood.fennec.hashing_runs();

    let refused = flood.attempt("target", "wrong-secret", None).await;

    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.json
    );
    assert_eq!(refused.json["error"], "temporarily_unavailable");
    let retry_after: i64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(refused.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(flood.fennec.hashing_runs(), hashed_before);
}

#[tokio::test]
async fn a_proven_secret_still_gets_tokens_while_its_client_is_refused() {
    let flood = flood().await;
    let proven = flood.attempt("target", &flood.target_secret, None).await;
    assert_eq!(proven.status, StatusCode::OK, "{}", proven.json);
    for _ in 0..=FREE_CLIENT_FAILURES {
        flood.attempt("target", "wrong-secret", None).await;
    }
    assert_eq!(
        flood.attempt("target", "wrong-secret", None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let honest = flood.attempt("target", &flood.target_secret, None).await;

    assert_eq!(honest.status, StatusCode::OK, "{}", honest.json);
}

#[tokio::test]
async fn other_clients_are_not_refused_when_one_is_flooded() {
    let flood = flood().await;
    for _ in 0..=FREE_CLIENT_FAILURES + 1 {
        flood.attempt("target", "wrong-secret", None).await;
    }

    let bystander = flood
        .attempt("bystander", &flood.bystander_secret, None)
        .await;

    assert_eq!(bystander.status, StatusCode::OK, "{}", bystander.json);
}

#[tokio::test]
async fn repeated_failures_from_one_source_are_refused_whatever_client_they_name() {
    let flood = flood().await;
    let attacker = [203, 0, 113, 7];
    for i in 0..=FREE_SOURCE_FAILURES {
        let answer = flood
            .attempt(&format!("guess-{i}"), "wrong-secret", Some(attacker))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.json);
    }

    let refused = flood
        .attempt("bystander", &flood.bystander_secret, Some(attacker))
        .await;
    let elsewhere = flood
        .attempt(
            "bystander",
            &flood.bystander_secret,
            Some([198, 51, 100, 1]),
        )
        .await;

    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.json
    );
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.json);
}
