//! `POST /api/v2/warehouse/connections`: creates or replaces the organization's connection.

use lambda_http::http::StatusCode;
use strongroom_edge::{BodyStyle, Call, Handled, json_body, json_response};

use crate::{Deps, Repository, Tester, Vault, active_connection, request, shape};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let new = request::parse(&json_body(&call.request, BodyStyle::Strict)?)?;
    let key = active_connection(call.caller.organization.clone());
    let record = deps.credentials.replace(&call.caller, key, new).await?;
    tracing::info!(connection_id = %record.id, provider = %record.provider, version = record.version,
        "warehouse connection stored");
    Ok(json_response(
        StatusCode::CREATED,
        &shape::created(&record, &call.info),
    ))
}
