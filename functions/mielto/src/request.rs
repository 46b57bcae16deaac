//! What clients send, validated as Mielto's FastAPI app validates it (pydantic v2), before
//! anything is written: the `CredentialCreate` and `CredentialUpdate` bodies, the list's query
//! parameters, the `X-Workspace-Id` header and the path's credential id.
//!
//! Every problem is collected as a `FieldError` named by pydantic's `loc` joined with dots
//! (`body.label`, `query.limit`, `body.17` where malformed JSON breaks); the words a `Problem`
//! expects are the constants of [`expected`], which the shape turns into pydantic's error types.
//! No value a client sent is ever part of an error: any of them may be a secret.

use credential_model::credential::rfc3339;
use credential_model::secret::json_object_secret;
use credential_model::validation::{
    FieldErrors, MAX_SECRET_LEN, Problem, is_redaction_placeholder,
};
use credential_model::{
    Caller, CredentialChange, CredentialId, CredentialInput, CredentialKind, CredentialRecord,
    NewCredential, Provider, RecordKey, SettingValue, Settings,
};
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, RequestExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use strongroom_edge::{MAX_BODY_BYTES, Rejection};
use time::OffsetDateTime;

use crate::expiry::{self, ACTIVE, EXPIRED};

/// Field names: the same in request bodies, stored attributes and responses.
pub(crate) mod field {
    pub(crate) const LABEL: &str = "label";
    pub(crate) const DESCRIPTION: &str = "description";
    pub(crate) const AUTH_TYPE: &str = "auth_type";
    pub(crate) const CREDENTIAL_TYPE: &str = "credential_type";
    pub(crate) const CREDENTIAL_SCOPE: &str = "credential_scope";
    pub(crate) const PROVIDER: &str = "provider";
    pub(crate) const USER_ID: &str = "user_id";
    /// The raw credential object: the secret. Also the Generic provider's secret field.
    pub(crate) const CREDENTIALS: &str = "credentials";
    pub(crate) const STATUS: &str = "status";
    pub(crate) const EXPIRES_AT: &str = "expires_at";
    pub(crate) const LAST_USED_AT: &str = "last_used_at";
}

/// What a value should have been, in the words that stand for pydantic's error types.
pub(crate) mod expected {
    /// `string_type`
    pub(crate) const STRING: &str = "a string";
    /// `dict_type`
    pub(crate) const DICTIONARY: &str = "an object";
    /// `model_attributes_type`: the body as a whole.
    pub(crate) const MODEL: &str = "a JSON object";
    /// `int_parsing`
    pub(crate) const INTEGER: &str = "an integer";
    /// `datetime_type`, or `datetime_parsing` for a string that is not one.
    pub(crate) const DATETIME: &str = "an RFC 3339 date and time";
    /// `json_invalid`
    pub(crate) const JSON: &str = "valid JSON";
}

/// Mielto's `AuthType`.
pub(crate) const AUTH_TYPES: [&str; 10] = [
    "api_key",
    "oauth_token",
    "oauth_token_refresh",
    "oauth_token_refresh_rotation",
    "basic_auth",
    "access_token",
    "access_token_refresh",
    "public_key_secret",
    "connection_string",
    "custom",
];
/// Mielto's `CredentialType`.
pub(crate) const CREDENTIAL_TYPES: [&str; 6] = [
    "integration",
    "llm",
    "storage",
    "vector_store",
    "auth_provider",
    "custom",
];
/// The statuses a client may set. `expired` is only ever computed.
const STATUSES: [&str; 3] = [ACTIVE, "inactive", "revoked"];
/// The statuses a list can be filtered by: what credentials read as.
const LISTED_STATUSES: [&str; 4] = [ACTIVE, "inactive", "revoked", EXPIRED];
/// `provider` when the client gives none (Mielto's documented default).
const DEFAULT_PROVIDER: &str = "custom";
/// The header a client may name its workspace in.
const WORKSPACE_HEADER: &str = "x-workspace-id";
/// The path parameter of a single credential's routes.
const CREDENTIAL_ID: &str = "credential_id";

const LABEL_MAX: usize = 100;
const TEXT_MAX: usize = 255;
/// The list's page size: FastAPI's `Query(100, ge=1, le=100)`.
const MAX_LIMIT: i64 = 100;

/// pydantic's `ge`. pydantic names only the bound that was crossed, so each bound is a problem
/// of its own: the other end stays open.
pub(crate) fn at_least(min: i64) -> Problem {
    Problem::OutOfRange { min, max: i64::MAX }
}

/// pydantic's `le` (see [`at_least`]).
pub(crate) fn at_most(max: i64) -> Problem {
    Problem::OutOfRange { min: i64::MIN, max }
}

const BODY: &str = "body";

fn invalid(field: impl Into<String>, problem: Problem) -> Rejection {
    let mut errors = FieldErrors::new();
    errors.push(field, problem);
    Rejection::from(errors)
}

/// Whether FastAPI would read a body of this content type as JSON.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
}

/// Where serde's line and column (1-based, in bytes) fall in `bytes`.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = bytes
        .split(|b| *b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)).min(bytes.len())
}

/// The request's body, read as FastAPI reads a body parameter: as JSON when the content type
/// says JSON or says nothing; an empty or `null` body is missing; a body of any other content
/// type is not an object. Malformed JSON is located, never echoed.
pub(crate) fn json_body(request: &Request) -> Result<Value, Rejection> {
    let bytes: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Rejection::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.is_empty() {
        return Err(invalid(BODY, Problem::Missing));
    }
    let content_type = request.headers().get(CONTENT_TYPE);
    if content_type.is_some_and(|ct| !ct.to_str().is_ok_and(is_json)) {
        return Err(invalid(
            BODY,
            Problem::WrongType {
                expected: expected::MODEL,
            },
        ));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        let offset = byte_offset(bytes, error.line(), error.column());
        invalid(
            format!("{BODY}.{offset}"),
            Problem::Malformed {
                expected: expected::JSON,
            },
        )
    })
}

/// A field as the client sent it: an update tells "not sent" (keep) from `null` (clear).
enum Sent<T> {
    Absent,
    Null,
    /// Sent, and refused: the problem is recorded already.
    Invalid,
    Value(T),
}

impl<T> Sent<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Sent<U> {
        match self {
            Sent::Value(value) => Sent::Value(f(value)),
            Sent::Absent => Sent::Absent,
            Sent::Null => Sent::Null,
            Sent::Invalid => Sent::Invalid,
        }
    }

    /// The value of a field that may be left out or `null`.
    fn optional(self) -> Option<T> {
        match self {
            Sent::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The value of a required field: missing and `null` are problems (`null` the same one as
    /// a value of the wrong type, as pydantic has it).
    fn required(self, body: &mut BodyFields, name: &str, null: Problem) -> Option<T> {
        match self {
            Sent::Value(value) => Some(value),
            Sent::Absent => {
                body.problem(name, Problem::Missing);
                None
            }
            Sent::Null => {
                body.problem(name, null);
                None
            }
            Sent::Invalid => None,
        }
    }
}

fn wrong_type(expected: &'static str) -> Problem {
    Problem::WrongType { expected }
}

fn not_one_of(allowed: &[&'static str]) -> Problem {
    Problem::NotOneOf {
        allowed: allowed.to_vec(),
    }
}

/// A body object read field by field with pydantic's rules. Fields it does not know are
/// ignored, as pydantic ignores them.
struct BodyFields {
    fields: Map<String, Value>,
    errors: FieldErrors,
}

impl BodyFields {
    fn new(body: Value) -> Result<Self, Rejection> {
        match body {
            Value::Object(fields) => Ok(BodyFields {
                fields,
                errors: FieldErrors::new(),
            }),
            Value::Null => Err(invalid(BODY, Problem::Missing)),
            _ => Err(invalid(BODY, wrong_type(expected::MODEL))),
        }
    }

    fn problem(&mut self, name: &str, problem: Problem) {
        self.errors.push(format!("{BODY}.{name}"), problem);
    }

    /// Takes `name` out and checks a value that is not `null` with `check`, recording what
    /// it finds wrong.
    fn read<T>(&mut self, name: &str, check: impl FnOnce(Value) -> Result<T, Problem>) -> Sent<T> {
        match self.fields.remove(name) {
            None => Sent::Absent,
            Some(Value::Null) => Sent::Null,
            Some(value) => match check(value) {
                Ok(value) => Sent::Value(value),
                Err(problem) => {
                    self.problem(name, problem);
                    Sent::Invalid
                }
            },
        }
    }

    /// A string of at most `max` characters (counted as Python counts them); `non_empty` adds
    /// pydantic's `min_length=1`.
    fn text(&mut self, name: &str, non_empty: bool, max: usize) -> Sent<String> {
        self.read(name, |value| match value {
            Value::String(text) if non_empty && text.is_empty() => Err(Problem::Empty),
            Value::String(text) if text.chars().count() > max => Err(Problem::TooLong { max }),
            Value::String(text) => Ok(text),
            _ => Err(wrong_type(expected::STRING)),
        })
    }

    /// One of `allowed`, exactly (pydantic's enums are case-sensitive).
    fn one_of(&mut self, name: &str, allowed: &[&'static str]) -> Sent<&'static str> {
        self.read(name, |value| {
            allowed
                .iter()
                .copied()
                .find(|a| value.as_str() == Some(a))
                .ok_or_else(|| not_one_of(allowed))
        })
    }

    /// A JSON object, whatever it holds.
    fn object(&mut self, name: &str) -> Sent<Map<String, Value>> {
        self.read(name, |value| match value {
            Value::Object(object) => Ok(object),
            _ => Err(wrong_type(expected::DICTIONARY)),
        })
    }

    /// An RFC 3339 date and time, kept in UTC to the second.
    fn timestamp(&mut self, name: &str) -> Sent<OffsetDateTime> {
        self.read(name, |value| match value {
            Value::String(text) => expiry::parse_timestamp(&text).ok_or(Problem::Malformed {
                expected: expected::DATETIME,
            }),
            _ => Err(wrong_type(expected::DATETIME)),
        })
    }

    fn finish(self) -> Result<(), FieldErrors> {
        self.errors.finish(())
    }
}

/// The raw credential object as a secret, serialized straight into the `SecretString`.
/// Secrets Manager holds 64 KiB per secret; a credential object over the model's limit for one
/// secret value is refused as too large.
fn credentials_secret(credentials: Map<String, Value>) -> Result<SecretString, Rejection> {
    let secret = json_object_secret(credentials, &[]);
    if secret.expose_secret().len() > MAX_SECRET_LEN {
        return Err(Rejection::PayloadTooLarge {
            limit: MAX_SECRET_LEN,
        });
    }
    Ok(secret)
}

fn generic_input(secret: Option<SecretString>) -> CredentialInput {
    let mut input = CredentialInput::new(Provider::Generic);
    if let Some(secret) = secret {
        input.set_secret(field::CREDENTIALS, secret);
    }
    input
}

/// `CredentialCreate` (plus Strongroom's optional top-level `expires_at`) as the credential to
/// store: the raw `credentials` object is the secret; everything else is an attribute. The
/// expiry is the top-level `expires_at` when given, else what the credentials themselves say.
pub(crate) fn credential_create(
    body: Value,
    now: OffsetDateTime,
) -> Result<NewCredential, Rejection> {
    use field::*;
    let mut body = BodyFields::new(body)?;
    let label =
        body.text(LABEL, true, LABEL_MAX)
            .required(&mut body, LABEL, wrong_type(expected::STRING));
    let description = body.text(DESCRIPTION, false, TEXT_MAX).optional();
    let auth_type =
        body.one_of(AUTH_TYPE, &AUTH_TYPES)
            .required(&mut body, AUTH_TYPE, not_one_of(&AUTH_TYPES));
    let credential_type = body.one_of(CREDENTIAL_TYPE, &CREDENTIAL_TYPES).optional();
    let credential_scope = body.text(CREDENTIAL_SCOPE, false, TEXT_MAX).required(
        &mut body,
        CREDENTIAL_SCOPE,
        wrong_type(expected::STRING),
    );
    let provider = body.text(PROVIDER, false, TEXT_MAX).optional();
    let user_id = body.text(USER_ID, false, TEXT_MAX).optional();
    let credentials =
        body.object(CREDENTIALS)
            .required(&mut body, CREDENTIALS, wrong_type(expected::DICTIONARY));
    let expires_at = body.timestamp(EXPIRES_AT).optional();
    let required = (label, auth_type, credential_scope, credentials);
    let (Some(label), Some(auth_type), Some(credential_scope), Some(credentials)) = required else {
        // Each one that is not here is among the problems.
        return Err(body.errors.into());
    };
    body.finish()?;

    let expires_at = expires_at.or_else(|| expiry::from_credentials(&credentials, now));
    let secret = credentials_secret(credentials)?;
    let mut attributes = Settings::new();
    let mut set = |name: &str, value: Option<SettingValue>| {
        if let Some(value) = value {
            attributes.insert(name.to_owned(), value);
        }
    };
    set(LABEL, Some(label.into()));
    set(DESCRIPTION, description.map(Into::into));
    set(AUTH_TYPE, Some(auth_type.into()));
    set(CREDENTIAL_TYPE, credential_type.map(Into::into));
    set(CREDENTIAL_SCOPE, Some(credential_scope.into()));
    set(
        PROVIDER,
        Some(provider.as_deref().unwrap_or(DEFAULT_PROVIDER).into()),
    );
    set(USER_ID, user_id.map(Into::into));
    set(STATUS, Some(ACTIVE.into()));
    set(EXPIRES_AT, expires_at.map(|at| rfc3339(at).into()));
    Ok(NewCredential {
        kind: CredentialKind::GenericCredential,
        input: generic_input(Some(secret)),
        attributes,
    })
}

/// A validated `CredentialUpdate`: which attributes change, and the new raw credentials when
/// the client sent them.
#[derive(Debug)]
pub(crate) struct CredentialUpdate {
    /// An attribute to set, or to remove (`None`).
    changes: Vec<(&'static str, Option<SettingValue>)>,
    credentials: Option<SecretString>,
    /// Whether the new `credentials` hold a redaction placeholder as a value.
    placeholders: bool,
}

impl CredentialUpdate {
    /// Whether the client sent new `credentials`.
    pub(crate) fn replaces_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// Whether the new `credentials` hold a redaction placeholder (`********`, `[REDACTED]`)
    /// as a value: what a client shows for a secret it does not know, sent back.
    pub(crate) fn sends_placeholders(&self) -> bool {
        self.placeholders
    }

    /// The new `credentials`, where each placeholder value is replaced by the value the stored
    /// object (`stored`, the credential's secret document) has under the same name: a
    /// placeholder never overwrites a real secret. One with nothing stored under its name is
    /// kept as sent.
    pub(crate) fn keep_placeholders(&mut self, stored: &SecretString) -> Result<(), Rejection> {
        let Some(sent) = &self.credentials else {
            return Ok(());
        };
        let Ok(mut fields) = serde_json::from_str::<Map<String, Value>>(sent.expose_secret())
        else {
            return Ok(());
        };
        let stored = serde_json::from_str::<Value>(stored.expose_secret()).unwrap_or_default();
        let Some(stored) = stored.get(field::CREDENTIALS).and_then(Value::as_object) else {
            return Ok(());
        };
        for (name, value) in fields.iter_mut() {
            if is_placeholder(value)
                && let Some(kept) = stored.get(name)
            {
                *value = kept.clone();
            }
        }
        self.credentials = Some(credentials_secret(fields)?);
        Ok(())
    }

    /// The change to make to `record`: its attributes with these changes, and either the new
    /// credentials or the stored ones kept.
    pub(crate) fn apply_to(self, record: &CredentialRecord) -> CredentialChange {
        let mut attributes = record.attributes.clone();
        for (name, value) in self.changes {
            match value {
                Some(value) => attributes.insert(name.to_owned(), value),
                None => attributes.remove(name),
            };
        }
        CredentialChange {
            keep_missing_secrets: self.credentials.is_none(),
            input: generic_input(self.credentials),
            attributes,
        }
    }
}

fn is_placeholder(value: &Value) -> bool {
    value.as_str().is_some_and(is_redaction_placeholder)
}

/// `CredentialUpdate`: every `CredentialCreate` field optional, plus `status`. A field left out
/// is kept. `null` clears a field that may be null (`description`, `credential_type`,
/// `user_id`, `expires_at`), puts `provider` back to its default, and keeps the fields a
/// credential cannot be without. New `credentials` replace the stored object wholesale and
/// bring their own expiry unless `expires_at` is given too.
pub(crate) fn credential_update(
    body: Value,
    now: OffsetDateTime,
) -> Result<CredentialUpdate, Rejection> {
    use field::*;
    let mut body = BodyFields::new(body)?;
    let mut changes = Vec::new();
    let mut change = |name: &'static str, sent: Sent<SettingValue>, null: Option<&str>| match sent {
        Sent::Value(value) => changes.push((name, Some(value))),
        Sent::Null => changes.push((name, null.map(SettingValue::from))),
        Sent::Absent | Sent::Invalid => {}
    };
    let keep = |sent: Sent<SettingValue>| match sent {
        Sent::Null => Sent::Absent,
        other => other,
    };
    let text = |sent: Sent<String>| sent.map(SettingValue::from);
    let choice = |sent: Sent<&'static str>| sent.map(SettingValue::from);

    change(LABEL, keep(text(body.text(LABEL, true, LABEL_MAX))), None);
    change(
        DESCRIPTION,
        text(body.text(DESCRIPTION, false, TEXT_MAX)),
        None,
    );
    change(
        AUTH_TYPE,
        keep(choice(body.one_of(AUTH_TYPE, &AUTH_TYPES))),
        None,
    );
    change(
        CREDENTIAL_TYPE,
        choice(body.one_of(CREDENTIAL_TYPE, &CREDENTIAL_TYPES)),
        None,
    );
    change(
        CREDENTIAL_SCOPE,
        keep(text(body.text(CREDENTIAL_SCOPE, false, TEXT_MAX))),
        None,
    );
    change(
        PROVIDER,
        text(body.text(PROVIDER, false, TEXT_MAX)),
        Some(DEFAULT_PROVIDER),
    );
    change(USER_ID, text(body.text(USER_ID, false, TEXT_MAX)), None);
    let credentials = body.object(CREDENTIALS).optional();
    // New credentials bring their own expiry, or none.
    let own_expiry = credentials
        .as_ref()
        .map(|credentials| expiry::from_credentials(credentials, now));
    let placeholders = credentials
        .as_ref()
        .is_some_and(|credentials| credentials.values().any(is_placeholder));
    let credentials = credentials.map(credentials_secret);
    change(STATUS, keep(choice(body.one_of(STATUS, &STATUSES))), None);
    let expires_at = match (body.timestamp(EXPIRES_AT), own_expiry) {
        (Sent::Absent | Sent::Invalid, Some(Some(at))) => Sent::Value(at),
        (Sent::Absent | Sent::Invalid, Some(None)) => Sent::Null,
        (sent, _) => sent,
    };
    change(EXPIRES_AT, expires_at.map(|at| rfc3339(at).into()), None);
    body.finish()?;
    Ok(CredentialUpdate {
        changes,
        credentials: credentials.transpose()?,
        placeholders,
    })
}

/// The list's query: FastAPI's optional filters and `skip`/`limit` pagination.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub(crate) provider: Option<String>,
    pub(crate) credential_type: Option<&'static str>,
    pub(crate) credential_scope: Option<String>,
    /// What credentials read as, `expired` included.
    pub(crate) status: Option<&'static str>,
    pub(crate) skip: usize,
    pub(crate) limit: usize,
}

/// Reads the list's query parameters. A parameter given more than once counts with its last
/// value, as Starlette reads it.
pub(crate) fn list_query(request: &Request) -> Result<ListQuery, FieldErrors> {
    let params = request.query_string_parameters_ref();
    let last = |name: &str| {
        params
            .and_then(|p| p.all(name))
            .and_then(|values| values.last().map(|v| (*v).to_owned()))
    };
    let mut errors = FieldErrors::new();
    let mut problem = |name: &str, problem: Problem| errors.push(format!("query.{name}"), problem);
    let mut choice = |name: &str, allowed: &[&'static str]| {
        let value = last(name)?;
        let found = allowed.iter().copied().find(|a| *a == value);
        if found.is_none() {
            problem(name, not_one_of(allowed));
        }
        found
    };
    let credential_type = choice(field::CREDENTIAL_TYPE, &CREDENTIAL_TYPES);
    let status = choice(field::STATUS, &LISTED_STATUSES);
    let mut integer = |name: &str, default: i64, min: i64, max: i64| {
        let Some(text) = last(name) else {
            return default;
        };
        match text.trim().parse::<i64>() {
            Ok(n) if n < min => problem(name, at_least(min)),
            Ok(n) if n > max => problem(name, at_most(max)),
            Ok(n) => return n,
            Err(_) => problem(name, wrong_type(expected::INTEGER)),
        }
        default
    };
    let skip = integer("skip", 0, 0, i64::MAX);
    let limit = integer("limit", MAX_LIMIT, 1, MAX_LIMIT);
    errors.finish(ListQuery {
        provider: last(field::PROVIDER),
        credential_type,
        credential_scope: last(field::CREDENTIAL_SCOPE),
        status,
        skip: usize::try_from(skip).unwrap_or(usize::MAX),
        limit: usize::try_from(limit).unwrap_or_default(),
    })
}

/// Whether the request names, in `X-Workspace-Id`, a workspace other than the caller's
/// organization. Sent, it must be the caller's own; anything else is a workspace that, for
/// this caller, does not exist.
pub(crate) fn names_another_workspace(caller: &Caller, request: &Request) -> bool {
    request
        .headers()
        .get_all(WORKSPACE_HEADER)
        .iter()
        .any(|value| value.as_bytes() != caller.organization.as_str().as_bytes())
}

/// Where the credential the path names lives, under the caller's organization: `None` when
/// the path holds nothing that could be a credential id.
pub(crate) fn credential_key(caller: &Caller, request: &Request) -> Option<RecordKey> {
    let id = request
        .path_parameters_ref()
        .and_then(|params| params.first(CREDENTIAL_ID))
        .and_then(CredentialId::parse)?;
    Some(RecordKey::item(
        caller.organization.clone(),
        CredentialKind::GenericCredential,
        id,
    ))
}

/// The slot prefix of every Mielto credential of an organization.
pub(crate) fn credentials_prefix() -> String {
    RecordKey::items_prefix(CredentialKind::GenericCredential)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use credential_model::{OrgId, Scopes, UserId};
    use lambda_http::http;
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-03-28 14:00:00 UTC);
    const CANARY: &str = "sk-canary-7f3a";

    fn valid() -> Value {
        json!({
            "label": "OpenAI production", "description": "The key the agents use",
            "auth_type": "api_key", "credential_type": "llm", "credential_scope": "workspace",
            "provider": "openai", "user_id": "user_42",
            "credentials": {"api_key": CANARY, "organization": "org-1"}
        })
    }

    fn with(edit: impl FnOnce(&mut Value)) -> Value {
        let mut body = valid();
        edit(&mut body);
        body
    }

    fn problems<T: std::fmt::Debug>(result: Result<T, Rejection>) -> Vec<(String, Problem)> {
        let rejection = result.expect_err("refused");
        rejection
            .field_errors()
            .expect("field errors")
            .iter()
            .map(|e| (e.field.clone(), e.problem.clone()))
            .collect()
    }

    fn one_problem<T: std::fmt::Debug>(result: Result<T, Rejection>) -> (String, Problem) {
        let mut found = problems(result);
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    }

    fn string() -> Problem {
        wrong_type(expected::STRING)
    }

    fn text(attributes: &Settings, name: &str) -> Option<String> {
        attributes
            .get(name)
            .and_then(SettingValue::as_text)
            .map(str::to_owned)
    }

    #[test]
    fn a_create_keeps_the_raw_object_as_the_secret_and_the_rest_as_attributes() {
        let new = credential_create(valid(), NOW).expect("valid");
        assert_eq!(new.kind, CredentialKind::GenericCredential);
        assert_eq!(new.input.provider(), Provider::Generic);
        assert!(new.input.settings().is_empty());
        let document: Value =
            serde_json::from_str(new.input.secret_document().expose_secret()).expect("JSON");
        assert_eq!(
            document[field::CREDENTIALS],
            json!({"api_key": CANARY, "organization": "org-1"})
        );
        let expected = [
            ("label", "OpenAI production"),
            ("description", "The key the agents use"),
            ("auth_type", "api_key"),
            ("credential_type", "llm"),
            ("credential_scope", "workspace"),
            ("provider", "openai"),
            ("user_id", "user_42"),
            ("status", "active"),
        ];
        for (name, value) in expected {
            assert_eq!(
                text(&new.attributes, name).as_deref(),
                Some(value),
                "{name}"
            );
        }
        assert_eq!(new.attributes.len(), expected.len());
        assert!(!format!("{new:?}").contains(CANARY));
    }

    #[test]
    fn only_the_required_fields_are_needed() {
        let new = credential_create(
            json!({"label": "x", "auth_type": "custom", "credential_scope": "",
                   "credentials": {}, "unknown": "ignored"}),
            NOW,
        )
        .expect("valid");
        assert_eq!(text(&new.attributes, "provider").as_deref(), Some("custom"));
        for absent in ["description", "credential_type", "user_id", "expires_at"] {
            assert!(!new.attributes.contains_key(absent), "{absent}");
        }
        assert!(!new.attributes.contains_key("unknown"));
    }

    #[test]
    fn every_auth_type_is_accepted_and_nothing_else() {
        for auth_type in AUTH_TYPES {
            let new = credential_create(with(|b| b["auth_type"] = auth_type.into()), NOW)
                .expect(auth_type);
            assert_eq!(
                text(&new.attributes, "auth_type").as_deref(),
                Some(auth_type)
            );
        }
        for wrong in [
            json!("API_KEY"),
            json!("oauth2"),
            json!(""),
            json!(1),
            json!(null),
        ] {
            assert_eq!(
                one_problem(credential_create(with(|b| b["auth_type"] = wrong), NOW)),
                ("body.auth_type".into(), not_one_of(&AUTH_TYPES))
            );
        }
    }

    #[test]
    fn every_credential_type_is_accepted_and_nothing_else() {
        for credential_type in CREDENTIAL_TYPES {
            let new =
                credential_create(with(|b| b["credential_type"] = credential_type.into()), NOW)
                    .expect(credential_type);
            assert_eq!(
                text(&new.attributes, "credential_type").as_deref(),
                Some(credential_type)
            );
        }
        for wrong in [json!("model"), json!("LLM"), json!(["llm"])] {
            assert_eq!(
                one_problem(credential_create(
                    with(|b| b["credential_type"] = wrong),
                    NOW
                )),
                ("body.credential_type".into(), not_one_of(&CREDENTIAL_TYPES))
            );
        }
    }

    #[test]
    fn every_missing_required_field_is_named_in_schema_order() {
        assert_eq!(
            problems(credential_create(json!({}), NOW)),
            [
                ("body.label".into(), Problem::Missing),
                ("body.auth_type".into(), Problem::Missing),
                ("body.credential_scope".into(), Problem::Missing),
                ("body.credentials".into(), Problem::Missing),
            ]
        );
    }

    #[test]
    fn null_is_a_wrong_type_for_required_fields_and_fine_for_nullable_ones() {
        let nulls = with(|b| {
            for value in b.as_object_mut().expect("an object").values_mut() {
                *value = Value::Null;
            }
        });
        assert_eq!(
            problems(credential_create(nulls, NOW)),
            [
                ("body.label".into(), string()),
                ("body.auth_type".into(), not_one_of(&AUTH_TYPES)),
                ("body.credential_scope".into(), string()),
                ("body.credentials".into(), wrong_type(expected::DICTIONARY)),
            ]
        );
        let new = credential_create(
            with(|b| {
                for name in ["description", "credential_type", "provider", "user_id"] {
                    b[name] = Value::Null;
                }
            }),
            NOW,
        )
        .expect("nullable");
        assert_eq!(text(&new.attributes, "provider").as_deref(), Some("custom"));
        assert!(!new.attributes.contains_key("description"));
    }

    #[test]
    fn label_is_one_to_a_hundred_characters() {
        for ok in ["x".to_owned(), "x".repeat(100), "é".repeat(100), " ".into()] {
            assert!(credential_create(with(|b| b["label"] = ok.clone().into()), NOW).is_ok());
        }
        assert_eq!(
            one_problem(credential_create(with(|b| b["label"] = "".into()), NOW)),
            ("body.label".into(), Problem::Empty)
        );
        assert_eq!(
            one_problem(credential_create(
                with(|b| b["label"] = "x".repeat(101).into()),
                NOW
            )),
            ("body.label".into(), Problem::TooLong { max: 100 })
        );
        for wrong in [json!(7), json!(true), json!({"a": 1}), json!(["x"])] {
            assert_eq!(
                one_problem(credential_create(with(|b| b["label"] = wrong), NOW)),
                ("body.label".into(), string())
            );
        }
    }

    #[test]
    fn other_texts_are_at_most_255_characters_and_strings() {
        for name in ["description", "credential_scope", "provider", "user_id"] {
            let path = format!("body.{name}");
            let at_limit = with(|b| b[name] = "y".repeat(255).into());
            let new = credential_create(at_limit, NOW).expect(name);
            assert_eq!(text(&new.attributes, name), Some("y".repeat(255)));
            assert_eq!(
                one_problem(credential_create(
                    with(|b| b[name] = "y".repeat(256).into()),
                    NOW
                )),
                (path.clone(), Problem::TooLong { max: 255 })
            );
            assert_eq!(
                one_problem(credential_create(with(|b| b[name] = 42.into()), NOW)),
                (path, string())
            );
        }
    }

    #[test]
    fn credentials_must_be_an_object_and_not_too_large() {
        for wrong in [json!("api_key=abc"), json!([1, 2]), json!(3), json!(false)] {
            assert_eq!(
                one_problem(credential_create(with(|b| b["credentials"] = wrong), NOW)),
                ("body.credentials".into(), wrong_type(expected::DICTIONARY))
            );
        }
        let huge = with(|b| b["credentials"] = json!({"blob": "x".repeat(MAX_SECRET_LEN)}));
        assert!(matches!(
            credential_create(huge, NOW),
            Err(Rejection::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn every_problem_of_a_body_is_reported_at_once() {
        let body = json!({"label": "", "description": 5, "auth_type": "nope",
            "credential_type": "nope", "credential_scope": "s".repeat(256), "provider": [],
            "user_id": {}, "credentials": "x", "expires_at": "soon"});
        let fields: Vec<String> = problems(credential_create(body, NOW))
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        assert_eq!(
            fields,
            [
                "body.label",
                "body.description",
                "body.auth_type",
                "body.credential_type",
                "body.credential_scope",
                "body.provider",
                "body.user_id",
                "body.credentials",
                "body.expires_at"
            ]
        );
    }

    #[test]
    fn the_body_must_be_an_object() {
        for (body, problem) in [
            (json!(null), Problem::Missing),
            (json!([valid()]), wrong_type(expected::MODEL)),
            (json!("label"), wrong_type(expected::MODEL)),
        ] {
            assert_eq!(
                one_problem(credential_create(body, NOW)),
                ("body".into(), problem)
            );
        }
    }

    #[test]
    fn the_expiry_is_the_top_level_one_else_the_credentials_own() {
        let expiry = |body: Value| {
            text(
                &credential_create(body, NOW).expect("valid").attributes,
                "expires_at",
            )
        };
        assert_eq!(
            expiry(with(|b| b["credentials"]["expires_in"] = 3600.into())).as_deref(),
            Some("2026-03-28T15:00:00Z")
        );
        assert_eq!(
            expiry(with(|b| {
                b["credentials"]["expires_in"] = 3600.into();
                b["expires_at"] = "2030-01-01T01:00:00+01:00".into();
            }))
            .as_deref(),
            Some("2030-01-01T00:00:00Z")
        );
        assert_eq!(
            one_problem(credential_create(
                with(|b| b["expires_at"] = "soon".into()),
                NOW
            )),
            (
                "body.expires_at".into(),
                Problem::Malformed {
                    expected: expected::DATETIME
                }
            )
        );
        assert_eq!(
            one_problem(credential_create(with(|b| b["expires_at"] = 1.into()), NOW)),
            ("body.expires_at".into(), wrong_type(expected::DATETIME))
        );
    }

    fn stored() -> CredentialRecord {
        let new = credential_create(
            with(|b| b["expires_at"] = "2030-01-01T00:00:00Z".into()),
            NOW,
        )
        .expect("valid");
        let id = CredentialId::generate();
        CredentialRecord {
            key: RecordKey::item(
                OrgId::parse("org_a").expect("org"),
                CredentialKind::GenericCredential,
                id,
            ),
            id,
            kind: CredentialKind::GenericCredential,
            provider: Provider::Generic,
            settings: Settings::new(),
            attributes: new.attributes,
            secret: credential_model::SecretRef("arn:secret".into()),
            secret_version: "v1".into(),
            created_by: UserId::parse("user_a").expect("user"),
            created_at: NOW,
            updated_at: NOW,
            version: 1,
        }
    }

    fn updated(body: Value) -> (Settings, CredentialChange) {
        let change = credential_update(body, NOW)
            .expect("valid")
            .apply_to(&stored());
        (change.attributes.clone(), change)
    }

    #[test]
    fn an_empty_update_keeps_everything() {
        let (attributes, change) = updated(json!({}));
        assert_eq!(attributes, stored().attributes);
        assert!(change.keep_missing_secrets);
        assert!(change.input.secrets().is_empty());
    }

    #[test]
    fn an_update_changes_what_it_sends() {
        let (attributes, change) = updated(json!({"label": "renamed", "status": "revoked",
            "auth_type": "oauth_token", "provider": "anthropic"}));
        assert_eq!(text(&attributes, "label").as_deref(), Some("renamed"));
        assert_eq!(text(&attributes, "status").as_deref(), Some("revoked"));
        assert_eq!(
            text(&attributes, "auth_type").as_deref(),
            Some("oauth_token")
        );
        assert_eq!(text(&attributes, "provider").as_deref(), Some("anthropic"));
        assert_eq!(
            text(&attributes, "description").as_deref(),
            Some("The key the agents use")
        );
        assert!(change.keep_missing_secrets);
    }

    #[test]
    fn null_clears_what_may_be_null_and_keeps_what_may_not() {
        let (attributes, _) = updated(json!({"description": null, "credential_type": null,
            "user_id": null, "expires_at": null, "provider": null, "label": null,
            "auth_type": null, "credential_scope": null, "status": null, "credentials": null}));
        for cleared in ["description", "credential_type", "user_id", "expires_at"] {
            assert!(!attributes.contains_key(cleared), "{cleared}");
        }
        assert_eq!(text(&attributes, "provider").as_deref(), Some("custom"));
        for kept in ["label", "auth_type", "credential_scope", "status"] {
            assert_eq!(
                attributes.get(kept),
                stored().attributes.get(kept),
                "{kept}"
            );
        }
    }

    #[test]
    fn new_credentials_replace_the_secret_and_bring_their_own_expiry() {
        let (attributes, change) = updated(json!({"credentials": {"token": "new"}}));
        assert!(!change.keep_missing_secrets);
        let document: Value =
            serde_json::from_str(change.input.secret_document().expose_secret()).expect("JSON");
        assert_eq!(document[field::CREDENTIALS], json!({"token": "new"}));
        assert!(!attributes.contains_key("expires_at"), "no expiry any more");

        let (attributes, _) = updated(json!({"credentials": {"token": "t", "expires_in": 60}}));
        assert_eq!(
            text(&attributes, "expires_at").as_deref(),
            Some("2026-03-28T14:01:00Z")
        );
        let (attributes, _) = updated(json!({"credentials": {"token": "t", "expires_in": 60},
            "expires_at": "2031-01-01T00:00:00Z"}));
        assert_eq!(
            text(&attributes, "expires_at").as_deref(),
            Some("2031-01-01T00:00:00Z")
        );
    }

    #[test]
    fn placeholders_in_new_credentials_keep_the_stored_values() {
        let mut update = credential_update(
            json!({"credentials": {"api_key": "********", "organization": "org-2",
                "webhook_secret": "[REDACTED]"}}),
            NOW,
        )
        .expect("valid");
        assert!(update.sends_placeholders());
        let document_stored = SecretString::from(
            json!({"engine": "generic", "credentials": {"api_key": CANARY, "organization": "org-1"}})
                .to_string(),
        );
        update.keep_placeholders(&document_stored).expect("kept");
        let change = update.apply_to(&stored());
        let document: Value =
            serde_json::from_str(change.input.secret_document().expose_secret()).expect("JSON");
        assert_eq!(
            document[field::CREDENTIALS],
            json!({"api_key": CANARY, "organization": "org-2", "webhook_secret": "[REDACTED]"})
        );
        let plain =
            credential_update(json!({"credentials": {"api_key": "new"}}), NOW).expect("valid");
        assert!(!plain.sends_placeholders());
    }

    #[test]
    fn an_update_is_validated_like_a_create_plus_status() {
        let body = json!({"label": "", "auth_type": "x", "credentials": [], "status": "expired",
            "expires_at": "never"});
        assert_eq!(
            problems(credential_update(body, NOW)),
            [
                ("body.label".into(), Problem::Empty),
                ("body.auth_type".into(), not_one_of(&AUTH_TYPES)),
                ("body.credentials".into(), wrong_type(expected::DICTIONARY)),
                ("body.status".into(), not_one_of(&STATUSES)),
                (
                    "body.expires_at".into(),
                    Problem::Malformed {
                        expected: expected::DATETIME
                    }
                ),
            ]
        );
        for status in STATUSES {
            let (attributes, _) = updated(json!({ "status": status }));
            assert_eq!(text(&attributes, "status").as_deref(), Some(status));
        }
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder()
            .method("POST")
            .uri("/api/v1/credentials");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder
            .body(Body::from(body.to_owned()))
            .expect("a request")
    }

    #[test]
    fn bodies_are_json_when_the_content_type_says_so_or_says_nothing() {
        for content_type in [
            None,
            Some("application/json"),
            Some("application/json; charset=utf-8"),
            Some("application/vnd.api+json"),
        ] {
            assert_eq!(
                json_body(&request(content_type, r#"{"a":1}"#)).expect("JSON"),
                json!({"a": 1})
            );
        }
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            assert_eq!(
                one_problem(json_body(&request(Some(content_type), r#"{"a":1}"#))),
                ("body".into(), wrong_type(expected::MODEL))
            );
        }
    }

    #[test]
    fn malformed_json_is_located_by_byte_offset_and_never_echoed() {
        let body = format!("{{\n  \"credentials\": {{\"api_key\": \"{CANARY}\" oops}}\n}}");
        let rejection = json_body(&request(Some("application/json"), &body)).expect_err("bad");
        let offset = body.find("oops").expect("in the body");
        let errors = rejection.field_errors().expect("field errors");
        assert_eq!(
            errors.first().map(|e| e.field.clone()),
            Some(format!("body.{offset}"))
        );
        assert!(!format!("{rejection:?} {rejection}").contains(CANARY));
    }

    #[test]
    fn empty_and_oversized_bodies() {
        assert_eq!(
            one_problem(json_body(&request(Some("application/json"), ""))),
            ("body".into(), Problem::Missing)
        );
        let big = format!("{{\"label\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            json_body(&request(Some("application/json"), &big)),
            Err(Rejection::PayloadTooLarge { .. })
        ));
    }

    fn query(params: &[(&str, &str)]) -> Result<ListQuery, FieldErrors> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in params {
            map.entry((*name).to_owned())
                .or_default()
                .push((*value).to_owned());
        }
        list_query(&request(None, "").with_query_string_parameters(map))
    }

    fn query_problems(params: &[(&str, &str)]) -> Vec<(String, Problem)> {
        query(params)
            .expect_err("refused")
            .iter()
            .map(|e| (e.field.clone(), e.problem.clone()))
            .collect()
    }

    #[test]
    fn the_list_query_has_fastapi_defaults() {
        assert_eq!(
            query(&[]).expect("valid"),
            ListQuery {
                provider: None,
                credential_type: None,
                credential_scope: None,
                status: None,
                skip: 0,
                limit: 100
            }
        );
        assert_eq!(
            query(&[
                ("provider", "openai"),
                ("credential_type", "llm"),
                ("credential_scope", "user"),
                ("status", "expired"),
                ("skip", "5"),
                ("limit", "1"),
                ("limit", "7")
            ])
            .expect("valid"),
            ListQuery {
                provider: Some("openai".into()),
                credential_type: Some("llm"),
                credential_scope: Some("user".into()),
                status: Some("expired"),
                skip: 5,
                limit: 7
            }
        );
    }

    #[test]
    fn bad_list_parameters_are_named_in_the_query() {
        assert_eq!(
            query_problems(&[("skip", "-1"), ("limit", "0")]),
            [
                ("query.skip".into(), at_least(0)),
                ("query.limit".into(), at_least(1))
            ]
        );
        assert_eq!(
            query_problems(&[("limit", "101")]),
            [("query.limit".into(), at_most(100))]
        );
        assert_eq!(
            query_problems(&[("skip", "ten"), ("limit", "1.5")]),
            [
                ("query.skip".into(), wrong_type(expected::INTEGER)),
                ("query.limit".into(), wrong_type(expected::INTEGER))
            ]
        );
        assert_eq!(
            query_problems(&[("credential_type", "model"), ("status", "deleted")]),
            [
                (
                    "query.credential_type".into(),
                    not_one_of(&CREDENTIAL_TYPES)
                ),
                ("query.status".into(), not_one_of(&LISTED_STATUSES))
            ]
        );
    }

    fn caller() -> Caller {
        Caller {
            organization: OrgId::parse("org_a").expect("org"),
            user: UserId::parse("user_a").expect("user"),
            scopes: Scopes::all(),
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn the_workspace_header_must_be_the_callers_organization() {
        let with_header = |values: &[&str]| {
            let mut builder = http::Request::builder();
            for value in values {
                builder = builder.header("X-Workspace-Id", *value);
            }
            builder.body(Body::Empty).expect("a request")
        };
        assert!(!names_another_workspace(&caller(), &with_header(&[])));
        assert!(!names_another_workspace(
            &caller(),
            &with_header(&["org_a"])
        ));
        for foreign in [&["org_b"][..], &["ORG_A"], &[""], &["org_a", "org_b"]] {
            assert!(
                names_another_workspace(&caller(), &with_header(foreign)),
                "{foreign:?}"
            );
        }
    }

    #[test]
    fn the_path_names_a_credential_of_the_callers_organization_only_by_uuid() {
        let with_id = |id: &str| {
            request(None, "")
                .with_path_parameters(HashMap::from([(CREDENTIAL_ID.to_owned(), id.to_owned())]))
        };
        let id = CredentialId::generate();
        let key = credential_key(&caller(), &with_id(&id.to_string())).expect("a key");
        assert_eq!(key.organization, caller().organization);
        assert_eq!(key.slot, format!("generic-credential#{id}"));
        assert!(key.slot.starts_with(&credentials_prefix()));
        for malformed in ["", "not-a-uuid", "../org_b", "1234"] {
            assert_eq!(
                credential_key(&caller(), &with_id(malformed)),
                None,
                "{malformed}"
            );
        }
        assert_eq!(credential_key(&caller(), &request(None, "")), None);
    }
}
