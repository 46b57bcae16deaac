//! Finding the services tests need. `make test` starts them and exports where they are; a
//! test run outside it skips what it cannot reach, except in CI (`CI=true`), where a missing
//! service fails the test instead of skipping it.

use aws_types::SdkConfig;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::Value;

use crate::{LocalStack, Template, provision, template_path};

/// Whether this is a CI run, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `Some(value)`, or — when a service is missing — a failure in CI and a skip elsewhere.
pub fn require<T>(service: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        assert!(
            !in_ci(),
            "{service} is required in CI; run the tests through `make test`"
        );
        eprintln!("SKIPPED: {service} is not available; run the tests through `make test`");
    }
    value
}

/// The moto endpoint, from `AWS_ENDPOINT_URL`.
pub fn moto() -> Option<String> {
    require(
        "moto (AWS_ENDPOINT_URL)",
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|v| !v.is_empty()),
    )
}

/// The moto endpoint, when that moto enforces IAM (`STRONGROOM_MOTO_IAM=enforced`, which
/// `scripts/lib.sh` `start_moto` sets): a test of permissions needs both.
pub fn moto_enforcing_iam() -> Option<String> {
    let endpoint = moto()?;
    require(
        "moto enforcing IAM (STRONGROOM_MOTO_IAM=enforced, from scripts/lib.sh start_moto)",
        crate::iam::enforced().then_some(endpoint),
    )
}

/// A PostgreSQL server that checks passwords (scram-sha-256), with a superuser login.
#[derive(Debug)]
pub struct ScramPostgres {
    pub host: String,
    pub port: u16,
    pub superuser: String,
    pub password: SecretString,
}

/// The password-checking PostgreSQL that `make test` starts, from `STRONGROOM_TEST_PG_*`.
pub fn scram_postgres() -> Option<ScramPostgres> {
    let found = (|| {
        Some(ScramPostgres {
            host: env_var("STRONGROOM_TEST_PG_HOST")?,
            port: env_var("STRONGROOM_TEST_PG_PORT")?.parse().ok()?,
            superuser: env_var("STRONGROOM_TEST_PG_USER")?,
            password: SecretString::from(env_var("STRONGROOM_TEST_PG_PASSWORD")?),
        })
    })();
    require(
        "a password-checking PostgreSQL (STRONGROOM_TEST_PG_*)",
        found,
    )
}

/// A database server login for tests: the administrator's, or an account a test made.
#[derive(Debug)]
pub struct ServerLogin {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: SecretString,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether something accepts TCP connections at `host:port`.
fn listening(host: &str, port: u16) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let timeout = std::time::Duration::from_secs(2);
    (host, port)
        .to_socket_addrs()
        .map(|mut addrs| addrs.any(|addr| TcpStream::connect_timeout(&addr, timeout).is_ok()))
        .unwrap_or(false)
}

/// This machine's MariaDB (or MySQL), reached over TCP as an account that may create databases
/// and accounts: `STRONGROOM_TEST_MYSQL_HOST`, `_PORT`, `_USER`, `_PASSWORD`, by default root
/// with an empty password at 127.0.0.1:3306.
pub fn mariadb() -> Option<ServerLogin> {
    let host = env_var("STRONGROOM_TEST_MYSQL_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port = env_var("STRONGROOM_TEST_MYSQL_PORT")
        .and_then(|p| p.parse().ok())
        .unwrap_or(3306);
    let found = listening(&host, port).then(|| ServerLogin {
        host,
        port,
        user: env_var("STRONGROOM_TEST_MYSQL_USER").unwrap_or_else(|| "root".into()),
        password: SecretString::from(env_var("STRONGROOM_TEST_MYSQL_PASSWORD").unwrap_or_default()),
    });
    require(
        "MariaDB (STRONGROOM_TEST_MYSQL_*, by default 127.0.0.1:3306)",
        found,
    )
}

/// The ClickHouse that `make test` starts (`scripts/lib.sh` `start_clickhouse`), with a user
/// whose password it checks, from `STRONGROOM_TEST_CLICKHOUSE_*`; its HTTP interface's port.
pub fn clickhouse() -> Option<ServerLogin> {
    let found = (|| {
        Some(ServerLogin {
            host: env_var("STRONGROOM_TEST_CLICKHOUSE_HOST")?,
            port: env_var("STRONGROOM_TEST_CLICKHOUSE_PORT")?.parse().ok()?,
            user: env_var("STRONGROOM_TEST_CLICKHOUSE_USER")?,
            password: SecretString::from(env_var("STRONGROOM_TEST_CLICKHOUSE_PASSWORD")?),
        })
    })();
    require(
        "ClickHouse (STRONGROOM_TEST_CLICKHOUSE_*, from scripts/lib.sh start_clickhouse)",
        found.filter(|login| listening(&login.host, login.port)),
    )
}

/// A TCP port on 127.0.0.1 that nothing listens on: connecting to it is refused.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A fresh name suffix, so each test has its own resources in a shared moto.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A fresh stack of this checkout's template in moto, so each test has its own table, key and
/// signing-key secret.
pub async fn fresh_stack(sdk: &SdkConfig) -> LocalStack {
    let template = Template::load(&template_path()).expect("the template loads");
    let key = SecretString::from(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ));
    provision(sdk, &template, &unique_suffix(), &key)
        .await
        .expect("the stack provisions in moto")
}

/// An API Gateway event from `events/`, as the handler receives it.
pub fn fixture(json: &str) -> Request {
    lambda_http::request::from_str(json).expect("the fixture is an API Gateway v2 event")
}

/// A fixture with a change to its event.
pub fn fixture_with(json: &str, edit: impl FnOnce(&mut Value)) -> Request {
    let mut event: Value = serde_json::from_str(json).expect("a JSON fixture");
    edit(&mut event);
    fixture(&event.to_string())
}

/// A handler's JSON body; a body that is not JSON fails the test.
pub fn body_json(response: &Response<Body>) -> Value {
    let parsed = match response.body() {
        Body::Text(text) => serde_json::from_str(text),
        Body::Binary(bytes) => serde_json::from_slice(bytes),
        Body::Empty => panic!("the response has no body (status {})", response.status()),
        _ => panic!("the response has an unknown body"),
    };
    parsed.unwrap_or_else(|e| panic!("the response body is not JSON: {e}"))
}

/// Whether a handler's response has no body at all.
pub fn has_no_body(response: &Response<Body>) -> bool {
    match response.body() {
        Body::Empty => true,
        Body::Text(text) => text.is_empty(),
        Body::Binary(bytes) => bytes.is_empty(),
        _ => false,
    }
}
