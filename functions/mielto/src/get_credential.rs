//! `GET /api/v1/credentials/{credential_id}`: one credential of the caller's workspace, without
//! its secret.

use credential_model::Error;
use credential_model::credential::now;
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, json_response};

use crate::shape::CredentialRead;
use crate::{GenericCredential, Repository, Store, Vault, request};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    request::own_workspace(&call)?;
    let record = store
        .get::<GenericCredential>(&request::credential_key(&call)?)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &CredentialRead::of(&record, now()),
    ))
}
