//! Minting of RFC 9068 JWT access tokens and the token endpoint's success response.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Header;
use serde::Serialize;
use serde_json::Value;

use crate::error::TokenError;
use crate::keys::LoadedKey;
use crate::scope::Granted;

/// The `typ` header of an RFC 9068 access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Everything an access token says, apart from the key that signs it.
#[derive(Debug, Clone, Copy)]
pub struct AccessTokenRequest<'a> {
    /// The environment's issuer, with its trailing slash (SPEC 1.5).
    pub issuer: &'a str,
    /// The authenticated client, which is also the subject.
    pub client_id: &'a str,
    /// The checked audiences and scopes.
    pub granted: &'a Granted,
    /// The client's access token lifetime, in seconds.
    pub lifetime_secs: i64,
    /// The issue time, in unix seconds.
    pub now: i64,
}

#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Value,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
}

/// Signs an access token for a client (SPEC 4.11); any failure is a `server_error`.
pub fn mint_access_token(
    key: &LoadedKey,
    req: &AccessTokenRequest<'_>,
) -> Result<String, TokenError> {
    // The lifetime comes from validated configuration; a non-positive one is a bug, and a
    // token that is born expired would only confuse the client.
    if req.lifetime_secs <= 0 {
        return Err(TokenError::ServerError);
    }
    let exp = req
        .now
        .checked_add(req.lifetime_secs)
        .ok_or(TokenError::ServerError)?;

    let claims = AccessTokenClaims {
        iss: req.issuer,
        sub: req.client_id,
        aud: req.granted.aud_claim(),
        client_id: req.client_id,
        scope: req.granted.scope_claim(),
        iat: req.now,
        nbf: req.now,
        exp,
        jti: uuid::Uuid::new_v4().to_string(),
    };

    let mut header = Header::new(key.alg().jwt_algorithm());
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(key.kid().to_owned());

    // JWS compact serialisation (RFC 7515 §7.1), signed with the key parsed once at load.
    let encode = |part: &[u8]| URL_SAFE_NO_PAD.encode(part);
    let header = serde_json::to_vec(&header).map_err(|_| TokenError::ServerError)?;
    let claims = serde_json::to_vec(&claims).map_err(|_| TokenError::ServerError)?;
    let message = format!("{}.{}", encode(&header), encode(&claims));
    let signature = key
        .sign(message.as_bytes())
        .map_err(|_| TokenError::ServerError)?;
    Ok(format!("{message}.{}", encode(&signature)))
}

/// The token endpoint's JSON success body (SPEC 4.10); the token is redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The signed JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// Granted scopes, space-separated; absent when none were granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"***")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Mints an access token and wraps it in the response body the client receives.
pub fn issue_access_token(
    key: &LoadedKey,
    req: &AccessTokenRequest<'_>,
) -> Result<TokenResponse, TokenError> {
    let access_token = mint_access_token(key, req)?;

    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: req.lifetime_secs,
        scope: req.granted.scope_claim(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{ec_key, rsa_key};
    use crate::keys::SigningKey;
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    use serde_json::json;
    use std::time::{SystemTime, UNIX_EPOCH};

    const ISSUER: &str = "https://id.example.com/acme/-/";

    fn now() -> i64 {
        let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        i64::try_from(elapsed.as_secs()).unwrap()
    }

    fn granted(audiences: &[&str], scopes: &[&str]) -> Granted {
        Granted {
            audiences: audiences.iter().map(|a| a.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn decoding_key(key: &SigningKey) -> DecodingKey {
        let jwk = key.public_jwk().unwrap();
        let text = |name: &str| jwk[name].as_str().unwrap().to_owned();

        if jwk["kty"] == "RSA" {
            DecodingKey::from_rsa_components(&text("n"), &text("e")).unwrap()
        } else {
            DecodingKey::from_ec_components(&text("x"), &text("y")).unwrap()
        }
    }

    /// Verifies the signature, issuer, audience and times the way a resource server would.
    fn verify(token: &str, key: &SigningKey, audience: &str) -> Value {
        let mut validation = Validation::new(key.alg.jwt_algorithm());
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = 0;

        decode::<Value>(token, &decoding_key(key), &validation)
            .unwrap()
            .claims
    }

    fn mint(key: &SigningKey, granted: &Granted, now: i64) -> String {
        let loaded = LoadedKey::load(key).unwrap();
        let request = AccessTokenRequest {
            issuer: ISSUER,
            client_id: "my-client",
            granted,
            lifetime_secs: 3600,
            now,
        };
        mint_access_token(&loaded, &request).unwrap()
    }

    #[test]
    fn rs256_token_verifies_with_the_published_jwk_and_carries_every_claim() {
        let now = now();
        let granted = granted(&["party-api2"], &["party-api2:read1", "party-api2:read2"]);

        let token = mint(rsa_key(), &granted, now);
        let claims = verify(&token, rsa_key(), "party-api2");

        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["sub"], "my-client");
        assert_eq!(claims["client_id"], "my-client");
        assert_eq!(claims["aud"], json!("party-api2"));
        assert_eq!(claims["scope"], "party-api2:read1 party-api2:read2");
        assert_eq!(claims["iat"], now);
        assert_eq!(claims["nbf"], now);
        assert_eq!(claims["exp"], now + 3600);
        assert!(!claims["jti"].as_str().unwrap().is_empty());
    }

    #[test]
    fn header_has_at_jwt_type_algorithm_and_kid() {
        let token = mint(rsa_key(), &granted(&["my-client"], &[]), now());

        let header = decode_header(&token).unwrap();

        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(rsa_key().kid.as_str()));
    }

    #[test]
    fn es256_token_verifies_with_the_published_jwk() {
        let token = mint(
            ec_key(),
            &granted(&["party-api2"], &["party-api2:read1"]),
            now(),
        );

        let header = decode_header(&token).unwrap();
        let claims = verify(&token, ec_key(), "party-api2");

        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(ec_key().kid.as_str()));
        assert_eq!(claims["scope"], "party-api2:read1");
    }

    #[test]
    fn token_does_not_verify_with_another_key() {
        let token = mint(ec_key(), &granted(&["party-api2"], &[]), now());
        let other = SigningKey::generate(crate::keys::SigningAlg::ES256).unwrap();
        let validation = Validation::new(Algorithm::ES256);

        assert!(decode::<Value>(&token, &decoding_key(&other), &validation).is_err());
    }

    #[test]
    fn several_audiences_become_an_array() {
        let token = mint(
            ec_key(),
            &granted(&["orders", "party-api2"], &["orders:write"]),
            now(),
        );

        let claims = verify(&token, ec_key(), "party-api2");

        assert_eq!(claims["aud"], json!(["orders", "party-api2"]));
    }

    #[test]
    fn no_scope_claim_when_none_was_granted() {
        let token = mint(ec_key(), &granted(&["my-client"], &[]), now());

        let claims = verify(&token, ec_key(), "my-client");

        assert!(claims.get("scope").is_none(), "{claims}");
        assert_eq!(claims["aud"], json!("my-client"));
    }

    #[test]
    fn every_token_has_a_fresh_jti() {
        let granted = granted(&["my-client"], &[]);
        let now = now();

        let first = verify(&mint(ec_key(), &granted, now), ec_key(), "my-client");
        let second = verify(&mint(ec_key(), &granted, now), ec_key(), "my-client");

        assert_ne!(first["jti"], second["jti"]);
    }

    #[test]
    fn non_positive_or_overflowing_lifetime_is_server_error() {
        let loaded = LoadedKey::load(ec_key()).unwrap();
        let granted = granted(&["my-client"], &[]);

        for (lifetime_secs, now) in [(0, 1_000), (-5, 1_000), (3600, i64::MAX - 10)] {
            let request = AccessTokenRequest {
                issuer: ISSUER,
                client_id: "my-client",
                granted: &granted,
                lifetime_secs,
                now,
            };
            assert_eq!(
                mint_access_token(&loaded, &request).unwrap_err(),
                TokenError::ServerError
            );
        }
    }

    #[test]
    fn response_is_bearer_with_lifetime_and_granted_scope() {
        let loaded = LoadedKey::load(ec_key()).unwrap();
        let granted = granted(&["party-api2"], &["party-api2:read1"]);
        let request = AccessTokenRequest {
            issuer: ISSUER,
            client_id: "my-client",
            granted: &granted,
            lifetime_secs: 600,
            now: now(),
        };

        let response = issue_access_token(&loaded, &request).unwrap();
        let body = serde_json::to_value(&response).unwrap();

        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600);
        assert_eq!(body["scope"], "party-api2:read1");
        assert_eq!(body["access_token"], response.access_token.as_str());
        verify(&response.access_token, ec_key(), "party-api2");
    }

    #[test]
    fn response_without_scope_omits_the_member() {
        let response = TokenResponse {
            access_token: "a.b.c".into(),
            token_type: "Bearer",
            expires_in: 3600,
            scope: None,
        };

        let body = serde_json::to_value(&response).unwrap();

        assert_eq!(
            body,
            json!({"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 3600})
        );
    }

    #[test]
    fn response_debug_hides_the_token() {
        let response = TokenResponse {
            access_token: "eyJhbGciOiJSUzI1NiJ9.payload.signature".into(),
            token_type: "Bearer",
            expires_in: 3600,
            scope: None,
        };

        assert!(!format!("{response:?}").contains("payload"));
    }
}
