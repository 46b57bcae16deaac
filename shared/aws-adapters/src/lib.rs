//! Adapters from the domain's storage ports to AWS: the DynamoDB credential repository, the
//! Secrets Manager vault, and the one SDK configuration every client in a sandbox is built from.

pub mod config;
pub mod dynamodb;
pub mod logging;
pub mod secretsmanager;

pub use config::{ConfigError, StoreSettings, sdk_config};
pub use dynamodb::DynamoRepository;
pub use secretsmanager::SecretsManagerVault;
