//! What clients send: Credible's `Connection` (to create or test one) and the `PATCH` body of
//! its `*Connection` sub-objects, validated field by field before anything is written.
//!
//! Credible's field names are camelCase; the stored document's are those of the model's
//! connection types (the AWS standard format for SQL databases). [`SubObject`] pairs them for
//! every setting, so a read shows back exactly what was stored. A DuckDB connection nests: each
//! database it attaches is an object of the document's `attached` array, with its own engine
//! and secrets.
//!
//! On an update, a sub-object's fields merge one by one into the stored ones: a setting sent
//! replaces the stored one (`null` clears it), a setting left out is kept, and a secret left
//! out, `null` or sent as a redaction placeholder keeps the stored secret.

use credential_model::connection::{
    Bigquery, DatabaseLogin, Duckdb, ObjectStore, Snowflake, Trino,
};
use credential_model::json;
use credential_model::validation::{
    FieldErrors, Problem, access_key_id, bounded, database_object, host, new_secret_text,
    pem_private_key, text,
};
use credential_model::{
    CredentialChange, CredentialRecord, Document, NewCredential, Node, Provider, SecretValue,
};
use serde_json::{Map, Value};
use strongroom_edge::JsonBody;
use strongroom_edge::input::{Field, Object, Read, Reader, Sent};

use crate::{CONNECTION_NAME, ProjectConnection};

/// Credible's connection `type`s: each is the model's provider of the same name.
const TYPES: [&str; 7] = [
    "postgres",
    "bigquery",
    "snowflake",
    "trino",
    "mysql",
    "duckdb",
    "motherduck",
];
/// The `type`s of a database DuckDB attaches.
const ATTACHED_TYPES: [&str; 5] = ["bigquery", "snowflake", "postgres", "gcs", "s3"];
/// Where a DuckDB connection's document keeps the databases it attaches.
pub(crate) const ATTACHED: &str = "attached";
const ATTACHED_DATABASES: &str = "attachedDatabases";
/// What an attached database's `name` must look like: `^[a-zA-Z_][a-zA-Z0-9_]*$`.
const ATTACHED_NAME: &str = "a letter or '_', then letters, digits or '_'";

/// One of the seed's `*Connection` sub-objects: its field in a `Connection`, and each of its
/// settings as the seed names it and as the stored document does. Secrets are not listed:
/// they are never shown.
pub(crate) struct SubObject {
    pub field: &'static str,
    pub settings: &'static [(&'static str, &'static str)],
}

const POSTGRES: SubObject = SubObject {
    field: "postgresConnection",
    settings: &[
        ("host", "host"),
        ("port", "port"),
        ("databaseName", "dbname"),
        ("userName", "username"),
    ],
};
const MYSQL: SubObject = SubObject {
    field: "mysqlConnection",
    settings: &[
        ("host", "host"),
        ("port", "port"),
        ("database", "dbname"),
        ("user", "username"),
    ],
};
const BIGQUERY: SubObject = SubObject {
    field: "bigqueryConnection",
    settings: &[
        ("defaultProjectId", "project_id"),
        ("billingProjectId", "billing_project_id"),
        ("location", "location"),
        ("maximumBytesBilled", "maximum_bytes_billed"),
        ("queryTimeoutMilliseconds", "query_timeout_ms"),
    ],
};
const SNOWFLAKE: SubObject = SubObject {
    field: "snowflakeConnection",
    settings: &[
        ("account", "account"),
        ("username", "username"),
        ("warehouse", "warehouse"),
        ("database", "database"),
        ("schema", "schema"),
        ("role", "role"),
        ("responseTimeoutMilliseconds", "response_timeout_ms"),
    ],
};
const TRINO: SubObject = SubObject {
    field: "trinoConnection",
    settings: &[
        ("server", "server"),
        ("port", "port"),
        ("catalog", "catalog"),
        ("schema", "schema"),
        ("user", "username"),
    ],
};
const MOTHERDUCK: SubObject = SubObject {
    field: "motherduckConnection",
    settings: &[("database", "database")],
};
/// Its one setting, `attachedDatabases`, is read and shown by its own code.
const DUCKDB: SubObject = SubObject {
    field: "duckdbConnection",
    settings: &[],
};
const S3: SubObject = SubObject {
    field: "s3Connection",
    settings: &[
        ("accessKeyId", "access_key_id"),
        ("region", "region"),
        ("endpoint", "endpoint"),
    ],
};
const GCS: SubObject = SubObject {
    field: "gcsConnection",
    settings: &[("keyId", "access_key_id")],
};

/// The sub-objects a `Connection` may hold, one per top-level `type`.
const CONNECTION_SUB_OBJECTS: [&SubObject; 7] = [
    &POSTGRES,
    &BIGQUERY,
    &SNOWFLAKE,
    &TRINO,
    &MYSQL,
    &DUCKDB,
    &MOTHERDUCK,
];
/// The sub-objects an attached database may hold.
const ATTACHED_SUB_OBJECTS: [&SubObject; 5] = [&BIGQUERY, &SNOWFLAKE, &POSTGRES, &GCS, &S3];

/// The sub-object of a connection or attached database of `provider`.
pub(crate) fn sub_object(provider: Provider) -> Option<&'static SubObject> {
    Some(match provider {
        Provider::Postgres => &POSTGRES,
        Provider::Mysql => &MYSQL,
        Provider::Bigquery => &BIGQUERY,
        Provider::Snowflake => &SNOWFLAKE,
        Provider::Trino => &TRINO,
        Provider::Motherduck => &MOTHERDUCK,
        Provider::Duckdb => &DUCKDB,
        Provider::S3 => &S3,
        Provider::Gcs => &GCS,
        _ => return None,
    })
}

/// A validated create body for the connection `path` names.
pub(crate) fn create(
    body: &JsonBody<'_>,
    path: &ProjectConnection,
) -> Result<NewCredential<ProjectConnection>, FieldErrors> {
    let reader = Reader::new();
    let document = reader
        .object(body)
        .and_then(|body| connection(&body, Some(path.name.as_str())));
    reader.finish(document.map(|document| NewCredential {
        document,
        attributes: path.clone(),
        expires_at: None,
    }))
}

/// Whether the body is a connection at all: an object with a known `type`. Testing an unsaved
/// configuration answers anything else with `400`, and a connection with bad fields with a
/// failed test.
pub(crate) fn connection_type(body: &JsonBody<'_>) -> Result<Provider, FieldErrors> {
    let reader = Reader::new();
    let provider = reader.object(body).and_then(|body| provider(&body, &TYPES));
    reader.finish(provider)
}

/// A validated, unsaved connection to test.
pub(crate) fn unsaved(body: &JsonBody<'_>) -> Result<Document, FieldErrors> {
    let reader = Reader::new();
    let document = reader.object(body).and_then(|body| connection(&body, None));
    reader.finish(document)
}

/// A validated `PATCH` body for `stored`: only the `*Connection` sub-objects. The sub-object
/// of its type merges into the stored connection field by field; without it nothing changes.
pub(crate) fn update(
    body: &JsonBody<'_>,
    stored: &CredentialRecord<ProjectConnection>,
) -> Result<CredentialChange<ProjectConnection>, FieldErrors> {
    let reader = Reader::new();
    let document = reader.object(body).map(|body| {
        let name = &stored.attributes.name;
        let sent_name = body.field("name").text(text).optional();
        same_name(&body, sent_name.as_deref(), name);
        if let Some(sent) = body.field("type").text(|_| Ok(())).optional()
            && sent != stored.provider.as_str()
        {
            body.problem(
                "type",
                Problem::NotAllowed {
                    reason: "cannot be changed: delete the connection and create it again",
                },
            );
        }
        let spec = sub_object(stored.provider)?;
        only_sub_object(&body, spec, &CONNECTION_SUB_OBJECTS);
        let sub = body.field(spec.field).object().optional()?;
        let fields = Fields {
            object: Some(&sub),
            spec,
            stored: Some(&stored.settings),
        };
        match stored.provider {
            Provider::Duckdb => duckdb(&sub, Some(name.as_str()), stored.settings.get(ATTACHED)),
            provider => top_level(&fields, provider),
        }
    });
    reader.finish(document.map(|document| CredentialChange {
        document,
        attributes: stored.attributes.clone(),
        expires_at: stored.expires_at,
    }))
}

/// The body's `name`, when sent, must be the path's.
fn same_name(body: &Object<'_>, sent: Option<&str>, name: &str) {
    if sent.is_some_and(|sent| sent != name) {
        body.problem(
            "name",
            Problem::NotAllowed {
                reason: "must match connectionName in the path",
            },
        );
    }
}

/// The body's `type`, one of `allowed`.
fn provider(body: &Object<'_>, allowed: &[&'static str]) -> Option<Provider> {
    body.field("type")
        .one_of(allowed)
        .required()
        .and_then(Provider::parse)
}

/// Refuses every sub-object of `all` but `spec` that is sent: it is not the connection's type,
/// and nothing it holds would be stored.
fn only_sub_object(body: &Object<'_>, spec: &SubObject, all: &[&SubObject]) {
    for other in all.iter().filter(|other| other.field != spec.field) {
        if body.sends(other.field) {
            body.problem(
                other.field,
                Problem::NotAllowed {
                    reason: "does not match the connection's type",
                },
            );
        }
    }
}

/// A whole `Connection`: its `type` and the sub-object of that type. `name` is the path's
/// (the body's must match it), or none for an unsaved connection under test.
fn connection(body: &Object<'_>, name: Option<&str>) -> Option<Document> {
    let sent_name = body.field("name").text(text).optional();
    if let Some(name) = name {
        same_name(body, sent_name.as_deref(), name);
    }
    // The path's name, or the body's for an unsaved connection, as the problem names it.
    let (field, name) = match name {
        Some(name) => (CONNECTION_NAME, Some(name.to_owned())),
        None => ("name", sent_name),
    };
    let provider = provider(body, &TYPES)?;
    let spec = sub_object(provider)?;
    only_sub_object(body, spec, &CONNECTION_SUB_OBJECTS);
    if provider == Provider::Duckdb && name.as_deref() == Some(Provider::Duckdb.as_str()) {
        body.problem(
            field,
            Problem::NotAllowed {
                reason: "must not be duckdb for a DuckDB connection",
            },
        );
    }
    let sub = body.field(spec.field).object().required()?;
    if provider == Provider::Duckdb {
        return duckdb(&sub, name.as_deref(), None);
    }
    let fields = Fields {
        object: Some(&sub),
        spec,
        stored: None,
    };
    top_level(&fields, provider)
}

/// The document of a connection of a `type` other than DuckDB.
fn top_level(fields: &Fields<'_, '_>, provider: Provider) -> Option<Document> {
    Some(match provider {
        Provider::Postgres => postgres(fields).document(provider),
        Provider::Mysql => mysql(fields).document(provider),
        Provider::Bigquery => bigquery(fields, false).document(provider),
        Provider::Snowflake => snowflake(fields).document(provider),
        Provider::Trino => trino(fields).document(provider),
        Provider::Motherduck => motherduck(fields).document(provider),
        _ => return None,
    })
}

/// One sub-object being read. On an update, `stored` holds the stored settings, which stand
/// for the settings not sent, and a secret not sent is kept. `object` is `None` where an
/// attached database being updated sends no sub-object: it keeps all it has.
struct Fields<'s, 'a> {
    object: Option<&'s Object<'a>>,
    spec: &'static SubObject,
    stored: Option<&'s Map<String, Value>>,
}

/// A value rule of the model's, or of this family's.
type Rule = fn(&str) -> Result<(), Problem>;

impl<'a> Fields<'_, 'a> {
    /// The stored value of setting `name` (as the seed names it).
    fn stored(&self, name: &str) -> Option<&Value> {
        let (_, key) = self.spec.settings.iter().find(|(seed, _)| *seed == name)?;
        self.stored?.get(*key)
    }

    fn problem(&self, name: &str, problem: Problem) {
        if let Some(object) = self.object {
            object.problem(name, problem);
        }
    }

    fn sends(&self, name: &str) -> bool {
        self.object.is_some_and(|object| object.sends(name))
    }

    /// A setting as `read` reads field `name`: sent, it replaces the stored one (`null`
    /// clears it); not sent, the stored one stays. `stored` turns the stored value back into
    /// a value.
    fn setting<T>(
        &self,
        name: &str,
        required: bool,
        read: impl FnOnce(Field<'a>) -> Read<'a, T>,
        stored: impl FnOnce(&Value) -> Option<T>,
    ) -> Option<T> {
        let sent = match self.object {
            Some(object) => read(object.field(name)).sent(),
            None => Sent::Absent,
        };
        let value = match sent {
            Sent::Value(value) => return Some(value),
            Sent::Invalid => return None,
            Sent::Null => None,
            Sent::Absent => self.stored(name).and_then(stored),
        };
        if value.is_none() && required {
            self.problem(name, Problem::Missing);
        }
        value
    }

    fn text(&self, name: &str, rule: Rule, required: bool) -> Option<String> {
        self.setting(
            name,
            required,
            |field| field.text(rule),
            |v| v.as_str().map(str::to_owned),
        )
    }

    fn port(&self, name: &str) -> Option<u16> {
        self.setting(name, false, Field::port, |v| {
            v.as_u64().and_then(|n| u16::try_from(n).ok())
        })
    }

    fn integer(&self, name: &str, max: i64) -> Option<u64> {
        let read = |field: Field<'a>| field.integer(0, max);
        let value = self.setting(name, false, read, Value::as_i64);
        value.and_then(|n| u64::try_from(n).ok())
    }

    /// A secret: on an update, one not sent, `null` or a redaction placeholder keeps the
    /// stored one.
    fn secret(&self, name: &str, rule: Rule, required: bool) -> Option<SecretValue> {
        let field = self.object.map(|object| object.field(name));
        let kept = field
            .as_ref()
            .is_none_or(|field| !field.is_sent() || field.is_placeholder());
        if self.stored.is_some() && kept {
            return Some(SecretValue::Kept);
        }
        let read = field?.secret(rule);
        let secret = if required {
            read.required()
        } else {
            read.optional()
        };
        secret.map(SecretValue::Text)
    }

    /// A secret holding JSON text (a key file, sent as a string), stored as the JSON it holds.
    fn json_secret(&self, name: &str, rule: Rule, required: bool) -> Option<SecretValue> {
        match self.secret(name, rule, required)? {
            SecretValue::Text(text) => Some(SecretValue::Json(text)),
            kept => Some(kept),
        }
    }
}

/// `http://` or `https://` and a host: a Trino server, an S3 endpoint.
fn http_url(value: &str) -> Result<(), Problem> {
    bounded(value, 2048)?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => Ok(()),
        _ => Err(Problem::Malformed {
            expected: "a URL starting with http:// or https://",
        }),
    }
}

/// A whole number in a string, as Credible sends byte limits and timeouts.
fn digits(value: &str) -> Result<(), Problem> {
    if (1..=20).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: "a whole number of digits, in a string",
        })
    }
}

/// A libpq connection string: a `postgres://` or `postgresql://` URI, or `key=value` pairs.
fn connection_string(value: &str) -> Result<(), Problem> {
    new_secret_text(value)?;
    let uri = value.starts_with("postgres://") || value.starts_with("postgresql://");
    if uri || value.contains('=') {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: "a libpq connection string (postgresql://… or key=value pairs)",
        })
    }
}

/// A service-account key file, sent as JSON text: it must hold a JSON object.
fn key_json(value: &str) -> Result<(), Problem> {
    new_secret_text(value)?;
    key_object(value).map(|_| ())
}

fn key_object(value: &str) -> Result<Vec<(String, &serde_json::value::RawValue)>, Problem> {
    json::parse(value)
        .ok()
        .and_then(json::object)
        .ok_or(Problem::Malformed {
            expected: "a service-account key file: JSON text holding an object",
        })
}

/// The key file of a BigQuery database DuckDB attaches: as the upstream server checks it,
/// `type` `service_account`, `project_id`, `private_key` and `client_email`.
fn service_account_key(value: &str) -> Result<(), Problem> {
    const EXPECTED: &str = "a service-account key file: JSON text of an object with type \
        service_account, project_id, private_key and client_email";
    new_secret_text(value)?;
    let fields = key_object(value)?;
    let has = |name: &str| json::field(&fields, name).and_then(json::string);
    let complete = has("type").as_deref() == Some("service_account")
        && ["project_id", "private_key", "client_email"]
            .iter()
            .all(|name| has(name).is_some_and(|v| !v.is_empty()));
    if complete {
        Ok(())
    } else {
        Err(Problem::Malformed { expected: EXPECTED })
    }
}

/// `postgresConnection`: `host` or a `connectionString`.
fn postgres(f: &Fields<'_, '_>) -> DatabaseLogin {
    // A connection string sent stands for the host; so does a kept one, where the stored
    // connection has no host (it was made with a connection string).
    let connection_string = f.secret("connectionString", connection_string, false);
    let by_string =
        f.sends("connectionString") || (f.stored.is_some() && f.stored("host").is_none());
    DatabaseLogin {
        host: f.text("host", host, !by_string),
        port: f.port("port"),
        dbname: f.text("databaseName", database_object, false),
        username: f.text("userName", text, false),
        password: f.secret("password", new_secret_text, false),
        connection_string,
        ..DatabaseLogin::default()
    }
}

/// `mysqlConnection`.
fn mysql(f: &Fields<'_, '_>) -> DatabaseLogin {
    DatabaseLogin {
        host: f.text("host", host, true),
        port: f.port("port"),
        dbname: f.text("database", database_object, false),
        username: f.text("user", text, false),
        password: f.secret("password", new_secret_text, false),
        ..DatabaseLogin::default()
    }
}

/// `bigqueryConnection`. Attached to DuckDB, its key file is required and checked as the
/// upstream server checks it there.
fn bigquery(f: &Fields<'_, '_>, attached: bool) -> Bigquery {
    let key_rule: Rule = if attached {
        service_account_key
    } else {
        key_json
    };
    Bigquery {
        project_id: f.text("defaultProjectId", text, false),
        billing_project_id: f.text("billingProjectId", text, false),
        location: f.text("location", text, false),
        maximum_bytes_billed: f.text("maximumBytesBilled", digits, false),
        query_timeout_ms: f.text("queryTimeoutMilliseconds", digits, false),
        keyfile: f.json_secret("serviceAccountKeyJson", key_rule, attached),
        ..Bigquery::default()
    }
}

/// `snowflakeConnection`: `account`, `username`, `warehouse`, and a `password` or a
/// `privateKey`.
fn snowflake(f: &Fields<'_, '_>) -> Snowflake {
    let password = f.secret("password", new_secret_text, false);
    if password.is_none() && !f.sends("privateKey") && f.stored.is_none() {
        f.problem(
            "password",
            Problem::NotAllowed {
                reason: "is required unless privateKey is sent",
            },
        );
    }
    Snowflake {
        account: f.text("account", text, true),
        username: f.text("username", text, true),
        warehouse: f.text("warehouse", text, true),
        database: f.text("database", text, false),
        schema: f.text("schema", text, false),
        role: f.text("role", text, false),
        response_timeout_ms: f.integer("responseTimeoutMilliseconds", i64::from(i32::MAX)),
        password,
        private_key: f.secret("privateKey", pem_private_key, false),
        private_key_passphrase: f.secret("privateKeyPass", new_secret_text, false),
        ..Snowflake::default()
    }
}

/// `trinoConnection`: a `server` URL.
fn trino(f: &Fields<'_, '_>) -> Trino {
    Trino {
        server: f.text("server", http_url, true),
        port: f.port("port"),
        catalog: f.text("catalog", text, false),
        schema: f.text("schema", text, false),
        username: f.text("user", text, false),
        password: f.secret("password", new_secret_text, false),
        peaka_key: f.secret("peakaKey", new_secret_text, false),
    }
}

/// `motherduckConnection`: an `accessToken`.
fn motherduck(f: &Fields<'_, '_>) -> Duckdb {
    Duckdb {
        database: f.text("database", text, false),
        token: f.secret("accessToken", new_secret_text, true),
    }
}

/// `s3Connection`: an access key.
fn s3(f: &Fields<'_, '_>) -> ObjectStore {
    ObjectStore {
        access_key_id: f.text("accessKeyId", access_key_id, true),
        region: f.text("region", text, false),
        endpoint: f.text("endpoint", http_url, false),
        secret_access_key: f.secret("secretAccessKey", new_secret_text, true),
        session_token: f.secret("sessionToken", new_secret_text, false),
    }
}

/// `gcsConnection`: an HMAC key.
fn gcs(f: &Fields<'_, '_>) -> ObjectStore {
    ObjectStore {
        access_key_id: f.text("keyId", access_key_id, true),
        secret_access_key: f.secret("secret", new_secret_text, true),
        ..ObjectStore::default()
    }
}

/// `duckdbConnection`: the databases it attaches, at least one, each named uniquely and
/// otherwise than the connection. On an update, `stored` is the stored `attached` array: an
/// attached database of the same name and type keeps what it does not send (and may leave
/// its sub-object out); a `duckdbConnection` without `attachedDatabases` changes nothing.
fn duckdb(sub: &Object<'_>, name: Option<&str>, stored: Option<&Value>) -> Option<Document> {
    let databases = sub.field(ATTACHED_DATABASES);
    let databases = if stored.is_some() {
        databases.array().optional()?
    } else {
        databases.array().required()?
    };
    if databases.is_empty() {
        sub.problem(ATTACHED_DATABASES, Problem::Empty);
    }
    let stored: &[Value] = stored
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let mut items = Vec::new();
    for item in databases.items() {
        let Some(database) = item.object().required() else {
            continue;
        };
        let named = database.field("name").text(attached_name).required();
        if let Some(attached) = &named {
            if Some(attached.as_str()) == name {
                database.problem(
                    "name",
                    Problem::NotAllowed {
                        reason: "must differ from the connection's name",
                    },
                );
            }
            if names.contains(attached) {
                database.problem(
                    "name",
                    Problem::NotAllowed {
                        reason: "must be unique among attachedDatabases",
                    },
                );
            }
            names.push(attached.clone());
        }
        let Some(provider) = provider(&database, &ATTACHED_TYPES) else {
            continue;
        };
        let Some(spec) = sub_object(provider) else {
            continue;
        };
        only_sub_object(&database, spec, &ATTACHED_SUB_OBJECTS);
        // The stored database of the same name and type, whose settings and secrets stay.
        let counterpart = stored.iter().filter_map(Value::as_object).find(|s| {
            s.get("name").and_then(Value::as_str) == named.as_deref()
                && s.get("engine").and_then(Value::as_str) == Some(provider.as_str())
        });
        let object = match counterpart {
            Some(_) => database.field(spec.field).object().optional(),
            None => database.field(spec.field).object().required(),
        };
        if counterpart.is_none() && object.is_none() {
            continue;
        }
        let fields = Fields {
            object: object.as_ref(),
            spec,
            stored: counterpart,
        };
        let connection = match provider {
            Provider::Postgres => postgres(&fields).fields(),
            Provider::Bigquery => bigquery(&fields, true).fields(),
            Provider::Snowflake => snowflake(&fields).fields(),
            Provider::S3 => s3(&fields).fields(),
            _ => gcs(&fields).fields(),
        };
        let Some(named) = named else {
            continue;
        };
        let mut node = vec![
            ("name".to_owned(), Node::Value(named.into())),
            ("engine".to_owned(), Node::Value(provider.as_str().into())),
        ];
        node.extend(connection);
        items.push(Node::Object(node));
    }
    let mut document = Document::new(Provider::Duckdb);
    document.insert(ATTACHED, Node::Array(items));
    Some(document)
}

/// An attached database's name: `^[a-zA-Z_][a-zA-Z0-9_]*$`.
fn attached_name(value: &str) -> Result<(), Problem> {
    bounded(value, 63)?;
    let mut chars = value.chars();
    let first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(Problem::Malformed {
            expected: ATTACHED_NAME,
        })
    }
}

#[cfg(test)]
mod tests;
