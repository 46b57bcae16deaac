//! `POST /workspaces/{workspaceSlug}/databases`: registers a database Strongroom may generate
//! credentials for. Its admin login is tested first (it must log in and may create roles);
//! refused with the database's reason, nothing written. `201` `GetDatabaseResponse`.

use credential_model::generated::{GeneratedLogins, LoginLedger, database_key};
use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use lambda_http::http::StatusCode;
use strongroom_edge::{BodyStyle, Call, Handled, json_body, json_response};

use crate::{Deps, own_workspace, request, shape};

pub async fn handle<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: Call,
) -> Handled {
    own_workspace(&call)?;
    let new = request::new_database(&json_body(&call.request, BodyStyle::Strict)?)?;
    let key = database_key(
        call.caller.organization.clone(),
        &new.credential.attributes.name,
    );
    let record = deps.register(&call.caller, key, new).await?;
    tracing::info!(database = %record.attributes.name, id = %record.id, "database registered");
    Ok(json_response(
        StatusCode::CREATED,
        &shape::database(&record),
    ))
}
