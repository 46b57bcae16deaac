//! `GET /workspaces/{workspaceSlug}/databases/{databaseName}`: one registered database.

use credential_model::generated::{GeneratedLogins, LoginLedger};
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, database, shape};

pub async fn handle<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: Call,
) -> Handled {
    let record = database(deps, &call).await?;
    Ok(json_response(StatusCode::OK, &shape::database(&record)))
}
