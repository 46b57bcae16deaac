//! The connections Strongroom stores, one type per kind of system, each declaring which of its
//! fields are secret. Families read their own field names into these types; the types turn
//! into the [`Document`] Secrets Manager holds. Names are those of the AWS standard secret
//! format (`host`, `port`, `username`, `password`, `dbname`), so AWS-native consumers (RDS
//! Proxy, secret injection, the rotation templates) use a database's secret as it is.

use serde_json::Value;

use crate::document::{Document, Node, SecretValue};
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
                for (name, node) in self.fields() {
                    document.insert(&name, node);
                }
                document
            }

            /// The fields sent, as the places of a document: what a connection nested in
            /// another one (a database DuckDB attaches) is made of.
            pub fn fields(self) -> Vec<(String, Node)> {
                let mut fields = Vec::new();
                $(if let Some(value) = self.$setting {
                    fields.push((stringify!($setting).to_owned(), Node::Value(Value::from(value))));
                })*
                $(if let Some(secret) = self.$secret {
                    fields.push((stringify!($secret).to_owned(), Node::Secret(secret)));
                })*
                fields
            }
        }
    };
}

connection! {
    /// A SQL database or query engine reached with a user and a password: PostgreSQL,
    /// Redshift, MySQL, MariaDB (the AWS standard format), Trino, ClickHouse. PostgreSQL may
    /// be given a libpq connection string instead of the separate fields: a password may be
    /// in it, so it is secret as a whole.
    DatabaseLogin {
        settings { host: String, port: u16, dbname: String, username: String, schema: String, sslmode: String }
        secrets { password, connection_string }
    }
}

connection! {
    /// Snowflake, with a password, a key pair, an SSO refresh token or none.
    Snowflake {
        settings {
            account: String, username: String, warehouse: String, database: String,
            schema: String, role: String, response_timeout_ms: u64, authentication_type: String,
        }
        secrets { password, private_key, private_key_passphrase, refresh_token }
    }
}

connection! {
    /// BigQuery: the key file (a JSON secret) says who connects. The byte limit and the
    /// timeout are strings, as Credible sends them (a byte count may exceed 2^53).
    Bigquery {
        settings {
            project_id: String, billing_project_id: String, location: String,
            maximum_bytes_billed: String, query_timeout_ms: String, dataset: String,
            client_email: String, authentication_type: String,
        }
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
    /// Trino (or Peaka, whose key stands for the password, catalog and schema), at a server
    /// URL.
    Trino {
        settings { server: String, port: u16, catalog: String, schema: String, username: String }
        secrets { password, peaka_key }
    }
}

connection! {
    /// DuckDB and MotherDuck: a service token, and the MotherDuck database.
    Duckdb {
        settings { database: String }
        secrets { token }
    }
}

connection! {
    /// An object store reached with an access key: Amazon S3 or a store speaking its API
    /// (MinIO…), or Google Cloud Storage with an HMAC key. The key id is shown on reads (it
    /// names the key, as an S3 URL names a bucket); the secret key and a session token are
    /// secret.
    ObjectStore {
        settings { access_key_id: String, region: String, endpoint: String }
        secrets { secret_access_key, session_token }
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
