//! `PUT /strongroom/v1/credentials/{id}/rotation`: how a database credential's password is
//! rotated. Everything is checked before anything is written; the settings are written
//! (conditional on the version read, which is the client's when it sends `If-Match`), then
//! Secrets Manager is given the schedule; if it refuses, the settings are put back as they were.

use credential_model::audit::AuditAction;
use credential_model::ports::{CredentialRepository as Repository, Expected, SecretVault as Vault};
use credential_model::rotation::{Rotation, RotationControl, RotationSettings};
use credential_model::service::vault_error;
use credential_model::validation::{FieldErrors, Problem};
use credential_model::{Caller, CredentialId, Error, Provider};
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, ROTATABLE, find, find_to_write, request, shape, tagged, with_rotation};

fn invalid(field: &str, problem: Problem) -> Error {
    let mut errors = FieldErrors::new();
    errors.push(field, problem);
    Error::Invalid(errors)
}

/// Whether two providers speak the same protocol (an admin login of one can manage users of
/// the other).
fn same_engine(a: Provider, b: Provider) -> bool {
    let postgres = |p| matches!(p, Provider::Postgres | Provider::Redshift);
    postgres(a) == postgres(b)
}

/// The admin credential `admin` of `caller`'s organization, for alternating users of a
/// credential `id` of `provider`: another database login of the same engine.
async fn check_admin(
    repository: &impl Repository,
    caller: &Caller,
    id: CredentialId,
    provider: Provider,
    admin: CredentialId,
) -> Result<(), Error> {
    const FIELD: &str = "adminCredentialId";
    if admin == id {
        return Err(invalid(
            FIELD,
            Problem::NotAllowed {
                reason: "must name another credential than the one rotated",
            },
        ));
    }
    let found = match find(repository, caller, admin).await {
        Err(Error::NotFound) => {
            return Err(invalid(
                FIELD,
                Problem::Malformed {
                    expected: "the id of a credential of this organization",
                },
            ));
        }
        other => other?,
    };
    let login = found.record.provider;
    if !ROTATABLE.contains(&login) || !same_engine(login, provider) {
        return Err(invalid(
            FIELD,
            Problem::NotAllowed {
                reason: "must name a database login of the same engine as the credential \
                         (postgres or redshift; mysql or mariadb)",
            },
        ));
    }
    Ok(())
}

pub async fn handle(
    deps: &Deps<impl Repository, impl Vault, impl RotationControl>,
    call: Call,
) -> Handled {
    let id = call.path_id("id")?;
    let settings: RotationSettings = request::rotation_settings(&call)?;
    let repository = deps.store.repository();
    let to_write = match find_to_write(repository, &call, id).await {
        Ok(to_write) => to_write,
        Err(answer) => return answer,
    };
    let found = &to_write.found;
    let provider = found.record.provider;
    if !ROTATABLE.contains(&provider) {
        return Err(invalid(
            "provider",
            Problem::NotOneOf {
                allowed: ROTATABLE.iter().map(|p| p.as_str()).collect(),
            },
        )
        .into());
    }
    if let Some(admin) = settings.admin_credential {
        check_admin(repository, &call.caller, id, provider, admin).await?;
    }
    let schedule = settings.schedule.clone();
    let previous = found.record.rotation.clone();
    let updated = with_rotation(
        found,
        Rotation {
            settings: Some(settings),
            state: previous.state.clone(),
        },
    );
    let event = call
        .caller
        .event(AuditAction::RotationConfigured, Some(id), None);
    if let Err(error) = repository
        .put_any_audited(&updated, to_write.expected, &event)
        .await
    {
        return to_write.refused(error, &call.info);
    }
    if let Err(error) = deps
        .rotation
        .schedule(&found.record.secret, &schedule)
        .await
    {
        let restored = with_rotation(&updated, previous);
        // The log says so: the settings recorded above are taken back.
        let event = call.caller.event(
            AuditAction::RotationConfigured,
            Some(id),
            Some("restored: Secrets Manager refused the schedule".to_owned()),
        );
        if let Err(undo) = repository
            .put_any_audited(&restored, Expected::record(&updated.record), &event)
            .await
        {
            tracing::error!(credential_id = %id, error = %undo,
                "rotation settings not put back after Secrets Manager refused the schedule");
        }
        return Err(vault_error(error).into());
    }
    tracing::info!(credential_id = %id, %schedule, "rotation scheduled");
    let versions = deps
        .store
        .vault()
        .versions(&found.record.secret)
        .await
        .map_err(vault_error)?;
    let response = json_response(StatusCode::OK, &shape::credential(&updated, &versions));
    Ok(tagged(response, &updated))
}
