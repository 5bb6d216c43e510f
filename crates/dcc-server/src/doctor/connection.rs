//! The network hops of `dcc doctor`: resolving the portal's name, opening a TCP connection,
//! and the mutual TLS handshake with the pharmacy's institution certificate, each failure
//! classified by what the pharmacy can do about it.
//!
//! In TLS 1.3 the client's handshake is complete before the server has looked at the client
//! certificate; a refusal arrives as an alert on the first read. So the TLS hop sends one
//! request (`GET /health/live`) over the fresh connection and reads its status line: only then
//! is it known whether the portal accepted the certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{AlertDescription, CertificateError, ClientConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Failure, Target};

/// How long each network step may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves the portal's host; the addresses, or why not.
pub async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, Failure> {
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    match tokio::time::timeout(STEP_TIMEOUT, lookup).await {
        Ok(Ok(addresses)) => {
            let addresses: Vec<SocketAddr> = addresses.collect();
            if addresses.is_empty() {
                Err(Failure::new(
                    "dns_no_address",
                    format!("{} has no address", target.host),
                ))
            } else {
                Ok(addresses)
            }
        }
        Ok(Err(error)) => Err(Failure::new(
            "dns_failed",
            format!("cannot resolve {}: {error}", target.host),
        )),
        Err(_) => Err(Failure::new(
            "dns_timeout",
            format!(
                "resolving {} took longer than {} s",
                target.host,
                STEP_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Connects to the first address that accepts.
pub async fn connect(addresses: &[SocketAddr]) -> Result<(TcpStream, SocketAddr), Failure> {
    let mut last = None;
    for address in addresses {
        match tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok((stream, *address)),
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = Some(Failure::new(
                    "connection_refused",
                    format!("nothing accepts connections on {address} (connection refused)"),
                ));
            }
            Ok(Err(error)) => {
                last = Some(Failure::new(
                    "unreachable",
                    format!("cannot connect to {address}: {error}"),
                ));
            }
            Err(_) => {
                last = Some(Failure::new(
                    "connect_timeout",
                    format!(
                        "{address} did not answer within {} s (dropped by a firewall?)",
                        STEP_TIMEOUT.as_secs()
                    ),
                ));
            }
        }
    }
    Err(last.unwrap_or_else(|| Failure::new("dns_no_address", "no address to connect to".into())))
}

/// The mutual TLS handshake over `stream`, confirmed by one request; the HTTP status of
/// `GET /health/live`.
pub async fn handshake(
    stream: TcpStream,
    target: &Target,
    config: Arc<ClientConfig>,
) -> Result<u16, Failure> {
    let server_name = ServerName::try_from(target.host.clone()).map_err(|_| {
        Failure::new(
            "tls_failed",
            format!("{} is not a valid server name", target.host),
        )
    })?;
    let connector = TlsConnector::from(config);
    let exchange = async {
        let mut tls = connector.connect(server_name, stream).await?;
        let request = format!(
            "GET /health/live HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            target.host
        );
        tls.write_all(request.as_bytes()).await?;
        tls.flush().await?;
        read_status(&mut tls).await
    };
    match tokio::time::timeout(STEP_TIMEOUT, exchange).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(error)) => Err(classify(&error)),
        Err(_) => Err(Failure::new(
            "tls_timeout",
            format!(
                "the TLS handshake took longer than {} s",
                STEP_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Reads up to the end of the status line and returns its status code.
async fn read_status<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<u16> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 512];
    while !received.windows(2).any(|pair| pair == b"\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.extend(buffer.iter().take(read));
        if received.len() > MAX_STATUS_LINE {
            break;
        }
    }
    let line = String::from_utf8_lossy(&received);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))
}

/// What a failed handshake (or the first read after it) means for the pharmacy.
fn classify(error: &std::io::Error) -> Failure {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(certificate_error)) => {
            server_certificate(certificate_error)
        }
        Some(rustls::Error::AlertReceived(alert)) => alert_received(*alert),
        Some(other) => Failure::new("tls_failed", format!("the TLS handshake failed: {other}")),
        None => match error.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                Failure::new(
                    "closed_after_handshake",
                    "the portal closed the connection without an answer: it probably refused \
                     the client certificate without saying why"
                        .into(),
                )
            }
            _ => Failure::new("tls_failed", format!("the TLS connection failed: {error}")),
        },
    }
}

/// This side refused the portal's certificate.
fn server_certificate(error: &CertificateError) -> Failure {
    let (code, detail) = match error {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            "server_name_mismatch",
            "the portal's certificate is not issued for this host name",
        ),
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => (
            "server_certificate_expired",
            "the portal's certificate is expired or not yet valid",
        ),
        _ => (
            "server_not_trusted",
            "the portal's certificate is not issued by a CA this side trusts",
        ),
    };
    Failure::new(code, format!("{detail} ({error:?})"))
}

/// The portal refused this side's certificate, and said why in its alert.
fn alert_received(alert: AlertDescription) -> Failure {
    let (code, detail) = match alert {
        AlertDescription::UnknownCA => (
            "client_certificate_unknown_ca",
            "the portal does not trust the CA of your institution certificate, or cannot tell \
             whether it is revoked",
        ),
        AlertDescription::CertificateExpired => (
            "client_certificate_expired",
            "the portal refused your institution certificate: it is expired or not yet valid",
        ),
        AlertDescription::CertificateRevoked => (
            "client_certificate_revoked",
            "the portal refused your institution certificate: it has been revoked",
        ),
        AlertDescription::CertificateRequired => (
            "client_certificate_missing",
            "the portal requires an institution certificate and got none",
        ),
        AlertDescription::BadCertificate
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateUnknown
        | AlertDescription::DecryptError
        | AlertDescription::AccessDenied => (
            "client_certificate_refused",
            "the portal refused your institution certificate",
        ),
        _ => ("tls_failed", "the portal ended the TLS handshake"),
    };
    Failure::new(code, format!("{detail} (TLS alert {alert:?})"))
}

/// More than any status line needs.
const MAX_STATUS_LINE: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: rustls::Error) -> &'static str {
        classify(&std::io::Error::new(std::io::ErrorKind::InvalidData, error)).code
    }

    #[test]
    fn alerts_and_certificate_errors_name_the_side_and_the_reason() {
        for (alert, code) in [
            (AlertDescription::UnknownCA, "client_certificate_unknown_ca"),
            (
                AlertDescription::CertificateExpired,
                "client_certificate_expired",
            ),
            (
                AlertDescription::CertificateRevoked,
                "client_certificate_revoked",
            ),
            (
                AlertDescription::CertificateRequired,
                "client_certificate_missing",
            ),
            (
                AlertDescription::BadCertificate,
                "client_certificate_refused",
            ),
            (AlertDescription::ProtocolVersion, "tls_failed"),
        ] {
            assert_eq!(
                code_of(rustls::Error::AlertReceived(alert)),
                code,
                "{alert:?}"
            );
        }
        for (error, code) in [
            (CertificateError::UnknownIssuer, "server_not_trusted"),
            (CertificateError::NotValidForName, "server_name_mismatch"),
            (CertificateError::Expired, "server_certificate_expired"),
        ] {
            assert_eq!(code_of(rustls::Error::InvalidCertificate(error)), code);
        }
        let closed = classify(&std::io::ErrorKind::UnexpectedEof.into());
        assert_eq!(closed.code, "closed_after_handshake");
    }
}
