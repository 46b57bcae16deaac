//! `POST /api/v0/projects/{projectName}/connections/{connectionName}`: stores a new
//! connection under the path's name; a name already taken in the project is `409`.

use credential_model::{CredentialId, Error};
use lambda_http::http::StatusCode;
use strongroom_edge::{BodyStyle, Call, Handled, json_body};

use crate::{Deps, Repository, Tester, Vault, connection, request, shape};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let (path, key) = connection(&call)?;
    let new = request::create(&json_body(&call.request, BodyStyle::Strict)?, &path)?;
    // Written only if the name is free: the metadata write is conditional on finding nothing.
    let record = deps
        .credentials
        .create(&call.caller, key, CredentialId::generate(), new)
        .await
        .map_err(|error| match error {
            Error::Conflict(_) => {
                Error::Conflict("a connection of this name already exists in the project")
            }
            other => other,
        })?;
    tracing::info!(connection_id = %record.id, provider = %record.provider,
        "project connection created");
    Ok(shape::message(
        StatusCode::CREATED,
        format!("Connection \"{}\" created successfully", path.name),
    ))
}
