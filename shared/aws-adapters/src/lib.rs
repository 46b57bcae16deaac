//! Adapters from the domain's storage ports to AWS: the DynamoDB credential repository, the
//! Secrets Manager vault, and the one SDK configuration every client in a sandbox is built from.

pub mod config;
pub mod dynamodb;
pub mod logging;
pub mod secretsmanager;

pub use config::{ConfigError, StoreSettings, sdk_config};
pub use dynamodb::DynamoRepository;
pub use secretsmanager::SecretsManagerVault;

use aws_config::SdkConfig;
use credential_model::CredentialService;

/// The credential use cases over DynamoDB and Secrets Manager.
pub type AwsCredentialService = CredentialService<DynamoRepository, SecretsManagerVault>;

/// What a handler that stores credentials needs, built once per sandbox.
pub struct Store {
    pub credentials: AwsCredentialService,
}

impl Store {
    pub fn new(sdk: &SdkConfig, settings: &StoreSettings) -> Self {
        Store {
            credentials: CredentialService::new(
                DynamoRepository::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table),
                SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(sdk), settings),
            ),
        }
    }

    /// Reads the configuration the template sets and builds the clients.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = StoreSettings::from_env()?;
        Ok(Store::new(&sdk_config().await, &settings))
    }
}
