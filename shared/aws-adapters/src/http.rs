//! The one HTTP client every SDK client of a sandbox shares: hyper over rustls, trusting the
//! public web roots compiled into the binary (no certificate store read from disk at init),
//! and able to open a connection to an AWS endpoint during init that the first request then
//! uses, so a cold start's first request does not pay for a TCP and TLS handshake.
//!
//! The SDK's own default client does neither (it loads the system's root certificates when
//! the first client is built, and opens connections only when a request needs one), and it
//! lets nothing into its pool but what a request opened; so this module is the SDK's
//! `HttpClient`/`HttpConnector`, classifying errors the way the SDK's retry strategy expects.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{CaptureConnection, HttpConnector as TcpConnector};
use hyper_util::client::legacy::{self, connect::capture_connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

type BoxError = Box<dyn Error + Send + Sync>;
type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

/// How long a connection may take to open (TCP and TLS), for a request or during init.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a connection opened during init stays worth using. AWS endpoints close idle
/// connections after some tens of seconds; a sandbox initialised ahead of its first request
/// (provisioned or proactive init) opens a fresh one rather than risk a closed one.
pub const PREOPENED_MAX_AGE: Duration = Duration::from_secs(20);

/// The SDK's HTTP client: see the module documentation. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct AwsHttpClient {
    connector: SharedHttpConnector,
    opener: Opener,
}

impl AwsHttpClient {
    /// A client trusting the public web roots (Mozilla's, as `webpki-roots` ships them).
    pub fn new() -> Self {
        Self::with_roots(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    }

    /// A client trusting `roots` only (tests use a root of their own).
    pub fn with_roots(roots: RootCertStore) -> Self {
        Self::build(roots, PREOPENED_MAX_AGE)
    }

    fn build(roots: RootCertStore, preopened_max_age: Duration) -> Self {
        let tls =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let opener = Opener {
            https: hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp),
            preopened: Arc::new(Preopened::new(preopened_max_age)),
        };
        let client = legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(opener.clone());
        AwsHttpClient {
            connector: SharedHttpConnector::new(Connector { client }),
            opener,
        }
    }

    /// Starts opening a connection to `endpoint` (`https://dynamodb.us-east-1.amazonaws.com`)
    /// in the background; the first request to it takes that connection, waiting for it if it
    /// is still opening. Failures are only logged: that request then opens its own.
    pub fn preopen(&self, endpoint: &str) {
        let uri = match endpoint.parse::<Uri>() {
            Ok(uri) => uri,
            Err(error) => {
                tracing::warn!(endpoint, %error, "not an endpoint to open a connection to");
                return;
            }
        };
        let Some(origin) = Origin::of(&uri) else {
            return;
        };
        let (sender, receiver) = oneshot::channel();
        let preopened = &self.opener.preopened;
        preopened.pending.send_modify(|pending| *pending += 1);
        if let Ok(mut slots) = preopened.slots.lock() {
            slots.push((origin, receiver));
        }
        let mut https = self.opener.https.clone();
        let preopened = Arc::clone(preopened);
        tokio::spawn(async move {
            let opened = match connect(&mut https, uri).await {
                Ok(stream) => Some((stream, Instant::now())),
                Err(error) => {
                    tracing::info!(%error, "a connection opened during init failed");
                    None
                }
            };
            let _ = sender.send(opened);
            preopened.pending.send_modify(|pending| *pending -= 1);
        });
    }

    /// Waits, at most `within`, for every connection [`preopen`](Self::preopen) started. One
    /// still opening after that goes on opening for the first request; init is not failed.
    pub async fn preopened(&self, within: Duration) {
        let mut pending = self.opener.preopened.pending.subscribe();
        let _ = tokio::time::timeout(within, pending.wait_for(|pending| *pending == 0)).await;
    }
}

impl Default for AwsHttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient for AwsHttpClient {
    /// One connector (and one pool) for every client and setting: Strongroom's clients share
    /// one timeout configuration, whose connect timeout is [`CONNECT_TIMEOUT`].
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector.clone()
    }
}

/// Where a connection goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(uri: &Uri) -> Option<Origin> {
        let https = uri.scheme_str() == Some("https");
        Some(Origin {
            https,
            host: uri.host()?.to_ascii_lowercase(),
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
        })
    }
}

type Opened = Option<(Stream, Instant)>;

/// The connections opened during init, until a request takes them.
#[derive(Debug)]
struct Preopened {
    slots: Mutex<Vec<(Origin, oneshot::Receiver<Opened>)>>,
    pending: watch::Sender<usize>,
    max_age: Duration,
}

impl Preopened {
    fn new(max_age: Duration) -> Self {
        Preopened {
            slots: Mutex::new(Vec::new()),
            pending: watch::Sender::new(0),
            max_age,
        }
    }

    /// The connection opened for `origin`, if one was and it is still fresh.
    async fn take(&self, origin: &Origin) -> Option<Stream> {
        let receiver = {
            let mut slots = self.slots.lock().ok()?;
            let index = slots.iter().position(|(slot, _)| slot == origin)?;
            slots.swap_remove(index).1
        };
        let (stream, opened_at) = receiver.await.ok()??;
        (opened_at.elapsed() < self.max_age).then_some(stream)
    }
}

/// The connector hyper's pool calls when it has no idle connection: a connection opened
/// during init if there is one for the origin, else a new one.
#[derive(Clone, Debug)]
struct Opener {
    https: HttpsConnector<TcpConnector>,
    preopened: Arc<Preopened>,
}

impl tower_service::Service<Uri> for Opener {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let mut https = self.https.clone();
        let preopened = Arc::clone(&self.preopened);
        Box::pin(async move {
            if let Some(origin) = Origin::of(&uri)
                && let Some(stream) = preopened.take(&origin).await
            {
                return Ok(stream);
            }
            connect(&mut https, uri).await
        })
    }
}

/// A connection took longer than [`CONNECT_TIMEOUT`] to open.
#[derive(Debug, thiserror::Error)]
#[error("the connection did not open within {0:?}")]
struct ConnectTimedOut(Duration);

async fn connect(https: &mut HttpsConnector<TcpConnector>, uri: Uri) -> Result<Stream, BoxError> {
    use tower_service::Service;
    match tokio::time::timeout(CONNECT_TIMEOUT, https.call(uri)).await {
        Ok(opened) => opened,
        Err(_) => Err(ConnectTimedOut(CONNECT_TIMEOUT).into()),
    }
}

/// Sends the SDK's requests through hyper's pool.
#[derive(Debug)]
struct Connector {
    client: legacy::Client<Opener, SdkBody>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())));
            }
        };
        // The SDK poisons a connection after a transient error so the pool drops it.
        let capture = capture_connection(&mut request);
        if let Some(smithy) = request.extensions().get::<CaptureSmithyConnection>() {
            smithy.set_connection_retriever(move || poisonable(&capture));
        }
        let response = self.client.request(request);
        HttpConnectorFuture::new(async move {
            match response.await {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|error| ConnectorError::other(error.into(), None)),
                Err(error) => Err(classify(error.into())),
            }
        })
    }
}

fn poisonable(capture: &CaptureConnection) -> Option<ConnectionMetadata> {
    capture.connection_metadata().as_ref()?;
    let capture = capture.clone();
    Some(
        ConnectionMetadata::builder()
            .proxied(false)
            .poison_fn(move || {
                if let Some(connection) = capture.connection_metadata().as_ref() {
                    connection.poison();
                }
            })
            .build(),
    )
}

fn find<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    std::iter::successors(Some(error), |&error| error.source()).find_map(|e| e.downcast_ref())
}

/// The kind of a failed request, as the SDK's retry strategy reads it: timeouts and I/O
/// failures (refused, reset, closed, DNS, TLS) are transient; a request the SDK built wrong
/// is the caller's; anything else is not retried.
fn classify(error: BoxError) -> ConnectorError {
    if find::<ConnectTimedOut>(error.as_ref()).is_some() {
        return ConnectorError::timeout(error);
    }
    if let Some(hyper) = find::<hyper::Error>(error.as_ref()) {
        if hyper.is_timeout() {
            return ConnectorError::timeout(error);
        }
        if hyper.is_user() {
            return ConnectorError::user(error);
        }
        if hyper.is_incomplete_message() {
            return ConnectorError::other(error, Some(ErrorKind::TransientError));
        }
        if hyper.is_closed() || hyper.is_canceled() || find::<std::io::Error>(hyper).is_some() {
            return ConnectorError::io(error);
        }
        return ConnectorError::other(error, None);
    }
    let connect_failed =
        find::<legacy::Error>(error.as_ref()).is_some_and(legacy::Error::is_connect);
    if connect_failed || find::<std::io::Error>(error.as_ref()).is_some() {
        return ConnectorError::io(error);
    }
    ConnectorError::other(error, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_default_their_port_and_ignore_case_and_path() {
        let a = Origin::of(&"https://DynamoDB.us-east-1.amazonaws.com/".parse().unwrap());
        let b = Origin::of(
            &"https://dynamodb.us-east-1.amazonaws.com:443"
                .parse()
                .unwrap(),
        );
        assert_eq!(a, b);
        let local = Origin::of(&"http://127.0.0.1:5000/x".parse().unwrap()).unwrap();
        assert_eq!((local.https, local.port), (false, 5000));
        assert_ne!(
            a,
            Origin::of(&"http://dynamodb.us-east-1.amazonaws.com".parse().unwrap())
        );
    }

    /// A connection opened during init is handed out once, and not after its age limit.
    async fn taken_after_init(max_age: Duration) -> (bool, bool) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let http = AwsHttpClient::build(RootCertStore::empty(), max_age);
        http.preopen(&endpoint);
        http.preopened(Duration::from_secs(1)).await;
        let origin = Origin::of(&endpoint.parse().expect("a URI")).expect("an origin");
        let first = http.opener.preopened.take(&origin).await.is_some();
        let second = http.opener.preopened.take(&origin).await.is_some();
        held.abort();
        (first, second)
    }

    #[tokio::test]
    async fn a_preopened_connection_is_taken_once_while_fresh() {
        assert_eq!(taken_after_init(PREOPENED_MAX_AGE).await, (true, false));
        assert_eq!(taken_after_init(Duration::ZERO).await, (false, false));
    }

    #[test]
    fn connect_timeouts_are_timeouts_and_refusals_are_io() {
        assert!(classify(ConnectTimedOut(CONNECT_TIMEOUT).into()).is_timeout());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(classify(refused.into()).is_io());
    }
}
