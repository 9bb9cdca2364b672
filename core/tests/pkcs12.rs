//! PKCS#12 files made here by the `openssl` and `keytool` commands, opened the way the
//! browser opens them: the right certificate comes out, a wrong password is named.

use std::path::{Path, PathBuf};
use std::process::Command;

use fennec_core::pkcs12::{certificates_in_pkcs12, Pkcs12Error};
use fennec_core::upload::certificates_in_file;

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = Command::new(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{program} is installed: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A self-signed certificate and key: `{name}.crt` and `{name}.key`.
    fn self_signed(&self, name: &str, newkey: &[&str]) {
        let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
        let subject = format!("/CN={name}");
        let mut args = vec!["req", "-x509", "-nodes", "-days", "30", "-subj", &subject];
        args.extend_from_slice(newkey);
        args.extend_from_slice(&["-keyout", &key, "-out", &crt]);
        self.run("openssl", &args);
    }

    /// Exports `{name}.key` and `{name}.crt` to `{name}.pfx`, with extra `openssl pkcs12` flags.
    fn export(&self, name: &str, password: &str, extra: &[&str]) -> Vec<u8> {
        let (crt, key, pfx) = (
            format!("{name}.crt"),
            format!("{name}.key"),
            format!("{name}.pfx"),
        );
        let pass = format!("pass:{password}");
        let mut args = vec![
            "pkcs12", "-export", "-inkey", &key, "-in", &crt, "-out", &pfx, "-passout", &pass,
        ];
        args.extend_from_slice(extra);
        self.run("openssl", &args);
        std::fs::read(self.path(&pfx)).unwrap()
    }

    fn certificate_der(&self, pem_file: &str) -> Vec<u8> {
        let pem = std::fs::read(self.path(pem_file)).unwrap();
        certificates_in_file(&pem).unwrap().remove(0)
    }
}

const RSA_2048: &[&str] = &["-newkey", "rsa:2048"];

fn assert_opens_to(ws: &Workspace, pfx: &[u8], password: &str, cert: &str) {
    let found = certificates_in_pkcs12(pfx, password).expect("the file opens");
    assert_eq!(found, vec![ws.certificate_der(cert)]);
}

#[test]
fn openssl_default_aes_file_gives_its_certificate() {
    let ws = Workspace::new();
    ws.self_signed("rsa2048", RSA_2048);
    let pfx = ws.export("rsa2048", "pfx password", &[]);
    assert_opens_to(&ws, &pfx, "pfx password", "rsa2048.crt");
}

#[test]
fn rsa_3072_and_ec_p256_files_give_their_certificates() {
    let ws = Workspace::new();
    ws.self_signed("rsa3072", &["-newkey", "rsa:3072"]);
    ws.self_signed(
        "p256",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let rsa = ws.export("rsa3072", "pw", &[]);
    let ec = ws.export("p256", "pw", &[]);
    assert_opens_to(&ws, &rsa, "pw", "rsa3072.crt");
    assert_opens_to(&ws, &ec, "pw", "p256.crt");
}

#[test]
fn openssl_legacy_rc2_and_3des_file_gives_its_certificate() {
    let ws = Workspace::new();
    ws.self_signed("legacy", RSA_2048);
    let pfx = ws.export("legacy", "old format", &["-legacy"]);
    assert_opens_to(&ws, &pfx, "old format", "legacy.crt");
}

#[test]
fn empty_password_is_allowed() {
    let ws = Workspace::new();
    ws.self_signed("open", RSA_2048);
    let pfx = ws.export("open", "", &[]);
    assert_opens_to(&ws, &pfx, "", "open.crt");
}

#[test]
fn wrong_password_is_named_as_such() {
    let ws = Workspace::new();
    ws.self_signed("locked", RSA_2048);
    let pfx = ws.export("locked", "right password", &[]);
    assert_eq!(
        certificates_in_pkcs12(&pfx, "wrong password"),
        Err(Pkcs12Error::WrongPassword)
    );
    let legacy = ws.export("locked", "right password", &["-legacy"]);
    assert_eq!(
        certificates_in_pkcs12(&legacy, ""),
        Err(Pkcs12Error::WrongPassword)
    );
}

#[test]
fn chain_certificates_are_left_out() {
    let ws = Workspace::new();
    ws.self_signed("ca", RSA_2048);
    ws.self_signed("leaf", RSA_2048);
    let pfx = ws.export("leaf", "pw", &["-certfile", "ca.crt"]);
    assert_opens_to(&ws, &pfx, "pw", "leaf.crt");
}

#[test]
fn keytool_default_pkcs12_gives_its_certificate() {
    let ws = Workspace::new();
    let store = ws.path("keytool.p12");
    let store = store.to_str().unwrap();
    ws.run(
        "keytool",
        &[
            "-genkeypair",
            "-alias",
            "client",
            "-keyalg",
            "RSA",
            "-keysize",
            "2048",
            "-storetype",
            "PKCS12",
            "-keystore",
            store,
            "-storepass",
            "changeit",
            "-dname",
            "CN=keytool-client",
            "-validity",
            "30",
        ],
    );
    ws.run(
        "keytool",
        &[
            "-exportcert",
            "-rfc",
            "-alias",
            "client",
            "-keystore",
            store,
            "-storepass",
            "changeit",
            "-file",
            "keytool.crt",
        ],
    );
    let pfx = std::fs::read(Path::new(store)).unwrap();
    assert_opens_to(&ws, &pfx, "changeit", "keytool.crt");
}
