//! `GET /api/v0/projects/{projectName}/connections/{connectionName}`: one connection, without
//! secrets.

use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, Repository, Tester, Vault, shape, stored};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let record = stored(deps, &call).await?;
    Ok(json_response(StatusCode::OK, &shape::connection(&record)))
}
