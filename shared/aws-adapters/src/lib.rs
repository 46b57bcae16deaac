//! Adapters from the domain's storage ports to AWS: the DynamoDB credential repository, the
//! Secrets Manager vault and rotation control, the one SDK configuration every client in a
//! sandbox is built from, and the HTTP client they share.

pub mod audit;
pub mod aws_error;
pub mod config;
pub mod dynamodb;
pub mod http;
pub mod init;
pub mod ledger;
pub mod logging;
pub mod rotation;
pub mod secretsmanager;
pub mod tokens;

pub use audit::DynamoAuditLog;
pub use aws_types::SdkConfig;
pub use config::{ConfigError, StoreSettings, sdk_config, sdk_config_with};
pub use dynamodb::DynamoRepository;
pub use http::AwsHttpClient;
pub use ledger::DynamoLedger;
pub use rotation::SecretsManagerRotation;
pub use secretsmanager::SecretsManagerVault;
pub use tokens::{DynamoTokenStore, KmsTokenMac};

use std::time::Duration;

use credential_model::CredentialService;
use credential_model::ports::Backend;

/// The credential use cases over DynamoDB and Secrets Manager: what a handler that stores
/// credentials needs, built once per sandbox.
pub type Store = CredentialService<DynamoRepository, SecretsManagerVault>;

/// The store on the clients of `sdk`.
pub fn store(sdk: &SdkConfig, settings: &StoreSettings) -> Store {
    CredentialService::new(
        DynamoRepository::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table)
            .with_audit_retention(settings.audit_retention),
        SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(sdk), settings),
    )
}

/// Reads the configuration the template sets, builds the store's clients and opens a
/// connection to the endpoint of each of `backends` (those a route's first request needs).
pub async fn store_from_env(backends: &[Backend]) -> Result<Store, ConfigError> {
    let settings = StoreSettings::from_env()?;
    init::phase("configuration");
    let (http, sdk) = sdk_from_env()?;
    let store = store(&sdk, &settings);
    init::phase("clients");
    preopen(&http, &sdk, backends).await;
    init::phase("connections");
    Ok(store)
}

/// A sandbox's HTTP client and the SDK configuration on it, from the environment: the init
/// phases `tls` and `aws-config`.
pub fn sdk_from_env() -> Result<(AwsHttpClient, SdkConfig), ConfigError> {
    let http = AwsHttpClient::new();
    init::phase("tls");
    let sdk = sdk_config_with(http.clone())?;
    init::phase("aws-config");
    Ok((http, sdk))
}

/// How long init waits for the connections it opens. In AWS a TLS handshake takes some
/// milliseconds; one slower than this goes on in the background, and the first request
/// waits for it rather than opening another.
pub const PREOPEN_WAIT: Duration = Duration::from_millis(500);

/// Opens a connection to the endpoint of each of `backends` (one per endpoint: where
/// `AWS_ENDPOINT_URL` sends every service to one, the requests take turns on one connection),
/// and waits for them, at most [`PREOPEN_WAIT`].
pub async fn preopen(http: &AwsHttpClient, sdk: &SdkConfig, backends: &[Backend]) {
    let mut endpoints = Vec::new();
    for backend in backends {
        match endpoint(sdk, *backend).await {
            Some(endpoint) if !endpoints.contains(&endpoint) => endpoints.push(endpoint),
            Some(_) => {}
            None => tracing::warn!(?backend, "no endpoint resolves for this configuration"),
        }
    }
    for endpoint in &endpoints {
        http.preopen(endpoint);
    }
    http.preopened(PREOPEN_WAIT).await;
}

/// The endpoint `sdk`'s clients call for `backend`, as the SDK's own rules resolve it
/// (region, FIPS, dual-stack, `AWS_ENDPOINT_URL`).
pub async fn endpoint(sdk: &SdkConfig, backend: Backend) -> Option<String> {
    macro_rules! resolve {
        ($service:ident) => {{
            use $service::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            let params = Params::builder()
                .set_region(sdk.region().map(ToString::to_string))
                .set_use_fips(sdk.use_fips())
                .set_use_dual_stack(sdk.use_dual_stack())
                .set_endpoint(sdk.endpoint_url().map(str::to_owned))
                .build()
                .ok()?;
            let endpoint = DefaultResolver::new()
                .resolve_endpoint(&params)
                .await
                .ok()?;
            Some(endpoint.url().to_owned())
        }};
    }
    match backend {
        Backend::Metadata => resolve!(aws_sdk_dynamodb),
        Backend::Secrets => resolve!(aws_sdk_secretsmanager),
    }
}
