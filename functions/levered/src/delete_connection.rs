//! `DELETE /api/v2/warehouse/connections`: removes the connection and schedules its secret
//! for deletion.

use credential_model::Scope;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use strongroom_edge::{empty_response, serve};

use crate::{Deps, active_connection, shape};

pub async fn handle(deps: &Deps, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Write,
        shape::error,
        async |call, _request| {
            let key = active_connection(call.caller.organization.clone());
            let record = deps.store.credentials.delete(&key).await?;
            tracing::info!(connection_id = %record.id, "warehouse connection deleted");
            Ok(empty_response(StatusCode::NO_CONTENT))
        },
    )
    .await)
}
