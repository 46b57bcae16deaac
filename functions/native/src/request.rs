//! What the native API reads from requests: the rotation settings of `PUT …/rotation`, every
//! field checked before anything is looked up or written.

use credential_model::api_tokens::TokenRequest;
use credential_model::json::{self, json_type};
use credential_model::rotation::{RotationSettings, Schedule, Strategy};
use credential_model::validation::{FieldPath, JsonType, Problem};
use credential_model::{CredentialId, Scope, Scopes};
use strongroom_edge::input::{Object, Reader};
use strongroom_edge::{BodyStyle, Call, Rejection, json_body};

const FIELDS: [&str; 3] = ["schedule", "strategy", "adminCredentialId"];
const STRATEGIES: [&str; 2] = ["single-user", "alternating-users"];
const SCHEDULE: &str = "`rate(N hours)` (4-23), `rate(N days)` (1-1000) or `cron(minutes hours \
                        day-of-month month day-of-week year)` with `?` in one of the day fields";

/// Refuses every field of `object` whose name is not in `known`, saying `reason`.
fn refuse_unknown_fields(
    reader: &Reader,
    object: &Object<'_>,
    known: &[&str],
    reason: &'static str,
) {
    for field in object.fields() {
        if field.name().is_some_and(|name| !known.contains(&name)) {
            reader.problem(field.path().clone(), Problem::NotAllowed { reason });
        }
    }
}

/// A field of a body that is not a string.
fn not_text(value: &serde_json::value::RawValue) -> Problem {
    Problem::WrongType {
        expected: JsonType::String,
        found: json_type(value),
    }
}

/// The body of `PUT /strongroom/v1/credentials/{id}/rotation`:
/// `{schedule, strategy, adminCredentialId?}`. Alternating users need an admin credential (a
/// secret's `masterarn` is not read: that would take reading secret material on this path);
/// a single user changes its own password and takes none.
pub(crate) fn rotation_settings(call: &Call) -> Result<RotationSettings, Rejection> {
    let body = json_body(&call.request, BodyStyle::Strict)?;
    let reader = Reader::new();
    let Some(object) = reader.object(&body) else {
        return reader.finish(None).map_err(Rejection::from);
    };
    refuse_unknown_fields(
        &reader,
        &object,
        &FIELDS,
        "is not a field of rotation settings",
    );
    let schedule = object
        .field("schedule")
        .read(|value| {
            let text = json::string(value).ok_or_else(|| not_text(value))?;
            Schedule::parse(&text).map_err(|_| Problem::Malformed { expected: SCHEDULE })
        })
        .required();
    let strategy = object
        .field("strategy")
        .one_of(&STRATEGIES)
        .required()
        .and_then(|name| name.parse::<Strategy>().ok());
    let admin = object
        .field("adminCredentialId")
        .read(|value| {
            let text = json::string(value).ok_or_else(|| not_text(value))?;
            CredentialId::parse(&text).ok_or(Problem::Malformed {
                expected: "a credential id (a UUID)",
            })
        })
        .optional();
    let admin_path = FieldPath::from("adminCredentialId");
    match (strategy, admin) {
        (Some(Strategy::AlternatingUsers), None) if !object.sends("adminCredentialId") => reader
            .problem(
                admin_path,
                Problem::NotAllowed {
                    reason: "is required for the alternating-users strategy",
                },
            ),
        (Some(Strategy::SingleUser), Some(_)) => reader.problem(
            admin_path,
            Problem::NotAllowed {
                reason: "is only used by the alternating-users strategy",
            },
        ),
        _ => {}
    }
    let settings = match (schedule, strategy) {
        (Some(schedule), Some(strategy)) => Some(RotationSettings {
            schedule,
            strategy,
            admin_credential: admin,
        }),
        _ => None,
    };
    reader.finish(settings).map_err(Rejection::from)
}

const TOKEN_FIELDS: [&str; 3] = ["name", "scopes", "expiresAt"];

/// The body of `POST /strongroom/v1/tokens`: `{name, scopes: [scope…], expiresAt?}`, every
/// field read before anything is written (what the names and scopes may be is the domain's).
pub(crate) fn token_request(call: &Call) -> Result<TokenRequest, Rejection> {
    let body = json_body(&call.request, BodyStyle::Strict)?;
    let reader = Reader::new();
    let Some(object) = reader.object(&body) else {
        return reader.finish(None).map_err(Rejection::from);
    };
    refuse_unknown_fields(
        &reader,
        &object,
        &TOKEN_FIELDS,
        "is not a field of a token request",
    );
    let name = object
        .field("name")
        .read(|value| json::string(value).ok_or_else(|| not_text(value)))
        .required();
    let names: Vec<&'static str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let scopes = object.field("scopes").array().required().map(|array| {
        array
            .items()
            .filter_map(|item| item.one_of(&names).required())
            .filter_map(Scope::parse)
            .collect::<Scopes>()
    });
    let expires_at = object.field("expiresAt").timestamp().optional();
    let request = match (name, scopes) {
        (Some(name), Some(scopes)) => Some(TokenRequest {
            name,
            scopes,
            expires_at,
        }),
        _ => None,
    };
    reader.finish(request).map_err(Rejection::from)
}
