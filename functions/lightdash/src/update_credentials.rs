//! `PATCH /api/v1/user/warehouseCredentials/{uuid}`: renames the caller's credentials and/or
//! changes them. Secrets left out are kept while the warehouse type and authentication stay
//! the same; sent ones become a new version of the same secret.

use credential_model::Error;
use strongroom_edge::{BodyStyle, Call, Handled, json_body};

use crate::shape::{self, UserWarehouseCredentials};
use crate::{Repository, Store, UserCredentials, Vault, credentials_key, request};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    let key = credentials_key(&call)?;
    let body = json_body(&call.request, BodyStyle::Strict)?;
    // Which secrets an update may leave out depends on what is stored.
    let stored = store
        .get::<UserCredentials>(&key)
        .await?
        .ok_or(Error::NotFound)?;
    // Conditional on the version just read: the merge never overwrites a change it missed.
    let record = store
        .update(&call.caller, &stored, request::update(&body, &stored)?)
        .await?;
    tracing::info!(credential_id = %record.id, version = record.version,
        warehouse_type = %record.provider, "user warehouse credentials updated");
    Ok(shape::ok(&UserWarehouseCredentials::of(&record)))
}
