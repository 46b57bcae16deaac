//! Field-level validation: the rules every family applies to its input, and a reader that walks
//! a JSON body collecting every problem with the path of the field it concerns.
//!
//! Required-ness is a family's contract (each seed document says which fields it needs); value
//! rules — port ranges, host names, identifier patterns, sizes — are the same everywhere and live
//! here.

use std::fmt;

use secrecy::SecretString;
use serde_json::{Map, Value};

/// What is wrong with a field. Families translate these into their own error vocabularies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Missing,
    WrongType {
        expected: &'static str,
    },
    Empty,
    TooLong {
        max: usize,
    },
    OutOfRange {
        min: i64,
        max: i64,
    },
    /// The value does not have the required form; the text says which form.
    Malformed {
        expected: &'static str,
    },
    NotOneOf {
        allowed: Vec<&'static str>,
    },
    /// A field this family does not accept here.
    NotAllowed {
        reason: &'static str,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("is required"),
            Problem::WrongType { expected } => write!(f, "must be {expected}"),
            Problem::Empty => f.write_str("must not be empty"),
            Problem::TooLong { max } => write!(f, "must be at most {max} characters"),
            Problem::OutOfRange { min, max } => {
                write!(f, "must be an integer between {min} and {max}")
            }
            Problem::Malformed { expected } => write!(f, "must be {expected}"),
            Problem::NotOneOf { allowed } => write!(f, "must be one of: {}", allowed.join(", ")),
            Problem::NotAllowed { reason } => f.write_str(reason),
        }
    }
}

/// A problem with one field, named by its path in the request (`credentials.port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        FieldError {
            field: field.into(),
            problem,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

/// Every problem found in one request, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors(Vec::new())
    }

    pub fn push(&mut self, field: impl Into<String>, problem: Problem) {
        self.0.push(FieldError::new(field, problem));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }

    /// `Ok(value)` when nothing was found wrong, so a parse can end with `errors.finish(parsed)`.
    pub fn finish<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        FieldErrors(vec![error])
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for error in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
            first = false;
        }
        Ok(())
    }
}

/// A rule a text value must satisfy.
pub type TextRule = fn(&str) -> Result<(), Problem>;

/// Longest ordinary text value (names, identifiers, hosts) accepted anywhere.
pub const MAX_TEXT_LEN: usize = 255;
/// Longest secret value accepted: Secrets Manager holds at most 64 KiB per secret.
pub const MAX_SECRET_LEN: usize = 32 * 1024;

fn bounded(value: &str, max: usize) -> Result<(), Problem> {
    if value.trim().is_empty() {
        return Err(Problem::Empty);
    }
    if value.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    if value.chars().any(char::is_control) {
        return Err(Problem::Malformed {
            expected: "text without control characters",
        });
    }
    Ok(())
}

/// Any non-empty single-line text up to [`MAX_TEXT_LEN`] characters.
pub fn text(value: &str) -> Result<(), Problem> {
    bounded(value, MAX_TEXT_LEN)
}

/// A DNS host name or an IP address literal, without scheme, port or path.
pub fn host(value: &str) -> Result<(), Problem> {
    const EXPECTED: &str = "a host name or IP address, without scheme, port or path";
    bounded(value, 253)?;
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if value.trim_end_matches('.').split('.').all(label_ok) {
        Ok(())
    } else {
        Err(Problem::Malformed { expected: EXPECTED })
    }
}

/// A resource name as the seeds define it: `^[a-zA-Z0-9_-]+$`.
pub fn identifier(value: &str) -> Result<(), Problem> {
    bounded(value, MAX_TEXT_LEN)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: "letters, digits, '_' or '-' only",
        })
    }
}

/// A database, schema or role name: PostgreSQL and MySQL cap identifiers at 63/64 bytes.
pub fn database_object(value: &str) -> Result<(), Problem> {
    bounded(value, 63)
}

/// An e-mail address such as a service account's `client_email`.
pub fn email(value: &str) -> Result<(), Problem> {
    bounded(value, MAX_TEXT_LEN)?;
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !value.contains(' ') =>
        {
            Ok(())
        }
        _ => Err(Problem::Malformed {
            expected: "an e-mail address",
        }),
    }
}

/// A PEM-encoded private key.
pub fn pem_private_key(value: &str) -> Result<(), Problem> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Problem::Empty);
    }
    if trimmed.len() > MAX_SECRET_LEN {
        return Err(Problem::TooLong {
            max: MAX_SECRET_LEN,
        });
    }
    if trimmed.starts_with("-----BEGIN") && trimmed.contains("PRIVATE KEY-----") {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: "a PEM private key (-----BEGIN PRIVATE KEY-----…)",
        })
    }
}

/// Secret text: any non-empty value up to [`MAX_SECRET_LEN`] characters.
pub fn secret_text(value: &str) -> Result<(), Problem> {
    if value.is_empty() {
        return Err(Problem::Empty);
    }
    if value.len() > MAX_SECRET_LEN {
        return Err(Problem::TooLong {
            max: MAX_SECRET_LEN,
        });
    }
    Ok(())
}

/// Whether a value is what a client shows instead of a secret (`********`, `[REDACTED]`…).
/// Sent back, such a value must never overwrite the real secret.
pub fn is_redaction_placeholder(value: &str) -> bool {
    let trimmed = value.trim();
    let masked =
        trimmed.chars().count() >= 3 && trimmed.chars().all(|c| matches!(c, '*' | '•' | 'x' | 'X'));
    let word = trimmed
        .trim_matches(|c| matches!(c, '[' | ']' | '<' | '>' | '(' | ')'))
        .to_ascii_lowercase();
    masked || matches!(word.as_str(), "redacted" | "hidden" | "secret" | "masked")
}

/// A new secret: any non-empty value up to [`MAX_SECRET_LEN`] characters that is not a
/// redaction placeholder.
pub fn new_secret_text(value: &str) -> Result<(), Problem> {
    secret_text(value)?;
    if is_redaction_placeholder(value) {
        return Err(Problem::Malformed {
            expected: "the secret itself, not a redaction placeholder",
        });
    }
    Ok(())
}

/// The JSON type of a value, as error messages name it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object being read field by field. Fields are taken out as they are read, so a
/// secret's text moves into its `SecretString` without a second copy.
#[derive(Default)]
pub struct JsonObject {
    path: String,
    fields: Map<String, Value>,
}

// Holds request values, secrets among them: never printed.
impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonObject")
            .field("path", &self.path)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl JsonObject {
    /// The request body, which must be a JSON object.
    pub fn root(value: Value) -> Result<JsonObject, FieldError> {
        match value {
            Value::Object(fields) => Ok(JsonObject {
                path: String::new(),
                fields,
            }),
            other => Err(FieldError::new(
                "body",
                Problem::WrongType {
                    expected: if other.is_null() {
                        "a JSON object, not null"
                    } else {
                        "a JSON object"
                    },
                },
            )),
        }
    }

    /// The path of a field of this object, as errors name it.
    pub fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|v| !v.is_null())
    }

    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Takes a field out; `null` counts as absent.
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.fields.remove(name).filter(|v| !v.is_null())
    }

    /// What is left of the object once the known fields are taken.
    pub fn into_remaining(self) -> Map<String, Value> {
        self.fields
    }

    fn take_string(&mut self, name: &str, errors: &mut FieldErrors) -> Option<String> {
        match self.take(name)? {
            Value::String(s) => Some(s),
            other => {
                errors.push(
                    self.path_of(name),
                    Problem::WrongType {
                        expected: match other {
                            Value::Number(_) | Value::Bool(_) => {
                                "a string, not a number or boolean"
                            }
                            _ => "a string",
                        },
                    },
                );
                None
            }
        }
    }

    fn checked(
        &self,
        name: &str,
        value: String,
        rule: TextRule,
        errors: &mut FieldErrors,
    ) -> Option<String> {
        match rule(&value) {
            Ok(()) => Some(value),
            Err(problem) => {
                errors.push(self.path_of(name), problem);
                None
            }
        }
    }

    /// A required text field that satisfies `rule`.
    pub fn text(&mut self, name: &str, rule: TextRule, errors: &mut FieldErrors) -> Option<String> {
        if !self.contains(name) {
            errors.push(self.path_of(name), Problem::Missing);
            return None;
        }
        let value = self.take_string(name, errors)?;
        self.checked(name, value, rule, errors)
    }

    /// An optional text field that satisfies `rule` when present.
    pub fn optional_text(
        &mut self,
        name: &str,
        rule: TextRule,
        errors: &mut FieldErrors,
    ) -> Option<String> {
        let value = self.take_string(name, errors)?;
        self.checked(name, value, rule, errors)
    }

    /// A required text field whose value is one of `allowed`.
    pub fn one_of(
        &mut self,
        name: &str,
        allowed: &[&'static str],
        errors: &mut FieldErrors,
    ) -> Option<&'static str> {
        if !self.contains(name) {
            errors.push(self.path_of(name), Problem::Missing);
            return None;
        }
        self.optional_one_of(name, allowed, errors)
    }

    /// An optional text field whose value, when present, is one of `allowed`.
    pub fn optional_one_of(
        &mut self,
        name: &str,
        allowed: &[&'static str],
        errors: &mut FieldErrors,
    ) -> Option<&'static str> {
        let value = self.take_string(name, errors)?;
        let found = allowed.iter().copied().find(|a| *a == value);
        if found.is_none() {
            errors.push(
                self.path_of(name),
                Problem::NotOneOf {
                    allowed: allowed.to_vec(),
                },
            );
        }
        found
    }

    /// An optional integer field within `min..=max`.
    pub fn optional_integer(
        &mut self,
        name: &str,
        min: i64,
        max: i64,
        errors: &mut FieldErrors,
    ) -> Option<i64> {
        let value = self.take(name)?;
        match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                errors.push(self.path_of(name), Problem::OutOfRange { min, max });
                None
            }
        }
    }

    /// A required TCP port.
    pub fn port(&mut self, name: &str, errors: &mut FieldErrors) -> Option<u16> {
        if !self.contains(name) {
            errors.push(self.path_of(name), Problem::Missing);
            return None;
        }
        self.optional_port(name, errors)
    }

    /// An optional TCP port.
    pub fn optional_port(&mut self, name: &str, errors: &mut FieldErrors) -> Option<u16> {
        self.optional_integer(name, 1, 65535, errors)
            .and_then(|n| u16::try_from(n).ok())
    }

    /// An optional boolean field.
    pub fn optional_bool(&mut self, name: &str, errors: &mut FieldErrors) -> Option<bool> {
        match self.take(name)? {
            Value::Bool(b) => Some(b),
            other => {
                errors.push(
                    self.path_of(name),
                    Problem::WrongType {
                        expected: if other.is_string() {
                            "a boolean, not a string"
                        } else {
                            "a boolean"
                        },
                    },
                );
                None
            }
        }
    }

    /// A required secret text field; its value moves straight into a `SecretString`.
    pub fn secret(
        &mut self,
        name: &str,
        rule: TextRule,
        errors: &mut FieldErrors,
    ) -> Option<SecretString> {
        if !self.contains(name) {
            errors.push(self.path_of(name), Problem::Missing);
            return None;
        }
        self.optional_secret(name, rule, errors)
    }

    /// An optional secret text field.
    pub fn optional_secret(
        &mut self,
        name: &str,
        rule: TextRule,
        errors: &mut FieldErrors,
    ) -> Option<SecretString> {
        let value = SecretString::from(self.take_string(name, errors)?);
        match rule(secrecy::ExposeSecret::expose_secret(&value)) {
            Ok(()) => Some(value),
            Err(problem) => {
                errors.push(self.path_of(name), problem);
                None
            }
        }
    }

    /// A secret an update may change: `None` when it is absent, null or a redaction
    /// placeholder — all of which mean "keep the one stored".
    pub fn changed_secret(
        &mut self,
        name: &str,
        rule: TextRule,
        errors: &mut FieldErrors,
    ) -> Option<SecretString> {
        let value = self.optional_secret(name, secret_text, errors)?;
        if is_redaction_placeholder(secrecy::ExposeSecret::expose_secret(&value)) {
            return None;
        }
        match rule(secrecy::ExposeSecret::expose_secret(&value)) {
            Ok(()) => Some(value),
            Err(problem) => {
                errors.push(self.path_of(name), problem);
                None
            }
        }
    }

    /// A required nested object.
    pub fn object(&mut self, name: &str, errors: &mut FieldErrors) -> Option<JsonObject> {
        if !self.contains(name) {
            errors.push(self.path_of(name), Problem::Missing);
            return None;
        }
        self.optional_object(name, errors)
    }

    /// An optional nested object.
    pub fn optional_object(&mut self, name: &str, errors: &mut FieldErrors) -> Option<JsonObject> {
        let path = self.path_of(name);
        match self.take(name)? {
            Value::Object(fields) => Some(JsonObject { path, fields }),
            other => {
                errors.push(
                    path,
                    Problem::WrongType {
                        expected: match type_name(&other) {
                            "an array" => "an object, not an array",
                            _ => "an object",
                        },
                    },
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn object(value: Value) -> JsonObject {
        JsonObject::root(value).expect("test bodies are objects")
    }

    #[test]
    fn nested_fields_are_named_by_path() {
        let mut body = object(json!({"credentials": {"port": "5432"}}));
        let mut errors = FieldErrors::new();
        let mut credentials = body.object("credentials", &mut errors).expect("present");
        assert_eq!(credentials.port("port", &mut errors), None);
        assert_eq!(credentials.text("host", host, &mut errors), None);
        let found: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "credentials.port must be an integer between 1 and 65535",
                "credentials.host is required"
            ]
        );
    }

    #[test]
    fn wrong_types_are_reported_not_coerced() {
        let mut body = object(json!({"name": 7, "flag": "true", "nested": []}));
        let mut errors = FieldErrors::new();
        assert_eq!(body.text("name", text, &mut errors), None);
        assert_eq!(body.optional_bool("flag", &mut errors), None);
        assert!(body.optional_object("nested", &mut errors).is_none());
        let problems: Vec<_> = errors.iter().map(|e| e.problem.clone()).collect();
        assert!(matches!(problems[0], Problem::WrongType { .. }));
        assert!(matches!(problems[1], Problem::WrongType { .. }));
        assert!(matches!(problems[2], Problem::WrongType { .. }));
    }

    #[test]
    fn null_counts_as_missing() {
        let mut body = object(json!({"host": null}));
        let mut errors = FieldErrors::new();
        assert_eq!(body.text("host", host, &mut errors), None);
        assert_eq!(errors.first().map(|e| &e.problem), Some(&Problem::Missing));
    }

    #[test]
    fn port_bounds() {
        for (port, ok) in [
            (0, false),
            (1, true),
            (65535, true),
            (65536, false),
            (-1, false),
        ] {
            let mut body = object(json!({ "port": port }));
            let mut errors = FieldErrors::new();
            assert_eq!(body.port("port", &mut errors).is_some(), ok, "{port}");
        }
    }

    #[test]
    fn host_rules() {
        for good in [
            "db.example.com",
            "127.0.0.1",
            "::1",
            "warehouse_1.internal",
            "localhost",
        ] {
            assert_eq!(host(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "postgres://db",
            "db.example.com:5432",
            "db/example",
            "-bad.com",
            "a b",
        ] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifier_pattern() {
        assert_eq!(identifier("my_project-1"), Ok(()));
        assert!(identifier("my project").is_err());
        assert!(identifier("../etc").is_err());
    }

    #[test]
    fn text_rejects_control_characters_and_oversize() {
        assert!(text("line\nbreak").is_err());
        assert_eq!(
            text(&"x".repeat(MAX_TEXT_LEN + 1)),
            Err(Problem::TooLong { max: MAX_TEXT_LEN })
        );
    }

    #[test]
    fn secrets_are_taken_without_being_echoed() {
        let mut body = object(json!({"password": "hunter2"}));
        let mut errors = FieldErrors::new();
        let password = body
            .secret("password", secret_text, &mut errors)
            .expect("present");
        assert_eq!(password.expose_secret(), "hunter2");
        assert!(!format!("{body:?}").contains("hunter2"));
    }

    #[test]
    fn empty_secret_is_named_without_its_value() {
        let mut body = object(json!({"password": ""}));
        let mut errors = FieldErrors::new();
        assert!(body.secret("password", secret_text, &mut errors).is_none());
        assert_eq!(errors.to_string(), "password must not be empty");
    }

    #[test]
    fn redaction_placeholders_never_replace_a_secret() {
        for placeholder in [
            "********",
            "[REDACTED]",
            "<redacted>",
            "•••••",
            "xxxx",
            "REDACTED",
        ] {
            assert!(is_redaction_placeholder(placeholder), "{placeholder}");
            assert!(new_secret_text(placeholder).is_err(), "{placeholder}");
            let mut body = object(json!({ "password": placeholder }));
            let mut errors = FieldErrors::new();
            assert!(
                body.changed_secret("password", secret_text, &mut errors)
                    .is_none()
            );
            assert!(errors.is_empty());
        }
        for real in ["hunter2", "p*ssword", "x", "my secret"] {
            assert!(!is_redaction_placeholder(real), "{real}");
        }
        let mut body = object(json!({ "password": "new-one" }));
        let mut errors = FieldErrors::new();
        assert!(
            body.changed_secret("password", secret_text, &mut errors)
                .is_some()
        );
    }

    #[test]
    fn one_of_lists_the_allowed_values() {
        let mut body = object(json!({"provider": "oracle"}));
        let mut errors = FieldErrors::new();
        assert_eq!(
            body.one_of("provider", &["postgres", "bigquery"], &mut errors),
            None
        );
        assert_eq!(
            errors.to_string(),
            "provider must be one of: postgres, bigquery"
        );
    }

    #[test]
    fn root_must_be_an_object() {
        assert!(JsonObject::root(json!([1, 2])).is_err());
        assert!(JsonObject::root(Value::Null).is_err());
    }
}
