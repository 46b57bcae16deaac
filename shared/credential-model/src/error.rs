//! The one domain error every family maps to its own shape.

use std::fmt;

use crate::validation::FieldErrors;

/// A backing service a request depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// Where credential metadata lives (DynamoDB).
    MetadataStore,
    /// Where secret material lives (Secrets Manager).
    SecretVault,
    /// A database Strongroom manages logins in (a registered database).
    Database,
    /// The key service that computes API tokens' digests (KMS).
    KeyService,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dependency::MetadataStore => "the metadata store",
            Dependency::SecretVault => "the secret vault",
            Dependency::Database => "the database",
            Dependency::KeyService => "the key service",
        })
    }
}

/// Why a use case did not complete. `detail` texts are diagnostics for logs: they never hold
/// secret material, and families never send them to clients.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    /// Another request changed the same credential first.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("{dependency} is unavailable: {detail}")]
    Unavailable {
        dependency: Dependency,
        detail: String,
    },
    /// What the client sent was well-formed but a system it names refused it (a database
    /// whose admin login does not log in): the reason, which never holds a secret.
    #[error("refused: {0}")]
    Refused(String),
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Invalid(errors)
    }
}
