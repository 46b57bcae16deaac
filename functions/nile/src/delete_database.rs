//! `DELETE /workspaces/{workspaceSlug}/databases/{databaseName}`: deregisters a database.
//! Refused (409 `constraint_violation`) while it has live credentials, unless `force=true`:
//! then each is revoked first, and the database stays registered if one cannot be. `204`.

use credential_model::generated::{GeneratedLogins, LoginLedger};
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, empty_response};

use crate::{Deps, database_path, request};

pub use credential_model::generated::LIVE_CREDENTIALS;

pub async fn handle<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: Call,
) -> Handled {
    let key = database_path(&call)?;
    let force = request::force(&call.request)?;
    deps.deregister(&call.caller, &key, force).await?;
    tracing::info!(database = %key.slot, force, "database deregistered");
    Ok(empty_response(StatusCode::NO_CONTENT))
}
