//! `GET /api/v2/warehouse/connections`: the organization's connection without credentials,
//! or `null`.

use credential_model::Scope;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use strongroom_edge::{json_response, serve};

use crate::shape::Meta;
use crate::{Deps, active_connection, shape};

pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Read,
        shape::error,
        async |call, _request| {
            let key = active_connection(call.caller.organization.clone());
            let record = deps.store.credentials.get(&key).await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "connection": record.as_ref().map(shape::connection),
                    "meta": Meta::of(&call.info),
                }),
            ))
        },
    )
    .await)
}
