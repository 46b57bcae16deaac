//! The Mielto family: generic credentials (API keys, OAuth tokens, connection strings…),
//! faithful to Mielto's `/api/v1/credentials`, a FastAPI app: errors are `{"detail": …}` and
//! bad input is a `422` in pydantic's words. [`routes`] is its route table.
//!
//! Every credential is a `generic-credential` record of its organization (Mielto's workspace).
//! The raw `credentials` object the client sent is the secret, kept whole and exactly as sent
//! in Secrets Manager; every other field is a non-secret attribute of the record. A credential
//! past its `expires_at` reads as `expired`, computed when it is read.

pub mod create_credential;
pub mod delete_credential;
mod expiry;
pub mod get_credential;
pub mod list_credentials;
mod request;
mod shape;
pub mod update_credential;

use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use credential_model::{Attributes, CredentialKind, CredentialService};
use serde::{Deserialize, Serialize};
use strongroom_edge::{Route, route};

/// What the handlers are written against: the credential use cases over any repository and
/// vault (DynamoDB and Secrets Manager in Lambda, in-memory ports in tests).
type Store<R, V> = CredentialService<R, V>;

/// The family's routes: what each answers, with which scope, in which binary.
#[rustfmt::skip]
pub const fn routes<R: Repository + 'static, V: Vault + 'static>() -> [Route<Store<R, V>>; 5] {
    const CREDENTIALS: &str = "/api/v1/credentials";
    const ONE: &str = "/api/v1/credentials/{credential_id}";
    [
        route!("POST", CREDENTIALS, "mielto-create-credential", Write, [Metadata, Secrets], shape::error, create_credential::handle),
        route!("GET", CREDENTIALS, "mielto-list-credentials", Read, [Metadata], shape::error, list_credentials::handle),
        route!("GET", ONE, "mielto-get-credential", Read, [Metadata], shape::error, get_credential::handle),
        route!("PUT", ONE, "mielto-update-credential", Write, [Metadata, Secrets], shape::error, update_credential::handle),
        route!("DELETE", ONE, "mielto-delete-credential", Write, [Metadata, Secrets], shape::error, delete_credential::handle),
    ]
}

/// Declares one of Mielto's string enums: snake_case values, on the wire and in storage.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[derive(strum::EnumString, strum::IntoStaticStr, strum::VariantNames)]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($variant),*
        }
    };
}

string_enum! {
    /// Mielto's `AuthType`.
    AuthType {
        ApiKey,
        OauthToken,
        OauthTokenRefresh,
        OauthTokenRefreshRotation,
        BasicAuth,
        AccessToken,
        AccessTokenRefresh,
        PublicKeySecret,
        ConnectionString,
        Custom,
    }
}

string_enum! {
    /// Mielto's `CredentialType`.
    CredentialType { Integration, Llm, Storage, VectorStore, AuthProvider, Custom }
}

string_enum! {
    /// The statuses a client may set. `expired` is only ever computed.
    Status { Active, Inactive, Revoked }
}

/// Mielto's own fields of a credential. Its expiry is the record's own (`expires_at`), where a
/// table TTL or a sweeper can read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenericCredential {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub auth_type: AuthType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<CredentialType>,
    pub credential_scope: String,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub status: Status,
}

impl Attributes for GenericCredential {
    const KIND: CredentialKind = CredentialKind::GenericCredential;
}
