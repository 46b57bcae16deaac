//! `DELETE /api/v0/projects/{projectName}/connections/{connectionName}`: removes the
//! connection and schedules its secret for deletion (recoverable for the stack's recovery
//! window).

use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled};

use crate::{Deps, ProjectConnection, Repository, Tester, Vault, connection, shape};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let (path, key) = connection(&call)?;
    let record = deps
        .credentials
        .delete::<ProjectConnection>(&call.caller, &key)
        .await?;
    tracing::info!(connection_id = %record.id, "project connection deleted");
    Ok(shape::message(
        StatusCode::OK,
        format!("Connection \"{}\" deleted successfully", path.name),
    ))
}
