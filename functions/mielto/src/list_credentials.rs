//! `GET /api/v1/credentials`: the caller's workspace's credentials, without secrets, oldest
//! first, filtered and paginated as Mielto's FastAPI app does (`skip`, `limit`).

use credential_model::credential::now;
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, json_response};

use crate::request::{self, ListQuery};
use crate::shape::CredentialRead;
use crate::{GenericCredential, Repository, Store, Vault};

impl ListQuery {
    fn admits(&self, credential: &CredentialRead) -> bool {
        fn matches(wanted: Option<&str>, value: Option<&str>) -> bool {
            wanted.is_none_or(|wanted| value == Some(wanted))
        }
        matches(self.provider.as_deref(), Some(credential.provider))
            && matches(self.credential_type, credential.credential_type)
            && matches(
                self.credential_scope.as_deref(),
                Some(credential.credential_scope),
            )
            && matches(self.status, Some(credential.status))
    }
}

pub async fn handle(store: &Store<impl Repository, impl Vault>, call: Call) -> Handled {
    request::own_workspace(&call)?;
    let query = request::list_query(&call.request)?;
    let mut records = store
        .list::<GenericCredential>(&call.caller.organization, &request::credentials_prefix())
        .await?;
    records.sort_by_cached_key(|r| (r.created_at, r.id.to_string()));
    // One instant for the whole page, so the filter and the answer agree on every status.
    let now = now();
    let page: Vec<CredentialRead> = records
        .iter()
        .map(|record| CredentialRead::of(record, now))
        .filter(|credential| query.admits(credential))
        .skip(query.skip)
        .take(query.limit)
        .collect();
    Ok(json_response(StatusCode::OK, &page))
}
