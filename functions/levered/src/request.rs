//! The create-or-update request: `provider`, `project_id`, `dataset_id` and the
//! provider-specific `credentials`, validated field by field before anything is written.

use credential_model::connection::{Bigquery, DatabaseLogin, Snowflake};
use credential_model::validation::{
    FieldErrors, database_object, email, host, new_secret_text, pem_private_key, text,
};
use credential_model::{Document, NewCredential, Provider, SecretValue};
use secrecy::SecretString;
use strongroom_edge::JsonBody;
use strongroom_edge::input::{Object, Reader};

use crate::Connection;

/// The providers Levered documents, in its words.
const PROVIDERS: [&str; 3] = ["bigquery", "snowflake", "postgres"];
/// `sslmode` values accepted for postgres: libpq's meanings (an extension to Levered's list).
const SSL_MODES: [&str; 4] = ["disable", "prefer", "require", "verify-full"];

/// Parses and validates a create-or-update body into the connection to store.
pub(crate) fn parse(body: &JsonBody<'_>) -> Result<NewCredential<Connection>, FieldErrors> {
    let reader = Reader::new();
    let parsed = reader.object(body).and_then(|body| {
        let provider = body
            .field("provider")
            .one_of(&PROVIDERS)
            .required()
            .and_then(Provider::parse);
        let project_id = body.field("project_id").text(text);
        // A BigQuery connection names its project.
        let project_id = match provider {
            Some(Provider::Bigquery) => project_id.required(),
            _ => project_id.optional(),
        };
        let dataset_id = body.field("dataset_id").text(text).optional();
        let credentials = body.field("credentials").object().required();
        let document = match (provider?, credentials?) {
            (Provider::Postgres, c) => postgres(&c, dataset_id.clone()),
            (Provider::Snowflake, c) => snowflake(&c),
            (_, c) => bigquery(&c, project_id.clone(), dataset_id.clone()),
        };
        Some(NewCredential {
            document,
            attributes: Connection {
                project_id,
                dataset_id,
            },
            expires_at: None,
        })
    });
    reader.finish(parsed)
}

fn secret(value: SecretString) -> SecretValue {
    SecretValue::Text(value)
}

/// Postgres: host, port, database, username, password; the dataset is the schema.
fn postgres(c: &Object<'_>, schema: Option<String>) -> Document {
    DatabaseLogin {
        host: c.field("host").text(host).required(),
        port: c.field("port").port().required(),
        dbname: c.field("database").text(database_object).required(),
        username: c.field("username").text(database_object).required(),
        password: c
            .field("password")
            .secret(new_secret_text)
            .required()
            .map(secret),
        sslmode: c
            .field("sslmode")
            .one_of(&SSL_MODES)
            .optional()
            .map(str::to_owned),
        schema,
        ..DatabaseLogin::default()
    }
    .document(Provider::Postgres)
}

/// Snowflake: account, username, password, warehouse, database, schema.
fn snowflake(c: &Object<'_>) -> Document {
    Snowflake {
        account: c.field("account").text(text).required(),
        username: c.field("username").text(text).required(),
        warehouse: c.field("warehouse").text(text).required(),
        database: c.field("database").text(text).required(),
        schema: c.field("schema").text(text).optional(),
        password: c
            .field("password")
            .secret(new_secret_text)
            .required()
            .map(secret),
        authentication_type: Some("password".into()),
        ..Snowflake::default()
    }
    .document(Provider::Snowflake)
}

/// BigQuery: a service-account key file (type, project_id, private_key, client_email), kept
/// whole, exactly as sent, as the secret.
fn bigquery(c: &Object<'_>, project_id: Option<String>, dataset: Option<String>) -> Document {
    c.field("type").one_of(&["service_account"]).required();
    c.field("project_id").text(text).required();
    let client_email = c.field("client_email").text(email).required();
    c.field("private_key").secret(pem_private_key).required();
    Bigquery {
        project_id,
        dataset,
        client_email,
        authentication_type: Some("private_key".into()),
        keyfile: Some(SecretValue::Json(SecretString::from(
            c.value().get().to_owned(),
        ))),
        ..Bigquery::default()
    }
    .document(Provider::Bigquery)
}

#[cfg(test)]
mod tests {
    use credential_model::json;
    use credential_model::validation::FieldPath;
    use secrecy::ExposeSecret;
    use serde_json::{Value, json};

    use super::*;

    fn parsed(body: &Value) -> Result<NewCredential<Connection>, FieldErrors> {
        let text = body.to_string();
        parse(&JsonBody {
            value: json::parse(&text).expect("JSON"),
            path: FieldPath::root(),
        })
    }

    fn fields(body: Value) -> Vec<String> {
        parsed(&body)
            .expect_err("refused")
            .iter()
            .map(|e| e.path.to_string())
            .collect()
    }

    fn stored(new: &NewCredential<Connection>) -> Value {
        serde_json::from_str(new.document.render().expose_secret()).expect("JSON")
    }

    #[test]
    fn postgres_splits_settings_from_the_password() {
        let new = parsed(&json!({
            "provider": "postgres",
            "dataset_id": "public",
            "credentials": {"host": "db.example.com", "port": 5432, "database": "analytics",
                            "username": "levered", "password": "pw-canary"}
        }))
        .expect("valid");
        let settings = Value::Object(new.document.settings());
        assert_eq!(
            settings,
            json!({"host": "db.example.com", "port": 5432, "dbname": "analytics",
                   "username": "levered", "schema": "public"})
        );
        assert_eq!(stored(&new)["password"], "pw-canary");
        assert!(!format!("{new:?}").contains("pw-canary"));
        assert_eq!(new.attributes.dataset_id.as_deref(), Some("public"));
    }

    #[test]
    fn every_missing_postgres_field_is_named() {
        assert_eq!(
            fields(json!({"provider": "postgres", "credentials": {}})),
            [
                "credentials.host",
                "credentials.port",
                "credentials.database",
                "credentials.username",
                "credentials.password"
            ]
        );
    }

    #[test]
    fn unknown_provider_and_wrong_types_are_named() {
        assert_eq!(
            fields(json!({"provider": "oracle", "credentials": []})),
            ["provider", "credentials"]
        );
        assert_eq!(
            fields(json!({"provider": "postgres", "credentials": {
                "host": "db", "port": "5432", "database": "d", "username": "u", "password": "p"}})),
            ["credentials.port"]
        );
        assert_eq!(fields(json!(["not", "an", "object"])), ["body"]);
    }

    #[test]
    fn bigquery_needs_a_project_and_a_service_account_key() {
        assert_eq!(
            fields(json!({"provider": "bigquery", "credentials": {
                "type": "authorized_user", "project_id": "p", "client_email": "not-an-email",
                "private_key": "not a key"}})),
            [
                "project_id",
                "credentials.type",
                "credentials.client_email",
                "credentials.private_key"
            ]
        );
    }

    #[test]
    fn bigquery_key_file_is_kept_whole_and_exactly_as_the_secret() {
        let new = parsed(&json!({
            "provider": "bigquery", "project_id": "my-gcp-project", "dataset_id": "levered",
            "credentials": {
                "type": "service_account", "project_id": "my-gcp-project",
                "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
                "client_email": "levered@my-gcp-project.iam.gserviceaccount.com",
                "private_key_id": "kid"
            }
        }))
        .expect("valid");
        let document = stored(&new);
        assert_eq!(document["keyfile"]["private_key_id"], "kid");
        assert_eq!(document["keyfile"]["type"], "service_account");
        assert!(
            document["keyfile"]["private_key"]
                .as_str()
                .is_some_and(|k| k.contains("abc"))
        );
        assert_eq!(new.attributes.project_id.as_deref(), Some("my-gcp-project"));
        assert!(!new.document.settings().contains_key("keyfile"));
    }

    #[test]
    fn snowflake_requires_its_documented_fields() {
        assert_eq!(
            fields(json!({"provider": "snowflake", "credentials": {"account": "xy123"}})),
            [
                "credentials.username",
                "credentials.warehouse",
                "credentials.database",
                "credentials.password"
            ]
        );
    }
}
