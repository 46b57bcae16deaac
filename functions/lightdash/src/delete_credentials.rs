//! `DELETE /api/v1/user/warehouseCredentials/{uuid}`: removes the caller's credentials and
//! schedules their secret for deletion (recoverable for the stack's recovery window).

use strongroom_edge::{Call, Handled};

use crate::{Repository, Store, UserCredentials, Vault, credentials_key, shape};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    let record = store
        .delete::<UserCredentials>(&call.caller, &credentials_key(&call)?)
        .await?;
    tracing::info!(credential_id = %record.id, "user warehouse credentials deleted");
    Ok(shape::ok_empty())
}
