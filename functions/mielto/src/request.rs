//! What clients send, validated as Mielto's FastAPI app validates it (pydantic v2), before
//! anything is written: the `CredentialCreate` and `CredentialUpdate` bodies, the list's query
//! parameters, the `X-Workspace-Id` header and the path's credential id.
//!
//! Every problem is collected with pydantic's `loc` as its path (`body.label`, `query.limit`,
//! `body.17` where malformed JSON breaks); the shape turns problems into pydantic's error
//! types. No value a client sent is ever part of an error: any of them may be a secret.

use credential_model::connection::Generic;
use credential_model::validation::{
    FieldErrors, FieldPath, JsonType, MAX_SECRET_LEN, Problem, display_text,
};
use credential_model::{
    Attributes, CredentialChange, CredentialRecord, Error, NewCredential, Provider, RecordKey,
    SecretValue,
};
use lambda_http::{Request, RequestExt};
use secrecy::SecretString;
use serde_json::value::RawValue;
use strongroom_edge::input::{Object, Reader, Sent};
use strongroom_edge::{Call, JsonBody, Rejection};
use strum::VariantNames;
use time::OffsetDateTime;

use crate::expiry::{self, EXPIRED};
use crate::{AuthType, CredentialType, GenericCredential, Status};

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

fn not_one_of(allowed: &[&'static str]) -> Problem {
    Problem::NotOneOf {
        allowed: allowed.to_vec(),
    }
}

/// What `null` is for a required field of type `expected`, as pydantic has it.
fn null_for(expected: JsonType) -> Problem {
    Problem::WrongType {
        expected,
        found: JsonType::Null,
    }
}

/// A string field: at most `max` characters (counted as Python counts them), at least one when
/// `non_empty` (pydantic's `min_length=1`), and display text, as in every family.
fn mielto_text(non_empty: bool, max: usize) -> impl FnOnce(&str) -> Result<(), Problem> {
    move |value| {
        if non_empty && value.is_empty() {
            return Err(Problem::Empty);
        }
        if value.chars().count() > max {
            return Err(Problem::TooLong { max });
        }
        display_text(value)
    }
}

/// A string enum, exactly (pydantic's enums are case-sensitive).
fn choice<'a, T: std::str::FromStr + VariantNames>(object: &Object<'a>, name: &str) -> Sent<T> {
    match object.field(name).one_of(T::VARIANTS).sent() {
        Sent::Value(value) => value.parse().map_or(Sent::Invalid, Sent::Value),
        Sent::Absent => Sent::Absent,
        Sent::Null => Sent::Null,
        Sent::Invalid => Sent::Invalid,
    }
}

fn required<T>(object: &Object<'_>, sent: Sent<T>, name: &str, null: Problem) -> Option<T> {
    let problem = match sent {
        Sent::Value(value) => return Some(value),
        Sent::Invalid => return None,
        Sent::Absent => Problem::Missing,
        Sent::Null => null,
    };
    object.problem(name, problem);
    None
}

fn optional<T>(sent: Sent<T>) -> Option<T> {
    match sent {
        Sent::Value(value) => Some(value),
        _ => None,
    }
}

/// The raw `credentials` object, exactly as sent, as the secret. Secrets Manager holds 64 KiB
/// per secret; an object over the model's limit for one secret value is refused as too large.
fn credentials_secret(credentials: &RawValue) -> Result<SecretString, Rejection> {
    let text = credentials.get();
    if text.len() > MAX_SECRET_LEN {
        return Err(Rejection::PayloadTooLarge {
            limit: MAX_SECRET_LEN,
        });
    }
    Ok(SecretString::from(text.to_owned()))
}

fn document(credentials: SecretString) -> credential_model::Document {
    Generic {
        credentials: Some(SecretValue::Json(credentials)),
    }
    .document(Provider::Generic)
}

/// `CredentialCreate` (plus Strongroom's optional top-level `expires_at`) as the credential to
/// store: the raw `credentials` object is the secret; everything else is an attribute. The
/// expiry is the top-level `expires_at` when given, else what the credentials themselves say.
pub(crate) fn credential_create(
    body: &JsonBody<'_>,
    now: OffsetDateTime,
) -> Result<NewCredential<GenericCredential>, Rejection> {
    let reader = Reader::new();
    let parsed = reader.object(body).and_then(|body| {
        let text = |name: &str, non_empty: bool, max: usize| {
            body.field(name).text(mielto_text(non_empty, max)).sent()
        };
        // pydantic: `null` for a required string is not a string.
        let required_text = |name: &str, non_empty: bool, max: usize| {
            let sent = text(name, non_empty, max);
            required(&body, sent, name, null_for(JsonType::String))
        };
        let label = required_text("label", true, LABEL_MAX);
        let description = optional(text("description", false, TEXT_MAX));
        let auth_type = choice::<AuthType>(&body, "auth_type");
        let auth_type = required(
            &body,
            auth_type,
            "auth_type",
            not_one_of(AuthType::VARIANTS),
        );
        let credential_type = optional(choice::<CredentialType>(&body, "credential_type"));
        let credential_scope = required_text("credential_scope", false, TEXT_MAX);
        let provider = optional(text("provider", false, TEXT_MAX));
        let user_id = optional(text("user_id", false, TEXT_MAX));
        let credentials = required(
            &body,
            body.field("credentials").object().sent(),
            "credentials",
            null_for(JsonType::Object),
        );
        let expires_at = body.field("expires_at").timestamp().optional();
        let credentials = credentials?.value();
        Some((
            GenericCredential {
                label: label?,
                description,
                auth_type: auth_type?,
                credential_type,
                credential_scope: credential_scope?,
                provider: provider.unwrap_or_else(|| DEFAULT_PROVIDER.to_owned()),
                user_id,
                status: Status::Active,
            },
            credentials,
            expires_at.or_else(|| expiry::from_credentials(credentials, now)),
        ))
    });
    let (attributes, credentials, expires_at) = reader.finish(parsed)?;
    Ok(NewCredential {
        document: document(credentials_secret(credentials)?),
        attributes,
        expires_at,
    })
}

/// What an update does to one field.
#[derive(Debug)]
enum Change<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T> Change<T> {
    /// A field that may be null: `null` clears it.
    fn nullable(sent: Sent<T>) -> Self {
        match sent {
            Sent::Value(value) => Change::Set(value),
            Sent::Null => Change::Clear,
            Sent::Absent | Sent::Invalid => Change::Keep,
        }
    }

    /// A field a credential cannot be without: `null` keeps it.
    fn kept(sent: Sent<T>) -> Self {
        match Change::nullable(sent) {
            Change::Clear => Change::Keep,
            other => other,
        }
    }

    fn apply(self, to: Option<T>) -> Option<T> {
        match self {
            Change::Keep => to,
            Change::Clear => None,
            Change::Set(value) => Some(value),
        }
    }

    fn apply_required(self, to: T) -> T {
        match self {
            Change::Set(value) => value,
            _ => to,
        }
    }
}

/// A validated `CredentialUpdate`: what changes, and the new raw credentials when the client
/// sent them.
#[derive(Debug)]
pub(crate) struct CredentialUpdate {
    label: Change<String>,
    description: Change<String>,
    auth_type: Change<AuthType>,
    credential_type: Change<CredentialType>,
    credential_scope: Change<String>,
    provider: Change<String>,
    user_id: Change<String>,
    status: Change<Status>,
    expires_at: Change<OffsetDateTime>,
    credentials: Option<SecretString>,
}

/// `CredentialUpdate`: every `CredentialCreate` field optional, plus `status`. A field left out
/// is kept. `null` clears a field that may be null (`description`, `credential_type`,
/// `user_id`, `expires_at`), puts `provider` back to its default, and keeps the fields a
/// credential cannot be without. New `credentials` replace the stored object wholesale and
/// bring their own expiry unless `expires_at` is given too; a value in them sent as a
/// redaction placeholder keeps the stored value at its place.
pub(crate) fn credential_update(
    body: &JsonBody<'_>,
    now: OffsetDateTime,
) -> Result<CredentialUpdate, Rejection> {
    let reader = Reader::new();
    let parsed = reader.object(body).map(|body| {
        let text = |name: &str, non_empty: bool, max: usize| {
            body.field(name).text(mielto_text(non_empty, max)).sent()
        };
        let label = Change::kept(text("label", true, LABEL_MAX));
        let description = Change::nullable(text("description", false, TEXT_MAX));
        let auth_type = Change::kept(choice(&body, "auth_type"));
        let credential_type = Change::nullable(choice(&body, "credential_type"));
        let credential_scope = Change::kept(text("credential_scope", false, TEXT_MAX));
        let provider = match text("provider", false, TEXT_MAX) {
            Sent::Null => Change::Set(DEFAULT_PROVIDER.to_owned()),
            sent => Change::nullable(sent),
        };
        let user_id = Change::nullable(text("user_id", false, TEXT_MAX));
        let credentials = optional(body.field("credentials").object().sent()).map(|c| c.value());
        let status = Change::kept(choice(&body, "status"));
        // New credentials bring their own expiry, or none.
        let expires_at = match (body.field("expires_at").timestamp().sent(), credentials) {
            (Sent::Absent | Sent::Invalid, Some(credentials)) => {
                match expiry::from_credentials(credentials, now) {
                    Some(at) => Change::Set(at),
                    None => Change::Clear,
                }
            }
            (sent, _) => Change::nullable(sent),
        };
        (
            CredentialUpdate {
                label,
                description,
                auth_type,
                credential_type,
                credential_scope,
                provider,
                user_id,
                status,
                expires_at,
                credentials: None,
            },
            credentials,
        )
    });
    let (mut update, credentials) = reader.finish(parsed)?;
    update.credentials = credentials.map(credentials_secret).transpose()?;
    Ok(update)
}

impl CredentialUpdate {
    /// Whether the client sent new `credentials`.
    pub(crate) fn replaces_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// The change to make to `record`: its attributes with these changes, and the new
    /// credentials when sent.
    pub(crate) fn apply_to(
        self,
        record: &CredentialRecord<GenericCredential>,
    ) -> CredentialChange<GenericCredential> {
        let stored = record.attributes.clone();
        CredentialChange {
            attributes: GenericCredential {
                label: self.label.apply_required(stored.label),
                description: self.description.apply(stored.description),
                auth_type: self.auth_type.apply_required(stored.auth_type),
                credential_type: self.credential_type.apply(stored.credential_type),
                credential_scope: self
                    .credential_scope
                    .apply_required(stored.credential_scope),
                provider: self.provider.apply_required(stored.provider),
                user_id: self.user_id.apply(stored.user_id),
                status: self.status.apply_required(stored.status),
            },
            expires_at: self.expires_at.apply(record.expires_at),
            document: self.credentials.map(document),
        }
    }
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

/// The statuses a list can be filtered by: what credentials read as.
fn listed_statuses() -> Vec<&'static str> {
    let mut statuses = Status::VARIANTS.to_vec();
    statuses.push(EXPIRED);
    statuses
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
    let query = FieldPath::from("query");
    let mut errors = FieldErrors::new();
    let mut problem = |name: &str, problem: Problem| errors.push(query.key(name), problem);
    let mut choice = |name: &str, allowed: &[&'static str]| {
        let value = last(name)?;
        let found = allowed.iter().copied().find(|a| *a == value);
        if found.is_none() {
            problem(name, not_one_of(allowed));
        }
        found
    };
    let credential_type = choice("credential_type", CredentialType::VARIANTS);
    let status = choice("status", &listed_statuses());
    let mut integer = |name: &str, default: i64, min: i64, max: i64| {
        let Some(text) = last(name) else {
            return default;
        };
        match text.trim().parse::<i64>() {
            Ok(n) if n < min => problem(name, at_least(min)),
            Ok(n) if n > max => problem(name, at_most(max)),
            Ok(n) => return n,
            Err(_) => problem(
                name,
                Problem::WrongType {
                    expected: JsonType::Integer,
                    found: JsonType::String,
                },
            ),
        }
        default
    };
    let skip = integer("skip", 0, 0, i64::MAX);
    let limit = integer("limit", MAX_LIMIT, 1, MAX_LIMIT);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ListQuery {
        provider: last("provider"),
        credential_type,
        credential_scope: last("credential_scope"),
        status,
        skip: usize::try_from(skip).unwrap_or(usize::MAX),
        limit: usize::try_from(limit).unwrap_or_default(),
    })
}

/// Refuses a request that names, in `X-Workspace-Id`, a workspace other than the caller's
/// organization. Sent, it must be the caller's own; anything else is a workspace that, for
/// this caller, does not exist.
pub(crate) fn own_workspace(call: &Call) -> Result<(), Rejection> {
    let foreign = call
        .request
        .headers()
        .get_all(WORKSPACE_HEADER)
        .iter()
        .any(|value| value.as_bytes() != call.caller.organization.as_str().as_bytes());
    if foreign {
        Err(Rejection::OtherTenant)
    } else {
        Ok(())
    }
}

/// Where the credential the path names lives, under the caller's organization.
pub(crate) fn credential_key(call: &Call) -> Result<RecordKey, Error> {
    let organization = call.caller.organization.clone();
    Ok(RecordKey::item(
        organization,
        GenericCredential::KIND,
        call.path_id(CREDENTIAL_ID)?,
    ))
}

/// The slot prefix of every Mielto credential of an organization.
pub(crate) fn credentials_prefix() -> String {
    RecordKey::items_prefix(GenericCredential::KIND)
}

#[cfg(test)]
mod tests;
