//! `POST /api/v1/credentials`: stores a new credential and answers `200` with it, without its
//! secret, as Mielto documents.

use credential_model::credential::now;
use credential_model::{Attributes, CredentialId, RecordKey};
use lambda_http::http::StatusCode;
use strongroom_edge::{BodyStyle, Call, Handled, json_body, json_response};

use crate::shape::CredentialRead;
use crate::{GenericCredential, Repository, Store, Vault, request};

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    request::own_workspace(&call)?;
    let body = json_body(&call.request, BodyStyle::FastApi)?;
    let new = request::credential_create(&body, now())?;
    let id = CredentialId::generate();
    let key = RecordKey::item(
        call.caller.organization.clone(),
        GenericCredential::KIND,
        id,
    );
    let record = store.create(&call.caller, key, id, new).await?;
    tracing::info!(credential_id = %record.id, "credential created");
    Ok(json_response(
        StatusCode::OK,
        &CredentialRead::of(&record, now()),
    ))
}
