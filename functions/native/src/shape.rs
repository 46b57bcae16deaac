//! The native API's shapes: a credential as the API shows it (never secret material), and
//! every refusal as an RFC 9457 problem (`application/problem+json`) whose `errors` name each
//! field at fault.

use credential_model::AnyRecord;
use credential_model::credential::rfc3339;
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

use crate::family;

/// The media type of a problem (RFC 9457 §3).
const PROBLEM_JSON: &str = "application/problem+json";

/// A short, stable summary of a problem type (RFC 9457 `title`).
fn title(code: &str) -> &'static str {
    match code {
        "unauthenticated" => "Unauthenticated",
        "forbidden" => "Forbidden",
        "unsupported_media_type" => "Unsupported media type",
        "payload_too_large" => "Payload too large",
        "malformed_json" => "Malformed JSON",
        "invalid_request" => "Invalid request",
        "not_found" => "Not found",
        "conflict" => "Conflict",
        "service_unavailable" => "Service unavailable",
        _ => "Internal error",
    }
}

/// Any refused request, as a problem: `type` (a URN per kind of problem), `title`, `status`,
/// `detail`, the request's id, and for bad input `errors: [{field, message}]`.
pub(crate) fn problem(rejection: &Rejection, info: &RequestInfo) -> Response<Body> {
    let code = rejection.code();
    let status = rejection.status();
    let mut body = json!({
        "type": format!("urn:strongroom:problem:{}", code.replace('_', "-")),
        "title": title(code),
        "status": status.as_u16(),
        "detail": rejection.to_string(),
        "requestId": info.request_id,
    });
    if let Some(errors) = rejection.field_errors() {
        body["errors"] = errors
            .iter()
            .map(|e| json!({"field": e.path.to_string(), "message": e.problem.to_string()}))
            .collect();
    }
    let mut response = json_response(status, &body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// A credential as every route shows it: what it is, its secret's versions and stages (never
/// their values) and its rotation.
pub(crate) fn credential(found: &AnyRecord, versions: &[(String, Vec<String>)]) -> Value {
    let record = &found.record;
    let current = versions
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(id, _)| id.as_str());
    let settings = record.rotation.settings.as_ref();
    let state = record.rotation.state.as_ref();
    json!({
        "id": record.id.to_string(),
        "family": family(found.kind),
        "kind": found.kind.as_str(),
        "provider": record.provider.as_str(),
        "createdAt": rfc3339(record.created_at),
        "updatedAt": rfc3339(record.updated_at),
        "version": record.version,
        "secret": {
            "currentVersion": current,
            "versions": versions
                .iter()
                .map(|(id, stages)| json!({"id": id, "stages": stages}))
                .collect::<Vec<_>>(),
        },
        "rotation": {
            "enabled": settings.is_some(),
            "schedule": settings.map(|s| s.schedule.as_str()),
            "strategy": settings.map(|s| s.strategy.to_string()),
            "adminCredentialId": settings.and_then(|s| s.admin_credential).map(|id| id.to_string()),
            "status": state.map(|s| s.status.to_string()),
            "statusChangedAt": state.map(|s| rfc3339(s.at)),
            "token": state.and_then(|s| s.token.as_deref()),
            "lastRotatedAt": state.and_then(|s| s.last_rotated_at).map(rfc3339),
            "reason": state.and_then(|s| s.reason.as_deref()),
        },
    })
}
