//! Adapters from the domain's storage ports to AWS: the DynamoDB credential repository, the
//! Secrets Manager vault, and the one SDK configuration every client in a sandbox is built from.

mod aws_error;
pub mod config;
pub mod dynamodb;
pub mod logging;
pub mod secretsmanager;

pub use config::{ConfigError, StoreSettings, sdk_config};
pub use dynamodb::DynamoRepository;
pub use secretsmanager::SecretsManagerVault;

use aws_config::SdkConfig;
use credential_model::CredentialService;

/// The credential use cases over DynamoDB and Secrets Manager: what a handler that stores
/// credentials needs, built once per sandbox.
pub type Store = CredentialService<DynamoRepository, SecretsManagerVault>;

/// The store on the clients of `sdk`.
pub fn store(sdk: &SdkConfig, settings: &StoreSettings) -> Store {
    CredentialService::new(
        DynamoRepository::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table),
        SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(sdk), settings),
    )
}

/// Reads the configuration the template sets and builds the store's clients.
pub async fn store_from_env() -> Result<Store, ConfigError> {
    let settings = StoreSettings::from_env()?;
    Ok(store(&sdk_config().await, &settings))
}
