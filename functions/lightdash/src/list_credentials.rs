//! `GET /api/v1/user/warehouseCredentials`: the caller's own credentials, oldest first,
//! without secrets.

use credential_model::{Attributes, RecordKey};
use strongroom_edge::{Call, Handled};

use crate::shape::{self, UserWarehouseCredentials};
use crate::{Repository, Store, UserCredentials, Vault};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    let prefix = RecordKey::owned_prefix(UserCredentials::KIND, &call.caller.user);
    let mut records = store
        .list::<UserCredentials>(&call.caller.organization, &prefix)
        .await?;
    records.sort_by_cached_key(|r| (r.created_at, r.id.to_string()));
    let results: Vec<_> = records.iter().map(UserWarehouseCredentials::of).collect();
    Ok(shape::ok(&results))
}
