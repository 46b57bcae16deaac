//! PostgreSQL and Redshift: passwords set as verifiers computed here (SCRAM-SHA-256; MD5 for
//! Redshift, which takes no SCRAM verifier), so the plaintext never reaches the server.

use std::error::Error as _;
use std::future::poll_fn;
use std::time::Duration;

use credential_model::ports::{FailureKind, Origin, TestFailure};
use credential_model::rotation::{DatabaseLogin, Engine, TlsMode};
use postgres_protocol::password;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::DbError;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, SimpleQueryMessage, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Pair, Trust, during, no_tls, target};
use crate::failure::{failure, within};

pub(super) async fn check_login(
    login: &DatabaseLogin,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let target = target(login);
    let secrets = [Some(&login.password)];
    within(timeout, &target, async {
        let client = connect(login, timeout, trust).await?;
        run(&client, "SELECT 1", &target, &secrets).await.map(drop)
    })
    .await
}

/// `ALTER ROLE <self> PASSWORD '<verifier>'`, as the user itself: one statement.
pub(super) async fn change_own_password(
    login: &DatabaseLogin,
    password: &SecretString,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let target = target(login);
    within(timeout, &target, async {
        let client = connect(login, timeout, trust).await?;
        let (kind, name, verifier) = if login.engine == Engine::Redshift {
            // Redshift salts MD5 with the name as it stored it (folded to lower case).
            let rows = run(&client, "SELECT current_user", &target, &[]).await?;
            let name = rows
                .iter()
                .find_map(|message| match message {
                    SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                    _ => None,
                })
                .unwrap_or_else(|| login.username.clone());
            let verifier = password::md5(password.expose_secret().as_bytes(), &name);
            ("USER", name, SecretString::from(verifier))
        } else {
            ("ROLE", login.username.clone(), scram(password))
        };
        let statement = set_password(kind, &name, &verifier);
        let secrets = [Some(&login.password), Some(password), Some(&verifier)];
        run(&client, statement.expose_secret(), &target, &secrets)
            .await
            .map(drop)
    })
    .await
}

/// As the admin, in one transaction. To the clone: created if absent, made a member of the
/// base user and set to act as it (`SET role`), so what it creates is the base user's and
/// grants made to the base user later reach it — re-applied on every such rotation; then its
/// password. To the base user: only its password.
pub(super) async fn provision_alternate(
    admin: &DatabaseLogin,
    pair: &Pair,
    alternate: &DatabaseLogin,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    if admin.engine == Engine::Redshift {
        return Err(failure(
            FailureKind::Unsupported,
            Origin::Strongroom,
            "alternating users are not available for Redshift, whose users cannot act as one another; rotate it as a single user",
        ));
    }
    let target = target(admin);
    let verifier = scram(&alternate.password);
    let secrets = [
        Some(&admin.password),
        Some(&alternate.password),
        Some(&verifier),
    ];
    let what = format!(
        "provisioning `{}` as `{}`",
        alternate.username, admin.username
    );
    within(timeout, &target, async {
        let client = connect(admin, timeout, trust).await?;
        let password = set_password("ROLE", &alternate.username, &verifier);
        let statement = if pair.to_clone {
            let found = client
                .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&pair.clone])
                .await
                .map_err(|error| crate::postgres::classify(&error, &target, &secrets))?;
            let (base, clone) = (quote_ident(&pair.base), quote_ident(&pair.clone));
            let create = match found {
                Some(_) => String::new(),
                None => format!("CREATE ROLE {clone} LOGIN; "),
            };
            SecretString::from(format!(
                "{create}GRANT {base} TO {clone}; ALTER ROLE {clone} SET role = {}; {};",
                quote_literal(&pair.base),
                password.expose_secret()
            ))
        } else {
            password
        };
        // Several statements in one simple query are one transaction.
        run(&client, statement.expose_secret(), &target, &secrets)
            .await
            .map(drop)
    })
    .await
    .map_err(|failure| during(&what, failure))
}

/// `ALTER <kind> <name> PASSWORD '<verifier>'`, held as a secret: a verifier is worth
/// something to a password cracker.
fn set_password(kind: &str, name: &str, verifier: &SecretString) -> SecretString {
    SecretString::from(format!(
        "ALTER {kind} {} PASSWORD {}",
        quote_ident(name),
        quote_literal(verifier.expose_secret())
    ))
}

/// A SCRAM-SHA-256 verifier of `password` with a fresh random salt (RFC 5802/7677, 4096
/// iterations, SASLprep as the server applies it).
pub(super) fn scram(password: &SecretString) -> SecretString {
    SecretString::from(password::scram_sha_256(password.expose_secret().as_bytes()))
}

/// `name` as an identifier: in double quotes, its own doubled.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a string literal whatever `standard_conforming_strings` says: `'` doubled, and
/// with backslashes an escape string with them doubled, as PostgreSQL's `quote_literal`.
pub(super) fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// The server's notices on a connection (warnings such as "no privileges were granted"), in
/// the order it sent them: a notice reaches here before the answer to its statement does.
pub(super) type Notices = mpsc::UnboundedReceiver<DbError>;

async fn connect(
    login: &DatabaseLogin,
    timeout: Duration,
    trust: &Trust,
) -> Result<Client, TestFailure> {
    connect_as(login, "strongroom-rotation", timeout, trust)
        .await
        .map(|(client, _)| client)
}

/// Connects as `login`, saying `application` in `pg_stat_activity`.
pub(super) async fn connect_as(
    login: &DatabaseLogin,
    application: &str,
    timeout: Duration,
    trust: &Trust,
) -> Result<(Client, Notices), TestFailure> {
    let mut config = Config::new();
    config
        .host(&login.host)
        .port(login.port)
        .user(&login.username)
        .password(login.password.expose_secret())
        .application_name(application)
        .connect_timeout(timeout);
    if let Some(dbname) = login.database() {
        config.dbname(dbname);
    }
    let encrypt_only = || MakeRustlsConnect::new(trust.configs.encrypt_only.clone());
    let result = match login.tls {
        TlsMode::Disable => open(config.ssl_mode(SslMode::Disable), NoTls).await,
        TlsMode::Prefer => open(config.ssl_mode(SslMode::Prefer), encrypt_only()).await,
        TlsMode::Require => open(config.ssl_mode(SslMode::Require), encrypt_only()).await,
        TlsMode::VerifyFull => {
            let verify = MakeRustlsConnect::new(trust.configs.verify_full.clone());
            open(config.ssl_mode(SslMode::Require), verify).await
        }
    };
    let target = target(login);
    result.map_err(|error| {
        // tokio-postgres says so only in words: its error kinds are private.
        if error.as_db_error().is_none()
            && error
                .source()
                .is_some_and(|cause| cause.to_string() == "server does not support TLS")
        {
            no_tls(&target, login.tls)
        } else {
            crate::postgres::classify(&error, &target, &[Some(&login.password)])
        }
    })
}

/// Connects; the connection lives until the client is dropped, passing on its notices.
async fn open<T>(config: &Config, tls: T) -> Result<(Client, Notices), tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, mut connection) = config.connect(tls).await?;
    let (sender, notices) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = poll_fn(|context| connection.poll_message(context)).await {
            match message {
                // Nobody listening is no reason to stop serving the client.
                Ok(AsyncMessage::Notice(notice)) => drop(sender.send(notice)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    Ok((client, notices))
}

pub(super) async fn run(
    client: &Client,
    statement: &str,
    target: &str,
    secrets: &[Option<&SecretString>],
) -> Result<Vec<SimpleQueryMessage>, TestFailure> {
    client
        .simple_query(statement)
        .await
        .map_err(|error| crate::postgres::classify(&error, target, secrets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals_are_quoted_whatever_they_hold() {
        assert_eq!(quote_ident(r#"App-"User""#), r#""App-""User""""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\'b"), r"E'a\\''b'");
    }

    #[test]
    fn verifiers_are_salted_scram_and_never_the_password() {
        let password = SecretString::from("Canary-$;{}%&-pw");
        let (one, two) = (scram(&password), scram(&password));
        let one = one.expose_secret();
        assert!(one.starts_with("SCRAM-SHA-256$4096:"), "{one}");
        assert_ne!(one, two.expose_secret(), "a fresh salt each time");
        assert!(!one.contains("Canary"));
        let statement = set_password("ROLE", "App-User", &scram(&password));
        assert!(
            statement
                .expose_secret()
                .starts_with(r#"ALTER ROLE "App-User" PASSWORD 'SCRAM-SHA-256$4096:"#)
        );
    }
}
