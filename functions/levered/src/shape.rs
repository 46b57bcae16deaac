//! Levered's response shapes. Every body carries `meta` (`request_id`, `organization_id`);
//! errors carry `error` (a sentence), `code`, and for bad input the `field` at fault.

use credential_model::CredentialRecord;
use credential_model::credential::rfc3339;
use credential_model::ports::TestFailure;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Value, json};
use strongroom_edge::{Rejection, RequestInfo, json_response};

use crate::Connection;

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

/// The `201` body of a create or update.
pub(crate) fn created(record: &CredentialRecord<Connection>, info: &RequestInfo) -> Value {
    json!({
        "id": record.id.to_string(),
        "provider": record.provider.as_str(),
        "project_id": record.attributes.project_id,
        "dataset_id": record.attributes.dataset_id,
        "meta": Meta::of(info),
    })
}

/// A connection as `GET` shows it: no credentials.
pub(crate) fn connection(record: &CredentialRecord<Connection>) -> Value {
    json!({
        "id": record.id.to_string(),
        "provider": record.provider.as_str(),
        "project_id": record.attributes.project_id,
        "dataset_id": record.attributes.dataset_id,
        "created_at": rfc3339(record.created_at),
    })
}

fn error_body(rejection: &Rejection, info: &RequestInfo) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), rejection.to_string().into());
    body.insert("code".into(), rejection.code().into());
    if let Some(errors) = rejection.field_errors() {
        if let Some(first) = errors.first() {
            body.insert("field".into(), first.path.to_string().into());
        }
        body.insert(
            "errors".into(),
            errors
                .iter()
                .map(|e| json!({"field": e.path.to_string(), "message": e.to_string()}))
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
pub(crate) fn test_failed(failure: &TestFailure, info: &RequestInfo) -> Response<Body> {
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
