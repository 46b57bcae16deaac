//! `GET /api/v1/credentials/{credential_id}`: one credential of the caller's workspace, without
//! its secret.

use credential_model::credential::now;
use credential_model::{Error, Scope};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use strongroom_aws::Store;
use strongroom_edge::{json_response, serve};

use crate::request;
use crate::shape::{self, CredentialRead};

pub async fn handle(store: &Store, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(
        serve(request, Scope::Read, shape::error, async |call, request| {
            if request::names_another_workspace(&call.caller, &request) {
                return Ok(shape::workspace_not_found());
            }
            let key = request::credential_key(&call.caller, &request).ok_or(Error::NotFound)?;
            let record = store.credentials.get(&key).await?.ok_or(Error::NotFound)?;
            Ok(json_response(
                StatusCode::OK,
                &CredentialRead::of(&record, now()),
            ))
        })
        .await,
    )
}
