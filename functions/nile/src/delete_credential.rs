//! `DELETE /workspaces/{workspaceSlug}/databases/{databaseName}/credentials/{credentialId}`:
//! revokes the login now — no new login, its open sessions terminated, the role dropped. `204`.
//! When the database cannot be reached the answer is 503 and the sweeper keeps trying;
//! `force=true` forgets a credential even so (an irrevocable one, say).

use credential_model::generated::{GeneratedLogins, LoginLedger};
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, empty_response};

use crate::{Deps, database, path_parameter, request};

pub async fn handle<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: Call,
) -> Handled {
    let record = database(deps, &call).await?;
    let force = request::force(&call.request)?;
    let lease = deps
        .lease(&record, path_parameter(&call, "credentialId"))
        .await?;
    deps.revoke(&call.caller, &record, &lease, force).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}
