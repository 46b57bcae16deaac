//! The Levered family: an organization's one active warehouse connection, faithful to
//! Levered's `/api/v2/warehouse/connections` reference. [`routes`] is its route table.

pub mod create_connection;
pub mod delete_connection;
pub mod get_connection;
mod request;
mod shape;
pub mod test_connection;

use credential_model::ports::{
    Backend, ConnectionTester as Tester, CredentialRepository as Repository, SecretVault as Vault,
};
use credential_model::{Attributes, CredentialKind, OrgId, RecordKey};
use serde::{Deserialize, Serialize};
use strongroom_aws::config::ConfigError;
use strongroom_aws::{DynamoRepository, SecretsManagerVault};
use strongroom_connectors::DatabaseTester;
use strongroom_edge::{Route, route};

/// What the handlers need, built once per sandbox: the credential use cases and a tester.
pub use strongroom_connectors::{CONNECTION_TEST_TIMEOUT, TestingDeps as Deps};

/// The handlers' dependencies in Lambda.
pub type AwsDeps = Deps<DynamoRepository, SecretsManagerVault, DatabaseTester>;

/// Reads the configuration the template sets, builds the clients and connects to `backends`.
pub async fn deps_from_env(backends: &[Backend]) -> Result<AwsDeps, ConfigError> {
    Ok(Deps::new(strongroom_aws::store_from_env(backends).await?))
}

/// The family's routes: what each answers, with which scope, in which binary.
#[rustfmt::skip]
pub const fn routes<R: Repository + 'static, V: Vault + 'static, T: Tester + 'static>() -> [Route<Deps<R, V, T>>; 4] {
    const CONNECTIONS: &str = "/api/v2/warehouse/connections";
    [
        route!("POST", CONNECTIONS, "levered-create-connection", Write, [Metadata, Secrets], shape::error, create_connection::handle),
        route!("GET", CONNECTIONS, "levered-get-connection", Read, [Metadata], shape::error, get_connection::handle),
        route!("POST", "/api/v2/warehouse/connections/test", "levered-test-connection", Read, [Metadata, Secrets], shape::test_error, test_connection::handle),
        route!("DELETE", CONNECTIONS, "levered-delete-connection", Write, [Metadata, Secrets], shape::error, delete_connection::handle),
    ]
}

/// Levered's own fields of a connection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Connection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
}

impl Attributes for Connection {
    const KIND: CredentialKind = CredentialKind::WarehouseConnection;
}

/// Where an organization's active connection lives.
fn active_connection(organization: OrgId) -> RecordKey {
    RecordKey::singleton(organization, Connection::KIND)
}
