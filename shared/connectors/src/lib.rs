//! Connection testers behind the domain's [`ConnectionTester`] port, one module per engine:
//! each opens a connection (or signs a request) with a stored secret document, runs the
//! lightest thing its server answers, and says precisely what failed and who said so, never
//! with a secret in the message. Engines that cannot be reached from here check what can be
//! checked (key material) and then say so.
//!
//! [`DatabaseAccountsDriver`] is the database side of password rotation: it checks logins,
//! changes passwords and provisions alternate users on PostgreSQL and MySQL/MariaDB.
//! [`GeneratedLoginsDriver`] creates and drops the generated logins of the Nile family there,
//! over the same connections.

mod accounts;
mod bigquery;
mod clickhouse;
mod deps;
mod duckdb;
mod failure;
mod http;
mod keys;
mod mysql;
mod postgres;
mod s3;
mod snowflake;
mod tls;

pub use accounts::{DatabaseAccountsDriver, GeneratedLoginsDriver};
pub use deps::{CONNECTION_TEST_TIMEOUT, TestingDeps};

use std::sync::OnceLock;
use std::time::Duration;

use credential_model::Provider;
use credential_model::ports::{ConnectionTester, FailureKind, Origin, TestFailure, TestOutcome};
use secrecy::SecretString;

use crate::failure::{failure, not_available_here, outcome};
use crate::s3::Store;

/// Tests connections to every engine Strongroom stores credentials for.
pub struct DatabaseTester {
    timeout: Duration,
    /// Built on the first test, not at init: most functions that hold a tester never test.
    tls: OnceLock<Result<tls::TlsConfigs, rustls::Error>>,
}

impl DatabaseTester {
    /// A tester that gives up on a connection after `timeout` (connect plus query).
    pub fn new(timeout: Duration) -> Self {
        DatabaseTester {
            timeout,
            tls: OnceLock::new(),
        }
    }

    fn tls(&self) -> Result<&tls::TlsConfigs, TestFailure> {
        self.tls
            .get_or_init(tls::TlsConfigs::new)
            .as_ref()
            .map_err(|error| {
                failure(
                    FailureKind::Tls,
                    Origin::Strongroom,
                    format!("TLS could not be set up: {error}"),
                )
            })
    }

    /// Tests one engine's document; DuckDB's test comes here for each database it attaches.
    async fn test_engine(
        &self,
        provider: Provider,
        document: &SecretString,
    ) -> Result<(), TestFailure> {
        let timeout = self.timeout;
        match provider {
            Provider::Postgres => {
                postgres::test(document, "PostgreSQL", 5432, timeout, self.tls()?).await
            }
            Provider::Redshift => {
                postgres::test(document, "Redshift", 5439, timeout, self.tls()?).await
            }
            Provider::Mysql => mysql::test(document, "MySQL", timeout).await,
            Provider::Mariadb => mysql::test(document, "MariaDB", timeout).await,
            Provider::Clickhouse => clickhouse::test(document, timeout, self.tls()?).await,
            Provider::S3 => s3::test(Store::S3, document, timeout, self.tls()?).await,
            Provider::Gcs => s3::test(Store::Gcs, document, timeout, self.tls()?).await,
            Provider::Bigquery => bigquery::test(document),
            Provider::Snowflake => snowflake::test(document),
            // DuckDB's test comes here for what it attaches, never itself: see `test`.
            Provider::Duckdb => Err(failure(
                FailureKind::InvalidSettings,
                Origin::Strongroom,
                "DuckDB does not attach DuckDB",
            )),
            Provider::Trino => Err(not_available_here("Trino")),
            Provider::Databricks => Err(not_available_here("Databricks")),
            Provider::Motherduck => Err(not_available_here("MotherDuck")),
            Provider::Athena => Err(not_available_here("Athena")),
            Provider::Generic => Err(not_available_here("generic credentials")),
        }
    }
}

impl ConnectionTester for DatabaseTester {
    /// The engines with something to test here: a server reached, or key material checked.
    fn supports(&self, provider: Provider) -> bool {
        !matches!(
            provider,
            Provider::Trino
                | Provider::Databricks
                | Provider::Motherduck
                | Provider::Athena
                | Provider::Generic
        )
    }

    async fn test(&self, provider: Provider, document: &SecretString) -> TestOutcome {
        outcome(match provider {
            Provider::Duckdb => duckdb::test(self, document).await,
            other => self.test_engine(other, document).await,
        })
    }
}
