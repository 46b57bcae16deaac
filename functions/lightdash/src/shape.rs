//! Lightdash's response shapes: success is `{"status": "ok", "results": …}`; a credential is
//! `UserWarehouseCredentials` (of its credentials only `type`, and `user` where the type has
//! one — never a secret); every error is `ApiErrorPayload`:
//! `{"status": "error", "error": {"statusCode", "name", "message", "data"}}` with Lightdash's
//! error names (`ParameterError`, `AuthorizationError`, `ForbiddenError`, `NotFoundError`…).

use credential_model::credential::rfc3339;
use credential_model::{CredentialRecord, Error, Provider};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

use crate::UserCredentials;

/// `UserWarehouseCredentials`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserWarehouseCredentials<'a> {
    uuid: String,
    user_uuid: &'a str,
    name: &'a str,
    created_at: String,
    updated_at: String,
    /// Lightdash ties a user's credentials to a project by preference; Strongroom's are the
    /// user's own, for any project.
    project: Option<()>,
    credentials: Summary<'a>,
}

/// What a credential's `credentials` show: the warehouse type and, for the types that have
/// one, the user.
#[derive(Serialize)]
struct Summary<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
}

impl<'a> UserWarehouseCredentials<'a> {
    pub(crate) fn of(record: &'a CredentialRecord<UserCredentials>) -> Self {
        let has_user = matches!(
            record.provider,
            Provider::Postgres
                | Provider::Redshift
                | Provider::Snowflake
                | Provider::Trino
                | Provider::Clickhouse
        );
        UserWarehouseCredentials {
            uuid: record.id.to_string(),
            user_uuid: record.created_by.as_str(),
            name: &record.attributes.name,
            created_at: rfc3339(record.created_at),
            updated_at: rfc3339(record.updated_at),
            project: None,
            credentials: Summary {
                kind: record.provider.as_str(),
                user: has_user
                    .then(|| record.settings.get("username").and_then(Value::as_str))
                    .flatten(),
            },
        }
    }
}

/// `200 {"status": "ok", "results": …}`.
pub(crate) fn ok(results: &impl Serialize) -> Response<Body> {
    json_response(StatusCode::OK, &json!({"status": "ok", "results": results}))
}

/// `200 {"status": "ok"}`: Lightdash's `ApiSuccessEmpty`, whose `results` is undefined.
pub(crate) fn ok_empty() -> Response<Body> {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

/// Lightdash's name for each kind of error.
fn error_name(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::Unauthenticated(_) => "AuthorizationError",
        Rejection::Forbidden { .. } => "ForbiddenError",
        Rejection::UnsupportedMediaType => "UnsupportedMediaTypeError",
        Rejection::PayloadTooLarge { .. } => "PayloadTooLargeError",
        Rejection::MalformedJson { .. } => "ParameterError",
        Rejection::OtherTenant => "NotFoundError",
        Rejection::Domain(error) => match error {
            Error::Invalid(_) | Error::Refused(_) => "ParameterError",
            Error::NotFound => "NotFoundError",
            Error::Conflict(_) => "ConflictError",
            Error::Unavailable { .. } => "ServiceUnavailableError",
            Error::Corrupt { .. } => "UnexpectedServerError",
        },
    }
}

/// Any refused request as `ApiErrorPayload`. Bad input names every field at fault in
/// `data.fields`, as Lightdash's request validation does: `{"<path>": {"message": …}}`.
pub(crate) fn error(rejection: &Rejection, info: &RequestInfo) -> Response<Body> {
    let message = match rejection {
        Rejection::Domain(Error::NotFound) | Rejection::OtherTenant => {
            "Warehouse credentials not found".to_owned()
        }
        other => other.to_string(),
    };
    let mut data = Map::new();
    if let Some(errors) = rejection.field_errors() {
        let fields: Map<String, Value> = errors
            .iter()
            .map(|e| (e.path.to_string(), json!({"message": e.to_string()})))
            .collect();
        data.insert("fields".into(), fields.into());
    }
    data.insert("requestId".into(), info.request_id.clone().into());
    let status = rejection.status();
    json_response(
        status,
        &json!({
            "status": "error",
            "error": {
                "statusCode": status.as_u16(),
                "name": error_name(rejection),
                "message": message,
                "data": data,
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use credential_model::credential::parse_rfc3339;
    use credential_model::testing;
    use credential_model::validation::{FieldErrors, Problem};
    use credential_model::{CredentialId, CredentialKind, OrgId, RecordKey, UserId};
    use serde_json::Map;

    use super::*;

    fn body(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("JSON"),
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON"),
            _ => panic!("no body"),
        }
    }

    fn info() -> RequestInfo {
        RequestInfo {
            request_id: "req-1".into(),
            organization: None,
        }
    }

    fn record(provider: Provider, settings: Value) -> CredentialRecord<UserCredentials> {
        let id = CredentialId::generate();
        let owner = UserId::parse("user_a").expect("user");
        let org = OrgId::parse("org_a").expect("org");
        let key = RecordKey::owned(org, CredentialKind::UserWarehouseCredential, &owner, id);
        let at = parse_rfc3339("2026-03-28T14:00:00Z").expect("timestamp");
        let settings = settings.as_object().cloned().unwrap_or_else(Map::new);
        let attributes = UserCredentials {
            name: "mine".into(),
        };
        CredentialRecord {
            created_at: at,
            updated_at: at,
            ..testing::record(key, id, provider, settings, attributes)
        }
    }

    #[test]
    fn credentials_show_their_type_and_user_only() {
        let postgres = record(
            Provider::Postgres,
            json!({"username": "analyst", "host": "db.internal"}),
        );
        let shown = serde_json::to_value(UserWarehouseCredentials::of(&postgres)).expect("JSON");
        assert_eq!(
            shown,
            json!({"uuid": postgres.id.to_string(), "userUuid": "user_a", "name": "mine",
                "createdAt": "2026-03-28T14:00:00Z", "updatedAt": "2026-03-28T14:00:00Z",
                "project": null, "credentials": {"type": "postgres", "user": "analyst"}})
        );
        let bigquery = record(Provider::Bigquery, json!({}));
        let shown = serde_json::to_value(UserWarehouseCredentials::of(&bigquery)).expect("JSON");
        assert_eq!(shown["credentials"], json!({"type": "bigquery"}));
    }

    #[test]
    fn errors_are_api_error_payloads_naming_each_field() {
        let mut errors = FieldErrors::new();
        errors.push("credentials.password", Problem::Missing);
        errors.push("name", Problem::Empty);
        let response = error(&Rejection::from(errors), &info());
        assert_eq!(response.status(), 400);
        assert_eq!(
            body(&response),
            json!({"status": "error", "error": {"statusCode": 400, "name": "ParameterError",
                "message": "credentials.password is required; name must not be empty",
                "data": {"fields": {
                    "credentials.password": {"message": "credentials.password is required"},
                    "name": {"message": "name must not be empty"}},
                    "requestId": "req-1"}}})
        );
        let response = error(&Rejection::Domain(Error::NotFound), &info());
        assert_eq!(
            body(&response)["error"],
            json!({"statusCode": 404, "name": "NotFoundError",
                "message": "Warehouse credentials not found", "data": {"requestId": "req-1"}})
        );
        let forbidden = error(
            &Rejection::Forbidden {
                needed: credential_model::Scope::Write,
            },
            &info(),
        );
        assert_eq!(body(&forbidden)["error"]["name"], "ForbiddenError");
    }
}
