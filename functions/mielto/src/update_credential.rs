//! `PUT /api/v1/credentials/{credential_id}`: changes the fields the client sends. New
//! `credentials` replace the stored object wholesale as a new version of the same secret;
//! without them the stored object is kept, and a value sent as a redaction placeholder
//! (`********`), at any depth, keeps the stored value at its place.

use credential_model::Error;
use credential_model::credential::now;
use lambda_http::http::StatusCode;
use strongroom_edge::{BodyStyle, Call, Handled, json_body, json_response};

use crate::shape::CredentialRead;
use crate::{GenericCredential, Repository, Store, Vault, request};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    request::own_workspace(&call)?;
    // FastAPI validates the body before the handler looks for the credential.
    let body = json_body(&call.request, BodyStyle::FastApi)?;
    let update = request::credential_update(&body, now())?;
    let key = request::credential_key(&call)?;
    let stored = store
        .get::<GenericCredential>(&key)
        .await?
        .ok_or(Error::NotFound)?;
    let replaces_secret = update.replaces_credentials();
    // Conditional on the version just read: the merge never overwrites a change it missed.
    let record = store
        .update(&call.caller, &stored, update.apply_to(&stored))
        .await?;
    tracing::info!(credential_id = %record.id, version = record.version, replaces_secret,
        "credential updated");
    Ok(json_response(
        StatusCode::OK,
        &CredentialRead::of(&record, now()),
    ))
}
