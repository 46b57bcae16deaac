//! The Nile family: generated database credentials, faithful to Nile's API (the seed is
//! `../shared/seeds/002_…`; its sibling operations are in `../shared/research/nile-api.md`).
//! [`routes`] is its route table.
//!
//! The workspace is the caller's organization: a `workspaceSlug` naming any other answers
//! exactly as an unknown database does (404 `entity_not_found`). A database is registered with
//! its admin login, which Strongroom keeps as a secret (rotatable like any connection) and
//! uses to create each credential as a real role with a lifetime the database itself enforces.
//! A credential's password is shown once and stored nowhere.

pub mod create_credential;
pub mod create_database;
pub mod delete_credential;
pub mod delete_database;
pub mod get_database;
pub mod list_credentials;
pub mod list_databases;
mod request;
pub mod rotate_credentials;
mod shape;

use credential_model::generated::{
    GeneratedCredentials, GeneratedLogins, LeasePolicy, LoginLedger, RegisteredDatabase,
    database_key,
};
use credential_model::ports::{Backend, CredentialRepository as Repository, SecretVault as Vault};
use credential_model::{CredentialRecord, Error, RecordKey};
use lambda_http::RequestExt;
use strongroom_aws::config::ConfigError;
use strongroom_aws::{DynamoLedger, DynamoRepository, SecretsManagerVault, init};
use strongroom_connectors::GeneratedLoginsDriver;
use strongroom_edge::{Call, Rejection, Route, route};

/// What the handlers need, built once per sandbox: the generated-credential use cases over
/// the credential store, the lease ledger and the database driver.
pub type Deps<R, V, L, D> = GeneratedCredentials<R, V, L, D>;

/// The handlers' dependencies in Lambda.
pub type AwsDeps = Deps<DynamoRepository, SecretsManagerVault, DynamoLedger, GeneratedLoginsDriver>;

/// How long a database statement may take before Strongroom gives up on it.
pub const DATABASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The dependencies on the clients of `sdk`.
pub fn deps(sdk: &strongroom_aws::SdkConfig, settings: &strongroom_aws::StoreSettings) -> AwsDeps {
    GeneratedCredentials::new(
        strongroom_aws::store(sdk, settings),
        DynamoLedger::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table)
            .with_audit_retention(settings.audit_retention),
        GeneratedLoginsDriver::new(DATABASE_TIMEOUT),
        LeasePolicy::default(),
    )
}

/// Reads the configuration the template sets, builds the clients and connects to `backends`.
pub async fn deps_from_env(backends: &[Backend]) -> Result<AwsDeps, ConfigError> {
    let settings = strongroom_aws::StoreSettings::from_env()?;
    init::phase("configuration");
    let (http, sdk) = strongroom_aws::sdk_from_env()?;
    let deps = deps(&sdk, &settings);
    init::phase("clients");
    strongroom_aws::preopen(&http, &sdk, backends).await;
    init::phase("connections");
    Ok(deps)
}

/// The family's routes: what each answers, with which scope, in which binary.
#[rustfmt::skip]
pub const fn routes<R: Repository + 'static, V: Vault + 'static, L: LoginLedger + 'static, D: GeneratedLogins + 'static>() -> [Route<Deps<R, V, L, D>>; 8] {
    const DATABASES: &str = "/workspaces/{workspaceSlug}/databases";
    const DATABASE: &str = "/workspaces/{workspaceSlug}/databases/{databaseName}";
    const CREDENTIALS: &str = "/workspaces/{workspaceSlug}/databases/{databaseName}/credentials";
    [
        route!("POST", DATABASES, "nile-create-database", Write, [Metadata, Secrets], shape::error, create_database::handle),
        route!("GET", DATABASES, "nile-list-databases", Read, [Metadata], shape::error, list_databases::handle),
        route!("GET", DATABASE, "nile-get-database", Read, [Metadata], shape::error, get_database::handle),
        route!("DELETE", DATABASE, "nile-delete-database", Write, [Metadata, Secrets], shape::error, delete_database::handle),
        route!("POST", CREDENTIALS, "nile-create-credential", Write, [Metadata, Secrets], shape::error, create_credential::handle),
        route!("GET", CREDENTIALS, "nile-list-credentials", Read, [Metadata], shape::error, list_credentials::handle),
        route!("DELETE", "/workspaces/{workspaceSlug}/databases/{databaseName}/credentials/{credentialId}", "nile-delete-credential", Write, [Metadata, Secrets], shape::error, delete_credential::handle),
        route!("POST", "/workspaces/{workspaceSlug}/databases/{databaseName}/credentials/rotate", "nile-rotate-credentials", Write, [Metadata, Secrets], shape::error, rotate_credentials::handle),
    ]
}

/// The path parameter `name`, as sent.
fn path_parameter<'a>(call: &'a Call, name: &str) -> &'a str {
    call.request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .unwrap_or_default()
}

/// Checks the path's workspace is the caller's organization: any other does not exist for
/// this caller, whether or not it exists at all.
fn own_workspace(call: &Call) -> Result<(), Rejection> {
    if path_parameter(call, "workspaceSlug") == call.caller.organization.as_str() {
        Ok(())
    } else {
        Err(Rejection::OtherTenant)
    }
}

/// Where the database the path names lives. A name that could not be registered names no
/// database: not found, as an unknown one.
fn database_path(call: &Call) -> Result<RecordKey, Rejection> {
    own_workspace(call)?;
    let name = path_parameter(call, "databaseName");
    if request::database_name(name).is_err() {
        return Err(Rejection::Domain(Error::NotFound));
    }
    Ok(database_key(call.caller.organization.clone(), name))
}

/// The registered database the path names.
async fn database<R: Repository, V: Vault, L: LoginLedger, D: GeneratedLogins>(
    deps: &Deps<R, V, L, D>,
    call: &Call,
) -> Result<CredentialRecord<RegisteredDatabase>, Rejection> {
    let key = database_path(call)?;
    Ok(deps.database(&key).await?)
}
