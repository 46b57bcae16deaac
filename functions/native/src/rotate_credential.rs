//! `POST /strongroom/v1/credentials/{id}/rotate`: starts a rotation now, as a new secret
//! version whose id (the token) is chosen here and recorded first, so the rotation's outcome
//! finds its credential. `202`: Secrets Manager runs the rotation's steps after answering. The
//! `ETag` answered is the version this request wrote; the rotation's progress writes later ones.

use credential_model::audit::AuditAction;
use credential_model::credential::now;
use credential_model::ports::{
    CredentialRepository as Repository, Expected, SecretVault as Vault, VaultError,
};
use credential_model::rotation::{Rotation, RotationControl, RotationState, RotationStatus};
use credential_model::service::vault_error;
use credential_model::{AnyRecord, Error};
use lambda_http::http::StatusCode;
use serde_json::json;
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, find_to_write, tagged, with_rotation};

/// `found` with rotation state `state`, its settings as they are, as the next version.
fn with_state(found: &AnyRecord, state: RotationState) -> AnyRecord {
    let rotation = Rotation {
        settings: found.record.rotation.settings.clone(),
        state: Some(state),
    };
    with_rotation(found, rotation)
}

/// Why a rotation did not start, in words safe to show: what AWS said stays in the logs.
fn reason(error: &VaultError) -> &'static str {
    match error {
        VaultError::NotFound => "the credential's secret is missing from Secrets Manager",
        VaultError::Unavailable(_) => "Secrets Manager did not start the rotation",
    }
}

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
    if found.record.rotation.settings.is_none() {
        return Err(Error::Conflict(
            "rotation is not configured: set it with PUT /strongroom/v1/credentials/{id}/rotation",
        )
        .into());
    }
    let token = uuid::Uuid::new_v4().to_string();
    let last_rotated_at = found
        .record
        .rotation
        .state
        .as_ref()
        .and_then(|s| s.last_rotated_at);
    let started = with_state(
        found,
        RotationState {
            status: RotationStatus::InProgress,
            token: Some(token.clone()),
            at: now(),
            last_rotated_at,
            reason: None,
        },
    );
    let event = call.caller.event(
        AuditAction::RotationRequested,
        Some(id),
        Some(token.clone()),
    );
    if let Err(error) = repository
        .put_any_audited(&started, to_write.expected, &event)
        .await
    {
        return to_write.refused(error, &call.info);
    }
    if let Err(error) = deps.rotation.rotate_now(&found.record.secret, &token).await {
        let failed = with_state(
            &started,
            RotationState {
                status: RotationStatus::Failed,
                token: Some(token.clone()),
                at: now(),
                last_rotated_at,
                reason: Some(reason(&error).to_owned()),
            },
        );
        let event = call
            .caller
            .event(AuditAction::RotationFailed, Some(id), Some(token));
        if let Err(undo) = repository
            .put_any_audited(&failed, Expected::record(&started.record), &event)
            .await
        {
            tracing::error!(credential_id = %id, error = %undo,
                "the failed rotation could not be recorded");
        }
        return Err(vault_error(error).into());
    }
    tracing::info!(credential_id = %id, token, "rotation started");
    let response = json_response(
        StatusCode::ACCEPTED,
        &json!({
            "id": id.to_string(),
            "rotation": {"status": RotationStatus::InProgress.to_string(), "token": token},
        }),
    );
    Ok(tagged(response, &started))
}
