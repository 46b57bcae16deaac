//! Request bodies: JSON only, bounded in size, parsed without ever echoing their content.

use lambda_http::http::header;
use lambda_http::{Body, Request};
use serde_json::Value;

use crate::Rejection;

/// The largest body any route accepts. A credential with a service-account key file is a few
/// KiB; Secrets Manager holds 64 KiB at most.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The request's JSON body. Refuses a missing or non-JSON content type (415), an oversized
/// body (413) and malformed JSON (400, with the line and column but none of the text).
pub fn json_body(request: &Request) -> Result<Value, Rejection> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(is_json) {
        return Err(Rejection::UnsupportedMediaType);
    }
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Rejection::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::MalformedJson {
            line: 1,
            column: 0,
            problem: "the body is empty",
        });
    }
    serde_json::from_slice(bytes).map_err(|error| Rejection::MalformedJson {
        line: error.line(),
        column: error.column(),
        problem: match error.classify() {
            serde_json::error::Category::Eof => "the JSON ends too early",
            _ => "the body is not valid JSON",
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder
            .body(Body::from(body.to_owned()))
            .expect("valid request")
    }

    #[test]
    fn accepts_json_with_parameters() {
        let value = json_body(&request(
            Some("application/json; charset=utf-8"),
            r#"{"a":1}"#,
        ))
        .expect("parsed");
        assert_eq!(value["a"], 1);
    }

    #[test]
    fn refuses_other_content_types() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            assert!(matches!(
                json_body(&request(ct, "{}")),
                Err(Rejection::UnsupportedMediaType)
            ));
        }
    }

    #[test]
    fn malformed_json_is_located_but_not_echoed() {
        let Err(rejection) = json_body(&request(
            Some("application/json"),
            "{\"password\": \"hunter2\" oops}",
        )) else {
            panic!("malformed JSON was accepted");
        };
        let text = rejection.to_string();
        assert!(text.contains("line 1"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn oversized_and_empty_bodies_are_refused() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            json_body(&request(Some("application/json"), &big)),
            Err(Rejection::PayloadTooLarge { .. })
        ));
        assert!(matches!(
            json_body(&request(Some("application/json"), "  ")),
            Err(Rejection::MalformedJson { .. })
        ));
    }
}
