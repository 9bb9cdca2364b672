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

/// The DER certificates in a PEM, DER or bare base64 file. PEM blocks other than
/// `CERTIFICATE` and `TRUSTED CERTIFICATE` (a private key, say) are skipped, so they are
/// never sent anywhere; text around the blocks (as `openssl` writes it) is ignored.
pub fn certificates_in_file(bytes: &[u8]) -> Result<Vec<Vec<u8>>, UploadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(start) = find(bytes, b"-----BEGIN ") {
        let blocks = pem::parse_many(&bytes[start..]).map_err(|_| UploadError::BadPem)?;
        let certificates: Vec<Vec<u8>> = blocks
            .iter()
            .filter(|b| b.tag() == "CERTIFICATE" || b.tag() == "TRUSTED CERTIFICATE")
            // A trusted certificate is the certificate followed by OpenSSL's trust settings.
            .filter_map(|b| first_der_element(b.contents()).map(<[u8]>::to_vec))
            .collect();
        return match certificates.is_empty() {
            true => Err(UploadError::NoCertificate),
            false => Ok(certificates),
        };
    }
    if let Some(der) = first_der_element(bytes) {
        return Ok(vec![der.to_vec()]);
    }
    // A `.cer` saved as bare base64, without PEM lines.
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(decoded) => match first_der_element(&decoded) {
            Some(der) => Ok(vec![der.to_vec()]),
            None => Err(UploadError::NoCertificate),
        },
        Err(_) => Err(UploadError::NoCertificate),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first DER SEQUENCE in `bytes`, by its length header; what follows it is ignored (a
/// trailing newline, say). The server parses the certificate itself.
fn first_der_element(bytes: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (length, header) = match first {
        0..=0x7f => (usize::from(first), 2),
        0x81..=0x84 => {
            let count = usize::from(first & 0x7f);
            let digits = rest.get(..count)?;
            let length = digits
                .iter()
                .fold(0usize, |n, d| (n << 8) | usize::from(*d));
            (length, 2 + count)
        }
        _ => return None,
    };
    bytes.get(..header.checked_add(length)?)
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
    fn text_around_pem_blocks_and_a_byte_order_mark_are_ignored() {
        let text = format!(
            "\u{feff}Bag Attributes\n    localKeyID: 01\nsubject=CN = client\n\
             -----BEGIN CERTIFICATE-----\n{CERT_BODY}\n-----END CERTIFICATE-----\n"
        );
        let found = certificates_in_file(text.as_bytes()).unwrap();
        assert_eq!(found, vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]]);
    }

    #[test]
    fn trusted_certificate_blocks_give_the_certificate_without_trust_settings() {
        // The certificate 30 03 02 01 01, followed by a trust settings SEQUENCE 30 00.
        let text = "-----BEGIN TRUSTED CERTIFICATE-----\nMAMCAQEwAA==\n-----END TRUSTED CERTIFICATE-----\n";
        let found = certificates_in_file(text.as_bytes()).unwrap();
        assert_eq!(found, vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]]);
    }

    #[test]
    fn bare_base64_files_are_read_as_der() {
        let found = certificates_in_file(format!("{CERT_BODY}\r\n").as_bytes()).unwrap();
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
            certificates_in_file(&[0x30, 0x01, 0x05, b'\n']).unwrap(),
            vec![vec![0x30, 0x01, 0x05]],
            "a trailing newline is not part of the certificate"
        );
        assert_eq!(
            certificates_in_file(&[0x30, 0x05, 0x01]),
            Err(UploadError::NoCertificate),
            "a truncated DER file"
        );
        assert_eq!(
            certificates_in_file(b"hello"),
            Err(UploadError::NoCertificate)
        );
        assert_eq!(certificates_in_file(&[]), Err(UploadError::NoCertificate));
    }
}
