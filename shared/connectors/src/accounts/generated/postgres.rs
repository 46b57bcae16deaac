//! PostgreSQL: a login is a role with `LOGIN`, a SCRAM verifier computed here and `VALID
//! UNTIL`, made with its grants in one transaction. Works for an admin that is not superuser
//! but has `CREATEROLE` (RDS's master user): it makes itself a member of the roles whose
//! sessions it ends and whose objects it hands over, as PostgreSQL asks.

use std::time::Duration;

use credential_model::generated::{LoginGrants, NewLogin};
use credential_model::ports::{FailureKind, Origin, TestFailure};
use credential_model::rotation::DatabaseLogin;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSqlOwned, ToSql};
use tokio_postgres::{Client, Row};

use super::{absent, may_not, utc};
use crate::accounts::Trust;
use crate::accounts::postgres::{Notices, connect_as, quote_ident, quote_literal, run, scram};
use crate::failure::{failure, server_said};

/// The advisory lock Strongroom's sessions hold while they change roles: "strongrm" in ASCII.
const ROLE_CHANGES_LOCK: i64 = 0x7374_726f_6e67_726d;

pub(super) async fn check_admin(
    admin: &DatabaseLogin,
    grants: &LoginGrants,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let session = Session::open(admin, timeout, trust, vec![Some(&admin.password)]).await?;
    let may: bool = session
        .value(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await?;
    if !may {
        return Err(may_not(
            admin,
            "create roles: it is neither superuser nor CREATEROLE",
        ));
    }
    let roles: Vec<String> = session
        .column(
            "SELECT name FROM unnest($1::text[]) AS name \
             WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name)",
            &[&grants.roles],
        )
        .await?;
    let schemas: Vec<&str> = grants.tables.iter().map(|g| g.schema.as_str()).collect();
    let schemas: Vec<String> = session
        .column(
            "SELECT DISTINCT name FROM unnest($1::text[]) AS name \
             WHERE NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = name)",
            &[&schemas],
        )
        .await?;
    let (in_schemas, tables): (Vec<&str>, Vec<&str>) = grants
        .tables
        .iter()
        .filter_map(|g| Some((g.schema.as_str(), g.table.as_deref()?)))
        .unzip();
    let tables: Vec<String> = session
        .column(
            "SELECT DISTINCT format('%I.%I', s, t) FROM unnest($1::text[], $2::text[]) AS g(s, t) \
             WHERE EXISTS (SELECT FROM pg_namespace WHERE nspname = s) AND NOT EXISTS ( \
               SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE n.nspname = s AND c.relname = t)",
            &[&in_schemas, &tables],
        )
        .await?;
    let missing: Vec<(&str, String)> = (roles.into_iter().map(|name| ("role", name)))
        .chain(schemas.into_iter().map(|name| ("schema", name)))
        .chain(tables.into_iter().map(|name| ("table", name)))
        .collect();
    absent(&missing)
}

/// In one transaction: the role with its verifier and expiry, its roles, `CONNECT` on the
/// admin's database, and its table privileges. A grant the admin holds no grant option for
/// grants nothing with only a warning: taken as the failure it is (but for `CONNECT`, which
/// every role usually has through PUBLIC).
pub(super) async fn create_login(
    admin: &DatabaseLogin,
    login: &NewLogin<'_>,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let verifier = scram(login.password);
    let secrets = vec![Some(&admin.password), Some(login.password), Some(&verifier)];
    let mut session = Session::open(admin, timeout, trust, secrets).await?;
    session.hold_role_changes(timeout).await?;
    let name = quote_ident(login.name);
    let create = SecretString::from(format!(
        "CREATE ROLE {name} LOGIN PASSWORD {} VALID UNTIL {}",
        quote_literal(verifier.expose_secret()),
        quote_literal(&utc(login.valid_until, &Rfc3339)?)
    ));
    session.run("BEGIN").await?;
    session.run(create.expose_secret()).await?;
    for role in &login.grants.roles {
        session
            .granting(&format!("GRANT {} TO {name}", quote_ident(role)))
            .await?;
    }
    let database = admin.database().unwrap_or("postgres");
    session
        .run(&format!(
            "GRANT CONNECT ON DATABASE {} TO {name}",
            quote_ident(database)
        ))
        .await?;
    if let Some(warning) = session.not_granted() {
        tracing::warn!(
            login = login.name,
            database,
            warning = %server_said(warning.message(), &[]),
            "CONNECT was not granted: the login connects only if PUBLIC may"
        );
    }
    for grant in &login.grants.tables {
        let schema = quote_ident(&grant.schema);
        session
            .granting(&format!("GRANT USAGE ON SCHEMA {schema} TO {name}"))
            .await?;
        if grant.privileges.is_empty() {
            continue;
        }
        let privileges: Vec<&str> = grant.privileges.iter().map(|p| p.keyword()).collect();
        let on = match &grant.table {
            Some(table) => format!("{schema}.{}", quote_ident(table)),
            None => format!("ALL TABLES IN SCHEMA {schema}"),
        };
        session
            .granting(&format!(
                "GRANT {} ON {on} TO {name}",
                privileges.join(", ")
            ))
            .await?;
    }
    // Dropping the connection on a failure above rolls the transaction back.
    session.run("COMMIT").await
}

pub(super) async fn expire_login(
    admin: &DatabaseLogin,
    name: &str,
    valid_until: OffsetDateTime,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let session = Session::open(admin, timeout, trust, vec![Some(&admin.password)]).await?;
    session.hold_role_changes(timeout).await?;
    let statement = format!(
        "ALTER ROLE {} VALID UNTIL {}",
        quote_ident(name),
        quote_literal(&utc(valid_until, &Rfc3339)?)
    );
    session.run_unless_absent(&statement).await
}

/// `NOLOGIN` first, in a statement of its own, so no session starts while the rest runs; then
/// the login's sessions ended and, in one transaction, what it owns handed to `owner`, what it
/// was granted revoked and the role dropped. The admin makes itself a member of the login (and
/// for the transaction of `owner`): ending a role's sessions and handing over its objects take
/// the privileges of the roles involved.
pub(super) async fn drop_login(
    admin: &DatabaseLogin,
    name: &str,
    owner: &str,
    timeout: Duration,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let session = Session::open(admin, timeout, trust, vec![Some(&admin.password)]).await?;
    let found: Vec<i32> = session
        .column("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
        .await?;
    if found.is_empty() {
        return Ok(());
    }
    session.hold_role_changes(timeout).await?;
    // Asked first: an owner that does not exist fails here, before anything changed.
    let row = session
        .row(
            "SELECT pg_has_role($1::name, 'USAGE'), pg_has_role($2::name, 'USAGE')",
            &[&name, &owner],
        )
        .await?;
    let (acts_as_login, acts_as_owner): (bool, bool) = (get(&row, 0)?, get(&row, 1)?);
    let (login, owner_name) = (quote_ident(name), quote_ident(owner));
    session
        .run_unless_absent(&format!("ALTER ROLE {login} NOLOGIN"))
        .await?;
    if !acts_as_login {
        session
            .run(&format!("GRANT {login} TO CURRENT_USER"))
            .await?;
    }
    session
        .rows(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE usename = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .await?;
    let (grant, revoke) = if acts_as_owner {
        (String::new(), String::new())
    } else {
        (
            format!("GRANT {owner_name} TO CURRENT_USER; "),
            format!("; REVOKE {owner_name} FROM CURRENT_USER"),
        )
    };
    // Several statements in one simple query are one transaction.
    session
        .run(&format!(
            "{grant}REASSIGN OWNED BY {login} TO {owner_name}; DROP OWNED BY {login}; \
             DROP ROLE {login}{revoke}"
        ))
        .await
}

pub(super) async fn logins_with_prefix(
    admin: &DatabaseLogin,
    prefix: &str,
    timeout: Duration,
    trust: &Trust,
) -> Result<Vec<String>, TestFailure> {
    Session::open(admin, timeout, trust, vec![Some(&admin.password)])
        .await?
        .column(
            "SELECT rolname::text FROM pg_roles WHERE starts_with(rolname, $1)",
            &[&prefix],
        )
        .await
}

/// A connection as the admin whose failures never quote `secrets`.
struct Session<'a> {
    client: Client,
    notices: Notices,
    target: String,
    secrets: Vec<Option<&'a SecretString>>,
}

impl<'a> Session<'a> {
    async fn open(
        admin: &DatabaseLogin,
        timeout: Duration,
        trust: &Trust,
        secrets: Vec<Option<&'a SecretString>>,
    ) -> Result<Self, TestFailure> {
        let (client, notices) = connect_as(admin, "strongroom-logins", timeout, trust).await?;
        Ok(Session {
            client,
            notices,
            target: super::target(admin),
            secrets,
        })
    }

    fn failed(&self, error: &tokio_postgres::Error) -> TestFailure {
        crate::postgres::classify(error, &self.target, &self.secrets)
    }

    /// Waits (at most `timeout`) until no other Strongroom session changes roles or grants in
    /// this database, and holds that until the session ends (one round trip). PostgreSQL refuses two
    /// transactions updating one catalog row together ("tuple concurrently updated"): logins
    /// made together are granted on the same tables, and a rotation and a revocation may alter
    /// the same role.
    async fn hold_role_changes(&self, timeout: Duration) -> Result<(), TestFailure> {
        self.run(&format!(
            "SET lock_timeout = {}; SELECT pg_advisory_lock({ROLE_CHANGES_LOCK})",
            timeout.as_millis()
        ))
        .await
    }

    /// Runs `statement` (one or several) with the simple protocol.
    async fn run(&self, statement: &str) -> Result<(), TestFailure> {
        run(&self.client, statement, &self.target, &self.secrets)
            .await
            .map(drop)
    }

    /// Runs `statement` on a role; a role that does not exist is no failure.
    async fn run_unless_absent(&self, statement: &str) -> Result<(), TestFailure> {
        match self.client.batch_execute(statement).await {
            Err(error) if error.code() == Some(&SqlState::UNDEFINED_OBJECT) => Ok(()),
            result => result.map_err(|error| self.failed(&error)),
        }
    }

    /// Runs a `GRANT`, failing when the server granted nothing for want of a grant option.
    async fn granting(&mut self, statement: &str) -> Result<(), TestFailure> {
        self.run(statement).await?;
        match self.not_granted() {
            None => Ok(()),
            Some(warning) => Err(failure(
                FailureKind::PermissionDenied,
                Origin::Warehouse,
                format!(
                    "the admin login holds no grant option: {} (SQLSTATE {})",
                    server_said(warning.message(), &self.secrets),
                    warning.code().code()
                ),
            )),
        }
    }

    /// The first "no privileges were granted" warning since the last call, if any.
    fn not_granted(&mut self) -> Option<tokio_postgres::error::DbError> {
        let mut found = None;
        while let Ok(notice) = self.notices.try_recv() {
            if found.is_none() && *notice.code() == SqlState::WARNING_PRIVILEGE_NOT_GRANTED {
                found = Some(notice);
            }
        }
        found
    }

    async fn rows(
        &self,
        query: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, TestFailure> {
        self.client
            .query(query, params)
            .await
            .map_err(|error| self.failed(&error))
    }

    async fn row(&self, query: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, TestFailure> {
        self.client
            .query_one(query, params)
            .await
            .map_err(|error| self.failed(&error))
    }

    /// The first column of a query answering one row.
    async fn value<T: FromSqlOwned>(
        &self,
        query: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<T, TestFailure> {
        get(&self.row(query, params).await?, 0)
    }

    /// The first column of every row.
    async fn column<T: FromSqlOwned>(
        &self,
        query: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<T>, TestFailure> {
        self.rows(query, params)
            .await?
            .iter()
            .map(|row| get(row, 0))
            .collect()
    }
}

/// Column `index` of `row`, without the panic of `Row::get`.
fn get<T: FromSqlOwned>(row: &Row, index: usize) -> Result<T, TestFailure> {
    row.try_get(index).map_err(|error| {
        failure(
            FailureKind::Other,
            Origin::Strongroom,
            format!("an answer of unexpected shape: {error}"),
        )
    })
}
