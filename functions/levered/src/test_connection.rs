//! `POST /api/v2/warehouse/connections/test`: connects with the stored credentials and runs a
//! lightweight query.

use credential_model::Error;
use credential_model::ports::TestOutcome;
use lambda_http::http::StatusCode;
use serde_json::json;
use strongroom_edge::{Call, Handled, json_response};

use crate::shape::Meta;
use crate::{Connection, Deps, Repository, Tester, Vault, active_connection, shape};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let key = active_connection(call.caller.organization.clone());
    let record = deps
        .credentials
        .get::<Connection>(&key)
        .await?
        .ok_or(Error::NotFound)?;
    let outcome = deps
        .credentials
        .test_connection(&record, &deps.tester)
        .await?;
    Ok(match outcome {
        TestOutcome::Passed => {
            tracing::info!(connection_id = %record.id, "connection test passed");
            json_response(
                StatusCode::OK,
                &json!({"success": true, "meta": Meta::of(&call.info)}),
            )
        }
        TestOutcome::Failed(failure) => {
            tracing::info!(connection_id = %record.id, code = failure.kind.code(),
                source = failure.origin.as_str(), "connection test failed");
            shape::test_failed(&failure, &call.info)
        }
    })
}
