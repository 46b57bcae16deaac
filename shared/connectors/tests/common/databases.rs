//! The servers the database-side tests act on: the password-checking PostgreSQL that `make
//! test` starts and this machine's MariaDB, reached as their administrators or as a login a
//! test made.

use credential_model::ports::{FailureKind, TestFailure};
use credential_model::rotation::{DatabaseLogin, Engine, TlsMode};
use mysql_async::prelude::Queryable;
use secrecy::{ExposeSecret, SecretString};
use strongroom_local_stack::testing::{ScramPostgres, ServerLogin};

pub fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

/// Asserts `result` failed as `kind`, and that neither its detail nor its Debug output holds
/// any of `secrets`.
pub fn assert_fails<T: std::fmt::Debug>(
    result: Result<T, TestFailure>,
    kind: FailureKind,
    secrets: &[&str],
) -> TestFailure {
    let failure = result.expect_err("a failure");
    for secret in secrets {
        assert!(
            !format!("{failure:?}").contains(secret),
            "a secret in {failure:?}"
        );
    }
    assert_eq!(failure.kind, kind, "{failure}");
    failure
}

// PostgreSQL

pub fn pg_login(server: &ScramPostgres, user: &str, password: &SecretString) -> DatabaseLogin {
    DatabaseLogin {
        engine: Engine::Postgres,
        host: server.host.clone(),
        port: server.port,
        username: user.to_owned(),
        password: password.clone(),
        dbname: None,
        tls: TlsMode::Disable,
        masterarn: None,
    }
}

pub fn pg_admin(server: &ScramPostgres) -> DatabaseLogin {
    pg_login(server, &server.superuser, &server.password)
}

/// A session as `user` on the `postgres` database, or the server's refusal.
pub async fn pg_connect(
    server: &ScramPostgres,
    user: &str,
    password: &SecretString,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::Config::new()
        .host(&server.host)
        .port(server.port)
        .user(user)
        .password(password.expose_secret())
        .dbname("postgres")
        .connect(tokio_postgres::NoTls)
        .await?;
    tokio::spawn(connection);
    Ok(client)
}

pub async fn pg_client(
    server: &ScramPostgres,
    user: &str,
    password: &SecretString,
) -> tokio_postgres::Client {
    pg_connect(server, user, password)
        .await
        .unwrap_or_else(|error| panic!("{user} connects: {error}"))
}

/// Runs `statements` as the superuser.
pub async fn pg_exec(server: &ScramPostgres, statements: &str) {
    pg_client(server, &server.superuser, &server.password)
        .await
        .batch_execute(statements)
        .await
        .unwrap_or_else(|error| panic!("{statements}: {error}"));
}

pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The password-checking PostgreSQL's statement log (every statement), where no password may
/// appear: required like the server itself.
pub fn pg_statement_log() -> Option<String> {
    let path = std::env::var("STRONGROOM_TEST_PG_LOG")
        .ok()
        .filter(|p| !p.is_empty());
    strongroom_local_stack::testing::require(
        "PostgreSQL's statement log (STRONGROOM_TEST_PG_LOG, from scripts/lib.sh)",
        path,
    )
}

/// A role that may log in with `password` and nothing else.
pub async fn pg_role(server: &ScramPostgres, name: &str, password: &str) {
    pg_exec(
        server,
        &format!("CREATE ROLE {} LOGIN PASSWORD '{password}'", ident(name)),
    )
    .await;
}

// MariaDB

pub fn maria_login(server: &ServerLogin, user: &str, password: &SecretString) -> DatabaseLogin {
    DatabaseLogin {
        engine: Engine::Mariadb,
        host: server.host.clone(),
        port: server.port,
        username: user.to_owned(),
        password: password.clone(),
        dbname: None,
        tls: TlsMode::Disable,
        masterarn: None,
    }
}

/// A session as `user`, or the server's refusal.
pub async fn maria_connect(
    server: &ServerLogin,
    user: &str,
    password: &SecretString,
) -> Result<mysql_async::Conn, mysql_async::Error> {
    let password = password.expose_secret();
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname(server.host.clone())
        .tcp_port(server.port)
        .user(Some(user.to_owned()))
        .pass((!password.is_empty()).then(|| password.to_owned()))
        .prefer_socket(false);
    mysql_async::Conn::new(options).await
}

pub async fn maria_conn(
    server: &ServerLogin,
    user: &str,
    password: &SecretString,
) -> mysql_async::Conn {
    maria_connect(server, user, password)
        .await
        .unwrap_or_else(|error| panic!("{user} connects to MariaDB: {error}"))
}

/// Runs `statements` as the server's administrator.
pub async fn maria_exec(server: &ServerLogin, statements: &[String]) {
    let mut admin = maria_conn(server, &server.user, &server.password).await;
    for statement in statements {
        admin
            .query_drop(statement)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    let _ = admin.disconnect().await;
}
