//! The Credible family: the named database connections of a project, faithful to the data API
//! of Credible (the Malloy Publisher's `/api/v0`; the seed is `../shared/seeds/001_…`).
//! [`routes`] is its route table.
//!
//! The tenant is the caller's organization; a project is a name under it, and a connection a
//! name under its project. Each connection is a `project-connection` record keyed
//! `project-connection#{project}#{connection}`, so a project's connections are one query.
//! Its secret document nests: a DuckDB connection holds the databases it attaches, each with
//! its own secrets.

pub mod create_connection;
pub mod delete_connection;
pub mod get_connection;
pub mod list_connections;
mod request;
mod shape;
pub mod test_connection;
pub mod test_stored_connection;
pub mod update_connection;

use credential_model::ports::{
    Backend, ConnectionTester as Tester, CredentialRepository as Repository, SecretVault as Vault,
};
use credential_model::validation::{FieldErrors, Problem, identifier};
use credential_model::{Attributes, CredentialKind, CredentialRecord, Error, RecordKey};
use lambda_http::RequestExt;
use serde::{Deserialize, Serialize};
use strongroom_aws::config::ConfigError;
use strongroom_aws::{DynamoRepository, SecretsManagerVault};
use strongroom_connectors::DatabaseTester;
use strongroom_edge::{Call, Rejection, Route, route};

/// What the handlers need, built once per sandbox: the credential use cases and a tester.
pub use strongroom_connectors::{CONNECTION_TEST_TIMEOUT, TestingDeps as Deps};

/// The handlers' dependencies in Lambda.
pub type AwsDeps = Deps<DynamoRepository, SecretsManagerVault, DatabaseTester>;

/// Reads the configuration the template sets, builds the clients and connects to `backends`.
pub async fn deps_from_env(backends: &[Backend]) -> Result<AwsDeps, ConfigError> {
    Ok(Deps::new(strongroom_aws::store_from_env(backends).await?))
}

/// The family's routes: what each answers, with which scope, in which binary. Testing an
/// unsaved configuration touches no store.
#[rustfmt::skip]
pub const fn routes<R: Repository + 'static, V: Vault + 'static, T: Tester + 'static>() -> [Route<Deps<R, V, T>>; 7] {
    const CONNECTIONS: &str = "/api/v0/projects/{projectName}/connections";
    const ONE: &str = "/api/v0/projects/{projectName}/connections/{connectionName}";
    [
        route!("GET", CONNECTIONS, "credible-list-connections", Read, [Metadata], shape::error, list_connections::handle),
        route!("GET", ONE, "credible-get-connection", Read, [Metadata], shape::error, get_connection::handle),
        route!("POST", ONE, "credible-create-connection", Write, [Metadata, Secrets], shape::error, create_connection::handle),
        route!("PATCH", ONE, "credible-update-connection", Write, [Metadata, Secrets], shape::error, update_connection::handle),
        route!("DELETE", ONE, "credible-delete-connection", Write, [Metadata, Secrets], shape::error, delete_connection::handle),
        route!("POST", "/api/v0/connections/test", "credible-test-connection", Read, [], shape::error, test_connection::handle),
        route!("GET", "/api/v0/projects/{projectName}/connections/{connectionName}/test", "credible-test-stored-connection", Read, [Metadata, Secrets], shape::error, test_stored_connection::handle),
    ]
}

/// Credible's own fields of a connection: the project it belongs to and its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectConnection {
    pub project: String,
    pub name: String,
}

impl Attributes for ProjectConnection {
    const KIND: CredentialKind = CredentialKind::ProjectConnection;
}

/// The longest project or connection name: both go into the record's slot, and the slot into
/// a secret tag of at most 256 characters.
const MAX_NAME_LEN: usize = 100;

/// A project or connection name: Credible's `^[a-zA-Z0-9_-]+$`, at most [`MAX_NAME_LEN`]
/// characters.
pub(crate) fn resource_name(value: &str) -> Result<(), Problem> {
    identifier(value)?;
    if value.len() > MAX_NAME_LEN {
        return Err(Problem::TooLong { max: MAX_NAME_LEN });
    }
    Ok(())
}

const PROJECT: &str = "projectName";
const CONNECTION_NAME: &str = "connectionName";

/// The path parameters `names`, each checked as a resource name; every bad one is named.
fn path_names<const N: usize>(call: &Call, names: [&str; N]) -> Result<[String; N], FieldErrors> {
    let mut errors = FieldErrors::new();
    let params = call.request.path_parameters_ref();
    let values = names.map(|name| {
        let value = params.and_then(|p| p.first(name)).unwrap_or_default();
        if let Err(problem) = resource_name(value) {
            errors.push(name, problem);
        }
        value.to_owned()
    });
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// The project the path names.
fn project(call: &Call) -> Result<String, FieldErrors> {
    path_names(call, [PROJECT]).map(|[project]| project)
}

/// The project and connection the path names, and where the connection lives.
fn connection(call: &Call) -> Result<(ProjectConnection, RecordKey), FieldErrors> {
    let [project, name] = path_names(call, [PROJECT, CONNECTION_NAME])?;
    let key = RecordKey::named(
        call.caller.organization.clone(),
        ProjectConnection::KIND,
        &project,
        &name,
    );
    Ok((ProjectConnection { project, name }, key))
}

/// The stored connection the path names: not found when there is none.
async fn stored(
    deps: &Deps<impl Repository, impl Vault, impl Tester>,
    call: &Call,
) -> Result<CredentialRecord<ProjectConnection>, Rejection> {
    let (_, key) = connection(call)?;
    let record = deps.credentials.get::<ProjectConnection>(&key).await?;
    record.ok_or(Rejection::Domain(Error::NotFound))
}
