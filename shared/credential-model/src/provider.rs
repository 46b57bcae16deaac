//! The providers Strongroom holds credentials for. Which of a connection's fields are secret
//! is decided by its type, in [`crate::connection`].

use serde::{Deserialize, Serialize};

/// A system a credential connects to. Families name these in their own words (Lightdash's
/// `duckdb`, Credible's `mysql`…); every family maps onto this one list.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
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
    /// Amazon S3 or a store speaking its API (MinIO…), reached with an access key: a
    /// database DuckDB attaches.
    S3,
    /// Google Cloud Storage with an HMAC key, through its S3-compatible XML API.
    Gcs,
    /// Anything that is not a warehouse: API keys, OAuth tokens, connection strings.
    Generic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(name: &str) -> Option<Provider> {
        name.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for provider in Provider::VARIANTS {
            assert_eq!(Provider::parse(provider.as_str()), Some(*provider));
            let json = serde_json::to_string(provider).expect("serializes");
            assert_eq!(json, format!("\"{provider}\""));
        }
        assert_eq!(Provider::parse("oracle"), None);
        assert_eq!(Provider::parse("Postgres"), None);
    }
}
