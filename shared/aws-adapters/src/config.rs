//! Configuration read once per sandbox: the SDK configuration (with timeouts and retries) and
//! the names of the project's resources, from the environment the template sets.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::http::{AwsHttpClient, CONNECT_TIMEOUT};

/// The SDK configuration from the environment, on a client of its own: see
/// [`sdk_config_with`].
pub fn sdk_config() -> Result<SdkConfig, ConfigError> {
    sdk_config_with(AwsHttpClient::new())
}

/// The SDK configuration every client of a sandbox is built from, on `http`.
///
/// It is read from the variables Lambda sets, and only those — the region (`AWS_REGION`),
/// the execution role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) — plus `AWS_ENDPOINT_URL` (which points the local stack and the tests
/// at moto), `AWS_USE_FIPS_ENDPOINT` and `AWS_USE_DUALSTACK_ENDPOINT`. No profile file, no
/// instance metadata, no STS or SSO: a sandbox has its credentials in its environment, and
/// the SDK's default chain costs milliseconds of init to find them there.
///
/// Timeouts are tight because every call sits inside an API request: an attempt that has not
/// answered in 3 s is retried, and no operation takes more than 8 s in all.
pub fn sdk_config_with(http: AwsHttpClient) -> Result<SdkConfig, ConfigError> {
    let region = required_env("AWS_REGION")
        .or_else(|_| required_env("AWS_DEFAULT_REGION"))
        .map_err(|_| ConfigError::Missing("AWS_REGION"))?;
    let credentials = Credentials::new(
        required_env("AWS_ACCESS_KEY_ID")?,
        required_env("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN")
            .ok()
            .filter(|token| !token.is_empty()),
        None,
        "environment",
    );
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .sleep_impl(TokioSleep::new())
        .time_source(SystemTimeSource::new())
        .use_fips(flag("AWS_USE_FIPS_ENDPOINT")?)
        .use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT")?)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    builder.set_endpoint_url(required_env("AWS_ENDPOINT_URL").ok());
    Ok(builder.build())
}

/// A `true`/`false` variable, false when unset.
fn flag(name: &'static str) -> Result<bool, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(false),
        Ok(value) if value.eq_ignore_ascii_case("true") => Ok(true),
        Ok(value) if value.eq_ignore_ascii_case("false") || value.is_empty() => Ok(false),
        Ok(_) => Err(ConfigError::Invalid {
            name,
            reason: "must be true or false",
        }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        reason: &'static str,
    },
}

/// Reads a required environment variable.
pub fn required_env(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name)),
    }
}

pub const TABLE_ENV: &str = "STRONGROOM_TABLE";
pub const KMS_KEY_ENV: &str = "STRONGROOM_KMS_KEY_ID";
pub const RECOVERY_WINDOW_ENV: &str = "STRONGROOM_SECRET_RECOVERY_DAYS";
pub const SECRET_PREFIX_ENV: &str = "STRONGROOM_SECRET_PREFIX";

fn valid_prefix(prefix: &str) -> bool {
    (1..=64).contains(&prefix.len())
        && !prefix.ends_with('/')
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
}

/// How long audit events are kept unless the deployment says otherwise.
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);
/// The environment variable of how many days audit events are kept.
pub const AUDIT_RETENTION_ENV: &str = "STRONGROOM_AUDIT_RETENTION_DAYS";

/// Where credentials are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// The DynamoDB table of credential metadata.
    pub table: String,
    /// The KMS key that encrypts every secret.
    pub kms_key_id: String,
    /// How long a deleted or replaced secret stays recoverable (7–30 days).
    pub recovery_window_days: i64,
    /// What every secret's name starts with (`strongroom` gives `strongroom/{org}/…`); the
    /// functions' IAM policies are scoped to it.
    pub secret_prefix: String,
    /// How long audit events are kept: the table's TTL deletes them after.
    pub audit_retention: Duration,
}

impl StoreSettings {
    pub const DEFAULT_RECOVERY_WINDOW_DAYS: i64 = 7;
    pub const DEFAULT_SECRET_PREFIX: &str = "strongroom";

    /// A table, key and secret prefix with the default recovery window: a local stack's.
    pub fn new(
        table: impl Into<String>,
        kms_key_id: impl Into<String>,
        secret_prefix: impl Into<String>,
    ) -> Self {
        StoreSettings {
            table: table.into(),
            kms_key_id: kms_key_id.into(),
            recovery_window_days: Self::DEFAULT_RECOVERY_WINDOW_DAYS,
            secret_prefix: secret_prefix.into(),
            audit_retention: DEFAULT_AUDIT_RETENTION,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let recovery_window_days = match std::env::var(RECOVERY_WINDOW_ENV) {
            Err(_) => Self::DEFAULT_RECOVERY_WINDOW_DAYS,
            Ok(text) => match text.trim().parse::<i64>() {
                Ok(days) if (7..=30).contains(&days) => days,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: RECOVERY_WINDOW_ENV,
                        reason: "must be a whole number of days from 7 to 30",
                    });
                }
            },
        };
        let audit_retention = match std::env::var(AUDIT_RETENTION_ENV) {
            Err(_) => DEFAULT_AUDIT_RETENTION,
            Ok(days) => match days.trim().parse::<u64>() {
                Ok(days @ 1..=3650) => Duration::from_secs(days * 24 * 3600),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: AUDIT_RETENTION_ENV,
                        reason: "must be a whole number of days from 1 to 3650",
                    });
                }
            },
        };
        Ok(StoreSettings {
            audit_retention,
            table: required_env(TABLE_ENV)?,
            kms_key_id: required_env(KMS_KEY_ENV)?,
            recovery_window_days,
            secret_prefix: match std::env::var(SECRET_PREFIX_ENV) {
                Err(_) => Self::DEFAULT_SECRET_PREFIX.to_owned(),
                Ok(prefix) if valid_prefix(&prefix) => prefix,
                Ok(_) => {
                    return Err(ConfigError::Invalid {
                        name: SECRET_PREFIX_ENV,
                        reason: "must be 1-64 characters of letters, digits and /_+=.@-, not ending in /",
                    });
                }
            },
        })
    }
}
