//! One HTTP/1.1 request to a server tested over HTTP (ClickHouse, S3, GCS), on a connection of
//! its own: each step (TCP, TLS, the exchange) fails as what it is.

use std::sync::Arc;

use bytes::Bytes;
use credential_model::ports::{FailureKind, Origin, TestFailure};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::failure::{driver_failed, failure, io_failed};

/// The most of an answer read: a test's answer is a few bytes, an error page a few hundred.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where a request goes: `tls` is `None` for plain HTTP.
pub(crate) struct Server<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) tls: Option<&'a ClientConfig>,
}

impl Server<'_> {
    /// `host:port`, for messages.
    pub(crate) fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The `Host` header: the port only when it is not the scheme's own.
    pub(crate) fn authority(&self) -> String {
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        if self.port == default_port {
            self.host.to_owned()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// An answer: its status, headers and body (lossily decoded: only read for messages).
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

/// Sends `request` (its URI in origin form, `/path?query`) to `server` and reads the answer.
pub(crate) async fn exchange(
    server: &Server<'_>,
    request: Request<Empty<Bytes>>,
) -> Result<Reply, TestFailure> {
    let target = server.target();
    let tcp = TcpStream::connect((server.host, server.port))
        .await
        .map_err(|error| io_failed(&error, &target))?;
    // Best effort: a test is one small request and its answer.
    let _ = tcp.set_nodelay(true);
    match server.tls {
        None => send(tcp, request, &target).await,
        Some(config) => {
            let name = ServerName::try_from(server.host.to_owned()).map_err(|_| {
                failure(
                    FailureKind::InvalidSettings,
                    Origin::Strongroom,
                    format!("{} is not a host name TLS can check", server.host),
                )
            })?;
            let stream = TlsConnector::from(Arc::new(config.clone()))
                .connect(name, tcp)
                .await
                .map_err(|error| driver_failed(&error, &target, &[]))?;
            send(stream, request, &target).await
        }
    }
}

async fn send<S>(
    stream: S,
    request: Request<Empty<Bytes>>,
    target: &str,
) -> Result<Reply, TestFailure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let broken = |error: hyper::Error| driver_failed(&error, target, &[]);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(broken)?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender.send_request(request).await.map_err(broken)?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|_| {
                failure(
                    FailureKind::Other,
                    Origin::Strongroom,
                    format!("the answer from {target} could not be read whole"),
                )
            })?
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
    .await;
    driver.abort();
    result
}
