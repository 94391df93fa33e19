//! PostgreSQL over TLS: libpq's `sslmode` and `sslrootcert` URL parameters, with rustls on the
//! *ring* provider (the one the rest of kassa uses) through `tokio-postgres-rustls`.
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (the default) | if the server offers it; if the handshake fails, plain | not checked |
//! | `require` | always | not checked; with `sslrootcert`, its chain is (as `verify-ca`) |
//! | `verify-ca` | always | signed by `sslrootcert` (or the platform's roots) |
//! | `verify-full` | always | that, and it names the host of the URL |
//!
//! As libpq: `require` with `sslrootcert` behaves as `verify-ca`, and `sslrootcert=system` (the
//! platform's roots) makes `verify-full` the default and refuses weaker modes. Unlike libpq,
//! `verify-ca` and `verify-full` without `sslrootcert` use the platform's roots (libpq would look
//! for `~/.postgresql/root.crt` and fail without it), and `prefer` never checks a certificate.
//!
//! `prefer` stays the default, as in libpq, because it cannot break a database on loopback or a
//! private network: a server without TLS answers the TLS request with "no" and the connection goes
//! on in plain text, as before; one with TLS gets encrypted; and one whose handshake fails is
//! connected to again without TLS. (`prefer` protects only against eavesdropping, never against
//! an active attacker: use `verify-full` across networks you do not trust.)
//!
//! Errors from a failed handshake name the mode (`sslmode=verify-full`) and why, with a hint for
//! the usual causes; they never name the URL, which may carry a password.

use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kassa_core::store::StoreError;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`, as far as kassa supports it (not `allow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where the roots that sign the server's certificate come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// A PEM file of one or more certificates (`sslrootcert=/path`).
    File(String),
    /// The platform's trusted roots (`sslrootcert=system`, or none given).
    System,
}

/// The TLS parameters of a database URL, as written (`sslmode`, `sslrootcert`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsParams {
    pub mode: Option<String>,
    pub root_cert: Option<String>,
}

/// How connections are made: the mode, and for every mode but `disable`, the rustls connector.
#[derive(Clone)]
pub(crate) struct Tls {
    mode: SslMode,
    connector: Option<MakeRustlsConnect>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// A connection's I/O, to be spawned: it ends when the connection does.
pub(crate) type Io = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

impl Tls {
    /// No TLS at all (`sslmode=disable`).
    pub(crate) fn disabled() -> Self {
        Self { mode: SslMode::Disable, connector: None }
    }

    pub(crate) fn mode(&self) -> SslMode {
        self.mode
    }

    /// Settle the mode and build the connector, reading `sslrootcert` (or the platform's roots).
    /// Sets tokio-postgres's own `sslmode` on `config` (it knows `disable`, `prefer`, `require`;
    /// the verifying modes are `require` there, with the checks in the connector).
    pub(crate) fn from_params(params: &TlsParams, config: &mut Config) -> Result<Self, StoreError> {
        let invalid = |why: String| StoreError::Backend(format!("invalid PostgreSQL database URL: {why}"));
        let roots = params.root_cert.as_deref().map(|r| match r {
            "system" => Roots::System,
            path => Roots::File(path.to_owned()),
        });
        let mode = match params.mode.as_deref() {
            None if roots == Some(Roots::System) => SslMode::VerifyFull,
            None => SslMode::Prefer,
            Some(value) => SslMode::parse(value).ok_or_else(|| {
                invalid(
                    "`sslmode` must be `disable`, `prefer`, `require`, `verify-ca` or `verify-full` \
                     (`allow` is not supported)"
                        .to_owned(),
                )
            })?,
        };
        if roots == Some(Roots::System) && mode != SslMode::VerifyFull {
            return Err(invalid(format!(
                "`sslrootcert=system` needs `sslmode=verify-full` (as libpq), not `{}`",
                mode.as_str()
            )));
        }
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        if mode == SslMode::Disable {
            return Ok(Self::disabled());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = match (mode, roots) {
            (SslMode::Prefer | SslMode::Require, None) => Verifier { chain: None, names: false, provider },
            (mode, roots) => Verifier {
                chain: Some(webpki(load_roots(roots.unwrap_or(Roots::System))?, &provider)?),
                names: mode == SslMode::VerifyFull,
                provider,
            },
        };
        let provider = verifier.provider.clone();
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Backend(format!("setting up TLS for PostgreSQL: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Self { mode, connector: Some(MakeRustlsConnect::new(tls)) })
    }

    /// Connect as the mode says. Under `prefer`, a failed TLS handshake is followed by a plain
    /// connection, as libpq does.
    pub(crate) async fn connect(&self, config: &Config) -> Result<(Client, Io), tokio_postgres::Error> {
        let Some(connector) = &self.connector else {
            let (client, connection) = config.connect(NoTls).await?;
            return Ok((client, Box::pin(connection)));
        };
        match config.connect(connector.clone()).await {
            Ok((client, connection)) => Ok((client, Box::pin(connection))),
            Err(e) if self.mode == SslMode::Prefer && is_tls_failure(&e) => {
                tracing::debug!(error = %e, "TLS failed under sslmode=prefer; connecting without it");
                let mut plain = config.clone();
                plain.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let (client, connection) = plain.connect(NoTls).await?;
                Ok((client, Box::pin(connection)))
            }
            Err(e) => Err(e),
        }
    }
}

/// tokio-postgres's kind for every TLS failure ("server does not support TLS", a handshake that
/// failed); its kinds are private, its messages fixed.
pub(crate) fn is_tls_failure(e: &tokio_postgres::Error) -> bool {
    e.to_string() == "error performing TLS handshake"
}

/// Why TLS failed, for the operator: the mode, the cause, and a hint for the usual mistakes.
pub(crate) fn describe_failure(e: &tokio_postgres::Error, tls: &Tls) -> String {
    let cause = e.source().map_or_else(|| e.to_string(), ToString::to_string);
    let certificate = e
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::get_ref)
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|r| match r {
            rustls::Error::InvalidCertificate(c) => Some(c),
            _ => None,
        });
    let hint = match certificate {
        Some(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            "; the server's certificate is not signed by a root kassa trusts: give its CA with \
             `sslrootcert=/path/to/root.crt`"
        }
        Some(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }) => {
            "; the server's certificate does not name the host in the database URL: connect by a \
             name it lists, or use `sslmode=verify-ca`"
        }
        Some(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            "; the server's certificate has expired"
        }
        _ if cause.contains("does not support TLS") => {
            "; turn on `ssl` in the server's postgresql.conf, or use `sslmode=prefer` or `disable`"
        }
        _ => "",
    };
    format!("the TLS handshake failed (sslmode={}): {cause}{hint}", tls.mode.as_str())
}

/// The certificates of `roots`.
fn load_roots(roots: Roots) -> Result<RootCertStore, StoreError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let bad = |why: String| StoreError::Backend(format!("`sslrootcert` {path}: {why}"));
            let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(format!("not a PEM certificate: {e}")))?;
                store.add(cert).map_err(|e| bad(format!("a certificate rustls cannot use: {e}")))?;
                found += 1;
            }
            if found == 0 {
                return Err(bad("no PEM certificate in it".to_owned()));
            }
        }
        Roots::System => {
            let loaded = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(loaded.certs);
            if added == 0 {
                let why = loaded.errors.first().map_or_else(|| "none found".to_owned(), ToString::to_string);
                return Err(StoreError::Backend(format!(
                    "no root certificates of this platform to check the PostgreSQL server's \
                     certificate against ({why}): give one with `sslrootcert=/path/to/root.crt`"
                )));
            }
        }
    }
    Ok(store)
}

fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, StoreError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| StoreError::Backend(format!("setting up TLS for PostgreSQL: {e}")))
}

/// The certificate check of a mode:
/// - `prefer` and `require` without `sslrootcert`: none (libpq's behaviour), only encryption;
/// - `verify-ca` (and `require` with `sslrootcert`): the chain must lead to a trusted root, the
///   names in the certificate do not matter. WebPKI checks the chain before the name, so a name
///   error means the chain was good;
/// - `verify-full`: the chain and the name.
///
/// The handshake's signatures are checked in every mode, so the session is with whoever holds the
/// certificate's key.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    names: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.names => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn params(mode: Option<&str>, root_cert: Option<&str>) -> TlsParams {
        TlsParams { mode: mode.map(str::to_owned), root_cert: root_cert.map(str::to_owned) }
    }

    fn settle(mode: Option<&str>, root_cert: Option<&str>) -> Result<(Tls, Config), StoreError> {
        let mut config = Config::new();
        Tls::from_params(&params(mode, root_cert), &mut config).map(|tls| (tls, config))
    }

    #[test]
    fn modes() {
        let (tls, config) = settle(None, None).unwrap();
        assert_eq!(tls.mode(), SslMode::Prefer, "libpq's default");
        assert_eq!(config.get_ssl_mode(), tokio_postgres::config::SslMode::Prefer);
        assert!(tls.connector.is_some());

        let (tls, config) = settle(Some("disable"), None).unwrap();
        assert_eq!(tls.mode(), SslMode::Disable);
        assert_eq!(config.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        assert!(tls.connector.is_none());

        for (mode, want) in [
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            let (tls, config) = settle(Some(mode), None).unwrap();
            assert_eq!(tls.mode(), want);
            assert_eq!(config.get_ssl_mode(), tokio_postgres::config::SslMode::Require, "{mode}");
        }
        // The platform's roots: verify-full by default, weaker modes refused.
        assert_eq!(settle(None, Some("system")).unwrap().0.mode(), SslMode::VerifyFull);
        assert_eq!(settle(Some("verify-full"), Some("system")).unwrap().0.mode(), SslMode::VerifyFull);
        for weaker in ["require", "verify-ca", "prefer", "disable"] {
            let err = settle(Some(weaker), Some("system")).unwrap_err().to_string();
            assert!(err.contains("sslrootcert=system") && err.contains(weaker), "{err}");
        }
        for bad in ["allow", "hunter2", "", "VERIFY-FULL"] {
            let err = settle(Some(bad), None).unwrap_err().to_string();
            assert!(err.contains("`sslmode` must be"), "{bad}: {err}");
            assert!(bad.is_empty() || bad == "allow" || !err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn root_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(&ca, cert.pem()).unwrap();
        let ca = ca.to_str().unwrap();
        for mode in [None, Some("require"), Some("verify-ca"), Some("verify-full")] {
            settle(mode, Some(ca)).unwrap();
        }
        let missing = dir.path().join("missing.pem");
        let err = settle(Some("verify-full"), Some(missing.to_str().unwrap())).unwrap_err().to_string();
        assert!(err.contains("`sslrootcert`") && err.contains("missing.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let err = settle(Some("verify-ca"), Some(empty.to_str().unwrap())).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}
