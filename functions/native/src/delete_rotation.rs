//! `DELETE /strongroom/v1/credentials/{id}/rotation`: Secrets Manager stops rotating the
//! secret, then the settings are cleared; the last rotation's state stays. Idempotent. The
//! preconditions are checked before Secrets Manager is told anything.

use credential_model::audit::AuditAction;
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use credential_model::rotation::Rotation;
use credential_model::rotation::RotationControl;
use credential_model::service::vault_error;
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, empty_response};

use crate::{Deps, find_to_write, tagged, with_rotation};

pub async fn handle(
    deps: &Deps<impl Repository, impl Vault, impl RotationControl>,
    call: Call,
) -> Handled {
    let id = call.path_id("id")?;
    let repository = deps.store.repository();
    let to_write = match find_to_write(repository, &call, id).await {
        Ok(to_write) => to_write,
        Err(answer) => return answer,
    };
    let found = &to_write.found;
    // Cancelled first: settings are never cleared while Secrets Manager still rotates.
    deps.rotation
        .cancel(&found.record.secret)
        .await
        .map_err(vault_error)?;
    if found.record.rotation.settings.is_none() {
        return Ok(tagged(empty_response(StatusCode::NO_CONTENT), found));
    }
    let rotation = Rotation {
        settings: None,
        state: found.record.rotation.state.clone(),
    };
    let cleared = with_rotation(found, rotation);
    let event = call
        .caller
        .event(AuditAction::RotationCancelled, Some(id), None);
    if let Err(error) = repository
        .put_any_audited(&cleared, to_write.expected, &event)
        .await
    {
        return to_write.refused(error, &call.info);
    }
    tracing::info!(credential_id = %id, "rotation settings cleared");
    Ok(tagged(empty_response(StatusCode::NO_CONTENT), &cleared))
}
