//! PostgreSQL connection tests.

use std::error::Error as _;
use std::time::Duration;

use credential_model::ports::{FailureKind, Origin, TestFailure, TestOutcome};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Config, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::tls::TlsConfigs;

/// The stored secret document, in the AWS standard format for PostgreSQL.
#[derive(Deserialize)]
struct PostgresSecret {
    host: String,
    port: Option<u16>,
    username: String,
    password: SecretString,
    dbname: String,
    sslmode: Option<String>,
}

fn failure(kind: FailureKind, origin: Origin, detail: String) -> TestOutcome {
    TestOutcome::Failed(TestFailure {
        kind,
        origin,
        detail,
    })
}

pub(crate) async fn test(
    document: &SecretString,
    timeout: Duration,
    tls: &TlsConfigs,
) -> TestOutcome {
    // serde's own message could quote a value from the document: never pass it on.
    let Ok(secret) = serde_json::from_str::<PostgresSecret>(document.expose_secret()) else {
        return failure(
            FailureKind::InvalidSettings,
            Origin::Strongroom,
            "the stored credential is not a complete PostgreSQL connection".into(),
        );
    };
    let port = secret.port.unwrap_or(5432);
    let target = format!("{}:{port}", secret.host);
    let mut config = Config::new();
    config
        .host(&secret.host)
        .port(port)
        .user(&secret.username)
        .password(secret.password.expose_secret())
        .dbname(&secret.dbname)
        .application_name("strongroom-connection-test")
        .connect_timeout(timeout);
    let attempt = match secret.sslmode.as_deref().unwrap_or("prefer") {
        "disable" => {
            config.ssl_mode(SslMode::Disable);
            tokio::time::timeout(timeout, query(&config, NoTls)).await
        }
        "verify-full" => {
            config.ssl_mode(SslMode::Require);
            let connector = MakeRustlsConnect::new(tls.verify_full.clone());
            tokio::time::timeout(timeout, query(&config, connector)).await
        }
        mode => {
            config.ssl_mode(if mode == "require" {
                SslMode::Require
            } else {
                SslMode::Prefer
            });
            let connector = MakeRustlsConnect::new(tls.encrypt_only.clone());
            tokio::time::timeout(timeout, query(&config, connector)).await
        }
    };
    match attempt {
        Ok(Ok(())) => TestOutcome::Passed,
        Ok(Err(error)) => TestOutcome::Failed(classify(&error, &target)),
        Err(_) => failure(
            FailureKind::Timeout,
            Origin::Strongroom,
            format!("no answer from {target} within {} s", timeout.as_secs()),
        ),
    }
}

async fn query<T>(config: &Config, tls: T) -> Result<(), tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    let driver = tokio::spawn(connection);
    let result = client.simple_query("SELECT 1").await.map(drop);
    drop(client);
    driver.abort();
    result
}

/// Says what failed and who said so, from the error tokio-postgres returned.
fn classify(error: &tokio_postgres::Error, target: &str) -> TestFailure {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        let kind = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            FailureKind::Authentication
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            FailureKind::MissingDatabase
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            FailureKind::PermissionDenied
        } else {
            FailureKind::Other
        };
        return TestFailure {
            kind,
            origin: Origin::Warehouse,
            detail: format!("{} (SQLSTATE {})", db.message(), code.code()),
        };
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let (kind, what) = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    (FailureKind::Unreachable, "connection refused".to_owned())
                }
                std::io::ErrorKind::TimedOut => {
                    (FailureKind::Timeout, "connection timed out".to_owned())
                }
                _ => (FailureKind::Unreachable, io.to_string()),
            };
            return TestFailure {
                kind,
                origin: Origin::Strongroom,
                detail: format!("could not connect to {target}: {what}"),
            };
        }
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return TestFailure {
                kind: FailureKind::Tls,
                origin: Origin::Strongroom,
                detail: format!("TLS with {target} failed: {cause}"),
            };
        }
        source = cause.source();
    }
    TestFailure {
        kind: FailureKind::Other,
        origin: Origin::Strongroom,
        detail: format!("{target}: {error}"),
    }
}
