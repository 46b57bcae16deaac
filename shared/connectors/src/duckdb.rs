//! DuckDB: it runs inside the client, so what can fail is the databases it attaches. Each is
//! tested with its own engine's tester, all at once; the connection passes when all pass (with
//! nothing attached, nothing can fail), and a failure names the database it came from.

use credential_model::Provider;
use credential_model::ports::{FailureKind, Origin, TestFailure};
use futures_util::future::join_all;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::DatabaseTester;
use crate::failure::{failure, incomplete};

const ENGINE: &str = "DuckDB";

/// The engines DuckDB attaches.
const ATTACHABLE: [Provider; 5] = [
    Provider::Postgres,
    Provider::Bigquery,
    Provider::Snowflake,
    Provider::Gcs,
    Provider::S3,
];

#[derive(Deserialize)]
struct DuckdbSecret {
    #[serde(default)]
    attached: Vec<Map<String, Value>>,
}

/// One attached database: its name, its engine, and its own document.
struct Attached {
    name: String,
    engine: Provider,
    document: SecretString,
}

pub(crate) async fn test(
    tester: &DatabaseTester,
    document: &SecretString,
) -> Result<(), TestFailure> {
    let secret: DuckdbSecret =
        serde_json::from_str(document.expose_secret()).map_err(|_| incomplete(ENGINE))?;
    let attached = secret
        .attached
        .into_iter()
        .enumerate()
        .map(|(index, fields)| attached(index, fields))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = join_all(
        attached
            .iter()
            .map(|database| tester.test_engine(database.engine, &database.document)),
    )
    .await;
    // The first failure in the document's order, naming the database it came from.
    for (database, outcome) in attached.iter().zip(outcomes) {
        outcome.map_err(|failed| TestFailure {
            detail: format!(
                "attached database \"{}\" ({}): {}",
                database.name, database.engine, failed.detail
            ),
            ..failed
        })?;
    }
    Ok(())
}

fn attached(index: usize, mut fields: Map<String, Value>) -> Result<Attached, TestFailure> {
    let name = match fields.remove("name") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => {
            return Err(failure(
                FailureKind::InvalidSettings,
                Origin::Strongroom,
                format!("attached database {index} has no name"),
            ));
        }
    };
    let engine = fields
        .get("engine")
        .and_then(Value::as_str)
        .and_then(Provider::parse)
        .filter(|engine| ATTACHABLE.contains(engine))
        .ok_or_else(|| {
            failure(
                FailureKind::InvalidSettings,
                Origin::Strongroom,
                format!(
                    "attached database \"{name}\" has no engine DuckDB attaches \
                     (postgres, bigquery, snowflake, gcs or s3)"
                ),
            )
        })?;
    Ok(Attached {
        name,
        engine,
        document: SecretString::from(Value::Object(fields).to_string()),
    })
}
