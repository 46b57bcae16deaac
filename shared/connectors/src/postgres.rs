//! PostgreSQL and Redshift (which speaks its protocol) connection tests.

use std::time::Duration;

use credential_model::ports::{FailureKind, Origin, TestFailure};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Config, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::failure::{driver_failed, failure, incomplete, server_said, within};
use crate::tls::TlsConfigs;

/// The stored secret document, in the AWS standard format, or a libpq connection string.
#[derive(Deserialize)]
struct PostgresSecret {
    host: Option<String>,
    port: Option<u16>,
    username: Option<String>,
    password: Option<SecretString>,
    dbname: Option<String>,
    sslmode: Option<String>,
    connection_string: Option<SecretString>,
}

/// How the connection is encrypted: libpq's `sslmode`, `verify-full` checking the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

impl Encryption {
    fn parse(mode: &str) -> Option<Self> {
        Some(match mode {
            "disable" => Encryption::Disable,
            "prefer" => Encryption::Prefer,
            "require" => Encryption::Require,
            "verify-full" => Encryption::VerifyFull,
            _ => return None,
        })
    }
}

/// `engine` names the server in messages; `default_port` is its usual one (Redshift: 5439).
pub(crate) async fn test(
    document: &SecretString,
    engine: &str,
    default_port: u16,
    timeout: Duration,
    tls: &TlsConfigs,
) -> Result<(), TestFailure> {
    let secret: PostgresSecret =
        serde_json::from_str(document.expose_secret()).map_err(|_| incomplete(engine))?;
    let (mut config, string_mode) = match (&secret.host, &secret.connection_string) {
        (Some(host), _) => {
            let mut config = Config::new();
            config.host(host).port(secret.port.unwrap_or(default_port));
            (config, None)
        }
        (None, Some(string)) => from_connection_string(string, engine)?,
        (None, None) => return Err(incomplete(engine)),
    };
    // The document's own fields complete what a connection string leaves out.
    if let Some(username) = &secret.username
        && config.get_user().is_none()
    {
        config.user(username);
    }
    if let Some(password) = &secret.password
        && config.get_password().is_none()
    {
        config.password(password.expose_secret());
    }
    if let Some(dbname) = &secret.dbname
        && config.get_dbname().is_none()
    {
        config.dbname(dbname);
    }
    if config.get_user().is_none() {
        return Err(incomplete(engine));
    }
    let encryption = match secret.sslmode.as_deref() {
        Some(mode) => Encryption::parse(mode).ok_or_else(|| {
            failure(
                FailureKind::InvalidSettings,
                Origin::Strongroom,
                "sslmode must be disable, prefer, require or verify-full",
            )
        })?,
        None => string_mode.unwrap_or(Encryption::Prefer),
    };
    config
        .application_name("strongroom-connection-test")
        .connect_timeout(timeout);
    let target = target(&config, default_port);
    let secrets = [secret.password.as_ref(), secret.connection_string.as_ref()];
    let attempt = async {
        let result = match encryption {
            Encryption::Disable => {
                config.ssl_mode(SslMode::Disable);
                query(&config, NoTls).await
            }
            Encryption::VerifyFull => {
                config.ssl_mode(SslMode::Require);
                query(&config, MakeRustlsConnect::new(tls.verify_full.clone())).await
            }
            Encryption::Prefer | Encryption::Require => {
                config.ssl_mode(if encryption == Encryption::Require {
                    SslMode::Require
                } else {
                    SslMode::Prefer
                });
                query(&config, MakeRustlsConnect::new(tls.encrypt_only.clone())).await
            }
        };
        result.map_err(|error| classify(&error, &target, &secrets))
    };
    within(timeout, &target, attempt).await
}

/// A libpq URI or key=value string, and the encryption it asks for. tokio-postgres knows
/// `sslmode` up to `require`: `verify-full` (and `verify-ca`, checked as strictly) are read here.
fn from_connection_string(
    string: &SecretString,
    engine: &str,
) -> Result<(Config, Option<Encryption>), TestFailure> {
    let text = string.expose_secret();
    let verify = ["sslmode=verify-full", "sslmode=verify-ca"]
        .iter()
        .any(|mode| text.contains(mode));
    let text = text
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require");
    // The parser's message can quote the string, password included: never pass it on.
    let config: Config = text.parse().map_err(|_| {
        failure(
            FailureKind::InvalidSettings,
            Origin::Strongroom,
            format!("the {engine} connection string is not a libpq URI or key=value string"),
        )
    })?;
    let hosts = config.get_hosts();
    if hosts.is_empty() || !hosts.iter().all(|host| matches!(host, Host::Tcp(_))) {
        return Err(failure(
            FailureKind::InvalidSettings,
            Origin::Strongroom,
            format!("the {engine} connection string must name a host reached over TCP"),
        ));
    }
    let mode = if verify {
        Encryption::VerifyFull
    } else {
        match config.get_ssl_mode() {
            SslMode::Disable => Encryption::Disable,
            SslMode::Require => Encryption::Require,
            _ => Encryption::Prefer,
        }
    };
    Ok((config, Some(mode)))
}

/// `host:port` of the first server the configuration names, for messages.
fn target(config: &Config, default_port: u16) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        _ => "the server".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(default_port);
    format!("{host}:{port}")
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
pub(crate) fn classify(
    error: &tokio_postgres::Error,
    target: &str,
    secrets: &[Option<&SecretString>],
) -> TestFailure {
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
        return failure(
            kind,
            Origin::Warehouse,
            format!(
                "{} (SQLSTATE {})",
                server_said(db.message(), secrets),
                code.code()
            ),
        );
    }
    driver_failed(error, target, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_string_that_does_not_parse_is_never_quoted() {
        let string = SecretString::from("postgres://app:canary-pw@db:notaport/x");
        let Err(refused) = from_connection_string(&string, "PostgreSQL") else {
            panic!("a bad port parses");
        };
        assert_eq!(refused.kind, FailureKind::InvalidSettings);
        assert!(!refused.detail.contains("canary-pw"), "{}", refused.detail);
        assert!(!format!("{refused:?}").contains("canary-pw"));
    }

    #[test]
    fn connection_strings_name_a_tcp_host_and_say_how_to_encrypt() {
        let read =
            |s: &str| from_connection_string(&SecretString::from(s.to_owned()), "PostgreSQL");
        let (config, mode) =
            read("postgresql://app:pw@db.internal:6432/analytics?sslmode=verify-full")
                .expect("parses");
        assert_eq!(target(&config, 5432), "db.internal:6432");
        assert_eq!(config.get_dbname(), Some("analytics"));
        assert_eq!(mode, Some(Encryption::VerifyFull));
        let (_, mode) = read("host=db user=app sslmode=disable").expect("parses");
        assert_eq!(mode, Some(Encryption::Disable));
        let refused = read("host=/var/run/postgresql user=app").expect_err("a socket");
        assert!(refused.detail.contains("TCP"), "{}", refused.detail);
    }
}
