//! Levered's response shapes. Every body carries `meta` (`request_id`, `organization_id`);
//! errors carry `error` (a sentence), `code`, and for bad input the `field` at fault.

use credential_model::CredentialRecord;
use credential_model::credential::rfc3339;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

use crate::request::{DATASET_ID, PROJECT_ID};

#[derive(Serialize)]
pub(crate) struct Meta<'a> {
    request_id: &'a str,
    organization_id: Option<&'a str>,
}

impl<'a> Meta<'a> {
    pub(crate) fn of(info: &'a RequestInfo) -> Self {
        Meta {
            request_id: &info.request_id,
            organization_id: info.organization.as_ref().map(|o| o.as_str()),
        }
    }
}

fn attribute<'a>(record: &'a CredentialRecord, name: &str) -> Option<&'a str> {
    record.attributes.get(name).and_then(|v| v.as_text())
}

/// The `201` body of a create or update.
pub(crate) fn created(record: &CredentialRecord, info: &RequestInfo) -> Value {
    json!({
        "id": record.id.to_string(),
        "provider": record.provider.as_str(),
        "project_id": attribute(record, PROJECT_ID),
        "dataset_id": attribute(record, DATASET_ID),
        "meta": Meta::of(info),
    })
}

/// A connection as `GET` shows it: no credentials.
pub(crate) fn connection(record: &CredentialRecord) -> Value {
    json!({
        "id": record.id.to_string(),
        "provider": record.provider.as_str(),
        "project_id": attribute(record, PROJECT_ID),
        "dataset_id": attribute(record, DATASET_ID),
        "created_at": rfc3339(record.created_at),
    })
}

fn error_body(rejection: &Rejection, info: &RequestInfo) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), rejection.to_string().into());
    body.insert("code".into(), rejection.code().into());
    if let Some(errors) = rejection.field_errors() {
        if let Some(first) = errors.first() {
            body.insert("field".into(), first.field.clone().into());
        }
        body.insert(
            "errors".into(),
            errors
                .iter()
                .map(|e| json!({"field": e.field, "message": e.to_string()}))
                .collect(),
        );
    }
    body.insert("meta".into(), json!(Meta::of(info)));
    body
}

/// Any refused request, in Levered's error shape.
pub(crate) fn error(rejection: &Rejection, info: &RequestInfo) -> Response<Body> {
    json_response(rejection.status(), &error_body(rejection, info))
}

/// A refused test request: the test endpoint's documented `{"success": false, "error": …}`.
pub(crate) fn test_error(rejection: &Rejection, info: &RequestInfo) -> Response<Body> {
    let mut body = error_body(rejection, info);
    body.insert("success".into(), false.into());
    json_response(rejection.status(), &body)
}

/// A test that ran and failed: `400` with what failed and who said so.
pub(crate) fn test_failed(
    failure: &credential_model::ports::TestFailure,
    info: &RequestInfo,
) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({
            "success": false,
            "error": failure.to_string(),
            "code": failure.kind.code(),
            "source": failure.origin.as_str(),
            "meta": Meta::of(info),
        }),
    )
}
