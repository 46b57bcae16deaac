//! ClickHouse over its HTTP interface, against the ClickHouse that `make test` starts.

mod common;

use common::{assert_failed, assert_passed, canary, test};
use credential_model::Provider;
use credential_model::ports::{FailureKind, Origin};
use secrecy::ExposeSecret;
use serde_json::json;
use strongroom_local_stack::testing;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn clickhouse_passes_with_the_right_password_and_says_what_else_failed() {
    let Some(server) = testing::clickhouse() else {
        return;
    };
    let password = server.password.expose_secret();
    let right = json!({"engine": "clickhouse", "host": server.host, "port": server.port,
                       "dbname": "default", "username": server.user, "password": password,
                       "sslmode": "disable"});
    assert_passed(&test(Provider::Clickhouse, &right).await);

    let wrong = canary();
    let mut wrong_password = right.clone();
    wrong_password["password"] = json!(wrong);
    assert_failed(
        &test(Provider::Clickhouse, &wrong_password).await,
        FailureKind::Authentication,
        Origin::Warehouse,
        "password",
        &[password, &wrong],
    );

    let mut missing = right.clone();
    missing["dbname"] = json!("no_such_database");
    assert_failed(
        &test(Provider::Clickhouse, &missing).await,
        FailureKind::MissingDatabase,
        Origin::Warehouse,
        "no_such_database",
        &[password],
    );

    let mut unreachable = right.clone();
    unreachable["port"] = json!(testing::closed_port());
    assert_failed(
        &test(Provider::Clickhouse, &unreachable).await,
        FailureKind::Unreachable,
        Origin::Strongroom,
        "connection refused",
        &[password],
    );

    // Any mode but `disable` is HTTPS: a server answering in plain HTTP fails the handshake.
    // (ClickHouse's own HTTP port sometimes waits for more of a request instead of answering.)
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a listener");
    let plain_port = plain.local_addr().expect("address").port();
    tokio::spawn(async move {
        if let Ok((mut stream, _)) = plain.accept().await {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let mut encrypted = right.clone();
    encrypted["sslmode"] = json!("require");
    encrypted["port"] = json!(plain_port);
    assert_failed(
        &test(Provider::Clickhouse, &encrypted).await,
        FailureKind::Tls,
        Origin::Strongroom,
        "TLS",
        &[password],
    );
}
