//! `GET /api/v1/user/warehouseCredentials`: the caller's own credentials, oldest first,
//! without secrets.

use credential_model::{CredentialKind, RecordKey, Scope};
use lambda_http::{Body, Request, Response};
use strongroom_aws::Store;
use strongroom_edge::serve;

use crate::shape::{self, UserWarehouseCredentials};

pub async fn handle(store: &Store, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Read,
        shape::error,
        async |call, _request| {
            let prefix =
                RecordKey::owned_prefix(CredentialKind::UserWarehouseCredential, &call.caller.user);
            let mut records = store
                .credentials
                .list(&call.caller.organization, &prefix)
                .await?;
            records.sort_by_cached_key(|r| (r.created_at, r.id.to_string()));
            let results: Vec<_> = records.iter().map(UserWarehouseCredentials::of).collect();
            Ok(shape::ok(&results))
        },
    )
    .await)
}
