//! `PUT /api/v1/credentials/{credential_id}`: changes the fields the client sends. New
//! `credentials` replace the stored object wholesale as a new version of the same secret;
//! without them the stored object is kept, and a value sent as a redaction placeholder
//! (`********`) keeps the stored value under its name.

use credential_model::credential::now;
use credential_model::{Error, Scope};
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
            // FastAPI validates the body before the handler looks for the credential.
            let mut update = request::credential_update(request::json_body(&request)?, now())?;
            let key = request::credential_key(&call.caller, &request).ok_or(Error::NotFound)?;
            let stored = store.credentials.get(&key).await?.ok_or(Error::NotFound)?;
            if update.sends_placeholders() {
                update.keep_placeholders(&store.credentials.stored_document(&stored).await?)?;
            }
            let replaces_secret = update.replaces_credentials();
            // Conditional on the version just read: the merge never overwrites a change it missed.
            let record = store
                .credentials
                .update(&stored, update.apply_to(&stored))
                .await?;
            tracing::info!(credential_id = %record.id, version = record.version, replaces_secret,
            "credential updated");
            Ok(json_response(
                StatusCode::OK,
                &CredentialRead::of(&record, now()),
            ))
        },
    )
    .await)
}
