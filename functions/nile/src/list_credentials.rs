//! `GET /workspaces/{workspaceSlug}/databases/{databaseName}/credentials`: the database's
//! credentials — `tenantId` when sent, `internal` (false when absent) — never a password.

use credential_model::generated::{GeneratedLogins, LoginLedger};
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use lambda_http::http::StatusCode;
use serde_json::{Map, Value};
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, database, request, shape};

pub async fn handle<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: Call,
) -> Handled {
    let record = database(deps, &call).await?;
    // `tenantId` filters when sent; `internal` always (false when absent).
    let filter = request::scope(&call.request)?;
    let leases = deps.leases(&record).await?;
    let database = shape::database(&record);
    let body: Vec<Map<String, Value>> = leases
        .iter()
        .filter(|lease| lease.scope.internal == filter.internal)
        .filter(|lease| filter.tenant.is_none() || lease.scope.tenant == filter.tenant)
        .map(|lease| shape::credential(&database, lease))
        .collect();
    Ok(json_response(StatusCode::OK, &body))
}
