//! `POST /workspaces/{workspaceSlug}/databases/{databaseName}/credentials/rotate`: a new
//! credential for the query's scope (`tenantId`, `internal`), and every other one of that scope
//! ends after `delayOldSecretsExpirationHours` — at once when absent — in the database too.
//! `200` `CreateCredentialResponse`, the new password in it once.

use credential_model::generated::{GeneratedLogins, LoginLedger};
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use strongroom_edge::{Call, Handled};

use crate::{Deps, database, request, shape};

pub async fn handle<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: Call,
) -> Handled {
    let record = database(deps, &call).await?;
    let scope = request::scope(&call.request)?;
    let rotation = request::rotation(&call.request)?;
    let issued = deps
        .rotate(
            &call.caller,
            &record,
            scope,
            rotation.delay,
            rotation.reason,
        )
        .await?;
    Ok(shape::created(&record, &issued.lease, &issued.password))
}
