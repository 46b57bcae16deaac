//! MySQL and MariaDB, told apart by what the server says it is (`VERSION()`), not by the
//! secret's `engine`: RDS MySQL secrets often front MariaDB and the other way round.
//!
//! MariaDB takes a password as its mysql_native_password hash, computed here, so its general
//! log never holds the plaintext. MySQL 8 removed that form for its default plugin: it gets
//! the literal, which it redacts from its own logs.

use std::time::Duration;

use credential_model::ports::{Origin, TestFailure};
use credential_model::rotation::{DatabaseLogin, TlsMode};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, OptsBuilder, SslOpts};
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};

use super::{Pair, Trust, during, invalid, no_tls, target};
use crate::failure::{failure, within};
use crate::mysql::classify;

pub(super) async fn check_login(
    login: &DatabaseLogin,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let target = target(login);
    let secrets = [Some(&login.password)];
    within(timeout, &target, async {
        let mut conn = connect(login, trust).await?;
        let result = conn.query_drop("SELECT 1").await;
        // Closing politely is a courtesy: the answer is the query's.
        let _ = conn.disconnect().await;
        result.map_err(|error| classify(&error, &target, &secrets))
    })
    .await
}

/// As the user itself, in one statement: MariaDB `SET PASSWORD = '<hash>'` (its `ALTER USER
/// CURRENT_USER()` wants the CREATE USER privilege, which an application user rarely has);
/// MySQL `ALTER USER CURRENT_USER() IDENTIFIED BY '<literal>'`.
pub(super) async fn change_own_password(
    login: &DatabaseLogin,
    password: &SecretString,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let target = target(login);
    let hash = native_hash(password);
    let secrets = [Some(&login.password), Some(password), Some(&hash)];
    within(timeout, &target, async {
        let mut conn = connect(login, trust).await?;
        let statement = match Flavor::of(&mut conn, &target).await {
            Ok(Flavor::Mariadb) => Ok(format!("SET PASSWORD = '{}'", hash.expose_secret())),
            Ok(Flavor::Mysql) => literal(password)
                .map(|literal| format!("ALTER USER CURRENT_USER() IDENTIFIED BY {literal}")),
            Err(failure) => Err(failure),
        }
        .map(SecretString::from);
        let result = match statement {
            Ok(statement) => conn
                .query_drop(statement.expose_secret())
                .await
                .map_err(|error| classify(&error, &target, &secrets)),
            Err(failure) => Err(failure),
        };
        let _ = conn.disconnect().await;
        result
    })
    .await
}

/// As the admin, for every host the base user has an account at (not only `%`). To the
/// clone: created there if absent, its privileges revoked and replaced by exactly the base
/// user's (`WITH GRANT OPTION` only where the base user has it), the base user's TLS
/// requirement copied, its password set. To the base user: its password set, and whatever the
/// base user holds granted to the clone (in use now, so nothing is revoked from it). Account
/// statements commit one by one in MySQL: a failed run is repaired by running it again.
pub(super) async fn provision_alternate(
    admin: &DatabaseLogin,
    pair: &Pair,
    alternate: &DatabaseLogin,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let target = target(admin);
    let hash = native_hash(&alternate.password);
    let secrets = [
        Some(&admin.password),
        Some(&alternate.password),
        Some(&hash),
    ];
    let what = format!(
        "provisioning `{}` as `{}`",
        alternate.username, admin.username
    );
    within(timeout, &target, async {
        let mut conn = connect(admin, trust).await?;
        let result = provision(&mut conn, pair, alternate, &hash, &target, &secrets).await;
        let _ = conn.disconnect().await;
        result
    })
    .await
    .map_err(|failure| during(&what, failure))
}

async fn provision(
    conn: &mut Conn,
    pair: &Pair,
    alternate: &DatabaseLogin,
    hash: &SecretString,
    target: &str,
    secrets: &[Option<&SecretString>],
) -> Result<(), TestFailure> {
    let server = |error: mysql_async::Error| classify(&error, target, secrets);
    let flavor = Flavor::of(conn, target).await?;
    let authentication = identified_by(flavor, &alternate.password, hash)?;
    let accounts: Vec<(String, String, String, String, String)> = conn
        .exec(
            "SELECT Host, COALESCE(CAST(ssl_type AS CHAR), ''), \
             COALESCE(CAST(ssl_cipher AS CHAR), ''), COALESCE(CAST(x509_issuer AS CHAR), ''), \
             COALESCE(CAST(x509_subject AS CHAR), '') FROM mysql.user WHERE User = ?",
            (pair.base.as_str(),),
        )
        .await
        .map_err(server)?;
    if accounts.is_empty() {
        return Err(invalid(format!(
            "`{}` has no account on the server to take privileges from",
            pair.base
        )));
    }
    let clone_hosts: Vec<String> = conn
        .exec(
            "SELECT Host FROM mysql.user WHERE User = ?",
            (pair.clone.as_str(),),
        )
        .await
        .map_err(server)?;
    for (host, ssl_type, cipher, issuer, subject) in accounts {
        let base = account(&pair.base, &host);
        let clone = account(&pair.clone, &host);
        let grants: Vec<String> = conn
            .query(format!("SHOW GRANTS FOR {base}"))
            .await
            .map_err(server)?;
        let grants = grants
            .iter()
            .map(|line| regrant(line, &pair.base, &host, &clone))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                failure(
                    credential_model::ports::FailureKind::Other,
                    Origin::Strongroom,
                    format!("a line of SHOW GRANTS FOR {base} does not name it as expected"),
                )
            })?;
        let mut statements = Vec::new();
        if pair.to_clone {
            let requirement = requirement(&ssl_type, &cipher, &issuer, &subject)?;
            let set = |verb: &str| {
                SecretString::from(format!("{verb} {clone} {}", authentication.expose_secret()))
            };
            // Created with its new password: never an account without one, even for a moment.
            statements.push(set("CREATE USER IF NOT EXISTS"));
            statements.push(SecretString::from(format!(
                "REVOKE ALL PRIVILEGES, GRANT OPTION FROM {clone}"
            )));
            statements.extend(grants.into_iter().map(SecretString::from));
            statements.push(SecretString::from(format!(
                "{} {requirement}",
                set("ALTER USER").expose_secret()
            )));
        } else {
            statements.push(SecretString::from(format!(
                "ALTER USER {base} {}",
                authentication.expose_secret()
            )));
            if clone_hosts.contains(&host) {
                statements.extend(grants.into_iter().map(SecretString::from));
            }
        }
        for statement in statements {
            conn.query_drop(statement.expose_secret())
                .await
                .map_err(server)?;
        }
    }
    Ok(())
}

/// The clause that sets an account's password to `password`: its `hash` on MariaDB, the
/// literal on MySQL.
pub(super) fn identified_by(
    flavor: Flavor,
    password: &SecretString,
    hash: &SecretString,
) -> Result<SecretString, TestFailure> {
    Ok(SecretString::from(match flavor {
        Flavor::Mariadb => format!("IDENTIFIED BY PASSWORD '{}'", hash.expose_secret()),
        Flavor::Mysql => format!("IDENTIFIED BY {}", literal(password)?),
    }))
}

/// Which SQL the server speaks for passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    Mariadb,
    Mysql,
}

impl Flavor {
    pub(super) async fn of(conn: &mut Conn, target: &str) -> Result<Self, TestFailure> {
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(|error| classify(&error, target, &[]))?;
        Ok(match version {
            Some(version) if version.contains("MariaDB") => Flavor::Mariadb,
            _ => Flavor::Mysql,
        })
    }
}

pub(super) async fn connect(login: &DatabaseLogin, trust: &Trust) -> Result<Conn, TestFailure> {
    let password = login.password.expose_secret();
    let options = OptsBuilder::default()
        .ip_or_hostname(login.host.clone())
        .tcp_port(login.port)
        .user(Some(login.username.clone()))
        .pass((!password.is_empty()).then(|| password.to_owned()))
        .db_name(login.dbname.clone())
        .prefer_socket(false)
        .conn_ttl(None::<Duration>);
    let encrypt_only = SslOpts::default().with_danger_accept_invalid_certs(true);
    let ssl = match login.tls {
        TlsMode::Disable => None,
        TlsMode::Prefer | TlsMode::Require => Some(encrypt_only),
        TlsMode::VerifyFull => Some(
            SslOpts::default().with_root_certs(
                trust
                    .bundle
                    .iter()
                    .map(|certificate| certificate.to_vec().into())
                    .collect(),
            ),
        ),
    };
    let target = target(login);
    let secrets = [Some(&login.password)];
    match Conn::new(options.clone().ssl_opts(ssl)).await {
        Ok(conn) => Ok(conn),
        // mysql_async cannot fall back within one connection: `prefer` makes a second one.
        Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer))
            if login.tls == TlsMode::Prefer =>
        {
            Conn::new(options.ssl_opts(None::<SslOpts>))
                .await
                .map_err(|error| classify(&error, &target, &secrets))
        }
        Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)) => {
            Err(no_tls(&target, login.tls))
        }
        Err(error) => Err(classify(&error, &target, &secrets)),
    }
}

/// mysql_native_password's hash: `*` and the upper-case hex of SHA1(SHA1(password)).
pub(super) fn native_hash(password: &SecretString) -> SecretString {
    let digest = Sha1::digest(Sha1::digest(password.expose_secret().as_bytes()));
    let hex: String = digest.iter().map(|byte| format!("{byte:02X}")).collect();
    SecretString::from(format!("*{hex}"))
}

/// `password` as a string literal for MySQL 8, which takes no hash here. A `'` or `\` would
/// need escaping whose meaning depends on the session's `sql_mode`: refused, not guessed.
fn literal(password: &SecretString) -> Result<String, TestFailure> {
    let text = password.expose_secret();
    if text.contains(['\'', '\\']) {
        return Err(invalid(
            "MySQL takes the new password as a literal, which must not contain ' or \\",
        ));
    }
    Ok(format!("'{text}'"))
}

/// `user@host` as an account name, each part in backticks (its own doubled): the form that
/// means the same under every `sql_mode`.
pub(super) fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_name(user), quote_name(host))
}

/// `name` as an identifier: in backticks, its own doubled.
pub(super) fn quote_name(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A line of `SHOW GRANTS FOR user@host` as the same grant to `to`, keeping `WITH GRANT
/// OPTION` (or a role's `WITH ADMIN OPTION`) only when the line has it and dropping what else
/// follows the account (MariaDB prints the password hash and TLS requirement there). `None`
/// when the line does not name the account in a form the server prints.
fn regrant(line: &str, user: &str, host: &str, to: &str) -> Option<String> {
    let keyword = if line.starts_with("SET DEFAULT ROLE") {
        " FOR "
    } else {
        " TO "
    };
    let quoted = |quote: char| {
        let doubled = format!("{quote}{quote}");
        let part = |text: &str| format!("{quote}{}{quote}", text.replace(quote, &doubled));
        format!("{keyword}{}@{}", part(user), part(host))
    };
    [quoted('`'), quoted('\'')].iter().find_map(|grantee| {
        let at = line.rfind(grantee.as_str())?;
        let rest = unquoted(&line[at + grantee.len()..]);
        let option = ["WITH GRANT OPTION", "WITH ADMIN OPTION"]
            .into_iter()
            .find(|option| rest.contains(option))
            .map(|option| format!(" {option}"))
            .unwrap_or_default();
        Some(format!("{}{keyword}{to}{option}", &line[..at]))
    })
}

/// `text` without its single-quoted parts, so a quoted value cannot pass for a keyword.
fn unquoted(text: &str) -> String {
    let mut inside = false;
    text.chars()
        .filter(|c| {
            if *c == '\'' {
                inside = !inside;
                return false;
            }
            !inside
        })
        .collect()
}

/// The `REQUIRE` clause of an account from `mysql.user`'s TLS columns: read there rather than
/// parsed out of `SHOW CREATE USER`, where a password hash comes first.
fn requirement(
    ssl_type: &str,
    cipher: &str,
    issuer: &str,
    subject: &str,
) -> Result<String, TestFailure> {
    Ok(match ssl_type.to_ascii_uppercase().as_str() {
        "ANY" => "REQUIRE SSL".to_owned(),
        "X509" => "REQUIRE X509".to_owned(),
        "SPECIFIED" => {
            let mut parts = Vec::new();
            for (name, value) in [("CIPHER", cipher), ("ISSUER", issuer), ("SUBJECT", subject)] {
                if value.is_empty() {
                    continue;
                }
                if value.contains('\\') {
                    return Err(invalid(format!(
                        "the TLS {} requirement contains a backslash, which cannot be copied safely",
                        name.to_ascii_lowercase()
                    )));
                }
                parts.push(format!("{name} '{}'", value.replace('\'', "''")));
            }
            if parts.is_empty() {
                "REQUIRE SSL".to_owned()
            } else {
                format!("REQUIRE {}", parts.join(" AND "))
            }
        }
        _ => "REQUIRE NONE".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_rewritten_to_the_alternate_with_grant_option_only_where_it_was() {
        let to = account("app_clone", "10.0.%");
        assert_eq!(
            regrant(
                "GRANT USAGE ON *.* TO `app`@`10.0.%` IDENTIFIED BY PASSWORD '*2B60' REQUIRE SSL",
                "app",
                "10.0.%",
                &to
            )
            .as_deref(),
            Some("GRANT USAGE ON *.* TO `app_clone`@`10.0.%`")
        );
        assert_eq!(
            regrant(
                "GRANT SELECT ON `db`.* TO `app`@`10.0.%` WITH GRANT OPTION",
                "app",
                "10.0.%",
                &to
            )
            .as_deref(),
            Some("GRANT SELECT ON `db`.* TO `app_clone`@`10.0.%` WITH GRANT OPTION")
        );
        // A quoted value that reads like the option is not the option.
        assert_eq!(
            regrant(
                "GRANT USAGE ON *.* TO 'app'@'10.0.%' REQUIRE SUBJECT 'WITH GRANT OPTION'",
                "app",
                "10.0.%",
                &to
            )
            .as_deref(),
            Some("GRANT USAGE ON *.* TO `app_clone`@`10.0.%`")
        );
        assert_eq!(
            regrant(
                "SET DEFAULT ROLE `r` FOR `app`@`10.0.%`",
                "app",
                "10.0.%",
                &to
            )
            .as_deref(),
            Some("SET DEFAULT ROLE `r` FOR `app_clone`@`10.0.%`")
        );
        assert_eq!(
            regrant("GRANT SELECT ON *.* TO `other`@`%`", "app", "%", &to),
            None
        );
    }

    #[test]
    fn names_and_requirements_are_quoted() {
        assert_eq!(account("a`b", "%"), "`a``b`@`%`");
        assert_eq!(
            requirement("", "", "", "").ok().as_deref(),
            Some("REQUIRE NONE")
        );
        assert_eq!(
            requirement("SPECIFIED", "", "/CN=it's", "/CN=app")
                .ok()
                .as_deref(),
            Some("REQUIRE ISSUER '/CN=it''s' AND SUBJECT '/CN=app'")
        );
        assert!(requirement("SPECIFIED", "", "", r"/CN=a\b").is_err());
    }

    #[test]
    fn the_native_hash_is_mysqls_and_a_literal_refuses_what_needs_escaping() {
        // SELECT PASSWORD('pw1') on MariaDB.
        assert_eq!(
            native_hash(&SecretString::from("pw1")).expose_secret(),
            "*2B602296A79E0A8784ACC5C88D92E46588CCA3C3"
        );
        assert!(literal(&SecretString::from("a'b")).is_err());
        assert!(literal(&SecretString::from(r"a\b")).is_err());
        let refused = literal(&SecretString::from("Canary'x")).expect_err("refused");
        assert!(!refused.detail.contains("Canary"));
    }
}
