//! The Lightdash family: a user's own warehouse credentials, faithful to Lightdash's
//! `/api/v1/user/warehouseCredentials` (its OpenAPI document is `../shared/seeds/000_…`).
//! [`routes`] is its route table.
//!
//! Every credential is a `user-warehouse-credential` record keyed under its organization *and*
//! its user, so a user can reach only their own: another user's uuid is not found.

pub mod create_credentials;
pub mod delete_credentials;
pub mod list_credentials;
mod request;
mod shape;
pub mod update_credentials;

use credential_model::ports::{CredentialRepository as Repository, SecretVault as Vault};
use credential_model::{Attributes, CredentialKind, CredentialService, Error, RecordKey};
use serde::{Deserialize, Serialize};
use strongroom_edge::{Call, Route, route};

/// What the handlers are written against: the credential use cases over any repository and
/// vault (DynamoDB and Secrets Manager in Lambda, in-memory ports in tests).
type Store<R, V> = CredentialService<R, V>;

/// The family's routes: what each answers, with which scope, in which binary.
#[rustfmt::skip]
pub const fn routes<R: Repository + 'static, V: Vault + 'static>() -> [Route<Store<R, V>>; 4] {
    const CREDENTIALS: &str = "/api/v1/user/warehouseCredentials";
    const ONE: &str = "/api/v1/user/warehouseCredentials/{uuid}";
    [
        route!("POST", CREDENTIALS, "lightdash-create-credentials", Write, [Metadata, Secrets], shape::error, create_credentials::handle),
        route!("GET", CREDENTIALS, "lightdash-list-credentials", Read, [Metadata], shape::error, list_credentials::handle),
        route!("PATCH", ONE, "lightdash-update-credentials", Write, [Metadata, Secrets], shape::error, update_credentials::handle),
        route!("DELETE", ONE, "lightdash-delete-credentials", Write, [Metadata, Secrets], shape::error, delete_credentials::handle),
    ]
}

/// Lightdash's own field of a user's credentials: their display name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCredentials {
    pub name: String,
}

impl Attributes for UserCredentials {
    const KIND: CredentialKind = CredentialKind::UserWarehouseCredential;
}

/// The path parameter of a single credential's routes.
const UUID: &str = "uuid";

/// Where the caller's credentials named by the path live.
fn credentials_key(call: &Call) -> Result<RecordKey, Error> {
    let id = call.path_id(UUID)?;
    let organization = call.caller.organization.clone();
    Ok(RecordKey::owned(
        organization,
        UserCredentials::KIND,
        &call.caller.user,
        id,
    ))
}
