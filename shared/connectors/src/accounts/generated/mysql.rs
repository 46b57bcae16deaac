//! MySQL and MariaDB: a login is the account `'<name>'@'%'`. Account statements commit one by
//! one here, so a creation that fails halfway drops the account again. There is no `VALID
//! UNTIL`: where the event scheduler runs, an event in the admin's database drops the account
//! when it expires (as its definer, the admin); elsewhere only the sweeper ends it.

use credential_model::generated::{LoginGrants, NewLogin};
use credential_model::ports::{FailureKind, TestFailure};
use credential_model::rotation::DatabaseLogin;
use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Conn, Params, params};
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{absent, may_not, utc};
use crate::accounts::mysql::{Flavor, account, connect, identified_by, native_hash, quote_name};
use crate::accounts::{Trust, invalid, target};
use crate::mysql::classify;

/// What an expiry event's name starts with; the login's name follows.
const EVENT_PREFIX: &str = "strongroom_expire_";
/// MySQL's longest event name.
const MAX_EVENT_NAME: usize = 64;

/// `ER_PARSE_ERROR`: a server too old for a statement.
const PARSE_ERROR: u16 = 1064;
/// `ER_NO_SUCH_THREAD`: a session that ended by itself.
const NO_SUCH_THREAD: u16 = 1094;
/// `ER_KILL_DENIED_ERROR`: RDS's admin ends sessions with `mysql.rds_kill` instead.
const KILL_DENIED: u16 = 1095;

// Each call opens, works and closes in turn: a helper taking the work as an async closure
// would make the trait's futures not `Send` (the closure's lifetimes are not general enough).

pub(super) async fn check_admin(
    admin: &DatabaseLogin,
    grants: &LoginGrants,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let mut session = Session::open(admin, trust, vec![Some(&admin.password)]).await?;
    let result = check(&mut session, admin, grants).await;
    session.close().await;
    result
}

/// The admin's global `CREATE USER`, `PROCESS` (to find a login's sessions) and `SELECT` on
/// `mysql.user`; what `grants` names; the admin option for each role and a grant option for
/// each table privilege; and what default roles and expiry events need.
async fn check(
    session: &mut Session<'_>,
    admin: &DatabaseLogin,
    grants: &LoginGrants,
) -> Result<(), TestFailure> {
    one_role_on_mariadb(session.flavor, grants)?;
    let grantee = session.grantee().await?;
    if !session
        .holds(&grantee, "CREATE USER", None, None, false)
        .await?
    {
        return Err(may_not(
            admin,
            "create users: it lacks the global CREATE USER privilege",
        ));
    }
    if !session
        .holds(&grantee, "PROCESS", None, None, false)
        .await?
    {
        return Err(may_not(
            admin,
            "see the sessions of a login it drops: it lacks the global PROCESS privilege",
        ));
    }
    let user_table = (Some("mysql"), Some("user"));
    if !session
        .holds(&grantee, "SELECT", user_table.0, user_table.1, false)
        .await?
    {
        return Err(may_not(
            admin,
            "read mysql.user, where logins and roles are found: it lacks SELECT on it",
        ));
    }
    exist(session, grants).await?;
    for role in &grants.roles {
        let query = "SELECT COUNT(*) FROM information_schema.APPLICABLE_ROLES \
                     WHERE ROLE_NAME = ? AND IS_GRANTABLE = 'YES'";
        if session.count(query, (role,)).await? == 0
            && !session
                .holds(&grantee, "ROLE_ADMIN", None, None, false)
                .await?
        {
            return Err(may_not(
                admin,
                &format!("grant the role `{role}`: it holds no admin option for it"),
            ));
        }
    }
    for grant in &grants.tables {
        for privilege in &grant.privileges {
            let (schema, table) = (Some(grant.schema.as_str()), grant.table.as_deref());
            if !session
                .holds(&grantee, privilege.keyword(), schema, table, true)
                .await?
            {
                return Err(may_not(
                    admin,
                    &format!(
                        "grant {} on {}: it holds no grant option for it",
                        privilege.keyword(),
                        on(&grant.schema, table)
                    ),
                ));
            }
        }
    }
    if session.flavor == Flavor::Mariadb
        && !grants.roles.is_empty()
        && !session
            .holds(&grantee, "UPDATE", Some("mysql"), None, false)
            .await?
    {
        return Err(may_not(
            admin,
            "set a login's default role: MariaDB asks for UPDATE on the mysql database",
        ));
    }
    if let Some(database) = &admin.dbname
        && session.scheduler().await? == "ON"
        && !session
            .holds(&grantee, "EVENT", Some(database), None, false)
            .await?
    {
        return Err(may_not(
            admin,
            &format!("create a login's expiry event: it lacks EVENT on `{database}`"),
        ));
    }
    Ok(())
}

pub(super) async fn create_login(
    admin: &DatabaseLogin,
    login: &NewLogin<'_>,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let hash = native_hash(login.password);
    let secrets = vec![Some(&admin.password), Some(login.password), Some(&hash)];
    let mut session = Session::open(admin, trust, secrets).await?;
    let result = create(&mut session, admin, login, &hash).await;
    session.close().await;
    result
}

/// The account with its password, then its grants, default role and expiry event; any
/// failure after the account exists drops it again.
async fn create(
    session: &mut Session<'_>,
    admin: &DatabaseLogin,
    login: &NewLogin<'_>,
    hash: &SecretString,
) -> Result<(), TestFailure> {
    one_role_on_mariadb(session.flavor, login.grants)?;
    // A database-wide grant on a database that does not exist succeeds, and would reach one
    // made later under that name: refused before anything is made.
    exist(session, login.grants).await?;
    let account = account(login.name, "%");
    let identified = identified_by(session.flavor, login.password, hash)?;
    let statement = SecretString::from(format!(
        "CREATE USER {account} {}",
        identified.expose_secret()
    ));
    session.run(statement.expose_secret()).await?;
    let Err(mut failure) = grant(session, admin, login, &account).await else {
        return Ok(());
    };
    if let Err(undone) = session.run(&format!("DROP USER IF EXISTS {account}")).await {
        failure.detail = format!(
            "{}; dropping the half-made login failed too: {}",
            failure.detail, undone.detail
        );
    }
    Err(failure)
}

async fn grant(
    session: &mut Session<'_>,
    admin: &DatabaseLogin,
    login: &NewLogin<'_>,
    account: &str,
) -> Result<(), TestFailure> {
    for grant in &login.grants.tables {
        // MySQL has no privilege of using a database by itself: none asked, none granted.
        if grant.privileges.is_empty() {
            continue;
        }
        let privileges: Vec<&str> = grant.privileges.iter().map(|p| p.keyword()).collect();
        let on = on(&grant.schema, grant.table.as_deref());
        session
            .run(&format!(
                "GRANT {} ON {on} TO {account}",
                privileges.join(", ")
            ))
            .await?;
    }
    for role in &login.grants.roles {
        session
            .run(&format!("GRANT {} TO {account}", quote_name(role)))
            .await?;
    }
    // A granted role is active only once set as a default one (MariaDB: a single one).
    let default_role = match (session.flavor, login.grants.roles.first()) {
        (_, None) => None,
        (Flavor::Mariadb, Some(role)) => Some(format!(
            "SET DEFAULT ROLE {} FOR {account}",
            quote_name(role)
        )),
        (Flavor::Mysql, Some(_)) => Some(format!("SET DEFAULT ROLE ALL TO {account}")),
    };
    if let Some(statement) = default_role {
        session.run(&statement).await?;
    }
    schedule_expiry(session, admin, login.name, login.valid_until).await
}

/// Where the scheduler runs and the admin names a database: an event there that drops the
/// account at `valid_until` (UTC; at once when that has passed), replacing any earlier one.
async fn schedule_expiry(
    session: &mut Session<'_>,
    admin: &DatabaseLogin,
    name: &str,
    valid_until: OffsetDateTime,
) -> Result<(), TestFailure> {
    let Some(database) = admin.dbname.as_deref() else {
        tracing::warn!(
            login = name,
            "the admin login names no database to hold an expiry event: only the sweeper ends the login"
        );
        return Ok(());
    };
    let scheduler = session.scheduler().await?;
    if scheduler != "ON" {
        tracing::warn!(
            login = name,
            event_scheduler = scheduler,
            "the event scheduler is not running: only the sweeper ends the login"
        );
        return Ok(());
    }
    let at = utc(
        valid_until,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"),
    )?;
    let event = event(database, name);
    // The event keeps the session's time zone: UTC, like `at`.
    session.run("SET time_zone = '+00:00'").await?;
    session
        .run(&format!("DROP EVENT IF EXISTS {event}"))
        .await?;
    session
        .run(&format!(
            "CREATE EVENT {event} ON SCHEDULE AT GREATEST(TIMESTAMP '{at}', \
             CURRENT_TIMESTAMP + INTERVAL 1 SECOND) DO DROP USER IF EXISTS {}",
            account(name, "%")
        ))
        .await
}

pub(super) async fn expire_login(
    admin: &DatabaseLogin,
    name: &str,
    valid_until: OffsetDateTime,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let mut session = Session::open(admin, trust, vec![Some(&admin.password)]).await?;
    let result = match session.exists(name).await {
        Ok(true) => schedule_expiry(&mut session, admin, name, valid_until).await,
        other => other.map(drop),
    };
    session.close().await;
    result
}

pub(super) async fn drop_login(
    admin: &DatabaseLogin,
    name: &str,
    trust: &Trust,
) -> Result<(), TestFailure> {
    let mut session = Session::open(admin, trust, vec![Some(&admin.password)]).await?;
    let result = revoke(&mut session, admin, name).await;
    session.close().await;
    result
}

/// Locked first (where the server can), so no session starts while its sessions are ended;
/// then dropped, with its expiry event.
async fn revoke(
    session: &mut Session<'_>,
    admin: &DatabaseLogin,
    name: &str,
) -> Result<(), TestFailure> {
    let account = account(name, "%");
    if session.exists(name).await? {
        match session
            .conn
            .query_drop(format!("ALTER USER {account} ACCOUNT LOCK"))
            .await
        {
            Err(mysql_async::Error::Server(error)) if error.code == PARSE_ERROR => {}
            result => result.map_err(|error| session.failed(&error))?,
        }
        let sessions: Vec<u64> = session
            .column(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?",
                (name,),
            )
            .await?;
        for id in sessions {
            end_session(session, id).await?;
        }
        session
            .run(&format!("DROP USER IF EXISTS {account}"))
            .await?;
    }
    let Some(database) = admin.dbname.as_deref() else {
        return Ok(());
    };
    let events: Vec<u64> = session
        .column(
            "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?",
            (database, event_name(name)),
        )
        .await?;
    if events.iter().sum::<u64>() > 0 {
        session
            .run(&format!("DROP EVENT IF EXISTS {}", event(database, name)))
            .await?;
    }
    Ok(())
}

async fn end_session(session: &mut Session<'_>, id: u64) -> Result<(), TestFailure> {
    let error = match session
        .conn
        .query_drop(format!("KILL CONNECTION {id}"))
        .await
    {
        Ok(()) => return Ok(()),
        Err(mysql_async::Error::Server(error)) if error.code == NO_SUCH_THREAD => return Ok(()),
        Err(error) => error,
    };
    if let mysql_async::Error::Server(server) = &error
        && server.code == KILL_DENIED
        && session
            .conn
            .exec_drop("CALL mysql.rds_kill(?)", (id,))
            .await
            .is_ok()
    {
        return Ok(());
    }
    Err(session.failed(&error))
}

pub(super) async fn logins_with_prefix(
    admin: &DatabaseLogin,
    prefix: &str,
    trust: &Trust,
) -> Result<Vec<String>, TestFailure> {
    let mut session = Session::open(admin, trust, vec![Some(&admin.password)]).await?;
    let roles = match session.flavor {
        Flavor::Mariadb => " AND is_role = 'N'",
        Flavor::Mysql => "",
    };
    let query = format!(
        "SELECT DISTINCT User FROM mysql.user WHERE Host = '%' AND User LIKE ? ESCAPE '!'{roles}"
    );
    let result = session.column(&query, (like_prefix(prefix),)).await;
    session.close().await;
    result
}

/// A `LIKE` pattern (escape `!`) for the names that start with `prefix` as written: login
/// names hold `_`, which `LIKE` would take for any character.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 8);
    for c in prefix.chars() {
        if matches!(c, '!' | '%' | '_') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// MariaDB activates one default role at login, so a second granted role would be inert.
fn one_role_on_mariadb(flavor: Flavor, grants: &LoginGrants) -> Result<(), TestFailure> {
    if flavor == Flavor::Mariadb && grants.roles.len() > 1 {
        return Err(invalid(
            "MariaDB activates a single role at login: grant one role (it may hold the others)",
        ));
    }
    Ok(())
}

/// The roles, databases and tables `grants` names, each checked to exist.
async fn exist(session: &mut Session<'_>, grants: &LoginGrants) -> Result<(), TestFailure> {
    let role_query = match session.flavor {
        Flavor::Mariadb => "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND is_role = 'Y'",
        Flavor::Mysql => "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = '%'",
    };
    let mut missing = Vec::new();
    for role in &grants.roles {
        if session.count(role_query, (role,)).await? == 0 {
            missing.push(("role", role.clone()));
        }
    }
    for grant in &grants.tables {
        let schema = grant.schema.as_str();
        let query = "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
        let (what, name) = if session.count(query, (schema,)).await? == 0 {
            ("database", schema.to_owned())
        } else if let Some(table) = &grant.table {
            let query = "SELECT COUNT(*) FROM information_schema.TABLES \
                         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
            if session.count(query, (schema, table)).await? > 0 {
                continue;
            }
            ("table", format!("{schema}.{table}"))
        } else {
            continue;
        };
        if !missing.iter().any(|(w, n)| *w == what && *n == name) {
            missing.push((what, name));
        }
    }
    absent(&missing)
}

/// `schema.table`, or every table of `schema`, for a `GRANT`.
fn on(schema: &str, table: Option<&str>) -> String {
    match table {
        Some(table) => format!("{}.{}", quote_name(schema), quote_name(table)),
        None => format!("{}.*", quote_name(schema)),
    }
}

/// The expiry event of the login `name`, in `database`.
fn event(database: &str, name: &str) -> String {
    format!("{}.{}", quote_name(database), quote_name(&event_name(name)))
}

/// `strongroom_expire_<name>`; a name too long for that is cut and told apart by its hash.
fn event_name(name: &str) -> String {
    if EVENT_PREFIX.len() + name.len() <= MAX_EVENT_NAME {
        return format!("{EVENT_PREFIX}{name}");
    }
    let digest = Sha1::digest(name.as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let room = MAX_EVENT_NAME - EVENT_PREFIX.len() - 1 - hash.len();
    let cut: String = name.chars().take(room).collect();
    format!("{EVENT_PREFIX}{cut}_{hash}")
}

/// A connection as the admin whose failures never quote `secrets`, and what it speaks.
struct Session<'a> {
    conn: Conn,
    flavor: Flavor,
    target: String,
    secrets: Vec<Option<&'a SecretString>>,
}

impl<'a> Session<'a> {
    async fn open(
        admin: &DatabaseLogin,
        trust: &Trust,
        secrets: Vec<Option<&'a SecretString>>,
    ) -> Result<Session<'a>, TestFailure> {
        let target = target(admin);
        let mut conn = connect(admin, trust).await?;
        let flavor = Flavor::of(&mut conn, &target).await?;
        Ok(Session {
            conn,
            flavor,
            target,
            secrets,
        })
    }

    /// Closing politely is a courtesy: the answer is the statements'.
    async fn close(self) {
        let _ = self.conn.disconnect().await;
    }

    /// What a statement's error says. Logged in, an "access denied" (MariaDB refuses a role
    /// grant without the admin option so) is a privilege the admin lacks, not a bad password.
    fn failed(&self, error: &mysql_async::Error) -> TestFailure {
        let mut failure = classify(error, &self.target, &self.secrets);
        if failure.kind == FailureKind::Authentication {
            failure.kind = FailureKind::PermissionDenied;
        }
        failure
    }

    async fn run(&mut self, statement: &str) -> Result<(), TestFailure> {
        let result = self.conn.query_drop(statement).await;
        result.map_err(|error| self.failed(&error))
    }

    async fn column<T: FromValue + Send + 'static>(
        &mut self,
        query: &str,
        params: impl Into<Params> + Send,
    ) -> Result<Vec<T>, TestFailure> {
        let result = self.conn.exec(query, params).await;
        result.map_err(|error| self.failed(&error))
    }

    async fn count(
        &mut self,
        query: &str,
        params: impl Into<Params> + Send,
    ) -> Result<u64, TestFailure> {
        Ok(self.column::<u64>(query, params).await?.iter().sum())
    }

    async fn exists(&mut self, name: &str) -> Result<bool, TestFailure> {
        let query = "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = '%'";
        Ok(self.count(query, (name,)).await? > 0)
    }

    /// `ON`, `OFF` or `DISABLED`.
    async fn scheduler(&mut self) -> Result<String, TestFailure> {
        let state: Vec<String> = self.column("SELECT @@event_scheduler", ()).await?;
        Ok(state.into_iter().next().unwrap_or_default())
    }

    /// The admin as `information_schema` names grantees: `'user'@'host'`.
    async fn grantee(&mut self) -> Result<String, TestFailure> {
        let current: Vec<String> = self.column("SELECT CURRENT_USER()", ()).await?;
        let current = current.into_iter().next().unwrap_or_default();
        let (user, host) = current.rsplit_once('@').unwrap_or((&current, "%"));
        Ok(format!("'{user}'@'{host}'"))
    }

    /// Whether `grantee` holds `privilege` globally, on `schema` (a database-level grant whose
    /// name is a pattern counts) or on `schema.table`; with its grant option when `grantable`.
    async fn holds(
        &mut self,
        grantee: &str,
        privilege: &str,
        schema: Option<&str>,
        table: Option<&str>,
        grantable: bool,
    ) -> Result<bool, TestFailure> {
        let query = "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES \
             WHERE GRANTEE = :grantee AND PRIVILEGE_TYPE = :privilege \
               AND (IS_GRANTABLE = 'YES' OR NOT :grantable) \
             UNION ALL SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES \
             WHERE GRANTEE = :grantee AND :schema LIKE TABLE_SCHEMA \
               AND PRIVILEGE_TYPE = :privilege AND (IS_GRANTABLE = 'YES' OR NOT :grantable) \
             UNION ALL SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES \
             WHERE GRANTEE = :grantee AND TABLE_SCHEMA = :schema AND TABLE_NAME = :table \
               AND PRIVILEGE_TYPE = :privilege AND (IS_GRANTABLE = 'YES' OR NOT :grantable)";
        let params = params! {
            "grantee" => grantee,
            "privilege" => privilege,
            "grantable" => grantable,
            "schema" => schema,
            "table" => table,
        };
        Ok(self.count(query, params).await? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_matches_itself_only_and_event_names_fit() {
        assert_eq!(like_prefix("sr_app!%"), "sr!_app!!!%%");
        assert_eq!(event_name("sr_app_1"), "strongroom_expire_sr_app_1");
        let long = "a".repeat(80);
        let name = event_name(&long);
        assert_eq!(name.len(), MAX_EVENT_NAME);
        assert_ne!(name, event_name(&format!("{long}b")));
    }
}
