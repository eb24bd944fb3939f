//! HTTPS: the server's certificate and key, the key pin tablets trust, and a
//! self-signed identity made on first run for the demo and small sites.
//!
//! Tablets do not check the certificate against a CA: they pin the SHA-256
//! of its public key ([`KeyPin`]), taken from the enrollment QR code. A
//! certificate renewed with the same key therefore keeps working; a new key
//! needs the tablets enrolled again (or its pin put in their QR codes in
//! advance with `enroll --next-pin`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldloop_core::enroll::KeyPin;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where `serve --tls-self-signed` keeps the identity it made, under the data folder.
pub const SELF_SIGNED_DIR: &str = "tls";
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} {path}: {detail}")]
    Read {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("the TLS certificate file {0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error(
        "the certificate and the key do not go together (or the key type is not supported): {0}"
    )]
    Mismatch(String),
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

/// A certificate chain with its key, ready to serve.
#[derive(Clone)]
pub struct Identity {
    pub config: Arc<rustls::ServerConfig>,
    /// The pin of the leaf certificate's key.
    pub pin: KeyPin,
    pub cert_path: PathBuf,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("pin", &self.pin.to_string())
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

/// The ring provider, the one crypto provider of the workspace.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file (leaf first).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |detail: String| TlsError::Read {
        what: "certificate",
        path: path.to_owned(),
        detail,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| read(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(chain)
}

/// The pin of a certificate's public key.
pub fn pin_of(cert: &CertificateDer<'_>) -> Result<KeyPin, TlsError> {
    let parsed = rustls::server::ParsedCertificate::try_from(cert)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    Ok(KeyPin::of_spki(parsed.subject_public_key_info().as_ref()))
}

/// The pin of the leaf certificate in a PEM file.
pub fn pin_of_file(path: &Path) -> Result<KeyPin, TlsError> {
    pin_of(&read_certificates(path)?[0])
}

/// Loads a PEM certificate chain and its PEM private key.
pub fn load(cert_path: &Path, key_path: &Path) -> Result<Identity, TlsError> {
    let chain = read_certificates(cert_path)?;
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| TlsError::Read {
        what: "key",
        path: key_path.to_owned(),
        detail: e.to_string(),
    })?;
    let pin = pin_of(&chain[0])?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        config: Arc::new(config),
        pin,
        cert_path: cert_path.to_owned(),
    })
}

/// The self-signed identity kept in `data/tls/`, made on first use for
/// `hosts` (names or addresses); later runs load the same key, so enrolled
/// tablets keep their pin.
pub fn self_signed(data: &Path, hosts: &[String]) -> Result<Identity, TlsError> {
    let dir = data.join(SELF_SIGNED_DIR);
    let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if !cert_path.exists() || !key_path.exists() {
        write_self_signed(&dir, &cert_path, &key_path, hosts)?;
    }
    load(&cert_path, &key_path)
}

/// The certificate path of the self-signed identity, if one was made.
pub fn self_signed_cert(data: &Path) -> Option<PathBuf> {
    let path = data.join(SELF_SIGNED_DIR).join(CERT_FILE);
    path.exists().then_some(path)
}

fn write_self_signed(
    dir: &Path,
    cert_path: &Path,
    key_path: &Path,
    hosts: &[String],
) -> Result<(), TlsError> {
    let generated = rcgen::generate_simple_self_signed(hosts.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |e: std::io::Error| TlsError::Write {
            path,
            detail: e.to_string(),
        }
    };
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    // The key first, readable by the owner only, then the certificate: a
    // run cut in between leaves no certificate and makes a new pair.
    write_private(key_path, generated.signing_key.serialize_pem().as_bytes())
        .map_err(write_err(key_path))?;
    std::fs::write(cert_path, generated.cert.pem()).map_err(write_err(cert_path))?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_identity_is_made_once_and_keeps_its_pin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let first = self_signed(dir.path(), &hosts).expect("made");
        let again = self_signed(dir.path(), &hosts).expect("loaded");
        assert_eq!(first.pin, again.pin);
        assert_eq!(pin_of_file(&first.cert_path).expect("pin"), first.pin);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is the owner's alone: {mode:o}");
        }
    }

    #[test]
    fn bad_files_are_said_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").expect("write");
        let e = load(&empty, &empty).expect_err("no certificate");
        assert!(e.to_string().contains("empty.pem"), "{e}");
        let other = self_signed(dir.path(), &["a".into()]).expect("made");
        let stranger = tempfile::tempdir().expect("tempdir");
        self_signed(stranger.path(), &["b".into()]).expect("made");
        let e = load(&other.cert_path, &stranger.path().join("tls/key.pem"))
            .expect_err("a key of another certificate");
        assert!(matches!(e, TlsError::Mismatch(_)), "{e}");
    }
}
