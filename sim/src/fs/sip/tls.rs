//! The certificate the `wss` binding (and any later TLS binding) presents.
//!
//! FreeSWITCH's internal profile reads `wss.pem` from its certs directory and, when the
//! file is missing, ships none: browsers are then pointed at a certificate made with
//! `gentls_cert`. The mock does the equivalent at start: a fresh self-signed certificate
//! for `localhost`, `127.0.0.1` and `::1` (rcgen, ECDSA P-256), unless a PEM certificate
//! chain and key are given. The crypto provider is rustls' `ring` one, named explicitly so
//! no process-wide default has to be installed first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// Names a generated certificate is valid for: what a browser on this machine dials.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Where the `wss` certificate comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsSource {
    /// A fresh self-signed certificate for [`SELF_SIGNED_NAMES`], made at start.
    #[default]
    SelfSigned,
    /// A PEM certificate chain (leaf first) and its PEM private key (PKCS#8, PKCS#1 or SEC1).
    Files {
        /// The chain.
        cert: PathBuf,
        /// The key.
        key: PathBuf,
    },
}

/// The certificate could not be made or read; one line for the CLI.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file was missing, unreadable, or held no PEM block of the kind needed.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        why: String,
    },
    /// rcgen or rustls refused (a key that does not match the certificate, say).
    #[error("TLS setup: {0}")]
    Setup(String),
}

/// A server identity ready to accept TLS: the acceptor and the certificate it presents
/// (DER), so a test or a client on this machine can trust exactly that one.
#[derive(Clone)]
pub struct TlsIdentity {
    acceptor: TlsAcceptor,
    cert: CertificateDer<'static>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("cert_bytes", &self.cert.len()).finish()
    }
}

impl TlsIdentity {
    /// Makes or reads the identity `source` names.
    pub fn load(source: &TlsSource) -> Result<TlsIdentity, TlsError> {
        match source {
            TlsSource::SelfSigned => TlsIdentity::self_signed(),
            TlsSource::Files { cert, key } => TlsIdentity::from_pem_files(cert, key),
        }
    }

    /// A fresh self-signed certificate for [`SELF_SIGNED_NAMES`].
    pub fn self_signed() -> Result<TlsIdentity, TlsError> {
        let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(ToString::to_string).collect();
        let made = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Setup(e.to_string()))?;
        let cert = made.cert.der().clone();
        let key = PrivateKeyDer::try_from(made.signing_key.serialize_der())
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        TlsIdentity::new(vec![cert], key)
    }

    /// A PEM chain and key from files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsIdentity, TlsError> {
        let file_error = |path: &Path, why: String| TlsError::File { path: path.to_path_buf(), why };
        let cert_pem = std::fs::read(cert).map_err(|e| file_error(cert, e.to_string()))?;
        let key_pem = std::fs::read(key).map_err(|e| file_error(key, e.to_string()))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| file_error(cert, format!("not a PEM certificate: {e}")))?;
        if chain.is_empty() {
            return Err(file_error(cert, "no CERTIFICATE block".into()));
        }
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| file_error(key, format!("no PEM private key: {e}")))?;
        TlsIdentity::new(chain, key_der)
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsIdentity, TlsError> {
        let leaf = chain[0].clone();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        Ok(TlsIdentity { acceptor: TlsAcceptor::from(Arc::new(config)), cert: leaf })
    }

    /// The acceptor the listener wraps each connection with.
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// The leaf certificate presented, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert
    }

    /// The leaf certificate presented, PEM (for Node's `ca` option or `curl --cacert`).
    pub fn certificate_pem(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.cert.as_ref());
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_reads_back_from_its_pem() {
        let id = TlsIdentity::self_signed().unwrap();
        let pem = id.certificate_pem();
        let back = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(back.as_ref(), id.certificate_der());
    }

    #[test]
    fn a_certificate_and_key_from_files_are_presented_and_a_mismatch_refused() {
        let dir = std::env::temp_dir().join(format!("eslmatrix-tls-pair-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let one = rcgen::generate_simple_self_signed(vec!["pbx.example".to_string()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["other.example".to_string()]).unwrap();
        let (cert, key, wrong) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("wrong.pem"));
        std::fs::write(&cert, one.cert.pem()).unwrap();
        std::fs::write(&key, one.signing_key.serialize_pem()).unwrap();
        std::fs::write(&wrong, other.signing_key.serialize_pem()).unwrap();
        let id = TlsIdentity::load(&TlsSource::Files { cert: cert.clone(), key }).unwrap();
        assert_eq!(id.certificate_der(), one.cert.der().as_ref());
        let e = TlsIdentity::from_pem_files(&cert, &wrong).unwrap_err();
        assert!(matches!(e, TlsError::Setup(_)), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_that_are_not_pem_are_named_in_the_error() {
        let dir = std::env::temp_dir().join(format!("eslmatrix-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, "not a certificate\n").unwrap();
        std::fs::write(&key, "nor a key\n").unwrap();
        let e = TlsIdentity::from_pem_files(&cert, &key).unwrap_err().to_string();
        assert!(e.starts_with(&cert.display().to_string()) && e.contains("no CERTIFICATE"), "{e}");
        let missing = dir.join("absent.pem");
        let e = TlsIdentity::from_pem_files(&missing, &key).unwrap_err().to_string();
        assert!(e.contains("absent.pem"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
