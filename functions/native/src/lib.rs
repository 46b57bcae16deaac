//! Strongroom's native API under `/strongroom/v1`: what every family shares — any credential by
//! its id (its family, kind, secret versions and rotation), rotation settings and "rotate now".
//! Errors are RFC 9457 `application/problem+json`. [`routes`] is its route table.
//!
//! A credential is found by its id under the caller's organization, whatever its kind; one of
//! another organization, or that does not exist, is not found. A user's own credential
//! (Lightdash's) is visible only to that user, or to a caller with the admin scope.
//!
//! Every answer about a credential carries its `ETag`: its record's version, which every write
//! of its metadata increments. Writes honour `If-Match` and `If-None-Match` (RFC 9110 §13)
//! atomically: the conditional write expects the version the client's tag names.

mod audit_log;
pub mod delete_rotation;
pub mod get_credential;
pub mod governance;
mod request;
mod reveal;
pub mod rotate_credential;
pub mod set_rotation;
mod shape;
mod tokens;

use credential_model::credential::now;
use credential_model::ports::{
    Backend, CredentialRepository as Repository, Expected, SecretVault as Vault, StoreError,
};
use credential_model::rotation::{Rotation, RotationControl};
use credential_model::service::store_error;
use credential_model::{
    AnyRecord, Caller, CredentialId, CredentialKind, CredentialRecord, CredentialService, Error,
    OrgId, Provider, RecordKey, Scope,
};
use lambda_http::{Body, Response};
use strongroom_aws::config::ConfigError;
use strongroom_aws::{DynamoRepository, SecretsManagerRotation, SecretsManagerVault, init};
use strongroom_edge::{
    Call, EntityTag, Handled, Precondition, Preconditions, RequestInfo, Route, TagCondition, route,
};

/// What the handlers need, built once per sandbox: the credential store, and the control of
/// rotations (Secrets Manager in Lambda; the local stack may plug in its own driver).
pub struct Deps<R, V, C> {
    pub store: CredentialService<R, V>,
    pub rotation: C,
}

/// The handlers' dependencies in Lambda.
pub type AwsDeps = Deps<DynamoRepository, SecretsManagerVault, SecretsManagerRotation>;

/// Reads the configuration the template sets, builds the clients and connects to `backends`.
pub async fn deps_from_env(backends: &[Backend]) -> Result<AwsDeps, ConfigError> {
    let settings = strongroom_aws::StoreSettings::from_env()?;
    init::phase("configuration");
    let (http, sdk) = strongroom_aws::sdk_from_env()?;
    let store = strongroom_aws::store(&sdk, &settings);
    let rotation = SecretsManagerRotation::from_env(store.vault().client().clone());
    let deps = Deps { store, rotation };
    init::phase("clients");
    strongroom_aws::preopen(&http, &sdk, backends).await;
    init::phase("connections");
    Ok(deps)
}

/// `found` with `rotation`, as its next version: what every write of this API makes.
fn with_rotation(found: &AnyRecord, rotation: Rotation) -> AnyRecord {
    AnyRecord {
        kind: found.kind,
        record: CredentialRecord {
            rotation,
            updated_at: now(),
            version: found.record.version + 1,
            ..found.record.clone()
        },
    }
}

/// The family's routes: what each answers, with which scope, in which binary.
#[rustfmt::skip]
pub const fn routes<R: Repository + 'static, V: Vault + 'static, C: RotationControl + 'static>() -> [Route<Deps<R, V, C>>; 4] {
    const ONE: &str = "/strongroom/v1/credentials/{id}";
    [
        route!("GET", ONE, "strongroom-get-credential", Read, [Metadata, Secrets], shape::problem, get_credential::handle),
        route!("PUT", "/strongroom/v1/credentials/{id}/rotation", "strongroom-set-rotation", Write, [Metadata, Secrets], shape::problem, set_rotation::handle),
        route!("DELETE", "/strongroom/v1/credentials/{id}/rotation", "strongroom-delete-rotation", Write, [Metadata, Secrets], shape::problem, delete_rotation::handle),
        route!("POST", "/strongroom/v1/credentials/{id}/rotate", "strongroom-rotate-credential", Write, [Metadata, Secrets], shape::problem, rotate_credential::handle),
    ]
}

/// The providers whose passwords a rotation changes.
pub const ROTATABLE: [Provider; 4] = [
    Provider::Postgres,
    Provider::Redshift,
    Provider::Mysql,
    Provider::Mariadb,
];

/// Whether the credential under `key` is another user's own (a Lightdash warehouse
/// credential of someone other than `caller`).
fn others_own(caller: &Caller, kind: CredentialKind, key: &RecordKey, id: CredentialId) -> bool {
    kind == CredentialKind::UserWarehouseCredential
        && *key != RecordKey::owned(caller.organization.clone(), kind, &caller.user, id)
}

/// Whether `caller` may see the credential under `key`: a user's own credential only its
/// owner, or an admin; every other credential anyone of its organization.
fn visible(caller: &Caller, kind: CredentialKind, key: &RecordKey, id: CredentialId) -> bool {
    !others_own(caller, kind, key, id) || caller.scopes.contains(Scope::Admin)
}

/// The credential `id` of `caller`'s organization, as `caller` may see it: not found when it
/// does not exist, belongs to another organization, or is another user's own.
async fn find(
    repository: &impl Repository,
    caller: &Caller,
    id: CredentialId,
) -> Result<AnyRecord, Error> {
    let organization: &OrgId = &caller.organization;
    let Some(key) = repository
        .locate(organization, id)
        .await
        .map_err(store_error)?
    else {
        return Err(Error::NotFound);
    };
    let record = repository
        .get_any(&key)
        .await
        .map_err(store_error)?
        .filter(|found| found.record.id == id)
        .ok_or(Error::NotFound)?;
    if visible(caller, record.kind, &record.record.key, id) {
        Ok(record)
    } else {
        Err(Error::NotFound)
    }
}

/// A credential's entity tag: its record's version, as a strong tag.
fn etag(found: &AnyRecord) -> EntityTag {
    EntityTag::of_version(found.record.version)
}

/// `response`, with `found`'s entity tag as its `ETag`.
fn tagged(mut response: Response<Body>, found: &AnyRecord) -> Response<Body> {
    etag(found).set_on(response.headers_mut());
    response
}

/// A credential a write is about to change, and what that write must find to apply.
struct ToWrite {
    found: AnyRecord,
    expected: Expected,
    /// The client made the write conditional on a version (`If-Match` with tags): losing a
    /// race is then its precondition failing (`412`), not a conflict (`409`). (`If-Match: *`
    /// still holds after a concurrent change: that is a conflict.)
    on_client_version: bool,
}

impl ToWrite {
    /// The answer to the write's failure.
    fn refused(&self, error: StoreError, info: &RequestInfo) -> Handled {
        match error {
            StoreError::ConditionFailed if self.on_client_version => {
                tracing::info!("a write under If-Match lost the race to another write");
                Ok(shape::precondition_failed("If-Match", info))
            }
            other => Err(store_error(other).into()),
        }
    }
}

/// The credential `id` as `call`'s caller may see it, once the request's `If-Match` and
/// `If-None-Match` hold on it: what every write starts with. `Err` is the answer to give
/// instead: a refusal, or a `412`.
async fn find_to_write(
    repository: &impl Repository,
    call: &Call,
    id: CredentialId,
) -> Result<ToWrite, Handled> {
    let preconditions = Preconditions::read(&call.request).map_err(Err)?;
    let found = find(repository, &call.caller, id)
        .await
        .map_err(|error| Err(error.into()))?;
    let failed = match preconditions.evaluate(&etag(&found), call.request.method()) {
        Precondition::Holds => None,
        Precondition::Failed { header } => Some(header),
        // Only reads are answered `304`: on a write, an `If-None-Match` naming it fails.
        Precondition::NotModified => Some("If-None-Match"),
    };
    if let Some(header) = failed {
        return Err(Ok(shape::precondition_failed(header, &call.info)));
    }
    // An `If-Match` that held names exactly the version read, so the write expects the
    // client's version: a change since the client read it — even one between this read and
    // the write — fails the conditional write instead of being overwritten.
    let expected = Expected::Current {
        id: found.record.id,
        version: found.record.version,
    };
    Ok(ToWrite {
        found,
        expected,
        on_client_version: matches!(preconditions.if_match, Some(TagCondition::Tags(_))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use credential_model::testing::record;
    use lambda_http::http::StatusCode;

    fn to_write(on_client_version: bool) -> ToWrite {
        let id = CredentialId::generate();
        let organization = OrgId::parse("org_race").expect("a valid organization");
        let key = RecordKey::named(organization, CredentialKind::ProjectConnection, "p", "c");
        let found = AnyRecord {
            kind: CredentialKind::ProjectConnection,
            record: record(
                key,
                id,
                Provider::Postgres,
                Default::default(),
                serde_json::Value::Null,
            ),
        };
        let expected = Expected::record(&found.record);
        ToWrite {
            found,
            expected,
            on_client_version,
        }
    }

    #[test]
    fn a_lost_race_fails_the_clients_version_and_is_a_conflict_otherwise() {
        let info = RequestInfo {
            request_id: "request".into(),
            organization: None,
        };
        let status =
            |on_client_version, error| match to_write(on_client_version).refused(error, &info) {
                Ok(response) => response.status(),
                Err(rejection) => rejection.status(),
            };
        assert_eq!(
            status(true, StoreError::ConditionFailed),
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(
            status(false, StoreError::ConditionFailed),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(true, StoreError::Unavailable("down".into())),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
