//! A credential as a client gives it, split into non-secret settings (which may be stored and
//! shown) and secret material (which only Secrets Manager holds), and the secret document
//! stored in Secrets Manager.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::provider::{Provider, Sensitivity};

/// A non-secret setting's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    Text(String),
    Integer(i64),
    Flag(bool),
}

impl SettingValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SettingValue::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            SettingValue::Integer(n) => Some(*n),
            _ => None,
        }
    }
}

impl From<String> for SettingValue {
    fn from(value: String) -> Self {
        SettingValue::Text(value)
    }
}

impl From<&str> for SettingValue {
    fn from(value: &str) -> Self {
        SettingValue::Text(value.to_owned())
    }
}

impl From<u16> for SettingValue {
    fn from(value: u16) -> Self {
        SettingValue::Integer(value.into())
    }
}

impl From<i64> for SettingValue {
    fn from(value: i64) -> Self {
        SettingValue::Integer(value)
    }
}

impl From<bool> for SettingValue {
    fn from(value: bool) -> Self {
        SettingValue::Flag(value)
    }
}

/// Non-secret values by name: a provider's connection settings, or a family's descriptive
/// attributes. Safe to store in DynamoDB and to return.
pub type Settings = BTreeMap<String, SettingValue>;

/// Secret material by canonical field name. Its `Debug` names the fields, never their values.
#[derive(Default)]
pub struct SecretFields(BTreeMap<&'static str, SecretString>);

impl SecretFields {
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[REDACTED]")))
            .finish()
    }
}

/// A credential as given: its provider, its settings and its secret material, each field
/// routed by the provider's catalog so that a secret can never land among the settings.
#[derive(Debug)]
pub struct CredentialInput {
    provider: Provider,
    settings: Settings,
    secrets: SecretFields,
}

impl CredentialInput {
    pub fn new(provider: Provider) -> Self {
        CredentialInput {
            provider,
            settings: Settings::new(),
            secrets: SecretFields::default(),
        }
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn secrets(&self) -> &SecretFields {
        &self.secrets
    }

    /// Sets a non-secret field. A field the catalog marks secret is kept as a secret instead;
    /// a field the provider does not have is a bug in the calling edge.
    pub fn set(&mut self, name: &'static str, value: impl Into<SettingValue>) -> &mut Self {
        match self.provider.field(name).map(|f| f.sensitivity) {
            Some(Sensitivity::Setting) => {
                self.settings.insert(name.to_owned(), value.into());
            }
            Some(Sensitivity::Secret) => {
                if let SettingValue::Text(text) = value.into() {
                    self.secrets.0.insert(name, SecretString::from(text));
                }
            }
            None => debug_assert!(false, "{} has no field {name}", self.provider),
        }
        self
    }

    /// Sets a secret field. A field the provider does not have is a bug in the calling edge.
    pub fn set_secret(&mut self, name: &'static str, value: SecretString) -> &mut Self {
        match self.provider.field(name) {
            Some(_) => {
                self.secrets.0.insert(name, value);
            }
            None => debug_assert!(false, "{} has no field {name}", self.provider),
        }
        self
    }

    /// Fills every secret field this input lacks from `current`, the stored document of the
    /// same provider: how an update that omits a secret keeps it.
    pub fn keep_missing_secrets(&mut self, current: &SecretString) {
        let Ok(stored) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
            current.expose_secret(),
        ) else {
            return;
        };
        for field in self.provider.fields() {
            if field.sensitivity != Sensitivity::Secret || self.secrets.0.contains_key(field.name) {
                continue;
            }
            let kept = match stored.get(field.name) {
                Some(serde_json::Value::String(text)) => text.clone(),
                Some(value @ serde_json::Value::Object(_)) => value.to_string(),
                _ => continue,
            };
            self.secrets.0.insert(field.name, SecretString::from(kept));
        }
    }

    /// The document stored in Secrets Manager: `engine` plus every setting and secret, under
    /// the canonical names. For SQL databases this is the AWS standard format
    /// (`engine`, `host`, `port`, `username`, `password`, `dbname`), so AWS-native consumers
    /// (RDS Proxy, secret injection, the rotation templates) read it as it is.
    pub fn secret_document(&self) -> SecretString {
        let estimate = 64
            + self.settings.len() * 48
            + self
                .secrets
                .0
                .values()
                .map(|s| s.expose_secret().len() + 32)
                .sum::<usize>();
        // Serialized straight into a buffer sized up front, so the secret's bytes are not
        // left behind in reallocated memory.
        let mut buffer = Vec::with_capacity(estimate);
        let written = serde_json::to_writer(&mut buffer, &DocumentView(self));
        debug_assert!(written.is_ok(), "a map of strings always serializes");
        SecretString::from(String::from_utf8(buffer).unwrap_or_default())
    }
}

/// JSON object text made of `fields` plus `secrets`, held as a secret: how a family rebuilds a
/// key file it has validated field by field (the secrets were taken out to be checked).
pub fn json_object_secret(
    fields: serde_json::Map<String, serde_json::Value>,
    secrets: &[(&str, &SecretString)],
) -> SecretString {
    struct View<'a>(
        &'a serde_json::Map<String, serde_json::Value>,
        &'a [(&'a str, &'a SecretString)],
    );
    impl Serialize for View<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(None)?;
            for (name, value) in self.0 {
                map.serialize_entry(name, value)?;
            }
            for (name, secret) in self.1 {
                map.serialize_entry(name, secret.expose_secret())?;
            }
            map.end()
        }
    }
    let estimate = 256
        + secrets
            .iter()
            .map(|(_, s)| s.expose_secret().len() + 32)
            .sum::<usize>()
        + fields.len() * 128;
    let mut buffer = Vec::with_capacity(estimate);
    let written = serde_json::to_writer(&mut buffer, &View(&fields, secrets));
    debug_assert!(written.is_ok(), "a map of JSON values always serializes");
    SecretString::from(String::from_utf8(buffer).unwrap_or_default())
}

/// Serializes a credential's document while only borrowing its secrets.
struct DocumentView<'a>(&'a CredentialInput);

impl Serialize for DocumentView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let input = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("engine", input.provider.as_str())?;
        for (name, value) in &input.settings {
            map.serialize_entry(name, value)?;
        }
        for (name, secret) in &input.secrets.0 {
            let text = secret.expose_secret();
            let is_json = input.provider.field(name).is_some_and(|f| f.json);
            match serde_json::from_str::<&RawValue>(text) {
                Ok(raw) if is_json => map.serialize_entry(name, raw)?,
                _ => map.serialize_entry(name, text)?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn postgres() -> CredentialInput {
        let mut input = CredentialInput::new(Provider::Postgres);
        input
            .set("host", "db.internal")
            .set("port", 5432u16)
            .set("dbname", "analytics")
            .set("username", "levered")
            .set_secret("password", SecretString::from("s3cret-canary"));
        input
    }

    #[test]
    fn postgres_document_is_the_aws_standard_format() {
        let document = postgres().secret_document();
        let parsed: Value =
            serde_json::from_str(document.expose_secret()).expect("document is JSON");
        assert_eq!(
            parsed,
            json!({
                "engine": "postgres",
                "host": "db.internal",
                "port": 5432,
                "dbname": "analytics",
                "username": "levered",
                "password": "s3cret-canary"
            })
        );
    }

    #[test]
    fn an_update_keeps_the_secrets_it_omits_and_replaces_those_it_sends() {
        let stored = postgres().secret_document();
        let mut update = CredentialInput::new(Provider::Postgres);
        update.set("username", "renamed");
        update.keep_missing_secrets(&stored);
        assert_eq!(
            update
                .secrets()
                .get("password")
                .map(|p| p.expose_secret().to_owned()),
            Some("s3cret-canary".to_owned())
        );
        let mut replacing = CredentialInput::new(Provider::Postgres);
        replacing.set_secret("password", SecretString::from("new"));
        replacing.keep_missing_secrets(&stored);
        assert_eq!(
            replacing
                .secrets()
                .get("password")
                .map(|p| p.expose_secret().to_owned()),
            Some("new".to_owned())
        );
    }

    #[test]
    fn secrets_never_land_among_settings() {
        let mut input = CredentialInput::new(Provider::Postgres);
        input.set("password", "passed-as-a-setting");
        assert!(input.settings().is_empty());
        assert!(input.secrets().get("password").is_some());
    }

    #[test]
    fn debug_output_is_redacted() {
        let input = postgres();
        let debug = format!("{input:?} {:?}", input.secret_document());
        assert!(!debug.contains("s3cret-canary"), "{debug}");
        assert!(debug.contains("password"));
    }

    #[test]
    fn json_object_secrets_merge_fields_and_secrets() {
        let mut fields = serde_json::Map::new();
        fields.insert("type".into(), json!("service_account"));
        let key = SecretString::from("-----BEGIN PRIVATE KEY-----");
        let text = json_object_secret(fields, &[("private_key", &key)]);
        let parsed: Value = serde_json::from_str(text.expose_secret()).expect("JSON");
        assert_eq!(
            parsed,
            json!({"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----"})
        );
    }

    #[test]
    fn json_secrets_are_embedded_as_json() {
        let mut input = CredentialInput::new(Provider::Bigquery);
        input.set("project_id", "p").set_secret(
            "keyfile",
            SecretString::from(r#"{"type":"service_account","private_key":"k"}"#),
        );
        let parsed: Value =
            serde_json::from_str(input.secret_document().expose_secret()).expect("JSON");
        assert_eq!(parsed["keyfile"]["type"], "service_account");
    }
}
