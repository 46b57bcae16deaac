//! `PATCH /api/v1/user/warehouseCredentials/{uuid}`: renames the caller's credentials and/or
//! changes them. Secrets left out are kept while the warehouse type and authentication stay
//! the same; sent ones become a new version of the same secret.

use credential_model::{Error, Scope};
use lambda_http::{Body, Request, Response};
use strongroom_aws::Store;
use strongroom_edge::{json_body, serve};

use crate::credentials_key;
use crate::request::{self, Update};
use crate::shape::{self, UserWarehouseCredentials};

pub async fn handle(store: &Store, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Write,
        shape::error,
        async |call, request| {
            let key = credentials_key(&call.caller, &request).ok_or(Error::NotFound)?;
            let body = json_body(&request)?;
            // Which secrets an update may leave out depends on what is stored.
            let stored = store.credentials.get(&key).await?.ok_or(Error::NotFound)?;
            // Conditional on the version just read: the merge never overwrites a change it missed.
            let record = match request::update(body, &stored)? {
                Update::Rename(attributes) => {
                    store
                        .credentials
                        .update_attributes(&stored, attributes)
                        .await?
                }
                Update::Credentials(change) => store.credentials.update(&stored, change).await?,
            };
            tracing::info!(credential_id = %record.id, version = record.version,
                warehouse_type = %record.provider, "user warehouse credentials updated");
            Ok(shape::ok(&UserWarehouseCredentials::of(&record)))
        },
    )
    .await)
}
