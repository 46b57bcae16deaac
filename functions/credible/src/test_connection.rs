//! `POST /api/v0/connections/test`: tests an unsaved connection, sent whole with its secrets,
//! and saves nothing. A body that is not a connection (no object, no known `type`) is `400`;
//! any other answer is `200` `ConnectionStatus`, a connection with bad fields failing its
//! test with the fields named.

use credential_model::ports::{FailureKind, Origin, TestFailure, TestOutcome};
use strongroom_edge::{BodyStyle, Call, Handled, json_body};

use crate::{Deps, Repository, Tester, Vault, request, shape};

pub async fn handle(deps: &Deps<impl Repository, impl Vault, impl Tester>, call: Call) -> Handled {
    let body = json_body(&call.request, BodyStyle::Strict)?;
    let provider = request::connection_type(&body)?;
    let outcome = match request::unsaved(&body) {
        Err(errors) => TestOutcome::Failed(TestFailure {
            kind: FailureKind::InvalidSettings,
            origin: Origin::Strongroom,
            detail: errors.to_string(),
        }),
        Ok(document) => deps.tester.test(provider, &document.render()).await,
    };
    if let TestOutcome::Failed(failure) = &outcome {
        tracing::info!(%provider, code = failure.kind.code(), source = failure.origin.as_str(),
            "unsaved connection test failed");
    }
    Ok(shape::status(&outcome))
}
