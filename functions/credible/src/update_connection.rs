//! `PATCH /api/v0/projects/{projectName}/connections/{connectionName}`: merges the sent
//! sub-object into the stored connection field by field. Secrets left out or sent as a
//! redaction placeholder are kept (the upstream server erases them); sent ones become a new
//! version of the same secret.

use lambda_http::http::StatusCode;
use strongroom_edge::{BodyStyle, Call, Handled, json_body};

use crate::{Deps, Repository, Tester, Vault, request, shape, stored};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let body = json_body(&call.request, BodyStyle::Strict)?;
    // The merge is with what is stored: its type and settings.
    let stored = stored(deps, &call).await?;
    // Conditional on the version just read: the merge never overwrites a change it missed.
    let record = deps
        .credentials
        .update(&call.caller, &stored, request::update(&body, &stored)?)
        .await?;
    tracing::info!(connection_id = %record.id, version = record.version,
        "project connection updated");
    Ok(shape::message(
        StatusCode::OK,
        format!(
            "Connection \"{}\" updated successfully",
            record.attributes.name
        ),
    ))
}
