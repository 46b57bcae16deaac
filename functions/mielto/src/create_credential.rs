//! `POST /api/v1/credentials`: stores a new credential and answers `200` with it, without its
//! secret, as Mielto documents.

use credential_model::credential::now;
use credential_model::{CredentialId, CredentialKind, RecordKey, Scope};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use strongroom_aws::Store;
use strongroom_edge::{json_response, serve};

use crate::request;
use crate::shape::{self, CredentialRead};

pub async fn handle(store: &Store, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Write,
        shape::error,
        async |call, request| {
            if request::names_another_workspace(&call.caller, &request) {
                return Ok(shape::workspace_not_found());
            }
            let new = request::credential_create(request::json_body(&request)?, now())?;
            let id = CredentialId::generate();
            let key = RecordKey::item(
                call.caller.organization.clone(),
                CredentialKind::GenericCredential,
                id,
            );
            let record = store.credentials.create(&call.caller, key, id, new).await?;
            tracing::info!(credential_id = %record.id, "credential created");
            Ok(json_response(
                StatusCode::OK,
                &CredentialRead::of(&record, now()),
            ))
        },
    )
    .await)
}
