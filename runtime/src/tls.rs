//! TLS to Redis (`rediss://`): which certificate authorities a client trusts and, for
//! mutual TLS, the certificate it shows. Every binary takes the same three settings
//! ([`RedisTls`], flattened into its flags) and hands them to
//! [`crate::redis::ClientOptions`], which builds the one rustls configuration here.

use fred::types::config::{TlsConfig, TlsConnector};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// TLS settings of the Redis client; used only with a `rediss://` URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct RedisTls {
    /// PEM file of the certificate authorities a `rediss://` server's certificate must be
    /// signed by. Default: the system's trusted roots.
    #[arg(long = "redis-ca-file", env = "REDIS_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// PEM certificate (chain) this client shows a `rediss://` server that asks for one
    /// (mutual TLS); needs REDIS_CLIENT_KEY_FILE.
    #[arg(long = "redis-client-cert-file", env = "REDIS_CLIENT_CERT_FILE")]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of REDIS_CLIENT_CERT_FILE.
    #[arg(long = "redis-client-key-file", env = "REDIS_CLIENT_KEY_FILE")]
    pub client_key_file: Option<PathBuf>,
}

/// Why the TLS settings cannot be used. Never carries key material, only file names.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Redis TLS: {0}")]
pub struct TlsError(pub String);

impl RedisTls {
    /// Whether any TLS setting is given.
    pub fn is_set(&self) -> bool {
        self.ca_file.is_some() || self.client_cert_file.is_some() || self.client_key_file.is_some()
    }

    /// The connector for a `rediss://` URL: the configured roots (or the system's) and the
    /// client certificate if one is configured. The files are read now, so a missing or
    /// malformed one fails at start-up with its name.
    pub fn config(&self) -> Result<TlsConfig, TlsError> {
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            return Err(TlsError(
                "REDIS_CLIENT_CERT_FILE and REDIS_CLIENT_KEY_FILE go together: set both or neither"
                    .into(),
            ));
        }
        let roots = match &self.ca_file {
            Some(path) => roots_from(path)?,
            None => system_roots()?,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?
            .with_root_certificates(roots);
        let config = match (&self.client_cert_file, &self.client_key_file) {
            (Some(cert), Some(key)) => {
                let chain = certs_from(cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    TlsError(format!(
                        "REDIS_CLIENT_KEY_FILE {}: no usable private key ({e})",
                        key.display()
                    ))
                })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError(format!("client certificate and key: {e}")))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(TlsConnector::from(config).into())
    }
}

fn certs_from(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        TlsError(format!(
            "{}: cannot read a certificate ({e})",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if certs.is_empty() {
        return Err(TlsError(format!(
            "{}: no PEM certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

fn roots_from(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from(path)? {
        roots.add(cert).map_err(|e| {
            TlsError(format!(
                "REDIS_CA_FILE {}: not a usable CA certificate ({e})",
                path.display()
            ))
        })?;
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(TlsError(
            "no trusted root certificates found on this system: set REDIS_CA_FILE".into(),
        ));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_and_half_a_pair_is_refused() {
        let missing = RedisTls {
            ca_file: Some(PathBuf::from("does-not-exist/ca.pem")),
            ..RedisTls::default()
        };
        let err = missing.config().expect_err("missing CA file");
        assert!(err.to_string().contains("does-not-exist/ca.pem"), "{err}");

        let dir = std::env::temp_dir().join(format!("roomshard-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let no_pem = RedisTls {
            ca_file: Some(empty.clone()),
            ..RedisTls::default()
        };
        let err = no_pem.config().expect_err("no PEM");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");

        let half = RedisTls {
            client_cert_file: Some(empty),
            ..RedisTls::default()
        };
        assert!(half.is_set());
        let err = half.config().expect_err("cert without key");
        assert!(err.to_string().contains("go together"), "{err}");
        assert!(!RedisTls::default().is_set());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
