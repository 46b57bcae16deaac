//! `GET /api/v0/projects/{projectName}/connections`: the project's connections, by name,
//! without secrets. A project without connections has none: projects are only names.

use credential_model::{Attributes, RecordKey};
use lambda_http::http::StatusCode;
use strongroom_edge::{Call, Handled, json_response};

use crate::{Deps, ProjectConnection, Repository, Tester, Vault, project, shape};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let prefix = RecordKey::group_prefix(ProjectConnection::KIND, &project(&call)?);
    let records = deps
        .credentials
        .list::<ProjectConnection>(&call.caller.organization, &prefix)
        .await?;
    let connections: Vec<_> = records.iter().map(shape::connection).collect();
    Ok(json_response(StatusCode::OK, &connections))
}
