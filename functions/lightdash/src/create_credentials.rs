//! `POST /api/v1/user/warehouseCredentials`: stores the caller's credentials for a warehouse
//! and answers `200` with them, without secrets.

use credential_model::{CredentialId, CredentialKind, RecordKey, Scope};
use lambda_http::{Body, Request, Response};
use strongroom_aws::Store;
use strongroom_edge::{json_body, serve};

use crate::request;
use crate::shape::{self, UserWarehouseCredentials};

pub async fn handle(store: &Store, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Write,
        shape::error,
        async |call, request| {
            let new = request::create(json_body(&request)?)?;
            let id = CredentialId::generate();
            let key = RecordKey::owned(
                call.caller.organization.clone(),
                CredentialKind::UserWarehouseCredential,
                &call.caller.user,
                id,
            );
            let record = store.credentials.create(&call.caller, key, id, new).await?;
            tracing::info!(credential_id = %record.id, warehouse_type = %record.provider,
                "user warehouse credentials created");
            Ok(shape::ok(&UserWarehouseCredentials::of(&record)))
        },
    )
    .await)
}
