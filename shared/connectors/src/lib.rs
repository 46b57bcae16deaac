//! Database drivers behind the domain's [`ConnectionTester`] port: they open a connection with
//! a stored secret document, run a lightweight query and say precisely what failed and who
//! said so.

mod deps;
mod postgres;
mod tls;

pub use deps::{CONNECTION_TEST_TIMEOUT, TestingDeps};

use std::sync::OnceLock;
use std::time::Duration;

use credential_model::Provider;
use credential_model::ports::{ConnectionTester, FailureKind, Origin, TestFailure, TestOutcome};
use secrecy::SecretString;

/// Tests connections to the providers Strongroom can reach from a Lambda today.
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
}

impl ConnectionTester for DatabaseTester {
    fn supports(&self, provider: Provider) -> bool {
        matches!(provider, Provider::Postgres)
    }

    async fn test(&self, provider: Provider, document: &SecretString) -> TestOutcome {
        match provider {
            Provider::Postgres => match self.tls.get_or_init(tls::TlsConfigs::new) {
                Ok(tls) => postgres::test(document, self.timeout, tls).await,
                Err(error) => TestOutcome::Failed(TestFailure {
                    kind: FailureKind::Tls,
                    origin: Origin::Strongroom,
                    detail: format!("TLS could not be set up: {error}"),
                }),
            },
            other => TestOutcome::Failed(TestFailure {
                kind: FailureKind::Unsupported,
                origin: Origin::Strongroom,
                detail: format!("connection tests for {other} are not available yet"),
            }),
        }
    }
}
