//! In-process HTTP tests of `private_key_jwt` (SPEC 4.7): one test per assertion rule, with
//! certificates and keys made here by rcgen, never committed.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use fennec_core::rules::ClientAuthMethod;
use fennec_core::service::{Fennec, NewClientInput};
use fennec_core::views::GrantInput;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{CertificateParams, KeyPair, RsaKeySize};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

mod support;
use support::{assert_error, fixture, form_request, send, Answer, Fixture, ISSUER};

const ENV_TOKEN_URL: &str = "https://id.example.test/acme/-/oauth/token";
const APP_TOKEN_URL: &str = "https://id.example.test/acme/-/jwt-client/oauth/token";
const ASSERTION_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

/// A private key with a self-signed certificate for it.
struct Credential {
    key_pem: String,
    cert_der: Vec<u8>,
    alg: Algorithm,
}

impl Credential {
    fn new(key: KeyPair, alg: Algorithm, valid: (Duration, Duration)) -> Credential {
        let mut params = CertificateParams::new(vec!["jwt-client.example.test".into()]).unwrap();
        let now = OffsetDateTime::now_utc();
        params.not_before = now + valid.0;
        params.not_after = now + valid.1;
        let cert = params.self_signed(&key).unwrap();
        Credential {
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            alg,
        }
    }

    fn encoding_key(&self) -> EncodingKey {
        match self.alg {
            Algorithm::ES256 | Algorithm::ES384 => {
                EncodingKey::from_ec_pem(self.key_pem.as_bytes()).unwrap()
            }
            _ => EncodingKey::from_rsa_pem(self.key_pem.as_bytes()).unwrap(),
        }
    }

    /// The certificate's `x5t`: its SHA-1 thumbprint in base64url.
    fn x5t(&self) -> String {
        use sha1::{Digest, Sha1};
        URL_SAFE_NO_PAD.encode(Sha1::digest(&self.cert_der))
    }
}

const A_YEAR: (Duration, Duration) = (Duration::days(-1), Duration::days(365));

static RSA: LazyLock<Credential> = LazyLock::new(|| {
    let key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
    Credential::new(key, Algorithm::RS256, A_YEAR)
});
static RSA_3072: LazyLock<Credential> = LazyLock::new(|| {
    let key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_3072).unwrap();
    Credential::new(key, Algorithm::PS256, A_YEAR)
});
static P256: LazyLock<Credential> = LazyLock::new(|| {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    Credential::new(key, Algorithm::ES256, A_YEAR)
});
static P384: LazyLock<Credential> = LazyLock::new(|| {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    Credential::new(key, Algorithm::ES384, A_YEAR)
});
static OTHER_RSA: LazyLock<Credential> = LazyLock::new(|| {
    let key = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
    Credential::new(key, Algorithm::RS256, A_YEAR)
});

struct TestServer {
    router: Router,
    fennec: Fennec,
    _fixture: Fixture,
}

/// A server with `jwt-client` (private_key_jwt, the given certificates, granted read1) and
/// `other-client` (private_key_jwt, [`OTHER_RSA`]).
async fn server_with(certificates: &[&Credential]) -> TestServer {
    let fixture = fixture().await;
    register(&fixture, "jwt-client", certificates).await;
    register(&fixture, "other-client", &[&OTHER_RSA]).await;
    TestServer {
        router: fennec_server::oauth::routes(fixture.fennec.clone()),
        fennec: fixture.fennec.clone(),
        _fixture: fixture,
    }
}

async fn server() -> TestServer {
    server_with(&[&RSA]).await
}

async fn register(fixture: &Fixture, name: &str, certificates: &[&Credential]) {
    let input = NewClientInput {
        display_name: name.into(),
        name: name.into(),
        auth_method: ClientAuthMethod::PrivateKeyJwt,
        grants: vec![GrantInput {
            resource: "party-api2".into(),
            scopes: vec!["read1".into()],
        }],
        certificates: certificates
            .iter()
            .map(|c| STANDARD.encode(&c.cert_der))
            .collect(),
    };
    let created = fixture
        .fennec
        .create_client(&fixture.admin, "acme", "-", input, fennec_server::now())
        .await
        .unwrap();
    assert_eq!(
        created.secret, None,
        "a private key JWT client has no secret"
    );
}

fn now() -> i64 {
    fennec_server::now()
}

/// Claims of a valid assertion from `jwt-client` to the issuer.
fn claims() -> Value {
    json!({
        "iss": "jwt-client",
        "sub": "jwt-client",
        "aud": ISSUER,
        "iat": now(),
        "exp": now() + 300,
        "jti": uuid_like(),
    })
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}-{}", now(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn sign(credential: &Credential, claims: &Value) -> String {
    let mut header = Header::new(credential.alg);
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, claims, &credential.encoding_key()).unwrap()
}

/// A JWT from raw header and claims JSON, signed by `signer` over exactly those bytes.
fn raw_jwt(header: &Value, claims: &Value, signer: impl Fn(&[u8]) -> String) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = signer(message.as_bytes());
    format!("{message}.{signature}")
}

impl TestServer {
    async fn present(&self, uri: &str, assertion: &str, extra: &str) -> Answer {
        let form = format!(
            "grant_type=client_credentials&client_assertion_type={ASSERTION_TYPE}\
             &client_assertion={assertion}{extra}"
        );
        send(&self.router, form_request(uri, &form, None)).await
    }

    async fn at_environment(&self, assertion: &str) -> Answer {
        self.present("/acme/-/oauth/token", assertion, "").await
    }
}

fn assert_token(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.json);
    assert!(answer.json["access_token"].is_string());
}

fn assert_invalid_client(answer: &Answer) {
    assert_error(answer, StatusCode::UNAUTHORIZED, "invalid_client");
}

/// The refusal of an assertion that was already used.
fn assert_replay(answer: &Answer) {
    assert_invalid_client(answer);
    assert!(answer.json["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
}

#[tokio::test]
async fn rs256_assertion_to_the_issuer_gets_a_token_for_the_client() {
    let server = server().await;
    let answer = server
        .present(
            "/acme/-/oauth/token",
            &sign(&RSA, &claims()),
            "&scope=party-api2:read1",
        )
        .await;
    assert_token(&answer);
    let token = answer.json["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["sub"], "jwt-client");
    assert_eq!(claims["aud"], "party-api2");
}

#[tokio::test]
async fn es256_es384_and_ps256_assertions_are_accepted() {
    let server = server_with(&[&P256, &P384, &RSA_3072]).await;
    for credential in [&*P256, &*P384, &*RSA_3072] {
        let answer = server.at_environment(&sign(credential, &claims())).await;
        assert_token(&answer);
    }
}

#[tokio::test]
async fn audience_may_be_the_environment_token_url() {
    let server = server().await;
    let mut claims = claims();
    claims["aud"] = ENV_TOKEN_URL.into();
    assert_token(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn audience_may_be_the_application_token_url_with_or_without_selector() {
    let server = server().await;
    let with_selector = "/acme/-/jwt-client(*)/oauth/token";
    for aud in [
        APP_TOKEN_URL.to_string(),
        format!("https://id.example.test{with_selector}"),
    ] {
        let mut claims = claims();
        claims["aud"] = aud.into();
        let answer = server
            .present(with_selector, &sign(&RSA, &claims), "")
            .await;
        assert_token(&answer);
    }
}

#[tokio::test]
async fn audience_as_a_one_element_array_is_accepted() {
    let server = server().await;
    let mut claims = claims();
    claims["aud"] = json!([ISSUER]);
    assert_token(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn unrelated_audience_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["aud"] = "https://elsewhere.example.test/".into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn audience_array_with_an_extra_value_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["aud"] = json!([ISSUER, "https://elsewhere.example.test/"]);
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn application_token_url_is_not_an_audience_at_the_environment_url() {
    let server = server().await;
    let mut claims = claims();
    claims["aud"] = APP_TOKEN_URL.into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn strict_mode_accepts_only_the_issuer_as_a_string() {
    let server = server().await;
    let fixture = &server._fixture;
    server
        .fennec
        .set_strict_assertion_audience(&fixture.admin, "acme", "-", true, now())
        .await
        .unwrap();

    let mut to_endpoint = claims();
    to_endpoint["aud"] = ENV_TOKEN_URL.into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &to_endpoint)).await);
    let mut as_array = claims();
    as_array["aud"] = json!([ISSUER]);
    assert_invalid_client(&server.at_environment(&sign(&RSA, &as_array)).await);
    assert_token(&server.at_environment(&sign(&RSA, &claims())).await);
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["iss"] = "other-client".into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn missing_issuer_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("iss");
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn missing_subject_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("sub");
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn wrong_subject_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["sub"] = "someone-else".into();
    let answer = server
        .present("/acme/-/jwt-client/oauth/token", &sign(&RSA, &claims), "")
        .await;
    assert_invalid_client(&answer);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let server = server().await;
    let assertion = raw_jwt(&json!({"alg": "none", "typ": "JWT"}), &claims(), |_| {
        String::new()
    });
    assert_invalid_client(&server.at_environment(&assertion).await);
}

#[tokio::test]
async fn hs256_keyed_with_the_certificate_is_refused() {
    let server = server().await;
    for public_bytes in [RSA.cert_der.clone(), RSA.x5t().into_bytes()] {
        let hmac_key = EncodingKey::from_secret(&public_bytes);
        let assertion = raw_jwt(&json!({"alg": "HS256", "typ": "JWT"}), &claims(), |m| {
            jsonwebtoken::crypto::sign(m, &hmac_key, Algorithm::HS256).unwrap()
        });
        assert_invalid_client(&server.at_environment(&assertion).await);
    }
}

#[tokio::test]
async fn rsa_signature_under_an_es256_header_is_refused() {
    let server = server().await;
    let key = RSA.encoding_key();
    let assertion = raw_jwt(&json!({"alg": "ES256", "typ": "JWT"}), &claims(), |m| {
        jsonwebtoken::crypto::sign(m, &key, Algorithm::RS256).unwrap()
    });
    assert_invalid_client(&server.at_environment(&assertion).await);
}

#[tokio::test]
async fn expired_assertion_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["iat"] = (now() - 600).into();
    claims["exp"] = (now() - 5).into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn missing_exp_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("exp");
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn iat_and_nbf_8_seconds_ahead_are_accepted() {
    let server = server().await;
    let mut claims = claims();
    claims["iat"] = (now() + 8).into();
    claims["nbf"] = (now() + 8).into();
    assert_token(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn iat_61_seconds_ahead_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["iat"] = (now() + 61).into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn nbf_61_seconds_ahead_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["nbf"] = (now() + 61).into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn lifetime_over_one_hour_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims["exp"] = (now() + 3700).into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn missing_jti_is_refused() {
    let server = server().await;
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("jti");
    assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
}

#[tokio::test]
async fn the_same_assertion_twice_is_refused_the_second_time() {
    let server = server().await;
    let assertion = sign(&RSA, &claims());
    assert_token(&server.at_environment(&assertion).await);
    assert_replay(&server.at_environment(&assertion).await);
}

#[tokio::test]
async fn a_replay_is_reported_before_a_scope_that_is_not_granted() {
    let server = server().await;
    let assertion = sign(&RSA, &claims());
    assert_token(&server.at_environment(&assertion).await);
    let replay = server
        .present("/acme/-/oauth/token", &assertion, "&scope=nowhere%3Aread")
        .await;
    assert_replay(&replay);
}

#[tokio::test]
async fn an_assertion_is_used_up_by_a_request_that_fails_after_authentication() {
    let server = server().await;
    let assertion = sign(&RSA, &claims());
    let refused = server
        .present("/acme/-/oauth/token", &assertion, "&scope=nowhere%3Aread")
        .await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_invalid_client(&server.at_environment(&assertion).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_uses_of_one_assertion_get_one_token() {
    let server = std::sync::Arc::new(server().await);
    let assertion = sign(&RSA, &claims());
    let tries: Vec<_> = (0..24)
        .map(|_| {
            let (server, assertion) = (server.clone(), assertion.clone());
            tokio::spawn(async move { server.at_environment(&assertion).await })
        })
        .collect();
    let mut tokens = 0;
    for answer in tries {
        let answer = answer.await.unwrap();
        match answer.status {
            StatusCode::OK => tokens += 1,
            _ => assert_invalid_client(&answer),
        }
    }
    assert_eq!(tokens, 1);
}

#[tokio::test]
async fn access_token_type_is_refused_as_an_assertion() {
    let server = server().await;
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    let assertion = jsonwebtoken::encode(&header, &claims(), &RSA.encoding_key()).unwrap();
    assert_invalid_client(&server.at_environment(&assertion).await);
}

#[tokio::test]
async fn client_authentication_type_and_no_type_are_accepted() {
    let server = server().await;
    for typ in [Some("client-authentication+jwt"), None] {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = typ.map(str::to_string);
        let assertion = jsonwebtoken::encode(&header, &claims(), &RSA.encoding_key()).unwrap();
        assert_token(&server.at_environment(&assertion).await);
    }
}

#[tokio::test]
async fn expired_certificate_is_refused() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let expired = Credential::new(
        key,
        Algorithm::ES256,
        (Duration::days(-30), Duration::days(-1)),
    );
    let server = server_with(&[&expired]).await;
    assert_invalid_client(&server.at_environment(&sign(&expired, &claims())).await);
}

#[tokio::test]
async fn certificate_not_yet_valid_is_refused() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let future = Credential::new(
        key,
        Algorithm::ES256,
        (Duration::days(1), Duration::days(30)),
    );
    let server = server_with(&[&future]).await;
    assert_invalid_client(&server.at_environment(&sign(&future, &claims())).await);
}

#[tokio::test]
async fn client_id_naming_another_client_is_invalid_request() {
    let server = server().await;
    let answer = server
        .present(
            "/acme/-/oauth/token",
            &sign(&RSA, &claims()),
            "&client_id=other-client",
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn matching_client_id_parameter_is_accepted() {
    let server = server().await;
    let answer = server
        .present(
            "/acme/-/oauth/token",
            &sign(&RSA, &claims()),
            "&client_id=jwt-client",
        )
        .await;
    assert_token(&answer);
}

#[tokio::test]
async fn basic_header_with_an_assertion_is_invalid_request() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_assertion_type={ASSERTION_TYPE}&client_assertion={}",
        sign(&RSA, &claims())
    );
    let basic = format!("Basic {}", STANDARD.encode("jwt-client:whatever"));
    let answer = send(
        &server.router,
        form_request("/acme/-/oauth/token", &form, Some(basic)),
    )
    .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn assertion_signed_with_another_clients_key_is_refused() {
    let server = server().await;
    assert_invalid_client(&server.at_environment(&sign(&OTHER_RSA, &claims())).await);
}

#[tokio::test]
async fn header_thumbprint_of_an_unregistered_certificate_is_refused() {
    let server = server().await;
    let mut header = Header::new(Algorithm::RS256);
    header.x5t = Some(OTHER_RSA.x5t());
    let assertion = jsonwebtoken::encode(&header, &claims(), &RSA.encoding_key()).unwrap();
    assert_invalid_client(&server.at_environment(&assertion).await);
}

#[tokio::test]
async fn kid_picks_the_certificate_among_several() {
    let server = server_with(&[&P256, &RSA]).await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(RSA.x5t());
    let assertion = jsonwebtoken::encode(&header, &claims(), &RSA.encoding_key()).unwrap();
    assert_token(&server.at_environment(&assertion).await);
}

#[tokio::test]
async fn unsupported_assertion_type_is_invalid_client() {
    let server = server().await;
    let form = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aexample&client_assertion={}",
        sign(&RSA, &claims())
    );
    let answer = send(
        &server.router,
        form_request("/acme/-/oauth/token", &form, None),
    )
    .await;
    assert_invalid_client(&answer);
}

#[tokio::test]
async fn secret_client_cannot_authenticate_with_an_assertion() {
    let fixture = fixture().await;
    let input = NewClientInput {
        display_name: "Secret client".into(),
        name: "secret-client".into(),
        auth_method: ClientAuthMethod::ClientSecretPost,
        grants: vec![],
        certificates: vec![],
    };
    fixture
        .fennec
        .create_client(&fixture.admin, "acme", "-", input, now())
        .await
        .unwrap();
    let router = fennec_server::oauth::routes(fixture.fennec.clone());
    let mut claims = claims();
    claims["iss"] = "secret-client".into();
    claims["sub"] = "secret-client".into();
    let form = format!(
        "grant_type=client_credentials&client_assertion_type={ASSERTION_TYPE}&client_assertion={}",
        sign(&RSA, &claims)
    );
    let answer = send(&router, form_request("/acme/-/oauth/token", &form, None)).await;
    assert_invalid_client(&answer);
}

#[tokio::test]
async fn metadata_offers_private_key_jwt_and_its_algorithms() {
    let server = server().await;
    let request = axum::http::Request::get("/acme/-/.well-known/openid-configuration")
        .body(axum::body::Body::empty())
        .unwrap();
    let doc = send(&server.router, request).await.json;
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("private_key_jwt")));
    let algs = doc["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("RS256")) && algs.contains(&json!("ES256")));
    assert!(!algs.contains(&json!("HS256")) && !algs.contains(&json!("none")));
}

#[tokio::test]
async fn huge_negative_iat_or_nbf_is_refused_without_harm() {
    let server = server().await;
    for (claim, value) in [
        ("iat", json!(-1e300)),
        ("nbf", json!(i64::MIN)),
        ("iat", json!(-9_223_372_036_854_775_808i64)),
    ] {
        let mut claims = claims();
        claims[claim] = value;
        assert_invalid_client(&server.at_environment(&sign(&RSA, &claims)).await);
    }
}

#[tokio::test]
async fn media_type_forms_of_typ_are_accepted() {
    let server = server().await;
    for typ in [
        "application/jwt",
        "application/client-authentication+jwt",
        "jwt",
    ] {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(typ.into());
        let assertion = jsonwebtoken::encode(&header, &claims(), &RSA.encoding_key()).unwrap();
        assert_token(&server.at_environment(&assertion).await);
    }
}

#[tokio::test]
async fn jti_is_limited_to_256_characters() {
    let server = server().await;
    let mut wide = claims();
    wide["jti"] = "€".repeat(256).into();
    assert_token(&server.at_environment(&sign(&RSA, &wide)).await);
    let mut long = claims();
    long["jti"] = "j".repeat(257).into();
    assert_invalid_client(&server.at_environment(&sign(&RSA, &long)).await);
}

#[tokio::test]
async fn crit_header_and_non_string_header_members_are_refused() {
    let server = server().await;
    let key = RSA.encoding_key();
    for header in [
        json!({"alg": "RS256", "crit": ["exp"], "exp": 1}),
        json!({"alg": "RS256", "typ": 1}),
        json!({"alg": "RS256", "x5t": 5}),
    ] {
        let assertion = raw_jwt(&header, &claims(), |m| {
            jsonwebtoken::crypto::sign(m, &key, Algorithm::RS256).unwrap()
        });
        let answer = server.at_environment(&assertion).await;
        assert_invalid_client(&answer);
        let description = answer.json["error_description"].as_str().unwrap();
        assert!(!description.contains("signature"), "{description}");
    }
}

#[tokio::test]
async fn application_url_with_a_selector_is_an_audience_at_the_plain_url() {
    let server = server().await;
    let mut claims = claims();
    claims["aud"] = "https://id.example.test/acme/-/jwt-client(*)/oauth/token".into();
    let answer = server
        .present("/acme/-/jwt-client/oauth/token", &sign(&RSA, &claims), "")
        .await;
    assert_token(&answer);
}

#[tokio::test]
async fn application_url_of_another_spelling_or_client_is_not_an_audience() {
    let server = server().await;
    for aud in [
        "https://id.example.test/acme/-/JWT-CLIENT/oauth/token",
        "https://id.example.test/acme/-/other-client/oauth/token",
        "https://id.example.test/acme/-/jwt-client(*)(x)/oauth/token",
    ] {
        let mut claims = claims();
        claims["aud"] = aud.into();
        let answer = server
            .present("/acme/-/jwt-client/oauth/token", &sign(&RSA, &claims), "")
            .await;
        assert_invalid_client(&answer);
    }
}
