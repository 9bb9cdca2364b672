//! Client assertions for `private_key_jwt` (RFC 7523 §3, OIDC Core §9): every check of
//! SPEC 4.7 on a signed JWT except replay, which needs the store.

use std::sync::OnceLock;

use aws_lc_rs::signature::{
    self, EcdsaVerificationAlgorithm, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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

/// A client certificate with its public key parsed for signature checks, once per algorithm
/// it is asked to verify, so that a busy client's key is not rebuilt for every assertion.
#[derive(Debug)]
pub struct AssertionKey {
    pub certificate: ClientCertificate,
    /// One slot per [`Alg`]; `None` when the key cannot serve that alg.
    parsed: [OnceLock<Option<ParsedPublicKey>>; ASSERTION_ALGORITHMS.len()],
}

impl AssertionKey {
    pub fn new(certificate: ClientCertificate) -> AssertionKey {
        AssertionKey {
            certificate,
            parsed: Default::default(),
        }
    }

    /// Whether `signature` over `message` verifies with this key under `alg`.
    fn verifies(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        let parsed = self.parsed[alg as usize].get_or_init(|| {
            let parsed = alg.parse(&self.certificate.key);
            if parsed.is_none() {
                tracing::warn!(
                    certificate.kid = %self.certificate.x5t,
                    alg = ?alg,
                    "a client certificate's key cannot check this alg"
                );
            }
            parsed
        });
        parsed
            .as_ref()
            .is_some_and(|key| key.verify_sig(message, signature).is_ok())
    }
}

/// An accepted `alg`; its number is its slot in [`AssertionKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

impl Alg {
    fn from_name(name: Option<&str>) -> Result<Alg, AssertionError> {
        match name {
            Some("RS256") => Ok(Alg::RS256),
            Some("RS384") => Ok(Alg::RS384),
            Some("RS512") => Ok(Alg::RS512),
            Some("PS256") => Ok(Alg::PS256),
            Some("PS384") => Ok(Alg::PS384),
            Some("PS512") => Ok(Alg::PS512),
            Some("ES256") => Ok(Alg::ES256),
            Some("ES384") => Ok(Alg::ES384),
            _ => Err(AssertionError::UnsupportedAlgorithm),
        }
    }

    /// `key` made ready for the check RFC 7518 §3 names for this `alg` (JWS carries ECDSA
    /// signatures as `r || s`); `None` when the key is of another type or aws-lc refuses it.
    /// An RSA key is built from its modulus and exponent, as read when it was uploaded.
    fn parse(self, key: &CertificateKey) -> Option<ParsedPublicKey> {
        let rsa = |params: &'static RsaParameters| match key {
            CertificateKey::Rsa { modulus, exponent } => RsaPublicKeyComponents {
                n: modulus,
                e: exponent,
            }
            .to_parsed_public_key(params)
            .ok(),
            CertificateKey::Ec { .. } => None,
        };
        let ec = |check: &'static EcdsaVerificationAlgorithm| match key {
            CertificateKey::Ec { point, .. } => ParsedPublicKey::new(check, point).ok(),
            CertificateKey::Rsa { .. } => None,
        };
        match self {
            Alg::RS256 => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
            Alg::RS384 => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
            Alg::RS512 => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
            Alg::PS256 => rsa(&signature::RSA_PSS_2048_8192_SHA256),
            Alg::PS384 => rsa(&signature::RSA_PSS_2048_8192_SHA384),
            Alg::PS512 => rsa(&signature::RSA_PSS_2048_8192_SHA512),
            Alg::ES256 => ec(&signature::ECDSA_P256_SHA256_FIXED),
            Alg::ES384 => ec(&signature::ECDSA_P384_SHA384_FIXED),
        }
    }

    fn fits(self, key: &CertificateKey) -> bool {
        match key {
            CertificateKey::Rsa { .. } => !matches!(self, Alg::ES256 | Alg::ES384),
            CertificateKey::Ec {
                curve: EcCurve::P256,
                ..
            } => self == Alg::ES256,
            CertificateKey::Ec {
                curve: EcCurve::P384,
                ..
            } => self == Alg::ES384,
        }
    }
}

/// The three parts of a JWS in compact form (RFC 7515 §7.1), still encoded.
struct CompactJws<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

impl<'a> CompactJws<'a> {
    fn split(token: &'a str) -> Result<CompactJws<'a>, AssertionError> {
        let mut parts = token.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(header), Some(payload), Some(signature), None) => Ok(CompactJws {
                header,
                payload,
                signature,
            }),
            _ => Err(AssertionError::Malformed),
        }
    }

    /// What the signature covers: the encoded header and payload joined by a dot.
    fn signing_input(&self, token: &'a str) -> &'a [u8] {
        &token.as_bytes()[..self.header.len() + 1 + self.payload.len()]
    }
}

/// Checks an assertion's header, signature and claims against the client's certificates.
pub fn verify_assertion(
    assertion: &str,
    keys: &[AssertionKey],
    rules: &AssertionRules<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    let jws = CompactJws::split(assertion)?;
    let header = match decode_json(jws.header)? {
        Value::Object(map) => map,
        _ => return Err(AssertionError::Malformed),
    };
    let alg = Alg::from_name(header_str(&header, "alg"))?;
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

    let named = select_by_header(&header, keys)?;
    let matching_key: Vec<&AssertionKey> = named
        .into_iter()
        .filter(|k| alg.fits(&k.certificate.key))
        .collect();
    if matching_key.is_empty() {
        return Err(AssertionError::AlgorithmKeyMismatch);
    }
    let usable: Vec<&AssertionKey> = matching_key
        .into_iter()
        .filter(|k| k.certificate.is_valid_at(rules.now))
        .collect();
    if usable.is_empty() {
        return Err(AssertionError::NoValidCertificate);
    }

    let signature = URL_SAFE_NO_PAD
        .decode(jws.signature)
        .map_err(|_| AssertionError::Malformed)?;
    let message = jws.signing_input(assertion);
    if !usable.iter().any(|k| k.verifies(alg, message, &signature)) {
        return Err(AssertionError::BadSignature);
    }
    let claims = decode_json(jws.payload)?;
    if !claims.is_object() {
        return Err(AssertionError::Malformed);
    }

    check_claims(&claims, rules)
}

/// A base64url part of a JWS read as JSON.
fn decode_json(part: &str) -> Result<Value, AssertionError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AssertionError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AssertionError::Malformed)
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

/// The certificates the header names by `x5t#S256`, `x5t` or `kid`; all of them when it names
/// none. A `kid` that matches no certificate is treated as absent, as RFC 7515 leaves its
/// form to the signer; a thumbprint that matches none is refused.
fn select_by_header<'k>(
    header: &serde_json::Map<String, Value>,
    keys: &'k [AssertionKey],
) -> Result<Vec<&'k AssertionKey>, AssertionError> {
    let pick = |matches: &dyn Fn(&ClientCertificate) -> bool| -> Vec<&'k AssertionKey> {
        keys.iter().filter(|k| matches(&k.certificate)).collect()
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
    Ok(keys.iter().collect())
}

fn non_empty(named: Vec<&AssertionKey>) -> Result<Vec<&AssertionKey>, AssertionError> {
    match named.is_empty() {
        true => Err(AssertionError::UnknownCertificate),
        false => Ok(named),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::parse_certificate;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use rcgen::{CertificateParams, KeyPair, RsaKeySize};
    use serde_json::json;

    const ISSUER: &str = "https://id.example.test/acme/-/";
    const NOW: i64 = 1_800_000_000;

    /// A key pair and a certificate for it, valid around [`NOW`].
    fn credential(key: KeyPair) -> (EncodingKey, AssertionKey) {
        let mut params = CertificateParams::new(vec!["c1.example.test".into()]).unwrap();
        params.not_before = time::OffsetDateTime::from_unix_timestamp(NOW - 86_400).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(NOW + 86_400).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem = key.serialize_pem();
        let encoding = match key.algorithm() {
            alg if alg == &rcgen::PKCS_RSA_SHA256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
            _ => EncodingKey::from_ec_pem(pem.as_bytes()),
        }
        .unwrap();
        (
            encoding,
            AssertionKey::new(parse_certificate(cert.der()).unwrap()),
        )
    }

    fn sign(alg: Algorithm, key: &EncodingKey, jti: &str) -> String {
        let claims = json!({
            "iss": "c1", "sub": "c1", "aud": ISSUER, "jti": jti,
            "iat": NOW, "exp": NOW + 60,
        });
        jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
    }

    fn verify(assertion: &str, keys: &[AssertionKey]) -> Result<VerifiedAssertion, AssertionError> {
        let rules = AssertionRules {
            client_id: "c1",
            issuer: ISSUER,
            endpoint: TokenEndpoint::Environment,
            strict_audience: false,
            now: NOW,
        };
        verify_assertion(assertion, keys, &rules)
    }

    /// The last character of the signature changed, so that its bytes differ.
    fn tampered(assertion: &str) -> String {
        let mut text = assertion.to_string();
        let last = text.pop().unwrap();
        text.push(if last == 'A' { 'Q' } else { 'A' });
        text
    }

    #[test]
    fn one_rsa_key_verifies_every_rsa_alg_again_and_again() {
        let rsa = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap();
        let (signing, key) = credential(rsa);
        let keys = [key];
        let algs = [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ];
        // Twice over, so that each alg is checked with a key parsed for it and then reused.
        for round in 0..2 {
            for alg in algs {
                let assertion = sign(alg, &signing, &format!("{alg:?}-{round}"));
                let verified = verify(&assertion, &keys).unwrap();
                assert_eq!(verified.jti, format!("{alg:?}-{round}"));
                assert_eq!(
                    verify(&tampered(&assertion), &keys),
                    Err(AssertionError::BadSignature)
                );
            }
        }
        // Each alg got a key of its own, parsed once and kept.
        for alg in [
            Alg::RS256,
            Alg::RS384,
            Alg::RS512,
            Alg::PS256,
            Alg::PS384,
            Alg::PS512,
        ] {
            assert!(keys[0].parsed[alg as usize]
                .get()
                .is_some_and(Option::is_some));
        }
        assert!(keys[0].parsed[Alg::ES256 as usize].get().is_none());
    }

    #[test]
    fn ec_keys_verify_their_own_curve_only() {
        let (p256_signing, p256) =
            credential(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap());
        let (p384_signing, p384) =
            credential(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap());
        let es256 = sign(Algorithm::ES256, &p256_signing, "es256");
        let es384 = sign(Algorithm::ES384, &p384_signing, "es384");
        let keys = [p256, p384];

        assert_eq!(verify(&es256, &keys).unwrap().jti, "es256");
        assert_eq!(verify(&es384, &keys).unwrap().jti, "es384");
        assert_eq!(
            verify(&tampered(&es256), &keys),
            Err(AssertionError::BadSignature)
        );
        assert_eq!(
            verify(&es384, &keys[..1]),
            Err(AssertionError::AlgorithmKeyMismatch)
        );
        assert_eq!(
            verify(&es256, &keys[1..]),
            Err(AssertionError::AlgorithmKeyMismatch)
        );
    }

    #[test]
    fn a_token_of_other_than_three_parts_is_malformed() {
        let (signing, key) =
            credential(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap());
        let keys = [key];
        let assertion = sign(Algorithm::ES256, &signing, "j1");
        let (message, _) = assertion.rsplit_once('.').unwrap();

        for broken in [
            message.to_string(),
            format!("{assertion}.x"),
            format!(".{assertion}"),
        ] {
            assert_eq!(
                verify(&broken, &keys),
                Err(AssertionError::Malformed),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_signature_in_another_base64_form_is_malformed() {
        let (signing, key) =
            credential(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap());
        let keys = [key];
        let assertion = sign(Algorithm::ES256, &signing, "j1");
        let (message, signature) = assertion.rsplit_once('.').unwrap();
        // A 64-byte signature ends in a character of which only the top two bits count; one
        // with any of the other four set is not the canonical form.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let (body, last) = signature.split_at(signature.len() - 1);
        let value = alphabet
            .iter()
            .position(|c| *c == last.as_bytes()[0])
            .unwrap();
        let loose = alphabet[(value & 0b11_0000) | 1] as char;
        let forms = [
            format!("{assertion}="),
            format!("{message}.+{}", &signature[1..]),
            format!("{message}.{body}{loose}"),
        ];

        for broken in forms {
            assert_eq!(
                verify(&broken, &keys),
                Err(AssertionError::Malformed),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_signature_that_is_not_base64url_is_malformed() {
        let (signing, key) =
            credential(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap());
        let assertion = sign(Algorithm::ES256, &signing, "j1");
        let broken = format!("{}*", &assertion[..assertion.len() - 1]);

        assert_eq!(verify(&broken, &[key]), Err(AssertionError::Malformed));
    }

    #[test]
    fn claims_are_read_only_after_the_signature_verifies() {
        let (signing, key) =
            credential(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap());
        let keys = [key];
        let assertion = sign(Algorithm::ES256, &signing, "j1");
        let parts: Vec<&str> = assertion.split('.').collect();
        // A payload that is not JSON, under a signature made for another payload.
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode("not json"),
            parts[2]
        );

        assert_eq!(verify(&forged, &keys), Err(AssertionError::BadSignature));
    }
}
