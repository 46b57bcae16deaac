//! The Lightdash family: a user's own warehouse credentials, faithful to Lightdash's
//! `/api/v1/user/warehouseCredentials` (its OpenAPI document is `../shared/seeds/000_…`).
//!
//! | route                                            | scope               | function binary                  |
//! |--------------------------------------------------|---------------------|----------------------------------|
//! | `POST /api/v1/user/warehouseCredentials`         | `credentials:write` | `lightdash-create-credentials`   |
//! | `GET /api/v1/user/warehouseCredentials`          | `credentials:read`  | `lightdash-list-credentials`     |
//! | `PATCH /api/v1/user/warehouseCredentials/{uuid}` | `credentials:write` | `lightdash-update-credentials`   |
//! | `DELETE /api/v1/user/warehouseCredentials/{uuid}`| `credentials:write` | `lightdash-delete-credentials`   |
//!
//! Every credential is a `user-warehouse-credential` record keyed under its organization *and*
//! its user, so a user can reach only their own: another user's uuid is not found.

pub mod create_credentials;
pub mod delete_credentials;
pub mod list_credentials;
mod request;
mod shape;
pub mod update_credentials;

use credential_model::{Caller, CredentialId, CredentialKind, RecordKey};
use lambda_http::{Request, RequestExt};

/// The path parameter of a single credential's routes.
const UUID: &str = "uuid";

/// Where the caller's credentials named by the path live: `None` when the path holds nothing
/// that could be a credential's uuid.
fn credentials_key(caller: &Caller, request: &Request) -> Option<RecordKey> {
    let id = request
        .path_parameters_ref()
        .and_then(|params| params.first(UUID))
        .and_then(CredentialId::parse)?;
    Some(RecordKey::owned(
        caller.organization.clone(),
        CredentialKind::UserWarehouseCredential,
        &caller.user,
        id,
    ))
}
