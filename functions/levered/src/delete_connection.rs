//! `DELETE /api/v2/warehouse/connections`: removes the connection and schedules its secret
//! for deletion.

use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, empty_response};

use crate::{Connection, Deps, Repository, Tester, Vault, active_connection};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let key = active_connection(call.caller.organization.clone());
    let record = deps
        .credentials
        .delete::<Connection>(&call.caller, &key)
        .await?;
    tracing::info!(connection_id = %record.id, "warehouse connection deleted");
    Ok(empty_response(StatusCode::NO_CONTENT))
}
