//! Development certificates: `region-node dev-cert` makes a private CA and a
//! server certificate it signs, for trying HTTPS and WSS on one machine.
//! Clients trust the CA with `--ca-cert` (the CLI) or
//! `Tls::with_ca_file` (the SDK); nothing is added to the system's roots.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::{TlsError, file_error};

/// The files `generate` wrote.
#[derive(Debug, Clone)]
pub struct DevCert {
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    /// The server's certificate chain (leaf, then CA).
    pub cert: PathBuf,
    /// The server's private key (mode 0600).
    pub key: PathBuf,
}

/// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir` (created with mode
/// 0700), for a server reachable as each of `names` (DNS names or IP
/// addresses). Existing files are replaced.
pub fn generate(dir: &Path, names: &[String]) -> Result<DevCert, TlsError> {
    private_dir(dir)?;
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "chatmesh development CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, names.first().map_or("chatmesh", |n| n));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    let out = DevCert {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    write(&out.key, key.serialize_pem().as_bytes())?;
    write(
        &out.cert,
        format!("{}{}", cert.pem(), ca_cert.pem()).as_bytes(),
    )?;
    write(&out.ca, ca_cert.pem().as_bytes())?;
    Ok(out)
}

fn private_dir(dir: &Path) -> Result<(), TlsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| file_error(dir, e))
}

/// Writes a file readable by its owner only (certificates are public, but
/// one mode for the whole directory keeps it simple).
fn write(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let _ = fs::remove_file(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| file_error(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| file_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsConfig;

    #[test]
    fn a_generated_certificate_loads_and_its_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let out = generate(&dir.path().join("certs"), &["localhost".into()]).unwrap();
        let config = TlsConfig {
            cert_file: out.cert.clone(),
            key_file: out.key.clone(),
            hsts: true,
        };
        let server = super::super::server_config(&config).unwrap();
        assert_eq!(server.alpn_protocols, vec![b"http/1.1".to_vec()]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&out.key), 0o600);
            assert_eq!(mode(&dir.path().join("certs")), 0o700);
        }
    }

    #[test]
    fn a_key_that_does_not_match_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = generate(&dir.path().join("a"), &["localhost".into()]).unwrap();
        let b = generate(&dir.path().join("b"), &["localhost".into()]).unwrap();
        let config = TlsConfig {
            cert_file: a.cert,
            key_file: b.key,
            hsts: true,
        };
        assert!(super::super::server_config(&config).is_err());
    }
}
