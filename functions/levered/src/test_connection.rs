//! `POST /api/v2/warehouse/connections/test`: connects with the stored credentials and runs a
//! lightweight query.

use credential_model::Error;
use credential_model::ports::{FailureKind, Origin, TestFailure, TestOutcome};
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
    // Say so before touching the secret when this provider cannot be tested at all.
    let outcome = if deps.tester.supports(record.provider) {
        let document = deps.credentials.secret_document(&record).await?;
        deps.tester.test(record.provider, &document).await
    } else {
        TestOutcome::Failed(TestFailure {
            kind: FailureKind::Unsupported,
            origin: Origin::Strongroom,
            detail: format!(
                "connection tests for {} are not available yet",
                record.provider
            ),
        })
    };
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
