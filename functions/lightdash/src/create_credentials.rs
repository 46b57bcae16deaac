//! `POST /api/v1/user/warehouseCredentials`: stores the caller's credentials for a warehouse
//! and answers `200` with them, without secrets.

use credential_model::{Attributes, CredentialId, RecordKey};
use strongroom_edge::{BodyStyle, Call, Handled, json_body};

use crate::shape::{self, UserWarehouseCredentials};
use crate::{Repository, Store, UserCredentials, Vault, request};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    let new = request::create(&json_body(&call.request, BodyStyle::Strict)?)?;
    let id = CredentialId::generate();
    let key = RecordKey::owned(
        call.caller.organization.clone(),
        UserCredentials::KIND,
        &call.caller.user,
        id,
    );
    let record = store.create(&call.caller, key, id, new).await?;
    tracing::info!(credential_id = %record.id, warehouse_type = %record.provider,
        "user warehouse credentials created");
    Ok(shape::ok(&UserWarehouseCredentials::of(&record)))
}
