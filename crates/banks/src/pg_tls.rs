//! TLS for connections to a shared store. `sslmode=require` in the URL
//! turns it on, and then the server's certificate is always verified —
//! against `sslrootcert=FILE` (PEM) when given, else the public web roots —
//! and its name checked: what libpq calls `verify-full`. There is no mode
//! that encrypts without verifying, since that protects against nothing an
//! attacker on the path cannot undo. Without `sslmode=require` the
//! connection is plain TCP, as before.
//!
//! Where the server asks for a client certificate (pg_hba `cert`, or
//! `clientcert=verify-full`), `sslcert=FILE` and `sslkey=FILE` (PEM, the key
//! unencrypted) give it, as libpq takes them; like libpq, a key file that
//! its group or others may read is refused.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The files a connection string names for TLS (libpq's parameter names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    /// `sslrootcert`: the CA certificates to trust instead of the web roots.
    pub root_cert: Option<std::path::PathBuf>,
    /// `sslcert`: the client's certificate chain.
    pub client_cert: Option<std::path::PathBuf>,
    /// `sslkey`: the client certificate's private key.
    pub client_key: Option<std::path::PathBuf>,
}

impl TlsFiles {
    /// Whether any file is named (then TLS must be asked for).
    pub(crate) fn any(&self) -> bool {
        self.root_cert.is_some() || self.client_cert.is_some() || self.client_key.is_some()
    }
}

/// Refuses a key file its group or others may read, as libpq does: owned by
/// the user, no group or other access; owned by root, group read at most.
#[cfg(unix)]
fn check_key_permissions(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("sslkey {}: {e}", path.display()))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mode = meta.mode() & 0o777;
    let allowed = if meta.uid() == me {
        mode & 0o077 == 0
    } else if meta.uid() == 0 {
        mode & 0o037 == 0
    } else {
        return Err(format!(
            "sslkey {}: the private key file must be owned by the current user or root",
            path.display()
        ));
    };
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "sslkey {}: the private key file has group or world access ({mode:o}); it should be u=rw (0600) or less",
            path.display()
        ))
    }
}

#[cfg(not(unix))]
fn check_key_permissions(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// The client certificate chain and key, when both are named.
fn client_identity(files: &TlsFiles) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    let (cert_path, key_path) = match (&files.client_cert, &files.client_key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => return Err("sslcert and sslkey go together: name both or neither".into()),
    };
    let pem = std::fs::read(cert_path).map_err(|e| format!("sslcert {}: {e}", cert_path.display()))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("sslcert {}: {e}", cert_path.display()))?;
    if chain.is_empty() {
        return Err(format!("sslcert {}: no certificate in it", cert_path.display()));
    }
    check_key_permissions(key_path)?;
    let pem = std::fs::read(key_path).map_err(|e| format!("sslkey {}: {e}", key_path.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        format!(
            "sslkey {}: no unencrypted private key in it ({e}); encrypted keys are not supported",
            key_path.display()
        )
    })?;
    Ok(Some((chain, key)))
}

/// Makes verified TLS sessions for tokio-postgres.
#[derive(Clone)]
pub(crate) struct RustlsConnector {
    config: Arc<rustls::ClientConfig>,
}

impl RustlsConnector {
    /// Trusts the certificates in `files.root_cert` (PEM), or the web roots
    /// when None; presents the client certificate when one is named.
    pub(crate) fn new(files: &TlsFiles) -> Result<RustlsConnector, String> {
        let mut roots = rustls::RootCertStore::empty();
        match files.root_cert.as_deref() {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                }
                if roots.is_empty() {
                    return Err(format!("sslrootcert {}: no certificate in it", path.display()));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let config = match client_identity(files)? {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!(
                    "sslcert/sslkey {}: {e}",
                    files.client_key.as_deref().unwrap_or(Path::new("")).display()
                )
            })?,
            None => builder.with_no_client_auth(),
        };
        Ok(RustlsConnector {
            config: Arc::new(config),
        })
    }
}

impl<S> MakeTlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name =
            ServerName::try_from(domain.to_string()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            config: self.config.clone(),
            name,
        })
    }
}

/// One handshake's worth of connector.
pub(crate) struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

/// A verified TLS session to the database server.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM channel binding is optional; the verified certificate already binds the session to the server.
        ChannelBinding::none()
    }
}

/// Takes `sslrootcert`, `sslcert` and `sslkey` out of a connection string
/// (tokio-postgres refuses keys it does not know), in URL or key=value form.
pub(crate) fn take_tls_files(url: &str) -> (String, TlsFiles) {
    let mut files = TlsFiles::default();
    let mut take = |pair: &str, decode: bool| -> bool {
        let Some((key, value)) = pair.split_once('=') else {
            return true;
        };
        let slot = match key {
            "sslrootcert" => &mut files.root_cert,
            "sslcert" => &mut files.client_cert,
            "sslkey" => &mut files.client_key,
            _ => return true,
        };
        let value = if decode {
            percent_decode(value)
        } else {
            value.to_string()
        };
        *slot = Some(std::path::PathBuf::from(value));
        false
    };
    if let Some((base, query)) = url.split_once('?') {
        let kept: Vec<&str> = query.split('&').filter(|pair| take(pair, true)).collect();
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (url, files);
    }
    if url.contains("://") {
        return (url.to_string(), files);
    }
    let kept: Vec<&str> = url.split_whitespace().filter(|pair| take(pair, false)).collect();
    (kept.join(" "), files)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{take_tls_files, TlsFiles};

    fn root(path: &str) -> TlsFiles {
        TlsFiles {
            root_cert: Some(path.into()),
            ..TlsFiles::default()
        }
    }

    #[test]
    fn the_tls_files_are_taken_out_of_either_form() {
        assert_eq!(
            take_tls_files("postgres://u@h/db?sslmode=require&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5"),
            (
                "postgres://u@h/db?sslmode=require&connect_timeout=5".to_string(),
                root("/etc/ca.pem")
            )
        );
        assert_eq!(
            take_tls_files("postgres://u@h/db?sslrootcert=/ca.pem"),
            ("postgres://u@h/db".to_string(), root("/ca.pem"))
        );
        assert_eq!(
            take_tls_files("host=h sslmode=require sslrootcert=/ca.pem dbname=x"),
            ("host=h sslmode=require dbname=x".to_string(), root("/ca.pem"))
        );
        assert_eq!(
            take_tls_files("postgres://h/db"),
            ("postgres://h/db".to_string(), TlsFiles::default())
        );
        let both = TlsFiles {
            root_cert: Some("/ca.pem".into()),
            client_cert: Some("/my cert.pem".into()),
            client_key: Some("/key.pem".into()),
        };
        assert_eq!(
            take_tls_files(
                "postgres://u@h/db?sslcert=%2Fmy%20cert.pem&sslmode=require&sslkey=/key.pem&sslrootcert=/ca.pem"
            ),
            ("postgres://u@h/db?sslmode=require".to_string(), both.clone())
        );
        assert_eq!(
            take_tls_files("host=h sslcert=/my cert.pem sslkey=/key.pem sslrootcert=/ca.pem")
                .1
                .client_key,
            both.client_key
        );
    }
}
