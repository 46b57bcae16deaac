//! Snowflake: a key pair's private key is checked here (it parses, and an encrypted one opens
//! with its passphrase); reaching Snowflake is not possible from here, and the test says so.

use credential_model::ports::TestFailure;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::failure::{incomplete, key_material, not_available_here};
use crate::keys::rsa_private_key;

const ENGINE: &str = "Snowflake";

#[derive(Deserialize)]
struct SnowflakeSecret {
    private_key: Option<SecretString>,
    private_key_passphrase: Option<SecretString>,
}

pub(crate) fn test(document: &SecretString) -> Result<(), TestFailure> {
    let secret: SnowflakeSecret =
        serde_json::from_str(document.expose_secret()).map_err(|_| incomplete(ENGINE))?;
    if let Some(private_key) = &secret.private_key {
        rsa_private_key(private_key, secret.private_key_passphrase.as_ref())
            .map_err(|problem| key_material("private_key", problem))?;
    }
    Err(not_available_here(ENGINE))
}
