//! Environment signing keys: generation, public JWKs and the JWKS, and a loaded signer.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Length of one P-256 coordinate, in bytes.
const P256_COORDINATE_LEN: usize = 32;

/// The algorithm an environment signs its tokens with (SPEC 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over an RSA 2048 key; the default.
    #[default]
    RS256,
    /// ECDSA over P-256 with SHA-256.
    ES256,
}

impl SigningAlg {
    /// The JOSE name, e.g. `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
        }
    }

    /// The matching `jsonwebtoken` algorithm.
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlg::RS256 => Algorithm::RS256,
            SigningAlg::ES256 => Algorithm::ES256,
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = KeyError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "RS256" => Ok(SigningAlg::RS256),
            "ES256" => Ok(SigningAlg::ES256),
            _ => Err(KeyError::UnsupportedAlgorithm),
        }
    }
}

/// Why a signing key could not be generated or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The cryptographic library could not generate a key.
    #[error("The signing key could not be generated.")]
    Generate,
    /// The stored bytes are not a PKCS#8 key of the stated algorithm (or RSA below 2048 bits).
    #[error("The signing key is not a valid {0} key.")]
    InvalidKey(SigningAlg),
    /// An algorithm name Fennec does not sign with.
    #[error("Unsupported signing algorithm.")]
    UnsupportedAlgorithm,
}

/// A private signing key as stored: its key id, algorithm and PKCS#8 v1 DER bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id: the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
    pub kid: String,
    /// The algorithm the key signs with.
    pub alg: SigningAlg,
    /// The private key, PKCS#8 v1 DER.
    pub private_pkcs8_der: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pkcs8_der", &"***")
            .finish()
    }
}

impl SigningKey {
    /// Generates a new key (RSA 2048 or P-256) whose `kid` is its JWK thumbprint.
    pub fn generate(alg: SigningAlg) -> Result<SigningKey, KeyError> {
        let der = match alg {
            SigningAlg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|pair| AsDer::<Pkcs8V1Der>::as_der(&pair))
                .map(|der| der.as_ref().to_vec()),
            SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|pair| pair.to_pkcs8v1())
                .map(|document| document.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Generate)?;

        let public = PublicKey::from_pkcs8(alg, &der)?;

        Ok(SigningKey {
            kid: public.thumbprint(),
            alg,
            private_pkcs8_der: der,
        })
    }

    /// The public JWK with `kty`, `use: sig`, `alg`, `kid` and the key's public numbers.
    pub fn public_jwk(&self) -> Result<Value, KeyError> {
        let public = PublicKey::from_pkcs8(self.alg, &self.private_pkcs8_der)?;

        Ok(public.jwk(&self.kid, self.alg))
    }
}

/// The JWKS document, `{"keys": [...]}`, publishing every given key.
pub fn jwks(keys: &[SigningKey]) -> Result<Value, KeyError> {
    let keys = keys
        .iter()
        .map(SigningKey::public_jwk)
        .collect::<Result<Vec<_>, _>>()?;

    Ok(json!({ "keys": keys }))
}

/// A signing key parsed once and ready to sign many tokens: parsing an RSA key costs more than
/// a signature, so it is not done again per token.
#[derive(Clone)]
pub struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    signer: std::sync::Arc<KeySigner>,
    public_jwk: Value,
}

/// The parsed private key of a [`LoadedKey`].
enum KeySigner {
    Rsa(aws_lc_rs::signature::RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl LoadedKey {
    /// Checks a stored key and prepares it for signing.
    pub fn load(key: &SigningKey) -> Result<LoadedKey, KeyError> {
        let public = PublicKey::from_pkcs8(key.alg, &key.private_pkcs8_der)?;

        let invalid = |_| KeyError::InvalidKey(key.alg);
        let signer = match key.alg {
            SigningAlg::RS256 => KeySigner::Rsa(
                aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&key.private_pkcs8_der)
                    .map_err(invalid)?,
            ),
            SigningAlg::ES256 => KeySigner::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.private_pkcs8_der)
                    .map_err(invalid)?,
            ),
        };

        Ok(LoadedKey {
            kid: key.kid.clone(),
            alg: key.alg,
            signer: std::sync::Arc::new(signer),
            public_jwk: public.jwk(&key.kid, key.alg),
        })
    }

    /// The key id put in the `kid` header of every token it signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it signs with.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// Its public JWK, as published in the JWKS.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// The JWS signature of `message` (RS256: RSASSA-PKCS1-v1_5 with SHA-256; ES256: the
    /// fixed-size `r || s` form of RFC 7518 §3.4).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self.signer.as_ref() {
            KeySigner::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut signature,
                )
                .map_err(|_| KeyError::InvalidKey(self.alg))?;
                Ok(signature)
            }
            KeySigner::Ec(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::InvalidKey(self.alg)),
        }
    }
}

impl LoadedKey {
    /// Whether `signature` is this key's JWS signature of `message`, as a resource server
    /// holding the published public key would check it.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
        match self.signer.as_ref() {
            KeySigner::Rsa(pair) => UnparsedPublicKey::new(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public_key().as_ref(),
            )
            .verify(message, signature)
            .is_ok(),
            KeySigner::Ec(pair) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
                    .verify(message, signature)
                    .is_ok()
            }
        }
    }
}

/// The public numbers of a key, each base64url-encoded as JWKs carry them.
enum PublicKey {
    Rsa { n: String, e: String },
    Ec { x: String, y: String },
}

impl PublicKey {
    fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<PublicKey, KeyError> {
        let invalid = |_| KeyError::InvalidKey(alg);

        match alg {
            SigningAlg::RS256 => {
                // aws-lc-rs itself refuses RSA keys below 2048 bits here.
                let pair = RsaKeyPair::from_pkcs8(der).map_err(invalid)?;

                let public = pair.public_key();
                Ok(PublicKey::Rsa {
                    n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(invalid)?;

                // An uncompressed SEC1 point: 0x04, then x and y of 32 bytes each.
                match pair.public_key().as_ref() {
                    [0x04, coordinates @ ..] if coordinates.len() == 2 * P256_COORDINATE_LEN => {
                        let (x, y) = coordinates.split_at(P256_COORDINATE_LEN);
                        Ok(PublicKey::Ec {
                            x: URL_SAFE_NO_PAD.encode(x),
                            y: URL_SAFE_NO_PAD.encode(y),
                        })
                    }
                    _ => Err(KeyError::InvalidKey(alg)),
                }
            }
        }
    }

    /// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    fn thumbprint(&self) -> String {
        // Every value is base64url, so none needs JSON escaping.
        let canonical = match self {
            PublicKey::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            PublicKey::Ec { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
        };

        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    fn jwk(&self, kid: &str, alg: SigningAlg) -> Value {
        match self {
            PublicKey::Rsa { n, e } => json!({
                "kty": "RSA",
                "use": "sig",
                "alg": alg.as_str(),
                "kid": kid,
                "n": n,
                "e": e,
            }),
            PublicKey::Ec { x, y } => json!({
                "kty": "EC",
                "use": "sig",
                "alg": alg.as_str(),
                "kid": kid,
                "crv": "P-256",
                "x": x,
                "y": y,
            }),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use std::sync::OnceLock;

    /// A throwaway 1024-bit RSA key made with `openssl genpkey` for this test only.
    const RSA_1024_PKCS8: &str = "MIICXAIBAAKBgQCZFNWjZnWGhN9RuSLN/6Dxbm36A+nV2wHW8ztSxuFbrRpflB3OVw1cwZe5CGq5Pv1J1Qgj75qWkt7i1MFB0zY04f6OfV7aVWpKkLuoFTX0cJQof34+P2KXpYX+FNfaOCP1gfrRfbwr8QHnWoBNJ4wWwaZuMdhE7M0K5+Urlp0ZbwIDAQABAoGBAI/sNq/ZtMU0R4HePgrPO9HBsUROSZr2vVQKesvokBhRN2qFJ0DIN5ftq2gbsbtYrWqtD2o5622FyGga/1eT7HF3idVRgNym/g3Y0b3QV7QX+fmgryqovoIYzt01iD40wDWHcFXJca+CR1tLUPB+8n33euDDrf4Oubw5PG8EMNYBAkEAxtN8xvFbGByS9cdYKipWDIAK6KGKugfkYL/+Nb2wzI94D7QMJI98tB81U5/IMlnIVll6Be1ZVHxTqKUqFGji8QJBAMUZ3WpJaHjSYjijQAWL5kDJp9DK+LCXnSsLCxZ0Sb18P/2WFqy0QkRNZl2k6FcahUl+ccBMO/p35CwzrGqbAl8CQDiQsH4U6lqovnKoHQAZ/VMfFntqggI8/o878AGwDt2Tr4+gJJg+Ljc8bbp1ycnxWxqd6CZJiVGM8WwYWSlnUbECQEmLeyjbt1XN+sRzdcIcD5CBLlMkSWNrT0PuXPbF8XX41M/EnzVWFZvy3Y13qRJHXRCtU7iTOZYeAk/UADPPHzUCQCEUMu4ebiUrRjgrAoTdlb14Q03enSznBP3Ak8c7qoBv8Jx6MvwYeGtjF2dqk+YmoelWvg5pEQRWjfdpBUJMHZc=";

    /// RSA generation is slow in unoptimised builds, so tests share one key.
    pub(crate) fn rsa_key() -> &'static SigningKey {
        static KEY: OnceLock<SigningKey> = OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate(SigningAlg::RS256).unwrap())
    }

    pub(crate) fn ec_key() -> &'static SigningKey {
        static KEY: OnceLock<SigningKey> = OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate(SigningAlg::ES256).unwrap())
    }

    fn field<'a>(jwk: &'a Value, name: &str) -> &'a str {
        jwk[name].as_str().unwrap()
    }

    #[test]
    fn rsa_thumbprint_matches_the_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let public = PublicKey::Rsa {
            n: n.into(),
            e: "AQAB".into(),
        };

        assert_eq!(
            public.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rsa_key_publishes_a_2048_bit_jwk_with_its_thumbprint_as_kid() {
        let key = rsa_key();

        let jwk = key.public_jwk().unwrap();

        assert_eq!(field(&jwk, "kty"), "RSA");
        assert_eq!(field(&jwk, "use"), "sig");
        assert_eq!(field(&jwk, "alg"), "RS256");
        assert_eq!(field(&jwk, "kid"), key.kid);
        assert_eq!(field(&jwk, "e"), "AQAB");
        assert_eq!(URL_SAFE_NO_PAD.decode(field(&jwk, "n")).unwrap().len(), 256);
        let expected_kid = PublicKey::Rsa {
            n: field(&jwk, "n").into(),
            e: field(&jwk, "e").into(),
        }
        .thumbprint();
        assert_eq!(key.kid, expected_kid);
        assert!(jwk.get("d").is_none(), "no private member may be published");
    }

    #[test]
    fn ec_key_publishes_a_p256_jwk_with_its_thumbprint_as_kid() {
        let key = ec_key();

        let jwk = key.public_jwk().unwrap();

        assert_eq!(field(&jwk, "kty"), "EC");
        assert_eq!(field(&jwk, "use"), "sig");
        assert_eq!(field(&jwk, "alg"), "ES256");
        assert_eq!(field(&jwk, "crv"), "P-256");
        assert_eq!(field(&jwk, "kid"), key.kid);
        assert_eq!(URL_SAFE_NO_PAD.decode(field(&jwk, "x")).unwrap().len(), 32);
        assert_eq!(URL_SAFE_NO_PAD.decode(field(&jwk, "y")).unwrap().len(), 32);
        let expected_kid = PublicKey::Ec {
            x: field(&jwk, "x").into(),
            y: field(&jwk, "y").into(),
        }
        .thumbprint();
        assert_eq!(key.kid, expected_kid);
        assert!(jwk.get("d").is_none(), "no private member may be published");
    }

    #[test]
    fn jwks_lists_every_key_in_order() {
        let document = jwks(&[rsa_key().clone(), ec_key().clone()]).unwrap();

        let kids: Vec<&str> = document["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|jwk| field(jwk, "kid"))
            .collect();
        assert_eq!(kids, [rsa_key().kid.as_str(), ec_key().kid.as_str()]);
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let key = ec_key();
        let der_start = format!("{:?}", &key.private_pkcs8_der[..4]);

        let shown = format!("{key:?} {:?}", LoadedKey::load(key).unwrap());

        assert!(shown.contains(&key.kid), "{shown}");
        assert!(
            !shown.contains(&der_start[1..der_start.len() - 1]),
            "{shown}"
        );
    }

    #[test]
    fn loaded_key_keeps_kid_alg_and_public_jwk() {
        let loaded = LoadedKey::load(rsa_key()).unwrap();

        assert_eq!(loaded.kid(), rsa_key().kid);
        assert_eq!(loaded.alg(), SigningAlg::RS256);
        assert_eq!(loaded.public_jwk(), &rsa_key().public_jwk().unwrap());
    }

    #[test]
    fn garbage_or_mismatched_key_bytes_are_refused() {
        let garbage = SigningKey {
            kid: "k".into(),
            alg: SigningAlg::RS256,
            private_pkcs8_der: vec![0x30, 0x03, 0x02, 0x01, 0x00],
        };
        let ec_as_rsa = SigningKey {
            alg: SigningAlg::RS256,
            ..ec_key().clone()
        };
        let rsa_as_ec = SigningKey {
            alg: SigningAlg::ES256,
            ..rsa_key().clone()
        };

        assert_eq!(
            LoadedKey::load(&garbage).unwrap_err(),
            KeyError::InvalidKey(SigningAlg::RS256)
        );
        assert_eq!(
            ec_as_rsa.public_jwk().unwrap_err(),
            KeyError::InvalidKey(SigningAlg::RS256)
        );
        assert_eq!(
            LoadedKey::load(&rsa_as_ec).unwrap_err(),
            KeyError::InvalidKey(SigningAlg::ES256)
        );
        assert!(jwks(&[garbage]).is_err());
    }

    #[test]
    fn rsa_key_below_2048_bits_is_refused() {
        let small = SigningKey {
            kid: "small".into(),
            alg: SigningAlg::RS256,
            private_pkcs8_der: STANDARD.decode(RSA_1024_PKCS8).unwrap(),
        };

        assert_eq!(
            LoadedKey::load(&small).unwrap_err(),
            KeyError::InvalidKey(SigningAlg::RS256)
        );
    }

    #[test]
    fn algorithm_names_round_trip() {
        for alg in [SigningAlg::RS256, SigningAlg::ES256] {
            assert_eq!(alg.as_str().parse::<SigningAlg>(), Ok(alg));
            assert_eq!(alg.to_string(), alg.as_str());
        }
        assert_eq!(
            "HS256".parse::<SigningAlg>(),
            Err(KeyError::UnsupportedAlgorithm)
        );
        assert_eq!(SigningAlg::default(), SigningAlg::RS256);
    }

    #[test]
    fn generated_keys_differ() {
        let other = SigningKey::generate(SigningAlg::ES256).unwrap();

        assert_ne!(other.kid, ec_key().kid);
    }
}
