//! The Levered family end to end: over HTTP through the local gateway, against moto and a
//! PostgreSQL that checks passwords.

use credential_model::Scope;
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_e2e::{
    ALL_SCOPES, Body, Harness, Reply, Warehouse, canary, levered_postgres, org, unique_suffix,
};

const CONNECTIONS: &str = "/api/v2/warehouse/connections";
const TEST: &str = "/api/v2/warehouse/connections/test";

fn assert_meta(body: &Value, org: &str) {
    assert_eq!(body["meta"]["organization_id"], org, "{body}");
    assert!(
        body["meta"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

/// The organization's connection (or `null`) from a `GET`, which must have answered 200.
fn connection(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["connection"].clone()
}

/// Levered's error body: `status`, `code`, a sentence, and `meta`.
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let error = reply.json();
    assert_eq!(error["code"], code, "{error}");
    assert!(
        error["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{error}"
    );
    assert!(error["meta"]["request_id"].is_string(), "{error}");
}

#[tokio::test]
async fn lifecycle_create_get_test_update_delete() {
    let (Some(api), Some(warehouse)) = (Harness::start().await, Warehouse::find()) else {
        return;
    };
    let password = canary();
    let database = warehouse.database(&password).await;
    let org = org("life");
    let token = api.token(&org, "user_1", ALL_SCOPES);

    // Nothing configured yet.
    let reply = api.get(CONNECTIONS, &token).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["connection"], Value::Null);
    assert_meta(&reply.json(), &org);

    // Create: 201 with the documented body.
    let reply = api
        .post(CONNECTIONS, &token, &levered_postgres(&database, &password))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let created = reply.json();
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["provider"], "postgres");
    assert_eq!(created["project_id"], Value::Null);
    assert_eq!(created["dataset_id"], "public");
    assert_meta(&created, &org);

    // Get: the connection, without credentials.
    let reply = api.get(CONNECTIONS, &token).await;
    let shown = connection(&reply);
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["provider"], "postgres");
    assert_eq!(shown["dataset_id"], "public");
    assert!(
        shown["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(shown.get("credentials").is_none());
    assert!(!reply.text.contains("password"), "{}", reply.text);

    // Test: the warehouse accepts the password.
    let reply = api.post_empty(TEST, &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["success"], true);
    assert_meta(&reply.json(), &org);

    // Update with a wrong password: stored, and the test says authentication failed.
    let wrong = canary();
    let reply = api
        .post(CONNECTIONS, &token, &levered_postgres(&database, &wrong))
        .await;
    assert_eq!(reply.status, 201);
    let replaced_id = reply.json()["id"].as_str().expect("id").to_owned();
    assert_ne!(replaced_id, id, "a replacement is a new connection");
    let reply = api.post_empty(TEST, &token).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let failure = reply.json();
    assert_eq!(failure["success"], false);
    assert_eq!(failure["code"], "authentication_failed");
    assert_eq!(failure["source"], "warehouse");
    let message = failure["error"].as_str().expect("an error");
    assert!(
        message.starts_with("Authentication failed (the warehouse said)"),
        "{message}"
    );
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    assert_eq!(
        api.live_secrets(&org).await.len(),
        1,
        "the replaced secret is retired"
    );

    // Update back to the right password: the test passes again.
    let reply = api
        .post(CONNECTIONS, &token, &levered_postgres(&database, &password))
        .await;
    assert_eq!(reply.status, 201);
    let current_id = reply.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(
        connection(&api.get(CONNECTIONS, &token).await)["id"],
        current_id.as_str()
    );
    assert_eq!(api.post_empty(TEST, &token).await.json()["success"], true);

    // Delete: 204, then nothing.
    let reply = api.delete(CONNECTIONS, &token).await;
    assert_eq!(reply.status, 204);
    assert!(reply.text.is_empty());
    assert_eq!(connection(&api.get(CONNECTIONS, &token).await), Value::Null);
    assert!(
        api.live_secrets(&org).await.is_empty(),
        "the secret is scheduled for deletion"
    );
    assert_error(&api.delete(CONNECTIONS, &token).await, 404, "not_found");
    let reply = api.post_empty(TEST, &token).await;
    assert_error(&reply, 404, "not_found");
    assert_eq!(reply.json()["success"], false);

    api.assert_never_exposed(&password).await;
    api.assert_never_exposed(&wrong).await;
}

#[tokio::test]
async fn test_says_what_failed_and_who_said_so() {
    let (Some(api), Some(warehouse)) = (Harness::start().await, Warehouse::find()) else {
        return;
    };
    let password = canary();
    let database = warehouse.database(&password).await;
    let org = org("failures");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let expect_failure = async |body: Value, code: &str, source: &str, words: &str| {
        assert_eq!(api.post(CONNECTIONS, &token, &body).await.status, 201);
        let reply = api.post_empty(TEST, &token).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        let failure = reply.json();
        assert_eq!(failure["success"], false);
        assert_eq!(failure["code"], code, "{failure}");
        assert_eq!(failure["source"], source, "{failure}");
        let message = failure["error"].as_str().expect("an error");
        assert!(message.contains(words), "{message}");
    };

    let mut missing_database = levered_postgres(&database, &password);
    missing_database["credentials"]["database"] = json!("no_such_database");
    expect_failure(
        missing_database,
        "database_not_found",
        "warehouse",
        "does not exist",
    )
    .await;

    let outsider = warehouse
        .role_without_connect(&database.name, &password)
        .await;
    let mut no_permission = levered_postgres(&database, &password);
    no_permission["credentials"]["username"] = json!(outsider);
    expect_failure(
        no_permission,
        "permission_denied",
        "warehouse",
        "permission denied",
    )
    .await;

    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut unreachable = levered_postgres(&database, &password);
    unreachable["credentials"]["port"] = json!(closed_port);
    expect_failure(
        unreachable,
        "host_unreachable",
        "strongroom",
        "connection refused",
    )
    .await;

    // A server that accepts connections and never answers: the test gives up after 5 s.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let silent_port = silent.local_addr().expect("address").port();
    let _held = std::thread::spawn(move || {
        let _connections: Vec<_> = silent.incoming().take(2).collect();
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let mut timing_out = levered_postgres(&database, &password);
    timing_out["credentials"]["port"] = json!(silent_port);
    expect_failure(timing_out, "timeout", "strongroom", "within 5 s").await;

    api.assert_never_exposed(&password).await;
}

#[tokio::test]
async fn providers_that_cannot_be_tested_yet_say_so_honestly() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("providers");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let key = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        canary()
    );
    let bigquery = json!({
        "provider": "bigquery", "project_id": "my-gcp-project", "dataset_id": "levered",
        "credentials": {"type": "service_account", "project_id": "my-gcp-project",
                        "private_key": key,
                        "client_email": "levered@my-gcp-project.iam.gserviceaccount.com"}
    });
    let reply = api.post(CONNECTIONS, &token, &bigquery).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json()["project_id"], "my-gcp-project");
    assert_eq!(reply.json()["dataset_id"], "levered");
    // The key file is checked before the test says it goes no further: this one's private key
    // is a canary between PEM lines, not a key.
    let reply = api.post_empty(TEST, &token).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["code"], "invalid_key_material");
    assert_eq!(
        reply.json()["error"],
        "Invalid key material (reported by Strongroom): the key material in \
         keyfile.private_key is not a PEM private key (PKCS#8)"
    );

    let password = canary();
    let snowflake = json!({
        "provider": "snowflake", "project_id": "xy12345", "dataset_id": "analytics",
        "credentials": {"account": "xy12345.eu-west-1", "username": "levered", "password": password,
                        "warehouse": "COMPUTE_WH", "database": "ANALYTICS", "schema": "PUBLIC"}
    });
    assert_eq!(api.post(CONNECTIONS, &token, &snowflake).await.status, 201);
    let reply = api.get(CONNECTIONS, &token).await;
    assert_eq!(connection(&reply)["provider"], "snowflake");
    let reply = api.post_empty(TEST, &token).await;
    assert_eq!(reply.json()["code"], "test_not_available");

    api.assert_never_exposed(&password).await;
    api.assert_never_exposed(&key).await;
}

#[tokio::test]
async fn the_secret_is_in_secrets_manager_in_the_aws_standard_format() {
    let (Some(api), Some(warehouse)) = (Harness::start().await, Warehouse::find()) else {
        return;
    };
    let password = canary();
    let database = warehouse.database(&password).await;
    let org = org("format");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let reply = api
        .post(CONNECTIONS, &token, &levered_postgres(&database, &password))
        .await;
    let id = reply.json()["id"].as_str().expect("id").to_owned();

    let secrets = api.live_secrets(&org).await;
    assert_eq!(secrets.len(), 1);
    let document = api.current_secret(&secrets[0]).await;
    assert_eq!(
        document,
        json!({
            "engine": "postgres", "host": database.host, "port": database.port,
            "dbname": database.name, "username": database.role, "password": password,
            "schema": "public"
        })
    );
    let described = api.describe_secret(&secrets[0]).await;
    assert_eq!(
        described.name,
        format!(
            "{}/{org}/warehouse-connection/{id}",
            api.stack.secret_prefix
        )
    );
    assert_eq!(described.kms_key_id, api.stack.kms_key_arn);
    assert_eq!(described.tag("strongroom:organization"), Some(org.as_str()));
    assert_eq!(described.tag("strongroom:credential-id"), Some(id.as_str()));

    // The metadata item holds the ARN, never the material.
    let dump = api.table_dump().await;
    assert!(dump.contains(&secrets[0]));
    api.assert_never_exposed(&password).await;
}

#[tokio::test]
async fn organizations_never_see_each_other() {
    let (Some(api), Some(warehouse)) = (Harness::start().await, Warehouse::find()) else {
        return;
    };
    let password = canary();
    let database = warehouse.database(&password).await;
    let (org_a, org_b) = (org("a"), org("b"));
    let token_a = api.token(&org_a, "user_a", ALL_SCOPES);
    let token_b = api.token(&org_b, "user_b", ALL_SCOPES);
    let reply = api
        .post(
            CONNECTIONS,
            &token_a,
            &levered_postgres(&database, &password),
        )
        .await;
    let id_a = reply.json()["id"].as_str().expect("id").to_owned();

    let replies_to_b = [
        api.get(CONNECTIONS, &token_b).await,
        api.post_empty(TEST, &token_b).await,
        api.delete(CONNECTIONS, &token_b).await,
    ];
    assert_eq!(connection(&replies_to_b[0]), Value::Null);
    assert_eq!(
        replies_to_b[0].json()["meta"]["organization_id"],
        org_b.as_str()
    );
    assert_error(&replies_to_b[1], 404, "not_found");
    assert_error(&replies_to_b[2], 404, "not_found");
    assert!(
        replies_to_b.iter().all(|r| !r.text.contains(&id_a)),
        "B saw A's connection"
    );

    // B's own connection does not touch A's.
    let reply = api
        .post(
            CONNECTIONS,
            &token_b,
            &levered_postgres(&database, &password),
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_ne!(reply.json()["id"], id_a.as_str());
    assert_eq!(
        connection(&api.get(CONNECTIONS, &token_a).await)["id"],
        id_a.as_str()
    );
    assert_eq!(api.delete(CONNECTIONS, &token_b).await.status, 204);
    assert_eq!(
        connection(&api.get(CONNECTIONS, &token_a).await)["id"],
        id_a.as_str()
    );
    assert_eq!(api.post_empty(TEST, &token_a).await.json()["success"], true);
    api.assert_never_exposed(&password).await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("input");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let password = canary();
    let valid_credentials = json!({"host": "db.example.com", "port": 5432, "database": "analytics",
                                   "username": "levered", "password": password});
    let with = |path: &[&str], value: Value| {
        let mut body = json!({"provider": "postgres", "credentials": valid_credentials.clone()});
        let (last, parents) = path.split_last().expect("a path");
        let target = parents.iter().fold(&mut body, |v, p| &mut v[*p]);
        match value {
            Value::Null => {
                target.as_object_mut().expect("object").remove(*last);
            }
            value => target[*last] = value,
        }
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"credentials": valid_credentials.clone()}),
            "provider",
        ),
        (with(&["provider"], json!("oracle")), "provider"),
        (with(&["provider"], json!(7)), "provider"),
        (json!({"provider": "postgres"}), "credentials"),
        (
            with(&["credentials"], json!("postgres://u:p@h/db")),
            "credentials",
        ),
        (
            with(&["credentials", "host"], Value::Null),
            "credentials.host",
        ),
        (
            with(&["credentials", "host"], json!("postgres://db.example.com")),
            "credentials.host",
        ),
        (
            with(&["credentials", "port"], json!("5432")),
            "credentials.port",
        ),
        (
            with(&["credentials", "port"], json!(70000)),
            "credentials.port",
        ),
        (with(&["credentials", "port"], json!(0)), "credentials.port"),
        (
            with(&["credentials", "database"], json!("")),
            "credentials.database",
        ),
        (
            with(&["credentials", "username"], json!(["a"])),
            "credentials.username",
        ),
        (
            with(&["credentials", "password"], Value::Null),
            "credentials.password",
        ),
        (
            with(&["credentials", "password"], json!(12345)),
            "credentials.password",
        ),
        (
            with(&["credentials", "sslmode"], json!("sometimes")),
            "credentials.sslmode",
        ),
        (with(&["dataset_id"], json!(42)), "dataset_id"),
        (
            json!({"provider": "bigquery", "credentials": {"type": "service_account"}}),
            "project_id",
        ),
        (json!(["not", "an", "object"]), "body"),
    ];
    for (body, field) in cases {
        let reply = api.post(CONNECTIONS, &token, &body).await;
        assert_eq!(reply.status, 400, "{body} → {}", reply.text);
        let error = reply.json();
        assert_eq!(error["field"], field, "{body} → {error}");
        assert_eq!(error["code"], "invalid_request");
        assert!(
            error["error"].as_str().is_some_and(|e| e.contains(field)),
            "{error}"
        );
        assert_meta(&error, &org);
    }

    let raw = async |content_type: &str, text: String| {
        api.send(
            Method::POST,
            CONNECTIONS,
            Some(&token),
            Body::Raw { content_type, text },
        )
        .await
    };
    let reply = raw(
        "application/json",
        format!("{{\"provider\": \"postgres\", \"password\": \"{password}\""),
    )
    .await;
    assert_error(&reply, 400, "malformed_json");
    assert!(
        reply.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("line 1"))
    );
    let reply = raw(
        "text/plain",
        with(&["dataset_id"], json!("public")).to_string(),
    )
    .await;
    assert_error(&reply, 415, "unsupported_media_type");
    let reply = raw(
        "application/json",
        format!("{{\"provider\": \"{}\"}}", "x".repeat(70 * 1024)),
    )
    .await;
    assert_error(&reply, 413, "payload_too_large");
    let reply = raw("application/json", String::new()).await;
    assert_error(&reply, 400, "malformed_json");

    // Nothing was written anywhere.
    assert_eq!(connection(&api.get(CONNECTIONS, &token).await), Value::Null);
    assert_eq!(api.item_count().await, 0);
    assert!(api.live_secrets(&org).await.is_empty());
    api.assert_never_exposed(&password).await;
}

#[tokio::test]
async fn bad_tokens_get_401_and_missing_scopes_403_in_levered_shape() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("auth");
    let body = json!({"provider": "postgres", "credentials": {"host": "db", "port": 5432,
        "database": "d", "username": "u", "password": canary()}});

    // No Authorization header: API Gateway itself answers, before any function runs.
    let reply = api.send(Method::GET, CONNECTIONS, None, Body::None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json(), json!({"message": "Unauthorized"}));

    // A token that is refused: the route answers 401 in Levered's shape, with why.
    let expired = api.token_for(&org, "user_1", ALL_SCOPES, -120);
    let suffix = unique_suffix();
    for (token, reason) in [
        ("not-a-jwt".to_owned(), "not a well-formed JWT"),
        (expired, "expired"),
        (
            format!("{}x", api.token(&org, "user_1", ALL_SCOPES)),
            "signature",
        ),
        (
            format!("{suffix}.{suffix}.{suffix}"),
            "not a well-formed JWT",
        ),
    ] {
        for (method, path) in [
            (Method::GET, CONNECTIONS),
            (Method::POST, TEST),
            (Method::DELETE, CONNECTIONS),
        ] {
            let reply = api
                .send(method.clone(), path, Some(&token), Body::None)
                .await;
            assert_eq!(reply.status, 401, "{method} {path}: {}", reply.text);
            let error = reply.json();
            assert_eq!(error["code"], "unauthenticated");
            assert!(
                error["error"].as_str().is_some_and(|e| e.contains(reason)),
                "{error}"
            );
            assert_eq!(error["meta"]["organization_id"], Value::Null);
        }
    }

    // A good token without the scope: 403, and nothing written.
    let reader = api.token(&org, "user_1", &[Scope::Read]);
    let reply = api.post(CONNECTIONS, &reader, &body).await;
    assert_error(&reply, 403, "forbidden");
    assert!(
        reply.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("credentials:write"))
    );
    assert_error(&api.delete(CONNECTIONS, &reader).await, 403, "forbidden");
    assert_eq!(
        connection(&api.get(CONNECTIONS, &reader).await),
        Value::Null
    );
    let writer = api.token(&org, "user_1", &[Scope::Write]);
    assert_error(&api.get(CONNECTIONS, &writer).await, 403, "forbidden");
    assert_eq!(api.item_count().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replacements_leave_one_connection_and_one_live_secret() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("race");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let password = canary();
    let body = |n: usize| {
        json!({"provider": "postgres", "credentials": {"host": "db.example.com", "port": 5432,
            "database": format!("db{n}"), "username": "u", "password": password}})
    };
    let api = std::sync::Arc::new(api);
    let mut conflicts = 0;
    for round in 0..5 {
        let mut racers = tokio::task::JoinSet::new();
        for n in 0..8 {
            let (api, token, body) = (api.clone(), token.clone(), body(n));
            racers.spawn(async move { api.post(CONNECTIONS, &token, &body).await });
        }
        let replies = racers.join_all().await;
        let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
        for reply in &replies {
            match reply.status {
                201 => {}
                409 => {
                    assert_error(reply, 409, "conflict");
                    conflicts += 1;
                }
                other => panic!("round {round}: {other}: {}", reply.text),
            }
        }
        assert!(!winners.is_empty(), "round {round}: no replacement won");
        let current = connection(&api.get(CONNECTIONS, &token).await);
        assert!(
            winners.iter().any(|r| r.json()["id"] == current["id"]),
            "round {round}: the stored connection is one a winner was told of"
        );
        assert_eq!(api.item_count().await, 1);
        api.assert_secrets_match_metadata(
            &org,
            &format!("round {round}: losers' and replaced secrets are gone"),
        )
        .await;
        if conflicts > 0 {
            break;
        }
    }
    assert!(conflicts > 0, "the replacements never raced");
    api.assert_never_exposed(&password).await;
}

/// Creates racing deletes: a replace that read a connection must not overwrite a connection
/// created after that one was deleted (its version restarts at 1), and no secret may outlive
/// the metadata that references it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_racing_deletes_never_lose_a_write_or_orphan_a_secret() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let api = std::sync::Arc::new(api);
    let org = org("aba");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let password = canary();
    let body = |n: usize| {
        json!({"provider": "postgres", "credentials": {"host": "db.example.com", "port": 5432,
            "database": format!("db{n}"), "username": "u", "password": password}})
    };
    let (mut refused_creates, mut deletes) = (0, 0);
    for round in 0..20 {
        let reply = api.post(CONNECTIONS, &token, &body(100)).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let mut racers = tokio::task::JoinSet::new();
        // Three deletes at once, and eight creates spread over their window, so that some
        // creates read the connection before it is deleted and some after.
        let plan = (0..3)
            .map(|_| (Method::DELETE, 0))
            .chain((0..8).map(|n| (Method::POST, 3 * n)));
        for (n, (method, delay_ms)) in plan.enumerate() {
            let (api, token, body) = (api.clone(), token.clone(), body(n));
            racers.spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
                let reply = if method == Method::POST {
                    api.post(CONNECTIONS, &token, &body).await
                } else {
                    api.delete(CONNECTIONS, &token).await
                };
                (method, reply)
            });
        }
        for (method, reply) in racers.join_all().await {
            match (&method, reply.status) {
                (&Method::POST, 201) => {}
                (&Method::POST, 409) => {
                    assert_eq!(reply.json()["code"], "conflict", "{}", reply.text);
                    refused_creates += 1;
                }
                (&Method::DELETE, 204) => deletes += 1,
                (&Method::DELETE, 404 | 409) => {
                    assert!(reply.json()["code"].is_string(), "{}", reply.text);
                }
                (method, status) => panic!("{method} answered {status}: {}", reply.text),
            }
        }
        let referenced = api.secret_arns_in_table().await;
        assert!(referenced.len() <= 1, "round {round}: {referenced:?}");
        let context = format!("round {round}: every live secret is the connection's");
        api.assert_secrets_match_metadata(&org, &context).await;
    }
    assert!(
        refused_creates > 0 && deletes > 0,
        "the race did not happen: {refused_creates} creates refused, {deletes} deletes"
    );
    api.assert_never_exposed(&password).await;
}

/// A dependency down: every route answers 503 in Levered's shape, says which dependency,
/// gives no detail, writes nothing half-way, and logs its cause without a secret in it.
#[tokio::test]
async fn a_dependency_down_answers_503_in_levered_shape_and_logs_no_secret() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("outage");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let password = canary();
    let body = json!({"provider": "postgres", "credentials": {"host": "db.example.com",
        "port": 5432, "database": "d", "username": "u", "password": password}});
    assert_eq!(api.post(CONNECTIONS, &token, &body).await.status, 201);
    api.break_the_table().await;
    for reply in [
        api.post(CONNECTIONS, &token, &body).await,
        api.get(CONNECTIONS, &token).await,
        api.post_empty(TEST, &token).await,
        api.delete(CONNECTIONS, &token).await,
    ] {
        assert_error(&reply, 503, "service_unavailable");
        assert_eq!(
            reply.json()["error"],
            "the metadata store is temporarily unavailable; retry shortly"
        );
    }
    assert_eq!(
        api.live_secrets(&org).await.len(),
        1,
        "the refused create's secret was discarded"
    );
    api.assert_outage_logged_without(&password);
}
