//! Request bodies: JSON, bounded in size, checked for syntax without ever echoing their
//! content, and kept as the exact text that was sent.

use credential_model::validation::{FieldErrors, FieldPath, JsonType, Problem, VALID_JSON};
use lambda_http::http::header;
use lambda_http::{Body, Request};
use serde_json::value::RawValue;

use crate::Rejection;

/// The largest body any route accepts. A credential with a service-account key file is a few
/// KiB; Secrets Manager holds 64 KiB at most.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How a family's API reads bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyStyle {
    /// `Content-Type` must say JSON (415); malformed JSON is a 400 naming its line and column.
    Strict,
    /// As FastAPI reads a body parameter: JSON when the content type says JSON or says
    /// nothing; a body of another content type is not an object, an empty or `null` body is
    /// missing, and malformed JSON is a problem of `body.<byte offset>`. Paths start at `body`.
    FastApi,
}

impl BodyStyle {
    /// Where the body's own fields are named from.
    pub fn root(self) -> FieldPath {
        match self {
            BodyStyle::Strict => FieldPath::root(),
            BodyStyle::FastApi => FieldPath::from("body"),
        }
    }
}

/// A request's JSON body, borrowed from the request as it was sent.
pub struct JsonBody<'r> {
    pub value: &'r RawValue,
    /// The path its fields are named from.
    pub path: FieldPath,
}

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

fn invalid(path: FieldPath, problem: Problem) -> Rejection {
    let mut errors = FieldErrors::new();
    errors.push(path, problem);
    Rejection::from(errors)
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

/// The request's JSON body, read in `style`. Refuses an oversized body (413) in every style.
pub fn json_body(request: &Request, style: BodyStyle) -> Result<JsonBody<'_>, Rejection> {
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
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().is_ok_and(is_json));
    let root = style.root();
    match style {
        BodyStyle::Strict if content_type != Some(true) => {
            return Err(Rejection::UnsupportedMediaType);
        }
        BodyStyle::Strict if bytes.iter().all(u8::is_ascii_whitespace) => {
            return Err(Rejection::MalformedJson {
                line: 1,
                column: 0,
                problem: "the body is empty",
            });
        }
        BodyStyle::FastApi if bytes.is_empty() => return Err(invalid(root, Problem::Missing)),
        BodyStyle::FastApi if content_type == Some(false) => {
            let problem = Problem::WrongType {
                expected: JsonType::Object,
                found: JsonType::String,
            };
            return Err(invalid(root, problem));
        }
        _ => {}
    }
    let parsed = std::str::from_utf8(bytes)
        .map_err(|error| serde_json::Error::io(std::io::Error::other(error)))
        .and_then(credential_model::json::parse);
    let value = match (parsed, style) {
        (Ok(value), _) => value,
        (Err(error), BodyStyle::Strict) => {
            return Err(Rejection::MalformedJson {
                line: error.line(),
                column: error.column(),
                problem: match error.classify() {
                    serde_json::error::Category::Eof => "the JSON ends too early",
                    _ => "the body is not valid JSON",
                },
            });
        }
        (Err(error), BodyStyle::FastApi) => {
            let offset = byte_offset(bytes, error.line(), error.column());
            let problem = Problem::Malformed {
                expected: VALID_JSON,
            };
            return Err(invalid(root.index(offset), problem));
        }
    };
    if style == BodyStyle::FastApi && value.get() == "null" {
        return Err(invalid(root, Problem::Missing));
    }
    Ok(JsonBody { value, path: root })
}

#[cfg(test)]
mod tests {
    use super::*;
    use credential_model::validation::Step;
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

    fn one_problem(rejection: Rejection) -> (Vec<Step>, Problem) {
        let errors = rejection.field_errors().expect("field errors");
        assert_eq!(errors.len(), 1);
        let error = errors.first().expect("one");
        (error.path.steps().to_vec(), error.problem.clone())
    }

    fn body(name: &str) -> Vec<Step> {
        vec![Step::Key(name.into())]
    }

    #[test]
    fn strict_bodies_must_say_json_and_keep_their_exact_text() {
        let request = request(
            Some("application/json; charset=utf-8"),
            r#"{"n": 123456789012345678901234567890}"#,
        );
        let parsed = json_body(&request, BodyStyle::Strict).expect("parsed");
        assert_eq!(
            parsed.value.get(),
            r#"{"n": 123456789012345678901234567890}"#
        );
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            assert!(matches!(
                json_body(&self::request(ct, "{}"), BodyStyle::Strict),
                Err(Rejection::UnsupportedMediaType)
            ));
        }
    }

    #[test]
    fn malformed_json_is_located_but_not_echoed() {
        let text = "{\"password\": \"hunter2\" oops}";
        let Err(rejection) = json_body(&request(Some("application/json"), text), BodyStyle::Strict)
        else {
            panic!("malformed JSON was accepted");
        };
        let shown = rejection.to_string();
        assert!(shown.contains("line 1"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let body = "{\n  \"credentials\": {\"api_key\": \"hunter2\" oops}\n}";
        let Err(rejection) =
            json_body(&request(Some("application/json"), body), BodyStyle::FastApi)
        else {
            panic!("malformed JSON was accepted");
        };
        let offset = body.find("oops").expect("in the body");
        assert_eq!(
            one_problem(rejection),
            (
                vec![Step::Key("body".into()), Step::Index(offset)],
                Problem::Malformed {
                    expected: VALID_JSON
                }
            )
        );
    }

    #[test]
    fn fastapi_bodies_are_json_unless_declared_otherwise() {
        for content_type in [
            None,
            Some("application/json"),
            Some("application/vnd.api+json"),
        ] {
            let request = request(content_type, r#"{"a":1}"#);
            let parsed = json_body(&request, BodyStyle::FastApi).expect("JSON");
            assert_eq!(parsed.path.to_string(), "body");
        }
        let problem = one_problem(
            json_body(&request(Some("text/plain"), "{}"), BodyStyle::FastApi)
                .err()
                .expect("refused"),
        );
        assert!(matches!(
            problem,
            (steps, Problem::WrongType { expected: JsonType::Object, .. }) if steps == body("body")
        ));
        for empty in ["", "null"] {
            let rejection = json_body(&request(None, empty), BodyStyle::FastApi)
                .err()
                .expect("refused");
            assert_eq!(one_problem(rejection), (body("body"), Problem::Missing));
        }
    }

    #[test]
    fn oversized_and_empty_bodies_are_refused() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        for style in [BodyStyle::Strict, BodyStyle::FastApi] {
            assert!(matches!(
                json_body(&request(Some("application/json"), &big), style),
                Err(Rejection::PayloadTooLarge { .. })
            ));
        }
        assert!(matches!(
            json_body(&request(Some("application/json"), "  "), BodyStyle::Strict),
            Err(Rejection::MalformedJson { .. })
        ));
    }
}
