//! `GET /api/v0/projects/{projectName}/connections/{connectionName}/test`: tests a stored
//! connection with its current secret; no secret travels in the request.

use credential_model::ports::TestOutcome;
use strongroom_edge::{Call, Handled};

use crate::{Deps, Repository, Tester, Vault, shape, stored};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let record = stored(deps, &call).await?;
    let outcome = deps
        .credentials
        .test_connection(&record, &deps.tester)
        .await?;
    match &outcome {
        TestOutcome::Passed => tracing::info!(connection_id = %record.id, "connection test passed"),
        TestOutcome::Failed(failure) => tracing::info!(connection_id = %record.id,
            code = failure.kind.code(), source = failure.origin.as_str(), "connection test failed"),
    }
    Ok(shape::status(&outcome))
}
