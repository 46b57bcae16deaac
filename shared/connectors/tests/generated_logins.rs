//! Generated logins against real servers, each made by an admin the way managed databases
//! hand one over: on the password-checking PostgreSQL that `make test` starts (every statement
//! logged), a role that is not superuser but has CREATEROLE, like RDS's master user; on this
//! machine's MariaDB, an account with RDS's global privileges but not SUPER. Each test makes
//! its own admin, schemas and roles, so they run in parallel.

mod common;

use std::time::Duration;

use common::databases::{
    assert_fails, ident, maria_conn, maria_connect, maria_exec, maria_login, pg_client, pg_connect,
    pg_exec, pg_login, pg_role, pg_statement_log, secret,
};
use common::{TIMEOUT, canary};
use credential_model::generated::{
    GeneratedLogins, LoginGrants, NewLogin, TableGrant, TablePrivilege,
};
use credential_model::ports::{FailureKind, TestFailure};
use credential_model::rotation::DatabaseLogin;
use mysql_async::prelude::Queryable;
use secrecy::{ExposeSecret, SecretString};
use strongroom_connectors::GeneratedLoginsDriver;
use strongroom_local_stack::testing::{self, ScramPostgres, ServerLogin};
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;

use TablePrivilege::{Insert, Select};

fn driver() -> GeneratedLoginsDriver {
    GeneratedLoginsDriver::new(TIMEOUT)
}

fn on(privileges: &[TablePrivilege], schema: &str, table: Option<&str>) -> TableGrant {
    TableGrant {
        privileges: privileges.to_vec(),
        schema: schema.to_owned(),
        table: table.map(str::to_owned),
    }
}

fn new_login<'a>(
    name: &'a str,
    password: &'a SecretString,
    valid_until: OffsetDateTime,
    grants: &'a LoginGrants,
) -> NewLogin<'a> {
    NewLogin {
        name,
        password,
        valid_until,
        grants,
    }
}

/// `seconds` from now, to the whole second (as the databases keep it).
fn in_seconds(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("a whole second")
        + time::Duration::seconds(seconds)
}

/// Sleeps until `instant` has passed by `margin`.
async fn sleep_past(instant: OffsetDateTime, margin: Duration) {
    let left = instant - OffsetDateTime::now_utc();
    let left = Duration::try_from(left).unwrap_or_default();
    tokio::time::sleep(left + margin).await;
}

// PostgreSQL

/// A test's own admin and objects on one server: the schemas (MariaDB: databases) `app`
/// (tables `t1`, `t2`) and `other` (table `t3`), and the role `reader`, which may read
/// `other.t3` and which the admin may grant.
struct Fixture<S> {
    server: S,
    admin: DatabaseLogin,
    suffix: String,
    app: String,
    other: String,
    reader: String,
}

impl<S> Fixture<S> {
    /// Fresh names on `server`, the admin's login made by `login`.
    fn named(server: S, login: fn(&S, &str, &SecretString) -> DatabaseLogin) -> Self {
        let suffix = testing::unique_suffix();
        // Set by the server administrator's statement, which is logged: not a canary.
        let password = secret(&format!("admin-{suffix}"));
        let admin = login(&server, &format!("adm_{suffix}"), &password);
        Fixture {
            server,
            admin,
            app: format!("app_{suffix}"),
            other: format!("other_{suffix}"),
            reader: format!("reader_{suffix}"),
            suffix,
        }
    }

    /// Creates the login `name` with [`Self::grants`], for an hour.
    async fn create(&self, name: &str, password: &SecretString) -> Result<(), TestFailure> {
        let in_an_hour = in_seconds(3600);
        driver()
            .create_login(
                &self.admin,
                new_login(name, password, in_an_hour, &self.grants()),
            )
            .await
    }

    /// The role `reader`, and SELECT on `app.t1`.
    fn grants(&self) -> LoginGrants {
        LoginGrants {
            roles: vec![self.reader.clone()],
            tables: vec![on(&[Select], &self.app, Some("t1"))],
        }
    }
}

type Pg = Fixture<ScramPostgres>;

impl Pg {
    /// As RDS hands a database over: the admin is not superuser but has CREATEROLE, and owns
    /// the schemas, tables and role.
    async fn new() -> Option<Pg> {
        let pg = Pg::named(testing::scram_postgres()?, pg_login);
        let Fixture {
            admin,
            app,
            other,
            reader,
            ..
        } = &pg;
        let name = &admin.username;
        pg_exec(
            &pg.server,
            &format!(
                "CREATE ROLE {name} LOGIN CREATEROLE PASSWORD '{}'; \
                 CREATE SCHEMA {app} AUTHORIZATION {name}; \
                 CREATE SCHEMA {other} AUTHORIZATION {name};",
                admin.password.expose_secret()
            ),
        )
        .await;
        pg_client(&pg.server, name, &admin.password)
            .await
            .batch_execute(&format!(
                "CREATE TABLE {app}.t1 AS SELECT 1 AS i; CREATE TABLE {app}.t2 AS SELECT 2 AS i; \
                 CREATE TABLE {other}.t3 AS SELECT 3 AS i; CREATE ROLE {reader}; \
                 GRANT USAGE ON SCHEMA {other} TO {reader}; GRANT SELECT ON {other}.t3 TO {reader};"
            ))
            .await
            .expect("the admin makes its tables and role");
        Some(pg)
    }

    async fn as_admin(&self) -> tokio_postgres::Client {
        pg_client(&self.server, &self.admin.username, &self.admin.password).await
    }

    async fn superuser(&self) -> tokio_postgres::Client {
        pg_client(&self.server, &self.server.superuser, &self.server.password).await
    }

    async fn exists(&self, role: &str) -> bool {
        self.superuser()
            .await
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])
            .await
            .expect("pg_roles reads")
            .is_some()
    }

    /// `rolvaliduntil` as a Unix time.
    async fn valid_until(&self, role: &str) -> Option<i64> {
        self.superuser()
            .await
            .query_one(
                "SELECT extract(epoch FROM rolvaliduntil)::bigint FROM pg_roles WHERE rolname = $1",
                &[&role],
            )
            .await
            .expect("the role is found")
            .get(0)
    }
}

/// Whether `statement` is refused for want of a privilege.
async fn pg_refused(client: &tokio_postgres::Client, statement: &str) -> bool {
    match client.simple_query(statement).await {
        Ok(_) => false,
        Err(error) => error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE),
    }
}

#[tokio::test]
async fn postgres_admins_are_checked_for_createrole_their_password_and_what_grants_name() {
    let Some(pg) = Pg::new().await else {
        return;
    };
    let driver = driver();
    driver
        .check_admin(&pg.admin, &pg.grants())
        .await
        .expect("a CREATEROLE admin passes");
    let plain = format!("plain_{}", pg.suffix);
    pg_role(&pg.server, &plain, "plain-password").await;
    let refused = assert_fails(
        driver
            .check_admin(
                &pg_login(&pg.server, &plain, &secret("plain-password")),
                &pg.grants(),
            )
            .await,
        FailureKind::PermissionDenied,
        &["plain-password"],
    );
    assert!(refused.detail.contains("may not create roles"), "{refused}");
    let wrong = canary();
    let refused = assert_fails(
        driver
            .check_admin(
                &pg.admin.as_user(&pg.admin.username, secret(&wrong)),
                &pg.grants(),
            )
            .await,
        FailureKind::Authentication,
        &[&wrong],
    );
    assert!(
        refused.detail.contains("password authentication failed"),
        "{refused}"
    );
    let unknown = LoginGrants {
        roles: vec![pg.reader.clone(), format!("nobody_{}", pg.suffix)],
        tables: vec![
            on(&[Select], &format!("nowhere_{}", pg.suffix), None),
            on(&[Select], &pg.app, Some("t9")),
        ],
    };
    let refused = assert_fails(
        driver.check_admin(&pg.admin, &unknown).await,
        FailureKind::InvalidSettings,
        &[],
    );
    for named in [
        format!("role `nobody_{}`", pg.suffix),
        format!("schema `nowhere_{}`", pg.suffix),
        format!("table `{}.t9`", pg.app),
    ] {
        assert!(refused.detail.contains(&named), "{named}: {refused}");
    }
    assert!(!refused.detail.contains(&pg.reader), "{refused}");
}

#[tokio::test]
async fn postgres_a_login_may_do_what_its_grants_allow_and_no_more_until_valid_until() {
    let Some(pg) = Pg::new().await else {
        return;
    };
    let driver = driver();
    let (name, password) = (format!("gl_{}", pg.suffix), secret(&canary()));
    let valid_until = in_seconds(3600);
    let grants = pg.grants();
    driver
        .create_login(&pg.admin, new_login(&name, &password, valid_until, &grants))
        .await
        .expect("created");
    assert_eq!(
        pg.valid_until(&name).await,
        Some(valid_until.unix_timestamp())
    );
    let login = pg_client(&pg.server, &name, &password).await;
    let (app, other) = (&pg.app, &pg.other);
    login
        .simple_query(&format!("SELECT i FROM {app}.t1"))
        .await
        .expect("the granted table");
    login
        .simple_query(&format!("SELECT i FROM {other}.t3"))
        .await
        .expect("a table of the role it inherits");
    assert!(pg_refused(&login, &format!("SELECT i FROM {app}.t2")).await);
    assert!(pg_refused(&login, &format!("INSERT INTO {app}.t1 VALUES (9)")).await);

    // Every table of a schema, SELECT and INSERT.
    let (every, password) = (format!("gl_all_{}", pg.suffix), secret(&canary()));
    let grants = LoginGrants {
        roles: Vec::new(),
        tables: vec![on(&[Select, Insert], app, None)],
    };
    driver
        .create_login(
            &pg.admin,
            new_login(&every, &password, valid_until, &grants),
        )
        .await
        .expect("created");
    let login = pg_client(&pg.server, &every, &password).await;
    login
        .batch_execute(&format!(
            "SELECT i FROM {app}.t1; SELECT i FROM {app}.t2; INSERT INTO {app}.t2 VALUES (4)"
        ))
        .await
        .expect("every table of the schema");
    assert!(pg_refused(&login, &format!("SELECT i FROM {other}.t3")).await);
    assert!(pg_refused(&login, &format!("DELETE FROM {app}.t2")).await);
}

#[tokio::test]
async fn postgres_refuses_a_login_by_itself_once_valid_until_has_passed() {
    let Some(pg) = Pg::new().await else {
        return;
    };
    let (name, password) = (format!("gl_{}", pg.suffix), secret(&canary()));
    let valid_until = in_seconds(3);
    driver()
        .create_login(
            &pg.admin,
            new_login(&name, &password, valid_until, &LoginGrants::default()),
        )
        .await
        .expect("created");
    pg_connect(&pg.server, &name, &password)
        .await
        .expect("logs in before valid_until");
    sleep_past(valid_until, Duration::from_millis(500)).await;
    let refused = pg_connect(&pg.server, &name, &password)
        .await
        .expect_err("refused after valid_until");
    assert_eq!(
        refused.code(),
        Some(&SqlState::INVALID_PASSWORD),
        "{refused}"
    );
}

#[tokio::test]
async fn postgres_a_failed_creation_leaves_no_role() {
    let Some(pg) = Pg::new().await else {
        return;
    };
    let driver = driver();
    let canaries = [canary(), canary()];
    // Past check_admin: a schema that does not exist.
    let missing = format!("gl_missing_{}", pg.suffix);
    let grants = LoginGrants {
        roles: vec![pg.reader.clone()],
        tables: vec![on(&[Select], &format!("nowhere_{}", pg.suffix), None)],
    };
    let failed = assert_fails(
        driver
            .create_login(
                &pg.admin,
                new_login(&missing, &secret(&canaries[0]), in_seconds(60), &grants),
            )
            .await,
        FailureKind::Other,
        &[&canaries[0]],
    );
    assert!(failed.detail.contains("does not exist"), "{failed}");
    assert!(!pg.exists(&missing).await, "the role was rolled back");

    // A table the admin may read but not grant: PostgreSQL only warns, the driver refuses.
    let locked = format!("{}.locked", pg.app);
    pg_exec(
        &pg.server,
        &format!(
            "CREATE TABLE {locked} (i int); GRANT SELECT ON {locked} TO {}",
            pg.admin.username
        ),
    )
    .await;
    let ungranted = format!("gl_ungranted_{}", pg.suffix);
    let grants = LoginGrants {
        roles: Vec::new(),
        tables: vec![on(&[Select], &pg.app, Some("locked"))],
    };
    let failed = assert_fails(
        driver
            .create_login(
                &pg.admin,
                new_login(&ungranted, &secret(&canaries[1]), in_seconds(60), &grants),
            )
            .await,
        FailureKind::PermissionDenied,
        &[&canaries[1]],
    );
    assert!(
        failed.detail.contains("no privileges were granted"),
        "{failed}"
    );
    assert!(!pg.exists(&ungranted).await, "the role was rolled back");
}

#[tokio::test]
async fn postgres_dropping_ends_sessions_hands_over_what_the_login_owns_and_is_idempotent() {
    let Some(pg) = Pg::new().await else {
        return;
    };
    let driver = driver();
    let (name, password) = (format!("gl_{}", pg.suffix), secret(&canary()));
    let owner = format!("owner_{}", pg.suffix);
    pg_exec(&pg.server, &format!("CREATE ROLE {owner}")).await;
    pg.create(&name, &password).await.expect("created");
    pg.as_admin()
        .await
        .batch_execute(&format!("GRANT CREATE ON SCHEMA {} TO {name}", pg.app))
        .await
        .expect("the login may create in app");
    let session = pg_client(&pg.server, &name, &password).await;
    session
        .batch_execute(&format!("CREATE TABLE {}.made (i int)", pg.app))
        .await
        .expect("the login makes a table");

    driver
        .drop_login(&pg.admin, &name, &owner)
        .await
        .expect("dropped");
    // pg_terminate_backend signals: the session ends a moment later.
    let mut ended = false;
    for _ in 0..50 {
        if session.simple_query("SELECT 1").await.is_err() {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the open session was terminated");
    assert!(pg_connect(&pg.server, &name, &password).await.is_err());
    assert!(!pg.exists(&name).await);
    let superuser = pg.superuser().await;
    let made_by: String = superuser
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE schemaname = $1 AND tablename = 'made'",
            &[&pg.app],
        )
        .await
        .expect("the table is still there")
        .get(0);
    assert_eq!(made_by, owner);
    let memberships: i64 = superuser
        .query_one(
            "SELECT count(*) FROM pg_auth_members \
             WHERE member = (SELECT oid FROM pg_roles WHERE rolname = $1)",
            &[&pg.admin.username],
        )
        .await
        .expect("memberships read")
        .get(0);
    assert_eq!(memberships, 0, "the admin keeps no membership it took");

    driver
        .drop_login(&pg.admin, &name, &owner)
        .await
        .expect("a login already gone is dropped");
}

#[tokio::test]
async fn postgres_expiry_moves_and_prefixes_list_exactly_their_logins() {
    let Some(pg) = Pg::new().await else {
        return;
    };
    let driver = driver();
    let prefix = format!("lp_{}_", pg.suffix);
    let (one, two) = (format!("{prefix}one"), format!("{prefix}two"));
    for name in [&one, &two] {
        driver
            .create_login(
                &pg.admin,
                new_login(name, &secret(&canary()), in_seconds(3600), &pg.grants()),
            )
            .await
            .expect("created");
    }
    // `_` matches only itself.
    for decoy in [
        format!("lp_{}xone", pg.suffix),
        format!("lpx{}_one", pg.suffix),
    ] {
        pg_exec(&pg.server, &format!("CREATE ROLE {decoy}")).await;
    }
    assert_eq!(
        driver.logins_with_prefix(&pg.admin, &prefix).await,
        Ok(vec![one.clone(), two.clone()])
    );

    let sooner = in_seconds(60);
    driver
        .expire_login(&pg.admin, &one, sooner)
        .await
        .expect("moved");
    assert_eq!(pg.valid_until(&one).await, Some(sooner.unix_timestamp()));
    driver
        .expire_login(&pg.admin, &format!("{prefix}absent"), sooner)
        .await
        .expect("a login already gone has nothing to move");
}

#[tokio::test]
async fn no_generated_password_reaches_the_postgres_statement_log() {
    let Some(pg) = Pg::new().await else {
        return;
    };
    let Some(log_path) = pg_statement_log() else {
        return;
    };
    let driver = driver();
    let canaries = [canary(), canary()];
    let name = format!("gl_{}", pg.suffix);
    driver
        .create_login(
            &pg.admin,
            new_login(&name, &secret(&canaries[0]), in_seconds(60), &pg.grants()),
        )
        .await
        .expect("created");
    let failed = LoginGrants {
        roles: Vec::new(),
        tables: vec![on(&[Select], &format!("nowhere_{}", pg.suffix), None)],
    };
    assert_fails(
        driver
            .create_login(
                &pg.admin,
                new_login(
                    &format!("{name}_failed"),
                    &secret(&canaries[1]),
                    in_seconds(60),
                    &failed,
                ),
            )
            .await,
        FailureKind::Other,
        &[&canaries[1]],
    );
    driver
        .drop_login(&pg.admin, &name, &pg.admin.username)
        .await
        .expect("dropped");
    let log = std::fs::read_to_string(&log_path).expect("the statement log reads");
    for canary in &canaries {
        assert!(!log.contains(canary), "a password reached PostgreSQL's log");
    }
    let statement = format!(
        "CREATE ROLE {} LOGIN PASSWORD 'SCRAM-SHA-256$4096:",
        ident(&name)
    );
    assert!(log.contains(&statement), "the log holds the creation");
}

// MariaDB

/// RDS's master user's global privileges on MariaDB, with CONNECTION ADMIN to end sessions.
const MARIADB_ADMIN_PRIVILEGES: &str = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, \
    PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, \
    EXECUTE, REPLICATION SLAVE, BINLOG MONITOR, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, \
    ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CONNECTION ADMIN";

type Maria = Fixture<ServerLogin>;

impl Maria {
    /// An admin with RDS's privileges whose database is `app`, and the event scheduler running.
    async fn new() -> Option<Maria> {
        let mut maria = Maria::named(testing::mariadb()?, maria_login);
        maria.admin.dbname = Some(maria.app.clone());
        let Fixture {
            admin,
            app,
            other,
            reader,
            ..
        } = &maria;
        let name = &admin.username;
        maria_exec(
            &maria.server,
            &[
                format!("CREATE DATABASE {app}"),
                format!("CREATE TABLE {app}.t1 (i int)"),
                format!("INSERT INTO {app}.t1 VALUES (1)"),
                format!("CREATE TABLE {app}.t2 (i int)"),
                format!("CREATE DATABASE {other}"),
                format!("CREATE TABLE {other}.t3 (i int)"),
                format!("CREATE ROLE {reader}"),
                format!("GRANT SELECT ON {other}.t3 TO {reader}"),
                format!(
                    "CREATE USER {name}@'%' IDENTIFIED BY '{}'",
                    admin.password.expose_secret()
                ),
                format!("GRANT {MARIADB_ADMIN_PRIVILEGES} ON *.* TO {name}@'%' WITH GRANT OPTION"),
                format!("GRANT {reader} TO {name}@'%' WITH ADMIN OPTION"),
                // This machine's shared server: turned on, never off (other tests may rely on it).
                "SET GLOBAL event_scheduler = ON".to_owned(),
            ],
        )
        .await;
        Some(maria)
    }

    async fn root(&self) -> mysql_async::Conn {
        maria_conn(&self.server, &self.server.user, &self.server.password).await
    }

    async fn exists(&self, user: &str) -> bool {
        let mut root = self.root().await;
        let found: Option<u64> = root
            .exec_first("SELECT COUNT(*) FROM mysql.user WHERE User = ?", (user,))
            .await
            .expect("mysql.user reads");
        let _ = root.disconnect().await;
        found.unwrap_or(0) > 0
    }

    /// When the expiry event of `user` runs, as a Unix time.
    async fn event_at(&self, user: &str) -> Option<i64> {
        let mut root = self.root().await;
        root.query_drop("SET time_zone = '+00:00'")
            .await
            .expect("UTC");
        let at: Option<i64> = root
            .exec_first(
                "SELECT CAST(UNIX_TIMESTAMP(CONVERT_TZ(EXECUTE_AT, TIME_ZONE, '+00:00')) AS SIGNED) \
                 FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?",
                (&self.app, format!("strongroom_expire_{user}")),
            )
            .await
            .expect("the events read");
        let _ = root.disconnect().await;
        at
    }

    /// Drops what the test made, `users` too.
    async fn clean(&self, users: &[&str]) {
        let mut statements = vec![
            format!("DROP DATABASE {}", self.app),
            format!("DROP DATABASE {}", self.other),
            format!("DROP ROLE {}", self.reader),
            format!("DROP USER {}@'%'", self.admin.username),
        ];
        statements.extend(
            users
                .iter()
                .map(|user| format!("DROP USER IF EXISTS `{user}`@'%'")),
        );
        maria_exec(&self.server, &statements).await;
    }
}

/// Whether `statement` is refused as `user`, for want of a privilege.
async fn maria_refused(conn: &mut mysql_async::Conn, statement: &str) -> bool {
    match conn.query_drop(statement).await {
        Ok(()) => false,
        // ER_TABLEACCESS_DENIED_ERROR
        Err(mysql_async::Error::Server(error)) => error.code == 1142,
        Err(_) => false,
    }
}

#[tokio::test]
async fn mariadb_admins_are_checked_for_create_user_grant_options_and_what_grants_name() {
    let Some(maria) = Maria::new().await else {
        return;
    };
    let driver = driver();
    let (weak, narrow) = (
        format!("weak_{}", maria.suffix),
        format!("narrow_{}", maria.suffix),
    );
    let app = &maria.app;
    maria_exec(
        &maria.server,
        &[
            format!("CREATE USER {weak}@'%' IDENTIFIED BY 'weak-password'"),
            format!("GRANT SELECT ON {app}.* TO {weak}@'%'"),
            format!("CREATE USER {narrow}@'%' IDENTIFIED BY 'narrow-password'"),
            format!("GRANT CREATE USER, PROCESS ON *.* TO {narrow}@'%'"),
            format!("GRANT SELECT ON {app}.* TO {narrow}@'%'"),
            format!("GRANT SELECT ON mysql.user TO {narrow}@'%'"),
        ],
    )
    .await;
    let outcomes = [
        driver.check_admin(&maria.admin, &maria.grants()).await,
        driver
            .check_admin(
                &maria.admin.as_user(&weak, secret("weak-password")),
                &maria.grants(),
            )
            .await,
        driver
            .check_admin(
                &maria.admin.as_user(&narrow, secret("narrow-password")),
                &LoginGrants {
                    roles: Vec::new(),
                    tables: vec![on(&[Select], app, Some("t1"))],
                },
            )
            .await,
        driver
            .check_admin(
                &maria.admin.as_user(&narrow, secret("narrow-password")),
                &maria.grants(),
            )
            .await,
        driver
            .check_admin(
                &maria
                    .admin
                    .as_user(&maria.admin.username, secret("wrong-password")),
                &maria.grants(),
            )
            .await,
        driver
            .check_admin(
                &maria.admin,
                &LoginGrants {
                    roles: vec![format!("nobody_{}", maria.suffix)],
                    tables: vec![
                        on(&[Select], &format!("nowhere_{}", maria.suffix), None),
                        on(&[Select], app, Some("t9")),
                    ],
                },
            )
            .await,
        driver
            .check_admin(
                &maria.admin,
                &LoginGrants {
                    roles: vec![maria.reader.clone(), maria.reader.clone()],
                    tables: Vec::new(),
                },
            )
            .await,
    ];
    maria.clean(&[weak.as_str(), narrow.as_str()]).await;
    let [
        proper,
        weak,
        no_grant_option,
        no_admin_option,
        wrong,
        unknown,
        two_roles,
    ] = outcomes;
    proper.expect("an admin like RDS's passes");
    let refused = assert_fails(weak, FailureKind::PermissionDenied, &["weak-password"]);
    assert!(refused.detail.contains("may not create users"), "{refused}");
    let refused = assert_fails(no_grant_option, FailureKind::PermissionDenied, &[]);
    assert!(refused.detail.contains("no grant option"), "{refused}");
    let refused = assert_fails(no_admin_option, FailureKind::PermissionDenied, &[]);
    assert!(refused.detail.contains("no admin option"), "{refused}");
    assert_fails(wrong, FailureKind::Authentication, &["wrong-password"]);
    let refused = assert_fails(unknown, FailureKind::InvalidSettings, &[]);
    for named in [
        format!("role `nobody_{}`", maria.suffix),
        format!("database `nowhere_{}`", maria.suffix),
        format!("table `{app}.t9`"),
    ] {
        assert!(refused.detail.contains(&named), "{named}: {refused}");
    }
    assert_fails(two_roles, FailureKind::InvalidSettings, &[]);
}

#[tokio::test]
async fn mariadb_a_login_may_do_what_its_grants_and_default_role_allow_and_no_more() {
    let Some(maria) = Maria::new().await else {
        return;
    };
    let (name, password) = (format!("gl_{}", maria.suffix), secret(&canary()));
    let created = maria.create(&name, &password).await;
    let mut outcomes = Vec::new();
    if created.is_ok() {
        let mut login = maria_conn(&maria.server, &name, &password).await;
        let (app, other) = (&maria.app, &maria.other);
        outcomes.push((
            "reads the granted table",
            login
                .query_drop(format!("SELECT i FROM {app}.t1"))
                .await
                .is_ok(),
        ));
        outcomes.push((
            "reads through its default role",
            login
                .query_drop(format!("SELECT i FROM {other}.t3"))
                .await
                .is_ok(),
        ));
        outcomes.push((
            "may not read another table",
            maria_refused(&mut login, &format!("SELECT i FROM {app}.t2")).await,
        ));
        outcomes.push((
            "may not insert",
            maria_refused(&mut login, &format!("INSERT INTO {app}.t1 VALUES (9)")).await,
        ));
        let _ = login.disconnect().await;
    }
    maria.clean(&[name.as_str()]).await;
    created.expect("created");
    let failed: Vec<_> = outcomes.iter().filter(|(_, held)| !held).collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[tokio::test]
async fn mariadb_an_event_drops_a_login_at_valid_until_and_expiry_moves_it() {
    let Some(maria) = Maria::new().await else {
        return;
    };
    let driver = driver();
    let (soon, later) = (
        format!("gl_soon_{}", maria.suffix),
        format!("gl_later_{}", maria.suffix),
    );
    let password = secret(&canary());
    let valid_until = in_seconds(3);
    let created = driver
        .create_login(
            &maria.admin,
            new_login(&soon, &password, valid_until, &maria.grants()),
        )
        .await;
    let logged_in = maria_connect(&maria.server, &soon, &password).await.is_ok();
    let first = in_seconds(3600);
    let moved = in_seconds(7200);
    let later_created = driver
        .create_login(
            &maria.admin,
            new_login(&later, &password, first, &maria.grants()),
        )
        .await;
    let scheduled = maria.event_at(&later).await;
    let expired = driver.expire_login(&maria.admin, &later, moved).await;
    let rescheduled = maria.event_at(&later).await;
    let absent = driver
        .expire_login(&maria.admin, &format!("gl_absent_{}", maria.suffix), moved)
        .await;
    sleep_past(valid_until, Duration::from_millis(500)).await;
    let mut dropped = false;
    for _ in 0..50 {
        if !maria.exists(&soon).await {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let event_left = maria.event_at(&soon).await;
    maria.clean(&[soon.as_str(), later.as_str()]).await;
    created.expect("created");
    assert!(logged_in, "logs in before valid_until");
    assert!(dropped, "the event dropped the login");
    assert_eq!(event_left, None, "the event went with it");
    later_created.expect("created");
    assert_eq!(scheduled, Some(first.unix_timestamp()));
    expired.expect("moved");
    assert_eq!(rescheduled, Some(moved.unix_timestamp()));
    absent.expect("a login already gone has nothing to move");
}

#[tokio::test]
async fn mariadb_a_failed_creation_leaves_no_account() {
    let Some(maria) = Maria::new().await else {
        return;
    };
    let driver = driver();
    let canaries = [canary(), canary()];
    let (missing, ungrantable, role) = (
        format!("gl_missing_{}", maria.suffix),
        format!("gl_ungrantable_{}", maria.suffix),
        format!("rd2_{}", maria.suffix),
    );
    // A database that does not exist: refused before the account is made.
    let nowhere = LoginGrants {
        roles: Vec::new(),
        tables: vec![on(&[Select], &format!("nowhere_{}", maria.suffix), None)],
    };
    let refused = driver
        .create_login(
            &maria.admin,
            new_login(&missing, &secret(&canaries[0]), in_seconds(60), &nowhere),
        )
        .await;
    // A role the admin holds no admin option for: refused after the account is made.
    maria_exec(&maria.server, &[format!("CREATE ROLE {role}")]).await;
    let unadministered = LoginGrants {
        roles: vec![role.clone()],
        tables: vec![on(&[Select], &maria.app, Some("t1"))],
    };
    let failed = driver
        .create_login(
            &maria.admin,
            new_login(
                &ungrantable,
                &secret(&canaries[1]),
                in_seconds(60),
                &unadministered,
            ),
        )
        .await;
    let left = [
        maria.exists(&missing).await,
        maria.exists(&ungrantable).await,
    ];
    let event_left = maria.event_at(&ungrantable).await;
    maria_exec(&maria.server, &[format!("DROP ROLE {role}")]).await;
    maria.clean(&[missing.as_str(), ungrantable.as_str()]).await;
    let refused = assert_fails(refused, FailureKind::InvalidSettings, &[&canaries[0]]);
    assert!(refused.detail.contains("database `nowhere_"), "{refused}");
    assert_fails(failed, FailureKind::PermissionDenied, &[&canaries[1]]);
    assert_eq!(left, [false, false], "no account is left");
    assert_eq!(event_left, None);
}

#[tokio::test]
async fn mariadb_dropping_ends_sessions_and_is_idempotent() {
    let Some(maria) = Maria::new().await else {
        return;
    };
    let driver = driver();
    let (name, password) = (format!("gl_{}", maria.suffix), secret(&canary()));
    let created = maria.create(&name, &password).await;
    let mut session = maria_connect(&maria.server, &name, &password).await;
    let event_before = maria.event_at(&name).await;
    let dropped = driver.drop_login(&maria.admin, &name, "unused").await;
    let session_ended = match &mut session {
        Ok(conn) => conn.query_drop("SELECT 1").await.is_err(),
        Err(_) => false,
    };
    let new_session = maria_connect(&maria.server, &name, &password).await.is_ok();
    let left = maria.exists(&name).await;
    let event_after = maria.event_at(&name).await;
    let again = driver.drop_login(&maria.admin, &name, "unused").await;
    maria.clean(&[name.as_str()]).await;
    created.expect("created");
    session.expect("the login logs in");
    assert!(event_before.is_some(), "an expiry event was made");
    dropped.expect("dropped");
    assert!(session_ended, "the open session was killed");
    assert!(!new_session, "no new session");
    assert!(!left, "the account is gone");
    assert_eq!(event_after, None, "its event too");
    again.expect("a login already gone is dropped");
}

#[tokio::test]
async fn mariadb_prefixes_list_exactly_their_logins() {
    let Some(maria) = Maria::new().await else {
        return;
    };
    let prefix = format!("lp_{}_", maria.suffix);
    let users = [
        format!("{prefix}one"),
        format!("{prefix}two"),
        format!("lp_{}xone", maria.suffix),
        format!("lpx{}_one", maria.suffix),
    ];
    let role = format!("{prefix}role");
    let mut statements: Vec<String> = users
        .iter()
        .map(|user| format!("CREATE USER `{user}`@'%'"))
        .collect();
    statements.push(format!("CREATE ROLE `{role}`"));
    maria_exec(&maria.server, &statements).await;
    let found = driver().logins_with_prefix(&maria.admin, &prefix).await;
    maria_exec(&maria.server, &[format!("DROP ROLE `{role}`")]).await;
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    maria.clean(&names).await;
    assert_eq!(found, Ok(users[..2].to_vec()));
}

#[tokio::test]
async fn redshift_is_refused_as_unsupported() {
    let redshift = DatabaseLogin {
        engine: credential_model::rotation::Engine::Redshift,
        host: "127.0.0.1".to_owned(),
        port: testing::closed_port(),
        username: "admin".to_owned(),
        password: secret("unused"),
        dbname: None,
        tls: credential_model::rotation::TlsMode::Disable,
        masterarn: None,
    };
    let refused = assert_fails(
        driver()
            .check_admin(&redshift, &LoginGrants::default())
            .await,
        FailureKind::Unsupported,
        &[],
    );
    assert!(refused.detail.contains("Redshift"), "{refused}");
}
