//! Routing, authorization and invocation, as API Gateway's HTTP API does them.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lambda_http::Body;
use serde_json::{Value, json};
use strongroom_local_stack::{AuthorizerSpec, Route, Template, TemplateError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::dev_keys::KEY_SET_PATH;
use crate::event::IncomingRequest;
use crate::functions::{Functions, Handler};

/// API Gateway's payload limit for HTTP APIs.
const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(
        "the template routes {method} {path} to binary {binary}, which the gateway does not know"
    )]
    UnknownBinary {
        method: String,
        path: String,
        binary: String,
    },
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

enum Segment {
    Literal(String),
    Parameter(String),
}

struct BoundRoute {
    route: Route,
    segments: Vec<Segment>,
    handler: Handler,
}

impl BoundRoute {
    /// The path parameters when `path` matches, and how many literal segments matched.
    fn matches(&self, path: &str) -> Option<(BTreeMap<String, String>, usize)> {
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut parameters = BTreeMap::new();
        let mut literals = 0;
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => literals += 1,
                Segment::Parameter(name) if !part.is_empty() => {
                    let decoded = percent_decode(part);
                    parameters.insert(name.clone(), decoded);
                }
                _ => return None,
            }
        }
        Some((parameters, literals))
    }
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

struct CachedVerdict {
    at: Instant,
    authorized: bool,
    context: Value,
}

/// The whole API on one port.
pub struct Gateway {
    routes: Vec<BoundRoute>,
    functions: Functions,
    authorizer: AuthorizerSpec,
    cache: Mutex<HashMap<String, CachedVerdict>>,
    /// The local identity provider's key set (JSON), served at [`KEY_SET_PATH`].
    key_set: Option<String>,
}

/// A gateway serving in the background; dropping it stops it.
pub struct RunningGateway {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn gateway_message(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

impl Gateway {
    /// Binds every route of the template to its handler; a route whose binary the gateway
    /// does not know is an error, so the template and the code cannot drift apart.
    pub fn new(template: &Template, functions: Functions) -> Result<Gateway, GatewayError> {
        let routes = template
            .routes()?
            .into_iter()
            .map(|route| {
                let handler = functions.handler(&route.binary).ok_or_else(|| {
                    GatewayError::UnknownBinary {
                        method: route.method.clone(),
                        path: route.path.clone(),
                        binary: route.binary.clone(),
                    }
                })?;
                let segments = route
                    .path
                    .trim_end_matches('/')
                    .split('/')
                    .map(
                        |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some(name) => Segment::Parameter(name.to_owned()),
                            None => Segment::Literal(s.to_owned()),
                        },
                    )
                    .collect();
                Ok(BoundRoute {
                    route,
                    segments,
                    handler,
                })
            })
            .collect::<Result<_, GatewayError>>()?;
        Ok(Gateway {
            routes,
            functions,
            authorizer: template.authorizer()?,
            cache: Mutex::new(HashMap::new()),
            key_set: None,
        })
    }

    /// Also serves `key_set` (a JWKS document) at [`KEY_SET_PATH`], as an identity provider
    /// publishes its keys.
    pub fn with_key_set(mut self, key_set: String) -> Gateway {
        self.key_set = Some(key_set);
        self
    }

    /// The routes served, as `METHOD path`.
    pub fn route_keys(&self) -> Vec<String> {
        self.routes
            .iter()
            .map(|r| format!("{} {}", r.route.method, r.route.path))
            .collect()
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut app = Router::new();
        if let Some(key_set) = self.key_set.clone() {
            app = app.route(
                KEY_SET_PATH,
                get(move || {
                    let key_set = key_set.clone();
                    async move { ([(header::CONTENT_TYPE, "application/json")], key_set) }
                }),
            );
        }
        let app = app.fallback(dispatch).with_state(Arc::new(self));
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }

    /// Serves in the background on `addr` (port 0 picks a free one).
    pub async fn start(self, addr: SocketAddr) -> Result<RunningGateway, GatewayError> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(self.serve(listener, async {
            let _ = stopped.await;
        }));
        Ok(RunningGateway {
            addr,
            shutdown: Some(shutdown),
        })
    }

    /// The authorizer's verdict for `identity`, from the cache while it is fresh.
    async fn authorize(&self, request: &IncomingRequest, identity: &str) -> Option<(bool, Value)> {
        let ttl = Duration::from_secs(self.authorizer.cache_seconds);
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(identity).filter(|c| c.at.elapsed() < ttl)
        {
            return Some((hit.authorized, hit.context.clone()));
        }
        let event: ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_value(request.authorizer_event(identity)).ok()?;
        let lambda_event =
            lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
        let response = authorizer::handle(&self.functions.authorizer, lambda_event)
            .await
            .ok()?;
        if !ttl.is_zero()
            && let Ok(mut cache) = self.cache.lock()
        {
            cache.insert(
                identity.to_owned(),
                CachedVerdict {
                    at: Instant::now(),
                    authorized: response.is_authorized,
                    context: response.context.clone(),
                },
            );
        }
        Some((response.is_authorized, response.context))
    }
}

async fn dispatch(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await else {
        return gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let path = parts.uri.path();
    let best = gateway
        .routes
        .iter()
        .filter(|r| r.route.method == parts.method.as_str())
        .filter_map(|r| {
            r.matches(path)
                .map(|(params, literals)| (r, params, literals))
        })
        .max_by_key(|(_, _, literals)| *literals);
    let Some((route, path_parameters, _)) = best else {
        return gateway_message(StatusCode::NOT_FOUND, "Not Found");
    };
    let route_key = format!("{} {}", route.route.method, route.route.path);
    let incoming = IncomingRequest::new(&parts, route_key, path_parameters, &peer.ip().to_string());

    let mut authorizer_context = None;
    if route.route.authorized {
        let identity = incoming
            .headers
            .get(&gateway.authorizer.identity_header)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let Some(identity) = identity else {
            return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized");
        };
        match gateway.authorize(&incoming, &identity).await {
            None => {
                return gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
            }
            Some((false, _)) => return gateway_message(StatusCode::FORBIDDEN, "Forbidden"),
            Some((true, context)) => authorizer_context = Some(context),
        }
    }

    let event = incoming.route_event(authorizer_context.as_ref(), &body);
    let Ok(lambda_request) = lambda_http::request::from_str(&event.to_string()) else {
        return gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    into_http((route.handler)(lambda_request).await, &incoming.request_id)
}

fn into_http(response: lambda_http::Response<Body>, request_id: &str) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let mut response = Response::from_parts(parts, axum::body::Body::from(bytes));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("apigw-requestid", id);
    }
    response
}
