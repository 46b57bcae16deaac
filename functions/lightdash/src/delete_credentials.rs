//! `DELETE /api/v1/user/warehouseCredentials/{uuid}`: removes the caller's credentials and
//! schedules their secret for deletion (recoverable for the stack's recovery window).

use credential_model::{Error, Scope};
use lambda_http::{Body, Request, Response};
use strongroom_aws::Store;
use strongroom_edge::serve;

use crate::{credentials_key, shape};

pub async fn handle(store: &Store, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(serve(
        request,
        Scope::Write,
        shape::error,
        async |call, request| {
            let key = credentials_key(&call.caller, &request).ok_or(Error::NotFound)?;
            let record = store.credentials.delete(&key).await?;
            tracing::info!(credential_id = %record.id, "user warehouse credentials deleted");
            Ok(shape::ok_empty())
        },
    )
    .await)
}
