//! BigQuery: the service-account key file is checked here; reaching BigQuery is not possible
//! from here, and the test says so.

use credential_model::ports::TestFailure;
use credential_model::validation::email;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::failure::{incomplete, key_material, not_available_here};
use crate::keys::rsa_private_key;

const ENGINE: &str = "BigQuery";

#[derive(Deserialize)]
struct BigquerySecret {
    /// The key file, embedded as JSON or stored as JSON text.
    keyfile: Value,
}

#[derive(Deserialize)]
struct ServiceAccountKey {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<SecretString>,
}

pub(crate) fn test(document: &SecretString) -> Result<(), TestFailure> {
    let secret: BigquerySecret =
        serde_json::from_str(document.expose_secret()).map_err(|_| incomplete(ENGINE))?;
    let key = match secret.keyfile {
        Value::String(text) => serde_json::from_str::<ServiceAccountKey>(&text),
        object => serde_json::from_value::<ServiceAccountKey>(object),
    }
    .map_err(|_| key_material("keyfile", "is not a service-account key (JSON)"))?;
    if key.kind.as_deref() != Some("service_account") {
        return Err(key_material("keyfile", "is not of type service_account"));
    }
    if key
        .client_email
        .as_deref()
        .is_none_or(|e| email(e).is_err())
    {
        return Err(key_material(
            "keyfile.client_email",
            "is not an e-mail address",
        ));
    }
    let private_key = key
        .private_key
        .ok_or_else(|| key_material("keyfile", "has no private_key"))?;
    rsa_private_key(&private_key, None)
        .map_err(|problem| key_material("keyfile.private_key", problem))?;
    Err(not_available_here(ENGINE))
}
