//! The providers Strongroom holds credentials for, and which of each provider's fields are
//! secret material (Secrets Manager only) and which are non-secret settings (DynamoDB too).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A system a credential connects to. Families name these in their own words (Lightdash's
/// `duckdb`, Credible's `mysql`…); every family maps onto this one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Postgres,
    Redshift,
    Mysql,
    Mariadb,
    Snowflake,
    Bigquery,
    Trino,
    Clickhouse,
    Databricks,
    Athena,
    Duckdb,
    Motherduck,
    /// Anything that is not a warehouse: API keys, OAuth tokens, connection strings.
    Generic,
}

/// Whether a field is secret material or a non-secret setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    Setting,
    Secret,
}

/// One field a provider's credential may carry, under its canonical name. Canonical names of
/// SQL databases are those of the AWS standard secret format (`host`, `port`, `username`,
/// `password`, `dbname`), so the secret is usable by AWS-native consumers as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub sensitivity: Sensitivity,
    /// The value is JSON text (a key file, a raw credential object), embedded as JSON in the
    /// stored secret rather than as a string.
    pub json: bool,
}

const fn setting(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        sensitivity: Sensitivity::Setting,
        json: false,
    }
}

const fn secret(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        sensitivity: Sensitivity::Secret,
        json: false,
    }
}

const fn json_secret(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        sensitivity: Sensitivity::Secret,
        json: true,
    }
}

const SQL_DATABASE: &[FieldSpec] = &[
    setting("host"),
    setting("port"),
    setting("dbname"),
    setting("username"),
    setting("schema"),
    setting("sslmode"),
    secret("password"),
];

const SNOWFLAKE: &[FieldSpec] = &[
    setting("account"),
    setting("username"),
    setting("warehouse"),
    setting("database"),
    setting("schema"),
    setting("role"),
    setting("authentication_type"),
    secret("password"),
    secret("private_key"),
    secret("private_key_passphrase"),
    secret("refresh_token"),
];

const BIGQUERY: &[FieldSpec] = &[
    setting("project_id"),
    setting("dataset"),
    setting("location"),
    setting("client_email"),
    setting("authentication_type"),
    // The whole service-account key file.
    json_secret("keyfile"),
];

const TRINO: &[FieldSpec] = &[
    setting("host"),
    setting("port"),
    setting("catalog"),
    setting("schema"),
    setting("username"),
    secret("password"),
];

const CLICKHOUSE: &[FieldSpec] = &[
    setting("host"),
    setting("port"),
    setting("dbname"),
    setting("username"),
    secret("password"),
];

const DATABRICKS: &[FieldSpec] = &[
    setting("server_host_name"),
    setting("http_path"),
    setting("database"),
    setting("oauth_client_id"),
    setting("authentication_type"),
    secret("personal_access_token"),
    secret("refresh_token"),
    secret("oauth_client_secret"),
];

const ATHENA: &[FieldSpec] = &[
    setting("region"),
    setting("database"),
    setting("work_group"),
    setting("s3_staging_dir"),
    // Not a secret by AWS's definition, but it identifies an account's key: kept with it.
    secret("access_key_id"),
    secret("secret_access_key"),
];

const DUCKDB: &[FieldSpec] = &[setting("database"), secret("token")];

const GENERIC: &[FieldSpec] = &[
    // The raw credential object a client sent.
    json_secret("credentials"),
];

impl Provider {
    pub const ALL: [Provider; 13] = [
        Provider::Postgres,
        Provider::Redshift,
        Provider::Mysql,
        Provider::Mariadb,
        Provider::Snowflake,
        Provider::Bigquery,
        Provider::Trino,
        Provider::Clickhouse,
        Provider::Databricks,
        Provider::Athena,
        Provider::Duckdb,
        Provider::Motherduck,
        Provider::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Postgres => "postgres",
            Provider::Redshift => "redshift",
            Provider::Mysql => "mysql",
            Provider::Mariadb => "mariadb",
            Provider::Snowflake => "snowflake",
            Provider::Bigquery => "bigquery",
            Provider::Trino => "trino",
            Provider::Clickhouse => "clickhouse",
            Provider::Databricks => "databricks",
            Provider::Athena => "athena",
            Provider::Duckdb => "duckdb",
            Provider::Motherduck => "motherduck",
            Provider::Generic => "generic",
        }
    }

    pub fn parse(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The fields this provider's credential may carry.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Provider::Postgres | Provider::Redshift | Provider::Mysql | Provider::Mariadb => {
                SQL_DATABASE
            }
            Provider::Snowflake => SNOWFLAKE,
            Provider::Bigquery => BIGQUERY,
            Provider::Trino => TRINO,
            Provider::Clickhouse => CLICKHOUSE,
            Provider::Databricks => DATABRICKS,
            Provider::Athena => ATHENA,
            Provider::Duckdb | Provider::Motherduck => DUCKDB,
            Provider::Generic => GENERIC,
        }
    }

    pub fn field(self, name: &str) -> Option<FieldSpec> {
        self.fields().iter().copied().find(|f| f.name == name)
    }

    /// The port a client assumes when none is given.
    pub fn default_port(self) -> Option<u16> {
        match self {
            Provider::Postgres => Some(5432),
            Provider::Redshift => Some(5439),
            Provider::Mysql | Provider::Mariadb => Some(3306),
            Provider::Trino => Some(443),
            Provider::Clickhouse => Some(8443),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for provider in Provider::ALL {
            assert_eq!(Provider::parse(provider.as_str()), Some(provider));
        }
        assert_eq!(Provider::parse("oracle"), None);
    }

    #[test]
    fn every_provider_has_secret_material() {
        for provider in Provider::ALL {
            assert!(
                provider
                    .fields()
                    .iter()
                    .any(|f| f.sensitivity == Sensitivity::Secret),
                "{provider} has no secret field"
            );
        }
    }

    #[test]
    fn sql_databases_use_the_aws_standard_names() {
        for provider in [Provider::Postgres, Provider::Mysql, Provider::Redshift] {
            for name in ["host", "port", "username", "dbname"] {
                assert_eq!(
                    provider.field(name).map(|f| f.sensitivity),
                    Some(Sensitivity::Setting)
                );
            }
            assert_eq!(
                provider.field("password").map(|f| f.sensitivity),
                Some(Sensitivity::Secret)
            );
        }
    }
}
