//! What clients send: Lightdash's `UpsertUserWarehouseCredentials` (`name` and the
//! `credentials` of one warehouse type), validated field by field before anything is written.
//!
//! Lightdash's field names are camelCase; the stored connection's are those of the AWS
//! standard secret format (`username`, `password`) and the model's connection types. Each
//! warehouse type reads its own fields and, where it has several ways to authenticate,
//! requires the secrets of the chosen `authenticationType` and refuses the others, so a stored
//! credential never carries a secret it does not use.

use credential_model::connection::{
    Athena, Bigquery, DatabaseLogin, Databricks, Duckdb, Snowflake,
};
use credential_model::validation::{
    FieldErrors, MAX_SECRET_LEN, Problem, access_key_id, database_object, email, host,
    is_redaction_placeholder, new_secret_text, pem_private_key, text,
};
use credential_model::{
    CredentialChange, CredentialRecord, Document, NewCredential, Provider, SecretValue,
};
use secrecy::SecretString;
use serde_json::Value;
use strongroom_edge::JsonBody;
use strongroom_edge::input::{Field, Object, Read, Reader};

use crate::UserCredentials;

const AUTHENTICATION_TYPE: &str = "authenticationType";
/// Where the stored connection keeps the chosen authentication type.
const AUTHENTICATION_SETTING: &str = "authentication_type";

/// Lightdash's `WarehouseTypes`, in the order of its `anyOf`. Each is the name of the model's
/// provider of the same name.
const WAREHOUSE_TYPES: [&str; 9] = [
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
pub(crate) fn create(body: &JsonBody<'_>) -> Result<NewCredential<UserCredentials>, FieldErrors> {
    let reader = Reader::new();
    let parsed = reader.object(body).and_then(|body| {
        let (name, document) = name_and_credentials(&body, None);
        Some(NewCredential {
            document: document?,
            attributes: UserCredentials { name: name? },
            expires_at: None,
        })
    });
    reader.finish(parsed)
}

/// A validated `PATCH` body for `stored`. `name` and `credentials` are each optional; sent
/// `credentials` describe the warehouse whole, except that a secret left out (or sent as a
/// redaction placeholder) is kept when the warehouse type and `authenticationType` stay the
/// same. A new type or authentication brings every secret it needs.
pub(crate) fn update(
    body: &JsonBody<'_>,
    stored: &CredentialRecord<UserCredentials>,
) -> Result<CredentialChange<UserCredentials>, FieldErrors> {
    let reader = Reader::new();
    let parsed = reader.object(body).map(|body| {
        let (name, document) = name_and_credentials(&body, Some(stored));
        let name = name.unwrap_or_else(|| stored.attributes.name.clone());
        CredentialChange {
            document,
            attributes: UserCredentials { name },
            expires_at: stored.expires_at,
        }
    });
    reader.finish(parsed)
}

/// The body's `name` and `credentials`: both required to create (`stored` is `None`), each
/// optional to update `stored`.
fn name_and_credentials(
    body: &Object<'_>,
    stored: Option<&CredentialRecord<UserCredentials>>,
) -> (Option<String>, Option<Document>) {
    fn needed<T>(read: Read<'_, T>, creating: bool) -> Option<T> {
        if creating {
            read.required()
        } else {
            read.optional()
        }
    }
    let creating = stored.is_none();
    let name = needed(body.field("name").text(text), creating);
    let credentials = needed(body.field("credentials").object(), creating);
    (
        name,
        credentials.and_then(|c| self::credentials(&c, stored)),
    )
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

/// A `credentials` object being read.
struct Fields<'c, 'a> {
    c: &'c Object<'a>,
    /// An update of the same type and authentication: a secret left out is kept.
    keeps_secrets: bool,
}

impl Fields<'_, '_> {
    fn unused(&self, name: &str) {
        if self.c.sends(name) {
            self.c.problem(
                name,
                Problem::NotAllowed {
                    reason: "is not used by the chosen authenticationType",
                },
            );
        }
    }

    /// What `read` makes of field `name`, as `need` wants it: required, optional, or refused
    /// when sent.
    fn needed<'f, T>(
        &'f self,
        name: &str,
        need: Need,
        read: impl FnOnce(Field<'f>) -> Read<'f, T>,
    ) -> Option<T> {
        match need {
            Need::Required => read(self.c.field(name)).required(),
            Need::Optional => read(self.c.field(name)).optional(),
            Need::Unused => {
                self.unused(name);
                None
            }
        }
    }

    fn setting(&self, name: &str, rule: Rule, need: Need) -> Option<String> {
        self.needed(name, need, |field| field.text(rule))
    }

    fn secret(&self, name: &str, rule: Rule, need: Need) -> Option<SecretValue> {
        let field = self.c.field(name);
        if need != Need::Unused
            && self.keeps_secrets
            && (!field.is_sent() || field.is_placeholder())
        {
            return Some(SecretValue::Kept);
        }
        self.needed(name, need, |field| field.secret(rule))
            .map(SecretValue::Text)
    }
}

/// A value rule of the model's.
type Rule = fn(&str) -> Result<(), Problem>;

/// Reads the `credentials` object of one warehouse type. `stored` is the credential an update
/// changes: when it has the same type and authentication, its secrets are kept where none is
/// sent.
fn credentials(
    c: &Object<'_>,
    stored: Option<&CredentialRecord<UserCredentials>>,
) -> Option<Document> {
    let provider = c
        .field("type")
        .one_of(&WAREHOUSE_TYPES)
        .required()
        .and_then(Provider::parse)?;
    let authentication = match provider {
        Provider::Snowflake => Some(&SNOWFLAKE_AUTHENTICATION[..]),
        Provider::Bigquery => Some(&BIGQUERY_AUTHENTICATION[..]),
        Provider::Databricks => Some(&DATABRICKS_AUTHENTICATION[..]),
        _ => None,
    }
    .map(|allowed| {
        c.field(AUTHENTICATION_TYPE)
            .one_of(allowed)
            .optional()
            .unwrap_or(allowed[0])
    });
    let keeps_secrets = stored.is_some_and(|stored| {
        stored.provider == provider
            && stored
                .settings
                .get(AUTHENTICATION_SETTING)
                .and_then(Value::as_str)
                == authentication
    });
    let fields = Fields { c, keeps_secrets };
    let authentication_type = authentication.map(str::to_owned);
    Some(match (provider, authentication) {
        (Provider::Postgres | Provider::Redshift, _) => DatabaseLogin {
            username: fields.setting("user", database_object, Need::Required),
            // Redshift may authenticate through IAM instead of a password.
            password: fields.secret(
                "password",
                new_secret_text,
                if provider == Provider::Redshift {
                    Need::Optional
                } else {
                    Need::Required
                },
            ),
            ..DatabaseLogin::default()
        }
        .document(provider),
        (Provider::Trino | Provider::Clickhouse, _) => DatabaseLogin {
            username: fields.setting("user", text, Need::Required),
            password: fields.secret("password", new_secret_text, Need::Required),
            ..DatabaseLogin::default()
        }
        .document(provider),
        (Provider::Snowflake, Some(authentication)) => {
            let (password, private_key, refresh_token) = match authentication {
                "password" => (Need::Required, Need::Unused, Need::Unused),
                "private_key" => (Need::Unused, Need::Required, Need::Unused),
                "sso" => (Need::Unused, Need::Unused, Need::Required),
                _ => (Need::Unused, Need::Unused, Need::Unused),
            };
            Snowflake {
                username: fields.setting("user", text, Need::Required),
                authentication_type,
                password: fields.secret("password", new_secret_text, password),
                private_key: fields.secret("privateKey", pem_private_key, private_key),
                private_key_passphrase: fields.secret(
                    "privateKeyPass",
                    new_secret_text,
                    private_key.or_optional(),
                ),
                refresh_token: fields.secret("refreshToken", new_secret_text, refresh_token),
                ..Snowflake::default()
            }
            .document(provider)
        }
        (Provider::Bigquery, Some(authentication)) => {
            keyfile(&fields, authentication, stored).document(provider)
        }
        (Provider::Databricks, Some(authentication)) => {
            let (token, client_id, client_secret, refresh_token) = match authentication {
                "oauth_m2m" => (Need::Unused, Need::Required, Need::Required, Need::Unused),
                "oauth_u2m" => (Need::Unused, Need::Optional, Need::Optional, Need::Required),
                _ => (Need::Required, Need::Optional, Need::Unused, Need::Unused),
            };
            Databricks {
                server_host_name: fields.setting("serverHostName", host, Need::Optional),
                http_path: fields.setting("httpPath", text, Need::Optional),
                database: fields.setting("database", database_object, Need::Optional),
                oauth_client_id: fields.setting("oauthClientId", text, client_id),
                authentication_type,
                personal_access_token: fields.secret("personalAccessToken", new_secret_text, token),
                oauth_client_secret: fields.secret(
                    "oauthClientSecret",
                    new_secret_text,
                    client_secret,
                ),
                refresh_token: fields.secret("refreshToken", new_secret_text, refresh_token),
            }
            .document(provider)
        }
        (Provider::Athena, _) => {
            // An access key, or none at all (the warehouse's own IAM role); never half of one,
            // nor half of a new one beside half of the stored one.
            let sent = ["accessKeyId", "secretAccessKey"].map(|name| c.sends(name));
            let pair = if sent.contains(&true) {
                Need::Required
            } else {
                Need::Optional
            };
            if keeps_secrets && sent[0] != sent[1] {
                let missing = if sent[0] {
                    "secretAccessKey"
                } else {
                    "accessKeyId"
                };
                c.problem(missing, Problem::Missing);
            }
            Athena {
                access_key_id: fields.secret("accessKeyId", access_key_id, pair),
                secret_access_key: fields.secret("secretAccessKey", new_secret_text, pair),
            }
            .document(provider)
        }
        (Provider::Duckdb, _) => Duckdb {
            token: fields.secret("token", new_secret_text, Need::Required),
            ..Duckdb::default()
        }
        .document(provider),
        _ => return None,
    })
}

/// BigQuery's `keyfileContents`: an object of strings kept whole, exactly as sent, as the
/// secret. With `private_key` it is a service-account key file, whose `client_email` and
/// `project_id` are also kept as settings; `sso` and `adc` hold what those flows need. On an
/// update that keeps its secrets, a key file left out is kept, and a placeholder inside the
/// one sent keeps the stored value at its place.
fn keyfile(
    fields: &Fields<'_, '_>,
    authentication: &str,
    stored: Option<&CredentialRecord<UserCredentials>>,
) -> Bigquery {
    const KEYFILE: &str = "keyfileContents";
    let mut connection = Bigquery {
        authentication_type: Some(authentication.to_owned()),
        ..Bigquery::default()
    };
    if fields.keeps_secrets && !fields.c.sends(KEYFILE) {
        // The kept key file still says who it is.
        let identity = |name: &str| {
            stored
                .and_then(|stored| stored.settings.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        connection.client_email = identity("client_email");
        connection.project_id = identity("project_id");
        connection.keyfile = Some(SecretValue::Kept);
        return connection;
    }
    let Some(keyfile) = fields.c.field(KEYFILE).object().required() else {
        return connection;
    };
    // A placeholder stands for the stored value, which was checked when it was sent.
    let keeps_secrets = fields.keeps_secrets;
    let private_key = move |value: &str| {
        if keeps_secrets && is_redaction_placeholder(value) {
            Ok(())
        } else {
            pem_private_key(value)
        }
    };
    let identified = authentication == "private_key";
    if identified {
        connection.client_email = keyfile.field("client_email").text(email).required();
        connection.project_id = keyfile.field("project_id").text(text).optional();
        keyfile.field("private_key").text(private_key).required();
    }
    for field in keyfile.fields() {
        let checked = identified
            && matches!(
                field.name(),
                Some("client_email" | "project_id" | "private_key")
            );
        if !checked {
            field.text(|_| Ok(())).optional();
        }
    }
    let sent = keyfile.value().get();
    if sent.len() > MAX_SECRET_LEN {
        fields.c.problem(
            KEYFILE,
            Problem::TooLong {
                max: MAX_SECRET_LEN,
            },
        );
        return connection;
    }
    connection.keyfile = Some(SecretValue::Json(SecretString::from(sent.to_owned())));
    connection
}

#[cfg(test)]
mod tests;
