//! The database side of rotation against real servers: the password-checking PostgreSQL that
//! `make test` starts (every statement logged) and this machine's MariaDB. Each test makes
//! users of its own.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::databases::{
    assert_fails, ident, maria_conn, maria_exec, maria_login, pg_admin, pg_client, pg_exec,
    pg_login, pg_role, pg_statement_log, secret,
};
use common::{TIMEOUT, canary};
use credential_model::ports::FailureKind;
use credential_model::rotation::{
    DatabaseAccounts, DatabaseLogin, Engine, PasswordPolicy, TlsMode, alternate_username,
};
use mysql_async::prelude::Queryable;
use secrecy::{ExposeSecret, SecretString};
use strongroom_connectors::DatabaseAccountsDriver;
use strongroom_local_stack::testing::{self, ServerLogin};

fn driver() -> DatabaseAccountsDriver {
    DatabaseAccountsDriver::new(TIMEOUT)
}

// PostgreSQL

#[tokio::test]
async fn postgres_logins_are_checked_and_a_wrong_password_is_an_authentication_failure() {
    let Some(server) = testing::scram_postgres() else {
        return;
    };
    let (user, password) = (format!("check_{}", testing::unique_suffix()), canary());
    pg_role(&server, &user, &password).await;
    let driver = driver();
    driver
        .check_login(&pg_login(&server, &user, &secret(&password)))
        .await
        .expect("the right password logs in");
    let wrong = canary();
    let failure = assert_fails(
        driver
            .check_login(&pg_login(&server, &user, &secret(&wrong)))
            .await,
        FailureKind::Authentication,
        &[&password, &wrong],
    );
    assert!(
        failure.detail.contains("password authentication failed"),
        "{failure}"
    );
}

#[tokio::test]
async fn postgres_single_user_change_quotes_the_name_and_only_the_new_password_logs_in() {
    let Some(server) = testing::scram_postgres() else {
        return;
    };
    let user = format!("App-User-{}", testing::unique_suffix());
    let old = secret(&canary());
    pg_role(&server, &user, old.expose_secret()).await;
    let new = secret(&format!("$;{{}}%&-{}", canary()));
    let driver = driver();
    driver
        .change_own_password(&pg_login(&server, &user, &old), &new)
        .await
        .expect("the user changes its own password");
    driver
        .check_login(&pg_login(&server, &user, &new))
        .await
        .expect("the new password logs in");
    assert_fails(
        driver.check_login(&pg_login(&server, &user, &old)).await,
        FailureKind::Authentication,
        &[old.expose_secret(), new.expose_secret()],
    );
}

#[tokio::test]
async fn postgres_alternating_users_over_four_rotations_share_grants_and_ownership() {
    let Some(server) = testing::scram_postgres() else {
        return;
    };
    let suffix = testing::unique_suffix();
    let base = format!("App-Alt-{suffix}");
    let clone = format!("{base}_clone");
    let (schema, late) = (format!("own_{suffix}"), format!("late_{suffix}"));
    let first = secret(&canary());
    pg_role(&server, &base, first.expose_secret()).await;
    pg_exec(
        &server,
        &format!("CREATE SCHEMA {schema} AUTHORIZATION {}", ident(&base)),
    )
    .await;
    let (driver, admin) = (driver(), pg_admin(&server));
    let mut latest = BTreeMap::from([(base.clone(), first.clone())]);
    let mut current = pg_login(&server, &base, &first);
    for round in 1..=4 {
        let name = alternate_username(&current.username, Engine::Postgres).expect("a name");
        let alternate =
            current.as_user(&name, PasswordPolicy::default().generate(Engine::Postgres));
        driver
            .provision_alternate(&admin, &current, &alternate)
            .await
            .unwrap_or_else(|failure| panic!("round {round}: {failure}"));
        latest.insert(name, alternate.password.clone());
        for (user, password) in &latest {
            driver
                .check_login(&pg_login(&server, user, password))
                .await
                .unwrap_or_else(|failure| panic!("round {round}, {user}: {failure}"));
        }
        if round == 1 {
            // Granted to the base user once the clone exists: the clone reads it through
            // its membership, on every later round.
            pg_exec(
                &server,
                &format!(
                    "CREATE TABLE public.{late} (i int); INSERT INTO public.{late} VALUES (1); \
                     GRANT SELECT ON public.{late} TO {}",
                    ident(&base)
                ),
            )
            .await;
        }
        let as_clone = pg_client(&server, &clone, &latest[&clone]).await;
        let rows = as_clone
            .query(&format!("SELECT i FROM public.{late}"), &[])
            .await
            .unwrap_or_else(|error| panic!("round {round}: the clone reads {late}: {error}"));
        assert_eq!(rows.len(), 1);
        as_clone
            .batch_execute(&format!("CREATE TABLE {schema}.made_{round} (i int)"))
            .await
            .unwrap_or_else(|error| panic!("round {round}: the clone creates a table: {error}"));
        let owner: String = pg_client(&server, &server.superuser, &server.password)
            .await
            .query_one(
                "SELECT tableowner::text FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
                &[&schema, &format!("made_{round}")],
            )
            .await
            .expect("the table is found")
            .get(0);
        assert_eq!(
            owner, base,
            "round {round}: what the clone creates is the base user's"
        );
        current = alternate;
    }
}

#[tokio::test]
async fn no_plaintext_reaches_the_postgres_statement_log_nor_a_failure() {
    let Some(server) = testing::scram_postgres() else {
        return;
    };
    let Some(log_path) = pg_statement_log() else {
        return;
    };
    let user = format!("Log-User-{}", testing::unique_suffix());
    // The first password is the superuser's statement, logged: not a canary.
    let first = secret(&format!("first-{}", testing::unique_suffix()));
    pg_role(&server, &user, first.expose_secret()).await;
    let driver = driver();
    let canaries: Vec<SecretString> = (0..5).map(|_| secret(&canary())).collect();

    driver
        .change_own_password(&pg_login(&server, &user, &first), &canaries[0])
        .await
        .expect("single user");
    let current = pg_login(&server, &user, &canaries[0]);
    let clone = current.as_user(&format!("{user}_clone"), canaries[1].clone());
    driver
        .provision_alternate(&pg_admin(&server), &current, &clone)
        .await
        .expect("to the clone");
    let base = current.as_user(&user, canaries[2].clone());
    driver
        .provision_alternate(&pg_admin(&server), &clone, &base)
        .await
        .expect("back to the base user");
    driver
        .check_login(&base)
        .await
        .expect("the base user's newest password");
    // Failures say what failed, without the passwords they were given.
    let exposed: Vec<&str> = canaries.iter().map(|c| c.expose_secret()).collect();
    assert_fails(
        driver
            .change_own_password(&pg_login(&server, &user, &canaries[3]), &canaries[4])
            .await,
        FailureKind::Authentication,
        &exposed,
    );
    let not_admin = base.clone();
    let other = base.as_user(
        &format!("other-{}", testing::unique_suffix()),
        canaries[3].clone(),
    );
    let stranger = other.as_user(&format!("{}_clone", other.username), canaries[4].clone());
    let refused = assert_fails(
        driver
            .provision_alternate(&not_admin, &other, &stranger)
            .await,
        FailureKind::PermissionDenied,
        &exposed,
    );
    assert!(refused.detail.contains("permission denied"), "{refused}");

    let log = std::fs::read_to_string(&log_path).expect("the statement log reads");
    for canary in &exposed {
        assert!(!log.contains(canary), "a password reached PostgreSQL's log");
    }
    let statement = format!("ALTER ROLE {} PASSWORD 'SCRAM-SHA-256$4096:", ident(&user));
    assert!(
        log.contains(&statement),
        "the log holds the rotation's statements"
    );
    assert!(log.contains(&format!(
        "GRANT {} TO {}",
        ident(&user),
        ident(&clone.username)
    )));
}

// MariaDB

async fn show_grants(server: &ServerLogin, account: &str) -> Vec<String> {
    let mut admin = maria_conn(server, &server.user, &server.password).await;
    let grants = admin
        .query(format!("SHOW GRANTS FOR {account}"))
        .await
        .unwrap_or_else(|error| panic!("grants of {account}: {error}"));
    let _ = admin.disconnect().await;
    grants
}

#[tokio::test]
async fn mariadb_logins_are_checked_and_a_user_changes_its_own_password() {
    let Some(server) = testing::mariadb() else {
        return;
    };
    let user = format!("App-User-{}", testing::unique_suffix());
    let old = secret(&canary());
    maria_exec(
        &server,
        &[format!(
            "CREATE USER `{user}`@'%' IDENTIFIED BY '{}'",
            old.expose_secret()
        )],
    )
    .await;
    let driver = driver();
    let new = secret(&format!("$;{{}}%&-{}", canary()));
    let wrong = canary();
    let outcomes = [
        driver.check_login(&maria_login(&server, &user, &old)).await,
        driver
            .check_login(&maria_login(&server, &user, &secret(&wrong)))
            .await,
        driver
            .change_own_password(&maria_login(&server, &user, &old), &new)
            .await,
        driver.check_login(&maria_login(&server, &user, &new)).await,
        driver.check_login(&maria_login(&server, &user, &old)).await,
    ];
    maria_exec(&server, &[format!("DROP USER `{user}`@'%'")]).await;
    let [old_in, wrong_in, changed, new_in, old_after] = outcomes;
    old_in.expect("the right password logs in");
    let secrets = [old.expose_secret(), new.expose_secret(), wrong.as_str()];
    assert_fails(wrong_in, FailureKind::Authentication, &secrets);
    changed.expect("the user changes its own password");
    new_in.expect("the new password logs in");
    assert_fails(old_after, FailureKind::Authentication, &secrets);
}

#[tokio::test]
async fn mariadb_alternating_users_over_four_rotations_copy_grants_at_every_host() {
    let Some(server) = testing::mariadb() else {
        return;
    };
    let suffix = testing::unique_suffix();
    let (base, db) = (format!("app_{suffix}"), format!("rot_{suffix}"));
    let clone = format!("{base}_clone");
    let far = "10.9.8.%";
    let first = secret(&canary());
    let pw = first.expose_secret();
    maria_exec(
        &server,
        &[
            format!("CREATE DATABASE {db}"),
            format!("CREATE TABLE {db}.t (i int)"),
            format!("CREATE USER `{base}`@'%' IDENTIFIED BY '{pw}'"),
            format!("CREATE USER `{base}`@'{far}' IDENTIFIED BY '{pw}' REQUIRE SSL"),
            format!("GRANT SELECT ON {db}.* TO `{base}`@'%' WITH GRANT OPTION"),
            format!("GRANT INSERT ON {db}.t TO `{base}`@'%'"),
            format!("GRANT SELECT ON {db}.* TO `{base}`@'{far}'"),
        ],
    )
    .await;
    let (driver, admin) = (
        driver(),
        maria_login(&server, &server.user, &server.password),
    );
    let mut latest = BTreeMap::from([(base.clone(), first.clone())]);
    let mut current = maria_login(&server, &base, &first);
    let mut failures = Vec::new();
    for round in 1..=4 {
        let name = alternate_username(&current.username, Engine::Mariadb).expect("a name");
        let alternate = current.as_user(&name, PasswordPolicy::default().generate(Engine::Mariadb));
        if let Err(failure) = driver
            .provision_alternate(&admin, &current, &alternate)
            .await
        {
            failures.push(format!("round {round}: {failure}"));
            break;
        }
        latest.insert(name, alternate.password.clone());
        for (user, password) in &latest {
            if let Err(failure) = driver
                .check_login(&maria_login(&server, user, password))
                .await
            {
                failures.push(format!("round {round}, {user}: {failure}"));
            }
        }
        if round == 1 {
            maria_exec(
                &server,
                &[
                    format!("CREATE TABLE {db}.late (i int)"),
                    format!("GRANT SELECT ON {db}.late TO `{base}`@'%'"),
                ],
            )
            .await;
        } else {
            // Granted to the base user after the clone existed: the clone has it too.
            let mut as_clone = maria_conn(&server, &clone, &latest[&clone]).await;
            if let Err(error) = as_clone
                .query_drop(format!("SELECT i FROM {db}.late"))
                .await
            {
                failures.push(format!("round {round}: the clone reads {db}.late: {error}"));
            }
            let _ = as_clone.disconnect().await;
        }
        let near = show_grants(&server, &format!("`{clone}`@'%'")).await;
        let wanted = [
            format!("GRANT SELECT ON `{db}`.* TO `{clone}`@`%` WITH GRANT OPTION"),
            format!("GRANT INSERT ON `{db}`.`t` TO `{clone}`@`%`"),
        ];
        for grant in wanted {
            if !near.contains(&grant) {
                failures.push(format!("round {round}: {grant} missing from {near:?}"));
            }
        }
        let distant = show_grants(&server, &format!("`{clone}`@'{far}'")).await;
        let select = format!("GRANT SELECT ON `{db}`.* TO `{clone}`@`{far}`");
        if !distant.contains(&select) || distant.iter().any(|g| g.contains("WITH GRANT OPTION")) {
            failures.push(format!("round {round}: {far} grants {distant:?}"));
        }
        if distant.iter().any(|g| g.contains("IDENTIFIED"))
            != near.iter().any(|g| g.contains("IDENTIFIED"))
        {
            failures.push(format!("round {round}: passwords differ by host"));
        }
        let mut root = maria_conn(&server, &server.user, &server.password).await;
        let required: Option<String> = root
            .exec_first(
                "SELECT CAST(ssl_type AS CHAR) FROM mysql.user WHERE User = ? AND Host = ?",
                (clone.as_str(), far),
            )
            .await
            .expect("the clone's TLS requirement");
        let _ = root.disconnect().await;
        if required.as_deref() != Some("ANY") {
            failures.push(format!(
                "round {round}: {far} requires {required:?}, not SSL"
            ));
        }
        current = alternate;
    }
    let mut cleanup = vec![format!("DROP DATABASE {db}")];
    for user in [&base, &clone] {
        for host in ["%", far] {
            cleanup.push(format!("DROP USER IF EXISTS `{user}`@'{host}'"));
        }
    }
    maria_exec(&server, &cleanup).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

// Both

#[tokio::test]
async fn tls_is_never_downgraded_from_require_or_verify_full() {
    let (Some(pg), Some(maria)) = (testing::scram_postgres(), testing::mariadb()) else {
        return;
    };
    let (user, password) = (format!("tls_{}", testing::unique_suffix()), canary());
    pg_role(&pg, &user, &password).await;
    maria_exec(
        &maria,
        &[format!(
            "CREATE USER `{user}`@'%' IDENTIFIED BY '{password}'"
        )],
    )
    .await;
    let driver = driver();
    let logins = [
        pg_login(&pg, &user, &secret(&password)),
        maria_login(&maria, &user, &secret(&password)),
    ];
    let mut outcomes = Vec::new();
    for login in &logins {
        for tls in [TlsMode::Prefer, TlsMode::Require, TlsMode::VerifyFull] {
            let login = DatabaseLogin {
                tls,
                ..login.clone()
            };
            outcomes.push((login.engine, tls, driver.check_login(&login).await));
        }
    }
    maria_exec(&maria, &[format!("DROP USER `{user}`@'%'")]).await;
    for (engine, tls, outcome) in outcomes {
        if tls == TlsMode::Prefer {
            outcome.unwrap_or_else(|failure| panic!("{engine} prefer falls back: {failure}"));
            continue;
        }
        let failure = assert_fails(outcome, FailureKind::Tls, &[&password]);
        assert!(
            failure.detail.contains("does not support TLS"),
            "{engine}: {failure}"
        );
    }
}

/// Sets `count` generated passwords in turn on `login`'s user: each logs in, as the login that
/// sets the next, and the last by itself.
async fn set_generated(
    driver: Arc<DatabaseAccountsDriver>,
    mut login: DatabaseLogin,
    count: usize,
) {
    for _ in 0..count {
        let password = PasswordPolicy::default().generate(login.engine);
        driver
            .change_own_password(&login, &password)
            .await
            .unwrap_or_else(|failure| panic!("{}: set: {failure}", login.engine));
        login.password = password;
    }
    driver
        .check_login(&login)
        .await
        .unwrap_or_else(|failure| panic!("{}: logs in: {failure}", login.engine));
}

/// The contract's 10,000 passwords: 5,000 per engine, in four chains each (about 20 s).
#[tokio::test(flavor = "multi_thread")]
async fn generated_passwords_all_log_in_after_being_set() {
    let (Some(pg), Some(maria)) = (testing::scram_postgres(), testing::mariadb()) else {
        return;
    };
    const USERS: usize = 4;
    const EACH: usize = 1250;
    let driver = Arc::new(driver());
    let first = canary();
    let mut chains = Vec::new();
    let mut users = Vec::new();
    for n in 0..USERS {
        let user = format!("gen_{n}_{}", testing::unique_suffix());
        pg_role(&pg, &user, &first).await;
        maria_exec(
            &maria,
            &[format!("CREATE USER `{user}`@'%' IDENTIFIED BY '{first}'")],
        )
        .await;
        // Tasks of their own, so SCRAM's key derivation runs on every core.
        for login in [
            pg_login(&pg, &user, &secret(&first)),
            maria_login(&maria, &user, &secret(&first)),
        ] {
            chains.push(tokio::spawn(set_generated(driver.clone(), login, EACH)));
        }
        users.push(user);
    }
    let outcomes = futures_util::future::join_all(chains).await;
    let drops: Vec<String> = users
        .iter()
        .map(|u| format!("DROP USER `{u}`@'%'"))
        .collect();
    maria_exec(&maria, &drops).await;
    for outcome in outcomes {
        outcome.expect("every generated password logs in");
    }
}
