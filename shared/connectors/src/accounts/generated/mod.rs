//! Generated logins ([`GeneratedLogins`]) on PostgreSQL and MySQL/MariaDB, made, moved and
//! dropped as a registered database's admin over the rotation driver's connections (same TLS,
//! same scrubbing of what a server says).
//!
//! A password reaches the server as a verifier or hash wherever the engine takes one (all but
//! MySQL 8), so no statement log holds it. The database ends a login by itself: PostgreSQL's
//! `VALID UNTIL`, MySQL's event scheduler where it runs; the sweeper does the rest.

mod mysql;
mod postgres;

use std::future::Future;
use std::time::Duration;

use credential_model::generated::{GeneratedLogins, LoginGrants, NewLogin};
use credential_model::ports::{FailureKind, Origin, TestFailure};
use credential_model::rotation::{DatabaseLogin, Engine};
use time::OffsetDateTime;

use super::{Reach, during, invalid, target};
use crate::failure::{failure, within};

/// Creates and drops generated logins, one connection per call, each giving up after the
/// driver's timeout (connect plus statements).
pub struct GeneratedLoginsDriver {
    reach: Reach,
}

impl GeneratedLoginsDriver {
    /// A driver that gives up on each call after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        GeneratedLoginsDriver {
            reach: Reach::new(timeout),
        }
    }

    /// Runs the engine's half of a call as `admin`, bounded by the timeout, its failure saying
    /// `what` was being done. Redshift is refused before anything reaches it: it has no
    /// `REASSIGN OWNED`/`DROP OWNED` to hand over what a login owns, grants roles with another
    /// syntax, and cannot be tested here.
    async fn act<T>(
        &self,
        admin: &DatabaseLogin,
        what: String,
        on_postgres: impl Future<Output = Result<T, TestFailure>>,
        on_mysql: impl Future<Output = Result<T, TestFailure>>,
    ) -> Result<T, TestFailure> {
        if admin.engine == Engine::Redshift {
            return Err(failure(
                FailureKind::Unsupported,
                Origin::Strongroom,
                "generated logins are not available for Redshift, which has no REASSIGN OWNED or DROP OWNED to hand over what a login owns",
            ));
        }
        let target = target(admin);
        let result = if admin.engine.is_postgres() {
            within(self.reach.timeout, &target, on_postgres).await
        } else {
            within(self.reach.timeout, &target, on_mysql).await
        };
        result.map_err(|failure| during(&what, failure))
    }
}

impl GeneratedLogins for GeneratedLoginsDriver {
    async fn check_admin(
        &self,
        admin: &DatabaseLogin,
        grants: &LoginGrants,
    ) -> Result<(), TestFailure> {
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        self.act(
            admin,
            format!("checking the admin login `{}`", admin.username),
            postgres::check_admin(admin, grants, timeout, trust),
            mysql::check_admin(admin, grants, trust),
        )
        .await
    }

    async fn create_login(
        &self,
        admin: &DatabaseLogin,
        login: NewLogin<'_>,
    ) -> Result<(), TestFailure> {
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        self.act(
            admin,
            format!(
                "creating the login `{}` as `{}`",
                login.name, admin.username
            ),
            postgres::create_login(admin, &login, timeout, trust),
            mysql::create_login(admin, &login, trust),
        )
        .await
    }

    async fn expire_login(
        &self,
        admin: &DatabaseLogin,
        name: &str,
        valid_until: OffsetDateTime,
    ) -> Result<(), TestFailure> {
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        self.act(
            admin,
            format!("moving the expiry of `{name}` as `{}`", admin.username),
            postgres::expire_login(admin, name, valid_until, timeout, trust),
            mysql::expire_login(admin, name, valid_until, trust),
        )
        .await
    }

    async fn drop_login(
        &self,
        admin: &DatabaseLogin,
        name: &str,
        owner: &str,
    ) -> Result<(), TestFailure> {
        if name == admin.username || name == owner {
            return Err(invalid(format!(
                "`{name}` is the admin login or the new owner, not a login to drop"
            )));
        }
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        self.act(
            admin,
            format!("dropping the login `{name}` as `{}`", admin.username),
            postgres::drop_login(admin, name, owner, timeout, trust),
            mysql::drop_login(admin, name, trust),
        )
        .await
    }

    async fn logins_with_prefix(
        &self,
        admin: &DatabaseLogin,
        prefix: &str,
    ) -> Result<Vec<String>, TestFailure> {
        let (trust, timeout) = (self.reach.trust()?, self.reach.timeout);
        let mut names = self
            .act(
                admin,
                format!("listing the logins starting `{prefix}`"),
                postgres::logins_with_prefix(admin, prefix, timeout, trust),
                mysql::logins_with_prefix(admin, prefix, trust),
            )
            .await?;
        names.sort();
        names.dedup();
        Ok(names)
    }
}

/// The failure for what `grants` names that the server does not have: `missing` as
/// `(what, name)` pairs, e.g. `("role", "reporting")`.
fn absent(missing: &[(&str, String)]) -> Result<(), TestFailure> {
    if missing.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = missing
        .iter()
        .map(|(what, name)| format!("{what} `{name}`"))
        .collect();
    Err(invalid(format!(
        "the grants name what the database does not have: {}",
        named.join(", ")
    )))
}

/// A check of the admin login that failed: it may not do `what`.
fn may_not(admin: &DatabaseLogin, what: &str) -> TestFailure {
    failure(
        FailureKind::PermissionDenied,
        Origin::Strongroom,
        format!("the admin login `{}` may not {what}", admin.username),
    )
}

/// `instant` in UTC in `format`, for a statement.
fn utc(
    instant: OffsetDateTime,
    format: &(impl time::formatting::Formattable + ?Sized),
) -> Result<String, TestFailure> {
    instant
        .to_offset(time::UtcOffset::UTC)
        .format(format)
        .map_err(|error| invalid(format!("the expiry cannot be written for SQL: {error}")))
}
