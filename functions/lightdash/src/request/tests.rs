use credential_model::validation::FieldPath;
use credential_model::{CredentialId, CredentialKind, OrgId, RecordKey, UserId, json, testing};
use secrecy::ExposeSecret;
use serde_json::json;

use super::*;

const CANARY: &str = "pw-canary-3b1f";
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n";

fn fields(errors: &FieldErrors) -> Vec<String> {
    errors.iter().map(|e| e.path.to_string()).collect()
}

/// `parse` of `body`, as the handlers call it.
fn with_body<T>(body: Value, parse: impl FnOnce(&JsonBody<'_>) -> T) -> T {
    let text = body.to_string();
    parse(&JsonBody {
        value: json::parse(&text).expect("JSON"),
        path: FieldPath::root(),
    })
}

fn created_from(body: Value) -> Result<NewCredential<UserCredentials>, FieldErrors> {
    with_body(body, create)
}

fn created(credentials: Value) -> NewCredential<UserCredentials> {
    created_from(json!({"name": "mine", "credentials": credentials})).expect("valid")
}

fn refused(credentials: Value) -> Vec<String> {
    fields(&created_from(json!({"name": "mine", "credentials": credentials})).expect_err("refused"))
}

fn stored_document(document: &Document) -> Value {
    serde_json::from_str(document.render().expose_secret()).expect("JSON")
}

/// The names of the document's secrets: what it stores beyond its settings.
fn secrets(document: &Document) -> Vec<String> {
    let settings = document.settings();
    let stored = stored_document(document);
    stored
        .as_object()
        .expect("an object")
        .keys()
        .filter(|name| *name != "engine" && !settings.contains_key(*name))
        .cloned()
        .collect()
}

fn text_setting(document: &Document, name: &str) -> Option<String> {
    document
        .settings()
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[test]
fn user_and_password_types_store_the_aws_standard_names() {
    for kind in ["postgres", "redshift", "trino", "clickhouse"] {
        let new = created(json!({"type": kind, "user": "analyst", "password": CANARY}));
        assert_eq!(new.document.provider().as_str(), kind);
        assert_eq!(
            text_setting(&new.document, "username").as_deref(),
            Some("analyst")
        );
        assert_eq!(
            stored_document(&new.document),
            json!({"engine": kind, "username": "analyst", "password": CANARY})
        );
        assert_eq!(new.attributes.name, "mine");
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
    assert!(secrets(&new.document).is_empty());
}

#[test]
fn snowflake_needs_the_secret_of_its_authentication_and_refuses_the_others() {
    let new = created(json!({"type": "snowflake", "user": "u", "password": CANARY}));
    assert_eq!(
        text_setting(&new.document, "authentication_type").as_deref(),
        Some("password")
    );
    let new = created(json!({"type": "snowflake", "user": "u",
        "authenticationType": "private_key", "privateKey": PEM, "privateKeyPass": "pass"}));
    assert_eq!(
        secrets(&new.document),
        ["private_key", "private_key_passphrase"]
    );
    let new = created(json!({"type": "snowflake", "user": "u",
        "authenticationType": "sso", "refreshToken": CANARY}));
    assert_eq!(secrets(&new.document), ["refresh_token"]);
    for authentication in ["external_browser", "none"] {
        let new = created(
            json!({"type": "snowflake", "user": "u", "authenticationType": authentication}),
        );
        assert!(secrets(&new.document).is_empty());
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
fn bigquery_keeps_the_key_file_whole_and_exactly_as_the_secret() {
    let keyfile = json!({"type": "service_account", "project_id": "analytics-prod",
        "private_key_id": "abc", "private_key": PEM,
        "client_email": "bi@analytics-prod.iam.gserviceaccount.com"});
    let new = created(json!({"type": "bigquery", "keyfileContents": keyfile}));
    assert_eq!(
        text_setting(&new.document, "client_email").as_deref(),
        Some("bi@analytics-prod.iam.gserviceaccount.com")
    );
    assert_eq!(
        text_setting(&new.document, "project_id").as_deref(),
        Some("analytics-prod")
    );
    assert_eq!(stored_document(&new.document)["keyfile"], keyfile);
    assert!(!format!("{:?}", new.document.settings()).contains("PRIVATE KEY"));

    let adc = created(json!({"type": "bigquery", "authenticationType": "adc",
        "keyfileContents": {}}));
    assert_eq!(stored_document(&adc.document)["keyfile"], json!({}));
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
    assert_eq!(
        text_setting(&new.document, "server_host_name").as_deref(),
        Some("dbc-1.cloud.databricks.com")
    );
    assert_eq!(
        text_setting(&new.document, "authentication_type").as_deref(),
        Some("personal_access_token")
    );
    let m2m = created(
        json!({"type": "databricks", "authenticationType": "oauth_m2m",
        "oauthClientId": "client", "oauthClientSecret": CANARY}),
    );
    assert_eq!(secrets(&m2m.document), ["oauth_client_secret"]);
    let u2m = created(
        json!({"type": "databricks", "authenticationType": "oauth_u2m",
        "refreshToken": CANARY}),
    );
    assert_eq!(secrets(&u2m.document), ["refresh_token"]);
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
        secrets(&new.document),
        ["access_key_id", "secret_access_key"]
    );
    assert!(secrets(&created(json!({"type": "athena"})).document).is_empty());
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
        stored_document(&new.document),
        json!({"engine": "duckdb", "token": CANARY})
    );
    assert_eq!(refused(json!({"type": "duckdb"})), ["credentials.token"]);
}

#[test]
fn bad_bodies_name_every_field_at_fault() {
    let errors = created_from(json!({})).expect_err("refused");
    assert_eq!(fields(&errors), ["name", "credentials"]);
    let errors =
        created_from(json!({"name": "", "credentials": {"type": "oracle"}})).expect_err("refused");
    assert_eq!(fields(&errors), ["name", "credentials.type"]);
    let errors = created_from(
        json!({"name": 5, "credentials": {"type": "postgres", "user": 1,
        "password": "********"}}),
    )
    .expect_err("refused");
    assert_eq!(
        fields(&errors),
        ["name", "credentials.user", "credentials.password"]
    );
    assert!(!errors.to_string().contains("********"));
    let errors = created_from(json!({"name": "n", "credentials": []})).expect_err("refused");
    assert_eq!(fields(&errors), ["credentials"]);
    assert_eq!(
        fields(&created_from(json!([])).expect_err("refused")),
        ["body"]
    );
    let errors = created_from(
        json!({"name": "two\nlines", "credentials": {"type": "duckdb",
        "token": CANARY}}),
    )
    .expect_err("refused");
    assert_eq!(fields(&errors), ["name"]);
}

/// The credential `credentials` describe, as stored, and its stored document.
fn stored(credentials: Value) -> (CredentialRecord<UserCredentials>, SecretString) {
    let new = created(credentials);
    let id = CredentialId::generate();
    let owner = UserId::parse("user_a").expect("user");
    let org = OrgId::parse("org_a").expect("org");
    let key = RecordKey::owned(org, CredentialKind::UserWarehouseCredential, &owner, id);
    let (provider, settings) = (new.document.provider(), new.document.settings());
    let record = testing::record(key, id, provider, settings, new.attributes);
    (record, new.document.render())
}

fn change(
    body: Value,
    stored: &CredentialRecord<UserCredentials>,
) -> CredentialChange<UserCredentials> {
    with_body(body, |body| update(body, stored)).expect("valid")
}

/// The document an update stores: what it sent, completed from what was stored.
fn completed(mut document: Document, stored: &SecretString) -> Value {
    document.keep_from(stored);
    stored_document(&document)
}

#[test]
fn a_rename_leaves_the_credentials_alone() {
    let (postgres, _) = stored(json!({"type": "postgres", "user": "u", "password": CANARY}));
    let renamed = change(json!({"name": "renamed"}), &postgres);
    assert_eq!(renamed.attributes.name, "renamed");
    assert!(renamed.document.is_none());
    let unchanged = change(json!({}), &postgres);
    assert_eq!(unchanged.attributes, postgres.attributes);
    assert!(unchanged.document.is_none());
}

#[test]
fn an_update_of_the_same_kind_keeps_the_secrets_it_omits() {
    let (postgres, document) = stored(json!({"type": "postgres", "user": "u", "password": CANARY}));
    for omitted in [
        json!({"type": "postgres", "user": "v"}),
        json!({"type": "postgres", "user": "v", "password": null}),
        json!({"type": "postgres", "user": "v", "password": "********"}),
    ] {
        let sent = change(json!({ "credentials": omitted }), &postgres)
            .document
            .expect("credentials");
        assert!(!sent.has_new_secrets() && sent.needs_stored());
        assert_eq!(
            completed(sent, &document),
            json!({"engine": "postgres", "username": "v", "password": CANARY})
        );
    }
    let sent = change(
        json!({"credentials": {"type": "postgres", "user": "v", "password": "new"}}),
        &postgres,
    )
    .document
    .expect("credentials");
    assert!(sent.has_new_secrets());
    assert_eq!(completed(sent, &document)["password"], "new");
}

#[test]
fn a_new_type_or_authentication_brings_its_own_secrets() {
    let (postgres, _) = stored(json!({"type": "postgres", "user": "u", "password": CANARY}));
    let errors = with_body(
        json!({"credentials": {"type": "trino", "user": "u"}}),
        |body| update(body, &postgres),
    )
    .expect_err("a new type without its password was refused");
    assert_eq!(fields(&errors), ["credentials.password"]);
    let (snowflake, document) =
        stored(json!({"type": "snowflake", "user": "u", "password": CANARY}));
    let sent = change(
        json!({"credentials": {"type": "snowflake", "user": "u",
            "authenticationType": "sso", "refreshToken": "rt"}}),
        &snowflake,
    )
    .document
    .expect("credentials");
    assert!(
        !completed(sent, &document).to_string().contains(CANARY),
        "the password is not carried over"
    );
    assert!(
        with_body(
            json!({"credentials": {"type": "snowflake", "user": "u", "authenticationType": "sso"}}),
            |body| update(body, &snowflake)
        )
        .is_err()
    );
}

#[test]
fn an_update_keeps_a_bigquery_key_file_it_omits_or_parts_it_sends_as_placeholders() {
    let (bigquery, document) = stored(json!({"type": "bigquery", "keyfileContents": {
        "private_key": PEM, "client_email": "a@b.iam.gserviceaccount.com"}}));
    let kept = change(json!({"credentials": {"type": "bigquery"}}), &bigquery)
        .document
        .expect("credentials");
    assert!(!kept.has_new_secrets());
    assert_eq!(kept.settings(), bigquery.settings);
    let with_placeholder = change(
        json!({"credentials": {"type": "bigquery", "keyfileContents": {
            "private_key": "********", "client_email": "c@d.iam.gserviceaccount.com"}}}),
        &bigquery,
    )
    .document
    .expect("credentials");
    assert_eq!(
        completed(with_placeholder, &document)["keyfile"],
        json!({"private_key": PEM, "client_email": "c@d.iam.gserviceaccount.com"})
    );
    let replaced = change(
        json!({"credentials": {"type": "bigquery", "keyfileContents": {
            "private_key": PEM, "client_email": "c@d.iam.gserviceaccount.com"}}}),
        &bigquery,
    )
    .document
    .expect("credentials");
    assert_eq!(secrets(&replaced), ["keyfile"]);
}
