//! What can be wrong with a field of a request, named by its path, and the value rules every
//! family applies — host names, identifiers, PEM keys, display text, redaction placeholders.
//!
//! Required-ness is a family's contract (each seed document says which fields it needs); value
//! rules are the same everywhere and live here, as small functions.

use std::fmt;

/// A JSON type, as errors name what was expected and what was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Null,
    Boolean,
    Number,
    Integer,
    String,
    Array,
    Object,
    /// An RFC 3339 date and time, in a string.
    DateTime,
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JsonType::Null => "null",
            JsonType::Boolean => "a boolean",
            JsonType::Number => "a number",
            JsonType::Integer => "an integer",
            JsonType::String => "a string",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
            JsonType::DateTime => "an RFC 3339 date and time",
        })
    }
}

/// What is wrong with a field. Families translate these into their own error vocabularies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Missing,
    WrongType {
        expected: JsonType,
        found: JsonType,
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

/// What a value that is not valid JSON should have been.
pub const VALID_JSON: &str = "valid JSON";
/// What a timestamp should have been.
pub const DATE_TIME: &str = "an RFC 3339 date and time";

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("is required"),
            Problem::WrongType { expected, found } => write!(f, "must be {expected}, not {found}"),
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

/// One step of a path into a request: a field's name or an array's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Where a field is in a request: `credentials.port`, `body.label`, `databases.0.host`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<Step>);

impl FieldPath {
    /// The path of the whole request body.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    pub fn key(&self, name: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(name.to_owned()));
        FieldPath(steps)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        FieldPath(steps)
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for FieldPath {
    /// A path of one field.
    fn from(name: &str) -> Self {
        FieldPath::root().key(name)
    }
}

/// Steps joined with dots; the root is `body`.
impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("body");
        }
        for (n, step) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(".")?;
            }
            match step {
                Step::Key(name) => f.write_str(name)?,
                Step::Index(index) => write!(f, "{index}")?,
            }
        }
        Ok(())
    }
}

/// A problem with one field, named by its path in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: FieldPath,
    pub problem: Problem,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path, self.problem)
    }
}

/// Every problem found in one request, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors(Vec::new())
    }

    pub fn push(&mut self, path: impl Into<FieldPath>, problem: Problem) {
        self.0.push(FieldError {
            path: path.into(),
            problem,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }

    /// Whether a problem was recorded at `path`.
    pub fn concern(&self, path: &FieldPath) -> bool {
        self.0.iter().any(|e| &e.path == path)
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, error) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Longest ordinary text value (names, identifiers, hosts) accepted anywhere.
pub const MAX_TEXT_LEN: usize = 255;
/// Longest secret value accepted: Secrets Manager holds at most 64 KiB per secret.
pub const MAX_SECRET_LEN: usize = 32 * 1024;

/// Text a person reads (a name, a label, a description): whatever its length rules, it never
/// holds control characters — no line breaks, tabs, escapes or NULs — in any family.
pub fn display_text(value: &str) -> Result<(), Problem> {
    if value.chars().any(char::is_control) {
        return Err(Problem::Malformed {
            expected: "text without control characters",
        });
    }
    Ok(())
}

/// Non-blank display text of at most `max` characters.
pub fn bounded(value: &str, max: usize) -> Result<(), Problem> {
    if value.trim().is_empty() {
        return Err(Problem::Empty);
    }
    if value.chars().count() > max {
        return Err(Problem::TooLong { max });
    }
    display_text(value)
}

/// Any non-blank single-line text up to [`MAX_TEXT_LEN`] characters.
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

/// A name that reaches SQL as an identifier (a role, schema or table a generated login is
/// granted): a letter or `_`, then letters, digits or `_`; at most 63 characters, what
/// PostgreSQL keeps. Still always quoted in statements.
pub fn sql_identifier(value: &str) -> Result<(), Problem> {
    bounded(value, 63)?;
    let mut chars = value.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: "a letter or '_', then letters, digits or '_'",
        })
    }
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

/// An AWS access key id: letters and digits, 16 to 128 of them.
pub fn access_key_id(value: &str) -> Result<(), Problem> {
    if (16..=128).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: "an AWS access key id (16 to 128 letters and digits)",
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_keys_and_indexes() {
        let path = FieldPath::from("databases").index(2).key("host");
        assert_eq!(path.to_string(), "databases.2.host");
        assert_eq!(
            path.steps(),
            [
                Step::Key("databases".into()),
                Step::Index(2),
                Step::Key("host".into())
            ]
        );
        assert_eq!(FieldPath::root().to_string(), "body");
    }

    #[test]
    fn errors_read_as_sentences() {
        let mut errors = FieldErrors::new();
        errors.push(
            "credentials.port",
            Problem::OutOfRange { min: 1, max: 65535 },
        );
        errors.push(
            "name",
            Problem::WrongType {
                expected: JsonType::String,
                found: JsonType::Number,
            },
        );
        assert_eq!(
            errors.to_string(),
            "credentials.port must be an integer between 1 and 65535; \
             name must be a string, not a number"
        );
        assert!(errors.concern(&FieldPath::from("name")));
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
    fn display_text_never_holds_control_characters() {
        for bad in [
            "line\nbreak",
            "tab\there",
            "nul\0",
            "bell\u{7}",
            "esc\u{1b}[31m",
        ] {
            assert!(display_text(bad).is_err(), "{bad:?}");
            assert!(text(bad).is_err(), "{bad:?}");
        }
        assert_eq!(display_text(""), Ok(()));
        assert_eq!(display_text("Ünïcode — fine"), Ok(()));
        assert_eq!(
            text(&"x".repeat(MAX_TEXT_LEN + 1)),
            Err(Problem::TooLong { max: MAX_TEXT_LEN })
        );
    }

    #[test]
    fn redaction_placeholders_are_recognised() {
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
        }
        for real in ["hunter2", "p*ssword", "x", "my secret"] {
            assert!(!is_redaction_placeholder(real), "{real}");
            assert_eq!(new_secret_text(real), Ok(()));
        }
    }

    #[test]
    fn access_key_ids_are_letters_and_digits() {
        assert_eq!(access_key_id("AKIAIOSFODNN7EXAMPLE"), Ok(()));
        for bad in ["ak", "AKIA_IOSFODNN7EXAMPLE", "AKIA-IOSFODNN7EXAMPLE"] {
            assert!(access_key_id(bad).is_err(), "{bad}");
        }
    }
}
