//! `POST /api/v2/warehouse/connections`: creates or replaces the organization's connection.

use credential_model::Scope;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use strongroom_edge::{json_body, json_response, serve};

use crate::{Deps, active_connection, request, shape};

pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(request, Scope::Write, shape::error, async |call, request| {
        let new = request::parse(json_body(&request)?)?;
        let key = active_connection(call.caller.organization.clone());
        let record = deps.store.credentials.replace(&call.caller, key, new).await?;
        tracing::info!(connection_id = %record.id, provider = %record.provider, version = record.version,
            "warehouse connection stored");
        Ok(json_response(StatusCode::CREATED, &shape::created(&record, &call.info)))
    })
    .await)
}
