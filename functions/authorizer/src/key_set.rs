//! The identity provider's key set (JWKS): fetched at init, kept, and fetched again when a
//! token names a key it does not hold — an identity provider publishes a new key before it
//! signs with it — but at most once a minute, so that tokens with made-up `kid`s cannot make
//! every sandbox hammer the identity provider.

use std::error::Error;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::{ClientConfig, RootCertStore};
use strongroom_auth::{Jwks, JwksError};
use tokio::sync::Mutex;

/// A token with an unknown `kid` fetches the key set again at most this often.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// How long a fetch may take in all (connection, TLS, answer), at init or for a request.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Key sets hold a few keys; an answer this large is not one.
const MAX_KEY_SET_BYTES: usize = 256 * 1024;

/// Where the key set is published: `https://`, or `http://` on the loopback interface only
/// (the tests' and `make dev`'s own key sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySetUrl(Uri);

impl KeySetUrl {
    pub const REQUIREMENT: &str =
        "must be an https:// URL (http:// only for 127.0.0.1 or localhost)";

    pub fn parse(text: &str) -> Option<KeySetUrl> {
        let uri: Uri = text.trim().parse().ok()?;
        let loopback = matches!(uri.host()?, "127.0.0.1" | "localhost" | "[::1]");
        match uri.scheme_str()? {
            "https" => Some(KeySetUrl(uri)),
            "http" if loopback => Some(KeySetUrl(uri)),
            _ => None,
        }
    }
}

impl fmt::Display for KeySetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why the key set could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the token key set at {url} did not answer within {FETCH_TIMEOUT:?}")]
    TimedOut { url: KeySetUrl },
    #[error("could not fetch the token key set at {url}: {reason}")]
    Unreachable { url: KeySetUrl, reason: String },
    #[error("the token key set at {url} answered HTTP {status}")]
    Status { url: KeySetUrl, status: StatusCode },
    #[error("the token key set at {url} is over {MAX_KEY_SET_BYTES} bytes")]
    TooLarge { url: KeySetUrl },
    #[error("the token key set at {url}: {source}")]
    Malformed { url: KeySetUrl, source: JwksError },
    #[error(
        "the token key set at {url} could not be fetched {ago:?} ago, and is fetched again at most every {REFETCH_INTERVAL:?}"
    )]
    RecentlyFailed { url: KeySetUrl, ago: Duration },
}

/// An error and its causes, one line: hyper's own message is only the outermost.
fn with_causes(error: &(dyn Error + 'static)) -> String {
    std::iter::successors(Some(error), |&e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[derive(Debug, Clone, Copy)]
struct Refetch {
    at: Instant,
    succeeded: bool,
}

/// What a token whose `kid` the current key set lacks may do.
#[derive(Debug, PartialEq, Eq)]
enum OnUnknownKey {
    Fetch,
    /// The set was fetched less than a minute ago and lacks the key: the token is refused.
    KeepCurrent,
    /// The last fetch, less than a minute ago, failed: whether the key exists is unknown.
    StillFailing(Duration),
}

fn on_unknown_key(last: Option<Refetch>, now: Instant) -> OnUnknownKey {
    match last {
        Some(last) if now.duration_since(last.at) < REFETCH_INTERVAL => {
            if last.succeeded {
                OnUnknownKey::KeepCurrent
            } else {
                OnUnknownKey::StillFailing(now.duration_since(last.at))
            }
        }
        _ => OnUnknownKey::Fetch,
    }
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The key set, as last fetched.
pub struct KeySet {
    url: KeySetUrl,
    client: HttpsClient,
    /// Empty until a fetch succeeds.
    current: RwLock<Arc<Jwks>>,
    /// The last fetch a token's unknown `kid` caused; held while fetching, so that requests
    /// arriving together share one fetch.
    last_refetch: Mutex<Option<Refetch>>,
}

impl KeySet {
    /// A key set to be fetched from `url` over HTTPS, trusting the public web roots.
    pub fn new(url: KeySetUrl) -> Result<Self, rustls::Error> {
        let tls =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_root_certificates(RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                })
                .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(FETCH_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        // No pooled connections: fetches are minutes apart, and a connection kept across a
        // frozen sandbox is likely closed by the time it is used.
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(https);
        Ok(KeySet {
            url,
            client,
            current: RwLock::new(Arc::new(Jwks::default())),
            last_refetch: Mutex::new(None),
        })
    }

    /// The keys as last fetched (none before the first fetch succeeds).
    pub fn current(&self) -> Arc<Jwks> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Fetches the key set (at init). It does not count against the refetch interval: a
    /// failure here is fetched again by the first token that needs the set.
    pub async fn load(&self) -> Result<Arc<Jwks>, FetchError> {
        let keys = Arc::new(self.fetch().await?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&keys);
        Ok(keys)
    }

    /// The key set once more, for a token whose `kid` `seen` lacked: fetched again unless
    /// another request just did, or a fetch was made in the last minute.
    pub async fn refetched(&self, seen: &Arc<Jwks>) -> Result<Arc<Jwks>, FetchError> {
        let mut last_refetch = self.last_refetch.lock().await;
        let current = self.current();
        if !Arc::ptr_eq(&current, seen) {
            return Ok(current);
        }
        match on_unknown_key(*last_refetch, Instant::now()) {
            OnUnknownKey::KeepCurrent => return Ok(current),
            OnUnknownKey::StillFailing(ago) => {
                return Err(FetchError::RecentlyFailed {
                    url: self.url.clone(),
                    ago,
                });
            }
            OnUnknownKey::Fetch => {}
        }
        let fetched = self.load().await;
        *last_refetch = Some(Refetch {
            at: Instant::now(),
            succeeded: fetched.is_ok(),
        });
        fetched
    }

    async fn fetch(&self) -> Result<Jwks, FetchError> {
        let url = || self.url.clone();
        let body = tokio::time::timeout(FETCH_TIMEOUT, self.download())
            .await
            .map_err(|_| FetchError::TimedOut { url: url() })??;
        let keys =
            Jwks::parse(&body).map_err(|source| FetchError::Malformed { url: url(), source })?;
        let kids: Vec<&str> = keys.kids().collect();
        tracing::info!(url = %self.url, ?kids, "token key set fetched");
        for skipped in keys.skipped() {
            tracing::warn!(url = %self.url, %skipped, "a key of the token key set is not used");
        }
        Ok(keys)
    }

    async fn download(&self) -> Result<Bytes, FetchError> {
        let unreachable = |error: &(dyn Error + 'static)| FetchError::Unreachable {
            url: self.url.clone(),
            reason: with_causes(error),
        };
        let request = http::Request::get(self.url.0.clone())
            .header(header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| unreachable(&e))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status {
                url: self.url.clone(),
                status: response.status(),
            });
        }
        match Limited::new(response.into_body(), MAX_KEY_SET_BYTES)
            .collect()
            .await
        {
            Ok(body) => Ok(body.to_bytes()),
            Err(error) if error.is::<LengthLimitError>() => Err(FetchError::TooLarge {
                url: self.url.clone(),
            }),
            Err(error) => Err(unreachable(error.as_ref())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_urls_are_accepted() {
        for url in [
            "https://idp.example.com/.well-known/jwks.json",
            "http://127.0.0.1:3000/.well-known/jwks.json",
            "http://localhost/jwks",
            "http://[::1]:8080/jwks",
        ] {
            assert!(KeySetUrl::parse(url).is_some(), "{url}");
        }
        for url in [
            "http://idp.example.com/jwks",
            "http://127.0.0.2/jwks",
            "http://localhost.evil.test/jwks",
            "ftp://idp.example.com/jwks",
            "idp.example.com/jwks",
            "/jwks",
            "",
        ] {
            assert!(KeySetUrl::parse(url).is_none(), "{url}");
        }
    }

    #[test]
    fn an_unknown_key_fetches_at_most_once_a_minute() {
        let start = Instant::now();
        let fetched = |succeeded| {
            Some(Refetch {
                at: start,
                succeeded,
            })
        };
        assert_eq!(on_unknown_key(None, start), OnUnknownKey::Fetch);
        let soon = start + Duration::from_secs(59);
        assert_eq!(
            on_unknown_key(fetched(true), soon),
            OnUnknownKey::KeepCurrent
        );
        assert_eq!(
            on_unknown_key(fetched(false), soon),
            OnUnknownKey::StillFailing(Duration::from_secs(59))
        );
        let later = start + REFETCH_INTERVAL;
        assert_eq!(on_unknown_key(fetched(true), later), OnUnknownKey::Fetch);
        assert_eq!(on_unknown_key(fetched(false), later), OnUnknownKey::Fetch);
    }
}
