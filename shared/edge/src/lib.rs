//! The HTTP edge every family shares: who is calling (from the authorizer's context, never
//! from the request), JSON bodies and the one reader of their fields, the rejections a request
//! can meet, responses, routes, and one access-log line per request. Families add only their
//! own shapes.

mod body;
mod call;
mod conditional;
pub mod input;
mod rejection;

use std::future::Future;
use std::pin::Pin;

pub use body::{BodyStyle, JsonBody, MAX_BODY_BYTES, json_body};
pub use call::{Call, RequestInfo, serve};
pub use conditional::{EntityTag, Precondition, Preconditions, TagCondition};
pub use rejection::Rejection;

use credential_model::Scope;
use credential_model::ports::Backend;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response. Credential responses are never cached by intermediaries.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let mut response = Response::new(match serde_json::to_vec(body) {
        Ok(bytes) => Body::from(bytes),
        Err(_) => Body::from("{}"),
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A response with no body (`204 No Content`).
pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// What a handler answers: a response, or a rejection its route's error shape answers.
pub type Handled = Result<Response<Body>, Rejection>;

/// A handler's answer to come, borrowing its dependencies.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Handled> + Send + 'a>>;

/// How a family answers a refused request.
pub type ErrorShape = fn(&Rejection, &RequestInfo) -> Response<Body>;

/// One route of a family's API, declared once: the method and path API Gateway routes to the
/// function binary, the scope it needs, the stores its handler reaches (the function's IAM
/// policies grant exactly these, and its sandbox connects to them during init), the family's
/// error shape, and the handler that binary runs with dependencies `D`. The template, the
/// OpenAPI document, the Lambda binaries and the local gateway all follow these tables.
pub struct Route<D> {
    pub method: &'static str,
    pub path: &'static str,
    pub binary: &'static str,
    pub scope: Scope,
    pub backends: &'static [Backend],
    pub shape: ErrorShape,
    pub handler: for<'a> fn(&'a D, Call) -> HandlerFuture<'a>,
}

impl<D> Clone for Route<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for Route<D> {}

/// The route of `binary` in a family's table `routes`. `lambda_main!` evaluates it at compile
/// time: a Lambda binary then holds its own route's handler and no other (with what only
/// those handlers call), and a binary its family does not declare fails to build.
pub const fn route<D, const N: usize>(routes: [Route<D>; N], binary: &str) -> Route<D> {
    let mut index = 0;
    while index < N {
        if same(routes[index].binary, binary) {
            return routes[index];
        }
        index += 1;
    }
    panic!("the family declares no route for this binary")
}

/// `a == b`, in a const fn.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut index = 0;
    while index < a.len() {
        if a[index] != b[index] {
            return false;
        }
        index += 1;
    }
    true
}

/// `route!("POST", "/api/v1/credentials", "mielto-create-credential", Write,
/// [Metadata, Secrets], shape::error, create_credential::handle)`
#[macro_export]
macro_rules! route {
    ($method:expr, $path:expr, $binary:expr, $scope:ident, [$($backend:ident),*], $shape:path, $handler:path) => {
        $crate::Route {
            method: $method,
            path: $path,
            binary: $binary,
            scope: credential_model::Scope::$scope,
            backends: &[$(credential_model::ports::Backend::$backend),*],
            shape: $shape,
            handler: |deps, call| Box::pin($handler(deps, call)),
        }
    };
}

/// The `main` of a route's Lambda binary: logging, the family's dependencies built once
/// (`$init`, an async constructor reading the environment and connecting to the route's
/// backends), then the route of this binary (by its Cargo name) in the family's table
/// `$routes` for every request. Each phase of init is marked for `make bench`. The binary's
/// crate depends on `lambda_http` and `strongroom_aws`.
#[macro_export]
macro_rules! lambda_main {
    ($init:path, $routes:path) => {
        fn main() -> Result<(), lambda_http::Error> {
            strongroom_aws::init::run(async {
                let route = const { $crate::route($routes(), env!("CARGO_BIN_NAME")) };
                let deps = $init(route.backends).await?;
                strongroom_aws::init::end();
                lambda_http::run(lambda_http::service_fn(|request| async {
                    Ok::<_, std::convert::Infallible>($crate::serve(&route, &deps, request).await)
                }))
                .await
            })
        }
    };
}
