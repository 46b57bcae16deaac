//! The create-or-update request: `provider`, `project_id`, `dataset_id` and the
//! provider-specific `credentials`, validated field by field before anything is written.

use credential_model::secret::json_object_secret;
use credential_model::validation::{
    FieldErrors, JsonObject, Problem, database_object, email, host, new_secret_text,
    pem_private_key, text,
};
use credential_model::{CredentialInput, CredentialKind, NewCredential, Provider, Settings};
use serde_json::Value;

/// The providers Levered documents, in its words.
pub(crate) const PROVIDERS: [&str; 3] = ["bigquery", "snowflake", "postgres"];
/// `sslmode` values accepted for postgres: libpq's meanings (an extension to Levered's list).
const SSL_MODES: [&str; 4] = ["disable", "prefer", "require", "verify-full"];

pub(crate) const PROJECT_ID: &str = "project_id";
pub(crate) const DATASET_ID: &str = "dataset_id";

/// Parses and validates a create-or-update body into the credential to store.
pub(crate) fn parse(body: Value) -> Result<NewCredential, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut body = JsonObject::root(body)?;
    let provider = body
        .one_of("provider", &PROVIDERS, &mut errors)
        .and_then(Provider::parse);
    let project_id = body.optional_text(PROJECT_ID, text, &mut errors);
    let dataset_id = body.optional_text(DATASET_ID, text, &mut errors);
    let credentials = body.object("credentials", &mut errors);

    let input = match (provider, credentials) {
        (Some(Provider::Postgres), Some(c)) => {
            Some(postgres(c, dataset_id.as_deref(), &mut errors))
        }
        (Some(Provider::Snowflake), Some(c)) => Some(snowflake(c, &mut errors)),
        (Some(Provider::Bigquery), Some(c)) => {
            if project_id.is_none() && !errors.iter().any(|e| e.field == PROJECT_ID) {
                errors.push(PROJECT_ID, Problem::Missing);
            }
            Some(bigquery(
                c,
                project_id.as_deref(),
                dataset_id.as_deref(),
                &mut errors,
            ))
        }
        _ => None,
    };
    let mut attributes = Settings::new();
    if let Some(project_id) = project_id {
        attributes.insert(PROJECT_ID.into(), project_id.into());
    }
    if let Some(dataset_id) = dataset_id {
        attributes.insert(DATASET_ID.into(), dataset_id.into());
    }
    match input {
        Some(input) if errors.is_empty() => Ok(NewCredential {
            kind: CredentialKind::WarehouseConnection,
            input,
            attributes,
        }),
        _ => Err(errors),
    }
}

/// Postgres: host, port, database, username, password.
fn postgres(mut c: JsonObject, schema: Option<&str>, errors: &mut FieldErrors) -> CredentialInput {
    let mut input = CredentialInput::new(Provider::Postgres);
    if let Some(host) = c.text("host", host, errors) {
        input.set("host", host);
    }
    if let Some(port) = c.port("port", errors) {
        input.set("port", port);
    }
    if let Some(database) = c.text("database", database_object, errors) {
        input.set("dbname", database);
    }
    if let Some(username) = c.text("username", database_object, errors) {
        input.set("username", username);
    }
    if let Some(password) = c.secret("password", new_secret_text, errors) {
        input.set_secret("password", password);
    }
    if let Some(mode) = c.optional_one_of("sslmode", &SSL_MODES, errors) {
        input.set("sslmode", mode);
    }
    if let Some(schema) = schema {
        input.set("schema", schema);
    }
    input
}

/// Snowflake: account, username, password, warehouse, database, schema.
fn snowflake(mut c: JsonObject, errors: &mut FieldErrors) -> CredentialInput {
    let mut input = CredentialInput::new(Provider::Snowflake);
    input.set("authentication_type", "password");
    for (field, rule) in [
        ("account", text as fn(&str) -> Result<(), Problem>),
        ("username", text),
        ("warehouse", text),
        ("database", text),
    ] {
        if let Some(value) = c.text(field, rule, errors) {
            input.set(field, value);
        }
    }
    if let Some(schema) = c.optional_text("schema", text, errors) {
        input.set("schema", schema);
    }
    if let Some(password) = c.secret("password", new_secret_text, errors) {
        input.set_secret("password", password);
    }
    input
}

/// BigQuery: a service-account key file (type, project_id, private_key, client_email), kept
/// whole as the secret.
fn bigquery(
    mut c: JsonObject,
    project_id: Option<&str>,
    dataset: Option<&str>,
    errors: &mut FieldErrors,
) -> CredentialInput {
    let mut input = CredentialInput::new(Provider::Bigquery);
    input.set("authentication_type", "private_key");
    if let Some(project_id) = project_id {
        input.set("project_id", project_id);
    }
    if let Some(dataset) = dataset {
        input.set("dataset", dataset);
    }
    let kind = c.one_of("type", &["service_account"], errors);
    let key_project = c.text("project_id", text, errors);
    let client_email = c.text("client_email", email, errors);
    let private_key = c.secret("private_key", pem_private_key, errors);
    if let (Some(kind), Some(key_project), Some(client_email), Some(private_key)) =
        (kind, key_project, client_email, private_key)
    {
        input.set("client_email", client_email.clone());
        let mut fields = c.into_remaining();
        fields.insert("type".into(), kind.into());
        fields.insert("project_id".into(), key_project.into());
        fields.insert("client_email".into(), client_email.into());
        input.set_secret(
            "keyfile",
            json_object_secret(fields, &[("private_key", &private_key)]),
        );
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    fn fields(errors: &FieldErrors) -> Vec<String> {
        errors.iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn postgres_splits_settings_from_the_password() {
        let new = parse(json!({
            "provider": "postgres",
            "dataset_id": "public",
            "credentials": {"host": "db.example.com", "port": 5432, "database": "analytics",
                            "username": "levered", "password": "pw-canary"}
        }))
        .expect("valid");
        let settings = new.input.settings();
        assert_eq!(settings["host"].as_text(), Some("db.example.com"));
        assert_eq!(settings["port"].as_integer(), Some(5432));
        assert_eq!(settings["dbname"].as_text(), Some("analytics"));
        assert!(!format!("{settings:?} {:?}", new.attributes).contains("pw-canary"));
        assert!(
            new.input
                .secret_document()
                .expose_secret()
                .contains("pw-canary")
        );
    }

    #[test]
    fn every_missing_postgres_field_is_named() {
        let errors =
            parse(json!({"provider": "postgres", "credentials": {}})).expect_err("invalid");
        assert_eq!(
            fields(&errors),
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
        let errors = parse(json!({"provider": "oracle", "credentials": []})).expect_err("invalid");
        assert_eq!(fields(&errors), ["provider", "credentials"]);
        let errors = parse(json!({"provider": "postgres", "credentials": {
            "host": "db", "port": "5432", "database": "d", "username": "u", "password": "p"}}))
        .expect_err("invalid");
        assert_eq!(fields(&errors), ["credentials.port"]);
    }

    #[test]
    fn bigquery_needs_a_project_and_a_service_account_key() {
        let errors = parse(json!({"provider": "bigquery", "credentials": {
            "type": "authorized_user", "project_id": "p", "client_email": "not-an-email",
            "private_key": "not a key"}}))
        .expect_err("invalid");
        assert_eq!(
            fields(&errors),
            [
                "project_id",
                "credentials.type",
                "credentials.client_email",
                "credentials.private_key"
            ]
        );
    }

    #[test]
    fn bigquery_key_file_is_kept_whole_as_the_secret() {
        let new = parse(json!({
            "provider": "bigquery", "project_id": "my-gcp-project", "dataset_id": "levered",
            "credentials": {
                "type": "service_account", "project_id": "my-gcp-project",
                "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
                "client_email": "levered@my-gcp-project.iam.gserviceaccount.com",
                "private_key_id": "kid"
            }
        }))
        .expect("valid");
        let document: Value =
            serde_json::from_str(new.input.secret_document().expose_secret()).expect("JSON");
        assert_eq!(document["keyfile"]["private_key_id"], "kid");
        assert_eq!(document["keyfile"]["type"], "service_account");
        assert!(
            document["keyfile"]["private_key"]
                .as_str()
                .is_some_and(|k| k.contains("abc"))
        );
        assert_eq!(
            new.attributes["project_id"].as_text(),
            Some("my-gcp-project")
        );
        assert!(!new.input.settings().contains_key("keyfile"));
    }

    #[test]
    fn snowflake_requires_its_documented_fields() {
        let errors = parse(json!({"provider": "snowflake", "credentials": {"account": "xy123"}}))
            .expect_err("invalid");
        assert_eq!(
            fields(&errors),
            [
                "credentials.username",
                "credentials.warehouse",
                "credentials.database",
                "credentials.password"
            ]
        );
    }
}
