//! MySQL and MariaDB connection tests: log in over TCP and run `SELECT 1`.

use std::time::Duration;

use credential_model::ports::{FailureKind, Origin, TestFailure};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, OptsBuilder, SslOpts};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::failure::{driver_failed, failure, incomplete, server_said, within};

/// The stored secret document, in the AWS standard format for MySQL.
#[derive(Deserialize)]
struct MysqlSecret {
    host: String,
    port: Option<u16>,
    username: String,
    password: Option<SecretString>,
    dbname: Option<String>,
    sslmode: Option<String>,
}

pub(crate) async fn test(
    document: &SecretString,
    engine: &str,
    timeout: Duration,
) -> Result<(), TestFailure> {
    let secret: MysqlSecret =
        serde_json::from_str(document.expose_secret()).map_err(|_| incomplete(engine))?;
    let port = secret.port.unwrap_or(3306);
    let target = format!("{}:{port}", secret.host);
    let options = OptsBuilder::default()
        .ip_or_hostname(secret.host.clone())
        .tcp_port(port)
        .user(Some(secret.username.clone()))
        .pass(
            secret
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned()),
        )
        .db_name(secret.dbname.clone())
        .prefer_socket(false)
        .conn_ttl(None::<Duration>);
    // libpq's sslmode meanings: `prefer` falls back to plain when the server offers no TLS.
    let encrypt_only = SslOpts::default().with_danger_accept_invalid_certs(true);
    let (first, fallback) = match secret.sslmode.as_deref().unwrap_or("prefer") {
        "disable" => (None, false),
        "prefer" => (Some(encrypt_only), true),
        "require" => (Some(encrypt_only), false),
        "verify-full" => (Some(SslOpts::default()), false),
        _ => {
            return Err(failure(
                FailureKind::InvalidSettings,
                Origin::Strongroom,
                "sslmode must be disable, prefer, require or verify-full",
            ));
        }
    };
    let secrets = [secret.password.as_ref()];
    let attempt = async {
        let result = match query(options.clone().ssl_opts(first)).await {
            Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)) if fallback => {
                query(options.ssl_opts(None::<SslOpts>)).await
            }
            other => other,
        };
        result.map_err(|error| classify(&error, &target, &secrets))
    };
    within(timeout, &target, attempt).await
}

async fn query(options: OptsBuilder) -> Result<(), mysql_async::Error> {
    let mut connection = Conn::new(options).await?;
    let result = connection.query_drop("SELECT 1").await;
    // Closing politely is a courtesy: the test's answer is the query's.
    let _ = connection.disconnect().await;
    result
}

/// Says what failed and who said so, from the error mysql_async returned.
pub(crate) fn classify(
    error: &mysql_async::Error,
    target: &str,
    secrets: &[Option<&SecretString>],
) -> TestFailure {
    match error {
        mysql_async::Error::Server(server) => {
            let kind = match server.code {
                // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
                1045 | 1698 => FailureKind::Authentication,
                // ER_BAD_DB_ERROR
                1049 => FailureKind::MissingDatabase,
                // ER_DBACCESS_DENIED_ERROR, ER_HOST_NOT_PRIVILEGED, ER_SPECIFIC_ACCESS_DENIED_ERROR;
                // ER_TABLEACCESS_DENIED_ERROR and ER_CANT_CREATE_USER_WITH_GRANT (rotation's statements);
                // ER_KILL_DENIED_ERROR (ending a generated login's sessions)
                1044 | 1130 | 1227 | 1142 | 1410 | 1095 => FailureKind::PermissionDenied,
                _ => FailureKind::Other,
            };
            failure(
                kind,
                Origin::Warehouse,
                format!(
                    "{} (error {})",
                    server_said(&server.message, secrets),
                    server.code
                ),
            )
        }
        other => driver_failed(other, target, secrets),
    }
}
