//! `DELETE /strongroom/v1/credentials/{id}/rotation`: Secrets Manager stops rotating the
//! secret, then the settings are cleared; the last rotation's state stays. Idempotent.

use credential_model::ports::{CredentialRepository as Repository, Expected, SecretVault as Vault};
use credential_model::rotation::Rotation;
use credential_model::rotation::RotationControl;
use credential_model::service::{store_error, vault_error};
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, empty_response};

use crate::{Deps, find, with_rotation};

pub async fn handle(
    deps: &Deps<impl Repository, impl Vault, impl RotationControl>,
    call: Call,
) -> Handled {
    let id = call.path_id("id")?;
    let repository = deps.store.repository();
    let found = find(repository, &call.caller, id).await?;
    // Cancelled first: settings are never cleared while Secrets Manager still rotates.
    deps.rotation
        .cancel(&found.record.secret)
        .await
        .map_err(vault_error)?;
    if found.record.rotation.settings.is_some() {
        let rotation = Rotation {
            settings: None,
            state: found.record.rotation.state.clone(),
        };
        let cleared = with_rotation(&found, rotation);
        repository
            .put_any(&cleared, Expected::record(&found.record))
            .await
            .map_err(store_error)?;
        tracing::info!(credential_id = %id, "rotation settings cleared");
    }
    Ok(empty_response(StatusCode::NO_CONTENT))
}
