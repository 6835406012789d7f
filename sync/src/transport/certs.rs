//! Region identities: the mesh CA certificate plus one certificate and key
//! per region, whose subject alternative name is `<region>.region.chatmesh`.
//!
//! Production loads operator-supplied PEM files ([`load_identity`]). Dev mode
//! ([`dev_identity`]) creates a mesh CA and region certificates in a
//! directory and reuses them on later starts, so a restarted region keeps its
//! identity and every region of a local mesh shares one CA.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::error::CertError;

/// The DNS suffix under which region names become certificate names.
pub const REGION_DNS_SUFFIX: &str = "region.chatmesh";

/// A region's TLS identity in the mesh.
#[derive(Debug)]
pub struct RegionIdentity {
    /// The region name, e.g. `eu-west`.
    pub region: String,
    /// The mesh CA every peer certificate must chain to.
    pub ca: CertificateDer<'static>,
    /// This region's certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key of the leaf certificate.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for RegionIdentity {
    fn clone(&self) -> Self {
        Self {
            region: self.region.clone(),
            ca: self.ca.clone(),
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// The DNS name a region's certificate carries, e.g. `eu-west.region.chatmesh`.
pub fn region_server_name(region: &str) -> Result<String, CertError> {
    let valid = !region.is_empty()
        && region.len() <= 63
        && !region.starts_with('-')
        && !region.ends_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(format!("{region}.{REGION_DNS_SUFFIX}"))
    } else {
        Err(CertError::RegionName(region.to_string()))
    }
}

/// Checks that a leaf certificate names `region` in its subject alt names.
pub fn check_region_certificate(leaf: &CertificateDer<'_>, region: &str) -> Result<(), CertError> {
    let wrong = |reason: String| CertError::WrongRegion {
        region: region.to_string(),
        reason,
    };
    let dns = region_server_name(region)?;
    let name = ServerName::try_from(dns).map_err(|e| wrong(e.to_string()))?;
    let parsed =
        rustls::server::ParsedCertificate::try_from(leaf).map_err(|e| wrong(e.to_string()))?;
    rustls::client::verify_server_name(&parsed, &name).map_err(|e| wrong(e.to_string()))
}

/// Loads a production identity from PEM files: the mesh CA, the region's
/// certificate chain (leaf first) and its private key.
pub fn load_identity(
    region: &str,
    ca_pem: &Path,
    cert_pem: &Path,
    key_pem: &Path,
) -> Result<RegionIdentity, CertError> {
    let ca = read_certs(ca_pem)?
        .into_iter()
        .next()
        .ok_or_else(|| no_section(ca_pem))?;
    let chain = read_certs(cert_pem)?;
    let leaf = chain.first().ok_or_else(|| no_section(cert_pem))?;
    check_region_certificate(leaf, region)?;
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(|source| CertError::Pem {
        path: key_pem.to_path_buf(),
        source,
    })?;
    Ok(RegionIdentity {
        region: region.to_string(),
        ca,
        chain,
        key,
    })
}

/// Creates (or reuses) a dev mesh CA in `dir` (`ca.pem`, `ca.key`) and a
/// certificate for `region` signed by it (`<region>.pem`, `<region>.key`).
pub fn dev_identity(dir: &Path, region: &str) -> Result<RegionIdentity, CertError> {
    let server_name = region_server_name(region)?;
    fs::create_dir_all(dir).map_err(|source| io_err(dir, source))?;
    let (ca_pem, ca_key_pem) = dev_ca(dir)?;

    let cert_path = dir.join(format!("{region}.pem"));
    let key_path = dir.join(format!("{region}.key"));
    if !cert_path.exists() || !key_path.exists() {
        let ca_key = KeyPair::from_pem(&ca_key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)?;
        let mut params = CertificateParams::new(vec![server_name])?;
        params.distinguished_name.push(DnType::CommonName, region);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // Every region is both a QUIC server and a QUIC client.
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        // Key first: a cert file without its key would be reused as broken.
        write_new(&key_path, key.serialize_pem().as_bytes(), true)?;
        write_new(&cert_path, cert.pem().as_bytes(), false)?;
    }
    load_identity(region, &dir.join("ca.pem"), &cert_path, &key_path)
}

/// Returns the dev CA's certificate and key PEM, creating them if absent.
/// Several regions of a local mesh may start at once: creation publishes
/// each file with a hard link, which fails if it exists, so exactly one
/// process wins and the others wait for its `ca.pem`.
fn dev_ca(dir: &Path) -> Result<(String, String), CertError> {
    let cert_path = dir.join("ca.pem");
    let key_path = dir.join("ca.key");
    if !cert_path.exists() {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "chatmesh mesh CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        if publish(&key_path, key.serialize_pem().as_bytes(), true)? {
            publish(&cert_path, cert.pem().as_bytes(), false)?;
        } else {
            wait_for(&cert_path, dir)?;
        }
    }
    let read = |p: &Path| fs::read_to_string(p).map_err(|source| io_err(p, source));
    Ok((read(&cert_path)?, read(&key_path)?))
}

/// Writes `bytes` to a private temp file and links it to `path`; false if
/// `path` already existed (someone else won).
fn publish(path: &Path, bytes: &[u8], secret: bool) -> Result<bool, CertError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let unique = format!(
        "{}.tmp-{}-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let tmp = path.with_file_name(unique);
    write_new(&tmp, bytes, secret)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(io_err(path, source)),
    }
}

fn wait_for(path: &Path, dir: &Path) -> Result<(), CertError> {
    for _ in 0..100 {
        if path.exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(CertError::CaIncomplete(dir.to_path_buf()))
}

fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), CertError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|source| io_err(path, source))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| io_err(path, source))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let pem_err = |source| CertError::Pem {
        path: path.to_path_buf(),
        source,
    };
    CertificateDer::pem_file_iter(path)
        .map_err(pem_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err)
}

fn no_section(path: &Path) -> CertError {
    CertError::Pem {
        path: path.to_path_buf(),
        source: rustls::pki_types::pem::Error::NoItemsFound,
    }
}

fn io_err(path: &Path, source: io::Error) -> CertError {
    CertError::Io {
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_become_dns_names_or_are_refused() {
        assert_eq!(
            region_server_name("eu-west").expect("valid"),
            "eu-west.region.chatmesh"
        );
        for bad in [
            "",
            "EU",
            "eu.west",
            "-eu",
            "eu-",
            "eu west",
            &"a".repeat(64),
        ] {
            assert!(region_server_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn dev_identities_share_one_ca_and_survive_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let eu = dev_identity(dir.path(), "eu-west").expect("eu");
        let us = dev_identity(dir.path(), "us-east").expect("us");
        assert_eq!(eu.ca, us.ca, "one CA for the mesh");
        for f in [
            "ca.pem",
            "ca.key",
            "eu-west.pem",
            "eu-west.key",
            "us-east.pem",
        ] {
            assert!(dir.path().join(f).exists(), "{f} missing");
        }
        let again = dev_identity(dir.path(), "eu-west").expect("reload");
        assert_eq!(again.chain, eu.chain, "restart keeps the certificate");
        assert_eq!(again.ca, eu.ca);

        check_region_certificate(&eu.chain[0], "eu-west").expect("own name");
        assert!(matches!(
            check_region_certificate(&eu.chain[0], "us-east"),
            Err(CertError::WrongRegion { .. })
        ));
    }

    #[test]
    fn loading_checks_the_region_and_the_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        dev_identity(dir.path(), "ap-south").expect("dev");
        let p = |f: &str| dir.path().join(f);
        let id = load_identity(
            "ap-south",
            &p("ca.pem"),
            &p("ap-south.pem"),
            &p("ap-south.key"),
        )
        .expect("load");
        assert_eq!(id.region, "ap-south");
        assert!(matches!(
            load_identity(
                "eu-west",
                &p("ca.pem"),
                &p("ap-south.pem"),
                &p("ap-south.key")
            ),
            Err(CertError::WrongRegion { .. })
        ));
        assert!(matches!(
            load_identity(
                "ap-south",
                &p("nope.pem"),
                &p("ap-south.pem"),
                &p("ap-south.key")
            ),
            Err(CertError::Pem { .. })
        ));
        assert!(matches!(
            load_identity(
                "ap-south",
                &p("ca.pem"),
                &p("ap-south.key"),
                &p("ap-south.key")
            ),
            Err(CertError::Pem { .. })
        ));
    }

    #[test]
    fn concurrent_dev_starts_agree_on_one_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_path_buf();
        let handles: Vec<_> = ["r1", "r2", "r3", "r4"]
            .into_iter()
            .map(|r| {
                let path = path.clone();
                std::thread::spawn(move || dev_identity(&path, r).expect("dev identity").ca)
            })
            .collect();
        let cas: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        assert!(
            cas.windows(2).all(|w| w[0] == w[1]),
            "regions got different CAs"
        );
    }
}
