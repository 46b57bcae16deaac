//! `POST /workspaces/{workspaceSlug}/databases/{databaseName}/credentials`: a new login of the
//! database, created as a real role with the admin login, living the database's default
//! lifetime (or `lifetimeSeconds`, at most its maximum). `200` `CreateCredentialResponse`: the
//! password is in it, and nowhere else, ever.

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
    let lifetime = request::lifetime(&call.request)?;
    let issued = deps.issue(&call.caller, &record, scope, lifetime).await?;
    Ok(shape::created(&record, &issued.lease, &issued.password))
}
