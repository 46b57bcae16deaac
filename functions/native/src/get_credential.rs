//! `GET /strongroom/v1/credentials/{id}`: any credential of the caller's organization by its
//! id — its family, kind, secret versions and rotation — never its secret material. Tagged
//! with its `ETag`; `If-None-Match` naming it answers `304` (no body), a stale `If-Match` `412`.

use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use credential_model::rotation::RotationControl;
use credential_model::service::vault_error;
use lambda_http::http::{HeaderValue, StatusCode, header};
use strongroom_edge::{Call, Handled, Precondition, Preconditions, empty_response, json_response};

use crate::{Deps, etag, find, shape, tagged};

pub async fn handle(
    deps: &Deps<impl Repository, impl Vault, impl RotationControl>,
    call: Call,
) -> Handled {
    let id = call.path_id("id")?;
    let preconditions = Preconditions::read(&call.request)?;
    let found = find(deps.store.repository(), &call.caller, id).await?;
    match preconditions.evaluate(&etag(&found), call.request.method()) {
        Precondition::Holds => {}
        Precondition::NotModified => {
            // Secrets Manager is not asked: the client's copy is current.
            let mut not_modified = empty_response(StatusCode::NOT_MODIFIED);
            not_modified
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return Ok(tagged(not_modified, &found));
        }
        Precondition::Failed { header } => {
            return Ok(shape::precondition_failed(header, &call.info));
        }
    }
    let versions = deps
        .store
        .vault()
        .versions(&found.record.secret)
        .await
        .map_err(vault_error)?;
    let response = json_response(StatusCode::OK, &shape::credential(&found, &versions));
    Ok(tagged(response, &found))
}
