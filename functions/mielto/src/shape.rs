//! Mielto's response shapes, as its FastAPI app answers: a credential is a `CredentialRead`
//! (never its secret); an error is `{"detail": "<message>"}`, and bad input is `422` with
//! pydantic's `{"detail": [{"loc": […], "msg": "…", "type": "…"}]}`.

use credential_model::CredentialRecord;
use credential_model::Error;
use credential_model::credential::rfc3339;
use credential_model::validation::{
    DATE_TIME, FieldError, FieldErrors, JsonType, Problem, Step, VALID_JSON,
};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};
use time::OffsetDateTime;

use crate::GenericCredential;
use crate::expiry;

/// A credential as Mielto's `CredentialRead` shows it, with the status it reads as at the time
/// it is shown.
#[derive(Serialize)]
pub(crate) struct CredentialRead<'a> {
    pub(crate) label: &'a str,
    pub(crate) description: Option<&'a str>,
    pub(crate) auth_type: &'static str,
    pub(crate) credential_type: Option<&'static str>,
    pub(crate) credential_scope: &'a str,
    pub(crate) provider: &'a str,
    pub(crate) user_id: Option<&'a str>,
    pub(crate) id: String,
    pub(crate) workspace_id: &'a str,
    pub(crate) created_by: &'a str,
    pub(crate) status: &'static str,
    pub(crate) expires_at: Option<String>,
    /// Strongroom records no use of a credential: reading one is not a write.
    pub(crate) last_used_at: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl<'a> CredentialRead<'a> {
    pub(crate) fn of(record: &'a CredentialRecord<GenericCredential>, now: OffsetDateTime) -> Self {
        let attributes = &record.attributes;
        CredentialRead {
            label: &attributes.label,
            description: attributes.description.as_deref(),
            auth_type: attributes.auth_type.into(),
            credential_type: attributes.credential_type.map(Into::into),
            credential_scope: &attributes.credential_scope,
            provider: &attributes.provider,
            user_id: attributes.user_id.as_deref(),
            id: record.id.to_string(),
            workspace_id: record.key.organization.as_str(),
            created_by: record.created_by.as_str(),
            status: expiry::effective_status(attributes.status, record.expires_at, now),
            expires_at: record.expires_at.map(rfc3339),
            last_used_at: None,
            created_at: rfc3339(record.created_at),
            updated_at: rfc3339(record.updated_at),
        }
    }
}

fn detail(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({ "detail": message }))
}

/// Any refused request, as FastAPI would refuse it.
pub(crate) fn error(rejection: &Rejection, _info: &RequestInfo) -> Response<Body> {
    if let Some(errors) = rejection.field_errors() {
        return json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "detail": validation_errors(errors) }),
        );
    }
    match rejection {
        Rejection::Domain(Error::NotFound) => detail(StatusCode::NOT_FOUND, "Credential not found"),
        // An `X-Workspace-Id` that is not the caller's.
        Rejection::OtherTenant => detail(StatusCode::NOT_FOUND, "Workspace not found"),
        Rejection::Unauthenticated(_) => {
            let mut response = detail(rejection.status(), &rejection.to_string());
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        _ => detail(rejection.status(), &rejection.to_string()),
    }
}

/// pydantic's `ValidationError`s: `loc` is the field's path, its indexes as integers.
fn validation_errors(errors: &FieldErrors) -> Vec<Value> {
    errors
        .iter()
        .map(|error| {
            let loc: Vec<Value> = error
                .path
                .steps()
                .iter()
                .map(|step| match step {
                    Step::Key(name) => Value::from(name.as_str()),
                    Step::Index(index) => Value::from(*index),
                })
                .collect();
            let (kind, message) = pydantic(error);
            json!({ "loc": loc, "msg": message, "type": kind })
        })
        .collect()
}

/// pydantic's error type and message for a problem.
fn pydantic(error: &FieldError) -> (&'static str, String) {
    let fixed = |kind, message: &str| (kind, message.to_owned());
    match &error.problem {
        Problem::Missing => fixed("missing", "Field required"),
        Problem::Empty => fixed(
            "string_too_short",
            "String should have at least 1 character",
        ),
        Problem::TooLong { max } => (
            "string_too_long",
            format!(
                "String should have at most {max} character{}",
                if *max == 1 { "" } else { "s" }
            ),
        ),
        Problem::NotOneOf { allowed } => ("enum", format!("Input should be {}", either(allowed))),
        Problem::OutOfRange { min, max: i64::MAX } => (
            "greater_than_equal",
            format!("Input should be greater than or equal to {min}"),
        ),
        Problem::OutOfRange { min: i64::MIN, max } => (
            "less_than_equal",
            format!("Input should be less than or equal to {max}"),
        ),
        Problem::WrongType { expected, .. } => match expected {
            JsonType::String => fixed("string_type", "Input should be a valid string"),
            // The body itself is a model; anything nested is a dictionary.
            JsonType::Object if error.path.steps().len() <= 1 => fixed(
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
            ),
            JsonType::Object => fixed("dict_type", "Input should be a valid dictionary"),
            JsonType::Integer => fixed(
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            ),
            JsonType::DateTime => fixed("datetime_type", "Input should be a valid datetime"),
            _ => value_error(&error.problem),
        },
        Problem::Malformed { expected } => match *expected {
            VALID_JSON => fixed("json_invalid", "JSON decode error"),
            DATE_TIME => fixed(
                "datetime_parsing",
                "Input should be a valid datetime, expected an RFC 3339 date and time",
            ),
            _ => value_error(&error.problem),
        },
        Problem::OutOfRange { .. } | Problem::NotAllowed { .. } => value_error(&error.problem),
    }
}

/// pydantic's wording for a check of the application's own.
fn value_error(problem: &Problem) -> (&'static str, String) {
    ("value_error", format!("Value error, {problem}"))
}

/// `'a', 'b' or 'c'`, as pydantic lists what an enum allows.
fn either(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

#[cfg(test)]
mod tests {
    use credential_model::tenancy::authorizer_context::Unauthenticated;
    use credential_model::testing;
    use credential_model::validation::FieldPath;
    use credential_model::{
        CredentialId, CredentialKind, Dependency, OrgId, Provider, RecordKey, Scope,
    };
    use strum::VariantNames;
    use time::macros::datetime;

    use super::*;
    use crate::request::{at_least, at_most};
    use crate::{AuthType, CredentialType, Status};

    /// `body.label`, `body.17`: pydantic's `loc`, dotted.
    fn path(dotted: &str) -> FieldPath {
        dotted.split('.').fold(FieldPath::root(), |path, step| {
            match step.parse::<usize>() {
                Ok(index) => path.index(index),
                Err(_) => path.key(step),
            }
        })
    }

    fn info() -> RequestInfo {
        RequestInfo {
            request_id: "req".into(),
            organization: None,
        }
    }

    fn body(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("JSON"),
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON"),
            _ => panic!("no body"),
        }
    }

    fn refused(field: &str, problem: Problem) -> Value {
        let mut errors = FieldErrors::new();
        errors.push(path(field), problem);
        let response = error(&Rejection::from(errors), &info());
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        body(&response)
    }

    #[test]
    fn problems_read_as_pydantic_errors() {
        let cases = [
            (
                "body.label",
                Problem::Missing,
                json!(["body", "label"]),
                "missing",
                "Field required",
            ),
            (
                "body.label",
                Problem::Empty,
                json!(["body", "label"]),
                "string_too_short",
                "String should have at least 1 character",
            ),
            (
                "body.label",
                Problem::TooLong { max: 100 },
                json!(["body", "label"]),
                "string_too_long",
                "String should have at most 100 characters",
            ),
            (
                "body.label",
                Problem::WrongType {
                    expected: JsonType::String,
                    found: JsonType::Number,
                },
                json!(["body", "label"]),
                "string_type",
                "Input should be a valid string",
            ),
            (
                "body.credentials",
                Problem::WrongType {
                    expected: JsonType::Object,
                    found: JsonType::String,
                },
                json!(["body", "credentials"]),
                "dict_type",
                "Input should be a valid dictionary",
            ),
            (
                "body",
                Problem::WrongType {
                    expected: JsonType::Object,
                    found: JsonType::Array,
                },
                json!(["body"]),
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
            ),
            (
                "body.17",
                Problem::Malformed {
                    expected: VALID_JSON,
                },
                json!(["body", 17]),
                "json_invalid",
                "JSON decode error",
            ),
            (
                "body.expires_at",
                Problem::Malformed {
                    expected: DATE_TIME,
                },
                json!(["body", "expires_at"]),
                "datetime_parsing",
                "Input should be a valid datetime, expected an RFC 3339 date and time",
            ),
            (
                "body.expires_at",
                Problem::WrongType {
                    expected: JsonType::DateTime,
                    found: JsonType::Number,
                },
                json!(["body", "expires_at"]),
                "datetime_type",
                "Input should be a valid datetime",
            ),
            (
                "query.limit",
                Problem::WrongType {
                    expected: JsonType::Integer,
                    found: JsonType::String,
                },
                json!(["query", "limit"]),
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            ),
            (
                "query.skip",
                at_least(0),
                json!(["query", "skip"]),
                "greater_than_equal",
                "Input should be greater than or equal to 0",
            ),
            (
                "query.limit",
                at_most(100),
                json!(["query", "limit"]),
                "less_than_equal",
                "Input should be less than or equal to 100",
            ),
        ];
        for (field, problem, loc, kind, message) in cases {
            assert_eq!(
                refused(field, problem),
                json!({"detail": [{"loc": loc, "msg": message, "type": kind}]})
            );
        }
    }

    #[test]
    fn enums_list_what_they_allow_as_pydantic_does() {
        let detail = refused(
            "body.auth_type",
            Problem::NotOneOf {
                allowed: AuthType::VARIANTS.to_vec(),
            },
        );
        assert_eq!(detail["detail"][0]["type"], "enum");
        assert_eq!(
            detail["detail"][0]["msg"],
            "Input should be 'api_key', 'oauth_token', 'oauth_token_refresh', \
             'oauth_token_refresh_rotation', 'basic_auth', 'access_token', \
             'access_token_refresh', 'public_key_secret', 'connection_string' or 'custom'"
        );
        assert_eq!(either(&["a", "b"]), "'a' or 'b'");
        assert_eq!(either(&["a"]), "'a'");
    }

    #[test]
    fn other_refusals_are_http_exceptions() {
        let cases = [
            (
                Rejection::Domain(Error::NotFound),
                404,
                "Credential not found",
            ),
            (
                Rejection::Forbidden {
                    needed: Scope::Write,
                },
                403,
                "Forbidden: this operation needs the credentials:write scope",
            ),
            (
                Rejection::Domain(Error::Conflict("changed; retry")),
                409,
                "changed; retry",
            ),
            (
                Rejection::PayloadTooLarge { limit: 65536 },
                413,
                "the request body is larger than 65536 bytes",
            ),
            (
                Rejection::Domain(Error::Unavailable {
                    dependency: Dependency::SecretVault,
                    detail: "arn:aws:secretsmanager:… timed out".into(),
                }),
                503,
                "the secret vault is temporarily unavailable; retry shortly",
            ),
        ];
        for (rejection, status, message) in cases {
            let response = error(&rejection, &info());
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(body(&response), json!({ "detail": message }));
        }
        let response = error(
            &Rejection::Unauthenticated(Unauthenticated::Expired),
            &info(),
        );
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            body(&response),
            json!({"detail": "Unauthorized: the bearer token has expired"})
        );
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );
        assert_eq!(
            body(&error(&Rejection::OtherTenant, &info())),
            json!({"detail": "Workspace not found"})
        );
    }

    fn record(expires_at: Option<OffsetDateTime>) -> CredentialRecord<GenericCredential> {
        let id = CredentialId::generate();
        let org = OrgId::parse("org_a").expect("org");
        let attributes = GenericCredential {
            label: "OpenAI".into(),
            description: None,
            auth_type: AuthType::ApiKey,
            credential_type: Some(CredentialType::Llm),
            credential_scope: "workspace".into(),
            provider: "openai".into(),
            user_id: None,
            status: Status::Active,
        };
        let key = RecordKey::item(org, CredentialKind::GenericCredential, id);
        CredentialRecord {
            expires_at,
            created_at: datetime!(2026-03-28 13:00:00 UTC),
            updated_at: datetime!(2026-03-28 13:30:00 UTC),
            version: 2,
            ..testing::record(key, id, Provider::Generic, Default::default(), attributes)
        }
    }

    #[test]
    fn a_credential_reads_as_credential_read_in_schema_order() {
        let record = record(Some(datetime!(2026-03-28 15:00:00 UTC)));
        let read = serde_json::to_value(CredentialRead::of(
            &record,
            datetime!(2026-03-28 14:00:00 UTC),
        ))
        .expect("JSON");
        let keys: Vec<&str> = read
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "label",
                "description",
                "auth_type",
                "credential_type",
                "credential_scope",
                "provider",
                "user_id",
                "id",
                "workspace_id",
                "created_by",
                "status",
                "expires_at",
                "last_used_at",
                "created_at",
                "updated_at"
            ]
        );
        assert_eq!(read["id"], record.id.to_string());
        assert_eq!(read["workspace_id"], "org_a");
        assert_eq!(read["created_by"], "user_a");
        assert_eq!(read["status"], "active");
        assert_eq!(read["description"], Value::Null);
        assert_eq!(read["last_used_at"], Value::Null);
        assert_eq!(read["created_at"], "2026-03-28T13:00:00Z");
        assert_eq!(read["updated_at"], "2026-03-28T13:30:00Z");

        let later = CredentialRead::of(&record, datetime!(2026-03-28 15:00:00 UTC));
        assert_eq!(later.status, "expired");
        assert_eq!(later.expires_at.as_deref(), Some("2026-03-28T15:00:00Z"));
    }
}
