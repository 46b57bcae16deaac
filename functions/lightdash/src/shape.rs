//! Lightdash's response shapes: success is `{"status": "ok", "results": …}`; a credential is
//! `UserWarehouseCredentials` (of its credentials only `type`, and `user` where the type has
//! one — never a secret); every error is `ApiErrorPayload`:
//! `{"status": "error", "error": {"statusCode", "name", "message", "data"}}` with Lightdash's
//! error names (`ParameterError`, `AuthorizationError`, `ForbiddenError`, `NotFoundError`…).

use credential_model::credential::rfc3339;
use credential_model::{CredentialRecord, Error, Provider, SettingValue};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

use crate::request::NAME;

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
    pub(crate) fn of(record: &'a CredentialRecord) -> Self {
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
            name: record
                .attributes
                .get(NAME)
                .and_then(SettingValue::as_text)
                .unwrap_or_default(),
            created_at: rfc3339(record.created_at),
            updated_at: rfc3339(record.updated_at),
            project: None,
            credentials: Summary {
                kind: record.provider.as_str(),
                user: has_user
                    .then(|| {
                        record
                            .settings
                            .get("username")
                            .and_then(SettingValue::as_text)
                    })
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
        Rejection::Domain(error) => match error {
            Error::Invalid(_) => "ParameterError",
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
        Rejection::Domain(Error::NotFound) => "Warehouse credentials not found".to_owned(),
        other => other.to_string(),
    };
    let mut data = Map::new();
    if let Some(errors) = rejection.field_errors() {
        let fields: Map<String, Value> = errors
            .iter()
            .map(|e| {
                (
                    e.field.clone(),
                    json!({"message": format!("{} {}", e.field, e.problem)}),
                )
            })
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
    use credential_model::validation::{FieldErrors, Problem};
    use credential_model::{
        CredentialId, CredentialKind, OrgId, RecordKey, SecretRef, Settings, UserId,
    };

    use super::*;

    fn body(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("JSON"),
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON"),
            _ => Value::Null,
        }
    }

    fn info() -> RequestInfo {
        RequestInfo {
            request_id: "req-1".into(),
            organization: None,
        }
    }

    fn record(provider: Provider, settings: Settings) -> CredentialRecord {
        let id = CredentialId::generate();
        let owner = UserId::parse("user_a").expect("user");
        let at =
            credential_model::credential::parse_rfc3339("2026-03-28T14:00:00Z").expect("timestamp");
        CredentialRecord {
            key: RecordKey::owned(
                OrgId::parse("org_a").expect("org"),
                CredentialKind::UserWarehouseCredential,
                &owner,
                id,
            ),
            id,
            kind: CredentialKind::UserWarehouseCredential,
            provider,
            settings,
            attributes: Settings::from([(NAME.to_owned(), SettingValue::from("mine"))]),
            secret: SecretRef("arn:secret".into()),
            secret_version: "v1".into(),
            created_by: owner,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn credentials_show_their_type_and_user_only() {
        let settings = Settings::from([
            ("username".to_owned(), SettingValue::from("analyst")),
            ("host".to_owned(), SettingValue::from("db.internal")),
        ]);
        let postgres = record(Provider::Postgres, settings);
        let shown = serde_json::to_value(UserWarehouseCredentials::of(&postgres)).expect("JSON");
        assert_eq!(
            shown,
            json!({"uuid": postgres.id.to_string(), "userUuid": "user_a", "name": "mine",
                "createdAt": "2026-03-28T14:00:00Z", "updatedAt": "2026-03-28T14:00:00Z",
                "project": null, "credentials": {"type": "postgres", "user": "analyst"}})
        );
        let bigquery = record(Provider::Bigquery, Settings::new());
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
