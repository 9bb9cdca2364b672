//! Taking the public certificates out of a PKCS#12 (.pfx, .p12) file, in the browser. The
//! password checks the file's integrity and opens the certificate bags; key bags are skipped
//! unopened, so the private key is never decrypted, kept or sent.

use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, InnerIvInit, KeyInit, KeyIvInit};
use der::asn1::{ContextSpecific, OctetString};
use der::oid::ObjectIdentifier;
use der::{Decode, Encode};
use hmac::{Hmac, Mac};
use pkcs12::authenticated_safe::AuthenticatedSafe;
use pkcs12::cert_type::CertBag;
use pkcs12::kdf::{derive_key, derive_key_utf8, Pkcs12KeyType};
use pkcs12::pbe_params::Pkcs12PbeParams;
use pkcs12::pfx::Pfx;
use pkcs12::safe_bag::SafeContents;

/// Why no certificate came out of a PKCS#12 file; messages are safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pkcs12Error {
    #[error("The file is not a PKCS#12 (.pfx or .p12) file.")]
    NotPkcs12,
    #[error("The password does not open this file.")]
    WrongPassword,
    #[error(
        "This file is protected with {0}, which the browser cannot open here. Files made by \
             OpenSSL 3 (AES-256, the default), OpenSSL with -legacy (3DES and RC2), Java's keytool \
             and Windows work; or add the certificate alone as .cer, .crt, .pem or .der."
    )]
    UnsupportedProtection(String),
    #[error("The file holds no certificate.")]
    NoCertificate,
}

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_RC2_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");

/// The DER certificates of a PKCS#12 file: those paired with a private key when the file
/// marks them (the chain's CA certificates are left out), else every certificate in it.
pub fn certificates_in_pkcs12(bytes: &[u8], password: &str) -> Result<Vec<Vec<u8>>, Pkcs12Error> {
    let pfx = Pfx::from_der(bytes).map_err(|_| Pkcs12Error::NotPkcs12)?;
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(Pkcs12Error::UnsupportedProtection(
            "public-key integrity protection".into(),
        ));
    }
    let content = pfx
        .auth_safe
        .content
        .to_der()
        .and_then(|der| OctetString::from_der(&der))
        .map_err(|_| Pkcs12Error::NotPkcs12)?;
    if let Some(mac_data) = &pfx.mac_data {
        verify_mac(mac_data, content.as_bytes(), password)?;
    }

    let safes =
        AuthenticatedSafe::from_der(content.as_bytes()).map_err(|_| Pkcs12Error::NotPkcs12)?;
    let mut found = Vec::new();
    for safe in safes {
        let plain = match safe.content_type {
            ID_DATA => safe
                .content
                .to_der()
                .and_then(|der| OctetString::from_der(&der))
                .map(|octets| octets.as_bytes().to_vec())
                .map_err(|_| Pkcs12Error::NotPkcs12)?,
            ID_ENCRYPTED_DATA => decrypt_safe(&safe.content, password)?,
            // Enveloped (public-key encrypted) safes hold nothing a password opens.
            _ => continue,
        };
        collect_certificates(&plain, &mut found)?;
    }

    let paired: Vec<Vec<u8>> = found
        .iter()
        .filter(|(_, has_key)| *has_key)
        .map(|(der, _)| der.clone())
        .collect();
    let certificates = match paired.is_empty() {
        true => found.into_iter().map(|(der, _)| der).collect(),
        false => paired,
    };
    match certificates.is_empty() {
        true => Err(Pkcs12Error::NoCertificate),
        false => Ok(certificates),
    }
}

/// Checks the file's HMAC. An empty password is tried both as an empty string and as no
/// password at all, as tools differ in how they write it.
fn verify_mac(
    mac_data: &pkcs12::mac_data::MacData,
    content: &[u8],
    password: &str,
) -> Result<(), Pkcs12Error> {
    let algorithm = mac_data.mac.algorithm.oid;
    let salt = mac_data.mac_salt.as_bytes();
    let expected = mac_data.mac.digest.as_bytes();
    let rounds = mac_data.iterations;
    let matches =
        |key_from_password: &dyn Fn(&str) -> Option<Vec<u8>>| -> Result<bool, Pkcs12Error> {
            let mut keys = vec![key_from_password(password)];
            if password.is_empty() {
                keys.push(None);
            }
            Ok(keys.into_iter().any(|key| {
                let key = key.unwrap_or_else(|| mac_key_without_password(algorithm, salt, rounds));
                hmac_matches(algorithm, &key, content, expected)
            }))
        };
    let ok = match algorithm {
        SHA1 => matches(&|p| {
            derive_key_utf8::<sha1::Sha1>(p, salt, Pkcs12KeyType::Mac, rounds, 20).ok()
        })?,
        SHA256 => matches(&|p| {
            derive_key_utf8::<sha2::Sha256>(p, salt, Pkcs12KeyType::Mac, rounds, 32).ok()
        })?,
        SHA384 => matches(&|p| {
            derive_key_utf8::<sha2::Sha384>(p, salt, Pkcs12KeyType::Mac, rounds, 48).ok()
        })?,
        SHA512 => matches(&|p| {
            derive_key_utf8::<sha2::Sha512>(p, salt, Pkcs12KeyType::Mac, rounds, 64).ok()
        })?,
        other => {
            return Err(Pkcs12Error::UnsupportedProtection(format!(
                "an integrity check of type {other}"
            )))
        }
    };
    match ok {
        true => Ok(()),
        false => Err(Pkcs12Error::WrongPassword),
    }
}

fn mac_key_without_password(algorithm: ObjectIdentifier, salt: &[u8], rounds: i32) -> Vec<u8> {
    let id = Pkcs12KeyType::Mac;
    match algorithm {
        SHA256 => derive_key::<sha2::Sha256>(&[], salt, id, rounds, 32),
        SHA384 => derive_key::<sha2::Sha384>(&[], salt, id, rounds, 48),
        SHA512 => derive_key::<sha2::Sha512>(&[], salt, id, rounds, 64),
        _ => derive_key::<sha1::Sha1>(&[], salt, id, rounds, 20),
    }
}

fn hmac_matches(algorithm: ObjectIdentifier, key: &[u8], content: &[u8], expected: &[u8]) -> bool {
    fn check<M: Mac + KeyInit>(key: &[u8], content: &[u8], expected: &[u8]) -> bool {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(content);
                mac.verify_slice(expected).is_ok()
            }
            Err(_) => false,
        }
    }
    match algorithm {
        SHA1 => check::<Hmac<sha1::Sha1>>(key, content, expected),
        SHA256 => check::<Hmac<sha2::Sha256>>(key, content, expected),
        SHA384 => check::<Hmac<sha2::Sha384>>(key, content, expected),
        SHA512 => check::<Hmac<sha2::Sha512>>(key, content, expected),
        _ => false,
    }
}

/// Opens a password-encrypted safe (PKCS#7 EncryptedData).
fn decrypt_safe(content: &der::Any, password: &str) -> Result<Vec<u8>, Pkcs12Error> {
    let encrypted = content
        .to_der()
        .and_then(|der| cms::encrypted_data::EncryptedData::from_der(&der))
        .map_err(|_| Pkcs12Error::NotPkcs12)?;
    let info = encrypted.enc_content_info;
    let mut data = info
        .encrypted_content
        .map(|c| c.as_bytes().to_vec())
        .ok_or(Pkcs12Error::NotPkcs12)?;
    let algorithm = info.content_enc_alg;
    let parameters = algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.to_der().ok())
        .ok_or(Pkcs12Error::NotPkcs12)?;

    match algorithm.oid {
        PBES2 => {
            let params = pkcs5::pbes2::Parameters::from_der(&parameters).map_err(|_| {
                Pkcs12Error::UnsupportedProtection("an unknown PBES2 cipher".into())
            })?;
            let scheme = pkcs5::EncryptionScheme::from(params);
            scheme
                .decrypt_in_place(password.as_bytes(), &mut data)
                .map(|plain| plain.to_vec())
                .map_err(|e| match e {
                    pkcs5::Error::DecryptFailed => Pkcs12Error::WrongPassword,
                    _ => Pkcs12Error::UnsupportedProtection("an unsupported PBES2 cipher".into()),
                })
        }
        PBE_SHA1_3DES => {
            let (key, iv) = pkcs12_key_iv(&parameters, password, 24)?;
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
                .map_err(|_| Pkcs12Error::NotPkcs12)?
                .decrypt_padded_vec_mut::<Pkcs7>(&data)
                .map_err(|_| Pkcs12Error::WrongPassword)
        }
        PBE_SHA1_RC2_128 | PBE_SHA1_RC2_40 => {
            let key_len = if algorithm.oid == PBE_SHA1_RC2_40 {
                5
            } else {
                16
            };
            let (key, iv) = pkcs12_key_iv(&parameters, password, key_len)?;
            let cipher = rc2::Rc2::new_with_eff_key_len(&key, key_len * 8);
            cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(cipher, &iv)
                .map_err(|_| Pkcs12Error::NotPkcs12)?
                .decrypt_padded_vec_mut::<Pkcs7>(&data)
                .map_err(|_| Pkcs12Error::WrongPassword)
        }
        other => Err(Pkcs12Error::UnsupportedProtection(format!(
            "the cipher {other}"
        ))),
    }
}

/// Key and IV of the PKCS#12 password-based ciphers (RFC 7292 Appendix B, SHA-1).
fn pkcs12_key_iv(
    parameters: &[u8],
    password: &str,
    key_len: usize,
) -> Result<(Vec<u8>, Vec<u8>), Pkcs12Error> {
    let params = Pkcs12PbeParams::from_der(parameters).map_err(|_| Pkcs12Error::NotPkcs12)?;
    let salt = params.salt.as_bytes();
    let rounds = params.iterations;
    let derive = |id, len| {
        derive_key_utf8::<sha1::Sha1>(password, salt, id, rounds, len)
            .map_err(|_| Pkcs12Error::WrongPassword)
    };
    Ok((
        derive(Pkcs12KeyType::EncryptionKey, key_len)?,
        derive(Pkcs12KeyType::Iv, 8)?,
    ))
}

/// Adds the X.509 certificates of a SafeContents, with whether each is marked as paired
/// with a key (it carries a `localKeyId`). Nested safe contents are followed.
fn collect_certificates(
    safe_contents: &[u8],
    found: &mut Vec<(Vec<u8>, bool)>,
) -> Result<(), Pkcs12Error> {
    let bags = SafeContents::from_der(safe_contents).map_err(|_| Pkcs12Error::WrongPassword)?;
    for bag in bags {
        match bag.bag_id {
            pkcs12::PKCS_12_CERT_BAG_OID => {
                let Ok(cert_bag) = ContextSpecific::<CertBag>::from_der(&bag.bag_value) else {
                    continue;
                };
                if cert_bag.value.cert_id != pkcs12::PKCS_12_X509_CERT_OID {
                    continue;
                }
                let has_key = bag
                    .bag_attributes
                    .as_ref()
                    .is_some_and(|attrs| attrs.iter().any(|a| a.oid == LOCAL_KEY_ID));
                found.push((cert_bag.value.cert_value.as_bytes().to_vec(), has_key));
            }
            pkcs12::PKCS_12_SAFE_CONTENTS_BAG_OID => {
                if let Ok(nested) = ContextSpecific::<der::Any>::from_der(&bag.bag_value) {
                    if let Ok(inner) = nested.value.to_der() {
                        collect_certificates(&inner, found)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_pkcs12_are_named_so() {
        assert_eq!(
            certificates_in_pkcs12(b"plain text", ""),
            Err(Pkcs12Error::NotPkcs12)
        );
        assert_eq!(
            certificates_in_pkcs12(&[], "x"),
            Err(Pkcs12Error::NotPkcs12)
        );
    }
}
