//! MySQL and MariaDB against this machine's MariaDB, with an account of the test's own whose
//! password the server checks (TCP logins do).

mod common;

use common::{assert_failed, assert_passed, canary, test};
use credential_model::Provider;
use credential_model::ports::{FailureKind, Origin, TestOutcome};
use mysql_async::prelude::Queryable;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use strongroom_local_stack::testing::{self, ServerLogin};

async fn admin(server: &ServerLogin) -> mysql_async::Conn {
    let password = server.password.expose_secret();
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname(server.host.clone())
        .tcp_port(server.port)
        .user(Some(server.user.clone()))
        .pass((!password.is_empty()).then(|| password.to_owned()))
        .prefer_socket(false);
    mysql_async::Conn::new(options)
        .await
        .expect("the administrator connects to MariaDB")
}

#[tokio::test]
async fn mariadb_passes_with_the_right_password_and_says_what_else_failed() {
    let Some(server) = testing::mariadb() else {
        return;
    };
    let mut admin = admin(&server).await;
    let suffix = testing::unique_suffix();
    let (account, dbname) = (format!("tester_{suffix}"), format!("tested_{suffix}"));
    let password = canary();
    for statement in [
        format!("CREATE DATABASE {dbname}"),
        format!("CREATE USER '{account}'@'%' IDENTIFIED BY '{password}'"),
        // On every name starting with the database's: a database that does not exist is then
        // "unknown"; without a grant on its name the server says "access denied" instead.
        format!("GRANT ALL ON `{dbname}%`.* TO '{account}'@'%'"),
    ] {
        admin
            .query_drop(statement)
            .await
            .expect("account and database created");
    }
    let right = json!({"engine": "mariadb", "host": server.host, "port": server.port,
                       "dbname": dbname, "username": account, "password": password});
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut document = right.clone();
        edit(&mut document);
        document
    };
    let wrong = canary();
    let missing_name = format!("{dbname}_missing");
    // Every outcome first, so the account and database are dropped whatever they say.
    let outcomes: Vec<TestOutcome> = vec![
        test(Provider::Mariadb, &right).await,
        test(Provider::Mysql, &right).await,
        test(Provider::Mariadb, &with(&|d| d["password"] = json!(wrong))).await,
        test(
            Provider::Mariadb,
            &with(&|d| d["dbname"] = json!(missing_name)),
        )
        .await,
        test(Provider::Mariadb, &with(&|d| d["dbname"] = json!("mysql"))).await,
        test(
            Provider::Mysql,
            &with(&|d| d["port"] = json!(testing::closed_port())),
        )
        .await,
    ];
    for statement in [
        format!("DROP USER '{account}'@'%'"),
        format!("DROP DATABASE {dbname}"),
    ] {
        admin
            .query_drop(statement)
            .await
            .expect("account and database dropped");
    }
    let [
        right,
        as_mysql,
        wrong_password,
        missing,
        not_granted,
        unreachable,
    ] = <[TestOutcome; 6]>::try_from(outcomes).expect("six outcomes");
    assert_passed(&right);
    assert_passed(&as_mysql);
    assert_failed(
        &wrong_password,
        FailureKind::Authentication,
        Origin::Warehouse,
        "Access denied",
        &[&password, &wrong],
    );
    assert_failed(
        &missing,
        FailureKind::MissingDatabase,
        Origin::Warehouse,
        &missing_name,
        &[&password],
    );
    assert_failed(
        &not_granted,
        FailureKind::PermissionDenied,
        Origin::Warehouse,
        "Access denied",
        &[&password],
    );
    assert_failed(
        &unreachable,
        FailureKind::Unreachable,
        Origin::Strongroom,
        "connection refused",
        &[&password],
    );
}
