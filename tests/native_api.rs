//! The native API end to end: over HTTP through the local gateway, against moto, with each
//! function under its own IAM user holding its template policies.
//!
//! Rotation runs against moto with a rotation function that does not exist there: moto does
//! what Secrets Manager does before invoking it (records the function, stages `AWSPENDING`),
//! then answers `ResourceNotFoundException`; the local gateway's rotation control then runs the
//! rotation function's four steps in-process (`strongroom_local::LocalRotation`), against the
//! password-checking PostgreSQL. Moto records no `ScheduleExpression`, so the schedule is
//! checked in Strongroom's own record, and Secrets Manager's side by the function it names.

use credential_model::Scope;
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_e2e::{ALL_SCOPES, Harness, Reply, Warehouse, canary, org};
use strongroom_local::LOCAL_ROTATION_FUNCTION_ARN;

fn credential(id: &str) -> String {
    format!("/strongroom/v1/credentials/{id}")
}

fn rotation(id: &str) -> String {
    format!("/strongroom/v1/credentials/{id}/rotation")
}

fn rotate(id: &str) -> String {
    format!("/strongroom/v1/credentials/{id}/rotate")
}

/// A problem (`application/problem+json`) of `status` and type `kind`.
fn assert_problem(reply: &Reply, status: u16, kind: &str) -> Value {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/problem+json")
    );
    let problem = reply.json();
    assert_eq!(problem["type"], format!("urn:strongroom:problem:{kind}"));
    assert_eq!(problem["status"], status);
    assert!(problem["title"].is_string() && problem["detail"].is_string());
    problem
}

/// The fields a `400` problem names.
fn fields(reply: &Reply) -> Vec<String> {
    let problem = assert_problem(reply, 400, "invalid-request");
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("a field").to_owned())
        .collect()
}

/// Creates Levered's PostgreSQL connection holding `password`; its id.
async fn levered_postgres(api: &Harness, token: &str, password: &str) -> String {
    let body = json!({"provider": "postgres", "dataset_id": "public", "credentials": {
        "host": "db.internal", "port": 5432, "database": "analytics", "username": "app",
        "password": password}});
    let reply = api
        .post("/api/v2/warehouse/connections", token, &body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()["id"].as_str().expect("an id").to_owned()
}

/// `method path` by `token`, sending `conditions` (`If-Match`, `If-None-Match`) and `body`.
/// Its own client, so that many can run at once from spawned tasks.
async fn conditional(
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    conditions: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in conditions {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the gateway answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("a body");
    Reply {
        status,
        content_type,
        headers,
        text,
    }
}

/// The strong entity tag of a record version.
fn tag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The secret's rotation function and the ids of the versions staged `stage`.
async fn described(api: &Harness, arn: &str, stage: &str) -> (bool, Option<String>, Vec<String>) {
    let described = api
        .secrets()
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .expect("describe");
    let staged = described
        .version_ids_to_stages()
        .into_iter()
        .flatten()
        .filter(|(_, stages)| stages.iter().any(|s| s == stage))
        .map(|(id, _)| id.clone())
        .collect();
    (
        described.rotation_enabled().unwrap_or(false),
        described.rotation_lambda_arn().map(str::to_owned),
        staged,
    )
}

#[tokio::test]
async fn a_database_credential_reads_rotates_on_a_schedule_now_and_stops() {
    let (Some(api), Some(warehouse)) = (Harness::start().await, Warehouse::find()) else {
        return;
    };
    let password = canary();
    let database = warehouse.database(&password).await;
    let org = org("native");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let mut body = strongroom_e2e::levered_postgres(&database, &password);
    body["credentials"]["sslmode"] = json!("disable");
    let reply = api
        .post("/api/v2/warehouse/connections", &token, &body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json()["id"].as_str().expect("an id").to_owned();
    let arns = api.secret_arns_in_table().await;
    let arn = arns.first().expect("the credential's secret");

    // Read natively: its family, kind and the one version of its secret.
    let reply = api.get(&credential(&id), &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let read = reply.json();
    assert_eq!(read["id"], id.as_str());
    assert_eq!(read["family"], "levered");
    assert_eq!(read["kind"], "warehouse-connection");
    assert_eq!(read["provider"], "postgres");
    assert_eq!(read["version"], 1);
    let (_, _, current) = described(&api, arn, "AWSCURRENT").await;
    assert_eq!(read["secret"]["currentVersion"], current[0].as_str());
    assert_eq!(
        read["secret"]["versions"],
        json!([{"id": current[0], "stages": ["AWSCURRENT"]}])
    );
    assert_eq!(read["rotation"]["enabled"], false);

    // Rotation can't start before it is configured.
    let reply = api.post_empty(&rotate(&id), &token).await;
    let problem = assert_problem(&reply, 409, "conflict");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("rotation is not configured"))
    );

    // Scheduled: the settings in the record, the rotation function on the secret.
    let settings = json!({"schedule": "rate(30 days)", "strategy": "single-user"});
    let reply = api
        .send_json(reqwest::Method::PUT, &rotation(&id), &token, &settings)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let scheduled = reply.json();
    assert_eq!(scheduled["rotation"]["enabled"], true);
    assert_eq!(scheduled["rotation"]["schedule"], "rate(30 days)");
    assert_eq!(scheduled["rotation"]["strategy"], "single-user");
    assert_eq!(scheduled["version"], 2);
    let (_, function, _) = described(&api, arn, "AWSCURRENT").await;
    assert_eq!(function.as_deref(), Some(LOCAL_ROTATION_FUNCTION_ARN));
    assert_eq!(api.get(&credential(&id), &token).await.json(), scheduled);

    // Rotate now: 202 with the token; the rotation runs (locally, before the answer) and the
    // token's version becomes current, the password changed in the database once.
    let reply = api.post_empty(&rotate(&id), &token).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    let started = reply.json();
    assert_eq!(started["id"], id.as_str());
    assert_eq!(started["rotation"]["status"], "in-progress");
    let token_id = started["rotation"]["token"].as_str().expect("a token");
    let (_, _, pending) = described(&api, arn, "AWSPENDING").await;
    assert!(pending.is_empty(), "AWSPENDING left on {pending:?}");
    let read = api.get(&credential(&id), &token).await.json();
    assert_eq!(read["rotation"]["status"], "succeeded", "{read}");
    assert_eq!(read["rotation"]["token"], token_id);
    assert!(read["rotation"]["lastRotatedAt"].is_string(), "{read}");
    assert_eq!(read["secret"]["currentVersion"], token_id);
    assert!(
        read["secret"]["versions"]
            .as_array()
            .expect("versions")
            .contains(&json!({"id": current[0], "stages": ["AWSPREVIOUS"]}))
    );
    let rotated = api.current_secret(arn).await;
    assert_ne!(rotated["password"], password.as_str());
    let reply = api
        .post_empty("/api/v2/warehouse/connections/test", &token)
        .await;
    assert_eq!(
        reply.status, 200,
        "the family tests the rotated password: {}",
        reply.text
    );
    assert_eq!(reply.json()["success"], true, "{}", reply.text);

    // Stopped: cancelled in Secrets Manager, settings cleared; again is fine.
    for _ in 0..2 {
        let reply = api.delete(&rotation(&id), &token).await;
        assert_eq!(reply.status, 204, "{}", reply.text);
    }
    let (enabled, _, _) = described(&api, arn, "AWSCURRENT").await;
    assert!(!enabled);
    let read = api.get(&credential(&id), &token).await.json();
    assert_eq!(read["rotation"]["enabled"], false);
    assert_eq!(read["rotation"]["schedule"], Value::Null);
    assert_eq!(
        read["rotation"]["status"], "succeeded",
        "the last rotation's state stays"
    );

    api.assert_never_exposed(&password).await;
    // The password the rotation generated is secret material too: in no response, log line,
    // item, or secret's name, description or tags.
    api.assert_never_exposed(rotated["password"].as_str().expect("a password"))
        .await;
}

#[tokio::test]
async fn every_family_reads_natively_and_tenancy_holds() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let password = canary();
    let elsewhere = org("other");
    let org = org("tenancy");
    let owner = api.token(&org, "user_owner", &[Scope::Read, Scope::Write]);
    let colleague = api.token(&org, "user_colleague", &[Scope::Read, Scope::Write]);
    let admin = api.token(&org, "user_admin", &[Scope::Admin]);
    let stranger = api.token(&elsewhere, "user_owner", ALL_SCOPES);

    let reply = api
        .post(
            "/api/v1/user/warehouseCredentials",
            &owner,
            &json!({"name": "Mine", "credentials": {"type": "snowflake", "user": "ANALYST",
                    "password": password}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let own = reply.json()["results"]["uuid"]
        .as_str()
        .expect("a uuid")
        .to_owned();
    let reply = api
        .post(
            "/api/v1/credentials",
            &owner,
            &json!({"label": "OpenAI", "auth_type": "api_key", "credential_scope": "workspace",
                    "provider": "openai", "credentials": {"api_key": password}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let generic = reply.json()["id"].as_str().expect("an id").to_owned();

    let read = api.get(&credential(&own), &owner).await.json();
    assert_eq!(
        (&read["family"], &read["provider"]),
        (&json!("lightdash"), &json!("snowflake"))
    );
    let read = api.get(&credential(&generic), &colleague).await.json();
    assert_eq!(
        (&read["family"], &read["kind"]),
        (&json!("mielto"), &json!("generic-credential"))
    );
    assert_eq!(api.get(&credential(&own), &admin).await.status, 200);

    let unknown = api
        .get(&credential(&uuid::Uuid::new_v4().to_string()), &owner)
        .await;
    let unknown = assert_problem(&unknown, 404, "not-found");
    for (path, token) in [
        (credential(&own), &colleague),
        (credential(&own), &stranger),
        (credential(&generic), &stranger),
        (rotate(&own), &colleague),
        (rotation(&generic), &stranger),
    ] {
        let reply = if path.ends_with("/rotate") {
            api.post_empty(&path, token).await
        } else if path.ends_with("/rotation") {
            api.delete(&path, token).await
        } else {
            api.get(&path, token).await
        };
        let problem = assert_problem(&reply, 404, "not-found");
        assert_eq!(problem["detail"], unknown["detail"], "{path}");
    }

    // Only database logins rotate; bad settings name their field.
    let sent = json!({"schedule": "rate(1 day)", "strategy": "single-user"});
    let reply = api
        .send_json(reqwest::Method::PUT, &rotation(&own), &owner, &sent)
        .await;
    assert_eq!(fields(&reply), ["provider"]);
    let id = levered_postgres(&api, &owner, &password).await;
    for (sent, named) in [
        (
            json!({"schedule": "every day", "strategy": "single-user"}),
            "schedule",
        ),
        (
            json!({"schedule": "rate(1 day)", "strategy": "both"}),
            "strategy",
        ),
        (
            json!({"schedule": "rate(1 day)", "strategy": "alternating-users",
                "adminCredentialId": generic}),
            "adminCredentialId",
        ),
    ] {
        let reply = api
            .send_json(reqwest::Method::PUT, &rotation(&id), &owner, &sent)
            .await;
        assert_eq!(fields(&reply), [named], "{sent}");
    }
    assert_eq!(
        api.get(&credential(&id), &owner).await.json()["version"],
        1,
        "nothing written"
    );

    let reader = api.token(&org, "user_owner", &[Scope::Read]);
    let reply = api.delete(&rotation(&id), &reader).await;
    assert_problem(&reply, 403, "forbidden");

    api.assert_never_exposed(&password).await;
}

#[tokio::test]
async fn reads_are_tagged_with_the_version_and_writes_honour_if_match() {
    let (Some(api), Some(warehouse)) = (Harness::start().await, Warehouse::find()) else {
        return;
    };
    let password = canary();
    let database = warehouse.database(&password).await;
    let org = org("etag");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let mut body = strongroom_e2e::levered_postgres(&database, &password);
    body["credentials"]["sslmode"] = json!("disable");
    let reply = api
        .post("/api/v2/warehouse/connections", &token, &body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json()["id"].as_str().expect("an id").to_owned();
    let base = api.base.as_str();
    let send = |method: Method, path: String, conditions: Vec<(&'static str, String)>| {
        let token = token.clone();
        async move {
            let conditions: Vec<(&str, &str)> =
                conditions.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let body = (method == Method::PUT)
                .then(|| json!({"schedule": "rate(30 days)", "strategy": "single-user"}));
            conditional(base, method, &path, &token, &conditions, body.as_ref()).await
        }
    };
    let read = || send(Method::GET, credential(&id), vec![]);

    // A read is tagged with its record's version.
    let first = read().await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json()["version"], 1);
    assert_eq!(first.header("etag").as_deref(), Some(tag(1).as_str()));

    // If-None-Match naming it (weakly too, or `*`): 304, the tag, no body; another tag: 200.
    for named in [
        tag(1),
        format!("W/{}", tag(1)),
        "*".into(),
        format!("\"0\", {}", tag(1)),
    ] {
        let reply = send(
            Method::GET,
            credential(&id),
            vec![("if-none-match", named.clone())],
        )
        .await;
        assert_eq!(reply.status, 304, "{named}: {}", reply.text);
        assert_eq!(
            reply.header("etag").as_deref(),
            Some(tag(1).as_str()),
            "{named}"
        );
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        assert!(reply.text.is_empty(), "{named}");
    }
    let reply = send(
        Method::GET,
        credential(&id),
        vec![("if-none-match", tag(7))],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = send(Method::GET, credential(&id), vec![("if-match", tag(7))]).await;
    assert_problem(&reply, 412, "precondition-failed");

    // A stale tag, a weak one (strong comparison), and `If-None-Match: *` on a credential that
    // exists: 412, and nothing written or scheduled. A malformed one: 400 naming the header.
    for (header, value) in [
        ("if-match", tag(0)),
        ("if-match", format!("W/{}", tag(1))),
        ("if-none-match", "*".to_owned()),
        ("if-none-match", tag(1)),
    ] {
        let reply = send(Method::PUT, rotation(&id), vec![(header, value.clone())]).await;
        let problem = assert_problem(&reply, 412, "precondition-failed");
        assert_eq!(problem["title"], "Precondition failed");
        assert_eq!(reply.header("etag"), None, "{header}: {value}");
    }
    for (header, value, named) in [
        ("if-match", "1", "If-Match"),
        ("if-match", "\"1", "If-Match"),
        ("if-match", "*, \"1\"", "If-Match"),
        ("if-none-match", "'1'", "If-None-Match"),
    ] {
        let reply = send(Method::PUT, rotation(&id), vec![(header, value.into())]).await;
        assert_eq!(fields(&reply), [named], "{header}: {value}");
    }
    let unchanged = read().await;
    assert_eq!(unchanged.header("etag").as_deref(), Some(tag(1).as_str()));
    assert_eq!(unchanged.json()["version"], 1);
    assert_eq!(unchanged.json()["rotation"]["enabled"], false);
    let arns = api.secret_arns_in_table().await;
    let arn = arns.first().expect("the credential's secret");
    let (_, function, _) = described(&api, arn, "AWSCURRENT").await;
    assert_eq!(function, None, "nothing scheduled");

    // The current tag: written, answered with the next tag. That tag again, now stale: 412.
    let written = send(Method::PUT, rotation(&id), vec![("if-match", tag(1))]).await;
    assert_eq!(written.status, 200, "{}", written.text);
    assert_eq!(written.header("etag").as_deref(), Some(tag(2).as_str()));
    assert_eq!(written.json()["version"], 2);
    let reply = send(Method::PUT, rotation(&id), vec![("if-match", tag(1))]).await;
    assert_problem(&reply, 412, "precondition-failed");
    // A list naming the current tag, and `*`: written.
    let listed = format!("{}, W/{}, {}", tag(9), tag(2), tag(2));
    let reply = send(Method::PUT, rotation(&id), vec![("if-match", listed)]).await;
    assert_eq!(
        reply.header("etag").as_deref(),
        Some(tag(3).as_str()),
        "{}",
        reply.text
    );
    let reply = send(Method::PUT, rotation(&id), vec![("if-match", "*".into())]).await;
    assert_eq!(
        reply.header("etag").as_deref(),
        Some(tag(4).as_str()),
        "{}",
        reply.text
    );

    // Rotate now: a stale tag starts nothing; the current one starts it, tagged with the
    // version it wrote (the local rotation then records its outcome as later versions).
    let reply = send(Method::POST, rotate(&id), vec![("if-match", tag(3))]).await;
    assert_problem(&reply, 412, "precondition-failed");
    let before = read().await;
    assert_eq!(before.header("etag").as_deref(), Some(tag(4).as_str()));
    assert_eq!(before.json()["rotation"]["status"], Value::Null);
    let started = send(Method::POST, rotate(&id), vec![("if-match", tag(4))]).await;
    assert_eq!(started.status, 202, "{}", started.text);
    assert_eq!(started.header("etag").as_deref(), Some(tag(5).as_str()));
    let after = read().await;
    let version = after.json()["version"].as_u64().expect("a version");
    assert!(version > 5, "the outcome is recorded: {}", after.text);
    assert_eq!(after.header("etag"), Some(tag(version)));
    assert_eq!(after.json()["rotation"]["status"], "succeeded");

    // Stop rotating: a stale tag cancels nothing; the current one clears the settings. Again,
    // with nothing to write, it answers the tag as it is.
    let reply = send(
        Method::DELETE,
        rotation(&id),
        vec![("if-match", tag(version - 1))],
    )
    .await;
    assert_problem(&reply, 412, "precondition-failed");
    let (enabled, _, _) = described(&api, arn, "AWSCURRENT").await;
    assert!(enabled, "Secrets Manager still rotates");
    assert_eq!(read().await.json()["rotation"]["enabled"], true);
    let cleared = send(
        Method::DELETE,
        rotation(&id),
        vec![("if-match", tag(version))],
    )
    .await;
    assert_eq!(cleared.status, 204, "{}", cleared.text);
    assert_eq!(cleared.header("etag"), Some(tag(version + 1)));
    let again = send(
        Method::DELETE,
        rotation(&id),
        vec![("if-match", tag(version + 1))],
    )
    .await;
    assert_eq!(again.status, 204, "{}", again.text);
    assert_eq!(again.header("etag"), Some(tag(version + 1)));
    assert_eq!(read().await.json()["rotation"]["enabled"], false);

    api.assert_never_exposed(&password).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_parallel_writes_carrying_one_tag_exactly_one_is_made() {
    const RACERS: usize = 20;
    const ROUNDS: usize = 3;
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("race");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let id = levered_postgres(&api, &token, &canary()).await;
    let read = conditional(&api.base, Method::GET, &credential(&id), &token, &[], None).await;
    let initial = read.json()["version"].as_u64().expect("a version");
    let mut current = read.header("etag").expect("an ETag");

    let mut made = 0;
    for round in 0..ROUNDS {
        let mut racers = tokio::task::JoinSet::new();
        for racer in 0..RACERS {
            let (base, path, token, if_match) = (
                api.base.clone(),
                rotation(&id),
                token.clone(),
                current.clone(),
            );
            // Each racer asks for a schedule of its own, so the winner is visible in the record.
            let settings = json!({"schedule": format!("rate({} days)", racer + 1),
                                  "strategy": "single-user"});
            racers.spawn(async move {
                let reply = conditional(
                    &base,
                    Method::PUT,
                    &path,
                    &token,
                    &[("if-match", &if_match)],
                    Some(&settings),
                )
                .await;
                (racer, reply)
            });
        }
        let mut winners = Vec::new();
        for (racer, reply) in racers.join_all().await {
            match reply.status {
                200 => winners.push((racer, reply.header("etag"))),
                412 => {
                    assert_problem(&reply, 412, "precondition-failed");
                }
                409 => {
                    assert_problem(&reply, 409, "conflict");
                }
                other => panic!(
                    "round {round}: racer {racer} answered {other}: {}",
                    reply.text
                ),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let (winner, etag) = winners.remove(0);
        made += 1;
        let after = conditional(&api.base, Method::GET, &credential(&id), &token, &[], None).await;
        let record = after.json();
        assert_eq!(
            record["rotation"]["schedule"],
            format!("rate({} days)", winner + 1)
        );
        assert_eq!(
            after.header("etag"),
            etag,
            "round {round}: the winner's tag is the record's"
        );
        current = after.header("etag").expect("an ETag");
    }
    let last = conditional(&api.base, Method::GET, &credential(&id), &token, &[], None).await;
    assert_eq!(
        last.json()["version"].as_u64(),
        Some(initial + made),
        "one version per write made, none lost"
    );
    // Most losers read the version they sent, passed the check, and lost at the conditional
    // write: the check alone would have let them all through.
    let lost_at_the_write = strongroom_e2e::captured_logs()
        .matches("a write under If-Match lost the race to another write")
        .count();
    assert!(
        lost_at_the_write > 0,
        "no racer got past the check: the race was not run"
    );
}
