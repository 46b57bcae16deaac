//! The native API's shapes: a credential as the API shows it (never secret material), and
//! every refusal as an RFC 9457 problem (`application/problem+json`) whose `errors` name each
//! field at fault.

use credential_model::AnyRecord;
use credential_model::credential::rfc3339;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

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
        "precondition_failed" => "Precondition failed",
        "service_unavailable" => "Service unavailable",
        _ => "Internal error",
    }
}

/// The problem document of `code` (`snake_case`), without `errors`.
fn problem_body(code: &str, status: StatusCode, detail: String, info: &RequestInfo) -> Value {
    json!({
        "type": format!("urn:strongroom:problem:{}", code.replace('_', "-")),
        "title": title(code),
        "status": status.as_u16(),
        "detail": detail,
        "requestId": info.request_id,
    })
}

fn problem_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = json_response(status, body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// Any refused request, as a problem: `type` (a URN per kind of problem), `title`, `status`,
/// `detail`, the request's id, and for bad input `errors: [{field, message}]`.
pub(crate) fn problem(rejection: &Rejection, info: &RequestInfo) -> Response<Body> {
    let status = rejection.status();
    let mut body = problem_body(rejection.code(), status, rejection.to_string(), info);
    if let Some(errors) = rejection.field_errors() {
        body["errors"] = errors
            .iter()
            .map(|e| json!({"field": e.path.to_string(), "message": e.problem.to_string()}))
            .collect();
    }
    problem_response(status, &body)
}

/// `412`: the request's `header` (`If-Match` or `If-None-Match`) does not hold on the
/// credential as it is — or, for `If-Match`, stopped holding before the write was made.
pub(crate) fn precondition_failed(header: &str, info: &RequestInfo) -> Response<Body> {
    let detail = if header == "If-None-Match" {
        "If-None-Match names the credential's current entity tag (`*` names any credential \
         that exists): nothing was changed"
            .to_owned()
    } else {
        format!(
            "{header} does not name the credential's current entity tag (it has changed \
             since it was read, or the tag is weak): nothing was changed; read it again"
        )
    };
    let status = StatusCode::PRECONDITION_FAILED;
    problem_response(
        status,
        &problem_body("precondition_failed", status, detail, info),
    )
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
        "family": found.kind.family(),
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
