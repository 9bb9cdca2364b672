//! Reading certificate files the way the browser does before anything is sent: only public
//! certificates leave this module, never a private key found beside them.

/// What a dropped file holds, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// A PKCS#12 keystore (`.pfx`, `.p12`), opened with a password.
    Pkcs12,
    /// A certificate in PEM or DER form (`.cer`, `.crt`, `.pem`, `.der`).
    Certificate,
}

/// The file types the drop zone accepts, for the file picker's `accept` attribute.
pub const ACCEPTED_EXTENSIONS: &str = ".pfx,.p12,.cer,.crt,.pem,.der";

/// Why a file gave no certificate; messages name the file's problem, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("Only .pfx, .p12, .cer, .crt, .pem and .der files are accepted.")]
    UnsupportedFile,
    #[error("The file holds no certificate.")]
    NoCertificate,
    #[error("The PEM file could not be read.")]
    BadPem,
}

/// The kind of a file from its name, or `None` for a file the drop zone does not take.
pub fn kind_of(file_name: &str) -> Option<UploadKind> {
    let lower = file_name.to_ascii_lowercase();
    let extension = lower.rsplit_once('.').map(|(_, e)| e)?;
    match extension {
        "pfx" | "p12" => Some(UploadKind::Pkcs12),
        "cer" | "crt" | "pem" | "der" => Some(UploadKind::Certificate),
        _ => None,
    }
}

/// The DER certificates in a PEM or DER file. PEM blocks other than `CERTIFICATE` (a private
/// key, say) are skipped, so they are never sent anywhere.
pub fn certificates_in_file(bytes: &[u8]) -> Result<Vec<Vec<u8>>, UploadError> {
    let trimmed = trim_ascii(bytes);
    if trimmed.starts_with(b"-----BEGIN") {
        let blocks = pem::parse_many(trimmed).map_err(|_| UploadError::BadPem)?;
        let certificates: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| b.into_contents())
            .collect();
        return match certificates.is_empty() {
            true => Err(UploadError::NoCertificate),
            false => Ok(certificates),
        };
    }
    // DER: an X.509 certificate is a SEQUENCE; the server checks the rest.
    match bytes.first() {
        Some(0x30) => Ok(vec![bytes.to_vec()]),
        _ => Err(UploadError::NoCertificate),
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT_BODY: &str = "MAMCAQE=";

    #[test]
    fn file_kinds_follow_the_extension_in_any_case() {
        assert_eq!(kind_of("client.PFX"), Some(UploadKind::Pkcs12));
        assert_eq!(kind_of("a.b.p12"), Some(UploadKind::Pkcs12));
        assert_eq!(kind_of("client.crt"), Some(UploadKind::Certificate));
        assert_eq!(kind_of("client.der"), Some(UploadKind::Certificate));
        assert_eq!(kind_of("key.txt"), None);
        assert_eq!(kind_of("noextension"), None);
    }

    #[test]
    fn pem_files_give_only_their_certificates() {
        let text = format!(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
             -----BEGIN CERTIFICATE-----\n{CERT_BODY}\n-----END CERTIFICATE-----\n"
        );
        let found = certificates_in_file(text.as_bytes()).unwrap();
        assert_eq!(found, vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]]);
    }

    #[test]
    fn a_pem_key_alone_is_no_certificate() {
        let text = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            certificates_in_file(text.as_bytes()),
            Err(UploadError::NoCertificate)
        );
    }

    #[test]
    fn der_files_pass_through_and_other_bytes_do_not() {
        assert_eq!(
            certificates_in_file(&[0x30, 0x00]).unwrap(),
            vec![vec![0x30, 0x00]]
        );
        assert_eq!(
            certificates_in_file(b"hello"),
            Err(UploadError::NoCertificate)
        );
        assert_eq!(certificates_in_file(&[]), Err(UploadError::NoCertificate));
    }
}
