//! API Gateway HTTP API (payload 2.0) events built from a local HTTP request.

use std::collections::BTreeMap;

use axum::http::request::Parts;
use base64::Engine;
use serde_json::{Map, Value, json};

/// What API Gateway knows about a request before it reaches the authorizer or the route.
pub(crate) struct IncomingRequest {
    pub(crate) request_id: String,
    pub(crate) route_key: String,
    pub(crate) path_parameters: BTreeMap<String, String>,
    pub(crate) headers: Map<String, Value>,
    pub(crate) raw_query: String,
    pub(crate) query: Map<String, Value>,
    pub(crate) context: Value,
}

impl IncomingRequest {
    pub(crate) fn new(
        parts: &Parts,
        route_key: String,
        path_parameters: BTreeMap<String, String>,
        source_ip: &str,
    ) -> Self {
        // API Gateway lower-cases header names and joins repeated values with commas.
        let mut headers = Map::new();
        for (name, value) in &parts.headers {
            let Ok(value) = value.to_str() else { continue };
            let joined = match headers.get(name.as_str()).and_then(Value::as_str) {
                Some(previous) => format!("{previous},{value}"),
                None => value.to_owned(),
            };
            headers.insert(name.as_str().to_owned(), joined.into());
        }
        let raw_query = parts.uri.query().unwrap_or_default().to_owned();
        let mut query = Map::new();
        for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
            let joined = match query.get(key.as_ref()).and_then(Value::as_str) {
                Some(previous) => format!("{previous},{value}"),
                None => value.into_owned(),
            };
            query.insert(key.into_owned(), joined.into());
        }
        let now = time::OffsetDateTime::now_utc();
        let request_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        let host = headers
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or("127.0.0.1")
            .to_owned();
        let context = json!({
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::from("")),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp() * 1000 + i64::from(now.millisecond()),
        });
        IncomingRequest {
            request_id,
            route_key,
            path_parameters,
            headers,
            raw_query,
            query,
            context,
        }
    }

    /// The authorizer's event (`REQUEST` type, payload 2.0).
    pub(crate) fn authorizer_event(&self, identity: &str) -> Value {
        json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": format!("arn:aws:execute-api:local:000000000000:local/$default/{}", self.route_key.replacen(' ', "", 1)),
            "identitySource": [identity],
            "routeKey": self.route_key,
            "rawPath": self.context["http"]["path"],
            "rawQueryString": self.raw_query,
            "headers": self.headers,
            "queryStringParameters": self.query,
            "pathParameters": self.path_parameters,
            "requestContext": self.context,
        })
    }

    /// The route's event, carrying the authorizer's context.
    pub(crate) fn route_event(&self, authorizer_context: Option<&Value>, body: &[u8]) -> Value {
        let mut context = self.context.clone();
        if let Some(lambda) = authorizer_context {
            context["authorizer"] = json!({ "lambda": lambda });
        }
        let (body, encoded) = match std::str::from_utf8(body) {
            _ if body.is_empty() => (Value::Null, false),
            Ok(text) => (Value::from(text), false),
            Err(_) => (
                Value::from(base64::engine::general_purpose::STANDARD.encode(body)),
                true,
            ),
        };
        json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.context["http"]["path"],
            "rawQueryString": self.raw_query,
            "headers": self.headers,
            "queryStringParameters": if self.query.is_empty() { Value::Null } else { Value::Object(self.query.clone()) },
            "pathParameters": if self.path_parameters.is_empty() { Value::Null } else { json!(self.path_parameters) },
            "requestContext": context,
            "body": body,
            "isBase64Encoded": encoded,
        })
    }
}
