//! The Levered family: an organization's one active warehouse connection, faithful to
//! Levered's `/api/v2/warehouse/connections` reference.
//!
//! | route                                   | scope               | function binary             |
//! |-----------------------------------------|---------------------|-----------------------------|
//! | `POST /api/v2/warehouse/connections`      | `credentials:write` | `levered-create-connection` |
//! | `GET /api/v2/warehouse/connections`       | `credentials:read`  | `levered-get-connection`    |
//! | `POST /api/v2/warehouse/connections/test` | `credentials:read`  | `levered-test-connection`   |
//! | `DELETE /api/v2/warehouse/connections`    | `credentials:write` | `levered-delete-connection` |

pub mod create_connection;
pub mod delete_connection;
pub mod get_connection;
mod request;
mod shape;
pub mod test_connection;

use std::time::Duration;

use aws_config::SdkConfig;
use credential_model::{CredentialKind, OrgId, RecordKey};
use strongroom_aws::config::ConfigError;
use strongroom_aws::{Store, StoreSettings};
use strongroom_connectors::DatabaseTester;

/// How long a connection test may take, connect and query together.
pub const CONNECTION_TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What the Levered handlers need, built once per sandbox.
pub struct Deps {
    pub store: Store,
    pub tester: DatabaseTester,
}

impl Deps {
    pub fn new(sdk: &SdkConfig, store: &StoreSettings) -> Self {
        Deps {
            store: Store::new(sdk, store),
            tester: DatabaseTester::new(CONNECTION_TEST_TIMEOUT),
        }
    }

    /// Reads the configuration the template sets and builds the clients.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let store = StoreSettings::from_env()?;
        Ok(Deps::new(&strongroom_aws::sdk_config().await, &store))
    }
}

/// Where an organization's active connection lives.
fn active_connection(organization: OrgId) -> RecordKey {
    RecordKey::singleton(organization, CredentialKind::WarehouseConnection)
}
