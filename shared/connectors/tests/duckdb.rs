//! DuckDB: each attached database tested with its own engine's tester, against the test
//! PostgreSQL and moto.

mod common;

use common::{assert_failed, assert_passed, canary, test};
use credential_model::Provider;
use credential_model::ports::{FailureKind, Origin};
use secrecy::ExposeSecret;
use serde_json::json;
use strongroom_local_stack::iam::user_with_actions;
use strongroom_local_stack::testing;

#[tokio::test]
async fn duckdb_passes_when_every_attached_database_does_and_names_the_one_that_failed() {
    let (Some(postgres), Some(endpoint)) =
        (testing::scram_postgres(), testing::moto_enforcing_iam())
    else {
        return;
    };
    let admin = strongroom_aws::config::sdk_config().expect("the environment's AWS configuration");
    let key = user_with_actions(
        &admin,
        &format!("tester-{}", testing::unique_suffix()),
        &["s3:ListAllMyBuckets"],
    )
    .await
    .expect("a moto IAM user and its key");
    let superuser_password = postgres.password.expose_secret();
    let secret = key.secret_access_key.expose_secret();
    let warehouse = json!({"name": "warehouse", "engine": "postgres", "host": postgres.host,
        "port": postgres.port, "dbname": "postgres", "username": postgres.superuser,
        "password": superuser_password});
    let lake = json!({"name": "lake", "engine": "s3", "access_key_id": key.access_key_id,
        "secret_access_key": secret, "endpoint": endpoint});
    let both = json!({"engine": "duckdb", "attached": [warehouse, lake]});
    assert_passed(&test(Provider::Duckdb, &both).await);

    let wrong = canary();
    let mut broken_lake = both.clone();
    broken_lake["attached"][1]["secret_access_key"] = json!(wrong);
    let failure = assert_failed(
        &test(Provider::Duckdb, &broken_lake).await,
        FailureKind::Authentication,
        Origin::Warehouse,
        "attached database \"lake\" (s3): SignatureDoesNotMatch",
        &[superuser_password, secret, &wrong],
    );
    assert!(!failure.detail.contains("warehouse"), "{failure}");

    let mut unreachable_warehouse = both.clone();
    unreachable_warehouse["attached"][0]["port"] = json!(testing::closed_port());
    assert_failed(
        &test(Provider::Duckdb, &unreachable_warehouse).await,
        FailureKind::Unreachable,
        Origin::Strongroom,
        "attached database \"warehouse\" (postgres): could not connect",
        &[superuser_password, secret],
    );

    let unattachable = json!({"engine": "duckdb", "attached": [
        {"name": "other", "engine": "mysql", "host": "db", "password": wrong}]});
    assert_failed(
        &test(Provider::Duckdb, &unattachable).await,
        FailureKind::InvalidSettings,
        Origin::Strongroom,
        "\"other\" has no engine DuckDB attaches",
        &[&wrong],
    );
}
