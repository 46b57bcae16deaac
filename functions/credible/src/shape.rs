//! Credible's response shapes: a `Connection` with every setting stored and no secret; `201`
//! or `200` `{"message": …}` for a change; `ConnectionStatus` for a test; and every error as
//! the upstream server sends it, `{"code": <status>, "message": …}`, with the documented
//! `error` key beside them for a duplicate (`409`).

use credential_model::ports::TestOutcome;
use credential_model::{CredentialRecord, Error, Provider};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

use crate::ProjectConnection;
use crate::request::{ATTACHED, sub_object};

/// Where a connection is, as its `resource` says.
pub(crate) fn resource(connection: &ProjectConnection) -> String {
    format!(
        "/api/v0/projects/{}/connections/{}",
        connection.project, connection.name
    )
}

/// A stored connection as `Connection`: every setting, under the seed's names, and no secret.
pub(crate) fn connection(record: &CredentialRecord<ProjectConnection>) -> Value {
    let mut shown = Map::new();
    shown.insert("resource".into(), resource(&record.attributes).into());
    shown.insert("name".into(), record.attributes.name.clone().into());
    shown.insert("type".into(), record.provider.as_str().into());
    shown.insert("attributes".into(), attributes(record.provider));
    if let Some(spec) = sub_object(record.provider) {
        shown.insert(
            spec.field.into(),
            settings(record.provider, &record.settings),
        );
    }
    Value::Object(shown)
}

/// `ConnectionAttributes`, which Strongroom computes from the type (Malloy's dialect of each;
/// Strongroom pools no connection; Trino and MySQL cannot persist query results in Malloy).
fn attributes(provider: Provider) -> Value {
    let dialect = match provider {
        Provider::Bigquery => "standardsql",
        Provider::Postgres | Provider::Snowflake | Provider::Trino | Provider::Mysql => {
            provider.as_str()
        }
        _ => "duckdb",
    };
    json!({
        "dialectName": dialect,
        "isPool": false,
        "canPersist": !matches!(provider, Provider::Trino | Provider::Mysql),
        "canStream": true,
    })
}

/// The sub-object of a connection (or attached database) of `provider`: its stored settings
/// under the seed's names.
fn settings(provider: Provider, stored: &Map<String, Value>) -> Value {
    if provider == Provider::Duckdb {
        let attached = stored.get(ATTACHED).and_then(Value::as_array);
        let databases: Vec<Value> = attached
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .map(attached_database)
            .collect();
        return json!({"attachedDatabases": databases});
    }
    let mut shown = Map::new();
    for (seed, key) in sub_object(provider).map_or(&[][..], |spec| spec.settings) {
        if let Some(value) = stored.get(*key) {
            shown.insert((*seed).to_owned(), value.clone());
        }
    }
    Value::Object(shown)
}

/// An `AttachedDatabase` from its stored settings (`name`, `engine` and the engine's own).
fn attached_database(stored: &Map<String, Value>) -> Value {
    let mut shown = Map::new();
    shown.insert(
        "name".into(),
        stored.get("name").cloned().unwrap_or_default(),
    );
    let provider = stored
        .get("engine")
        .and_then(Value::as_str)
        .and_then(Provider::parse);
    if let Some(provider) = provider {
        shown.insert("type".into(), provider.as_str().into());
        // Queried through DuckDB, it has DuckDB's attributes.
        shown.insert("attributes".into(), attributes(Provider::Duckdb));
        if let Some(spec) = sub_object(provider) {
            shown.insert(spec.field.into(), settings(provider, stored));
        }
    }
    Value::Object(shown)
}

/// `{"message": …}` with `status`.
pub(crate) fn message(status: StatusCode, message: String) -> Response<Body> {
    json_response(status, &json!({"message": message}))
}

/// `ConnectionStatus`: `ok` with an empty `errorMessage`, or `failed` saying what failed and
/// who said so. Always `200`: the test ran.
pub(crate) fn status(outcome: &TestOutcome) -> Response<Body> {
    let (status, message) = match outcome {
        TestOutcome::Passed => ("ok", String::new()),
        TestOutcome::Failed(failure) => ("failed", failure.to_string()),
    };
    json_response(
        StatusCode::OK,
        &json!({"status": status, "errorMessage": message}),
    )
}

/// Any refused request: `{"code": <status>, "message": …}`, the message naming every field at
/// fault; a duplicate (`409`) also carries the documented `error`.
pub(crate) fn error(rejection: &Rejection, _info: &RequestInfo) -> Response<Body> {
    let message = match rejection {
        Rejection::Domain(Error::NotFound) | Rejection::OtherTenant => {
            "The connection was not found".to_owned()
        }
        other => other.to_string(),
    };
    let status = rejection.status();
    let mut body = Map::new();
    if status == StatusCode::CONFLICT {
        body.insert("error".into(), message.clone().into());
    }
    body.insert("code".into(), status.as_u16().into());
    body.insert("message".into(), message.into());
    json_response(status, &body)
}

#[cfg(test)]
mod tests {
    use credential_model::testing;
    use credential_model::validation::{FieldErrors, Problem};
    use credential_model::{Attributes, CredentialId, OrgId, RecordKey};
    use strongroom_local_stack::testing::body_json as body;

    use super::*;

    fn info() -> RequestInfo {
        RequestInfo {
            request_id: "req-1".into(),
            organization: None,
        }
    }

    fn record(provider: Provider, settings: Value) -> CredentialRecord<ProjectConnection> {
        let attributes = ProjectConnection {
            project: "analytics".into(),
            name: "lake".into(),
        };
        let org = OrgId::parse("org_a").expect("org");
        let key = RecordKey::named(org, ProjectConnection::KIND, "analytics", "lake");
        let settings = settings.as_object().cloned().unwrap_or_default();
        testing::record(
            key,
            CredentialId::generate(),
            provider,
            settings,
            attributes,
        )
    }

    #[test]
    fn a_connection_shows_its_settings_under_the_seeds_names() {
        let postgres = record(
            Provider::Postgres,
            json!({"host": "db", "port": 5432, "dbname": "a", "username": "u"}),
        );
        assert_eq!(
            connection(&postgres),
            json!({"resource": "/api/v0/projects/analytics/connections/lake", "name": "lake",
                "type": "postgres",
                "attributes": {"dialectName": "postgres", "isPool": false, "canPersist": true,
                    "canStream": true},
                "postgresConnection": {"host": "db", "port": 5432, "databaseName": "a",
                    "userName": "u"}})
        );
        let duckdb = record(
            Provider::Duckdb,
            json!({"attached": [{"name": "files", "engine": "s3",
                "access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "eu-west-1"}]}),
        );
        assert_eq!(
            connection(&duckdb)["duckdbConnection"],
            json!({"attachedDatabases": [{"name": "files", "type": "s3",
                "attributes": {"dialectName": "duckdb", "isPool": false, "canPersist": true,
                    "canStream": true},
                "s3Connection": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                    "region": "eu-west-1"}}]})
        );
    }

    #[test]
    fn errors_carry_their_status_and_name_the_fields() {
        let mut errors = FieldErrors::new();
        errors.push("postgresConnection.host", Problem::Missing);
        let response = error(&Rejection::from(errors), &info());
        assert_eq!(response.status(), 400);
        assert_eq!(
            body(&response),
            json!({"code": 400, "message": "postgresConnection.host is required"})
        );
        let conflict = error(&Rejection::Domain(Error::Conflict("exists")), &info());
        assert_eq!(
            body(&conflict),
            json!({"error": "exists", "code": 409, "message": "exists"})
        );
        let missing = error(&Rejection::Domain(Error::NotFound), &info());
        assert_eq!(body(&missing)["code"], 404);
    }
}
