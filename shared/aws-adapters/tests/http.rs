//! The SDK's HTTP client against moto: the connection opened during init is the one the first
//! request uses, over plain HTTP and over TLS (a TLS terminator in front of moto, with a root
//! of the test's own), and an endpoint that does not answer delays init by the bound only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use credential_model::ports::Backend;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{RootCertStore, ServerConfig};
use strongroom_aws::{AwsHttpClient, SdkConfig, preopen, sdk_config_with};
use strongroom_local_stack::testing;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A TCP forwarder to `upstream` that counts the connections it accepts, terminating TLS
/// first when given an acceptor.
async fn counting_forwarder(
    upstream: SocketAddr,
    tls: Option<TlsAcceptor>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let tls = tls.clone();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                match tls {
                    Some(acceptor) => {
                        if let Ok(mut client) = acceptor.accept(client).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }
                    None => {
                        let mut client = client;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }
            });
        }
    });
    (address, accepted)
}

fn moto_address(endpoint: &str) -> SocketAddr {
    endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("moto listens on an IP address and port")
}

/// The connections accepted once they have settled (an accept can trail the connect).
async fn settled(accepted: &AtomicUsize, expected: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(1);
    while accepted.load(Ordering::SeqCst) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    accepted.load(Ordering::SeqCst)
}

fn config(http: &AwsHttpClient, endpoint: String) -> SdkConfig {
    sdk_config_with(http.clone())
        .expect("the environment configures AWS")
        .to_builder()
        .endpoint_url(endpoint)
        .build()
}

/// Opens the metadata connection as init does, then sends the first request: one connection in
/// all. (moto answers `Connection: close`, so a second request would need another.)
async fn first_request_reuses_the_preopened_connection(
    http: AwsHttpClient,
    endpoint: String,
    accepted: &AtomicUsize,
) {
    let sdk = config(&http, endpoint);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "building clients connects nowhere"
    );
    preopen(&http, &sdk, &[Backend::Metadata]).await;
    assert_eq!(settled(accepted, 1).await, 1, "init opens the connection");
    dynamodb.list_tables().send().await.expect("moto answers");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the first request uses that connection"
    );
}

/// A TLS server configuration with a new self-signed certificate for `localhost`, and that
/// certificate (a root no public store holds).
fn self_signed_for_localhost() -> (CertificateDer<'static>, TlsAcceptor) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let certificate = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let server =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .expect("a server configuration");
    (certificate, TlsAcceptor::from(Arc::new(server)))
}

#[tokio::test]
async fn the_connection_opened_during_init_serves_the_first_request() {
    let Some(moto) = testing::moto() else {
        return;
    };
    let (address, accepted) = counting_forwarder(moto_address(&moto), None).await;
    first_request_reuses_the_preopened_connection(
        AwsHttpClient::new(),
        format!("http://{address}"),
        &accepted,
    )
    .await;
}

#[tokio::test]
async fn over_tls_too() {
    let Some(moto) = testing::moto() else {
        return;
    };
    let (certificate, acceptor) = self_signed_for_localhost();
    let (address, accepted) = counting_forwarder(moto_address(&moto), Some(acceptor)).await;
    let mut roots = RootCertStore::empty();
    roots.add(certificate).expect("the test's root");
    first_request_reuses_the_preopened_connection(
        AwsHttpClient::with_roots(roots),
        format!("https://localhost:{}", address.port()),
        &accepted,
    )
    .await;
}

/// The public roots do not trust the test's certificate: the request fails as a connection
/// failure, after init opened nothing it could use.
#[tokio::test]
async fn a_certificate_the_roots_do_not_trust_is_refused() {
    let Some(moto) = testing::moto() else {
        return;
    };
    let (_, acceptor) = self_signed_for_localhost();
    let (address, _) = counting_forwarder(moto_address(&moto), Some(acceptor)).await;
    let http = AwsHttpClient::new();
    let sdk = config(&http, format!("https://localhost:{}", address.port()));
    preopen(&http, &sdk, &[Backend::Metadata]).await;
    let error = aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .send()
        .await
        .expect_err("an untrusted certificate is refused");
    let text = format!("{:?}", error);
    assert!(
        text.contains("UnknownIssuer") || text.contains("certificate"),
        "{text}"
    );
}

/// An endpoint that accepts the TCP connection and never answers the TLS handshake holds init
/// for the bound only, and init does not fail.
#[tokio::test]
async fn a_silent_endpoint_delays_init_by_the_bound_only() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let http = AwsHttpClient::new();
    http.preopen(&format!("https://localhost:{}", address.port()));
    let started = Instant::now();
    http.preopened(Duration::from_millis(200)).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    silent.abort();
}
