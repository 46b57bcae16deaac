//! `GET /strongroom/v1/audit`: the organization's audit events, newest first, with the admin
//! scope. Filters: `credentialId`, `actor` (a user id, an API token id, or `strongroom:{service}`), `action`, `from` and
//! `to` (RFC 3339, inclusive); `limit` (1-100, default 50); `cursor`, as the previous page's
//! `nextCursor` gave it.

use credential_model::audit::{
    Actor, AuditAction, AuditEvent, AuditLog, AuditQuery, AuditQueryError,
};
use credential_model::credential::{parse_timestamp, rfc3339};
use credential_model::validation::{FieldErrors, Problem};
use credential_model::{CredentialId, Error};
use lambda_http::RequestExt;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use strongroom_edge::{Call, Handled, json_response};

use crate::governance::Deps;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;

fn query(call: &Call) -> Result<AuditQuery, Error> {
    let params = call.request.query_string_parameters();
    let mut errors = FieldErrors::new();
    let mut read = |name: &'static str, expected: &'static str, ok: bool| {
        if !ok {
            errors.push(name, Problem::Malformed { expected });
        }
    };
    let credential = params.first("credentialId").map(CredentialId::parse);
    read(
        "credentialId",
        "a credential id (a UUID)",
        !matches!(credential, Some(None)),
    );
    let action = params.first("action").map(AuditAction::parse);
    read(
        "action",
        "an audit action (credential-revealed, api-token-issued, api-token-revoked)",
        !matches!(action, Some(None)),
    );
    let from = params.first("from").map(parse_timestamp);
    read(
        "from",
        "an RFC 3339 date and time",
        !matches!(from, Some(None)),
    );
    let to = params.first("to").map(parse_timestamp);
    read("to", "an RFC 3339 date and time", !matches!(to, Some(None)));
    let limit = params.first("limit").map(|l| {
        l.parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
    });
    read(
        "limit",
        "a whole number from 1 to 100",
        !matches!(limit, Some(None)),
    );
    let actor = params.first("actor").map(str::to_owned);
    read(
        "actor",
        "a user id or an API token id",
        actor
            .as_ref()
            .is_none_or(|a| credential_model::validation::text(a).is_ok()),
    );
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(AuditQuery {
        credential: credential.flatten(),
        actor,
        action: action.flatten(),
        from: from.flatten(),
        to: to.flatten(),
        cursor: params.first("cursor").map(str::to_owned),
        limit: limit.flatten().unwrap_or(DEFAULT_LIMIT),
    })
}

fn shown(event: &AuditEvent) -> Value {
    json!({
        "id": event.id.to_string(),
        "at": rfc3339(event.at),
        "action": event.action.as_str(),
        "actor": match &event.actor {
            Actor::User { user, token } => json!({"user": user.as_str(), "apiToken": token}),
            Actor::Service(service) => json!({"service": <&str>::from(*service)}),
        },
        "credentialId": event.credential.map(|id| id.to_string()),
        "subject": event.subject,
        "requestId": event.request_id,
        "sourceIp": event.source_ip,
    })
}

pub(crate) async fn handle(deps: &Deps, call: Call) -> Handled {
    let query = query(&call)?;
    let page = match deps.audit.query(&call.caller.organization, &query).await {
        Ok(page) => page,
        Err(AuditQueryError::BadCursor) => {
            let mut errors = FieldErrors::new();
            errors.push(
                "cursor",
                Problem::Malformed {
                    expected: "a nextCursor this API gave",
                },
            );
            return Err(Error::Invalid(errors).into());
        }
        Err(AuditQueryError::Store(error)) => {
            return Err(credential_model::service::store_error(error).into());
        }
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "events": page.events.iter().map(shown).collect::<Vec<_>>(),
            "nextCursor": page.next,
        }),
    ))
}
