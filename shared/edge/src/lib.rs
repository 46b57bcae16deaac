//! The HTTP edge every family shares: who is calling (from the authorizer's context, never
//! from the request), JSON bodies read safely, the rejections a request can meet, responses,
//! and one access-log line per request. Families add only their own shapes.

mod body;
mod call;
mod rejection;

pub use body::{MAX_BODY_BYTES, json_body};
pub use call::{Call, RequestInfo, serve};
pub use rejection::Rejection;

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

/// The `main` of a route's Lambda binary: logging, the family's dependencies built once
/// (`$deps::from_env()`), then `$handler(&deps, request)` for every request. The binary's
/// crate depends on `lambda_http`, `strongroom_aws` and `tokio`.
#[macro_export]
macro_rules! lambda_main {
    ($deps:ty, $handler:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            strongroom_aws::logging::init();
            let deps = <$deps>::from_env().await?;
            lambda_http::run(lambda_http::service_fn(|request| $handler(&deps, request))).await
        }
    };
}
