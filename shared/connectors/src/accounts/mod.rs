//! The database side of password rotation ([`DatabaseAccounts`]): logins checked, own passwords
//! changed, alternate users provisioned, on PostgreSQL/Redshift and MySQL/MariaDB; and
//! generated logins ([`GeneratedLoginsDriver`]) made and dropped over the same connections.
//!
//! A new password reaches a server as a verifier or hash wherever the engine takes one (all
//! but MySQL 8's), so no statement log holds it. TLS follows the login's `sslmode` and is never
//! downgraded silently: only `prefer` falls back to plaintext. One connection per login tried.

mod generated;
mod mysql;
mod postgres;

pub use generated::GeneratedLoginsDriver;

use std::sync::OnceLock;
use std::time::Duration;

use credential_model::ports::{FailureKind, Origin, TestFailure};
use credential_model::rotation::{DatabaseAccounts, DatabaseLogin, TlsMode, alternate_username};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::SecretString;

use crate::failure::failure;
use crate::tls::TlsConfigs;

/// Names a PEM file of CA certificates that `verify-full` trusts besides the public web roots
/// (e.g. RDS's bundle): databases behind a private CA are the rule, not the exception.
const CA_BUNDLE_VAR: &str = "STRONGROOM_CA_BUNDLE";

/// Changes database passwords for rotations, one connection per login tried, each giving up
/// after the driver's timeout (connect plus statements).
pub struct DatabaseAccountsDriver {
    reach: Reach,
}

/// How a driver reaches databases: the time it gives each login, and the TLS trust its
/// connections share.
struct Reach {
    timeout: Duration,
    /// Built on first use, not at init: the bundle is read once per sandbox.
    tls: OnceLock<Result<Trust, String>>,
}

impl Reach {
    fn new(timeout: Duration) -> Self {
        Reach {
            timeout,
            tls: OnceLock::new(),
        }
    }

    fn trust(&self) -> Result<&Trust, TestFailure> {
        self.tls
            .get_or_init(Trust::load)
            .as_ref()
            .map_err(|problem| failure(FailureKind::Tls, Origin::Strongroom, problem.clone()))
    }
}

/// What the TLS modes need: rustls configurations for PostgreSQL, and the bundle's
/// certificates for mysql_async, which builds its own.
struct Trust {
    configs: TlsConfigs,
    bundle: Vec<CertificateDer<'static>>,
}

impl Trust {
    fn load() -> Result<Self, String> {
        let bundle = match std::env::var(CA_BUNDLE_VAR) {
            Ok(path) if !path.is_empty() => CertificateDer::pem_file_iter(&path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|error| format!("the CA bundle {CA_BUNDLE_VAR} names: {error}"))?,
            _ => Vec::new(),
        };
        let configs = TlsConfigs::with_roots(&bundle)
            .map_err(|error| format!("TLS could not be set up: {error}"))?;
        Ok(Trust { configs, bundle })
    }
}

impl DatabaseAccountsDriver {
    /// A driver that gives up on each login after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        DatabaseAccountsDriver {
            reach: Reach::new(timeout),
        }
    }
}

impl DatabaseAccounts for DatabaseAccountsDriver {
    async fn check_login(&self, login: &DatabaseLogin) -> Result<(), TestFailure> {
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        if login.engine.is_postgres() {
            postgres::check_login(login, timeout, trust).await
        } else {
            mysql::check_login(login, timeout, trust).await
        }
    }

    async fn change_own_password(
        &self,
        login: &DatabaseLogin,
        password: &SecretString,
    ) -> Result<(), TestFailure> {
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        if login.engine.is_postgres() {
            postgres::change_own_password(login, password, timeout, trust).await
        } else {
            mysql::change_own_password(login, password, timeout, trust).await
        }
    }

    async fn provision_alternate(
        &self,
        admin: &DatabaseLogin,
        source: &DatabaseLogin,
        alternate: &DatabaseLogin,
    ) -> Result<(), TestFailure> {
        let pair = Pair::of(source, alternate)?;
        if admin.engine.is_postgres() != source.engine.is_postgres() {
            return Err(invalid(format!(
                "the admin login is for {}, the user's for {}",
                admin.engine, source.engine
            )));
        }
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        if admin.engine.is_postgres() {
            postgres::provision_alternate(admin, &pair, alternate, timeout, trust).await
        } else {
            mysql::provision_alternate(admin, &pair, alternate, timeout, trust).await
        }
    }
}

/// The two users alternating rotation takes turns with. The base user (the name without
/// `_clone`) holds the privileges; the clone follows it, so grants are made to the base user
/// once and reach both.
struct Pair {
    base: String,
    clone: String,
    /// Whether this rotation changes the clone (else the base user).
    to_clone: bool,
}

impl Pair {
    fn of(source: &DatabaseLogin, alternate: &DatabaseLogin) -> Result<Self, TestFailure> {
        let expected = alternate_username(&source.username, source.engine)
            .map_err(|error| invalid(error.0))?;
        if alternate.username != expected {
            return Err(invalid(format!(
                "the alternate of `{}` is `{expected}`, not `{}`",
                source.username, alternate.username
            )));
        }
        let to_clone = alternate.username == format!("{}_clone", source.username);
        let (base, clone) = if to_clone {
            (source.username.clone(), alternate.username.clone())
        } else {
            (alternate.username.clone(), source.username.clone())
        };
        Ok(Pair {
            base,
            clone,
            to_clone,
        })
    }
}

fn invalid(detail: impl Into<String>) -> TestFailure {
    failure(FailureKind::InvalidSettings, Origin::Strongroom, detail)
}

/// `host:port`, for messages.
fn target(login: &DatabaseLogin) -> String {
    format!("{}:{}", login.host, login.port)
}

/// The failure of a server without TLS when `mode` demands it.
fn no_tls(target: &str, mode: TlsMode) -> TestFailure {
    let mode: &str = mode.into();
    failure(
        FailureKind::Tls,
        Origin::Strongroom,
        format!("the server at {target} does not support TLS, which sslmode {mode} requires"),
    )
}

/// `failure` with what was being done when it happened in front of its detail.
fn during(what: &str, mut failure: TestFailure) -> TestFailure {
    failure.detail = format!("{what}: {}", failure.detail);
    failure
}
