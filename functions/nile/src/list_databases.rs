//! `GET /workspaces/{workspaceSlug}/databases`: the workspace's registered databases.

use credential_model::RecordKey;
use credential_model::generated::{
    GeneratedLogins, LoginLedger, REGISTERED_DATABASE, RegisteredDatabase,
};
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use lambda_http::http::StatusCode;
use serde_json::Value;
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, own_workspace, shape};

pub async fn handle<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: Call,
) -> Handled {
    own_workspace(&call)?;
    let records = deps
        .store()
        .list::<RegisteredDatabase>(
            &call.caller.organization,
            &RecordKey::items_prefix(REGISTERED_DATABASE),
        )
        .await?;
    let body: Vec<Value> = records.iter().map(shape::database).collect();
    Ok(json_response(StatusCode::OK, &body))
}
