//! Finding the services tests need. `make test` starts them and exports where they are; a
//! test run outside it skips what it cannot reach, except in CI (`CI=true`), where a missing
//! service fails the test instead of skipping it.

use secrecy::SecretString;

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
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let found = (|| {
        Some(ScramPostgres {
            host: var("STRONGROOM_TEST_PG_HOST")?,
            port: var("STRONGROOM_TEST_PG_PORT")?.parse().ok()?,
            superuser: var("STRONGROOM_TEST_PG_USER")?,
            password: SecretString::from(var("STRONGROOM_TEST_PG_PASSWORD")?),
        })
    })();
    require(
        "a password-checking PostgreSQL (STRONGROOM_TEST_PG_*)",
        found,
    )
}

/// A fresh name suffix, so each test has its own resources in a shared moto.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
