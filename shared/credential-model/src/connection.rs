//! The connections Strongroom stores, one type per kind of system, each declaring which of its
//! fields are secret. Families read their own field names into these types; the types turn
//! into the [`Document`] Secrets Manager holds. Names are those of the AWS standard secret
//! format (`host`, `port`, `username`, `password`, `dbname`), so AWS-native consumers (RDS
//! Proxy, secret injection, the rotation templates) use a database's secret as it is.

use serde_json::Value;

use crate::document::{Document, SecretValue};
use crate::provider::Provider;

/// Declares a connection type: its settings (stored with the metadata too) and its secrets
/// (Secrets Manager only). Every field is optional: families decide which they require.
macro_rules! connection {
    ($(#[$doc:meta])* $name:ident {
        settings { $($setting:ident: $type:ty),* $(,)? }
        secrets { $($secret:ident),* $(,)? }
    }) => {
        $(#[$doc])*
        #[derive(Debug, Default)]
        pub struct $name {
            $(pub $setting: Option<$type>,)*
            $(pub $secret: Option<SecretValue>,)*
        }

        impl $name {
            /// The document stored for a connection to `provider`.
            pub fn document(self, provider: Provider) -> Document {
                let mut document = Document::new(provider);
                $(if let Some(value) = self.$setting {
                    document.setting(stringify!($setting), Value::from(value));
                })*
                $(if let Some(secret) = self.$secret {
                    document.secret(stringify!($secret), secret);
                })*
                document
            }
        }
    };
}

connection! {
    /// A SQL database or query engine reached with a user and a password: PostgreSQL,
    /// Redshift, MySQL, MariaDB (the AWS standard format), Trino, ClickHouse.
    DatabaseLogin {
        settings { host: String, port: u16, dbname: String, username: String, schema: String, sslmode: String }
        secrets { password }
    }
}

connection! {
    /// Snowflake, with a password, a key pair, an SSO refresh token or none.
    Snowflake {
        settings {
            account: String, username: String, warehouse: String, database: String,
            schema: String, authentication_type: String,
        }
        secrets { password, private_key, private_key_passphrase, refresh_token }
    }
}

connection! {
    /// BigQuery: the key file (a JSON secret) says who connects.
    Bigquery {
        settings { project_id: String, dataset: String, client_email: String, authentication_type: String }
        secrets { keyfile }
    }
}

connection! {
    /// Databricks, with a personal access token or OAuth.
    Databricks {
        settings {
            server_host_name: String, http_path: String, database: String,
            oauth_client_id: String, authentication_type: String,
        }
        secrets { personal_access_token, oauth_client_secret, refresh_token }
    }
}

connection! {
    /// Athena, with an access key or the warehouse's own IAM role. The key id is not a
    /// secret by AWS's definition, but it names an account's key: it is kept with it.
    Athena {
        settings {}
        secrets { access_key_id, secret_access_key }
    }
}

connection! {
    /// DuckDB and MotherDuck: a service token.
    Duckdb {
        settings {}
        secrets { token }
    }
}

connection! {
    /// Anything that is not a warehouse: the client's own credential object, whole.
    Generic {
        settings {}
        secrets { credentials }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::{ExposeSecret, SecretString};
    use serde_json::json;

    use super::*;

    #[test]
    fn a_database_login_is_the_aws_standard_format() {
        let document = DatabaseLogin {
            host: Some("db.internal".into()),
            port: Some(5432),
            dbname: Some("analytics".into()),
            username: Some("levered".into()),
            password: Some(SecretValue::text("s3cret-canary")),
            ..DatabaseLogin::default()
        }
        .document(Provider::Postgres);
        let stored: Value = serde_json::from_str(document.render().expose_secret()).expect("JSON");
        assert_eq!(
            stored,
            json!({"engine": "postgres", "host": "db.internal", "port": 5432,
                   "dbname": "analytics", "username": "levered", "password": "s3cret-canary"})
        );
        assert_eq!(
            Value::Object(document.settings()),
            json!({"host": "db.internal", "port": 5432, "dbname": "analytics",
                   "username": "levered"})
        );
    }

    #[test]
    fn json_secrets_are_embedded_as_json() {
        let document = Bigquery {
            project_id: Some("p".into()),
            keyfile: Some(SecretValue::Json(SecretString::from(
                r#"{"type":"service_account","private_key":"k"}"#,
            ))),
            ..Bigquery::default()
        }
        .document(Provider::Bigquery);
        let stored: Value = serde_json::from_str(document.render().expose_secret()).expect("JSON");
        assert_eq!(stored["keyfile"]["type"], "service_account");
        assert_eq!(
            Value::Object(document.settings()),
            json!({"project_id": "p"})
        );
        assert!(!format!("{document:?}").contains("service_account"));
    }
}
