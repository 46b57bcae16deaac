//! A proxy in front of moto that counts AWS calls by service and operation, so the bench can
//! say how many calls each request makes, and the connections functions open to it (it keeps
//! them alive, as AWS endpoints do; moto closes each after one response).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;

#[derive(Clone)]
struct Upstream {
    base: String,
    client: reqwest::Client,
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
}

pub struct CountingProxy {
    pub addr: SocketAddr,
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    connections: Arc<AtomicU64>,
}

/// Headers about one hop, not the message: a proxy does not pass them on. (moto's
/// `Connection: close`, passed on, would close every function's connection after one call.)
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The service and operation a request names (`SecretsManager.GetSecretValue`): JSON
/// protocols say both in `x-amz-target`.
fn operation(headers: &HeaderMap) -> String {
    let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) else {
        return "other.other".to_owned();
    };
    let (prefix, operation) = target.rsplit_once('.').unwrap_or(("other", target));
    let service = match prefix {
        "secretsmanager" => "SecretsManager",
        "TrentService" => "KMS",
        "AWSEvents" => "EventBridge",
        dynamodb if dynamodb.starts_with("DynamoDB") => "DynamoDB",
        other => other,
    };
    format!("{service}.{operation}")
}

async fn forward(
    State(upstream): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Ok(mut calls) = upstream.calls.lock() {
        *calls.entry(operation(&headers)).or_default() += 1;
    }
    let url = format!(
        "{}{}",
        upstream.base,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = upstream.client.request(method, url).body(body);
    // The Host header is kept: requests are signed for the proxy's address, and moto,
    // enforcing IAM, checks the signature.
    for (name, value) in &headers {
        if name != "content-length" && !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(reply) => {
            let status = reply.status();
            let headers = reply.headers().clone();
            let body = reply.bytes().await.unwrap_or_default();
            let mut response = (status, body).into_response();
            for (name, value) in &headers {
                if name != "content-length" && !HOP_BY_HOP.contains(&name.as_str()) {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> std::io::Result<CountingProxy> {
        let calls = Arc::new(Mutex::new(BTreeMap::new()));
        let app = Router::new().fallback(forward).with_state(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            calls: calls.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicU64::new(0));
        let accepted = connections.clone();
        let listener = listener.tap_io(move |_| {
            accepted.fetch_add(1, Ordering::SeqCst);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(CountingProxy {
            addr,
            calls,
            connections,
        })
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// Calls counted so far, by service and operation.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// The calls made between two snapshots, by service and operation.
pub fn made(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(operation, count)| {
            let made = count - before.get(operation).copied().unwrap_or(0);
            (made > 0).then(|| (operation.clone(), made))
        })
        .collect()
}

/// `calls` as `Operation×n` in order (the service left out), and their total.
pub fn listed(calls: &BTreeMap<String, u64>) -> (u64, String) {
    let parts: Vec<String> = calls
        .iter()
        .map(|(name, made)| {
            let operation = name.split_once('.').map_or(name.as_str(), |(_, o)| o);
            if *made == 1 {
                operation.to_owned()
            } else {
                format!("{operation}×{made}")
            }
        })
        .collect();
    (calls.values().sum(), parts.join(" "))
}

/// The calls made between two snapshots, as `Operation×n` in order.
pub fn difference(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> (u64, String) {
    listed(&made(before, after))
}

/// `calls` of each service, apart.
pub fn by_service(calls: &BTreeMap<String, u64>) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut services: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (name, made) in calls {
        let service = name.split_once('.').map_or(name.as_str(), |(s, _)| s);
        services
            .entry(service.to_owned())
            .or_default()
            .insert(name.clone(), *made);
    }
    services
}
