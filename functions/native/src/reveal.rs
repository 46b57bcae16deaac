//! `POST /strongroom/v1/credentials/{id}/reveal[?versionId=…]`: a credential's secret document
//! (at `AWSCURRENT`, or the version asked for), with `credentials:reveal`. A user's own
//! credential is revealed to that user alone, whatever the caller's scopes. The reveal is
//! recorded in the audit log before the secret leaves: if it cannot be recorded, nothing is
//! revealed.

use credential_model::Error;
use credential_model::audit::AuditAction;
use credential_model::ports::SecretVault;
use credential_model::service::vault_error;
use lambda_http::RequestExt;
use lambda_http::http::{HeaderValue, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::json;
use strongroom_edge::{Call, Handled, Rejection, json_response};

use crate::governance::{Deps, record};
use crate::{find, others_own};

/// Secrets Manager version ids are 32 to 64 characters of letters, digits and `-`.
fn version_id(call: &Call) -> Result<Option<String>, Rejection> {
    let Some(text) = call
        .request
        .query_string_parameters_ref()
        .and_then(|params| params.first("versionId"))
    else {
        return Ok(None);
    };
    let well_formed = (32..=64).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed {
        let mut errors = credential_model::validation::FieldErrors::new();
        errors.push(
            "versionId",
            credential_model::validation::Problem::Malformed {
                expected: "a secret version id (32-64 letters, digits and -)",
            },
        );
        return Err(Error::Invalid(errors).into());
    }
    Ok(Some(text.to_owned()))
}

pub(crate) async fn handle(deps: &Deps, call: Call) -> Handled {
    let id = call.path_id("id")?;
    let version = version_id(&call)?;
    let found = find(deps.store.repository(), &call.caller, id).await?;
    // `find` shows an admin every user's credential; its secret stays its owner's.
    if others_own(&call.caller, found.kind, &found.record.key, id) {
        return Err(Error::NotFound.into());
    }
    let vault = deps.store.vault();
    let read = match &version {
        Some(version) => vault.read_version(&found.record.secret, version).await,
        None => vault.read_current(&found.record.secret).await,
    }
    .map_err(|error| match error {
        // A version of another secret, or none: not found, like any unknown thing.
        credential_model::ports::VaultError::NotFound if version.is_some() => Error::NotFound,
        other => vault_error(other),
    })?;
    let document: serde_json::Value =
        serde_json::from_str(read.document.expose_secret()).map_err(|_| Error::Unavailable {
            dependency: credential_model::Dependency::SecretVault,
            detail: "the secret is not a JSON document".into(),
        })?;
    let subject = Some(read.version_id.clone());
    record(
        deps,
        &call,
        AuditAction::CredentialRevealed,
        Some(id),
        subject,
    )
    .await?;
    let mut response = json_response(
        StatusCode::OK,
        &json!({"id": id.to_string(), "versionId": read.version_id, "secret": document}),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
