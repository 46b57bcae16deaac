//! `GET /strongroom/v1/credentials/{id}`: any credential of the caller's organization by its
//! id — its family, kind, secret versions and rotation — never its secret material.

use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use credential_model::rotation::RotationControl;
use credential_model::service::vault_error;
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, find, shape};

pub async fn handle(
    deps: &Deps<impl Repository, impl Vault, impl RotationControl>,
    call: Call,
) -> Handled {
    let id = call.path_id("id")?;
    let found = find(deps.store.repository(), &call.caller, id).await?;
    let versions = deps
        .store
        .vault()
        .versions(&found.record.secret)
        .await
        .map_err(vault_error)?;
    Ok(json_response(
        StatusCode::OK,
        &shape::credential(&found, &versions),
    ))
}
