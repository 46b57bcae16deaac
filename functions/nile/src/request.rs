//! What clients send: a database to register (Nile's `databaseName` and `region`, and
//! Strongroom's own fields: where the database is, its admin login, lifetimes and what a
//! generated login may do), the query flags of the credential operations, and a rotation's
//! optional body. Everything is validated before anything is written; every bad field named.

use std::time::Duration;

use credential_model::connection::DatabaseLogin;
use credential_model::generated::{
    LeaseScope, LoginGrants, NewDatabase, RegisteredDatabase, TableGrant, TablePrivilege,
    login_prefix,
};
use credential_model::rotation::{DatabaseLogin as AdminLogin, Engine};
use credential_model::validation::{
    FieldErrors, FieldPath, Problem, bounded, database_object, host, new_secret_text,
    sql_identifier, text,
};
use credential_model::{NewCredential, Provider, SecretValue};
use lambda_http::{Body, Request, RequestExt};
use serde_json::value::RawValue;
use strongroom_edge::input::{Object, Reader};
use strongroom_edge::{JsonBody, MAX_BODY_BYTES, Rejection};
use strum::VariantNames;

/// Nile's rule for `databaseName`: `^[a-zA-Z_][a-zA-Z0-9_]*$`, shorter than 64 characters.
pub(crate) fn database_name(value: &str) -> Result<(), Problem> {
    sql_identifier(value)
}

/// The regions Nile's `GetDatabaseResponse` knows.
const REGIONS: [&str; 3] = ["AWS_US_WEST_2", "AWS_EU_CENTRAL_1", "AZURE_EASTUS"];
const ENGINES: [&str; 4] = ["postgres", "redshift", "mysql", "mariadb"];
const SSL_MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];
/// Lifetimes are whole seconds, from one second to a year.
const MAX_LIFETIME: i64 = 365 * 24 * 3600;
const DEFAULT_LIFETIME: u64 = 3600;
const DEFAULT_MAX_LIFETIME: u64 = 24 * 3600;

fn provider(engine: &str) -> Provider {
    match engine {
        "redshift" => Provider::Redshift,
        "mysql" => Provider::Mysql,
        "mariadb" => Provider::Mariadb,
        _ => Provider::Postgres,
    }
}

/// The grants a registration declares: `{"roles": [..], "tables": [{"privileges": [..],
/// "schema": .., "table": ..}]}`.
fn grants(object: &Object<'_>) -> LoginGrants {
    let mut grants = LoginGrants::default();
    if let Some(roles) = object.field("roles").array().optional() {
        grants.roles = roles
            .items()
            .filter_map(|role| role.text(sql_identifier).required())
            .collect();
    }
    if let Some(tables) = object.field("tables").array().optional() {
        for table in tables.items() {
            let Some(table) = table.object().required() else {
                continue;
            };
            let privileges: Vec<TablePrivilege> = table
                .field("privileges")
                .array()
                .required()
                .map(|privileges| {
                    privileges
                        .items()
                        .filter_map(|p| p.one_of(TablePrivilege::VARIANTS).required())
                        .filter_map(|p| p.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            let schema = table.field("schema").text(sql_identifier).required();
            let name = table.field("table").text(sql_identifier).optional();
            if privileges.is_empty() {
                table.problem("privileges", Problem::Empty);
            }
            if let Some(schema) = schema {
                grants.tables.push(TableGrant {
                    privileges,
                    schema,
                    table: name,
                });
            }
        }
    }
    grants
}

/// A database to register, read from `body`.
pub(crate) fn new_database(body: &JsonBody<'_>) -> Result<NewDatabase, FieldErrors> {
    let reader = Reader::new();
    let read = reader.object(body).map(|object| {
        let name = object.field("databaseName").text(database_name).required();
        let region = object.field("region").one_of(&REGIONS).required();
        let engine = object.field("engine").one_of(&ENGINES).required();
        let host = object.field("host").text(host).required();
        let port = object.field("port").port().optional();
        let dbname = object.field("database").text(database_object).optional();
        let sslmode = object.field("sslmode").one_of(&SSL_MODES).optional();
        let (username, password) = match object.field("admin").object().required() {
            Some(admin) => (
                admin.field("username").text(database_object).required(),
                admin.field("password").secret(new_secret_text).required(),
            ),
            None => (None, None),
        };
        let default_lifetime = object
            .field("defaultLifetimeSeconds")
            .integer(1, MAX_LIFETIME)
            .optional()
            .map_or(DEFAULT_LIFETIME, |n| n.unsigned_abs());
        let max_lifetime = object
            .field("maxLifetimeSeconds")
            .integer(1, MAX_LIFETIME)
            .optional()
            .map_or(DEFAULT_MAX_LIFETIME.max(default_lifetime), |n| {
                n.unsigned_abs()
            });
        if max_lifetime < default_lifetime {
            object.problem(
                "maxLifetimeSeconds",
                Problem::NotAllowed {
                    reason: "must be at least defaultLifetimeSeconds",
                },
            );
        }
        let grants = object
            .field("grants")
            .object()
            .optional()
            .map(|grants_object| grants(&grants_object))
            .unwrap_or_default();
        let owner = object.field("owner").text(sql_identifier).optional();
        let (name, region, engine, host, username, password) =
            (name?, region?, engine?, host?, username?, password?);
        let provider = provider(engine);
        let engine = Engine::parse(engine)?;
        let port = port.unwrap_or(engine.default_port());
        let document = DatabaseLogin {
            host: Some(host.clone()),
            port: Some(port),
            dbname: dbname.clone(),
            username: Some(username.clone()),
            sslmode: sslmode.map(str::to_owned),
            password: Some(SecretValue::Text(password.clone())),
            ..DatabaseLogin::default()
        }
        .document(provider);
        let admin = AdminLogin::parse(&document.render()).ok()?;
        let attributes = RegisteredDatabase {
            name,
            region: region.to_owned(),
            default_lifetime_seconds: default_lifetime,
            max_lifetime_seconds: max_lifetime,
            grants,
            owner: owner.unwrap_or_else(|| username.clone()),
            login_prefix: login_prefix(&uuid::Uuid::new_v4()),
        };
        Some(NewDatabase {
            credential: NewCredential {
                document,
                attributes,
                expires_at: None,
            },
            admin,
        })
    });
    reader.finish(read.flatten())
}

/// The query parameter `name`, if sent.
fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name))
}

/// A boolean query flag: `true` or `false`, `default` when absent.
fn flag(request: &Request, name: &'static str, default: bool, errors: &mut FieldErrors) -> bool {
    match query(request, name) {
        None => default,
        Some("true") => true,
        Some("false") => false,
        Some(_) => {
            errors.push(
                name,
                Problem::NotOneOf {
                    allowed: vec!["true", "false"],
                },
            );
            default
        }
    }
}

/// The scope the query names: `tenantId` and `internal` (false when absent).
pub(crate) fn scope(request: &Request) -> Result<LeaseScope, FieldErrors> {
    let mut errors = FieldErrors::new();
    let tenant = query(request, "tenantId").map(str::to_owned);
    if let Some(Err(problem)) = tenant.as_deref().map(text) {
        errors.push("tenantId", problem);
    }
    let internal = flag(request, "internal", false, &mut errors);
    if errors.is_empty() {
        Ok(LeaseScope { tenant, internal })
    } else {
        Err(errors)
    }
}

/// A credential's own lifetime, from the query's `lifetimeSeconds` (Strongroom's addition).
pub(crate) fn lifetime(request: &Request) -> Result<Option<Duration>, FieldErrors> {
    let Some(text) = query(request, "lifetimeSeconds") else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(seconds) if (1..=MAX_LIFETIME.unsigned_abs()).contains(&seconds) => {
            Ok(Some(Duration::from_secs(seconds)))
        }
        _ => {
            let mut errors = FieldErrors::new();
            errors.push(
                "lifetimeSeconds",
                Problem::OutOfRange {
                    min: 1,
                    max: MAX_LIFETIME,
                },
            );
            Err(errors)
        }
    }
}

/// `force=true`: delete even what has live credentials, or cannot be revoked.
pub(crate) fn force(request: &Request) -> Result<bool, FieldErrors> {
    let mut errors = FieldErrors::new();
    let force = flag(request, "force", false, &mut errors);
    if errors.is_empty() {
        Ok(force)
    } else {
        Err(errors)
    }
}

/// Nile's `RotateCredentialRequest`.
pub(crate) struct Rotation {
    pub delay: Option<Duration>,
    pub reason: Option<String>,
}

/// The longest delay Nile allows, in hours (720 itself allowed, as its schema says).
const MAX_DELAY_HOURS: f64 = 720.0;

/// A rotation's body: optional, of any content type (Nile's documents say `*/*`), JSON when
/// there is one. `delayOldSecretsExpirationHours` is a number with 0 < n ≤ 720.
pub(crate) fn rotation(request: &Request) -> Result<Rotation, Rejection> {
    let bytes: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Rejection::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Rotation {
            delay: None,
            reason: None,
        });
    }
    let value: &RawValue =
        serde_json::from_slice(bytes).map_err(|error| Rejection::MalformedJson {
            line: error.line(),
            column: error.column(),
            problem: "the body is not valid JSON",
        })?;
    let body = JsonBody {
        value,
        path: FieldPath::root(),
    };
    let reader = Reader::new();
    let read = reader.object(&body).map(|object| {
        let delay = object
            .field("delayOldSecretsExpirationHours")
            .read(|value| match serde_json::from_str::<f64>(value.get()) {
                Ok(hours) if hours > 0.0 && hours <= MAX_DELAY_HOURS => {
                    Ok(Duration::from_secs_f64(hours * 3600.0))
                }
                _ => Err(Problem::Malformed {
                    expected: "a number of hours greater than 0 and at most 720",
                }),
            })
            .optional();
        let reason = object
            .field("reason")
            .text(|value| bounded(value, 1000))
            .optional();
        Rotation { delay, reason }
    });
    Ok(reader.finish(read)?)
}
