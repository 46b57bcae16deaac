use credential_model::testing;
use credential_model::validation::FieldPath;
use credential_model::{Attributes, CredentialId, OrgId, RecordKey};
use secrecy::ExposeSecret;
use serde_json::json;

use super::*;

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n";

fn path() -> ProjectConnection {
    ProjectConnection {
        project: "analytics".into(),
        name: "warehouse".into(),
    }
}

fn with_body<T>(body: &Value, read: impl FnOnce(&JsonBody<'_>) -> T) -> T {
    let text = body.to_string();
    read(&JsonBody {
        value: json::parse(&text).expect("JSON"),
        path: FieldPath::root(),
    })
}

/// The stored document (rendered) and settings of a created connection, or every problem.
fn created(body: Value) -> Result<(Value, Value), Vec<String>> {
    with_body(&body, |body| create(body, &path()))
        .map(|new| {
            let rendered = new.document.render();
            (
                serde_json::from_str(rendered.expose_secret()).expect("JSON"),
                Value::Object(new.document.settings()),
            )
        })
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

fn refused(body: Value) -> Vec<String> {
    created(body).expect_err("refused")
}

fn stored(provider: Provider, settings: Value) -> CredentialRecord<ProjectConnection> {
    let org = OrgId::parse("org_a").expect("org");
    let key = RecordKey::named(org, ProjectConnection::KIND, "analytics", "warehouse");
    let settings = settings.as_object().cloned().unwrap_or_default();
    testing::record(key, CredentialId::generate(), provider, settings, path())
}

#[test]
fn every_type_is_stored_under_the_documents_names() {
    let (document, settings) = created(json!({"name": "warehouse", "type": "postgres",
        "postgresConnection": {"host": "db.internal", "port": 5432, "databaseName": "a",
            "userName": "u", "password": "pw"}}))
    .expect("valid");
    assert_eq!(
        document,
        json!({"engine": "postgres", "host": "db.internal", "port": 5432, "dbname": "a",
            "username": "u", "password": "pw"})
    );
    assert_eq!(
        settings,
        json!({"host": "db.internal", "port": 5432, "dbname": "a", "username": "u"})
    );
    let (document, _) = created(json!({"type": "mysql", "mysqlConnection": {"host": "db",
        "port": 3306, "database": "shop", "user": "app", "password": "pw"}}))
    .expect("valid");
    assert_eq!(
        document,
        json!({"engine": "mysql", "host": "db", "port": 3306, "dbname": "shop",
            "username": "app", "password": "pw"})
    );
    let (document, settings) = created(json!({"type": "bigquery", "bigqueryConnection": {
        "defaultProjectId": "p", "billingProjectId": "b", "location": "EU",
        "maximumBytesBilled": "1000000000000", "queryTimeoutMilliseconds": "60000",
        "serviceAccountKeyJson": "{\"type\": \"service_account\", \"n\": 1.10}"}}))
    .expect("valid");
    assert_eq!(
        document["keyfile"],
        json!({"type": "service_account", "n": 1.10})
    );
    assert_eq!(
        settings,
        json!({"project_id": "p", "billing_project_id": "b", "location": "EU",
            "maximum_bytes_billed": "1000000000000", "query_timeout_ms": "60000"})
    );
    let (document, _) = created(json!({"type": "snowflake", "snowflakeConnection": {
        "account": "acme", "username": "U", "privateKey": PEM, "privateKeyPass": "pass",
        "warehouse": "W", "database": "D", "schema": "S", "role": "R",
        "responseTimeoutMilliseconds": 30000}}))
    .expect("valid");
    assert_eq!(
        document,
        json!({"engine": "snowflake", "account": "acme", "username": "U", "warehouse": "W",
            "database": "D", "schema": "S", "role": "R", "response_timeout_ms": 30000,
            "private_key": PEM, "private_key_passphrase": "pass"})
    );
    let (document, _) = created(json!({"type": "trino", "trinoConnection": {
        "server": "https://trino.internal", "port": 443, "catalog": "hive", "schema": "s",
        "user": "u", "password": "pw", "peakaKey": "pk"}}))
    .expect("valid");
    assert_eq!(
        document,
        json!({"engine": "trino", "server": "https://trino.internal", "port": 443,
            "catalog": "hive", "schema": "s", "username": "u", "password": "pw",
            "peaka_key": "pk"})
    );
    let (document, settings) = created(json!({"type": "motherduck",
        "motherduckConnection": {"accessToken": "tok", "database": "md"}}))
    .expect("valid");
    assert_eq!(
        document,
        json!({"engine": "motherduck", "database": "md", "token": "tok"})
    );
    assert_eq!(settings, json!({"database": "md"}));
}

#[test]
fn duckdb_attaches_each_type_with_its_own_secrets() {
    let key = json!({"type": "service_account", "project_id": "p", "private_key": PEM,
        "client_email": "bq@p.iam.gserviceaccount.com"})
    .to_string();
    let (document, settings) = created(json!({"type": "duckdb", "duckdbConnection": {
        "attachedDatabases": [
            {"name": "bq", "type": "bigquery", "bigqueryConnection": {
                "serviceAccountKeyJson": key, "defaultProjectId": "p"}},
            {"name": "sf", "type": "snowflake", "snowflakeConnection": {"account": "a",
                "username": "u", "warehouse": "w", "password": "sf-pw"}},
            {"name": "pg", "type": "postgres", "postgresConnection": {"host": "db",
                "password": "pg-pw"}},
            {"name": "gs", "type": "gcs", "gcsConnection": {"keyId": "GOOG1EXAMPLEKEYID00",
                "secret": "gcs-secret"}},
            {"name": "_s3", "type": "s3", "s3Connection": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "secretAccessKey": "s3-secret", "region": "eu-west-1",
                "endpoint": "http://127.0.0.1:9000", "sessionToken": "s3-token"}}]}}))
    .expect("valid");
    let attached = &document["attached"];
    assert_eq!(attached[0]["engine"], "bigquery");
    assert_eq!(
        attached[0]["keyfile"]["client_email"],
        "bq@p.iam.gserviceaccount.com"
    );
    assert_eq!(attached[1]["password"], "sf-pw");
    assert_eq!(attached[2]["password"], "pg-pw");
    assert_eq!(
        attached[3],
        json!({"name": "gs", "engine": "gcs", "access_key_id": "GOOG1EXAMPLEKEYID00",
            "secret_access_key": "gcs-secret"})
    );
    assert_eq!(
        attached[4],
        json!({"name": "_s3", "engine": "s3", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "region": "eu-west-1", "endpoint": "http://127.0.0.1:9000",
            "secret_access_key": "s3-secret", "session_token": "s3-token"})
    );
    let shown = settings.to_string();
    for secret in [
        "sf-pw",
        "pg-pw",
        "gcs-secret",
        "s3-secret",
        "s3-token",
        "PRIVATE KEY",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn every_problem_is_named_by_its_nested_path() {
    let errors = refused(
        json!({"name": "other", "type": "duckdb", "duckdbConnection": {
        "attachedDatabases": [
            {"name": "1bad", "type": "s3", "s3Connection": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "secretAccessKey": "s", "region": 7}},
            {"name": "warehouse", "type": "gcs", "gcsConnection": {"keyId": "GOOG1EXAMPLEKEYID00"},
                "s3Connection": {}},
            {"name": "bq", "type": "bigquery", "bigqueryConnection": {
                "serviceAccountKeyJson": "{\"type\": \"user\"}"}},
            {"name": "x", "type": "oracle"}]}}),
    );
    assert_eq!(
        errors,
        [
            "name must match connectionName in the path",
            "duckdbConnection.attachedDatabases.0.name must be a letter or '_', then letters, digits or '_'",
            "duckdbConnection.attachedDatabases.0.s3Connection.region must be a string, not a number",
            "duckdbConnection.attachedDatabases.1.name must differ from the connection's name",
            "duckdbConnection.attachedDatabases.1.s3Connection does not match the connection's type",
            "duckdbConnection.attachedDatabases.1.gcsConnection.secret is required",
            "duckdbConnection.attachedDatabases.2.bigqueryConnection.serviceAccountKeyJson must be a service-account key file: JSON text of an object with type service_account, project_id, private_key and client_email",
            "duckdbConnection.attachedDatabases.3.type must be one of: bigquery, snowflake, postgres, gcs, s3",
        ]
    );
}

#[test]
fn each_type_requires_what_it_needs() {
    let cases = [
        (
            json!({"type": "postgres", "postgresConnection": {}}),
            "postgresConnection.host is required",
        ),
        (
            json!({"type": "mysql", "mysqlConnection": {"port": "3306", "host": "db"}}),
            "mysqlConnection.port must be an integer between 1 and 65535",
        ),
        (
            json!({"type": "snowflake", "snowflakeConnection": {"account": "a", "username": "u",
            "warehouse": "w"}}),
            "snowflakeConnection.password is required unless privateKey is sent",
        ),
        (
            json!({"type": "trino", "trinoConnection": {"server": "trino.internal"}}),
            "trinoConnection.server must be a URL starting with http:// or https://",
        ),
        (
            json!({"type": "motherduck", "motherduckConnection": {}}),
            "motherduckConnection.accessToken is required",
        ),
        (
            json!({"type": "bigquery", "bigqueryConnection": {"maximumBytesBilled": 100}}),
            "bigqueryConnection.maximumBytesBilled must be a string, not a number",
        ),
        (
            json!({"type": "bigquery", "bigqueryConnection": {"queryTimeoutMilliseconds": "soon"}}),
            "bigqueryConnection.queryTimeoutMilliseconds must be a whole number of digits, in a string",
        ),
        (
            json!({"type": "snowflake", "snowflakeConnection": {"account": "a", "username": "u",
            "warehouse": "w", "password": "p", "responseTimeoutMilliseconds": "30"}}),
            "snowflakeConnection.responseTimeoutMilliseconds must be an integer between 0 and 2147483647",
        ),
        (
            json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": []}}),
            "duckdbConnection.attachedDatabases must not be empty",
        ),
        (
            json!({"type": "postgres"}),
            "postgresConnection is required",
        ),
        (
            json!({"type": "postgres", "postgresConnection": {"host": "db"},
            "mysqlConnection": {"host": "db"}}),
            "mysqlConnection does not match the connection's type",
        ),
        (
            json!({"type": "redshift"}),
            "type must be one of: postgres, bigquery, snowflake, trino, mysql, duckdb, motherduck",
        ),
        (
            json!({"type": "postgres", "postgresConnection": {"host": "db", "password": "********"}}),
            "postgresConnection.password must be the secret itself, not a redaction placeholder",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(refused(body.clone()), [expected], "{body}");
    }
    assert!(
        created(json!({"type": "postgres", "postgresConnection": {
        "connectionString": "postgresql://u:pw@db/a"}}))
        .is_ok()
    );
}

#[test]
fn a_duckdb_connection_is_not_named_duckdb() {
    let body = json!({"type": "duckdb", "duckdbConnection": {"attachedDatabases": [
        {"name": "m", "type": "gcs", "gcsConnection": {"keyId": "GOOG1EXAMPLEKEYID00", "secret": "s"}}]}});
    let errors = with_body(&body, |body| {
        let path = ProjectConnection {
            project: "p".into(),
            name: "duckdb".into(),
        };
        create(body, &path).map(|_| ())
    })
    .expect_err("refused");
    assert_eq!(
        errors.to_string(),
        "connectionName must not be duckdb for a DuckDB connection"
    );
}

#[test]
fn an_update_merges_field_by_field_and_keeps_secrets() {
    let record = stored(
        Provider::Postgres,
        json!({"host": "db", "port": 5432, "dbname": "a", "username": "u"}),
    );
    let change = with_body(
        &json!({"postgresConnection": {"databaseName": "b", "port": null, "password": "********"}}),
        |body| update(body, &record),
    )
    .expect("valid");
    let document = change.document.expect("a new document");
    assert_eq!(
        Value::Object(document.settings()),
        json!({"host": "db", "dbname": "b", "username": "u"})
    );
    assert!(document.needs_stored() && !document.has_new_secrets());
    let errors = with_body(&json!({"postgresConnection": {"host": null}}), |body| {
        update(body, &record).map(|_| ())
    })
    .expect_err("a connection needs its host");
    assert_eq!(errors.to_string(), "postgresConnection.host is required");
    let by_string = stored(Provider::Postgres, json!({"port": 5432}));
    let change = with_body(&json!({"postgresConnection": {"port": 6432}}), |body| {
        update(body, &by_string)
    })
    .expect("the stored connection string stands for the host");
    assert!(change.document.is_some());
    let unchanged = with_body(&json!({}), |body| update(body, &record)).expect("valid");
    assert!(unchanged.document.is_none());
    let errors = with_body(
        &json!({"type": "mysql", "name": "other", "mysqlConnection": {}}),
        |body| update(body, &record).map(|_| ()),
    )
    .expect_err("refused");
    assert_eq!(
        errors.to_string(),
        "name must match connectionName in the path; \
         type cannot be changed: delete the connection and create it again; \
         mysqlConnection does not match the connection's type"
    );
}

#[test]
fn an_attached_database_keeps_what_its_stored_namesake_of_its_type_has() {
    let record = stored(
        Provider::Duckdb,
        json!({"attached": [
            {"name": "files", "engine": "s3", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "region": "eu-west-1"},
            {"name": "hmac", "engine": "gcs", "access_key_id": "GOOG1EXAMPLEKEYID00"}]}),
    );
    let change = with_body(
        &json!({"duckdbConnection": {"attachedDatabases": [
            {"name": "files", "type": "s3"},
            {"name": "hmac", "type": "s3", "s3Connection": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE"}}]}}),
        |body| update(body, &record).map(|_| ()),
    );
    let errors = change.expect_err("a new type brings its secrets");
    assert_eq!(
        errors.to_string(),
        "duckdbConnection.attachedDatabases.1.s3Connection.secretAccessKey is required"
    );
    let change = with_body(
        &json!({"duckdbConnection": {"attachedDatabases": [
            {"name": "hmac", "type": "gcs", "gcsConnection": {"secret": "[REDACTED]"}},
            {"name": "files", "type": "s3", "s3Connection": {"region": "us-east-2"}}]}}),
        |body| update(body, &record),
    )
    .expect("valid");
    let document = change.document.expect("a new document");
    assert_eq!(
        Value::Object(document.settings()),
        json!({"attached": [
            {"name": "hmac", "engine": "gcs", "access_key_id": "GOOG1EXAMPLEKEYID00"},
            {"name": "files", "engine": "s3", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "region": "us-east-2"}]})
    );
    assert!(document.needs_stored() && !document.has_new_secrets());
}

#[test]
fn a_body_that_is_not_a_connection_is_told_apart_from_a_bad_one() {
    for body in [json!([]), json!({}), json!({"type": "oracle"})] {
        assert!(with_body(&body, connection_type).is_err(), "{body}");
    }
    let bad = json!({"type": "postgres", "postgresConnection": {"port": 0}});
    assert_eq!(
        with_body(&bad, connection_type).ok(),
        Some(Provider::Postgres)
    );
    let errors = with_body(&bad, |body| unsaved(body).map(|_| ())).expect_err("refused");
    assert_eq!(
        errors.to_string(),
        "postgresConnection.host is required; \
         postgresConnection.port must be an integer between 1 and 65535"
    );
}
