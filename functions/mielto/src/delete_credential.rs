//! `DELETE /api/v1/credentials/{credential_id}`: removes the credential and schedules its
//! secret for deletion (recoverable for the stack's recovery window).

use credential_model::{Error, Scope};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use strongroom_aws::Store;
use strongroom_edge::{empty_response, serve};

use crate::{request, shape};

pub async fn handle(store: &Store, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Write,
        shape::error,
        async |call, request| {
            if request::names_another_workspace(&call.caller, &request) {
                return Ok(shape::workspace_not_found());
            }
            let key = request::credential_key(&call.caller, &request).ok_or(Error::NotFound)?;
            let record = store.credentials.delete(&key).await?;
            tracing::info!(credential_id = %record.id, "credential deleted");
            Ok(empty_response(StatusCode::NO_CONTENT))
        },
    )
    .await)
}
