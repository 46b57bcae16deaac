//! `DELETE /api/v1/credentials/{credential_id}`: removes the credential and schedules its
//! secret for deletion (recoverable for the stack's recovery window).

use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, empty_response};

use crate::{GenericCredential, Repository, Store, Vault, request};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    request::own_workspace(&call)?;
    let record = store
        .delete::<GenericCredential>(&call.caller, &request::credential_key(&call)?)
        .await?;
    tracing::info!(credential_id = %record.id, "credential deleted");
    Ok(empty_response(StatusCode::NO_CONTENT))
}
