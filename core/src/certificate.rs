//! Client certificates for `private_key_jwt`: reading an uploaded public X.509 certificate
//! and the rules it must meet before it is kept (SPEC 3.5).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::views::CertificateView;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// Why an uploaded certificate was refused; every message is safe to show and to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("The file is not an X.509 certificate in DER or PEM form.")]
    NotACertificate,
    #[error("The certificate's RSA key has {0} bits; at least 2048 are required.")]
    RsaTooSmall(u32),
    #[error("The certificate's key type ({0}) is not supported; use RSA (2048 bits or more) or EC P-256 or P-384.")]
    UnsupportedKey(String),
}

/// The public key of a certificate, in the form signature checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateKey {
    /// An RSA key: big-endian modulus and exponent without leading zeros.
    Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
    /// An EC key on a supported curve, as an uncompressed SEC1 point.
    Ec { curve: EcCurve, point: Vec<u8> },
}

/// The elliptic curves Fennec accepts in client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    P256,
    P384,
}

/// A certificate that passed every rule, with what Fennec keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    /// Serial number in colon-free upper-case hex.
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-1 of the DER bytes, upper-case hex.
    pub sha1_thumbprint: String,
    /// SHA-256 of the DER bytes, upper-case hex.
    pub sha256_thumbprint: String,
    /// The `x5t` value (SHA-1 thumbprint in base64url), also the certificate's `kid`.
    pub x5t: String,
    /// The `x5t#S256` value (SHA-256 thumbprint in base64url).
    pub x5t_s256: String,
    pub key: CertificateKey,
}

impl ClientCertificate {
    /// "RSA" or "EC", as the console shows it.
    pub fn key_type(&self) -> &'static str {
        match self.key {
            CertificateKey::Rsa { .. } => "RSA",
            CertificateKey::Ec { .. } => "EC",
        }
    }

    /// Key size in bits (the modulus length for RSA, the curve size for EC).
    pub fn key_size(&self) -> u32 {
        match &self.key {
            CertificateKey::Rsa { modulus, .. } => bit_length(modulus),
            CertificateKey::Ec {
                curve: EcCurve::P256,
                ..
            } => 256,
            CertificateKey::Ec {
                curve: EcCurve::P384,
                ..
            } => 384,
        }
    }

    /// Whether the certificate is inside its validity period at `now`.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// What the console lists for this certificate.
    pub fn view(&self) -> CertificateView {
        CertificateView {
            der_base64: base64::engine::general_purpose::STANDARD.encode(&self.der),
            subject: self.subject.clone(),
            issuer: self.issuer.clone(),
            serial: self.serial.clone(),
            not_before: self.not_before,
            not_after: self.not_after,
            sha1_thumbprint: self.sha1_thumbprint.clone(),
            sha256_thumbprint: self.sha256_thumbprint.clone(),
            kid: self.x5t.clone(),
            key_type: self.key_type().to_string(),
            key_size: self.key_size(),
        }
    }
}

/// Reads one certificate from DER bytes and applies the key rules of SPEC 3.5.
pub fn parse_certificate(der: &[u8]) -> Result<ClientCertificate, CertificateError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|_| CertificateError::NotACertificate)?;
    if !rest.is_empty() {
        return Err(CertificateError::NotACertificate);
    }
    let der = &der[..der.len() - rest.len()];
    let spki = cert.public_key();
    let key = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let modulus = strip_leading_zeros(rsa.modulus).to_vec();
            let bits = bit_length(&modulus);
            if bits < MIN_RSA_BITS {
                return Err(CertificateError::RsaTooSmall(bits));
            }
            CertificateKey::Rsa {
                modulus,
                exponent: strip_leading_zeros(rsa.exponent).to_vec(),
            }
        }
        Ok(PublicKey::EC(point)) => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let curve = match curve_oid {
                Some(oid) if oid == OID_EC_P256 => EcCurve::P256,
                Some(oid) if oid == OID_NIST_EC_P384 => EcCurve::P384,
                _ => {
                    return Err(CertificateError::UnsupportedKey(
                        "EC on another curve".into(),
                    ))
                }
            };
            let data = point.data();
            let expected = match curve {
                EcCurve::P256 => 65,
                EcCurve::P384 => 97,
            };
            if data.len() != expected || data[0] != 4 {
                return Err(CertificateError::UnsupportedKey(
                    "compressed EC point".into(),
                ));
            }
            CertificateKey::Ec {
                curve,
                point: data.to_vec(),
            }
        }
        Ok(PublicKey::DSA(_)) => return Err(CertificateError::UnsupportedKey("DSA".into())),
        Ok(_) => {
            let name = spki.algorithm.algorithm.to_id_string();
            return Err(CertificateError::UnsupportedKey(match name.as_str() {
                "1.3.101.112" => "Ed25519".to_string(),
                "1.3.101.113" => "Ed448".to_string(),
                "1.2.840.113549.1.1.10" => "RSA-PSS".to_string(),
                other => other.to_string(),
            }));
        }
        Err(_) => return Err(CertificateError::NotACertificate),
    };

    let sha1 = Sha1::digest(der);
    let sha256 = Sha256::digest(der);
    Ok(ClientCertificate {
        der: der.to_vec(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: upper_hex(strip_leading_zeros(cert.raw_serial())),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        sha1_thumbprint: upper_hex(&sha1),
        sha256_thumbprint: upper_hex(&sha256),
        x5t: URL_SAFE_NO_PAD.encode(sha1),
        x5t_s256: URL_SAFE_NO_PAD.encode(sha256),
        key,
    })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    match &bytes[start..] {
        [] if !bytes.is_empty() => &bytes[bytes.len() - 1..],
        rest => rest,
    }
}

fn bit_length(big_endian: &[u8]) -> u32 {
    let digits = strip_leading_zeros(big_endian);
    match digits.first() {
        None | Some(0) => 0,
        Some(first) => (digits.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_from_the_first_set_bit() {
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01, 0xff]), 9);
        assert_eq!(bit_length(&[0x00]), 0);
        assert_eq!(bit_length(&[]), 0);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(
            parse_certificate(b"not a certificate"),
            Err(CertificateError::NotACertificate)
        );
        assert_eq!(
            parse_certificate(&[]),
            Err(CertificateError::NotACertificate)
        );
    }
}
