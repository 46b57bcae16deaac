//! A credential's secret document: the JSON object Secrets Manager holds, whose leaves are
//! either non-secret settings or secret material, at any depth (objects and arrays nest).
//!
//! The document is rendered for the vault with its secrets exposed, and projected for the
//! metadata store without them ([`Document::settings`]): the two never mix, because which
//! leaves are secret is decided when the document is built, by the typed connection it is
//! built from (see [`crate::connection`]).
//!
//! An update may leave secrets out, or send back the redaction placeholder a client shows
//! (`********`): such a secret is [`SecretValue::Kept`], and [`Document::keep_from`] fills it
//! with the stored value at the same place. Placeholders inside a JSON secret (a key file, a
//! client's raw credential object) are filled the same way, at any depth.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::json;
use crate::provider::Provider;
use crate::validation::{JsonType, is_redaction_placeholder};

/// Secret material at one place of a document.
pub enum SecretValue {
    /// Text: a password, a token, a PEM key.
    Text(SecretString),
    /// A JSON value kept exactly as it was sent: a key file, a client's raw credential object.
    Json(SecretString),
    /// Whatever is stored at this place: an update that left the secret out or sent a
    /// redaction placeholder for it.
    Kept,
}

impl SecretValue {
    pub fn text(value: impl Into<String>) -> Self {
        SecretValue::Text(SecretString::from(value.into()))
    }

    /// The secret as stored: text when it is a JSON string, JSON otherwise.
    fn from_stored(value: &RawValue) -> Self {
        match json::string(value) {
            Some(text) => SecretValue::Text(SecretString::from(text)),
            None => SecretValue::Json(SecretString::from(value.get().to_owned())),
        }
    }

    /// Whether this is a new value rather than the stored one (or a stand-in for it).
    fn is_new(&self) -> bool {
        match self {
            SecretValue::Text(text) => !is_redaction_placeholder(text.expose_secret()),
            SecretValue::Json(_) => true,
            SecretValue::Kept => false,
        }
    }

    /// Whether completing this value needs the stored document.
    fn needs_stored(&self) -> bool {
        match self {
            SecretValue::Text(_) => !self.is_new(),
            SecretValue::Json(text) => {
                json::parse(text.expose_secret()).is_ok_and(holds_placeholder)
            }
            SecretValue::Kept => true,
        }
    }
}

// Names no value.
impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretValue::Text(_) => "Secret(text, [REDACTED])",
            SecretValue::Json(_) => "Secret(JSON, [REDACTED])",
            SecretValue::Kept => "Secret(kept)",
        })
    }
}

/// One place of a document.
#[derive(Debug)]
pub enum Node {
    /// A non-secret setting.
    Value(Value),
    Secret(SecretValue),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

/// A credential's secret document, with the provider it connects to as its `engine`.
#[derive(Debug)]
pub struct Document {
    provider: Provider,
    fields: Vec<(String, Node)>,
}

impl Document {
    pub fn new(provider: Provider) -> Self {
        Document {
            provider,
            fields: Vec::new(),
        }
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Sets field `name` to `node`, replacing any field of that name.
    pub fn insert(&mut self, name: &str, node: Node) -> &mut Self {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_owned(), node));
        self
    }

    pub fn setting(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.insert(name, Node::Value(value.into()))
    }

    pub fn secret(&mut self, name: &str, secret: SecretValue) -> &mut Self {
        self.insert(name, Node::Secret(secret))
    }

    /// The non-secret settings, nested as in the document: what the metadata store may hold
    /// and a read may show.
    pub fn settings(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .filter_map(|(name, node)| Some((name.clone(), public(node)?)))
            .collect()
    }

    /// Whether the document brings secret material of its own, rather than only keeping
    /// what is stored.
    pub fn has_new_secrets(&self) -> bool {
        self.fields
            .iter()
            .any(|(_, node)| any_secret(node, SecretValue::is_new))
    }

    /// Whether the stored document is needed to complete this one ([`Document::keep_from`]).
    pub fn needs_stored(&self) -> bool {
        self.fields
            .iter()
            .any(|(_, node)| any_secret(node, SecretValue::needs_stored))
    }

    /// Fills every kept secret, and every placeholder inside a JSON secret, with the value
    /// `stored` (the credential's current document) has at the same place. A kept secret
    /// with nothing stored at its place is left out; a placeholder inside a JSON secret with
    /// nothing stored at its place stays as it was sent (the object is the client's own).
    pub fn keep_from(&mut self, stored: &SecretString) {
        let stored = json::parse(stored.expose_secret())
            .ok()
            .and_then(json::object)
            .unwrap_or_default();
        keep_fields(&mut self.fields, &stored);
    }

    /// The document as Secrets Manager holds it: JSON text with the secrets in it, written
    /// into a buffer of exactly its size so no copy of a secret is left in freed memory.
    /// Kept secrets that [`Document::keep_from`] did not fill are left out.
    pub fn render(&self) -> SecretString {
        let mut counter = Counter(0);
        // Writing to a counter or a vector cannot fail.
        let _ = self.write(&mut counter);
        let mut buffer = Vec::with_capacity(counter.0);
        let _ = self.write(&mut buffer);
        SecretString::from(String::from_utf8(buffer).unwrap_or_default())
    }

    /// The `ssl` key of the AWS standard format, which AWS's rotation templates read, derived
    /// from a SQL database's `sslmode`: `disable` is false, `require` and `verify-full` true;
    /// `prefer` leaves it out, which the templates read as "TLS if the server offers it".
    fn aws_ssl(&self) -> Option<bool> {
        use crate::provider::Provider::{Mariadb, Mysql, Postgres, Redshift};
        if !matches!(self.provider, Postgres | Redshift | Mysql | Mariadb)
            || self.fields.iter().any(|(name, _)| name == "ssl")
        {
            return None;
        }
        let mode = self.fields.iter().find_map(|(name, node)| match node {
            Node::Value(Value::String(mode)) if name == "sslmode" => Some(mode.as_str()),
            _ => None,
        })?;
        match mode {
            "disable" => Some(false),
            "require" | "verify-ca" | "verify-full" => Some(true),
            _ => None,
        }
    }

    fn write(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        out.write_all(b"{\"engine\":")?;
        serde_json::to_writer(&mut *out, self.provider.as_str())?;
        if let Some(ssl) = self.aws_ssl() {
            out.write_all(if ssl {
                b",\"ssl\":true"
            } else {
                b",\"ssl\":false"
            })?;
        }
        for (name, node) in &self.fields {
            if matches!(node, Node::Secret(SecretValue::Kept)) {
                continue;
            }
            out.write_all(b",")?;
            serde_json::to_writer(&mut *out, name)?;
            out.write_all(b":")?;
            write_node(node, out)?;
        }
        out.write_all(b"}")
    }
}

/// Counts the bytes written to it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_node(node: &Node, out: &mut impl std::io::Write) -> std::io::Result<()> {
    match node {
        Node::Value(value) => serde_json::to_writer(&mut *out, value)?,
        Node::Secret(SecretValue::Text(text)) => {
            serde_json::to_writer(&mut *out, text.expose_secret())?
        }
        Node::Secret(SecretValue::Json(text)) => out.write_all(text.expose_secret().as_bytes())?,
        Node::Secret(SecretValue::Kept) => out.write_all(b"null")?,
        Node::Object(fields) => {
            out.write_all(b"{")?;
            let present = fields
                .iter()
                .filter(|(_, node)| !matches!(node, Node::Secret(SecretValue::Kept)));
            for (n, (name, node)) in present.enumerate() {
                if n > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, name)?;
                out.write_all(b":")?;
                write_node(node, out)?;
            }
            out.write_all(b"}")?;
        }
        Node::Array(items) => {
            out.write_all(b"[")?;
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.write_all(b",")?;
                }
                write_node(item, out)?;
            }
            out.write_all(b"]")?;
        }
    }
    Ok(())
}

/// A node without its secrets; `None` for a secret.
fn public(node: &Node) -> Option<Value> {
    Some(match node {
        Node::Value(value) => value.clone(),
        Node::Secret(_) => return None,
        Node::Object(fields) => Value::Object(
            fields
                .iter()
                .filter_map(|(name, node)| Some((name.clone(), public(node)?)))
                .collect(),
        ),
        Node::Array(items) => Value::Array(items.iter().filter_map(public).collect()),
    })
}

fn any_secret(node: &Node, test: fn(&SecretValue) -> bool) -> bool {
    match node {
        Node::Value(_) => false,
        Node::Secret(secret) => test(secret),
        Node::Object(fields) => fields.iter().any(|(_, node)| any_secret(node, test)),
        Node::Array(items) => items.iter().any(|node| any_secret(node, test)),
    }
}

fn keep_fields(fields: &mut Vec<(String, Node)>, stored: &[(String, &RawValue)]) {
    fields.retain_mut(|(name, node)| keep(node, json::field(stored, name)));
}

/// Completes `node` from `stored`, its counterpart in the stored document; `false` when it
/// is a kept secret with nothing stored at its place.
fn keep(node: &mut Node, stored: Option<&RawValue>) -> bool {
    let stored = stored.filter(|value| json::json_type(value) != JsonType::Null);
    match node {
        Node::Value(_) => true,
        Node::Secret(secret) if !secret.is_new() => match stored {
            Some(value) => {
                *secret = SecretValue::from_stored(value);
                true
            }
            None => false,
        },
        Node::Secret(SecretValue::Json(text)) => {
            if let Ok(sent) = json::parse(text.expose_secret())
                && holds_placeholder(sent)
            {
                let mut merged = String::with_capacity(text.expose_secret().len());
                merge_placeholders(sent, stored, &mut merged);
                *text = SecretString::from(merged);
            }
            true
        }
        Node::Secret(_) => true,
        Node::Object(fields) => {
            let stored = stored.and_then(json::object).unwrap_or_default();
            keep_fields(fields, &stored);
            true
        }
        Node::Array(items) => {
            let stored = stored.and_then(json::array).unwrap_or_default();
            let mut index = 0;
            items.retain_mut(|item| {
                let counterpart = match item.name() {
                    Some(name) => stored
                        .iter()
                        .copied()
                        .find(|s| stored_name(s).as_deref() == Some(name)),
                    None => stored.get(index).copied(),
                };
                index += 1;
                keep(item, counterpart)
            });
            true
        }
    }
}

/// The `name` setting of a stored object.
fn stored_name(value: &RawValue) -> Option<String> {
    json::object(value).and_then(|fields| json::field(&fields, NAME).and_then(json::string))
}

/// The field that names an object among its array's items.
const NAME: &str = "name";

impl Node {
    /// The `name` setting of an object: what finds its stored counterpart in an array.
    fn name(&self) -> Option<&str> {
        match self {
            Node::Object(fields) => fields.iter().find_map(|(field, node)| match node {
                Node::Value(Value::String(name)) if field == NAME => Some(name.as_str()),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// Whether a JSON value holds a redaction placeholder string anywhere.
fn holds_placeholder(value: &RawValue) -> bool {
    match json::json_type(value) {
        JsonType::String => json::string(value).is_some_and(|s| is_redaction_placeholder(&s)),
        JsonType::Object => json::object(value)
            .unwrap_or_default()
            .iter()
            .any(|(_, v)| holds_placeholder(v)),
        JsonType::Array => json::array(value)
            .unwrap_or_default()
            .iter()
            .any(|v| holds_placeholder(v)),
        _ => false,
    }
}

/// Writes `sent` with each placeholder string replaced by what `stored` has at the same place,
/// every other value exactly as it was sent.
fn merge_placeholders(sent: &RawValue, stored: Option<&RawValue>, out: &mut String) {
    match json::json_type(sent) {
        JsonType::String
            if json::string(sent).is_some_and(|s| is_redaction_placeholder(&s))
                && stored.is_some() =>
        {
            out.push_str(stored.map(RawValue::get).unwrap_or_default());
        }
        JsonType::Object => {
            let stored = stored.and_then(json::object).unwrap_or_default();
            out.push('{');
            for (n, (name, value)) in json::object(sent).unwrap_or_default().iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(name.as_str()).to_string());
                out.push(':');
                merge_placeholders(value, json::field(&stored, name), out);
            }
            out.push('}');
        }
        JsonType::Array => {
            let stored = stored.and_then(json::array).unwrap_or_default();
            out.push('[');
            for (n, value) in json::array(sent).unwrap_or_default().iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                merge_placeholders(value, stored.get(n).copied(), out);
            }
            out.push(']');
        }
        _ => out.push_str(sent.get()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CANARY: &str = "s3cret-canary";

    fn parsed(document: &Document) -> Value {
        serde_json::from_str(document.render().expose_secret()).expect("JSON")
    }

    #[test]
    fn sql_documents_carry_the_aws_ssl_key_their_sslmode_implies() {
        let ssl = |provider, mode: Option<&str>| {
            let mut document = Document::new(provider);
            document.setting("host", "db");
            if let Some(mode) = mode {
                document.setting("sslmode", mode);
            }
            parsed(&document).get("ssl").cloned()
        };
        assert_eq!(ssl(Provider::Postgres, Some("disable")), Some(json!(false)));
        assert_eq!(ssl(Provider::Mysql, Some("verify-full")), Some(json!(true)));
        assert_eq!(ssl(Provider::Redshift, Some("require")), Some(json!(true)));
        assert_eq!(ssl(Provider::Mariadb, Some("prefer")), None);
        assert_eq!(ssl(Provider::Postgres, None), None);
        assert_eq!(ssl(Provider::Trino, Some("disable")), None);
    }

    fn postgres() -> Document {
        let mut document = Document::new(Provider::Postgres);
        document
            .setting("host", "db.internal")
            .setting("port", 5432)
            .setting("username", "app")
            .secret("password", SecretValue::text(CANARY));
        document
    }

    #[test]
    fn secrets_go_to_the_vault_and_never_to_the_settings() {
        let document = postgres();
        assert_eq!(
            parsed(&document),
            json!({"engine": "postgres", "host": "db.internal", "port": 5432,
                   "username": "app", "password": CANARY})
        );
        let settings = Value::Object(document.settings());
        assert_eq!(
            settings,
            json!({"host": "db.internal", "port": 5432, "username": "app"})
        );
        assert!(!format!("{document:?}").contains(CANARY));
        assert!(document.has_new_secrets());
        assert!(!document.needs_stored());
    }

    /// A document nested as Credible's DuckDB connections are: secrets inside an array.
    fn nested(secret: SecretValue) -> Document {
        let mut document = Document::new(Provider::Duckdb);
        document.insert(
            "attachedDatabases",
            Node::Array(vec![Node::Object(vec![
                ("name".into(), Node::Value("lake".into())),
                (
                    "s3Connection".into(),
                    Node::Object(vec![
                        ("accessKeyId".into(), Node::Value("AKIA".into())),
                        ("secretAccessKey".into(), Node::Secret(secret)),
                    ]),
                ),
            ])]),
        );
        document
    }

    #[test]
    fn nested_secrets_are_kept_from_the_stored_document_at_their_place() {
        let stored = nested(SecretValue::text(CANARY)).render();
        assert_eq!(
            Value::Object(nested(SecretValue::Kept).settings()),
            json!({"attachedDatabases": [{"name": "lake", "s3Connection": {"accessKeyId": "AKIA"}}]})
        );
        for sent in [SecretValue::Kept, SecretValue::text("********")] {
            let mut update = nested(sent);
            assert!(update.needs_stored() && !update.has_new_secrets());
            update.keep_from(&stored);
            assert_eq!(
                parsed(&update)["attachedDatabases"][0]["s3Connection"]["secretAccessKey"],
                CANARY
            );
        }
        let mut replaced = nested(SecretValue::text("new"));
        assert!(!replaced.needs_stored());
        replaced.keep_from(&stored);
        assert_eq!(
            parsed(&replaced)["attachedDatabases"][0]["s3Connection"]["secretAccessKey"],
            "new"
        );
    }

    #[test]
    fn named_items_keep_the_secrets_of_the_stored_item_of_their_name() {
        let item = |name: &str, secret: SecretValue| {
            Node::Object(vec![
                ("name".into(), Node::Value(name.into())),
                ("secret_access_key".into(), Node::Secret(secret)),
            ])
        };
        let mut stored = Document::new(Provider::Duckdb);
        stored.insert(
            "attached",
            Node::Array(vec![
                item("lake", SecretValue::text("lake-secret")),
                item("bucket", SecretValue::text("bucket-secret")),
            ]),
        );
        let mut update = Document::new(Provider::Duckdb);
        update.insert(
            "attached",
            Node::Array(vec![
                item("bucket", SecretValue::Kept),
                item("new", SecretValue::Kept),
                item("lake", SecretValue::text("********")),
            ]),
        );
        update.keep_from(&stored.render());
        assert_eq!(
            parsed(&update)["attached"],
            json!([{"name": "bucket", "secret_access_key": "bucket-secret"},
                   {"name": "new"},
                   {"name": "lake", "secret_access_key": "lake-secret"}])
        );
    }

    #[test]
    fn a_kept_secret_with_nothing_stored_is_left_out() {
        let mut document = Document::new(Provider::Redshift);
        document
            .setting("username", "u")
            .secret("password", SecretValue::Kept);
        document.keep_from(&SecretString::from(
            r#"{"engine":"redshift","username":"u"}"#,
        ));
        assert_eq!(
            parsed(&document),
            json!({"engine": "redshift", "username": "u"})
        );
    }

    #[test]
    fn placeholders_inside_a_json_secret_keep_the_stored_values_exactly() {
        let stored = SecretString::from(
            r#"{"engine":"generic","credentials":{"nested":{"client_secret":"s3cret","n":123456789012345678901234567890},"keys":[{"value":"k1"}]}}"#,
        );
        let sent = r#"{"nested": {"client_secret": "********", "n": 1.10}, "keys": [{"value": "[REDACTED]"}], "new": "xxxx"}"#;
        let mut document = Document::new(Provider::Generic);
        document.secret("credentials", SecretValue::Json(SecretString::from(sent)));
        assert!(document.needs_stored() && document.has_new_secrets());
        document.keep_from(&stored);
        assert_eq!(
            document.render().expose_secret(),
            r#"{"engine":"generic","credentials":{"nested":{"client_secret":"s3cret","n":1.10},"keys":[{"value":"k1"}],"new":"xxxx"}}"#
        );
    }

    #[test]
    fn json_secrets_are_rendered_exactly_as_sent() {
        let text = r#"{"account": 123456789012345678901234567890, "ratio": 0.1000000000000000055511151231257827}"#;
        let mut document = Document::new(Provider::Generic);
        document.secret("credentials", SecretValue::Json(SecretString::from(text)));
        assert_eq!(
            document.render().expose_secret(),
            format!(r#"{{"engine":"generic","credentials":{text}}}"#)
        );
        assert!(document.settings().is_empty());
    }
}
