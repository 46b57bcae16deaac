//! Engines that cannot be reached from here: their key material is checked for real, then the
//! test says honestly that the rest is not available.

mod common;

use std::sync::LazyLock;

use common::{TIMEOUT, assert_failed, canary, test};
use credential_model::Provider;
use credential_model::ports::{ConnectionTester, FailureKind, Origin};
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncodePrivateKey, LineEnding, PrivateKeyInfo};
use rsa::RsaPrivateKey;
use secrecy::SecretString;
use serde_json::json;
use strongroom_connectors::DatabaseTester;

/// One RSA key for every test of this file: generating one is slow in a debug build.
static KEY: LazyLock<RsaPrivateKey> =
    LazyLock::new(|| RsaPrivateKey::new(&mut rand::thread_rng(), 1024).expect("an RSA key"));

fn pem() -> String {
    KEY.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string()
}

/// The key encrypted as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it (PBKDF2, SHA-256).
fn encrypted_pem(passphrase: &str) -> String {
    let der = KEY.to_pkcs8_der().expect("DER");
    let info = PrivateKeyInfo::try_from(der.as_bytes()).expect("PKCS#8");
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, b"saltsalt", &[7; 16])
        .expect("PBES2 parameters");
    info.encrypt_with_params(params, passphrase)
        .expect("encrypted")
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .expect("PEM")
        .to_string()
}

fn bigquery(private_key: &str, client_email: &str) -> serde_json::Value {
    json!({"engine": "bigquery", "project_id": "analytics-1", "keyfile": {
        "type": "service_account", "project_id": "analytics-1", "private_key_id": "k1",
        "private_key": private_key, "client_email": client_email}})
}

const SERVICE_ACCOUNT: &str = "reader@analytics-1.iam.gserviceaccount.com";

#[tokio::test]
async fn a_bigquery_key_file_is_checked_then_the_test_says_it_goes_no_further() {
    let outcome = test(Provider::Bigquery, &bigquery(&pem(), SERVICE_ACCOUNT)).await;
    assert_failed(
        &outcome,
        FailureKind::Unsupported,
        Origin::Strongroom,
        "tests for BigQuery are not available here",
        &[],
    );
    // A key file stored as JSON text is read the same way.
    let mut as_text = bigquery(&pem(), SERVICE_ACCOUNT);
    as_text["keyfile"] = json!(as_text["keyfile"].to_string());
    assert_eq!(test(Provider::Bigquery, &as_text).await, outcome);
}

#[tokio::test]
async fn a_bigquery_key_that_is_not_an_rsa_key_or_a_malformed_email_is_bad_key_material() {
    let garbage = canary();
    let not_a_key = format!("-----BEGIN PRIVATE KEY-----\n{garbage}\n-----END PRIVATE KEY-----\n");
    assert_failed(
        &test(Provider::Bigquery, &bigquery(&not_a_key, SERVICE_ACCOUNT)).await,
        FailureKind::KeyMaterial,
        Origin::Strongroom,
        "the key material in keyfile.private_key is not a PEM private key",
        &[&garbage],
    );
    let key = pem();
    let body = key.lines().nth(1).expect("a line of the key");
    assert_failed(
        &test(Provider::Bigquery, &bigquery(&key, "reader-at-analytics")).await,
        FailureKind::KeyMaterial,
        Origin::Strongroom,
        "key material in keyfile.client_email",
        &[body],
    );
}

fn snowflake(private_key: &str, passphrase: Option<&str>) -> serde_json::Value {
    json!({"engine": "snowflake", "account": "xy12345", "username": "LOADER",
           "private_key": private_key, "private_key_passphrase": passphrase})
}

#[tokio::test]
async fn a_snowflake_private_key_must_parse_and_open_with_its_passphrase() {
    let passphrase = canary();
    let encrypted = encrypted_pem(&passphrase);
    for (key, passphrase) in [
        (pem(), None),
        (encrypted.clone(), Some(passphrase.as_str())),
    ] {
        assert_failed(
            &test(Provider::Snowflake, &snowflake(&key, passphrase)).await,
            FailureKind::Unsupported,
            Origin::Strongroom,
            "tests for Snowflake are not available here",
            &[],
        );
    }
    let wrong = canary();
    let body = encrypted.lines().nth(1).expect("a line of the key");
    assert_failed(
        &test(Provider::Snowflake, &snowflake(&encrypted, Some(&wrong))).await,
        FailureKind::KeyMaterial,
        Origin::Strongroom,
        "the key material in private_key does not open with the passphrase given",
        &[&wrong, &passphrase, body],
    );
    assert_failed(
        &test(Provider::Snowflake, &snowflake(&encrypted, None)).await,
        FailureKind::KeyMaterial,
        Origin::Strongroom,
        "no passphrase",
        &[body],
    );
    // A password login has no key to check.
    let password = json!({"engine": "snowflake", "account": "xy12345", "password": canary()});
    assert_failed(
        &test(Provider::Snowflake, &password).await,
        FailureKind::Unsupported,
        Origin::Strongroom,
        "not available here",
        &[],
    );
}

#[tokio::test]
async fn engines_with_nothing_to_check_here_say_so() {
    let tester = DatabaseTester::new(TIMEOUT);
    for (provider, name) in [
        (Provider::Trino, "Trino"),
        (Provider::Databricks, "Databricks"),
        (Provider::Motherduck, "MotherDuck"),
    ] {
        assert!(!tester.supports(provider));
        let token = canary();
        let document = SecretString::from(json!({"token": token}).to_string());
        assert_failed(
            &tester.test(provider, &document).await,
            FailureKind::Unsupported,
            Origin::Strongroom,
            &format!("tests for {name} are not available here"),
            &[&token],
        );
    }
}
