//! The Credible family end to end: over HTTP through the local gateway, against moto and a
//! PostgreSQL that checks passwords.

use credential_model::Scope;
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_e2e::{ALL_SCOPES, Body, Harness, Reply, Warehouse, canary, org, unique_suffix};

const TEST: &str = "/api/v0/connections/test";
const PEM_HEAD: &str = "-----BEGIN PRIVATE KEY-----\n";
const PEM_TAIL: &str = "\n-----END PRIVATE KEY-----\n";

fn connections(project: &str) -> String {
    format!("/api/v0/projects/{project}/connections")
}

fn connection(project: &str, name: &str) -> String {
    format!("/api/v0/projects/{project}/connections/{name}")
}

/// Credible's error body: `code` (the status) and a `message` mentioning `mentions`.
fn assert_error(reply: &Reply, status: u16, mentions: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let error = reply.json();
    assert_eq!(error["code"], status, "{error}");
    let message = error["message"].as_str().expect("a message");
    assert!(message.contains(mentions), "{mentions:?} in {error}");
}

/// `{"message": …}` with `status`.
fn assert_message(reply: &Reply, status: u16, says: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.json(), json!({"message": says}));
}

/// A `ConnectionStatus`: `status`, and an `errorMessage` mentioning `mentions`.
fn assert_status(reply: &Reply, status: &str, mentions: &str) -> String {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["status"], status, "{body}");
    let message = body["errorMessage"].as_str().expect("an errorMessage");
    assert!(message.contains(mentions), "{mentions:?} in {body}");
    message.to_owned()
}

/// One connection type (or attached-database type): what a client sends, what a read shows,
/// where its secret lands in the stored document, and a setting and the secret a `PATCH`
/// changes.
struct Case {
    label: &'static str,
    /// The connection's `type` and its sub-object, with the canary as its secret.
    body: Value,
    /// The sub-object as a read shows it.
    shown: Value,
    /// Where the secret is in the stored document.
    secret_at: &'static [&'static str],
    /// A setting a `PATCH` changes, and its new value.
    setting: (&'static str, Value),
    /// The secret's field in the sub-object.
    secret: &'static str,
    /// Makes the secret text for the field (a PEM key or a key file wraps it).
    wrap: fn(&str) -> Value,
}

fn text(secret: &str) -> Value {
    secret.into()
}

fn pem(secret: &str) -> Value {
    format!("{PEM_HEAD}{secret}{PEM_TAIL}").into()
}

fn key_file(secret: &str) -> Value {
    json!({"type": "service_account", "project_id": "analytics", "private_key_id": "k1",
        "private_key": pem(secret), "client_email": "bq@analytics.iam.gserviceaccount.com"})
    .to_string()
    .into()
}

fn with(object: &Value, field: &str, value: Value) -> Value {
    let mut object = object.clone();
    object[field] = value;
    object
}

/// Every top-level type and every type DuckDB attaches (each alone in a DuckDB connection).
fn every_case(secret: &str) -> Vec<Case> {
    let attached = |label: &'static str, kind: &str, sub: &str, body: Value, shown: Value| {
        (label, kind.to_owned(), sub.to_owned(), body, shown)
    };
    let mut cases = vec![
        Case {
            label: "postgres",
            body: json!({"type": "postgres", "postgresConnection": {"host": "db.internal",
                "port": 5432, "databaseName": "analytics", "userName": "bi",
                "password": secret}}),
            shown: json!({"host": "db.internal", "port": 5432, "databaseName": "analytics",
                "userName": "bi"}),
            secret_at: &["password"],
            setting: ("databaseName", "warehouse".into()),
            secret: "password",
            wrap: text,
        },
        Case {
            label: "postgres connectionString",
            body: json!({"type": "postgres", "postgresConnection": {
                "connectionString": format!("host=db.internal user=bi password={secret}")}}),
            shown: json!({}),
            secret_at: &["connection_string"],
            setting: ("port", 6432.into()),
            secret: "connectionString",
            wrap: |s| format!("host=db.internal user=bi password={s}").into(),
        },
        Case {
            label: "mysql",
            body: json!({"type": "mysql", "mysqlConnection": {"host": "db.internal",
                "port": 3306, "database": "shop", "user": "app", "password": secret}}),
            shown: json!({"host": "db.internal", "port": 3306, "database": "shop",
                "user": "app"}),
            secret_at: &["password"],
            setting: ("user", "reporting".into()),
            secret: "password",
            wrap: text,
        },
        Case {
            label: "bigquery",
            body: json!({"type": "bigquery", "bigqueryConnection": {
                "defaultProjectId": "analytics", "billingProjectId": "billing",
                "location": "EU", "serviceAccountKeyJson": key_file(secret),
                "maximumBytesBilled": "12345678901234567890", "queryTimeoutMilliseconds": "60000"}}),
            shown: json!({"defaultProjectId": "analytics", "billingProjectId": "billing",
                "location": "EU", "maximumBytesBilled": "12345678901234567890",
                "queryTimeoutMilliseconds": "60000"}),
            secret_at: &["keyfile", "private_key"],
            setting: ("location", "US".into()),
            secret: "serviceAccountKeyJson",
            wrap: key_file,
        },
        Case {
            label: "snowflake password",
            body: json!({"type": "snowflake", "snowflakeConnection": {"account": "acme-eu",
                "username": "ANALYST", "password": secret, "warehouse": "COMPUTE",
                "database": "SALES", "schema": "PUBLIC", "role": "REPORTER",
                "responseTimeoutMilliseconds": 30000}}),
            shown: json!({"account": "acme-eu", "username": "ANALYST", "warehouse": "COMPUTE",
                "database": "SALES", "schema": "PUBLIC", "role": "REPORTER",
                "responseTimeoutMilliseconds": 30000}),
            secret_at: &["password"],
            setting: ("responseTimeoutMilliseconds", 60000.into()),
            secret: "password",
            wrap: text,
        },
        Case {
            label: "snowflake privateKey",
            body: json!({"type": "snowflake", "snowflakeConnection": {"account": "acme-eu",
                "username": "ANALYST", "privateKey": pem(secret), "privateKeyPass": "pass",
                "warehouse": "COMPUTE"}}),
            shown: json!({"account": "acme-eu", "username": "ANALYST", "warehouse": "COMPUTE"}),
            secret_at: &["private_key"],
            setting: ("warehouse", "LARGE".into()),
            secret: "privateKey",
            wrap: pem,
        },
        Case {
            label: "trino",
            body: json!({"type": "trino", "trinoConnection": {"server": "https://trino.internal",
                "port": 8443, "catalog": "hive", "schema": "sales", "user": "bi",
                "password": secret, "peakaKey": format!("peaka-{secret}")}}),
            shown: json!({"server": "https://trino.internal", "port": 8443, "catalog": "hive",
                "schema": "sales", "user": "bi"}),
            secret_at: &["password"],
            setting: ("catalog", "iceberg".into()),
            secret: "password",
            wrap: text,
        },
        Case {
            label: "motherduck",
            body: json!({"type": "motherduck", "motherduckConnection": {"accessToken": secret,
                "database": "my_db"}}),
            shown: json!({"database": "my_db"}),
            secret_at: &["token"],
            setting: ("database", "other_db".into()),
            secret: "accessToken",
            wrap: text,
        },
    ];
    let attached_cases = [
        attached(
            "duckdb + bigquery",
            "bigquery",
            "bigqueryConnection",
            json!({"defaultProjectId": "analytics", "serviceAccountKeyJson": key_file(secret)}),
            json!({"defaultProjectId": "analytics"}),
        ),
        attached(
            "duckdb + snowflake",
            "snowflake",
            "snowflakeConnection",
            json!({"account": "acme", "username": "U", "warehouse": "W", "password": secret}),
            json!({"account": "acme", "username": "U", "warehouse": "W"}),
        ),
        attached(
            "duckdb + postgres",
            "postgres",
            "postgresConnection",
            json!({"host": "db.internal", "userName": "bi", "password": secret}),
            json!({"host": "db.internal", "userName": "bi"}),
        ),
        attached(
            "duckdb + gcs",
            "gcs",
            "gcsConnection",
            json!({"keyId": "GOOG1EEXAMPLEHMACKEYID", "secret": secret}),
            json!({"keyId": "GOOG1EEXAMPLEHMACKEYID"}),
        ),
        attached(
            "duckdb + s3",
            "s3",
            "s3Connection",
            json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": secret,
                "region": "eu-west-1", "endpoint": "http://minio.internal:9000",
                "sessionToken": format!("token-{secret}")}),
            json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "region": "eu-west-1",
                "endpoint": "http://minio.internal:9000"}),
        ),
    ];
    for (label, kind, sub, body, shown) in attached_cases {
        let (secret_at, setting, secret_field, wrap): (
            &'static [&'static str],
            _,
            _,
            fn(&str) -> Value,
        ) = match kind.as_str() {
            "bigquery" => (
                &["attached", "0", "keyfile", "private_key"],
                ("defaultProjectId", "billing".into()),
                "serviceAccountKeyJson",
                key_file,
            ),
            "snowflake" => (
                &["attached", "0", "password"],
                ("warehouse", "W2".into()),
                "password",
                text,
            ),
            "postgres" => (
                &["attached", "0", "password"],
                ("userName", "etl".into()),
                "password",
                text,
            ),
            "gcs" => (
                &["attached", "0", "secret_access_key"],
                ("keyId", "GOOG1EOTHERHMACKEYID00".into()),
                "secret",
                text,
            ),
            _ => (
                &["attached", "0", "secret_access_key"],
                ("region", "us-east-2".into()),
                "secretAccessKey",
                text,
            ),
        };
        cases.push(Case {
            label,
            body: json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
                {"name": "attached_db", "type": kind, sub.clone(): body}]}}),
            shown: json!({"attachedDatabases": [{"name": "attached_db", "type": kind,
                "attributes": {"dialectName": "duckdb", "isPool": false, "canPersist": true,
                    "canStream": true}, sub: shown}]}),
            secret_at,
            setting,
            secret: secret_field,
            wrap,
        });
    }
    cases
}

impl Case {
    fn kind(&self) -> &str {
        self.body["type"].as_str().expect("a type")
    }

    /// The sub-object's field: `postgresConnection`…
    fn field(&self) -> String {
        format!("{}Connection", self.kind())
    }

    /// A `PATCH` body with `inner` as the sub-object (or, for DuckDB, the attached
    /// database's).
    fn patch(&self, inner: Value) -> Value {
        if self.kind() != "duckdb" {
            return json!({self.field(): inner});
        }
        let attached = &self.body["duckdbConnection"]["attachedDatabases"][0];
        let kind = attached["type"].as_str().expect("a type");
        json!({"duckdbConnection": {"attachedDatabases": [
            {"name": "attached_db", "type": kind, format!("{kind}Connection"): inner}]}})
    }

    /// The sub-object a read shows once the `PATCH`'s setting is applied.
    fn shown_after_patch(&self) -> Value {
        let (name, value) = &self.setting;
        if self.kind() != "duckdb" {
            return with(&self.shown, name, value.clone());
        }
        let mut shown = self.shown.clone();
        let database = &mut shown["attachedDatabases"][0];
        let sub = format!("{}Connection", database["type"].as_str().expect("a type"));
        database[&sub][*name] = value.clone();
        shown
    }
}

fn at<'a>(document: &'a Value, path: &[&str]) -> &'a Value {
    path.iter()
        .fold(document, |value, step| match step.parse::<usize>() {
            Ok(index) => &value[index],
            Err(_) => &value[*step],
        })
}

/// The secret text stored at the case's place, for the value `secret` was sent as.
fn stored_secret(case: &Case, secret: &str) -> Value {
    match case.secret {
        "serviceAccountKeyJson" | "privateKey" => pem(secret),
        "connectionString" => (case.wrap)(secret),
        _ => secret.into(),
    }
}

/// The stored secret document of the only live secret of `org`.
async fn only_document(api: &Harness, org: &str) -> Value {
    let secrets = api.live_secrets(org).await;
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    api.current_secret(&secrets[0]).await
}

#[tokio::test]
async fn every_type_and_attached_type_lives_through_create_get_list_patch_delete() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let secret = canary();
    let replacement = canary();
    let org = org("types");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let project = "analytics";
    for (n, case) in every_case(&secret).iter().enumerate() {
        let label = case.label;
        let name = format!("conn_{n}");
        let path = connection(project, &name);
        let mut body = case.body.clone();
        body["name"] = name.clone().into();
        // Sent attributes and resource are Strongroom's to compute, never taken.
        body["attributes"] = json!({"dialectName": "oracle", "isPool": true});
        body["resource"] = "/elsewhere".into();
        let reply = api.post(&path, &token, &body).await;
        assert_message(
            &reply,
            201,
            &format!("Connection \"{name}\" created successfully"),
        );

        let reply = api.get(&path, &token).await;
        assert_eq!(reply.status, 200, "{label}: {}", reply.text);
        let shown = reply.json();
        assert_eq!(shown["resource"], path, "{label}");
        assert_eq!(shown["name"], name.as_str(), "{label}");
        assert_eq!(shown["type"], case.kind(), "{label}");
        assert_ne!(shown["attributes"]["dialectName"], "oracle", "{label}");
        assert_eq!(shown[case.field()], case.shown, "{label}: {shown}");
        assert!(
            !reply.text.contains(&secret),
            "{label}: a read shows the secret"
        );
        let document = only_document(&api, &org).await;
        assert_eq!(
            at(&document, case.secret_at),
            &stored_secret(case, &secret),
            "{label}: {document}"
        );

        let reply = api.get(&connections(project), &token).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!([shown]), "{label}");

        // A setting changed, the secret left out: kept; the placeholder sent back: kept; a
        // new secret sent: replaced.
        let (setting, value) = &case.setting;
        let steps = [
            (json!({*setting: value.clone()}), &secret),
            (json!({case.secret: "********"}), &secret),
            (
                json!({case.secret: (case.wrap)(&replacement)}),
                &replacement,
            ),
        ];
        for (patch, kept) in steps {
            let reply = api
                .send_json(Method::PATCH, &path, &token, &case.patch(patch))
                .await;
            assert_message(
                &reply,
                200,
                &format!("Connection \"{name}\" updated successfully"),
            );
            let shown = api.get(&path, &token).await.json();
            assert_eq!(shown[case.field()], case.shown_after_patch(), "{label}");
            let document = only_document(&api, &org).await;
            assert_eq!(
                at(&document, case.secret_at),
                &stored_secret(case, kept),
                "{label}"
            );
        }

        let reply = api.delete(&path, &token).await;
        assert_message(
            &reply,
            200,
            &format!("Connection \"{name}\" deleted successfully"),
        );
        assert_error(&api.get(&path, &token).await, 404, "not found");
        assert!(api.live_secrets(&org).await.is_empty(), "{label}");
        api.assert_secrets_match_metadata(&org, label).await;
    }
    assert_eq!(
        api.get(&connections(project), &token).await.json(),
        json!([])
    );
    api.assert_never_exposed(&secret).await;
    api.assert_never_exposed(&replacement).await;
}

#[tokio::test]
async fn a_project_lists_its_own_connections_and_a_duckdb_connection_attaches_all_five() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let secret = canary();
    let org = org("list");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let databases: Vec<Value> = every_case(&secret)
        .iter()
        .filter(|case| case.kind() == "duckdb")
        .enumerate()
        .map(|(n, case)| {
            let mut database = case.body["duckdbConnection"]["attachedDatabases"][0].clone();
            database["name"] = format!("db_{n}").into();
            database
        })
        .collect();
    let lake = json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": databases}});
    let reply = api.post(&connection("lakes", "lake"), &token, &lake).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let pg = json!({"type": "postgres", "postgresConnection": {"host": "db", "password": secret}});
    for (project, name) in [("lakes", "warehouse"), ("lakes-2", "lake"), ("lake", "x")] {
        let reply = api.post(&connection(project, name), &token, &pg).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let listed = api.get(&connections("lakes"), &token).await.json();
    let names: Vec<&str> = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["lake", "warehouse"], "only this project's, by name");
    let attached = &listed[0]["duckdbConnection"]["attachedDatabases"];
    let types: Vec<&str> = attached
        .as_array()
        .expect("attached databases")
        .iter()
        .filter_map(|d| d["type"].as_str())
        .collect();
    assert_eq!(types, ["bigquery", "snowflake", "postgres", "gcs", "s3"]);

    // One attached database's secret replaced; the others' kept, wherever they move.
    let new_secret = canary();
    let reply = api
        .send_json(
            Method::PATCH,
            &connection("lakes", "lake"),
            &token,
            &json!({"duckdbConnection": {"attachedDatabases": [
                {"name": "db_4", "type": "s3", "s3Connection": {"secretAccessKey": new_secret}},
                {"name": "db_3", "type": "gcs"},
                {"name": "db_2", "type": "postgres", "postgresConnection": {"password": "[REDACTED]"}}]}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let secrets = api.live_secrets(&org).await;
    let mut documents = Vec::new();
    for arn in &secrets {
        documents.push(api.current_secret(arn).await);
    }
    let lake = documents
        .iter()
        .find(|d| d["engine"] == "duckdb")
        .expect("the lake's document");
    assert_eq!(
        lake["attached"],
        json!([
            {"name": "db_4", "engine": "s3", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "region": "eu-west-1", "endpoint": "http://minio.internal:9000",
                "secret_access_key": new_secret, "session_token": format!("token-{secret}")},
            {"name": "db_3", "engine": "gcs", "access_key_id": "GOOG1EEXAMPLEHMACKEYID",
                "secret_access_key": secret},
            {"name": "db_2", "engine": "postgres", "host": "db.internal", "username": "bi",
                "password": secret},
        ])
    );
    api.assert_never_exposed(&secret).await;
    api.assert_never_exposed(&new_secret).await;
}

#[tokio::test]
async fn a_taken_name_is_409_and_other_organizations_find_nothing() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let secret = canary();
    let org = org("dup");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let path = connection("analytics", "warehouse");
    let body = json!({"type": "mysql", "mysqlConnection": {"host": "db", "password": secret}});
    assert_eq!(api.post(&path, &token, &body).await.status, 201);
    let second = canary();
    let reply = api
        .post(
            &path,
            &token,
            &with(
                &body,
                "mysqlConnection",
                json!({"host": "db2", "password": second}),
            ),
        )
        .await;
    assert_error(&reply, 409, "already exists");
    let error = reply.json();
    assert_eq!(error["error"], error["message"], "{error}");
    assert_eq!(only_document(&api, &org).await["password"], secret.as_str());
    api.assert_secrets_match_metadata(&org, "after a duplicate")
        .await;

    let other = api.token(&strongroom_e2e::org("other"), "user_1", ALL_SCOPES);
    assert_error(&api.get(&path, &other).await, 404, "not found");
    assert_eq!(
        api.get(&connections("analytics"), &other).await.json(),
        json!([])
    );
    let patch = json!({"mysqlConnection": {"password": "stolen"}});
    let reply = api.send_json(Method::PATCH, &path, &other, &patch).await;
    assert_error(&reply, 404, "not found");
    assert_error(&api.delete(&path, &other).await, 404, "not found");
    assert_error(
        &api.get(&format!("{path}/test"), &other).await,
        404,
        "not found",
    );
    // The other organization may create its own connection of the same name.
    assert_eq!(api.post(&path, &other, &body).await.status, 201);
    assert_eq!(only_document(&api, &org).await["password"], secret.as_str());
    api.assert_never_exposed(&secret).await;
    api.assert_never_exposed(&second).await;
}

#[tokio::test]
async fn the_test_routes_check_passwords_against_a_real_postgres() {
    let (Some(api), Some(warehouse)) = (Harness::start().await, Warehouse::find()) else {
        return;
    };
    let password = canary();
    let database = warehouse.database(&password).await;
    let org = org("test");
    let token = api.token(&org, "user_1", &[Scope::Read, Scope::Write]);
    let postgres = |password: &str, port: u16| {
        json!({"name": "warehouse", "type": "postgres", "postgresConnection": {
            "host": database.host, "port": port, "databaseName": database.name,
            "userName": database.role, "password": password}})
    };
    let path = connection("analytics", "warehouse");
    let stored_test = format!("{path}/test");

    let reply = api
        .post(TEST, &token, &postgres(&password, database.port))
        .await;
    assert_status(&reply, "ok", "");
    assert_eq!(reply.json()["errorMessage"], "");
    let wrong = canary();
    let reply = api
        .post(TEST, &token, &postgres(&wrong, database.port))
        .await;
    let message = assert_status(
        &reply,
        "failed",
        "Authentication failed (the warehouse said)",
    );
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let reply = api
        .post(TEST, &token, &postgres(&password, closed_port))
        .await;
    assert_status(&reply, "failed", "");
    let mysql = json!({"type": "mysql", "mysqlConnection": {"host": "127.0.0.1",
        "port": closed_port, "database": "shop", "user": "app", "password": password}});
    assert_status(&api.post(TEST, &token, &mysql).await, "failed", "");
    assert_eq!(api.item_count().await, 0, "testing saves nothing");
    assert!(api.live_secrets(&org).await.is_empty());

    // The stored connection, tested with the secret it holds.
    let reply = api
        .post(&path, &token, &postgres(&password, database.port))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_status(&api.get(&stored_test, &token).await, "ok", "");
    let patch = json!({"postgresConnection": {"password": wrong}});
    let reply = api.send_json(Method::PATCH, &path, &token, &patch).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_status(
        &api.get(&stored_test, &token).await,
        "failed",
        "password authentication failed",
    );
    let patch = json!({"postgresConnection": {"password": password}});
    assert_eq!(
        api.send_json(Method::PATCH, &path, &token, &patch)
            .await
            .status,
        200
    );
    assert_status(&api.get(&stored_test, &token).await, "ok", "");
    // Another port, the password kept: the test reaches nothing.
    let patch = json!({"postgresConnection": {"port": closed_port}});
    assert_eq!(
        api.send_json(Method::PATCH, &path, &token, &patch)
            .await
            .status,
        200
    );
    assert_status(&api.get(&stored_test, &token).await, "failed", "");
    let reader = api.token(&org, "user_1", &[Scope::Read]);
    assert_status(&api.get(&stored_test, &reader).await, "failed", "");
    api.assert_never_exposed(&password).await;
    api.assert_never_exposed(&wrong).await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let secret = canary();
    let org = org("bad");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let path = connection("analytics", "warehouse");
    let s3 = |s3: Value| {
        json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "files", "type": "s3", "s3Connection": s3}]}})
    };
    let key = json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": secret});
    let cases = [
        (
            json!({"postgresConnection": {"host": "db"}}),
            "type is required",
        ),
        (
            json!({"type": "oracle"}),
            "type must be one of: postgres, bigquery",
        ),
        (
            json!({"type": "postgres"}),
            "postgresConnection is required",
        ),
        (
            json!({"type": "postgres", "postgresConnection": []}),
            "postgresConnection must be an object",
        ),
        (
            json!({"type": "postgres", "name": "other", "postgresConnection": {"host": "db"}}),
            "name must match connectionName in the path",
        ),
        (
            json!({"type": "postgres", "postgresConnection": {"host": "db", "port": 70000,
            "password": secret}}),
            "postgresConnection.port must be an integer between 1 and 65535",
        ),
        (
            json!({"type": "postgres", "postgresConnection": {"host": "db:5432", "password": secret}}),
            "postgresConnection.host must be a host name",
        ),
        (
            json!({"type": "postgres", "postgresConnection": {"host": "db", "password": 12}}),
            "postgresConnection.password must be a string, not a number",
        ),
        (
            json!({"type": "postgres", "postgresConnection": {"connectionString": "just text"}}),
            "postgresConnection.connectionString must be a libpq connection string",
        ),
        (
            json!({"type": "mysql", "mysqlConnection": {"password": secret}}),
            "mysqlConnection.host is required",
        ),
        (
            json!({"type": "bigquery", "bigqueryConnection": {"maximumBytesBilled": 1000}}),
            "bigqueryConnection.maximumBytesBilled must be a string, not a number",
        ),
        (
            json!({"type": "bigquery", "bigqueryConnection": {"queryTimeoutMilliseconds": 60000}}),
            "bigqueryConnection.queryTimeoutMilliseconds must be a string, not a number",
        ),
        (
            json!({"type": "bigquery", "bigqueryConnection": {"serviceAccountKeyJson": secret}}),
            "bigqueryConnection.serviceAccountKeyJson must be a service-account key file",
        ),
        (
            json!({"type": "snowflake", "snowflakeConnection": {"account": "a", "username": "u",
            "password": secret}}),
            "snowflakeConnection.warehouse is required",
        ),
        (
            json!({"type": "snowflake", "snowflakeConnection": {"account": "a", "username": "u",
            "warehouse": "w"}}),
            "snowflakeConnection.password is required unless privateKey is sent",
        ),
        (
            json!({"type": "snowflake", "snowflakeConnection": {"account": "a", "username": "u",
            "warehouse": "w", "privateKey": secret}}),
            "snowflakeConnection.privateKey must be a PEM private key",
        ),
        (
            json!({"type": "snowflake", "snowflakeConnection": {"account": "a", "username": "u",
            "warehouse": "w", "password": secret, "responseTimeoutMilliseconds": "30000"}}),
            "snowflakeConnection.responseTimeoutMilliseconds must be an integer",
        ),
        (
            json!({"type": "trino", "trinoConnection": {"server": "trino.internal:8080"}}),
            "trinoConnection.server must be a URL starting with http:// or https://",
        ),
        (
            json!({"type": "trino", "trinoConnection": {"server": "https://t", "port": "8080"}}),
            "trinoConnection.port must be an integer between 1 and 65535",
        ),
        (
            json!({"type": "motherduck", "motherduckConnection": {"database": "d"}}),
            "motherduckConnection.accessToken is required",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {}}),
            "duckdbConnection.attachedDatabases is required",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": []}}),
            "duckdbConnection.attachedDatabases must not be empty",
        ),
        (
            s3(with(&key, "region", 7.into())),
            "duckdbConnection.attachedDatabases.0.s3Connection.region must be a string, not a number",
        ),
        (
            s3(with(&key, "endpoint", "minio:9000".into())),
            "duckdbConnection.attachedDatabases.0.s3Connection.endpoint must be a URL",
        ),
        (
            s3(json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE"})),
            "duckdbConnection.attachedDatabases.0.s3Connection.secretAccessKey is required",
        ),
        (
            s3(json!({"secretAccessKey": secret})),
            "duckdbConnection.attachedDatabases.0.s3Connection.accessKeyId is required",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "g", "type": "gcs", "gcsConnection": {"keyId": "GOOG1EEXAMPLEHMACKEYID"}}]}}),
            "duckdbConnection.attachedDatabases.0.gcsConnection.secret is required",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "b", "type": "bigquery", "bigqueryConnection": {
                "serviceAccountKeyJson": "{\"type\": \"authorized_user\"}"}}]}}),
            "duckdbConnection.attachedDatabases.0.bigqueryConnection.serviceAccountKeyJson must be a service-account key file",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "9lives", "type": "s3", "s3Connection": key}]}}),
            "duckdbConnection.attachedDatabases.0.name must be a letter or '_'",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "warehouse", "type": "s3", "s3Connection": key}]}}),
            "duckdbConnection.attachedDatabases.0.name must differ from the connection's name",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "a", "type": "s3", "s3Connection": key},
            {"name": "a", "type": "s3", "s3Connection": key}]}}),
            "duckdbConnection.attachedDatabases.1.name must be unique among attachedDatabases",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "a", "type": "mysql"}]}}),
            "duckdbConnection.attachedDatabases.0.type must be one of: bigquery, snowflake, postgres, gcs, s3",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
            {"name": "a", "type": "s3"}]}}),
            "duckdbConnection.attachedDatabases.0.s3Connection is required",
        ),
        (
            json!({"type": "postgres", "postgresConnection": {"host": "db"},
            "mysqlConnection": {"host": "db", "password": secret}}),
            "mysqlConnection does not match the connection's type",
        ),
    ];
    for (body, expected) in &cases {
        let reply = api.post(&path, &token, body).await;
        assert_error(&reply, 400, expected);
        // The unsaved test answers the same problem as a failed test (its name is its own).
        let typed = body
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "oracle");
        if typed && !expected.contains("name must") {
            assert_status(&api.post(TEST, &token, body).await, "failed", expected);
        }
    }
    let duckdb = s3(key.clone());
    let reply = api
        .post(&connection("analytics", "duckdb"), &token, &duckdb)
        .await;
    assert_error(&reply, 400, "connectionName must not be duckdb");
    for bad in ["has space", "dots.dots", &"x".repeat(101)] {
        let encoded = bad.replace(' ', "%20");
        let reply = api.post(&connection(&encoded, "ok"), &token, &duckdb).await;
        assert_error(&reply, 400, "projectName must");
        let reply = api.get(&connection("ok", &encoded), &token).await;
        assert_error(&reply, 400, "connectionName must");
    }
    // Every route names the path parameter at fault.
    let bad = "no%20spaces";
    let empty = json!({});
    let routes = [
        (Method::GET, connections(bad), "projectName", Body::None),
        (
            Method::GET,
            connection("ok", bad),
            "connectionName",
            Body::None,
        ),
        (
            Method::PATCH,
            connection(bad, "ok"),
            "projectName",
            Body::Json(&empty),
        ),
        (
            Method::DELETE,
            connection("ok", bad),
            "connectionName",
            Body::None,
        ),
        (
            Method::GET,
            format!("{}/test", connection(bad, "ok")),
            "projectName",
            Body::None,
        ),
    ];
    for (method, route, field, body) in routes {
        let reply = api.send(method, &route, Some(&token), body).await;
        assert_error(&reply, 400, &format!("{field} must be letters, digits"));
    }
    let reply = api
        .send(
            Method::POST,
            &path,
            Some(&token),
            Body::Raw {
                content_type: "application/json",
                text: format!("{{\"type\": \"postgres\", \"password\": \"{secret}\""),
            },
        )
        .await;
    assert_error(&reply, 400, "JSON");
    let reply = api
        .send(
            Method::POST,
            &path,
            Some(&token),
            Body::Raw {
                content_type: "text/plain",
                text: "{}".into(),
            },
        )
        .await;
    assert_error(&reply, 415, "application/json");
    for (not_a_connection, expected) in [
        (json!([]), "body must be an object"),
        (json!({}), "type is required"),
        (json!({"type": "oracle"}), "type must be one of"),
        (json!({"type": 1}), "type must be one of"),
    ] {
        assert_error(
            &api.post(TEST, &token, &not_a_connection).await,
            400,
            expected,
        );
    }
    assert_eq!(api.item_count().await, 0, "nothing written");
    assert!(api.live_secrets(&org).await.is_empty(), "no secret written");

    // A stored connection: bad changes are refused and change nothing.
    let body = json!({"type": "postgres", "postgresConnection": {"host": "db", "port": 5432,
        "password": secret}});
    assert_eq!(api.post(&path, &token, &body).await.status, 201);
    let before = only_document(&api, &org).await;
    let shown = api.get(&path, &token).await.json();
    let patches = [
        (
            json!({"postgresConnection": {"port": "5433", "password": "new-secret"}}),
            "postgresConnection.port must be an integer",
        ),
        (
            json!({"postgresConnection": {"host": "https://db"}}),
            "postgresConnection.host must be a host name",
        ),
        (
            json!({"mysqlConnection": {"host": "db"}}),
            "mysqlConnection does not match the connection's type",
        ),
        (json!({"type": "mysql"}), "type cannot be changed"),
        (
            json!({"name": "renamed"}),
            "name must match connectionName in the path",
        ),
        (
            json!({"postgresConnection": {"password": ""}}),
            "postgresConnection.password must not be empty",
        ),
        (json!([]), "body must be an object"),
    ];
    for (patch, expected) in &patches {
        let reply = api.send_json(Method::PATCH, &path, &token, patch).await;
        assert_error(&reply, 400, expected);
    }
    assert_eq!(only_document(&api, &org).await, before);
    assert_eq!(api.get(&path, &token).await.json(), shown);
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn bad_tokens_get_401_and_missing_scopes_403_in_credible_shape() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("auth");
    let path = connection("analytics", &format!("c_{}", unique_suffix()));
    let body = json!({"type": "motherduck", "motherduckConnection": {"accessToken": canary()}});
    let reply = api
        .send(Method::GET, &path, Some("not-a-jwt"), Body::None)
        .await;
    assert_error(&reply, 401, "Unauthorized");
    let expired = api.token_for(&org, "user_1", ALL_SCOPES, -60);
    assert_error(&api.post(TEST, &expired, &body).await, 401, "Unauthorized");
    let reply = api.send(Method::GET, &path, None, Body::None).await;
    assert_eq!(
        reply.status, 401,
        "API Gateway refuses a request without a token"
    );

    let reader = api.token(&org, "user_1", &[Scope::Read]);
    let writer = api.token(&org, "user_1", &[Scope::Write]);
    assert_error(
        &api.post(&path, &reader, &body).await,
        403,
        "credentials:write",
    );
    assert_error(&api.get(&path, &writer).await, 403, "credentials:read");
    assert_error(
        &api.post(TEST, &writer, &body).await,
        403,
        "credentials:read",
    );
    assert_eq!(api.post(&path, &writer, &body).await.status, 201);
    assert_eq!(api.get(&path, &reader).await.status, 200);
    assert_status(&api.post(TEST, &reader, &body).await, "failed", "");
    let patch = json!({"motherduckConnection": {"database": "d"}});
    assert_error(
        &api.send_json(Method::PATCH, &path, &reader, &patch).await,
        403,
        "credentials:write",
    );
    assert_error(&api.delete(&path, &reader).await, 403, "credentials:write");
    assert_eq!(api.delete(&path, &writer).await.status, 200);
}

#[tokio::test]
async fn a_dependency_down_answers_503_in_credible_shape_and_logs_no_secret() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("outage");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let path = connection("analytics", "warehouse");
    let body = json!({"type": "postgres", "postgresConnection": {"host": "db",
        "password": secret}});
    assert_eq!(api.post(&path, &token, &body).await.status, 201);
    api.break_the_table().await;
    let patch = json!({"postgresConnection": {"password": secret}});
    for reply in [
        api.post(&connection("analytics", "other"), &token, &body)
            .await,
        api.get(&connections("analytics"), &token).await,
        api.get(&path, &token).await,
        api.send_json(Method::PATCH, &path, &token, &patch).await,
        api.delete(&path, &token).await,
        api.get(&format!("{path}/test"), &token).await,
    ] {
        assert_error(
            &reply,
            503,
            "the metadata store is temporarily unavailable; retry shortly",
        );
    }
    assert_eq!(
        api.live_secrets(&org).await.len(),
        1,
        "the refused create's secret was discarded"
    );
    api.assert_outage_logged_without(&secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_have_one_winner_and_the_secret_agrees_with_it() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let api = std::sync::Arc::new(api);
    let org = org("race");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let path = connection("analytics", "warehouse");
    let body = json!({"type": "postgres", "postgresConnection": {"host": "db",
        "userName": "u", "password": canary()}});
    assert_eq!(api.post(&path, &token, &body).await.status, 201);
    let mut conflicts = 0;
    let mut passwords = Vec::new();
    for round in 0..5 {
        // Each racer sends its own user with its own password, so metadata and secret can be
        // checked against each other afterwards.
        let racers: Vec<(String, String)> = (0..6)
            .map(|n| (format!("user_{round}_{n}"), canary()))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (user, password) in &racers {
            let (api, token, path) = (api.clone(), token.clone(), path.clone());
            let patch = json!({"postgresConnection": {"userName": user, "password": password}});
            tasks.spawn(async move { api.send_json(Method::PATCH, &path, &token, &patch).await });
        }
        let mut winners = 0;
        for reply in tasks.join_all().await {
            match reply.status {
                200 => winners += 1,
                409 => {
                    assert_error(&reply, 409, "changed by another request");
                    conflicts += 1;
                }
                other => panic!("round {round}: unexpected {other}: {}", reply.text),
            }
        }
        assert!(winners >= 1, "round {round}: no update won");
        let shown = api.get(&path, &token).await.json();
        let user = shown["postgresConnection"]["userName"]
            .as_str()
            .expect("a user");
        let document = only_document(&api, &org).await;
        let password = &racers.iter().find(|(u, _)| u == user).expect("a racer").1;
        assert_eq!(
            document,
            json!({"engine": "postgres", "host": "db", "username": user, "password": password}),
            "round {round}: the secret belongs to the metadata that won"
        );
        passwords.extend(racers.into_iter().map(|(_, password)| password));
        if conflicts > 0 {
            break;
        }
    }
    assert!(conflicts > 0, "the updates never raced");
    for password in &passwords {
        api.assert_never_exposed(password).await;
    }
}
