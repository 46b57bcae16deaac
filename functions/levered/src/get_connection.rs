//! `GET /api/v2/warehouse/connections`: the organization's connection without credentials,
//! or `null`.

use lambda_http::http::StatusCode;
use serde_json::json;
use strongroom_edge::{Call, Handled, json_response};

use crate::shape::Meta;
use crate::{Connection, Deps, Repository, Tester, Vault, active_connection, shape};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let key = active_connection(call.caller.organization.clone());
    let record = deps.credentials.get::<Connection>(&key).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "connection": record.as_ref().map(shape::connection),
            "meta": Meta::of(&call.info),
        }),
    ))
}
