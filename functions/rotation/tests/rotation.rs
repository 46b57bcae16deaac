//! The rotation function, invoked with Secrets Manager's real events, against moto, the
//! password-checking PostgreSQL and the machine's MariaDB.

mod support;

use credential_model::Provider;
use credential_model::rotation::{RotationStatus, RotationVault, Strategy};
use serde_json::json;
use strongroom_local_stack::testing;
use support::*;

/// A single-user rotation: each step run twice gives the same result, the database is
/// changed once, stages end as {new: AWSCURRENT, old: AWSPREVIOUS}, and the metadata names
/// the new version.
#[tokio::test]
async fn a_single_user_rotation_changes_the_password_once_and_the_metadata_follows() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "single").await;
    let record = env
        .connection(
            "org_rot1",
            Provider::Postgres,
            &login,
            Strategy::SingleUser,
            None,
        )
        .await;
    let secret = record.record.secret.0.clone();
    let before = record.record.secret_version.clone();
    let deps = env.deps();
    let token = env.start_rotation(&secret).await;
    let mut pending = None;
    for name in STEPS {
        for _ in 0..2 {
            rotation::handle(&deps, step(name, &secret, &token))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if name == "createSecret" {
                let value = env
                    .vault()
                    .value(
                        &secret,
                        credential_model::rotation::Selector::version(&token, "AWSPENDING"),
                    )
                    .await
                    .expect("readable")
                    .expect("pending");
                let text = secrecy::ExposeSecret::expose_secret(&value.document).to_owned();
                assert!(
                    pending.as_ref().is_none_or(|p| p == &text),
                    "createSecret twice differs"
                );
                pending = Some(text);
            }
        }
    }
    assert_eq!(
        deps.rotator.accounts().changes(),
        1,
        "{:?}",
        deps.rotator.accounts().calls()
    );
    let mut expected = vec![
        (before.clone(), vec!["AWSPREVIOUS".to_owned()]),
        (token.clone(), vec!["AWSCURRENT".to_owned()]),
    ];
    expected.sort();
    assert_eq!(env.stages(&secret).await, expected);
    let current = env.current_login(&secret).await;
    let new_password = secrecy::ExposeSecret::expose_secret(&current.password).to_owned();
    assert_ne!(new_password, login.password);
    assert!(pg_logs_in(&pg, &login.username, &new_password).await);
    assert!(!pg_logs_in(&pg, &login.username, &login.password).await);
    let stored = env.stored(&record.record.key).await;
    assert_eq!(stored.record.secret_version, token);
    let state = stored.record.rotation.state.expect("a rotation state");
    assert_eq!(state.status, RotationStatus::Succeeded);
    assert!(state.last_rotated_at.is_some());
    // Every reader follows: the family's connection test uses the rotated password.
    let levered: credential_model::CredentialRecord<levered::Connection> = env
        .service()
        .get(&record.record.key)
        .await
        .expect("readable")
        .expect("stored");
    let outcome = env
        .service()
        .test_connection(
            &levered,
            &strongroom_connectors::DatabaseTester::new(std::time::Duration::from_secs(5)),
        )
        .await
        .expect("tested");
    assert_eq!(outcome, credential_model::ports::TestOutcome::Passed);
}

/// The preamble's branches, and none of them reaches a database when it refuses or has
/// nothing to do.
#[tokio::test]
async fn the_preamble_refuses_or_does_nothing_without_touching_the_database() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "preamble").await;
    let record = env
        .connection(
            "org_rot2",
            Provider::Postgres,
            &login,
            Strategy::SingleUser,
            None,
        )
        .await;
    let secret = record.record.secret.0.clone();
    let deps = env.deps();

    // Rotation not enabled in Secrets Manager: a pending version staged by hand.
    env.sm
        .put_secret_value()
        .secret_id(&secret)
        .client_request_token("00000000-0000-4000-8000-000000000001")
        .secret_string("{}")
        .version_stages("AWSPENDING")
        .send()
        .await
        .expect("staged");
    let error = rotation::handle(
        &deps,
        step(
            "createSecret",
            &secret,
            "00000000-0000-4000-8000-000000000001",
        ),
    )
    .await
    .expect_err("not enabled");
    assert!(error.contains("not enabled"), "{error}");

    let token = env.start_rotation(&secret).await;
    for (token, words) in [
        ("00000000-0000-4000-8000-00000000dead", "not a version"),
        // The version staged by hand above: RotateSecret moved AWSPENDING off it.
        ("00000000-0000-4000-8000-000000000001", "not AWSPENDING"),
    ] {
        let error = rotation::handle(&deps, step("setSecret", &secret, token))
            .await
            .expect_err("refused");
        assert!(error.contains(words), "{error}");
    }
    assert!(deps.rotator.accounts().calls().is_empty());
    rotate(&deps, &secret, &token).await.expect("rotated");
    let calls = deps.rotator.accounts().calls().len();
    // The token is current now: every step succeeds without a database.
    let fresh = env.deps();
    rotate(&fresh, &secret, &token).await.expect("a no-op");
    assert!(
        fresh.rotator.accounts().calls().is_empty(),
        "{:?}",
        fresh.rotator.accounts().calls()
    );
    assert_eq!(deps.rotator.accounts().calls().len(), calls);
}

/// A crash right after each write point, then a full retry with the same token: the
/// rotation converges, and the database was changed once.
#[tokio::test]
async fn a_rotation_retried_after_a_crash_at_any_write_point_converges() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    for (n, point) in [
        WritePoint::PutPending,
        WritePoint::DatabaseChange,
        WritePoint::MoveCurrent,
        WritePoint::ClearPending,
    ]
    .into_iter()
    .enumerate()
    {
        let login = pg_user(&pg, "crash").await;
        let org = format!("org_crash{n}");
        let record = env
            .connection(&org, Provider::Postgres, &login, Strategy::SingleUser, None)
            .await;
        let secret = record.record.secret.0.clone();
        let previous = record.record.secret_version.clone();
        // A new process for the crash, another for the retry: nothing survives but the stores.
        let crashing = env.deps();
        match point {
            WritePoint::DatabaseChange => crashing.rotator.accounts().crash_after_change(),
            point => crashing.rotator.vault().crash_after(point),
        }
        let token = env.start_rotation(&secret).await;
        let error = rotate(&crashing, &secret, &token)
            .await
            .expect_err("crashed");
        assert!(error.contains("crash injected"), "{point:?}: {error}");
        let retry = env.deps();
        rotate(&retry, &secret, &token)
            .await
            .unwrap_or_else(|e| panic!("{point:?}: the retry failed: {e}"));
        let changes = crashing.rotator.accounts().changes() + retry.rotator.accounts().changes();
        assert_eq!(
            changes, 1,
            "{point:?}: the database changed {changes} times"
        );
        let mut expected = vec![
            (previous.clone(), vec!["AWSPREVIOUS".to_owned()]),
            (token.clone(), vec!["AWSCURRENT".to_owned()]),
        ];
        expected.sort();
        assert_eq!(env.stages(&secret).await, expected, "{point:?}");
        let current = env.current_login(&secret).await;
        let password = secrecy::ExposeSecret::expose_secret(&current.password).to_owned();
        assert!(
            pg_logs_in(&pg, &login.username, &password).await,
            "{point:?}"
        );
        let stored = env.stored(&record.record.key).await;
        assert_eq!(stored.record.secret_version, token, "{point:?}");
    }
}

/// The multi-tenant guards: a secret that is not Strongroom's, a credential without rotation
/// settings, an admin secret of another organization, a host change — refused, and no
/// statement reaches a database.
#[tokio::test]
async fn foreign_secrets_cross_tenant_admins_and_host_changes_are_refused_before_any_database() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let deps = env.deps();
    // Not Strongroom's: its name is outside the deployment's prefix, whatever its tags say.
    let login = pg_user(&pg, "guard").await;
    let record = env
        .connection(
            "org_guard",
            Provider::Postgres,
            &login,
            Strategy::AlternatingUsers,
            None,
        )
        .await;
    let tags = env
        .vault()
        .describe(&record.record.secret.0)
        .await
        .expect("described")
        .tags;
    let foreign = env
        .sm
        .create_secret()
        .name(format!("elsewhere/{}", testing::unique_suffix()))
        .secret_string(r#"{"engine":"postgres","host":"h","username":"u","password":"p"}"#)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| {
                    aws_sdk_secretsmanager::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                })
                .collect(),
        ))
        .send()
        .await
        .expect("created");
    let foreign = foreign.arn.expect("an ARN");
    let token = env.start_rotation(&foreign).await;
    let error = rotation::handle(&deps, step("createSecret", &foreign, &token))
        .await
        .expect_err("refused");
    assert!(error.contains("not a Strongroom secret"), "{error}");

    // An admin secret of another organization, named by `masterarn`.
    let theirs = env
        .generic("org_other", Provider::Postgres, &pg_admin_login(&pg))
        .await;
    let secret = record.record.secret.0.clone();
    let mut document: serde_json::Value = serde_json::from_str(
        secrecy::ExposeSecret::expose_secret(&env.current(&secret).await.document),
    )
    .expect("JSON");
    document["masterarn"] = json!(theirs.record.secret.0);
    env.sm
        .put_secret_value()
        .secret_id(&secret)
        .secret_string(document.to_string())
        .send()
        .await
        .expect("masterarn written");
    let token = env.start_rotation(&secret).await;
    rotation::handle(&deps, step("createSecret", &secret, &token))
        .await
        .expect("created");
    let error = rotation::handle(&deps, step("setSecret", &secret, &token))
        .await
        .expect_err("refused");
    assert!(
        error.contains("not a Strongroom secret of this organization"),
        "{error}"
    );

    // A pending version that names another host.
    let mut pending = document.clone();
    pending["host"] = json!("elsewhere.example");
    pending["username"] = json!(format!("{}_clone", login.username));
    let token = uuid::Uuid::new_v4().to_string();
    env.sm
        .update_secret_version_stage()
        .secret_id(&secret)
        .version_stage("AWSPENDING")
        .remove_from_version_id(
            env.vault()
                .describe(&secret)
                .await
                .expect("described")
                .holder_of("AWSPENDING")
                .expect("pending"),
        )
        .send()
        .await
        .expect("cleared");
    env.sm
        .put_secret_value()
        .secret_id(&secret)
        .client_request_token(&token)
        .secret_string(pending.to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .expect("staged");
    let error = rotation::handle(&deps, step("setSecret", &secret, &token))
        .await
        .expect_err("refused");
    assert!(error.contains("another host"), "{error}");
    assert!(
        deps.rotator.accounts().calls().is_empty(),
        "{:?}",
        deps.rotator.accounts().calls()
    );
}

/// Alternating users over four rotations: the users take turns, both log in after each, and
/// the metadata's `username` follows the secret.
#[tokio::test]
async fn alternating_users_take_turns_on_postgresql_and_both_keep_working() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "alt").await;
    let admin = env
        .generic("org_alt_pg", Provider::Postgres, &pg_admin_login(&pg))
        .await;
    let record = env
        .connection(
            "org_alt_pg",
            Provider::Postgres,
            &login,
            Strategy::AlternatingUsers,
            Some(admin.record.id),
        )
        .await;
    let secret = record.record.secret.0.clone();
    let clone = format!("{}_clone", login.username);
    let mut logins = vec![(login.username.clone(), login.password.clone())];
    for round in 0..4 {
        let deps = env.deps();
        let token = env.start_rotation(&secret).await;
        rotate(&deps, &secret, &token)
            .await
            .unwrap_or_else(|e| panic!("rotation {round}: {e}"));
        let current = env.current_login(&secret).await;
        let expected = if round % 2 == 0 {
            &clone
        } else {
            &login.username
        };
        assert_eq!(&current.username, expected, "rotation {round}");
        assert_eq!(
            current.masterarn.as_deref(),
            Some(admin.record.secret.0.as_str()),
            "the admin secret is written as AWS's `masterarn`"
        );
        let password = secrecy::ExposeSecret::expose_secret(&current.password).to_owned();
        logins.retain(|(user, _)| user != &current.username);
        logins.push((current.username.clone(), password));
        for (user, password) in &logins {
            assert!(
                pg_logs_in(&pg, user, password).await,
                "rotation {round}: {user}"
            );
        }
        let stored = env.stored(&record.record.key).await;
        assert_eq!(stored.record.settings["username"], json!(current.username));
    }
}

#[tokio::test]
async fn alternating_users_take_turns_on_mariadb_and_both_keep_working() {
    let (Some(env), Some(server)) = (Env::new().await, testing::mariadb()) else {
        return;
    };
    let login = my_user(&server, "alt", false).await;
    let admin_login = my_user(&server, "adm", true).await;
    let admin = env
        .generic("org_alt_my", Provider::Mariadb, &admin_login)
        .await;
    let record = env
        .connection(
            "org_alt_my",
            Provider::Mariadb,
            &login,
            Strategy::AlternatingUsers,
            Some(admin.record.id),
        )
        .await;
    let secret = record.record.secret.0.clone();
    let mut logins = vec![(login.username.clone(), login.password.clone())];
    for round in 0..4 {
        let deps = env.deps();
        let token = env.start_rotation(&secret).await;
        rotate(&deps, &secret, &token)
            .await
            .unwrap_or_else(|e| panic!("rotation {round}: {e}"));
        let current = env.current_login(&secret).await;
        let password = secrecy::ExposeSecret::expose_secret(&current.password).to_owned();
        logins.retain(|(user, _)| user != &current.username);
        logins.push((current.username.clone(), password));
        for (user, password) in &logins {
            assert!(
                my_logs_in(&server, user, password).await,
                "rotation {round}: {user}"
            );
        }
    }
}

/// A rotation Strongroom did not drive (AWS's template, the console) reaches the metadata
/// through Secrets Manager's `RotationSucceeded` event.
#[tokio::test]
async fn an_outside_rotation_reaches_the_metadata_through_its_event() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "outside").await;
    let record = env
        .connection(
            "org_outside",
            Provider::Postgres,
            &login,
            Strategy::AlternatingUsers,
            None,
        )
        .await;
    let secret = record.record.secret.0.clone();
    let mut document: serde_json::Value = serde_json::from_str(
        secrecy::ExposeSecret::expose_secret(&env.current(&secret).await.document),
    )
    .expect("JSON");
    document["username"] = json!(format!("{}_clone", login.username));
    document["password"] = json!(password());
    let written = env
        .sm
        .put_secret_value()
        .secret_id(&secret)
        .secret_string(document.to_string())
        .version_stages("AWSCURRENT")
        .send()
        .await
        .expect("rotated outside");
    let version = written.version_id.expect("a version");
    let deps = env.deps();
    let event = json!({
        "version": "0", "id": "e1", "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager", "account": "123456789012",
        "time": "2026-11-24T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventName": "RotationSucceeded", "additionalEventData": {"SecretId": secret}}
    });
    rotation::handle(&deps, event).await.expect("followed");
    let stored = env.stored(&record.record.key).await;
    assert_eq!(stored.record.secret_version, version);
    assert_eq!(stored.record.settings["username"], document["username"]);
    assert_eq!(
        stored.record.rotation.state.map(|s| s.status),
        Some(RotationStatus::Succeeded)
    );
}

/// An EventBridge event from Strongroom's own bus.
fn strongroom_event(detail_type: &str, detail: serde_json::Value) -> serde_json::Value {
    json!({
        "version": "0", "id": "e2", "detail-type": detail_type, "source": "strongroom",
        "account": "123456789012", "time": "2026-11-24T00:00:00Z", "region": "us-east-1",
        "resources": [], "detail": detail
    })
}

/// Secrets Manager's report of a rotation's outcome.
fn outcome_event(name: &str, secret: &str) -> serde_json::Value {
    json!({
        "version": "0", "id": "e3", "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager", "account": "123456789012",
        "time": "2026-11-24T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventName": name, "additionalEventData": {"SecretId": secret}}
    })
}

/// "Rotate when X happens": a rule's `strongroom.rotation.requested` starts a rotation of a
/// configured credential (Secrets Manager then runs the steps), and is refused for one
/// without settings or of another organization.
#[tokio::test]
async fn a_requested_rotation_starts_for_a_configured_credential_only() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "requested").await;
    let record = env
        .connection(
            "org_req",
            Provider::Postgres,
            &login,
            Strategy::SingleUser,
            None,
        )
        .await;
    let secret = record.record.secret.0.clone();
    let deps = env.deps();
    let id = record.record.id.to_string();
    for (org, words) in [("org_req_other", "no such credential")] {
        let event = strongroom_event(
            "strongroom.rotation.requested",
            json!({"organization": org, "credentialId": id}),
        );
        let error = rotation::handle(&deps, event).await.expect_err("refused");
        assert!(error.contains(words), "{error}");
    }
    let event = strongroom_event(
        "strongroom.rotation.requested",
        json!({"organization": "org_req", "credentialId": id}),
    );
    let answer = rotation::handle(&deps, event).await.expect("started");
    let token = answer["token"].as_str().expect("a token").to_owned();
    assert_eq!(
        *deps.control.started.lock().expect("lock"),
        vec![token.clone()]
    );
    let stored = env.stored(&record.record.key).await;
    let state = stored.record.rotation.state.expect("a state");
    assert_eq!(
        (state.status, state.token.as_deref()),
        (RotationStatus::InProgress, Some(token.as_str()))
    );
    // Secrets Manager runs the steps with the token.
    rotate(&deps, &secret, &token).await.expect("rotated");
    let current = env.current_login(&secret).await;
    let password = secrecy::ExposeSecret::expose_secret(&current.password).to_owned();
    assert!(pg_logs_in(&pg, &login.username, &password).await);
}

/// A replaced connection keeps its rotation settings; when Strongroom hears of the new
/// credential, its new secret is scheduled with the rotation function.
#[tokio::test]
async fn a_replaced_connection_keeps_its_rotation_and_its_new_secret_is_scheduled() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "replaced").await;
    let first = env
        .connection(
            "org_replace",
            Provider::Postgres,
            &login,
            Strategy::SingleUser,
            None,
        )
        .await;
    let replacement = env
        .service()
        .replace(
            &caller("org_replace"),
            first.record.key.clone(),
            credential_model::NewCredential {
                document: login.document(Provider::Postgres),
                attributes: levered::Connection::default(),
                expires_at: None,
            },
        )
        .await
        .expect("replaced");
    assert_ne!(replacement.secret, first.record.secret);
    assert_eq!(
        replacement.rotation.settings,
        first.record.rotation.settings
    );
    let deps = env.deps();
    let event = strongroom_event(
        "credential.created",
        json!({"organization": "org_replace", "id": replacement.id.to_string()}),
    );
    rotation::handle(&deps, event).await.expect("scheduled");
    let described = env
        .sm
        .describe_secret()
        .secret_id(&replacement.secret.0)
        .send()
        .await
        .expect("described");
    assert_eq!(described.rotation_lambda_arn(), Some(ABSENT_FUNCTION));
    assert_eq!(described.rotation_enabled(), Some(true));
    // And it rotates.
    let token = env.start_rotation(&replacement.secret.0).await;
    rotate(&deps, &replacement.secret.0, &token)
        .await
        .expect("the replacement rotates");
}

/// A rotation that failed after the database changed (the pending password works, the
/// current does not) is resumed by its `RotationFailed` event; one that failed before is
/// cleared, so the next can start.
#[tokio::test]
async fn a_stuck_rotation_is_resumed_or_cleared_when_it_is_reported_failed() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "stuck").await;
    let record = env
        .connection(
            "org_stuck",
            Provider::Postgres,
            &login,
            Strategy::SingleUser,
            None,
        )
        .await;
    let secret = record.record.secret.0.clone();
    let deps = env.deps();

    // Failed after setSecret: resumed.
    let token = env.start_rotation(&secret).await;
    for name in ["createSecret", "setSecret"] {
        rotation::handle(&deps, step(name, &secret, &token))
            .await
            .expect("a step");
    }
    let stale = env.current_login(&secret).await;
    assert!(
        !pg_logs_in(
            &pg,
            &stale.username,
            secrecy::ExposeSecret::expose_secret(&stale.password)
        )
        .await
    );
    rotation::handle(&env.deps(), outcome_event("RotationFailed", &secret))
        .await
        .expect("recovered");
    let current = env.current(&secret).await;
    assert_eq!(
        current.version_id, token,
        "the pending version was made current"
    );
    let login_now = env.current_login(&secret).await;
    assert!(
        pg_logs_in(
            &pg,
            &login_now.username,
            secrecy::ExposeSecret::expose_secret(&login_now.password)
        )
        .await
    );
    let stored = env.stored(&record.record.key).await;
    assert_eq!(stored.record.secret_version, token);

    // Failed before the database changed: cleared, and the next rotation goes through.
    let token = env.start_rotation(&secret).await;
    rotation::handle(&deps, step("createSecret", &secret, &token))
        .await
        .expect("created");
    rotation::handle(&env.deps(), outcome_event("RotationFailed", &secret))
        .await
        .expect("recovered");
    assert!(
        env.stages(&secret)
            .await
            .iter()
            .all(|(_, stages)| !stages.contains(&"AWSPENDING".to_owned())),
        "AWSPENDING cleared"
    );
    let stored = env.stored(&record.record.key).await;
    let state = stored.record.rotation.state.expect("a state");
    assert_eq!(state.status, RotationStatus::Failed);
    assert!(state.reason.is_some_and(|r| r.contains("cleared")));
    let token = env.start_rotation(&secret).await;
    rotate(&env.deps(), &secret, &token)
        .await
        .expect("the next rotation");
}

/// Scheduling without rotating now: Secrets Manager tests the configuration by running
/// `testSecret` on an `AWSPENDING` version holding the current value. The test passes with
/// the current login, and nothing changes.
#[tokio::test]
async fn secrets_managers_configuration_test_passes_without_changing_anything() {
    let (Some(env), Some(pg)) = (Env::new().await, testing::scram_postgres()) else {
        return;
    };
    let login = pg_user(&pg, "schedule").await;
    let record = env
        .connection(
            "org_schedule",
            Provider::Postgres,
            &login,
            Strategy::SingleUser,
            None,
        )
        .await;
    let secret = record.record.secret.0.clone();
    let token = uuid::Uuid::new_v4().to_string();
    let scheduled = env
        .sm
        .rotate_secret()
        .secret_id(&secret)
        .client_request_token(&token)
        .rotation_lambda_arn(ABSENT_FUNCTION)
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(30)
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await;
    assert!(
        scheduled
            .as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "moto stages the version, then cannot find the function: {scheduled:?}"
    );
    let deps = env.deps();
    rotation::handle(&deps, step("testSecret", &secret, &token))
        .await
        .expect("the configuration test passes");
    assert_eq!(deps.rotator.accounts().calls(), ["login"]);
    assert!(pg_logs_in(&pg, &login.username, &login.password).await);
    let stored = env.stored(&record.record.key).await;
    assert_eq!(stored.record.secret_version, record.record.secret_version);
}
