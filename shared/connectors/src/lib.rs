//! Database drivers behind the domain's [`ConnectionTester`] port: they open a connection with
//! a stored secret document, run a lightweight query and say precisely what failed and who
//! said so.

mod postgres;
mod tls;

use std::time::Duration;

use credential_model::Provider;
use credential_model::ports::{ConnectionTester, FailureKind, Origin, TestFailure, TestOutcome};
use secrecy::SecretString;

/// Tests connections to the providers Strongroom can reach from a Lambda today.
pub struct DatabaseTester {
    timeout: Duration,
    tls: tls::TlsConfigs,
}

impl DatabaseTester {
    /// A tester that gives up on a connection after `timeout` (connect plus query).
    pub fn new(timeout: Duration) -> Result<Self, rustls::Error> {
        Ok(DatabaseTester {
            timeout,
            tls: tls::TlsConfigs::new()?,
        })
    }
}

impl ConnectionTester for DatabaseTester {
    fn supports(&self, provider: Provider) -> bool {
        matches!(provider, Provider::Postgres)
    }

    async fn test(&self, provider: Provider, document: &SecretString) -> TestOutcome {
        match provider {
            Provider::Postgres => postgres::test(document, self.timeout, &self.tls).await,
            other => TestOutcome::Failed(TestFailure {
                kind: FailureKind::Unsupported,
                origin: Origin::Strongroom,
                detail: format!("connection tests for {other} are not available yet"),
            }),
        }
    }
}
