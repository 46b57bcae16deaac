//! One call of a route: authorize it from the authorizer's context, run the family's handler,
//! shape any rejection in the family's way, and log one access line.

use std::time::Instant;

use credential_model::tenancy::authorizer_context::{self, Unauthenticated};
use credential_model::{Caller, CredentialId, Error, OrgId};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Map;
use tracing::Instrument;

use crate::{Rejection, Route};

/// What every response may need to say about its request.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// API Gateway's request id: the same id is in its access logs.
    pub request_id: String,
    /// Known once the caller is authenticated.
    pub organization: Option<OrgId>,
}

/// An authorized call: the caller, the request's info and the request itself.
pub struct Call {
    pub caller: Caller,
    pub info: RequestInfo,
    pub request: Request,
}

impl Call {
    /// The credential id the path parameter `name` holds: not found when it holds nothing
    /// that could be one.
    pub fn path_id(&self, name: &str) -> Result<CredentialId, Error> {
        self.request
            .path_parameters_ref()
            .and_then(|params| params.first(name))
            .and_then(CredentialId::parse)
            .ok_or(Error::NotFound)
    }
}

fn request_id(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    }
    .or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()))
    .unwrap_or_default()
}

/// The context the authorizer returned, if one ran.
fn authorizer_fields(request: &Request) -> Option<Map<String, serde_json::Value>> {
    let authorizer = request
        .request_context_ref()
        .and_then(RequestContext::authorizer)?;
    Some(
        authorizer
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// The caller the authorizer vouched for, with where the request came from.
fn caller(request: &Request, request_id: &str) -> Result<Caller, Unauthenticated> {
    let Some(context) = authorizer_fields(request) else {
        return Err(Unauthenticated::NoContext);
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut caller = authorizer_context::caller(&context, now)?;
    caller.origin.request_id = Some(request_id.to_owned()).filter(|id| !id.is_empty());
    caller.origin.source_ip = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    };
    Ok(caller)
}

/// Runs `route` for `request`: for an authenticated caller holding the route's scope, its
/// handler with `deps`. Anything refused — by the authorizer, the scope check or the handler —
/// is answered by the route's error shape. Handlers cannot reach a tenant any other way than
/// through the `Call` given here.
pub async fn serve<D>(route: &Route<D>, deps: &D, request: Request) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let mut info = RequestInfo {
        request_id: request_id(&request),
        organization: None,
    };
    let span = tracing::info_span!("request", request_id = %info.request_id);
    async move {
        let outcome = match caller(&request, &info.request_id) {
            Err(reason) => Err(Rejection::Unauthenticated(reason)),
            Ok(caller) if !caller.scopes.allow(route.scope) => {
                info.organization = Some(caller.organization);
                Err(Rejection::Forbidden {
                    needed: route.scope,
                })
            }
            Ok(caller) => {
                info.organization = Some(caller.organization.clone());
                let call = Call {
                    caller,
                    info: info.clone(),
                    request,
                };
                (route.handler)(deps, call).await
            }
        };
        let response = outcome.unwrap_or_else(|rejection| {
            rejection.log();
            (route.shape)(&rejection, &info)
        });
        tracing::info!(
            method,
            path,
            status = response.status().as_u16(),
            organization = info.organization.as_ref().map(OrgId::as_str),
            duration_ms = started.elapsed().as_millis() as u64,
            "request handled"
        );
        response
    }
    .instrument(span)
    .await
}
