//! PostgreSQL and Redshift (its protocol) against the password-checking PostgreSQL that
//! `make test` starts.

mod common;

use common::{assert_failed, assert_passed, canary, test};
use credential_model::Provider;
use credential_model::ports::{FailureKind, Origin};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use strongroom_local_stack::testing::{self, ScramPostgres};

/// A role with `password` and a database it owns, made by the test PostgreSQL's superuser.
async fn database(admin: &ScramPostgres, password: &str) -> (String, String) {
    let (client, connection) = tokio_postgres::Config::new()
        .host(&admin.host)
        .port(admin.port)
        .user(&admin.superuser)
        .password(admin.password.expose_secret())
        .dbname("postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .expect("the superuser connects");
    tokio::spawn(connection);
    let suffix = testing::unique_suffix();
    let (role, name) = (format!("tester_{suffix}"), format!("tested_{suffix}"));
    client
        .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        .await
        .expect("role created");
    client
        .batch_execute(&format!("CREATE DATABASE {name} OWNER {role}"))
        .await
        .expect("database created");
    (role, name)
}

fn document(admin: &ScramPostgres, role: &str, dbname: &str, password: &str) -> Value {
    json!({"engine": "postgres", "host": admin.host, "port": admin.port, "dbname": dbname,
           "username": role, "password": password, "sslmode": "prefer"})
}

#[tokio::test]
async fn postgres_passes_with_the_right_password_and_says_what_else_failed() {
    let Some(admin) = testing::scram_postgres() else {
        return;
    };
    let password = canary();
    let (role, dbname) = database(&admin, &password).await;
    let right = document(&admin, &role, &dbname, &password);
    assert_passed(&test(Provider::Postgres, &right).await);
    // Redshift speaks PostgreSQL's protocol: the same tester, its own name.
    assert_passed(&test(Provider::Redshift, &right).await);

    let wrong = canary();
    let mut wrong_password = right.clone();
    wrong_password["password"] = json!(wrong);
    assert_failed(
        &test(Provider::Postgres, &wrong_password).await,
        FailureKind::Authentication,
        Origin::Warehouse,
        "password authentication failed",
        &[&password, &wrong],
    );

    let mut missing = right.clone();
    missing["dbname"] = json!("no_such_database");
    assert_failed(
        &test(Provider::Postgres, &missing).await,
        FailureKind::MissingDatabase,
        Origin::Warehouse,
        "does not exist",
        &[&password],
    );

    let mut unreachable = right.clone();
    unreachable["port"] = json!(testing::closed_port());
    assert_failed(
        &test(Provider::Redshift, &unreachable).await,
        FailureKind::Unreachable,
        Origin::Strongroom,
        "connection refused",
        &[&password],
    );
}

#[tokio::test]
async fn postgres_connection_strings_connect_and_are_never_quoted() {
    let Some(admin) = testing::scram_postgres() else {
        return;
    };
    let password = canary();
    let (role, dbname) = database(&admin, &password).await;
    let uri = |password: &str| {
        json!({"engine": "postgres", "connection_string": format!(
            "postgresql://{role}:{password}@{}:{}/{dbname}?sslmode=prefer", admin.host, admin.port)})
    };
    assert_passed(&test(Provider::Postgres, &uri(&password)).await);
    let key_value = json!({"engine": "postgres", "connection_string": format!(
        "host={} port={} dbname={dbname} user={role} sslmode=disable", admin.host, admin.port),
        "password": password});
    assert_passed(&test(Provider::Postgres, &key_value).await);

    let wrong = canary();
    assert_failed(
        &test(Provider::Postgres, &uri(&wrong)).await,
        FailureKind::Authentication,
        Origin::Warehouse,
        "password authentication failed",
        &[&password, &wrong],
    );
    // A string the parser refuses: its message would quote the password.
    let broken = json!({"engine": "postgres", "connection_string": format!(
        "postgresql://{role}:{password}@{}:notaport/{dbname}", admin.host)});
    assert_failed(
        &test(Provider::Postgres, &broken).await,
        FailureKind::InvalidSettings,
        Origin::Strongroom,
        "not a libpq URI or key=value string",
        &[&password],
    );
}
