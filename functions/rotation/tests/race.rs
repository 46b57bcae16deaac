//! A rotation and the credential's own changes racing for real: parallel tasks, repeated.
//! Neither may be lost: the secret a rotation makes current carries every change the
//! metadata says was made, and its password logs in.

mod support;

use std::sync::Arc;

use credential_model::connection::DatabaseLogin;
use credential_model::rotation::Strategy;
use credential_model::{CredentialChange, Error, Provider, SecretValue};
use secrecy::ExposeSecret;
use strongroom_local_stack::testing;
use support::*;

const ROUNDS: usize = 8;
const UPDATES: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_racing_the_credentials_own_changes_loses_neither() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let env = Arc::new(env);
    let login = pg_user(&pg, "race").await;
    let record = env
        .connection(
            "org_race",
            Provider::Postgres,
            &login,
            Strategy::SingleUser,
            None,
        )
        .await;
    let (key, secret) = (record.record.key.clone(), record.record.secret.0.clone());
    let mut held_off = 0;
    for round in 0..ROUNDS {
        let token = env.start_rotation(&secret).await;
        let rotation = {
            let (env, secret, token) = (env.clone(), secret.clone(), token.clone());
            tokio::spawn(async move {
                // Secrets Manager retries a rotation that failed, with the same token.
                let mut outcome = Err(String::new());
                for _ in 0..5 {
                    outcome = rotate(&env.deps(), &secret, &token).await;
                    if outcome.is_ok() {
                        break;
                    }
                }
                outcome
            })
        };
        let updates = {
            let (env, key, login) = (env.clone(), key.clone(), login.clone());
            tokio::spawn(async move {
                let service = env.service();
                let mut refused = 0;
                for n in 0..UPDATES {
                    let Ok(Some(read)) = service.get::<levered::Connection>(&key).await else {
                        continue;
                    };
                    let document = DatabaseLogin {
                        host: Some(login.host.clone()),
                        port: Some(login.port),
                        username: Some(login.username.clone()),
                        dbname: login.dbname.clone(),
                        sslmode: Some("disable".into()),
                        schema: Some(format!("schema_{round}_{n}")),
                        password: Some(SecretValue::Kept),
                        ..Default::default()
                    }
                    .document(Provider::Postgres);
                    let change = CredentialChange {
                        document: Some(document),
                        attributes: levered::Connection::default(),
                        expires_at: None,
                    };
                    match service.update(&caller("org_race"), &read, change).await {
                        Ok(_) => {}
                        Err(Error::Conflict(reason)) => {
                            if reason.contains("being rotated") {
                                refused += 1;
                            }
                        }
                        Err(error) => panic!("round {round}: {error}"),
                    }
                }
                refused
            })
        };
        let rotated = rotation.await.expect("the rotation task");
        held_off += updates.await.expect("the update task");
        rotated.unwrap_or_else(|e| panic!("round {round}: the rotation failed: {e}"));

        let stored = env.stored(&key).await;
        let current: serde_json::Value =
            serde_json::from_str(env.current(&secret).await.document.expose_secret())
                .expect("JSON");
        assert_eq!(
            current.get("schema"),
            stored.record.settings.get("schema"),
            "round {round}: the secret lost a change its metadata says was made"
        );
        assert_eq!(
            stored.record.secret_version,
            env.current(&secret).await.version_id
        );
        let password = current["password"].as_str().expect("a password");
        assert!(
            pg_logs_in(&pg, &login.username, password).await,
            "round {round}: the current password does not log in"
        );
    }
    assert!(
        held_off > 0,
        "no change met a rotation in progress: the race did not happen"
    );
}
