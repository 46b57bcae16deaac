//! The one request reader: a JSON body read field by field, every problem kept with the path of
//! the field it concerns (array indexes included), so a family answers with all of them at
//! once in its own error shape. Families declare what they read; the value rules they apply
//! are the model's (`credential_model::validation`).
//!
//! Values are read from the exact text that was sent, and a secret's text moves straight into
//! its `SecretString`. No value a client sent is ever part of a problem: any may be a secret.

use std::cell::RefCell;

use credential_model::credential::parse_timestamp;
use credential_model::json::{self, json_type};
use credential_model::validation::{
    DATE_TIME, FieldErrors, FieldPath, JsonType, Problem, Step, is_redaction_placeholder,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::body::JsonBody;

/// Collects the problems of one request.
#[derive(Debug, Default)]
pub struct Reader {
    errors: RefCell<FieldErrors>,
}

impl Reader {
    pub fn new() -> Self {
        Reader::default()
    }

    pub fn problem(&self, path: FieldPath, problem: Problem) {
        self.errors.borrow_mut().push(path, problem);
    }

    /// Whether nothing was found wrong so far.
    pub fn is_clean(&self) -> bool {
        self.errors.borrow().is_empty()
    }

    /// The body as an object; a problem of the body itself when it is not one.
    pub fn object<'a>(&'a self, body: &JsonBody<'a>) -> Option<Object<'a>> {
        Field {
            reader: self,
            path: body.path.clone(),
            value: Some(body.value),
        }
        .object()
        .required()
    }

    /// `value` when nothing was found wrong, every problem otherwise. Values read may still
    /// borrow the reader, so it is not consumed; the problems are taken out of it.
    pub fn finish<T>(&self, value: Option<T>) -> Result<T, FieldErrors> {
        let errors = self.errors.take();
        match value {
            Some(value) if errors.is_empty() => Ok(value),
            _ => {
                debug_assert!(!errors.is_empty(), "a read failed without a problem");
                Err(errors)
            }
        }
    }
}

/// A JSON object of the request.
pub struct Object<'a> {
    reader: &'a Reader,
    path: FieldPath,
    value: &'a RawValue,
    fields: Vec<(String, &'a RawValue)>,
}

impl<'a> Object<'a> {
    /// Field `name` (the last one, where a name is repeated).
    pub fn field(&self, name: &str) -> Field<'a> {
        Field {
            reader: self.reader,
            path: self.path.key(name),
            value: json::field(&self.fields, name),
        }
    }

    /// Every field, in the order sent.
    pub fn fields(&self) -> impl Iterator<Item = Field<'a>> + '_ {
        self.fields.iter().map(|(name, value)| Field {
            reader: self.reader,
            path: self.path.key(name),
            value: Some(*value),
        })
    }

    /// Whether field `name` is sent, and not `null`.
    pub fn sends(&self, name: &str) -> bool {
        self.field(name).is_sent()
    }

    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// The object exactly as it was sent.
    pub fn value(&self) -> &'a RawValue {
        self.value
    }

    /// Records a problem of field `name`.
    pub fn problem(&self, name: &str, problem: Problem) {
        self.reader.problem(self.path.key(name), problem);
    }
}

/// A JSON array of the request.
pub struct Array<'a> {
    reader: &'a Reader,
    path: FieldPath,
    items: Vec<&'a RawValue>,
}

impl<'a> Array<'a> {
    /// Every item, each named by its index.
    pub fn items(&self) -> impl Iterator<Item = Field<'a>> + '_ {
        self.items.iter().enumerate().map(|(index, value)| Field {
            reader: self.reader,
            path: self.path.index(index),
            value: Some(*value),
        })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What a request says of one field.
pub enum Sent<T> {
    Absent,
    Null,
    /// Sent, and refused: the problem is recorded already.
    Invalid,
    Value(T),
}

/// One field of the request, before it is read.
pub struct Field<'a> {
    reader: &'a Reader,
    path: FieldPath,
    value: Option<&'a RawValue>,
}

fn wrong_type(expected: JsonType, value: &RawValue) -> Problem {
    Problem::WrongType {
        expected,
        found: json_type(value),
    }
}

impl<'a> Field<'a> {
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// The field's name; `None` for an array's item.
    pub fn name(&self) -> Option<&str> {
        match self.path.steps().last() {
            Some(Step::Key(name)) => Some(name),
            _ => None,
        }
    }

    /// Whether the field is sent, and not `null`.
    pub fn is_sent(&self) -> bool {
        self.value.is_some_and(|v| json_type(v) != JsonType::Null)
    }

    /// Whether the field is a redaction placeholder (`********`, `[REDACTED]`…): what a client
    /// shows for a secret it does not know, sent back.
    pub fn is_placeholder(&self) -> bool {
        self.value
            .and_then(json::string)
            .is_some_and(|text| is_redaction_placeholder(&text))
    }

    /// Reads a value that is not `null` with `parse`, recording what it finds wrong.
    pub fn read<T>(self, parse: impl FnOnce(&'a RawValue) -> Result<T, Problem>) -> Read<'a, T> {
        let sent = match self.value {
            None => Sent::Absent,
            Some(value) if json_type(value) == JsonType::Null => Sent::Null,
            Some(value) => match parse(value) {
                Ok(value) => Sent::Value(value),
                Err(problem) => {
                    self.reader.problem(self.path.clone(), problem);
                    Sent::Invalid
                }
            },
        };
        Read {
            reader: self.reader,
            path: self.path,
            sent,
        }
    }

    /// A string that satisfies `rule`.
    pub fn text(self, rule: impl FnOnce(&str) -> Result<(), Problem>) -> Read<'a, String> {
        self.read(|value| {
            let text = json::string(value).ok_or_else(|| wrong_type(JsonType::String, value))?;
            rule(&text)?;
            Ok(text)
        })
    }

    /// One of `allowed`, exactly. Anything else, of any type, is not one of them.
    pub fn one_of(self, allowed: &[&'static str]) -> Read<'a, &'static str> {
        self.read(|value| {
            let text = json::string(value);
            allowed
                .iter()
                .copied()
                .find(|a| text.as_deref() == Some(a))
                .ok_or_else(|| Problem::NotOneOf {
                    allowed: allowed.to_vec(),
                })
        })
    }

    /// An integer within `min..=max`.
    pub fn integer(self, min: i64, max: i64) -> Read<'a, i64> {
        self.read(|value| match serde_json::from_str::<i64>(value.get()) {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Problem::OutOfRange { min, max }),
        })
    }

    /// A TCP port.
    pub fn port(self) -> Read<'a, u16> {
        self.read(|value| match serde_json::from_str::<u16>(value.get()) {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(Problem::OutOfRange { min: 1, max: 65535 }),
        })
    }

    /// An RFC 3339 date and time, in UTC to the second.
    pub fn timestamp(self) -> Read<'a, OffsetDateTime> {
        self.read(|value| {
            let text = json::string(value).ok_or_else(|| wrong_type(JsonType::DateTime, value))?;
            parse_timestamp(&text).ok_or(Problem::Malformed {
                expected: DATE_TIME,
            })
        })
    }

    /// A nested object.
    pub fn object(self) -> Read<'a, Object<'a>> {
        self.nested(JsonType::Object, |reader, path, value| {
            let fields = json::object(value)?;
            Some(Object {
                reader,
                path,
                value,
                fields,
            })
        })
    }

    /// A nested array.
    pub fn array(self) -> Read<'a, Array<'a>> {
        self.nested(JsonType::Array, |reader, path, value| {
            let items = json::array(value)?;
            Some(Array {
                reader,
                path,
                items,
            })
        })
    }

    /// A nested value of type `expected`, which `open` reads.
    fn nested<T>(
        self,
        expected: JsonType,
        open: impl FnOnce(&'a Reader, FieldPath, &'a RawValue) -> Option<T>,
    ) -> Read<'a, T> {
        let (reader, path) = (self.reader, self.path.clone());
        self.read(|value| open(reader, path, value).ok_or_else(|| wrong_type(expected, value)))
    }

    /// Secret text that satisfies `rule`: its value moves straight into a `SecretString`.
    pub fn secret(self, rule: impl FnOnce(&str) -> Result<(), Problem>) -> Read<'a, SecretString> {
        self.read(|value| {
            let secret = SecretString::from(
                json::string(value).ok_or_else(|| wrong_type(JsonType::String, value))?,
            );
            rule(secret.expose_secret())?;
            Ok(secret)
        })
    }
}

/// A field as read.
pub struct Read<'a, T> {
    reader: &'a Reader,
    path: FieldPath,
    sent: Sent<T>,
}

impl<T> Read<'_, T> {
    /// The value of a field that may be left out or `null`.
    pub fn optional(self) -> Option<T> {
        match self.sent {
            Sent::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The value of a required field: left out or `null`, it is missing.
    pub fn required(self) -> Option<T> {
        self.required_not_null(Problem::Missing)
    }

    /// The value of a required field: left out it is missing, `null` it is `null_problem`.
    pub fn required_not_null(self, null_problem: Problem) -> Option<T> {
        let problem = match self.sent {
            Sent::Value(value) => return Some(value),
            Sent::Invalid => return None,
            Sent::Absent => Problem::Missing,
            Sent::Null => null_problem,
        };
        self.reader.problem(self.path, problem);
        None
    }

    /// What the request says of the field: an update tells "not sent" (keep) from `null`
    /// (clear).
    pub fn sent(self) -> Sent<T> {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credential_model::validation::{host, text};
    use serde_json::json;

    fn body(value: &serde_json::Value) -> String {
        value.to_string()
    }

    fn read<T>(
        text: &str,
        parse: impl for<'a> FnOnce(&Object<'a>) -> Option<T>,
    ) -> Result<T, Vec<String>> {
        let raw = json::parse(text).expect("JSON");
        let reader = Reader::new();
        let body = JsonBody {
            value: raw,
            path: FieldPath::root(),
        };
        let value = reader.object(&body).and_then(|object| parse(&object));
        reader
            .finish(value)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let sent = body(
            &json!({"credentials": {"port": "5432", "host": "https://db"},
            "databases": [{"host": "ok"}, {"host": 7}]}),
        );
        let errors = read(&sent, |body| {
            let credentials = body.field("credentials").object().required()?;
            let port = credentials.field("port").port().required();
            let host = credentials.field("host").text(host).required();
            let name = credentials.field("name").text(text).required();
            let databases = body.field("databases").array().required()?;
            let hosts: Vec<_> = databases
                .items()
                .filter_map(|item| item.object().required())
                .map(|database| database.field("host").text(self::host).required())
                .collect();
            Some((port, host, name, hosts))
        })
        .expect_err("refused");
        assert_eq!(
            errors,
            [
                "credentials.port must be an integer between 1 and 65535",
                "credentials.host must be a host name or IP address, without scheme, port or path",
                "credentials.name is required",
                "databases.1.host must be a string, not a number",
            ]
        );
    }

    #[test]
    fn null_is_missing_for_required_fields_or_what_the_family_says() {
        let errors = read(r#"{"host": null, "label": null}"#, |body| {
            body.field("host").text(host).required();
            body.field("label")
                .text(text)
                .required_not_null(Problem::Empty);
            Some(())
        })
        .expect_err("refused");
        assert_eq!(errors, ["host is required", "label must not be empty"]);
    }

    #[test]
    fn an_update_tells_absent_from_null_from_a_value() {
        let sent = |text: &str| {
            read(text, |body| {
                Some(match body.field("description").text(|_| Ok(())).sent() {
                    Sent::Absent => "absent",
                    Sent::Null => "null",
                    Sent::Invalid => "invalid",
                    Sent::Value(_) => "value",
                })
            })
        };
        assert_eq!(sent("{}"), Ok("absent"));
        assert_eq!(sent(r#"{"description": null}"#), Ok("null"));
        assert_eq!(sent(r#"{"description": "d"}"#), Ok("value"));
        assert!(sent(r#"{"description": 1}"#).is_err());
    }

    #[test]
    fn secrets_are_read_without_being_echoed() {
        let result = read(r#"{"password": "hunter2", "token": ""}"#, |body| {
            let password = body
                .field("password")
                .secret(credential_model::validation::secret_text)
                .required()?;
            assert_eq!(password.expose_secret(), "hunter2");
            body.field("token")
                .secret(credential_model::validation::secret_text)
                .required()
        });
        assert_eq!(
            result.map(|_| ()),
            Err(vec!["token must not be empty".to_owned()])
        );
    }

    #[test]
    fn enums_and_timestamps() {
        let errors = read(
            r#"{"provider": "oracle", "kind": 7, "at": "soon", "when": 1}"#,
            |body| {
                body.field("provider")
                    .one_of(&["postgres", "bigquery"])
                    .required();
                body.field("kind").one_of(&["a"]).required();
                body.field("at").timestamp().required();
                body.field("when").timestamp().required();
                Some(())
            },
        )
        .expect_err("refused");
        assert_eq!(
            errors,
            [
                "provider must be one of: postgres, bigquery",
                "kind must be one of: a",
                "at must be an RFC 3339 date and time",
                "when must be an RFC 3339 date and time, not a number",
            ]
        );
        let at = read(r#"{"at": "2030-01-01T01:00:00.5+01:00"}"#, |body| {
            body.field("at").timestamp().required()
        })
        .expect("valid");
        assert_eq!(
            credential_model::credential::rfc3339(at),
            "2030-01-01T00:00:00Z"
        );
    }

    #[test]
    fn the_body_must_be_an_object() {
        for text in ["[1, 2]", "null", "\"x\""] {
            let errors = read(text, |_| Some(())).expect_err("refused");
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].starts_with("body "), "{errors:?}");
        }
    }
}
