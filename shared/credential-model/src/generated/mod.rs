//! Database logins generated on demand (the Nile family): real roles created with a registered
//! database's admin login, each with a lifetime the database enforces by itself, dropped when
//! it ends. What a login may do is declared as data — roles it inherits, privileges on
//! schemas and tables, each an identifier checked here — never as SQL from a client.

mod lease;
mod service;

use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use lease::{
    Lease, LeaseKey, LeaseScope, LeaseState, LoginLedger, login_created_at, login_name,
    login_prefix,
};
pub use service::{
    GeneratedCredentials, Issued, LIVE_CREDENTIALS, LeasePolicy, NewDatabase, SweepReport,
    database_key, retry_delay,
};

use crate::credential::{Attributes, CredentialKind};
use crate::ports::TestFailure;
use crate::rotation::DatabaseLogin;

/// The kind of a registered database's record.
pub const REGISTERED_DATABASE: CredentialKind = CredentialKind::RegisteredDatabase;

/// A database Strongroom generates logins for: Nile's database, and Strongroom's settings of
/// it. Its secret is the admin login in the AWS standard format, so the rotation function
/// rotates it like any other connection; where it is (engine, host, port, database) is in the
/// record's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredDatabase {
    /// Nile's `databaseName`: unique in the workspace.
    pub name: String,
    /// Nile's `region`, as given.
    pub region: String,
    pub default_lifetime_seconds: u64,
    pub max_lifetime_seconds: u64,
    pub grants: LoginGrants,
    /// Who receives what a dropped login owned.
    pub owner: String,
    /// The prefix of every login generated for it ([`login_prefix`]).
    pub login_prefix: String,
}

impl Attributes for RegisteredDatabase {
    const KIND: CredentialKind = REGISTERED_DATABASE;
}

impl RegisteredDatabase {
    pub fn default_lifetime(&self) -> Duration {
        Duration::from_secs(self.default_lifetime_seconds)
    }

    pub fn max_lifetime(&self) -> Duration {
        Duration::from_secs(self.max_lifetime_seconds)
    }
}

/// A privilege a generated login may hold on tables.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(rename_all = "UPPERCASE")]
#[strum(serialize_all = "UPPERCASE")]
pub enum TablePrivilege {
    Select,
    Insert,
    Update,
    Delete,
}

impl TablePrivilege {
    /// The SQL keyword.
    pub fn keyword(self) -> &'static str {
        self.into()
    }
}

/// Privileges on the tables of a schema (PostgreSQL) or database (MySQL/MariaDB): one table,
/// or every table there when `table` is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableGrant {
    pub privileges: Vec<TablePrivilege>,
    pub schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

/// What a generated login may do: the roles it is made a member of (and so inherits) and the
/// privileges it is granted. Every name is an identifier ([`crate::validation::sql_identifier`]),
/// always quoted when it reaches SQL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginGrants {
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tables: Vec<TableGrant>,
}

/// A login to create.
pub struct NewLogin<'a> {
    pub name: &'a str,
    pub password: &'a SecretString,
    /// When the database stops accepting it by itself (PostgreSQL `VALID UNTIL`): a few seconds
    /// after its lifetime ends, so a stopped sweeper still stops it.
    pub valid_until: OffsetDateTime,
    pub grants: &'a LoginGrants,
}

/// The database side of generated logins, always acting as a registered database's admin.
/// Failures say what the database said, never a password.
pub trait GeneratedLogins: Send + Sync {
    /// Logs in as `admin` and checks it may create, grant to and drop logins, and that the
    /// roles `grants` names exist.
    fn check_admin(
        &self,
        admin: &DatabaseLogin,
        grants: &LoginGrants,
    ) -> impl Future<Output = Result<(), TestFailure>> + Send;

    /// Creates `login` with its grants and expiry in one transaction: all of it, or nothing.
    fn create_login(
        &self,
        admin: &DatabaseLogin,
        login: NewLogin<'_>,
    ) -> impl Future<Output = Result<(), TestFailure>> + Send;

    /// Moves the instant the database stops accepting the login `name` to `valid_until`.
    fn expire_login(
        &self,
        admin: &DatabaseLogin,
        name: &str,
        valid_until: OffsetDateTime,
    ) -> impl Future<Output = Result<(), TestFailure>> + Send;

    /// Revokes the login `name` for good: no new login from the first statement, its open
    /// sessions terminated, what it owns given to `owner`, then the role dropped. A login that
    /// does not exist is already revoked.
    fn drop_login(
        &self,
        admin: &DatabaseLogin,
        name: &str,
        owner: &str,
    ) -> impl Future<Output = Result<(), TestFailure>> + Send;

    /// The names of the logins that start with `prefix`: how the sweeper finds a login a crash
    /// left without its record.
    fn logins_with_prefix(
        &self,
        admin: &DatabaseLogin,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, TestFailure>> + Send;
}
