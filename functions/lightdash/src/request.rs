//! What clients send: Lightdash's `UpsertUserWarehouseCredentials` (`name` and the
//! `credentials` of one warehouse type), validated field by field before anything is written.
//!
//! Lightdash's field names are camelCase; the model's canonical names are those of the AWS
//! standard secret format (`username`, `password`) and the provider catalogs. Each warehouse
//! type reads its own fields and, where it has several ways to authenticate, requires the
//! secrets of the chosen `authenticationType` and refuses the others, so a stored credential
//! never carries a secret it does not use.

use credential_model::secret::json_object_secret;
use credential_model::validation::{
    FieldErrors, JsonObject, MAX_SECRET_LEN, Problem, TextRule, database_object, email, host,
    identifier, new_secret_text, pem_private_key, text,
};
use credential_model::{
    CredentialChange, CredentialInput, CredentialKind, CredentialRecord, NewCredential, Provider,
    SettingValue, Settings,
};
use secrecy::ExposeSecret;
use serde_json::Value;

/// The credentials' display name: an attribute of the record.
pub(crate) const NAME: &str = "name";
const CREDENTIALS: &str = "credentials";
const TYPE: &str = "type";
const AUTHENTICATION_TYPE: &str = "authenticationType";
/// Where the model keeps the chosen authentication type.
const AUTHENTICATION_SETTING: &str = "authentication_type";

/// Lightdash's `WarehouseTypes`, in the order of its `anyOf`. Each is the name of the model's
/// provider of the same name.
pub(crate) const WAREHOUSE_TYPES: [&str; 9] = [
    "redshift",
    "postgres",
    "snowflake",
    "trino",
    "clickhouse",
    "bigquery",
    "databricks",
    "athena",
    "duckdb",
];
/// `SnowflakeAuthenticationType`; the first is the default.
const SNOWFLAKE_AUTHENTICATION: [&str; 5] =
    ["password", "private_key", "sso", "external_browser", "none"];
/// `BigqueryAuthenticationType`; `private_key` (a service-account key file) is the default.
const BIGQUERY_AUTHENTICATION: [&str; 3] = ["private_key", "sso", "adc"];
/// `DatabricksAuthenticationType`; the first is the default.
const DATABRICKS_AUTHENTICATION: [&str; 3] = ["personal_access_token", "oauth_m2m", "oauth_u2m"];

/// A validated create body.
pub(crate) fn create(body: Value) -> Result<NewCredential, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut body = JsonObject::root(body)?;
    let name = body.text(NAME, text, &mut errors);
    let input = body
        .object(CREDENTIALS, &mut errors)
        .and_then(|c| credentials(c, None, &mut errors));
    let (Some(name), Some(input)) = (name, input) else {
        return Err(errors);
    };
    errors.finish(NewCredential {
        kind: CredentialKind::UserWarehouseCredential,
        input: input.input,
        attributes: Settings::from([(NAME.to_owned(), SettingValue::from(name))]),
    })
}

/// A validated change to `stored`.
pub(crate) enum Update {
    /// A new name only: the secret is left alone.
    Rename(Settings),
    /// New credentials (and perhaps a new name).
    Credentials(CredentialChange),
}

/// A validated `PATCH` body for `stored`. `name` and `credentials` are each optional; sent
/// `credentials` describe the warehouse whole, except that a secret left out (or sent as a
/// redaction placeholder) is kept when the warehouse type and `authenticationType` stay the
/// same. A new type or authentication brings every secret it needs.
pub(crate) fn update(body: Value, stored: &CredentialRecord) -> Result<Update, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut body = JsonObject::root(body)?;
    let name = body.optional_text(NAME, text, &mut errors);
    let input = body
        .optional_object(CREDENTIALS, &mut errors)
        .map(|c| credentials(c, Some(stored), &mut errors));
    let mut attributes = stored.attributes.clone();
    if let Some(name) = name {
        attributes.insert(NAME.to_owned(), name.into());
    }
    match input {
        _ if !errors.is_empty() => Err(errors),
        None => Ok(Update::Rename(attributes)),
        Some(None) => Err(errors),
        Some(Some(parsed)) => Ok(Update::Credentials(CredentialChange {
            input: parsed.input,
            attributes,
            keep_missing_secrets: parsed.keeps_secrets,
        })),
    }
}

/// Credentials as read: what to store, and whether the stored secrets fill what was left out.
struct Parsed {
    input: CredentialInput,
    keeps_secrets: bool,
}

/// Reads the `credentials` object of one warehouse type. `stored` is the credential an update
/// changes: when it has the same type and authentication, its secrets are kept where none is
/// sent.
fn credentials(
    mut c: JsonObject,
    stored: Option<&CredentialRecord>,
    errors: &mut FieldErrors,
) -> Option<Parsed> {
    let provider = c
        .one_of(TYPE, &WAREHOUSE_TYPES, errors)
        .and_then(Provider::parse)?;
    let authentication = match provider {
        Provider::Snowflake => Some(&SNOWFLAKE_AUTHENTICATION[..]),
        Provider::Bigquery => Some(&BIGQUERY_AUTHENTICATION[..]),
        Provider::Databricks => Some(&DATABRICKS_AUTHENTICATION[..]),
        _ => None,
    }
    .map(|allowed| {
        c.optional_one_of(AUTHENTICATION_TYPE, allowed, errors)
            .unwrap_or(allowed[0])
    });
    let keeps_secrets = stored.is_some_and(|stored| {
        stored.provider == provider
            && stored
                .settings
                .get(AUTHENTICATION_SETTING)
                .and_then(SettingValue::as_text)
                == authentication
    });
    let mut fields = Fields {
        c,
        input: CredentialInput::new(provider),
        errors,
        keeps_secrets,
        stored: stored.map(|s| &s.settings),
    };
    if let Some(authentication) = authentication {
        fields.input.set(AUTHENTICATION_SETTING, authentication);
    }
    match (provider, authentication) {
        (Provider::Postgres | Provider::Redshift, _) => {
            fields.setting("user", "username", database_object, Need::Required);
            // Redshift may authenticate through IAM instead of a password.
            let password = if provider == Provider::Redshift {
                Need::Optional
            } else {
                Need::Required
            };
            fields.secret("password", "password", new_secret_text, password);
        }
        (Provider::Trino | Provider::Clickhouse, _) => {
            fields.setting("user", "username", text, Need::Required);
            fields.secret("password", "password", new_secret_text, Need::Required);
        }
        (Provider::Snowflake, Some(authentication)) => {
            fields.setting("user", "username", text, Need::Required);
            let (password, private_key, refresh_token) = match authentication {
                "password" => (Need::Required, Need::Unused, Need::Unused),
                "private_key" => (Need::Unused, Need::Required, Need::Unused),
                "sso" => (Need::Unused, Need::Unused, Need::Required),
                _ => (Need::Unused, Need::Unused, Need::Unused),
            };
            fields.secret("password", "password", new_secret_text, password);
            fields.secret("privateKey", "private_key", pem_private_key, private_key);
            let passphrase = private_key.or_optional();
            fields.secret(
                "privateKeyPass",
                "private_key_passphrase",
                new_secret_text,
                passphrase,
            );
            fields.secret(
                "refreshToken",
                "refresh_token",
                new_secret_text,
                refresh_token,
            );
        }
        (Provider::Bigquery, Some(authentication)) => fields.keyfile(authentication),
        (Provider::Databricks, Some(authentication)) => {
            fields.setting("serverHostName", "server_host_name", host, Need::Optional);
            fields.setting("httpPath", "http_path", text, Need::Optional);
            fields.setting("database", "database", database_object, Need::Optional);
            let (token, client_id, client_secret, refresh_token) = match authentication {
                "oauth_m2m" => (Need::Unused, Need::Required, Need::Required, Need::Unused),
                "oauth_u2m" => (Need::Unused, Need::Optional, Need::Optional, Need::Required),
                _ => (Need::Required, Need::Optional, Need::Unused, Need::Unused),
            };
            fields.setting("oauthClientId", "oauth_client_id", text, client_id);
            fields.secret(
                "personalAccessToken",
                "personal_access_token",
                new_secret_text,
                token,
            );
            fields.secret(
                "oauthClientSecret",
                "oauth_client_secret",
                new_secret_text,
                client_secret,
            );
            fields.secret(
                "refreshToken",
                "refresh_token",
                new_secret_text,
                refresh_token,
            );
        }
        (Provider::Athena, _) => {
            // An access key, or none at all (the warehouse's own IAM role); never half of one,
            // nor half of a new one beside half of the stored one.
            let sent = ["accessKeyId", "secretAccessKey"].map(|name| fields.c.contains(name));
            let pair = if sent.contains(&true) {
                Need::Required
            } else {
                Need::Optional
            };
            if fields.keeps_secrets && sent[0] != sent[1] {
                let missing = if sent[0] {
                    "secretAccessKey"
                } else {
                    "accessKeyId"
                };
                fields
                    .errors
                    .push(fields.c.path_of(missing), Problem::Missing);
            }
            fields.secret("accessKeyId", "access_key_id", access_key_id, pair);
            fields.secret(
                "secretAccessKey",
                "secret_access_key",
                new_secret_text,
                pair,
            );
        }
        (Provider::Duckdb, _) => {
            fields.secret("token", "token", new_secret_text, Need::Required);
        }
        _ => return None,
    }
    Some(Parsed {
        input: fields.input,
        keeps_secrets,
    })
}

/// An AWS access key id: letters and digits, 16 to 128 of them.
fn access_key_id(value: &str) -> Result<(), Problem> {
    identifier(value)?;
    if (16..=128).contains(&value.len()) && !value.contains(['_', '-']) {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: "an AWS access key id (16 to 128 letters and digits)",
        })
    }
}

/// Whether a field is needed by the chosen warehouse type and authentication.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
    /// Refused when sent: the chosen authentication does not use it.
    Unused,
}

impl Need {
    /// Optional where this is required; otherwise the same.
    fn or_optional(self) -> Need {
        match self {
            Need::Required => Need::Optional,
            other => other,
        }
    }
}

/// A `credentials` object being read into the model's input.
struct Fields<'e> {
    c: JsonObject,
    input: CredentialInput,
    errors: &'e mut FieldErrors,
    /// An update of the same type and authentication: a secret left out is kept.
    keeps_secrets: bool,
    /// The settings of the credential an update changes.
    stored: Option<&'e Settings>,
}

impl Fields<'_> {
    fn unused(&mut self, name: &str) {
        if self.c.contains(name) {
            self.errors.push(
                self.c.path_of(name),
                Problem::NotAllowed {
                    reason: "is not used by the chosen authenticationType",
                },
            );
        }
        self.c.take(name);
    }

    fn setting(&mut self, name: &str, canonical: &'static str, rule: TextRule, need: Need) {
        let value = match need {
            Need::Required => self.c.text(name, rule, self.errors),
            Need::Optional => self.c.optional_text(name, rule, self.errors),
            Need::Unused => return self.unused(name),
        };
        if let Some(value) = value {
            self.input.set(canonical, value);
        }
    }

    /// A secret: required ones must be sent on create, or when an update changes the type or
    /// authentication; otherwise one left out, `null` or a redaction placeholder keeps the
    /// stored one.
    fn secret(&mut self, name: &str, canonical: &'static str, rule: TextRule, need: Need) {
        let value = match need {
            Need::Unused => return self.unused(name),
            _ if self.keeps_secrets => self.c.changed_secret(name, rule, self.errors),
            Need::Required => self.c.secret(name, rule, self.errors),
            Need::Optional => self.c.optional_secret(name, rule, self.errors),
        };
        if let Some(value) = value {
            self.input.set_secret(canonical, value);
        }
    }

    /// BigQuery's `keyfileContents`: an object of strings kept whole as the secret. With
    /// `private_key` it is a service-account key file, whose `client_email` and `project_id`
    /// are also kept as settings; `sso` and `adc` hold what those flows need.
    fn keyfile(&mut self, authentication: &str) {
        const KEYFILE: &str = "keyfileContents";
        const IDENTITY: [&str; 2] = ["client_email", "project_id"];
        if self.keeps_secrets && !self.c.contains(KEYFILE) {
            // The kept key file still says who it is.
            for name in IDENTITY {
                if let Some(value) = self.stored.and_then(|stored| stored.get(name)) {
                    self.input.set(name, value.clone());
                }
            }
            return;
        }
        let Some(mut keyfile) = self.c.object(KEYFILE, self.errors) else {
            return;
        };
        let path = self.c.path_of(KEYFILE);
        let before = self.errors.iter().count();
        let mut identity = Vec::new();
        let mut private_key = None;
        if authentication == "private_key" {
            if let Some(client_email) = keyfile.text("client_email", email, self.errors) {
                self.input.set("client_email", client_email.clone());
                identity.push(("client_email", client_email));
            }
            if let Some(project_id) = keyfile.optional_text("project_id", text, self.errors) {
                self.input.set("project_id", project_id.clone());
                identity.push(("project_id", project_id));
            }
            private_key = keyfile.secret("private_key", pem_private_key, self.errors);
        }
        let mut contents = keyfile.into_remaining();
        for (name, value) in &contents {
            if !value.is_string() {
                self.errors.push(
                    format!("{path}.{name}"),
                    Problem::WrongType {
                        expected: "a string",
                    },
                );
            }
        }
        if self.errors.iter().count() > before {
            return;
        }
        for (name, value) in identity {
            contents.insert(name.to_owned(), value.into());
        }
        let secrets: Vec<_> = private_key.iter().map(|key| ("private_key", key)).collect();
        let document = json_object_secret(contents, &secrets);
        if document.expose_secret().len() > MAX_SECRET_LEN {
            self.errors.push(
                path,
                Problem::TooLong {
                    max: MAX_SECRET_LEN,
                },
            );
            return;
        }
        self.input.set_secret("keyfile", document);
    }
}

#[cfg(test)]
mod tests {
    use credential_model::{CredentialId, OrgId, RecordKey, SecretRef, UserId};
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    const CANARY: &str = "pw-canary-3b1f";
    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n";

    fn fields(errors: &FieldErrors) -> Vec<String> {
        errors.iter().map(|e| e.field.clone()).collect()
    }

    fn document(input: &CredentialInput) -> Value {
        serde_json::from_str(input.secret_document().expose_secret()).expect("JSON")
    }

    fn created(credentials: Value) -> NewCredential {
        create(json!({"name": "mine", "credentials": credentials})).expect("valid")
    }

    fn refused(credentials: Value) -> Vec<String> {
        fields(&create(json!({"name": "mine", "credentials": credentials})).expect_err("refused"))
    }

    #[test]
    fn user_and_password_types_store_the_aws_standard_names() {
        for kind in ["postgres", "redshift", "trino", "clickhouse"] {
            let new = created(json!({"type": kind, "user": "analyst", "password": CANARY}));
            assert_eq!(new.kind, CredentialKind::UserWarehouseCredential);
            assert_eq!(new.input.provider().as_str(), kind);
            assert_eq!(new.input.settings()["username"].as_text(), Some("analyst"));
            assert_eq!(
                document(&new.input),
                json!({"engine": kind, "username": "analyst", "password": CANARY})
            );
            assert_eq!(new.attributes[NAME].as_text(), Some("mine"));
            assert!(!format!("{new:?}").contains(CANARY));
        }
    }

    #[test]
    fn the_password_is_required_except_for_redshift() {
        for kind in ["postgres", "trino", "clickhouse"] {
            assert_eq!(
                refused(json!({"type": kind, "user": "u"})),
                ["credentials.password"]
            );
        }
        let new = created(json!({"type": "redshift", "user": "u"}));
        assert!(new.input.secrets().is_empty());
    }

    #[test]
    fn snowflake_needs_the_secret_of_its_authentication_and_refuses_the_others() {
        let new = created(json!({"type": "snowflake", "user": "u", "password": CANARY}));
        assert_eq!(
            new.input.settings()["authentication_type"].as_text(),
            Some("password")
        );
        let new = created(json!({"type": "snowflake", "user": "u",
            "authenticationType": "private_key", "privateKey": PEM, "privateKeyPass": "pass"}));
        assert_eq!(
            new.input.secrets().names().collect::<Vec<_>>(),
            ["private_key", "private_key_passphrase"]
        );
        let new = created(json!({"type": "snowflake", "user": "u",
            "authenticationType": "sso", "refreshToken": CANARY}));
        assert_eq!(
            new.input.secrets().names().collect::<Vec<_>>(),
            ["refresh_token"]
        );
        for authentication in ["external_browser", "none"] {
            let new = created(
                json!({"type": "snowflake", "user": "u", "authenticationType": authentication}),
            );
            assert!(new.input.secrets().is_empty());
        }
        assert_eq!(
            refused(
                json!({"type": "snowflake", "user": "u", "authenticationType": "sso",
                "password": "p"})
            ),
            ["credentials.password", "credentials.refreshToken"]
        );
        assert_eq!(
            refused(json!({"type": "snowflake", "user": "u",
                "authenticationType": "private_key", "privateKey": "not a key"})),
            ["credentials.privateKey"]
        );
        assert_eq!(
            refused(json!({"type": "snowflake", "user": "u", "authenticationType": "oauth"})),
            ["credentials.authenticationType", "credentials.password"]
        );
    }

    #[test]
    fn bigquery_keeps_the_key_file_whole_as_the_secret() {
        let keyfile = json!({"type": "service_account", "project_id": "analytics-prod",
            "private_key_id": "abc", "private_key": PEM,
            "client_email": "bi@analytics-prod.iam.gserviceaccount.com"});
        let new = created(json!({"type": "bigquery", "keyfileContents": keyfile}));
        assert_eq!(
            new.input.settings()["client_email"].as_text(),
            Some("bi@analytics-prod.iam.gserviceaccount.com")
        );
        assert_eq!(
            new.input.settings()["project_id"].as_text(),
            Some("analytics-prod")
        );
        assert_eq!(document(&new.input)["keyfile"], keyfile);
        assert!(!format!("{:?}", new.input.settings()).contains("PRIVATE KEY"));

        let adc = created(json!({"type": "bigquery", "authenticationType": "adc",
            "keyfileContents": {}}));
        assert_eq!(document(&adc.input)["keyfile"], json!({}));
        assert_eq!(
            refused(json!({"type": "bigquery", "keyfileContents": {"client_email": "x@y.z"}})),
            ["credentials.keyfileContents.private_key"]
        );
        assert_eq!(
            refused(json!({"type": "bigquery", "authenticationType": "sso",
                "keyfileContents": {"refresh_token": 7}})),
            ["credentials.keyfileContents.refresh_token"]
        );
        assert_eq!(
            refused(json!({"type": "bigquery"})),
            ["credentials.keyfileContents"]
        );
    }

    #[test]
    fn databricks_reads_each_authentication_type() {
        let new = created(json!({"type": "databricks", "personalAccessToken": CANARY,
            "serverHostName": "dbc-1.cloud.databricks.com", "httpPath": "/sql/1.0/warehouses/1",
            "database": "main"}));
        let settings = new.input.settings();
        assert_eq!(
            settings["server_host_name"].as_text(),
            Some("dbc-1.cloud.databricks.com")
        );
        assert_eq!(
            settings["authentication_type"].as_text(),
            Some("personal_access_token")
        );
        let m2m = created(
            json!({"type": "databricks", "authenticationType": "oauth_m2m",
            "oauthClientId": "client", "oauthClientSecret": CANARY}),
        );
        assert_eq!(
            m2m.input.secrets().names().collect::<Vec<_>>(),
            ["oauth_client_secret"]
        );
        let u2m = created(
            json!({"type": "databricks", "authenticationType": "oauth_u2m",
            "refreshToken": CANARY}),
        );
        assert_eq!(
            u2m.input.secrets().names().collect::<Vec<_>>(),
            ["refresh_token"]
        );
        assert_eq!(
            refused(
                json!({"type": "databricks", "authenticationType": "oauth_m2m",
                "personalAccessToken": "t"})
            ),
            [
                "credentials.oauthClientId",
                "credentials.personalAccessToken",
                "credentials.oauthClientSecret"
            ]
        );
        assert_eq!(
            refused(json!({"type": "databricks", "personalAccessToken": "t",
                "serverHostName": "https://dbc-1/"})),
            ["credentials.serverHostName"]
        );
    }

    #[test]
    fn athena_takes_an_access_key_whole_or_none() {
        let new = created(
            json!({"type": "athena", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "secretAccessKey": CANARY}),
        );
        assert_eq!(
            new.input.secrets().names().collect::<Vec<_>>(),
            ["access_key_id", "secret_access_key"]
        );
        assert!(
            created(json!({"type": "athena"}))
                .input
                .secrets()
                .is_empty()
        );
        assert_eq!(
            refused(json!({"type": "athena", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"})),
            ["credentials.secretAccessKey"]
        );
        assert_eq!(
            refused(json!({"type": "athena", "accessKeyId": "ak", "secretAccessKey": "s"})),
            ["credentials.accessKeyId"]
        );
    }

    #[test]
    fn duckdb_needs_its_token() {
        let new = created(json!({"type": "duckdb", "token": CANARY}));
        assert_eq!(
            document(&new.input),
            json!({"engine": "duckdb", "token": CANARY})
        );
        assert_eq!(refused(json!({"type": "duckdb"})), ["credentials.token"]);
    }

    #[test]
    fn bad_bodies_name_every_field_at_fault() {
        let errors = create(json!({})).expect_err("refused");
        assert_eq!(fields(&errors), ["name", "credentials"]);
        let errors =
            create(json!({"name": "", "credentials": {"type": "oracle"}})).expect_err("refused");
        assert_eq!(fields(&errors), ["name", "credentials.type"]);
        let errors = create(
            json!({"name": 5, "credentials": {"type": "postgres", "user": 1,
            "password": "********"}}),
        )
        .expect_err("refused");
        assert_eq!(
            fields(&errors),
            ["name", "credentials.user", "credentials.password"]
        );
        assert!(!errors.to_string().contains("********"));
        let errors = create(json!({"name": "n", "credentials": []})).expect_err("refused");
        assert_eq!(fields(&errors), ["credentials"]);
        assert_eq!(fields(&create(json!([])).expect_err("refused")), ["body"]);
    }

    fn stored(credentials: Value) -> CredentialRecord {
        let new = created(credentials);
        let id = CredentialId::generate();
        let organization = OrgId::parse("org_a").expect("org");
        let owner = UserId::parse("user_a").expect("user");
        let at = credential_model::credential::now();
        CredentialRecord {
            key: RecordKey::owned(organization, new.kind, &owner, id),
            id,
            kind: new.kind,
            provider: new.input.provider(),
            settings: new.input.settings().clone(),
            attributes: new.attributes,
            secret: SecretRef("arn:secret".into()),
            secret_version: "v1".into(),
            created_by: owner,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn change(body: Value, stored: &CredentialRecord) -> CredentialChange {
        match update(body, stored).expect("valid") {
            Update::Credentials(change) => change,
            Update::Rename(_) => panic!("a rename, not a change of credentials"),
        }
    }

    #[test]
    fn a_rename_leaves_the_credentials_alone() {
        let postgres = stored(json!({"type": "postgres", "user": "u", "password": CANARY}));
        let Ok(Update::Rename(attributes)) = update(json!({"name": "renamed"}), &postgres) else {
            panic!("a rename");
        };
        assert_eq!(attributes[NAME].as_text(), Some("renamed"));
        let Ok(Update::Rename(attributes)) = update(json!({}), &postgres) else {
            panic!("nothing to change");
        };
        assert_eq!(attributes, postgres.attributes);
    }

    #[test]
    fn an_update_of_the_same_kind_keeps_the_secrets_it_omits() {
        let postgres = stored(json!({"type": "postgres", "user": "u", "password": CANARY}));
        for omitted in [
            json!({"type": "postgres", "user": "v"}),
            json!({"type": "postgres", "user": "v", "password": null}),
            json!({"type": "postgres", "user": "v", "password": "********"}),
        ] {
            let change = change(json!({ "credentials": omitted }), &postgres);
            assert!(change.keep_missing_secrets);
            assert!(change.input.secrets().is_empty());
            assert_eq!(change.input.settings()["username"].as_text(), Some("v"));
        }
        let change = change(
            json!({"credentials": {"type": "postgres", "user": "v", "password": "new"}}),
            &postgres,
        );
        assert_eq!(
            change.input.secrets().names().collect::<Vec<_>>(),
            ["password"]
        );
    }

    #[test]
    fn a_new_type_or_authentication_brings_its_own_secrets() {
        let postgres = stored(json!({"type": "postgres", "user": "u", "password": CANARY}));
        let errors = match update(
            json!({"credentials": {"type": "trino", "user": "u"}}),
            &postgres,
        ) {
            Err(errors) => errors,
            Ok(_) => panic!("a new type without its password was accepted"),
        };
        assert_eq!(fields(&errors), ["credentials.password"]);
        let snowflake = stored(json!({"type": "snowflake", "user": "u", "password": CANARY}));
        let change = change(
            json!({"credentials": {"type": "snowflake", "user": "u",
                "authenticationType": "sso", "refreshToken": "rt"}}),
            &snowflake,
        );
        assert!(
            !change.keep_missing_secrets,
            "the password is not carried over"
        );
        assert!(
            update(
                json!({"credentials": {"type": "snowflake", "user": "u",
                    "authenticationType": "sso"}}),
                &snowflake
            )
            .is_err()
        );
    }

    #[test]
    fn an_update_keeps_a_bigquery_key_file_it_omits_and_replaces_one_it_sends() {
        let bigquery = stored(json!({"type": "bigquery", "keyfileContents": {
            "private_key": PEM, "client_email": "a@b.iam.gserviceaccount.com"}}));
        let kept = change(json!({"credentials": {"type": "bigquery"}}), &bigquery);
        assert!(kept.keep_missing_secrets && kept.input.secrets().is_empty());
        assert_eq!(kept.input.settings(), &bigquery.settings);
        let replaced = change(
            json!({"credentials": {"type": "bigquery", "keyfileContents": {
                "private_key": PEM, "client_email": "c@d.iam.gserviceaccount.com"}}}),
            &bigquery,
        );
        assert_eq!(
            replaced.input.secrets().names().collect::<Vec<_>>(),
            ["keyfile"]
        );
    }
}
