//! What Nile's API answers: `GetDatabaseResponse`, `CreateCredentialResponse`, the list's
//! `Credential` (the same without `password`), and every error as `APIError`
//! `{errorCode, message, statusCode}` with `statusCode` equal to the HTTP status.

use credential_model::credential::rfc3339;
use credential_model::generated::{Lease, LeaseState, RegisteredDatabase};
use credential_model::{CredentialRecord, Dependency, Error, Provider};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

use crate::delete_database::LIVE_CREDENTIALS;

/// Nile's `Workspace`: the caller's organization is its workspace.
fn workspace(record: &CredentialRecord<RegisteredDatabase>) -> Value {
    let organization = record.key.organization.to_string();
    json!({ "id": organization, "name": organization, "slug": organization })
}

fn setting<'a>(record: &'a CredentialRecord<RegisteredDatabase>, name: &str) -> Option<&'a Value> {
    record.settings.get(name)
}

/// `GetDatabaseResponse`, with Strongroom's own fields of the registration beside Nile's.
pub(crate) fn database(record: &CredentialRecord<RegisteredDatabase>) -> Value {
    let attributes = &record.attributes;
    let host = setting(record, "host")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let port = setting(record, "port")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let dbname = setting(record, "dbname").and_then(Value::as_str);
    let engine = record.provider.to_string();
    let scheme = match record.provider {
        Provider::Mysql | Provider::Mariadb => "mysql",
        _ => "postgres",
    };
    let mut body = Map::new();
    body.insert("id".into(), record.id.to_string().into());
    body.insert("name".into(), attributes.name.clone().into());
    body.insert("workspace".into(), workspace(record));
    body.insert("status".into(), "READY".into());
    body.insert("region".into(), attributes.region.clone().into());
    body.insert("expandable".into(), false.into());
    body.insert("sharded".into(), false.into());
    body.insert("created".into(), rfc3339(record.created_at).into());
    body.insert("apiHost".into(), format!("https://{host}").into());
    body.insert(
        "dbHost".into(),
        format!("{scheme}://{host}:{port}/{}", dbname.unwrap_or_default()).into(),
    );
    body.insert("engine".into(), engine.into());
    body.insert("host".into(), host.into());
    body.insert("port".into(), port.into());
    if let Some(dbname) = dbname {
        body.insert("database".into(), dbname.into());
    }
    if let Some(sslmode) = setting(record, "sslmode") {
        body.insert("sslmode".into(), sslmode.clone());
    }
    body.insert(
        "defaultLifetimeSeconds".into(),
        attributes.default_lifetime_seconds.into(),
    );
    body.insert(
        "maxLifetimeSeconds".into(),
        attributes.max_lifetime_seconds.into(),
    );
    body.insert(
        "grants".into(),
        serde_json::to_value(&attributes.grants).unwrap_or_default(),
    );
    body.insert("owner".into(), attributes.owner.clone().into());
    Value::Object(body)
}

/// A credential as a list shows it: never a password.
pub(crate) fn credential(database: &Value, lease: &Lease) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("id".into(), lease.login.clone().into());
    body.insert("database".into(), database.clone());
    if let Some(tenant) = &lease.scope.tenant {
        body.insert("tenant".into(), tenant.clone().into());
    }
    body.insert("internal".into(), lease.scope.internal.into());
    body.insert("created".into(), rfc3339(lease.created_at).into());
    body.insert("expires".into(), rfc3339(lease.expires_at).into());
    let status = match lease.state {
        LeaseState::Active => "ACTIVE",
        LeaseState::Irrevocable => "IRREVOCABLE",
    };
    body.insert("status".into(), status.into());
    if lease.failures > 0 {
        body.insert("revocationFailures".into(), lease.failures.into());
    }
    if let Some(failure) = &lease.last_failure {
        body.insert("lastRevocationFailure".into(), failure.clone().into());
    }
    body
}

/// `CreateCredentialResponse`: the credential and, this once, its password.
pub(crate) fn created(
    record: &CredentialRecord<RegisteredDatabase>,
    lease: &Lease,
    password: &SecretString,
) -> Response<Body> {
    let mut body = credential(&database(record), lease);
    body.insert("password".into(), password.expose_secret().into());
    json_response(StatusCode::OK, &body)
}

/// Nile's `errorCode` of a refusal.
fn error_code(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::Unauthenticated(_) => "invalid_credentials",
        Rejection::Forbidden { .. } => "forbidden_operation",
        Rejection::UnsupportedMediaType
        | Rejection::PayloadTooLarge { .. }
        | Rejection::MalformedJson { .. } => "bad_request",
        Rejection::OtherTenant => "entity_not_found",
        Rejection::Domain(error) => match error {
            Error::Invalid(_) => "bad_request",
            Error::Refused(_) => "invalid_credentials",
            Error::NotFound => "entity_not_found",
            Error::Conflict(why) if *why == LIVE_CREDENTIALS => "constraint_violation",
            Error::Conflict(_) => "duplicate_entity",
            Error::Unavailable {
                dependency: Dependency::Database,
                ..
            } => "db_status_failure",
            Error::Unavailable { .. } | Error::Corrupt { .. } => "internal_error",
        },
    }
}

/// Any refused request as `APIError`. Every "not found" reads the same — an unknown
/// database, another workspace, an unknown credential — so none tells what exists elsewhere.
pub(crate) fn error(rejection: &Rejection, _info: &RequestInfo) -> Response<Body> {
    let status = rejection.status();
    let message = match rejection {
        Rejection::OtherTenant | Rejection::Domain(Error::NotFound) => "Entity not found".into(),
        other => other.to_string(),
    };
    json_response(
        status,
        &json!({ "errorCode": error_code(rejection), "message": message, "statusCode": status.as_u16() }),
    )
}
