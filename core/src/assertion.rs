//! Client assertions for `private_key_jwt` (RFC 7523 §3, OIDC Core §9): every check of
//! SPEC 4.7 on a signed JWT except replay, which needs the store.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::certificate::{CertificateKey, ClientCertificate, EcCurve};

/// Longest time an assertion may be valid for, in seconds.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;
/// How far in the future `iat` and `nbf` may lie, for clocks that run a little ahead.
pub const ALLOWED_CLOCK_SKEW_SECS: i64 = 10;
/// Longest `jti` kept in the replay store.
pub const MAX_JTI_LEN: usize = 256;

/// The `alg` values accepted in client assertions, as listed in the metadata.
pub const ASSERTION_ALGORITHMS: [&str; 8] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

/// What an assertion is checked against.
#[derive(Debug, Clone)]
pub struct AssertionRules<'a> {
    /// The client the assertion must be issued by and about.
    pub client_id: &'a str,
    /// The environment's issuer, always an accepted audience.
    pub issuer: &'a str,
    /// The token endpoint that received the request; its URL is accepted unless strict.
    pub endpoint: TokenEndpoint<'a>,
    /// Accept only the issuer, as a plain string, as the audience.
    pub strict_audience: bool,
    /// The current time, in seconds since 1970.
    pub now: i64,
}

/// Which token endpoint received a request (SPEC 1.6, 1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpoint<'a> {
    /// `{issuer}oauth/token`.
    Environment,
    /// `{issuer}{app}/oauth/token` of the named client, with or without a selector.
    Application(&'a str),
}

/// An assertion whose signature and claims passed; its `jti` must still be used only once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    /// The assertion's `exp`: until then its `jti` stays in the replay store.
    pub expires_at: i64,
}

/// Why an assertion was refused; the message tells the client developer what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("The client assertion is not a well-formed signed JWT.")]
    Malformed,
    #[error("The client assertion's alg is not accepted; use one of RS256, RS384, RS512, PS256, PS384, PS512, ES256 or ES384.")]
    UnsupportedAlgorithm,
    #[error("The client assertion's typ must be absent, JWT or client-authentication+jwt.")]
    WrongType,
    #[error("The client assertion's header has a crit member, which Fennec does not support.")]
    CriticalHeader,
    #[error(
        "The certificate named in the client assertion's header is not registered for this client."
    )]
    UnknownCertificate,
    #[error("None of the client's certificates that could verify the assertion is valid now.")]
    NoValidCertificate,
    #[error(
        "The client assertion's alg does not match the key type of the client's certificates."
    )]
    AlgorithmKeyMismatch,
    #[error("The client assertion's signature does not verify with the client's certificates.")]
    BadSignature,
    #[error("The client assertion's iss and sub must both be the client id.")]
    WrongIssuerOrSubject,
    #[error("The client assertion's aud is not accepted here.")]
    WrongAudience,
    #[error("The client assertion has no exp claim.")]
    MissingExpiry,
    #[error("The client assertion has expired.")]
    Expired,
    #[error("The client assertion's iat or nbf lies in the future.")]
    NotYetValid,
    #[error("The client assertion is valid for more than one hour.")]
    LifetimeTooLong,
    #[error("The client assertion needs a jti claim of at most 256 characters.")]
    MissingJti,
}

/// The client an assertion says it comes from (`sub`, else `iss`), read without checking
/// anything, so that the right client's certificates can be loaded.
pub fn claimed_client_id(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("sub")
        .or_else(|| claims.get("iss"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Checks an assertion's header, signature and claims against the client's certificates.
pub fn verify_assertion(
    assertion: &str,
    certificates: &[ClientCertificate],
    rules: &AssertionRules<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    let header = read_header(assertion)?;
    let alg = accepted_algorithm(header_str(&header, "alg"))?;
    if header.contains_key("crit") {
        return Err(AssertionError::CriticalHeader);
    }
    for member in ["typ", "kid", "x5t", "x5t#S256"] {
        if header.get(member).is_some_and(|v| !v.is_string()) {
            return Err(AssertionError::Malformed);
        }
    }
    if let Some(typ) = header_str(&header, "typ") {
        if !accepted_type(typ) {
            return Err(AssertionError::WrongType);
        }
    }

    let named = select_by_header(&header, certificates)?;
    let matching_key: Vec<&ClientCertificate> = named
        .iter()
        .copied()
        .filter(|c| key_fits(&c.key, alg))
        .collect();
    if matching_key.is_empty() {
        return Err(AssertionError::AlgorithmKeyMismatch);
    }
    let usable: Vec<&ClientCertificate> = matching_key
        .into_iter()
        .filter(|c| c.is_valid_at(rules.now))
        .collect();
    if usable.is_empty() {
        return Err(AssertionError::NoValidCertificate);
    }

    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut outcome = Err(AssertionError::BadSignature);
    for cert in &usable {
        match jsonwebtoken::decode::<Value>(assertion, &decoding_key(&cert.key), &validation) {
            Ok(data) => {
                outcome = Ok(data.claims);
                break;
            }
            // Anything but a signature mismatch is a flaw of the token itself.
            Err(e) if *e.kind() != jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                outcome = Err(AssertionError::Malformed);
            }
            Err(_) => {}
        }
    }
    let claims = outcome?;
    if !claims.is_object() {
        return Err(AssertionError::Malformed);
    }

    check_claims(&claims, rules)
}

fn check_claims(
    claims: &Value,
    rules: &AssertionRules<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    let iss = claims.get("iss").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    if iss != Some(rules.client_id) || sub != Some(rules.client_id) {
        return Err(AssertionError::WrongIssuerOrSubject);
    }
    check_audience(claims.get("aud"), rules)?;

    let now = rules.now;
    let exp = numeric_claim(claims, "exp")?.ok_or(AssertionError::MissingExpiry)?;
    if exp <= now {
        return Err(AssertionError::Expired);
    }
    let iat = numeric_claim(claims, "iat")?;
    let nbf = numeric_claim(claims, "nbf")?;
    for start in [iat, nbf].into_iter().flatten() {
        if start > now.saturating_add(ALLOWED_CLOCK_SKEW_SECS) {
            return Err(AssertionError::NotYetValid);
        }
    }
    let start = [iat, nbf].into_iter().flatten().min().unwrap_or(now);
    if exp.saturating_sub(start) > MAX_ASSERTION_LIFETIME_SECS
        || exp.saturating_sub(now) > MAX_ASSERTION_LIFETIME_SECS
    {
        return Err(AssertionError::LifetimeTooLong);
    }

    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.chars().count() <= MAX_JTI_LEN)
        .ok_or(AssertionError::MissingJti)?;
    Ok(VerifiedAssertion {
        jti: jti.to_string(),
        expires_at: exp,
    })
}

fn check_audience(aud: Option<&Value>, rules: &AssertionRules<'_>) -> Result<(), AssertionError> {
    let accepted = |value: &str| {
        value == rules.issuer || (!rules.strict_audience && names_endpoint(value, rules))
    };
    match aud {
        Some(Value::String(value)) if accepted(value) => Ok(()),
        Some(Value::Array(values)) if !rules.strict_audience && values.len() == 1 => {
            match values[0].as_str() {
                Some(value) if accepted(value) => Ok(()),
                _ => Err(AssertionError::WrongAudience),
            }
        }
        _ => Err(AssertionError::WrongAudience),
    }
}

/// Whether `value` is the URL of the token endpoint that received the request; an application
/// URL may carry a selector (`app(*)`) or not, whichever the request used.
fn names_endpoint(value: &str, rules: &AssertionRules<'_>) -> bool {
    let Some(path) = value
        .strip_prefix(rules.issuer)
        .and_then(|rest| rest.strip_suffix("oauth/token"))
    else {
        return false;
    };
    match rules.endpoint {
        TokenEndpoint::Environment => path.is_empty(),
        TokenEndpoint::Application(app) => {
            let Some(segment) = path.strip_suffix('/') else {
                return false;
            };
            segment == app
                || segment
                    .strip_prefix(app)
                    .and_then(|s| s.strip_prefix('('))
                    .and_then(|s| s.strip_suffix(')'))
                    .is_some_and(|selector| !selector.contains(['(', ')', '/']))
        }
    }
}

/// A NumericDate claim in whole seconds; an absent claim is `None`, a non-number is refused.
fn numeric_claim(claims: &Value, name: &str) -> Result<Option<i64>, AssertionError> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(AssertionError::Malformed),
    }
}

fn read_header(assertion: &str) -> Result<serde_json::Map<String, Value>, AssertionError> {
    let mut parts = assertion.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AssertionError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AssertionError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(AssertionError::Malformed),
    }
}

/// `JWT` or `client-authentication+jwt`, also with the `application/` prefix that RFC 7515
/// §4.1.9 lets a `typ` carry, in any case.
fn accepted_type(typ: &str) -> bool {
    let lower = typ.to_ascii_lowercase();
    let media = lower.strip_prefix("application/").unwrap_or(&lower);
    media == "jwt" || media == "client-authentication+jwt"
}

fn header_str<'h>(header: &'h serde_json::Map<String, Value>, name: &str) -> Option<&'h str> {
    header.get(name).and_then(Value::as_str)
}

fn accepted_algorithm(alg: Option<&str>) -> Result<Algorithm, AssertionError> {
    match alg {
        Some("RS256") => Ok(Algorithm::RS256),
        Some("RS384") => Ok(Algorithm::RS384),
        Some("RS512") => Ok(Algorithm::RS512),
        Some("PS256") => Ok(Algorithm::PS256),
        Some("PS384") => Ok(Algorithm::PS384),
        Some("PS512") => Ok(Algorithm::PS512),
        Some("ES256") => Ok(Algorithm::ES256),
        Some("ES384") => Ok(Algorithm::ES384),
        _ => Err(AssertionError::UnsupportedAlgorithm),
    }
}

/// The certificates the header names by `x5t#S256`, `x5t` or `kid`; all of them when it names
/// none. A `kid` that matches no certificate is treated as absent, as RFC 7515 leaves its
/// form to the signer; a thumbprint that matches none is refused.
fn select_by_header<'c>(
    header: &serde_json::Map<String, Value>,
    certificates: &'c [ClientCertificate],
) -> Result<Vec<&'c ClientCertificate>, AssertionError> {
    let pick = |matches: &dyn Fn(&ClientCertificate) -> bool| -> Vec<&'c ClientCertificate> {
        certificates.iter().filter(|c| matches(c)).collect()
    };
    if let Some(s256) = header_str(header, "x5t#S256") {
        let named = pick(&|c| c.x5t_s256 == s256);
        return non_empty(named);
    }
    if let Some(x5t) = header_str(header, "x5t") {
        let named = pick(&|c| c.x5t == x5t);
        return non_empty(named);
    }
    if let Some(kid) = header_str(header, "kid") {
        let named = pick(&|c| c.x5t == kid || c.x5t_s256 == kid);
        if !named.is_empty() {
            return Ok(named);
        }
    }
    Ok(certificates.iter().collect())
}

fn non_empty(named: Vec<&ClientCertificate>) -> Result<Vec<&ClientCertificate>, AssertionError> {
    match named.is_empty() {
        true => Err(AssertionError::UnknownCertificate),
        false => Ok(named),
    }
}

fn key_fits(key: &CertificateKey, alg: Algorithm) -> bool {
    match key {
        CertificateKey::Rsa { .. } => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        CertificateKey::Ec {
            curve: EcCurve::P256,
            ..
        } => alg == Algorithm::ES256,
        CertificateKey::Ec {
            curve: EcCurve::P384,
            ..
        } => alg == Algorithm::ES384,
    }
}

fn decoding_key(key: &CertificateKey) -> DecodingKey {
    match key {
        CertificateKey::Rsa { modulus, exponent } => {
            DecodingKey::from_rsa_raw_components(modulus, exponent)
        }
        CertificateKey::Ec { point, .. } => DecodingKey::from_ec_der(point),
    }
}
